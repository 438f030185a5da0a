package benchenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// JSONClient calls an awsJson1.1 API with plain HTTP requests, the same
// client for Berth and moto so the bench measures the servers.
type JSONClient struct {
	endpoint, target, service string
	hc                        *http.Client
}

// NewJSONClient calls the API at endpoint whose X-Amz-Target prefix is
// target and whose signing name is service, keeping connections for conc
// requests in flight.
func NewJSONClient(endpoint, target, service string, conc int, timeout time.Duration) *JSONClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = conc * 2
	return &JSONClient{endpoint: endpoint, target: target, service: service, hc: &http.Client{Transport: tr, Timeout: timeout}}
}

// Call sends op with in and decodes the answer into out (unless nil).
func (c *JSONClient) Call(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", c.target+"."+op)
	req.Header.Set("X-Amz-Date", now.Format("20060102T150405Z"))
	// Neither server checks signatures here; the header names the key and
	// region.
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/"+now.Format("20060102")+
		"/us-east-1/"+c.service+"/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature="+strings.Repeat("0", 64))
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d: %.300s", op, resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// Endpoint is the base URL the client calls.
func (c *JSONClient) Endpoint() string { return c.endpoint }
