package e2e

// End-to-end tests of the ECS control plane: clusters, task definitions,
// container instances and task records through the aws CLI v1 and v2, boto3
// and aws-sdk-go-v2. No task agent is involved: tasks are created
// PROVISIONING and stopped as records; running them is the agent's story.

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth-dev/berth/test/harness"
)

const ecsFargateTaskDef = `{
  "family": "%s",
  "networkMode": "awsvpc",
  "requiresCompatibilities": ["FARGATE"],
  "cpu": "0.5 vCPU",
  "memory": "1GB",
  "executionRoleArn": "arn:aws:iam::000000000000:role/ecsTaskExecutionRole",
  "containerDefinitions": [{
    "name": "web",
    "image": "nginx:alpine",
    "essential": true,
    "portMappings": [{"containerPort": 80}],
    "environment": [{"name": "MODE", "value": "e2e"}],
    "healthCheck": {"command": ["CMD-SHELL", "wget -q -O- localhost || exit 1"], "interval": 10, "retries": 3},
    "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web"}}
  }],
  "tags": [{"key": "app", "value": "web"}]
}`

type cliTask struct {
	TaskArn, ClusterArn, TaskDefinitionArn string
	LastStatus, DesiredStatus              string
	LaunchType, Cpu, Memory, StopCode      string
	StoppedReason, PlatformVersion         string
	ContainerInstanceArn                   string
	Tags                                   []struct{ Key, Value string }
	Containers                             []struct{ Name, LastStatus, ContainerArn string }
	Attachments                            []struct{ Type, Status string }
}

// The story of the control plane through both aws CLIs: a cluster with the
// local machine registered in it, a Fargate task definition, a task record
// run and stopped, and the errors AWS gives for bad input.
func TestECSControlPlaneWithAWSCLI(t *testing.T) {
	t.Parallel()
	// Without the agent the task records stay where the control plane put
	// them; running tasks are ecs_tasks_test.go's.
	b := harness.Start(t, harness.WithEnv("BERTH_AGENT=off"))
	clis := []struct {
		name string
		run  func(*harness.Berth, testing.TB, ...string) *harness.Result
	}{
		{"v1", (*harness.Berth).AWS},
		{"v2", (*harness.Berth).AWSv2},
	}
	for _, cli := range clis {
		t.Run(cli.name, func(t *testing.T) {
			t.Parallel()
			aws := func(args ...string) *harness.Result { return cli.run(b, t, args...) }
			cluster := "story-" + cli.name
			family := "web-" + cli.name
			clusterARN := "arn:aws:ecs:us-east-1:000000000000:cluster/" + cluster

			var created struct {
				Cluster struct {
					ClusterArn, ClusterName, Status   string
					RegisteredContainerInstancesCount int
					Settings                          []struct{ Name, Value string }
				}
			}
			aws("ecs", "create-cluster", "--cluster-name", cluster, "--tags", "key=team,value=platform",
				"--settings", "name=containerInsights,value=enabled").Must(t).JSON(t, &created)
			if c := created.Cluster; c.ClusterArn != clusterARN || c.Status != "ACTIVE" || c.RegisteredContainerInstancesCount != 1 {
				t.Errorf("create-cluster: %+v (want the local machine registered)", c)
			}

			var described struct {
				Clusters []struct {
					ClusterName string
					Tags        []struct{ Key, Value string }
					Statistics  []struct{ Name, Value string }
					Settings    []struct{ Name, Value string }
				}
				Failures []struct{ Arn, Reason string }
			}
			aws("ecs", "describe-clusters", "--clusters", cluster, "missing-"+cli.name,
				"--include", "TAGS", "SETTINGS", "STATISTICS").Must(t).JSON(t, &described)
			if len(described.Clusters) != 1 || len(described.Clusters[0].Tags) != 1 || len(described.Clusters[0].Statistics) == 0 ||
				len(described.Clusters[0].Settings) != 1 || described.Clusters[0].Settings[0].Value != "enabled" {
				t.Errorf("describe-clusters: %+v", described.Clusters)
			}
			if len(described.Failures) != 1 || described.Failures[0].Reason != "MISSING" {
				t.Errorf("describe-clusters failures: %+v", described.Failures)
			}
			if out := aws("ecs", "list-clusters").Must(t).Stdout; !strings.Contains(out, clusterARN) {
				t.Errorf("list-clusters does not list %s: %s", clusterARN, out)
			}

			// The local machine is the cluster's first container instance,
			// with its real CPU.
			var instances struct{ ContainerInstanceArns []string }
			aws("ecs", "list-container-instances", "--cluster", cluster).Must(t).JSON(t, &instances)
			if len(instances.ContainerInstanceArns) != 1 ||
				!strings.HasPrefix(instances.ContainerInstanceArns[0], "arn:aws:ecs:us-east-1:000000000000:container-instance/"+cluster+"/") {
				t.Fatalf("list-container-instances: %v", instances.ContainerInstanceArns)
			}
			var ci struct {
				ContainerInstances []struct {
					Status              string
					AgentConnected      bool
					RegisteredResources []struct {
						Name         string
						IntegerValue int
					}
					Attributes []struct{ Name, Value string }
				}
			}
			aws("ecs", "describe-container-instances", "--cluster", cluster, "--container-instances", instances.ContainerInstanceArns[0]).Must(t).JSON(t, &ci)
			if len(ci.ContainerInstances) != 1 || ci.ContainerInstances[0].Status != "ACTIVE" || !ci.ContainerInstances[0].AgentConnected {
				t.Fatalf("describe-container-instances: %+v", ci)
			}
			for _, r := range ci.ContainerInstances[0].RegisteredResources {
				if r.Name == "CPU" && r.IntegerValue != runtime.NumCPU()*1024 {
					t.Errorf("registered CPU %d, want %d (1024 per core)", r.IntegerValue, runtime.NumCPU()*1024)
				}
				if r.Name == "MEMORY" && r.IntegerValue <= 0 {
					t.Errorf("registered MEMORY %d", r.IntegerValue)
				}
			}

			// A Fargate task definition: sizes normalized, compatibilities
			// computed, tags kept.
			var reg struct {
				TaskDefinition struct {
					TaskDefinitionArn, Cpu, Memory, Status, NetworkMode string
					Revision                                            int
					Compatibilities                                     []string
				}
			}
			aws("ecs", "register-task-definition", "--cli-input-json", fmt.Sprintf(ecsFargateTaskDef, family)).Must(t).JSON(t, &reg)
			td := reg.TaskDefinition
			if td.TaskDefinitionArn != "arn:aws:ecs:us-east-1:000000000000:task-definition/"+family+":1" || td.Revision != 1 ||
				td.Cpu != "512" || td.Memory != "1024" || td.Status != "ACTIVE" || strings.Join(td.Compatibilities, ",") != "EC2,FARGATE" {
				t.Errorf("register-task-definition: %+v", td)
			}
			var desc struct {
				TaskDefinition struct{ Revision int }
				Tags           []struct{ Key, Value string }
			}
			aws("ecs", "describe-task-definition", "--task-definition", family, "--include", "TAGS").Must(t).JSON(t, &desc)
			if desc.TaskDefinition.Revision != 1 || len(desc.Tags) != 1 {
				t.Errorf("describe-task-definition: %+v", desc)
			}
			var tdList struct{ TaskDefinitionArns []string }
			aws("ecs", "list-task-definitions", "--family-prefix", family).Must(t).JSON(t, &tdList)
			if len(tdList.TaskDefinitionArns) != 1 {
				t.Errorf("list-task-definitions: %v", tdList.TaskDefinitionArns)
			}

			// run-task creates the record; no agent runs it here.
			var run struct {
				Tasks    []cliTask
				Failures []struct{ Arn, Reason string }
			}
			aws("ecs", "run-task", "--cluster", cluster, "--task-definition", family, "--launch-type", "FARGATE",
				"--network-configuration", "awsvpcConfiguration={subnets=["+defaultSubnets(t, b)[0]+"],assignPublicIp=ENABLED}",
				"--started-by", "e2e", "--tags", "key=run,value=1", "--enable-execute-command").Must(t).JSON(t, &run)
			if len(run.Tasks) != 1 || len(run.Failures) != 0 {
				t.Fatalf("run-task: %+v", run)
			}
			task := run.Tasks[0]
			if !strings.HasPrefix(task.TaskArn, "arn:aws:ecs:us-east-1:000000000000:task/"+cluster+"/") || task.LastStatus != "PROVISIONING" ||
				task.DesiredStatus != "RUNNING" || task.LaunchType != "FARGATE" || task.Cpu != "512" || task.PlatformVersion != "1.4.0" ||
				task.ContainerInstanceArn != "" || len(task.Attachments) != 1 || task.Attachments[0].Type != "ElasticNetworkInterface" {
				t.Errorf("run-task task: %+v", task)
			}
			if out := aws("ecs", "list-tasks", "--cluster", cluster, "--started-by", "e2e").Must(t).Stdout; !strings.Contains(out, task.TaskArn) {
				t.Errorf("list-tasks does not list %s: %s", task.TaskArn, out)
			}
			var dt struct{ Tasks []cliTask }
			aws("ecs", "describe-tasks", "--cluster", cluster, "--tasks", task.TaskArn, "--include", "TAGS").Must(t).JSON(t, &dt)
			if len(dt.Tasks) != 1 || len(dt.Tasks[0].Tags) != 1 || len(dt.Tasks[0].Containers) != 1 || dt.Tasks[0].Containers[0].LastStatus != "PENDING" {
				t.Errorf("describe-tasks: %+v", dt.Tasks)
			}

			var stopped struct{ Task cliTask }
			aws("ecs", "stop-task", "--cluster", cluster, "--task", task.TaskArn, "--reason", "e2e done").Must(t).JSON(t, &stopped)
			if s := stopped.Task; s.DesiredStatus != "STOPPED" || s.StopCode != "UserInitiated" || s.StoppedReason != "e2e done" {
				t.Errorf("stop-task: %+v", s)
			}
			if out := aws("ecs", "list-tasks", "--cluster", cluster, "--desired-status", "STOPPED").Must(t).Stdout; !strings.Contains(out, task.TaskArn) {
				t.Errorf("list-tasks STOPPED does not list the stopped task: %s", out)
			}

			// Bad input gets AWS's codes and words.
			bad := []struct {
				args []string
				code string
				text string
			}{
				{[]string{"ecs", "register-task-definition", "--family", "bad", "--requires-compatibilities", "FARGATE", "--network-mode", "awsvpc",
					"--cpu", "256", "--memory", "4096", "--container-definitions", `[{"name":"a","image":"busybox"}]`},
					"ClientException", "No Fargate configuration exists for given values."},
				{[]string{"ecs", "register-task-definition", "--family", "bad", "--container-definitions", `[{"name":"a","image":"busybox"}]`},
					"ClientException", "At least one of 'memory' or 'memoryReservation' must be specified."},
				{[]string{"ecs", "describe-task-definition", "--task-definition", "nope-" + cli.name},
					"ClientException", "Unable to describe task definition."},
				{[]string{"ecs", "run-task", "--cluster", "nope-" + cli.name, "--task-definition", family},
					"ClusterNotFoundException", "Cluster not found."},
				{[]string{"ecs", "run-task", "--cluster", cluster, "--task-definition", family, "--launch-type", "FARGATE"},
					"InvalidParameterException", "Network Configuration must be provided when networkMode 'awsvpc' is specified."},
				{[]string{"ecs", "stop-task", "--cluster", cluster, "--task", "0123456789abcdef0123456789abcdef"},
					"InvalidParameterException", "The referenced task was not found."},
				{[]string{"ecs", "delete-cluster", "--cluster", cluster},
					"ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active."},
			}
			for _, c := range bad {
				r := aws(c.args...)
				assertCode(t, r, c.code)
				if !strings.Contains(r.Stderr, c.text) {
					t.Errorf("%s: stderr %q lacks %q", strings.Join(c.args[:2], " "), r.Stderr, c.text)
				}
			}
		})
	}
}

// boto3: EC2 placement on the local container instance takes its
// resources; paginators walk revisions; errors carry AWS's codes.
const ecsBoto3Script = `
import json, sys
import boto3, botocore

ecs = boto3.client("ecs")
out = {}
ecs.create_cluster(clusterName="py")
for i in range(3):
    ecs.register_task_definition(family="py-job", containerDefinitions=[{
        "name": "job", "image": "busybox", "memory": 256, "cpu": 128,
        "portMappings": [{"containerPort": 80, "hostPort": 18080}]}])
pages = ecs.get_paginator("list_task_definitions").paginate(familyPrefix="py-job", sort="DESC", PaginationConfig={"PageSize": 1})
out["revisions"] = [a.rsplit(":", 1)[1] for p in pages for a in p["taskDefinitionArns"]]
out["families"] = ecs.list_task_definition_families(familyPrefix="py")["families"]

run = ecs.run_task(cluster="py", taskDefinition="py-job", count=2)
out["placed"] = len(run["tasks"])
out["failures"] = [f["reason"] for f in run["failures"]]
t = run["tasks"][0]
out["instance"] = t.get("containerInstanceArn", "")
ci = ecs.describe_container_instances(cluster="py", containerInstances=[out["instance"]])["containerInstances"][0]
reg = {r["name"]: r for r in ci["registeredResources"]}
rem = {r["name"]: r for r in ci["remainingResources"]}
out["memory_taken"] = reg["MEMORY"]["integerValue"] - rem["MEMORY"]["integerValue"]
out["cpu_taken"] = reg["CPU"]["integerValue"] - rem["CPU"]["integerValue"]
out["port_taken"] = "18080" in rem["PORTS"]["stringSetValue"]
out["running_count"] = ci["runningTasksCount"]

stats = ecs.describe_clusters(clusters=["py"], include=["STATISTICS"])["clusters"][0]
out["pending"] = stats["pendingTasksCount"]

def code(call, **kw):
    try:
        call(**kw)
        return ["OK", ""]
    except botocore.exceptions.ClientError as e:
        return [e.response["Error"]["Code"], e.response["Error"]["Message"]]

out["dup_names"] = code(ecs.register_task_definition, family="x", containerDefinitions=[
    {"name": "a", "image": "i", "memory": 16}, {"name": "a", "image": "i", "memory": 16}])
out["fargate_bridge"] = code(ecs.register_task_definition, family="x", requiresCompatibilities=["FARGATE"],
    cpu="256", memory="512", containerDefinitions=[{"name": "a", "image": "i"}])
out["count_11"] = code(ecs.run_task, cluster="py", taskDefinition="py-job", count=11)
out["missing_cluster"] = code(ecs.list_tasks, cluster="nope")
out["bad_include"] = code(ecs.describe_clusters, clusters=["py"], include=["EVERYTHING"])
print(json.dumps(out))
`

func TestECSControlPlaneWithBoto3(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithEnv("BERTH_AGENT=off"))
	var got struct {
		Revisions    []string `json:"revisions"`
		Families     []string `json:"families"`
		Placed       int      `json:"placed"`
		Failures     []string `json:"failures"`
		MemoryTaken  int      `json:"memory_taken"`
		CPUTaken     int      `json:"cpu_taken"`
		PortTaken    bool     `json:"port_taken"`
		RunningCount int      `json:"running_count"`
		Pending      int      `json:"pending"`
	}
	res := b.Python(t, ecsBoto3Script).Must(t)
	res.JSON(t, &got)
	var pairs map[string]any
	res.JSON(t, &pairs)
	if strings.Join(got.Revisions, ",") != "3,2,1" {
		t.Errorf("paginated DESC revisions = %v", got.Revisions)
	}
	if strings.Join(got.Families, ",") != "py-job" {
		t.Errorf("families = %v", got.Families)
	}
	// Both tasks want host port 18080: one is placed, the other fails.
	if got.Placed != 1 || strings.Join(got.Failures, ",") != "RESOURCE:PORTS" {
		t.Errorf("run_task count=2 on one port: placed %d, failures %v", got.Placed, got.Failures)
	}
	if got.MemoryTaken != 256 || got.CPUTaken != 128 || !got.PortTaken || got.RunningCount != 1 {
		t.Errorf("instance accounting: memory %d cpu %d port %v running %d", got.MemoryTaken, got.CPUTaken, got.PortTaken, got.RunningCount)
	}
	if got.Pending != 1 {
		t.Errorf("pendingTasksCount = %d, want 1 (the task waits for an agent)", got.Pending)
	}
	pair := func(k string) []string {
		v, _ := pairs[k].([]any)
		out := make([]string, len(v))
		for i, x := range v {
			out[i], _ = x.(string)
		}
		return out
	}
	wantPair := func(k, code, text string) {
		t.Helper()
		p := pair(k)
		if len(p) != 2 || p[0] != code || !strings.Contains(p[1], text) {
			t.Errorf("%s: %v, want %s %q", k, p, code, text)
		}
	}
	wantPair("dup_names", "ClientException", "Container names must be unique within a Task Definition.")
	wantPair("fargate_bridge", "ClientException", "Fargate only supports network mode")
	wantPair("count_11", "InvalidParameterException", "count")
	wantPair("missing_cluster", "ClusterNotFoundException", "Cluster not found.")
	wantPair("bad_include", "InvalidParameterException", "EVERYTHING")
}

// aws-sdk-go-v2: typed errors, tagging, container instance registration as
// a remote agent does it, and account isolation.
func TestECSControlPlaneWithSDK(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithEnv("BERTH_AGENT=off"))
	ctx := context.Background()
	client := ecs.NewFromConfig(b.SDKConfig(ctx))

	c, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{
		ClusterName:       aws.String("sdk"),
		CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{
			{CapacityProvider: aws.String("FARGATE"), Weight: 1, Base: 1},
			{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 3},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	clusterARN := aws.ToString(c.Cluster.ClusterArn)

	// A remote host joins the cluster.
	reg, err := client.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{
		Cluster:                  aws.String("sdk"),
		InstanceIdentityDocument: aws.String(`{"instanceId":"i-0123456789abcdef0","instanceType":"c5.large","availabilityZone":"us-east-1b"}`),
		TotalResources: []types.Resource{
			{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 2048},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 3800},
		},
		VersionInfo: &types.VersionInfo{AgentVersion: aws.String("1.80.0")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(reg.ContainerInstance.Ec2InstanceId) != "i-0123456789abcdef0" || reg.ContainerInstance.Status == nil {
		t.Errorf("RegisterContainerInstance: %+v", reg.ContainerInstance)
	}
	li, err := client.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("sdk"), Filter: aws.String("attribute:ecs.instance-type == c5.large")})
	if err != nil || len(li.ContainerInstanceArns) != 1 {
		t.Errorf("ListContainerInstances with filter: %v %v", li, err)
	}
	if _, err := client.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("sdk")}); !errorAs[*types.ClusterContainsContainerInstancesException](err) {
		t.Errorf("DeleteCluster with a remote instance: %v", err)
	}

	// The default strategy sends the first task to FARGATE (base 1), then
	// by weight.
	_, err = client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String("sdk-web"),
		NetworkMode:             types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu:                     aws.String("1024"),
		Memory:                  aws.String("2048"),
		ContainerDefinitions:    []types.ContainerDefinition{{Name: aws.String("web"), Image: aws.String("nginx")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	run, err := client.RunTask(ctx, &ecs.RunTaskInput{
		Cluster: aws.String("sdk"), TaskDefinition: aws.String("sdk-web"), Count: aws.Int32(2),
		NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: defaultSubnets(t, b)[:1]}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Tasks) != 2 || aws.ToString(run.Tasks[0].CapacityProviderName) != "FARGATE" || aws.ToString(run.Tasks[1].CapacityProviderName) != "FARGATE_SPOT" {
		t.Errorf("RunTask with the default strategy: %d tasks", len(run.Tasks))
		for _, task := range run.Tasks {
			t.Logf("  %s on %s", aws.ToString(task.TaskArn), aws.ToString(task.CapacityProviderName))
		}
	}
	taskARN := aws.ToString(run.Tasks[0].TaskArn)

	for _, arn := range []string{clusterARN, taskARN} {
		if _, err := client.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn), Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("e2e")}}}); err != nil {
			t.Fatal(err)
		}
		tags, err := client.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
		if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "e2e" {
			t.Errorf("ListTagsForResource %s: %+v %v", arn, tags, err)
		}
	}
	dt, err := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("sdk"), Tasks: []string{taskARN, "ffffffffffffffffffffffffffffffff"}, Include: []types.TaskField{types.TaskFieldTags}})
	if err != nil || len(dt.Tasks) != 1 || len(dt.Failures) != 1 || aws.ToString(dt.Failures[0].Reason) != "MISSING" || len(dt.Tasks[0].Tags) != 1 {
		t.Errorf("DescribeTasks: %+v %v", dt, err)
	}

	// Typed errors.
	_, err = client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("nope")})
	if !errorAs[*types.ClientException](err) {
		t.Errorf("DescribeTaskDefinition of nothing: %v, want ClientException", err)
	}
	_, err = client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("nope"), TaskDefinition: aws.String("sdk-web")})
	if !errorAs[*types.ClusterNotFoundException](err) {
		t.Errorf("RunTask on a missing cluster: %v, want ClusterNotFoundException", err)
	}
	_, err = client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("sdk"), TaskDefinition: aws.String("sdk-web"), LaunchType: types.LaunchTypeFargate})
	if !errorAs[*types.InvalidParameterException](err) {
		t.Errorf("RunTask awsvpc without network: %v, want InvalidParameterException", err)
	}

	// Another account (a 12-digit access key) sees none of it.
	other := ecs.NewFromConfig(b.As("111111111111", "x").SDKConfig(ctx))
	lc, err := other.ListClusters(ctx, &ecs.ListClustersInput{})
	if err != nil || len(lc.ClusterArns) != 0 {
		t.Errorf("another account lists %v (%v)", lc, err)
	}
	if _, err := other.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(clusterARN), Tasks: []string{taskARN}}); !errorAs[*types.ClusterNotFoundException](err) {
		t.Errorf("another account describes the task: %v", err)
	}
}

func errorAs[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}
