// Command replication measures ECR replication lag in Berth: the time from
// the end of a push to the moment the image can be pulled at the
// destination, for a 100 MiB image replicated to another Berth server (over
// the OCI API) and to another Region of the same server (by reference):
//
//	go run ./bench/ecr-advanced/replication [-quick] [-reps 5] [-out FILE]
//
// Each run pushes a new image (new random bytes, nothing to share) to the
// source with go-containerregistry and then polls both destinations with
// HEAD every 5 ms. As a yardstick it also times a direct push of another
// image of the same size to the remote. All traffic stays on 127.0.0.1.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	ggcrtypes "github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/berth-dev/berth/bench/internal/benchenv"
)

const (
	remoteAccount = "222222222222"
	remoteRegion  = "eu-central-1"
	sourceAccount = "000000000000"
	localRegion   = "us-west-2"
)

func main() {
	quick := flag.Bool("quick", false, "a 16 MiB image, one run (a smoke test, not a measurement)")
	reps := flag.Int("reps", 5, "runs; the median is reported")
	sizeMiB := flag.Int64("size-mib", 100, "image size in MiB (one layer)")
	out := flag.String("out", "", "also write the Markdown table to this file")
	berthBin := flag.String("berth", "", "use this berth binary instead of building ./cmd/berth")
	flag.Parse()
	if *quick {
		*reps, *sizeMiB = 1, 16
	}
	if err := run(*reps, *sizeMiB<<20, *berthBin, *out); err != nil {
		fmt.Fprintln(os.Stderr, "bench/ecr-advanced/replication:", err)
		os.Exit(1)
	}
}

func run(reps int, size int64, berthBin, out string) error {
	ctx := context.Background()
	work, err := os.MkdirTemp("", "bench-repl-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if berthBin == "" {
		berthBin = filepath.Join(work, "berth")
		if err := build(berthBin); err != nil {
			return err
		}
	}
	rp, raddr, err := startBerth(berthBin, filepath.Join(work, "remote"))
	if err != nil {
		return err
	}
	defer rp.Stop()
	sp, saddr, err := startBerth(berthBin, filepath.Join(work, "source"),
		"--replication-remote", fmt.Sprintf("%s/%s=http://%s:x@%s", remoteAccount, remoteRegion, remoteAccount, raddr))
	if err != nil {
		return err
	}
	defer sp.Stop()

	src := client("http://"+saddr, "test", "us-east-1")
	if _, err := src.PutReplicationConfiguration(ctx, &ecr.PutReplicationConfigurationInput{ReplicationConfiguration: &types.ReplicationConfiguration{
		Rules: []types.ReplicationRule{{Destinations: []types.ReplicationDestination{
			{Region: aws.String(remoteRegion), RegistryId: aws.String(remoteAccount)},
			{Region: aws.String(localRegion), RegistryId: aws.String(sourceAccount)},
		}}},
	}}); err != nil {
		return err
	}
	if _, err := src.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("bench/app")}); err != nil {
		return err
	}
	dst := client("http://"+raddr, remoteAccount, remoteRegion)
	if _, err := dst.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("bench/direct")}); err != nil {
		return err
	}
	srcAuth, err := login(ctx, src)
	if err != nil {
		return err
	}
	dstAuth, err := login(ctx, dst)
	if err != nil {
		return err
	}
	westAuth, err := login(ctx, client("http://"+saddr, "test", localRegion))
	if err != nil {
		return err
	}

	var pushes, lags, locals, directs []time.Duration
	for r := 0; r < reps; r++ {
		img, err := image(size)
		if err != nil {
			return err
		}
		tag := fmt.Sprintf("r%d", r)
		start := time.Now()
		if err := push(ctx, saddr+"/bench/app:"+tag, img, srcAuth); err != nil {
			return fmt.Errorf("push to the source: %w", err)
		}
		pushed := time.Now()
		var lag, local time.Duration
		for deadline := pushed.Add(5 * time.Minute); lag == 0 || local == 0; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				return fmt.Errorf("run %d: not replicated after 5 minutes (remote %s, local %s)", r, lag, local)
			}
			if lag == 0 && exists(raddr+"/bench/app:"+tag, dstAuth) {
				lag = time.Since(pushed)
			}
			if local == 0 && exists(saddr+"/bench/app:"+tag, westAuth) {
				local = time.Since(pushed)
			}
		}
		direct, err := image(size)
		if err != nil {
			return err
		}
		dstart := time.Now()
		if err := push(ctx, raddr+"/bench/direct:"+tag, direct, dstAuth); err != nil {
			return fmt.Errorf("direct push to the remote: %w", err)
		}
		d := time.Since(dstart)
		pushes, lags, locals, directs = append(pushes, pushed.Sub(start)), append(lags, lag), append(locals, local), append(directs, d)
		fmt.Fprintf(os.Stderr, "run %d: push %s, lag to the other Berth %s, lag to %s %s, direct push to the other Berth %s\n",
			r+1, pushed.Sub(start), lag, localRegion, local, d)
	}
	mp, ml, mloc, md := median(pushes), median(lags), median(locals), median(directs)
	var b strings.Builder
	fmt.Fprintf(&b, "| image | push to the source | lag to another Berth | direct push to that Berth | lag / direct push | lag to another Region (same Berth) |\n|---|---|---|---|---|---|\n")
	fmt.Fprintf(&b, "| 1 × %d MiB | %s | %s | %s | %.2f× | %s |\n", size>>20, round(mp), round(ml), round(md), float64(ml)/float64(md), round(mloc))
	fmt.Print(b.String())
	if out != "" {
		return os.WriteFile(out, []byte(b.String()), 0o644)
	}
	return nil
}

// image is a one-layer image of size random bytes, held in memory so that
// pushing it costs no compression.
func image(size int64) (v1.Image, error) {
	b := make([]byte, size)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return mutate.AppendLayers(empty.Image, static.NewLayer(b, ggcrtypes.OCILayer))
}

func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func client(endpoint, akid, region string) *ecr.Client {
	return ecr.New(ecr.Options{
		Region: region, BaseEndpoint: aws.String(endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: akid, SecretAccessKey: "x", Source: "bench"}, nil
		}),
		HTTPClient: &http.Client{Transport: transport(), Timeout: 30 * time.Second},
	})
}

func login(ctx context.Context, c *ecr.Client) (authn.Authenticator, error) {
	tok, err := c.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(tok.AuthorizationData[0].AuthorizationToken))
	if err != nil {
		return nil, err
	}
	_, pw, _ := strings.Cut(string(raw), ":")
	return &authn.Basic{Username: "AWS", Password: pw}, nil
}

func push(ctx context.Context, ref string, img v1.Image, auth authn.Authenticator) error {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return err
	}
	return remote.Write(r, img, remote.WithAuth(auth), remote.WithContext(ctx), remote.WithTransport(transport()))
}

func exists(ref string, auth authn.Authenticator) bool {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return false
	}
	_, err = remote.Head(r, remote.WithAuth(auth), remote.WithTransport(transport()), remote.WithRetryBackoff(remote.Backoff{Steps: 1}))
	return err == nil
}

// sharedTransport is the one transport of the bench's clients.
var sharedTransport = &http.Transport{DialContext: loopbackDial, MaxIdleConnsPerHost: 8}

func transport() http.RoundTripper { return sharedTransport }

// ---- processes ----

// startBerth runs berth up with extra flags on a fresh data dir under dir
// and returns it with its address once it is ready.
func startBerth(bin, dir string, extra ...string) (*benchenv.Server, string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	args := append([]string{bin, "up", "--listen", "127.0.0.1:{port}", "--data-dir", filepath.Join(dir, "data"), "--log-level", "warn"}, extra...)
	s, err := benchenv.Start(args, nil, filepath.Join(dir, "berth.log"), "/_berth/health")
	if err != nil {
		return nil, "", err
	}
	return s, fmt.Sprintf("127.0.0.1:%d", s.Port), nil
}

// loopbackDial only dials 127.0.0.1 ("localhost" maps to it).
func loopbackDial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	if host != "127.0.0.1" {
		return nil, fmt.Errorf("the bench only dials 127.0.0.1, not %s", addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp4", net.JoinHostPort(host, port))
}

func build(out string) error {
	cmd := exec.Command("go", "build", "-o", out, "./cmd/berth")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}
