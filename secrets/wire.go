package secrets

import (
	"context"
	"encoding/json"

	smapi "github.com/berth-dev/berth/api/secretsmanager"
	"github.com/berth-dev/berth/awsapi"
)

// NewJSONService is the awsJson service for s. Every modeled Secrets
// Manager error names its message member "Message", and AWS sends it
// under that name ({"__type": ..., "Message": ...}), so the SDKs surface
// it on the exception; errors of the protocol itself (ValidationException,
// SerializationException, ...) keep the lower-case "message".
func NewJSONService(s *Service) *awsapi.JSONService {
	j := smapi.NewJSONService(s)
	for name, op := range j.Operations {
		j.Operations[name] = func(ctx context.Context, body []byte) (any, error) {
			if err := requireToken(name, body); err != nil {
				return nil, withModeledMessage(err)
			}
			out, err := op(ctx, body)
			if err != nil {
				return out, withModeledMessage(err)
			}
			return out, nil
		}
	}
	return j
}

// requireToken refuses a request that creates a secret version without a
// ClientRequestToken. The SDKs and the CLI always fill one in (the member
// is an idempotency token); AWS requires it of raw HTTP requests and
// checks it before anything else, even whether the secret exists.
// In-process callers of Service are not held to it.
func requireToken(op string, body []byte) error {
	var in struct {
		ClientRequestToken *string
		SecretString       any
		SecretBinary       any
	}
	switch op {
	case "CreateSecret", "UpdateSecret", "PutSecretValue", "RotateSecret":
	default:
		return nil
	}
	if json.Unmarshal(body, &in) != nil || in.ClientRequestToken != nil {
		// A body that is not JSON is the decoder's to report.
		return nil
	}
	const msg = "You must provide a ClientRequestToken value. We recommend a UUID-type value."
	switch op {
	case "RotateSecret":
		return smapi.NewInvalidParameterException(msg)
	case "PutSecretValue":
		return smapi.NewInvalidRequestException(msg)
	}
	if in.SecretString == nil && in.SecretBinary == nil {
		// Without a value no version is created.
		return nil
	}
	return smapi.NewInvalidRequestException(msg)
}

func withModeledMessage(err error) error {
	e := awsapi.AsError(err)
	if e == nil || len(e.Fields) > 0 || !modeledErrors[e.Code] {
		return err
	}
	c := *e
	c.Fields = map[string]any{"Message": e.Message}
	return &c
}

// modeledErrors are the error shapes of the Secrets Manager model.
var modeledErrors = map[string]bool{
	smapi.CodeDecryptionFailure:                true,
	smapi.CodeEncryptionFailure:                true,
	smapi.CodeInternalServiceError:             true,
	smapi.CodeInvalidNextTokenException:        true,
	smapi.CodeInvalidParameterException:        true,
	smapi.CodeInvalidRequestException:          true,
	smapi.CodeLimitExceededException:           true,
	smapi.CodeMalformedPolicyDocumentException: true,
	smapi.CodePreconditionNotMetException:      true,
	smapi.CodePublicPolicyException:            true,
	smapi.CodeResourceExistsException:          true,
	smapi.CodeResourceNotFoundException:        true,
}
