package server

import (
	"context"
	"time"

	iamapi "github.com/berth-dev/berth/api/iam"
	stsapi "github.com/berth-dev/berth/api/sts"
	"github.com/berth-dev/berth/iam"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/sts"
)

// Issued session credentials are forgotten this long after they expire;
// until then requests signed with them get ExpiredToken.
const (
	sessionPruneInterval = 10 * time.Minute
	sessionRetention     = 24 * time.Hour
)

// wireIAM serves IAM and STS over the shared state store.
func (s *Server) wireIAM() error {
	st, err := s.store()
	if err != nil {
		return err
	}
	s.sts, err = s.serveIAM(st)
	return err
}

// serveIAM registers IAM and STS over st (awsQuery), makes the
// authenticator recognise the session credentials STS issues and the
// access keys IAM creates, and prunes
// expired ones. It returns the STS service, whose IssueRoleCredentials
// the ECS task agent calls for task role credentials.
func (s *Server) serveIAM(st store.Store) (*sts.Service, error) {
	roles, err := iam.New(iam.Options{Store: st})
	if err != nil {
		return nil, err
	}
	tokens, err := sts.New(sts.Options{Store: st, IAM: roles, HTTPClient: issuerFetchClient(loopbackAddr(s.cfg.Listen))})
	if err != nil {
		return nil, err
	}
	iamWire := iamapi.NewQueryService(roles)
	iam.WrapQuery(iamWire)
	s.api.HandleQuery(iamWire)
	stsWire := stsapi.NewQueryService(tokens)
	// AWS serves this one unsigned (botocore's authtype none): the ID
	// token is the credential, and a pod has no other.
	stsWire.Unsigned = map[string]bool{"AssumeRoleWithWebIdentity": true}
	s.api.HandleQuery(stsWire)
	s.api.Auth.Sessions = tokens
	s.api.Auth.Keys = roles
	s.iam = roles
	s.loops = append(s.loops, func(ctx context.Context) { s.pruneSessions(ctx, tokens) })
	return tokens, nil
}

// pruneSessions forgets long-expired session credentials every
// sessionPruneInterval until ctx ends.
func (s *Server) pruneSessions(ctx context.Context, tokens *sts.Service) {
	t := time.NewTicker(sessionPruneInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := tokens.Prune(ctx, time.Now().Add(-sessionRetention)); err != nil && ctx.Err() == nil {
				s.log.Warn("pruning expired STS sessions", "error", err)
			}
		}
	}
}
