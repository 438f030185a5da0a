package server

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sync/atomic"
	"time"

	eksapi "github.com/berth-dev/berth/api/eks"
	eksauthapi "github.com/berth-dev/berth/api/eksauth"
	stsapi "github.com/berth-dev/berth/api/sts"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/eks"
	"github.com/berth-dev/berth/eks/k8sproc"
	"github.com/berth-dev/berth/runtime"
)

// wireEKS serves the EKS API (restJson1) over the shared state store, its
// controller, and the token-review webhook that clusters' API servers
// authenticate `aws eks get-token` tokens with. It runs after wireIAM:
// tokens name their caller through STS. Clusters run on berth-k8s
// processes when a binary is configured or lies next to berth, else they
// get eks.Unserved's endpoint.
func (s *Server) wireEKS() error {
	st, err := s.store()
	if err != nil {
		return err
	}
	cp, agent, err := s.eksControlPlane()
	if err != nil {
		return err
	}
	base := "http://" + loopbackAddr(s.cfg.Listen)
	var roles eks.PodRoles
	if s.sts != nil {
		roles = s.sts
	}
	svc, err := eks.New(eks.Options{
		Roles:        roles,
		Store:        st,
		ControlPlane: cp,
		Auth:         s.api.Auth,
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
		OIDCIssuerBase: base,
		Log:            s.log.With("component", "eks"),
	})
	if err != nil {
		return err
	}
	s.api.HandleRest(eksapi.NewRestService(svc))
	s.consoleAPIs.EKS = svc
	s.api.HandleRest(eksauthapi.NewRestService(svc))
	// EKS Pod Identity: nodes ask which service accounts have an
	// association; pods get credentials from the agent.
	s.mux.HandleFunc(eks.PodIdentityLookupPath, svc.ServePodIdentityLookup)
	if agent != nil {
		agent.mux.HandleFunc(eks.PodIdentityAgentPath, svc.ServePodIdentityAgent)
	}
	s.wireALBIngress(svc, cp)
	s.mux.HandleFunc(eks.TokenReviewPath, svc.ServeTokenReview)
	// Clusters' OIDC issuers (IRSA): STS fetches their keys from here.
	s.mux.HandleFunc(eks.OIDCDiscoveryPath, svc.ServeOIDCDiscovery)
	s.mux.HandleFunc(eks.OIDCKeysPath, svc.ServeOIDCKeys)
	// The controller stops every cluster's control plane when its context
	// ends; Close waits for that, or berth-k8s processes would be cut off
	// mid-shutdown by Berth's exit. A server that never ran has nothing to
	// wait for.
	var running atomic.Bool
	done := make(chan struct{})
	s.loops = append(s.loops, func(ctx context.Context) {
		running.Store(true)
		defer close(done)
		svc.Run(ctx)
	})
	s.closers = append(s.closers, func() error {
		if running.Load() {
			select {
			case <-done:
			case <-time.After(40 * time.Second):
				s.log.Warn("eks: control planes still stopping at exit")
			}
		}
		return nil
	})
	return nil
}

// eksControlPlane is berth-k8s from the configuration, or next to the
// berth executable, or none (eks.Unserved).
func (s *Server) eksControlPlane() (eks.ControlPlane, *podIdentityAgent, error) {
	log := s.log.With("component", "eks")
	bin, from := s.cfg.K8sBinary, "configured"
	if bin == "" {
		bin, from = k8sproc.FindBinary(), "next to berth"
	}
	if bin == "" {
		log.Info("EKS clusters run no Kubernetes control plane: no berth-k8s is configured (--k8s-binary) or next to berth; build it with k8s/build.sh")
		return eks.Unserved{Log: log}, nil, nil
	}
	o := k8sproc.Options{Binary: bin, Dir: filepath.Join(s.cfg.DataDir, "eks"), Log: log}
	// Nodes pull from Berth's ECR with its passwords, as EKS nodes do with
	// the ECR credential provider.
	if s.ecrTokens != nil && s.cfg.RegistryHost != "" {
		o.RegistryHost, o.RegistryPassword = s.cfg.RegistryHost, s.ecrTokens.Issue
	}
	// Pods reach the AWS API where ECS task containers do: the task
	// endpoints' listener on 169.254.170.2, on Berth's port, which answers
	// every request that is not a credentials or metadata one.
	if _, port, err := net.SplitHostPort(s.cfg.Listen); err == nil && port != "0" {
		o.PodAWSEndpoint = "http://" + net.JoinHostPort(runtime.TaskEndpointAddress, port)
	}
	// Node groups run pods on the Docker engine; Berth removes their
	// containers when a node group or cluster is deleted.
	if rt, err := runtime.Open(context.Background(), "docker", nil); err != nil {
		log.Warn("EKS: no container runtime; deleted node groups may leave pod containers behind", "error", err)
	} else {
		o.Runtime = rt
		s.closers = append(s.closers, rt.Close)
	}
	// EKS Pod Identity: pods of associated service accounts get the
	// agent's URI, nodes learn which those are from Berth.
	var agent *podIdentityAgent
	if o.Runtime != nil {
		agent, o.PodIdentityAgentURI = s.startPodIdentityAgent(o.Runtime, log)
		base := "http://" + loopbackAddr(s.cfg.Listen)
		o.PodIdentityLookupURL = func(c eks.ClusterRef) string { return eks.PodIdentityLookupURL(base, c) }
	}
	cp, err := k8sproc.New(o)
	if err != nil {
		return nil, nil, fmt.Errorf("the Kubernetes binary (%s, --k8s-binary): %w", from, err)
	}
	log.Info("EKS clusters run on berth-k8s", "binary", bin, "from", from)
	return cp, agent, nil
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
