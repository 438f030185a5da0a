package awsapi

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// CBORService is an awsJson service also spoken over Smithy RPC v2 CBOR
// (POST /service/<name>/operation/<op>, Smithy-Protocol: rpc-v2-cbor),
// which current SDKs use for CloudWatch. The request body is turned into
// the JSON the awsJson operation decodes, so that member checks and their
// messages are the same on both wires; the output is encoded straight from
// the Go shapes, whose json tags the CBOR encoder honours.
type CBORService struct {
	JSON *JSONService
}

// HandleCBOR registers s under its service name, the JSON target prefix
// (GraniteServiceVersion20100801 for CloudWatch).
func (m *Mux) HandleCBOR(s *CBORService) { m.byCBOR[s.JSON.TargetPrefix] = s }

// isCBOR reports whether r is an RPC v2 CBOR call.
func isCBOR(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/service/") &&
		strings.EqualFold(r.Header.Get("Smithy-Protocol"), "rpc-v2-cbor")
}

var (
	cborEnc cbor.EncMode
	cborDec cbor.DecMode
)

func init() {
	var err error
	// Doubles stay 64-bit: clients read them back into float64 fields.
	cborEnc, err = cbor.EncOptions{Time: cbor.TimeUnixDynamic, TimeTag: cbor.EncTagRequired}.EncMode()
	if err != nil {
		panic(err)
	}
	cborDec, err = cbor.DecOptions{
		DefaultMapType:  reflect.TypeFor[map[string]any](),
		MaxNestedLevels: 64,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

func (m *Mux) serveCBOR(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/service/")
	name, op, _ := strings.Cut(rest, "/operation/")
	svc := m.byCBOR[name]
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxJSONBody+1))
	if err != nil {
		writeCBORError(w, svc, NewError(http.StatusBadRequest, CodeSerialization, "Could not read the request body: %v", err))
		return
	}
	if len(body) > MaxJSONBody {
		writeCBORError(w, svc, NewError(http.StatusRequestEntityTooLarge, CodeSerialization, "The request body is larger than %d bytes.", MaxJSONBody))
		return
	}
	// The signature covers the body as sent, compressed or not.
	id, aerr := m.Auth.Authenticate(r, body)
	if aerr != nil {
		writeCBORError(w, svc, aerr)
		return
	}
	if svc == nil {
		writeCBORError(w, nil, NewError(http.StatusBadRequest, CodeUnknownOperation, "Berth does not serve the service %q over rpc-v2-cbor.", name))
		return
	}
	call := svc.JSON.Operations[op]
	if call == nil || strings.Contains(op, "/") {
		writeCBORError(w, svc, NewError(http.StatusBadRequest, CodeUnknownOperation, "Operation %q is not an operation of %s.", op, name))
		return
	}
	// PutMetricData is modelled with request compression: SDKs gzip
	// bodies above 10 KB.
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		if body, err = gunzip(body); err != nil {
			writeCBORError(w, svc, NewError(http.StatusBadRequest, CodeSerialization, "The gzip-encoded request body cannot be read: %v", err))
			return
		}
	}
	jsonBody, err := CBORToJSON(body)
	if err != nil {
		writeCBORError(w, svc, AsError(err))
		return
	}
	out, err := call(WithIdentity(r.Context(), id), jsonBody)
	if err != nil {
		e := AsError(err)
		if e == nil {
			m.Log.Error("internal error", "service", name, "operation", op, "err", err)
			e = InternalError(err)
		}
		writeCBORError(w, svc, e)
		return
	}
	if out == nil {
		out = struct{}{}
	}
	data, err := cborEnc.Marshal(out)
	if err != nil {
		m.Log.Error("encoding response", "service", name, "operation", op, "err", err)
		writeCBORError(w, svc, InternalError(err))
		return
	}
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("X-Amzn-RequestId", NewRequestID())
	w.WriteHeader(http.StatusOK)
	w.Write(data)
}

// maxGunzip bounds a decompressed body, against gzip bombs.
const maxGunzip = 16 << 20

func gunzip(body []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxGunzip+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxGunzip {
		return nil, fmt.Errorf("it is larger than %d bytes decompressed", maxGunzip)
	}
	return out, nil
}

// queryCompatible prepares e for a JSON or CBOR client of an
// awsQueryCompatible service: the x-amzn-query-error header carries the
// awsQuery code ("ResourceNotFound;Sender"), which SDKs report, and __type
// the error shape's name, by which they pick the typed error.
func (s *JSONService) queryCompatible(w http.ResponseWriter, e *Error) *Error {
	if s == nil || s.ErrorShapes == nil {
		return e
	}
	fault := "Sender"
	if e.HTTPStatus >= 500 {
		fault = "Receiver"
	}
	code := QueryErrorCode(e)
	w.Header().Set("X-Amzn-Query-Error", code+";"+fault)
	if shape, ok := s.ErrorShapes[e.Code]; ok {
		c := *e
		c.Code = shape
		return &c
	}
	return e
}

func writeCBORError(w http.ResponseWriter, svc *CBORService, e *Error) {
	if svc != nil {
		e = svc.JSON.queryCompatible(w, e)
	}
	body := map[string]any{}
	for k, v := range e.Fields {
		body[k] = v
	}
	body["__type"], body["message"] = e.Code, e.Message
	data, err := cborEnc.Marshal(body)
	if err != nil {
		data, _ = cborEnc.Marshal(map[string]any{"__type": e.Code, "message": e.Message})
	}
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("X-Amzn-RequestId", NewRequestID())
	w.WriteHeader(e.HTTPStatus)
	w.Write(data)
}

// CBORToJSON turns an RPC v2 CBOR request body into the awsJson body of
// the same input: timestamps (tag 1) become epoch seconds, byte strings
// base64 text. An empty body is an empty input.
func CBORToJSON(body []byte) ([]byte, error) {
	if len(body) == 0 {
		return []byte("{}"), nil
	}
	var tree any
	if err := cborDec.Unmarshal(body, &tree); err != nil {
		return nil, Errorf(CodeSerialization, "The request body is not valid CBOR: %v", err)
	}
	j, err := cborJSONValue(tree)
	if err != nil {
		return nil, Errorf(CodeSerialization, "%s", err.Error())
	}
	return json.Marshal(j)
}

func cborJSONValue(v any) (any, error) {
	switch v := v.(type) {
	case nil, string, bool:
		return v, nil
	case int64:
		return json.Number(strconv.FormatInt(v, 10)), nil
	case uint64:
		return json.Number(strconv.FormatUint(v, 10)), nil
	case big.Int:
		return json.Number(v.String()), nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("The request body carries %v, which Berth does not accept for any member.", v)
		}
		return json.Number(strconv.FormatFloat(v, 'g', -1, 64)), nil
	case []byte:
		return base64.StdEncoding.EncodeToString(v), nil
	case time.Time:
		return json.Number(strconv.FormatFloat(float64(v.UnixMilli())/1000, 'f', -1, 64)), nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			j, err := cborJSONValue(e)
			if err != nil {
				return nil, err
			}
			out[i] = j
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			j, err := cborJSONValue(e)
			if err != nil {
				return nil, err
			}
			out[k] = j
		}
		return out, nil
	case cbor.Tag:
		return nil, fmt.Errorf("The request body carries CBOR tag %d, which no member accepts.", v.Number)
	}
	return nil, fmt.Errorf("The request body carries a CBOR value of type %T, which no member accepts.", v)
}

// MarshalCBOR writes t as RPC v2 CBOR does: tag 1 around epoch seconds as
// a double, with milliseconds.
func (t Timestamp) MarshalCBOR() ([]byte, error) {
	b := make([]byte, 0, 10)
	b = append(b, 0xc1, 0xfb)
	return binary.BigEndian.AppendUint64(b, math.Float64bits(float64(t.UnixMilli())/1000)), nil
}

// UnmarshalCBOR reads tag 1 around integer or floating epoch seconds.
func (t *Timestamp) UnmarshalCBOR(data []byte) error {
	var v any
	if err := cborDec.Unmarshal(data, &v); err != nil {
		return err
	}
	tm, ok := v.(time.Time)
	if !ok {
		return fmt.Errorf("timestamp must be CBOR tag 1, not %T", v)
	}
	t.Time = tm.UTC().Truncate(time.Millisecond)
	return nil
}

// EncodeCBOR encodes v as the CBOR service path does, for tests and tools.
func EncodeCBOR(v any) ([]byte, error) { return cborEnc.Marshal(v) }

// DecodeCBOR decodes data into v with the service path's options.
func DecodeCBOR(data []byte, v any) error { return cborDec.Unmarshal(data, v) }
