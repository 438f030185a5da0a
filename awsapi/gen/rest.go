package main

import "strings"

// restBinding is restJson1 (EKS): the operation is picked by HTTP method
// and URI template, members marked with a location travel in the path,
// the query string or headers (or are the status code), a payload member
// is the whole body, and the rest of the structure is the JSON body. The
// field's rest struct tag carries the binding (rest:"uri=name",
// rest:"querystring=maxResults", rest:"header=X-Amz-Foo",
// rest:"headers=X-Amz-Meta-", rest:"statusCode", rest:"payload") and its
// json tag is "-" so that bound members never appear in the body.
type restBinding struct{}

func (restBinding) memberPath(m Member) string { return m.wireName() }

func (restBinding) fieldTag(*plan, Member) string { return "" }

// tags are the json and rest tags of member m of structure s; jsonTag is
// the tag the member would have in the body.
func (restBinding) tags(s *Shape, m Member, jsonTag string) (string, string) {
	name := m.LocationName
	if name == "" {
		name = m.Name
	}
	switch {
	case m.Location == "statusCode":
		return "-", `rest:"statusCode"`
	case m.Location != "":
		return "-", `rest:"` + m.Location + "=" + name + `"`
	case s.Payload != "" && s.Payload == m.Name:
		return "-", `rest:"payload"`
	}
	return jsonTag, ""
}

func (restBinding) constructor(p *plan, f *file) {
	f.use(restwirePath)
	f.printf("// NewRestService serves s over restJson1: requests are routed by method and\n// URI template, their labels, query string, headers and JSON body decoded\n// strictly into the input, validated against the model and handed to s.\n")
	f.printf("func NewRestService(s Service) *awsapi.RestService {\nreturn &awsapi.RestService{\n")
	f.printf("SigningName: %q,\n", p.m.signingName())
	f.printf("Operations: []awsapi.RestOperation{\n")
	for _, op := range p.ops {
		method := op.HTTP.Method
		if method == "" {
			method = "POST"
		}
		uri := op.HTTP.RequestURI
		if uri == "" {
			uri = "/"
		}
		status := op.HTTP.ResponseCode
		if status == 0 {
			status = 200
		}
		f.printf("{Name: %q, Method: %q, URI: %q, Status: %d, Call: restwire.Op(s.%s)},\n", op.Name, strings.ToUpper(method), uri, status, exportName(op.Name))
	}
	f.printf("},\n}\n}\n")
}
