package awsapi

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
)

// This file is the runtime half of the validators generated into
// api/<service>: constraints, the violations a request collects, and the
// two ways AWS words them. Package awsapi/check tests values against the
// constraints.

// ConstraintKind is one kind of model constraint a value can break.
type ConstraintKind int

const (
	NotNull ConstraintKind = iota
	MinLength
	MaxLength
	MinValue
	MaxValue
	Pattern
	EnumSet
	// EachMember, MapKeys and MapValues wrap the constraints of a list's
	// elements or a map's keys and values: AWS reports them once, on the
	// collection, listing every rule of the element shape.
	EachMember
	MapKeys
	MapValues
)

// Constraint is a model constraint as AWS phrases it in validation errors.
type Constraint struct {
	Kind  ConstraintKind
	Bound string   // MinLength..MaxValue: the limit as AWS prints it
	Text  string   // Pattern: the model's pattern, unanchored
	Enum  []string // EnumSet: the allowed values, in model order
	Inner []Constraint
}

// Describe is Coral's wording of c, e.g. "Member must not be null".
func (c Constraint) Describe() string {
	switch c.Kind {
	case NotNull:
		return "Member must not be null"
	case MinLength:
		return "Member must have length greater than or equal to " + c.Bound
	case MaxLength:
		return "Member must have length less than or equal to " + c.Bound
	case MinValue:
		return "Member must have value greater than or equal to " + c.Bound
	case MaxValue:
		return "Member must have value less than or equal to " + c.Bound
	case Pattern:
		return "Member must satisfy regular expression pattern: " + c.Text
	case EnumSet:
		return "Member must satisfy enum value set: [" + strings.Join(c.Enum, ", ") + "]"
	case EachMember:
		return "Member must satisfy constraint: " + describeAll(c.Inner)
	case MapKeys:
		return "Map keys must satisfy constraint: " + describeAll(c.Inner)
	case MapValues:
		return "Map value must satisfy constraint: " + describeAll(c.Inner)
	}
	return "Member is invalid"
}

func describeAll(cs []Constraint) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Describe()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// Violation is one broken constraint at a Coral member path such as
// "imageIds.1.member.imageTag" (list indexes are 1-based).
type Violation struct {
	Path       string
	Value      any // nil prints as null
	Sensitive  bool
	Constraint Constraint
}

// Violations collects what a request breaks, in the order found.
type Violations []Violation

// Add records that value at path breaks c.
func (vs *Violations) Add(path string, value any, c Constraint) {
	*vs = append(*vs, Violation{Path: path, Value: value, Constraint: c})
}

// AddSensitive records a violation whose value must not be echoed back.
func (vs *Violations) AddSensitive(path string, c Constraint) {
	*vs = append(*vs, Violation{Path: path, Sensitive: true, Constraint: c})
}

// Null records a required member that is missing.
func (vs *Violations) Null(path string) {
	*vs = append(*vs, Violation{Path: path, Constraint: Constraint{Kind: NotNull}})
}

// ValidationStyle is how a service words its model validation errors.
type ValidationStyle int

const (
	// CoralStyle is the common AWS format: "1 validation error detected:
	// Value 'x' at 'name' failed to satisfy constraint: Member must ...",
	// listing every violation.
	CoralStyle ValidationStyle = iota
	// ParameterStyle is ECR's: "Invalid parameter at 'name' failed to
	// satisfy constraint: 'must ...'", for the first violation only.
	ParameterStyle
)

// Err turns the violations into the service's validation error (HTTP 400
// with the given code), or nil when there are none.
func (vs Violations) Err(code string, style ValidationStyle) error {
	if len(vs) == 0 {
		return nil
	}
	if style == ParameterStyle {
		return Errorf(code, "Invalid parameter at '%s' failed to satisfy constraint: '%s'", vs[0].Path, vs[0].parameterText())
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.String()
	}
	noun := "errors"
	if len(vs) == 1 {
		noun = "error"
	}
	return Errorf(code, "%d validation %s detected: %s", len(vs), noun, strings.Join(parts, "; "))
}

// String is the violation in Coral's words; sensitive values are left
// out, as AWS leaves them out.
func (v Violation) String() string {
	switch {
	case v.Sensitive:
		return fmt.Sprintf("Value at '%s' failed to satisfy constraint: %s", v.Path, v.Constraint.Describe())
	case v.Value == nil:
		return fmt.Sprintf("Value null at '%s' failed to satisfy constraint: %s", v.Path, v.Constraint.Describe())
	}
	return fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", FormatValue(v.Value), v.Path, v.Constraint.Describe())
}

// parameterText words a string's own rules the way ECR's front end does
// ("must satisfy regular expression '...'"); the rest keep Coral's
// wording, as ECR sends them ("Member must have length ..." for a list).
func (v Violation) parameterText() string {
	c := v.Constraint
	if _, isString := v.Value.(string); isString || v.Sensitive {
		switch c.Kind {
		case Pattern:
			return "must satisfy regular expression '" + c.Text + "'"
		case MinLength, MaxLength:
			return strings.TrimPrefix(c.Describe(), "Member ")
		}
	}
	return c.Describe()
}

// StringLength is a string's length as AWS's Java front ends count it,
// in UTF-16 code units.
func StringLength(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// FormatValue prints v the way Java's toString would in an AWS message:
// lists as [a, b], maps as {k=v}, structures by member name.
func FormatValue(v any) string {
	var b strings.Builder
	formatValue(&b, reflect.ValueOf(v))
	return b.String()
}

var timestampType = reflect.TypeFor[Timestamp]()

func formatValue(b *strings.Builder, v reflect.Value) {
	for v.IsValid() && (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) {
		if v.IsNil() {
			b.WriteString("null")
			return
		}
		v = v.Elem()
	}
	if !v.IsValid() {
		b.WriteString("null")
		return
	}
	if v.Type() == timestampType {
		b.WriteString(v.Interface().(Timestamp).UTC().Format("Mon Jan 02 15:04:05 MST 2006"))
		return
	}
	switch v.Kind() {
	case reflect.String:
		b.WriteString(v.String())
	case reflect.Float32, reflect.Float64:
		b.WriteString(FormatDouble(v.Float()))
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			// Java prints a ByteBuffer, not its bytes.
			fmt.Fprintf(b, "java.nio.HeapByteBuffer[pos=0 lim=%d cap=%d]", v.Len(), v.Len())
			return
		}
		b.WriteByte('[')
		for i := range v.Len() {
			if i > 0 {
				b.WriteString(", ")
			}
			formatValue(b, v.Index(i))
		}
		b.WriteByte(']')
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			formatValue(b, k)
			b.WriteByte('=')
			formatValue(b, v.MapIndex(k))
		}
		b.WriteByte('}')
	case reflect.Struct:
		t := v.Type()
		b.WriteByte('{')
		first := true
		for i := range t.NumField() {
			f := v.Field(i)
			if !t.Field(i).IsExported() || f.IsZero() {
				continue
			}
			if !first {
				b.WriteString(", ")
			}
			first = false
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			if name == "" {
				name = t.Field(i).Name
			}
			b.WriteString(name + "=")
			formatValue(b, f)
		}
		b.WriteByte('}')
	default:
		fmt.Fprint(b, v.Interface())
	}
}

// FormatDouble prints f as Java prints a double: always with a decimal
// point ("1.0"), so bounds and values read as AWS prints them.
func FormatDouble(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eEIN") {
		s += ".0"
	}
	return s
}
