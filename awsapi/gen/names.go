package main

import (
	"go/token"
	"html"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// exportName turns a model name into an exported Go identifier: the parts
// between non-alphanumeric characters, each with its first letter upper
// case ("registryId" -> "RegistryId", "AWS::EC2::Instance" ->
// "AWSEC2Instance"). An identifier that would start with a digit gets an X.
func exportName(s string) string {
	var b strings.Builder
	for _, part := range splitWords(s) {
		r := []rune(part)
		r[0] = unicode.ToUpper(r[0])
		b.WriteString(string(r))
	}
	return fixIdent(b.String())
}

// enumName is the suffix of an enum constant: like exportName, but parts
// written all in capitals read as words ("FARGATE_SPOT" -> "FargateSpot").
func enumName(s string) string {
	var b strings.Builder
	for _, part := range splitWords(s) {
		if strings.ToUpper(part) == part {
			part = strings.ToLower(part)
		}
		r := []rune(part)
		r[0] = unicode.ToUpper(r[0])
		b.WriteString(string(r))
	}
	return b.String()
}

func splitWords(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r))
	})
}

func fixIdent(s string) string {
	if s == "" {
		return "X"
	}
	if unicode.IsDigit(rune(s[0])) {
		s = "X" + s
	}
	if token.IsKeyword(s) {
		s += "_"
	}
	return s
}

// namer hands out package-level identifiers, so that a model shape never
// collides with a generated name (ECS and CloudWatch Logs both have a
// shape called Service).
type namer struct{ taken map[string]bool }

func newNamer(reserved ...string) *namer {
	n := &namer{taken: map[string]bool{}}
	for _, r := range reserved {
		n.taken[r] = true
	}
	return n
}

// claim returns want, or want+suffix (then numbered) when it is taken.
func (n *namer) claim(want, suffix string) string {
	name := want
	for i := 2; n.taken[name]; i++ {
		name = want + suffix
		if i > 2 {
			name += strconv.Itoa(i - 1)
		}
	}
	n.taken[name] = true
	return name
}

var (
	// Inline tags vanish; any other tag (paragraphs, list items) separates
	// words.
	inlineTag    = regexp.MustCompile(`(?i)</?(code|a|i|b|em|strong|literal)\b[^>]*>`)
	tagPattern   = regexp.MustCompile(`<[^>]*>`)
	spacePattern = regexp.MustCompile(`\s+`)
	spacedPunct  = regexp.MustCompile(`\s+([,.;:)])`)
	// A sentence ends at a period, question or exclamation mark followed by
	// a space and a capital letter, or at the end of the text.
	sentenceEnd = regexp.MustCompile(`[.!?](\s+[A-Z(]|\s*$)`)
)

// maxDocLen keeps generated comments to a line or two.
const maxDocLen = 160

// firstSentence is the first sentence of a model's HTML documentation, as
// plain text, cut to maxDocLen.
func firstSentence(doc string) string {
	s := inlineTag.ReplaceAllString(doc, "")
	s = tagPattern.ReplaceAllString(s, " ")
	s = html.UnescapeString(s)
	s = strings.TrimSpace(spacePattern.ReplaceAllString(s, " "))
	s = spacedPunct.ReplaceAllString(s, "$1")
	if loc := sentenceEnd.FindStringIndex(s); loc != nil {
		s = s[:loc[0]+1]
	}
	if len(s) > maxDocLen {
		cut := strings.LastIndex(s[:maxDocLen], " ")
		if cut < maxDocLen/2 {
			cut = maxDocLen
		}
		s = strings.TrimRight(s[:cut], " ,;:") + "..."
	}
	return strings.ToValidUTF8(s, "")
}

// comment writes doc as a // comment line, or nothing when doc is empty.
func comment(doc string) string {
	s := firstSentence(doc)
	if s == "" {
		return ""
	}
	return "// " + s + "\n"
}
