package e2e

import (
	"strings"
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

// aasCompatScript registers scalable targets of namespaces other than ECS,
// which Berth stores (AWS validates their resource IDs per dimension) but
// does not scale, through boto3.
const aasCompatScript = `
import json, boto3, botocore
aas = boto3.client("application-autoscaling")
out = {}

def code(f):
    try:
        f()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
    return None

targets = [
    ("dynamodb", "table/orders", "dynamodb:table:ReadCapacityUnits"),
    ("dynamodb", "table/orders/index/by-day", "dynamodb:index:WriteCapacityUnits"),
    ("lambda", "function:resize:prod", "lambda:function:ProvisionedConcurrency"),
    ("ec2", "spot-fleet-request/sfr-73fbd2ce-aa30-494c-8788-1cee4EXAMPLE", "ec2:spot-fleet-request:TargetCapacity"),
]
for ns, rid, dim in targets:
    aas.register_scalable_target(ServiceNamespace=ns, ResourceId=rid, ScalableDimension=dim, MinCapacity=1, MaxCapacity=8)
ddb = aas.describe_scalable_targets(ServiceNamespace="dynamodb")["ScalableTargets"]
out["dynamodb"] = sorted(t["ResourceId"] + " " + t["ScalableDimension"] for t in ddb)
out["dynamodb_role"] = ddb[0]["RoleARN"]
out["ecs_count"] = len(aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"])
out["lambda"] = [(t["ResourceId"], t["MinCapacity"], t["MaxCapacity"]) for t in aas.describe_scalable_targets(ServiceNamespace="lambda")["ScalableTargets"]]

out["bad_resource"] = code(lambda: aas.register_scalable_target(ServiceNamespace="dynamodb", ResourceId="orders",
    ScalableDimension="dynamodb:table:ReadCapacityUnits", MinCapacity=1, MaxCapacity=2))
out["index_as_table"] = code(lambda: aas.register_scalable_target(ServiceNamespace="dynamodb", ResourceId="table/orders/index/by-day",
    ScalableDimension="dynamodb:table:ReadCapacityUnits", MinCapacity=1, MaxCapacity=2))
out["foreign_dimension"] = code(lambda: aas.register_scalable_target(ServiceNamespace="rds", ResourceId="cluster:db",
    ScalableDimension="dynamodb:table:ReadCapacityUnits", MinCapacity=1, MaxCapacity=2))
out["ecs_format"] = code(lambda: aas.register_scalable_target(ServiceNamespace="ecs", ResourceId="table/orders",
    ScalableDimension="ecs:service:DesiredCount", MinCapacity=1, MaxCapacity=2))

pol = aas.put_scaling_policy(PolicyName="reads", ServiceNamespace="dynamodb", ResourceId="table/orders",
    ScalableDimension="dynamodb:table:ReadCapacityUnits", PolicyType="TargetTrackingScaling",
    TargetTrackingScalingPolicyConfiguration={"TargetValue": 70.0,
        "PredefinedMetricSpecification": {"PredefinedMetricType": "DynamoDBReadCapacityUtilization"}})
out["policy_arn"] = pol["PolicyARN"]
out["policies"] = [p["PolicyName"] for p in aas.describe_scaling_policies(ServiceNamespace="dynamodb")["ScalingPolicies"]]
aas.put_scheduled_action(ServiceNamespace="dynamodb", ScheduledActionName="night", ResourceId="table/orders",
    ScalableDimension="dynamodb:table:ReadCapacityUnits", Schedule="cron(0 22 * * ? *)",
    ScalableTargetAction={"MinCapacity": 1, "MaxCapacity": 2})
out["actions"] = [a["ScheduledActionName"] for a in aas.describe_scheduled_actions(ServiceNamespace="dynamodb")["ScheduledActions"]]

aas.deregister_scalable_target(ServiceNamespace="dynamodb", ResourceId="table/orders", ScalableDimension="dynamodb:table:ReadCapacityUnits")
out["after_deregister"] = {
    "targets": len(aas.describe_scalable_targets(ServiceNamespace="dynamodb")["ScalableTargets"]),
    "policies": len(aas.describe_scaling_policies(ServiceNamespace="dynamodb")["ScalingPolicies"]),
    "actions": len(aas.describe_scheduled_actions(ServiceNamespace="dynamodb")["ScheduledActions"]),
}
out["deregister_again"] = code(lambda: aas.deregister_scalable_target(ServiceNamespace="dynamodb", ResourceId="table/orders",
    ScalableDimension="dynamodb:table:ReadCapacityUnits"))
print(json.dumps(out))
`

// TestAppAutoScalingCompatOtherNamespaces covers what running moto's
// Application Auto Scaling suite against Berth found: targets of the other
// namespaces (DynamoDB, Lambda, Spot Fleet, …) are validated per dimension
// and stored with their policies and scheduled actions, as on AWS, though
// Berth only scales ECS services.
func TestAppAutoScalingCompatOtherNamespaces(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	var got struct {
		DynamoDB         []string `json:"dynamodb"`
		DynamoDBRole     string   `json:"dynamodb_role"`
		ECSCount         int      `json:"ecs_count"`
		Lambda           [][]any  `json:"lambda"`
		BadResource      *string  `json:"bad_resource"`
		IndexAsTable     *string  `json:"index_as_table"`
		ForeignDimension *string  `json:"foreign_dimension"`
		ECSFormat        *string  `json:"ecs_format"`
		PolicyARN        string   `json:"policy_arn"`
		Policies         []string
		Actions          []string
		AfterDeregister  map[string]int `json:"after_deregister"`
		DeregisterAgain  *string        `json:"deregister_again"`
	}
	b.Python(t, aasCompatScript).Must(t).JSON(t, &got)

	if strings.Join(got.DynamoDB, ",") != "table/orders dynamodb:table:ReadCapacityUnits,table/orders/index/by-day dynamodb:index:WriteCapacityUnits" {
		t.Errorf("DynamoDB targets: %v", got.DynamoDB)
	}
	if !strings.HasSuffix(got.DynamoDBRole, ":role/aws-service-role/dynamodb.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_DynamoDBTable") {
		t.Errorf("DynamoDB target's default RoleARN: %q", got.DynamoDBRole)
	}
	if got.ECSCount != 0 || len(got.Lambda) != 1 || got.Lambda[0][0] != "function:resize:prod" || got.Lambda[0][1] != 1.0 || got.Lambda[0][2] != 8.0 {
		t.Errorf("targets by namespace: ecs %d, lambda %v", got.ECSCount, got.Lambda)
	}
	for name, c := range map[string]*string{"bad_resource": got.BadResource, "index_as_table": got.IndexAsTable,
		"foreign_dimension": got.ForeignDimension, "ecs_format": got.ECSFormat} {
		if c == nil || *c != "ValidationException" {
			t.Errorf("%s: %v, want ValidationException", name, c)
		}
	}
	if !strings.Contains(got.PolicyARN, ":resource/dynamodb/table/orders:policyName/reads") ||
		strings.Join(got.Policies, ",") != "reads" || strings.Join(got.Actions, ",") != "night" {
		t.Errorf("policy %q, policies %v, scheduled actions %v", got.PolicyARN, got.Policies, got.Actions)
	}
	if a := got.AfterDeregister; a["targets"] != 1 || a["policies"] != 0 || a["actions"] != 0 {
		t.Errorf("after deregistering table/orders: %v, want its policy and action gone with it", a)
	}
	if got.DeregisterAgain == nil || *got.DeregisterAgain != "ObjectNotFoundException" {
		t.Errorf("deregistering again: %v, want ObjectNotFoundException", got.DeregisterAgain)
	}
}
