package check_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/berth-dev/berth/api/ecr"
	"github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/api/eks"
	"github.com/berth-dev/berth/api/iam"
	"github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/api/secretsmanager"
	"github.com/berth-dev/berth/api/ssm"
	"github.com/berth-dev/berth/awsapi"
)

// services maps a package to its Service interface, whose methods name
// the operations and their input types.
var services = map[string]reflect.Type{
	"ecr": reflect.TypeFor[ecr.Service](), "ecs": reflect.TypeFor[ecs.Service](), "eks": reflect.TypeFor[eks.Service](),
	"iam": reflect.TypeFor[iam.Service](), "logs": reflect.TypeFor[logs.Service](), "secretsmanager": reflect.TypeFor[secretsmanager.Service](),
	"ssm": reflect.TypeFor[ssm.Service](),
}

// regressionCases are requests and the errors the generated validators
// returned for them when each check was still written out by hand, one
// function a shape: the table-driven validators must word, order and
// count violations the same. <c*N> stands for N copies of c.
var regressionCases = []struct{ service, op, in, want string }{
	{"ecs", "RegisterTaskDefinition",
		`{}`,
		"400 InvalidParameterException: 2 validation errors detected: Value null at 'family' failed to satisfy constraint: Member must not be null; Value null at 'containerDefinitions' failed to satisfy constraint: Member must not be null"},
	{"ecs", "RegisterTaskDefinition",
		`{"family":"web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE","MARS"],"containerDefinitions":[{"name":"a","image":"nginx","portMappings":[{"containerPort":80,"protocol":"tcp"},{"containerPort":81,"protocol":"sctp"}],"dependsOn":[{"containerName":"b"}]},{"name":"b","secrets":[{"name":"S"}],"logConfiguration":{"logDriver":"bogus","options":{"k":"v"}}}],"tags":[{"key":"<x*300>","value":"v"},{"value":"no key"}],"runtimePlatform":{"cpuArchitecture":"SPARC"}}`,
		"400 InvalidParameterException: 7 validation errors detected: Value 'sctp' at 'containerDefinitions.1.member.portMappings.2.member.protocol' failed to satisfy constraint: Member must satisfy enum value set: [tcp, udp]; Value null at 'containerDefinitions.1.member.dependsOn.1.member.condition' failed to satisfy constraint: Member must not be null; Value null at 'containerDefinitions.2.member.secrets.1.member.valueFrom' failed to satisfy constraint: Member must not be null; Value 'bogus' at 'containerDefinitions.2.member.logConfiguration.logDriver' failed to satisfy constraint: Member must satisfy enum value set: [json-file, syslog, journald, gelf, fluentd, awslogs, splunk, awsfirelens]; Value '[FARGATE, MARS]' at 'requiresCompatibilities' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES]]; Value '<x*300>' at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128; Value 'SPARC' at 'runtimePlatform.cpuArchitecture' failed to satisfy constraint: Member must satisfy enum value set: [X86_64, ARM64]"},
	{"ecs", "CreateService",
		`{"serviceName":"s","desiredCount":1,"launchType":"MOON","deploymentConfiguration":{"maximumPercent":200},"loadBalancers":[{"targetGroupArn":"arn"}],"tags":[{"key":"","value":"v"}]}`,
		"400 InvalidParameterException: 2 validation errors detected: Value 'MOON' at 'launchType' failed to satisfy constraint: Member must satisfy enum value set: [EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES]; Value '' at 'tags.1.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1"},
	{"ecs", "ListClusters",
		`{"maxResults":0}`,
		""},
	{"ecr", "CreateRepository",
		`{"repositoryName":"Foo"}`,
		"400 InvalidParameterException: Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(\\/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*''"},
	{"ecr", "BatchGetImage",
		`{"repositoryName":"repo","imageIds":[]}`,
		"400 InvalidParameterException: Invalid parameter at 'imageIds' failed to satisfy constraint: 'Member must have length greater than or equal to 1'"},
	{"ecr", "PutLifecyclePolicy",
		`{"repositoryName":"r"}`,
		"400 InvalidParameterException: Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must have length greater than or equal to 2'"},
	{"iam", "CreateRole",
		`{"RoleName":"a b","AssumeRolePolicyDocument":"","Path":"x","MaxSessionDuration":10,"Tags":[{"Key":"k"}]}`,
		"400 ValidationError: 6 validation errors detected: Value 'x' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F); Value 'a b' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+; Value '' at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must have length greater than or equal to 1; Value '' at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+; Value '10' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600; Value null at 'tags.1.member.value' failed to satisfy constraint: Member must not be null"},
	{"iam", "CreateLoginProfile",
		`{"UserName":"u","Password":""}`,
		"400 ValidationError: 2 validation errors detected: Value at 'password' failed to satisfy constraint: Member must have length greater than or equal to 1; Value at 'password' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"},
	{"logs", "CreateLogGroup",
		`{"logGroupName":"C:/x","tags":{"":"v","ok":"<v*300>"}}`,
		"400 InvalidParameterException: 3 validation errors detected: Value 'C:/x' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+; Value '{=v, ok=<v*300>}' at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+)$]; Value '{=v, ok=<v*300>}' at 'tags' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 256, Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$]"},
	{"logs", "PutLogEvents",
		`{"logGroupName":"g","logStreamName":"s:","logEvents":[{"message":"m"},{"timestamp":1}]}`,
		"400 InvalidParameterException: 3 validation errors detected: Value 's:' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*; Value null at 'logEvents.1.member.timestamp' failed to satisfy constraint: Member must not be null; Value null at 'logEvents.2.member.message' failed to satisfy constraint: Member must not be null"},
	{"secretsmanager", "CreateSecret",
		`{"Name":"n","SecretString":"<s*70000>"}`,
		"400 ValidationException: 1 validation error detected: Value at 'secretString' failed to satisfy constraint: Member must have length less than or equal to 65536"},
	{"ssm", "PutParameter",
		`{"Name":"","Value":"v","Type":"Text","Tier":"Huge","Tags":[{"Key":"k","Value":"<x*300>"}]}`,
		"400 ValidationException: 4 validation errors detected: Value '' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1; Value 'Text' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [String, StringList, SecureString]; Value '<x*300>' at 'tags.1.member.value' failed to satisfy constraint: Member must have length less than or equal to 256; Value 'Huge' at 'tier' failed to satisfy constraint: Member must satisfy enum value set: [Standard, Advanced, Intelligent-Tiering]"},
	{"ssm", "GetParameters",
		`{"Names":[]}`,
		"400 ValidationException: 1 validation error detected: Value '[]' at 'names' failed to satisfy constraint: Member must have length greater than or equal to 1"},
	{"ssm", "GetParametersByPath",
		`{"Path":"/a","MaxResults":0}`,
		"400 ValidationException: 1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"},
	// The delivery operations declare ValidationException, not the
	// service-wide InvalidParameterException of the older operations.
	{"logs", "GetDeliverySource",
		`{}`,
		"400 ValidationException: 1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"},
	{"eks", "CreateNodegroup",
		`{"clusterName":"c","nodegroupName":"n","subnets":["s"],"nodeRole":"r","labels":{"k":""},"scalingConfig":{"minSize":-1},"taints":[{"effect":"MAYBE"}]}`,
		"400 InvalidParameterException: 4 validation errors detected: Value null at 'name' failed to satisfy constraint: Member must not be null; Value '-1' at 'scalingConfig.minSize' failed to satisfy constraint: Member must have value greater than or equal to 0; Value '{k=}' at 'labels' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 63, Member must have length greater than or equal to 1]; Value 'MAYBE' at 'taints.1.member.effect' failed to satisfy constraint: Member must satisfy enum value set: [NO_SCHEDULE, NO_EXECUTE, PREFER_NO_SCHEDULE]"},
}

var runs = regexp.MustCompile(`<(.)\*(\d+)>`)

func expand(s string) string {
	return runs.ReplaceAllStringFunc(s, func(m string) string {
		sub := runs.FindStringSubmatch(m)
		n, _ := strconv.Atoi(sub[2])
		return strings.Repeat(sub[1], n)
	})
}

func TestValidationMatchesTheHandWrittenValidators(t *testing.T) {
	for _, c := range regressionCases {
		m, ok := services[c.service].MethodByName(c.op)
		if !ok {
			t.Fatalf("%s has no %s", c.service, c.op)
		}
		in := reflect.New(m.Type.In(1).Elem())
		if err := json.Unmarshal([]byte(expand(c.in)), in.Interface()); err != nil {
			t.Fatalf("%s %s: %v", c.service, c.op, err)
		}
		got := ""
		if err := in.Interface().(interface{ Validate() error }).Validate(); err != nil {
			e := awsapi.AsError(err)
			got = fmt.Sprintf("%d %s: %s", e.HTTPStatus, e.Code, e.Message)
		}
		if want := expand(c.want); got != want {
			t.Errorf("%s %s %s:\ngot  %s\nwant %s", c.service, c.op, c.in, got, want)
		}
	}
}
