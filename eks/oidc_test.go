package eks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	eksapi "github.com/berth-dev/berth/api/eks"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store/sqlite"
	"github.com/berth-dev/berth/sts/oidc"
)

// keyedPlane is a control plane whose clusters all sign service-account
// tokens with one key.
type keyedPlane struct {
	Unserved
	pub []byte
}

func (k keyedPlane) ServiceAccountKeys(context.Context, ClusterRef) ([]byte, error) {
	return k.pub, nil
}

// A cluster's issuer is served by Berth, and a token its API server would
// sign verifies with the keys STS fetches from it.
func TestClusterIssuerVerifiesServiceAccountTokens(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	auth := &awsapi.Authenticator{}
	mux := awsapi.NewMux(auth, nil)
	hm := http.NewServeMux()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mux.Match(r) {
			mux.ServeHTTP(w, r)
			return
		}
		hm.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	svc, err := New(Options{Store: st, Auth: auth, OIDCIssuerBase: srv.URL,
		ControlPlane: keyedPlane{pub: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})}})
	if err != nil {
		t.Fatal(err)
	}
	mux.HandleRest(eksapi.NewRestService(svc))
	hm.HandleFunc(OIDCDiscoveryPath, svc.ServeOIDCDiscovery)
	hm.HandleFunc(OIDCKeysPath, svc.ServeOIDCKeys)

	_, m, _ := call(t, srv.URL, "POST", "/clusters", `{"name":"prod","roleArn":"arn:aws:iam::000000000000:role/eks","resourcesVpcConfig":{}}`)
	c := m["cluster"].(map[string]any)
	iss := c["identity"].(map[string]any)["oidc"].(map[string]any)["issuer"].(string)
	wantPrefix := srv.URL + "/_berth/eks/oidc/000000000000/us-east-1/id/"
	if id := strings.TrimPrefix(iss, wantPrefix); id == iss || id != strings.ToUpper(strings.ReplaceAll(c["id"].(string), "-", "")) {
		t.Fatalf("issuer %q, want %s<ID>", iss, wantPrefix)
	}

	sum := sha256.Sum256(der)
	now := time.Now()
	tok := signES256(t, key, base64.RawURLEncoding.EncodeToString(sum[:]), map[string]any{
		"iss": iss, "sub": "system:serviceaccount:default:app", "aud": []string{"sts.amazonaws.com"},
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	parsed, err := oidc.Parse(tok)
	if err != nil {
		t.Fatal(err)
	}
	if err := (&oidc.Keys{}).Verify(context.Background(), iss, parsed); err != nil {
		t.Fatalf("a token of the cluster's key does not verify with its issuer: %v", err)
	}

	// Another key's token does not; nor is any other issuer path served.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forged, _ := oidc.Parse(signES256(t, other, "", map[string]any{"iss": iss, "sub": "x", "aud": "sts.amazonaws.com", "exp": now.Add(time.Hour).Unix()}))
	if err := (&oidc.Keys{}).Verify(context.Background(), iss, forged); err == nil {
		t.Error("a token of another key verified")
	}
	for _, path := range []string{"/_berth/eks/oidc/000000000000/us-east-1/id/0000/keys", "/_berth/eks/oidc/111111111111/us-east-1/id/" + strings.TrimPrefix(iss, wantPrefix) + "/keys"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s, want 404", path, resp.Status)
		}
	}
}

func TestJWKSOfRSAKey(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	keys, err := jwks(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	if len(keys) != 1 || keys[0]["kty"] != "RSA" || keys[0]["alg"] != "RS256" || keys[0]["e"] != "AQAB" ||
		keys[0]["kid"] != base64.RawURLEncoding.EncodeToString(sum[:]) {
		t.Errorf("jwks: %v", keys)
	}
	if _, err := jwks([]byte("not a key")); err == nil {
		t.Error("garbage made a JWKS")
	}
}

func signES256(t *testing.T, key *ecdsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	h := map[string]string{"alg": "ES256", "typ": "JWT"}
	if kid != "" {
		h["kid"] = kid
	}
	hj, _ := json.Marshal(h)
	cj, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(hj) + "." + base64.RawURLEncoding.EncodeToString(cj)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}
