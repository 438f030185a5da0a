package iam

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base32"
	"encoding/base64"
	"strings"
	"testing"
)

// RFC 6238's SHA-1 test vectors, cut to the 6 digits virtual MFA devices
// show.
func TestTOTPVectors(t *testing.T) {
	seed := base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))
	for _, c := range []struct {
		unix int64
		want string
	}{{59, "287082"}, {1111111109, "081804"}, {1234567890, "005924"}, {2000000000, "279037"}} {
		got, err := totp(seed, c.unix/totpStep)
		if err != nil || got != c.want {
			t.Errorf("totp at %d = %q, %v; want %q", c.unix, got, err, c.want)
		}
	}
}

// A password is only ever kept hashed, with its own salt.
func TestPasswordHash(t *testing.T) {
	a, err := hashPassword("Correct-Horse-1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := hashPassword("Correct-Horse-1")
	if a == b || strings.Contains(a, "Correct") {
		t.Errorf("hashes %q %q: want salted, distinct", a, b)
	}
	if !passwordMatches(a, "Correct-Horse-1") || passwordMatches(a, "Correct-Horse-2") {
		t.Error("passwordMatches disagrees with the password hashed")
	}
}

// The OpenSSH and PEM forms of one key parse to the same wire blob, hence
// the same fingerprint.
func TestSSHKeyForms(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, blob, err := parseSSHPublicKey("-----BEGIN RSA PUBLIC KEY-----\n" + pemBody(t, k) + "\n-----END RSA PUBLIC KEY-----\n")
	if err != nil {
		t.Fatal(err)
	}
	line := "ssh-rsa " + encodeStd(blob) + " me@host"
	pub, blob2, err := parseSSHPublicKey(line)
	if err != nil || pub.N.Cmp(k.N) != 0 || md5Fingerprint(blob) != md5Fingerprint(blob2) {
		t.Fatalf("round trip: %v", err)
	}
	if _, _, err := parseSSHPublicKey("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== x"); err == nil || !strings.Contains(err.Error(), "UnrecognizedPublicKeyEncoding") {
		t.Errorf("ed25519 key: %v", err)
	}
}

func pemBody(t *testing.T, k *rsa.PrivateKey) string {
	t.Helper()
	return base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PublicKey(&k.PublicKey))
}

func encodeStd(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
