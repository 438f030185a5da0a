// Package express serves ECS Express Mode services
// (CreateExpressGatewayService and its siblings) on top of Berth's own
// services, through their Go APIs: an Express service is a normal ECS
// service (Fargate, awsvpc) of a task definition made from the primary
// container, behind an Application Load Balancer of Berth's ELB shared by
// the Express services of a cluster and VPC, reached through a listener
// rule on the service's own host name; EC2 security groups let the load
// balancer reach the tasks. Nothing here schedules a task, proxies a
// request or checks a target: the ECS service controller, ELB's proxy and
// EC2 do, as for resources a user made by hand.
//
// What Express adds is kept in the store, one document per service (kind
// ecs.express-service), written in one transaction once its resources
// exist. Auto scaling is not acted on: Berth has no Application Auto
// Scaling, so the scaling target is stored and returned, and the service
// runs minTaskCount tasks.
package express

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/api/elbv2"
	"github.com/berth-dev/berth/elb"
	"github.com/berth-dev/berth/store"
)

// Kind is the store kind of Express service records, by cluster/name.
const Kind = "ecs.express-service"

// Containers is the part of the ECS API an Express service is built
// from; *ecs.Service implements it. Calls act in the context's identity.
type Containers interface {
	DescribeClusters(context.Context, *ecsapi.DescribeClustersInput) (*ecsapi.DescribeClustersOutput, error)
	CreateCluster(context.Context, *ecsapi.CreateClusterInput) (*ecsapi.CreateClusterOutput, error)
	RegisterTaskDefinition(context.Context, *ecsapi.RegisterTaskDefinitionInput) (*ecsapi.RegisterTaskDefinitionOutput, error)
	CreateService(context.Context, *ecsapi.CreateServiceInput) (*ecsapi.CreateServiceOutput, error)
	UpdateService(context.Context, *ecsapi.UpdateServiceInput) (*ecsapi.UpdateServiceOutput, error)
	DeleteService(context.Context, *ecsapi.DeleteServiceInput) (*ecsapi.DeleteServiceOutput, error)
	DescribeServices(context.Context, *ecsapi.DescribeServicesInput) (*ecsapi.DescribeServicesOutput, error)
}

// LoadBalancing is the part of the ELBv2 API an Express service drives
// (account and region from the context's identity); *elb.Service
// implements it.
type LoadBalancing interface {
	CreateLoadBalancer(context.Context, *elbv2.CreateLoadBalancerInput) (*elbv2.CreateLoadBalancerOutput, error)
	DescribeLoadBalancers(context.Context, *elbv2.DescribeLoadBalancersInput) (*elbv2.DescribeLoadBalancersOutput, error)
	DeleteLoadBalancer(context.Context, *elbv2.DeleteLoadBalancerInput) (*elbv2.DeleteLoadBalancerOutput, error)
	CreateTargetGroup(context.Context, *elbv2.CreateTargetGroupInput) (*elbv2.CreateTargetGroupOutput, error)
	ModifyTargetGroup(context.Context, *elbv2.ModifyTargetGroupInput) (*elbv2.ModifyTargetGroupOutput, error)
	DeleteTargetGroup(context.Context, *elbv2.DeleteTargetGroupInput) (*elbv2.DeleteTargetGroupOutput, error)
	ModifyTargetGroupAttributes(context.Context, *elbv2.ModifyTargetGroupAttributesInput) (*elbv2.ModifyTargetGroupAttributesOutput, error)
	CreateListener(context.Context, *elbv2.CreateListenerInput) (*elbv2.CreateListenerOutput, error)
	DescribeListeners(context.Context, *elbv2.DescribeListenersInput) (*elbv2.DescribeListenersOutput, error)
	CreateRule(context.Context, *elbv2.CreateRuleInput) (*elbv2.CreateRuleOutput, error)
	DescribeRules(context.Context, *elbv2.DescribeRulesInput) (*elbv2.DescribeRulesOutput, error)
	DeleteRule(context.Context, *elbv2.DeleteRuleInput) (*elbv2.DeleteRuleOutput, error)
}

var _ LoadBalancing = (*elb.Service)(nil)

// Subnet is an EC2 subnet as Express needs it.
type Subnet struct {
	ID, VPCID, Zone string
}

// Network is the part of EC2 an Express service needs: where tasks and
// the load balancer go, and the security groups between them. server
// adapts ec2.Service to it, so this package does not import ec2.
type Network interface {
	DefaultSubnets(ctx context.Context, account, region string) ([]Subnet, error)
	// Subnets describes ids; an unknown id is an error naming it.
	Subnets(ctx context.Context, account, region string, ids []string) ([]Subnet, error)
	CreateSecurityGroup(ctx context.Context, account, region, vpc, name, description string) (string, error)
	// AllowIngress lets TCP traffic to port into group, from the group
	// fromGroup or, when it is empty, from anywhere.
	AllowIngress(ctx context.Context, account, region, group string, port int32, fromGroup string) error
	DeleteSecurityGroup(ctx context.Context, account, region, id string) error
}

// Options configure a Service.
type Options struct {
	Store         store.Store
	ECS           Containers
	LoadBalancing LoadBalancing
	Network       Network
	// ListenerPort picks the port of a new shared load balancer's
	// listener; a free port of the host when nil. Listener ports are
	// ports of this host, so a fixed 443 as on AWS would allow one
	// load balancer per machine.
	ListenerPort func() (int32, error)
	Log          *slog.Logger
	Now          func() time.Time
}

// Service implements the four Express service operations
// (ecs.ExpressGateways).
type Service struct {
	o Options
	// mu serializes changes of Express services, so two creations in a
	// cluster share one load balancer and pick distinct rule priorities.
	mu sync.Mutex
}

// New returns a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil || o.ECS == nil || o.LoadBalancing == nil || o.Network == nil {
		return nil, errors.New("express: Store, ECS, LoadBalancing and Network are required")
	}
	if o.ListenerPort == nil {
		o.ListenerPort = freePort
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{o: o}, nil
}

func freePort() (int32, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return int32(ln.Addr().(*net.TCPAddr).Port), nil
}

func (s *Service) now() time.Time { return s.o.Now().UTC() }

// record is an Express service: its configurations and the resources
// made for it.
type record struct {
	Cluster        string          `json:"cluster"`
	Name           string          `json:"name"`
	ServiceARN     string          `json:"serviceArn"`
	ClusterARN     string          `json:"clusterArn"`
	InfraRoleARN   string          `json:"infrastructureRoleArn"`
	Host           string          `json:"host"`
	Port           int32           `json:"port"`
	VPC            string          `json:"vpc"`
	LoadBalancer   string          `json:"loadBalancerArn"`
	Listener       string          `json:"listenerArn"`
	Rule           string          `json:"ruleArn"`
	TargetGroup    string          `json:"targetGroupArn"`
	LBSecurityGrp  string          `json:"loadBalancerSecurityGroup"`
	ManagedSGs     []string        `json:"managedSecurityGroups,omitempty"`
	Configurations []configuration `json:"configurations"`
	Deleted        bool            `json:"deleted,omitempty"`
	CreatedAt      time.Time       `json:"createdAt"`
	UpdatedAt      time.Time       `json:"updatedAt"`
}

// configuration is one revision of the service's settings, with the task
// definition made from it.
type configuration struct {
	RevisionARN    string                                    `json:"revisionArn"`
	TaskDefinition string                                    `json:"taskDefinition"`
	Config         ecsapi.ExpressGatewayServiceConfiguration `json:"config"`
}

func (r *record) latest() *configuration { return &r.Configurations[len(r.Configurations)-1] }

func recordKey(cluster, name string) string { return cluster + "/" + name }

func (s *Service) load(ctx context.Context, account, region, cluster, name string) (*record, error) {
	var r *record
	err := s.o.Store.View(ctx, func(tx store.Tx) error {
		var err error
		r, err = store.GetDoc[record](tx, Kind, account, region, recordKey(cluster, name))
		return err
	})
	return r, err
}

func (s *Service) save(ctx context.Context, account, region string, r *record) error {
	return s.o.Store.Update(ctx, func(tx store.Tx) error {
		return store.PutDoc(tx, Kind, account, region, recordKey(r.Cluster, r.Name), r, s.now())
	})
}
