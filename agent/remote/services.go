package remote

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/distribution/reference"

	ecrapi "github.com/berth-dev/berth/api/ecr"
	logsapi "github.com/berth-dev/berth/api/logs"
	smapi "github.com/berth-dev/berth/api/secretsmanager"
	ssmapi "github.com/berth-dev/berth/api/ssm"
	"github.com/berth-dev/berth/logs"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/secrets/resolve"
)

// LogSink ships awslogs output with CreateLogGroup, CreateLogStream and
// PutLogEvents, as the awslogs log driver does. The agent's credentials
// write every task's logs (on ECS, the execution role's would).
type LogSink struct{ C *Client }

// Append implements agent.LogSink.
func (l LogSink) Append(ctx context.Context, account, region, group, stream string, events []logs.Event, createGroup bool) error {
	put := func() error {
		evs := make([]logsapi.InputLogEvent, 0, len(events))
		for _, e := range events {
			if e.Message != "" {
				evs = append(evs, logsapi.InputLogEvent{Timestamp: ptr(e.Timestamp.UnixMilli()), Message: ptr(e.Message)})
			}
		}
		if len(evs) == 0 {
			// Making sure the stream exists is all an empty append does.
			err := l.C.call(ctx, svcLogs, region, "CreateLogStream", &logsapi.CreateLogStreamInput{LogGroupName: &group, LogStreamName: &stream}, nil)
			if ErrorCode(err) == "ResourceAlreadyExistsException" {
				return nil
			}
			return err
		}
		return l.C.call(ctx, svcLogs, region, "PutLogEvents", &logsapi.PutLogEventsInput{
			LogGroupName: &group, LogStreamName: &stream, LogEvents: evs,
		}, nil)
	}
	err := put()
	if ErrorCode(err) != "ResourceNotFoundException" {
		return err
	}
	// The group or the stream is missing: make what may be made.
	if createGroup {
		err := l.C.call(ctx, svcLogs, region, "CreateLogGroup", &logsapi.CreateLogGroupInput{LogGroupName: &group}, nil)
		if err != nil && ErrorCode(err) != "ResourceAlreadyExistsException" {
			return err
		}
	}
	err = l.C.call(ctx, svcLogs, region, "CreateLogStream", &logsapi.CreateLogStreamInput{LogGroupName: &group, LogStreamName: &stream}, nil)
	if err != nil && ErrorCode(err) != "ResourceAlreadyExistsException" {
		return err
	}
	return put()
}

// LastEventTime implements agent.LogSink.
func (l LogSink) LastEventTime(ctx context.Context, account, region, group, stream string) (time.Time, error) {
	var out logsapi.GetLogEventsOutput
	err := l.C.call(ctx, svcLogs, region, "GetLogEvents", &logsapi.GetLogEventsInput{
		LogGroupName: &group, LogStreamName: &stream, Limit: ptr(int32(1)),
	}, &out)
	if ErrorCode(err) == "ResourceNotFoundException" {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	var last int64
	for _, e := range out.Events {
		last = max(last, deref(e.Timestamp))
	}
	if last == 0 {
		return time.Time{}, nil
	}
	return time.UnixMilli(last), nil
}

// Secrets reads container secrets with Secrets Manager's GetSecretValue and
// SSM's GetParameters, with the agent's credentials (on ECS, the execution
// role's). valueFrom is what resolve.Resolver takes.
type Secrets struct{ C *Client }

// ResolveAll implements agent.SecretResolver.
func (s Secrets) ResolveAll(ctx context.Context, account, region string, valueFroms []string) ([]string, error) {
	out := make([]string, len(valueFroms))
	for i, vf := range valueFroms {
		v, err := s.resolve(ctx, region, vf)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (s Secrets) resolve(ctx context.Context, region, valueFrom string) (string, error) {
	if !strings.HasPrefix(valueFrom, "arn:") {
		return s.parameter(ctx, region, valueFrom)
	}
	parts := strings.Split(valueFrom, ":")
	if len(parts) < 6 {
		return "", resolve.NewError(valueFrom, resolve.SSM, "", "the ARN is malformed", false)
	}
	switch parts[2] {
	case "ssm":
		return s.parameter(ctx, parts[3], valueFrom)
	case "secretsmanager":
	default:
		return "", resolve.NewError(valueFrom, parts[2], "", "only Secrets Manager secrets and SSM parameters can be referenced", false)
	}
	if len(parts) < 7 || len(parts) > 10 || parts[5] != "secret" || parts[6] == "" {
		return "", resolve.NewError(valueFrom, resolve.SecretsManager, "", "the secret ARN is malformed", false)
	}
	at := func(i int) *string {
		if len(parts) > i && parts[i] != "" {
			return &parts[i]
		}
		return nil
	}
	var got smapi.GetSecretValueOutput
	err := s.C.call(ctx, svcSecretsManager, parts[3], "GetSecretValue", &smapi.GetSecretValueInput{
		SecretId: ptr(strings.Join(parts[:7], ":")), VersionStage: at(8), VersionId: at(9),
	}, &got)
	if err != nil {
		return "", apiSecretError(valueFrom, resolve.SecretsManager, err)
	}
	if got.SecretString == nil {
		return "", resolve.NewError(valueFrom, resolve.SecretsManager, "", "the secret has a binary value; only SecretString values can be injected", false)
	}
	key := deref(at(7))
	if key == "" {
		return *got.SecretString, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(*got.SecretString), &obj); err != nil {
		return "", resolve.NewError(valueFrom, resolve.SecretsManager, "", "the secret value is not a JSON object, so json key "+key+" cannot be read from it", false)
	}
	raw, ok := obj[key]
	if !ok {
		return "", resolve.NewError(valueFrom, resolve.SecretsManager, "", "the secret value does not contain json key "+key, true)
	}
	var str string
	if err := json.Unmarshal(raw, &str); err == nil {
		return str, nil
	}
	return string(raw), nil
}

func (s Secrets) parameter(ctx context.Context, region, name string) (string, error) {
	var got ssmapi.GetParametersOutput
	err := s.C.call(ctx, svcSSM, region, "GetParameters", &ssmapi.GetParametersInput{Names: []string{name}, WithDecryption: ptr(true)}, &got)
	if err != nil {
		return "", apiSecretError(name, resolve.SSM, err)
	}
	if len(got.Parameters) == 0 {
		return "", resolve.NewError(name, resolve.SSM, ssmapi.CodeParameterNotFound, "not found", true)
	}
	return deref(got.Parameters[0].Value), nil
}

func apiSecretError(valueFrom, service string, err error) error {
	code := ErrorCode(err)
	if code == "" {
		return err
	}
	msg := err.Error()
	msg = strings.TrimPrefix(msg, code+": ")
	notFound := code == smapi.CodeResourceNotFoundException || code == smapi.CodeInvalidRequestException ||
		code == ssmapi.CodeParameterNotFound || code == ssmapi.CodeParameterVersionNotFound
	return resolve.NewError(valueFrom, service, code, msg, notFound)
}

// Registry gives pulls from Berth's registry an ECR token got with
// GetAuthorizationToken, as the ECS agent does with the execution role. An
// image named the AWS way (<account>.dkr.ecr.<region>.amazonaws.com/<repo>)
// is pulled from Berth's registry, whose host is the token's proxyEndpoint.
// Other registries are pulled anonymously.
type Registry struct {
	C *Client

	mu     sync.Mutex
	tokens map[string]registryToken // by region
}

type registryToken struct {
	host, user, password string
	expires              time.Time
}

var ecrHost = regexp.MustCompile(`^([0-9]{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$`)

// Resolve implements agent.RegistryResolver.
func (r *Registry) Resolve(ctx context.Context, account, region, image string) (string, *runtime.RegistryAuth, error) {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return image, nil, nil // the pull reports the bad reference
	}
	host := reference.Domain(named)
	m := ecrHost.FindStringSubmatch(host)
	if m != nil {
		region = m[2]
	} else if !r.mightBeOwn(host) {
		return image, nil, nil
	}
	tok, err := r.token(ctx, region)
	if err != nil {
		return "", nil, err
	}
	ref := image
	if m != nil {
		ref = tok.host + strings.TrimPrefix(image, host)
	} else if !sameRegistry(host, tok.host) {
		return image, nil, nil
	}
	return ref, &runtime.RegistryAuth{Username: tok.user, Password: tok.password, ServerAddress: tok.host}, nil
}

// mightBeOwn reports whether host may be Berth's registry: a host with the
// port of the endpoint, or a known token's host.
func (r *Registry) mightBeOwn(host string) bool {
	if u, err := url.Parse(r.C.Endpoint); err == nil && sameRegistry(host, u.Host) {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.tokens {
		if sameRegistry(host, t.host) {
			return true
		}
	}
	return false
}

// sameRegistry: the same host:port, or the same port on loopback names.
func sameRegistry(a, b string) bool {
	if strings.EqualFold(a, b) {
		return true
	}
	ha, pa, err1 := net.SplitHostPort(a)
	hb, pb, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil || pa != pb {
		return false
	}
	return loopback(ha) && loopback(hb)
}

func loopback(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func (r *Registry) token(ctx context.Context, region string) (registryToken, error) {
	r.mu.Lock()
	t, ok := r.tokens[region]
	r.mu.Unlock()
	if ok && time.Until(t.expires) > 10*time.Minute {
		return t, nil
	}
	var out ecrapi.GetAuthorizationTokenOutput
	if err := r.C.call(ctx, svcECR, region, "GetAuthorizationToken", &ecrapi.GetAuthorizationTokenInput{}, &out); err != nil {
		return t, err
	}
	if len(out.AuthorizationData) == 0 {
		return t, errors.New("ECR GetAuthorizationToken returned no authorization data")
	}
	d := out.AuthorizationData[0]
	raw, err := base64.StdEncoding.DecodeString(deref(d.AuthorizationToken))
	if err != nil {
		return t, err
	}
	user, pw, _ := strings.Cut(string(raw), ":")
	host := deref(d.ProxyEndpoint)
	if u, err := url.Parse(host); err == nil && u.Host != "" {
		host = u.Host
	}
	t = registryToken{host: host, user: user, password: pw, expires: time.Now().Add(time.Hour)}
	if d.ExpiresAt != nil && d.ExpiresAt.Before(t.expires) {
		t.expires = d.ExpiresAt.Time
	}
	r.mu.Lock()
	if r.tokens == nil {
		r.tokens = map[string]registryToken{}
	}
	r.tokens[region] = t
	r.mu.Unlock()
	return t, nil
}
