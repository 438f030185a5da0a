package elb

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/berth-dev/berth/api/elbv2"
	"github.com/berth-dev/berth/awsapi"
)

type fakeCerts map[string][2]string // ARN -> cert PEM, key PEM

func (f fakeCerts) KeyPair(_ context.Context, _, arn string) (string, string, bool, error) {
	p, ok := f[arn]
	return p[0], p[1], ok, nil
}

func pemPair(t *testing.T, name string) ([2]string, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	leaf, _ := x509.ParseCertificate(der)
	return [2]string{string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))}, leaf
}

// HTTPS listeners terminate TLS with the certificate the source gives,
// serve SNI certificates, and refuse ACM ARNs and unknown policies.
func TestHTTPSListener(t *testing.T) {
	s := newTestService(t)
	ctx := context.Background()
	iamARN := func(n string) string { return "arn:aws:iam::" + awsapi.DefaultAccount + ":server-certificate/" + n }
	def, defLeaf := pemPair(t, "www.example.com")
	sni, sniLeaf := pemPair(t, "api.example.com")
	pool := x509.NewCertPool()
	pool.AddCert(defLeaf)
	pool.AddCert(sniLeaf)
	lb, err := s.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: new("tls")})
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	https := elbv2.ProtocolEnumHttps
	fixed := []elbv2.Action{{Type: new(elbv2.ActionTypeEnumFixedResponse), FixedResponseConfig: &elbv2.FixedResponseActionConfig{StatusCode: new("200"), MessageBody: new("over tls")}}}
	in := func(arn string, policy *string) *elbv2.CreateListenerInput {
		return &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Protocol: &https, Port: new(int32(port)),
			Certificates: []elbv2.Certificate{{CertificateArn: new(arn)}}, SslPolicy: policy, DefaultActions: fixed}
	}
	if _, err := s.CreateListener(ctx, in(iamARN("www"), nil)); code(err) != "UnsupportedProtocol" {
		t.Errorf("HTTPS without a certificate source: %v", err)
	}
	certs := fakeCerts{iamARN("www"): def, iamARN("api"): sni}
	s.SetCertificateSource(certs)
	if _, err := s.CreateListener(ctx, in("arn:aws:acm:us-east-1:"+awsapi.DefaultAccount+":certificate/abc", nil)); code(err) != "CertificateNotFound" {
		t.Errorf("ACM certificate: %v", err)
	}
	if _, err := s.CreateListener(ctx, in(iamARN("nope"), nil)); code(err) != "CertificateNotFound" {
		t.Errorf("unknown certificate: %v", err)
	}
	if _, err := s.CreateListener(ctx, in(iamARN("www"), new("ELBSecurityPolicy-Nope"))); code(err) != "SSLPolicyNotFound" {
		t.Errorf("unknown policy: %v", err)
	}
	out, err := s.CreateListener(ctx, in(iamARN("www"), nil))
	if err != nil {
		t.Fatal(err)
	}
	l := out.Listeners[0]
	if deref(l.SslPolicy) != defaultSSLPolicy || len(l.Certificates) != 1 {
		t.Errorf("listener: %+v", l)
	}
	if _, err := s.AddListenerCertificates(ctx, &elbv2.AddListenerCertificatesInput{ListenerArn: l.ListenerArn,
		Certificates: []elbv2.Certificate{{CertificateArn: new(iamARN("api"))}}}); err != nil {
		t.Fatal(err)
	}
	s.kick(ctx)
	get := func(server string) (string, string) {
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: server}}}
		resp, err := c.Get("https://127.0.0.1:" + strconv.Itoa(port) + "/")
		if err != nil {
			t.Fatalf("GET with server name %s: %v", server, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b), resp.TLS.PeerCertificates[0].Subject.CommonName
	}
	if body, cn := get("www.example.com"); body != "over tls" || cn != "www.example.com" {
		t.Errorf("default certificate: %q %q", body, cn)
	}
	if _, cn := get("api.example.com"); cn != "api.example.com" {
		t.Errorf("SNI certificate: %q", cn)
	}
	// IAM deletes "www" and a new upload takes its name (and so its ARN):
	// the listener serves the new certificate, not a cached old one.
	newDef, newLeaf := pemPair(t, "www.example.com")
	pool.AddCert(newLeaf)
	certs[iamARN("www")] = newDef
	s.kick(ctx)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "www.example.com"}}}
	if resp, err := c.Get("https://127.0.0.1:" + strconv.Itoa(port) + "/"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if got := resp.TLS.PeerCertificates[0].SerialNumber; got.Cmp(newLeaf.SerialNumber) != 0 {
			t.Errorf("after a new upload under the same ARN the listener serves serial %v, want %v", got, newLeaf.SerialNumber)
		}
	}
	// Back to HTTP: plain text on the same port.
	httpProto := elbv2.ProtocolEnumHttp
	if _, err := s.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: l.ListenerArn, Protocol: &httpProto}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("after ModifyListener to HTTP: %d", resp.StatusCode)
	}
}
