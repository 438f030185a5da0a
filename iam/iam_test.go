package iam_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	iamapi "github.com/berth-dev/berth/api/iam"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/iam"
	"github.com/berth-dev/berth/store/sqlite"
)

const trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

const s3Read = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"*"}]}`

type fixture struct {
	t   *testing.T
	svc *iam.Service
	qs  *awsapi.QueryService
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := iam.New(iam.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, svc: svc, qs: iamapi.NewQueryService(svc)}
}

// reply is an operation's result element, flattened: element paths below
// the result (Role/RoleName, Roles/member/RoleName) to their texts.
type reply map[string][]string

func (r reply) get(path string) string {
	if v := r[path]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// call runs op as account acct with params given as key, value, ...
func (f *fixture) call(acct, op string, kv ...string) (reply, *awsapi.Error) {
	f.t.Helper()
	params := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		params.Add(kv[i], kv[i+1])
	}
	ctx := awsapi.WithIdentity(context.Background(), awsapi.Identity{AccountID: acct, Region: "us-east-1"})
	out, err := f.qs.Operations[op](ctx, params)
	if err != nil {
		e := awsapi.AsError(err)
		if e == nil {
			f.t.Fatalf("%s: not an AWS error: %v", op, err)
		}
		return nil, e
	}
	r := reply{}
	dec := xml.NewDecoder(strings.NewReader(string(out)))
	var path []string
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			path = append(path, tok.Name.Local)
		case xml.EndElement:
			path = path[:len(path)-1]
		case xml.CharData:
			if len(path) > 1 {
				k := strings.Join(path[1:], "/")
				r[k] = append(r[k], string(tok))
			}
		}
	}
	return r, nil
}

func (f *fixture) must(acct, op string, kv ...string) reply {
	f.t.Helper()
	r, err := f.call(acct, op, kv...)
	if err != nil {
		f.t.Fatalf("%s: %v", op, err)
	}
	return r
}

func (f *fixture) fails(code, message, acct, op string, kv ...string) {
	f.t.Helper()
	_, err := f.call(acct, op, kv...)
	if err == nil || err.Code != code || (message != "" && err.Message != message) {
		f.t.Errorf("%s %v: got %v, want %s: %s", op, kv, err, code, message)
	}
}

const acct = "111111111111"

func TestRoleLifecycle(t *testing.T) {
	f := newFixture(t)
	r := f.must(acct, "CreateRole", "RoleName", "app", "Path", "/svc/", "AssumeRolePolicyDocument", trust,
		"Description", "the app", "MaxSessionDuration", "7200", "Tags.member.1.Key", "team", "Tags.member.1.Value", "a")
	id := r.get("Role/RoleId")
	if len(id) != 21 || !strings.HasPrefix(id, "AROA") {
		t.Errorf("RoleId %q, want AROA and 21 characters", id)
	}
	if got := r.get("Role/Arn"); got != "arn:aws:iam::111111111111:role/svc/app" {
		t.Errorf("Arn %q", got)
	}
	if got, _ := url.QueryUnescape(r.get("Role/AssumeRolePolicyDocument")); got != trust {
		t.Errorf("AssumeRolePolicyDocument %q is not the URL-encoded document", r.get("Role/AssumeRolePolicyDocument"))
	}
	// AWS's CreateRole answer leaves out the description and session duration.
	if r.get("Role/Tags/member/Key") != "team" || r.get("Role/MaxSessionDuration") != "" || r.get("Role/Description") != "" {
		t.Errorf("create: %v", r)
	}

	// Names are unique regardless of case, and found regardless of case.
	f.fails("EntityAlreadyExists", "Role with name app already exists.", acct, "CreateRole", "RoleName", "APP", "AssumeRolePolicyDocument", trust)
	if got := f.must(acct, "GetRole", "RoleName", "App").get("Role/RoleId"); got != id {
		t.Errorf("GetRole App: %q", got)
	}
	// Another account does not see it.
	f.fails("NoSuchEntity", "The role with name app cannot be found.", "222222222222", "GetRole", "RoleName", "app")

	f.must(acct, "UpdateRole", "RoleName", "app", "Description", "new", "MaxSessionDuration", "3600")
	f.must(acct, "UpdateAssumeRolePolicy", "RoleName", "app", "PolicyDocument", strings.ReplaceAll(trust, "ecs-tasks", "lambda"))
	g := f.must(acct, "GetRole", "RoleName", "app")
	if g.get("Role/Description") != "new" || g.get("Role/MaxSessionDuration") != "3600" || !strings.Contains(g.get("Role/AssumeRolePolicyDocument"), "lambda") {
		t.Errorf("after updates: %v", g)
	}

	f.must(acct, "TagRole", "RoleName", "app", "Tags.member.1.Key", "TEAM", "Tags.member.1.Value", "b", "Tags.member.2.Key", "env", "Tags.member.2.Value", "dev")
	tags := f.must(acct, "ListRoleTags", "RoleName", "app")
	if strings.Join(tags["Tags/member/Key"], ",") != "TEAM,env" || strings.Join(tags["Tags/member/Value"], ",") != "b,dev" {
		t.Errorf("tags: %v", tags)
	}
	f.must(acct, "UntagRole", "RoleName", "app", "TagKeys.member.1", "team")
	if got := f.must(acct, "ListRoleTags", "RoleName", "app")["Tags/member/Key"]; strings.Join(got, ",") != "env" {
		t.Errorf("after untag: %v", got)
	}
	f.fails("InvalidInput", "", acct, "TagRole", "RoleName", "app", "Tags.member.1.Key", "a", "Tags.member.1.Value", "1", "Tags.member.2.Key", "A", "Tags.member.2.Value", "2")

	f.must(acct, "DeleteRole", "RoleName", "app")
	f.fails("NoSuchEntity", "", acct, "DeleteRole", "RoleName", "app")
}

func TestCreateRoleRefuses(t *testing.T) {
	f := newFixture(t)
	f.fails("MalformedPolicyDocument", "This policy contains invalid Json", acct, "CreateRole", "RoleName", "x", "AssumeRolePolicyDocument", "{nope")
	f.fails("MalformedPolicyDocument", "Has prohibited field Resource", acct, "CreateRole", "RoleName", "x",
		"AssumeRolePolicyDocument", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}}`)
	f.fails("ValidationError", "1 validation error detected: Value 'bad name' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+",
		acct, "CreateRole", "RoleName", "bad name", "AssumeRolePolicyDocument", trust)
	f.fails("ValidationError", "1 validation error detected: Value 'svc' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)",
		acct, "CreateRole", "RoleName", "x", "Path", "svc", "AssumeRolePolicyDocument", trust)
	f.fails("ValidationError", "1 validation error detected: Value '100' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600",
		acct, "CreateRole", "RoleName", "x", "MaxSessionDuration", "100", "AssumeRolePolicyDocument", trust)
	f.fails("ValidationError", "1 validation error detected: Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null",
		acct, "CreateRole", "RoleName", "x")
	f.fails("InvalidParameterValue", "", acct, "CreateRole", "RoleName", "x", "MaxSessionDuration", "long", "AssumeRolePolicyDocument", trust)
	big := `{"Statement":{"Effect":"Allow","Principal":{"Service":"` + strings.Repeat("a", 2100) + `"},"Action":"sts:AssumeRole"}}`
	f.fails("LimitExceeded", "Cannot exceed quota for ACLSizePerRole: 2048", acct, "CreateRole", "RoleName", "x", "AssumeRolePolicyDocument", big)
}

func TestListRolesPages(t *testing.T) {
	f := newFixture(t)
	for i := range 5 {
		path := "/a/"
		if i%2 == 1 {
			path = "/b/"
		}
		f.must(acct, "CreateRole", "RoleName", fmt.Sprintf("role-%d", i), "Path", path, "AssumeRolePolicyDocument", trust)
	}
	var names []string
	marker := ""
	for pages := 0; pages < 10; pages++ {
		kv := []string{"MaxItems", "2"}
		if marker != "" {
			kv = append(kv, "Marker", marker)
		}
		r := f.must(acct, "ListRoles", kv...)
		names = append(names, r["Roles/member/RoleName"]...)
		if r.get("IsTruncated") != "true" {
			break
		}
		marker = r.get("Marker")
	}
	if strings.Join(names, ",") != "role-0,role-1,role-2,role-3,role-4" {
		t.Errorf("pages: %v", names)
	}
	if got := f.must(acct, "ListRoles", "PathPrefix", "/b/")["Roles/member/RoleName"]; strings.Join(got, ",") != "role-1,role-3" {
		t.Errorf("PathPrefix /b/: %v", got)
	}
	r := f.must("222222222222", "ListRoles")
	if _, ok := r["Roles"]; ok || r.get("IsTruncated") != "false" {
		t.Errorf("another account: %v", r)
	}
}

func TestInlineAndAttachedPolicies(t *testing.T) {
	f := newFixture(t)
	f.must(acct, "CreateRole", "RoleName", "app", "AssumeRolePolicyDocument", trust)
	f.must(acct, "PutRolePolicy", "RoleName", "app", "PolicyName", "read", "PolicyDocument", s3Read)
	f.must(acct, "PutRolePolicy", "RoleName", "app", "PolicyName", "again", "PolicyDocument", s3Read)
	if got := f.must(acct, "ListRolePolicies", "RoleName", "app")["PolicyNames/member"]; strings.Join(got, ",") != "again,read" {
		t.Errorf("ListRolePolicies: %v", got)
	}
	r := f.must(acct, "GetRolePolicy", "RoleName", "APP", "PolicyName", "read")
	if doc, _ := url.QueryUnescape(r.get("PolicyDocument")); doc != s3Read || r.get("RoleName") != "app" {
		t.Errorf("GetRolePolicy: %v", r)
	}
	f.fails("MalformedPolicyDocument", "Policy statement must contain resources.", acct, "PutRolePolicy", "RoleName", "app", "PolicyName", "bad",
		"PolicyDocument", `{"Statement":{"Effect":"Allow","Action":"s3:*"}}`)
	f.fails("NoSuchEntity", "The role policy with name nope cannot be found.", acct, "GetRolePolicy", "RoleName", "app", "PolicyName", "nope")
	big := `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::` + strings.Repeat("b", 10300) + `"}}`
	f.fails("LimitExceeded", "Maximum policy size of 10240 bytes exceeded for role app", acct, "PutRolePolicy", "RoleName", "app", "PolicyName", "big", "PolicyDocument", big)

	f.fails("DeleteConflict", "Cannot delete entity, must delete policies first.", acct, "DeleteRole", "RoleName", "app")
	f.must(acct, "DeleteRolePolicy", "RoleName", "app", "PolicyName", "read")
	f.must(acct, "DeleteRolePolicy", "RoleName", "app", "PolicyName", "again")

	// Managed policies: AWS's as given, the account's own when they exist.
	awsARN := "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
	f.must(acct, "AttachRolePolicy", "RoleName", "app", "PolicyArn", awsARN)
	mine := f.must(acct, "CreatePolicy", "PolicyName", "mine", "Path", "/team/", "PolicyDocument", s3Read, "Description", "d")
	mineARN := mine.get("Policy/Arn")
	if mineARN != "arn:aws:iam::111111111111:policy/team/mine" || !strings.HasPrefix(mine.get("Policy/PolicyId"), "ANPA") || mine.get("Policy/DefaultVersionId") != "v1" {
		t.Errorf("CreatePolicy: %v", mine)
	}
	f.fails("EntityAlreadyExists", "A policy called MINE already exists. Duplicate names are not allowed.", acct, "CreatePolicy", "PolicyName", "MINE", "PolicyDocument", s3Read)
	f.fails("NoSuchEntity", "Policy arn:aws:iam::111111111111:policy/nope does not exist or is not attachable.", acct, "AttachRolePolicy", "RoleName", "app", "PolicyArn", "arn:aws:iam::111111111111:policy/nope")
	f.fails("InvalidInput", "ARN arn:aws:s3:::a-bucket-name is not valid.", acct, "AttachRolePolicy", "RoleName", "app", "PolicyArn", "arn:aws:s3:::a-bucket-name")
	f.must(acct, "AttachRolePolicy", "RoleName", "app", "PolicyArn", mineARN)
	f.must(acct, "AttachRolePolicy", "RoleName", "app", "PolicyArn", mineARN) // idempotent
	if got := f.must(acct, "GetPolicy", "PolicyArn", mineARN); got.get("Policy/AttachmentCount") != "1" || got.get("Policy/Description") != "d" {
		t.Errorf("GetPolicy: %v", got)
	}
	att := f.must(acct, "ListAttachedRolePolicies", "RoleName", "app")
	if strings.Join(att["AttachedPolicies/member/PolicyArn"], ",") != mineARN+","+awsARN || strings.Join(att["AttachedPolicies/member/PolicyName"], ",") != "mine,AmazonS3ReadOnlyAccess" {
		t.Errorf("ListAttachedRolePolicies: %v", att)
	}
	if got := f.must(acct, "ListAttachedRolePolicies", "RoleName", "app", "PathPrefix", "/team/")["AttachedPolicies/member/PolicyName"]; strings.Join(got, ",") != "mine" {
		t.Errorf("PathPrefix: %v", got)
	}
	if doc, _ := url.QueryUnescape(f.must(acct, "GetPolicyVersion", "PolicyArn", mineARN, "VersionId", "v1").get("PolicyVersion/Document")); doc != s3Read {
		t.Errorf("GetPolicyVersion: %q", doc)
	}
	if got := f.must(acct, "ListPolicies", "Scope", "Local", "OnlyAttached", "true")["Policies/member/PolicyName"]; strings.Join(got, ",") != "mine" {
		t.Errorf("ListPolicies: %v", got)
	}
	if _, ok := f.must(acct, "ListPolicies", "Scope", "AWS")["Policies/member/PolicyName"]; ok {
		t.Error("Scope AWS lists customer policies")
	}

	f.fails("DeleteConflict", "Cannot delete a policy attached to entities.", acct, "DeletePolicy", "PolicyArn", mineARN)
	f.fails("DeleteConflict", "Cannot delete entity, must detach all policies first.", acct, "DeleteRole", "RoleName", "app")
	f.must(acct, "DetachRolePolicy", "RoleName", "app", "PolicyArn", mineARN)
	f.must(acct, "DetachRolePolicy", "RoleName", "app", "PolicyArn", awsARN)
	f.fails("NoSuchEntity", "Policy "+awsARN+" was not found.", acct, "DetachRolePolicy", "RoleName", "app", "PolicyArn", awsARN)
	f.must(acct, "DeletePolicy", "PolicyArn", mineARN)
	f.must(acct, "DeleteRole", "RoleName", "app")

	// Ten managed policies at most.
	f.must(acct, "CreateRole", "RoleName", "many", "AssumeRolePolicyDocument", trust)
	for i := range 10 {
		f.must(acct, "AttachRolePolicy", "RoleName", "many", "PolicyArn", fmt.Sprintf("arn:aws:iam::aws:policy/P%d", i))
	}
	f.fails("LimitExceeded", "Cannot exceed quota for PoliciesPerRole: 10", acct, "AttachRolePolicy", "RoleName", "many", "PolicyArn", "arn:aws:iam::aws:policy/P10")
}

func TestRoleLookups(t *testing.T) {
	f := newFixture(t)
	f.must(acct, "CreateRole", "RoleName", "app", "Path", "/svc/", "AssumeRolePolicyDocument", trust, "MaxSessionDuration", "7200")
	ctx := context.Background()
	r, err := f.svc.RoleByARN(ctx, "arn:aws:iam::111111111111:role/svc/app")
	if err != nil || r.Name != "app" || r.Account != acct || r.MaxSessionDuration.Hours() != 2 || r.Trust == nil {
		t.Fatalf("RoleByARN: %+v %v", r, err)
	}
	for _, arn := range []string{"arn:aws:iam::111111111111:role/app", "arn:aws:iam::222222222222:role/svc/app", "arn:aws:iam::111111111111:user/app", "app"} {
		if _, err := f.svc.RoleByARN(ctx, arn); err != iam.ErrNoSuchRole {
			t.Errorf("RoleByARN(%s): %v, want ErrNoSuchRole", arn, err)
		}
	}
	if acc, path, name, ok := iam.ParseRoleARN("arn:aws:iam::111111111111:role/a/b/c"); !ok || acc != acct || path != "/a/b/" || name != "c" {
		t.Errorf("ParseRoleARN: %s %s %s %v", acc, path, name, ok)
	}
}
