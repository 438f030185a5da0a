package iam_test

import (
	"context"
	"errors"
	"testing"

	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/iam"
)

const (
	eksIssuer = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"
	eksARN    = "arn:aws:iam::111111111111:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"
	thumb     = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"
)

// A cluster's issuer registered, looked at, changed and deleted, with
// IAM's errors along the way.
func TestOIDCProviderLifecycle(t *testing.T) {
	f := newFixture(t)
	r := f.must(acct, "CreateOpenIDConnectProvider", "Url", eksIssuer, "ClientIDList.member.1", "sts.amazonaws.com",
		"ThumbprintList.member.1", thumb, "Tags.member.1.Key", "cluster", "Tags.member.1.Value", "prod")
	if got := r.get("OpenIDConnectProviderArn"); got != eksARN {
		t.Fatalf("ARN %q, want %q", got, eksARN)
	}
	if got := r.get("Tags/member/Key"); got != "cluster" {
		t.Errorf("create returned tags %v", r)
	}
	f.fails("EntityAlreadyExists", "Provider with url "+eksIssuer+" already exists.", acct, "CreateOpenIDConnectProvider", "Url", eksIssuer+"/")
	f.fails("ValidationError", "", acct, "CreateOpenIDConnectProvider", "Url", "ftp://example.com")
	f.fails("ValidationError", "", acct, "CreateOpenIDConnectProvider", "Url", "https://example.com/?q=1")
	f.fails("ValidationError", "", acct, "CreateOpenIDConnectProvider", "Url", "https://example.com", "ThumbprintList.member.1", "short")

	r = f.must(acct, "GetOpenIDConnectProvider", "OpenIDConnectProviderArn", eksARN)
	if r.get("Url") != "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E" || r.get("ClientIDList/member") != "sts.amazonaws.com" ||
		r.get("ThumbprintList/member") != thumb || r.get("CreateDate") == "" || r.get("Tags/member/Value") != "prod" {
		t.Errorf("get: %v", r)
	}
	// Another account does not see it.
	f.fails("NoSuchEntity", "OpenIDConnect Provider not found for arn "+eksARN, "222222222222", "GetOpenIDConnectProvider", "OpenIDConnectProviderArn", eksARN)
	f.fails("InvalidInput", "", acct, "GetOpenIDConnectProvider", "OpenIDConnectProviderArn", "arn:aws:iam::111111111111:role/nope")

	f.must(acct, "AddClientIDToOpenIDConnectProvider", "OpenIDConnectProviderArn", eksARN, "ClientID", "my-app")
	f.must(acct, "AddClientIDToOpenIDConnectProvider", "OpenIDConnectProviderArn", eksARN, "ClientID", "my-app")
	f.must(acct, "RemoveClientIDFromOpenIDConnectProvider", "OpenIDConnectProviderArn", eksARN, "ClientID", "sts.amazonaws.com")
	f.must(acct, "RemoveClientIDFromOpenIDConnectProvider", "OpenIDConnectProviderArn", eksARN, "ClientID", "never-there")
	other := "0000000000000000000000000000000000000000"
	f.must(acct, "UpdateOpenIDConnectProviderThumbprint", "OpenIDConnectProviderArn", eksARN, "ThumbprintList.member.1", other)
	f.must(acct, "TagOpenIDConnectProvider", "OpenIDConnectProviderArn", eksARN, "Tags.member.1.Key", "Team", "Tags.member.1.Value", "blue")
	f.must(acct, "UntagOpenIDConnectProvider", "OpenIDConnectProviderArn", eksARN, "TagKeys.member.1", "CLUSTER")
	r = f.must(acct, "GetOpenIDConnectProvider", "OpenIDConnectProviderArn", eksARN)
	if ids := r["ClientIDList/member"]; len(ids) != 1 || ids[0] != "my-app" {
		t.Errorf("client ids %v", ids)
	}
	if r.get("ThumbprintList/member") != other || r.get("Tags/member/Key") != "Team" || len(r["Tags/member/Key"]) != 1 {
		t.Errorf("after updates: %v", r)
	}
	r = f.must(acct, "ListOpenIDConnectProviderTags", "OpenIDConnectProviderArn", eksARN)
	if r.get("Tags/member/Key") != "Team" {
		t.Errorf("tags %v", r)
	}

	// STS finds the provider by a token's iss, with or without scheme.
	ctx := awsapi.WithIdentity(context.Background(), awsapi.Identity{AccountID: acct})
	for _, iss := range []string{eksIssuer, "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E", "HTTPS://OIDC.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"} {
		p, err := f.svc.OIDCProviderFor(ctx, acct, iss)
		if err != nil || p.ARN != eksARN || p.URL != eksIssuer || p.Issuer != "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E" {
			t.Errorf("OIDCProviderFor(%s) = %+v, %v", iss, p, err)
		}
	}
	if _, err := f.svc.OIDCProviderFor(ctx, "222222222222", eksIssuer); !errors.Is(err, iam.ErrNoSuchOIDCProvider) {
		t.Errorf("other account: %v", err)
	}

	// A local issuer over plain HTTP, with a port.
	r = f.must(acct, "CreateOpenIDConnectProvider", "Url", "http://127.0.0.1:8443/issuer", "ClientIDList.member.1", "sts.amazonaws.com")
	local := r.get("OpenIDConnectProviderArn")
	if local != "arn:aws:iam::111111111111:oidc-provider/127.0.0.1:8443/issuer" {
		t.Errorf("local ARN %q", local)
	}
	if r := f.must(acct, "GetOpenIDConnectProvider", "OpenIDConnectProviderArn", local); r.get("Url") != "http://127.0.0.1:8443/issuer" {
		t.Errorf("local Url %q, want it with its scheme", r.get("Url"))
	}
	r = f.must(acct, "ListOpenIDConnectProviders")
	if arns := r["OpenIDConnectProviderList/member/Arn"]; len(arns) != 2 {
		t.Errorf("list: %v", arns)
	}
	f.must(acct, "DeleteOpenIDConnectProvider", "OpenIDConnectProviderArn", eksARN)
	f.fails("NoSuchEntity", "", acct, "DeleteOpenIDConnectProvider", "OpenIDConnectProviderArn", eksARN)
	f.fails("NoSuchEntity", "", acct, "GetOpenIDConnectProvider", "OpenIDConnectProviderArn", eksARN)
	r = f.must(acct, "ListOpenIDConnectProviders")
	if arns := r["OpenIDConnectProviderList/member/Arn"]; len(arns) != 1 || arns[0] != local {
		t.Errorf("list after delete: %v", arns)
	}
}
