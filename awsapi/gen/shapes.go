package main

import (
	"fmt"
	"sort"
	"strings"
)

// typesFile writes every structure reachable from the operations, and the
// empty structures of operations without an input or output shape.
func (p *plan) typesFile() *file {
	f := newFile("types.go", p.pkg)
	for _, name := range p.sortedTypes("structure") {
		s := p.m.Shapes[name]
		doc := comment(s.Documentation)
		if doc == "" {
			doc = p.ioDoc(name)
		}
		f.printf("%s", doc)
		f.printf("type %s struct {\n", p.typeOf[name])
		for _, fl := range p.fields(s) {
			f.printf("%s", comment(fl.m.Documentation))
			if fl.extra != "" {
				f.printf("%s %s `json:\"%s\" %s`\n", fl.name, fl.typ, fl.tag, fl.extra)
			} else {
				f.printf("%s %s `json:\"%s\"`\n", fl.name, fl.typ, fl.tag)
			}
			if strings.Contains(fl.typ, "awsapi.") {
				f.use(awsapiPath)
			}
		}
		f.printf("}\n\n")
	}
	for _, name := range p.synthetic {
		f.printf("// %s is empty: the operation has no %s shape in the model.\n", name, map[bool]string{true: "input", false: "output"}[strings.HasSuffix(name, "Input")])
		f.printf("type %s struct{}\n\n", name)
	}
	return f
}

// field is one Go field of a generated structure.
type field struct {
	m    Member
	name string
	typ  string
	tag  string
	// extra is more struct tag text the binding wants (query:"..."), or "".
	extra string
}

// fields lists s's members as Go fields. Collections are tagged omitzero,
// not omitempty, so that an empty list the service returns is still sent
// as [] (scripts index response["repositories"] without checking).
func (p *plan) fields(s *Shape) []field {
	taken := newNamer("Validate")
	out := make([]field, 0, len(s.Members))
	for _, m := range s.Members {
		typ := p.goType(m.Shape, true)
		omit := "omitempty"
		if strings.HasPrefix(typ, "[]") || strings.HasPrefix(typ, "map[") {
			omit = "omitzero"
		}
		fl := field{m: m, name: taken.claim(exportName(m.Name), "Member"), typ: typ, tag: m.wireName() + "," + omit}
		if rb, ok := p.bind.(restBinding); ok {
			fl.tag, fl.extra = rb.tags(s, m, fl.tag)
		} else if p.bind != nil {
			fl.extra = p.bind.fieldTag(p, m)
		}
		out = append(out, fl)
	}
	return out
}

// sortedTypes lists the shapes of the given type that have Go types,
// sorted by Go name.
func (p *plan) sortedTypes(typ string) []string {
	var names []string
	for name := range p.typeOf {
		if p.m.Shapes[name].Type == typ {
			names = append(names, name)
		}
	}
	sort.Slice(names, func(i, j int) bool { return p.typeOf[names[i]] < p.typeOf[names[j]] })
	return names
}

// enumsFile writes a named string type per enum shape, its constants and
// its value list.
func (p *plan) enumsFile() *file {
	f := newFile("enums.go", p.pkg)
	for _, name := range p.sortedTypes("string") {
		s := p.m.Shapes[name]
		t := p.typeOf[name]
		if doc := comment(s.Documentation); doc != "" {
			f.printf("%s", doc)
		} else {
			f.printf("// %s is an enum of the %s model.\n", t, p.m.Metadata.ServiceID)
		}
		f.printf("type %s string\n\n", t)
		consts := p.enumConsts[name]
		f.printf("const (\n")
		for i, v := range s.Enum {
			f.printf("%s %s = %s\n", consts[i], t, goString(v))
		}
		f.printf(")\n\n")
		f.printf("// Values lists the values the model knows, in model order.\n")
		f.printf("func (%s) Values() []%s {\nreturn []%s{%s}\n}\n\n", t, t, t, strings.Join(consts, ", "))
		f.printf("func (v %s) known() bool {\nswitch v {\ncase %s:\nreturn true\n}\nreturn false\n}\n\n", t, strings.Join(consts, ", "))
	}
	return f
}

// ioDoc says which operation an undocumented input or output belongs to.
func (p *plan) ioDoc(shape string) string {
	for _, op := range p.ops {
		if op.Input != nil && op.Input.Shape == shape {
			return fmt.Sprintf("// %s is the input of %s.\n", p.typeOf[shape], op.Name)
		}
		if op.Output != nil && op.Output.Shape == shape {
			return fmt.Sprintf("// %s is the output of %s.\n", p.typeOf[shape], op.Name)
		}
	}
	return ""
}
