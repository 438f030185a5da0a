package filter

import (
	"fmt"
	"strconv"
	"strings"
)

type tokenKind int

const (
	tokEOF      tokenKind = iota
	tokLParen             // (
	tokRParen             // )
	tokAnd                // &&
	tokOr                 // ||
	tokOp                 // = != < <= > >=
	tokComma              // ,
	tokString             // "..."
	tokRegex              // %...%
	tokSelector           // $.a.b[0]
	tokEllipsis           // ...
	tokWord               // anything else: names, numbers, bare values, keywords
)

type token struct {
	kind tokenKind
	text string // the operator, the unquoted string, the regex with its %, ...
	pos  int
}

func (t token) String() string {
	switch t.kind {
	case tokEOF:
		return "end of pattern"
	case tokString:
		return strconv.Quote(t.text)
	}
	return "'" + t.text + "'"
}

// stopChars end a bare word or selector.
const stopChars = " \t\r\n()&|,=!<>"

// lex splits the inside of a JSON or delimited pattern into tokens.
func lex(s string) ([]token, error) {
	var toks []token
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			toks = append(toks, token{kind: tokEOF, pos: i})
			return toks, nil
		}
		start := i
		c := s[i]
		switch {
		case c == '(':
			toks = append(toks, token{tokLParen, "(", start})
			i++
		case c == ')':
			toks = append(toks, token{tokRParen, ")", start})
			i++
		case c == ',':
			toks = append(toks, token{tokComma, ",", start})
			i++
		case c == '&':
			if !strings.HasPrefix(s[i:], "&&") {
				return nil, fmt.Errorf("'&' at %d: did you mean '&&'?", i)
			}
			toks = append(toks, token{tokAnd, "&&", start})
			i += 2
		case c == '|':
			if !strings.HasPrefix(s[i:], "||") {
				return nil, fmt.Errorf("'|' at %d: did you mean '||'?", i)
			}
			toks = append(toks, token{tokOr, "||", start})
			i += 2
		case c == '=' || c == '!' || c == '<' || c == '>':
			op := string(c)
			if i+1 < len(s) && s[i+1] == '=' {
				op += "="
			}
			if op == "!" {
				return nil, fmt.Errorf("'!' at %d: did you mean '!='?", i)
			}
			i += len(op)
			if op == "==" {
				op = "="
			}
			toks = append(toks, token{tokOp, op, start})
		case c == '"':
			v, n, err := readQuoted(s[i:])
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{tokString, v, start})
			i += n
		case c == '%':
			j := strings.IndexByte(s[i+1:], '%')
			if j < 0 {
				return nil, fmt.Errorf("unterminated regular expression at %d", i)
			}
			toks = append(toks, token{tokRegex, s[i : i+j+2], start})
			i += j + 2
		case strings.HasPrefix(s[i:], "..."):
			toks = append(toks, token{tokEllipsis, "...", start})
			i += 3
		default:
			for i < len(s) && !strings.ContainsRune(stopChars, rune(s[i])) {
				i++
			}
			kind := tokWord
			if c == '$' {
				kind = tokSelector
			}
			toks = append(toks, token{kind, s[start:i], start})
		}
	}
}

// parseNumber accepts what AWS calls a number: an integer or decimal with
// an optional sign, optionally in scientific notation.
func parseNumber(s string) (float64, bool) {
	if s == "" || strings.ContainsAny(s, "xXpP_") {
		return 0, false
	}
	switch strings.ToLower(strings.TrimLeft(s, "+-")) {
	case "inf", "infinity", "nan":
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false
	}
	return f, true
}

// parser walks a token list.
type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) expect(kind tokenKind, what string) (token, error) {
	t := p.next()
	if t.kind != kind {
		return t, fmt.Errorf("expected %s, found %s", what, t)
	}
	return t, nil
}

// isWord reports whether t is the bare word w (keywords are upper case, as
// AWS writes them; lower case is accepted too).
func isWord(t token, w string) bool {
	return t.kind == tokWord && strings.EqualFold(t.text, w)
}
