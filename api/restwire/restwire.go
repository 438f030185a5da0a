package restwire

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/api/jsonwire"
	"github.com/berth-dev/berth/awsapi"
)

// Op adapts a typed service method to a restJson1 operation: bind the
// request strictly into the input, validate it against the model, call,
// and encode the output (an empty JSON object when the method returns
// none).
func Op[I, O any, P jsonwire.Input[I]](call func(context.Context, P) (*O, error)) awsapi.RestCall {
	return func(ctx context.Context, req *awsapi.RestRequest) (*awsapi.RestResponse, error) {
		in := P(new(I))
		if err := Decode(req, in); err != nil {
			return nil, err
		}
		if err := in.Validate(); err != nil {
			return nil, err
		}
		out, err := call(ctx, in)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = new(O)
		}
		return Encode(out)
	}
}

// binding is where one field of a generated structure travels.
type binding struct {
	index    int
	location string // uri, querystring, header, headers, statusCode, payload
	name     string // label, parameter or header name, or header prefix
}

var bindingCache sync.Map // reflect.Type -> []binding

// bindingsOf lists the fields of t that carry a rest tag.
func bindingsOf(t reflect.Type) []binding {
	if b, ok := bindingCache.Load(t); ok {
		return b.([]binding)
	}
	var out []binding
	for i := range t.NumField() {
		tag, ok := t.Field(i).Tag.Lookup("rest")
		if !ok {
			continue
		}
		loc, name, _ := strings.Cut(tag, "=")
		out = append(out, binding{index: i, location: loc, name: name})
	}
	bindingCache.Store(t, out)
	return out
}

// Decode fills in, a pointer to a generated input structure, from req:
// the body's JSON members first (strictly, as jsonwire decodes awsJson),
// then the members bound to the path, the query string and headers.
func Decode(req *awsapi.RestRequest, in any) error {
	rv := reflect.ValueOf(in)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return awsapi.InternalError(nil)
	}
	v := rv.Elem()
	bs := bindingsOf(v.Type())
	payload := -1
	for _, b := range bs {
		if b.location == "payload" {
			payload = b.index
		}
	}
	if payload >= 0 {
		if err := decodePayload(v.Field(payload), req.Body, v.Type().Name()); err != nil {
			return err
		}
	} else if err := jsonwire.Decode(req.Body, in); err != nil {
		return err
	}
	root := v.Type().Name()
	for _, b := range bs {
		f := v.Field(b.index)
		switch b.location {
		case "uri":
			if s, ok := req.Labels[b.name]; ok {
				if err := setText(f, s, b.name, root, time.RFC3339); err != nil {
					return err
				}
			}
		case "querystring":
			if err := decodeQuery(f, req, b.name, root); err != nil {
				return err
			}
		case "header":
			if s := req.Header.Get(b.name); s != "" {
				if err := setHeader(f, s, b.name, root); err != nil {
					return err
				}
			}
		case "headers":
			m := map[string]string{}
			for k, vs := range req.Header {
				if len(k) >= len(b.name) && strings.EqualFold(k[:len(b.name)], b.name) && len(vs) > 0 {
					m[strings.ToLower(k[len(b.name):])] = vs[0]
				}
			}
			if len(m) > 0 && f.Type() == reflect.TypeFor[map[string]string]() {
				f.Set(reflect.ValueOf(m))
			}
		}
	}
	return nil
}

func decodePayload(f reflect.Value, body []byte, root string) error {
	switch {
	case f.Type() == reflect.TypeFor[[]byte]():
		if len(body) > 0 {
			f.SetBytes(body)
		}
		return nil
	case f.Kind() == reflect.Pointer && f.Type().Elem().Kind() == reflect.String:
		if len(body) > 0 {
			s := string(body)
			f.Set(reflect.ValueOf(&s).Convert(f.Type()))
		}
		return nil
	case f.Kind() == reflect.Pointer && f.Type().Elem().Kind() == reflect.Struct:
		p := reflect.New(f.Type().Elem())
		if err := jsonwire.Decode(body, p.Interface()); err != nil {
			return err
		}
		f.Set(p)
		return nil
	}
	var doc any
	if len(body) > 0 {
		if err := json.Unmarshal(body, &doc); err != nil {
			return awsapi.Errorf(awsapi.CodeSerialization, "The body of %s is not valid JSON.", root)
		}
		f.Set(reflect.ValueOf(doc))
	}
	return nil
}

func decodeQuery(f reflect.Value, req *awsapi.RestRequest, name, root string) error {
	t := f.Type()
	switch {
	case t.Kind() == reflect.Slice && t != reflect.TypeFor[[]byte]():
		vs, ok := req.Query[name]
		if !ok {
			return nil
		}
		s := reflect.MakeSlice(t, len(vs), len(vs))
		for i, q := range vs {
			if err := setText(s.Index(i), q, name, root, time.RFC3339); err != nil {
				return err
			}
		}
		f.Set(s)
	case t.Kind() == reflect.Map:
		// A map bound to the query string without a name takes every
		// parameter no other member claims; restJson1 services rarely
		// have one, so all parameters are offered.
		m := reflect.MakeMap(t)
		for k, vs := range req.Query {
			if len(vs) == 0 {
				continue
			}
			ev := reflect.New(t.Elem()).Elem()
			if t.Elem().Kind() == reflect.Slice {
				ev = reflect.ValueOf(append([]string(nil), vs...))
			} else if err := setText(ev, vs[0], k, root, time.RFC3339); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(k), ev)
		}
		if m.Len() > 0 {
			f.Set(m)
		}
	default:
		if !req.Query.Has(name) {
			return nil
		}
		return setText(f, req.Query.Get(name), name, root, time.RFC3339)
	}
	return nil
}

func setHeader(f reflect.Value, s, name, root string) error {
	if f.Kind() == reflect.Slice && f.Type() != reflect.TypeFor[[]byte]() {
		parts := strings.Split(s, ",")
		sl := reflect.MakeSlice(f.Type(), len(parts), len(parts))
		for i, p := range parts {
			if err := setText(sl.Index(i), strings.TrimSpace(p), name, root, http.TimeFormat); err != nil {
				return err
			}
		}
		f.Set(sl)
		return nil
	}
	return setText(f, s, name, root, http.TimeFormat)
}

var timestampType = reflect.TypeFor[awsapi.Timestamp]()

// setText parses s into f, a scalar (or pointer to one) of a generated
// structure; timeLayout is the default timestamp format of the location.
func setText(f reflect.Value, s, name, root, timeLayout string) error {
	if f.Kind() == reflect.Pointer {
		p := reflect.New(f.Type().Elem())
		if err := setText(p.Elem(), s, name, root, timeLayout); err != nil {
			return err
		}
		f.Set(p)
		return nil
	}
	bad := func(want string) error {
		return awsapi.Errorf(awsapi.CodeSerialization, "Value '%s' at '%s' in %s must be %s.", s, name, root, want)
	}
	if f.Type() == timestampType {
		for _, layout := range []string{timeLayout, time.RFC3339Nano, http.TimeFormat} {
			if t, err := time.Parse(layout, s); err == nil {
				f.Set(reflect.ValueOf(awsapi.Timestamp{Time: t.UTC()}))
				return nil
			}
		}
		if sec, err := strconv.ParseFloat(s, 64); err == nil {
			f.Set(reflect.ValueOf(awsapi.Timestamp{Time: time.UnixMilli(int64(sec * 1000)).UTC()}))
			return nil
		}
		return bad("a timestamp")
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return bad("true or false")
		}
		f.SetBool(b)
	case reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(s, 10, f.Type().Bits())
		if err != nil {
			return bad("an integer")
		}
		f.SetInt(i)
	case reflect.Float32, reflect.Float64:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return bad("a number")
		}
		f.SetFloat(x)
	case reflect.Slice:
		if f.Type() == reflect.TypeFor[[]byte]() {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return bad("base64")
			}
			f.SetBytes(b)
			return nil
		}
		return bad("a single value")
	default:
		return bad("a scalar")
	}
	return nil
}

// Encode writes out, a generated output structure: bound members become
// headers and the status code, a payload member the whole body, and the
// other members the JSON body.
func Encode(out any) (*awsapi.RestResponse, error) {
	v := reflect.ValueOf(out)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return &awsapi.RestResponse{}, nil
		}
		v = v.Elem()
	}
	resp := &awsapi.RestResponse{Header: http.Header{}}
	payload := false
	if v.Kind() == reflect.Struct {
		for _, b := range bindingsOf(v.Type()) {
			f := v.Field(b.index)
			if f.Kind() == reflect.Pointer && f.IsNil() || f.IsZero() {
				if b.location == "payload" {
					payload = true
				}
				continue
			}
			switch b.location {
			case "statusCode":
				resp.Status = int(reflect.Indirect(f).Int())
			case "header":
				resp.Header.Set(b.name, headerText(f))
			case "headers":
				iter := f.MapRange()
				for iter.Next() {
					resp.Header.Set(b.name+iter.Key().String(), iter.Value().String())
				}
			case "payload":
				payload = true
				e := reflect.Indirect(f)
				switch {
				case e.Type() == reflect.TypeFor[[]byte]():
					resp.Body = e.Bytes()
					resp.Header.Set("Content-Type", "application/octet-stream")
				case e.Kind() == reflect.String:
					resp.Body = []byte(e.String())
					resp.Header.Set("Content-Type", "text/plain")
				default:
					data, err := json.Marshal(f.Interface())
					if err != nil {
						return nil, err
					}
					resp.Body = data
				}
			}
		}
	}
	if !payload {
		data, err := json.Marshal(out)
		if err != nil {
			return nil, err
		}
		resp.Body = data
	}
	return resp, nil
}

// headerText formats a header value: timestamps as HTTP dates, lists
// comma-separated.
func headerText(f reflect.Value) string {
	f = reflect.Indirect(f)
	if f.Type() == timestampType {
		return f.Interface().(awsapi.Timestamp).UTC().Format(http.TimeFormat)
	}
	switch f.Kind() {
	case reflect.Slice:
		if f.Type() == reflect.TypeFor[[]byte]() {
			return base64.StdEncoding.EncodeToString(f.Bytes())
		}
		parts := make([]string, f.Len())
		for i := range f.Len() {
			parts[i] = headerText(f.Index(i))
		}
		return strings.Join(parts, ", ")
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(f.Float(), 'f', -1, 64)
	}
	return fmt.Sprint(f.Interface())
}
