package e2e

import (
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

// sdCompatScript drives the corners of Cloud Map's API where Berth once
// differed from AWS, through boto3.
const sdCompatScript = `
import json, boto3, botocore
sd = boto3.client("servicediscovery")
out = {}

def code(f):
    try:
        f()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
    return None

def ns_id(op):
    return sd.get_operation(OperationId=op["OperationId"])["Operation"]["Targets"]["NAMESPACE"]

# A private namespace's name is a Route 53 private hosted zone's: any
# printable ASCII but a space, such as an underscore.
priv = ns_id(sd.create_private_dns_namespace(Name="dns_ns", Vpc="vpc-1"))
out["private_name"] = sd.get_namespace(Id=priv)["Namespace"]["Name"]
out["private_empty_label"] = code(lambda: sd.create_private_dns_namespace(Name="a..local", Vpc="vpc-1"))
out["public_underscore"] = code(lambda: sd.create_public_dns_namespace(Name="bad_name.example.com"))

# HealthCheckConfig: public DNS and HTTP namespaces only.
http = ns_id(sd.create_http_namespace(Name="compat-http"))
hc = {"Type": "HTTP", "ResourcePath": "/health", "FailureThreshold": 3}
hs = sd.create_service(Name="web", NamespaceId=http, HealthCheckConfig=hc)["Service"]
out["http_hc"] = hs.get("HealthCheckConfig")
out["private_hc"] = code(lambda: sd.create_service(Name="web", NamespaceId=priv, HealthCheckConfig=hc))

# In a DNS namespace, an UpdateService that omits HealthCheckConfig deletes it.
pub = ns_id(sd.create_public_dns_namespace(Name="compat.example.com"))
ps = sd.create_service(Name="api", NamespaceId=pub, HealthCheckConfig=hc,
                       DnsConfig={"DnsRecords": [{"Type": "A", "TTL": 60}]})["Service"]
sd.update_service(Id=ps["Id"], Service={"Description": "no check"})
got = sd.get_service(Id=ps["Id"])["Service"]
out["public_after_omit"] = {"description": got.get("Description"), "hc": got.get("HealthCheckConfig"),
                            "records": got["DnsConfig"]["DnsRecords"]}
sd.update_service(Id=ps["Id"], Service={"HealthCheckConfig": hc, "DnsConfig": {"DnsRecords": [{"Type": "A", "TTL": 30}]}})
got = sd.get_service(Id=ps["Id"])["Service"]
out["public_after_set"] = {"hc": got.get("HealthCheckConfig"), "records": got["DnsConfig"]["DnsRecords"]}
print(json.dumps(out))
`

// TestServiceDiscoveryCompatNamesAndHealthChecks covers what running moto's
// Cloud Map suite against Berth found: private DNS namespace names as Route
// 53 takes them, HealthCheckConfig in HTTP namespaces, and UpdateService
// deleting an omitted HealthCheckConfig in DNS namespaces.
func TestServiceDiscoveryCompatNamesAndHealthChecks(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	type record struct {
		Type string
		TTL  int
	}
	type check struct {
		Type             string
		ResourcePath     string
		FailureThreshold int
	}
	var got struct {
		PrivateName       string  `json:"private_name"`
		PrivateEmptyLabel *string `json:"private_empty_label"`
		PublicUnderscore  *string `json:"public_underscore"`
		HTTPHC            *check  `json:"http_hc"`
		PrivateHC         *string `json:"private_hc"`
		PublicAfterOmit   struct {
			Description string
			HC          *check
			Records     []record
		} `json:"public_after_omit"`
		PublicAfterSet struct {
			HC      *check
			Records []record
		} `json:"public_after_set"`
	}
	b.Python(t, sdCompatScript).Must(t).JSON(t, &got)

	if got.PrivateName != "dns_ns" {
		t.Errorf("private DNS namespace dns_ns: name %q", got.PrivateName)
	}
	if got.PrivateEmptyLabel == nil || *got.PrivateEmptyLabel != "InvalidInput" {
		t.Errorf("private DNS namespace a..local: %v, want InvalidInput", got.PrivateEmptyLabel)
	}
	if got.PublicUnderscore == nil || *got.PublicUnderscore != "InvalidInput" {
		t.Errorf("public DNS namespace bad_name.example.com: %v, want InvalidInput", got.PublicUnderscore)
	}
	if got.HTTPHC == nil || got.HTTPHC.Type != "HTTP" || got.HTTPHC.ResourcePath != "/health" || got.HTTPHC.FailureThreshold != 3 {
		t.Errorf("HealthCheckConfig in an HTTP namespace: %+v", got.HTTPHC)
	}
	if got.PrivateHC == nil || *got.PrivateHC != "InvalidInput" {
		t.Errorf("HealthCheckConfig in a private DNS namespace: %v, want InvalidInput", got.PrivateHC)
	}
	if a := got.PublicAfterOmit; a.Description != "no check" || a.HC != nil || len(a.Records) != 1 || a.Records[0] != (record{"A", 60}) {
		t.Errorf("UpdateService omitting HealthCheckConfig in a public DNS namespace: %+v, want the check deleted", a)
	}
	if a := got.PublicAfterSet; a.HC == nil || a.HC.ResourcePath != "/health" || len(a.Records) != 1 || a.Records[0] != (record{"A", 30}) {
		t.Errorf("UpdateService setting HealthCheckConfig again: %+v", a)
	}
}
