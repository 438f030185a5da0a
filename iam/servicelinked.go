package iam

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strings"

	iamapi "github.com/berth-dev/berth/api/iam"
	"github.com/berth-dev/berth/store"
)

// kindDeletionTask holds the deletion tasks DeleteServiceLinkedRole
// starts, by task id, so that GetServiceLinkedRoleDeletionStatus can
// answer for them.
const kindDeletionTask = "iam.slrDeletionTask"

// serviceLinkedPath is the path prefix of every service-linked role; IAM
// refuses to let anyone but the service change a role under it.
const serviceLinkedPath = "/aws-service-role/"

// linkedService is what IAM knows of a service that has a service-linked
// role: the role's name, whether the service accepts a CustomSuffix, and
// the AWS managed policy attached to the role.
type linkedService struct {
	role        string
	suffix      bool
	policy      string
	description string
}

// linkedServices is AWS's table of service-linked roles for the services
// Berth serves or that their users commonly create roles for (see each
// service's "Using service-linked roles" page in its guide).
var linkedServices = map[string]linkedService{
	"ecs.amazonaws.com":                                     {role: "AWSServiceRoleForECS", policy: "AmazonECSServiceRolePolicy"},
	"eks.amazonaws.com":                                     {role: "AWSServiceRoleForAmazonEKS", policy: "AmazonEKSServiceRolePolicy"},
	"eks-nodegroup.amazonaws.com":                           {role: "AWSServiceRoleForAmazonEKSNodegroup", policy: "AWSServiceRoleForAmazonEKSNodegroup"},
	"eks-fargate.amazonaws.com":                             {role: "AWSServiceRoleForAmazonEKSForFargate", policy: "AmazonEKSForFargateServiceRolePolicy"},
	"eks-connector.amazonaws.com":                           {role: "AWSServiceRoleForAmazonEKSConnector", policy: "AmazonEKSConnectorServiceRolePolicy"},
	"elasticloadbalancing.amazonaws.com":                    {role: "AWSServiceRoleForElasticLoadBalancing", policy: "AWSElasticLoadBalancingServiceRolePolicy"},
	"ecr.amazonaws.com":                                     {role: "AWSServiceRoleForECRTemplate", policy: "ECRTemplateServiceRolePolicy"},
	"replication.ecr.amazonaws.com":                         {role: "AWSServiceRoleForECRReplication", policy: "ECRReplicationServiceRolePolicy"},
	"pullthroughcache.ecr.amazonaws.com":                    {role: "AWSServiceRoleForECRPullThroughCache", policy: "AWSECRPullThroughCache_ServiceRolePolicy"},
	"autoscaling.amazonaws.com":                             {role: "AWSServiceRoleForAutoScaling", suffix: true, policy: "AutoScalingServiceRolePolicy"},
	"ecs.application-autoscaling.amazonaws.com":             {role: "AWSServiceRoleForApplicationAutoScaling_ECSService", policy: "AWSApplicationAutoscalingECSServicePolicy"},
	"custom-resource.application-autoscaling.amazonaws.com": {role: "AWSServiceRoleForApplicationAutoScaling_CustomResource", policy: "AWSApplicationAutoScalingCustomResourcePolicy"},
	"ec2scheduled.amazonaws.com":                            {role: "AWSServiceRoleForEC2Scheduled", policy: "AWSEC2ScheduledServiceRolePolicy"},
	"spot.amazonaws.com":                                    {role: "AWSServiceRoleForEC2Spot", policy: "AWSEC2SpotServiceRolePolicy"},
	"spotfleet.amazonaws.com":                               {role: "AWSServiceRoleForEC2SpotFleet", policy: "AWSEC2SpotFleetServiceRolePolicy"},
	"elasticbeanstalk.amazonaws.com":                        {role: "AWSServiceRoleForElasticBeanstalk", suffix: true, policy: "AWSElasticBeanstalkServiceRolePolicy"},
	"es.amazonaws.com":                                      {role: "AWSServiceRoleForAmazonElasticsearchService", policy: "AmazonElasticsearchServiceRolePolicy"},
	"opensearchservice.amazonaws.com":                       {role: "AWSServiceRoleForAmazonOpenSearchService", policy: "AmazonOpenSearchServiceRolePolicy"},
	"rds.amazonaws.com":                                     {role: "AWSServiceRoleForRDS", policy: "AmazonRDSServiceRolePolicy"},
	"secretsmanager.amazonaws.com":                          {role: "AWSServiceRoleForSecretsManager", policy: "SecretsManagerServiceRolePolicy"},
	"ssm.amazonaws.com":                                     {role: "AWSServiceRoleForAmazonSSM", policy: "AmazonSSMServiceRolePolicy"},
	"codedeploy.amazonaws.com":                              {role: "AWSServiceRoleForCodeDeploy", policy: "AWSCodeDeployRole"},
	"config.amazonaws.com":                                  {role: "AWSServiceRoleForConfig", suffix: true, policy: "AWSConfigServiceRolePolicy"},
	"cloudtrail.amazonaws.com":                              {role: "AWSServiceRoleForCloudTrail", policy: "CloudTrailServiceRolePolicy"},
	"organizations.amazonaws.com":                           {role: "AWSServiceRoleForOrganizations", policy: "AWSOrganizationsServiceTrustPolicy"},
}

// servicePrincipal is the form of the principals IAM takes for services.
var servicePrincipal = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*\.amazonaws\.com$`)

// linkedServiceOf is the service-linked role of a service principal. A
// service Berth's table does not name gets a role named from its
// principal (AWSServiceRoleFor + the principal's labels, title-cased),
// accepting a suffix and with no policy, so that such roles can still be
// made locally; AWS would know the service's own name.
func linkedServiceOf(principal string) (linkedService, bool) {
	if ls, ok := linkedServices[principal]; ok {
		return ls, true
	}
	if !servicePrincipal.MatchString(principal) {
		return linkedService{}, false
	}
	var b strings.Builder
	for _, part := range strings.FieldsFunc(strings.TrimSuffix(principal, ".amazonaws.com"), func(r rune) bool { return r == '.' || r == '-' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return linkedService{role: "AWSServiceRoleFor" + b.String(), suffix: true}, true
}

// isServiceLinked reports whether a role is one a service owns.
func (r roleRecord) isServiceLinked() bool { return strings.HasPrefix(r.Path, serviceLinkedPath) }

// protectedRole is IAM's answer to changing a service-linked role other
// than through DeleteServiceLinkedRole.
func protectedRole(name string) error {
	return iamapi.NewUnmodifiableEntityException("Cannot perform the operation on the protected role '%s' - this role is only modifiable by AWS", name)
}

// serviceTrust is the trust policy of a service-linked role: the service
// alone may assume it.
func serviceTrust(principal string) string {
	doc, _ := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect": "Allow", "Action": "sts:AssumeRole",
			"Principal": map[string]any{"Service": principal},
		}},
	})
	return string(doc)
}

// deletionTask is a DeleteServiceLinkedRole request, as the store keeps
// it. Berth deletes the role at once, so every task it keeps succeeded.
type deletionTask struct {
	ID     string `json:"id"`
	Role   string `json:"role"`
	Status string `json:"status"`
}

// CreateServiceLinkedRole creates the role a service uses on the
// account's behalf: named and trusted as the service documents it, under
// /aws-service-role/<service>/, with the service's managed policy.
func (s *Service) CreateServiceLinkedRole(ctx context.Context, in *iamapi.CreateServiceLinkedRoleInput) (*iamapi.CreateServiceLinkedRoleOutput, error) {
	acct := account(ctx)
	principal := *in.AWSServiceName
	ls, ok := linkedServiceOf(principal)
	if !ok {
		return nil, iamapi.NewInvalidInputException("Invalid ServiceName: %s is not a service principal that supports service-linked roles.", principal)
	}
	name := ls.role
	if suffix := deref(in.CustomSuffix); suffix != "" {
		if !ls.suffix {
			return nil, iamapi.NewInvalidInputException("Custom suffix is not allowed for %s", principal)
		}
		name += "_" + suffix
		if len(name) > 64 {
			return nil, iamapi.NewInvalidInputException("The role name %s is longer than 64 characters; use a shorter CustomSuffix.", name)
		}
	}
	r := roleRecord{
		Name: name, ID: newID("AROA"), Path: serviceLinkedPath + principal + "/", Description: deref(in.Description),
		TrustPolicy: serviceTrust(principal), MaxSessionDuration: defaultSessionSeconds, Created: s.clock(),
	}
	if ls.policy != "" {
		r.Attached = []string{"arn:aws:iam::aws:policy/aws-service-role/" + ls.policy}
	}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		return create(tx, kindRole, acct, r.Name, r, r.Created, func(existing roleRecord) error {
			return iamapi.NewInvalidInputException("Service role name %s has been taken in this account, please try a different suffix.", existing.Name)
		}, maxRolesPerAccount, iamapi.NewLimitExceededException("Cannot exceed quota for RolesPerAccount: %d.", maxRolesPerAccount))
	})
	if err != nil {
		return nil, err
	}
	out := r.wire(acct, false)
	out.RoleLastUsed = nil
	return &iamapi.CreateServiceLinkedRoleOutput{Role: out}, nil
}

// DeleteServiceLinkedRole deletes a service-linked role. AWS deletes it
// asynchronously once the service confirms nothing uses it; Berth's
// services keep no hold on these roles, so the role goes at once and the
// task answers SUCCEEDED.
func (s *Service) DeleteServiceLinkedRole(ctx context.Context, in *iamapi.DeleteServiceLinkedRoleInput) (*iamapi.DeleteServiceLinkedRoleOutput, error) {
	acct := account(ctx)
	var task deletionTask
	err := s.st.Update(ctx, func(tx store.Tx) error {
		r, err := getRole(tx, acct, *in.RoleName)
		if err != nil {
			return err
		}
		if !r.isServiceLinked() {
			return iamapi.NewInvalidInputException("Role %s is not a service-linked role; delete it with DeleteRole.", r.Name)
		}
		if err := roleInInstanceProfile(tx, acct, r.Name); err != nil {
			return err
		}
		if err := tx.DeleteResource(kindRole, acct, global, key(r.Name)); err != nil {
			return err
		}
		id := make([]byte, 16)
		rand.Read(id)
		u := hex.EncodeToString(id)
		task = deletionTask{
			ID:     "task" + r.Path + r.Name + "/" + u[:8] + "-" + u[8:12] + "-" + u[12:16] + "-" + u[16:20] + "-" + u[20:],
			Role:   r.Name,
			Status: string(iamapi.DeletionTaskStatusTypeSucceeded),
		}
		return put(tx, kindDeletionTask, acct, task.ID, task, s.clock())
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteServiceLinkedRoleOutput{DeletionTaskId: str(task.ID)}, nil
}

// GetServiceLinkedRoleDeletionStatus answers for a task that
// DeleteServiceLinkedRole started in the account.
func (s *Service) GetServiceLinkedRoleDeletionStatus(ctx context.Context, in *iamapi.GetServiceLinkedRoleDeletionStatusInput) (*iamapi.GetServiceLinkedRoleDeletionStatusOutput, error) {
	acct := account(ctx)
	id := *in.DeletionTaskId
	if !strings.HasPrefix(id, "task"+serviceLinkedPath) {
		return nil, iamapi.NewInvalidInputException("Invalid deletion task id: %s", id)
	}
	var task deletionTask
	var found bool
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		found, err = get(tx, kindDeletionTask, acct, id, &task)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, iamapi.NewNoSuchEntityException("Deletion task %s cannot be found.", id)
	}
	status := iamapi.DeletionTaskStatusType(task.Status)
	return &iamapi.GetServiceLinkedRoleDeletionStatusOutput{Status: &status}, nil
}
