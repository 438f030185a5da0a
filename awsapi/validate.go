package awsapi

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"maps"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file is the runtime half of the validators generated into
// api/<service>: the constraint rules and AWS's (Coral's) message formats.

// Rule is the set of constraints a model shape carries. Generated code
// declares one per constrained shape.
type Rule struct {
	// MinLen and MaxLen bound the length of a string (in characters), blob
	// (bytes), list or map (entries); zero means unbounded, which loses no
	// model constraint: a minimum of 0 holds anyway and no model uses max 0.
	MinLen, MaxLen int64
	// Min and Max bound a number when HasMin/HasMax are set.
	Min, Max       float64
	HasMin, HasMax bool
	// Float makes bounds and values print as Java doubles (1.0, not 1).
	Float bool
	// Pattern is PatternText anchored for a full match, as Coral matches.
	Pattern     *regexp.Regexp
	PatternText string
	Enum        []string
	// Sensitive values are left out of messages, as AWS leaves them out.
	Sensitive bool
}

// ValidationStyle is how a service words its validation errors.
type ValidationStyle int

const (
	// CoralStyle is the usual "1 validation error detected: Value 'x' at
	// 'name' failed to satisfy constraint: ..." with every violation.
	CoralStyle ValidationStyle = iota
	// InvalidParameterStyle is ECR's "Invalid parameter at 'name' failed to
	// satisfy constraint: '...'", which reports the first violation only.
	InvalidParameterStyle
)

// Violation is one failed constraint.
type Violation struct {
	Path       string // Coral's path: imageIds.1.member.imageTag
	Value      string // the value as Coral prints it: 'x' or null
	Hidden     bool   // the value is sensitive and not printed
	Constraint string // Member must not be null
}

func (v Violation) String() string {
	if v.Hidden {
		return fmt.Sprintf("Value at '%s' failed to satisfy constraint: %s", v.Path, v.Constraint)
	}
	return fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", v.Value, v.Path, v.Constraint)
}

// ValidationError is a request that failed its model constraints. It
// becomes an *Error (via Err) carrying the service's validation code.
type ValidationError struct {
	Code       string
	Style      ValidationStyle
	Violations []Violation
}

func (e *ValidationError) Error() string { return e.Code + ": " + e.Message() }

// Message words the violations the way the service does.
func (e *ValidationError) Message() string {
	if e.Style == InvalidParameterStyle && len(e.Violations) > 0 {
		v := e.Violations[0]
		return fmt.Sprintf("Invalid parameter at '%s' failed to satisfy constraint: '%s'", v.Path, v.Constraint)
	}
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.String()
	}
	noun := "errors"
	if len(parts) == 1 {
		noun = "error"
	}
	return fmt.Sprintf("%d validation %s detected: %s", len(parts), noun, strings.Join(parts, "; "))
}

// Validator collects violations while a generated Validate walks an input.
type Validator struct {
	Code       string
	Style      ValidationStyle
	violations []Violation
}

// Err returns the collected violations as a 400 *Error, or nil.
func (c *Validator) Err() error {
	if len(c.violations) == 0 {
		return nil
	}
	ve := &ValidationError{Code: c.Code, Style: c.Style, Violations: c.violations}
	return NewError(400, c.Code, "%s", ve.Message())
}

// Violations returns what was collected so far.
func (c *Validator) Violations() []Violation { return c.violations }

func (c *Validator) add(path string, value any, hidden bool, constraint string) {
	c.violations = append(c.violations, Violation{Path: path, Value: quote(value), Hidden: hidden, Constraint: constraint})
}

// Required records a missing required member.
func (c *Validator) Required(path string, present bool) {
	if !present {
		c.violations = append(c.violations, Violation{Path: path, Value: "null", Constraint: "Member must not be null"})
	}
}

// Elem is the Coral path of the i-th (0-based) element of the list at path.
func Elem(path string, i int) string { return path + "." + strconv.Itoa(i+1) + ".member" }

// Key is the path of the map entry k of the map at path.
func Key[K ~string](path string, k K) string { return path + "." + string(k) }

// SortedKeys returns m's keys in order, so violations come out stable.
func SortedKeys[M ~map[K]V, K cmp.Ordered, V any](m M) []K {
	return slices.Sorted(maps.Keys(m))
}

// CheckString checks a string or enum member; nil is absent and passes.
func CheckString[S ~string](c *Validator, path string, v *S, r *Rule) {
	if v == nil {
		return
	}
	for _, f := range r.stringFailures(string(*v)) {
		c.add(path, string(*v), r.Sensitive, f)
	}
}

// CheckNumber checks an integer, long or double member.
func CheckNumber[N ~int32 | ~int64 | ~float64](c *Validator, path string, v *N, r *Rule) {
	if v == nil {
		return
	}
	for _, f := range r.numberFailures(float64(*v)) {
		c.add(path, r.number(float64(*v)), r.Sensitive, f)
	}
}

// CheckBlob checks a blob member's length.
func (c *Validator) CheckBlob(path string, b []byte, r *Rule) {
	if b == nil {
		return
	}
	for _, f := range r.sizeFailures(int64(len(b))) {
		c.add(path, b, r.Sensitive, f)
	}
}

// CheckList checks a list's number of elements.
func CheckList[E any](c *Validator, path string, l []E, r *Rule) {
	if l == nil {
		return
	}
	for _, f := range r.sizeFailures(int64(len(l))) {
		c.add(path, l, r.Sensitive, f)
	}
}

// CheckMap checks a map's number of entries.
func CheckMap[K comparable, V any](c *Validator, path string, m map[K]V, r *Rule) {
	if m == nil {
		return
	}
	for _, f := range r.sizeFailures(int64(len(m))) {
		c.add(path, m, r.Sensitive, f)
	}
}

// CheckStrings checks every element of a list of strings. Coral reports a
// bad element once for the whole list, listing all the element's rules.
func CheckStrings[S ~string](c *Validator, path string, l []S, r *Rule) {
	for _, s := range l {
		if len(r.stringFailures(string(s))) > 0 {
			c.add(path, l, r.Sensitive, "Member must satisfy constraint: ["+strings.Join(r.describe(), ", ")+"]")
			return
		}
	}
}

// CheckNumbers is CheckStrings for lists of numbers.
func CheckNumbers[N ~int32 | ~int64 | ~float64](c *Validator, path string, l []N, r *Rule) {
	for _, n := range l {
		if len(r.numberFailures(float64(n))) > 0 {
			c.add(path, l, r.Sensitive, "Member must satisfy constraint: ["+strings.Join(r.describe(), ", ")+"]")
			return
		}
	}
}

// CheckMapKeys checks a map's keys, reported once for the map as Coral does.
func CheckMapKeys[K ~string, V any](c *Validator, path string, m map[K]V, r *Rule) {
	for k := range m {
		if len(r.stringFailures(string(k))) > 0 {
			c.add(path, m, r.Sensitive, "Map keys must satisfy constraint: ["+strings.Join(r.describe(), ", ")+"]")
			return
		}
	}
}

// CheckMapStrings checks a map's string values, reported once for the map.
func CheckMapStrings[K comparable, S ~string](c *Validator, path string, m map[K]S, r *Rule) {
	for _, s := range m {
		if len(r.stringFailures(string(s))) > 0 {
			c.add(path, m, r.Sensitive, "Map value must satisfy constraint: ["+strings.Join(r.describe(), ", ")+"]")
			return
		}
	}
}

// stringFailures lists the constraints s breaks, pattern first, in the
// order AWS reports them.
func (r *Rule) stringFailures(s string) []string {
	var out []string
	if r.Pattern != nil && !r.Pattern.MatchString(s) {
		out = append(out, "Member must satisfy regular expression pattern: "+r.PatternText)
	}
	out = append(out, r.sizeFailures(int64(utf8.RuneCountInString(s)))...)
	if len(r.Enum) > 0 && !slices.Contains(r.Enum, s) {
		out = append(out, r.enumText())
	}
	return out
}

func (r *Rule) sizeFailures(n int64) []string {
	if r.MaxLen > 0 && n > r.MaxLen {
		return []string{fmt.Sprintf("Member must have length less than or equal to %d", r.MaxLen)}
	}
	if r.MinLen > 0 && n < r.MinLen {
		return []string{fmt.Sprintf("Member must have length greater than or equal to %d", r.MinLen)}
	}
	return nil
}

func (r *Rule) numberFailures(n float64) []string {
	if r.HasMax && n > r.Max {
		return []string{"Member must have value less than or equal to " + r.number(r.Max)}
	}
	if r.HasMin && n < r.Min {
		return []string{"Member must have value greater than or equal to " + r.number(r.Min)}
	}
	return nil
}

func (r *Rule) enumText() string {
	return "Member must satisfy enum value set: [" + strings.Join(r.Enum, ", ") + "]"
}

// describe lists every constraint of the rule, in the order Coral lists
// them inside "Member must satisfy constraint: [...]".
func (r *Rule) describe() []string {
	var out []string
	if len(r.Enum) > 0 {
		out = append(out, r.enumText())
	}
	if r.MaxLen > 0 {
		out = append(out, fmt.Sprintf("Member must have length less than or equal to %d", r.MaxLen))
	}
	if r.MinLen > 0 {
		out = append(out, fmt.Sprintf("Member must have length greater than or equal to %d", r.MinLen))
	}
	if r.Pattern != nil {
		out = append(out, "Member must satisfy regular expression pattern: "+r.PatternText)
	}
	if r.HasMax {
		out = append(out, "Member must have value less than or equal to "+r.number(r.Max))
	}
	if r.HasMin {
		out = append(out, "Member must have value greater than or equal to "+r.number(r.Min))
	}
	return out
}

func (r *Rule) number(n float64) string {
	if r.Float {
		return javaDouble(n)
	}
	return strconv.FormatFloat(n, 'f', -1, 64)
}

// javaDouble prints n as Java's Double.toString does for ordinary values.
func javaDouble(n float64) string {
	s := strconv.FormatFloat(n, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eEnN") && !math.IsInf(n, 0) {
		s += ".0"
	}
	return s
}

// quote renders a value the way Coral prints it in messages: in single
// quotes, collections as Java prints them ([a, b], {k=v}).
func quote(v any) string {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || (rv.Kind() == reflect.Pointer && rv.IsNil()) {
		return "null"
	}
	return "'" + render(rv) + "'"
}

var timestampType = reflect.TypeFor[Timestamp]()

func render(v reflect.Value) string {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return "null"
		}
		v = v.Elem()
	}
	if v.Type() == timestampType {
		return v.Interface().(Timestamp).UTC().Format(time.UnixDate)
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Float32, reflect.Float64:
		return javaDouble(v.Float())
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return base64.StdEncoding.EncodeToString(v.Bytes())
		}
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = render(v.Index(i))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(render(a), render(b)) })
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = render(k) + "=" + render(v.MapIndex(k))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case reflect.Struct:
		var parts []string
		for i := range v.NumField() {
			f := v.Field(i)
			if f.IsZero() {
				continue
			}
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
			parts = append(parts, name+"="+render(f))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v.Interface())
}
