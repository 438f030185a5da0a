package server

import (
	"context"
	"net"

	eksapi "github.com/berth-dev/berth/api/eks"
	stsapi "github.com/berth-dev/berth/api/sts"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/eks"
)

// wireEKS serves the EKS API (restJson1) over the shared state store, its
// controller, and the token-review webhook that clusters' API servers
// authenticate `aws eks get-token` tokens with. It runs after wireIAM:
// tokens name their caller through STS. No Kubernetes binary is wired in
// yet, so clusters get eks.Unserved's endpoint.
func (s *Server) wireEKS() error {
	st, err := s.store()
	if err != nil {
		return err
	}
	base := "http://" + loopbackAddr(s.cfg.Listen)
	svc, err := eks.New(eks.Options{
		Store: st,
		Auth:  s.api.Auth,
		CallerARN: func(ctx context.Context, id awsapi.Identity) (string, error) {
			if s.sts == nil {
				return eks.CallerARN(id), nil
			}
			out, err := s.sts.GetCallerIdentity(awsapi.WithIdentity(ctx, id), &stsapi.GetCallerIdentityInput{})
			if err != nil {
				return "", err
			}
			return *out.Arn, nil
		},
		TokenReviewURL: func(c eks.ClusterRef) string { return eks.TokenReviewURL(base, c) },
		Log:            s.log.With("component", "eks"),
	})
	if err != nil {
		return err
	}
	s.api.HandleRest(eksapi.NewRestService(svc))
	s.mux.HandleFunc(eks.TokenReviewPath, svc.ServeTokenReview)
	s.loops = append(s.loops, svc.Run)
	return nil
}

// loopbackAddr is how a process on this machine reaches listen: an
// unspecified host (":4566", "0.0.0.0:4566") is reached on loopback.
func loopbackAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
