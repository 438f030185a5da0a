package policy

import (
	"strings"

	"github.com/berth-dev/berth/awsapi/wildcard"
)

// conditionsHold reports whether every condition of a statement holds in
// ctx, as IAM evaluates them: operators are ANDed, keys within an
// operator are ANDed, the values of one key are ORed. Keys are matched
// without regard to case. An operator Berth does not know never holds, so
// a statement using one grants nothing rather than too much.
//
// Supported: StringEquals, StringNotEquals, StringEqualsIgnoreCase,
// StringNotEqualsIgnoreCase, StringLike, StringNotLike, each also with
// the IfExists suffix and the ForAnyValue: / ForAllValues: prefixes, and
// Null.
func conditionsHold(cond map[string]map[string][]string, ctx map[string][]string) bool {
	lower := make(map[string][]string, len(ctx))
	for k, v := range ctx {
		lower[strings.ToLower(k)] = v
	}
	for op, keys := range cond {
		for key, want := range keys {
			have, present := lower[strings.ToLower(key)]
			if !operatorHolds(op, have, present, want) {
				return false
			}
		}
	}
	return true
}

func operatorHolds(op string, have []string, present bool, want []string) bool {
	if op == "Null" {
		// {"Null": {"k": "true"}} holds when k is absent.
		for _, w := range want {
			if strings.EqualFold(w, "true") == !present {
				return true
			}
		}
		return false
	}
	set := ""
	switch {
	case strings.HasPrefix(op, "ForAnyValue:"):
		set, op = "any", strings.TrimPrefix(op, "ForAnyValue:")
	case strings.HasPrefix(op, "ForAllValues:"):
		set, op = "all", strings.TrimPrefix(op, "ForAllValues:")
	}
	ifExists := strings.HasSuffix(op, "IfExists")
	op = strings.TrimSuffix(op, "IfExists")
	match, negated, ok := stringOperator(op)
	if !ok {
		return false
	}
	if !present || len(have) == 0 {
		switch {
		case set == "all":
			return true // vacuously: every one of no values matches
		case set == "any":
			return false
		case ifExists:
			return true
		}
		// A negated operator holds for a missing key, as in IAM.
		return negated
	}
	matchesOne := func(v string) bool {
		for _, w := range want {
			if match(v, w) {
				return true
			}
		}
		return false
	}
	if set == "all" {
		for _, v := range have {
			if matchesOne(v) == negated {
				return false
			}
		}
		return true
	}
	// ForAnyValue, and single-valued keys: some value of the request
	// matches (for a negated operator: none does).
	for _, v := range have {
		if matchesOne(v) {
			return !negated
		}
	}
	return negated
}

// stringOperator is the comparison of a string condition operator, and
// whether the operator negates it.
func stringOperator(op string) (match func(have, want string) bool, negated, ok bool) {
	equals := func(h, w string) bool { return h == w }
	fold := strings.EqualFold
	switch op {
	case "StringEquals":
		return equals, false, true
	case "StringNotEquals":
		return equals, true, true
	case "StringEqualsIgnoreCase":
		return fold, false, true
	case "StringNotEqualsIgnoreCase":
		return fold, true, true
	case "StringLike":
		return like, false, true
	case "StringNotLike":
		return like, true, true
	}
	return nil, false, false
}

// like matches IAM's wildcards: * any run of characters, slashes
// included, and ? one character.
func like(have, pattern string) bool {
	return wildcard.Match([]rune(pattern), []rune(have))
}
