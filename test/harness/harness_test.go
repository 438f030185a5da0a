package harness

import (
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

func TestErrorCode(t *testing.T) {
	for _, tc := range []struct{ stderr, want string }{
		// aws CLI v1 and v2 print service errors the same way.
		{"\nAn error occurred (InvalidSignatureException) when calling the DescribeRepositories operation: The request signature we calculated does not match\n", "InvalidSignatureException"},
		{"An error occurred (RepositoryNotFoundException) when calling the DescribeRepositories operation: The repository with name 'x' does not exist", "RepositoryNotFoundException"},
		{"Could not connect to the endpoint URL: \"http://127.0.0.1:1/\"", ""},
	} {
		if got := (&Result{Stderr: tc.stderr}).ErrorCode(); got != tc.want {
			t.Errorf("ErrorCode(%q) = %q, want %q", tc.stderr, got, tc.want)
		}
	}
}

// The same name must give the same digest (tests compare digests across
// pushes), and different names different ones (v1 and v2 of a service).
func TestTestImageDigests(t *testing.T) {
	digest := func(name string) string {
		d, err := TestImage(t, name).Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d.String()
	}
	a1, a2, b := digest("a"), digest("a"), digest("b")
	if a1 != a2 {
		t.Errorf("same name, different digests: %s %s", a1, a2)
	}
	if a1 == b {
		t.Errorf("different names, same digest %s", a1)
	}
	cf, err := TestImage(t, "a").ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != "/app" {
		t.Errorf("config: os %q entrypoint %q", cf.OS, cf.Config.Entrypoint)
	}
	layers, err := RandomImage(t, 3, 1024).Layers()
	if err != nil || len(layers) != 3 {
		t.Errorf("RandomImage: %d layers, %v", len(layers), err)
	}
}

// Restart keeps the address (clients and repository URIs stay valid);
// Stop leaves nothing running.
func TestStartStopRestart(t *testing.T) {
	b := Start(t, WithArgs("--log-level", "debug"))
	if !b.Running() {
		t.Fatal("not running after Start")
	}
	port := b.Endpoint()
	b.Restart()
	if b.Endpoint() != port || !b.Running() {
		t.Fatalf("restart moved or did not run: %s → %s", port, b.Endpoint())
	}
	if err := b.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if b.Running() {
		t.Fatal("running after Stop")
	}
}
