package querywire

import (
	"reflect"
	"strings"
	"sync"
)

// field is one wire member of a generated structure.
type field struct {
	index int
	name  string // parameter and element name (the json tag's)
	traits
}

// traits change how a list or map member travels (the query struct tag).
type traits struct {
	flat   bool
	member string // list element name; flattened: replaces name
	key    string // map key name
	value  string // map value name
}

// elementName is the name of a list's elements inside its wrapper.
func (t traits) elementName() string {
	if t.member != "" {
		return t.member
	}
	return "member"
}

func (t traits) keyName() string {
	if t.key != "" {
		return t.key
	}
	return "key"
}

func (t traits) valueName() string {
	if t.value != "" {
		return t.value
	}
	return "value"
}

// flatName is what a flattened list member is called on the wire: its
// element name when the model gives one, else its own.
func (f field) flatName() string {
	if f.flat && f.member != "" {
		return f.member
	}
	return f.name
}

var fieldCache sync.Map // reflect.Type -> []field

// fieldsOf lists the wire members of a struct type, in field order.
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
		f := field{index: i, name: name}
		for _, opt := range strings.Split(sf.Tag.Get("query"), ",") {
			k, v, _ := strings.Cut(opt, "=")
			switch k {
			case "flat":
				f.flat = true
			case "member":
				f.member = v
			case "key":
				f.key = v
			case "value":
				f.value = v
			}
		}
		fields = append(fields, f)
	}
	fieldCache.Store(t, fields)
	return fields
}
