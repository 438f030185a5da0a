package token

import (
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestIssueVerify(t *testing.T) {
	key, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "key"))
	if err != nil {
		t.Fatal(err)
	}
	iss, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	iss.Now = func() time.Time { return now }
	pw, exp := iss.Issue("123456789012", "eu-west-1")
	if want := now.Add(12 * time.Hour); !exp.Equal(want) {
		t.Fatalf("expiry %v, want %v", exp, want)
	}
	acct, region, err := iss.Verify(pw)
	if err != nil || acct != "123456789012" || region != "eu-west-1" {
		t.Fatalf("Verify = %q %q %v", acct, region, err)
	}
	if _, _, err := iss.Verify(pw[:len(pw)-2] + "xx"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("tampered signature: %v", err)
	}
	if _, _, err := iss.Verify("garbage"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("garbage: %v", err)
	}
	now = now.Add(12*time.Hour + time.Second)
	if _, _, err := iss.Verify(pw); !errors.Is(err, ErrExpired) {
		t.Fatalf("after 12h: %v", err)
	}
}

func TestKeyPersists(t *testing.T) {
	p := filepath.Join(t.TempDir(), "key")
	a, err := LoadOrCreateKey(p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadOrCreateKey(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Fatal("key changed between loads")
	}
	other, _ := New(a)
	pw, _ := other.Issue("000000000000", "us-east-1")
	again, _ := New(b)
	if _, _, err := again.Verify(pw); err != nil {
		t.Fatalf("token from before restart: %v", err)
	}
}
