package ecs

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store/sqlite"
)

// testHost is the local host of test services: 2 cores, 4 GiB.
var testHost = HostInfo{
	ID:            "i-0000000000000test",
	CPU:           2048,
	MemoryMiB:     4096,
	Arch:          "x86_64",
	ReservedPorts: defaultReservedPorts,
	AgentVersion:  "1.0.0",
	InstanceType:  "berth.local",
}

// newTestService returns a Service on a fresh SQLite store with its
// Wakeups as notifier, and a context of account 123456789012 in us-east-1.
func newTestService(t *testing.T) (*Service, *Wakeups, context.Context) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	wake := NewWakeups()
	host := testHost
	svc, err := New(context.Background(), Options{Store: st, Local: &host, Notifier: wake})
	if err != nil {
		t.Fatal(err)
	}
	ctx := awsapi.WithIdentity(context.Background(), awsapi.Identity{AccountID: "123456789012", Region: "us-east-1"})
	return svc, wake, ctx
}

// wantCode fails unless err is the AWS error code with a message containing
// every fragment.
func wantCode(t *testing.T, what string, err error, code string, fragments ...string) {
	t.Helper()
	e := awsapi.AsError(err)
	if e == nil {
		t.Errorf("%s: error %v, want %s", what, err, code)
		return
	}
	if e.Code != code {
		t.Errorf("%s: %s: %s, want %s", what, e.Code, e.Message, code)
		return
	}
	for _, f := range fragments {
		if !strings.Contains(e.Message, f) {
			t.Errorf("%s: message %q does not contain %q", what, e.Message, f)
		}
	}
}

func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func container(name, image string, mutate ...func(*ecsapi.ContainerDefinition)) ecsapi.ContainerDefinition {
	c := ecsapi.ContainerDefinition{Name: ptr(name), Image: ptr(image)}
	for _, m := range mutate {
		m(&c)
	}
	return c
}

func withMemory(mib int32) func(*ecsapi.ContainerDefinition) {
	return func(c *ecsapi.ContainerDefinition) { c.Memory = ptr(mib) }
}

// ec2Def is a bridge-mode task definition of one container.
func ec2Def(family string, memory int32, cpu int32) *ecsapi.RegisterTaskDefinitionInput {
	return &ecsapi.RegisterTaskDefinitionInput{
		Family: ptr(family),
		ContainerDefinitions: []ecsapi.ContainerDefinition{
			container("app", "busybox", withMemory(memory), func(c *ecsapi.ContainerDefinition) { c.Cpu = ptr(cpu) }),
		},
	}
}

// fargateDef is a Fargate task definition of 0.25 vCPU and 512 MiB.
func fargateDef(family string) *ecsapi.RegisterTaskDefinitionInput {
	return &ecsapi.RegisterTaskDefinitionInput{
		Family:                  ptr(family),
		NetworkMode:             ptr(ecsapi.NetworkModeAwsvpc),
		RequiresCompatibilities: []ecsapi.Compatibility{ecsapi.CompatibilityFargate},
		Cpu:                     ptr("256"),
		Memory:                  ptr("512"),
		ContainerDefinitions: []ecsapi.ContainerDefinition{
			container("web", "nginx", func(c *ecsapi.ContainerDefinition) {
				c.PortMappings = []ecsapi.PortMapping{{ContainerPort: ptr(int32(80))}}
			}),
			container("sidecar", "busybox", func(c *ecsapi.ContainerDefinition) { c.Essential = ptr(false) }),
		},
	}
}

func awsvpcNet() *ecsapi.NetworkConfiguration {
	return &ecsapi.NetworkConfiguration{AwsvpcConfiguration: &ecsapi.AwsVpcConfiguration{Subnets: []string{"subnet-0abc"}}}
}

// fakeAgent is a task agent that runs nothing: it moves each task of its
// host PROVISIONING → PENDING → RUNNING while it should run, and to STOPPED
// (exit code 0) once it should stop, through the agent interface only.
type fakeAgent struct {
	src  TaskSource
	host string
	ip   string

	mu    sync.Mutex
	steps int
}

func (a *fakeAgent) run(ctx context.Context, t *testing.T, wake *Wakeups) {
	ch, cancel := wake.Subscribe(a.host)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond) // the resync
	defer tick.Stop()
	for {
		if err := a.reconcile(ctx); err != nil && ctx.Err() == nil {
			t.Errorf("fake agent: %v", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ch:
		case <-tick.C:
		}
	}
}

func (a *fakeAgent) reconcile(ctx context.Context) error {
	tasks, err := a.src.ListTasksToReconcile(ctx, a.host)
	if err != nil {
		return err
	}
	for _, task := range tasks {
		t := task
		if !t.NeedsAction() {
			continue
		}
		var steps []func(*TaskStatus) error
		if t.DesiredStatus == TaskRunning {
			steps = append(steps,
				func(st *TaskStatus) error {
					st.LastStatus = TaskPending
					st.PullStartedAt = time.Now()
					if t.NetworkMode == "awsvpc" {
						st.PrivateIPv4Address, st.MACAddress = a.ip, "02:42:ac:11:00:02"
					}
					return nil
				},
				func(st *TaskStatus) error {
					st.PullStoppedAt = time.Now()
					st.LastStatus = TaskRunning
					for i := range st.Containers {
						st.Containers[i].LastStatus = ContainerRunning
						st.Containers[i].RuntimeID = fmt.Sprintf("fake-%d", i)
					}
					return nil
				})
		} else {
			steps = append(steps, func(st *TaskStatus) error {
				st.LastStatus = TaskStopped
				for i := range st.Containers {
					st.Containers[i].ExitCode = ptr(int32(0))
				}
				return nil
			})
		}
		for _, step := range steps {
			if err := a.src.UpdateTaskState(ctx, t.TaskARN, step); err != nil {
				if errors.Is(err, ErrStatusRegression) {
					break // a newer report won; the next pass sees it
				}
				return err
			}
			a.mu.Lock()
			a.steps++
			a.mu.Unlock()
		}
	}
	return nil
}

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func scopedCtx(account, region string) context.Context {
	return awsapi.WithIdentity(context.Background(), awsapi.Identity{AccountID: account, Region: region})
}
