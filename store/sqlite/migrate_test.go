package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// A data directory written before ECS tasks had their own table keeps its
// tasks: migration 3 moves them out of the resource area with their
// filter columns.
func TestMigrationMovesECSTasks(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for i, m := range migrations[:2] {
		if _, err := db.Exec(m); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations VALUES (?, ?)`, i+1, time.Now().UnixNano()); err != nil {
			t.Fatal(err)
		}
	}
	doc := `{"id":"abc","cluster":"prod","family":"web","group":"service:api","desiredStatus":"RUNNING","launchType":"FARGATE"}`
	if _, err := db.Exec(`INSERT INTO resources (kind, account, region, id, doc, updated_at) VALUES ('ecs.task', '1', 'r', 'prod/abc', ?, 5)`, doc); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var left int
	if err := s.reader.QueryRow(`SELECT COUNT(*) FROM resources WHERE kind = 'ecs.task'`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("resources still hold %d tasks (%v)", left, err)
	}
	var cluster, id, group, status, instance, gotDoc string
	err = s.reader.QueryRow(`SELECT cluster, id, task_group, desired_status, instance, doc FROM ecs_tasks WHERE account = '1' AND region = 'r'`).
		Scan(&cluster, &id, &group, &status, &instance, &gotDoc)
	if err != nil || cluster != "prod" || id != "abc" || group != "service:api" || status != "RUNNING" || instance != "" || gotDoc != doc {
		t.Fatalf("migrated task = %q %q %q %q %q %q (%v)", cluster, id, group, status, instance, gotDoc, err)
	}
}
