// Package token mints and checks the registry passwords that ECR's
// GetAuthorizationToken hands out and `docker login` presents.
//
// A password is an HMAC-signed statement of (account, region, expiry), so
// the registry can check it without a store lookup on every blob request.
// The key lives in the data directory, so tokens survive a restart.
package token

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// TTL is how long a token is valid: 12 hours, as on AWS.
const TTL = 12 * time.Hour

// Errors Verify returns.
var (
	ErrInvalid = errors.New("authorization token is not valid")
	ErrExpired = errors.New("authorization token has expired")
)

// Issuer mints and verifies tokens with one key.
type Issuer struct {
	key []byte
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// New returns an Issuer using key (at least 32 bytes).
func New(key []byte) (*Issuer, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("token key must be at least 32 bytes, got %d", len(key))
	}
	return &Issuer{key: key}, nil
}

func (i *Issuer) now() time.Time {
	if i.Now != nil {
		return i.Now()
	}
	return time.Now()
}

type claims struct {
	Account string `json:"a"`
	Region  string `json:"r"`
	Expires int64  `json:"e"`
}

// Issue returns a password for account and region and when it expires.
func (i *Issuer) Issue(account, region string) (string, time.Time) {
	exp := i.now().Add(TTL).Truncate(time.Second)
	payload, _ := json.Marshal(claims{Account: account, Region: region, Expires: exp.Unix()})
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + base64.RawURLEncoding.EncodeToString(i.sign(p)), exp
}

// Verify checks a password and returns the account and region it grants.
func (i *Issuer) Verify(password string) (account, region string, err error) {
	p, sig, ok := strings.Cut(password, ".")
	if !ok {
		return "", "", ErrInvalid
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, i.sign(p)) {
		return "", "", ErrInvalid
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return "", "", ErrInvalid
	}
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil || c.Account == "" || c.Region == "" {
		return "", "", ErrInvalid
	}
	if !i.now().Before(time.Unix(c.Expires, 0)) {
		return "", "", ErrExpired
	}
	return c.Account, c.Region, nil
}

func (i *Issuer) sign(payload string) []byte {
	h := hmac.New(sha256.New, i.key)
	h.Write([]byte("berth-ecr-token\x00"))
	h.Write([]byte(payload))
	return h.Sum(nil)
}

// LoadOrCreateKey reads the key file at path, creating it with a fresh
// random key (temp file, fsync, rename) when it does not exist.
func LoadOrCreateKey(path string) ([]byte, error) {
	if data, err := os.ReadFile(path); err == nil {
		if len(data) < 32 {
			return nil, fmt.Errorf("token key %s is too short (%d bytes)", path, len(data))
		}
		return data, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".token-key-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, err
	}
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	// Link rather than rename so two processes racing here agree on one key.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, err
	}
	return os.ReadFile(path)
}
