package controlplane

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/k3s-io/kine/pkg/drivers"
	"github.com/k3s-io/kine/pkg/drivers/sqlite"
	"github.com/k3s-io/kine/pkg/server"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// kineStore is kine serving the etcd v3 API from a SQLite file. Only the
// SQLite driver is linked in: kine's endpoint package imports every driver
// (NATS, Postgres, MySQL, t4) and would double the binary for nothing.
type kineStore struct {
	endpoint string
	grpc     *grpc.Server
	cancel   context.CancelFunc
	wg       *sync.WaitGroup
}

func startKine(dir string) (*kineStore, error) {
	dbDir := filepath.Join(dir, "db")
	if err := os.MkdirAll(dbDir, 0o700); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	wg := &sync.WaitGroup{}
	fail := func(err error) (*kineStore, error) {
		cancel()
		wg.Wait()
		return nil, err
	}

	_, backend, err := sqlite.New(ctx, wg, &drivers.Config{
		DataSourceName:   filepath.Join(dbDir, "state.db") + "?" + sqlite.DefaultParams,
		CompactInterval:  5 * time.Minute,
		CompactTimeout:   5 * time.Second,
		CompactMinRetain: 1000,
		CompactBatchSize: 1000,
		PollBatchSize:    500,
		PollInterval:     time.Second,
	})
	if err != nil {
		return fail(fmt.Errorf("kine sqlite: %w", err))
	}
	if err := backend.Start(ctx); err != nil {
		return fail(fmt.Errorf("kine start: %w", err))
	}

	// A unix socket keeps the store private to this process's user and costs
	// no TCP port per cluster; sun_path is limited to 108 bytes, so long data
	// dirs fall back to loopback TCP.
	network, address := "unix", filepath.Join(dir, "kine.sock")
	if len(address) > 100 {
		network, address = "tcp", "127.0.0.1:0"
	} else if err := os.Remove(address); err != nil && !os.IsNotExist(err) {
		return fail(err)
	}
	lis, err := net.Listen(network, address)
	if err != nil {
		return fail(fmt.Errorf("kine listen: %w", err))
	}
	endpoint := "unix://" + address
	if network == "tcp" {
		endpoint = "http://" + lis.Addr().String()
	}

	srv := grpc.NewServer(
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 2 * time.Hour, Timeout: 20 * time.Second}),
		grpc.MaxRecvMsgSize(2*1024*1024),
		grpc.MaxSendMsgSize(1<<31-1),
	)
	// The emulated etcd version is what kube-apiserver's storage layer
	// feature-detects (RequestWatchProgress etc.); it matches kine's default.
	server.New(backend, network, 5*time.Second, "3.6.11").Register(srv)

	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = srv.Serve(lis)
	}()
	return &kineStore{endpoint: endpoint, grpc: srv, cancel: cancel, wg: wg}, nil
}

// stop drains open watches briefly, then closes the database so the SQLite
// WAL is checkpointed before the process exits.
func (k *kineStore) stop() {
	done := make(chan struct{})
	go func() {
		k.grpc.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		k.grpc.Stop()
	}
	k.cancel()
	k.wg.Wait()
}
