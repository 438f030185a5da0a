package main

import (
	"fmt"
	"regexp"
	"sort"
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

// validateFile writes Validate for every input and the checks of every
// shape an input reaches that has constraints, following AWS's Coral
// front end: paths like imageIds.1.member.imageTag, collection element
// rules reported once on the collection.
func (p *plan) validateFile(code, style string) *file {
	f := newFile("validate.go", p.pkg)
	f.use(awsapiPath)
	f.printf("const (\nvalidationCode = %q\nvalidationStyle = awsapi.%s\n)\n\n", code, style)
	f.printf("// at is the path of member name in the structure at path p.\n")
	f.printf("func at(p, name string) string {\nif p == \"\" {\nreturn name\n}\nreturn p + \".\" + name\n}\n\n")

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
		f.printf("func (v *%s) Validate() error {\nvar vs awsapi.Violations\nv.validate(&vs, \"\")\nreturn vs.Err(validationCode, validationStyle)\n}\n\n", t)
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
		switch s.Type {
		case "structure":
			p.validateStruct(f, s)
		case "list", "map":
			p.ruleVar(f, s)
			p.checkCollection(f, s)
		default:
			p.ruleVar(f, s)
			p.checkScalar(f, s)
		}
	}
	return f
}

// helper is the identifier suffix of a shape's rule, regexp and check.
func (p *plan) helper(name string) string {
	if n, ok := p.typeOf[name]; ok {
		return n
	}
	return p.helpers[name]
}

// ruleVar writes the shape's constraints as awsapi.Constraint values
// (and its compiled pattern), shared by its check and by the collections
// that report them as element rules.
func (p *plan) ruleVar(f *file, s *Shape) {
	rs := p.rules(s)
	if len(rs) == 0 {
		return
	}
	h := p.helper(s.Name)
	f.printf("var rule%s = []awsapi.Constraint{", h)
	for _, r := range rs {
		switch r.kind {
		case "Pattern":
			f.printf("{Kind: awsapi.Pattern, Text: %s}, ", goString(r.pattern))
		case "EnumSet":
			quoted := make([]string, len(r.enum))
			for i, e := range r.enum {
				quoted[i] = goString(e)
			}
			f.printf("{Kind: awsapi.EnumSet, Enum: []string{%s}}, ", strings.Join(quoted, ", "))
		default:
			f.printf("{Kind: awsapi.%s, Bound: %q}, ", r.kind, r.bound)
		}
	}
	f.printf("}\n\n")
	p.skippedNote(f, s)
	for _, r := range rs {
		if r.kind != "Pattern" || r.skip != "" {
			continue
		}
		f.use("regexp")
		f.use("sync")
		f.printf("var re%s = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(%s) })\n\n", h, goString(anchored(r.pattern)))
	}
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

// report is the Go statement recording that rule i of s is broken by the
// value expression val.
func (p *plan) report(s *Shape, sensitive bool, i int, val string) string {
	if sensitive {
		return fmt.Sprintf("vs.AddSensitive(p, rule%s[%d])", p.helper(s.Name), i)
	}
	return fmt.Sprintf("vs.Add(p, %s, rule%s[%d])", val, p.helper(s.Name), i)
}

func (p *plan) checkScalar(f *file, s *Shape) {
	h := p.helper(s.Name)
	t := p.goType(s.Name, false)
	f.printf("func check%s(vs *awsapi.Violations, p string, v %s) {\n", h, t)
	val := "v"
	if s.Type == "string" {
		val = "string(v)"
		if len(s.Enum) == 0 {
			val = "v"
		}
	}
	rs := p.rules(s)
	for _, r := range rs {
		if r.kind == "MaxLength" || r.kind == "MinLength" {
			if s.Type == "blob" {
				f.printf("n := len(v)\n")
			} else {
				f.printf("n := awsapi.StringLength(%s)\n", val)
			}
			break
		}
	}
	for i, r := range rs {
		var cond string
		switch r.kind {
		case "MaxLength":
			cond = "n > " + r.bound
		case "MinLength":
			cond = "n < " + r.bound
		case "MaxValue":
			cond = "v > " + r.bound
		case "MinValue":
			cond = "v < " + r.bound
		case "Pattern":
			if r.skip != "" {
				continue
			}
			cond = fmt.Sprintf("!re%s().MatchString(%s)", h, val)
		case "EnumSet":
			cond = "!v.known()"
		}
		f.printf("if %s {\n%s\n}\n", cond, p.report(s, s.Sensitive, i, val))
	}
	f.printf("}\n\n")
}

// isScalar reports whether values of s are checked by their own rules
// only, so a collection of them reports "Member must satisfy constraint".
func isScalar(s *Shape) bool {
	switch s.Type {
	case "structure", "list", "map":
		return false
	}
	return true
}

func (p *plan) checkCollection(f *file, s *Shape) {
	h := p.helper(s.Name)
	f.printf("func check%s(vs *awsapi.Violations, p string, v %s) {\n", h, p.goType(s.Name, false))
	rs := p.rules(s)
	if len(rs) > 0 {
		f.printf("n := len(v)\n")
	}
	elem := s.Member
	if s.Type == "map" {
		elem = s.Value
	}
	sensitive := s.Sensitive || p.m.Shapes[elem.Shape].Sensitive
	for i, r := range rs {
		cond := "n > " + r.bound
		if r.kind == "MinLength" {
			cond = "n < " + r.bound
		}
		f.printf("if %s {\n%s\n}\n", cond, p.report(s, sensitive, i, "v"))
	}
	if s.Type == "map" && p.checked[s.Key.Shape] {
		key := p.m.Shapes[s.Key.Shape]
		conv := "k"
		if len(key.Enum) > 0 {
			conv = p.typeOf[key.Name] + "(k)"
		}
		p.elementRule(f, "k := range v", conv, key, "MapKeys", sensitive)
	}
	if es := p.m.Shapes[elem.Shape]; p.checked[elem.Shape] {
		kind := "EachMember"
		if s.Type == "map" {
			kind = "MapValues"
		}
		switch {
		case isScalar(es):
			p.elementRule(f, "_, e := range v", "e", es, kind, sensitive)
		case s.Type == "list":
			f.use("strconv")
			path := `p+"."+strconv.Itoa(i+1)+".member"`
			if es.Type == "structure" {
				f.printf("for i := range v {\nv[i].validate(vs, %s)\n}\n", path)
			} else {
				f.printf("for i, e := range v {\ncheck%s(vs, %s, e)\n}\n", p.helper(es.Name), path)
			}
		default:
			f.use("maps")
			f.use("slices")
			path := `p+"."+k+".member"`
			if es.Type == "structure" {
				f.printf("for _, k := range slices.Sorted(maps.Keys(v)) {\ne := v[k]\ne.validate(vs, %s)\n}\n", path)
			} else {
				f.printf("for _, k := range slices.Sorted(maps.Keys(v)) {\ncheck%s(vs, %s, v[k])\n}\n", p.helper(es.Name), path)
			}
		}
	}
	f.printf("}\n\n")
}

// elementRule reports a collection once when any of its scalar elements
// (or keys) breaks a rule, listing all the element shape's rules, as AWS
// does: "Member must satisfy constraint: [...]".
func (p *plan) elementRule(f *file, loop, val string, es *Shape, kind string, sensitive bool) {
	c := fmt.Sprintf("awsapi.Constraint{Kind: awsapi.%s, Inner: rule%s}", kind, p.helper(es.Name))
	add := "vs.Add(p, v, " + c + ")"
	if sensitive {
		add = "vs.AddSensitive(p, " + c + ")"
	}
	f.printf("for %s {\nvar t awsapi.Violations\ncheck%s(&t, \"\", %s)\nif len(t) > 0 {\n%s\nbreak\n}\n}\n", loop, p.helper(es.Name), val, add)
}

func (p *plan) validateStruct(f *file, s *Shape) {
	f.printf("func (v *%s) validate(vs *awsapi.Violations, p string) {\n", p.typeOf[s.Name])
	for _, fl := range p.fields(s) {
		ms := p.m.Shapes[fl.m.Shape]
		required := s.isRequired(fl.m.Name)
		checked := p.checked[fl.m.Shape]
		if !required && !checked {
			continue
		}
		path := fmt.Sprintf("at(p, %q)", p.memberPath(fl.m))
		var check string
		if checked {
			switch {
			case ms.Type == "structure":
				check = fmt.Sprintf("v.%s.validate(vs, %s)", fl.name, path)
			case strings.HasPrefix(fl.typ, "*"):
				check = fmt.Sprintf("check%s(vs, %s, *v.%s)", p.helper(ms.Name), path, fl.name)
			default:
				check = fmt.Sprintf("check%s(vs, %s, v.%s)", p.helper(ms.Name), path, fl.name)
			}
		}
		switch {
		case required && checked:
			f.printf("if v.%s == nil {\nvs.Null(%s)\n} else {\n%s\n}\n", fl.name, path, check)
		case required:
			f.printf("if v.%s == nil {\nvs.Null(%s)\n}\n", fl.name, path)
		default:
			f.printf("if v.%s != nil {\n%s\n}\n", fl.name, check)
		}
	}
	f.printf("}\n\n")
}
