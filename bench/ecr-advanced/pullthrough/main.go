// Command pullthrough benchmarks ECR's pull-through cache in Berth against
// a direct pull from its upstream, a CNCF distribution registry, on the
// same machine:
//
//	go run ./bench/ecr-advanced/pullthrough [-quick] [-out FILE]
//
// For each image shape and each of -reps runs it starts a fresh Berth (a
// cold cache) in front of one distribution registry that holds the image,
// and times with one client (go-containerregistry, three blob downloads at
// once as docker does, every blob read to the end and checked against its
// digest):
//
//   - direct: the image pulled from distribution;
//   - first: the image pulled through Berth's cache (fetched upstream,
//     streamed to the client while it is written and verified);
//   - warm: the same pull again, now served from Berth.
//
// The medians and the ratios first/direct and warm/direct are printed as
// Markdown. All traffic stays on 127.0.0.1.
package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
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
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-dev/berth/bench/internal/benchenv"
)

type shape struct {
	label  string
	layers int64
	size   int64
}

func main() {
	quick := flag.Bool("quick", false, "small images, one run (a smoke test, not a measurement)")
	reps := flag.Int("reps", 3, "runs per row; the median is reported")
	out := flag.String("out", "", "also write the Markdown table to this file")
	berthBin := flag.String("berth", "", "use this berth binary instead of building ./cmd/berth")
	registryBin := flag.String("registry", "", "use this distribution registry binary instead of the Go bin dir's")
	flag.Parse()
	shapes := []shape{{"1 × 256 MiB", 1, 256 << 20}, {"8 × 32 MiB", 8, 32 << 20}, {"20 × 512 KiB", 20, 512 << 10}}
	if *quick {
		shapes, *reps = []shape{{"2 × 8 MiB", 2, 8 << 20}}, 1
	}
	if err := run(shapes, *reps, *berthBin, *registryBin, *out); err != nil {
		fmt.Fprintln(os.Stderr, "bench/ecr-advanced/pullthrough:", err)
		os.Exit(1)
	}
}

func run(shapes []shape, reps int, berthBin, registryBin, out string) error {
	ctx := context.Background()
	work, err := os.MkdirTemp("", "bench-ptc-")
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
	if registryBin == "" {
		if registryBin, err = distributionBinary(); err != nil {
			return err
		}
	}
	up, upAddr, err := startDistribution(registryBin, filepath.Join(work, "upstream"))
	if err != nil {
		return err
	}
	defer up.Stop()

	var b strings.Builder
	fmt.Fprintf(&b, "| image | direct pull from distribution | first pull through Berth | ratio | warm pull from Berth | ratio |\n|---|---|---|---|---|---|\n")
	for si, s := range shapes {
		img, err := random.Image(s.size, s.layers)
		if err != nil {
			return err
		}
		repo := fmt.Sprintf("bench/img%d", si)
		upRef := upAddr + "/" + repo + ":v1"
		if err := push(ctx, upRef, img, authn.Anonymous); err != nil {
			return fmt.Errorf("pushing to distribution: %w", err)
		}
		var direct, first, warm []time.Duration
		for r := 0; r < reps; r++ {
			d, err := pull(ctx, upRef, authn.Anonymous)
			if err != nil {
				return fmt.Errorf("direct pull: %w", err)
			}
			direct = append(direct, d)

			p, addr, err := startBerth(berthBin, filepath.Join(work, fmt.Sprintf("berth-%d-%d", si, r)))
			if err != nil {
				return err
			}
			auth, err := cacheRule(ctx, "http://"+addr, "http://"+upAddr)
			if err != nil {
				p.Stop()
				return err
			}
			ref := addr + "/hub/" + repo + ":v1"
			f, err := pull(ctx, ref, auth)
			if err != nil {
				p.Stop()
				return fmt.Errorf("first pull through the cache: %w", err)
			}
			w, err := pull(ctx, ref, auth)
			p.Stop()
			if err != nil {
				return fmt.Errorf("warm pull: %w", err)
			}
			first, warm = append(first, f), append(warm, w)
			fmt.Fprintf(os.Stderr, "%s run %d: direct %s, first %s, warm %s\n", s.label, r+1, d, f, w)
		}
		md, mf, mw := median(direct), median(first), median(warm)
		fmt.Fprintf(&b, "| %s | %s | %s | %.2f× | %s | %.2f× |\n", s.label, round(md), round(mf),
			float64(mf)/float64(md), round(mw), float64(mw)/float64(md))
	}
	fmt.Print(b.String())
	if out != "" {
		return os.WriteFile(out, []byte(b.String()), 0o644)
	}
	return nil
}

func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// pull reads an image the way a client does: manifest, config, and every
// layer (three at once) to the end, each verified against its digest.
func pull(ctx context.Context, ref string, auth authn.Authenticator) (time.Duration, error) {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	img, err := remote.Image(r, remote.WithAuth(auth), remote.WithContext(ctx), remote.WithTransport(transport()))
	if err != nil {
		return 0, err
	}
	if _, err := img.RawConfigFile(); err != nil {
		return 0, err
	}
	layers, err := img.Layers()
	if err != nil {
		return 0, err
	}
	sem := make(chan struct{}, 3)
	errs := make(chan error, len(layers))
	for _, l := range layers {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			rc, err := l.Compressed()
			if err == nil {
				_, err = io.Copy(io.Discard, rc)
				rc.Close()
			}
			errs <- err
		}()
	}
	for range layers {
		if err := <-errs; err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

func push(ctx context.Context, ref string, img v1.Image, auth authn.Authenticator) error {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return err
	}
	return remote.Write(r, img, remote.WithAuth(auth), remote.WithContext(ctx), remote.WithTransport(transport()))
}

// sharedTransport is the one transport of the bench's clients.
var sharedTransport = &http.Transport{DialContext: loopbackDial, MaxIdleConnsPerHost: 8}

func transport() http.RoundTripper { return sharedTransport }

// cacheRule creates the pull-through rule "hub" and returns the registry
// credentials of the default account.
func cacheRule(ctx context.Context, endpoint, upstream string) (authn.Authenticator, error) {
	c := ecr.New(ecr.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test", Source: "bench"}, nil
		}),
		HTTPClient: &http.Client{Transport: transport(), Timeout: 30 * time.Second},
	})
	if _, err := c.CreatePullThroughCacheRule(ctx, &ecr.CreatePullThroughCacheRuleInput{
		EcrRepositoryPrefix: aws.String("hub"), UpstreamRegistryUrl: aws.String(upstream),
	}); err != nil {
		return nil, err
	}
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

// ---- processes ----

// startBerth runs berth up on a fresh data dir under dir and returns it
// with its address once it is ready.
func startBerth(bin, dir string) (*benchenv.Server, string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	s, err := benchenv.Start([]string{bin, "up", "--listen", "127.0.0.1:{port}", "--data-dir", filepath.Join(dir, "data"), "--log-level", "warn"},
		nil, filepath.Join(dir, "berth.log"), "/_berth/health")
	if err != nil {
		return nil, "", err
	}
	return s, fmt.Sprintf("127.0.0.1:%d", s.Port), nil
}

// startDistribution runs the CNCF registry on the filesystem driver under
// dir; its listen address comes from REGISTRY_HTTP_ADDR.
func startDistribution(bin, dir string) (*benchenv.Server, string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  cache:\n    blobdescriptor: inmemory\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:5000\n", filepath.Join(dir, "storage"))
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, "", err
	}
	s, err := benchenv.Start([]string{bin, "serve", cfgPath}, []string{"REGISTRY_HTTP_ADDR=127.0.0.1:{port}", "OTEL_TRACES_EXPORTER=none"},
		filepath.Join(dir, "registry.log"), "/v2/")
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

// distributionBinary finds `registry` on PATH or in the Go bin dir.
func distributionBinary() (string, error) {
	if p, err := exec.LookPath("registry"); err == nil {
		return p, nil
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		return "", err
	}
	p := filepath.Join(strings.TrimSpace(string(out)), "bin", "registry")
	if _, err := os.Stat(p); err != nil {
		return "", errors.New("no distribution registry: go install github.com/distribution/distribution/v3/cmd/registry@v3.1.2")
	}
	return p, nil
}
