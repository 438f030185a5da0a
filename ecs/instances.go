package ecs

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/store"
)

// registerLocalInstance makes the local host a container instance of c
// (whose counters it updates; the caller writes c).
func (s *Service) registerLocalInstance(tx store.Tx, sc scope, c *clusterRecord, now time.Time) error {
	h := s.local
	in := &instanceRecord{
		ID:             newID(),
		Cluster:        c.Name,
		HostID:         h.ID,
		Local:          true,
		Status:         statusActive,
		AgentConnected: true,
		Registered: resources{
			CPU:    h.CPU,
			Memory: h.MemoryMiB,
			Ports:  unionPorts(h.ReservedPorts, nil),
		},
		Attributes:   h.localAttributes(sc.region),
		VersionInfo:  ecsapi.VersionInfo{AgentVersion: nonEmpty(h.AgentVersion), AgentHash: nonEmpty(h.AgentHash), DockerVersion: nonEmpty(h.DockerVersion)},
		RegisteredAt: now,
		Version:      1,
	}
	c.Stats.Instances++
	return putDoc(tx, kindInstance, sc, instanceKey(c.Name, in.ID), in, now)
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// resourceList is how AWS shows an instance's resources.
func resourceList(r resources) []ecsapi.Resource {
	ports := func(ps []int32) []string {
		out := []string{}
		for _, p := range ps {
			out = append(out, strconv.Itoa(int(p)))
		}
		return out
	}
	intRes := func(name string, v int64) ecsapi.Resource {
		return ecsapi.Resource{Name: ptr(name), Type: ptr("INTEGER"), DoubleValue: ptr(0.0), LongValue: ptr(int64(0)), IntegerValue: ptr(int32(v))}
	}
	setRes := func(name string, v []string) ecsapi.Resource {
		return ecsapi.Resource{Name: ptr(name), Type: ptr("STRINGSET"), DoubleValue: ptr(0.0), LongValue: ptr(int64(0)), IntegerValue: ptr(int32(0)), StringSetValue: v}
	}
	return []ecsapi.Resource{
		intRes("CPU", r.CPU),
		intRes("MEMORY", r.Memory),
		setRes("PORTS", ports(r.Ports)),
		setRes("PORTS_UDP", ports(r.PortsUDP)),
	}
}

// remaining is what tasks may still take of an instance: CPU and memory
// left, and the ports taken (reserved at registration or by tasks).
func (in *instanceRecord) remaining() resources {
	return resources{
		CPU:      max(0, in.Registered.CPU-in.Used.CPU),
		Memory:   max(0, in.Registered.Memory-in.Used.Memory),
		Ports:    unionPorts(in.Registered.Ports, in.Used.Ports),
		PortsUDP: unionPorts(in.Registered.PortsUDP, in.Used.PortsUDP),
	}
}

func instanceOutput(sc scope, in *instanceRecord, include []ecsapi.ContainerInstanceField) ecsapi.ContainerInstance {
	out := ecsapi.ContainerInstance{
		ContainerInstanceArn: ptr(sc.instanceARN(in.Cluster, in.ID)),
		Ec2InstanceId:        ptr(in.HostID),
		Version:              ptr(in.Version),
		VersionInfo:          &in.VersionInfo,
		RemainingResources:   resourceList(in.remaining()),
		RegisteredResources:  resourceList(in.Registered),
		Status:               ptr(in.Status),
		AgentConnected:       ptr(in.AgentConnected),
		RunningTasksCount:    ptr(int32(in.RunningTasks)),
		PendingTasksCount:    ptr(int32(in.PendingTasks)),
		Attributes:           nonNil(in.Attributes),
		RegisteredAt:         timestamp(in.RegisteredAt),
		Attachments:          []ecsapi.Attachment{},
	}
	if in.CapacityProviderName != "" {
		out.CapacityProviderName = ptr(in.CapacityProviderName)
	}
	if in.StatusReason != "" {
		out.StatusReason = ptr(in.StatusReason)
	}
	if slices.Contains(include, ecsapi.ContainerInstanceFieldTags) {
		out.Tags = nonNil(in.Tags)
	}
	if slices.Contains(include, ecsapi.ContainerInstanceFieldContainerInstanceHealth) {
		state := ecsapi.InstanceHealthCheckStateOk
		if !in.AgentConnected {
			state = ecsapi.InstanceHealthCheckStateImpaired
		}
		out.HealthStatus = &ecsapi.ContainerInstanceHealthStatus{
			OverallStatus: ptr(state),
			Details: []ecsapi.InstanceHealthCheckResult{{
				Type:   ptr(ecsapi.InstanceHealthCheckTypeContainerRuntime),
				Status: ptr(state),
			}},
		}
	}
	return out
}

// lookupInstance finds a container instance by id or ARN in cluster c.
func lookupInstance(tx store.Tx, sc scope, c *clusterRecord, ref string) (*instanceRecord, error) {
	cluster, id, ok := idRef(sc, "container-instance", c.Name, ref)
	if !ok || cluster != c.Name {
		return nil, nil
	}
	return getDoc[instanceRecord](tx, kindInstance, sc, instanceKey(cluster, id))
}

// missingInstanceARN is the ARN a MISSING failure names.
func missingInstanceARN(sc scope, cluster, ref string) string {
	if _, id, ok := idRef(sc, "container-instance", cluster, ref); ok && ref == id {
		return sc.instanceARN(cluster, id)
	}
	return ref
}

// identityDocument is the part of an EC2 instance identity document Berth
// reads.
type identityDocument struct {
	InstanceID       string `json:"instanceId"`
	InstanceType     string `json:"instanceType"`
	AvailabilityZone string `json:"availabilityZone"`
	Architecture     string `json:"architecture"`
}

// RegisterContainerInstance registers a host as a container instance: the
// path a remote Berth agent takes (the local host registers itself when a
// cluster is created). The same host (instanceId of the identity document)
// registering again updates its instance; containerInstanceArn re-registers
// a known instance with new resources.
func (s *Service) RegisterContainerInstance(ctx context.Context, in *ecsapi.RegisterContainerInstanceInput) (*ecsapi.RegisterContainerInstanceOutput, error) {
	sc := scopeOf(ctx)
	var doc identityDocument
	if d := deref(in.InstanceIdentityDocument); d != "" {
		if err := json.Unmarshal([]byte(d), &doc); err != nil {
			return nil, ecsapi.NewClientException("The instance identity document is not valid JSON: %v", err)
		}
	}
	total, err := parseTotalResources(in.TotalResources)
	if err != nil {
		return nil, err
	}
	if err := checkTagKeys(in.Tags); err != nil {
		return nil, err
	}
	var out ecsapi.ContainerInstance
	err = s.st.Update(ctx, func(tx store.Tx) error {
		now := s.clock()
		c, err := s.clusterForWrite(tx, sc, deref(in.Cluster))
		if err != nil {
			return err
		}
		var rec *instanceRecord
		if ref := deref(in.ContainerInstanceArn); ref != "" {
			if rec, err = lookupInstance(tx, sc, c, ref); err != nil {
				return err
			}
			if rec == nil || rec.Status == statusInactive {
				return ecsapi.NewInvalidParameterException("Container instance %s not found.", ref)
			}
		} else if doc.InstanceID != "" {
			err := listDocs(tx, kindInstance, sc, c.Name+"/", "", func(_ string, r *instanceRecord) (bool, error) {
				if r.HostID == doc.InstanceID && r.Status != statusInactive {
					rec = r
					return false, nil
				}
				return true, nil
			})
			if err != nil {
				return err
			}
		}
		if rec == nil {
			rec = &instanceRecord{
				ID:           newID(),
				Cluster:      c.Name,
				HostID:       doc.InstanceID,
				Status:       statusActive,
				RegisteredAt: now,
			}
			if rec.HostID == "" {
				rec.HostID = "i-" + hexN(17)
			}
			rec.Local = rec.HostID == s.local.ID
			c.Stats.Instances++
			if !rec.Local {
				c.Stats.Remote++
			}
			if err := putDoc(tx, kindCluster, sc, c.Name, c, now); err != nil {
				return err
			}
		}
		rec.AgentConnected = true
		s.heard(sc, c.Name, rec.ID)
		rec.Registered = total
		rec.Attributes = registrationAttributes(in.Attributes, doc, sc.region)
		if in.VersionInfo != nil {
			rec.VersionInfo = *in.VersionInfo
		}
		if in.Tags != nil {
			rec.Tags = in.Tags
		}
		rec.Version++
		out = instanceOutput(sc, rec, []ecsapi.ContainerInstanceField{ecsapi.ContainerInstanceFieldTags})
		return putDoc(tx, kindInstance, sc, instanceKey(rec.Cluster, rec.ID), rec, now)
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.RegisterContainerInstanceOutput{ContainerInstance: &out}, nil
}

// registrationAttributes are the attributes an agent sent, completed with
// the identity document's instance type and zone.
func registrationAttributes(given []ecsapi.Attribute, doc identityDocument, region string) []ecsapi.Attribute {
	out := slices.Clone(given)
	has := func(name string) bool {
		return slices.ContainsFunc(out, func(a ecsapi.Attribute) bool { return deref(a.Name) == name })
	}
	add := func(name, value string) {
		if value != "" && !has(name) {
			out = append(out, ecsapi.Attribute{Name: ptr(name), Value: ptr(value)})
		}
	}
	add("ecs.instance-type", doc.InstanceType)
	add("ecs.availability-zone", doc.AvailabilityZone)
	if !has("ecs.availability-zone") {
		add("ecs.availability-zone", region+"a")
	}
	return out
}

// parseTotalResources reads CPU, MEMORY, PORTS and PORTS_UDP as the ECS
// agent reports them.
func parseTotalResources(rs []ecsapi.Resource) (resources, error) {
	var r resources
	num := func(x ecsapi.Resource) int64 {
		switch {
		case x.IntegerValue != nil && *x.IntegerValue != 0:
			return int64(*x.IntegerValue)
		case x.LongValue != nil && *x.LongValue != 0:
			return *x.LongValue
		case x.DoubleValue != nil:
			return int64(*x.DoubleValue)
		}
		return 0
	}
	ports := func(x ecsapi.Resource) ([]int32, error) {
		var out []int32
		for _, v := range x.StringSetValue {
			p, err := strconv.Atoi(v)
			if err != nil || p < 0 || p > 65535 {
				return nil, ecsapi.NewClientException("Invalid port %q in resource %s.", v, deref(x.Name))
			}
			out = append(out, int32(p))
		}
		return unionPorts(out, nil), nil
	}
	var err error
	for _, x := range rs {
		switch deref(x.Name) {
		case "CPU":
			r.CPU = num(x)
		case "MEMORY":
			r.Memory = num(x)
		case "PORTS":
			r.Ports, err = ports(x)
		case "PORTS_UDP":
			r.PortsUDP, err = ports(x)
		}
		if err != nil {
			return resources{}, err
		}
	}
	if r.CPU <= 0 || r.Memory <= 0 {
		return resources{}, ecsapi.NewClientException("totalResources must include CPU and MEMORY with positive values.")
	}
	return r, nil
}

// DeregisterContainerInstance removes an instance from its cluster. With
// tasks on it, that needs force; the tasks are then left to their agent.
func (s *Service) DeregisterContainerInstance(ctx context.Context, in *ecsapi.DeregisterContainerInstanceInput) (*ecsapi.DeregisterContainerInstanceOutput, error) {
	sc := scopeOf(ctx)
	var out ecsapi.ContainerInstance
	err := s.st.Update(ctx, func(tx store.Tx) error {
		now := s.clock()
		c, err := lookupCluster(tx, sc, deref(in.Cluster))
		if err != nil {
			return err
		}
		rec, err := lookupInstance(tx, sc, c, deref(in.ContainerInstance))
		if err != nil {
			return err
		}
		if rec == nil || rec.Status == statusInactive {
			return ecsapi.NewInvalidParameterException("Container instance %s not found.", deref(in.ContainerInstance))
		}
		if rec.RunningTasks+rec.PendingTasks > 0 && !deref(in.Force) {
			return ecsapi.NewInvalidParameterException("Found running tasks on the instance.")
		}
		rec.Status, rec.AgentConnected = statusInactive, false
		rec.Version++
		c.Stats.Instances = max(0, c.Stats.Instances-1)
		if !rec.Local {
			c.Stats.Remote = max(0, c.Stats.Remote-1)
		}
		if err := putDoc(tx, kindCluster, sc, c.Name, c, now); err != nil {
			return err
		}
		out = instanceOutput(sc, rec, nil)
		return putDoc(tx, kindInstance, sc, instanceKey(rec.Cluster, rec.ID), rec, now)
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.DeregisterContainerInstanceOutput{ContainerInstance: &out}, nil
}

// DescribeContainerInstances describes instances of a cluster; unknown ones
// are failures with reason MISSING.
func (s *Service) DescribeContainerInstances(ctx context.Context, in *ecsapi.DescribeContainerInstancesInput) (*ecsapi.DescribeContainerInstancesOutput, error) {
	sc := scopeOf(ctx)
	if len(in.ContainerInstances) > 100 {
		return nil, ecsapi.NewInvalidParameterException("containerInstances can have at most 100 items.")
	}
	if len(in.ContainerInstances) == 0 {
		return nil, ecsapi.NewInvalidParameterException("Container instance cannot be empty.")
	}
	out := &ecsapi.DescribeContainerInstancesOutput{ContainerInstances: []ecsapi.ContainerInstance{}, Failures: []ecsapi.Failure{}}
	err := s.st.View(ctx, func(tx store.Tx) error {
		out.ContainerInstances, out.Failures = out.ContainerInstances[:0], out.Failures[:0]
		c, err := lookupCluster(tx, sc, deref(in.Cluster))
		if err != nil {
			return err
		}
		for _, ref := range in.ContainerInstances {
			rec, err := lookupInstance(tx, sc, c, ref)
			if err != nil {
				return err
			}
			if rec == nil {
				out.Failures = append(out.Failures, ecsapi.Failure{Arn: ptr(missingInstanceARN(sc, c.Name, ref)), Reason: ptr("MISSING")})
				continue
			}
			out.ContainerInstances = append(out.ContainerInstances, instanceOutput(sc, rec, in.Include))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListContainerInstances lists a cluster's instances: by status (default:
// every status but INACTIVE) and by a filter in a subset of the cluster
// query language (see docs/ecs.md).
func (s *Service) ListContainerInstances(ctx context.Context, in *ecsapi.ListContainerInstancesInput) (*ecsapi.ListContainerInstancesOutput, error) {
	sc := scopeOf(ctx)
	limit, err := pageSize(in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	filter, err := parseFilter(deref(in.Filter))
	if err != nil {
		return nil, err
	}
	out := &ecsapi.ListContainerInstancesOutput{ContainerInstanceArns: []string{}}
	err = s.st.View(ctx, func(tx store.Tx) error {
		out.ContainerInstanceArns, out.NextToken = out.ContainerInstanceArns[:0], nil
		c, err := lookupCluster(tx, sc, deref(in.Cluster))
		if err != nil {
			return err
		}
		var last string
		return listDocs(tx, kindInstance, sc, c.Name+"/", after, func(key string, r *instanceRecord) (bool, error) {
			if in.Status != nil {
				if r.Status != string(*in.Status) {
					return true, nil
				}
			} else if r.Status == statusInactive {
				return true, nil
			}
			if !filter.match(r) {
				return true, nil
			}
			if len(out.ContainerInstanceArns) == limit {
				out.NextToken = encodeToken(last)
				return false, nil
			}
			out.ContainerInstanceArns = append(out.ContainerInstanceArns, sc.instanceARN(r.Cluster, r.ID))
			last = key
			return true, nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateContainerInstancesState sets instances ACTIVE or DRAINING. A
// DRAINING instance gets no new tasks; the service scheduler replaces its
// service tasks.
func (s *Service) UpdateContainerInstancesState(ctx context.Context, in *ecsapi.UpdateContainerInstancesStateInput) (*ecsapi.UpdateContainerInstancesStateOutput, error) {
	sc := scopeOf(ctx)
	status := string(deref(in.Status))
	if status != statusActive && status != statusDraining {
		return nil, ecsapi.NewInvalidParameterException("Container instances status can only be updated to ACTIVE or DRAINING.")
	}
	if len(in.ContainerInstances) > 10 {
		return nil, ecsapi.NewInvalidParameterException("containerInstances can have at most 10 items.")
	}
	out := &ecsapi.UpdateContainerInstancesStateOutput{ContainerInstances: []ecsapi.ContainerInstance{}, Failures: []ecsapi.Failure{}}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		out.ContainerInstances, out.Failures = out.ContainerInstances[:0], out.Failures[:0]
		now := s.clock()
		c, err := lookupCluster(tx, sc, deref(in.Cluster))
		if err != nil {
			return err
		}
		for _, ref := range in.ContainerInstances {
			rec, err := lookupInstance(tx, sc, c, ref)
			if err != nil {
				return err
			}
			if rec == nil || rec.Status == statusInactive {
				out.Failures = append(out.Failures, ecsapi.Failure{Arn: ptr(missingInstanceARN(sc, c.Name, ref)), Reason: ptr("MISSING")})
				continue
			}
			if rec.Status != status {
				rec.Status = status
				rec.Version++
				if err := putDoc(tx, kindInstance, sc, instanceKey(rec.Cluster, rec.ID), rec, now); err != nil {
					return err
				}
			}
			out.ContainerInstances = append(out.ContainerInstances, instanceOutput(sc, rec, nil))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
