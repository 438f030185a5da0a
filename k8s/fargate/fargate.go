package fargate

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/renameio/v2"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/berth-dev/berth/k8s/nodes"
)

// Config is what Run needs.
type Config struct {
	// DataDir is berth-k8s's data dir: the profiles file is read there,
	// and the webhook's port is kept there.
	DataDir string
	Client  kubernetes.Interface
	// CertFile and KeyFile are the webhook's serving certificate for
	// 127.0.0.1, CAPEM the CA that signed it (the API server's caBundle).
	CertFile, KeyFile string
	CAPEM             []byte
	// Node is the template of every Fargate node.
	Node nodes.Config
}

// webhookPortFile keeps the webhook's port across restarts, so the
// registered URL stays valid while berth-k8s restarts.
const webhookPortFile = "fargate-webhook.port"

// profilesPollEvery is how often the profiles file is read: it is tiny,
// and Berth waits for the change to be loaded before it reports a profile
// ACTIVE.
const profilesPollEvery = 250 * time.Millisecond

// Run serves the webhook, registers it, follows the profiles file and runs
// the scheduler until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	wh := &Webhook{}
	lis, err := listen(cfg.DataDir)
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		lis.Close()
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(WebhookPath, wh)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	go func() {
		if err := srv.ServeTLS(lis, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			klog.Errorf("fargate: webhook server: %v", err)
		}
	}()

	// Profiles in effect from the start, so that the first pods are
	// decided with them; they are acknowledged only once the webhook is
	// registered.
	if data, err := os.ReadFile(filepath.Join(cfg.DataDir, ProfilesFile)); err == nil {
		if ps, err := ParseProfiles(data); err == nil {
			wh.SetProfiles(ps)
		}
	}
	url := "https://" + lis.Addr().String() + WebhookPath
	// Retried: without the webhook no profile is acknowledged, so Berth
	// keeps new profiles CREATING rather than report them in effect.
	for backoff := time.Second; ; backoff = min(2*backoff, 30*time.Second) {
		err := Register(ctx, cfg.Client, url, cfg.CAPEM)
		if err == nil {
			break
		}
		klog.Errorf("fargate: %v (retrying)", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
	}
	klog.Infof("fargate: webhook registered at %s", url)
	go followProfiles(ctx, cfg.DataDir, wh, nil)

	return NewScheduler(cfg.Client, cfg.Node).Run(ctx)
}

// listen opens the webhook's port on loopback, the one of the last run if
// it is free.
func listen(dataDir string) (net.Listener, error) {
	portPath := filepath.Join(dataDir, webhookPortFile)
	if data, err := os.ReadFile(portPath); err == nil {
		if lis, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strings.TrimSpace(string(data)))); err == nil {
			return lis, nil
		}
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := strconv.Itoa(lis.Addr().(*net.TCPAddr).Port)
	if err := renameio.WriteFile(portPath, []byte(port+"\n"), 0o600); err != nil {
		lis.Close()
		return nil, err
	}
	return lis, nil
}

// followProfiles reloads the profiles file whenever it changes.
func followProfiles(ctx context.Context, dataDir string, wh *Webhook, last []byte) {
	t := time.NewTicker(profilesPollEvery)
	defer t.Stop()
	for {
		last, _ = loadProfiles(dataDir, wh, last)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// loadProfiles applies the profiles file when its content differs from
// last and acknowledges it in LoadedFile; it returns the content applied.
func loadProfiles(dataDir string, wh *Webhook, last []byte) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(dataDir, ProfilesFile))
	if errors.Is(err, os.ErrNotExist) {
		data, err = nil, nil
	}
	if err != nil {
		return last, err
	}
	if last != nil && bytes.Equal(data, last) {
		return last, nil
	}
	ps, err := ParseProfiles(data)
	if err != nil {
		klog.Errorf("fargate: %s: %v", ProfilesFile, err)
		return data, err // not retried until the file changes
	}
	wh.SetProfiles(ps)
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	klog.Infof("fargate: profiles in effect: %v", names)
	if data == nil {
		data = []byte{}
	}
	if err := renameio.WriteFile(filepath.Join(dataDir, LoadedFile), data, 0o600); err != nil {
		return last, fmt.Errorf("acknowledging the profiles: %w", err)
	}
	return data, nil
}
