package config

import "testing"

// The state backend is chosen by a postgres:// URL from the environment
// (or flag or YAML); anything else is refused at start rather than taken
// for a file name.
func TestDatabaseURL(t *testing.T) {
	c := Default()
	env := map[string]string{"BERTH_DATABASE_URL": "postgres://berth:pw@db:5432/berth?sslmode=disable"}
	if err := c.LoadEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.Database != env["BERTH_DATABASE_URL"] {
		t.Fatalf("Database = %q", c.Database)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	for _, bad := range []string{"berth.db", "mysql://x/y", "host=db user=berth"} {
		c := Default()
		c.Database = bad
		if err := c.Validate(); err == nil {
			t.Errorf("Validate accepted database %q", bad)
		}
	}
	c = Default()
	if err := c.Validate(); err != nil || c.Database != "" {
		t.Fatalf("default: Database %q, %v", c.Database, err)
	}
}
