package awsapi

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// QueryOperation runs one operation of an awsQuery service: it decodes
// and validates params, calls the service and returns the operation's
// result element (<CreateRoleResult>...</CreateRoleResult>), or nil for an
// operation whose model has no output.
type QueryOperation func(ctx context.Context, params url.Values) ([]byte, error)

// QueryService is one AWS service spoken over the awsQuery protocol (IAM,
// STS, ELBv2). The generated api/<service> packages build these from a
// typed service with NewQueryService.
type QueryService struct {
	SigningName  string // SigV4 service name: iam, sts, elasticloadbalancing
	Version      string // the API version clients send, e.g. 2010-05-08
	XMLNamespace string // xmlns of responses
	Operations   map[string]QueryOperation
	// EC2 marks a service spoken over the ec2 protocol (see ec2.go): its
	// operations return the members of the response, not a result element.
	EC2 bool
	// Unsigned names the operations AWS serves without SigV4 because the
	// request carries its own credential (STS AssumeRoleWithWebIdentity's
	// token). An unsigned request for one of them is let through even
	// when Berth checks signatures; signed ones are checked as usual.
	Unsigned map[string]bool
}

// MaxQueryBody bounds a form-encoded request; IAM policy documents are the
// largest parameters (128 KiB), URL-encoded.
const MaxQueryBody = 4 << 20

// HandleQuery registers an awsQuery service. Requests reach it by the
// service name of their SigV4 credential scope, or, unsigned, by their
// Version and Action.
func (m *Mux) HandleQuery(s *QueryService) { m.byQuery[s.SigningName] = s }

// isQuery reports whether r is an awsQuery call: a form-encoded POST to /
// without X-Amz-Target, or a GET (or POST) to / whose query string names
// an Action, as presigned STS URLs do.
func isQuery(r *http.Request) bool {
	if r.URL.Path != "/" || r.Header.Get("X-Amz-Target") != "" {
		return false
	}
	switch r.Method {
	case http.MethodPost:
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		return ct == "application/x-www-form-urlencoded" || r.URL.Query().Has("Action")
	case http.MethodGet:
		return r.URL.Query().Has("Action")
	}
	return false
}

func (m *Mux) serveQuery(w http.ResponseWriter, r *http.Request) {
	params := r.URL.Query()
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxQueryBody+1))
	if err != nil {
		writeQueryError(w, "", NewError(http.StatusBadRequest, "MalformedQueryString", "Could not read the request body: %v", err))
		return
	}
	if len(body) > MaxQueryBody {
		writeQueryError(w, "", NewError(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The request body is larger than %d bytes.", MaxQueryBody))
		return
	}
	// SDKs gzip large PutMetricData forms; the signature covers the body
	// as sent, so only the form is read from the decompressed copy.
	formBody := body
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") && len(body) > 0 {
		if formBody, err = gunzip(body); err != nil {
			writeQueryError(w, "", NewError(http.StatusBadRequest, "MalformedQueryString", "The gzip-encoded request body cannot be read: %v", err))
			return
		}
	}
	if r.Method == http.MethodPost && len(bytes.TrimSpace(formBody)) > 0 {
		form, err := url.ParseQuery(string(formBody))
		if err != nil {
			writeQueryError(w, "", NewError(http.StatusNotFound, "MalformedQueryString", "The query string contains a syntax error: %v", err))
			return
		}
		for k, vs := range form {
			params[k] = append(params[k], vs...)
		}
	}
	if s := m.ec2Service(r, params); s != nil {
		m.serveEC2(w, r, s, params, body)
		return
	}
	ns := ""
	if s := m.queryService("", params); s != nil {
		ns = s.XMLNamespace
	}
	// Authenticate before routing, as the awsJson path does.
	id, aerr := m.Auth.Authenticate(r, body)
	if aerr != nil && m.unsignedAllowed(r, params) {
		id, aerr = IdentityFrom(r.Context()), nil
	}
	if aerr != nil {
		writeQueryError(w, ns, aerr)
		return
	}
	action := params.Get("Action")
	if action == "" {
		writeQueryError(w, ns, NewError(http.StatusBadRequest, "MissingAction", "Missing Action"))
		return
	}
	svc := m.queryService(id.Service, params)
	if svc == nil {
		writeQueryError(w, ns, NewError(http.StatusBadRequest, "InvalidAction", "Berth serves no awsQuery service with the action %s (version %q, signed for %q).", action, params.Get("Version"), id.Service))
		return
	}
	call := svc.Operations[action]
	if call == nil {
		writeQueryError(w, svc.XMLNamespace, NewError(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version %s", action, svc.Version))
		return
	}
	result, err := call(WithIdentity(r.Context(), id), params)
	if err != nil {
		e := AsError(err)
		if e == nil {
			m.Log.Error("internal error", "service", svc.SigningName, "action", action, "err", err)
			e = InternalError(err)
		}
		// The service's own errors keep their modelled codes: STS's
		// ExpiredTokenException (a web identity token) is not the
		// ExpiredToken of expired request credentials.
		writeQueryErrorCode(w, svc.XMLNamespace, e, e.Code)
		return
	}
	reqID := NewRequestID()
	var b bytes.Buffer
	b.WriteString("<" + action + "Response xmlns=\"")
	xml.EscapeText(&b, []byte(svc.XMLNamespace))
	b.WriteString("\">")
	b.Write(result)
	b.WriteString("<ResponseMetadata><RequestId>" + reqID + "</RequestId></ResponseMetadata></" + action + "Response>")
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-RequestId", reqID)
	w.WriteHeader(http.StatusOK)
	w.Write(b.Bytes())
}

// unsignedAllowed reports whether r carries no SigV4 at all and is for an
// operation its service serves unsigned (QueryService.Unsigned).
func (m *Mux) unsignedAllowed(r *http.Request, params url.Values) bool {
	if s, err := parseSigV4(r); s != nil || err != nil {
		return false
	}
	svc := m.queryService("", params)
	return svc != nil && svc.Unsigned[params.Get("Action")]
}

// queryService picks the service of a request: the one registered under
// the signing name of its credential scope, else the one whose Version
// (when given) and operations match its Version and Action.
func (m *Mux) queryService(signingName string, params url.Values) *QueryService {
	if s := m.byQuery[signingName]; s != nil {
		return s
	}
	version, action := params.Get("Version"), params.Get("Action")
	names := make([]string, 0, len(m.byQuery))
	for name := range m.byQuery {
		names = append(names, name)
	}
	sort.Strings(names)
	var found *QueryService
	for _, name := range names {
		s := m.byQuery[name]
		if version != "" && s.Version != version {
			continue
		}
		if _, ok := s.Operations[action]; !ok && action != "" {
			continue
		}
		if found != nil {
			return nil // ambiguous: sign the request or send Version
		}
		found = s
	}
	return found
}

// queryCodes are the awsQuery spellings of the common codes that the
// awsJson services send with an Exception suffix.
var queryCodes = map[string]string{
	CodeMissingAuthenticationToken: "MissingAuthenticationToken",
	CodeInvalidSignature:           "SignatureDoesNotMatch",
	CodeUnrecognizedClient:         "InvalidClientTokenId",
	CodeExpiredToken:               "ExpiredToken",
	CodeUnknownOperation:           "InvalidAction",
}

// QueryErrorCode is the code an awsQuery client sees for e.
func QueryErrorCode(e *Error) string {
	if c, ok := queryCodes[e.Code]; ok {
		return c
	}
	return e.Code
}

// writeQueryError writes e as awsQuery's ErrorResponse document.
func writeQueryError(w http.ResponseWriter, ns string, e *Error) {
	writeQueryErrorCode(w, ns, e, QueryErrorCode(e))
}

// writeQueryErrorCode writes e with the given code.
func writeQueryErrorCode(w http.ResponseWriter, ns string, e *Error, code string) {
	reqID := NewRequestID()
	fault := "Sender"
	if e.HTTPStatus >= 500 {
		fault = "Receiver"
	}
	var b bytes.Buffer
	b.WriteString("<ErrorResponse")
	if ns != "" {
		b.WriteString(" xmlns=\"")
		xml.EscapeText(&b, []byte(ns))
		b.WriteString("\"")
	}
	b.WriteString("><Error><Type>" + fault + "</Type><Code>")
	xml.EscapeText(&b, []byte(code))
	b.WriteString("</Code><Message>")
	xml.EscapeText(&b, []byte(strings.ToValidUTF8(e.Message, "\uFFFD")))
	b.WriteString("</Message></Error><RequestId>" + reqID + "</RequestId></ErrorResponse>")
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-RequestId", reqID)
	w.WriteHeader(e.HTTPStatus)
	w.Write(b.Bytes())
}
