package server

import (
	"net/http"

	"github.com/berth-dev/berth/sts/oidc"
)

// issuerFetchClient is the client STS fetches OIDC issuers' documents
// with. Berth's own listener (self, host:port) speaks plain HTTP, yet IAM
// providers for Berth's EKS issuers get registered as https:// by clients
// that accept nothing else (Terraform's aws_iam_openid_connect_provider
// rejects http:// URLs): such requests go to self over http.
func issuerFetchClient(self string) *http.Client {
	return &http.Client{Timeout: oidc.DefaultTimeout, Transport: selfHTTP{self: self, base: http.DefaultTransport}}
}

type selfHTTP struct {
	self string
	base http.RoundTripper
}

func (s selfHTTP) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme == "https" && r.URL.Host == s.self {
		r = r.Clone(r.Context())
		r.URL.Scheme = "http"
	}
	return s.base.RoundTrip(r)
}
