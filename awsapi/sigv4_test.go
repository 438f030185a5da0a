package awsapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// signed builds a request signed by the SDK's own signer, so the verifier is
// checked against the implementation real clients use.
func signed(t *testing.T, secret string, body []byte, now time.Time) *http.Request {
	t.Helper()
	r, _ := http.NewRequest(http.MethodPost, "http://localhost:4566/", bytes.NewReader(body))
	r.Header.Set("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories")
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	sum := sha256.Sum256(body)
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "123456789012", SecretAccessKey: secret},
		r, hex.EncodeToString(sum[:]), "ecr", "eu-central-1", now)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSigV4AgainstSDKSigner(t *testing.T) {
	now := time.Now().UTC()
	body := []byte(`{"repositoryNames":["a"]}`)
	auth := &Authenticator{Credentials: Credentials{"123456789012": "s3cret"}}

	id, err := auth.Authenticate(signed(t, "s3cret", body, now), body)
	if err != nil {
		t.Fatalf("valid signature refused: %v", err)
	}
	if id.AccountID != "123456789012" || id.Region != "eu-central-1" || id.Service != "ecr" {
		t.Fatalf("identity = %+v", id)
	}
	if _, err := auth.Authenticate(signed(t, "wrong", body, now), body); err == nil || err.Code != CodeInvalidSignature {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, err := auth.Authenticate(signed(t, "s3cret", body, now), []byte(`{"repositoryNames":["b"]}`)); err == nil || err.Code != CodeInvalidSignature {
		t.Fatalf("tampered body: %v", err)
	}
	if _, err := auth.Authenticate(signed(t, "s3cret", body, now.Add(-time.Hour)), body); err == nil || err.Code != CodeInvalidSignature {
		t.Fatalf("stale date: %v", err)
	}
	unsigned, _ := http.NewRequest(http.MethodPost, "http://localhost:4566/", nil)
	if _, err := auth.Authenticate(unsigned, nil); err == nil || err.Code != CodeMissingAuthenticationToken {
		t.Fatalf("unsigned: %v", err)
	}
}

func TestIdentityWithoutVerification(t *testing.T) {
	auth := &Authenticator{}
	body := []byte(`{}`)
	id, err := auth.Authenticate(signed(t, "anything", body, time.Now()), body)
	if err != nil || id.AccountID != "123456789012" {
		t.Fatalf("12-digit key: %+v %v", id, err)
	}
	if got := AccountForAccessKey("AKIDEXAMPLE"); got != DefaultAccount {
		t.Fatalf("non-numeric key maps to %q", got)
	}
	unsigned, _ := http.NewRequest(http.MethodPost, "http://localhost:4566/", nil)
	id, err = auth.Authenticate(unsigned, nil)
	if err != nil || id.AccountID != DefaultAccount || id.Region != DefaultRegion {
		t.Fatalf("unsigned without verification: %+v %v", id, err)
	}
}
