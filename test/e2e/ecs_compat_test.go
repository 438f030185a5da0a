package e2e

import (
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

// ecsCompatScript drives the corners of ECS's API where Berth once differed
// from AWS, through boto3 as Python tooling calls them.
const ecsCompatScript = `
import json, boto3, botocore
ecs = boto3.client("ecs")
out = {}

def err(f):
    try:
        f()
    except botocore.exceptions.ClientError as e:
        return {"code": e.response["Error"]["Code"], "message": e.response["Error"]["Message"]}
    return None

cd = [{"name": "app", "image": "compat-app:latest", "memory": 64}]
for fam in ["web", "web", "web_worker", "web-api"]:
    ecs.register_task_definition(family=fam, containerDefinitions=cd)
out["listWeb"] = ecs.list_task_definitions(familyPrefix="web")["taskDefinitionArns"]
out["listWe"] = ecs.list_task_definitions(familyPrefix="we")["taskDefinitionArns"]
out["families"] = ecs.list_task_definition_families(familyPrefix="web")["families"]
out["portMappings"] = ecs.describe_task_definition(taskDefinition="web")["taskDefinition"]["containerDefinitions"][0].get("portMappings")

ecs.create_cluster(clusterName="compat")
run = ecs.run_task(cluster="compat", taskDefinition="web", startedBy="compat")
out["runKeys"] = sorted(k for k in run if k != "ResponseMetadata")
out["runFailures"] = run.get("failures")
for t in run["tasks"]:
    ecs.stop_task(cluster="compat", task=t["taskArn"])
out["emptyTasks"] = err(lambda: ecs.describe_tasks(cluster="compat", tasks=[]))
out["emptyInstances"] = err(lambda: ecs.describe_container_instances(cluster="compat", containerInstances=[]))
out["servicePlatformEC2"] = err(lambda: ecs.create_service(cluster="compat", serviceName="s", taskDefinition="web",
                                                           desiredCount=0, launchType="EC2", platformVersion="LATEST"))
out["services"] = ecs.list_services(cluster="compat")["serviceArns"]
out["runPlatformEC2"] = err(lambda: ecs.run_task(cluster="compat", taskDefinition="web", launchType="EC2", platformVersion="1.4.0"))
print(json.dumps(out))
`

type ecsCompatErr struct{ Code, Message string }

// TestECSCompatListFamilyEmptyListsPlatformVersion checks, with boto3:
// ListTaskDefinitions' familyPrefix is a whole family name (while
// ListTaskDefinitionFamilies' is a real prefix); container definitions come
// back with portMappings [] when none were given; RunTask always answers
// both tasks and failures; DescribeTasks and DescribeContainerInstances
// refuse empty lists with AWS's messages; and a platform version with the EC2
// launch type is refused by CreateService and RunTask.
func TestECSCompatListFamilyEmptyListsPlatformVersion(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	var got struct {
		ListWeb, ListWe, Families, RunKeys, Services []string
		PortMappings                                 []any
		RunFailures                                  []any
		EmptyTasks, EmptyInstances                   *ecsCompatErr
		ServicePlatformEC2, RunPlatformEC2           *ecsCompatErr
	}
	b.Python(t, ecsCompatScript).Must(t).JSON(t, &got)

	const tdARN = "arn:aws:ecs:us-east-1:000000000000:task-definition/"
	if len(got.ListWeb) != 2 || got.ListWeb[0] != tdARN+"web:1" || got.ListWeb[1] != tdARN+"web:2" {
		t.Errorf("list_task_definitions(familyPrefix=web) = %v, want web:1 and web:2 only", got.ListWeb)
	}
	if len(got.ListWe) != 0 {
		t.Errorf("list_task_definitions(familyPrefix=we) = %v, want none (no family is named we)", got.ListWe)
	}
	if len(got.Families) != 3 {
		t.Errorf("list_task_definition_families(familyPrefix=web) = %v, want web, web-api, web_worker", got.Families)
	}
	if got.PortMappings == nil || len(got.PortMappings) != 0 {
		t.Errorf("portMappings of a container without ports = %v, want []", got.PortMappings)
	}
	if len(got.RunKeys) != 2 || got.RunKeys[0] != "failures" || got.RunKeys[1] != "tasks" || got.RunFailures == nil || len(got.RunFailures) != 0 {
		t.Errorf("run_task answered keys %v, failures %v; want failures [] and tasks", got.RunKeys, got.RunFailures)
	}
	if e := got.EmptyTasks; e == nil || e.Code != "InvalidParameterException" || e.Message != "Tasks cannot be empty." {
		t.Errorf("describe_tasks(tasks=[]) = %+v, want InvalidParameterException 'Tasks cannot be empty.'", e)
	}
	if e := got.EmptyInstances; e == nil || e.Code != "InvalidParameterException" || e.Message != "Container instance cannot be empty." {
		t.Errorf("describe_container_instances([]) = %+v, want InvalidParameterException 'Container instance cannot be empty.'", e)
	}
	const pvMsg = "The platform version must be null when specifying an EC2 launch type."
	if e := got.ServicePlatformEC2; e == nil || e.Code != "InvalidParameterException" || e.Message != pvMsg {
		t.Errorf("create_service(launchType=EC2, platformVersion) = %+v, want InvalidParameterException %q", e, pvMsg)
	}
	if len(got.Services) != 0 {
		t.Errorf("the refused service exists: %v", got.Services)
	}
	if e := got.RunPlatformEC2; e == nil || e.Code != "InvalidParameterException" || e.Message != pvMsg {
		t.Errorf("run_task(launchType=EC2, platformVersion) = %+v, want InvalidParameterException %q", e, pvMsg)
	}
}
