package jsonwire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/berth-dev/berth/awsapi"
)

// Decode fills in, a pointer to a generated input structure, from an
// awsJson request body. It is stricter than encoding/json, as AWS is:
// member names match exactly, unknown members and values of the wrong JSON
// type are SerializationExceptions naming the member, and null is the same
// as absent. An empty body is an empty input.
func Decode(body []byte, in any) error {
	rv := reflect.ValueOf(in)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return errors.New("jsonwire: Decode needs a non-nil pointer to a struct")
	}
	root := rv.Elem().Type().Name()
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return serializationError("The request body is not valid JSON: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return serializationError("The request body has data after its JSON value.")
	}
	if tree == nil {
		return nil
	}
	d := decoder{root: root}
	return d.value(rv.Elem(), tree, "")
}

func jsonProblem(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return syn.Error() + " at offset " + strconv.FormatInt(syn.Offset, 10)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "unexpected end of input"
	}
	return err.Error()
}

func serializationError(format string, args ...any) *awsapi.Error {
	return awsapi.Errorf(awsapi.CodeSerialization, format, args...)
}

type decoder struct {
	root string // the input type's name, for messages
}

var (
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	bytesType       = reflect.TypeFor[[]byte]()
)

func (d *decoder) value(v reflect.Value, j any, path string) error {
	if j == nil {
		return nil
	}
	t := v.Type()
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface && reflect.PointerTo(t).Implements(unmarshalerType) {
		return d.unmarshaler(v.Addr(), j, path)
	}
	if t.Kind() == reflect.Pointer {
		p := reflect.New(t.Elem())
		if err := d.value(p.Elem(), j, path); err != nil {
			return err
		}
		v.Set(p)
		return nil
	}
	if t == bytesType {
		s, ok := j.(string)
		if !ok {
			return d.wrongType(path, "a base64-encoded string", j)
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return serializationError("Value at '%s' in %s is not valid base64.", path, d.root)
		}
		v.SetBytes(b)
		return nil
	}
	switch t.Kind() {
	case reflect.String:
		s, ok := j.(string)
		if !ok {
			return d.wrongType(path, "a string", j)
		}
		v.SetString(s)
	case reflect.Bool:
		b, ok := j.(bool)
		if !ok {
			return d.wrongType(path, "a boolean", j)
		}
		v.SetBool(b)
	case reflect.Int32, reflect.Int64:
		n, ok := j.(json.Number)
		if !ok {
			return d.wrongType(path, "an integer", j)
		}
		i, err := integer(n, t.Bits())
		if err != nil {
			return serializationError("Value '%s' at '%s' in %s %s.", n, path, d.root, err.Error())
		}
		v.SetInt(i)
	case reflect.Float64, reflect.Float32:
		n, ok := j.(json.Number)
		if !ok {
			return d.wrongType(path, "a number", j)
		}
		f, err := strconv.ParseFloat(string(n), t.Bits())
		if err != nil {
			return serializationError("Value '%s' at '%s' in %s is out of range for a double.", n, path, d.root)
		}
		v.SetFloat(f)
	case reflect.Slice:
		list, ok := j.([]any)
		if !ok {
			return d.wrongType(path, "a list", j)
		}
		s := reflect.MakeSlice(t, len(list), len(list))
		for i, e := range list {
			if err := d.value(s.Index(i), e, path+"."+strconv.Itoa(i+1)+".member"); err != nil {
				return err
			}
		}
		v.Set(s)
	case reflect.Map:
		obj, ok := j.(map[string]any)
		if !ok {
			return d.wrongType(path, "a map", j)
		}
		m := reflect.MakeMapWithSize(t, len(obj))
		for k, e := range obj {
			ev := reflect.New(t.Elem()).Elem()
			if err := d.value(ev, e, path+"."+k+".member"); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), ev)
		}
		v.Set(m)
	case reflect.Struct:
		return d.structure(v, j, path)
	case reflect.Interface:
		// A document member takes any JSON value as it came.
		v.Set(reflect.ValueOf(j))
	default:
		return serializationError("Value at '%s' in %s has a type Berth cannot decode.", path, d.root)
	}
	return nil
}

func (d *decoder) structure(v reflect.Value, j any, path string) error {
	obj, ok := j.(map[string]any)
	if !ok {
		return d.wrongType(path, "a structure", j)
	}
	fields := fieldsOf(v.Type())
	for name, e := range obj {
		i, known := fields[name]
		if !known {
			if path == "" {
				return serializationError("Unknown member '%s' in %s.", name, d.root)
			}
			return serializationError("Unknown member '%s.%s' in %s.", path, name, d.root)
		}
		if err := d.value(v.Field(i), e, join(path, name)); err != nil {
			return err
		}
	}
	return nil
}

// unmarshaler hands a scalar to p, a pointer to a type with its own JSON
// form (awsapi.Timestamp), turning its error into a SerializationException.
func (d *decoder) unmarshaler(p reflect.Value, j any, path string) error {
	switch j.(type) {
	case string, json.Number:
	default:
		return d.wrongType(path, "a timestamp", j)
	}
	raw, err := json.Marshal(j)
	if err != nil {
		return serializationError("Value at '%s' in %s cannot be read.", path, d.root)
	}
	if err := p.Interface().(json.Unmarshaler).UnmarshalJSON(raw); err != nil {
		return serializationError("Value at '%s' in %s is not a valid timestamp: %v.", path, d.root, err)
	}
	return nil
}

func (d *decoder) wrongType(path, want string, got any) *awsapi.Error {
	if path == "" {
		return serializationError("The request body must be a JSON object for %s, not %s.", d.root, jsonKind(got))
	}
	return serializationError("Value at '%s' in %s must be %s, not %s.", path, d.root, want, jsonKind(got))
}

func jsonKind(j any) string {
	switch j.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}

// integer reads n as a whole number of the given bit size; AWS's front
// ends accept 5.0 for an integer but not 5.5 or values out of range.
func integer(n json.Number, bits int) (int64, error) {
	i, err := strconv.ParseInt(string(n), 10, bits)
	if err == nil {
		return i, nil
	}
	f, ferr := strconv.ParseFloat(string(n), 64)
	if ferr != nil || f != math.Trunc(f) {
		return 0, errors.New("is not an integer")
	}
	limit := math.Ldexp(1, bits-1)
	if f < -limit || f >= limit {
		return 0, errors.New("is out of range")
	}
	return int64(f), nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

var fieldCache sync.Map // reflect.Type -> map[string]int

// fieldsOf maps a struct's JSON member names to field indexes.
func fieldsOf(t reflect.Type) map[string]int {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]int)
	}
	fields := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = i
	}
	fieldCache.Store(t, fields)
	return fields
}
