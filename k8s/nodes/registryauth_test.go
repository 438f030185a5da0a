package nodes

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRegistryAuthFor(t *testing.T) {
	file := filepath.Join(t.TempDir(), "auth.json")
	if a, err := registryAuthFor(file, "localhost:4566/app:v1"); a != nil || err != nil {
		t.Fatalf("no file: %+v, %v", a, err)
	}
	if err := os.WriteFile(file, []byte(`{"serverAddress":"localhost:4566","username":"AWS","password":"p"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := registryAuthFor(file, "localhost:4566/app:v1")
	if err != nil || a == nil || a.Username != "AWS" || a.Password != "p" || a.ServerAddress != "localhost:4566" {
		t.Fatalf("Berth's registry: %+v, %v", a, err)
	}
	for _, ref := range []string{"busybox", "docker.io/library/busybox", "other:5000/app"} {
		if a, err := registryAuthFor(file, ref); a != nil || err != nil {
			t.Errorf("%s got credentials %+v, %v", ref, a, err)
		}
	}
	if err := os.WriteFile(file, []byte(`{`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := registryAuthFor(file, "localhost:4566/app"); err == nil {
		t.Error("a corrupt file was accepted")
	}
}
