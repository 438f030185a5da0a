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
	"strconv"
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
	msgTrustAction  = "AssumeRole policy may only specify STS AssumeRole actions."
)

// trustActions are the STS actions a trust policy may grant (lower case).
var trustActions = map[string]bool{
	"sts:assumerole": true, "sts:assumerolewithsaml": true, "sts:assumerolewithwebidentity": true,
	"sts:tagsession": true, "sts:setsourceidentity": true, "sts:setcontext": true,
}

// trustAction reports whether a names, or by wildcard covers, an action
// a trust policy may grant.
func trustAction(a string) bool {
	for t := range trustActions {
		if anyGlob([]string{a}, t) {
			return true
		}
	}
	return false
}

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
	actionVendor = regexp.MustCompile(`^[A-Za-z0-9.-]+$`)
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
	if msg := d.check(kind); msg != "" {
		return nil, malformed("%s", msg)
	}
	return d, nil
}

// check runs IAM's checks on the statements in IAM's order: an Effect
// in the wrong case, dates and ARNs IAM cannot parse, then duplicate Sids,
// then missing actions, then
// the first malformed resource, then malformed actions, then missing
// resources or principals. That order decides which message a document
// with several problems gets.
func (d *Document) check(kind Kind) string {
	for _, st := range d.Statements {
		if st.Effect != "Allow" && st.Effect != "Deny" {
			return msgLegacy
		}
		for op, keys := range st.Condition {
			if !strings.HasPrefix(baseOperator(op), "Date") {
				continue
			}
			for _, values := range keys {
				if slices.ContainsFunc(values, legacyDate) {
					return msgLegacy
				}
			}
		}
	}
	// IAM keeps the last malformed resource it meets (Resource elements
	// before NotResource ones, a list's entries in reverse order), and
	// parses a statement's ARNs the legacy way only while none is.
	resourceMsg := ""
	for _, not := range []bool{false, true} {
		for _, st := range d.Statements {
			list := st.Resource
			if not {
				list = st.NotResource
			}
			sorted := slices.Clone(list)
			slices.Sort(sorted)
			slices.Reverse(sorted)
			for _, r := range sorted {
				if msg := resourceError(r); msg != "" {
					resourceMsg = msg
				}
			}
			if resourceMsg == "" && slices.ContainsFunc(list, legacyUnparsable) {
				return msgLegacy
			}
		}
	}
	sids := map[string]bool{}
	for _, st := range d.Statements {
		if st.Sid != "" && sids[st.Sid] {
			return "Statement IDs (SID) in a single policy must be unique."
		}
		sids[st.Sid] = true
	}
	for _, st := range d.Statements {
		if len(st.Action) == 0 && len(st.NotAction) == 0 {
			return msgNoActions
		}
	}
	if resourceMsg != "" {
		return resourceMsg
	}
	for _, not := range []bool{false, true} {
		for _, st := range d.Statements {
			list := st.Action
			if not {
				list = st.NotAction
			}
			for _, a := range list {
				if msg := actionError(a); msg != "" {
					return msg
				}
			}
		}
	}
	for _, st := range d.Statements {
		if kind == Identity && len(st.Resource) == 0 && len(st.NotResource) == 0 {
			return msgNoResources
		}
		if kind == Trust && st.Principal == nil && st.NotPrincipal == nil {
			return msgNoPrincipal
		}
	}
	if kind == Trust {
		for _, st := range d.Statements {
			for _, a := range st.Action {
				// A trust policy only governs assuming the role, so IAM
				// refuses any other service's action in it.
				if !trustAction(a) {
					return msgTrustAction
				}
			}
		}
	}
	return ""
}

// legacyDate reports whether a Date condition's value is one IAM's
// legacy parser refuses: neither an ISO 8601 date-time nor epoch seconds.
func legacyDate(v string) bool {
	if strings.Contains(v, "${") {
		// A policy variable is resolved when the policy is evaluated.
		return false
	}
	l := strings.ToLower(v)
	if !strings.ContainsAny(l, "t-") {
		n, err := strconv.ParseInt(v, 10, 64)
		return err != nil || n < 0
	}
	date, clock, _ := strings.Cut(l, "t")
	neg := strings.HasPrefix(date, "-")
	dp := strings.Split(strings.TrimPrefix(date, "-"), "-")
	if neg {
		dp[0] = "-" + dp[0]
	}
	bad := func(s string, lo, hi int) bool {
		n, err := strconv.Atoi(s)
		return err != nil || n < lo || n > hi
	}
	if bad(dp[0], -292275054, 292278993) || len(dp) > 3 ||
		(len(dp) > 1 && bad(dp[1], 1, 12)) || (len(dp) > 2 && bad(dp[2], 1, 31)) {
		return true
	}
	tp := strings.Split(clock, ":")
	if (tp[0] != "" && bad(tp[0], 0, 23)) || (len(tp) > 1 && bad(tp[1], 0, 59)) {
		return true
	}
	if len(tp) < 3 {
		return false
	}
	sec := tp[2]
	if before, after, ok := strings.Cut(sec, "z"); ok {
		if after != "" {
			return true
		}
		sec = before
	} else if before, zone, ok := strings.Cut(sec, "+"); ok {
		hours, minutes, hasMinutes := strings.Cut(zone, ":")
		if len(hours) != 2 || bad(hours, 0, 23) || (hasMinutes && (len(minutes) != 2 || bad(minutes, 0, 59))) {
			return true
		}
		sec = before
	}
	whole, frac, hasFrac := strings.Cut(sec, ".")
	return bad(whole, 0, 59) || (hasFrac && bad(frac, 0, 999999999))
}

// iamResourcePaths are the resource types an IAM ARN in a policy may name.
var iamResourcePaths = []string{"user/", "federated-user/", "role/", "group/", "instance-profile/", "mfa/", "server-certificate/", "policy/", "sms-mfa/", "saml-provider/", "oidc-provider/", "report/", "access-report/"}

func knownPartition(p string) bool { return p == "*" || p == "aws" || strings.HasPrefix(p, "aws-") }

// legacyUnparsable is an ARN IAM's older parser refuses: one with an empty
// part but fewer than six parts, or with no service.
func legacyUnparsable(r string) bool {
	if r == "*" {
		return false
	}
	parts := strings.Split(r, ":")
	return (len(parts) < 6 && strings.Contains(r, "::")) || len(parts) < 3 || parts[2] == ""
}

// resourceError is IAM's message for a resource that is not an ARN it
// accepts, or "". IAM takes whatever precedes the first colon for "arn".
func resourceError(r string) string {
	if r == "*" {
		return ""
	}
	_, rest, ok := strings.Cut(r, ":")
	if !ok {
		return fmt.Sprintf("Resource %s must be in ARN format or \"*\".", r)
	}
	partition, rest, hasService := strings.Cut(rest, ":")
	if !knownPartition(partition) {
		// IAM names the resource as it understood it, "*" filling the
		// parts that are missing.
		full := []string{"*", "*", "*", "*"}
		if rest != "" || hasService {
			copy(full, strings.SplitN(rest, ":", 4))
		}
		return fmt.Sprintf("Partition \"%s\" is not valid for resource \"arn:%s:%s\".", partition, partition, strings.Join(full, ":"))
	}
	if !hasService {
		return "Resource vendor must be fully qualified and cannot contain regexes."
	}
	service, rest, _ := strings.Cut(rest, ":")
	if service != "iam" {
		return ""
	}
	// IAM is global: its ARNs have no region.
	if !strings.HasPrefix(rest, ":") {
		return fmt.Sprintf("IAM resource %s cannot contain region information.", r)
	}
	path := ""
	if parts := strings.SplitN(rest, ":", 3); len(parts) == 3 {
		path = parts[2]
	}
	if !strings.HasPrefix(path, "*") && path != "root" && !slices.ContainsFunc(iamResourcePaths, func(p string) bool { return strings.HasPrefix(path, p) }) {
		return "IAM resource path must either be \"*\", root, or start with " + strings.Join(iamResourcePaths, ", ") + "."
	}
	return ""
}

// actionError is IAM's message for an action that is not vendor:name, or "".
func actionError(a string) string {
	if a == "*" {
		return ""
	}
	parts := strings.Split(a, ":")
	switch {
	case len(parts) == 1:
		return msgActionVendor
	case len(parts) > 2:
		return "Actions/Condition can contain only one colon."
	case parts[0] != "*" && !actionVendor.MatchString(parts[0]):
		return fmt.Sprintf("Vendor %s is not valid", parts[0])
	}
	return ""
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
			// Allow and Deny in another case are well-formed; IAM refuses
			// them later, as legacy parsing (Document.check).
			if json.Unmarshal(v, &st.Effect) != nil || (!strings.EqualFold(st.Effect, "Allow") && !strings.EqualFold(st.Effect, "Deny")) {
				return st, malformed(msgSyntax)
			}
		case "Action", "NotAction":
			list, ok := strings0(v)
			if !ok {
				return st, malformed(msgSyntax)
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
			list, ok := strings0(v)
			if !ok {
				return st, malformed(msgSyntax)
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
	_, action := m["Action"]
	_, notAction := m["NotAction"]
	_, resource := m["Resource"]
	_, notResource := m["NotResource"]
	switch {
	case action && notAction, resource && notResource:
		return st, malformed(msgSyntax)
	case st.Effect == "":
		return st, malformed(msgNoEffect)
	}
	// Missing actions, resources and principals are checked over the
	// whole document, in IAM's order (Document.check).
	return st, nil
}

// strings0 reads a string or a list of strings, possibly empty (which
// IAM reports as the element missing).
func strings0(raw json.RawMessage) ([]string, bool) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, true
	}
	var many []string
	if json.Unmarshal(raw, &many) != nil {
		return nil, false
	}
	return many, true
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

// conditionOperators are the condition operators IAM accepts, without
// their ForAnyValue:/ForAllValues: prefix and IfExists suffix.
var conditionOperators = map[string]bool{}

func init() {
	for _, op := range strings.Fields(`StringEquals StringNotEquals StringEqualsIgnoreCase StringNotEqualsIgnoreCase
		StringLike StringNotLike NumericEquals NumericNotEquals NumericLessThan NumericLessThanEquals
		NumericGreaterThan NumericGreaterThanEquals DateEquals DateNotEquals DateLessThan DateLessThanEquals
		DateGreaterThan DateGreaterThanEquals Bool BinaryEquals IpAddress NotIpAddress ArnEquals ArnLike
		ArnNotEquals ArnNotLike Null`) {
		conditionOperators[op] = true
	}
}

// baseOperator strips one set-operator prefix and the IfExists suffix.
func baseOperator(op string) string {
	for _, p := range []string{"ForAnyValue:", "ForAllValues:"} {
		if s, ok := strings.CutPrefix(op, p); ok {
			op = s
			break
		}
	}
	op, _ = strings.CutSuffix(op, "IfExists")
	return op
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
		// IAM refuses an operator it does not know unless it names no keys.
		if len(keys) > 0 && !conditionOperators[baseOperator(op)] {
			return nil, malformed(msgSyntax)
		}
		out[op] = make(map[string][]string, len(keys))
		for k, v := range keys {
			var list []json.RawMessage
			if json.Unmarshal(v, &list) != nil {
				list = []json.RawMessage{v}
			}
			vals := make([]string, 0, len(list))
			for _, e := range list {
				if t := bytes.TrimSpace(e); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
					return nil, malformed(msgSyntax)
				}
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
