package k8sproc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-dev/berth/eks"
)

// AWSAuth reads kube-system/aws-auth as the admin, answers nil when there
// is none, and reuses a read for awsAuthTTL.
func TestAWSAuthReadsTheConfigMap(t *testing.T) {
	var gets atomic.Int32
	var exists atomic.Bool
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/namespaces/kube-system/configmaps/aws-auth" {
			http.NotFound(w, r)
			return
		}
		gets.Add(1)
		if !exists.Load() {
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"kind":"Status","reason":"NotFound"}`))
			return
		}
		w.Write([]byte(`{"kind":"ConfigMap","data":{"mapRoles":"- rolearn: arn:aws:iam::000000000000:role/dev\n  username: dev\n"}}`))
	}))
	defer srv.Close()

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cp, err := New(Options{Binary: exe, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ref := eks.ClusterRef{Account: "000000000000", Region: "us-east-1", Name: "c"}
	dir := cp.ClusterDir(ref)
	data := filepath.Join(dir, dataSubdir)
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) {
		if err := os.WriteFile(name, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(data, "ca.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	certPEM, keyPEM := clientCert(t)
	write(filepath.Join(data, "admin.crt"), certPEM)
	write(filepath.Join(data, "admin.key"), keyPEM)
	write(filepath.Join(dir, outFile), []byte("berth-k8s ready "+srv.URL+"\n"))

	ctx := context.Background()
	if d, err := cp.AWSAuth(ctx, ref); err != nil || d != nil {
		t.Fatalf("no ConfigMap: %v %v", d, err)
	}
	exists.Store(true)
	// Within the TTL the first read is reused.
	if d, err := cp.AWSAuth(ctx, ref); err != nil || d != nil || gets.Load() != 1 {
		t.Fatalf("cached read: %v %v after %d GETs", d, err, gets.Load())
	}
	time.Sleep(awsAuthTTL + 100*time.Millisecond)
	d, err := cp.AWSAuth(ctx, ref)
	if err != nil || d["mapRoles"] == "" || gets.Load() != 2 {
		t.Fatalf("after the TTL: %v %v after %d GETs", d, err, gets.Load())
	}
	if _, err := cp.AWSAuth(ctx, eks.ClusterRef{Account: "000000000000", Region: "us-east-1", Name: "gone"}); err == nil {
		t.Error("a cluster that does not run answered")
	}
}

func clientCert(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "admin", Organization: []string{"system:masters"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}
