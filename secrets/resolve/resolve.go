// Package resolve turns the valueFrom of an ECS container secret into the
// value to inject, reading Berth's Secrets Manager and Parameter Store
// (packages secrets and ssm) straight from the store.
//
// valueFrom is, as ECS accepts it:
//   - a Secrets Manager secret ARN, full or partial, optionally followed by
//     ":<json-key>:<version-stage>:<version-id>" (each part may be empty;
//     trailing parts may be left out): the secret's SecretString, or the
//     value of json-key in it when it is a JSON object;
//   - an SSM parameter ARN, or a parameter name (the task's account and
//     Region), optionally with a ":<version>" or ":<label>" selector: the
//     parameter's value, decrypted.
//
// An ARN is read in the account and Region it names.
package resolve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	smapi "github.com/berth-dev/berth/api/secretsmanager"
	ssmapi "github.com/berth-dev/berth/api/ssm"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/secrets"
	"github.com/berth-dev/berth/ssm"
	"github.com/berth-dev/berth/store"
)

// The kinds of Error, checked with errors.Is.
var (
	// ErrNotFound: the secret, parameter, version or JSON key does not
	// exist (or the secret is scheduled for deletion).
	ErrNotFound = errors.New("resolve: secret not found")
	// ErrInvalid: valueFrom is malformed, or the secret cannot be used as
	// asked (not JSON when a key is asked for, a binary secret).
	ErrInvalid = errors.New("resolve: invalid secret reference")
)

// Services named in Error.Service.
const (
	SecretsManager = "secretsmanager"
	SSM            = "ssm"
)

// Error is why a valueFrom could not be resolved.
type Error struct {
	ValueFrom string
	// Service is SecretsManager or SSM.
	Service string
	// Code is the AWS error code the service answered, when it answered
	// one (ResourceNotFoundException, ParameterNotFound, ...).
	Code    string
	Message string
	kind    error
}

func (e *Error) Error() string {
	s := "unable to resolve secret " + e.ValueFrom + " from " + e.Service + ": "
	if e.Code != "" {
		s += e.Code + ": "
	}
	return s + e.Message
}

// Unwrap is ErrNotFound or ErrInvalid.
func (e *Error) Unwrap() error { return e.kind }

// Resolver reads secrets for tasks.
type Resolver struct {
	Store store.Store
	// Now is the clock (secrets past their recovery window are gone);
	// time.Now when nil.
	Now func() time.Time
}

// Resolve returns the value valueFrom names for a task running in account
// and region.
func (r Resolver) Resolve(ctx context.Context, account, region, valueFrom string) (string, error) {
	vs, err := r.ResolveAll(ctx, account, region, []string{valueFrom})
	if err != nil {
		return "", err
	}
	return vs[0], nil
}

// ResolveAll resolves several valueFroms in one read transaction, in
// order; the first failure is returned.
func (r Resolver) ResolveAll(ctx context.Context, account, region string, valueFroms []string) ([]string, error) {
	if r.Store == nil {
		return nil, errors.New("resolve: Resolver has no Store")
	}
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	out := make([]string, len(valueFroms))
	err := r.Store.View(ctx, func(tx store.Tx) error {
		for i, vf := range valueFroms {
			v, err := resolveOne(tx, account, region, vf, now)
			if err != nil {
				return err
			}
			out[i] = v
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func resolveOne(tx store.Tx, account, region, valueFrom string, now time.Time) (string, error) {
	if strings.HasPrefix(valueFrom, "arn:") {
		parts := strings.Split(valueFrom, ":")
		if len(parts) < 6 {
			return "", &Error{ValueFrom: valueFrom, Service: SSM, Message: "the ARN is malformed", kind: ErrInvalid}
		}
		switch parts[2] {
		case "secretsmanager":
			return fromSecretsManager(tx, valueFrom, parts, now)
		case "ssm":
			return fromSSM(tx, parts[4], parts[3], valueFrom, now)
		}
		return "", &Error{ValueFrom: valueFrom, Service: parts[2], Message: "only Secrets Manager secrets and SSM parameters can be referenced", kind: ErrInvalid}
	}
	return fromSSM(tx, account, region, valueFrom, now)
}

// fromSecretsManager resolves arn:aws:secretsmanager:<region>:<account>:
// secret:<name>[:<json-key>[:<version-stage>[:<version-id>]]].
func fromSecretsManager(tx store.Tx, valueFrom string, parts []string, now time.Time) (string, error) {
	fail := func(code, msg string, kind error) error {
		return &Error{ValueFrom: valueFrom, Service: SecretsManager, Code: code, Message: msg, kind: kind}
	}
	if len(parts) < 7 || len(parts) > 10 || parts[5] != "secret" || parts[6] == "" {
		return "", fail("", "the secret ARN is malformed", ErrInvalid)
	}
	secretARN := strings.Join(parts[:7], ":")
	var jsonKey, stage, versionID string
	if len(parts) > 7 {
		jsonKey = parts[7]
	}
	if len(parts) > 8 {
		stage = parts[8]
	}
	if len(parts) > 9 {
		versionID = parts[9]
	}
	v, err := secrets.GetValue(tx, parts[4], parts[3], secretARN, versionID, stage, now)
	if err != nil {
		return "", serviceError(valueFrom, SecretsManager, err)
	}
	if v.String == nil {
		return "", fail("", "the secret has a binary value; only SecretString values can be injected", ErrInvalid)
	}
	if jsonKey == "" {
		return *v.String, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(*v.String), &obj); err != nil {
		return "", fail("", "the secret value is not a JSON object, so json key "+jsonKey+" cannot be read from it", ErrInvalid)
	}
	raw, ok := obj[jsonKey]
	if !ok {
		return "", fail("", "the secret value does not contain json key "+jsonKey, ErrNotFound)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	return string(raw), nil
}

func fromSSM(tx store.Tx, account, region, name string, now time.Time) (string, error) {
	v, err := ssm.GetValue(tx, account, region, name, now)
	if err != nil {
		return "", serviceError(name, SSM, err)
	}
	return v.Value, nil
}

// serviceError turns a service's answer into an *Error; store failures
// pass through.
func serviceError(valueFrom, service string, err error) error {
	e := awsapi.AsError(err)
	if e == nil {
		return fmt.Errorf("resolve %s: %w", valueFrom, err)
	}
	kind := ErrInvalid
	switch e.Code {
	case smapi.CodeResourceNotFoundException, smapi.CodeInvalidRequestException,
		ssmapi.CodeParameterNotFound, ssmapi.CodeParameterVersionNotFound:
		kind = ErrNotFound
	}
	msg := e.Message
	if msg == "" {
		msg = "not found"
	}
	return &Error{ValueFrom: valueFrom, Service: service, Code: e.Code, Message: msg, kind: kind}
}
