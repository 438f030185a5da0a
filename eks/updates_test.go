package eks

import (
	"testing"

	"github.com/berth-dev/berth/awsapi"
)

// A cluster's own updates through the API: a config change and a version
// step each record an update that turns Successful and leave the cluster
// ACTIVE with the change; an empty, a double and a skipping update are
// refused.
func TestClusterUpdates(t *testing.T) {
	_, base := testServer(t, &awsapi.Authenticator{})
	if status, m, _ := call(t, base, "POST", "/clusters", `{"name":"prod","version":"1.35","roleArn":"arn:aws:iam::000000000000:role/eks","resourcesVpcConfig":{}}`); status != 200 {
		t.Fatalf("create: %d %v", status, m)
	}
	waitFor(t, base, "/clusters/prod", "cluster", "ACTIVE")

	status, m, _ := call(t, base, "POST", "/clusters/prod/update-config", `{"deletionProtection":true}`)
	if status != 200 || m["update"].(map[string]any)["type"] != "DeletionProtectionUpdate" {
		t.Fatalf("update-config: %d %v", status, m)
	}
	waitFor(t, base, "/clusters/prod/updates/"+m["update"].(map[string]any)["id"].(string), "update", "Successful")
	c := waitFor(t, base, "/clusters/prod", "cluster", "ACTIVE")
	if c["deletionProtection"] != true {
		t.Errorf("deletionProtection = %v", c["deletionProtection"])
	}

	for _, body := range []string{`{}`, `{"deletionProtection":false,"upgradePolicy":{"supportType":"STANDARD"}}`} {
		status, _, h := call(t, base, "POST", "/clusters/prod/update-config", body)
		if status != 400 || h.Get("X-Amzn-ErrorType") != "InvalidParameterException" {
			t.Errorf("update-config %s: %d %s", body, status, h.Get("X-Amzn-ErrorType"))
		}
	}
	status, _, h := call(t, base, "POST", "/clusters/prod/updates", `{"version":"1.37"}`)
	if status != 400 || h.Get("X-Amzn-ErrorType") != "InvalidParameterException" {
		t.Errorf("skipping a version: %d %s", status, h.Get("X-Amzn-ErrorType"))
	}

	status, m, _ = call(t, base, "POST", "/clusters/prod/updates", `{"version":"1.36"}`)
	if status != 200 || m["update"].(map[string]any)["type"] != "VersionUpdate" {
		t.Fatalf("version update: %d %v", status, m)
	}
	waitFor(t, base, "/clusters/prod/updates/"+m["update"].(map[string]any)["id"].(string), "update", "Successful")
	if c := waitFor(t, base, "/clusters/prod", "cluster", "ACTIVE"); c["version"] != "1.36" {
		t.Errorf("version = %v", c["version"])
	}
}
