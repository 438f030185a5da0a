// Package config is Berth's configuration: one struct, loaded from an
// optional YAML file, each field overridable by an environment variable and
// then by a flag.
package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Credential is one access key Berth accepts when signatures are checked.
type Credential struct {
	AccessKeyID     string `yaml:"accessKeyId"`
	SecretAccessKey string `yaml:"secretAccessKey"`
}

// ReplicationRemote is another Berth server holding ECR replication
// destinations: its endpoint and the access key whose account the
// destination registry is.
type ReplicationRemote struct {
	Endpoint        string `yaml:"endpoint"`
	AccessKeyID     string `yaml:"accessKeyId"`
	SecretAccessKey string `yaml:"secretAccessKey"`
	// Timeout bounds each request to the remote (default 30s).
	Timeout time.Duration `yaml:"timeout"`
}

// Config is everything `berth up` needs.
type Config struct {
	// Listen is the address of the single port serving every API and the registry.
	Listen string `yaml:"listen"`
	// DataDir holds the SQLite file and the blob store.
	DataDir string `yaml:"dataDir"`
	// Database, a postgres:// URL, keeps the state in PostgreSQL instead
	// of the SQLite file; blobs stay under DataDir. Empty: SQLite.
	Database string `yaml:"database"`
	// RegistryHost is the host[:port] put in repository URIs and docker
	// login endpoints; derived from Listen when empty.
	RegistryHost string `yaml:"registryHost"`
	// Credentials switch SigV4 checking on when not empty.
	Credentials []Credential `yaml:"credentials"`
	// LifecycleInterval is how often ECR lifecycle policies run (besides after each push).
	LifecycleInterval time.Duration `yaml:"lifecycleInterval"`
	// GCInterval is how often unreferenced blobs are collected.
	GCInterval time.Duration `yaml:"gcInterval"`
	// GCGracePeriod keeps freshly uploaded blobs from collection so a push in flight is safe.
	GCGracePeriod time.Duration `yaml:"gcGracePeriod"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"logLevel"`
	// VulnDB is the offline vulnerability database ECR image scans match
	// against: directories, zip files or JSON files of OSV records,
	// separated by the OS path list separator (':' on Linux).
	VulnDB string `yaml:"vulnDb"`
	// ReplicationRemotes maps ECR replication destinations,
	// "<registryId>/<region>", to the other Berth servers that hold them;
	// any other destination is a registry of this server.
	ReplicationRemotes map[string]ReplicationRemote `yaml:"replicationRemotes"`
	// PullThroughRecheck is how long the ECR pull-through cache serves a
	// cached tag before it asks the upstream again (AWS: 24h).
	PullThroughRecheck time.Duration `yaml:"pullThroughRecheck"`
	// K8sBinary is the berth-k8s executable that runs EKS clusters'
	// Kubernetes control planes (built by k8s/build.sh). Empty: a berth-k8s
	// next to the berth executable, else clusters get no control plane.
	K8sBinary string `yaml:"k8sBinary"`
}

// Default is the embedded configuration `berth up` runs with when given nothing.
func Default() Config {
	return Config{
		Listen:             "127.0.0.1:4566",
		DataDir:            defaultDataDir(),
		LifecycleInterval:  5 * time.Minute,
		GCInterval:         30 * time.Minute,
		GCGracePeriod:      time.Hour,
		LogLevel:           "info",
		PullThroughRecheck: 24 * time.Hour,
	}
}

func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "berth")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "berth")
	}
	return "berth-data"
}

// LoadFile merges a YAML file into c; unknown keys are an error so a typo
// does not silently fall back to a default.
func (c *Config) LoadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

// LoadEnv applies BERTH_* environment variables.
func (c *Config) LoadEnv(getenv func(string) string) error {
	if v := getenv("BERTH_LISTEN"); v != "" {
		c.Listen = v
	}
	if v := getenv("BERTH_DATA"); v != "" {
		c.DataDir = v
	}
	if v := getenv("BERTH_DATABASE_URL"); v != "" {
		c.Database = v
	}
	if v := getenv("BERTH_REGISTRY_HOST"); v != "" {
		c.RegistryHost = v
	}
	if v := getenv("BERTH_VULN_DB"); v != "" {
		c.VulnDB = v
	}
	if v := getenv("BERTH_LOG_LEVEL"); v != "" {
		c.LogLevel = v
	}
	if v := getenv("BERTH_K8S_BINARY"); v != "" {
		c.K8sBinary = v
	}
	if v := getenv("BERTH_CREDENTIALS"); v != "" {
		creds, err := ParseCredentials(v)
		if err != nil {
			return fmt.Errorf("BERTH_CREDENTIALS: %w", err)
		}
		c.Credentials = append(c.Credentials, creds...)
	}
	if v := getenv("BERTH_REPLICATION_REMOTES"); v != "" {
		for _, item := range strings.Split(v, ",") {
			if strings.TrimSpace(item) == "" {
				continue
			}
			if err := c.AddReplicationRemote(item); err != nil {
				return fmt.Errorf("BERTH_REPLICATION_REMOTES: %w", err)
			}
		}
	}
	for name, dst := range map[string]*time.Duration{
		"BERTH_LIFECYCLE_INTERVAL":   &c.LifecycleInterval,
		"BERTH_GC_INTERVAL":          &c.GCInterval,
		"BERTH_GC_GRACE_PERIOD":      &c.GCGracePeriod,
		"BERTH_PULL_THROUGH_RECHECK": &c.PullThroughRecheck,
	} {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			*dst = d
		}
	}
	return nil
}

// AddReplicationRemote adds a remote given as
// "<registryId>/<region>=http://ACCESS_KEY_ID:SECRET@host:port[?timeout=10s]".
func (c *Config) AddReplicationRemote(s string) error {
	key, raw, ok := strings.Cut(strings.TrimSpace(s), "=")
	if !ok {
		return fmt.Errorf("want <registryId>/<region>=http://ACCESS_KEY_ID:SECRET@host:port, got %q", s)
	}
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return fmt.Errorf("remote %s: want http://ACCESS_KEY_ID:SECRET@host:port, got %q", key, raw)
	}
	r := ReplicationRemote{AccessKeyID: u.User.Username()}
	r.SecretAccessKey, _ = u.User.Password()
	if t := u.Query().Get("timeout"); t != "" {
		if r.Timeout, err = time.ParseDuration(t); err != nil {
			return fmt.Errorf("remote %s: timeout: %w", key, err)
		}
	}
	u.User, u.RawQuery = nil, ""
	r.Endpoint = u.String()
	if c.ReplicationRemotes == nil {
		c.ReplicationRemotes = map[string]ReplicationRemote{}
	}
	c.ReplicationRemotes[key] = r
	return nil
}

var remoteKeyRE = regexp.MustCompile(`^[0-9]{12}/[0-9a-z-]{2,25}$`)

// ParseCredentials reads "AKID:SECRET[,AKID:SECRET...]".
func ParseCredentials(s string) ([]Credential, error) {
	var out []Credential
	for _, pair := range strings.Split(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		id, secret, ok := strings.Cut(pair, ":")
		if !ok || id == "" || secret == "" {
			return nil, fmt.Errorf("want ACCESS_KEY_ID:SECRET_ACCESS_KEY, got %q", pair)
		}
		out = append(out, Credential{AccessKeyID: id, SecretAccessKey: secret})
	}
	return out, nil
}

// Validate checks c and fills derived fields.
func (c *Config) Validate() error {
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", c.Listen, err)
	}
	if c.DataDir == "" {
		return fmt.Errorf("data dir must not be empty")
	}
	if c.Database != "" && !strings.HasPrefix(c.Database, "postgres://") && !strings.HasPrefix(c.Database, "postgresql://") {
		return fmt.Errorf("database must be a postgres:// URL (or empty for the SQLite file in the data dir)")
	}
	if c.RegistryHost == "" {
		c.RegistryHost = AdvertisedHost(host, port)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"lifecycleInterval", c.LifecycleInterval}, {"gcInterval", c.GCInterval}} {
		if d.v <= 0 {
			return fmt.Errorf("%s must be positive, got %s", d.name, d.v)
		}
	}
	if c.PullThroughRecheck <= 0 {
		return fmt.Errorf("pullThroughRecheck must be positive, got %s", c.PullThroughRecheck)
	}
	for key, r := range c.ReplicationRemotes {
		if !remoteKeyRE.MatchString(key) {
			return fmt.Errorf("replicationRemotes: key %q must be <12-digit registryId>/<region>", key)
		}
		u, err := url.Parse(r.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return fmt.Errorf("replicationRemotes %s: endpoint %q must be http(s)://host[:port]", key, r.Endpoint)
		}
		if r.AccessKeyID == "" || r.SecretAccessKey == "" {
			return fmt.Errorf("replicationRemotes %s: accessKeyId and secretAccessKey are required", key)
		}
		if r.Timeout < 0 {
			return fmt.Errorf("replicationRemotes %s: timeout must not be negative", key)
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("logLevel must be debug, info, warn or error, got %q", c.LogLevel)
	}
	return nil
}

// AdvertisedHost is the registry host for a listen address. Loopback and
// wildcard listeners advertise "localhost", which a stock Docker engine
// treats as an insecure (plain HTTP) registry with no daemon configuration.
func AdvertisedHost(host, port string) string {
	switch host {
	case "", "0.0.0.0", "::", "127.0.0.1", "::1", "localhost":
		return net.JoinHostPort("localhost", port)
	}
	return net.JoinHostPort(host, port)
}
