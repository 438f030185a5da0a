// Package ec2wire is the runtime of the generated EC2-protocol binding in
// api/ec2: it decodes form parameters into the generated input types,
// writes output structures as the members of an EC2 response and wires
// typed service methods into awsapi.QueryOperation values.
//
// The generated types carry their locationName in their json tags (the
// XML element name of responses). A request parameter is named by the
// ec2 tag's name=, else by that name with its first letter in upper case.
// Lists are always flattened in requests (Name.1, Name.2) and wrapped in
// responses (<name><item/></name>, the item name from the ec2 tag's
// member=, default item).
package ec2wire

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/berth-dev/berth/awsapi"
)

// Input is what every generated input structure is: a pointer type that
// validates itself against the model.
type Input[I any] interface {
	*I
	Validate() error
}

// Op adapts a typed service method to an EC2 operation: decode the
// parameters, validate them, call, and write the output's members.
func Op[I, O any, P Input[I]](call func(context.Context, P) (*O, error)) awsapi.QueryOperation {
	return func(ctx context.Context, params url.Values) ([]byte, error) {
		in := P(new(I))
		if err := Decode(params, in); err != nil {
			return nil, err
		}
		if err := in.Validate(); err != nil {
			return nil, missing(err)
		}
		out, err := call(ctx, in)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = new(O)
		}
		return Encode(out), nil
	}
}

// nullRE finds a missing required member in a model validation message.
var nullRE = regexp.MustCompile(`^1 validation error detected: Value null at '([^']+)' failed to satisfy constraint: Member must not be null$`)

// missing words a model validation error about one missing required
// member as EC2 does: MissingParameter, "The request must contain the
// parameter X". Other validation errors are kept.
func missing(err error) error {
	e := awsapi.AsError(err)
	if e == nil {
		return err
	}
	if m := nullRE.FindStringSubmatch(e.Message); m != nil {
		return awsapi.Errorf("MissingParameter", "The request must contain the parameter %s", m[1])
	}
	return err
}

// field is one wire member of a generated structure.
type field struct {
	index int
	elem  string // XML element name (locationName)
	param string // request parameter name
	item  string // list item element name
}

var fieldCache sync.Map // reflect.Type -> []field

func fieldsOf(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	var fields []field
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		f := field{index: i, elem: name, param: upperFirst(name), item: "item"}
		for _, opt := range strings.Split(sf.Tag.Get("ec2"), ",") {
			k, v, _ := strings.Cut(opt, "=")
			switch k {
			case "name":
				f.param = v
			case "member":
				f.item = v
			}
		}
		fields = append(fields, f)
	}
	fieldCache.Store(t, fields)
	return fields
}

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

var (
	timestampType = reflect.TypeFor[awsapi.Timestamp]()
	bytesType     = reflect.TypeFor[[]byte]()
)

// Decode fills in, a pointer to a generated input structure, from the
// parameters of an EC2 request. Action, Version and unknown parameters
// are ignored; a value of the wrong type is InvalidParameterValue.
func Decode(params url.Values, in any) error {
	rv := reflect.ValueOf(in)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return errors.New("ec2wire: Decode needs a non-nil pointer to a struct")
	}
	root := &node{}
	for key, vals := range params {
		if len(vals) == 0 || key == "Action" || key == "Version" {
			continue
		}
		n := root
		for _, part := range strings.Split(key, ".") {
			if n.children == nil {
				n.children = map[string]*node{}
			}
			c := n.children[part]
			if c == nil {
				c = &node{}
				n.children[part] = c
			}
			n = c
		}
		v := vals[0]
		n.value = &v
	}
	return structure(rv.Elem(), root, "")
}

type node struct {
	value    *string
	children map[string]*node
}

func invalid(path, format string, args ...any) *awsapi.Error {
	return awsapi.Errorf("InvalidParameterValue", "Value for parameter %s is invalid: %s.", path, fmt.Sprintf(format, args...))
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func structure(v reflect.Value, n *node, path string) error {
	for _, f := range fieldsOf(v.Type()) {
		c := n.children[f.param]
		if c == nil {
			continue
		}
		if err := value(v.Field(f.index), c, join(path, f.param)); err != nil {
			return err
		}
	}
	return nil
}

func value(v reflect.Value, n *node, path string) error {
	t := v.Type()
	if t.Kind() == reflect.Pointer {
		p := reflect.New(t.Elem())
		if err := value(p.Elem(), n, path); err != nil {
			return err
		}
		v.Set(p)
		return nil
	}
	switch t {
	case timestampType:
		s, err := scalar(n, path)
		if err != nil {
			return err
		}
		ts, ok := parseTime(s)
		if !ok {
			return invalid(path, "%q is not an ISO 8601 timestamp", s)
		}
		v.Set(reflect.ValueOf(awsapi.Timestamp{Time: ts}))
		return nil
	case bytesType:
		s, err := scalar(n, path)
		if err != nil {
			return err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return invalid(path, "it is not valid base64")
		}
		v.SetBytes(b)
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.value != nil && *n.value != "" && len(n.children) == 0 {
			return invalid(path, "a structure is expected, not a value")
		}
		return structure(v, n, path)
	case reflect.Slice:
		return list(v, n, path)
	case reflect.Map:
		return invalid(path, "Berth does not decode maps in EC2 requests")
	}
	s, err := scalar(n, path)
	if err != nil {
		return err
	}
	switch t.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		switch strings.ToLower(s) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			return invalid(path, "%q is not a boolean (true or false)", s)
		}
	case reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(strings.TrimSpace(s), 10, t.Bits())
		if err != nil {
			return invalid(path, "%q is not an integer in range", s)
		}
		v.SetInt(i)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), t.Bits())
		if err != nil || math.IsNaN(f) {
			return invalid(path, "%q is not a number", s)
		}
		v.SetFloat(f)
	case reflect.Interface:
		v.Set(reflect.ValueOf(s))
	default:
		return invalid(path, "Berth cannot decode a %s", t)
	}
	return nil
}

func scalar(n *node, path string) (string, error) {
	if n.value == nil {
		return "", invalid(path, "a value is expected, not nested parameters")
	}
	return *n.value, nil
}

// list decodes Name.1, Name.2, ... in index order.
func list(v reflect.Value, n *node, path string) error {
	if len(n.children) == 0 && n.value != nil && *n.value != "" {
		return invalid(path, "a list is expected, not a value")
	}
	type item struct {
		i int
		n *node
	}
	items := make([]item, 0, len(n.children))
	for k, c := range n.children {
		i, err := strconv.Atoi(k)
		if err != nil || i < 1 {
			return invalid(join(path, k), "list indexes are 1, 2, ...")
		}
		items = append(items, item{i, c})
	}
	sort.Slice(items, func(a, b int) bool { return items[a].i < items[b].i })
	s := reflect.MakeSlice(v.Type(), len(items), len(items))
	for i, it := range items {
		if err := value(s.Index(i), it.n, path+"."+strconv.Itoa(it.i)); err != nil {
			return err
		}
	}
	v.Set(s)
	return nil
}

func parseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// Encode writes out's members as EC2 response XML: elements named by
// locationName, lists as <name><item>...</item></name>, timestamps in ISO
// 8601. Nil members are left out; empty lists are written empty.
func Encode(out any) []byte {
	var e encoder
	v := reflect.ValueOf(out)
	for v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() == reflect.Struct {
		e.fields(v)
	}
	return e.b.Bytes()
}

type encoder struct{ b bytes.Buffer }

func (e *encoder) open(name string)  { e.b.WriteString("<" + name + ">") }
func (e *encoder) close(name string) { e.b.WriteString("</" + name + ">") }

func (e *encoder) fields(v reflect.Value) {
	for _, f := range fieldsOf(v.Type()) {
		fv := v.Field(f.index)
		switch fv.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			if fv.IsNil() {
				continue
			}
		}
		e.element(f.elem, f.item, fv)
	}
}

// element writes <name>v</name>; item names the elements of a list.
func (e *encoder) element(name, item string, v reflect.Value) {
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
		xml.EscapeText(&e.b, []byte(formatTime(v.Interface().(awsapi.Timestamp).Time)))
	case v.Type() == bytesType:
		e.b.WriteString(base64.StdEncoding.EncodeToString(v.Bytes()))
	default:
		switch v.Kind() {
		case reflect.Struct:
			e.fields(v)
		case reflect.Slice:
			for i := range v.Len() {
				e.element(item, "item", v.Index(i))
			}
		case reflect.String:
			xml.EscapeText(&e.b, []byte(v.String()))
		case reflect.Bool:
			e.b.WriteString(strconv.FormatBool(v.Bool()))
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			e.b.WriteString(strconv.FormatInt(v.Int(), 10))
		case reflect.Float32, reflect.Float64:
			e.b.WriteString(strconv.FormatFloat(v.Float(), 'f', -1, 64))
		default:
			xml.EscapeText(&e.b, []byte(fmt.Sprint(v.Interface())))
		}
	}
	e.close(name)
}

func formatTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1e6 == 0 {
		return t.Format("2006-01-02T15:04:05Z")
	}
	return t.Format("2006-01-02T15:04:05.000Z")
}
