package sts

import (
	"context"

	stsapi "github.com/berth-dev/berth/api/sts"
)

// DecodeAuthorizationMessage refuses every message: AWS encodes one when
// it denies a request, and Berth enforces no identity policies, so it has
// never encoded a message there is anything to decode.
func (s *Service) DecodeAuthorizationMessage(_ context.Context, in *stsapi.DecodeAuthorizationMessageInput) (*stsapi.DecodeAuthorizationMessageOutput, error) {
	return nil, stsapi.NewInvalidAuthorizationMessageException("The encoded message is not one Berth issued: Berth enforces no IAM policies, so it never denies a request with an encoded authorization message.")
}
