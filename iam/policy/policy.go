// Package policy reads IAM policy documents: it checks them the way IAM
// does when a policy is stored (MalformedPolicyDocument with IAM's
// messages) and answers the one question Berth evaluates, whether a role's
// trust policy lets a caller assume it. Permissions policies are stored
// and returned but not enforced.
package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Kind is what a document is for; it decides which elements it must and
// must not have.
type Kind int

const (
	// Identity is a permissions policy (inline or managed): Action and
	// Resource, no Principal.
	Identity Kind = iota
	// Trust is a role's trust policy: Principal and Action, no Resource.
	Trust
)

// Error is a document IAM would refuse; Message is IAM's wording.
type Error struct{ Message string }

func (e *Error) Error() string { return e.Message }

func malformed(format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...)}
}

// IAM's messages for documents it refuses.
const (
	msgInvalidJSON  = "This policy contains invalid Json"
	msgSyntax       = "Syntax errors in policy."
	msgLegacy       = "The policy failed legacy parsing"
	msgNoActions    = "Policy statement must contain actions."
	msgNoResources  = "Policy statement must contain resources."
	msgHasPrincipal = "Policy document should not specify a principal."
	msgActionVendor = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
	msgNoEffect     = "Missing required field Effect"
	msgNoPrincipal  = "Missing required field Principal"
	msgProhibited   = "Has prohibited field %s"
)

// Document is a parsed policy.
type Document struct {
	Version    string
	Statements []Statement
}

// Statement is one statement; list elements are normalised to lists.
type Statement struct {
	Sid          string
	Effect       string // Allow or Deny
	Principal    *Principal
	NotPrincipal *Principal
	Action       []string
	NotAction    []string
	Resource     []string
	NotResource  []string
	// Condition is operator → key → values, values as strings (numbers
	// and booleans as JSON writes them).
	Condition map[string]map[string][]string
}

// Principal is a statement's Principal or NotPrincipal: "*" (Any) or
// lists of principals by type.
type Principal struct {
	Any       bool
	AWS       []string
	Service   []string
	Federated []string
}

var (
	vendorAction = regexp.MustCompile(`^[A-Za-z0-9-]+:[A-Za-z0-9*?]*$`)
	awsAccount   = regexp.MustCompile(`^[0-9]{12}$`)
	principalARN = regexp.MustCompile(`^arn:aws[a-z-]*:(iam|sts)::([0-9]{12}|aws):.+$`)
)

// Parse checks doc as a policy of the given kind and returns it parsed.
// A document IAM would refuse is an *Error.
func Parse(doc string, kind Kind) (*Document, error) {
	top, err := object([]byte(doc))
	if err != nil {
		return nil, malformed(msgInvalidJSON)
	}
	d := &Document{}
	for _, k := range sortedKeys(top, "Version", "Id", "Statement") {
		raw := top[k]
		switch k {
		case "Version":
			if err := json.Unmarshal(raw, &d.Version); err != nil || (d.Version != "2012-10-17" && d.Version != "2008-10-17") {
				return nil, malformed(msgLegacy)
			}
		case "Id":
			var id string
			if json.Unmarshal(raw, &id) != nil {
				return nil, malformed(msgSyntax)
			}
		case "Statement":
		default:
			return nil, malformed(msgSyntax)
		}
	}
	raw, ok := top["Statement"]
	if !ok {
		return nil, malformed(msgSyntax)
	}
	var list []json.RawMessage
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("[")) {
		if json.Unmarshal(raw, &list) != nil || len(list) == 0 {
			return nil, malformed(msgSyntax)
		}
	} else {
		list = []json.RawMessage{raw}
	}
	for _, r := range list {
		st, err := statement(r, kind)
		if err != nil {
			return nil, err
		}
		d.Statements = append(d.Statements, st)
	}
	return d, nil
}

// statementKeys are a statement's elements in the order they are checked,
// so that a document with several problems always gets the same message.
var statementKeys = []string{"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"}

// sortedKeys lists m's unknown keys first (each is an error), then the
// known ones present, in the order given.
func sortedKeys(m map[string]json.RawMessage, known ...string) []string {
	var out []string
	for k := range m {
		if !slices.Contains(known, k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	for _, k := range known {
		if _, ok := m[k]; ok {
			out = append(out, k)
		}
	}
	return out
}

// object decodes a JSON object, refusing anything after it.
func object(data []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var m map[string]json.RawMessage
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	if dec.More() {
		return nil, fmt.Errorf("data after the object")
	}
	return m, nil
}

func statement(raw json.RawMessage, kind Kind) (Statement, error) {
	var st Statement
	m, err := object(raw)
	if err != nil {
		return st, malformed(msgSyntax)
	}
	for _, k := range sortedKeys(m, statementKeys...) {
		v := m[k]
		switch k {
		case "Sid":
			if json.Unmarshal(v, &st.Sid) != nil {
				return st, malformed(msgSyntax)
			}
		case "Effect":
			if json.Unmarshal(v, &st.Effect) != nil || (st.Effect != "Allow" && st.Effect != "Deny") {
				return st, malformed(msgSyntax)
			}
		case "Action", "NotAction":
			list, ok := strings1(v)
			if !ok {
				return st, malformed(msgSyntax)
			}
			for _, a := range list {
				if a != "*" && !vendorAction.MatchString(a) {
					return st, malformed(msgActionVendor)
				}
			}
			if k == "Action" {
				st.Action = list
			} else {
				st.NotAction = list
			}
		case "Resource", "NotResource":
			if kind == Trust {
				return st, malformed(msgProhibited, k)
			}
			list, ok := strings1(v)
			if !ok {
				return st, malformed(msgSyntax)
			}
			for _, r := range list {
				if r != "*" && !strings.HasPrefix(r, "arn:") {
					return st, malformed("Resource %s must be in ARN format or \"*\".", r)
				}
			}
			if k == "Resource" {
				st.Resource = list
			} else {
				st.NotResource = list
			}
		case "Principal", "NotPrincipal":
			if kind == Identity {
				return st, malformed(msgHasPrincipal)
			}
			p, err := principal(v)
			if err != nil {
				return st, err
			}
			if k == "Principal" {
				st.Principal = p
			} else {
				st.NotPrincipal = p
			}
		case "Condition":
			c, err := condition(v)
			if err != nil {
				return st, err
			}
			st.Condition = c
		default:
			return st, malformed(msgSyntax)
		}
	}
	switch {
	case st.Effect == "":
		return st, malformed(msgNoEffect)
	case st.Action == nil && st.NotAction == nil, st.Action != nil && st.NotAction != nil:
		return st, malformed(msgNoActions)
	case kind == Identity && st.Resource == nil && st.NotResource == nil:
		return st, malformed(msgNoResources)
	case kind == Trust && st.Principal == nil && st.NotPrincipal == nil:
		return st, malformed(msgNoPrincipal)
	}
	return st, nil
}

// strings1 reads a string or a non-empty list of strings.
func strings1(raw json.RawMessage) ([]string, bool) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, true
	}
	var many []string
	if json.Unmarshal(raw, &many) != nil || len(many) == 0 {
		return nil, false
	}
	return many, true
}

func principal(raw json.RawMessage) (*Principal, error) {
	var star string
	if json.Unmarshal(raw, &star) == nil {
		if star != "*" {
			return nil, malformed("Invalid principal in policy: %s", strings.TrimSpace(string(raw)))
		}
		return &Principal{Any: true}, nil
	}
	m, err := object(raw)
	if err != nil || len(m) == 0 {
		return nil, malformed(msgSyntax)
	}
	p := &Principal{}
	for k, v := range m {
		list, ok := strings1(v)
		if !ok {
			return nil, malformed(msgSyntax)
		}
		for _, e := range list {
			bad := e == ""
			if k == "AWS" {
				bad = e != "*" && !awsAccount.MatchString(e) && !principalARN.MatchString(e)
			}
			if bad {
				return nil, malformed("Invalid principal in policy: \"%s\":\"%s\"", k, e)
			}
		}
		switch k {
		case "AWS":
			p.AWS = list
		case "Service":
			p.Service = list
		case "Federated":
			p.Federated = list
		case "CanonicalUser":
		default:
			return nil, malformed("Invalid principal in policy: \"%s\"", k)
		}
	}
	return p, nil
}

// condition reads a Condition block. A value is a string, number or
// boolean, or a list of them.
func condition(raw json.RawMessage) (map[string]map[string][]string, error) {
	var c map[string]map[string]json.RawMessage
	if json.Unmarshal(raw, &c) != nil {
		return nil, malformed(msgSyntax)
	}
	out := make(map[string]map[string][]string, len(c))
	for op, keys := range c {
		out[op] = make(map[string][]string, len(keys))
		for k, v := range keys {
			var list []json.RawMessage
			if json.Unmarshal(v, &list) != nil {
				list = []json.RawMessage{v}
			}
			vals := make([]string, 0, len(list))
			for _, e := range list {
				var s string
				if json.Unmarshal(e, &s) != nil {
					// Numbers and booleans compare as their JSON text.
					s = strings.TrimSpace(string(e))
				}
				vals = append(vals, s)
			}
			out[op][k] = vals
		}
	}
	return out, nil
}

// Size is a document's length as IAM counts it against its quotas:
// whitespace does not count.
func Size(doc string) int {
	n := 0
	for _, r := range doc {
		switch r {
		case ' ', '\t', '\n', '\r':
		default:
			n++
		}
	}
	return n
}
