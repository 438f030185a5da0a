package logs

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	logsapi "github.com/berth-dev/berth/api/logs"
)

// The subset of the Logs Insights query language Berth runs: commands
// fields/display, filter, sort, limit, stats (count, sum, avg, min, max
// ... by fields) and parse, joined with '|'. Anything else is a
// MalformedQueryException naming what is not supported, so a query never
// silently means something else than on AWS.

type qtokKind int

const (
	qEOF qtokKind = iota
	qIdent
	qNum
	qStr
	qRegex
	qOp
	qPunct
)

type qtok struct {
	kind qtokKind
	text string
	pos  int
}

func malformed(format string, args ...any) error {
	return logsapi.NewMalformedQueryException(format, args...)
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '@' || c == '.' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func lexQuery(src string) ([]qtok, error) {
	var out []qtok
	i := 0
	prevValue := func() bool {
		if len(out) == 0 {
			return false
		}
		k := out[len(out)-1]
		if n := len(out); n >= 2 && out[n-2].kind == qIdent && strings.EqualFold(out[n-2].text, "parse") {
			return false // parse FIELD /regex/
		}
		return k.kind == qIdent && !slices.Contains([]string{"like", "and", "or", "not", "filter"}, strings.ToLower(k.text)) || k.kind == qNum || k.kind == qStr || k.text == ")"
	}
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#':
			// A comment runs to the end of the line.
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'':
			j := i + 1
			var b strings.Builder
			for j < len(src) && src[j] != c {
				if src[j] == '\\' && j+1 < len(src) {
					j++
				}
				b.WriteByte(src[j])
				j++
			}
			if j >= len(src) {
				return nil, malformed("unterminated string starting at character %d", i)
			}
			out = append(out, qtok{qStr, b.String(), i})
			i = j + 1
		case c == '`':
			j := strings.IndexByte(src[i+1:], '`')
			if j < 0 {
				return nil, malformed("unterminated `quoted` field name at character %d", i)
			}
			out = append(out, qtok{qIdent, src[i+1 : i+1+j], i})
			i += j + 2
		case c == '/' && !prevValue():
			j := i + 1
			for j < len(src) && src[j] != '/' {
				if src[j] == '\\' && j+1 < len(src) {
					j++
				}
				j++
			}
			if j >= len(src) {
				return nil, malformed("unterminated regular expression at character %d", i)
			}
			out = append(out, qtok{qRegex, src[i+1 : j], i})
			i = j + 1
		case c >= '0' && c <= '9' || c == '-' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9' && !prevValue():
			j := i + 1
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '.') {
				j++
			}
			if j < len(src) && isIdentByte(src[j]) {
				return nil, malformed("unsupported token %q at character %d (durations and time literals are not supported)", src[i:j+1], i)
			}
			out = append(out, qtok{qNum, src[i:j], i})
			i = j
		case isIdentByte(c):
			j := i
			for j < len(src) && isIdentByte(src[j]) {
				j++
			}
			out = append(out, qtok{qIdent, src[i:j], i})
			i = j
		case strings.HasPrefix(src[i:], "!=") || strings.HasPrefix(src[i:], "<=") || strings.HasPrefix(src[i:], ">=") || strings.HasPrefix(src[i:], "=~"):
			out = append(out, qtok{qOp, src[i : i+2], i})
			i += 2
		case c == '=' || c == '<' || c == '>':
			out = append(out, qtok{qOp, string(c), i})
			i++
		case c == '(' || c == ')' || c == ',' || c == '*' || c == '|':
			out = append(out, qtok{qPunct, string(c), i})
			i++
		default:
			return nil, malformed("unsupported character %q at character %d", c, i)
		}
	}
	return out, nil
}

type qparser struct {
	toks []qtok
	i    int
}

func (p *qparser) peek() qtok {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return qtok{kind: qEOF}
}

func (p *qparser) next() qtok { t := p.peek(); p.i++; return t }

func (p *qparser) keyword(kw string) bool {
	t := p.peek()
	if t.kind == qIdent && strings.EqualFold(t.text, kw) {
		p.i++
		return true
	}
	return false
}

func (p *qparser) punct(s string) bool {
	t := p.peek()
	if t.kind == qPunct && t.text == s {
		p.i++
		return true
	}
	return false
}

func (p *qparser) ident(what string) (string, error) {
	t := p.next()
	if t.kind != qIdent {
		return "", malformed("expected %s at character %d, found %s", what, t.pos, describeTok(t))
	}
	return t.text, nil
}

func describeTok(t qtok) string {
	if t.kind == qEOF {
		return "the end of the query"
	}
	return strconv.Quote(t.text)
}

// Query stages.

type fieldRef struct{ name, alias string }

type stage interface{}

type fieldsStage struct{ fields []fieldRef }
type filterStage struct{ expr qexpr }
type sortStage struct {
	keys []sortKey
}
type sortKey struct {
	field string
	desc  bool
}
type limitStage struct{ n int }
type statsStage struct {
	aggs []agg
	by   []fieldRef
}
type agg struct {
	fn, arg, name string
}
type parseStage struct {
	field string
	re    *regexp.Regexp
	names []string
}

type insightsQuery struct {
	stages []stage
}

func parseInsights(src string) (*insightsQuery, error) {
	toks, err := lexQuery(src)
	if err != nil {
		return nil, err
	}
	q := &insightsQuery{}
	var parts [][]qtok
	start := 0
	for i, t := range toks {
		if t.kind == qPunct && t.text == "|" {
			parts = append(parts, toks[start:i])
			start = i + 1
		}
	}
	parts = append(parts, toks[start:])
	for _, part := range parts {
		if len(part) == 0 {
			return nil, malformed("empty command between '|'")
		}
		p := &qparser{toks: part}
		cmd := strings.ToLower(p.next().text)
		var st stage
		switch cmd {
		case "fields", "display":
			fs, err := p.fieldList(true)
			if err != nil {
				return nil, err
			}
			st = fieldsStage{fs}
		case "filter":
			e, err := p.or()
			if err != nil {
				return nil, err
			}
			st = filterStage{e}
		case "sort":
			var keys []sortKey
			for {
				f, err := p.ident("a field to sort by")
				if err != nil {
					return nil, err
				}
				k := sortKey{field: f, desc: true}
				if p.keyword("asc") {
					k.desc = false
				} else {
					p.keyword("desc")
				}
				keys = append(keys, k)
				if !p.punct(",") {
					break
				}
			}
			st = sortStage{keys}
		case "limit":
			t := p.next()
			n, err := strconv.Atoi(t.text)
			if t.kind != qNum || err != nil || n < 1 || n > 10000 {
				return nil, malformed("limit takes a number from 1 to 10000, found %s", describeTok(t))
			}
			st = limitStage{n}
		case "stats":
			s, err := p.stats()
			if err != nil {
				return nil, err
			}
			st = s
		case "parse":
			s, err := p.parse()
			if err != nil {
				return nil, err
			}
			st = s
		default:
			return nil, malformed("unsupported command %q: Berth runs fields, display, filter, sort, limit, stats and parse", cmd)
		}
		if t := p.peek(); t.kind != qEOF {
			return nil, malformed("unexpected %s at character %d in the %s command", describeTok(t), t.pos, cmd)
		}
		q.stages = append(q.stages, st)
	}
	return q, nil
}

func (p *qparser) fieldList(aliases bool) ([]fieldRef, error) {
	var out []fieldRef
	for {
		f, err := p.ident("a field name")
		if err != nil {
			return nil, err
		}
		if p.peek().kind == qPunct && p.peek().text == "(" {
			return nil, malformed("unsupported function %s()", f)
		}
		r := fieldRef{name: f, alias: f}
		if aliases && p.keyword("as") {
			if r.alias, err = p.ident("an alias"); err != nil {
				return nil, err
			}
		}
		out = append(out, r)
		if !p.punct(",") {
			return out, nil
		}
	}
}

func (p *qparser) stats() (stage, error) {
	s := statsStage{}
	for {
		fn, err := p.ident("an aggregation function")
		if err != nil {
			return nil, err
		}
		fn = strings.ToLower(fn)
		if !slices.Contains([]string{"count", "sum", "avg", "min", "max"}, fn) {
			return nil, malformed("unsupported stats function %s(): Berth supports count, sum, avg, min and max", fn)
		}
		if !p.punct("(") {
			return nil, malformed("expected '(' after %s", fn)
		}
		a := agg{fn: fn}
		switch {
		case p.punct("*"):
			a.arg = "*"
		case p.peek().kind == qIdent:
			a.arg = p.next().text
		}
		if !p.punct(")") {
			return nil, malformed("expected ')' to close %s(", fn)
		}
		if a.arg == "" && fn != "count" {
			return nil, malformed("%s() needs a field", fn)
		}
		a.name = fn + "(" + a.arg + ")"
		if p.keyword("as") {
			if a.name, err = p.ident("an alias"); err != nil {
				return nil, err
			}
		}
		s.aggs = append(s.aggs, a)
		if !p.punct(",") {
			break
		}
	}
	if p.keyword("by") {
		by, err := p.fieldList(true)
		if err != nil {
			return nil, err
		}
		s.by = by
	}
	return s, nil
}

func (p *qparser) parse() (stage, error) {
	field, err := p.ident("the field to parse")
	if err != nil {
		return nil, err
	}
	t := p.next()
	switch t.kind {
	case qStr:
		var b strings.Builder
		b.WriteString("^")
		for i, piece := range strings.Split(t.text, "*") {
			if i > 0 {
				b.WriteString("(.*?)")
			}
			b.WriteString(regexp.QuoteMeta(piece))
		}
		if !p.keyword("as") {
			return nil, malformed("parse with a glob pattern needs 'as' and field names")
		}
		names, err := p.fieldList(false)
		if err != nil {
			return nil, err
		}
		re, err := regexp.Compile(b.String() + "$")
		if err != nil {
			return nil, malformed("bad parse pattern: %v", err)
		}
		if re.NumSubexp() != len(names) {
			return nil, malformed("the parse pattern has %d wildcards but %d field names follow 'as'", re.NumSubexp(), len(names))
		}
		out := parseStage{field: field, re: re}
		for _, n := range names {
			out.names = append(out.names, n.name)
		}
		return out, nil
	case qRegex:
		re, err := regexp.Compile(t.text)
		if err != nil {
			return nil, malformed("bad regular expression /%s/: %v", t.text, err)
		}
		out := parseStage{field: field, re: re}
		for i, n := range re.SubexpNames() {
			if i > 0 && n == "" {
				return nil, malformed("every group of a parse regular expression must be named: (?<name>...)")
			}
			if i > 0 {
				out.names = append(out.names, n)
			}
		}
		return out, nil
	}
	return nil, malformed("parse takes a \"glob\" or /regex/ pattern, found %s", describeTok(t))
}

// Filter expressions.

type qexpr interface {
	eval(r record) bool
}

type andExpr struct{ l, r qexpr }
type orExpr struct{ l, r qexpr }
type notExpr struct{ e qexpr }
type cmpExpr struct {
	field string
	op    string
	lit   string
	re    *regexp.Regexp // like, =~
	list  []string       // in
}

func (e andExpr) eval(r record) bool { return e.l.eval(r) && e.r.eval(r) }
func (e orExpr) eval(r record) bool  { return e.l.eval(r) || e.r.eval(r) }
func (e notExpr) eval(r record) bool { return !e.e.eval(r) }

func (e cmpExpr) eval(r record) bool {
	v, ok := r[e.field]
	if !ok {
		return false
	}
	switch e.op {
	case "like":
		if e.re != nil {
			return e.re.MatchString(v)
		}
		return strings.Contains(v, e.lit)
	case "in":
		return slices.Contains(e.list, v)
	}
	c := compareValues(v, e.lit)
	switch e.op {
	case "=":
		return c == 0
	case "!=":
		return c != 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	}
	return false
}

// compareValues compares numerically when both sides are numbers.
func compareValues(a, b string) int {
	x, errA := strconv.ParseFloat(a, 64)
	y, errB := strconv.ParseFloat(b, 64)
	if errA == nil && errB == nil {
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	return strings.Compare(a, b)
}

func (p *qparser) or() (qexpr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = orExpr{l, r}
	}
	return l, nil
}

func (p *qparser) and() (qexpr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = andExpr{l, r}
	}
	return l, nil
}

func (p *qparser) unary() (qexpr, error) {
	if p.keyword("not") {
		e, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notExpr{e}, nil
	}
	if p.punct("(") {
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.punct(")") {
			return nil, malformed("expected ')' at character %d", p.peek().pos)
		}
		return e, nil
	}
	ft := p.next()
	if ft.kind != qIdent {
		return nil, malformed("expected a field name at character %d, found %s", ft.pos, describeTok(ft))
	}
	if p.peek().kind == qPunct && p.peek().text == "(" {
		return nil, malformed("unsupported function %s() in filter", ft.text)
	}
	c := cmpExpr{field: ft.text}
	negate := p.keyword("not")
	switch {
	case p.keyword("like"):
		c.op = "like"
		t := p.next()
		switch t.kind {
		case qStr:
			c.lit = t.text
		case qRegex:
			re, err := regexp.Compile(t.text)
			if err != nil {
				return nil, malformed("bad regular expression /%s/: %v", t.text, err)
			}
			c.re = re
		default:
			return nil, malformed("like takes a \"string\" or /regex/, found %s", describeTok(t))
		}
	case p.keyword("in"):
		return nil, malformed("unsupported operator 'in' in filter")
	case negate:
		return nil, malformed("'not' after a field name must be followed by 'like'")
	case p.peek().kind == qOp:
		c.op = p.next().text
		t := p.next()
		if c.op == "=~" {
			if t.kind != qRegex {
				return nil, malformed("=~ takes a /regex/, found %s", describeTok(t))
			}
			re, err := regexp.Compile(t.text)
			if err != nil {
				return nil, malformed("bad regular expression /%s/: %v", t.text, err)
			}
			c.op, c.re = "like", re
			break
		}
		if t.kind != qStr && t.kind != qNum {
			return nil, malformed("expected a number or a \"string\" after %s, found %s (comparing fields with fields is not supported)", c.op, describeTok(t))
		}
		c.lit = t.text
	default:
		return nil, malformed("expected a comparison after %s, found %s", ft.text, describeTok(p.peek()))
	}
	if negate {
		return notExpr{c}, nil
	}
	return c, nil
}

// record is one log event as the query sees it: every field a string.
type record map[string]string

// jsonFields adds the fields of a JSON object message, nested keys joined
// with '.', as Logs Insights discovers them.
func jsonFields(r record, msg string) {
	if !strings.HasPrefix(strings.TrimSpace(msg), "{") {
		return
	}
	var doc map[string]any
	d := json.NewDecoder(strings.NewReader(msg))
	d.UseNumber()
	if d.Decode(&doc) != nil {
		return
	}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(prefix+k+".", e)
			}
		case []any:
			for i, e := range x {
				walk(prefix+strconv.Itoa(i)+".", e)
			}
		case nil:
		case string:
			r[strings.TrimSuffix(prefix, ".")] = x
		default:
			r[strings.TrimSuffix(prefix, ".")] = fmt.Sprint(x)
		}
	}
	walk("", doc)
}

// run evaluates the query over records and returns the result rows with
// their column order, and how many records the filters let through.
func (q *insightsQuery) run(recs []record, limit int) (cols []string, rows []record, matched int) {
	rows = recs
	cols = []string{"@timestamp", "@message"}
	stats, sorted := false, false
	matched = -1
	for _, st := range q.stages {
		switch s := st.(type) {
		case fieldsStage:
			cols = cols[:0:0]
			for _, f := range s.fields {
				cols = append(cols, f.alias)
				if f.alias != f.name {
					for _, r := range rows {
						if v, ok := r[f.name]; ok {
							r[f.alias] = v
						}
					}
				}
			}
		case filterStage:
			var kept []record
			for _, r := range rows {
				if s.expr.eval(r) {
					kept = append(kept, r)
				}
			}
			rows = kept
		case parseStage:
			for _, r := range rows {
				m := s.re.FindStringSubmatch(r[s.field])
				if m == nil {
					continue
				}
				for i, n := range s.names {
					r[n] = m[i+1]
				}
			}
		case sortStage:
			sorted = true
			slices.SortStableFunc(rows, func(a, b record) int {
				for _, k := range s.keys {
					c := compareValues(a[k.field], b[k.field])
					if k.desc {
						c = -c
					}
					if c != 0 {
						return c
					}
				}
				return 0
			})
		case limitStage:
			if !stats && !sorted {
				sortByTime(rows)
				sorted = true
			}
			if matched < 0 && !stats {
				matched = len(rows)
			}
			if len(rows) > s.n {
				rows = rows[:s.n]
			}
		case statsStage:
			if matched < 0 {
				matched = len(rows)
			}
			stats = true
			cols, rows = s.apply(rows)
		}
	}
	if matched < 0 {
		matched = len(rows)
	}
	if !stats {
		if !sorted {
			sortByTime(rows)
		}
	}
	if len(rows) > limit {
		rows = rows[:limit]
	}
	return cols, rows, matched
}

func sortByTime(rows []record) {
	slices.SortStableFunc(rows, func(a, b record) int { return strings.Compare(b["@ts"], a["@ts"]) })
}

func (s statsStage) apply(rows []record) ([]string, []record) {
	type group struct {
		key    record
		counts []float64
		sums   []float64
		mins   []float64
		maxs   []float64
	}
	var order []string
	groups := map[string]*group{}
	for _, r := range rows {
		var kb strings.Builder
		key := record{}
		for _, b := range s.by {
			v := r[b.name]
			key[b.alias] = v
			kb.WriteString(v)
			kb.WriteByte(0)
		}
		g, ok := groups[kb.String()]
		if !ok {
			n := len(s.aggs)
			g = &group{key: key, counts: make([]float64, n), sums: make([]float64, n), mins: make([]float64, n), maxs: make([]float64, n)}
			for i := range g.mins {
				g.mins[i], g.maxs[i] = math.Inf(1), math.Inf(-1)
			}
			groups[kb.String()] = g
			order = append(order, kb.String())
		}
		for i, a := range s.aggs {
			if a.arg == "*" || a.arg == "" {
				g.counts[i]++
				continue
			}
			v, ok := r[a.arg]
			if !ok {
				continue
			}
			if a.fn == "count" {
				g.counts[i]++
				continue
			}
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			g.counts[i]++
			g.sums[i] += f
			g.mins[i] = math.Min(g.mins[i], f)
			g.maxs[i] = math.Max(g.maxs[i], f)
		}
	}
	var cols []string
	for _, b := range s.by {
		cols = append(cols, b.alias)
	}
	for _, a := range s.aggs {
		cols = append(cols, a.name)
	}
	var out []record
	for _, k := range order {
		g := groups[k]
		r := g.key
		for i, a := range s.aggs {
			var v float64
			switch a.fn {
			case "count":
				v = g.counts[i]
			case "sum":
				v = g.sums[i]
			case "avg":
				if g.counts[i] == 0 {
					continue
				}
				v = g.sums[i] / g.counts[i]
			case "min":
				if g.counts[i] == 0 {
					continue
				}
				v = g.mins[i]
			case "max":
				if g.counts[i] == 0 {
					continue
				}
				v = g.maxs[i]
			}
			r[a.name] = strconv.FormatFloat(v, 'f', -1, 64)
		}
		out = append(out, r)
	}
	return cols, out
}
