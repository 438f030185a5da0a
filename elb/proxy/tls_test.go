package proxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net/http"
	"strconv"
	"testing"
	"time"
)

func selfSigned(t *testing.T, name string) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true,
		BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf
}

// An HTTPS listener terminates TLS with its default certificate, serves
// an SNI certificate for its name, refuses protocols below the policy's,
// and tells redirects and targets the request came in over https.
func TestProxyHTTPS(t *testing.T) {
	def, defLeaf := selfSigned(t, "default.example.com")
	sni, sniLeaf := selfSigned(t, "shop.example.com")
	pool := x509.NewCertPool()
	pool.AddCert(defLeaf)
	pool.AddCert(sniLeaf)
	p := New("127.0.0.1", nil)
	defer p.Close()
	port := freePort(t)
	err := p.Apply(Config{Listeners: []Listener{{ARN: "l", Port: port, TLS: &TLS{Certificates: []tls.Certificate{def, sni}, MinVersion: tls.VersionTLS12},
		Rules: []Rule{
			{Conditions: []Condition{{Field: FieldPathPattern, Values: []string{"/go"}}},
				Action: Action{Type: ActionRedirect, Redirect: Redirect{Host: "elsewhere.example.com", StatusCode: 302}}},
			{Action: Action{Type: ActionFixedResponse, Fixed: FixedResponse{StatusCode: 200, Body: "secure"}}},
		}}}})
	if err != nil {
		t.Fatal(err)
	}
	call := func(server string, minV, maxV uint16, path string) (*http.Response, string, error) {
		c := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: server, MinVersion: minV, MaxVersion: maxV}}}
		resp, err := c.Get("https://127.0.0.1:" + strconv.Itoa(port) + path)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b), nil
	}
	resp, body, err := call("default.example.com", 0, 0, "/")
	if err != nil || body != "secure" || resp.TLS.PeerCertificates[0].Subject.CommonName != "default.example.com" {
		t.Fatalf("default certificate: %v %q", err, body)
	}
	resp, _, err = call("shop.example.com", 0, 0, "/")
	if err != nil || resp.TLS.PeerCertificates[0].Subject.CommonName != "shop.example.com" {
		t.Fatalf("SNI certificate: %v", err)
	}
	if _, _, err := call("default.example.com", tls.VersionTLS10, tls.VersionTLS11, "/"); err == nil {
		t.Error("TLS 1.1 accepted by a listener whose policy starts at TLS 1.2")
	}
	resp, _, err = call("default.example.com", 0, 0, "/go")
	if err != nil || resp.Header.Get("Location") != "https://elsewhere.example.com:"+strconv.Itoa(port)+"/go" {
		t.Errorf("redirect keeps https: %v %v", err, resp.Header.Get("Location"))
	}
	// Back to HTTP on the same port: the listener is rebound in plain text.
	if err := p.Apply(Config{Listeners: []Listener{{ARN: "l", Port: port, Rules: []Rule{
		{Action: Action{Type: ActionFixedResponse, Fixed: FixedResponse{StatusCode: 200, Body: "plain"}}}}}}}); err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, port, "/"); code != 200 || body != "plain" {
		t.Errorf("after switching to HTTP: %d %q", code, body)
	}
}
