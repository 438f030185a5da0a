package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Model is the part of a botocore service-2.json the generator reads.
type Model struct {
	Metadata   Metadata              `json:"metadata"`
	Operations map[string]*Operation `json:"operations"`
	Shapes     map[string]*Shape     `json:"shapes"`
	// Paginators come from paginators-1.json beside the model, if any.
	Paginators map[string]Paginator `json:"-"`
}

// Metadata is the service-wide part of a model.
type Metadata struct {
	APIVersion      string   `json:"apiVersion"`
	EndpointPrefix  string   `json:"endpointPrefix"`
	JSONVersion     string   `json:"jsonVersion"`
	Protocol        string   `json:"protocol"`
	Protocols       []string `json:"protocols"`
	ServiceID       string   `json:"serviceId"`
	ServiceFullName string   `json:"serviceFullName"`
	SigningName     string   `json:"signingName"`
	TargetPrefix    string   `json:"targetPrefix"`
	// XMLNamespace is the xmlns of awsQuery responses.
	XMLNamespace string `json:"xmlNamespace"`
}

// Operation is one API action.
type Operation struct {
	Name          string     `json:"name"`
	Input         *ShapeRef  `json:"input"`
	Output        *ShapeRef  `json:"output"`
	Errors        []ShapeRef `json:"errors"`
	Documentation string     `json:"documentation"`
	Deprecated    bool       `json:"deprecated"`
	// HTTP is the restJson1 binding of the operation: method, URI
	// template and success status.
	HTTP HTTPBinding `json:"http"`
}

// HTTPBinding is an operation's http trait.
type HTTPBinding struct {
	Method       string `json:"method"`
	RequestURI   string `json:"requestUri"`
	ResponseCode int    `json:"responseCode"`
}

// ShapeRef points at a shape from an operation, a member or a collection.
type ShapeRef struct {
	Shape         string `json:"shape"`
	Documentation string `json:"documentation"`
	JSONName      string `json:"jsonName"`
	LocationName  string `json:"locationName"`
	// QueryName is the ec2 protocol's parameter name, when it is not the
	// locationName with its first letter in upper case.
	QueryName  string `json:"queryName"`
	Deprecated bool   `json:"deprecated"`
	// ResultWrapper names the element an awsQuery operation's output is
	// wrapped in (CreateRoleResult); only on operation outputs.
	ResultWrapper string `json:"resultWrapper"`
	// Flattened on a member makes an awsQuery list or map flattened there.
	Flattened bool `json:"flattened"`
	// Location binds a restJson1 member outside the body: uri, querystring,
	// header, headers (a prefix) or statusCode; LocationName is then the
	// label, parameter, header or prefix name.
	Location string `json:"location"`
}

// Member is a named ShapeRef of a structure, in model order.
type Member struct {
	Name string
	ShapeRef
}

// Members keeps a structure's members in the order the model lists them,
// which is the order of the Go fields and of validation.
type Members []Member

func (ms *Members) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("members must be an object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := t.(string)
		var ref ShapeRef
		if err := dec.Decode(&ref); err != nil {
			return fmt.Errorf("member %s: %w", name, err)
		}
		*ms = append(*ms, Member{Name: name, ShapeRef: ref})
	}
	return nil
}

// Shape is one model shape.
type Shape struct {
	Name            string      `json:"-"`
	Type            string      `json:"type"`
	Members         Members     `json:"members"`
	Required        []string    `json:"required"`
	Member          *ShapeRef   `json:"member"`
	Key             *ShapeRef   `json:"key"`
	Value           *ShapeRef   `json:"value"`
	Enum            []string    `json:"enum"`
	Min             json.Number `json:"min"`
	Max             json.Number `json:"max"`
	Pattern         string      `json:"pattern"`
	Sensitive       bool        `json:"sensitive"`
	Exception       bool        `json:"exception"`
	Fault           bool        `json:"fault"`
	Error           *ErrorInfo  `json:"error"`
	Documentation   string      `json:"documentation"`
	Document        bool        `json:"document"`
	Union           bool        `json:"union"`
	EventStream     bool        `json:"eventstream"`
	TimestampFormat string      `json:"timestampFormat"`
	// Flattened is the awsQuery trait: list elements or map entries
	// repeat the member's name instead of nesting in member/entry.
	Flattened bool `json:"flattened"`
	// Payload names the restJson1 member that is the whole body.
	Payload string `json:"payload"`
}

// ErrorInfo is the error trait of an exception shape.
type ErrorInfo struct {
	Code           string `json:"code"`
	HTTPStatusCode int    `json:"httpStatusCode"`
	SenderFault    bool   `json:"senderFault"`
}

// Paginator is one entry of paginators-1.json; tokens and result keys
// are a string or a list of strings there.
type Paginator struct {
	InputToken  stringList `json:"input_token"`
	OutputToken stringList `json:"output_token"`
	LimitKey    string     `json:"limit_key"`
	ResultKey   stringList `json:"result_key"`
}

type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings")
	}
	*s = many
	return nil
}

// isRequired reports whether the structure lists member as required.
func (s *Shape) isRequired(member string) bool { return slices.Contains(s.Required, member) }

// wireName is the JSON member name: jsonName, then locationName, then
// the member name, as botocore's serializers choose.
func (m Member) wireName() string {
	if m.JSONName != "" {
		return m.JSONName
	}
	if m.LocationName != "" {
		return m.LocationName
	}
	return m.Name
}

// LoadModel reads a service-2.json (gzipped when it ends in .gz) and the
// paginators-1.json beside it, and checks that every reference resolves.
func LoadModel(path string) (*Model, error) {
	data, err := readMaybeGzip(path)
	if err != nil {
		return nil, err
	}
	var m Model
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for name, s := range m.Shapes {
		s.Name = name
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	dir := filepath.Dir(path)
	for _, p := range []string{"paginators-1.json", "paginators-1.json.gz"} {
		data, err := readMaybeGzip(filepath.Join(dir, p))
		if err != nil {
			continue
		}
		var pages struct {
			Pagination map[string]Paginator `json:"pagination"`
		}
		if err := json.Unmarshal(data, &pages); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		m.Paginators = pages.Pagination
		break
	}
	return &m, nil
}

func readMaybeGzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		z, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		defer z.Close()
		r = z
	}
	return io.ReadAll(r)
}

func (m *Model) check() error {
	if len(m.Operations) == 0 {
		return fmt.Errorf("model has no operations")
	}
	known := func(ref *ShapeRef, where string) error {
		if ref == nil {
			return nil
		}
		if _, ok := m.Shapes[ref.Shape]; !ok {
			return fmt.Errorf("%s refers to unknown shape %q", where, ref.Shape)
		}
		return nil
	}
	for name, op := range m.Operations {
		op.Name = name
		if err := known(op.Input, name+" input"); err != nil {
			return err
		}
		if err := known(op.Output, name+" output"); err != nil {
			return err
		}
		for i := range op.Errors {
			if err := known(&op.Errors[i], name+" errors"); err != nil {
				return err
			}
		}
	}
	for name, s := range m.Shapes {
		for i := range s.Members {
			if err := known(&s.Members[i].ShapeRef, name+"."+s.Members[i].Name); err != nil {
				return err
			}
		}
		for _, ref := range []*ShapeRef{s.Member, s.Key, s.Value} {
			if err := known(ref, name); err != nil {
				return err
			}
		}
		switch s.Type {
		case "structure", "string", "integer", "long", "boolean", "double", "float", "timestamp", "blob":
		case "list":
			if s.Member == nil {
				return fmt.Errorf("list %s has no member", name)
			}
		case "map":
			if s.Key == nil || s.Value == nil {
				return fmt.Errorf("map %s needs a key and a value", name)
			}
		default:
			return fmt.Errorf("shape %s has type %q, which the generator does not know", name, s.Type)
		}
	}
	return nil
}

// protocol picks the wire protocol the generator binds: the model's own,
// or the first of its protocols the generator knows.
func (m *Model) protocol() string {
	if _, ok := bindings[m.Metadata.Protocol]; ok {
		return m.Metadata.Protocol
	}
	for _, p := range m.Metadata.Protocols {
		if _, ok := bindings[p]; ok {
			return p
		}
	}
	return m.Metadata.Protocol
}

// signingName is the SigV4 service name, which defaults to the endpoint
// prefix when the model does not set one (as SSM's does not).
func (m *Model) signingName() string {
	if m.Metadata.SigningName != "" {
		return m.Metadata.SigningName
	}
	return m.Metadata.EndpointPrefix
}

// keepOperations drops every operation not named in list (comma
// separated), so that only the shapes those operations reach are
// generated; an empty list keeps them all. Naming an operation the model
// does not have is an error.
func (m *Model) keepOperations(list string) error {
	if strings.TrimSpace(list) == "" {
		return nil
	}
	keep := map[string]*Operation{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		op, ok := m.Operations[name]
		if !ok {
			return fmt.Errorf("the model has no operation %q", name)
		}
		keep[name] = op
	}
	m.Operations = keep
	return nil
}
