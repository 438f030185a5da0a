package eks

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"

	"github.com/berth-dev/berth/store"
)

// Each cluster is its own OpenID Connect issuer, as on EKS, so that STS
// AssumeRoleWithWebIdentity can check the service-account tokens of its
// pods (IRSA). EKS's issuer is https://oidc.eks.<region>.amazonaws.com/id/<ID>;
// Berth's must be a URL Berth answers, so it lives under Berth's own
// listener: <base>/_berth/eks/oidc/<account>/<region>/id/<ID>. The account
// and region in the path keep the lookup to one region's clusters.

// OIDCPathPrefix starts every cluster issuer's path on Berth's listener.
const OIDCPathPrefix = "/_berth/eks/oidc/"

// OIDCDiscoveryPath and OIDCKeysPath are the issuer's two documents, as
// patterns for Berth's mux.
const (
	OIDCDiscoveryPath = "GET " + OIDCPathPrefix + "{account}/{region}/id/{id}/.well-known/openid-configuration"
	OIDCKeysPath      = "GET " + OIDCPathPrefix + "{account}/{region}/id/{id}/keys"
)

// ServiceAccountKeyer is implemented by control planes whose clusters sign
// service-account tokens with a key Berth can read: the public keys (PEM)
// become the cluster issuer's JWKS.
type ServiceAccountKeyer interface {
	ServiceAccountKeys(ctx context.Context, c ClusterRef) ([]byte, error)
}

// oidcID is the id part of a cluster's issuer: EKS's form, the cluster id
// in upper-case hex without dashes.
func oidcID(id string) string { return strings.ToUpper(strings.ReplaceAll(id, "-", "")) }

// issuerURL is the OIDC issuer DescribeCluster reports for a new cluster:
// Berth's own when it knows where it is reached, EKS's form otherwise
// (which then resolves to nothing Berth serves).
func (s *Service) issuerURL(account, region, id string) string {
	if s.oidcBase == "" {
		return "https://oidc.eks." + region + ".amazonaws.com/id/" + oidcID(id)
	}
	return OIDCIssuerURL(s.oidcBase, account, region, id)
}

// OIDCIssuerURL is the issuer of the cluster with id in account and region
// on a Berth reached at base (http://127.0.0.1:4566).
func OIDCIssuerURL(base, account, region, id string) string {
	return strings.TrimSuffix(base, "/") + OIDCPathPrefix + url.PathEscape(account) + "/" + url.PathEscape(region) + "/id/" + oidcID(id)
}

// ServeOIDCDiscovery serves a cluster issuer's
// /.well-known/openid-configuration, shaped as EKS's.
func (s *Service) ServeOIDCDiscovery(w http.ResponseWriter, r *http.Request) {
	iss, _, err := s.oidcCluster(r)
	if err != nil {
		oidcError(w, err)
		return
	}
	writeOIDC(w, map[string]any{
		"issuer":                                iss,
		"jwks_uri":                              iss + "/keys",
		"authorization_endpoint":                "urn:kubernetes:programmatic_authorization",
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"claims_supported":                      []string{"sub", "iss"},
		"id_token_signing_alg_values_supported": []string{"ES256", "RS256"},
	})
}

// ServeOIDCKeys serves a cluster issuer's JWKS: the public halves of the
// keys its API server signs service-account tokens with.
func (s *Service) ServeOIDCKeys(w http.ResponseWriter, r *http.Request) {
	_, ref, err := s.oidcCluster(r)
	if err != nil {
		oidcError(w, err)
		return
	}
	kp, ok := s.cp.(ServiceAccountKeyer)
	if !ok {
		oidcError(w, errNoIssuer)
		return
	}
	pemKeys, err := kp.ServiceAccountKeys(r.Context(), ref)
	if err != nil {
		s.log.Warn("eks: reading a cluster's service-account keys", "cluster", ref.Name, "error", err)
		oidcError(w, errNoIssuer)
		return
	}
	keys, err := jwks(pemKeys)
	if err != nil {
		s.log.Warn("eks: a cluster's service-account keys", "cluster", ref.Name, "error", err)
		oidcError(w, errNoIssuer)
		return
	}
	writeOIDC(w, map[string]any{"keys": keys})
}

var errNoIssuer = errors.New("no such OIDC issuer")

// oidcCluster finds the cluster an issuer request is for. Only an issuer
// DescribeCluster reports is served: after DeleteCluster and a new cluster
// of the same name, the old issuer (which IAM providers may still name)
// answers nothing.
func (s *Service) oidcCluster(r *http.Request) (string, ClusterRef, error) {
	account, region, id := r.PathValue("account"), r.PathValue("region"), r.PathValue("id")
	var iss string
	var ref ClusterRef
	err := s.st.View(r.Context(), func(tx store.Tx) error {
		rs, err := tx.ListResources(kindCluster, account, region, "", store.Page{Limit: maxClustersPerRegion})
		if err != nil {
			return err
		}
		for _, res := range rs {
			var c clusterRec
			if json.Unmarshal(res.Doc, &c) != nil || oidcID(deref(c.Cluster.Id)) != id {
				continue
			}
			if c.Cluster.Identity != nil && c.Cluster.Identity.Oidc != nil {
				iss = deref(c.Cluster.Identity.Oidc.Issuer)
			}
			ref = ClusterRef{Account: account, Region: region, Name: res.ID}
			return nil
		}
		return nil
	})
	if err != nil {
		return "", ref, err
	}
	if ref.Name == "" || !strings.HasSuffix(iss, strings.TrimSuffix(strings.TrimSuffix(r.URL.Path, "/.well-known/openid-configuration"), "/keys")) {
		return "", ref, errNoIssuer
	}
	return iss, ref, nil
}

// jwks turns PEM public keys into JSON Web Keys with the key ids
// Kubernetes puts in its tokens' headers (base64url of the SHA-256 of the
// key's PKIX DER), so a verifier can pick the key by kid.
func jwks(data []byte) ([]map[string]string, error) {
	var out []map[string]string
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		pub, err := x509.ParsePKIXPublicKey(b.Bytes)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b.Bytes)
		k := map[string]string{"use": "sig", "kid": base64.RawURLEncoding.EncodeToString(sum[:])}
		switch pub := pub.(type) {
		case *rsa.PublicKey:
			k["kty"], k["alg"] = "RSA", "RS256"
			k["n"] = b64(pub.N.Bytes())
			k["e"] = b64(big.NewInt(int64(pub.E)).Bytes())
		case *ecdsa.PublicKey:
			size := (pub.Curve.Params().BitSize + 7) / 8
			k["kty"], k["crv"] = "EC", pub.Curve.Params().Name
			k["alg"] = map[int]string{32: "ES256", 48: "ES384", 66: "ES512"}[size]
			raw, err := pub.Bytes() // uncompressed point: 0x04 || X || Y
			if err != nil {
				return nil, err
			}
			k["x"], k["y"] = b64(raw[1:1+size]), b64(raw[1+size:])
		default:
			return nil, fmt.Errorf("unsupported public key type %T", pub)
		}
		out = append(out, k)
	}
	if len(out) == 0 {
		return nil, errors.New("no public key")
	}
	return out, nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func writeOIDC(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=60")
	_ = json.NewEncoder(w).Encode(v)
}

func oidcError(w http.ResponseWriter, err error) {
	if errors.Is(err, errNoIssuer) {
		http.Error(w, "no such OIDC issuer", http.StatusNotFound)
		return
	}
	http.Error(w, "reading the cluster: "+err.Error(), http.StatusInternalServerError)
}
