package eks

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	eksauthapi "github.com/berth-dev/berth/api/eksauth"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// The EKS Pod Identity Agent: on EKS a DaemonSet on every node answers
// http://169.254.170.23/v1/credentials for the pods of the node, trading
// the token a pod sends as Authorization for credentials with
// AssumeRoleForPodIdentity. Berth's nodes all run on one host, so one
// agent, in Berth, serves every cluster (server/podidentity.go listens on
// the address); the token's issuer says which cluster it is for.

// PodIdentityAgentPath is the credentials path of the agent.
const PodIdentityAgentPath = "GET /v1/credentials"

// agentCredentials is the agent's answer, the shape the SDKs' container
// credential providers read.
type agentCredentials struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	AccountID       string `json:"AccountId"`
	Expiration      string `json:"Expiration"`
}

// ServePodIdentityAgent answers a pod's credentials request.
func (s *Service) ServePodIdentityAgent(w http.ResponseWriter, r *http.Request) {
	token := strings.TrimSpace(r.Header.Get("Authorization"))
	if token == "" {
		http.Error(w, "Service account token cannot be empty", http.StatusBadRequest)
		return
	}
	ref, err := s.clusterOfToken(r, token)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx := awsapi.WithIdentity(r.Context(), awsapi.Identity{AccountID: ref.Account, Region: ref.Region})
	out, err := s.AssumeRoleForPodIdentity(ctx, &eksauthapi.AssumeRoleForPodIdentityInput{ClusterName: &ref.Name, Token: &token})
	if err != nil {
		status := http.StatusInternalServerError
		if e := awsapi.AsError(err); e != nil {
			switch e.Code {
			case "InvalidTokenException", "ExpiredTokenException":
				status = http.StatusUnauthorized
			case "AccessDeniedException":
				status = http.StatusForbidden
			case "ResourceNotFoundException":
				status = http.StatusNotFound
			case "InvalidRequestException", "InvalidParameterException":
				status = http.StatusBadRequest
			}
		}
		s.log.Info("eks pod identity agent: no credentials", "cluster", ref.Name, "error", err)
		http.Error(w, err.Error(), status)
		return
	}
	c := out.Credentials
	acct := ref.Account
	if arn := deref(out.AssumedRoleUser.Arn); strings.Count(arn, ":") >= 5 {
		acct = strings.Split(arn, ":")[4]
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(agentCredentials{
		AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, Token: *c.SessionToken, AccountID: acct,
		Expiration: c.Expiration.UTC().Format(time.RFC3339),
	})
}

// clusterOfToken finds the cluster whose OIDC issuer signed token (its
// signature is checked later, by AssumeRoleForPodIdentity).
func (s *Service) clusterOfToken(r *http.Request, token string) (ClusterRef, error) {
	bad := errors.New("the service account token is not one of an EKS cluster of this Berth")
	iss := payloadIssuer(token)
	u, err := url.Parse(iss)
	if err != nil {
		return ClusterRef{}, bad
	}
	parts := strings.Split(strings.TrimPrefix(u.Path, OIDCPathPrefix), "/")
	if !strings.HasPrefix(u.Path, OIDCPathPrefix) || len(parts) != 4 || parts[2] != "id" {
		return ClusterRef{}, bad
	}
	account, region, id := parts[0], parts[1], parts[3]
	var ref ClusterRef
	err = s.st.View(r.Context(), func(tx store.Tx) error {
		cs, names, err := store.AllDocs[clusterRec](tx, kindCluster, account, region, "", store.Page{})
		if err != nil {
			return err
		}
		for i, c := range cs {
			if oidcID(deref(c.Cluster.Id)) == id {
				ref = ClusterRef{Account: account, Region: region, Name: names[i]}
			}
		}
		return nil
	})
	if err != nil {
		return ClusterRef{}, err
	}
	if ref.Name == "" {
		return ClusterRef{}, bad
	}
	return ref, nil
}

// payloadIssuer is the iss claim of a JWT, unverified.
func payloadIssuer(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	var c struct {
		Iss string `json:"iss"`
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(b, &c) != nil {
		return ""
	}
	return c.Iss
}

// PodIdentityLookupPath is where a cluster's nodes ask whether a service
// account has an association, as they start a pod (EKS's webhook knows
// it from the control plane).
const PodIdentityLookupPath = "GET /_berth/eks/{account}/{region}/{cluster}/pod-identity/{namespace}/{serviceAccount}"

// PodIdentityLookupURL is the base of cluster c's lookups on a Berth
// reached at base; nodes append /<namespace>/<service account>.
func PodIdentityLookupURL(base string, c ClusterRef) string {
	return strings.TrimSuffix(base, "/") + "/_berth/eks/" + url.PathEscape(c.Account) + "/" + url.PathEscape(c.Region) + "/" + url.PathEscape(c.Name) + "/pod-identity"
}

// ServePodIdentityLookup answers 200 with the association's ARN when the
// service account has one, 404 otherwise.
func (s *Service) ServePodIdentityLookup(w http.ResponseWriter, r *http.Request) {
	var a struct {
		AssociationArn string `json:"associationArn"`
	}
	err := s.st.View(r.Context(), func(tx store.Tx) error {
		assoc, found, err := associationFor(tx, r.PathValue("account"), r.PathValue("region"), r.PathValue("cluster"), r.PathValue("namespace"), r.PathValue("serviceAccount"))
		if found {
			a.AssociationArn = deref(assoc.AssociationArn)
		}
		return err
	})
	switch {
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
	case a.AssociationArn == "":
		http.Error(w, "no association", http.StatusNotFound)
	default:
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(a)
	}
}
