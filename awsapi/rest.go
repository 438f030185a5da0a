package awsapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// RestCall runs one operation of a restJson1 service: it binds the
// request into the operation's input, validates it, calls the service
// and returns the response to write.
type RestCall func(ctx context.Context, req *RestRequest) (*RestResponse, error)

// RestOperation is one restJson1 operation: the HTTP method and URI
// template of the model's http trait ("/clusters/{name}/node-groups",
// "{key+}" for a greedy label that spans slashes, "?literal" query keys
// that must be present) and the status of a successful response.
type RestOperation struct {
	Name   string
	Method string
	URI    string
	Status int
	Call   RestCall
}

// RestService is one AWS service spoken over restJson1 (EKS). The
// generated api/<service> packages build these with NewRestService.
type RestService struct {
	SigningName string // SigV4 service name, e.g. eks
	Operations  []RestOperation

	// firstSegments holds the first path segment of every template ("*"
	// for a label), set by HandleRest.
	firstSegments map[string]bool
}

// RestRequest is what a restJson1 operation reads: the labels of its URI
// template (unescaped), the query string, the headers and the body.
type RestRequest struct {
	Operation string
	Labels    map[string]string
	Query     url.Values
	Header    http.Header
	Body      []byte
}

// RestResponse is what a restJson1 operation answers. Status 0 means the
// operation's status; a nil Body is an empty JSON object.
type RestResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// HandleRest registers a restJson1 service. Requests reach it by the
// service name of their SigV4 credential scope, or, unsigned, by a path
// that one of its URI templates matches.
func (m *Mux) HandleRest(s *RestService) {
	m.byRest[s.SigningName] = s
	s.firstSegments = map[string]bool{}
	for _, o := range s.Operations {
		path, _, _ := strings.Cut(o.URI, "?")
		first, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
		if strings.HasPrefix(first, "{") {
			first = "*"
		}
		s.firstSegments[first] = true
	}
}

// mayServe reports cheaply whether an unsigned request's path could be one
// of s's, so that the registry's and Berth's own paths are not matched
// against every template.
func (s *RestService) mayServe(segs []string) bool {
	first := ""
	if len(segs) > 0 {
		first = segs[0]
	}
	return s.firstSegments[first] || s.firstSegments["*"]
}

// restService is the restJson1 service r is for: the one its signature
// names, or for an unsigned request the first (by name) with an operation
// whose template matches its path. It returns nil for any other request.
func (m *Mux) restService(r *http.Request) *RestService {
	if len(m.byRest) == 0 || r.Header.Get("X-Amz-Target") != "" || isQuery(r) {
		return nil
	}
	s, err := parseSigV4(r)
	if err != nil {
		return nil
	}
	if s != nil {
		return m.byRest[s.Service]
	}
	segs, _ := pathSegments(r.URL)
	names := make([]string, 0, len(m.byRest))
	for name, svc := range m.byRest {
		if svc.mayServe(segs) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		svc := m.byRest[name]
		for i := range svc.Operations {
			if _, ok := matchTemplate(svc.Operations[i].URI, segs, r.URL.Query()); ok {
				return svc
			}
		}
	}
	return nil
}

// route finds the operation of svc that method and the URL name, with its
// labels. When several templates match, the one with the most literal
// segments earliest wins, as AWS's routers prefer /a/b over /a/{x}.
// pathMatched reports whether some template matched the path with another
// method.
func (svc *RestService) route(method string, u *url.URL) (op *RestOperation, labels map[string]string, pathMatched bool) {
	segs, ok := pathSegments(u)
	if !ok {
		return nil, nil, false
	}
	q := u.Query()
	var bestRank []int
	for i := range svc.Operations {
		o := &svc.Operations[i]
		l, ok := matchTemplate(o.URI, segs, q)
		if !ok {
			continue
		}
		pathMatched = true
		if o.Method != method {
			continue
		}
		rank := templateRank(o.URI)
		if op == nil || lessRank(rank, bestRank) {
			op, labels, bestRank = o, l, rank
		}
	}
	return op, labels, pathMatched
}

// pathSegments splits the escaped path, so that an escaped slash inside a
// label (an ARN) stays inside its segment.
func pathSegments(u *url.URL) ([]string, bool) {
	p := strings.TrimPrefix(u.EscapedPath(), "/")
	if p == "" {
		return nil, true
	}
	return strings.Split(p, "/"), true
}

// matchTemplate matches escaped path segments and query against a URI
// template and returns the unescaped labels.
func matchTemplate(tmpl string, segs []string, q url.Values) (map[string]string, bool) {
	path, literalQuery, _ := strings.Cut(tmpl, "?")
	if literalQuery != "" {
		for _, kv := range strings.Split(literalQuery, "&") {
			k, v, hasValue := strings.Cut(kv, "=")
			if !q.Has(k) || hasValue && q.Get(k) != v {
				return nil, false
			}
		}
	}
	var parts []string
	if p := strings.TrimPrefix(path, "/"); p != "" {
		parts = strings.Split(p, "/")
	}
	labels := map[string]string{}
	for i, part := range parts {
		if strings.HasPrefix(part, "{") && strings.HasSuffix(part, "+}") {
			// A greedy label takes the rest of the path, slashes included.
			if i >= len(segs) {
				return nil, false
			}
			v, err := url.PathUnescape(strings.Join(segs[i:], "/"))
			if err != nil || v == "" {
				return nil, false
			}
			labels[part[1:len(part)-2]] = v
			return labels, true
		}
		if i >= len(segs) {
			return nil, false
		}
		if strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}") {
			v, err := url.PathUnescape(segs[i])
			if err != nil || v == "" {
				return nil, false
			}
			labels[part[1:len(part)-1]] = v
			continue
		}
		if segs[i] != part {
			return nil, false
		}
	}
	// A trailing slash is the same path, as the SDKs never send one.
	n := len(segs)
	if n > 0 && segs[n-1] == "" {
		n--
	}
	return labels, n == len(parts)
}

// templateRank scores each segment of a template: literal 0, label 1,
// greedy label 2; lower ranks are more specific. Its first score prefers a
// template that also requires query keys.
func templateRank(tmpl string) []int {
	path, query, _ := strings.Cut(tmpl, "?")
	rank := []int{1}
	if query != "" {
		rank[0] = 0
	}
	for _, part := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
		switch {
		case strings.HasSuffix(part, "+}"):
			rank = append(rank, 2)
		case strings.HasPrefix(part, "{"):
			rank = append(rank, 1)
		default:
			rank = append(rank, 0)
		}
	}
	return rank
}

func lessRank(a, b []int) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) > len(b)
}

func (m *Mux) serveRest(w http.ResponseWriter, r *http.Request, svc *RestService) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxJSONBody+1))
	if err != nil {
		writeRestError(w, NewError(http.StatusBadRequest, CodeSerialization, "Could not read the request body: %v", err))
		return
	}
	if len(body) > MaxJSONBody {
		writeRestError(w, NewError(http.StatusRequestEntityTooLarge, CodeSerialization, "The request body is larger than %d bytes.", MaxJSONBody))
		return
	}
	// Authenticate before routing, as the other protocols do.
	id, aerr := m.Auth.Authenticate(r, body)
	if aerr != nil {
		writeRestError(w, aerr)
		return
	}
	op, labels, pathMatched := svc.route(r.Method, r.URL)
	if op == nil {
		if pathMatched {
			writeRestError(w, NewError(http.StatusMethodNotAllowed, CodeUnknownOperation, "%s does not serve %s on %s.", svc.SigningName, r.Method, r.URL.EscapedPath()))
			return
		}
		writeRestError(w, NewError(http.StatusNotFound, CodeUnknownOperation, "%s has no operation at %s %s.", svc.SigningName, r.Method, r.URL.EscapedPath()))
		return
	}
	req := &RestRequest{Operation: op.Name, Labels: labels, Query: r.URL.Query(), Header: r.Header, Body: body}
	resp, err := op.Call(WithIdentity(r.Context(), id), req)
	if err != nil {
		e := AsError(err)
		if e == nil {
			m.Log.Error("internal error", "service", svc.SigningName, "operation", op.Name, "err", err)
			e = InternalError(err)
		}
		writeRestError(w, e)
		return
	}
	if resp == nil {
		resp = &RestResponse{}
	}
	status := resp.Status
	if status == 0 {
		status = op.Status
	}
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set("X-Amzn-RequestId", NewRequestID())
	w.WriteHeader(status)
	if resp.Body == nil {
		resp.Body = []byte("{}")
	}
	w.Write(resp.Body)
}

// writeRestError writes e as restJson1 clients read errors: the code in
// X-Amzn-ErrorType, the message in the body's "message".
func writeRestError(w http.ResponseWriter, e *Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-RequestId", NewRequestID())
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	w.WriteHeader(e.HTTPStatus)
	data, _ := json.Marshal(map[string]string{"message": e.Message})
	w.Write(data)
}
