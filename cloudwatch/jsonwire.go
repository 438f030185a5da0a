package cloudwatch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
)

// MarshalJSON encodes an API output for the awsJson wire as encoding/json
// does, except that doubles keep a decimal point when they are whole
// ("Threshold": 30.0, "Values": [41.0]): AWS writes them so, and clients
// that decode JSON numbers by their form (boto3, hence the aws CLI v1)
// would otherwise hand integers to code that expects floats.
func MarshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := encodeJSON(&b, reflect.ValueOf(v)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

var jsonMarshaler = reflect.TypeFor[json.Marshaler]()

func encodeJSON(b *bytes.Buffer, v reflect.Value) error {
	if !v.IsValid() {
		b.WriteString("null")
		return nil
	}
	// Types with their own encoding (timestamps) keep it.
	if v.Type().Implements(jsonMarshaler) && v.Kind() != reflect.Interface {
		if v.Kind() == reflect.Pointer && v.IsNil() {
			b.WriteString("null")
			return nil
		}
		return appendJSON(b, v.Interface())
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			b.WriteString("null")
			return nil
		}
		return encodeJSON(b, v.Elem())
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		data, err := json.Marshal(f)
		if err != nil {
			return err
		}
		b.Write(data)
		if f == math.Trunc(f) && !bytes.ContainsAny(data, ".eE") {
			b.WriteString(".0")
		}
		return nil
	case reflect.Struct:
		return encodeStruct(b, v)
	case reflect.Slice:
		if v.IsNil() {
			b.WriteString("null")
			return nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return appendJSON(b, v.Interface())
		}
		fallthrough
	case reflect.Array:
		b.WriteByte('[')
		for i := range v.Len() {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := encodeJSON(b, v.Index(i)); err != nil {
				return err
			}
		}
		b.WriteByte(']')
		return nil
	case reflect.Map:
		if v.IsNil() {
			b.WriteString("null")
			return nil
		}
		if v.Type().Key().Kind() != reflect.String {
			return appendJSON(b, v.Interface())
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(x, y reflect.Value) int { return strings.Compare(x.String(), y.String()) })
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := appendJSON(b, k.String()); err != nil {
				return err
			}
			b.WriteByte(':')
			if err := encodeJSON(b, v.MapIndex(k)); err != nil {
				return err
			}
		}
		b.WriteByte('}')
		return nil
	}
	return appendJSON(b, v.Interface())
}

// encodeStruct follows the json tags of the generated shapes: names,
// omitempty and omitzero.
func encodeStruct(b *bytes.Buffer, v reflect.Value) error {
	t := v.Type()
	b.WriteByte('{')
	first := true
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = sf.Name
		}
		fv := v.Field(i)
		if hasOpt(opts, "omitempty") && emptyJSON(fv) || hasOpt(opts, "omitzero") && zeroJSON(fv) {
			continue
		}
		if hasOpt(opts, "string") || sf.Anonymous {
			return fmt.Errorf("cloudwatch: field %s.%s: unsupported json encoding", t.Name(), sf.Name)
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		if err := appendJSON(b, name); err != nil {
			return err
		}
		b.WriteByte(':')
		if err := encodeJSON(b, fv); err != nil {
			return err
		}
	}
	b.WriteByte('}')
	return nil
}

func hasOpt(opts, opt string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == opt {
			return true
		}
	}
	return false
}

func emptyJSON(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

func zeroJSON(v reflect.Value) bool {
	if z, ok := v.Interface().(interface{ IsZero() bool }); ok {
		if v.Kind() == reflect.Pointer && v.IsNil() {
			return true
		}
		return z.IsZero()
	}
	return v.IsZero()
}

// appendJSON writes v as encoding/json does, HTML escaping included.
func appendJSON(b *bytes.Buffer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b.Write(data)
	return nil
}
