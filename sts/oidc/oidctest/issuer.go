// Package oidctest is an OpenID Connect issuer for tests: an HTTP server
// with a discovery document and a JWKS, and the private keys to sign ID
// tokens it vouches for.
package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// Key ids of the issuer's keys.
const (
	RSAKeyID = "rsa-1"
	ECKeyID  = "ec-1"
)

// Issuer is a running OIDC issuer.
type Issuer struct {
	// URL is the issuer (http://127.0.0.1:<port>), the iss of its tokens.
	URL string
	// Fetches counts requests for the discovery document.
	Fetches atomic.Int64
	// Down, when set, makes every request fail with 503.
	Down atomic.Bool

	rsaKey *rsa.PrivateKey
	ecKey  *ecdsa.PrivateKey
}

// Start runs an issuer until the test ends.
func Start(t testing.TB) *Issuer {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	iss := &Issuer{rsaKey: rk, ecKey: ek}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		iss.Fetches.Add(1)
		writeJSON(w, map[string]any{
			"issuer":                                iss.URL,
			"jwks_uri":                              iss.URL + "/keys",
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		ecPub, _ := ek.PublicKey.Bytes() // 0x04 || x || y
		writeJSON(w, map[string]any{"keys": []map[string]string{
			{"kty": "RSA", "kid": RSAKeyID, "use": "sig", "alg": "RS256",
				"n": b64(rk.PublicKey.N.Bytes()), "e": b64([]byte{1, 0, 1})},
			{"kty": "EC", "kid": ECKeyID, "use": "sig", "alg": "ES256", "crv": "P-256",
				"x": b64(ecPub[1:33]), "y": b64(ecPub[33:])},
		}})
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if iss.Down.Load() {
			http.Error(w, "down for the test", http.StatusServiceUnavailable)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	iss.URL = srv.URL
	return iss
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// Sign returns a compact JWT of claims signed with the issuer's RSA key
// (RS256).
func (i *Issuer) Sign(t testing.TB, claims map[string]any) string {
	t.Helper()
	signing := signingInput(t, "RS256", RSAKeyID, claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, i.rsaKey, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + b64(sig)
}

// SignES256 returns a compact JWT of claims signed with the issuer's
// P-256 key.
func (i *Issuer) SignES256(t testing.TB, claims map[string]any) string {
	t.Helper()
	signing := signingInput(t, "ES256", ECKeyID, claims)
	sum := sha256.Sum256([]byte(signing))
	r, s, err := ecdsa.Sign(rand.Reader, i.ecKey, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signing + "." + b64(sig)
}

func signingInput(t testing.TB, alg, kid string, claims map[string]any) string {
	t.Helper()
	h, err := json.Marshal(map[string]string{"alg": alg, "kid": kid, "typ": "JWT"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return b64(h) + "." + b64(c)
}
