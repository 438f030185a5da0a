package oidc_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/sts/oidc"
	"github.com/berth-dev/berth/sts/oidc/oidctest"
)

func claims(iss string) map[string]any {
	now := time.Now().Unix()
	return map[string]any{"iss": iss, "sub": "system:serviceaccount:default:app", "aud": []string{"sts.amazonaws.com"},
		"exp": now + 3600, "iat": now, "nbf": now, "amr": "pwd"}
}

func TestParse(t *testing.T) {
	iss := oidctest.Start(t)
	tok, err := oidc.Parse(iss.Sign(t, claims(iss.URL)))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Issuer != iss.URL || tok.Subject != "system:serviceaccount:default:app" || tok.Audience[0] != "sts.amazonaws.com" ||
		tok.AMR[0] != "pwd" || tok.Algorithm != "RS256" || tok.KeyID != oidctest.RSAKeyID || time.Until(tok.Expires) < 59*time.Minute {
		t.Errorf("parsed %+v", tok)
	}
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	good := iss.Sign(t, claims(iss.URL))
	parts := strings.Split(good, ".")
	without := func(k string) string {
		c := claims(iss.URL)
		delete(c, k)
		return iss.Sign(t, c)
	}
	for name, raw := range map[string]string{
		"two parts":       parts[0] + "." + parts[1],
		"not base64":      "!!." + parts[1] + "." + parts[2],
		"alg none":        b64(`{"alg":"none"}`) + "." + parts[1] + ".c2ln",
		"alg HS256":       b64(`{"alg":"HS256"}`) + "." + parts[1] + ".c2ln",
		"claims not JSON": parts[0] + "." + b64("nope") + "." + parts[2],
		"no signature":    parts[0] + "." + parts[1] + ".",
		"no iss":          without("iss"),
		"no sub":          without("sub"),
		"no aud":          without("aud"),
		"no exp":          without("exp"),
		"aud a number":    parts[0] + "." + b64(`{"iss":"x","sub":"y","aud":7,"exp":1}`) + "." + parts[2],
		"exp a string":    parts[0] + "." + b64(`{"iss":"x","sub":"y","aud":"a","exp":"soon"}`) + "." + parts[2],
		"crit header":     b64(`{"alg":"RS256","crit":["b64"]}`) + "." + parts[1] + "." + parts[2],
	} {
		if _, err := oidc.Parse(raw); !errors.Is(err, oidc.ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}

func TestVerify(t *testing.T) {
	iss := oidctest.Start(t)
	keys := &oidc.Keys{}
	ctx := context.Background()
	verify := func(raw string) error {
		t.Helper()
		tok, err := oidc.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		return keys.Verify(ctx, iss.URL, tok)
	}
	if err := verify(iss.Sign(t, claims(iss.URL))); err != nil {
		t.Errorf("RS256: %v", err)
	}
	if err := verify(iss.SignES256(t, claims(iss.URL))); err != nil {
		t.Errorf("ES256: %v", err)
	}
	if n := iss.Fetches.Load(); n != 1 {
		t.Errorf("discovery fetched %d times, want once (cached)", n)
	}

	// A token whose claims were changed after signing.
	good := iss.Sign(t, claims(iss.URL))
	parts := strings.Split(good, ".")
	c := claims(iss.URL)
	c["sub"] = "system:serviceaccount:kube-system:admin"
	forged := strings.Split(iss.Sign(t, c), ".")
	if err := verify(parts[0] + "." + forged[1] + "." + parts[2]); !errors.Is(err, oidc.ErrSignature) {
		t.Errorf("tampered claims: %v", err)
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[10] ^= 1
	if err := verify(parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)); !errors.Is(err, oidc.ErrSignature) {
		t.Errorf("flipped signature bit: %v", err)
	}
	// Signed by another issuer's key with the same kid.
	other := oidctest.Start(t)
	if err := verify(other.Sign(t, claims(iss.URL))); !errors.Is(err, oidc.ErrSignature) {
		t.Errorf("another issuer's key: %v", err)
	}

	// An issuer that cannot be reached is a FetchError, not a bad token.
	iss.Down.Store(true)
	fresh := &oidc.Keys{}
	tok, _ := oidc.Parse(good)
	var fe *oidc.FetchError
	if err := fresh.Verify(ctx, iss.URL, tok); !errors.As(err, &fe) {
		t.Errorf("issuer down: %v", err)
	}
	// Nobody listening.
	if err := fresh.Verify(ctx, "http://127.0.0.1:1", tok); !errors.As(err, &fe) {
		t.Errorf("nobody listening: %v", err)
	}
	// Cached keys outlive an outage within their TTL.
	if err := keys.Verify(ctx, iss.URL, tok); err != nil {
		t.Errorf("cached keys: %v", err)
	}
}

func TestKeysExpire(t *testing.T) {
	iss := oidctest.Start(t)
	now := time.Now()
	keys := &oidc.Keys{TTL: time.Minute, Now: func() time.Time { return now }}
	tok, _ := oidc.Parse(iss.Sign(t, claims(iss.URL)))
	for range 3 {
		if err := keys.Verify(context.Background(), iss.URL, tok); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(2 * time.Minute)
	if err := keys.Verify(context.Background(), iss.URL, tok); err != nil {
		t.Fatal(err)
	}
	if n := iss.Fetches.Load(); n != 2 {
		t.Errorf("fetched %d times, want 2 (once, then after the TTL)", n)
	}
}
