// Package check is the runtime of the validators generated into
// api/<service>: a shape's constraints as data (Rules), and the helpers a
// generated validate method calls, one line a member, to test a value
// against them and record what it breaks in awsapi.Violations.
//
// A structure's members are checked in model order, a collection's own
// length first, then its map keys, then its elements; so violations come
// out in the order AWS's Coral front end finds them.
package check

import (
	"regexp"
	"strconv"
	"sync"

	"github.com/berth-dev/berth/awsapi"
)

// Rule is one model constraint with what it takes to test it.
type Rule struct {
	c    awsapi.Constraint
	n    int64   // length or integer bound
	f    float64 // floating-point bound
	isF  bool
	re   func() *regexp.Regexp // nil: a pattern RE2 cannot run, left unchecked
	enum map[string]struct{}
}

// MaxLen is "Member must have length less than or equal to n".
func MaxLen(n int64) Rule {
	return Rule{c: awsapi.Constraint{Kind: awsapi.MaxLength, Bound: strconv.FormatInt(n, 10)}, n: n}
}

// MinLen is "Member must have length greater than or equal to n".
func MinLen(n int64) Rule {
	return Rule{c: awsapi.Constraint{Kind: awsapi.MinLength, Bound: strconv.FormatInt(n, 10)}, n: n}
}

// Max is an integer's upper bound.
func Max(n int64) Rule {
	return Rule{c: awsapi.Constraint{Kind: awsapi.MaxValue, Bound: strconv.FormatInt(n, 10)}, n: n}
}

// Min is an integer's lower bound.
func Min(n int64) Rule {
	return Rule{c: awsapi.Constraint{Kind: awsapi.MinValue, Bound: strconv.FormatInt(n, 10)}, n: n}
}

// MaxFloat is a double's upper bound, printed as Java prints it.
func MaxFloat(f float64) Rule {
	return Rule{c: awsapi.Constraint{Kind: awsapi.MaxValue, Bound: awsapi.FormatDouble(f)}, f: f, isF: true}
}

// MinFloat is a double's lower bound.
func MinFloat(f float64) Rule {
	return Rule{c: awsapi.Constraint{Kind: awsapi.MinValue, Bound: awsapi.FormatDouble(f)}, f: f, isF: true}
}

// Pattern is the model's pattern text, as messages quote it, and expr, the
// same pattern anchored in RE2 syntax, compiled on first use. An empty
// expr is a pattern RE2 cannot run: it is listed but never tested.
func Pattern(text, expr string) Rule {
	r := Rule{c: awsapi.Constraint{Kind: awsapi.Pattern, Text: text}}
	if expr != "" {
		r.re = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
	}
	return r
}

// Enum is the set of values an enum allows, in model order.
func Enum(values ...string) Rule {
	set := make(map[string]struct{}, len(values))
	for _, v := range values {
		set[v] = struct{}{}
	}
	return Rule{c: awsapi.Constraint{Kind: awsapi.EnumSet, Enum: values}, enum: set}
}

// Rules are a shape's constraints in the order AWS lists them: max
// before min, then pattern, then enum.
type Rules struct {
	rules     []Rule
	list      []awsapi.Constraint
	sensitive bool
}

// New is the rules of a shape whose values may be echoed in messages.
func New(rs ...Rule) *Rules {
	list := make([]awsapi.Constraint, len(rs))
	for i, r := range rs {
		list[i] = r.c
	}
	return &Rules{rules: rs, list: list}
}

// Sensitive is the rules of a shape whose values are never echoed.
func Sensitive(rs ...Rule) *Rules {
	r := New(rs...)
	r.sensitive = true
	return r
}

// Constraints are the rules as AWS words them.
func (r *Rules) Constraints() []awsapi.Constraint { return r.list }

func (r *Rules) add(vs *awsapi.Violations, p string, v any, c awsapi.Constraint) {
	if r.sensitive {
		vs.AddSensitive(p, c)
	} else {
		vs.Add(p, v, c)
	}
}

// At is the path of member name in the structure at path p.
func At(p, name string) string {
	if p == "" {
		return name
	}
	return p + "." + name
}

// index is the path of the i-th (0-based) element of the list at p.
func index(p string, i int) string { return p + "." + strconv.Itoa(i+1) + ".member" }

// String checks a string (or an enum's value) at p.
func (r *Rules) String(vs *awsapi.Violations, p string, v string) {
	r.member(vs, p, "", v)
}

// member checks the string member name of the structure at p; its path
// is only made when the value breaks a rule.
func (r *Rules) member(vs *awsapi.Violations, p, name, v string) {
	n := -1
	path, made := p, name == ""
	for i := range r.rules {
		rl := &r.rules[i]
		if !rl.okString(v, &n) {
			if !made {
				path, made = At(p, name), true
			}
			r.add(vs, path, v, rl.c)
		}
	}
}

func (rl *Rule) okString(v string, n *int) bool {
	switch rl.c.Kind {
	case awsapi.MaxLength, awsapi.MinLength:
		if *n < 0 {
			*n = awsapi.StringLength(v)
		}
		return rl.okLen(*n)
	case awsapi.Pattern:
		return rl.re == nil || rl.re().MatchString(v)
	case awsapi.EnumSet:
		_, ok := rl.enum[v]
		return ok
	}
	return true
}

func (rl *Rule) okLen(n int) bool {
	if rl.c.Kind == awsapi.MaxLength {
		return int64(n) <= rl.n
	}
	return int64(n) >= rl.n
}

func (r *Rules) okString(v string) bool {
	n := -1
	for i := range r.rules {
		if !r.rules[i].okString(v, &n) {
			return false
		}
	}
	return true
}

// Len checks the length n of a blob, list or map v at p.
func (r *Rules) Len(vs *awsapi.Violations, p string, v any, n int) {
	for i := range r.rules {
		if !r.rules[i].okLen(n) {
			r.add(vs, p, v, r.rules[i].c)
		}
	}
}

func (r *Rules) okLen(n int) bool {
	for i := range r.rules {
		if !r.rules[i].okLen(n) {
			return false
		}
	}
	return true
}

// Number is an integer or a double.
type Number interface{ ~int32 | ~int64 | ~float64 }

func okNumber[T Number](rl *Rule, v T) bool {
	if rl.isF {
		if rl.c.Kind == awsapi.MaxValue {
			return !(float64(v) > rl.f)
		}
		return !(float64(v) < rl.f)
	}
	if rl.c.Kind == awsapi.MaxValue {
		return int64(v) <= rl.n
	}
	return int64(v) >= rl.n
}

// Num checks a number at p.
func Num[T Number](r *Rules, vs *awsapi.Violations, p string, v T) {
	num(r, vs, p, "", v)
}

func num[T Number](r *Rules, vs *awsapi.Violations, p, name string, v T) {
	path, made := p, name == ""
	for i := range r.rules {
		if !okNumber(&r.rules[i], v) {
			if !made {
				path, made = At(p, name), true
			}
			r.add(vs, path, v, r.rules[i].c)
		}
	}
}

func okNum[T Number](r *Rules, v T) bool {
	for i := range r.rules {
		if !okNumber(&r.rules[i], v) {
			return false
		}
	}
	return true
}

// Null records the member name of the structure at p as missing when
// isNil.
func Null(vs *awsapi.Violations, p, name string, isNil bool) {
	if isNil {
		vs.Null(At(p, name))
	}
}

// Str checks the string member name of the structure at p: null when
// required and missing, else r's rules.
func Str[T ~string](r *Rules, vs *awsapi.Violations, p, name string, required bool, v *T) {
	switch {
	case v != nil:
		r.member(vs, p, name, string(*v))
	case required:
		vs.Null(At(p, name))
	}
}

// Blob checks the blob member name of the structure at p.
func Blob(r *Rules, vs *awsapi.Violations, p, name string, required bool, v []byte) {
	switch {
	case v != nil:
		r.Len(vs, At(p, name), v, len(v))
	case required:
		vs.Null(At(p, name))
	}
}

// Numeric checks the number member name of the structure at p.
func Numeric[T Number](r *Rules, vs *awsapi.Violations, p, name string, required bool, v *T) {
	switch {
	case v != nil:
		num(r, vs, p, name, *v)
	case required:
		vs.Null(At(p, name))
	}
}

// Struct checks the structure member name of the structure at p with its
// validate method.
func Struct[T any](vs *awsapi.Violations, p, name string, required bool, v *T, validate func(*T, *awsapi.Violations, string)) {
	switch {
	case v != nil:
		validate(v, vs, At(p, name))
	case required:
		vs.Null(At(p, name))
	}
}

// List checks the list member name of the structure at p with the list
// shape's check.
func List[E any](vs *awsapi.Violations, p, name string, required bool, v []E, check func(*awsapi.Violations, string, []E)) {
	switch {
	case v != nil:
		check(vs, At(p, name), v)
	case required:
		vs.Null(At(p, name))
	}
}

// Map checks the map member name of the structure at p with the map
// shape's check.
func Map[E any](vs *awsapi.Violations, p, name string, required bool, v map[string]E, check func(*awsapi.Violations, string, map[string]E)) {
	switch {
	case v != nil:
		check(vs, At(p, name), v)
	case required:
		vs.Null(At(p, name))
	}
}

// Input validates an operation's input v with its validate method and
// returns the service's validation error (code, style), or nil.
func Input[T any](v *T, validate func(*T, *awsapi.Violations, string), code string, style awsapi.ValidationStyle) error {
	var vs awsapi.Violations
	validate(v, &vs, "")
	return vs.Err(code, style)
}
