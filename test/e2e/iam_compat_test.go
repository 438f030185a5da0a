package e2e

import (
	"testing"
	"time"

	"github.com/berth-dev/berth/test/harness"
)

// iamCompatScript drives the corners of IAM's API where Berth once
// differed from AWS, through boto3 as Python tooling calls them.
const iamCompatScript = `
import json, sys, boto3, botocore
iam = boto3.client("iam")
out = {}

def err(f):
    try:
        f()
    except botocore.exceptions.ClientError as e:
        return {"code": e.response["Error"]["Code"], "message": e.response["Error"]["Message"]}
    return None

B = "arn:aws:s3:::example_bucket"
def doc(**st):
    return json.dumps({"Version": "2012-10-17", "Statement": st})
def pol(name, d):
    return err(lambda: iam.create_policy(PolicyName=name, PolicyDocument=d))

out["emptyResources"] = pol("p1", doc(Effect="Allow", Action="s3:ListBucket", Resource=[]))
out["emptyActions"] = pol("p2", doc(Effect="Allow", Action=[], Resource=B))
out["actionAndNotAction"] = pol("p3", doc(Effect="Allow", Action="s3:ListBucket", NotAction="s3:GetObject", Resource=B))
out["twoColons"] = pol("p4", doc(Effect="Allow", Action="s3:List:Bucket", Resource=B))
out["badVendor"] = pol("p5", doc(Effect="Allow", Action="a a:ListBucket", Resource=B))
out["resourceBeforeAction"] = pol("p6", doc(Effect="Allow", Action="s:3:ListBucket", Resource="sdfsadf"))
out["partition"] = pol("p7", doc(Effect="Allow", Action="s3:ListBucket", Resource="aws:s3:::example_bucket"))
out["vendor"] = pol("p8", doc(Effect="Allow", Action="s3:ListBucket", Resource="arn:aws"))
out["iamPath"] = pol("p9", doc(Effect="Allow", Action="s3:ListBucket", Resource="arn:aws:iam:::example_bucket"))
out["legacyBeforeActions"] = pol("p10", doc(Effect="Allow", Resource="arn:aws:s3::example_bucket"))
out["sidTwice"] = err(lambda: iam.create_policy(PolicyName="p11", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "a", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": B}, {"Sid": "a", "Effect": "Deny", "Action": "s3:ListBucket", "Resource": B}]})))
out["effectCase"] = pol("p12", doc(Effect="deny", Action="s3:ListBucket", Resource=B))
out["badDate"] = pol("p13", doc(Effect="Allow", Action="s3:ListBucket", Resource=B, Condition={"DateLessThan": {"aws:CurrentTime": "234-13"}}))
out["unknownOperator"] = pol("p14", doc(Effect="Allow", Action="s3:ListBucket", Resource=B, Condition={"StringSortOf": {"aws:username": "x"}}))
out["iamRegion"] = pol("p15", doc(Effect="Allow", Action="iam:GetRole", Resource="arn:aws:iam:us-east-1:123456789012:role/x"))
out["validStored"] = pol("ok", doc(Effect="Allow", Action=["s3:ListBucket", "iam:Get*"], Resource=[B, "arn:aws:iam::*:role/*", "*"],
    Condition={"ForAnyValue:StringLikeIfExists": {"aws:TagKeys": ["a*"]}, "DateGreaterThan": {"aws:CurrentTime": "2017-07-01T00:00:00Z"}}))

trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
bad = "arn:aws:iam::123456789:not_a_boundary"
out["roleBoundary"] = err(lambda: iam.create_role(RoleName="bad-boundary", AssumeRolePolicyDocument=trust, PermissionsBoundary=bad))
out["userBoundary"] = err(lambda: iam.create_user(UserName="bad-boundary", PermissionsBoundary=bad))
out["roleExists"] = err(lambda: iam.get_role(RoleName="bad-boundary")) is None

out["summaryKey"] = iam.get_account_summary()["SummaryMap"].get("AccountSigningCertificatesPresent")
out["deletePasswordPolicy"] = err(lambda: iam.delete_account_password_policy())
out["slrName"] = iam.create_service_linked_role(AWSServiceName="custom-resource.application-autoscaling.amazonaws.com")["Role"]["RoleName"]
tagged = iam.create_policy(PolicyName="tagged", Path="/listing/", PolicyDocument=doc(Effect="Allow", Action="s3:ListBucket", Resource=B),
                           Description="d", Tags=[{"Key": "k", "Value": "v"}])["Policy"]
plain = iam.create_policy(PolicyName="plain", Path="/listing/", PolicyDocument=doc(Effect="Allow", Action="s3:ListBucket", Resource=B))["Policy"]
out["createHasDescription"] = "Description" in tagged
out["createTags"] = tagged.get("Tags")
out["getPlainTags"] = iam.get_policy(PolicyArn=plain["Arn"])["Policy"].get("Tags")
out["listHasTags"] = any("Tags" in p for p in iam.list_policies(PathPrefix="/listing/")["Policies"])

iam.create_user(UserName="signer")
for f in sys.argv[1:3]:
    iam.upload_signing_certificate(UserName="signer", CertificateBody=open(f).read())
out["thirdCert"] = err(lambda: iam.upload_signing_certificate(UserName="signer", CertificateBody=open(sys.argv[3]).read()))
print(json.dumps(out))
`

type iamCompatErr struct{ Code, Message string }

func TestIAMCompatPolicyValidationBoundariesSummary(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	var got struct {
		EmptyResources, EmptyActions, ActionAndNotAction, TwoColons, BadVendor *iamCompatErr
		ResourceBeforeAction, Partition, Vendor, IAMPath, LegacyBeforeActions  *iamCompatErr
		SidTwice, EffectCase, BadDate, UnknownOperator, IAMRegion              *iamCompatErr
		ValidStored, RoleBoundary, UserBoundary, DeletePasswordPolicy          *iamCompatErr
		RoleExists                                                             bool
		SummaryKey                                                             *int
		SLRName                                                                string
		CreateHasDescription, ListHasTags                                      bool
		CreateTags, GetPlainTags                                               *[]struct{ Key, Value string }
		ThirdCert                                                              *iamCompatErr
	}
	dir := t.TempDir()
	var certs []string
	for _, cn := range []string{"one", "two", "three"} {
		cert, _ := selfSigned(t, dir, cn, time.Now().Add(24*time.Hour))
		certs = append(certs, cert)
	}
	b.Python(t, iamCompatScript, certs...).Must(t).JSON(t, &got)

	malformed := map[string]struct {
		got  *iamCompatErr
		want string
	}{
		"Resource: []":                {got.EmptyResources, "Policy statement must contain resources."},
		"Action: []":                  {got.EmptyActions, "Policy statement must contain actions."},
		"Action with NotAction":       {got.ActionAndNotAction, "Syntax errors in policy."},
		"action with two colons":      {got.TwoColons, "Actions/Condition can contain only one colon."},
		"vendor with a space":         {got.BadVendor, "Vendor a a is not valid"},
		"bad resource and bad action": {got.ResourceBeforeAction, `Resource sdfsadf must be in ARN format or "*".`},
		"unknown partition":           {got.Partition, `Partition "s3" is not valid for resource "arn:s3:::example_bucket:*".`},
		"ARN without a service":       {got.Vendor, "Resource vendor must be fully qualified and cannot contain regexes."},
		"IAM ARN without a type": {got.IAMPath, `IAM resource path must either be "*", root, or start with user/, federated-user/, role/, group/, ` +
			`instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, saml-provider/, oidc-provider/, report/, access-report/.`},
		"short ARN and no actions": {got.LegacyBeforeActions, "The policy failed legacy parsing"},
		"a Sid used twice":         {got.SidTwice, "Statement IDs (SID) in a single policy must be unique."},
		"Effect in lower case":     {got.EffectCase, "The policy failed legacy parsing"},
		"a date that is not one":   {got.BadDate, "The policy failed legacy parsing"},
		"an unknown operator":      {got.UnknownOperator, "Syntax errors in policy."},
		"an IAM ARN with a region": {got.IAMRegion, "IAM resource arn:aws:iam:us-east-1:123456789012:role/x cannot contain region information."},
	}
	for name, c := range malformed {
		if c.got == nil || c.got.Code != "MalformedPolicyDocument" || c.got.Message != c.want {
			t.Errorf("create_policy with %s: %+v, want MalformedPolicyDocument %q", name, c.got, c.want)
		}
	}
	if got.ValidStored != nil {
		t.Errorf("create_policy with a valid document: %+v", got.ValidStored)
	}

	for name, e := range map[string]*iamCompatErr{"create_role": got.RoleBoundary, "create_user": got.UserBoundary} {
		if e == nil || e.Code != "InvalidInput" || e.Message != "ARN arn:aws:iam::123456789:not_a_boundary is not valid." {
			t.Errorf("%s with a malformed PermissionsBoundary: %+v, want InvalidInput", name, e)
		}
	}
	if got.RoleExists {
		t.Error("create_role with a malformed PermissionsBoundary still created the role")
	}

	if got.SummaryKey == nil || *got.SummaryKey != 0 {
		t.Errorf("get_account_summary AccountSigningCertificatesPresent = %v, want 0", got.SummaryKey)
	}
	if e := got.DeletePasswordPolicy; e == nil || e.Code != "NoSuchEntity" || e.Message != "The account policy with name PasswordPolicy cannot be found." {
		t.Errorf("delete_account_password_policy without one: %+v", e)
	}
	if got.SLRName != "AWSServiceRoleForApplicationAutoScaling_CustomResource" {
		t.Errorf("service-linked role of custom-resource.application-autoscaling: %q", got.SLRName)
	}

	// Which attributes each policy operation returns.
	if got.CreateHasDescription || got.CreateTags == nil || len(*got.CreateTags) != 1 {
		t.Errorf("create_policy: Description returned %v (want false), Tags %v (want the one tag)", got.CreateHasDescription, got.CreateTags)
	}
	if got.GetPlainTags == nil || len(*got.GetPlainTags) != 0 {
		t.Errorf("get_policy of an untagged policy: Tags %v, want an empty list", got.GetPlainTags)
	}
	if got.ListHasTags {
		t.Error("list_policies returned Tags")
	}
	if e := got.ThirdCert; e == nil || e.Code != "LimitExceeded" || e.Message != "Cannot exceed quota for CertificatesPerUser: 2" {
		t.Errorf("a third signing certificate: %+v", e)
	}
}
