// Command iam benchmarks Berth's IAM and STS request paths against
// moto_server (Python's moto) and writes a Markdown report:
//
//	go run ./bench/iam [-quick] [-out bench/results/iam.md]
//
// Both servers get the same SigV4-signed Query-protocol requests (signed
// with aws-sdk-go-v2's signer) from one Go HTTP client with -conc requests
// in flight:
//
//   - CreateUser of -users users;
//   - CreateAccessKey, one for each user;
//   - GetUser of each user;
//   - sts:GetCallerIdentity signed with one of the created keys, -requests
//     times: the path where Berth looks the key up in IAM (cached 5 s);
//   - sts:GetCallerIdentity signed with each user's key once, so that
//     every request's key is new to the cache.
//
// Berth runs with its ECS agent off (BERTH_AGENT=off) and signature
// checks on (--credentials test:test), as a shared Berth would. Needs
// moto_server on PATH.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/berth-dev/berth/bench/internal/benchenv"
)

type options struct {
	quick    bool
	out      string
	users    int
	requests int
	conc     int
}

func main() {
	var o options
	flag.IntVar(&o.users, "users", 300, "users created (and keys, and GetUser calls)")
	flag.IntVar(&o.requests, "requests", 2000, "GetCallerIdentity requests with one key")
	flag.IntVar(&o.conc, "conc", 4, "requests in flight")
	benchenv.Main("iam", &o.quick, &o.out, func(stdout io.Writer) error { return run(o, stdout) })
}

// client sends signed Query-protocol requests to one server.
type client struct {
	endpoint string
	hc       *http.Client
	signer   *v4.Signer
}

func newClient(endpoint string, conc int) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = conc * 2
	return &client{endpoint: endpoint, hc: &http.Client{Transport: tr, Timeout: time.Minute}, signer: v4.NewSigner()}
}

// call sends Action with params to service ("iam" or "sts"), signed with
// creds, and decodes the XML answer into out.
func (c *client) call(ctx context.Context, creds aws.Credentials, service, action string, params url.Values, out any) error {
	form := url.Values{"Action": {action}}
	if service == "iam" {
		form.Set("Version", "2010-05-08")
	} else {
		form.Set("Version", "2011-06-15")
	}
	for k, v := range params {
		form[k] = v
	}
	body := []byte(form.Encode())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
		return err
	}
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
		return fmt.Errorf("%s: HTTP %d: %.300s", action, resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	return xml.Unmarshal(data, out)
}

// target is one server under test and the keys made on it.
type target struct {
	name   string
	client *client
	keys   []aws.Credentials // by user index
	mu     sync.Mutex
}

func userName(i int) string { return fmt.Sprintf("bench-user-%d", i) }

type createKeyOut struct {
	AccessKeyID     string `xml:"CreateAccessKeyResult>AccessKey>AccessKeyId"`
	SecretAccessKey string `xml:"CreateAccessKeyResult>AccessKey>SecretAccessKey"`
}

type getUserOut struct {
	Arn string `xml:"GetUserResult>User>Arn"`
}

type callerOut struct {
	Arn string `xml:"GetCallerIdentityResult>Arn"`
}

func run(o options, stdout io.Writer) error {
	if o.quick {
		o.users, o.requests = min(o.users, 30), min(o.requests, 100)
	}
	ctx := context.Background()
	pair, err := benchenv.StartPair("iam", "--credentials", "test:test")
	if err != nil {
		return err
	}
	defer pair.Stop()
	b, m := pair.Berth, pair.Moto

	admin := aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}
	targets := []*target{
		{name: "Berth", client: newClient(b.Endpoint(), o.conc)},
		{name: "moto_server", client: newClient(m.Endpoint(), o.conc)},
	}
	for _, t := range targets {
		t.keys = make([]aws.Credentials, o.users)
	}

	type row struct {
		label    string
		requests int
		op       func(t *target, i int) error
	}
	rows := []row{
		{"iam:CreateUser", o.users, func(t *target, i int) error {
			return t.client.call(ctx, admin, "iam", "CreateUser", url.Values{"UserName": {userName(i)}}, nil)
		}},
		{"iam:CreateAccessKey", o.users, func(t *target, i int) error {
			var out createKeyOut
			if err := t.client.call(ctx, admin, "iam", "CreateAccessKey", url.Values{"UserName": {userName(i)}}, &out); err != nil {
				return err
			}
			if out.AccessKeyID == "" || out.SecretAccessKey == "" {
				return errors.New("CreateAccessKey returned no key")
			}
			t.mu.Lock()
			t.keys[i] = aws.Credentials{AccessKeyID: out.AccessKeyID, SecretAccessKey: out.SecretAccessKey}
			t.mu.Unlock()
			return nil
		}},
		{"iam:GetUser", o.users, func(t *target, i int) error {
			var out getUserOut
			if err := t.client.call(ctx, admin, "iam", "GetUser", url.Values{"UserName": {userName(i)}}, &out); err != nil {
				return err
			}
			if !strings.HasSuffix(out.Arn, ":user/"+userName(i)) {
				return fmt.Errorf("GetUser returned %q", out.Arn)
			}
			return nil
		}},
		{"sts:GetCallerIdentity, one user's key (cached)", o.requests, func(t *target, i int) error {
			return callerIs(ctx, t, t.keys[0], 0)
		}},
		{"sts:GetCallerIdentity, each user's key once (first use)", o.users, func(t *target, i int) error {
			return callerIs(ctx, t, t.keys[i], i)
		}},
	}

	var report strings.Builder
	fmt.Fprintf(&report, "# IAM and STS benchmark\n\nGenerated by `go run ./bench/iam` on %s. %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), benchenv.Machine())
	fmt.Fprintf(&report, "Berth (SQLite store, agent off, signature checks on) against moto_server %s, both driven by the same Go HTTP client sending SigV4-signed Query-protocol requests "+
		"(aws-sdk-go-v2's signer) with %d in flight. The IAM rows are signed with the account's root test key; the STS rows with access keys the "+
		"CreateAccessKey row made, which Berth looks up in IAM to check the signature and name the caller (a lookup is cached 5 s). "+
		"Ratio = Berth throughput / moto throughput (higher is better).\n\n", pair.MotoVersion, o.conc)
	report.WriteString(benchenv.RatioHeader)
	names := [2]string{targets[0].name, targets[1].name}
	for _, r := range rows {
		res, err := benchenv.MeasureBoth(stdout, names, r.label, r.requests, o.conc, func(s, n int) error { return r.op(targets[s], n) })
		if err != nil {
			return err
		}
		fmt.Fprintf(&report, "| %s | %d | %.1f | %s | %s | %.1f | %s | %s | **%.1f×** |\n", r.label, r.requests,
			res[0].PerSec, benchenv.MS(res[0].P50), benchenv.MS(res[0].P99), res[1].PerSec, benchenv.MS(res[1].P50), benchenv.MS(res[1].P99), res[0].PerSec/res[1].PerSec)
	}
	fmt.Fprintf(&report, "\nBerth checks each request's SigV4 signature against the key's stored secret and writes every IAM change in one SQLite transaction "+
		"(synchronous=FULL); moto keeps its IAM state in Python dictionaries in memory.\n")
	return benchenv.WriteReport(o.out, report.String(), stdout)
}

// callerIs checks that GetCallerIdentity signed with key names user i
// (on Berth; moto's answer is only required to succeed).
func callerIs(ctx context.Context, t *target, key aws.Credentials, i int) error {
	var out callerOut
	if err := t.client.call(ctx, key, "sts", "GetCallerIdentity", nil, &out); err != nil {
		return err
	}
	if t.name == "Berth" && !strings.HasSuffix(out.Arn, ":user/"+userName(i)) {
		return fmt.Errorf("GetCallerIdentity with %s's key answered %q", userName(i), out.Arn)
	}
	return nil
}
