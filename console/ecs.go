package console

import (
	"slices"
	"strings"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	elbv2api "github.com/berth-dev/berth/api/elbv2"
	logsapi "github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/logs"
)

func (c *Console) needECS() error {
	if c.o.ECS == nil {
		return errNotFound{"ECS"}
	}
	return nil
}

// ecsName is a cluster or service name or ARN given as a parameter.
func ecsName(req *request, param string) (string, error) {
	v := req.r.URL.Query().Get(param)
	if v == "" {
		return "", badRequest("the %s parameter is required", param)
	}
	if len(v) > 1600 || strings.ContainsAny(v, "\x00\n\r") {
		return "", badRequest("%s is not a name or ARN", param)
	}
	return v, nil
}

// describeClusters describes cluster names or ARNs, 100 at a time.
func (c *Console) describeClusters(req *request, names []string) ([]ecsapi.Cluster, error) {
	var out []ecsapi.Cluster
	for chunk := range slices.Chunk(names, 100) {
		res, err := c.o.ECS.DescribeClusters(req.ctx, &ecsapi.DescribeClustersInput{Clusters: chunk})
		if err != nil {
			return nil, err
		}
		out = append(out, res.Clusters...)
	}
	return out, nil
}

func (c *Console) listClusters(req *request) ([]string, error) {
	var arns []string
	var token *string
	for len(arns) < maxItems {
		res, err := c.o.ECS.ListClusters(req.ctx, &ecsapi.ListClustersInput{NextToken: token})
		if err != nil {
			return nil, err
		}
		arns = append(arns, res.ClusterArns...)
		if token = res.NextToken; token == nil {
			break
		}
	}
	return arns, nil
}

func (c *Console) ecsClusters(req *request) error {
	if err := c.needECS(); err != nil {
		return err
	}
	arns, err := c.listClusters(req)
	if err != nil {
		return err
	}
	clusters, err := c.describeClusters(req, arns)
	if err != nil {
		return err
	}
	slices.SortFunc(clusters, func(a, b ecsapi.Cluster) int { return strings.Compare(show(a.ClusterName), show(b.ClusterName)) })
	req.page.Title = "ECS clusters"
	req.page.crumb("ECS clusters", "")
	return c.render(req, "ecs_clusters", clusters)
}

// cluster finds the cluster the parameter names.
func (c *Console) cluster(req *request) (ecsapi.Cluster, error) {
	name, err := ecsName(req, "cluster")
	if err != nil {
		return ecsapi.Cluster{}, err
	}
	res, err := c.o.ECS.DescribeClusters(req.ctx, &ecsapi.DescribeClustersInput{Clusters: []string{name}})
	if err != nil {
		return ecsapi.Cluster{}, err
	}
	if len(res.Clusters) == 0 {
		return ecsapi.Cluster{}, errNotFound{"cluster " + name}
	}
	return res.Clusters[0], nil
}

type ecsClusterData struct {
	Cluster            ecsapi.Cluster
	Services           []ecsapi.ServiceShape
	Tasks              []ecsapi.Task
	ContainerInstances []ecsapi.ContainerInstance
}

func (c *Console) ecsCluster(req *request) error {
	if err := c.needECS(); err != nil {
		return err
	}
	cl, err := c.cluster(req)
	if err != nil {
		return err
	}
	d := ecsClusterData{Cluster: cl}
	arn := *cl.ClusterArn
	if d.Services, err = c.clusterServices(req, arn); err != nil {
		return err
	}
	if d.Tasks, err = c.tasks(req, arn, nil); err != nil {
		return err
	}
	var ciArns []string
	var token *string
	for len(ciArns) < maxItems {
		res, err := c.o.ECS.ListContainerInstances(req.ctx, &ecsapi.ListContainerInstancesInput{Cluster: &arn, NextToken: token})
		if err != nil {
			return err
		}
		ciArns = append(ciArns, res.ContainerInstanceArns...)
		if token = res.NextToken; token == nil {
			break
		}
	}
	for chunk := range slices.Chunk(ciArns, 100) {
		res, err := c.o.ECS.DescribeContainerInstances(req.ctx, &ecsapi.DescribeContainerInstancesInput{Cluster: &arn, ContainerInstances: chunk})
		if err != nil {
			return err
		}
		d.ContainerInstances = append(d.ContainerInstances, res.ContainerInstances...)
	}
	req.page.Title = "Cluster " + show(cl.ClusterName)
	req.page.crumb("ECS clusters", req.page.Link("ecs/"))
	req.page.crumb(show(cl.ClusterName), "")
	return c.render(req, "ecs_cluster", d)
}

// clusterServices describes every service of a cluster, 10 at a time.
func (c *Console) clusterServices(req *request, cluster string) ([]ecsapi.ServiceShape, error) {
	var arns []string
	var token *string
	for len(arns) < maxItems {
		res, err := c.o.ECS.ListServices(req.ctx, &ecsapi.ListServicesInput{Cluster: &cluster, NextToken: token})
		if err != nil {
			return nil, err
		}
		arns = append(arns, res.ServiceArns...)
		if token = res.NextToken; token == nil {
			break
		}
	}
	var out []ecsapi.ServiceShape
	for chunk := range slices.Chunk(arns, 10) {
		res, err := c.o.ECS.DescribeServices(req.ctx, &ecsapi.DescribeServicesInput{Cluster: &cluster, Services: chunk})
		if err != nil {
			return nil, err
		}
		out = append(out, res.Services...)
	}
	slices.SortFunc(out, func(a, b ecsapi.ServiceShape) int { return strings.Compare(show(a.ServiceName), show(b.ServiceName)) })
	return out, nil
}

// tasks describes a cluster's tasks (of one service when service is not
// nil): those desired RUNNING, then the recently stopped ones.
func (c *Console) tasks(req *request, cluster string, service *string) ([]ecsapi.Task, error) {
	var arns []string
	for _, desired := range []ecsapi.DesiredStatus{ecsapi.DesiredStatusRunning, ecsapi.DesiredStatusStopped} {
		var token *string
		for len(arns) < maxItems {
			res, err := c.o.ECS.ListTasks(req.ctx, &ecsapi.ListTasksInput{Cluster: &cluster, ServiceName: service, DesiredStatus: &desired, NextToken: token})
			if err != nil {
				return nil, err
			}
			arns = append(arns, res.TaskArns...)
			if token = res.NextToken; token == nil {
				break
			}
		}
	}
	var out []ecsapi.Task
	for chunk := range slices.Chunk(arns, 100) {
		res, err := c.o.ECS.DescribeTasks(req.ctx, &ecsapi.DescribeTasksInput{Cluster: &cluster, Tasks: chunk})
		if err != nil {
			return nil, err
		}
		out = append(out, res.Tasks...)
	}
	return out, nil
}

type ecsServiceData struct {
	Cluster      ecsapi.Cluster
	Service      ecsapi.ServiceShape
	Events       []ecsapi.ServiceEvent
	Tasks        []ecsapi.Task
	TargetGroups []targetGroupHealth
}

type targetGroupHealth struct {
	LoadBalancer ecsapi.LoadBalancer
	Targets      []elbv2api.TargetHealthDescription
	Error        string
}

// maxEvents is how many of a service's latest events its page shows.
const maxEvents = 25

func (c *Console) ecsService(req *request) error {
	if err := c.needECS(); err != nil {
		return err
	}
	cl, err := c.cluster(req)
	if err != nil {
		return err
	}
	name, err := ecsName(req, "service")
	if err != nil {
		return err
	}
	res, err := c.o.ECS.DescribeServices(req.ctx, &ecsapi.DescribeServicesInput{Cluster: cl.ClusterArn, Services: []string{name}})
	if err != nil {
		return err
	}
	if len(res.Services) == 0 {
		return errNotFound{"service " + name + " in cluster " + show(cl.ClusterName)}
	}
	d := ecsServiceData{Cluster: cl, Service: res.Services[0]}
	d.Events = d.Service.Events[:min(len(d.Service.Events), maxEvents)]
	if d.Tasks, err = c.tasks(req, *cl.ClusterArn, d.Service.ServiceName); err != nil {
		return err
	}
	for _, lb := range d.Service.LoadBalancers {
		tg := targetGroupHealth{LoadBalancer: lb}
		if lb.TargetGroupArn != nil && c.o.ELB != nil {
			th, err := c.o.ELB.DescribeTargetHealth(req.ctx, &elbv2api.DescribeTargetHealthInput{TargetGroupArn: lb.TargetGroupArn})
			if err != nil {
				tg.Error = errText(err)
			} else {
				tg.Targets = th.TargetHealthDescriptions
			}
		}
		d.TargetGroups = append(d.TargetGroups, tg)
	}
	req.page.Title = "Service " + show(d.Service.ServiceName)
	req.page.crumb("ECS clusters", req.page.Link("ecs/"))
	req.page.crumb(show(cl.ClusterName), req.page.Link("ecs/cluster", "cluster", show(cl.ClusterName)))
	req.page.crumb(show(d.Service.ServiceName), "")
	return c.render(req, "ecs_service", d)
}

// errText is what a page shows of a failed secondary call.
func errText(err error) string {
	if ae := awsapi.AsError(err); ae != nil {
		return ae.Code + ": " + ae.Message
	}
	return "unavailable"
}

type ecsTaskData struct {
	Cluster    ecsapi.Cluster
	Task       ecsapi.Task
	ID         string
	Definition *ecsapi.TaskDefinition
	Logs       []containerLogs
}

// containerLogs is one container's awslogs stream and its latest lines.
type containerLogs struct {
	Container     string
	Group, Stream string
	Region        string
	Events        []logsapi.OutputLogEvent
	Note          string
}

// taskLogLines is how many of each container's latest log lines a task
// page shows.
const taskLogLines = 200

func (c *Console) ecsTask(req *request) error {
	if err := c.needECS(); err != nil {
		return err
	}
	cl, err := c.cluster(req)
	if err != nil {
		return err
	}
	id, err := ecsName(req, "task")
	if err != nil {
		return err
	}
	res, err := c.o.ECS.DescribeTasks(req.ctx, &ecsapi.DescribeTasksInput{Cluster: cl.ClusterArn, Tasks: []string{id}})
	if err != nil {
		// A malformed task id is a task that does not exist, for a page.
		if ae := awsapi.AsError(err); ae != nil && ae.HTTPStatus < 500 {
			return errNotFound{"task " + id}
		}
		return err
	}
	if len(res.Tasks) == 0 {
		return errNotFound{"task " + id + " in cluster " + show(cl.ClusterName)}
	}
	d := ecsTaskData{Cluster: cl, Task: res.Tasks[0], ID: shortARN(res.Tasks[0].TaskArn)}
	if td, err := c.o.ECS.DescribeTaskDefinition(req.ctx, &ecsapi.DescribeTaskDefinitionInput{TaskDefinition: d.Task.TaskDefinitionArn}); err == nil {
		d.Definition = td.TaskDefinition
		d.Logs = c.taskLogs(req, d.Task, td.TaskDefinition)
	}
	req.page.Title = "Task " + d.ID
	req.page.crumb("ECS clusters", req.page.Link("ecs/"))
	req.page.crumb(show(cl.ClusterName), req.page.Link("ecs/cluster", "cluster", show(cl.ClusterName)))
	if g := show(d.Task.Group); strings.HasPrefix(g, "service:") {
		svc := strings.TrimPrefix(g, "service:")
		req.page.crumb(svc, req.page.Link("ecs/service", "cluster", show(cl.ClusterName), "service", svc))
	}
	req.page.crumb(d.ID, "")
	return c.render(req, "ecs_task", d)
}

// taskLogs reads the awslogs stream of each container of the task that
// has one, where the task agent ships it: awslogs-region (the task's
// region by default), prefix/container/task-id, or the container's
// runtime id without a prefix.
func (c *Console) taskLogs(req *request, task ecsapi.Task, td *ecsapi.TaskDefinition) []containerLogs {
	var out []containerLogs
	for _, def := range td.ContainerDefinitions {
		lc := def.LogConfiguration
		if lc == nil || lc.LogDriver == nil || *lc.LogDriver != ecsapi.LogDriverAwslogs || lc.Options["awslogs-group"] == "" {
			continue
		}
		cl := containerLogs{Container: show(def.Name), Group: lc.Options["awslogs-group"], Region: lc.Options["awslogs-region"]}
		if cl.Region == "" {
			cl.Region = req.region
		}
		if p := lc.Options["awslogs-stream-prefix"]; p != "" {
			cl.Stream = logs.ECSStreamName(p, show(def.Name), shortARN(task.TaskArn))
		} else {
			for _, ct := range task.Containers {
				if show(ct.Name) == show(def.Name) && ct.RuntimeId != nil {
					cl.Stream = *ct.RuntimeId
				}
			}
		}
		switch {
		case c.o.Logs == nil:
			cl.Note = "CloudWatch Logs is not served."
		case cl.Stream == "":
			cl.Note = "The container has not started; it has no log stream yet."
		case !awsapi.ValidRegion(cl.Region):
			cl.Note = "awslogs-region is not a region."
		default:
			id := awsapi.IdentityFrom(req.ctx)
			id.Region = cl.Region
			ctx := awsapi.WithIdentity(req.ctx, id)
			limit := int32(taskLogLines)
			res, err := c.o.Logs.GetLogEvents(ctx, &logsapi.GetLogEventsInput{LogGroupName: &cl.Group, LogStreamName: &cl.Stream, Limit: &limit})
			if err != nil {
				if ae := awsapi.AsError(err); ae != nil && ae.Code == "ResourceNotFoundException" {
					cl.Note = "No log stream yet."
				} else {
					cl.Note = errText(err)
				}
			} else {
				cl.Events = res.Events
			}
		}
		out = append(out, cl)
	}
	return out
}
