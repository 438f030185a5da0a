package eks

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	eksapi "github.com/berth-dev/berth/api/eks"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// TokenPrefix starts every token `aws eks get-token` prints; the rest is
// the base64url of a presigned STS GetCallerIdentity URL.
const TokenPrefix = "k8s-aws-v1."

// TokenValidity is how long a token is good after it was signed, as
// aws-iam-authenticator and EKS allow.
const TokenValidity = 15 * time.Minute

// clusterIDHeader names the cluster a token is for; the CLI signs it as a
// header of the presigned request, so a token for one cluster does not
// verify for another.
const clusterIDHeader = "x-k8s-aws-id"

// TokenUser is who a valid token authenticates as in Kubernetes.
type TokenUser struct {
	Username string
	UID      string
	Groups   []string
	Extra    map[string][]string
}

// errToken is a token that does not authenticate anyone; its message is
// what the API server logs.
type errToken struct{ msg string }

func (e errToken) Error() string { return e.msg }

func badToken(format string, args ...any) error { return errToken{fmt.Sprintf(format, args...)} }

// ReviewToken checks a get-token token for cluster c: the presigned
// request must be an STS GetCallerIdentity signed for this cluster and
// not older than TokenValidity, its signature must verify as an AWS
// request to Berth would, and its principal must have an access entry in
// the cluster (the user's name and groups come from the entry and its
// access policies) or, when the cluster's authentication mode includes
// CONFIG_MAP, a mapping in its aws-auth ConfigMap.
func (s *Service) ReviewToken(ctx context.Context, c ClusterRef, token string) (TokenUser, error) {
	raw, ok := strings.CutPrefix(token, TokenPrefix)
	if !ok {
		return TokenUser{}, badToken("the token does not start with %s", TokenPrefix)
	}
	data, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(raw, "="))
	if err != nil {
		return TokenUser{}, badToken("the token is not base64url: %v", err)
	}
	u, err := url.Parse(string(data))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return TokenUser{}, badToken("the token does not hold an http(s) URL")
	}
	q := u.Query()
	if q.Get("Action") != "GetCallerIdentity" {
		return TokenUser{}, badToken("the token's request is %q, not GetCallerIdentity", q.Get("Action"))
	}
	if v := q.Get("Version"); v != "" && v != "2011-06-15" {
		return TokenUser{}, badToken("the token's request has Version %q, not 2011-06-15", v)
	}
	if !slices.Contains(strings.Split(q.Get("X-Amz-SignedHeaders"), ";"), clusterIDHeader) {
		return TokenUser{}, badToken("the token's request does not sign the %s header, so it is not bound to a cluster", clusterIDHeader)
	}
	if id := q.Get(clusterIDHeader); id != "" && id != c.Name {
		return TokenUser{}, badToken("the token is for cluster %q, not %q", id, c.Name)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return TokenUser{}, badToken("the token's URL is not a request: %v", err)
	}
	req.Host = u.Host
	req.Header.Set(clusterIDHeader, c.Name)
	id, aerr := s.auth.AuthenticatePresigned(req, TokenValidity)
	if aerr != nil {
		if aerr.Code == awsapi.CodeInvalidSignature {
			return TokenUser{}, badToken("%s: the token's signature does not verify for cluster %s: it was made for another cluster or with other credentials, or it was altered", aerr.Code, c.Name)
		}
		return TokenUser{}, badToken("%s: %s", aerr.Code, aerr.Message)
	}
	if id.Service != "sts" {
		return TokenUser{}, badToken("the token's request is signed for %q, not sts", id.Service)
	}
	caller, err := s.callerARN(awsapi.WithIdentity(ctx, id), id)
	if err != nil {
		return TokenUser{}, err
	}
	principal := principalOf(caller)
	var e accessRec
	var mode eksapi.AuthenticationMode
	found := false
	err = s.st.View(ctx, func(tx store.Tx) error {
		cl, ok, err := getDoc[clusterRec](tx, kindCluster, c.Account, c.Region, c.Name)
		if err != nil {
			return err
		}
		if !ok {
			return badToken("cluster %s does not exist in account %s, region %s", c.Name, c.Account, c.Region)
		}
		mode = *cl.Cluster.AccessConfig.AuthenticationMode
		if mode == eksapi.AuthenticationModeConfigMap {
			return nil
		}
		e, found, err = getDoc[accessRec](tx, kindAccess, c.Account, c.Region, c.Name+"/"+principal)
		return err
	})
	if err != nil {
		return TokenUser{}, err
	}
	session := ""
	if m := assumedRolePattern.FindStringSubmatch(caller); m != nil {
		session = m[4]
	}
	userID := id.UserID
	if userID == "" {
		userID = id.AccountID
	}
	vars := templateVars{AccountID: id.AccountID, SessionName: session, AccessKeyID: id.AccessKeyID}
	username, groups := "", []string(nil)
	if found {
		// An access entry wins over the aws-auth ConfigMap for the same
		// principal, as on EKS.
		username = strings.NewReplacer("{{SessionName}}", session, "{{SessionNameRaw}}", session, "{{AccountID}}", id.AccountID).Replace(deref(e.Entry.Username))
		groups = slices.Clone(e.Entry.KubernetesGroups)
	} else {
		if username, groups, err = s.awsAuthUser(ctx, c, mode, principal, vars); err != nil {
			return TokenUser{}, err
		}
	}
	user := TokenUser{
		Username: username,
		UID:      "aws-iam-authenticator:" + id.AccountID + ":" + userID,
		Groups:   groups,
		Extra: map[string][]string{
			"accessKeyId":  {id.AccessKeyID},
			"arn":          {caller},
			"canonicalArn": {principal},
			"principalId":  {userID},
			"sessionName":  {session},
		},
	}
	for _, p := range e.Policies {
		name := policyName(*p.PolicyArn)
		if deref(p.AccessScope.Type) == eksapi.AccessScopeTypeCluster {
			if g := AccessPolicyGroups[name]; g != "" && !slices.Contains(user.Groups, g) {
				user.Groups = append(user.Groups, g)
			}
			continue
		}
		key := "eks.berth.dev/access-policy/" + name
		user.Extra[key] = append(user.Extra[key], p.AccessScope.Namespaces...)
	}
	return user, nil
}

// awsAuthUser maps a principal without an access entry through the
// cluster's aws-auth ConfigMap, when its authentication mode reads it.
func (s *Service) awsAuthUser(ctx context.Context, c ClusterRef, mode eksapi.AuthenticationMode, principal string, vars templateVars) (string, []string, error) {
	if mode == eksapi.AuthenticationModeApi {
		return "", nil, badToken("%s has no access entry in cluster %s", principal, c.Name)
	}
	data, err := s.cp.AWSAuth(ctx, c)
	if err != nil {
		s.log.Warn("eks: reading a cluster's aws-auth ConfigMap", "cluster", c.Name, "error", err)
		return "", nil, badToken("%s has no access entry in cluster %s, and its aws-auth ConfigMap could not be read: %v", principal, c.Name, err)
	}
	auth, err := parseAWSAuth(data)
	if err != nil {
		// The entries that parse still count, as a bad entry in EKS's
		// ConfigMap does not lock out every other principal.
		s.log.Warn("eks: the aws-auth ConfigMap has entries Berth cannot read", "cluster", c.Name, "error", err)
	}
	m, ok := auth.lookup(principal, vars.AccountID)
	if !ok {
		if mode == eksapi.AuthenticationModeConfigMap {
			return "", nil, badToken("%s is not mapped in the aws-auth ConfigMap of cluster %s (authenticationMode CONFIG_MAP)", principal, c.Name)
		}
		return "", nil, badToken("%s has no access entry in cluster %s and is not mapped in its aws-auth ConfigMap", principal, c.Name)
	}
	username := principal
	if m.Username != "" {
		if username, err = vars.render(m.Username); err != nil {
			return "", nil, badToken("aws-auth mapping of %s: %v", principal, err)
		}
	}
	groups := make([]string, 0, len(m.Groups))
	for _, g := range m.Groups {
		g, err := vars.render(g)
		if err != nil {
			return "", nil, badToken("aws-auth mapping of %s: %v", principal, err)
		}
		groups = append(groups, g)
	}
	return username, groups, nil
}

// tokenReview is the TokenReview object of authentication.k8s.io that a
// Kubernetes API server posts to its authentication webhook. It is spelled
// out here because the main module keeps no Kubernetes dependency.
type tokenReview struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Spec       tokenReviewSpec   `json:"spec"`
	Status     tokenReviewStatus `json:"status"`
}

type tokenReviewSpec struct {
	Token     string   `json:"token"`
	Audiences []string `json:"audiences,omitempty"`
}

type tokenReviewStatus struct {
	Authenticated bool      `json:"authenticated"`
	User          *userInfo `json:"user,omitempty"`
	Audiences     []string  `json:"audiences,omitempty"`
	Error         string    `json:"error,omitempty"`
}

type userInfo struct {
	Username string              `json:"username"`
	UID      string              `json:"uid,omitempty"`
	Groups   []string            `json:"groups,omitempty"`
	Extra    map[string][]string `json:"extra,omitempty"`
}

// TokenReviewPath is the pattern of the webhook on Berth's listener.
const TokenReviewPath = "POST /_berth/eks/{account}/{region}/{cluster}/token-review"

// TokenReviewURL is the webhook URL of cluster c on a Berth reached at
// base (http://127.0.0.1:4566).
func TokenReviewURL(base string, c ClusterRef) string {
	return strings.TrimSuffix(base, "/") + "/_berth/eks/" + url.PathEscape(c.Account) + "/" + url.PathEscape(c.Region) + "/" + url.PathEscape(c.Name) + "/token-review"
}

// ServeTokenReview is the authentication webhook of a cluster (registered
// at TokenReviewPath): it answers a TokenReview of
// authentication.k8s.io/v1 (or v1beta1) with the user of the token, or
// with authenticated false and why.
func (s *Service) ServeTokenReview(w http.ResponseWriter, r *http.Request) {
	c := ClusterRef{Account: r.PathValue("account"), Region: r.PathValue("region"), Name: r.PathValue("cluster")}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "reading the TokenReview: "+err.Error(), http.StatusBadRequest)
		return
	}
	var tr tokenReview
	if err := json.Unmarshal(body, &tr); err != nil {
		http.Error(w, "the body is not a TokenReview: "+err.Error(), http.StatusBadRequest)
		return
	}
	if tr.Kind != "TokenReview" || (tr.APIVersion != "authentication.k8s.io/v1" && tr.APIVersion != "authentication.k8s.io/v1beta1") {
		http.Error(w, fmt.Sprintf("want a TokenReview of authentication.k8s.io/v1, got %s %s", tr.APIVersion, tr.Kind), http.StatusBadRequest)
		return
	}
	out := tokenReview{APIVersion: tr.APIVersion, Kind: "TokenReview", Spec: tokenReviewSpec{Audiences: tr.Spec.Audiences}}
	user, err := s.ReviewToken(r.Context(), c, tr.Spec.Token)
	var bad errToken
	switch {
	case errors.As(err, &bad):
		out.Status = tokenReviewStatus{Error: bad.msg}
	case err != nil:
		s.log.Error("eks: reviewing a token", "cluster", c.Name, "error", err)
		http.Error(w, "internal error reviewing the token", http.StatusInternalServerError)
		return
	default:
		out.Status = tokenReviewStatus{Authenticated: true, Audiences: tr.Spec.Audiences,
			User: &userInfo{Username: user.Username, UID: user.UID, Groups: user.Groups, Extra: user.Extra}}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}
