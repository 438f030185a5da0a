package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/harness"
)

type slrRole struct {
	Role struct {
		RoleName, Path, Arn, Description string
		AssumeRolePolicyDocument         json.RawMessage
	}
}

// trustPrincipal is the service a role's trust policy names, whichever
// form (encoded or decoded JSON) the CLI printed it in.
func trustPrincipal(t *testing.T, doc json.RawMessage) string {
	t.Helper()
	var s string
	if json.Unmarshal(doc, &s) == nil {
		if d, err := url.QueryUnescape(s); err == nil {
			s = d
		}
		doc = json.RawMessage(s)
	}
	var p struct {
		Statement []struct {
			Effect, Action string
			Principal      struct{ Service string }
		}
	}
	if err := json.Unmarshal(doc, &p); err != nil || len(p.Statement) != 1 || p.Statement[0].Action != "sts:AssumeRole" {
		t.Fatalf("trust policy %s: %v", doc, err)
	}
	return p.Statement[0].Principal.Service
}

// Service-linked roles are named, placed and trusted as AWS documents for
// each service, carry the service's managed policy, refuse suffixes where
// the service does, cannot be deleted with DeleteRole, and go through
// DeleteServiceLinkedRole with a task that reports success.
func TestIAMMoreServiceLinkedRoles(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithCredentials(iamTestAccount, "slr-secret"))
	cases := map[string]struct{ service, role, policy string }{
		"v1": {"ecs.amazonaws.com", "AWSServiceRoleForECS", "AmazonECSServiceRolePolicy"},
		"v2": {"eks.amazonaws.com", "AWSServiceRoleForAmazonEKS", "AmazonEKSServiceRolePolicy"},
	}
	for _, cli := range awsCLIs {
		t.Run(cli.name, func(t *testing.T) {
			aws := func(args ...string) *harness.Result { return cli.run(b, t, args...) }
			c := cases[cli.name]
			var r slrRole
			aws("iam", "create-service-linked-role", "--aws-service-name", c.service).Must(t).JSON(t, &r)
			if r.Role.RoleName != c.role || r.Role.Path != "/aws-service-role/"+c.service+"/" ||
				r.Role.Arn != "arn:aws:iam::111111111111:role/aws-service-role/"+c.service+"/"+c.role {
				t.Fatalf("create-service-linked-role: %+v", r.Role)
			}
			if p := trustPrincipal(t, r.Role.AssumeRolePolicyDocument); p != c.service {
				t.Errorf("trust policy principal %q, want %q", p, c.service)
			}
			var att struct{ AttachedPolicies []struct{ PolicyArn string } }
			aws("iam", "list-attached-role-policies", "--role-name", c.role).Must(t).JSON(t, &att)
			if len(att.AttachedPolicies) != 1 || att.AttachedPolicies[0].PolicyArn != "arn:aws:iam::aws:policy/aws-service-role/"+c.policy {
				t.Errorf("attached policies: %+v", att)
			}
			assertCode(t, aws("iam", "create-service-linked-role", "--aws-service-name", c.service), "InvalidInput")
			assertCode(t, aws("iam", "create-service-linked-role", "--aws-service-name", c.service, "--custom-suffix", "x"), "InvalidInput")
			assertCode(t, aws("iam", "delete-role", "--role-name", c.role), "UnmodifiableEntity")
			assertCode(t, aws("iam", "attach-role-policy", "--role-name", c.role, "--policy-arn", "arn:aws:iam::aws:policy/AdministratorAccess"), "UnmodifiableEntity")
			assertCode(t, aws("iam", "put-role-policy", "--role-name", c.role, "--policy-name", "more",
				"--policy-document", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`), "UnmodifiableEntity")

			var del struct{ DeletionTaskId string }
			aws("iam", "delete-service-linked-role", "--role-name", c.role).Must(t).JSON(t, &del)
			if !strings.HasPrefix(del.DeletionTaskId, "task/aws-service-role/"+c.service+"/"+c.role+"/") {
				t.Errorf("deletion task id %q", del.DeletionTaskId)
			}
			var st struct{ Status string }
			aws("iam", "get-service-linked-role-deletion-status", "--deletion-task-id", del.DeletionTaskId).Must(t).JSON(t, &st)
			if st.Status != "SUCCEEDED" {
				t.Errorf("deletion status %+v", st)
			}
			assertCode(t, aws("iam", "get-role", "--role-name", c.role), "NoSuchEntity")
		})
	}

	// Auto Scaling takes suffixes; the rest of the table names its roles.
	var r slrRole
	b.AWS(t, "iam", "create-service-linked-role", "--aws-service-name", "autoscaling.amazonaws.com", "--custom-suffix", "batch", "--description", "for batch").Must(t).JSON(t, &r)
	if r.Role.RoleName != "AWSServiceRoleForAutoScaling_batch" || r.Role.Description != "for batch" {
		t.Errorf("autoscaling with suffix: %+v", r.Role)
	}
	for service, role := range map[string]string{
		"eks-nodegroup.amazonaws.com":               "AWSServiceRoleForAmazonEKSNodegroup",
		"eks-fargate.amazonaws.com":                 "AWSServiceRoleForAmazonEKSForFargate",
		"elasticloadbalancing.amazonaws.com":        "AWSServiceRoleForElasticLoadBalancing",
		"ecs.application-autoscaling.amazonaws.com": "AWSServiceRoleForApplicationAutoScaling_ECSService",
		"replication.ecr.amazonaws.com":             "AWSServiceRoleForECRReplication",
		"ecr.amazonaws.com":                         "AWSServiceRoleForECRTemplate",
	} {
		var r slrRole
		b.AWS(t, "iam", "create-service-linked-role", "--aws-service-name", service).Must(t).JSON(t, &r)
		if r.Role.RoleName != role {
			t.Errorf("%s: role %q, want %q", service, r.Role.RoleName, role)
		}
	}
	assertCode(t, b.AWS(t, "iam", "create-service-linked-role", "--aws-service-name", "not a service"), "ValidationError")
}

const slrTerraformConfig = `
resource "aws_iam_service_linked_role" "ecs" {
  aws_service_name = "ecs.amazonaws.com"
}

resource "aws_iam_service_linked_role" "asg" {
  aws_service_name = "autoscaling.amazonaws.com"
  custom_suffix    = "tf"
  description      = "DESCRIPTION"
}

output "ecs_arn" {
  value = aws_iam_service_linked_role.ecs.arn
}
`

// Terraform creates service-linked roles, reads them back without drift,
// changes a description and destroys them through the deletion task.
func TestIAMMoreServiceLinkedRoleTerraform(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithCredentials(iamTestAccount, "tf-slr-secret"))
	tf := startTerraform(t, b, strings.ReplaceAll(slrTerraformConfig, "DESCRIPTION", "first"))
	tf.Apply(t)
	tf.NoDrift(t)
	if arn := tf.Output(t, "ecs_arn"); arn != "arn:aws:iam::111111111111:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS" {
		t.Errorf("ecs role ARN %q", arn)
	}
	tf.SetConfig(t, b, strings.ReplaceAll(slrTerraformConfig, "DESCRIPTION", "second"))
	tf.Apply(t)
	tf.NoDrift(t)
	var r slrRole
	b.AWS(t, "iam", "get-role", "--role-name", "AWSServiceRoleForAutoScaling_tf").Must(t).JSON(t, &r)
	if r.Role.Description != "second" {
		t.Errorf("description after the change: %+v", r.Role)
	}
	tf.Destroy(t)
	var roles struct{ Roles []struct{ RoleName string } }
	b.AWS(t, "iam", "list-roles").Must(t).JSON(t, &roles)
	if len(roles.Roles) != 0 {
		t.Errorf("roles left after destroy: %+v", roles)
	}
}

// Console passwords are checked against IAM's default policy and then
// the account's, never given back, changed by the user with the old one,
// and block deleting the user until removed.
func TestIAMMoreLoginProfiles(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithCredentials(iamTestAccount, "login-secret"))
	aws := func(args ...string) *harness.Result { return b.AWS(t, args...) }
	assertCode(t, aws("iam", "get-account-password-policy"), "NoSuchEntity")
	aws("iam", "create-user", "--user-name", "alice").Must(t)
	// IAM's default policy: 8 characters, three kinds of character.
	assertCode(t, aws("iam", "create-login-profile", "--user-name", "alice", "--password", "alllowercase"), "PasswordPolicyViolation")
	aws("iam", "update-account-password-policy", "--minimum-password-length", "12", "--require-symbols", "--require-numbers",
		"--password-reuse-prevention", "2", "--allow-users-to-change-password").Must(t)
	var pol struct {
		PasswordPolicy struct {
			MinimumPasswordLength, PasswordReusePrevention             int
			RequireSymbols, RequireNumbers, RequireUppercaseCharacters bool
			AllowUsersToChangePassword, ExpirePasswords                bool
		}
	}
	aws("iam", "get-account-password-policy").Must(t).JSON(t, &pol)
	p := pol.PasswordPolicy
	if p.MinimumPasswordLength != 12 || !p.RequireSymbols || !p.RequireNumbers || p.RequireUppercaseCharacters || p.PasswordReusePrevention != 2 || !p.AllowUsersToChangePassword || p.ExpirePasswords {
		t.Errorf("get-account-password-policy: %+v", p)
	}
	assertCode(t, aws("iam", "create-login-profile", "--user-name", "alice", "--password", "Short-1"), "PasswordPolicyViolation")
	assertCode(t, aws("iam", "create-login-profile", "--user-name", "alice", "--password", "longenoughbutnosymbol1"), "PasswordPolicyViolation")
	var lp struct {
		LoginProfile struct {
			UserName              string
			PasswordResetRequired bool
			Password              string
		}
	}
	aws("iam", "create-login-profile", "--user-name", "alice", "--password", "first-password-1", "--password-reset-required").Must(t).JSON(t, &lp)
	if lp.LoginProfile.UserName != "alice" || !lp.LoginProfile.PasswordResetRequired || lp.LoginProfile.Password != "" {
		t.Errorf("create-login-profile: %+v", lp)
	}
	assertCode(t, aws("iam", "create-login-profile", "--user-name", "alice", "--password", "first-password-1"), "EntityAlreadyExists")
	assertCode(t, aws("iam", "delete-user", "--user-name", "alice"), "DeleteConflict")

	// The user changes the password with its own key, knowing the old one.
	var key accessKeyOut
	aws("iam", "create-access-key", "--user-name", "alice").Must(t).JSON(t, &key)
	alice := b.As(key.AccessKey.AccessKeyId, key.AccessKey.SecretAccessKey)
	script := `import boto3, sys
iam = boto3.client("iam")
try:
    iam.change_password(OldPassword=sys.argv[1], NewPassword=sys.argv[2])
    print("ok")
except iam.exceptions.ClientError as e:
    print(e.response["Error"]["Code"])
`
	for _, c := range []struct{ old, new, want string }{
		{"wrong-password-1", "second-password-2", "InvalidUserType"},
		{"first-password-1", "second-password-2", "ok"},
		{"second-password-2", "first-password-1", "PasswordPolicyViolation"}, // reused
		{"second-password-2", "third-password-3", "ok"},
	} {
		if got := strings.TrimSpace(alice.Python(t, script, c.old, c.new).Must(t).Stdout); got != c.want {
			t.Errorf("change_password %s → %s: %s, want %s", c.old, c.new, got, c.want)
		}
	}
	aws("iam", "get-login-profile", "--user-name", "alice").Must(t).JSON(t, &lp)
	if lp.LoginProfile.PasswordResetRequired {
		t.Errorf("reset still required after change-password: %+v", lp)
	}
	// The root has no password to change.
	assertCode(t, aws("iam", "change-password", "--old-password", "x", "--new-password", "y"), "InvalidUserType")

	aws("iam", "update-login-profile", "--user-name", "alice", "--no-password-reset-required").Must(t)
	aws("iam", "delete-login-profile", "--user-name", "alice").Must(t)
	assertCode(t, aws("iam", "get-login-profile", "--user-name", "alice"), "NoSuchEntity")
	aws("iam", "delete-account-password-policy").Must(t)
	assertCode(t, b.AWSv2(t, "iam", "delete-account-password-policy"), "NoSuchEntity")
	aws("iam", "delete-access-key", "--user-name", "alice", "--access-key-id", key.AccessKey.AccessKeyId).Must(t)
	aws("iam", "delete-user", "--user-name", "alice").Must(t)
}

// sshRSALine is the OpenSSH line of an RSA public key.
func sshRSALine(k *rsa.PublicKey) string {
	put := func(b, s []byte) []byte { return append(binary.BigEndian.AppendUint32(b, uint32(len(s))), s...) }
	mp := func(n *big.Int) []byte {
		b := n.Bytes()
		if b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return b
	}
	blob := put(nil, []byte("ssh-rsa"))
	blob = put(blob, mp(big.NewInt(int64(k.E))))
	blob = put(blob, mp(k.N))
	return "ssh-rsa " + base64.StdEncoding.EncodeToString(blob) + " test@berth"
}

// SSH public keys are parsed for real: the fingerprint is ssh-keygen's
// MD5 one, the PEM encoding is the same key, and short, duplicate or
// unsupported keys are refused.
func TestIAMMoreSSHKeys(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithCredentials(iamTestAccount, "ssh-secret"))
	dir := t.TempDir()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	line := sshRSALine(&k.PublicKey)
	pubFile := filepath.Join(dir, "id_rsa.pub")
	os.WriteFile(pubFile, []byte(line+"\n"), 0o600)
	want := ""
	if kg, err := exec.LookPath("ssh-keygen"); err == nil {
		out, err := exec.Command(kg, "-l", "-E", "md5", "-f", pubFile).Output()
		if err != nil {
			t.Fatalf("ssh-keygen: %v", err)
		}
		// "2048 MD5:ab:cd:... test@berth (RSA)"
		f := strings.Fields(string(out))
		want = strings.TrimPrefix(f[1], "MD5:")
	} else {
		t.Log("ssh-keygen not found: only checking the fingerprint's form")
	}

	for _, cli := range awsCLIs {
		t.Run(cli.name, func(t *testing.T) {
			aws := func(args ...string) *harness.Result { return cli.run(b, t, args...) }
			user := "git-" + cli.name
			aws("iam", "create-user", "--user-name", user).Must(t)
			var up struct {
				SSHPublicKey struct{ SSHPublicKeyId, Fingerprint, Status, SSHPublicKeyBody, UserName string }
			}
			aws("iam", "upload-ssh-public-key", "--user-name", user, "--ssh-public-key-body", "file://"+pubFile).Must(t).JSON(t, &up)
			k := up.SSHPublicKey
			if !strings.HasPrefix(k.SSHPublicKeyId, "APKA") || k.Status != "Active" || k.UserName != user || len(k.Fingerprint) != 47 ||
				(want != "" && k.Fingerprint != want) {
				t.Fatalf("upload-ssh-public-key: %+v, want fingerprint %s", k, want)
			}
			assertCode(t, aws("iam", "upload-ssh-public-key", "--user-name", user, "--ssh-public-key-body", "file://"+pubFile), "DuplicateSSHPublicKey")

			var got struct {
				SSHPublicKey struct{ SSHPublicKeyBody string }
			}
			aws("iam", "get-ssh-public-key", "--user-name", user, "--ssh-public-key-id", k.SSHPublicKeyId, "--encoding", "PEM").Must(t).JSON(t, &got)
			blk, _ := pem.Decode([]byte(got.SSHPublicKey.SSHPublicKeyBody))
			if blk == nil {
				t.Fatalf("PEM encoding: %q", got.SSHPublicKey.SSHPublicKeyBody)
			}
			pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
			if rk, ok := pub.(*rsa.PublicKey); err != nil || !ok || rk.N.Cmp(publicN(t, line)) != 0 {
				t.Errorf("PEM key is not the uploaded one: %v", err)
			}
			aws("iam", "get-ssh-public-key", "--user-name", user, "--ssh-public-key-id", k.SSHPublicKeyId, "--encoding", "SSH").Must(t).JSON(t, &got)
			if got.SSHPublicKey.SSHPublicKeyBody != strings.TrimSuffix(line, " test@berth") {
				t.Errorf("SSH encoding: %q", got.SSHPublicKey.SSHPublicKeyBody)
			}
			aws("iam", "update-ssh-public-key", "--user-name", user, "--ssh-public-key-id", k.SSHPublicKeyId, "--status", "Inactive").Must(t)
			var list struct {
				SSHPublicKeys []struct{ SSHPublicKeyId, Status string }
			}
			aws("iam", "list-ssh-public-keys", "--user-name", user).Must(t).JSON(t, &list)
			if len(list.SSHPublicKeys) != 1 || list.SSHPublicKeys[0].Status != "Inactive" {
				t.Errorf("list-ssh-public-keys: %+v", list)
			}
			assertCode(t, aws("iam", "delete-user", "--user-name", user), "DeleteConflict")
			aws("iam", "delete-ssh-public-key", "--user-name", user, "--ssh-public-key-id", k.SSHPublicKeyId).Must(t)
			assertCode(t, aws("iam", "get-ssh-public-key", "--user-name", user, "--ssh-public-key-id", k.SSHPublicKeyId, "--encoding", "SSH"), "NoSuchEntity")
			aws("iam", "delete-user", "--user-name", user).Must(t)
		})
	}

	b.AWS(t, "iam", "create-user", "--user-name", "short").Must(t)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	assertCode(t, b.AWS(t, "iam", "upload-ssh-public-key", "--user-name", "short", "--ssh-public-key-body", sshRSALine(&small.PublicKey)), "InvalidPublicKey")
	assertCode(t, b.AWS(t, "iam", "upload-ssh-public-key", "--user-name", "short", "--ssh-public-key-body", "ssh-rsa bm90IGEga2V5"), "InvalidPublicKey")
	assertCode(t, b.AWS(t, "iam", "upload-ssh-public-key", "--user-name", "short", "--ssh-public-key-body", "ssh-dss AAAAB3NzaC1kc3M="), "UnrecognizedPublicKeyEncoding")
}

func publicN(t *testing.T, line string) *big.Int {
	t.Helper()
	blob, _ := base64.StdEncoding.DecodeString(strings.Fields(line)[1])
	next := func() []byte {
		n := binary.BigEndian.Uint32(blob)
		v := blob[4 : 4+n]
		blob = blob[4+n:]
		return v
	}
	next()
	next()
	return new(big.Int).SetBytes(next())
}

// selfSigned writes a certificate for cn and its key as PEM files.
func selfSigned(t *testing.T, dir, cn string, notAfter time.Time) (certFile, keyFile string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter, DNSNames: []string{cn}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(k)
	certFile, keyFile = filepath.Join(dir, cn+".crt"), filepath.Join(dir, cn+".key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600)
	return certFile, keyFile
}

// Server certificates are parsed: the key must be the certificate's, the
// expiration is the certificate's, and they rename, tag and delete; users'
// signing certificates likewise, through boto3.
func TestIAMMoreCertificates(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithCredentials(iamTestAccount, "cert-secret"))
	dir := t.TempDir()
	notAfter := time.Now().Add(90 * 24 * time.Hour).UTC().Truncate(time.Second)
	cert, key := selfSigned(t, dir, "web.example.com", notAfter)
	_, otherKey := selfSigned(t, dir, "other.example.com", notAfter)
	bad := filepath.Join(dir, "bad.crt")
	os.WriteFile(bad, []byte("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"), 0o600)

	aws := func(args ...string) *harness.Result { return b.AWS(t, args...) }
	assertCode(t, aws("iam", "upload-server-certificate", "--server-certificate-name", "web", "--certificate-body", "file://"+cert, "--private-key", "file://"+otherKey), "KeyPairMismatch")
	assertCode(t, aws("iam", "upload-server-certificate", "--server-certificate-name", "web", "--certificate-body", "file://"+bad, "--private-key", "file://"+key), "MalformedCertificate")
	var up struct {
		ServerCertificateMetadata struct{ ServerCertificateName, ServerCertificateId, Arn, Path, Expiration string }
	}
	aws("iam", "upload-server-certificate", "--server-certificate-name", "web", "--path", "/cloudfront/", "--certificate-body", "file://"+cert,
		"--private-key", "file://"+key, "--tags", "Key=env,Value=test").Must(t).JSON(t, &up)
	m := up.ServerCertificateMetadata
	exp, _ := time.Parse(time.RFC3339, m.Expiration)
	if m.Arn != "arn:aws:iam::111111111111:server-certificate/cloudfront/web" || !strings.HasPrefix(m.ServerCertificateId, "ASCA") || !exp.Equal(notAfter) {
		t.Fatalf("upload-server-certificate: %+v (want expiration %s)", m, notAfter)
	}
	assertCode(t, aws("iam", "upload-server-certificate", "--server-certificate-name", "web", "--certificate-body", "file://"+cert, "--private-key", "file://"+key), "EntityAlreadyExists")
	var got struct {
		ServerCertificate struct {
			CertificateBody string
			Tags            []struct{ Key, Value string }
		}
	}
	b.AWSv2(t, "iam", "get-server-certificate", "--server-certificate-name", "web").Must(t).JSON(t, &got)
	pemBody, _ := os.ReadFile(cert)
	if got.ServerCertificate.CertificateBody != strings.TrimSpace(string(pemBody)) || len(got.ServerCertificate.Tags) != 1 {
		t.Errorf("get-server-certificate: %+v", got)
	}
	aws("iam", "update-server-certificate", "--server-certificate-name", "web", "--new-server-certificate-name", "web2", "--new-path", "/").Must(t)
	aws("iam", "tag-server-certificate", "--server-certificate-name", "web2", "--tags", "Key=team,Value=edge").Must(t)
	var tags struct{ Tags []struct{ Key string } }
	aws("iam", "list-server-certificate-tags", "--server-certificate-name", "web2").Must(t).JSON(t, &tags)
	if len(tags.Tags) != 2 || tags.Tags[0].Key != "env" || tags.Tags[1].Key != "team" {
		t.Errorf("list-server-certificate-tags: %+v", tags)
	}
	var list struct {
		ServerCertificateMetadataList []struct{ ServerCertificateName, Path string }
	}
	aws("iam", "list-server-certificates").Must(t).JSON(t, &list)
	if len(list.ServerCertificateMetadataList) != 1 || list.ServerCertificateMetadataList[0].ServerCertificateName != "web2" || list.ServerCertificateMetadataList[0].Path != "/" {
		t.Errorf("list-server-certificates: %+v", list)
	}
	aws("iam", "delete-server-certificate", "--server-certificate-name", "web2").Must(t)
	assertCode(t, aws("iam", "get-server-certificate", "--server-certificate-name", "web2"), "NoSuchEntity")

	// Signing certificates, through boto3.
	aws("iam", "create-user", "--user-name", "signer").Must(t)
	script := `import boto3, json, sys
iam = boto3.client("iam")
body = open(sys.argv[1]).read()
out = {}
c = iam.upload_signing_certificate(UserName="signer", CertificateBody=body)["Certificate"]
out["upload"] = [c["CertificateId"], c["Status"], c["CertificateBody"] == body]
for name, call in [("duplicate", lambda: iam.upload_signing_certificate(UserName="signer", CertificateBody=body)),
                   ("malformed", lambda: iam.upload_signing_certificate(UserName="signer", CertificateBody="junk"))]:
    try:
        call()
        out[name] = "ok"
    except iam.exceptions.ClientError as e:
        out[name] = e.response["Error"]["Code"]
iam.update_signing_certificate(UserName="signer", CertificateId=c["CertificateId"], Status="Inactive")
out["list"] = [x["Status"] for x in iam.list_signing_certificates(UserName="signer")["Certificates"]]
iam.delete_signing_certificate(UserName="signer", CertificateId=c["CertificateId"])
out["after"] = len(iam.list_signing_certificates(UserName="signer")["Certificates"])
print(json.dumps(out))
`
	var res struct {
		Upload               []any
		Duplicate, Malformed string
		List                 []string
		After                int
	}
	b.Python(t, script, cert).Must(t).JSON(t, &res)
	if len(res.Upload) != 3 || res.Upload[1] != "Active" || res.Upload[2] != true || res.Duplicate != "DuplicateCertificate" ||
		res.Malformed != "MalformedCertificate" || len(res.List) != 1 || res.List[0] != "Inactive" || res.After != 0 {
		t.Errorf("signing certificates: %+v", res)
	}
}

// totpCode is RFC 6238's code of a base32 seed at a 30-second step.
func totpCode(t *testing.T, seed string, step int64) string {
	t.Helper()
	k, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(seed, "="))
	if err != nil {
		t.Fatalf("seed %q: %v", seed, err)
	}
	m := hmac.New(sha1.New, k)
	binary.Write(m, binary.BigEndian, step)
	s := m.Sum(nil)
	o := s[19] & 15
	return fmt.Sprintf("%06d", (binary.BigEndian.Uint32(s[o:])&0x7fffffff)%1000000)
}

// A virtual MFA device's seed really drives it: codes computed from it
// (in Go for the CLI, in Python for boto3) enable and resync it and get
// STS session tokens, wrong or replayed ones are refused; an enabled
// device blocks its own deletion.
func TestIAMMoreMFADevices(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithCredentials(iamTestAccount, "mfa-secret"))
	aws := func(args ...string) *harness.Result { return b.AWS(t, args...) }
	aws("iam", "create-user", "--user-name", "bob").Must(t)
	var dev struct{ VirtualMFADevice struct{ SerialNumber string } }
	// The CLI writes the seed it is given to a file, as for an
	// authenticator app.
	seedFile := filepath.Join(t.TempDir(), "seed.txt")
	aws("iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", "bob-phone", "--tags", "Key=owner,Value=bob",
		"--outfile", seedFile, "--bootstrap-method", "Base32StringSeed").Must(t).JSON(t, &dev)
	serial := dev.VirtualMFADevice.SerialNumber
	seed, err := os.ReadFile(seedFile)
	if serial != "arn:aws:iam::111111111111:mfa/bob-phone" || err != nil || len(seed) != 64 {
		t.Fatalf("create-virtual-mfa-device: %+v, seed %q (%v)", dev, seed, err)
	}
	assertCode(t, aws("iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", "bob-phone",
		"--outfile", seedFile+".2", "--bootstrap-method", "Base32StringSeed"), "EntityAlreadyExists")

	now := time.Now().Unix() / 30
	assertCode(t, aws("iam", "enable-mfa-device", "--user-name", "bob", "--serial-number", serial,
		"--authentication-code1", "123456", "--authentication-code2", "654321"), "InvalidAuthenticationCode")
	// Swapped codes are two valid codes, but not in order.
	c1, c2 := totpCode(t, string(seed), now-1), totpCode(t, string(seed), now)
	assertCode(t, aws("iam", "enable-mfa-device", "--user-name", "bob", "--serial-number", serial,
		"--authentication-code1", c2, "--authentication-code2", c1), "InvalidAuthenticationCode")
	aws("iam", "enable-mfa-device", "--user-name", "bob", "--serial-number", serial, "--authentication-code1", c1, "--authentication-code2", c2).Must(t)

	var devs struct {
		MFADevices []struct{ UserName, SerialNumber, EnableDate string }
	}
	b.AWSv2(t, "iam", "list-mfa-devices", "--user-name", "bob").Must(t).JSON(t, &devs)
	if len(devs.MFADevices) != 1 || devs.MFADevices[0].SerialNumber != serial || devs.MFADevices[0].EnableDate == "" {
		t.Errorf("list-mfa-devices: %+v", devs)
	}
	var virt struct {
		VirtualMFADevices []struct {
			SerialNumber string
			User         struct{ UserName string }
		}
	}
	aws("iam", "list-virtual-mfa-devices", "--assignment-status", "Assigned").Must(t).JSON(t, &virt)
	if len(virt.VirtualMFADevices) != 1 || virt.VirtualMFADevices[0].User.UserName != "bob" {
		t.Errorf("list-virtual-mfa-devices Assigned: %+v", virt)
	}
	var tags struct{ Tags []struct{ Key, Value string } }
	aws("iam", "list-mfa-device-tags", "--serial-number", serial).Must(t).JSON(t, &tags)
	if len(tags.Tags) != 1 || tags.Tags[0].Value != "bob" {
		t.Errorf("list-mfa-device-tags: %+v", tags)
	}
	assertCode(t, aws("iam", "delete-virtual-mfa-device", "--serial-number", serial), "DeleteConflict")
	assertCode(t, aws("iam", "delete-user", "--user-name", "bob"), "DeleteConflict")
	// The pair already used cannot be replayed to resync.
	assertCode(t, aws("iam", "resync-mfa-device", "--user-name", "bob", "--serial-number", serial,
		"--authentication-code1", c1, "--authentication-code2", c2), "InvalidAuthenticationCode")

	// boto3, computing the codes itself, resyncs with the next pair and
	// enables a second device.
	script := `import boto3, base64, hashlib, hmac, json, struct, sys, time
iam = boto3.client("iam")
def code(seed, step):
    k = base64.b32decode(seed)
    h = hmac.new(k, struct.pack(">Q", step), hashlib.sha1).digest()
    o = h[-1] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o+4])[0] & 0x7fffffff) % 1000000)
out = {}
now = int(time.time()) // 30
seed = sys.argv[1]
iam.resync_mfa_device(UserName="bob", SerialNumber=sys.argv[2], AuthenticationCode1=code(seed, now + 1), AuthenticationCode2=code(seed, now + 2))
d = iam.create_virtual_mfa_device(VirtualMFADeviceName="bob-key", Path="/backup/")["VirtualMFADevice"]
out["serial"] = d["SerialNumber"]
s2 = d["Base32StringSeed"].decode()
try:
    iam.enable_mfa_device(UserName="bob", SerialNumber=d["SerialNumber"], AuthenticationCode1="000000", AuthenticationCode2="000001")
    out["wrong"] = "ok"
except iam.exceptions.ClientError as e:
    out["wrong"] = e.response["Error"]["Code"]
iam.enable_mfa_device(UserName="bob", SerialNumber=d["SerialNumber"], AuthenticationCode1=code(s2, now - 1), AuthenticationCode2=code(s2, now))
out["enabled"] = sorted(x["SerialNumber"] for x in iam.list_mfa_devices(UserName="bob")["MFADevices"])
g = iam.get_mfa_device(UserName="bob", SerialNumber=d["SerialNumber"])
out["get"] = g["UserName"]
out["seed2"] = s2
print(json.dumps(out))
`
	var res struct {
		Serial, Wrong, Get, Seed2 string
		Enabled                   []string
	}
	b.Python(t, script, string(seed), serial).Must(t).JSON(t, &res)
	if res.Serial != "arn:aws:iam::111111111111:mfa/backup/bob-key" || res.Wrong != "InvalidAuthenticationCode" || len(res.Enabled) != 2 || res.Get != "bob" {
		t.Errorf("boto3 MFA: %+v", res)
	}

	// STS checks the device's codes: bob's session token needs a good,
	// unused one.
	var bk accessKeyOut
	aws("iam", "create-access-key", "--user-name", "bob").Must(t).JSON(t, &bk)
	asBob := b.As(bk.AccessKey.AccessKeyId, bk.AccessKey.SecretAccessKey)
	step := time.Now().Unix()/30 + 1
	good, wrong := totpCode(t, res.Seed2, step), totpCode(t, res.Seed2, step+7)
	assertCode(t, asBob.AWS(t, "sts", "get-session-token", "--serial-number", res.Serial, "--token-code", wrong), "AccessDenied")
	assertCode(t, asBob.AWS(t, "sts", "get-session-token", "--serial-number", "arn:aws:iam::111111111111:mfa/nobody", "--token-code", good), "AccessDenied")
	asBob.AWS(t, "sts", "get-session-token", "--serial-number", res.Serial, "--token-code", good).Must(t)
	assertCode(t, asBob.AWS(t, "sts", "get-session-token", "--serial-number", res.Serial, "--token-code", good), "AccessDenied")
	aws("iam", "delete-access-key", "--user-name", "bob", "--access-key-id", bk.AccessKey.AccessKeyId).Must(t)

	for _, sn := range []string{serial, res.Serial} {
		aws("iam", "deactivate-mfa-device", "--user-name", "bob", "--serial-number", sn).Must(t)
		aws("iam", "delete-virtual-mfa-device", "--serial-number", sn).Must(t)
	}
	aws("iam", "list-virtual-mfa-devices").Must(t).JSON(t, &virt)
	if len(virt.VirtualMFADevices) != 0 {
		t.Errorf("devices left: %+v", virt)
	}
	aws("iam", "delete-user", "--user-name", "bob").Must(t)
}

// Berth never encodes authorization messages, so STS decodes none.
func TestIAMMoreDecodeAuthorizationMessage(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithCredentials(iamTestAccount, "decode-secret"))
	for _, cli := range awsCLIs {
		assertCode(t, cli.run(b, t, "sts", "decode-authorization-message", "--encoded-message", "abc123"), "InvalidAuthorizationMessageException")
	}
}

// The credential report is a real CSV of the account's root and users in
// IAM's column order, saying which have passwords, MFA and keys; it is
// kept four hours, as IAM keeps it.
func TestIAMMoreCredentialReport(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithCredentials(iamTestAccount, "report-secret"))
	aws := func(args ...string) *harness.Result { return b.AWS(t, args...) }
	assertCode(t, aws("iam", "get-credential-report"), "ReportNotPresent")
	aws("iam", "create-user", "--user-name", "carol").Must(t)
	aws("iam", "create-login-profile", "--user-name", "carol", "--password", "Carol-password-1").Must(t)
	var key accessKeyOut
	aws("iam", "create-access-key", "--user-name", "carol").Must(t).JSON(t, &key)
	// The key is used once, so its last use is in the report.
	b.As(key.AccessKey.AccessKeyId, key.AccessKey.SecretAccessKey).AWS(t, "sts", "get-caller-identity").Must(t)
	aws("iam", "create-user", "--user-name", "dave").Must(t)

	script := `import boto3, csv, io, json
iam = boto3.client("iam")
out = {"first": iam.generate_credential_report()["State"], "second": iam.generate_credential_report()["State"]}
r = iam.get_credential_report()
out["format"] = r["ReportFormat"]
out["rows"] = list(csv.reader(io.StringIO(r["Content"].decode())))
print(json.dumps(out))
`
	var res struct {
		First, Second, Format string
		Rows                  [][]string
	}
	b.Python(t, script).Must(t).JSON(t, &res)
	if res.First != "STARTED" || res.Second != "COMPLETE" || res.Format != "text/csv" || len(res.Rows) != 4 {
		t.Fatalf("credential report: %+v", res)
	}
	header := strings.Join(res.Rows[0], ",")
	if header != "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,"+
		"access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"+
		"access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,"+
		"cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated" {
		t.Errorf("header %s", header)
	}
	rows := map[string][]string{}
	for _, r := range res.Rows[1:] {
		rows[r[0]] = r
	}
	root, carol, dave := rows["<root_account>"], rows["carol"], rows["dave"]
	if root == nil || root[1] != "arn:aws:iam::111111111111:root" {
		t.Errorf("root row %v", root)
	}
	if carol == nil || carol[1] != "arn:aws:iam::111111111111:user/carol" || carol[3] != "true" || carol[5] == "N/A" ||
		carol[8] != "true" || carol[10] == "N/A" || carol[11] != "us-east-1" || carol[12] != "sts" || carol[13] != "false" {
		t.Errorf("carol's row %v", carol)
	}
	if dave == nil || dave[3] != "false" || dave[8] != "false" || dave[7] != "false" {
		t.Errorf("dave's row %v", dave)
	}
}

// Service-specific credentials are made for the services IAM makes them
// for, their password shown once and changed on reset; SAML providers are
// registered from real metadata, whose validUntil IAM reports.
func TestIAMMoreServiceCredentialsAndSAML(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithCredentials(iamTestAccount, "sso-secret"))
	for _, cli := range awsCLIs {
		t.Run(cli.name, func(t *testing.T) {
			aws := func(args ...string) *harness.Result { return cli.run(b, t, args...) }
			user := "coder-" + cli.name
			aws("iam", "create-user", "--user-name", user).Must(t)
			type cred struct {
				ServiceSpecificCredential struct {
					ServiceUserName, ServicePassword, ServiceSpecificCredentialId, Status, ServiceName string
				}
			}
			var c cred
			aws("iam", "create-service-specific-credential", "--user-name", user, "--service-name", "codecommit.amazonaws.com").Must(t).JSON(t, &c)
			sc := c.ServiceSpecificCredential
			if sc.ServiceUserName != user+"-at-111111111111" || len(sc.ServicePassword) != 44 || !strings.HasPrefix(sc.ServiceSpecificCredentialId, "ACCA") || sc.Status != "Active" {
				t.Fatalf("create-service-specific-credential: %+v", sc)
			}
			assertCode(t, aws("iam", "create-service-specific-credential", "--user-name", user, "--service-name", "ecr.amazonaws.com"), "NotSupportedService")
			var reset cred
			aws("iam", "reset-service-specific-credential", "--user-name", user, "--service-specific-credential-id", sc.ServiceSpecificCredentialId).Must(t).JSON(t, &reset)
			if reset.ServiceSpecificCredential.ServicePassword == "" || reset.ServiceSpecificCredential.ServicePassword == sc.ServicePassword {
				t.Errorf("reset kept the password: %+v", reset)
			}
			aws("iam", "update-service-specific-credential", "--user-name", user, "--service-specific-credential-id", sc.ServiceSpecificCredentialId, "--status", "Inactive").Must(t)
			var list struct {
				ServiceSpecificCredentials []struct{ Status, ServicePassword string }
			}
			aws("iam", "list-service-specific-credentials", "--user-name", user).Must(t).JSON(t, &list)
			if len(list.ServiceSpecificCredentials) != 1 || list.ServiceSpecificCredentials[0].Status != "Inactive" || list.ServiceSpecificCredentials[0].ServicePassword != "" {
				t.Errorf("list-service-specific-credentials: %+v", list)
			}
			assertCode(t, aws("iam", "delete-user", "--user-name", user), "DeleteConflict")
			aws("iam", "delete-service-specific-credential", "--user-name", user, "--service-specific-credential-id", sc.ServiceSpecificCredentialId).Must(t)
			aws("iam", "delete-user", "--user-name", user).Must(t)
		})
	}

	dir := t.TempDir()
	cert, _ := selfSigned(t, dir, "idp.example.com", time.Now().Add(365*24*time.Hour))
	certPEM, _ := os.ReadFile(cert)
	blk, _ := pem.Decode(certPEM)
	metadata := func(validUntil string) string {
		return `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com/saml" validUntil="` + validUntil + `">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>` +
			base64.StdEncoding.EncodeToString(blk.Bytes) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`
	}
	first, second := filepath.Join(dir, "md1.xml"), filepath.Join(dir, "md2.xml")
	os.WriteFile(first, []byte(metadata("2030-01-02T03:04:05Z")), 0o600)
	os.WriteFile(second, []byte(metadata("2031-06-07T08:09:10Z")), 0o600)
	notMetadata := filepath.Join(dir, "bad.xml")
	os.WriteFile(notMetadata, []byte(`<html><body>`+strings.Repeat("not saml metadata ", 80)+`</body></html>`), 0o600)

	aws := func(args ...string) *harness.Result { return b.AWS(t, args...) }
	assertCode(t, aws("iam", "create-saml-provider", "--name", "corp", "--saml-metadata-document", "file://"+notMetadata), "InvalidInput")
	var created struct{ SAMLProviderArn string }
	aws("iam", "create-saml-provider", "--name", "corp", "--saml-metadata-document", "file://"+first, "--tags", "Key=team,Value=it").Must(t).JSON(t, &created)
	if created.SAMLProviderArn != "arn:aws:iam::111111111111:saml-provider/corp" {
		t.Fatalf("create-saml-provider: %+v", created)
	}
	assertCode(t, aws("iam", "create-saml-provider", "--name", "corp", "--saml-metadata-document", "file://"+first), "EntityAlreadyExists")
	var got struct{ ValidUntil, SAMLMetadataDocument, CreateDate string }
	b.AWSv2(t, "iam", "get-saml-provider", "--saml-provider-arn", created.SAMLProviderArn).Must(t).JSON(t, &got)
	if vu, _ := time.Parse(time.RFC3339, got.ValidUntil); !vu.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) || !strings.Contains(got.SAMLMetadataDocument, "idp.example.com/saml") {
		t.Errorf("get-saml-provider: %+v", got)
	}
	aws("iam", "update-saml-provider", "--saml-provider-arn", created.SAMLProviderArn, "--saml-metadata-document", "file://"+second).Must(t)
	var list struct {
		SAMLProviderList []struct{ Arn, ValidUntil string }
	}
	aws("iam", "list-saml-providers").Must(t).JSON(t, &list)
	if len(list.SAMLProviderList) != 1 {
		t.Fatalf("list-saml-providers: %+v", list)
	}
	if vu, _ := time.Parse(time.RFC3339, list.SAMLProviderList[0].ValidUntil); !vu.Equal(time.Date(2031, 6, 7, 8, 9, 10, 0, time.UTC)) {
		t.Errorf("validUntil after update: %+v", list)
	}
	var tags struct{ Tags []struct{ Key, Value string } }
	aws("iam", "list-saml-provider-tags", "--saml-provider-arn", created.SAMLProviderArn).Must(t).JSON(t, &tags)
	if len(tags.Tags) != 1 || tags.Tags[0].Key != "team" {
		t.Errorf("list-saml-provider-tags: %+v", tags)
	}
	aws("iam", "delete-saml-provider", "--saml-provider-arn", created.SAMLProviderArn).Must(t)
	assertCode(t, aws("iam", "get-saml-provider", "--saml-provider-arn", created.SAMLProviderArn), "NoSuchEntity")
}

const credentialsTerraformConfig = `
resource "aws_iam_account_password_policy" "strict" {
  minimum_password_length        = 14
  require_numbers                = true
  require_symbols                = true
  allow_users_to_change_password = true
}

resource "aws_iam_user" "dev" {
  name          = "tf-dev"
  force_destroy = true
}

resource "aws_iam_user_login_profile" "dev" {
  user                    = aws_iam_user.dev.name
  password_reset_required = true
  depends_on              = [aws_iam_account_password_policy.strict]
}

resource "aws_iam_user_ssh_key" "dev" {
  username   = aws_iam_user.dev.name
  encoding   = "SSH"
  public_key = "SSH_KEY"
}

resource "aws_iam_signing_certificate" "dev" {
  user_name        = aws_iam_user.dev.name
  certificate_body = <<EOT
CERT_BODY
EOT
}

resource "aws_iam_service_specific_credential" "dev" {
  user_name    = aws_iam_user.dev.name
  service_name = "codecommit.amazonaws.com"
}

resource "aws_iam_virtual_mfa_device" "dev" {
  virtual_mfa_device_name = "tf-dev-phone"
  tags = {
    owner = "tf-dev"
  }
}

resource "aws_iam_server_certificate" "web" {
  name             = "tf-web"
  certificate_body = <<EOT
CERT_BODY
EOT
  private_key      = <<EOT
CERT_KEY
EOT
}

resource "aws_iam_saml_provider" "corp" {
  name                   = "tf-corp"
  saml_metadata_document = <<EOT
SAML_METADATA
EOT
}

output "password" {
  value     = aws_iam_user_login_profile.dev.password
  sensitive = true
}

output "fingerprint" {
  value = aws_iam_user_ssh_key.dev.fingerprint
}

output "expiration" {
  value = aws_iam_server_certificate.web.expiration
}

output "valid_until" {
  value = aws_iam_saml_provider.corp.valid_until
}
`

// Terraform manages passwords, the password policy, SSH keys, signing
// and server certificates, service-specific credentials, virtual MFA
// devices and SAML providers: apply, no drift, destroy; the password it
// generates satisfies the policy it set.
func TestIAMMoreCredentialsWithTerraform(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithCredentials(iamTestAccount, "tf-creds-secret"))
	dir := t.TempDir()
	notAfter := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
	certFile, keyFile := selfSigned(t, dir, "tf.example.com", notAfter)
	certPEM, _ := os.ReadFile(certFile)
	keyPEM, _ := os.ReadFile(keyFile)
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(certPEM)
	metadata := `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com/saml" validUntil="2032-01-01T00:00:00Z">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>` +
		base64.StdEncoding.EncodeToString(blk.Bytes) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`
	config := strings.NewReplacer(
		"SSH_KEY", strings.TrimSuffix(sshRSALine(&k.PublicKey), " test@berth"),
		"CERT_BODY", strings.TrimSpace(string(certPEM)),
		"CERT_KEY", strings.TrimSpace(string(keyPEM)),
		"SAML_METADATA", metadata,
	).Replace(credentialsTerraformConfig)
	tf := startTerraform(t, b, config)
	tf.Apply(t)
	tf.NoDrift(t)

	pw := tf.Output(t, "password")
	if len(pw) < 14 || !strings.ContainsAny(pw, "0123456789") || !strings.ContainsAny(pw, passwordSymbolsForTest) {
		t.Errorf("generated password %q does not satisfy the policy", pw)
	}
	if fp := tf.Output(t, "fingerprint"); len(fp) != 47 {
		t.Errorf("fingerprint %q", fp)
	}
	if exp, _ := time.Parse(time.RFC3339, tf.Output(t, "expiration")); !exp.Equal(notAfter) {
		t.Errorf("server certificate expiration %q, want %s", tf.Output(t, "expiration"), notAfter)
	}
	if vu, _ := time.Parse(time.RFC3339, tf.Output(t, "valid_until")); !vu.Equal(time.Date(2032, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("SAML valid_until %q", tf.Output(t, "valid_until"))
	}
	var lp struct {
		LoginProfile struct{ PasswordResetRequired bool }
	}
	b.AWS(t, "iam", "get-login-profile", "--user-name", "tf-dev").Must(t).JSON(t, &lp)
	if !lp.LoginProfile.PasswordResetRequired {
		t.Errorf("get-login-profile: %+v", lp)
	}

	tf.Destroy(t)
	assertCode(t, b.AWS(t, "iam", "get-user", "--user-name", "tf-dev"), "NoSuchEntity")
	assertCode(t, b.AWS(t, "iam", "get-account-password-policy"), "NoSuchEntity")
	var virt struct{ VirtualMFADevices []any }
	b.AWS(t, "iam", "list-virtual-mfa-devices").Must(t).JSON(t, &virt)
	if len(virt.VirtualMFADevices) != 0 {
		t.Errorf("MFA devices left after destroy: %+v", virt)
	}
}

const passwordSymbolsForTest = "!@#$%^&*()_+-=[]{}|'"
