package nodes

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/berth-dev/berth/runtime"
)

// RegistryAuth is the file Config.RegistryAuthFile names: the credentials
// of one registry. The file is read at every pull because its writer
// (Berth) replaces it with a fresh password before the old one expires.
type RegistryAuth struct {
	ServerAddress string `json:"serverAddress"`
	Username      string `json:"username"`
	Password      string `json:"password"`
}

// registryAuthFor returns the credentials for ref's registry, or nil when
// there is no file or it is for another registry (the pull is anonymous,
// as for any public image).
func registryAuthFor(file, ref string) (*runtime.RegistryAuth, error) {
	if file == "" {
		return nil, nil
	}
	host, _, ok := strings.Cut(ref, "/")
	if !ok {
		return nil, nil // a Docker Hub short name
	}
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var a RegistryAuth
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("registry credentials %s: %w", file, err)
	}
	if a.ServerAddress == "" || !strings.EqualFold(host, a.ServerAddress) {
		return nil, nil
	}
	return &runtime.RegistryAuth{Username: a.Username, Password: a.Password, ServerAddress: a.ServerAddress}, nil
}
