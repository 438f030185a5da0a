package awsapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// An ec2-protocol service next to awsQuery ones: routing by signing name
// or Version, EC2's response and error documents.
func TestEC2Protocol(t *testing.T) {
	m := testMux(nil, nil)
	ec2 := &QueryService{SigningName: "ec2", Version: "2016-11-15", XMLNamespace: "http://ec2.amazonaws.com/doc/2016-11-15/", EC2: true,
		Operations: map[string]QueryOperation{"DescribeTags": func(ctx context.Context, params url.Values) ([]byte, error) {
			if params.Get("Fail") != "" {
				return nil, Errorf("InvalidGroup.NotFound", "The security group '%s' does not exist", params.Get("Fail"))
			}
			return []byte("<tagSet><item><key>" + IdentityFrom(ctx).AccountID + "</key></item></tagSet>"), nil
		}}}
	m.HandleQuery(ec2)
	m.HandleQuery(echoService("elasticloadbalancing", "2015-12-01", "DescribeTags"))
	post := func(form string, header map[string]string) (int, string) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range header {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		m.ServeHTTP(w, r)
		body, _ := io.ReadAll(w.Result().Body)
		return w.Code, string(body)
	}
	status, body := post("Action=DescribeTags&Version=2016-11-15", nil)
	if status != 200 || !strings.HasPrefix(body, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<DescribeTagsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>`) ||
		!strings.HasSuffix(body, "<tagSet><item><key>000000000000</key></item></tagSet></DescribeTagsResponse>") {
		t.Errorf("unsigned by Version: %d %s", status, body)
	}
	status, body = post("Action=DescribeTags&Version=2016-11-15&Fail=sg-1", nil)
	if status != 400 || !strings.Contains(body, "<Response><Errors><Error><Code>InvalidGroup.NotFound</Code><Message>The security group &#39;sg-1&#39; does not exist</Message></Error></Errors><RequestID>") {
		t.Errorf("error document: %d %s", status, body)
	}
	status, body = post("Action=RunInstances&Version=2016-11-15", nil)
	if status != 400 || !strings.Contains(body, "<Code>InvalidAction</Code>") {
		t.Errorf("unknown action: %d %s", status, body)
	}
	// The ELB operation of the same name stays awsQuery.
	status, body = post("Action=DescribeTags&Version=2015-12-01", nil)
	if status != 200 || !strings.Contains(body, "<DescribeTagsResult><Service>elasticloadbalancing</Service>") {
		t.Errorf("awsQuery DescribeTags: %d %s", status, body)
	}
	// Unsigned without Version: by Action when only EC2 has it; an Action
	// an awsQuery service also has stays awsQuery.
	ec2.Operations["DescribeVpcs"] = ec2.Operations["DescribeTags"]
	status, body = post("Action=DescribeVpcs", nil)
	if status != 200 || !strings.Contains(body, "<DescribeVpcsResponse xmlns=") {
		t.Errorf("unsigned by Action: %d %s", status, body)
	}
	status, body = post("Action=DescribeTags", nil)
	if strings.Contains(body, "ec2.amazonaws.com") {
		t.Errorf("an ambiguous Action went to EC2: %d %s", status, body)
	}
	// Signed for ec2, without Version.
	auth := "AWS4-HMAC-SHA256 Credential=123456789012/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=abc"
	status, body = post("Action=DescribeTags", map[string]string{"Authorization": auth, "X-Amz-Date": "20260101T000000Z"})
	if status != 200 || !strings.Contains(body, "<key>123456789012</key>") {
		t.Errorf("signed for ec2: %d %s", status, body)
	}
}
