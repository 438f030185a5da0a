package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/harness"
)

// An HTTPS listener terminates TLS with an IAM server certificate (Berth
// has no ACM), as ELB does with certificates uploaded through
// `aws iam upload-server-certificate`: a client trusting the certificate
// reaches the target, sees X-Forwarded-Proto https there, and a listener
// certificate added for another name is served to clients asking for it
// (SNI). An ACM ARN is refused with CertificateNotFound.
func TestELBHTTPSListener(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	cli := b.AWS
	dir := t.TempDir()
	pool := x509.NewCertPool()
	upload := func(name, host string) string {
		t.Helper()
		certPEM, keyPEM, cert := tlsCertFor(t, host)
		pool.AddCert(cert)
		cf, kf := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
		if err := os.WriteFile(cf, certPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(kf, keyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		return str1(t, cli(t, "iam", "upload-server-certificate", "--server-certificate-name", name,
			"--certificate-body", "file://"+cf, "--private-key", "file://"+kf).Must(t).Map(t),
			"ServerCertificateMetadata", "Arn")
	}
	shop, api := upload("shop", "shop.example"), upload("api", "api.example")

	q := newBackend(t, "Q")
	subnets := defaultSubnets(t, b)
	lbArn := str1(t, cli(t, "elbv2", "create-load-balancer", "--name", "tls", "--subnets", subnets[0], subnets[1]).Must(t).Map(t),
		"LoadBalancers", "0", "LoadBalancerArn")
	tg := str1(t, cli(t, "elbv2", "create-target-group", "--name", "tls-q", "--protocol", "HTTP", "--port", "80", "--vpc-id", "vpc-1",
		"--target-type", "ip", "--health-check-path", "/health", "--health-check-interval-seconds", "5", "--health-check-timeout-seconds", "2",
		"--healthy-threshold-count", "2").Must(t).Map(t), "TargetGroups", "0", "TargetGroupArn")
	cli(t, "elbv2", "register-targets", "--target-group-arn", tg, "--targets", "Id=127.0.0.1,Port="+q.port(t)).Must(t)
	port := freeListenerPort(t)
	forward := `[{"Type":"forward","TargetGroupArn":"` + tg + `"}]`

	if code := cli(t, "elbv2", "create-listener", "--load-balancer-arn", lbArn, "--protocol", "HTTPS", "--port", strconv.Itoa(port),
		"--certificates", "CertificateArn=arn:aws:acm:us-east-1:000000000000:certificate/0c1d2e3f-0000-4000-8000-000000000000",
		"--default-actions", forward).ErrorCode(); code != "CertificateNotFound" {
		t.Errorf("an HTTPS listener with an ACM certificate: %q, want CertificateNotFound", code)
	}
	listener := str1(t, cli(t, "elbv2", "create-listener", "--load-balancer-arn", lbArn, "--protocol", "HTTPS", "--port", strconv.Itoa(port),
		"--certificates", "CertificateArn="+shop, "--default-actions", forward).Must(t).Map(t), "Listeners", "0", "ListenerArn")
	waitHealth(t, b, tg, q.port(t), "healthy")

	get := func(serverName string) (string, string, string) {
		t.Helper()
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: serverName}}}
		resp, err := c.Get("https://127.0.0.1:" + strconv.Itoa(port) + "/")
		if err != nil {
			t.Fatalf("GET over TLS as %s: %v", serverName, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body), resp.TLS.PeerCertificates[0].Subject.CommonName, resp.Header.Get("X-Seen-Forwarded-Proto")
	}
	if body, cn, proto := get("shop.example"); body != "Q" || cn != "shop.example" || proto != "https" {
		t.Errorf("https as shop.example: body %q, certificate %q, X-Forwarded-Proto %q", body, cn, proto)
	}
	cli(t, "elbv2", "add-listener-certificates", "--listener-arn", listener, "--certificates", "CertificateArn="+api).Must(t)
	if body, cn, _ := get("api.example"); body != "Q" || cn != "api.example" {
		t.Errorf("https as api.example after add-listener-certificates: body %q, certificate %q", body, cn)
	}
	if _, cn, _ := get("shop.example"); cn != "shop.example" {
		t.Errorf("https as shop.example after add-listener-certificates: certificate %q", cn)
	}
}

// tlsCertFor makes a certificate for host, signed by its own key.
func tlsCertFor(t *testing.T, host string) (certPEM, keyPEM []byte, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: host},
		DNSNames: []string{host}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err = x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), cert
}
