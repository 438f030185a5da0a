package main

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// compilePattern reports whether RE2 can run a model pattern, anchored as
// Coral's full match. Java-only syntax (lookaround, possessive quantifiers)
// fails here and the pattern goes unchecked.
func compilePattern(pattern string) error {
	_, err := regexp.Compile(anchored(pattern))
	return err
}

// anchored is pattern as a full match in RE2 syntax. The message keeps
// the model's spelling.
func anchored(pattern string) string { return "^(?:" + re2Escapes(pattern) + ")$" }

// re2Escapes rewrites Java's \uXXXX escapes, which RE2 lacks and IAM's
// patterns use throughout, to \x{XXXX}. Other escapes are copied whole,
// so an escaped backslash followed by u stays literal.
func re2Escapes(pattern string) string {
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != '\\' || i+1 == len(pattern) {
			b.WriteByte(c)
			continue
		}
		if pattern[i+1] == 'u' && i+6 <= len(pattern) && isHex(pattern[i+2:i+6]) {
			b.WriteString(`\x{` + pattern[i+2:i+6] + `}`)
			i += 5
			continue
		}
		b.WriteString(pattern[i : i+2])
		i++
	}
	return b.String()
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune("0123456789abcdefABCDEF", rune(s[i])) {
			return false
		}
	}
	return true
}

// validateFile writes Validate for every input and, for every shape an
// input reaches that has constraints, its rules as data (check.Rules) or a
// short validate/check function calling awsapi/check one line a member,
// following AWS's Coral front end: paths like imageIds.1.member.imageTag,
// collection element rules reported once on the collection. code is the
// service-wide error code; an input whose operation declares another
// validation error answers with that one (opcode.go).
func (p *plan) validateFile(code, style string) (*file, error) {
	f := newFile("validate.go", p.pkg)
	f.use(awsapiPath)
	f.use(checkPath)
	f.printf("const (\nvalidationCode = %q\nvalidationStyle = awsapi.%s\n)\n\n", code, style)

	codes := p.inputCodes(code)
	done := map[string]bool{}
	for _, op := range p.ops {
		t := p.inputs[op.Name]
		if done[t] {
			continue
		}
		done[t] = true
		f.printf("// Validate checks the %s input against the model's constraints.\n", op.Name)
		if op.Input == nil || !p.checked[op.Input.Shape] {
			f.printf("func (*%s) Validate() error { return nil }\n\n", t)
			continue
		}
		c, ok := codes[t]
		if !ok {
			c = "validationCode"
		}
		f.printf("func (v *%s) Validate() error { return check.Input(v, (*%[1]s).validate, %s, validationStyle) }\n\n", t, c)
	}

	var names []string
	for name := range p.fromInputs {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return p.helper(names[i]) < p.helper(names[j]) })
	for _, name := range names {
		s := p.m.Shapes[name]
		if !p.checked[name] {
			p.skippedNote(f, s)
			continue
		}
		var err error
		switch s.Type {
		case "structure":
			err = p.validateStruct(f, s)
		case "list", "map":
			err = p.checkCollection(f, s)
		default:
			p.ruleVar(f, s, s.Sensitive, false)
		}
		if err != nil {
			return nil, err
		}
	}
	return f, nil
}

// helper is the identifier suffix of a shape's rule, regexp and check.
func (p *plan) helper(name string) string {
	if n, ok := p.typeOf[name]; ok {
		return n
	}
	return p.helpers[name]
}

// ruleVar writes the shape's constraints as a check.Rules value, shared
// by the members of its shape and by the collections that report them as
// element rules. A collection with no rules of its own still gets one
// when it reports its elements' (always says it), for its sensitivity.
func (p *plan) ruleVar(f *file, s *Shape, sensitive, always bool) bool {
	rs := p.rules(s)
	if len(rs) == 0 && !always {
		return false
	}
	ctor := "New"
	if sensitive {
		ctor = "Sensitive"
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		switch r.kind {
		case "MaxLength":
			parts[i] = "check.MaxLen(" + r.bound + ")"
		case "MinLength":
			parts[i] = "check.MinLen(" + r.bound + ")"
		case "MaxValue", "MinValue":
			fn := strings.TrimSuffix(r.kind, "Value")
			if s.Type == "double" || s.Type == "float" {
				fn += "Float"
			}
			parts[i] = "check." + fn + "(" + r.bound + ")"
		case "Pattern":
			expr := `""`
			if r.skip == "" {
				expr = goString(anchored(r.pattern))
			}
			parts[i] = "check.Pattern(" + goString(r.pattern) + ", " + expr + ")"
		case "EnumSet":
			quoted := make([]string, len(r.enum))
			for j, e := range r.enum {
				quoted[j] = goString(e)
			}
			parts[i] = "check.Enum(" + strings.Join(quoted, ", ") + ")"
		}
	}
	p.skippedNote(f, s)
	f.printf("var rule%s = check.%s(%s)\n\n", p.helper(s.Name), ctor, strings.Join(parts, ", "))
	return true
}

// skippedNote says in the generated code which pattern goes unchecked.
func (p *plan) skippedNote(f *file, s *Shape) {
	for _, r := range p.rules(s) {
		if r.skip != "" {
			f.printf("// The pattern of %s is not checked: RE2 cannot compile it (%s).\n\n", s.Name, oneLine(r.skip))
		}
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// isScalar reports whether values of s are checked by their own rules
// only, so a collection of them reports "Member must satisfy constraint".
func isScalar(s *Shape) bool {
	switch s.Type {
	case "structure", "list", "map":
		return false
	}
	return true
}

// scalarEach names the check helper for a collection of scalars of
// shape es: list elements or map values.
func scalarEach(es *Shape, isMap bool) (string, error) {
	var fn string
	switch es.Type {
	case "string":
		fn = "Strings"
	case "integer", "long", "double", "float":
		fn = "Numbers"
	case "blob":
		fn = "Blobs"
	default:
		return "", fmt.Errorf("shape %s: no check for a collection of %s", es.Name, es.Type)
	}
	if isMap {
		if fn == "Blobs" {
			return "", fmt.Errorf("shape %s: no check for a map of blobs", es.Name)
		}
		fn = strings.TrimSuffix(fn, "s") + "Values"
	}
	return fn, nil
}

func (p *plan) checkCollection(f *file, s *Shape) error {
	h := p.helper(s.Name)
	elem := s.Member
	if s.Type == "map" {
		elem = s.Value
	}
	es := p.m.Shapes[elem.Shape]
	keyChecked := s.Type == "map" && p.checked[s.Key.Shape]
	elemChecked := p.checked[elem.Shape]
	sensitive := s.Sensitive || es.Sensitive
	hasRules := p.ruleVar(f, s, sensitive, keyChecked || (elemChecked && isScalar(es)))
	f.printf("func check%s(vs *awsapi.Violations, p string, v %s) {\n", h, p.goType(s.Name, false))
	if len(p.rules(s)) > 0 {
		f.printf("rule%s.Len(vs, p, v, len(v))\n", h)
	}
	if keyChecked {
		f.printf("check.Keys(rule%s, vs, p, v, rule%s)\n", h, p.helper(s.Key.Shape))
	}
	if elemChecked {
		isMap := s.Type == "map"
		switch {
		case isScalar(es):
			fn, err := scalarEach(es, isMap)
			if err != nil {
				return err
			}
			if !hasRules {
				return fmt.Errorf("shape %s: no rules for its elements' report", s.Name)
			}
			f.printf("check.%s(rule%s, vs, p, v, rule%s)\n", fn, h, p.helper(es.Name))
		case es.Type == "structure" && !isMap:
			f.printf("check.Structs(vs, p, v, (*%s).validate)\n", p.typeOf[es.Name])
		case es.Type == "structure":
			f.printf("check.StructValues(vs, p, v, (*%s).validate)\n", p.typeOf[es.Name])
		case !isMap:
			f.printf("check.Each(vs, p, v, check%s)\n", p.helper(es.Name))
		default:
			f.printf("check.Values(vs, p, v, check%s)\n", p.helper(es.Name))
		}
	}
	f.printf("}\n\n")
	return nil
}

func (p *plan) validateStruct(f *file, s *Shape) error {
	f.printf("func (v *%s) validate(vs *awsapi.Violations, p string) {\n", p.typeOf[s.Name])
	for _, fl := range p.fields(s) {
		ms := p.m.Shapes[fl.m.Shape]
		required := s.isRequired(fl.m.Name)
		checked := p.checked[fl.m.Shape]
		name := strconv.Quote(p.memberPath(fl.m))
		if !checked {
			if required {
				f.printf("check.Null(vs, p, %s, v.%s == nil)\n", name, fl.name)
			}
			continue
		}
		h := p.helper(ms.Name)
		switch ms.Type {
		case "structure":
			f.printf("check.Struct(vs, p, %s, %t, v.%s, (*%s).validate)\n", name, required, fl.name, p.typeOf[ms.Name])
		case "list":
			f.printf("check.List(vs, p, %s, %t, v.%s, check%s)\n", name, required, fl.name, h)
		case "map":
			f.printf("check.Map(vs, p, %s, %t, v.%s, check%s)\n", name, required, fl.name, h)
		case "string":
			f.printf("check.Str(rule%s, vs, p, %s, %t, v.%s)\n", h, name, required, fl.name)
		case "blob":
			f.printf("check.Blob(rule%s, vs, p, %s, %t, v.%s)\n", h, name, required, fl.name)
		case "integer", "long", "double", "float":
			f.printf("check.Numeric(rule%s, vs, p, %s, %t, v.%s)\n", h, name, required, fl.name)
		default:
			return fmt.Errorf("shape %s: no check for member %s of type %s", s.Name, fl.m.Name, ms.Type)
		}
	}
	f.printf("}\n\n")
	return nil
}
