package eks

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// awsAuth is what the ConfigMap kube-system/aws-auth maps, read as
// aws-iam-authenticator (EKS's authenticator) reads it: its keys mapRoles,
// mapUsers and mapAccounts each hold a YAML document.
type awsAuth struct {
	Roles    []awsAuthMapping
	Users    []awsAuthMapping
	Accounts []string
}

// awsAuthMapping is one entry of mapRoles (ARN from rolearn) or mapUsers
// (from userarn).
type awsAuthMapping struct {
	ARN      string
	Username string
	Groups   []string
}

// parseAWSAuth reads the ConfigMap's data. Field names match in any case,
// as aws-iam-authenticator's YAML-through-JSON decoding lets them.
func parseAWSAuth(data map[string]string) (awsAuth, error) {
	var out awsAuth
	var errs []error
	for _, m := range []struct {
		key, arnField string
		dst           *[]awsAuthMapping
	}{{"mapRoles", "rolearn", &out.Roles}, {"mapUsers", "userarn", &out.Users}} {
		key, dst := m.key, m.dst
		raw := strings.TrimSpace(data[key])
		if raw == "" {
			continue
		}
		var doc any
		if err := yaml.Unmarshal([]byte(raw), &doc); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
			continue
		}
		js, err := json.Marshal(doc)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
			continue
		}
		var entries []struct {
			RoleARN  string   `json:"rolearn"`
			UserARN  string   `json:"userarn"`
			Username string   `json:"username"`
			Groups   []string `json:"groups"`
		}
		if err := json.Unmarshal(js, &entries); err != nil {
			errs = append(errs, fmt.Errorf("%s: want a list of {%s, username, groups}: %w", key, m.arnField, err))
			continue
		}
		for i, e := range entries {
			arn := e.RoleARN
			if key == "mapUsers" {
				arn = e.UserARN
			}
			if arn == "" {
				errs = append(errs, fmt.Errorf("%s[%d] has no %s", key, i, m.arnField))
				continue
			}
			*dst = append(*dst, awsAuthMapping{ARN: arn, Username: e.Username, Groups: e.Groups})
		}
	}
	if raw := strings.TrimSpace(data["mapAccounts"]); raw != "" {
		// Through yaml.Node, so that an unquoted 000000000000 stays the
		// account id rather than the number 0.
		var node yaml.Node
		err := yaml.Unmarshal([]byte(raw), &node)
		if err == nil && len(node.Content) == 1 && node.Content[0].Kind == yaml.SequenceNode {
			for _, n := range node.Content[0].Content {
				if n.Kind == yaml.ScalarNode {
					out.Accounts = append(out.Accounts, n.Value)
				}
			}
		} else if err == nil {
			err = errors.New("want a list of account ids")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("mapAccounts: %w", err))
		}
	}
	return out, errors.Join(errs...)
}

// iamPathPattern splits an IAM role ARN into what precedes the path and
// the name after it.
var iamPathPattern = regexp.MustCompile(`^(arn:aws[a-z-]*:iam::[0-9]{12}:role/)(?:.*/)?([^/]+)$`)

// stripRolePath drops the path of a role ARN (role/team/dev → role/dev):
// an assumed-role session names its role without the path, which is how
// EKS matches it.
func stripRolePath(arn string) string {
	if m := iamPathPattern.FindStringSubmatch(arn); m != nil {
		return m[1] + m[2]
	}
	return arn
}

// lookup finds the mapping of an IAM principal (an assumed-role session's
// role, see principalOf) of account: a mapRoles or mapUsers entry for its
// ARN (compared without case, and roles without their path), else, when
// the account is in mapAccounts, the principal's ARN as its username and
// no groups, as aws-iam-authenticator does.
func (a awsAuth) lookup(principal, account string) (awsAuthMapping, bool) {
	for _, m := range a.Roles {
		if strings.EqualFold(stripRolePath(m.ARN), stripRolePath(principal)) {
			return m, true
		}
	}
	for _, m := range a.Users {
		if strings.EqualFold(m.ARN, principal) {
			return m, true
		}
	}
	for _, acct := range a.Accounts {
		if acct == account {
			return awsAuthMapping{ARN: principal, Username: principal}, true
		}
	}
	return awsAuthMapping{}, false
}

// templateVars fill the placeholders of aws-auth usernames and groups.
type templateVars struct {
	AccountID   string
	SessionName string // raw, as STS has it
	AccessKeyID string
}

// render fills a username or group template. {{SessionName}} has "@"
// turned into "-" (user names from SSO sessions are email addresses) and
// {{SessionNameRaw}} is as is, as in aws-iam-authenticator.
// {{EC2PrivateDNSName}} names the EC2 instance of a node's session, which
// Berth's nodes do not have (they use the admin certificate), so it is
// refused rather than filled with something wrong.
func (v templateVars) render(tmpl string) (string, error) {
	if strings.Contains(tmpl, "{{EC2PrivateDNSName}}") {
		return "", fmt.Errorf("the template %q uses {{EC2PrivateDNSName}}, which Berth does not fill (its nodes have no EC2 instances)", tmpl)
	}
	out := strings.NewReplacer(
		"{{AccountID}}", v.AccountID,
		"{{SessionNameRaw}}", v.SessionName,
		"{{SessionName}}", strings.ReplaceAll(v.SessionName, "@", "-"),
		"{{AccessKeyID}}", v.AccessKeyID,
	).Replace(tmpl)
	if i := strings.Index(out, "{{"); i >= 0 && strings.Contains(out[i:], "}}") {
		return "", fmt.Errorf("the template %q has a placeholder Berth does not know", tmpl)
	}
	return out, nil
}
