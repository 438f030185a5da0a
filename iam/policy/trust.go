package policy

import (
	"path"
	"strings"
)

// Caller is who asks to assume a role.
type Caller struct {
	// Account is the caller's account.
	Account string
	// ARN is the caller's principal: arn:aws:iam::<acct>:root for
	// long-term keys, the assumed-role ARN for session credentials.
	ARN string
	// Service is set instead when an AWS service assumes the role for a
	// resource (ecs-tasks.amazonaws.com for a task role).
	Service string
	// Federated is set instead for a web identity: the ARN of the IAM
	// OIDC provider that vouched for it
	// (arn:aws:iam::<acct>:oidc-provider/<host/path>).
	Federated string
	// Context holds the request's condition keys (such as
	// oidc.example.com/id/1:sub) and their values. When it is nil,
	// statements' conditions are not evaluated, as Berth has always done
	// for AssumeRole and service principals; when it is set, a statement
	// matches only if its conditions hold (see Condition keys, below).
	Context map[string][]string
}

// RootARN is the principal ARN of an account.
func RootARN(account string) string { return "arn:aws:iam::" + account + ":root" }

// Allows reports whether the document lets caller perform action (such
// as sts:AssumeRole): some Allow statement matches and no Deny statement
// does. Conditions are evaluated only when the caller has a Context. A
// principal matches when it is:
//
//   - "*", or {"AWS": "*"} for any caller that is not a service;
//   - the caller's account, as "123456789012" or its root ARN;
//   - the caller's ARN itself;
//   - a role ARN, for sessions of that role (assumed-role/<name>/...);
//   - an IAM user ARN of the caller's account, for long-term keys: Berth
//     has no IAM users, so a key stands for any user of its account;
//   - {"Service": "<name>"} for that service only;
//   - {"Federated": "<provider ARN>"} for web identities of that provider
//     only.
func (d *Document) Allows(action string, c Caller) bool {
	allowed := false
	for _, st := range d.Statements {
		if !st.matchesAction(action) || !st.matchesCaller(c) {
			continue
		}
		if c.Context != nil && !conditionsHold(st.Condition, c.Context) {
			continue
		}
		if st.Effect == "Deny" {
			return false
		}
		allowed = true
	}
	return allowed
}

func (st Statement) matchesAction(action string) bool {
	if st.NotAction != nil {
		return !anyGlob(st.NotAction, action)
	}
	return anyGlob(st.Action, action)
}

func anyGlob(patterns []string, s string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(s)); ok {
			return true
		}
	}
	return false
}

func (st Statement) matchesCaller(c Caller) bool {
	if st.NotPrincipal != nil {
		return !st.NotPrincipal.matches(c)
	}
	return st.Principal != nil && st.Principal.matches(c)
}

func (p *Principal) matches(c Caller) bool {
	if p.Any {
		return true
	}
	if c.Federated != "" {
		for _, f := range p.Federated {
			if strings.EqualFold(f, c.Federated) {
				return true
			}
		}
		return false
	}
	if c.Service != "" {
		for _, s := range p.Service {
			if s == c.Service {
				return true
			}
		}
		return false
	}
	for _, a := range p.AWS {
		if awsMatches(a, c) {
			return true
		}
	}
	return false
}

func awsMatches(entry string, c Caller) bool {
	switch {
	case entry == "*", entry == c.Account, entry == RootARN(c.Account), entry == c.ARN:
		return true
	}
	prefix := "arn:aws:iam::" + c.Account + ":"
	if !strings.HasPrefix(entry, prefix) {
		return false
	}
	resource := strings.TrimPrefix(entry, prefix)
	switch {
	case strings.HasPrefix(resource, "role/"):
		name := resource[strings.LastIndex(resource, "/")+1:]
		return strings.HasPrefix(c.ARN, "arn:aws:sts::"+c.Account+":assumed-role/"+name+"/")
	case strings.HasPrefix(resource, "user/"):
		return c.ARN == RootARN(c.Account)
	}
	return false
}
