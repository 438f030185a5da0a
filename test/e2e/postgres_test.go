package e2e

// Berth on PostgreSQL (`berth up --database postgres://...`): the ECR and
// ECS state of a real workload (an image pushed and pulled back, a task
// running a container) lives in the database, not in the SQLite file, and
// survives kill -9: after the restart the images are listed, the task is
// still RUNNING on the same container and re-adopted. Runs when
// BERTH_TEST_POSTGRES names a database; each run takes a fresh schema.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/berth-dev/berth/store/postgres/pgtest"
	"github.com/berth-dev/berth/test/harness"
)

func TestPostgresStateSurvivesKill(t *testing.T) {
	base := os.Getenv(pgtest.EnvVar)
	if base == "" {
		t.Skip(pgtest.EnvVar + " is not set: set it to a PostgreSQL URL (postgres://user:password@host:5432/db?sslmode=disable) to run Berth on PostgreSQL")
	}
	t.Parallel()
	harness.RequireDocker(t)
	dbURL, drop, err := pgtest.NewSchema(context.Background(), base, "e2e")
	if err != nil {
		t.Fatal(err)
	}
	// Registered before harness.Start: cleanups run last-in first-out, so
	// Berth is stopped before its schema goes.
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	b := harness.Start(t, harness.WithArgs("--database", dbURL))
	cli := b.AWSv2

	// ECR through the aws CLI, an image pushed and pulled back.
	var repo struct {
		Repository struct{ RepositoryUri string }
	}
	cli(t, "ecr", "create-repository", "--repository-name", "pg/app").Must(t).JSON(t, &repo)
	img := repo.Repository.RepositoryUri + ":v1"
	auth := registryAuth(t, b)
	dgst := pushImage(t, img, harness.TestImage(t, "pg"), auth)
	t.Cleanup(func() { harness.Docker(t, "rmi", img) })
	pull := func() {
		t.Helper()
		ref, err := name.ParseReference(img, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		got, err := remote.Image(ref, auth)
		if err != nil {
			t.Fatalf("pull %s: %v", img, err)
		}
		if d, err := got.Digest(); err != nil || d.String() != dgst {
			t.Fatalf("pulled %s: %v, %v; pushed %s", img, d, err, dgst)
		}
		if _, err := got.ConfigFile(); err != nil {
			t.Fatalf("pulled config of %s: %v", img, err)
		}
	}
	pull()

	// ECS: a cluster and a task running a container of that image.
	cli(t, "ecs", "create-cluster", "--cluster-name", "tasks").Must(t)
	tkRegister(t, cli, fmt.Sprintf(`{"family": "pg", "containerDefinitions": [{
  "name": "web", "image": %q, "memory": 64, "command": ["serve"], "portMappings": [{"containerPort": 8080}]}]}`, img))
	arn := tkRun(t, cli, "--task-definition", "pg")
	before := tkWait(t, cli, "tasks-running", arn).container("web")

	b.Kill()
	b.Restart()

	var images struct {
		ImageDetails []struct {
			ImageDigest string
			ImageTags   []string
		}
	}
	cli(t, "ecr", "describe-images", "--repository-name", "pg/app").Must(t).JSON(t, &images)
	if len(images.ImageDetails) != 1 || images.ImageDetails[0].ImageDigest != dgst ||
		len(images.ImageDetails[0].ImageTags) != 1 || images.ImageDetails[0].ImageTags[0] != "v1" {
		t.Fatalf("describe-images after the restart: %+v, want %s tagged v1", images, dgst)
	}
	pull()
	task := tkDescribe(t, cli, arn)
	after := task.container("web")
	if task.LastStatus != "RUNNING" || after.RuntimeId != before.RuntimeId {
		t.Fatalf("task after the restart: %+v (container before: %s)", task, before.RuntimeId)
	}
	if code, _ := tkGet(t, fmt.Sprintf("http://127.0.0.1:%d/health", after.NetworkBindings[0].HostPort)); code != 200 {
		t.Errorf("GET the task after the restart: %d", code)
	}
	time.Sleep(2 * time.Second)
	if task := tkDescribe(t, cli, arn); task.LastStatus != "RUNNING" {
		t.Fatalf("the re-adopted task is %s (%s)", task.LastStatus, task.StoppedReason)
	}

	// The rows are in PostgreSQL, and the SQLite file was never made.
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var repos, manifests, tasks int
	if err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM repositories WHERE name = 'pg/app'),
		(SELECT COUNT(*) FROM manifests), (SELECT COUNT(*) FROM ecs_tasks WHERE desired_status = 'RUNNING')`).
		Scan(&repos, &manifests, &tasks); err != nil {
		t.Fatal(err)
	}
	if repos != 1 || manifests != 1 || tasks != 1 {
		t.Errorf("PostgreSQL holds %d repositories, %d manifests, %d running tasks; want 1 each", repos, manifests, tasks)
	}
	if _, err := os.Stat(filepath.Join(b.DataDir(), "berth.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("berth.db in the data directory (%v): state went to SQLite", err)
	}

	cli(t, "ecs", "stop-task", "--cluster", "tasks", "--task", arn).Must(t)
	if task := tkWait(t, cli, "tasks-stopped", arn); task.StopCode != "UserInitiated" {
		t.Errorf("stopped: %+v", task)
	}
}

// Two Berths on one database and one data directory: the first leads and
// runs the controllers, the second serves the API only. An image pushed
// through one is pulled through the other, a task run through the
// follower is started by the leader's agent; when the leader is killed the follower
// takes the lock, and its task agent re-adopts the running task (same
// container) and stops it on request.
func TestPostgresReplicasElectOneLeader(t *testing.T) {
	base := os.Getenv(pgtest.EnvVar)
	if base == "" {
		t.Skip(pgtest.EnvVar + " is not set: set it to a PostgreSQL URL (postgres://user:password@host:5432/db?sslmode=disable) to run Berth on PostgreSQL")
	}
	t.Parallel()
	harness.RequireDocker(t)
	dbURL, drop, err := pgtest.NewSchema(context.Background(), base, "e2e")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	waitLog := func(b *harness.Berth, what string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(b.Log(), what) {
			if time.Now().After(deadline) {
				t.Fatalf("berth never logged %q:\n%s", what, b.Log())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	leader := harness.Start(t, harness.WithArgs("--database", dbURL))
	waitLog(leader, "leading: this Berth runs the controllers")
	follower := harness.Start(t, harness.WithArgs("--database", dbURL), harness.WithDataDir(leader.DataDir()))
	waitLog(follower, "another Berth leads on this database")
	if strings.Contains(follower.Log(), "leading: this Berth runs the controllers") {
		t.Fatalf("both Berths lead:\n%s", follower.Log())
	}

	var repo struct {
		Repository struct{ RepositoryUri string }
	}
	leader.AWSv2(t, "ecr", "create-repository", "--repository-name", "pg/replicas").Must(t).JSON(t, &repo)
	img := repo.Repository.RepositoryUri + ":v1"
	dgst := pushImage(t, img, harness.TestImage(t, "pg-replicas"), registryAuth(t, leader))
	t.Cleanup(func() { harness.Docker(t, "rmi", img) })
	// Through the follower: its own repository URI (its port), same image.
	var images struct {
		ImageDetails []struct{ ImageDigest string }
	}
	follower.AWSv2(t, "ecr", "describe-images", "--repository-name", "pg/replicas").Must(t).JSON(t, &images)
	if len(images.ImageDetails) != 1 || images.ImageDetails[0].ImageDigest != dgst {
		t.Fatalf("describe-images through the follower: %+v, want %s", images, dgst)
	}
	ref, err := name.ParseReference(follower.RegistryHost()+"/pg/replicas:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := remote.Image(ref, registryAuth(t, follower)); err != nil {
		t.Fatalf("pull through the follower: %v", err)
	} else if d, _ := got.Digest(); d.String() != dgst {
		t.Fatalf("pulled %s through the follower, pushed %s", d, dgst)
	}

	follower.AWSv2(t, "ecs", "create-cluster", "--cluster-name", "tasks").Must(t)
	tkRegister(t, follower.AWSv2, fmt.Sprintf(`{"family": "pg", "containerDefinitions": [{
  "name": "web", "image": %q, "memory": 64, "command": ["serve"], "portMappings": [{"containerPort": 8080}]}]}`, img))
	// Run through the follower: the leader's agent starts it on its next
	// pass.
	arn := tkRun(t, follower.AWSv2, "--task-definition", "pg")
	before := tkPoll(t, leader, arn, 30*time.Second, "RUNNING", func(t types.Task) bool {
		return aws.ToString(t.LastStatus) == "RUNNING"
	})
	beforeID := aws.ToString(before.Containers[0].RuntimeId)

	leader.Kill()
	waitLog(follower, "leading: this Berth runs the controllers")
	time.Sleep(2 * time.Second)
	task := tkDescribe(t, follower.AWSv2, arn)
	if after := task.container("web"); task.LastStatus != "RUNNING" || after.RuntimeId != beforeID {
		t.Fatalf("task after the leader died: %+v (container before: %s)", task, beforeID)
	}
	follower.AWSv2(t, "ecs", "stop-task", "--cluster", "tasks", "--task", arn).Must(t)
	if task := tkWait(t, follower.AWSv2, "tasks-stopped", arn); task.StopCode != "UserInitiated" {
		t.Errorf("stopped by the new leader: %+v", task)
	}
	if left := tkContainersOf(t, arn); len(left) != 0 {
		t.Errorf("containers left behind: %v", left)
	}
}
