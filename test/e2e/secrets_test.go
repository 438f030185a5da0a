package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

// secretARNPattern is AWS's secret ARN: the name and a 6-character suffix.
func secretARNPattern(region, account, name string) *regexp.Regexp {
	return regexp.MustCompile("^arn:aws:secretsmanager:" + regexp.QuoteMeta(region) + ":" + account + ":secret:" + regexp.QuoteMeta(name) + "-[A-Za-z0-9]{6}$")
}

// wantCLIError checks that an aws CLI command failed with code.
func wantCLIError(t *testing.T, what string, r *harness.Result, code string) {
	t.Helper()
	if r.ExitCode == 0 {
		t.Errorf("%s succeeded, want %s\nstdout: %s", what, code, r.Stdout)
		return
	}
	if got := r.ErrorCode(); got != code {
		t.Errorf("%s: error %q, want %s\nstderr: %s", what, got, code, r.Stderr)
	}
}

type cliSecretValue struct {
	ARN, Name, VersionId, SecretString, SecretBinary string
	VersionStages                                    []string
	CreatedDate                                      any
}

// The life of a secret through both aws CLIs: create, read by name and ARN,
// new versions moving AWSCURRENT and AWSPREVIOUS, list with filters, tag,
// delete with a recovery window, restore, force-delete; and the errors AWS
// gives for a duplicate, a missing secret, a deleted one and bad input.
func TestSecretsManagerWithAWSCLI(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	clis := []struct {
		name string
		run  func(*harness.Berth, testing.TB, ...string) *harness.Result
	}{
		{"v1", (*harness.Berth).AWS},
		{"v2", (*harness.Berth).AWSv2},
	}
	for _, cli := range clis {
		t.Run(cli.name, func(t *testing.T) {
			t.Parallel()
			aws := func(args ...string) *harness.Result { return cli.run(b, t, args...) }
			name := "cli-" + cli.name + "/db"

			var created struct{ ARN, Name, VersionId string }
			aws("secretsmanager", "create-secret", "--name", name, "--secret-string", `{"user":"admin","password":"p1"}`,
				"--description", "database credentials", "--tags", "Key=team,Value=core").Must(t).JSON(t, &created)
			if !secretARNPattern("us-east-1", "000000000000", name).MatchString(created.ARN) || created.Name != name || created.VersionId == "" {
				t.Fatalf("create-secret returned %+v", created)
			}
			wantCLIError(t, "duplicate create-secret", aws("secretsmanager", "create-secret", "--name", name, "--secret-string", "x"), "ResourceExistsException")

			for _, id := range []string{name, created.ARN} {
				var v cliSecretValue
				aws("secretsmanager", "get-secret-value", "--secret-id", id).Must(t).JSON(t, &v)
				if v.SecretString != `{"user":"admin","password":"p1"}` || v.ARN != created.ARN || v.VersionId != created.VersionId ||
					!slices.Equal(v.VersionStages, []string{"AWSCURRENT"}) || v.CreatedDate == nil {
					t.Errorf("get-secret-value %s: %+v", id, v)
				}
			}

			var put struct {
				VersionId     string
				VersionStages []string
			}
			aws("secretsmanager", "put-secret-value", "--secret-id", name, "--secret-string", `{"user":"admin","password":"p2"}`).Must(t).JSON(t, &put)
			if put.VersionId == "" || put.VersionId == created.VersionId || !slices.Equal(put.VersionStages, []string{"AWSCURRENT"}) {
				t.Errorf("put-secret-value: %+v", put)
			}
			var prev, cur cliSecretValue
			aws("secretsmanager", "get-secret-value", "--secret-id", name, "--version-stage", "AWSPREVIOUS").Must(t).JSON(t, &prev)
			aws("secretsmanager", "get-secret-value", "--secret-id", name).Must(t).JSON(t, &cur)
			if prev.VersionId != created.VersionId || !strings.Contains(prev.SecretString, "p1") || !strings.Contains(cur.SecretString, "p2") {
				t.Errorf("after put: previous %+v current %+v", prev, cur)
			}
			var byID cliSecretValue
			aws("secretsmanager", "get-secret-value", "--secret-id", name, "--version-id", created.VersionId).Must(t).JSON(t, &byID)
			if !strings.Contains(byID.SecretString, "p1") {
				t.Errorf("get-secret-value --version-id: %+v", byID)
			}
			wantCLIError(t, "unknown stage", aws("secretsmanager", "get-secret-value", "--secret-id", name, "--version-stage", "NOPE"), "ResourceNotFoundException")

			var desc struct {
				ARN, Description   string
				VersionIdsToStages map[string][]string
				Tags               []struct{ Key, Value string }
			}
			aws("secretsmanager", "update-secret", "--secret-id", name, "--description", "rotated by hand").Must(t)
			aws("secretsmanager", "tag-resource", "--secret-id", name, "--tags", "Key=env,Value=prod").Must(t)
			aws("secretsmanager", "untag-resource", "--secret-id", name, "--tag-keys", "team").Must(t)
			aws("secretsmanager", "describe-secret", "--secret-id", created.ARN).Must(t).JSON(t, &desc)
			if desc.Description != "rotated by hand" || len(desc.VersionIdsToStages) != 2 ||
				len(desc.Tags) != 1 || desc.Tags[0].Key != "env" {
				t.Errorf("describe-secret: %+v", desc)
			}

			var versions struct {
				Versions []struct {
					VersionId     string
					VersionStages []string
				}
			}
			aws("secretsmanager", "list-secret-version-ids", "--secret-id", name).Must(t).JSON(t, &versions)
			if len(versions.Versions) != 2 {
				t.Errorf("list-secret-version-ids: %+v", versions)
			}

			var list struct{ SecretList []struct{ Name string } }
			aws("secretsmanager", "list-secrets", "--filters", "Key=name,Values=cli-"+cli.name+"/").Must(t).JSON(t, &list)
			if len(list.SecretList) != 1 || list.SecretList[0].Name != name {
				t.Errorf("list-secrets by name: %+v", list)
			}
			aws("secretsmanager", "list-secrets", "--filters", "Key=tag-key,Values=nosuchtag").Must(t).JSON(t, &list)
			if len(list.SecretList) != 0 {
				t.Errorf("list-secrets by a missing tag key: %+v", list)
			}

			// A binary secret from a file.
			f := filepath.Join(t.TempDir(), "key.bin")
			if err := os.WriteFile(f, []byte{0xde, 0xad, 0xbe, 0xef}, 0o600); err != nil {
				t.Fatal(err)
			}
			aws("secretsmanager", "create-secret", "--name", name+"-bin", "--secret-binary", "fileb://"+f).Must(t)
			var binv cliSecretValue
			aws("secretsmanager", "get-secret-value", "--secret-id", name+"-bin").Must(t).JSON(t, &binv)
			if binv.SecretBinary != "3q2+7w==" || binv.SecretString != "" {
				t.Errorf("binary secret: %+v", binv)
			}

			// Errors for bad input and missing secrets.
			wantCLIError(t, "missing secret", aws("secretsmanager", "get-secret-value", "--secret-id", "cli-"+cli.name+"/nope"), "ResourceNotFoundException")
			wantCLIError(t, "bad name", aws("secretsmanager", "create-secret", "--name", "bad name", "--secret-string", "x"), "ValidationException")
			wantCLIError(t, "recovery window 3", aws("secretsmanager", "delete-secret", "--secret-id", name, "--recovery-window-in-days", "3"), "InvalidParameterException")

			// Deletion with a recovery window, restore, then for good.
			var del struct{ ARN, Name string }
			aws("secretsmanager", "delete-secret", "--secret-id", name, "--recovery-window-in-days", "7").Must(t).JSON(t, &del)
			if del.ARN != created.ARN {
				t.Errorf("delete-secret: %+v", del)
			}
			wantCLIError(t, "get deleted", aws("secretsmanager", "get-secret-value", "--secret-id", name), "InvalidRequestException")
			wantCLIError(t, "create over deleted", aws("secretsmanager", "create-secret", "--name", name), "InvalidRequestException")
			aws("secretsmanager", "restore-secret", "--secret-id", name).Must(t)
			aws("secretsmanager", "get-secret-value", "--secret-id", name).Must(t)
			aws("secretsmanager", "delete-secret", "--secret-id", name, "--force-delete-without-recovery").Must(t)
			wantCLIError(t, "get force-deleted", aws("secretsmanager", "get-secret-value", "--secret-id", name), "ResourceNotFoundException")
		})
	}
}

type cliParameter struct {
	Name, Type, Value, ARN, Selector, DataType string
	Version                                    int
	LastModifiedDate                           any
}

// Parameters through both aws CLIs: put, versions and overwrite, selectors,
// SecureString decryption, paths, describe filters, history, labels, tags,
// deletion, and AWS's errors for duplicates, missing names and bad names.
func TestParameterStoreWithAWSCLI(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	clis := []struct {
		name string
		run  func(*harness.Berth, testing.TB, ...string) *harness.Result
	}{
		{"v1", (*harness.Berth).AWS},
		{"v2", (*harness.Berth).AWSv2},
	}
	for _, cli := range clis {
		t.Run(cli.name, func(t *testing.T) {
			t.Parallel()
			aws := func(args ...string) *harness.Result { return cli.run(b, t, args...) }
			root := "/cli-" + cli.name
			url := root + "/db/url"

			var put struct {
				Version int
				Tier    string
			}
			aws("ssm", "put-parameter", "--name", url, "--value", "postgres-1", "--type", "String", "--description", "db").Must(t).JSON(t, &put)
			if put.Version != 1 || put.Tier != "Standard" {
				t.Errorf("put-parameter: %+v", put)
			}
			wantCLIError(t, "put existing", aws("ssm", "put-parameter", "--name", url, "--value", "x", "--type", "String"), "ParameterAlreadyExists")
			aws("ssm", "put-parameter", "--name", url, "--value", "postgres-2", "--overwrite").Must(t).JSON(t, &put)
			if put.Version != 2 {
				t.Errorf("overwrite: %+v", put)
			}

			var got struct{ Parameter cliParameter }
			aws("ssm", "get-parameter", "--name", url).Must(t).JSON(t, &got)
			if got.Parameter.Value != "postgres-2" || got.Parameter.Version != 2 || got.Parameter.Type != "String" ||
				got.Parameter.ARN != "arn:aws:ssm:us-east-1:000000000000:parameter"+url || got.Parameter.DataType != "text" {
				t.Errorf("get-parameter: %+v", got.Parameter)
			}
			aws("ssm", "get-parameter", "--name", url+":1").Must(t).JSON(t, &got)
			if got.Parameter.Value != "postgres-1" || got.Parameter.Selector != ":1" {
				t.Errorf("get-parameter :1: %+v", got.Parameter)
			}
			wantCLIError(t, "missing version", aws("ssm", "get-parameter", "--name", url+":9"), "ParameterVersionNotFound")

			aws("ssm", "put-parameter", "--name", root+"/db/password", "--value", "hunter2", "--type", "SecureString").Must(t)
			aws("ssm", "put-parameter", "--name", root+"/hosts", "--value", "a,b,c", "--type", "StringList").Must(t)
			aws("ssm", "get-parameter", "--name", root+"/db/password").Must(t).JSON(t, &got)
			if got.Parameter.Value == "hunter2" {
				t.Error("SecureString returned in clear without --with-decryption")
			}
			aws("ssm", "get-parameter", "--name", root+"/db/password", "--with-decryption").Must(t).JSON(t, &got)
			if got.Parameter.Value != "hunter2" || got.Parameter.Type != "SecureString" {
				t.Errorf("get-parameter --with-decryption: %+v", got.Parameter)
			}

			var many struct {
				Parameters        []cliParameter
				InvalidParameters []string
			}
			aws("ssm", "get-parameters", "--names", url, root+"/hosts", root+"/missing").Must(t).JSON(t, &many)
			if len(many.Parameters) != 2 || !slices.Equal(many.InvalidParameters, []string{root + "/missing"}) {
				t.Errorf("get-parameters: %+v", many)
			}
			aws("ssm", "get-parameters-by-path", "--path", root, "--recursive", "--with-decryption").Must(t).JSON(t, &many)
			if len(many.Parameters) != 3 {
				t.Errorf("get-parameters-by-path recursive: %+v", many.Parameters)
			}
			aws("ssm", "get-parameters-by-path", "--path", root).Must(t).JSON(t, &many)
			if len(many.Parameters) != 1 || many.Parameters[0].Name != root+"/hosts" {
				t.Errorf("get-parameters-by-path one level: %+v", many.Parameters)
			}

			var described struct {
				Parameters []struct{ Name, Type, KeyId string }
			}
			aws("ssm", "describe-parameters", "--parameter-filters", "Key=Name,Option=BeginsWith,Values="+root+"/db").Must(t).JSON(t, &described)
			if len(described.Parameters) != 2 {
				t.Errorf("describe-parameters BeginsWith: %+v", described)
			}
			aws("ssm", "describe-parameters", "--parameter-filters", "Key=Type,Values=SecureString", "Key=Path,Option=Recursive,Values="+root).Must(t).JSON(t, &described)
			if len(described.Parameters) != 1 || described.Parameters[0].KeyId != "alias/aws/ssm" {
				t.Errorf("describe-parameters SecureString: %+v", described)
			}

			var history struct{ Parameters []struct{ Version int } }
			aws("ssm", "get-parameter-history", "--name", url).Must(t).JSON(t, &history)
			if len(history.Parameters) != 2 || history.Parameters[0].Version != 1 {
				t.Errorf("get-parameter-history: %+v", history)
			}
			aws("ssm", "label-parameter-version", "--name", url, "--parameter-version", "1", "--labels", "stable").Must(t)
			aws("ssm", "get-parameter", "--name", url+":stable").Must(t).JSON(t, &got)
			if got.Parameter.Value != "postgres-1" {
				t.Errorf("get-parameter :stable: %+v", got.Parameter)
			}

			aws("ssm", "add-tags-to-resource", "--resource-type", "Parameter", "--resource-id", url, "--tags", "Key=team,Value=core", "Key=env,Value=dev").Must(t)
			aws("ssm", "remove-tags-from-resource", "--resource-type", "Parameter", "--resource-id", url, "--tag-keys", "env").Must(t)
			var tags struct{ TagList []struct{ Key, Value string } }
			aws("ssm", "list-tags-for-resource", "--resource-type", "Parameter", "--resource-id", url).Must(t).JSON(t, &tags)
			if len(tags.TagList) != 1 || tags.TagList[0].Key != "team" {
				t.Errorf("list-tags-for-resource: %+v", tags)
			}
			wantCLIError(t, "tags of a missing parameter", aws("ssm", "list-tags-for-resource", "--resource-type", "Parameter", "--resource-id", root+"/missing"), "InvalidResourceId")

			// Bad names.
			wantCLIError(t, "space in name", aws("ssm", "put-parameter", "--name", root+"/a b", "--value", "x", "--type", "String"), "ValidationException")
			wantCLIError(t, "relative path", aws("ssm", "put-parameter", "--name", "a/b", "--value", "x", "--type", "String"), "ValidationException")
			wantCLIError(t, "ssm prefix", aws("ssm", "put-parameter", "--name", "ssm-thing", "--value", "x", "--type", "String"), "ValidationException")
			deep := root + strings.Repeat("/l", 15)
			wantCLIError(t, "16 levels", aws("ssm", "put-parameter", "--name", deep, "--value", "x", "--type", "String"), "HierarchyLevelLimitExceededException")
			wantCLIError(t, "tags with overwrite", aws("ssm", "put-parameter", "--name", url, "--value", "x", "--overwrite", "--tags", "Key=a,Value=b"), "ValidationException")

			aws("ssm", "delete-parameter", "--name", url).Must(t)
			wantCLIError(t, "get deleted", aws("ssm", "get-parameter", "--name", url), "ParameterNotFound")
			wantCLIError(t, "delete twice", aws("ssm", "delete-parameter", "--name", url), "ParameterNotFound")
			var deleted struct{ DeletedParameters, InvalidParameters []string }
			aws("ssm", "delete-parameters", "--names", root+"/hosts", root+"/nope").Must(t).JSON(t, &deleted)
			if !slices.Equal(deleted.DeletedParameters, []string{root + "/hosts"}) || !slices.Equal(deleted.InvalidParameters, []string{root + "/nope"}) {
				t.Errorf("delete-parameters: %+v", deleted)
			}
		})
	}
}

// Accounts and regions do not see each other's secrets and parameters,
// and both survive a restart of berth.
func TestSecretsIsolationAndRestart(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	b.AWSv2(t, "secretsmanager", "create-secret", "--name", "shared-name", "--secret-string", "mine").Must(t)
	b.AWSv2(t, "ssm", "put-parameter", "--name", "/shared/name", "--value", "mine", "--type", "SecureString").Must(t)

	other := b.As("111111111111", "secret")
	wantCLIError(t, "other account get-secret-value", other.AWSv2(t, "secretsmanager", "get-secret-value", "--secret-id", "shared-name"), "ResourceNotFoundException")
	wantCLIError(t, "other account get-parameter", other.AWSv2(t, "ssm", "get-parameter", "--name", "/shared/name"), "ParameterNotFound")
	var created struct{ ARN string }
	other.AWSv2(t, "secretsmanager", "create-secret", "--name", "shared-name", "--secret-string", "theirs").Must(t).JSON(t, &created)
	if !secretARNPattern("us-east-1", "111111111111", "shared-name").MatchString(created.ARN) {
		t.Errorf("other account's ARN %s", created.ARN)
	}
	wantCLIError(t, "other region", b.InRegion("eu-west-1").AWSv2(t, "secretsmanager", "get-secret-value", "--secret-id", "shared-name"), "ResourceNotFoundException")

	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	b.Restart()
	var v cliSecretValue
	b.AWSv2(t, "secretsmanager", "get-secret-value", "--secret-id", "shared-name").Must(t).JSON(t, &v)
	if v.SecretString != "mine" {
		t.Errorf("after restart: %+v", v)
	}
	var got struct{ Parameter cliParameter }
	b.AWSv2(t, "ssm", "get-parameter", "--name", "/shared/name", "--with-decryption").Must(t).JSON(t, &got)
	if got.Parameter.Value != "mine" {
		t.Errorf("parameter after restart: %+v", got.Parameter)
	}
}

const secretsBoto3Script = `
import json, sys, boto3

sm = boto3.client("secretsmanager")
ssm = boto3.client("ssm")
out = {}

def code(fn):
    try:
        fn()
    except Exception as e:
        return e.response["Error"]["Code"]
    return None

c = sm.create_secret(Name="py/app", SecretString=json.dumps({"token": "t1"}), Tags=[{"Key": "team", "Value": "py"}])
out["arn"] = c["ARN"]
out["dup"] = code(lambda: sm.create_secret(Name="py/app", SecretString="x"))
try:
    sm.create_secret(Name="py/app", SecretString="x")
except sm.exceptions.ResourceExistsException:
    out["dup_class"] = True
p = sm.put_secret_value(SecretId=c["ARN"], SecretString=json.dumps({"token": "t2"}))
out["current"] = json.loads(sm.get_secret_value(SecretId="py/app")["SecretString"])["token"]
out["previous"] = json.loads(sm.get_secret_value(SecretId="py/app", VersionStage="AWSPREVIOUS")["SecretString"])["token"]
for i in range(12):
    sm.create_secret(Name="py/many/%02d" % i, SecretString="v%d" % i)
names = []
for page in sm.get_paginator("list_secrets").paginate(Filters=[{"Key": "name", "Values": ["py/many/"]}], PaginationConfig={"PageSize": 5}):
    names += [s["Name"] for s in page["SecretList"]]
out["listed"] = len(names)
b = sm.batch_get_secret_value(SecretIdList=["py/many/00", "py/many/01", "py/none"])
out["batch"] = sorted(v["SecretString"] for v in b["SecretValues"])
out["batch_errors"] = [e["ErrorCode"] for e in b["Errors"]]
out["missing"] = code(lambda: sm.get_secret_value(SecretId="py/none"))
try:
    sm.get_secret_value(SecretId="py/none")
except sm.exceptions.ResourceNotFoundException:
    out["missing_class"] = True
sm.delete_secret(SecretId="py/app")
out["deleted_get"] = code(lambda: sm.get_secret_value(SecretId="py/app"))
out["version_ids"] = len(sm.list_secret_version_ids(SecretId="py/app")["Versions"])

ssm.put_parameter(Name="/py/a", Value="1", Type="String")
out["param_dup"] = code(lambda: ssm.put_parameter(Name="/py/a", Value="2", Type="String"))
try:
    ssm.get_parameter(Name="/py/none")
except ssm.exceptions.ParameterNotFound:
    out["param_missing_class"] = True
for i in range(25):
    ssm.put_parameter(Name="/py/tree/%02d/leaf" % i, Value="v%d" % i, Type="SecureString")
vals = []
for page in ssm.get_paginator("get_parameters_by_path").paginate(Path="/py/tree", Recursive=True, WithDecryption=True):
    vals += [p["Value"] for p in page["Parameters"]]
out["by_path"] = len(vals)
out["by_path_first"] = sorted(vals)[0]
meta = []
for page in ssm.get_paginator("describe_parameters").paginate(ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": ["/py"]}]):
    meta += page["Parameters"]
out["described"] = len(meta)
out["bad_name"] = code(lambda: ssm.put_parameter(Name="/py/bad name", Value="1", Type="String"))
out["ref"] = ssm.get_parameter(Name="/aws/reference/secretsmanager/py/many/03", WithDecryption=True)["Parameter"]["Value"]
ssm.delete_parameters(Names=["/py/a"])
out["param_deleted"] = code(lambda: ssm.get_parameter(Name="/py/a"))
print(json.dumps(out))
`

// boto3's view: typed exceptions, paginators over ListSecrets,
// GetParametersByPath and DescribeParameters, BatchGetSecretValue, and a
// secret read through Parameter Store's /aws/reference/secretsmanager.
func TestSecretsWithBoto3(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	r := b.Python(t, secretsBoto3Script).Must(t)
	var out struct {
		ARN               string `json:"arn"`
		Dup               string
		DupClass          bool `json:"dup_class"`
		Current, Previous string
		Listed            int
		Batch             []string
		BatchErrors       []string `json:"batch_errors"`
		Missing           string
		MissingClass      bool   `json:"missing_class"`
		DeletedGet        string `json:"deleted_get"`
		VersionIDs        int    `json:"version_ids"`
		ParamDup          string `json:"param_dup"`
		ParamMissingClass bool   `json:"param_missing_class"`
		ByPath            int    `json:"by_path"`
		ByPathFirst       string `json:"by_path_first"`
		Described         int
		BadName           string `json:"bad_name"`
		Ref               string
		ParamDeleted      string `json:"param_deleted"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
		t.Fatalf("script output %q: %v", r.Stdout, err)
	}
	if !secretARNPattern("us-east-1", "000000000000", "py/app").MatchString(out.ARN) {
		t.Errorf("ARN %s", out.ARN)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"duplicate", out.Dup, "ResourceExistsException"},
		{"duplicate as exception class", out.DupClass, true},
		{"current", out.Current, "t2"},
		{"previous", out.Previous, "t1"},
		{"listed with paginator", out.Listed, 12},
		{"batch values", strings.Join(out.Batch, ","), "v0,v1"},
		{"batch errors", strings.Join(out.BatchErrors, ","), "ResourceNotFoundException"},
		{"missing", out.Missing, "ResourceNotFoundException"},
		{"missing as exception class", out.MissingClass, true},
		{"get deleted", out.DeletedGet, "InvalidRequestException"},
		{"versions of a deleted secret", out.VersionIDs, 2},
		{"parameter duplicate", out.ParamDup, "ParameterAlreadyExists"},
		{"parameter missing as exception class", out.ParamMissingClass, true},
		{"by path with paginator", out.ByPath, 25},
		{"by path decrypted", out.ByPathFirst, "v0"},
		{"describe with paginator", out.Described, 26},
		{"bad name", out.BadName, "ValidationException"},
		{"secrets manager reference", out.Ref, "v3"},
		{"parameter deleted", out.ParamDeleted, "ParameterNotFound"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
		}
	}
}
