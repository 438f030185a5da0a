package ecr

import (
	"encoding/json"
	"strings"
)

// checkPolicy reports whether text is an IAM policy document of the shape
// ECR accepts for repository and registry policies. ECR stores the text as
// given but refuses documents that are not JSON objects with well-formed
// statements; Berth checks the same structure so that a policy that AWS
// would refuse is refused here too (the policy is not enforced: Berth has
// no IAM principals to enforce it against).
//
// needPrincipal is set for resource policies, whose statements must name
// who they apply to.
func checkPolicy(text string, needPrincipal bool) bool {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return false
	}
	if dec.More() {
		return false
	}
	for k, v := range doc {
		switch k {
		case "Version":
			s, ok := v.(string)
			if !ok || (s != "2012-10-17" && s != "2008-10-17") {
				return false
			}
		case "Id":
			if _, ok := v.(string); !ok {
				return false
			}
		case "Statement":
		default:
			return false
		}
	}
	var stmts []any
	switch s := doc["Statement"].(type) {
	case []any:
		stmts = s
	case map[string]any:
		stmts = []any{s}
	default:
		return false
	}
	if len(stmts) == 0 {
		return false
	}
	sids := map[string]bool{}
	for _, raw := range stmts {
		st, ok := raw.(map[string]any)
		if !ok || !checkStatement(st, needPrincipal) {
			return false
		}
		if sid, ok := st["Sid"].(string); ok && sid != "" {
			if sids[sid] {
				return false
			}
			sids[sid] = true
		}
	}
	return true
}

func checkStatement(st map[string]any, needPrincipal bool) bool {
	for k := range st {
		switch k {
		case "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
			"Resource", "NotResource", "Condition":
		default:
			return false
		}
	}
	if sid, ok := st["Sid"]; ok {
		if _, isString := sid.(string); !isString {
			return false
		}
	}
	if e, _ := st["Effect"].(string); e != "Allow" && e != "Deny" {
		return false
	}
	if !exactlyOne(st, "Action", "NotAction") || !actionList(st["Action"], st["NotAction"]) {
		return false
	}
	_, hasP := st["Principal"]
	_, hasNP := st["NotPrincipal"]
	if hasP && hasNP {
		return false
	}
	if needPrincipal && !hasP && !hasNP {
		return false
	}
	for _, k := range []string{"Principal", "NotPrincipal"} {
		if p, ok := st[k]; ok && !principal(p) {
			return false
		}
	}
	for _, k := range []string{"Resource", "NotResource"} {
		if r, ok := st[k]; ok && !stringOrList(r) {
			return false
		}
	}
	if c, ok := st["Condition"]; ok {
		if _, isObj := c.(map[string]any); !isObj {
			return false
		}
	}
	return true
}

func exactlyOne(m map[string]any, a, b string) bool {
	_, hasA := m[a]
	_, hasB := m[b]
	return hasA != hasB
}

// actionList checks Action/NotAction: strings of the form "service:Action"
// (wildcards allowed) or "*".
func actionList(vals ...any) bool {
	for _, v := range vals {
		if v == nil {
			continue
		}
		var list []any
		switch a := v.(type) {
		case string:
			list = []any{a}
		case []any:
			list = a
		default:
			return false
		}
		if len(list) == 0 {
			return false
		}
		for _, e := range list {
			s, ok := e.(string)
			if !ok || s == "" {
				return false
			}
			if s != "*" && !strings.Contains(s, ":") {
				return false
			}
		}
	}
	return true
}

func principal(p any) bool {
	switch v := p.(type) {
	case string:
		return v == "*"
	case map[string]any:
		if len(v) == 0 {
			return false
		}
		for k, e := range v {
			switch k {
			case "AWS", "Service", "Federated", "CanonicalUser":
			default:
				return false
			}
			if !stringOrList(e) {
				return false
			}
		}
		return true
	}
	return false
}

func stringOrList(v any) bool {
	switch s := v.(type) {
	case string:
		return s != ""
	case []any:
		if len(s) == 0 {
			return false
		}
		for _, e := range s {
			if str, ok := e.(string); !ok || str == "" {
				return false
			}
		}
		return true
	}
	return false
}
