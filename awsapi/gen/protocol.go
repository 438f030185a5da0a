package main

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// binding writes the wire half of a service for one AWS protocol. Shapes,
// enums, errors and validation are the same whatever the protocol; a
// binding adds the constructor that serves a Service over its wire format,
// says how validation messages name members and may add struct tags.
type binding interface {
	constructor(p *plan, f *file)
	// memberPath is a structure member's name in validation messages.
	memberPath(m Member) string
	// fieldTag is struct tag text to add to a member's field ("" for none).
	fieldTag(p *plan, m Member) string
}

// bindings maps botocore protocol names to their bindings.
var bindings = map[string]binding{
	"json":  jsonBinding{},
	"query": queryBinding{},
	"ec2":   ec2Binding{},
	// rest-json is restJson1; see rest.go.
	"rest-json": restBinding{},
}

// memberPath names m in validation messages; a plan without a binding
// (tests) uses the JSON name.
func (p *plan) memberPath(m Member) string {
	if p.bind == nil {
		return m.wireName()
	}
	return p.bind.memberPath(m)
}

// jsonBinding is awsJson1_0/1_1: POST /, X-Amz-Target picks the
// operation, bodies are JSON with the model's member names.
type jsonBinding struct{}

// memberPath is Coral's name for a JSON member, as AWS prints it in
// validation messages: the model's member name with its first letter in
// lower case, whatever case the wire uses (Secrets Manager's SecretId and
// SSM's MaxResults are 'secretId' and 'maxResults' there).
func (jsonBinding) memberPath(m Member) string { return lowerFirst(m.Name) }

func (jsonBinding) fieldTag(*plan, Member) string { return "" }

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

// queryBinding is awsQuery (IAM, STS, ELBv2): form-encoded Action and
// Version with members flattened into dotted names, XML responses wrapped
// in <Op>Response/<Op>Result. The field names are the parameter and
// element names; the query struct tag carries the traits that change them
// (flattened, locationName of list members and map keys and values), and
// is only written when a member has such a trait.
type queryBinding struct{}

// memberPath is Coral's name for a query member: its name with the first
// letter in lower case (RoleName is 'roleName' in messages).
func (queryBinding) memberPath(m Member) string { return lowerFirst(m.Name) }

// lowerFirst is s with its first letter in lower case, as Coral turns a
// member name into a field name: only the first letter (DynamoDB's
// SSESpecification.SSEType is 'sSESpecification.sSEType').
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

func (queryBinding) fieldTag(p *plan, m Member) string {
	s := p.m.Shapes[m.Shape]
	var parts []string
	switch s.Type {
	case "list":
		if m.Flattened || s.Flattened {
			parts = append(parts, "flat")
		}
		if s.Member.LocationName != "" {
			parts = append(parts, "member="+s.Member.LocationName)
		}
	case "map":
		if m.Flattened || s.Flattened {
			parts = append(parts, "flat")
		}
		if s.Key.LocationName != "" {
			parts = append(parts, "key="+s.Key.LocationName)
		}
		if s.Value.LocationName != "" {
			parts = append(parts, "value="+s.Value.LocationName)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return `query:"` + strings.Join(parts, ",") + `"`
}

func (queryBinding) constructor(p *plan, f *file) {
	f.use(querywirePath)
	md := p.m.Metadata
	f.printf("// NewQueryService serves s over awsQuery: form parameters are decoded into\n// the input, validated against the model, handed to s, and the output is\n// written as XML inside the operation's result element.\n")
	f.printf("func NewQueryService(s Service) *awsapi.QueryService {\nreturn &awsapi.QueryService{\n")
	f.printf("SigningName: %q,\nVersion: %q,\nXMLNamespace: %q,\n", p.m.signingName(), md.APIVersion, md.XMLNamespace)
	f.printf("Operations: map[string]awsapi.QueryOperation{\n")
	for _, op := range p.ops {
		wrapper := ""
		if op.Output != nil {
			wrapper = op.Output.ResultWrapper
			if wrapper == "" {
				wrapper = op.Name + "Result"
			}
		}
		f.printf("%q: querywire.Op(s.%s, %q),\n", op.Name, exportName(op.Name), wrapper)
	}
	f.printf("},\n}\n}\n")
}

// ec2Binding is the EC2 protocol: form-encoded Action and Version like
// awsQuery, but parameters are named by queryName, else by locationName
// with its first letter in upper case, lists are always flattened
// (Name.1, Name.2), and responses are <Op>Response documents without a
// result wrapper whose members are named by locationName, lists as
// <name><item>...</item></name>. The field's json tag carries the
// locationName; the ec2 struct tag carries a queryName that is not that
// name capitalised (name=) and the element name of list items (member=).
type ec2Binding struct{}

// ec2QueryName is m's parameter name in EC2 requests.
func ec2QueryName(m Member) string {
	if m.QueryName != "" {
		return m.QueryName
	}
	return upperFirst(m.wireName())
}

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

func (ec2Binding) memberPath(m Member) string { return ec2QueryName(m) }

func (ec2Binding) fieldTag(p *plan, m Member) string {
	var parts []string
	if m.QueryName != "" && m.QueryName != upperFirst(m.wireName()) {
		parts = append(parts, "name="+m.QueryName)
	}
	if s := p.m.Shapes[m.Shape]; s.Type == "list" && s.Member.LocationName != "" {
		parts = append(parts, "member="+s.Member.LocationName)
	}
	if len(parts) == 0 {
		return ""
	}
	return `ec2:"` + strings.Join(parts, ",") + `"`
}

func (ec2Binding) constructor(p *plan, f *file) {
	f.use(ec2wirePath)
	md := p.m.Metadata
	f.printf("// NewEC2Service serves s over the EC2 protocol: form parameters are decoded\n// into the input, validated against the model, handed to s, and the\n// output's members are written as the XML of the operation's response.\n")
	f.printf("func NewEC2Service(s Service) *awsapi.QueryService {\nreturn &awsapi.QueryService{\n")
	f.printf("SigningName: %q,\nVersion: %q,\nXMLNamespace: %q,\nEC2: true,\n", p.m.signingName(), md.APIVersion, ec2Namespace(md.APIVersion))
	f.printf("Operations: map[string]awsapi.QueryOperation{\n")
	for _, op := range p.ops {
		f.printf("%q: ec2wire.Op(s.%s),\n", op.Name, exportName(op.Name))
	}
	f.printf("},\n}\n}\n")
}

// ec2Namespace is the xmlns of EC2 responses; the model does not carry it.
func ec2Namespace(version string) string {
	return "http://ec2.amazonaws.com/doc/" + version + "/"
}
