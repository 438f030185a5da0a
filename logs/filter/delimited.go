package filter

import (
	"errors"
	"fmt"
	"strings"
)

// maxFields bounds the fields a delimited pattern looks at in one event.
const maxFields = 4096

// slot is one comma-separated element of a delimited pattern: a named
// field with an optional condition, or "..." for any number of fields.
type slot struct {
	ellipsis bool
	name     string
	cond     delimExpr // nil: no condition
}

type delimExpr interface {
	eval(fields map[string]string) bool
}

type delimAnd struct{ l, r delimExpr }
type delimOr struct{ l, r delimExpr }

func (e delimAnd) eval(f map[string]string) bool { return e.l.eval(f) && e.r.eval(f) }
func (e delimOr) eval(f map[string]string) bool  { return e.l.eval(f) || e.r.eval(f) }

type delimCond struct {
	field string
	op    string
	val   value
}

func (c delimCond) eval(f map[string]string) bool {
	text, ok := f[c.field]
	if !ok {
		return false
	}
	num, isNum := parseNumber(text)
	return compareText(text, num, isNum, c.op, c.val)
}

type delimitedMatcher struct {
	slots []slot
}

func parseDelimited(s string) (matcher, error) {
	if !strings.HasSuffix(s, "]") {
		return nil, errors.New("a space-delimited pattern must end with ']'")
	}
	toks, err := lex(s[1 : len(s)-1])
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	m := &delimitedMatcher{}
	if p.peek().kind == tokEOF {
		return nil, errors.New("empty space-delimited pattern")
	}
	names := map[string]bool{}
	for {
		t := p.peek()
		switch t.kind {
		case tokComma, tokEOF:
			// An empty element is a field without a name: AWS's own example
			// [..., request=*.html*, status_code=4*,] ends with one.
			m.slots = append(m.slots, slot{})
		case tokEllipsis:
			p.next()
			// Consecutive "..." mean no more than one.
			if n := len(m.slots); n == 0 || !m.slots[n-1].ellipsis {
				m.slots = append(m.slots, slot{ellipsis: true})
			}
		case tokWord:
			p.next()
			if names[t.text] {
				return nil, fmt.Errorf("field %s is named twice", t.text)
			}
			names[t.text] = true
			sl := slot{name: t.text}
			if p.peek().kind == tokOp {
				sl.cond, err = p.delimOr(sl.name)
				if err != nil {
					return nil, err
				}
			}
			m.slots = append(m.slots, sl)
		default:
			return nil, fmt.Errorf("expected a field name or '...', found %s", t)
		}
		n := p.next()
		if n.kind == tokEOF {
			break
		}
		if n.kind != tokComma {
			return nil, fmt.Errorf("expected ',' or ']', found %s", n)
		}
	}
	// A condition may name another field of the pattern; one naming no
	// field is false.
	return m, nil
}

func (p *parser) delimOr(own string) (delimExpr, error) {
	l, err := p.delimAnd(own)
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tokOr {
		p.next()
		r, err := p.delimAnd(own)
		if err != nil {
			return nil, err
		}
		l = delimOr{l, r}
	}
	return l, nil
}

func (p *parser) delimAnd(own string) (delimExpr, error) {
	l, err := p.delimCond(own)
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tokAnd {
		p.next()
		r, err := p.delimCond(own)
		if err != nil {
			return nil, err
		}
		l = delimAnd{l, r}
	}
	return l, nil
}

// delimCond reads "[name] op value"; without a name the condition is on
// the slot's own field.
func (p *parser) delimCond(own string) (delimExpr, error) {
	c := delimCond{field: own}
	if t := p.peek(); t.kind == tokWord {
		p.next()
		c.field = t.text
	}
	op, err := p.expect(tokOp, "a comparison operator")
	if err != nil {
		return nil, err
	}
	c.op = op.text
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	if !v.isNum && v.re == nil && c.op != "=" && c.op != "!=" {
		return nil, fmt.Errorf("%s compares numbers, not %q", c.op, v.text)
	}
	c.val = v
	return c, nil
}

func (m *delimitedMatcher) match(msg string) bool {
	fields := splitFields(msg)
	if fields == nil {
		return false
	}
	bound := make(map[string]string, len(m.slots))
	budget := maxBindSteps
	return m.bind(0, 0, fields, bound, &budget)
}

// maxBindSteps bounds the work of binding one event, which grows with the
// number of "..." in a pattern; an event that needs more does not match.
const maxBindSteps = 100000

// bind assigns fields to slots from slot si and field fi on, trying every
// length for each "...", and evaluates the conditions once all are bound.
func (m *delimitedMatcher) bind(si, fi int, fields []string, bound map[string]string, budget *int) bool {
	if *budget--; *budget < 0 {
		return false
	}
	if si == len(m.slots) {
		if fi != len(fields) {
			return false
		}
		for _, sl := range m.slots {
			if sl.cond != nil && !sl.cond.eval(bound) {
				return false
			}
		}
		return true
	}
	sl := m.slots[si]
	if sl.ellipsis {
		for k := fi; k <= len(fields); k++ {
			if m.bind(si+1, k, fields, bound, budget) {
				return true
			}
		}
		return false
	}
	if fi >= len(fields) {
		return false
	}
	if sl.name != "" {
		bound[sl.name] = fields[fi]
	}
	return m.bind(si+1, fi+1, fields, bound, budget)
}

// splitFields splits an event on spaces; text in double quotes or square
// brackets is one field, without its quotes or brackets.
func splitFields(msg string) []string {
	var out []string
	i := 0
	for {
		for i < len(msg) && isSpace(msg[i]) {
			i++
		}
		if i >= len(msg) {
			return out
		}
		if len(out) == maxFields {
			return nil
		}
		var end byte
		switch msg[i] {
		case '"':
			end = '"'
		case '[':
			end = ']'
		}
		if end != 0 {
			j := strings.IndexByte(msg[i+1:], end)
			if j >= 0 {
				out = append(out, msg[i+1:i+1+j])
				i += j + 2
				continue
			}
		}
		j := i
		for j < len(msg) && !isSpace(msg[j]) {
			j++
		}
		out = append(out, msg[i:j])
		i = j
	}
}
