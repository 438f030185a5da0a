package cloudwatch

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	cwapi "github.com/berth-dev/berth/api/cloudwatch"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// Berth's metric math is arithmetic: + - * / and parentheses over query
// ids and numbers. Series combine at the timestamps they share, as AWS
// aligns them; a division by zero leaves no value at that timestamp.

type mathNode struct {
	op          byte // 0 for a leaf
	num         float64
	isNum       bool
	id          string
	left, right *mathNode
}

func parseMath(s string) (*mathNode, error) {
	p := &mathParser{src: s}
	n, err := p.sum()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos != len(p.src) {
		return nil, fmt.Errorf("unexpected %q", p.src[p.pos:])
	}
	return n, nil
}

type mathParser struct {
	src string
	pos int
}

func (p *mathParser) space() {
	for p.pos < len(p.src) && p.src[p.pos] == ' ' {
		p.pos++
	}
}

func (p *mathParser) sum() (*mathNode, error) {
	left, err := p.product()
	if err != nil {
		return nil, err
	}
	for {
		p.space()
		if p.pos >= len(p.src) || (p.src[p.pos] != '+' && p.src[p.pos] != '-') {
			return left, nil
		}
		op := p.src[p.pos]
		p.pos++
		right, err := p.product()
		if err != nil {
			return nil, err
		}
		left = &mathNode{op: op, left: left, right: right}
	}
}

func (p *mathParser) product() (*mathNode, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		p.space()
		if p.pos >= len(p.src) || (p.src[p.pos] != '*' && p.src[p.pos] != '/') {
			return left, nil
		}
		op := p.src[p.pos]
		p.pos++
		right, err := p.unary()
		if err != nil {
			return nil, err
		}
		left = &mathNode{op: op, left: left, right: right}
	}
}

func (p *mathParser) unary() (*mathNode, error) {
	p.space()
	if p.pos < len(p.src) && p.src[p.pos] == '-' {
		p.pos++
		n, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &mathNode{op: '-', left: &mathNode{isNum: true}, right: n}, nil
	}
	return p.atom()
}

func (p *mathParser) atom() (*mathNode, error) {
	p.space()
	if p.pos >= len(p.src) {
		return nil, fmt.Errorf("the expression ends early")
	}
	c := p.src[p.pos]
	switch {
	case c == '(':
		p.pos++
		n, err := p.sum()
		if err != nil {
			return nil, err
		}
		p.space()
		if p.pos >= len(p.src) || p.src[p.pos] != ')' {
			return nil, fmt.Errorf("missing )")
		}
		p.pos++
		return n, nil
	case c >= '0' && c <= '9' || c == '.':
		start := p.pos
		for p.pos < len(p.src) && (p.src[p.pos] >= '0' && p.src[p.pos] <= '9' || p.src[p.pos] == '.') {
			p.pos++
		}
		v, err := strconv.ParseFloat(p.src[start:p.pos], 64)
		if err != nil {
			return nil, fmt.Errorf("bad number %q", p.src[start:p.pos])
		}
		return &mathNode{isNum: true, num: v}, nil
	case unicode.IsLetter(rune(c)):
		start := p.pos
		for p.pos < len(p.src) && (unicode.IsLetter(rune(p.src[p.pos])) || unicode.IsDigit(rune(p.src[p.pos])) || p.src[p.pos] == '_') {
			p.pos++
		}
		id := p.src[start:p.pos]
		if p.pos < len(p.src) && p.src[p.pos] == '(' || id != strings.ToLower(id[:1])+id[1:] {
			return nil, fmt.Errorf("functions such as %s are not supported", id)
		}
		return &mathNode{id: id}, nil
	}
	return nil, fmt.Errorf("unexpected %q", p.src[p.pos:])
}

func (n *mathNode) ids(acc []string) []string {
	if n.id != "" {
		return append(acc, n.id)
	}
	if n.left != nil {
		acc = n.left.ids(acc)
		acc = n.right.ids(acc)
	}
	return acc
}

// mathValue is a scalar or a series (values by Unix milliseconds).
type mathValue struct {
	scalar   float64
	series   map[int64]float64
	isSeries bool
}

func (n *mathNode) eval(env map[string]map[int64]float64) mathValue {
	switch {
	case n.isNum:
		return mathValue{scalar: n.num}
	case n.id != "":
		return mathValue{series: env[n.id], isSeries: true}
	}
	a, b := n.left.eval(env), n.right.eval(env)
	apply := func(x, y float64) (float64, bool) {
		switch n.op {
		case '+':
			return x + y, true
		case '-':
			return x - y, true
		case '*':
			return x * y, true
		}
		if y == 0 {
			return 0, false
		}
		return x / y, true
	}
	if !a.isSeries && !b.isSeries {
		v, _ := apply(a.scalar, b.scalar)
		return mathValue{scalar: v}
	}
	out := map[int64]float64{}
	switch {
	case a.isSeries && b.isSeries:
		for t, x := range a.series {
			if y, ok := b.series[t]; ok {
				if v, ok := apply(x, y); ok {
					out[t] = v
				}
			}
		}
	case a.isSeries:
		for t, x := range a.series {
			if v, ok := apply(x, b.scalar); ok {
				out[t] = v
			}
		}
	default:
		for t, y := range b.series {
			if v, ok := apply(a.scalar, y); ok {
				out[t] = v
			}
		}
	}
	return mathValue{series: out, isSeries: true}
}

// checkQueries validates a set of queries (GetMetricData's, or an alarm's
// Metrics): unique ids, a MetricStat or an expression Berth evaluates
// each, expressions naming known ids without cycles.
func checkQueries(queries []cwapi.MetricDataQuery, what string) error {
	// AWS reports every id off its pattern at once, one line each.
	var bad []string
	for i, q := range queries {
		if id := deref(q.Id); !validQueryID(id) {
			bad = append(bad, fmt.Sprintf("The value %s for parameter %s.member.%d.Id is not matching the expected pattern ^[a-z][a-zA-Z0-9_]*$.", id, what, i+1))
		}
	}
	if len(bad) > 0 {
		return awsapi.Errorf(codeValidationError, "%s", strings.Join(bad, "\n"))
	}
	ids := map[string]bool{}
	for _, q := range queries {
		id := deref(q.Id)
		if ids[id] {
			return awsapi.Errorf(codeValidationError, "The value %s for %s Id is used by another query; ids must be unique.", id, what)
		}
		ids[id] = true
	}
	for i, q := range queries {
		at := fmt.Sprintf("%s.member.%d", what, i+1)
		switch {
		case q.Expression != nil && q.MetricStat != nil:
			return awsapi.Errorf(codeValidationError, "Query %s must have either a MetricStat or an Expression, not both.", deref(q.Id))
		case q.Expression != nil:
			n, err := parseMath(*q.Expression)
			if err != nil {
				return awsapi.Errorf(codeValidationError, "Berth cannot evaluate the expression of query %s (%v): it evaluates + - * / and parentheses over query ids and numbers.", deref(q.Id), err)
			}
			for _, id := range n.ids(nil) {
				if !ids[id] || id == deref(q.Id) {
					return awsapi.Errorf(codeValidationError, "The expression of query %s names %s, which is not the id of another query.", deref(q.Id), id)
				}
			}
		case q.MetricStat != nil:
			if err := checkMetricStat(q.MetricStat, at+".MetricStat"); err != nil {
				return err
			}
		default:
			return awsapi.Errorf(codeValidationError, "Query %s must have either a MetricStat or an Expression.", deref(q.Id))
		}
	}
	return nil
}

// evalQueries computes every query's values over [start, end), by Unix
// milliseconds of their period's start.
func evalQueries(tx store.Tx, c caller, queries []cwapi.MetricDataQuery, start, end time.Time) (map[string]map[int64]float64, error) {
	env := map[string]map[int64]float64{}
	for _, q := range queries {
		if q.MetricStat == nil {
			continue
		}
		ts, vs, err := statSeries(tx, c, q.MetricStat, start, end)
		if err != nil {
			return nil, err
		}
		m := make(map[int64]float64, len(ts))
		for i, t := range ts {
			m[t.UnixMilli()] = vs[i]
		}
		env[deref(q.Id)] = m
	}
	// Expressions may use each other: resolve them in dependency order.
	for pending := len(queries) - len(env); pending > 0; {
		progress := false
		for _, q := range queries {
			id := deref(q.Id)
			if q.Expression == nil || env[id] != nil {
				continue
			}
			n, _ := parseMath(*q.Expression)
			ready := true
			for _, dep := range n.ids(nil) {
				if env[dep] == nil {
					ready = false
				}
			}
			if !ready {
				continue
			}
			v := n.eval(env)
			if !v.isSeries {
				v.series = map[int64]float64{}
			}
			env[id], progress = v.series, true
			pending--
		}
		if !progress {
			return nil, awsapi.Errorf(codeValidationError, "The expressions refer to each other in a cycle.")
		}
	}
	return env, nil
}

// validQueryID is AWS's pattern for query ids, ^[a-z][a-zA-Z0-9_]*$: ids
// are names in expressions, where an upper-case start would read as a
// function.
func validQueryID(id string) bool {
	if id == "" || id[0] < 'a' || id[0] > 'z' {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}
