package appautoscaling

import (
	"regexp"
	"strings"

	aasapi "github.com/berth-dev/berth/api/applicationautoscaling"
)

// Berth scales ECS services only, but Application Auto Scaling serves many
// services: targets, policies and scheduled actions of the other namespaces
// are validated as AWS validates them and stored, so that tools managing
// them (Terraform, CloudFormation-like scripts, test suites) work, while
// nothing acts on them (Berth runs no DynamoDB table, Lambda alias, …).

// otherResource is the resource ID format of each non-ECS scalable
// dimension, from RegisterScalableTarget's ResourceId documentation.
var otherResource = map[aasapi.ScalableDimension]*regexp.Regexp{
	aasapi.ScalableDimensionEc2SpotFleetRequestTargetCapacity:                         regexp.MustCompile(`^spot-fleet-request/[^/]+$`),
	aasapi.ScalableDimensionElasticmapreduceInstancegroupInstanceCount:                regexp.MustCompile(`^instancegroup/[^/]+/[^/]+$`),
	aasapi.ScalableDimensionAppstreamFleetDesiredCapacity:                             regexp.MustCompile(`^fleet/[^/]+$`),
	aasapi.ScalableDimensionDynamodbTableReadCapacityUnits:                            regexp.MustCompile(`^table/[^/]+$`),
	aasapi.ScalableDimensionDynamodbTableWriteCapacityUnits:                           regexp.MustCompile(`^table/[^/]+$`),
	aasapi.ScalableDimensionDynamodbIndexReadCapacityUnits:                            regexp.MustCompile(`^table/[^/]+/index/[^/]+$`),
	aasapi.ScalableDimensionDynamodbIndexWriteCapacityUnits:                           regexp.MustCompile(`^table/[^/]+/index/[^/]+$`),
	aasapi.ScalableDimensionRdsClusterReadReplicaCount:                                regexp.MustCompile(`^cluster:[^:/]+$`),
	aasapi.ScalableDimensionSagemakerVariantDesiredInstanceCount:                      regexp.MustCompile(`^endpoint/[^/]+/variant/[^/]+$`),
	aasapi.ScalableDimensionSagemakerVariantDesiredProvisionedConcurrency:             regexp.MustCompile(`^endpoint/[^/]+/variant/[^/]+$`),
	aasapi.ScalableDimensionSagemakerInferenceComponentDesiredCopyCount:               regexp.MustCompile(`^inference-component/[^/]+$`),
	aasapi.ScalableDimensionCustomResourceResourceTypeProperty:                        regexp.MustCompile(`^.+$`),
	aasapi.ScalableDimensionComprehendDocumentClassifierEndpointDesiredInferenceUnits: regexp.MustCompile(`^arn:aws[a-z-]*:comprehend:[^:]+:\d{12}:document-classifier-endpoint/.+$`),
	aasapi.ScalableDimensionComprehendEntityRecognizerEndpointDesiredInferenceUnits:   regexp.MustCompile(`^arn:aws[a-z-]*:comprehend:[^:]+:\d{12}:entity-recognizer-endpoint/.+$`),
	aasapi.ScalableDimensionLambdaFunctionProvisionedConcurrency:                      regexp.MustCompile(`^function:[^:]+:[^:]+$`),
	aasapi.ScalableDimensionCassandraTableReadCapacityUnits:                           regexp.MustCompile(`^keyspace/[^/]+/table/[^/]+$`),
	aasapi.ScalableDimensionCassandraTableWriteCapacityUnits:                          regexp.MustCompile(`^keyspace/[^/]+/table/[^/]+$`),
	aasapi.ScalableDimensionKafkaBrokerStorageVolumeSize:                              regexp.MustCompile(`^arn:aws[a-z-]*:kafka:[^:]+:\d{12}:cluster/.+$`),
	aasapi.ScalableDimensionElasticacheCacheClusterNodes:                              regexp.MustCompile(`^cache-cluster/[^/]+$`),
	aasapi.ScalableDimensionElasticacheReplicationGroupNodeGroups:                     regexp.MustCompile(`^replication-group/[^/]+$`),
	aasapi.ScalableDimensionElasticacheReplicationGroupReplicas:                       regexp.MustCompile(`^replication-group/[^/]+$`),
	aasapi.ScalableDimensionNeptuneClusterReadReplicaCount:                            regexp.MustCompile(`^cluster:[^:/]+$`),
	aasapi.ScalableDimensionWorkspacesWorkspacespoolDesiredUserSessions:               regexp.MustCompile(`^workspacespool/[^/]+$`),
}

// dimensionNamespace is the namespace a dimension belongs to: its first
// field, except Spot Fleet's, whose dimensions start with ec2.
func dimensionNamespace(d aasapi.ScalableDimension) aasapi.ServiceNamespace {
	ns, _, _ := strings.Cut(string(d), ":")
	return aasapi.ServiceNamespace(ns)
}

// checkOtherTarget validates a non-ECS namespace/dimension/resource triple.
func checkOtherTarget(namespace aasapi.ServiceNamespace, dimension *aasapi.ScalableDimension, resourceID string) error {
	if dimension == nil {
		return nil
	}
	re, known := otherResource[*dimension]
	if !known || dimensionNamespace(*dimension) != namespace {
		return aasapi.NewValidationException("Unsupported service namespace, resource type or scalable dimension: scalable dimension %s does not belong to service namespace %s.", *dimension, namespace)
	}
	if resourceID != "" && !re.MatchString(resourceID) {
		return aasapi.NewValidationException("Unsupported service namespace, resource type or scalable dimension: resource ID %s is not a resource of scalable dimension %s.", resourceID, *dimension)
	}
	return nil
}

// serviceLinkedRole is the role AWS's RoleARN defaults to per namespace
// (the service-linked role ARN reference of the user guide). EMR has no
// service-linked role: its clusters name EMR's default auto scaling role.
func serviceLinkedRole(account string, ns aasapi.ServiceNamespace) string {
	if ns == aasapi.ServiceNamespaceElasticmapreduce {
		return "arn:aws:iam::" + account + ":role/EMR_AutoScaling_DefaultRole"
	}
	name := map[aasapi.ServiceNamespace]string{
		aasapi.ServiceNamespaceEcs:            "ECSService",
		aasapi.ServiceNamespaceEc2:            "EC2SpotFleetRequest",
		aasapi.ServiceNamespaceAppstream:      "AppStreamFleet",
		aasapi.ServiceNamespaceDynamodb:       "DynamoDBTable",
		aasapi.ServiceNamespaceRds:            "RDSCluster",
		aasapi.ServiceNamespaceSagemaker:      "SageMakerEndpoint",
		aasapi.ServiceNamespaceCustomResource: "CustomResource",
		aasapi.ServiceNamespaceComprehend:     "ComprehendEndpoint",
		aasapi.ServiceNamespaceLambda:         "LambdaConcurrency",
		aasapi.ServiceNamespaceCassandra:      "CassandraTable",
		aasapi.ServiceNamespaceKafka:          "KafkaCluster",
		aasapi.ServiceNamespaceElasticache:    "ElastiCacheRG",
		aasapi.ServiceNamespaceNeptune:        "NeptuneCluster",
		aasapi.ServiceNamespaceWorkspaces:     "WorkSpacesPool",
	}[ns]
	if name == "" {
		return ""
	}
	return "arn:aws:iam::" + account + ":role/aws-service-role/" + string(ns) + ".application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_" + name
}

// scaledByBerth says whether Berth's controller acts on a target.
func scaledByBerth(namespace string) bool { return namespace == string(aasapi.ServiceNamespaceEcs) }
