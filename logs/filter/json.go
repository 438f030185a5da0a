package filter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// jsonExpr is a node of a JSON pattern's boolean expression.
type jsonExpr interface {
	eval(doc any) bool
}

type jsonAnd struct{ l, r jsonExpr }
type jsonOr struct{ l, r jsonExpr }

func (e jsonAnd) eval(doc any) bool { return e.l.eval(doc) && e.r.eval(doc) }
func (e jsonOr) eval(doc any) bool  { return e.l.eval(doc) || e.r.eval(doc) }

// step is one step of a selector: a property name or an array index.
type step struct {
	key   string
	index int // >= 0 for [n]
}

type selector struct {
	text  string
	steps []step
}

// resolve follows the selector through doc.
func (s selector) resolve(doc any) (any, bool) {
	cur := doc
	for _, st := range s.steps {
		if st.index >= 0 {
			arr, ok := cur.([]any)
			if !ok || st.index >= len(arr) {
				return nil, false
			}
			cur = arr[st.index]
			continue
		}
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = obj[st.key]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

func parseSelector(t token) (selector, error) {
	s := t.text
	sel := selector{text: s}
	if !strings.HasPrefix(s, "$") {
		return sel, fmt.Errorf("a selector starts with '$', found %s", t)
	}
	i := 1
	for i < len(s) {
		switch s[i] {
		case '.':
			j := i + 1
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				j++
			}
			if j == i+1 {
				return sel, fmt.Errorf("empty property name in selector %s", s)
			}
			sel.steps = append(sel.steps, step{key: s[i+1 : j], index: -1})
			i = j
		case '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return sel, fmt.Errorf("unterminated '[' in selector %s", s)
			}
			inner := s[i+1 : i+j]
			n, err := strconv.Atoi(inner)
			if err != nil || n < 0 {
				return sel, fmt.Errorf("array index %q in selector %s is not a number", inner, s)
			}
			if len(sel.steps) == 0 {
				return sel, fmt.Errorf("an array index must follow a property in selector %s", s)
			}
			sel.steps = append(sel.steps, step{index: n})
			i += j + 1
		default:
			return sel, fmt.Errorf("unexpected %q in selector %s", s[i], s)
		}
	}
	return sel, nil
}

// jsonCond is one comparison or test of a selected value.
type jsonCond struct {
	sel  selector
	kind string // "op", "null", "true", "false", "exists", "notexists"
	op   string
	val  value
}

func (c jsonCond) eval(doc any) bool {
	v, ok := c.sel.resolve(doc)
	switch c.kind {
	case "exists":
		return ok
	case "notexists":
		return !ok
	case "null":
		return ok && v == nil
	case "true", "false":
		b, isBool := v.(bool)
		return ok && isBool && b == (c.kind == "true")
	}
	if !ok {
		return false
	}
	return compare(v, c.op, c.val)
}

// compare applies a comparison to a JSON value node. Objects, arrays and
// null never compare: AWS applies a selector only to string, number and
// boolean values.
func compare(v any, op string, rhs value) bool {
	var text string
	var num float64
	isNum := false
	switch x := v.(type) {
	case string:
		text = x
		if f, ok := parseNumber(x); ok {
			num, isNum = f, true
		}
	case json.Number:
		text = x.String()
		if f, err := x.Float64(); err == nil {
			num, isNum = f, true
		}
	case bool:
		text = strconv.FormatBool(x)
	default:
		return false
	}
	return compareText(text, num, isNum, op, rhs)
}

// compareText is the comparison shared by JSON and delimited patterns: a
// field's text (and its number, when it is one) against a value.
func compareText(text string, num float64, isNum bool, op string, rhs value) bool {
	if rhs.re != nil {
		m := rhs.re.MatchString(text)
		if op == "!=" {
			return !m
		}
		return m
	}
	if rhs.isNum {
		if !isNum {
			// Not a number: = and != still compare the text as written.
			switch op {
			case "=":
				return text == rhs.text
			case "!=":
				return text != rhs.text
			}
			return false
		}
		switch op {
		case "=":
			return num == rhs.num
		case "!=":
			return num != rhs.num
		case "<":
			return num < rhs.num
		case "<=":
			return num <= rhs.num
		case ">":
			return num > rhs.num
		case ">=":
			return num >= rhs.num
		}
		return false
	}
	m := globMatch(rhs.text, text)
	switch op {
	case "=":
		return m
	case "!=":
		return !m
	}
	return false
}

type jsonMatcher struct{ expr jsonExpr }

func (j jsonMatcher) match(msg string) bool {
	msg = strings.TrimSpace(msg)
	if len(msg) < 2 || (msg[0] != '{' && msg[0] != '[') {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(msg)))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return false
	}
	return j.expr.eval(doc)
}

func parseJSONPattern(s string) (matcher, error) {
	if !strings.HasSuffix(s, "}") {
		return nil, errors.New("a JSON pattern must end with '}'")
	}
	toks, err := lex(s[1 : len(s)-1])
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	if p.peek().kind == tokEOF {
		return nil, errors.New("empty JSON pattern")
	}
	expr, err := p.jsonOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, fmt.Errorf("unexpected %s", t)
	}
	return jsonMatcher{expr}, nil
}

// jsonOr and jsonAnd give && precedence over ||, as AWS documents.
func (p *parser) jsonOr() (jsonExpr, error) {
	l, err := p.jsonAnd()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tokOr {
		p.next()
		r, err := p.jsonAnd()
		if err != nil {
			return nil, err
		}
		l = jsonOr{l, r}
	}
	return l, nil
}

func (p *parser) jsonAnd() (jsonExpr, error) {
	l, err := p.jsonUnary()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tokAnd {
		p.next()
		r, err := p.jsonUnary()
		if err != nil {
			return nil, err
		}
		l = jsonAnd{l, r}
	}
	return l, nil
}

func (p *parser) jsonUnary() (jsonExpr, error) {
	if p.peek().kind == tokLParen {
		p.next()
		e, err := p.jsonOr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokRParen, "')'"); err != nil {
			return nil, err
		}
		return e, nil
	}
	t := p.next()
	if t.kind != tokSelector {
		return nil, fmt.Errorf("expected a selector such as $.field, found %s", t)
	}
	sel, err := parseSelector(t)
	if err != nil {
		return nil, err
	}
	c := jsonCond{sel: sel}
	switch n := p.peek(); {
	case isWord(n, "IS"):
		p.next()
		w := p.next()
		switch {
		case isWord(w, "NULL"):
			c.kind = "null"
		case isWord(w, "TRUE"):
			c.kind = "true"
		case isWord(w, "FALSE"):
			c.kind = "false"
		default:
			return nil, fmt.Errorf("expected NULL, TRUE or FALSE after IS, found %s", w)
		}
	case isWord(n, "NOT"):
		p.next()
		if w := p.next(); !isWord(w, "EXISTS") {
			return nil, fmt.Errorf("expected EXISTS after NOT, found %s", w)
		}
		c.kind = "notexists"
	case isWord(n, "EXISTS"):
		p.next()
		c.kind = "exists"
	case n.kind == tokOp:
		p.next()
		c.kind, c.op = "op", n.text
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		if !v.isNum && v.re == nil && c.op != "=" && c.op != "!=" {
			return nil, fmt.Errorf("%s compares numbers, not %s", c.op, strconv.Quote(v.text))
		}
		c.val = v
	default:
		return nil, fmt.Errorf("expected a comparison after %s, found %s", sel.text, n)
	}
	return c, nil
}

// value reads the right-hand side of a comparison.
func (p *parser) value() (value, error) {
	t := p.next()
	switch t.kind {
	case tokString, tokRegex, tokWord:
		return parseValue(t)
	case tokSelector:
		// A bare value that happens to start with $ ("$5").
		return value{text: t.text}, nil
	}
	return value{}, fmt.Errorf("expected a value, found %s", t)
}
