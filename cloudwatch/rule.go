package cloudwatch

import (
	"fmt"
	"strings"
	"unicode"
)

// rule is a composite alarm's AlarmRule: ALARM(name), OK(name),
// INSUFFICIENT_DATA(name), TRUE and FALSE combined with AND, OR, NOT and
// parentheses. A name is bare or in double quotes, and may be an ARN.
type rule struct {
	op       string // "AND", "OR", "NOT", "STATE", "CONST"
	state    string // for STATE: ALARM, OK, INSUFFICIENT_DATA
	name     string
	value    bool
	children []*rule
}

// maxRuleLength is AWS's limit on AlarmRule.
const maxRuleLength = 10240

func parseRule(s string) (*rule, error) {
	if len(s) > maxRuleLength {
		return nil, fmt.Errorf("it is longer than %d characters", maxRuleLength)
	}
	p := &ruleParser{src: s}
	r, err := p.or()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos != len(p.src) {
		return nil, fmt.Errorf("unexpected %q at position %d", p.src[p.pos:], p.pos)
	}
	return r, nil
}

type ruleParser struct {
	src string
	pos int
}

func (p *ruleParser) space() {
	for p.pos < len(p.src) && unicode.IsSpace(rune(p.src[p.pos])) {
		p.pos++
	}
}

// keyword consumes kw when it comes next as a whole word.
func (p *ruleParser) keyword(kw string) bool {
	p.space()
	if !strings.HasPrefix(p.src[p.pos:], kw) {
		return false
	}
	end := p.pos + len(kw)
	if end < len(p.src) {
		c := rune(p.src[end])
		if unicode.IsLetter(c) || c == '_' {
			return false
		}
	}
	p.pos = end
	return true
}

func (p *ruleParser) or() (*rule, error) {
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.keyword("OR") {
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		left = &rule{op: "OR", children: []*rule{left, right}}
	}
	return left, nil
}

func (p *ruleParser) and() (*rule, error) {
	left, err := p.not()
	if err != nil {
		return nil, err
	}
	for p.keyword("AND") {
		right, err := p.not()
		if err != nil {
			return nil, err
		}
		left = &rule{op: "AND", children: []*rule{left, right}}
	}
	return left, nil
}

func (p *ruleParser) not() (*rule, error) {
	if p.keyword("NOT") {
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		return &rule{op: "NOT", children: []*rule{r}}, nil
	}
	return p.term()
}

func (p *ruleParser) term() (*rule, error) {
	p.space()
	if p.pos < len(p.src) && p.src[p.pos] == '(' {
		p.pos++
		r, err := p.or()
		if err != nil {
			return nil, err
		}
		p.space()
		if p.pos >= len(p.src) || p.src[p.pos] != ')' {
			return nil, fmt.Errorf("missing ) at position %d", p.pos)
		}
		p.pos++
		return r, nil
	}
	for _, c := range []string{"TRUE", "FALSE"} {
		if p.keyword(c) {
			return &rule{op: "CONST", value: c == "TRUE"}, nil
		}
	}
	for _, st := range []string{"ALARM", "OK", "INSUFFICIENT_DATA"} {
		if p.keyword(st) {
			name, err := p.alarmName()
			if err != nil {
				return nil, err
			}
			return &rule{op: "STATE", state: st, name: name}, nil
		}
	}
	return nil, fmt.Errorf("expected ALARM(), OK(), INSUFFICIENT_DATA(), TRUE, FALSE, NOT or ( at position %d", p.pos)
}

// alarmName reads "(name)" or "(\"name\")"; an ARN names the alarm after
// its last "alarm:".
func (p *ruleParser) alarmName() (string, error) {
	p.space()
	if p.pos >= len(p.src) || p.src[p.pos] != '(' {
		return "", fmt.Errorf("expected ( at position %d", p.pos)
	}
	p.pos++
	p.space()
	var name string
	if p.pos < len(p.src) && p.src[p.pos] == '"' {
		end := strings.IndexByte(p.src[p.pos+1:], '"')
		if end < 0 {
			return "", fmt.Errorf("unterminated quoted alarm name at position %d", p.pos)
		}
		name = p.src[p.pos+1 : p.pos+1+end]
		p.pos += end + 2
		p.space()
	} else {
		end := strings.IndexByte(p.src[p.pos:], ')')
		if end < 0 {
			return "", fmt.Errorf("missing ) at position %d", p.pos)
		}
		name = strings.TrimSpace(p.src[p.pos : p.pos+end])
		p.pos += end
	}
	if p.pos >= len(p.src) || p.src[p.pos] != ')' {
		return "", fmt.Errorf("missing ) at position %d", p.pos)
	}
	p.pos++
	if name == "" {
		return "", fmt.Errorf("empty alarm name at position %d", p.pos)
	}
	if i := strings.LastIndex(name, ":alarm:"); strings.HasPrefix(name, "arn:") && i >= 0 {
		name = name[i+len(":alarm:"):]
	}
	return name, nil
}

func (r *rule) names(acc []string) []string {
	if r.op == "STATE" {
		return append(acc, r.name)
	}
	for _, c := range r.children {
		acc = c.names(acc)
	}
	return acc
}

// eval evaluates r over alarm states; known is false when it names an
// alarm without a state.
func (r *rule) eval(states map[string]string) (value, known bool) {
	switch r.op {
	case "CONST":
		return r.value, true
	case "STATE":
		st, ok := states[r.name]
		return st == r.state, ok
	case "NOT":
		v, ok := r.children[0].eval(states)
		return !v, ok
	case "AND":
		a, ok1 := r.children[0].eval(states)
		b, ok2 := r.children[1].eval(states)
		return a && b, ok1 && ok2
	default:
		a, ok1 := r.children[0].eval(states)
		b, ok2 := r.children[1].eval(states)
		return a || b, ok1 && ok2
	}
}
