package ecs

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/store"
)

// Service metrics in CloudWatch: every period, each ACTIVE service's
// RUNNING tasks are measured and AWS/ECS CPUUtilization and
// MemoryUtilization published for the service (ClusterName and
// ServiceName) and for the cluster (ClusterName): the CPU and memory the
// tasks use over what they reserve, in Percent. A service without a
// RUNNING task that can be measured publishes nothing, as on AWS. When
// the cluster's containerInsights setting is on, ECS/ContainerInsights
// gets the service's RunningTaskCount, PendingTaskCount and
// DesiredTaskCount too.

// DefaultMetricsInterval is how often service metrics are published: AWS
// publishes ECS metrics once a minute.
const DefaultMetricsInterval = time.Minute

// Usage is what a service's RUNNING tasks use and reserve, summed over
// the tasks measured.
type Usage struct {
	Tasks                int
	CPUUsed, CPUReserved float64 // CPU units
	MemUsed, MemReserved float64 // MiB
}

// Utilization measures a service's tasks (Application Auto Scaling's
// measurement through the container engine is one).
type Utilization interface {
	ServiceUsage(ctx context.Context, account, region, cluster, service string) (Usage, error)
}

// Metric is one value to publish.
type Metric struct {
	Name       string
	Dimensions map[string]string
	Value      float64
	Unit       string
	Timestamp  time.Time
}

// MetricPublisher stores metric values in a namespace (CloudWatch's
// PutMetrics behind an adapter).
type MetricPublisher interface {
	PutMetrics(ctx context.Context, account, region, namespace string, data []Metric) error
}

// PublishMetrics publishes service metrics every interval until ctx ends.
func (s *Service) PublishMetrics(ctx context.Context, interval time.Duration, u Utilization, pub MetricPublisher) {
	if interval <= 0 {
		interval = DefaultMetricsInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.publishMetrics(ctx, u, pub); err != nil && ctx.Err() == nil {
			s.log.Warn("ecs: publishing service metrics", "err", err)
		}
	}
}

// metricService is what publishing needs of a service record.
type metricService struct {
	sc                        scope
	cluster, name             string
	insights                  bool
	running, pending, desired int
}

func insightsOn(c *clusterRecord) bool {
	for _, st := range c.Settings {
		if deref(st.Name) == ecsapi.ClusterSettingNameContainerInsights {
			v := strings.ToLower(deref(st.Value))
			return v == "enabled" || v == "enhanced"
		}
	}
	return false
}

func (s *Service) publishMetrics(ctx context.Context, u Utilization, pub MetricPublisher) error {
	var svcs []metricService
	err := s.st.View(ctx, func(tx store.Tx) error {
		var scopes []scope
		err := listDocs(tx, kindScope, global, "", "", func(id string, _ *struct{}) (bool, error) {
			if account, region, ok := strings.Cut(id, "/"); ok {
				scopes = append(scopes, scope{account: account, region: region})
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		for _, sc := range scopes {
			clusters := map[string]*clusterRecord{}
			err := listDocs(tx, KindService, sc, "", "", func(_ string, raw *json.RawMessage) (bool, error) {
				var r serviceRecord
				if json.Unmarshal(*raw, &r) != nil || r.Status != svcActive {
					return true, nil
				}
				c, ok := clusters[r.Cluster]
				if !ok {
					var gerr error
					if c, gerr = getDoc[clusterRecord](tx, kindCluster, sc, r.Cluster); gerr != nil {
						return false, gerr
					}
					clusters[r.Cluster] = c
				}
				if c == nil {
					return true, nil
				}
				svcs = append(svcs, metricService{sc: sc, cluster: r.Cluster, name: r.Name, insights: insightsOn(c),
					running: r.RunningCount, pending: r.PendingCount, desired: r.DesiredCount})
				return true, nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	type clusterKey struct {
		sc      scope
		cluster string
	}
	now := s.clock()
	sums := map[clusterKey]*Usage{}
	var order []clusterKey
	for _, m := range svcs {
		us, err := u.ServiceUsage(ctx, m.sc.account, m.sc.region, m.cluster, m.name)
		if err != nil {
			s.log.Warn("ecs: measuring service", "cluster", m.cluster, "service", m.name, "err", err)
		}
		if m.insights {
			dims := map[string]string{"ClusterName": m.cluster, "ServiceName": m.name}
			data := []Metric{
				{Name: "RunningTaskCount", Dimensions: dims, Value: float64(m.running), Unit: "Count", Timestamp: now},
				{Name: "PendingTaskCount", Dimensions: dims, Value: float64(m.pending), Unit: "Count", Timestamp: now},
				{Name: "DesiredTaskCount", Dimensions: dims, Value: float64(m.desired), Unit: "Count", Timestamp: now},
			}
			if err := pub.PutMetrics(ctx, m.sc.account, m.sc.region, "ECS/ContainerInsights", data); err != nil {
				return err
			}
		}
		if us.Tasks == 0 || us.CPUReserved <= 0 || us.MemReserved <= 0 {
			continue
		}
		dims := map[string]string{"ClusterName": m.cluster, "ServiceName": m.name}
		if err := pub.PutMetrics(ctx, m.sc.account, m.sc.region, "AWS/ECS", utilizationMetrics(us, dims, now)); err != nil {
			return err
		}
		k := clusterKey{m.sc, m.cluster}
		sum, ok := sums[k]
		if !ok {
			sum = &Usage{}
			sums[k] = sum
			order = append(order, k)
		}
		sum.Tasks += us.Tasks
		sum.CPUUsed += us.CPUUsed
		sum.CPUReserved += us.CPUReserved
		sum.MemUsed += us.MemUsed
		sum.MemReserved += us.MemReserved
	}
	for _, k := range order {
		dims := map[string]string{"ClusterName": k.cluster}
		if err := pub.PutMetrics(ctx, k.sc.account, k.sc.region, "AWS/ECS", utilizationMetrics(*sums[k], dims, now)); err != nil {
			return err
		}
	}
	return nil
}

func utilizationMetrics(u Usage, dims map[string]string, now time.Time) []Metric {
	return []Metric{
		{Name: "CPUUtilization", Dimensions: dims, Value: 100 * u.CPUUsed / u.CPUReserved, Unit: "Percent", Timestamp: now},
		{Name: "MemoryUtilization", Dimensions: dims, Value: 100 * u.MemUsed / u.MemReserved, Unit: "Percent", Timestamp: now},
	}
}
