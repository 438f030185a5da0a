package main

import (
	"encoding/json"
	"math"
	"slices"
	"sort"
	"strconv"
)

// reservedNames are the package-level identifiers every generated package
// defines itself; shapes with these names get a "Shape" suffix.
var reservedNames = []string{
	"Service", "UnimplementedService", "NewJSONService", "NewQueryService", "NewEC2Service", "NewRestService", "OperationNames",
	"Paginator", "Paginators", "ServiceID", "validationCode", "validationStyle",
	"notImplemented",
}

// plan is a model resolved into Go: which shapes become which types and
// which of them need validation code.
type plan struct {
	m       *Model
	pkg     string
	bind    binding // the protocol binding being generated
	names   *namer
	typeOf  map[string]string // shape name -> Go type name (structures, enums)
	inputs  map[string]string // operation -> input Go type
	outputs map[string]string // operation -> output Go type
	// synthetic holds the Go names of empty input/output structures made for
	// operations that have no such shape.
	synthetic  []string
	reachable  map[string]bool // shapes used by any operation
	fromInputs map[string]bool // shapes reachable from operation inputs
	checked    map[string]bool // shapes reachable from inputs that need checks
	ops        []*Operation    // sorted by name
	errors     []*Shape        // exception shapes, sorted by name
	// enumConsts and errorNames hold the constant and function names
	// claimed for enum values and exceptions.
	enumConsts map[string][]string
	errorNames map[string]errorName
	helpers    map[string]string // shape -> suffix of its rule, re and check helpers
}

type errorName struct{ code, constructor string }

func newPlan(m *Model, pkg string) (*plan, error) {
	p := &plan{m: m, pkg: pkg, names: newNamer(reservedNames...), typeOf: map[string]string{},
		inputs: map[string]string{}, outputs: map[string]string{}}
	for _, op := range m.Operations {
		p.ops = append(p.ops, op)
	}
	sort.Slice(p.ops, func(i, j int) bool { return p.ops[i].Name < p.ops[j].Name })
	p.reachable = p.walk(func(add func(string)) {
		for _, op := range p.ops {
			for _, ref := range append([]*ShapeRef{op.Input, op.Output}, refs(op.Errors)...) {
				if ref != nil {
					add(ref.Shape)
				}
			}
		}
	})
	if err := p.nameTypes(); err != nil {
		return nil, err
	}
	for name := range p.reachable {
		if s := m.Shapes[name]; s.Exception {
			p.errors = append(p.errors, s)
		}
	}
	sort.Slice(p.errors, func(i, j int) bool { return p.errors[i].Name < p.errors[j].Name })
	p.nameValues()
	p.nameHelpers()
	p.planChecks()
	return p, nil
}

func refs(rs []ShapeRef) []*ShapeRef {
	out := make([]*ShapeRef, len(rs))
	for i := range rs {
		out[i] = &rs[i]
	}
	return out
}

// walk returns every shape reachable from the roots that seed adds.
func (p *plan) walk(seed func(add func(string))) map[string]bool {
	seen := map[string]bool{}
	var visit func(string)
	visit = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		s := p.m.Shapes[name]
		for _, mem := range s.Members {
			visit(mem.Shape)
		}
		for _, ref := range []*ShapeRef{s.Member, s.Key, s.Value} {
			if ref != nil {
				visit(ref.Shape)
			}
		}
	}
	seed(visit)
	return seen
}

// nameTypes gives Go names to structures and enums. Operation inputs and
// outputs are named <Op>Input and <Op>Output as in the AWS SDK for Go v2,
// unless several operations share the shape.
func (p *plan) nameTypes() error {
	uses := map[string]int{}
	for _, op := range p.ops {
		for _, ref := range []*ShapeRef{op.Input, op.Output} {
			if ref != nil {
				uses[ref.Shape]++
			}
		}
	}
	for _, op := range p.ops {
		for i, ref := range []*ShapeRef{op.Input, op.Output} {
			suffix := []string{"Input", "Output"}[i]
			goName := exportName(op.Name) + suffix
			switch {
			case ref == nil:
				goName = p.names.claim(goName, "_")
				p.synthetic = append(p.synthetic, goName)
			case uses[ref.Shape] == 1 && !p.m.Shapes[ref.Shape].isMember(p.m):
				goName = p.names.claim(goName, "_")
				p.typeOf[ref.Shape] = goName
			default:
				if _, done := p.typeOf[ref.Shape]; !done {
					p.typeOf[ref.Shape] = p.names.claim(exportName(ref.Shape), "Shape")
				}
				goName = p.typeOf[ref.Shape]
			}
			if i == 0 {
				p.inputs[op.Name] = goName
			} else {
				p.outputs[op.Name] = goName
			}
		}
	}
	var rest []string
	for name := range p.reachable {
		s := p.m.Shapes[name]
		if _, done := p.typeOf[name]; done {
			continue
		}
		if (s.Type == "structure" && !s.Document) || (s.Type == "string" && len(s.Enum) > 0) {
			rest = append(rest, name)
		}
	}
	sort.Strings(rest)
	for _, name := range rest {
		p.typeOf[name] = p.names.claim(exportName(name), "Shape")
	}
	return nil
}

// nameValues claims the names of enum constants and error helpers, after
// the types so that a type never loses its name to a constant.
func (p *plan) nameValues() {
	p.enumConsts = map[string][]string{}
	for _, name := range p.sortedTypes("string") {
		s := p.m.Shapes[name]
		seen := map[string]bool{}
		s.Enum = slices.DeleteFunc(slices.Clone(s.Enum), func(v string) bool {
			dup := seen[v]
			seen[v] = true
			return dup
		})
		t := p.typeOf[name]
		for _, v := range s.Enum {
			p.enumConsts[name] = append(p.enumConsts[name], p.names.claim(t+enumName(v), "Value"))
		}
	}
	p.errorNames = map[string]errorName{}
	for _, s := range p.errors {
		base := exportName(s.Name)
		p.errorNames[s.Name] = errorName{code: p.names.claim("Code"+base, "_"), constructor: p.names.claim("New"+base, "_")}
	}
}

// nameHelpers names the validation helpers of shapes without a Go type,
// apart from the types so that checkFoo never means two shapes.
func (p *plan) nameHelpers() {
	p.helpers = map[string]string{}
	taken := newNamer()
	for _, t := range p.typeOf {
		taken.taken[t] = true
	}
	var all []string
	for n := range p.m.Shapes {
		if _, typed := p.typeOf[n]; !typed {
			all = append(all, n)
		}
	}
	sort.Strings(all)
	for _, n := range all {
		p.helpers[n] = taken.claim(exportName(n), "Shape")
	}
}

// isMember reports whether any structure, list or map refers to s.
func (s *Shape) isMember(m *Model) bool {
	for _, other := range m.Shapes {
		for _, mem := range other.Members {
			if mem.Shape == s.Name {
				return true
			}
		}
		for _, ref := range []*ShapeRef{other.Member, other.Key, other.Value} {
			if ref != nil && ref.Shape == s.Name {
				return true
			}
		}
	}
	return false
}

// planChecks finds the shapes reachable from inputs that have something
// to validate, themselves or further down. Recursive shapes are settled
// by iterating to a fixed point.
func (p *plan) planChecks() {
	p.fromInputs = p.walk(func(add func(string)) {
		for _, op := range p.ops {
			if op.Input != nil {
				add(op.Input.Shape)
			}
		}
	})
	p.checked = map[string]bool{}
	for changed := true; changed; {
		changed = false
		for name := range p.fromInputs {
			if !p.checked[name] && p.needsCheck(p.m.Shapes[name]) {
				p.checked[name] = true
				changed = true
			}
		}
	}
}

func (p *plan) needsCheck(s *Shape) bool {
	for _, r := range p.rules(s) {
		if r.skip == "" {
			return true
		}
	}
	switch s.Type {
	case "structure":
		if s.Document {
			return false
		}
		if len(s.Required) > 0 {
			return true
		}
		for _, mem := range s.Members {
			if p.checked[mem.Shape] {
				return true
			}
		}
	case "list":
		return p.checked[s.Member.Shape]
	case "map":
		return p.checked[s.Key.Shape] || p.checked[s.Value.Shape]
	}
	return false
}

// rule is one constraint of a shape as awsapi.Constraint describes it.
type rule struct {
	kind    string // awsapi constant: MaxLength, MinLength, MaxValue, ...
	bound   string // as AWS prints it
	pattern string
	enum    []string
	skip    string // why the generated code cannot check it, if it cannot
}

// rules lists a shape's own constraints in the order AWS lists them when
// it reports a collection's element rules: max before min, then pattern,
// then enum.
func (p *plan) rules(s *Shape) []rule {
	var rs []rule
	switch s.Type {
	case "string", "blob", "list", "map":
		if s.Max != "" {
			rs = append(rs, rule{kind: "MaxLength", bound: intText(s.Max)})
		}
		if s.Min != "" && intText(s.Min) != "0" {
			rs = append(rs, rule{kind: "MinLength", bound: intText(s.Min)})
		}
		if s.Type == "string" && s.Pattern != "" {
			r := rule{kind: "Pattern", pattern: s.Pattern}
			if err := compilePattern(s.Pattern); err != nil {
				r.skip = err.Error()
			}
			rs = append(rs, r)
		}
		if s.Type == "string" && len(s.Enum) > 0 {
			rs = append(rs, rule{kind: "EnumSet", enum: s.Enum})
		}
	case "integer", "long", "double", "float":
		bits := map[string]int{"integer": 32, "long": 64}[s.Type]
		if s.Max != "" {
			if b, ok := numBound(s.Max, s.Type, bits, true); ok {
				rs = append(rs, rule{kind: "MaxValue", bound: b})
			}
		}
		if s.Min != "" {
			if b, ok := numBound(s.Min, s.Type, bits, false); ok {
				rs = append(rs, rule{kind: "MinValue", bound: b})
			}
		}
	}
	return rs
}

// intText prints a length bound as an integer whatever the model wrote.
func intText(n json.Number) string {
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return string(n)
	}
	return strconv.FormatFloat(f, 'f', 0, 64)
}

// numBound formats a range bound as AWS prints it, and drops bounds the Go
// type can never exceed (so the check would not even compile).
func numBound(n json.Number, typ string, bits int, isMax bool) (string, bool) {
	if typ == "double" || typ == "float" {
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || math.IsInf(f, 0) {
			return "", false
		}
		return formatDouble(f), true
	}
	i, err := strconv.ParseInt(string(n), 10, bits)
	if err != nil {
		return "", false
	}
	if isMax && i == math.MaxInt64>>(64-bits) || !isMax && i == math.MinInt64>>(64-bits) {
		return "", false
	}
	return strconv.FormatInt(i, 10), true
}

func formatDouble(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	for _, c := range s {
		if c == '.' {
			return s
		}
	}
	return s + ".0"
}

// goIdent is the identifier fragment for per-shape helpers (checkX, reX).
func (p *plan) goIdent(s *Shape) string {
	if n, ok := p.typeOf[s.Name]; ok {
		return n
	}
	return exportName(s.Name)
}

// goType is the Go type of a value of shape name: elem types (inside lists
// and maps) are values, struct members are pointers for scalars and
// structures so that absent and zero differ.
func (p *plan) goType(name string, member bool) string {
	s := p.m.Shapes[name]
	ptr := ""
	if member {
		ptr = "*"
	}
	switch s.Type {
	case "structure":
		if s.Document {
			return "any"
		}
		return ptr + p.typeOf[name]
	case "list":
		return "[]" + p.goType(s.Member.Shape, false)
	case "map":
		return "map[string]" + p.goType(s.Value.Shape, false)
	case "string":
		if len(s.Enum) > 0 {
			return ptr + p.typeOf[name]
		}
		return ptr + "string"
	case "integer":
		return ptr + "int32"
	case "long":
		return ptr + "int64"
	case "boolean":
		return ptr + "bool"
	case "double", "float":
		return ptr + "float64"
	case "timestamp":
		return ptr + "awsapi.Timestamp"
	case "blob":
		return "[]byte"
	}
	// Model.check refuses other types, so this is never reached.
	return "any"
}
