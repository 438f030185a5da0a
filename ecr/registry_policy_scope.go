package ecr

import (
	"encoding/json"
	"strings"

	"github.com/berth-dev/berth/awsapi/wildcard"
)

// registryPolicyV1Actions are the only actions a registry policy may name
// while the account's REGISTRY_POLICY_SCOPE is V1; AWS refuses any other.
var registryPolicyV1Actions = []string{"ecr:replicateimage", "ecr:batchimportupstreamimage", "ecr:createrepository"}

// fitsV1Scope tells whether every action of a (syntactically valid)
// registry policy is one V1 allows. A wildcard such as ecr:* is accepted
// when it covers one of them, as AWS accepts ecr:* under V1.
func fitsV1Scope(text string) bool {
	var doc struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		return false
	}
	var stmts []map[string]json.RawMessage
	if err := json.Unmarshal(doc.Statement, &stmts); err != nil {
		var one map[string]json.RawMessage
		if err := json.Unmarshal(doc.Statement, &one); err != nil {
			return false
		}
		stmts = append(stmts, one)
	}
	for _, st := range stmts {
		if _, ok := st["NotAction"]; ok {
			// NotAction grants everything it does not name.
			return false
		}
		var actions []string
		if err := json.Unmarshal(st["Action"], &actions); err != nil {
			var a string
			if err := json.Unmarshal(st["Action"], &a); err != nil {
				return false
			}
			actions = []string{a}
		}
		for _, a := range actions {
			pat := strings.ToLower(a)
			ok := false
			for _, allowed := range registryPolicyV1Actions {
				ok = ok || wildcard.Match([]byte(pat), []byte(allowed))
			}
			if !ok {
				return false
			}
		}
	}
	return true
}
