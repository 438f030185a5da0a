package main

import (
	"go/format"
	"strings"
	"testing"
)

// TestCBORBinding generates a model whose protocol is smithy-rpc-v2-cbor:
// one Service served over awsQuery, awsJson and CBOR, with query traits
// on the shapes and the error shapes' names by code.
func TestCBORBinding(t *testing.T) {
	m := loadTestModel(t)
	m.Metadata.Protocol, m.Metadata.Protocols = "smithy-rpc-v2-cbor", []string{"smithy-rpc-v2-cbor", "json", "query"}
	m.Metadata.APIVersion, m.Metadata.XMLNamespace = "2020-01-01", "http://things.example/doc/2020-01-01/"
	files, err := generate(m, "things", "ValidationError", "CoralStyle")
	if err != nil {
		t.Fatal(err)
	}
	src := string(files["service.go"])
	if formatted, err := format.Source(files["service.go"]); err != nil || string(formatted) != src {
		t.Errorf("service.go is not gofmt'ed (%v)", err)
	}
	for _, want := range []string{"func NewQueryService(s Service) *awsapi.QueryService", "func NewJSONService(s Service) *awsapi.JSONService",
		"func NewCBORService(s Service) *awsapi.CBORService", "var ErrorShapes = map[string]string{", "j.ErrorShapes = ErrorShapes",
		`"ThingNotFound": "ThingNotFoundException",`, `"InternalFault": "InternalFault",`} {
		if !strings.Contains(src, want) {
			t.Errorf("service.go lacks %q", want)
		}
	}
	if !strings.Contains(string(files["doc.go"])+src, "querywire.Op(") {
		t.Error("the operations are not served over awsQuery")
	}
}
