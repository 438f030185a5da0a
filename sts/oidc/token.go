// Package oidc reads OpenID Connect ID tokens (JWTs) and verifies their
// signatures with the keys their issuer publishes (OIDC discovery and
// JWKS), as STS AssumeRoleWithWebIdentity does. It checks signatures
// only; what the claims must say (issuer, audience, times) is the
// caller's policy.
//
// The standard library's crypto is enough for the algorithms issuers use
// (RS256, as Kubernetes service account tokens are signed, and ES256), so
// Berth carries no JOSE dependency.
package oidc

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math"
	"math/big"
	"strings"
	"time"
)

// ErrMalformed is a token that is not a JWS-signed JWT with the claims an
// ID token must have.
var ErrMalformed = errors.New("oidc: malformed token")

// ErrSignature is a token whose signature none of its issuer's keys
// verifies.
var ErrSignature = errors.New("oidc: signature does not verify")

// Token is a parsed, not yet verified, ID token.
type Token struct {
	Algorithm string // alg of the JOSE header
	KeyID     string // kid of the JOSE header, if any

	Issuer   string
	Subject  string
	Audience []string
	// AMR is the authentication methods claim, if any.
	AMR []string
	// Expires, NotBefore and IssuedAt are zero when the claim is absent.
	Expires, NotBefore, IssuedAt time.Time

	signed    []byte // header.payload, what the signature covers
	signature []byte
}

type header struct {
	Alg  string `json:"alg"`
	Kid  string `json:"kid"`
	Crit []any  `json:"crit"`
}

type claims struct {
	Iss string          `json:"iss"`
	Sub string          `json:"sub"`
	Aud json.RawMessage `json:"aud"`
	Amr json.RawMessage `json:"amr"`
	Exp *json.Number    `json:"exp"`
	Nbf *json.Number    `json:"nbf"`
	Iat *json.Number    `json:"iat"`
}

// Parse reads a compact-serialised JWT. It does not verify the signature
// (see Keys.Verify). A token without iss, sub, aud or exp is malformed,
// as are unsigned tokens (alg none).
func Parse(raw string) (*Token, error) {
	parts := strings.Split(strings.TrimSpace(raw), ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: a JWT has three dot-separated parts, this has %d", ErrMalformed, len(parts))
	}
	var h header
	if err := decodePart(parts[0], &h); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if _, ok := algorithms[h.Alg]; !ok {
		return nil, fmt.Errorf("%w: signing algorithm %q is not one of RS256, RS384, RS512, ES256, ES384, ES512", ErrMalformed, h.Alg)
	}
	if len(h.Crit) > 0 {
		return nil, fmt.Errorf("%w: critical header extensions are not supported", ErrMalformed)
	}
	var c claims
	if err := decodePart(parts[1], &c); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) == 0 {
		return nil, fmt.Errorf("%w: the signature is not base64url", ErrMalformed)
	}
	t := &Token{Algorithm: h.Alg, KeyID: h.Kid, Issuer: c.Iss, Subject: c.Sub,
		signed: []byte(parts[0] + "." + parts[1]), signature: sig}
	if t.Audience, err = stringOrList(c.Aud); err != nil {
		return nil, fmt.Errorf("%w: aud: %v", ErrMalformed, err)
	}
	if t.AMR, err = stringOrList(c.Amr); err != nil {
		return nil, fmt.Errorf("%w: amr: %v", ErrMalformed, err)
	}
	for _, f := range []struct {
		n   *json.Number
		dst *time.Time
	}{{c.Exp, &t.Expires}, {c.Nbf, &t.NotBefore}, {c.Iat, &t.IssuedAt}} {
		if f.n == nil {
			continue
		}
		v, err := f.n.Float64()
		if err != nil || math.IsNaN(v) || v < 0 || v > 1<<40 {
			return nil, fmt.Errorf("%w: a time claim is not seconds since the epoch: %s", ErrMalformed, f.n)
		}
		*f.dst = time.Unix(int64(v), 0).UTC()
	}
	switch {
	case t.Issuer == "":
		return nil, fmt.Errorf("%w: the iss claim is missing", ErrMalformed)
	case t.Subject == "":
		return nil, fmt.Errorf("%w: the sub claim is missing", ErrMalformed)
	case len(t.Audience) == 0:
		return nil, fmt.Errorf("%w: the aud claim is missing", ErrMalformed)
	case t.Expires.IsZero():
		return nil, fmt.Errorf("%w: the exp claim is missing", ErrMalformed)
	}
	return t, nil
}

func decodePart(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return errors.New("not base64url")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return errors.New("not a JSON object")
	}
	return nil
}

// stringOrList reads a claim that is a string or a list of strings.
func stringOrList(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, errors.New("neither a string nor a list of strings")
	}
	return many, nil
}

// algorithm is how one JWS alg verifies.
type algorithm struct {
	kty  string // the JWK key type it needs: RSA or EC
	crv  string // for EC: the curve
	hash func() hash.Hash
	id   crypto.Hash
}

var algorithms = map[string]algorithm{
	"RS256": {kty: "RSA", hash: sha256.New, id: crypto.SHA256},
	"RS384": {kty: "RSA", hash: sha512.New384, id: crypto.SHA384},
	"RS512": {kty: "RSA", hash: sha512.New, id: crypto.SHA512},
	"ES256": {kty: "EC", crv: "P-256", hash: sha256.New, id: crypto.SHA256},
	"ES384": {kty: "EC", crv: "P-384", hash: sha512.New384, id: crypto.SHA384},
	"ES512": {kty: "EC", crv: "P-521", hash: sha512.New, id: crypto.SHA512},
}

// verifyWith reports whether key signed t.
func (t *Token) verifyWith(key *jwk) bool {
	alg := algorithms[t.Algorithm]
	if key.Kty != alg.kty || (key.Alg != "" && key.Alg != t.Algorithm) || (key.Use != "" && key.Use != "sig") {
		return false
	}
	h := alg.hash()
	h.Write(t.signed)
	digest := h.Sum(nil)
	switch pub := key.public.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(pub, alg.id, digest, t.signature) == nil
	case *ecdsa.PublicKey:
		if key.Crv != alg.crv {
			return false
		}
		// JWS ECDSA signatures are r and s, each as long as the curve's
		// order, concatenated (not ASN.1).
		n := (pub.Curve.Params().BitSize + 7) / 8
		if len(t.signature) != 2*n {
			return false
		}
		r := new(big.Int).SetBytes(t.signature[:n])
		s := new(big.Int).SetBytes(t.signature[n:])
		return ecdsa.Verify(pub, digest, r, s)
	}
	return false
}
