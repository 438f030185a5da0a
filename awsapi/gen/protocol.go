package main

import "strings"

// binding writes the wire half of a service for one AWS protocol. Shapes,
// enums, errors and validation are the same whatever the protocol; a
// binding only adds the constructor that serves a Service over its wire
// format. restJson1 (HTTP bindings from locationName/location) and
// awsQuery (form-encoded input, XML output) are meant to be added here.
type binding interface {
	constructor(p *plan, f *file)
}

// bindings maps botocore protocol names to their bindings.
var bindings = map[string]binding{
	"json": jsonBinding{},
}

// jsonBinding is awsJson1_0/1_1: POST /, X-Amz-Target picks the
// operation, bodies are JSON with the model's member names.
type jsonBinding struct{}

func (jsonBinding) constructor(p *plan, f *file) {
	f.use(jsonwirePath)
	md := p.m.Metadata
	version := md.JSONVersion
	if version == "" {
		version = "1.0"
	}
	f.printf("// NewJSONService serves s over awsJson%s: bodies are decoded strictly,\n// validated against the model, then handed to s.\n", strings.ReplaceAll(version, ".", "_"))
	f.printf("func NewJSONService(s Service) *awsapi.JSONService {\nreturn &awsapi.JSONService{\n")
	f.printf("TargetPrefix: %q,\nSigningName: %q,\nJSONVersion: %q,\n", md.TargetPrefix, p.m.signingName(), version)
	f.printf("Operations: map[string]awsapi.JSONOperation{\n")
	for _, op := range p.ops {
		f.printf("%q: jsonwire.Op(s.%s),\n", op.Name, exportName(op.Name))
	}
	f.printf("},\n}\n}\n")
}
