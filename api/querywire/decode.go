package querywire

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/awsapi"
)

// Decode fills in, a pointer to a generated input structure, from the
// parameters of an awsQuery request: structure members by name
// (Parent.Child), lists as Name.member.N (Name.N when flattened, Name=
// for an empty list), maps as Name.entry.N.key and Name.entry.N.value.
// Action, Version and parameters the input does not have are ignored, as
// AWS ignores them; a value of the wrong type is InvalidParameterValue.
func Decode(params url.Values, in any) error {
	rv := reflect.ValueOf(in)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return errors.New("querywire: Decode needs a non-nil pointer to a struct")
	}
	root := tree(params)
	delete(root.children, "Action")
	delete(root.children, "Version")
	return structure(rv.Elem(), root, "")
}

// node is one dotted segment of the parameter names: Tags.member.1.Key
// is root → Tags → member → 1 → Key.
type node struct {
	value    *string
	children map[string]*node
}

func tree(params url.Values) *node {
	root := &node{}
	for key, vals := range params {
		if len(vals) == 0 {
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
	return root
}

// invalid is AWS's common InvalidParameterValue error for the parameter
// at path.
func invalid(path, format string, args ...any) *awsapi.Error {
	return awsapi.Errorf("InvalidParameterValue", "Value for parameter %s is invalid: %s.", path, fmt.Sprintf(format, args...))
}

var (
	timestampType = reflect.TypeFor[awsapi.Timestamp]()
	bytesType     = reflect.TypeFor[[]byte]()
)

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func structure(v reflect.Value, n *node, path string) error {
	for _, f := range fieldsOf(v.Type()) {
		name := f.flatName()
		c := n.children[name]
		if c == nil {
			continue
		}
		if err := value(v.Field(f.index), c, join(path, name), f.traits); err != nil {
			return err
		}
	}
	return nil
}

// value decodes node n into v; tr are the traits of the member holding v
// (collections nested in collections take the defaults).
func value(v reflect.Value, n *node, path string, tr traits) error {
	t := v.Type()
	if t.Kind() == reflect.Pointer {
		p := reflect.New(t.Elem())
		if err := value(p.Elem(), n, path, tr); err != nil {
			return err
		}
		v.Set(p)
		return nil
	}
	switch {
	case t == timestampType:
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
	case t == bytesType:
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
		return list(v, n, path, tr)
	case reflect.Map:
		return mapping(v, n, path, tr)
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

// indexed returns the children of n named 1, 2, ... in index order.
func indexed(n *node, path string) ([]*node, error) {
	if n == nil {
		return nil, nil
	}
	type item struct {
		i int
		n *node
	}
	items := make([]item, 0, len(n.children))
	for k, c := range n.children {
		i, err := strconv.Atoi(k)
		if err != nil || i < 1 {
			return nil, invalid(join(path, k), "list and map indexes are 1, 2, ...")
		}
		items = append(items, item{i, c})
	}
	sort.Slice(items, func(a, b int) bool { return items[a].i < items[b].i })
	out := make([]*node, len(items))
	for i, it := range items {
		out[i] = it.n
	}
	return out, nil
}

func list(v reflect.Value, n *node, path string, tr traits) error {
	itemsAt, itemsPath := n, path
	if !tr.flat {
		itemsAt, itemsPath = n.children[tr.elementName()], join(path, tr.elementName())
	}
	if itemsAt == nil && n.value != nil && *n.value != "" {
		return invalid(path, "a list is expected, not a value")
	}
	items, err := indexed(itemsAt, itemsPath)
	if err != nil {
		return err
	}
	s := reflect.MakeSlice(v.Type(), len(items), len(items))
	for i, c := range items {
		if err := value(s.Index(i), c, itemsPath+"."+strconv.Itoa(i+1), traits{}); err != nil {
			return err
		}
	}
	v.Set(s)
	return nil
}

func mapping(v reflect.Value, n *node, path string, tr traits) error {
	entriesAt, entriesPath := n, path
	if !tr.flat {
		entriesAt, entriesPath = n.children["entry"], join(path, "entry")
	}
	if entriesAt == nil && n.value != nil && *n.value != "" {
		return invalid(path, "a map is expected, not a value")
	}
	entries, err := indexed(entriesAt, entriesPath)
	if err != nil {
		return err
	}
	t := v.Type()
	m := reflect.MakeMapWithSize(t, len(entries))
	for i, e := range entries {
		at := entriesPath + "." + strconv.Itoa(i+1)
		kn := e.children[tr.keyName()]
		if kn == nil || kn.value == nil {
			return invalid(at, "the entry has no %s", tr.keyName())
		}
		ev := reflect.New(t.Elem()).Elem()
		if vn := e.children[tr.valueName()]; vn != nil {
			if err := value(ev, vn, join(at, tr.valueName()), traits{}); err != nil {
				return err
			}
		}
		m.SetMapIndex(reflect.ValueOf(*kn.value).Convert(t.Key()), ev)
	}
	v.Set(m)
	return nil
}

// parseTime reads the timestamps clients send: ISO 8601 (what botocore
// and the SDKs send for awsQuery), or epoch seconds.
func parseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1e3))*1e6).UTC(), true
	}
	return time.Time{}, false
}
