package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Defaults for Keys.
const (
	DefaultTTL     = time.Minute
	DefaultTimeout = 5 * time.Second
	// refetchAfter is how old cached keys must be before a token signed
	// by an unknown kid makes Keys fetch them again: issuers rotate keys,
	// but a stream of bogus kids must not become a stream of fetches.
	refetchAfter = 10 * time.Second
	maxDocument  = 1 << 20
)

// FetchError is a failure to get an issuer's keys: its discovery
// document or JWKS could not be fetched or read.
type FetchError struct {
	URL string
	Err error
}

func (e *FetchError) Error() string { return "oidc: fetching " + e.URL + ": " + e.Err.Error() }
func (e *FetchError) Unwrap() error { return e.Err }

// Keys fetches and caches issuers' signing keys. Its zero value is ready
// to use.
type Keys struct {
	// Client fetches discovery documents and JWKS; one with a
	// DefaultTimeout timeout when nil.
	Client *http.Client
	// TTL is how long fetched keys are used; DefaultTTL when zero.
	TTL time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	mu    sync.Mutex
	cache map[string]keySet // by issuer URL
}

type keySet struct {
	keys    []*jwk
	fetched time.Time
}

// jwk is one JSON Web Key; public is its parsed key.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`

	public any
}

// Verify checks t's signature with the keys of the issuer at issuerURL
// (scheme://host/path; its discovery document is issuerURL +
// /.well-known/openid-configuration). It returns a *FetchError when the
// keys cannot be had, ErrSignature when none of them verifies t.
func (k *Keys) Verify(ctx context.Context, issuerURL string, t *Token) error {
	set, err := k.keys(ctx, issuerURL, false)
	if err != nil {
		return err
	}
	if t.verifyWithAny(set.keys) {
		return nil
	}
	// A kid the cached set lacks may be a key the issuer rotated in.
	if t.KeyID != "" && !hasKid(set.keys, t.KeyID) && k.now().Sub(set.fetched) >= refetchAfter {
		if set, err = k.keys(ctx, issuerURL, true); err != nil {
			return err
		}
		if t.verifyWithAny(set.keys) {
			return nil
		}
	}
	return ErrSignature
}

func hasKid(keys []*jwk, kid string) bool {
	for _, key := range keys {
		if key.Kid == kid {
			return true
		}
	}
	return false
}

// verifyWithAny tries the key t names by kid, or every key when t names
// none.
func (t *Token) verifyWithAny(keys []*jwk) bool {
	for _, key := range keys {
		if t.KeyID != "" && key.Kid != t.KeyID {
			continue
		}
		if t.verifyWith(key) {
			return true
		}
	}
	return false
}

func (k *Keys) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

// keys returns the issuer's cached keys, fetching them when they are
// missing, older than the TTL, or refresh is set.
func (k *Keys) keys(ctx context.Context, issuerURL string, refresh bool) (keySet, error) {
	ttl := k.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	k.mu.Lock()
	set, ok := k.cache[issuerURL]
	k.mu.Unlock()
	if ok && !refresh && k.now().Sub(set.fetched) < ttl {
		return set, nil
	}
	// Fetched without the lock: a slow issuer must not hold up tokens of
	// others. Two concurrent fetches for one issuer are harmless.
	keys, err := k.fetch(ctx, issuerURL)
	if err != nil {
		return keySet{}, err
	}
	set = keySet{keys: keys, fetched: k.now()}
	k.mu.Lock()
	if k.cache == nil {
		k.cache = map[string]keySet{}
	}
	k.cache[issuerURL] = set
	k.mu.Unlock()
	return set, nil
}

func (k *Keys) fetch(ctx context.Context, issuerURL string) ([]*jwk, error) {
	var disc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	discovery := strings.TrimSuffix(issuerURL, "/") + "/.well-known/openid-configuration"
	if err := k.getJSON(ctx, discovery, &disc); err != nil {
		return nil, err
	}
	if disc.JWKSURI == "" || !(strings.HasPrefix(disc.JWKSURI, "https://") || strings.HasPrefix(disc.JWKSURI, "http://")) {
		return nil, &FetchError{URL: discovery, Err: errors.New("the discovery document has no http(s) jwks_uri")}
	}
	var set struct {
		Keys []*jwk `json:"keys"`
	}
	if err := k.getJSON(ctx, disc.JWKSURI, &set); err != nil {
		return nil, err
	}
	var keys []*jwk
	for _, key := range set.Keys {
		if key == nil {
			continue
		}
		// Keys Berth cannot read (other types, bad encodings) are
		// skipped, as a JWKS may carry keys for other purposes.
		if key.public = parsePublic(key); key.public != nil {
			keys = append(keys, key)
		}
	}
	if len(keys) == 0 {
		return nil, &FetchError{URL: disc.JWKSURI, Err: errors.New("the JWKS has no RSA or EC signing keys")}
	}
	return keys, nil
}

func (k *Keys) getJSON(ctx context.Context, url string, v any) error {
	client := k.Client
	if client == nil {
		client = &http.Client{Timeout: DefaultTimeout}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return &FetchError{URL: url, Err: err}
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return &FetchError{URL: url, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &FetchError{URL: url, Err: fmt.Errorf("HTTP %s", resp.Status)}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument+1))
	if err != nil {
		return &FetchError{URL: url, Err: err}
	}
	if len(body) > maxDocument {
		return &FetchError{URL: url, Err: fmt.Errorf("the document is larger than %d bytes", maxDocument)}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &FetchError{URL: url, Err: fmt.Errorf("not JSON: %v", err)}
	}
	return nil
}

// parsePublic reads an RSA or EC public key out of a JWK, or nil.
func parsePublic(key *jwk) any {
	b64 := base64.RawURLEncoding.DecodeString
	switch key.Kty {
	case "RSA":
		n, err1 := b64(key.N)
		e, err2 := b64(key.E)
		if err1 != nil || err2 != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 {
			return nil
		}
		exp := int(new(big.Int).SetBytes(e).Int64())
		if exp < 3 {
			return nil
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}
	case "EC":
		var curve elliptic.Curve
		switch key.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return nil
		}
		x, err1 := b64(key.X)
		y, err2 := b64(key.Y)
		size := (curve.Params().BitSize + 7) / 8
		if err1 != nil || err2 != nil || len(x) > size || len(y) > size {
			return nil
		}
		point := make([]byte, 1+2*size)
		point[0] = 4 // uncompressed
		copy(point[1+size-len(x):1+size], x)
		copy(point[1+2*size-len(y):], y)
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
		if err != nil {
			return nil
		}
		return pub
	}
	return nil
}
