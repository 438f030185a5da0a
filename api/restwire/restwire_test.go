package restwire

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/berth-dev/berth/awsapi"
)

type listInput struct {
	Name      *string           `json:"-" rest:"uri=name"`
	Max       *int32            `json:"-" rest:"querystring=maxResults"`
	States    []string          `json:"-" rest:"querystring=state"`
	Since     *awsapi.Timestamp `json:"-" rest:"querystring=since"`
	Verbose   *bool             `json:"-" rest:"querystring=verbose"`
	Token     *string           `json:"-" rest:"header=X-Amz-Token"`
	Meta      map[string]string `json:"-" rest:"headers=X-Meta-"`
	Labels    map[string]string `json:"labels,omitzero"`
	RoleArn   *string           `json:"roleArn,omitempty"`
	validated bool
}

func (v *listInput) Validate() error {
	v.validated = true
	if v.RoleArn != nil && *v.RoleArn == "" {
		return awsapi.Errorf("InvalidParameterException", "roleArn is empty")
	}
	return nil
}

type listOutput struct {
	Status  *int32            `json:"-" rest:"statusCode"`
	ETag    *string           `json:"-" rest:"header=ETag"`
	Created *awsapi.Timestamp `json:"-" rest:"header=X-Created"`
	Items   []string          `json:"items,omitzero"`
}

func request(labels map[string]string, query string, body string) *awsapi.RestRequest {
	q, _ := url.ParseQuery(query)
	h := http.Header{}
	h.Set("X-Amz-Token", "tok")
	h.Set("X-Meta-Color", "blue")
	return &awsapi.RestRequest{Labels: labels, Query: q, Header: h, Body: []byte(body)}
}

func TestDecodeBindsEveryLocation(t *testing.T) {
	var in listInput
	req := request(map[string]string{"name": "prod"}, "maxResults=5&state=A&state=B&since=2026-01-02T03:04:05Z&verbose=true", `{"labels":{"a":"b"},"roleArn":"arn"}`)
	if err := Decode(req, &in); err != nil {
		t.Fatal(err)
	}
	if *in.Name != "prod" || *in.Max != 5 || len(in.States) != 2 || in.States[1] != "B" || !*in.Verbose || *in.Token != "tok" ||
		in.Meta["color"] != "blue" || in.Labels["a"] != "b" || *in.RoleArn != "arn" ||
		!in.Since.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("decoded %+v", in)
	}
}

func TestDecodeRefuses(t *testing.T) {
	for _, c := range []struct{ query, body, code string }{
		{"maxResults=five", "", awsapi.CodeSerialization},
		{"verbose=perhaps", "", awsapi.CodeSerialization},
		{"", `{"name":"x"}`, awsapi.CodeSerialization}, // bound members never come in the body
		{"", `{"roleArn":5}`, awsapi.CodeSerialization},
		{"", `not json`, awsapi.CodeSerialization},
	} {
		var in listInput
		err := Decode(request(nil, c.query, c.body), &in)
		if e := awsapi.AsError(err); e == nil || e.Code != c.code {
			t.Errorf("%q %q: %v", c.query, c.body, err)
		}
	}
}

func TestOpValidatesAndEncodes(t *testing.T) {
	op := Op(func(ctx context.Context, in *listInput) (*listOutput, error) {
		if !in.validated {
			t.Error("called before validation")
		}
		return &listOutput{Status: new(int32(201)), ETag: new("e1"), Created: awsapi.Time(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), Items: []string{}}, nil
	})
	resp, err := op(context.Background(), request(map[string]string{"name": "prod"}, "", ""))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 201 || resp.Header.Get("ETag") != "e1" || resp.Header.Get("X-Created") != "Fri, 02 Jan 2026 03:04:05 GMT" || string(resp.Body) != `{"items":[]}` {
		t.Errorf("response %d %v %s", resp.Status, resp.Header, resp.Body)
	}
	_, err = op(context.Background(), request(nil, "", `{"roleArn":""}`))
	if e := awsapi.AsError(err); e == nil || e.Code != "InvalidParameterException" {
		t.Errorf("validation: %v", err)
	}
	empty := Op(func(ctx context.Context, in *listInput) (*listOutput, error) { return nil, nil })
	resp, err = empty(context.Background(), request(nil, "", ""))
	if err != nil || string(resp.Body) != "{}" || resp.Status != 0 {
		t.Errorf("empty output: %v %+v", err, resp)
	}
	var m map[string]any
	if json.Unmarshal(resp.Body, &m) != nil {
		t.Error("not JSON")
	}
}
