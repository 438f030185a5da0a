package querywire

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"time"

	"github.com/berth-dev/berth/awsapi"
)

// EncodeResult writes out, a generated output structure, as the awsQuery
// result element named wrapper: members as elements named like their
// parameters, lists as <Name><member>...</member></Name> (repeated <Name>
// when flattened), maps as <Name><entry><key/><value/></entry></Name>,
// timestamps in ISO 8601. Absent members (nil pointers, nil slices and
// maps) are left out; empty collections are written empty, so clients see
// an empty list rather than none.
func EncodeResult(wrapper string, out any) []byte {
	var e encoder
	e.open(wrapper)
	v := reflect.ValueOf(out)
	for v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() == reflect.Struct {
		e.fields(v)
	}
	e.close(wrapper)
	return e.b.Bytes()
}

type encoder struct{ b bytes.Buffer }

func (e *encoder) open(name string)  { e.b.WriteString("<" + name + ">") }
func (e *encoder) close(name string) { e.b.WriteString("</" + name + ">") }
func (e *encoder) text(s string)     { xml.EscapeText(&e.b, []byte(s)) }

func absent(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		return v.IsNil()
	}
	return false
}

func (e *encoder) fields(v reflect.Value) {
	for _, f := range fieldsOf(v.Type()) {
		fv := v.Field(f.index)
		if absent(fv) {
			continue
		}
		e.member(f, fv)
	}
}

// member writes one structure member with its collection traits.
func (e *encoder) member(f field, v reflect.Value) {
	switch {
	case v.Kind() == reflect.Slice && v.Type() != bytesType:
		if f.flat {
			for i := range v.Len() {
				e.element(f.flatName(), v.Index(i))
			}
			return
		}
		e.open(f.name)
		e.items(v, f.traits)
		e.close(f.name)
	case v.Kind() == reflect.Map:
		if f.flat {
			for _, k := range sortedKeys(v) {
				e.open(f.name)
				e.pair(k, v.MapIndex(k), f.traits)
				e.close(f.name)
			}
			return
		}
		e.open(f.name)
		e.entries(v, f.traits)
		e.close(f.name)
	default:
		e.element(f.name, v)
	}
}

func (e *encoder) items(v reflect.Value, tr traits) {
	for i := range v.Len() {
		e.element(tr.elementName(), v.Index(i))
	}
}

func (e *encoder) entries(v reflect.Value, tr traits) {
	for _, k := range sortedKeys(v) {
		e.open("entry")
		e.pair(k, v.MapIndex(k), tr)
		e.close("entry")
	}
}

func (e *encoder) pair(k, v reflect.Value, tr traits) {
	e.element(tr.keyName(), k)
	e.element(tr.valueName(), v)
}

func sortedKeys(v reflect.Value) []reflect.Value {
	keys := v.MapKeys()
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	return keys
}

// element writes <name>v</name>; collections nested in collections use
// the default member, entry, key and value names.
func (e *encoder) element(name string, v reflect.Value) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			e.open(name)
			e.close(name)
			return
		}
		v = v.Elem()
	}
	e.open(name)
	switch {
	case v.Type() == timestampType:
		e.text(FormatTime(v.Interface().(awsapi.Timestamp).Time))
	case v.Type() == bytesType:
		e.text(base64.StdEncoding.EncodeToString(v.Bytes()))
	default:
		switch v.Kind() {
		case reflect.Struct:
			e.fields(v)
		case reflect.Slice:
			e.items(v, traits{})
		case reflect.Map:
			e.entries(v, traits{})
		case reflect.String:
			e.text(v.String())
		case reflect.Bool:
			e.text(strconv.FormatBool(v.Bool()))
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			e.text(strconv.FormatInt(v.Int(), 10))
		case reflect.Float32, reflect.Float64:
			e.text(strconv.FormatFloat(v.Float(), 'f', -1, 64))
		default:
			e.text(fmt.Sprint(v.Interface()))
		}
	}
	e.close(name)
}

// FormatTime is an awsQuery timestamp: ISO 8601 in UTC, with milliseconds
// when there are any.
func FormatTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1e6 == 0 {
		return t.Format("2006-01-02T15:04:05Z")
	}
	return t.Format("2006-01-02T15:04:05.000Z")
}
