package controlplane

import (
	"bytes"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigRejectsBadInput(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no data dir":  {},
		"bad listen":   {DataDir: "x", Listen: "6443"},
		"bad services": {DataDir: "x", ServiceCIDR: "10.0.0.0/99"},
		"bad pods":     {DataDir: "x", ClusterCIDR: "pods"},
	} {
		if err := cfg.setDefaults(); err == nil {
			t.Errorf("%s: accepted %+v", name, cfg)
		}
	}
	ok := Config{DataDir: "x"}
	if err := ok.setDefaults(); err != nil || ok.ServiceCIDR != "10.100.0.0/16" || ok.Listen != "127.0.0.1:6443" {
		t.Errorf("defaults: %v %+v", err, ok)
	}
}

// A restart must keep the CA (clients trust it) and the admin identity, while
// the serving certificate follows the current listen address.
func TestPKIIsStableAcrossStarts(t *testing.T) {
	dir := t.TempDir()
	first, err := ensurePKI(dir, []string{"127.0.0.1"}, net.ParseIP("10.100.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	admin1, _ := os.ReadFile(filepath.Join(dir, "admin.crt"))
	second, err := ensurePKI(dir, []string{"berth.example"}, net.ParseIP("10.100.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.caPEM, second.caPEM) {
		t.Error("CA changed across starts")
	}
	admin2, _ := os.ReadFile(filepath.Join(dir, "admin.crt"))
	if !bytes.Equal(admin1, admin2) {
		t.Error("admin certificate changed across starts")
	}

	adminCert, err := parseCert(admin2)
	if err != nil {
		t.Fatal(err)
	}
	if got := adminCert.Subject.Organization; len(got) != 1 || got[0] != "system:masters" {
		t.Errorf("admin groups %v, want system:masters", got)
	}
	roots := x509.NewCertPool()
	roots.AddCert(second.caCert)
	serving, _ := os.ReadFile(filepath.Join(dir, "apiserver.crt"))
	sc, err := parseCert(serving)
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"127.0.0.1", "localhost", "berth.example", "10.100.0.1", "kubernetes.default.svc"} {
		if _, err := sc.Verify(x509.VerifyOptions{Roots: roots, DNSName: host}); err != nil {
			t.Errorf("serving cert for %s: %v", host, err)
		}
	}
	key, _ := os.ReadFile(filepath.Join(dir, "ca.key"))
	if info, _ := os.Stat(filepath.Join(dir, "ca.key")); info.Mode().Perm() != 0o600 || !strings.Contains(string(key), "PRIVATE KEY") {
		t.Errorf("ca.key mode %v", info.Mode())
	}
}
