package remote

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/berth-dev/berth/awsapi"
)

// Query-protocol services the agent calls (IAM and STS speak awsQuery,
// not awsJson).
type queryService struct{ version, signingName string }

var (
	svcSTS = queryService{"2011-06-15", "sts"}
	svcIAM = queryService{"2010-05-08", "iam"}
)

// callQuery sends action with params to an awsQuery service in region
// ("" = the client's) and decodes the <ActionResult> of the answer into
// out.
func (c *Client) callQuery(ctx context.Context, svc queryService, region, action string, params url.Values, out any) error {
	if region == "" {
		region = c.Region
	}
	form := url.Values{}
	for k, v := range params {
		form[k] = v
	}
	form.Set("Action", action)
	form.Set("Version", svc.version)
	body := form.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.Endpoint, "/")+"/", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	creds, err := c.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), svc.signingName, region, time.Now()); err != nil {
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
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Code, Message string } `xml:"Error"`
		}
		if xml.Unmarshal(data, &e) != nil || e.Error.Code == "" {
			return &awsapi.Error{Code: http.StatusText(resp.StatusCode), Message: strings.TrimSpace(string(data)), HTTPStatus: resp.StatusCode}
		}
		return &awsapi.Error{Code: e.Error.Code, Message: e.Error.Message, HTTPStatus: resp.StatusCode}
	}
	if out == nil {
		return nil
	}
	return xml.Unmarshal(data, out)
}
