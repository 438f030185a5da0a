// Package remote is the task agent of a host that is not Berth's own: it
// joins a cluster the way an ECS container instance does and runs the tasks
// placed on it with the same agent (package agent) as the in-process one,
// talking to the control plane only through Berth's public AWS APIs (ECS,
// CloudWatch Logs, ECR, Secrets Manager, SSM), signed with SigV4.
//
// Requests and answers are Berth's generated wire shapes (api/<service>),
// so what DescribeTasks and DescribeTaskDefinition say reaches the agent
// exactly as the control plane holds it.
package remote

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/berth-dev/berth/awsapi"
)

// Client calls awsJson1_1 operations of one endpoint.
type Client struct {
	// Endpoint is Berth's URL, e.g. http://host:4566.
	Endpoint string
	// Region is the Region requests are signed for and name.
	Region string
	// Credentials sign every request.
	Credentials aws.CredentialsProvider
	// HTTP is the client; a 30 s timeout one when nil.
	HTTP *http.Client

	signer *v4.Signer
}

// ErrorCode is the AWS error code of err, "" when it is not an API error.
// Error answers are *awsapi.Error, as Berth's services return them in
// process, so the agent words them the same either way.
func ErrorCode(err error) string {
	if e := awsapi.AsError(err); e != nil {
		return e.Code
	}
	return ""
}

// Targets of the services the agent calls, and their signing names.
type service struct{ prefix, signingName string }

var (
	svcECS            = service{"AmazonEC2ContainerServiceV20141113", "ecs"}
	svcLogs           = service{"Logs_20140328", "logs"}
	svcECR            = service{"AmazonEC2ContainerRegistry_V20150921", "ecr"}
	svcSecretsManager = service{"secretsmanager", "secretsmanager"}
	svcSSM            = service{"AmazonSSM", "ssm"}
)

// call sends in to svc's operation op in region ("" = the client's) and
// decodes the answer into out.
func (c *Client) call(ctx context.Context, svc service, region, op string, in, out any) error {
	if region == "" {
		region = c.Region
	}
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.Endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", svc.prefix+"."+op)
	creds, err := c.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	if c.signer == nil {
		c.signer = v4.NewSigner()
	}
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), svc.signingName, region, time.Now()); err != nil {
		return err
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
			Msg     string `json:"Message"`
		}
		_ = json.Unmarshal(data, &e)
		code := e.Type
		if code == "" {
			code = resp.Header.Get("X-Amzn-ErrorType")
		}
		if i := strings.LastIndexByte(code, '#'); i >= 0 {
			code = code[i+1:]
		}
		code, _, _ = strings.Cut(code, ":")
		msg := e.Message
		if msg == "" {
			msg = e.Msg
		}
		if code == "" {
			code, msg = http.StatusText(resp.StatusCode), strings.TrimSpace(string(data))
		}
		return &awsapi.Error{Code: code, Message: msg, HTTPStatus: resp.StatusCode}
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	return json.Unmarshal(data, out)
}
