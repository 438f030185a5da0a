package secrets

import (
	"slices"

	smapi "github.com/berth-dev/berth/api/secretsmanager"
)

var (
	policyKeys    = []string{"Version", "Id", "Statement"}
	statementKeys = []string{"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)

func malformed(why string) error {
	return smapi.NewMalformedPolicyDocumentException("This resource policy contains a syntax error: %s", why)
}

// checkGrammar applies the IAM policy grammar AWS checks a resource
// policy against: known elements only, a Statement, and in each statement
// an Effect of Allow or Deny and an Action or NotAction.
func checkGrammar(doc map[string]any) error {
	for k := range doc {
		if !slices.Contains(policyKeys, k) {
			return malformed("unknown policy element " + k + ".")
		}
	}
	var stmts []any
	switch st := doc["Statement"].(type) {
	case []any:
		stmts = st
	case map[string]any:
		stmts = []any{st}
	case nil:
		return malformed("the policy has no Statement.")
	default:
		return malformed("Statement must be an object or an array of objects.")
	}
	if len(stmts) == 0 {
		return malformed("the policy has no Statement.")
	}
	for _, raw := range stmts {
		st, ok := raw.(map[string]any)
		if !ok {
			return malformed("Statement must be an object or an array of objects.")
		}
		for k := range st {
			if !slices.Contains(statementKeys, k) {
				return malformed("unknown statement element " + k + ".")
			}
		}
		if e, _ := st["Effect"].(string); e != "Allow" && e != "Deny" {
			return malformed("each statement needs an Effect of Allow or Deny.")
		}
		_, a := st["Action"]
		_, na := st["NotAction"]
		if a == na {
			return malformed("each statement needs exactly one of Action and NotAction.")
		}
	}
	return nil
}
