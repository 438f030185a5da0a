package e2e

// End-to-end tests of ECS account settings, container instance attributes
// and capacity providers through the aws CLI v1 and v2 and boto3.

import (
	"strings"
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

type cliSetting struct{ Name, Value, PrincipalArn, Type string }

type ecsCLI struct {
	name, region string
	run          func(*harness.Berth, testing.TB, ...string) *harness.Result
}

// Each CLI works in a region of its own: account settings are per account
// and region, and the subtests run in parallel.
var ecsCLIs = []ecsCLI{
	{"v1", "us-east-1", (*harness.Berth).AWS},
	{"v2", "eu-west-1", (*harness.Berth).AWSv2},
}

func wantCode(t *testing.T, r *harness.Result, code string) {
	t.Helper()
	if r.ExitCode == 0 || r.ErrorCode() != code {
		t.Errorf("%s: exit %d, error %q, want %s\nstderr: %s", strings.Join(r.Args, " "), r.ExitCode, r.ErrorCode(), code, r.Stderr)
	}
}

// Account settings: AWS's defaults as effective settings, the account
// default (root) and a role's own value, the containerInsights default
// reaching new clusters, and the errors for bad input.
func TestECSAccountSettingsWithAWSCLI(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithEnv("BERTH_AGENT=off"))
	for _, cli := range ecsCLIs {
		t.Run(cli.name, func(t *testing.T) {
			t.Parallel()
			aws := func(args ...string) *harness.Result {
				return cli.run(b, t, append(args, "--region", cli.region)...)
			}
			root := "arn:aws:iam::000000000000:root"
			role := "arn:aws:iam::000000000000:role/dev-" + cli.name
			// Debian's aws CLI v2 (2.9) predates the setting type and drops
			// it from its output.
			typ := map[bool]string{true: "user", false: ""}[cli.name == "v1"]

			var list struct {
				Settings  []cliSetting
				NextToken string
			}
			aws("ecs", "list-account-settings").Must(t).JSON(t, &list)
			if len(list.Settings) != 0 {
				t.Errorf("list-account-settings without effective settings, nothing set: %+v", list.Settings)
			}
			aws("ecs", "list-account-settings", "--effective-settings").Must(t).JSON(t, &list)
			want := map[string]string{
				"serviceLongArnFormat": "enabled", "taskLongArnFormat": "enabled", "containerInstanceLongArnFormat": "enabled",
				"awsvpcTrunking": "disabled", "containerInsights": "disabled", "fargateTaskRetirementWaitPeriod": "7",
				"tagResourceAuthorization": "on", "guardDutyActivate": "off",
			}
			got := map[string]cliSetting{}
			for _, s := range list.Settings {
				got[s.Name] = s
			}
			for name, v := range want {
				if got[name].Value != v || got[name].PrincipalArn != root {
					t.Errorf("effective %s = %+v, want %s for the root user", name, got[name], v)
				}
			}
			if typ != "" && (got["guardDutyActivate"].Type != "aws_managed" || got["awsvpcTrunking"].Type != "user") {
				t.Errorf("setting types: %+v %+v", got["guardDutyActivate"], got["awsvpcTrunking"])
			}
			if len(list.Settings) < 10 {
				t.Errorf("effective settings: %d, want every setting name", len(list.Settings))
			}

			// The account default reaches new clusters.
			var put struct{ Setting cliSetting }
			aws("ecs", "put-account-setting-default", "--name", "containerInsights", "--value", "enabled").Must(t).JSON(t, &put)
			if put.Setting != (cliSetting{"containerInsights", "enabled", root, typ}) {
				t.Errorf("put-account-setting-default: %+v", put.Setting)
			}
			var cl struct {
				Cluster struct {
					Settings []struct{ Name, Value string }
				}
			}
			aws("ecs", "create-cluster", "--cluster-name", "insights-"+cli.name).Must(t).JSON(t, &cl)
			if len(cl.Cluster.Settings) != 1 || cl.Cluster.Settings[0].Value != "enabled" {
				t.Errorf("create-cluster after the containerInsights default: settings %+v", cl.Cluster.Settings)
			}
			var dc struct {
				Clusters []struct {
					Settings []struct{ Name, Value string }
				}
			}
			aws("ecs", "describe-clusters", "--clusters", "insights-"+cli.name, "--include", "SETTINGS").Must(t).JSON(t, &dc)
			if len(dc.Clusters) != 1 || len(dc.Clusters[0].Settings) != 1 || dc.Clusters[0].Settings[0].Value != "enabled" {
				t.Errorf("describe-clusters SETTINGS: %+v", dc.Clusters)
			}
			// An explicit cluster setting still wins.
			aws("ecs", "create-cluster", "--cluster-name", "plain-"+cli.name, "--settings", "name=containerInsights,value=disabled").Must(t).JSON(t, &cl)
			if cl.Cluster.Settings[0].Value != "disabled" {
				t.Errorf("create-cluster with containerInsights disabled: %+v", cl.Cluster.Settings)
			}

			// A role's own value, and what applies to it.
			aws("ecs", "put-account-setting", "--name", "containerInsights", "--value", "disabled", "--principal-arn", role).Must(t).JSON(t, &put)
			if put.Setting != (cliSetting{"containerInsights", "disabled", role, typ}) {
				t.Errorf("put-account-setting for a role: %+v", put.Setting)
			}
			aws("ecs", "list-account-settings", "--principal-arn", role, "--effective-settings", "--name", "containerInsights").Must(t).JSON(t, &list)
			if len(list.Settings) != 1 || list.Settings[0].Value != "disabled" || list.Settings[0].PrincipalArn != role {
				t.Errorf("role's effective containerInsights: %+v", list.Settings)
			}
			aws("ecs", "list-account-settings", "--principal-arn", role, "--effective-settings", "--name", "awsvpcTrunking").Must(t).JSON(t, &list)
			if len(list.Settings) != 1 || list.Settings[0].Value != "disabled" || list.Settings[0].PrincipalArn != root {
				t.Errorf("role's effective awsvpcTrunking (AWS default): %+v", list.Settings)
			}
			aws("ecs", "list-account-settings", "--name", "containerInsights", "--value", "enabled").Must(t).JSON(t, &list)
			if len(list.Settings) != 1 || list.Settings[0].PrincipalArn != root {
				t.Errorf("root's containerInsights=enabled: %+v", list.Settings)
			}
			aws("ecs", "list-account-settings", "--name", "containerInsights", "--value", "enhanced").Must(t).JSON(t, &list)
			if len(list.Settings) != 0 {
				t.Errorf("value filter enhanced: %+v", list.Settings)
			}
			aws("ecs", "list-account-settings", "--effective-settings", "--max-results", "4", "--no-paginate").Must(t).JSON(t, &list)
			if len(list.Settings) != 4 || list.NextToken == "" {
				t.Errorf("a page of 4: %d settings, nextToken %q", len(list.Settings), list.NextToken)
			}
			var del struct{ Setting cliSetting }
			aws("ecs", "delete-account-setting", "--name", "containerInsights", "--principal-arn", role).Must(t).JSON(t, &del)
			if del.Setting.Value != "disabled" || del.Setting.PrincipalArn != role {
				t.Errorf("delete-account-setting: %+v", del.Setting)
			}
			aws("ecs", "list-account-settings", "--principal-arn", role).Must(t).JSON(t, &list)
			if len(list.Settings) != 0 {
				t.Errorf("role's own settings after delete: %+v", list.Settings)
			}
			aws("ecs", "list-account-settings", "--principal-arn", role, "--effective-settings", "--name", "containerInsights").Must(t).JSON(t, &list)
			if len(list.Settings) != 1 || list.Settings[0].Value != "enabled" {
				t.Errorf("role inherits the account default after delete: %+v", list.Settings)
			}

			// fargateTaskRetirementWaitPeriod is the root user's alone.
			wantCode(t, aws("ecs", "put-account-setting", "--name", "fargateTaskRetirementWaitPeriod", "--value", "14", "--principal-arn", role), "InvalidParameterException")
			aws("ecs", "put-account-setting-default", "--name", "fargateTaskRetirementWaitPeriod", "--value", "14").Must(t).JSON(t, &put)
			if put.Setting.Value != "14" {
				t.Errorf("fargateTaskRetirementWaitPeriod: %+v", put.Setting)
			}
			wantCode(t, aws("ecs", "put-account-setting-default", "--name", "fargateTaskRetirementWaitPeriod", "--value", "3"), "InvalidParameterException")
			wantCode(t, aws("ecs", "put-account-setting", "--name", "awsvpcTrunking", "--value", "maybe"), "InvalidParameterException")
			wantCode(t, aws("ecs", "put-account-setting", "--name", "guardDutyActivate", "--value", "on"), "InvalidParameterException")
			wantCode(t, aws("ecs", "put-account-setting", "--name", "awsvpcTrunking", "--value", "enabled", "--principal-arn", "arn:aws:iam::111111111111:role/x"), "InvalidParameterException")
			wantCode(t, aws("ecs", "list-account-settings", "--value", "enabled"), "InvalidParameterException")
		})
	}
}

// Attributes on container instances: put by ARN and by id, seen by
// DescribeContainerInstances, ListAttributes, the cluster query language and
// memberOf placement; the custom attribute limit; delete.
func TestECSAttributesWithAWSCLI(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithEnv("BERTH_AGENT=off"))
	for _, cli := range ecsCLIs {
		t.Run(cli.name, func(t *testing.T) {
			t.Parallel()
			aws := func(args ...string) *harness.Result {
				return cli.run(b, t, append(args, "--region", cli.region)...)
			}
			cluster := "attrs-" + cli.name
			aws("ecs", "create-cluster", "--cluster-name", cluster).Must(t)
			var insts struct{ ContainerInstanceArns []string }
			aws("ecs", "list-container-instances", "--cluster", cluster).Must(t).JSON(t, &insts)
			if len(insts.ContainerInstanceArns) != 1 {
				t.Fatalf("list-container-instances: %v", insts.ContainerInstanceArns)
			}
			arn := insts.ContainerInstanceArns[0]
			id := arn[strings.LastIndex(arn, "/")+1:]

			var put struct {
				Attributes []struct{ Name, Value, TargetType, TargetId string }
			}
			aws("ecs", "put-attributes", "--cluster", cluster, "--attributes",
				"name=team,value=blue,targetId="+arn,
				"name=stack,value=prod,targetType=container-instance,targetId="+id).Must(t).JSON(t, &put)
			if len(put.Attributes) != 2 || put.Attributes[0].Name != "team" || put.Attributes[1].TargetId != id {
				t.Errorf("put-attributes: %+v", put.Attributes)
			}
			wantCode(t, aws("ecs", "put-attributes", "--cluster", cluster, "--attributes", "name=x,value=y,targetId="+id), "InvalidParameterException")
			wantCode(t, aws("ecs", "put-attributes", "--cluster", cluster, "--attributes",
				"name=x,value=y,targetType=container-instance,targetId=0123456789abcdef0123456789abcdef"), "TargetNotFoundException")
			wantCode(t, aws("ecs", "put-attributes", "--cluster", "nope-"+cli.name, "--attributes", "name=x,value=y,targetId="+arn), "ClusterNotFoundException")

			var ci struct {
				ContainerInstances []struct {
					Attributes []struct{ Name, Value string }
				}
			}
			aws("ecs", "describe-container-instances", "--cluster", cluster, "--container-instances", arn).Must(t).JSON(t, &ci)
			attrs := map[string]string{}
			for _, a := range ci.ContainerInstances[0].Attributes {
				attrs[a.Name] = a.Value
			}
			if attrs["team"] != "blue" || attrs["stack"] != "prod" || attrs["ecs.os-type"] != "linux" {
				t.Errorf("describe-container-instances attributes: %v", attrs)
			}

			var la struct {
				Attributes []struct{ Name, Value, TargetType, TargetId string }
			}
			aws("ecs", "list-attributes", "--cluster", cluster, "--target-type", "container-instance", "--attribute-name", "team").Must(t).JSON(t, &la)
			if len(la.Attributes) != 1 || la.Attributes[0].Value != "blue" || la.Attributes[0].TargetId != arn || la.Attributes[0].TargetType != "container-instance" {
				t.Errorf("list-attributes team: %+v", la.Attributes)
			}
			aws("ecs", "list-attributes", "--cluster", cluster, "--target-type", "container-instance", "--attribute-name", "ecs.os-type", "--attribute-value", "linux").Must(t).JSON(t, &la)
			if len(la.Attributes) != 1 {
				t.Errorf("list-attributes ecs.os-type=linux: %+v", la.Attributes)
			}
			aws("ecs", "list-attributes", "--cluster", cluster, "--target-type", "container-instance", "--attribute-name", "team", "--attribute-value", "red").Must(t).JSON(t, &la)
			if len(la.Attributes) != 0 {
				t.Errorf("list-attributes team=red: %+v", la.Attributes)
			}
			wantCode(t, aws("ecs", "list-attributes", "--cluster", cluster, "--target-type", "container-instance", "--attribute-value", "x"), "InvalidParameterException")

			aws("ecs", "list-container-instances", "--cluster", cluster, "--filter", "attribute:team == blue").Must(t).JSON(t, &insts)
			if len(insts.ContainerInstanceArns) != 1 {
				t.Errorf("filter attribute:team == blue: %v", insts.ContainerInstanceArns)
			}
			aws("ecs", "list-container-instances", "--cluster", cluster, "--filter", "attribute:team == red").Must(t).JSON(t, &insts)
			if len(insts.ContainerInstanceArns) != 0 {
				t.Errorf("filter attribute:team == red: %v", insts.ContainerInstanceArns)
			}

			// memberOf placement sees the custom attribute.
			family := "attrs-" + cli.name
			aws("ecs", "register-task-definition", "--family", family, "--container-definitions",
				`[{"name":"app","image":"busybox","memory":32,"command":["sleep","60"]}]`).Must(t)
			var run struct {
				Tasks    []struct{ ContainerInstanceArn string }
				Failures []struct{ Arn, Reason string }
			}
			aws("ecs", "run-task", "--cluster", cluster, "--task-definition", family, "--launch-type", "EC2",
				"--placement-constraints", "type=memberOf,expression=attribute:team == red").Must(t).JSON(t, &run)
			if len(run.Tasks) != 0 || len(run.Failures) != 1 || run.Failures[0].Reason != "MemberOf placement constraint unsatisfied." {
				t.Errorf("run-task memberOf team == red: %+v", run)
			}
			aws("ecs", "run-task", "--cluster", cluster, "--task-definition", family, "--launch-type", "EC2",
				"--placement-constraints", "type=memberOf,expression=attribute:team == blue").Must(t).JSON(t, &run)
			if len(run.Tasks) != 1 || run.Tasks[0].ContainerInstanceArn != arn {
				t.Errorf("run-task memberOf team == blue: %+v", run)
			}

			// Ten custom attributes fit (ecs.* ones do not count); an
			// eleventh does not.
			args := []string{"ecs", "put-attributes", "--cluster", cluster, "--attributes"}
			for _, n := range []string{"a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8"} {
				args = append(args, "name="+n+",value=v,targetId="+arn)
			}
			aws(args...).Must(t)
			wantCode(t, aws("ecs", "put-attributes", "--cluster", cluster, "--attributes", "name=a9,value=v,targetId="+arn), "AttributeLimitExceededException")
			// Replacing an existing one is not adding.
			aws("ecs", "put-attributes", "--cluster", cluster, "--attributes", "name=team,value=green,targetId="+arn).Must(t)

			aws("ecs", "delete-attributes", "--cluster", cluster, "--attributes", "name=team,targetId="+arn).Must(t)
			aws("ecs", "list-attributes", "--cluster", cluster, "--target-type", "container-instance", "--attribute-name", "team").Must(t).JSON(t, &la)
			if len(la.Attributes) != 0 {
				t.Errorf("list-attributes team after delete: %+v", la.Attributes)
			}
			aws("ecs", "put-attributes", "--cluster", cluster, "--attributes", "name=a9,value=v,targetId="+arn).Must(t)
		})
	}
}

// Capacity providers: the built-in Fargate ones, an Auto Scaling group
// provider created, tagged, updated, associated with a cluster, used by a
// task, refused deletion while associated, then deleted.
func TestECSCapacityProvidersWithAWSCLI(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithEnv("BERTH_AGENT=off"))
	for _, cli := range ecsCLIs {
		t.Run(cli.name, func(t *testing.T) {
			t.Parallel()
			aws := func(args ...string) *harness.Result {
				return cli.run(b, t, append(args, "--region", cli.region)...)
			}
			type provider struct {
				CapacityProviderArn, Name, Status, Type, UpdateStatus, UpdateStatusReason string
				AutoScalingGroupProvider                                                  struct {
					AutoScalingGroupArn, ManagedTerminationProtection, ManagedDraining string
					ManagedScaling                                                     struct {
						Status                                                                               string
						TargetCapacity, MinimumScalingStepSize, MaximumScalingStepSize, InstanceWarmupPeriod int
					}
				}
				Tags []struct{ Key, Value string }
			}
			var desc struct {
				CapacityProviders []provider
				Failures          []struct{ Arn, Reason string }
				NextToken         string
			}
			// Debian's aws CLI v2 (2.9) predates the type and managedDraining
			// fields and drops them from its output.
			newModel := cli.name == "v1"
			aws("ecs", "describe-capacity-providers").Must(t).JSON(t, &desc)
			if newModel && desc.CapacityProviders[1].Type != "FARGATE_SPOT" {
				t.Errorf("FARGATE_SPOT type: %+v", desc.CapacityProviders[1])
			}
			if len(desc.CapacityProviders) != 2 || desc.CapacityProviders[0].Name != "FARGATE" || desc.CapacityProviders[1].Name != "FARGATE_SPOT" ||
				desc.CapacityProviders[0].Status != "ACTIVE" ||
				desc.CapacityProviders[0].CapacityProviderArn != "arn:aws:ecs:"+cli.region+":000000000000:capacity-provider/FARGATE" {
				t.Errorf("describe-capacity-providers with none created: %+v", desc.CapacityProviders)
			}

			name := "asg-" + cli.name
			asg := "arn:aws:autoscaling:" + cli.region + ":000000000000:autoScalingGroup:8a0c6a0e-1b2c-4d5e-8f90-0123456789ab:autoScalingGroupName/" + name
			var created struct{ CapacityProvider provider }
			aws("ecs", "create-capacity-provider", "--name", name, "--auto-scaling-group-provider", "autoScalingGroupArn="+asg,
				"--tags", "key=team,value=infra").Must(t).JSON(t, &created)
			cp := created.CapacityProvider
			ms := cp.AutoScalingGroupProvider.ManagedScaling
			if newModel && (cp.Type != "EC2_AUTOSCALING" || cp.AutoScalingGroupProvider.ManagedDraining != "ENABLED") {
				t.Errorf("create-capacity-provider type and draining: %+v", cp)
			}
			if cp.Status != "ACTIVE" || cp.CapacityProviderArn != "arn:aws:ecs:"+cli.region+":000000000000:capacity-provider/"+name ||
				cp.AutoScalingGroupProvider.AutoScalingGroupArn != asg || cp.AutoScalingGroupProvider.ManagedTerminationProtection != "DISABLED" ||
				ms.Status != "DISABLED" || ms.TargetCapacity != 100 ||
				ms.MinimumScalingStepSize != 1 || ms.MaximumScalingStepSize != 10000 || ms.InstanceWarmupPeriod != 300 {
				t.Errorf("create-capacity-provider: %+v", cp)
			}
			wantCode(t, aws("ecs", "create-capacity-provider", "--name", name, "--auto-scaling-group-provider", "autoScalingGroupArn=other"), "ClientException")
			wantCode(t, aws("ecs", "create-capacity-provider", "--name", "again-"+cli.name, "--auto-scaling-group-provider", "autoScalingGroupArn="+asg), "ClientException")
			wantCode(t, aws("ecs", "create-capacity-provider", "--name", "ecs-mine", "--auto-scaling-group-provider", "autoScalingGroupArn=x"), "InvalidParameterException")
			wantCode(t, aws("ecs", "create-capacity-provider", "--name", "bad-scale-"+cli.name, "--auto-scaling-group-provider",
				"autoScalingGroupArn=bad-scale,managedScaling={status=ENABLED,targetCapacity=101}"), "InvalidParameterException")

			aws("ecs", "describe-capacity-providers", "--capacity-providers", name, "FARGATE", "missing", "--include", "TAGS").Must(t).JSON(t, &desc)
			if len(desc.CapacityProviders) != 2 || desc.CapacityProviders[0].Name != name || len(desc.CapacityProviders[0].Tags) != 1 ||
				len(desc.Failures) != 1 || desc.Failures[0].Reason != "MISSING" {
				t.Errorf("describe-capacity-providers by name with TAGS: %+v", desc)
			}
			aws("ecs", "describe-capacity-providers", "--max-results", "2", "--no-paginate").Must(t).JSON(t, &desc)
			if len(desc.CapacityProviders) != 2 || desc.NextToken == "" {
				t.Errorf("page of 2: %+v", desc)
			}
			var page2 struct {
				CapacityProviders []provider
				NextToken         string
			}
			aws("ecs", "describe-capacity-providers", "--max-results", "2", "--next-token", desc.NextToken).Must(t).JSON(t, &page2)
			if len(page2.CapacityProviders) != 1 || page2.CapacityProviders[0].Name != name || page2.NextToken != "" {
				t.Errorf("second page: %+v", page2)
			}

			aws("ecs", "tag-resource", "--resource-arn", cp.CapacityProviderArn, "--tags", "key=env,value=dev").Must(t)
			var tags struct{ Tags []struct{ Key, Value string } }
			aws("ecs", "list-tags-for-resource", "--resource-arn", cp.CapacityProviderArn).Must(t).JSON(t, &tags)
			if len(tags.Tags) != 2 {
				t.Errorf("list-tags-for-resource: %+v", tags.Tags)
			}

			var updated struct{ CapacityProvider provider }
			aws("ecs", "update-capacity-provider", "--name", name, "--auto-scaling-group-provider",
				"managedScaling={status=ENABLED,targetCapacity=80},managedTerminationProtection=ENABLED").Must(t).JSON(t, &updated)
			u := updated.CapacityProvider
			if u.UpdateStatus != "UPDATE_COMPLETE" || u.AutoScalingGroupProvider.ManagedScaling.TargetCapacity != 80 ||
				u.AutoScalingGroupProvider.ManagedTerminationProtection != "ENABLED" {
				t.Errorf("update-capacity-provider: %+v", u)
			}

			// Clusters take it by name and refuse unknown providers.
			cluster := "cp-" + cli.name
			wantCode(t, aws("ecs", "create-cluster", "--cluster-name", cluster, "--capacity-providers", "nope"), "InvalidParameterException")
			aws("ecs", "create-cluster", "--cluster-name", cluster).Must(t)
			wantCode(t, aws("ecs", "put-cluster-capacity-providers", "--cluster", cluster, "--capacity-providers", name, "FARGATE",
				"--default-capacity-provider-strategy", "capacityProvider="+name+",weight=1", "capacityProvider=FARGATE,weight=1"), "InvalidParameterException")
			var cl struct {
				Cluster struct {
					CapacityProviders               []string
					DefaultCapacityProviderStrategy []struct{ CapacityProvider string }
				}
			}
			aws("ecs", "put-cluster-capacity-providers", "--cluster", cluster, "--capacity-providers", name, "FARGATE",
				"--default-capacity-provider-strategy", "capacityProvider="+name+",weight=1").Must(t).JSON(t, &cl)
			if strings.Join(cl.Cluster.CapacityProviders, ",") != name+",FARGATE" {
				t.Errorf("put-cluster-capacity-providers: %+v", cl.Cluster)
			}
			wantCode(t, aws("ecs", "create-cluster", "--cluster-name", "second-"+cli.name, "--capacity-providers", name), "InvalidParameterException")
			if newModel { // v2 2.9 has no --cluster
				aws("ecs", "describe-capacity-providers", "--cluster", cluster).Must(t).JSON(t, &desc)
				if len(desc.CapacityProviders) != 2 || desc.CapacityProviders[0].Name != name {
					t.Errorf("describe-capacity-providers --cluster: %+v", desc.CapacityProviders)
				}
			}

			// A task of the default strategy runs on the cluster's
			// container instance, naming the provider.
			family := "cp-" + cli.name
			aws("ecs", "register-task-definition", "--family", family, "--container-definitions",
				`[{"name":"app","image":"busybox","memory":32}]`).Must(t)
			var run struct {
				Tasks []struct{ TaskArn, CapacityProviderName, ContainerInstanceArn, LaunchType string }
			}
			aws("ecs", "run-task", "--cluster", cluster, "--task-definition", family).Must(t).JSON(t, &run)
			if len(run.Tasks) != 1 || run.Tasks[0].CapacityProviderName != name || run.Tasks[0].ContainerInstanceArn == "" {
				t.Fatalf("run-task with the provider's default strategy: %+v", run)
			}
			wantCode(t, aws("ecs", "put-cluster-capacity-providers", "--cluster", cluster, "--capacity-providers", "FARGATE",
				"--default-capacity-provider-strategy", "[]"), "ResourceInUseException")

			// Deleting while associated: answered, but DELETE_FAILED.
			var del struct{ CapacityProvider provider }
			aws("ecs", "delete-capacity-provider", "--capacity-provider", name).Must(t).JSON(t, &del)
			if del.CapacityProvider.Status != "ACTIVE" || del.CapacityProvider.UpdateStatus != "DELETE_FAILED" ||
				!strings.Contains(del.CapacityProvider.UpdateStatusReason, "associated with cluster: "+cluster) {
				t.Errorf("delete-capacity-provider while associated: %+v", del.CapacityProvider)
			}
			aws("ecs", "stop-task", "--cluster", cluster, "--task", run.Tasks[0].TaskArn).Must(t)
			wantCode(t, aws("ecs", "delete-capacity-provider", "--capacity-provider", "FARGATE"), "InvalidParameterException")
		})
	}
}

// boto3: the same operations through botocore's Python client, with
// pagination by nextToken and error codes from botocore's exceptions.
func TestECSSettingsAndProvidersWithBoto3(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithEnv("BERTH_AGENT=off"))
	res := b.Python(t, `
import json, boto3, botocore
ecs = boto3.client("ecs")
out = {}
def code(fn, **kw):
    try:
        fn(**kw)
        return "ok"
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]

# Every effective setting, 3 per page.
names, tok = [], None
while True:
    kw = {"effectiveSettings": True, "maxResults": 3}
    if tok: kw["nextToken"] = tok
    r = ecs.list_account_settings(**kw)
    names += [s["name"] for s in r["settings"]]
    tok = r.get("nextToken")
    if not tok: break
out["setting_names"] = names
ecs.put_account_setting(name="awsvpcTrunking", value="enabled")
out["own"] = ecs.list_account_settings(name="awsvpcTrunking")["settings"]
out["bad_value"] = code(ecs.put_account_setting, name="awsvpcTrunking", value="yes")
out["bad_max"] = code(ecs.list_account_settings, maxResults=11)

# Attributes, paged by 5.
arn = ecs.create_cluster(clusterName="py")["cluster"]["clusterArn"]
inst = ecs.list_container_instances(cluster="py")["containerInstanceArns"][0]
ecs.put_attributes(cluster="py", attributes=[{"name": "k%d" % i, "value": "v", "targetId": inst} for i in range(3)])
seen, tok = [], None
while True:
    kw = {"cluster": "py", "targetType": "container-instance", "maxResults": 5}
    if tok: kw["nextToken"] = tok
    r = ecs.list_attributes(**kw)
    seen += [a["name"] for a in r["attributes"]]
    tok = r.get("nextToken")
    if not tok: break
out["attr_total"] = len(seen)
out["attr_unique"] = len(set(seen))
out["attr_custom"] = sorted(n for n in seen if n.startswith("k"))
out["target_missing"] = code(ecs.delete_attributes, cluster="py", attributes=[{"name": "k0", "targetId": inst[:-32] + "0" * 32}])

# Capacity providers through the paginator.
ecs.create_capacity_provider(name="py-asg", autoScalingGroupProvider={"autoScalingGroupArn": "py-asg-group",
    "managedScaling": {"status": "ENABLED", "targetCapacity": 90}})
r = ecs.describe_capacity_providers(include=["TAGS"])
out["providers"] = [(p["name"], p["status"], p.get("type")) for p in r["capacityProviders"]]
d = ecs.delete_capacity_provider(capacityProvider="py-asg")["capacityProvider"]
out["deleted"] = [d["status"], d.get("updateStatus")]
r = ecs.describe_capacity_providers(capacityProviders=["py-asg"])
out["after_delete"] = [(p["name"], p["status"], p.get("updateStatus")) for p in r["capacityProviders"]]
out["listed_after_delete"] = [p["name"] for p in ecs.describe_capacity_providers()["capacityProviders"]]
out["delete_missing"] = code(ecs.delete_capacity_provider, capacityProvider="py-asg")
print(json.dumps(out))
`).Must(t)
	var got struct {
		SettingNames      []string   `json:"setting_names"`
		Own               []any      `json:"own"`
		BadValue          string     `json:"bad_value"`
		BadMax            string     `json:"bad_max"`
		AttrTotal         int        `json:"attr_total"`
		AttrUnique        int        `json:"attr_unique"`
		AttrCustom        []string   `json:"attr_custom"`
		TargetMissing     string     `json:"target_missing"`
		Providers         [][]string `json:"providers"`
		Deleted           []string   `json:"deleted"`
		AfterDelete       [][]string `json:"after_delete"`
		ListedAfterDelete []string   `json:"listed_after_delete"`
		DeleteMissing     string     `json:"delete_missing"`
	}
	res.JSON(t, &got)
	if len(got.SettingNames) < 10 || got.SettingNames[0] != "serviceLongArnFormat" {
		t.Errorf("paged effective settings: %v", got.SettingNames)
	}
	if len(got.Own) != 1 || got.BadValue != "InvalidParameterException" || got.BadMax != "InvalidParameterException" {
		t.Errorf("own %v, bad value %s, bad maxResults %s", got.Own, got.BadValue, got.BadMax)
	}
	if got.AttrTotal != got.AttrUnique || got.AttrTotal < 8 || strings.Join(got.AttrCustom, ",") != "k0,k1,k2" {
		t.Errorf("paged attributes: %d listed, %d unique, custom %v", got.AttrTotal, got.AttrUnique, got.AttrCustom)
	}
	if got.TargetMissing != "TargetNotFoundException" {
		t.Errorf("delete_attributes of a missing target: %s", got.TargetMissing)
	}
	if len(got.Providers) != 3 || got.Providers[2][0] != "py-asg" || got.Providers[2][2] != "EC2_AUTOSCALING" {
		t.Errorf("providers: %v", got.Providers)
	}
	if strings.Join(got.Deleted, ",") != "ACTIVE,DELETE_IN_PROGRESS" ||
		len(got.AfterDelete) != 1 || got.AfterDelete[0][1] != "INACTIVE" || got.AfterDelete[0][2] != "DELETE_COMPLETE" ||
		strings.Join(got.ListedAfterDelete, ",") != "FARGATE,FARGATE_SPOT" || got.DeleteMissing != "ClientException" {
		t.Errorf("delete: %v, then %v, listed %v, again %s", got.Deleted, got.AfterDelete, got.ListedAfterDelete, got.DeleteMissing)
	}
}

// Managed daemons through the aws CLI v1 (Debian's v2 predates them) and
// boto3: a daemon task definition, a Managed Instances capacity provider, a
// daemon created, updated and deleted, with its revisions and deployments.
func TestECSDaemonsWithAWSCLIAndBoto3(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithEnv("BERTH_AGENT=off"))
	aws := func(args ...string) *harness.Result { return b.AWS(t, args...) }
	aws("ecs", "create-cluster", "--cluster-name", "daemons").Must(t)
	var cp struct {
		CapacityProvider struct{ CapacityProviderArn, Cluster, Type string }
	}
	aws("ecs", "create-capacity-provider", "--name", "mi", "--cluster", "daemons", "--managed-instances-provider",
		`{"infrastructureRoleArn":"arn:aws:iam::000000000000:role/ecsInfra","instanceLaunchTemplate":{"ec2InstanceProfileArn":"arn:aws:iam::000000000000:instance-profile/ecsInstance","networkConfiguration":{"subnets":["subnet-1"]}}}`).Must(t).JSON(t, &cp)
	if cp.CapacityProvider.Cluster != "daemons" || cp.CapacityProvider.Type != "MANAGED_INSTANCES" {
		t.Errorf("managed instances provider: %+v", cp.CapacityProvider)
	}
	wantCode(t, aws("ecs", "delete-cluster", "--cluster", "daemons"), "ClusterContainsCapacityProviderException")

	var reg struct{ DaemonTaskDefinitionArn string }
	aws("ecs", "register-daemon-task-definition", "--family", "monitor", "--container-definitions",
		`[{"name":"agent","image":"public.ecr.aws/docker/library/busybox:1","memory":64}]`).Must(t).JSON(t, &reg)
	if reg.DaemonTaskDefinitionArn != "arn:aws:ecs:us-east-1:000000000000:daemon-task-definition/monitor:1" {
		t.Errorf("register-daemon-task-definition: %s", reg.DaemonTaskDefinitionArn)
	}
	wantCode(t, aws("ecs", "register-daemon-task-definition", "--family", "monitor", "--container-definitions", `[{"name":"agent","image":""}]`), "ClientException")
	var td struct {
		DaemonTaskDefinition struct {
			Family, Status, RegisteredBy string
			Revision                     int
			ContainerDefinitions         []struct {
				Name      string
				Essential bool
			}
		}
	}
	aws("ecs", "describe-daemon-task-definition", "--daemon-task-definition", "monitor").Must(t).JSON(t, &td)
	if d := td.DaemonTaskDefinition; d.Revision != 1 || d.Status != "ACTIVE" || !d.ContainerDefinitions[0].Essential || d.RegisteredBy == "" {
		t.Errorf("describe-daemon-task-definition: %+v", d)
	}

	var created struct{ DaemonArn, Status, DeploymentArn string }
	aws("ecs", "create-daemon", "--daemon-name", "monitor", "--cluster-arn", "daemons", "--daemon-task-definition-arn", reg.DaemonTaskDefinitionArn,
		"--capacity-provider-arns", cp.CapacityProvider.CapacityProviderArn, "--propagate-tags", "DAEMON").Must(t).JSON(t, &created)
	if created.DaemonArn != "arn:aws:ecs:us-east-1:000000000000:daemon/daemons/monitor" || created.Status != "ACTIVE" || created.DeploymentArn == "" {
		t.Errorf("create-daemon: %+v", created)
	}
	wantCode(t, aws("ecs", "create-daemon", "--daemon-name", "monitor", "--cluster-arn", "daemons", "--daemon-task-definition-arn", reg.DaemonTaskDefinitionArn,
		"--capacity-provider-arns", cp.CapacityProvider.CapacityProviderArn), "InvalidParameterException")
	wantCode(t, aws("ecs", "create-daemon", "--daemon-name", "other", "--cluster-arn", "daemons", "--daemon-task-definition-arn", reg.DaemonTaskDefinitionArn,
		"--capacity-provider-arns", "FARGATE"), "UnsupportedFeatureException")

	res := b.Python(t, `
import json, sys, boto3, botocore
ecs = boto3.client("ecs")
daemon, first, provider = sys.argv[1], sys.argv[2], sys.argv[3]
out = {}
td2 = ecs.register_daemon_task_definition(family="monitor",
    containerDefinitions=[{"name": "agent", "image": "public.ecr.aws/docker/library/busybox:2", "memory": 64}])["daemonTaskDefinitionArn"]
up = ecs.update_daemon(daemonArn=daemon, daemonTaskDefinitionArn=td2, capacityProviderArns=[provider], enableExecuteCommand=True)
d = ecs.describe_daemon(daemonArn=daemon)["daemon"]
out["status"] = d["status"]
out["current"] = [r["arn"] for r in d["currentRevisions"]]
out["running"] = [r["totalRunningCount"] for r in d["currentRevisions"]]
deps = ecs.list_daemon_deployments(daemonArn=daemon)["daemonDeployments"]
out["deployments"] = [(x["daemonDeploymentArn"], x["status"]) for x in deps]
dd = ecs.describe_daemon_deployments(daemonDeploymentArns=[up["deploymentArn"]])["daemonDeployments"][0]
out["target"] = dd["targetDaemonRevision"]["arn"]
out["sources"] = [r["arn"] for r in dd["sourceDaemonRevisions"]]
revs = ecs.describe_daemon_revisions(daemonRevisionArns=[out["target"]] + out["sources"])["daemonRevisions"]
out["revisions"] = [(r["daemonTaskDefinitionArn"], r["enableExecuteCommand"], r.get("propagateTags"), r["containerImages"][0]["image"]) for r in revs]
out["listed"] = [x["daemonArn"] for x in ecs.list_daemons(clusterArn="daemons")["daemonSummariesList"]]
out["tds"] = [x["arn"] for x in ecs.list_daemon_task_definitions(family="monitor", revision="LAST_REGISTERED")["daemonTaskDefinitions"]]
try:
    ecs.delete_capacity_provider(capacityProvider="mi", cluster="daemons")
    out["cp_delete"] = "ok"
except botocore.exceptions.ClientError as e:
    out["cp_delete"] = e.response["Error"]["Code"]
dl = ecs.delete_daemon(daemonArn=daemon)
out["deleted"] = dl["status"]
try:
    ecs.delete_daemon(daemonArn=daemon)
    out["delete_again"] = "ok"
except botocore.exceptions.ClientError as e:
    out["delete_again"] = e.response["Error"]["Code"]
out["last_deployment"] = [x["status"] for x in ecs.list_daemon_deployments(daemonArn=daemon)["daemonDeployments"]][:1]
ecs.delete_daemon_task_definition(daemonTaskDefinition=first)
out["first_status"] = ecs.describe_daemon_task_definition(daemonTaskDefinition=first)["daemonTaskDefinition"]["status"]
print(json.dumps(out))
`, created.DaemonArn, reg.DaemonTaskDefinitionArn, cp.CapacityProvider.CapacityProviderArn).Must(t)
	var got struct {
		Status         string     `json:"status"`
		Current        []string   `json:"current"`
		Running        []int      `json:"running"`
		Deployments    [][]string `json:"deployments"`
		Target         string     `json:"target"`
		Sources        []string   `json:"sources"`
		Revisions      [][]any    `json:"revisions"`
		Listed         []string   `json:"listed"`
		TDs            []string   `json:"tds"`
		CPDelete       string     `json:"cp_delete"`
		Deleted        string     `json:"deleted"`
		DeleteAgain    string     `json:"delete_again"`
		LastDeployment []string   `json:"last_deployment"`
		FirstStatus    string     `json:"first_status"`
	}
	res.JSON(t, &got)
	if got.Status != "ACTIVE" || len(got.Current) != 1 || got.Current[0] != got.Target || len(got.Running) != 1 || got.Running[0] != 0 {
		t.Errorf("describe-daemon after update: status %s, current %v (target %s), running %v", got.Status, got.Current, got.Target, got.Running)
	}
	if len(got.Deployments) != 2 || got.Deployments[0][1] != "SUCCESSFUL" || got.Deployments[1][0] != created.DeploymentArn {
		t.Errorf("deployments, newest first: %v", got.Deployments)
	}
	if len(got.Sources) != 1 || len(got.Revisions) != 2 ||
		got.Revisions[0][0] != "arn:aws:ecs:us-east-1:000000000000:daemon-task-definition/monitor:2" || got.Revisions[0][1] != true ||
		got.Revisions[0][2] != "DAEMON" || got.Revisions[1][0] != reg.DaemonTaskDefinitionArn || got.Revisions[1][1] != false {
		t.Errorf("revisions: %v (sources %v)", got.Revisions, got.Sources)
	}
	if len(got.Listed) != 1 || got.Listed[0] != created.DaemonArn || len(got.TDs) != 1 || !strings.HasSuffix(got.TDs[0], "monitor:2") {
		t.Errorf("list-daemons %v, LAST_REGISTERED %v", got.Listed, got.TDs)
	}
	if got.CPDelete != "ClientException" || got.Deleted != "DELETE_IN_PROGRESS" || got.DeleteAgain != "DaemonNotActiveException" ||
		len(got.LastDeployment) != 1 || got.LastDeployment[0] != "SUCCESSFUL" || got.FirstStatus != "DELETED" {
		t.Errorf("capacity provider delete %s, daemon delete %s, again %s, last deployment %v, monitor:1 %s",
			got.CPDelete, got.Deleted, got.DeleteAgain, got.LastDeployment, got.FirstStatus)
	}
	// With the daemon gone, the provider and then the cluster can go.
	aws("ecs", "delete-capacity-provider", "--capacity-provider", "mi", "--cluster", "daemons").Must(t)
	aws("ecs", "delete-cluster", "--cluster", "daemons").Must(t)
}

// Terraform's hashicorp/aws provider: an account setting default, an Auto
// Scaling group capacity provider and a cluster using it, applied without
// drift and destroyed (which waits for the provider to become INACTIVE).
func TestECSCapacityProviderTerraform(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithEnv("BERTH_AGENT=off"))
	tf := startTerraform(t, b, `
resource "aws_ecs_account_setting_default" "insights" {
  name  = "containerInsights"
  value = "enhanced"
}

resource "aws_ecs_capacity_provider" "asg" {
  name = "tf-asg"
  auto_scaling_group_provider {
    auto_scaling_group_arn         = "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:0b5c4a3e-1111-2222-3333-444455556666:autoScalingGroupName/tf-asg"
    managed_termination_protection = "DISABLED"
    managed_scaling {
      status          = "ENABLED"
      target_capacity = 75
    }
  }
  tags = { team = "infra" }
}

resource "aws_ecs_cluster" "c" {
  name       = "tf-cp"
  depends_on = [aws_ecs_account_setting_default.insights]
}

resource "aws_ecs_cluster_capacity_providers" "c" {
  cluster_name       = aws_ecs_cluster.c.name
  capacity_providers = [aws_ecs_capacity_provider.asg.name]
  default_capacity_provider_strategy {
    capacity_provider = aws_ecs_capacity_provider.asg.name
    weight            = 1
  }
}

output "insights" {
  value = one([for s in aws_ecs_cluster.c.setting : s.value if s.name == "containerInsights"])
}
`)
	tf.Apply(t)
	tf.NoDrift(t)
	if got := tf.Output(t, "insights"); got != "enhanced" {
		t.Errorf("cluster containerInsights = %q, want the account default enhanced", got)
	}
	var desc struct {
		CapacityProviders []struct {
			Name, Status             string
			AutoScalingGroupProvider struct {
				ManagedScaling struct{ TargetCapacity int }
			}
		}
	}
	b.AWS(t, "ecs", "describe-capacity-providers", "--capacity-providers", "tf-asg").Must(t).JSON(t, &desc)
	if len(desc.CapacityProviders) != 1 || desc.CapacityProviders[0].AutoScalingGroupProvider.ManagedScaling.TargetCapacity != 75 {
		t.Errorf("capacity provider after apply: %+v", desc.CapacityProviders)
	}
	tf.Destroy(t)
	b.AWS(t, "ecs", "describe-capacity-providers", "--capacity-providers", "tf-asg").Must(t).JSON(t, &desc)
	if len(desc.CapacityProviders) != 1 || desc.CapacityProviders[0].Status != "INACTIVE" {
		t.Errorf("capacity provider after destroy: %+v", desc.CapacityProviders)
	}
}
