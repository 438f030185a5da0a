package logs

import (
	"fmt"
	"time"

	"github.com/berth-dev/berth/store"
)

// What StartQuery can decide about an event before building its record.
// Building one (JSON fields, formatted times, @ptr) costs far more than
// evaluating a filter on @message, and most queries begin by filtering.

// builtinFields are the fields every record has. eventRecord sets them
// after the JSON fields, so a message's own "@message" key never shows.
var builtinFields = []string{"@timestamp", "@ts", "@message", "@logStream", "@log", "@ingestionTime", "@ptr"}

func builtinField(c caller, g store.LogGroup, e store.LogEvent, name string) string {
	switch name {
	case "@timestamp":
		return time.UnixMilli(e.Timestamp).UTC().Format("2006-01-02 15:04:05.000")
	case "@ts":
		return fmt.Sprintf("%015d.%020d", e.Timestamp, e.ID) // fixed width: compared as a string
	case "@message":
		return e.Message
	case "@logStream":
		return e.StreamName
	case "@log":
		return c.Account + ":" + g.Name
	case "@ingestionTime":
		return time.UnixMilli(e.Ingested).UTC().Format("2006-01-02 15:04:05.000")
	case "@ptr":
		return recordPointer(g, e)
	}
	return ""
}

// prefilter is the filters a query applies to every record before any
// other command can change one, those of them that look only at built-in
// fields: an event they reject would be dropped by the query anyway, and
// since built-in fields win over a message's own, they decide on a record
// of only those fields what they decide on the whole record.
type prefilter struct {
	exprs  []qexpr
	fields []string // the built-in fields exprs read
}

func (q *insightsQuery) prefilter() *prefilter {
	p := &prefilter{}
	seen := map[string]bool{}
stages:
	for _, st := range q.stages {
		switch s := st.(type) {
		case fieldsStage:
			// Only an alias writes a field.
			for _, f := range s.fields {
				if f.alias != f.name {
					break stages
				}
			}
		case filterStage:
			refs := exprFields(s.expr, nil)
			builtin := true
			for _, f := range refs {
				builtin = builtin && isBuiltinField(f)
			}
			if !builtin {
				continue // a later filter still sees the same records
			}
			p.exprs = append(p.exprs, s.expr)
			for _, f := range refs {
				if !seen[f] {
					seen[f] = true
					p.fields = append(p.fields, f)
				}
			}
		default:
			break stages
		}
	}
	if len(p.exprs) == 0 {
		return nil
	}
	return p
}

func isBuiltinField(name string) bool {
	for _, f := range builtinFields {
		if f == name {
			return true
		}
	}
	return false
}

func exprFields(e qexpr, out []string) []string {
	switch x := e.(type) {
	case andExpr:
		return exprFields(x.r, exprFields(x.l, out))
	case orExpr:
		return exprFields(x.r, exprFields(x.l, out))
	case notExpr:
		return exprFields(x.e, out)
	case cmpExpr:
		return append(out, x.field)
	}
	// An expression kind this does not know may read any field.
	return append(out, "")
}

// keep reports whether the query can keep e.
func (p *prefilter) keep(c caller, g store.LogGroup, e store.LogEvent) bool {
	if p == nil {
		return true
	}
	r := make(record, len(p.fields))
	for _, f := range p.fields {
		r[f] = builtinField(c, g, e, f)
	}
	for _, x := range p.exprs {
		if !x.eval(r) {
			return false
		}
	}
	return true
}

// contains returns substrings every message the prefilter keeps has,
// for the store to select on: the text of @message like "text" and the
// literal prefix of @message like /regex/, through and.
func (p *prefilter) contains() []string {
	if p == nil {
		return nil
	}
	var out []string
	var walk func(e qexpr)
	walk = func(e qexpr) {
		switch x := e.(type) {
		case andExpr:
			walk(x.l)
			walk(x.r)
		case cmpExpr:
			if x.field != "@message" || x.op != "like" {
				return
			}
			s := x.lit
			if x.re != nil {
				// Every match begins with the literal prefix.
				s, _ = x.re.LiteralPrefix()
			}
			if s != "" {
				out = append(out, s)
			}
		}
	}
	for _, x := range p.exprs {
		walk(x)
	}
	return out
}
