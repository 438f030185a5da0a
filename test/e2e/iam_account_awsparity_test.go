package e2e

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/harness"
)

// iamAccountParityScript records, through boto3, the answers where
// Berth's account-level and credential IAM entities differed from AWS's
// recorded ones. argv: certificate file, private key file, SAML metadata.
const iamAccountParityScript = `
import json, sys, boto3, botocore
iam = boto3.client("iam")
acct = boto3.client("sts").get_caller_identity()["Account"]
body, key = open(sys.argv[1]).read(), open(sys.argv[2]).read()
out = {}

def err(f):
    try:
        f()
    except botocore.exceptions.ClientError as e:
        return [e.response["Error"]["Code"], e.response["Error"]["Message"].replace(acct, "ACCT")]
    return None

iam.update_account_password_policy()
out["passwordPolicyKeys"] = sorted(iam.get_account_password_policy()["PasswordPolicy"])
out["summaryPasswordPresent"] = iam.get_account_summary()["SummaryMap"].get("AccountPasswordPresent")
out["badAlias"] = err(lambda: iam.create_account_alias(AccountAlias="Bad_Alias"))[0]

iam.create_virtual_mfa_device(VirtualMFADeviceName="dev")
mfa = "arn:aws:iam::%s:mfa/" % acct
out["mfaDuplicate"] = err(lambda: iam.create_virtual_mfa_device(VirtualMFADeviceName="dev"))
out["mfaPathNoLeadingSlash"] = err(lambda: iam.create_virtual_mfa_device(VirtualMFADeviceName="p", Path="test/"))
out["mfaDeleteMissing"] = err(lambda: iam.delete_virtual_mfa_device(SerialNumber=mfa + "nope"))
iam.create_user(UserName="alice")
out["mfaDeactivateMissing"] = err(lambda: iam.deactivate_mfa_device(UserName="alice", SerialNumber=mfa + "nope"))
out["mfaBadMarker"] = err(lambda: iam.list_virtual_mfa_devices(Marker="garbage"))

url = "https://oidc.example.com"
arn = iam.create_open_id_connect_provider(Url=url, ThumbprintList=["a" * 40])["OpenIDConnectProviderArn"]
out["oidcTags"] = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn).get("Tags")
out["oidcBadUrl"] = err(lambda: iam.create_open_id_connect_provider(Url="example.org", ThumbprintList=["a" * 40]))
out["oidcSixThumbprints"] = err(lambda: iam.create_open_id_connect_provider(
    Url="https://six.example.com", ThumbprintList=[c * 40 for c in "abcdef"]))
iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
out["oidcDeleteAgain"] = err(lambda: iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn))[0]

sarn = iam.create_saml_provider(Name="corp", SAMLMetadataDocument=open(sys.argv[3]).read())["SAMLProviderArn"]
s = iam.get_saml_provider(SAMLProviderArn=sarn)
out["saml"] = [s.get("AssertionEncryptionMode"), s.get("PrivateKeyList"), s.get("Tags")]

iam.upload_server_certificate(ServerCertificateName="web", CertificateBody=body, PrivateKey=key)
out["serverCertTags"] = iam.get_server_certificate(ServerCertificateName="web")["ServerCertificate"].get("Tags")
out["signingCertMalformed"] = err(lambda: iam.upload_signing_certificate(UserName="alice", CertificateBody="not-a-cert"))
print(json.dumps(out))
`

// TestIAMAccountAWSParity checks account-level and credential IAM answers
// against AWS's recorded ones: a default password policy has no
// HardExpiry; the account summary has AccountPasswordPresent; aliases
// follow the model's pattern; virtual MFA devices use IAM's wording for a
// duplicate, a path without its slashes, a missing device and a bad
// Marker; an OIDC provider's Get has Tags, a malformed URL is
// ValidationError, six thumbprints are InvalidInput and deleting a
// provider twice is NoSuchEntity; a SAML provider reports its encryption
// mode (Allowed), keys and tags; a server certificate has Tags; and a
// malformed signing certificate quotes the body.
func TestIAMAccountAWSParity(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	dir := t.TempDir()
	cert, key := selfSigned(t, dir, "web.example.com", time.Now().Add(24*time.Hour))
	certPEM, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(certPEM)
	metadata := filepath.Join(dir, "metadata.xml")
	doc := `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com/saml" validUntil="2030-01-02T03:04:05Z">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>` +
		base64.StdEncoding.EncodeToString(blk.Bytes) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`
	if err := os.WriteFile(metadata, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	b.Python(t, iamAccountParityScript, cert, key, metadata).Must(t).JSON(t, &got)

	const acct = "arn:aws:iam::ACCT:"
	want := map[string]any{
		"passwordPolicyKeys": []any{"AllowUsersToChangePassword", "ExpirePasswords", "MinimumPasswordLength",
			"RequireLowercaseCharacters", "RequireNumbers", "RequireSymbols", "RequireUppercaseCharacters"},
		"summaryPasswordPresent": 0.0,
		"badAlias":               "ValidationError",
		"mfaDuplicate":           []any{"EntityAlreadyExists", "MFA device already exists."},
		"mfaPathNoLeadingSlash": []any{"ValidationError", "The specified value for path is invalid. " +
			"It must begin and end with / and contain only alphanumeric characters and/or / characters."},
		"mfaDeleteMissing":     []any{"NoSuchEntity", "MFA Device with serial number " + acct + "mfa/nope does not exist."},
		"mfaDeactivateMissing": []any{"NoSuchEntity", "MFA Device with serial number " + acct + "mfa/nope does not exist."},
		"mfaBadMarker":         []any{"ValidationError", "Invalid Marker."},
		"oidcTags":             []any{},
		"oidcBadUrl":           []any{"ValidationError", "Invalid Open ID Connect Provider URL"},
		"oidcSixThumbprints":   []any{"InvalidInput", "Thumbprint list must contain fewer than 5 entries."},
		"oidcDeleteAgain":      "NoSuchEntity",
		"saml":                 []any{"Allowed", []any{}, []any{}},
		"serverCertTags":       []any{},
		"signingCertMalformed": []any{"MalformedCertificate", "Certificate not-a-cert is malformed."},
	}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			g, _ := json.Marshal(got[k])
			ws, _ := json.Marshal(w)
			t.Errorf("%s = %s, want %s", k, g, ws)
		}
	}
}
