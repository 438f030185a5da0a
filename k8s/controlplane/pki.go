package controlplane

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/google/renameio/v2"
)

// pki holds the paths of the files the components read. Keys stay on disk in
// the data dir because kube-apiserver and kube-controller-manager take file
// paths, and because a restart must keep the same CA and signing key: clients
// trust the CA and every issued service-account token is signed by that key.
type pki struct {
	dir string

	caCert *x509.Certificate
	caKey  crypto.Signer
	caPEM  []byte
}

func (p *pki) path(name string) string { return filepath.Join(p.dir, name) }

// ensurePKI loads the cluster CA from dir or creates it on first start, then
// makes sure every leaf certificate exists. The serving certificate is
// re-issued on every start so its SANs follow the --listen address.
func ensurePKI(dir string, servingHosts []string, serviceIP net.IP) (*pki, error) {
	p := &pki{dir: dir}
	if err := p.loadOrCreateCA(); err != nil {
		return nil, err
	}
	if err := p.ensureServiceAccountKey(); err != nil {
		return nil, err
	}

	hosts := append([]string{"127.0.0.1", "localhost", "kubernetes", "kubernetes.default",
		"kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}, servingHosts...)
	if serviceIP != nil {
		hosts = append(hosts, serviceIP.String())
	}
	if err := p.issue("apiserver", "kube-apiserver", nil, hosts, x509.ExtKeyUsageServerAuth, true); err != nil {
		return nil, err
	}

	clients := []struct {
		name, cn string
		orgs     []string
	}{
		// system:masters is bound to cluster-admin by the RBAC bootstrap policy,
		// so the admin certificate works before any RBAC object exists.
		{"admin", "berth-admin", []string{"system:masters"}},
		{"controller-manager", "system:kube-controller-manager", nil},
		{"scheduler", "system:kube-scheduler", nil},
		// The API server presents this to kubelets for logs, exec and port-forward.
		{"apiserver-kubelet-client", "kube-apiserver-kubelet-client", []string{"system:masters"}},
	}
	for _, c := range clients {
		if err := p.issue(c.name, c.cn, c.orgs, nil, x509.ExtKeyUsageClientAuth, false); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *pki) loadOrCreateCA() error {
	certPEM, certErr := os.ReadFile(p.path("ca.crt"))
	keyPEM, keyErr := os.ReadFile(p.path("ca.key"))
	if certErr == nil && keyErr == nil {
		cert, err := parseCert(certPEM)
		if err != nil {
			return fmt.Errorf("ca.crt: %w", err)
		}
		key, err := parseKey(keyPEM)
		if err != nil {
			return fmt.Errorf("ca.key: %w", err)
		}
		p.caCert, p.caKey, p.caPEM = cert, key, certPEM
		return nil
	}
	if !errors.Is(certErr, os.ErrNotExist) && certErr != nil {
		return certErr
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "berth-k8s-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	// The key is written before the certificate: a crash in between leaves no
	// ca.crt, so the next start regenerates both instead of pairing a
	// certificate with a missing key.
	if err := writeKey(p.path("ca.key"), key); err != nil {
		return err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := renameio.WriteFile(p.path("ca.crt"), certPEM, 0o644); err != nil {
		return err
	}
	p.caCert, p.caKey, p.caPEM = cert, key, certPEM
	return nil
}

// ensureServiceAccountKey keeps sa.key across restarts (tokens already
// mounted in pods must stay valid) and writes its public half to sa.pub:
// kube-apiserver's --service-account-key-file only reads public keys or
// PKCS#1/SEC1 private keys, not the PKCS#8 form written here.
func (p *pki) ensureServiceAccountKey() error {
	var key crypto.Signer
	if data, err := os.ReadFile(p.path("sa.key")); err == nil {
		if key, err = parseKey(data); err != nil {
			return fmt.Errorf("sa.key: %w", err)
		}
	} else {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		if err := writeKey(p.path("sa.key"), k); err != nil {
			return err
		}
		key = k
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return err
	}
	return renameio.WriteFile(p.path("sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
}

// issue writes name.crt and name.key signed by the CA. Client certificates
// are kept across restarts (the admin kubeconfig handed out must stay valid);
// the serving certificate is replaced when always is set.
func (p *pki) issue(name, cn string, orgs, hosts []string, usage x509.ExtKeyUsage, always bool) error {
	if !always {
		if _, err := os.Stat(p.path(name + ".crt")); err == nil {
			if _, err := os.Stat(p.path(name + ".key")); err == nil {
				return nil
			}
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn, Organization: orgs},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(5, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, key.Public(), p.caKey)
	if err != nil {
		return err
	}
	if err := writeKey(p.path(name+".key"), key); err != nil {
		return err
	}
	return renameio.WriteFile(p.path(name+".crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return renameio.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

func parseCert(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

func parseKey(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM key")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported key type %T", key)
	}
	return signer, nil
}
