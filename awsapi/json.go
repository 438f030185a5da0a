package awsapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
)

// JSONOperation runs one operation of an awsJson service: it decodes and
// validates body, calls the service and returns the output shape.
type JSONOperation func(ctx context.Context, body []byte) (any, error)

// JSONService is one AWS service spoken over the awsJson1_0/1_1 protocol.
// The generated api/<service> packages build these from a typed service.
type JSONService struct {
	TargetPrefix string // X-Amz-Target prefix, e.g. AmazonEC2ContainerRegistry_V20150921
	SigningName  string // SigV4 service name, e.g. ecr
	JSONVersion  string // "1.0" or "1.1"
	Operations   map[string]JSONOperation
	// ErrorShapes is set for services with the awsQueryCompatible trait
	// (CloudWatch): error code -> error shape name; see queryCompatible.
	ErrorShapes map[string]string
	// Marshal, when set, encodes outputs instead of encoding/json
	// (CloudWatch writes whole doubles as AWS does, "30.0").
	Marshal func(any) ([]byte, error)
}

// MaxJSONBody bounds an API request body; layer parts travel base64 in
// JSON, so it is generous.
const MaxJSONBody = 64 << 20

// Mux routes AWS API requests to services by protocol.
type Mux struct {
	Auth    *Authenticator
	Log     *slog.Logger
	byJSON  map[string]*JSONService
	byQuery map[string]*QueryService // by signing name; see query.go
	byRest  map[string]*RestService  // by signing name; see rest.go
	byCBOR  map[string]*CBORService  // by service name; see cbor.go
}

// NewMux returns an empty mux using auth.
func NewMux(auth *Authenticator, log *slog.Logger) *Mux {
	if log == nil {
		log = slog.Default()
	}
	return &Mux{Auth: auth, Log: log, byJSON: map[string]*JSONService{}, byQuery: map[string]*QueryService{}, byRest: map[string]*RestService{}, byCBOR: map[string]*CBORService{}}
}

// HandleJSON registers an awsJson service.
func (m *Mux) HandleJSON(s *JSONService) { m.byJSON[s.TargetPrefix] = s }

// Match reports whether r is an AWS API call this mux serves.
func (m *Mux) Match(r *http.Request) bool {
	return r.Method == http.MethodPost && r.Header.Get("X-Amz-Target") != "" || isQuery(r) || m.restService(r) != nil || isCBOR(r)
}

func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if svc := m.restService(r); svc != nil {
		m.serveRest(w, r, svc)
		return
	}
	if isQuery(r) {
		m.serveQuery(w, r)
		return
	}
	if isCBOR(r) {
		m.serveCBOR(w, r)
		return
	}
	target := r.Header.Get("X-Amz-Target")
	prefix, op, _ := strings.Cut(target, ".")
	svc := m.byJSON[prefix]
	version := "1.1"
	if svc != nil {
		version = svc.JSONVersion
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxJSONBody+1))
	if err != nil {
		writeJSONError(w, version, NewError(http.StatusBadRequest, CodeSerialization, "Could not read the request body: %v", err))
		return
	}
	if len(body) > MaxJSONBody {
		writeJSONError(w, version, NewError(http.StatusRequestEntityTooLarge, CodeSerialization, "The request body is larger than %d bytes.", MaxJSONBody))
		return
	}
	// Authenticate before routing so an unauthenticated caller cannot probe
	// which services and operations exist.
	id, aerr := m.Auth.Authenticate(r, body)
	if aerr != nil {
		writeJSONError(w, version, aerr)
		return
	}
	if svc == nil {
		writeJSONError(w, version, NewError(http.StatusBadRequest, CodeUnknownOperation, "Berth does not serve the service of X-Amz-Target %q.", target))
		return
	}
	call := svc.Operations[op]
	if call == nil {
		writeJSONError(w, version, NewError(http.StatusBadRequest, CodeUnknownOperation, "Operation %q is not an operation of %s.", op, prefix))
		return
	}
	// Operations modelled with request compression (CloudWatch's
	// PutMetricData) arrive gzipped from SDKs above 10 KB; the signature
	// covered the compressed bytes.
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		if body, err = gunzip(body); err != nil {
			writeJSONError(w, version, NewError(http.StatusBadRequest, CodeSerialization, "The gzip-encoded request body cannot be read: %v", err))
			return
		}
	}
	ctx := WithIdentity(r.Context(), id)
	out, err := call(ctx, body)
	if err != nil {
		e := AsError(err)
		if e == nil {
			m.Log.Error("internal error", "target", target, "err", err)
			e = InternalError(err)
		}
		writeJSONError(w, version, svc.queryCompatible(w, e))
		return
	}
	if out == nil {
		out = struct{}{}
	}
	marshal := json.Marshal
	if svc.Marshal != nil {
		marshal = svc.Marshal
	}
	data, err := marshal(out)
	if err != nil {
		m.Log.Error("encoding response", "target", target, "err", err)
		writeJSONError(w, version, InternalError(err))
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-"+version)
	w.Header().Set("X-Amzn-RequestId", NewRequestID())
	w.WriteHeader(http.StatusOK)
	w.Write(data)
}

func writeJSONError(w http.ResponseWriter, version string, e *Error) {
	w.Header().Set("Content-Type", "application/x-amz-json-"+version)
	w.Header().Set("X-Amzn-RequestId", NewRequestID())
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	w.WriteHeader(e.HTTPStatus)
	w.Write(jsonErrorBody(e))
}

// Services returns the signing names of every registered service, sorted,
// for the health endpoint.
func (m *Mux) Services() []string {
	var names []string
	for _, s := range m.byJSON {
		names = append(names, s.SigningName)
	}
	for name := range m.byQuery {
		names = append(names, name)
	}
	for name := range m.byRest {
		names = append(names, name)
	}
	for _, s := range m.byCBOR {
		names = append(names, s.JSON.SigningName)
	}
	slices.Sort(names)
	return slices.Compact(names)
}
