package eks

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	eksapi "github.com/berth-dev/berth/api/eks"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// Insights are computed when asked, from what Berth can check: the
// cluster's API server's own count of requests to deprecated APIs
// (apiserver_requested_deprecated_apis on /metrics), the compatibility of
// the cluster's add-ons with the next Kubernetes version, and the
// cluster's health. A refresh records when it ran; as the checks are made
// on every read it completes at once.
const kindInsightsRefresh = "eks.insightsrefresh"

type insightsRefresh struct {
	StartedAt time.Time `json:"startedAt"`
}

const (
	insightDeprecatedAPIs = "Deprecated APIs removed in Kubernetes v%s"
	insightAddons         = "Amazon EKS add-on version compatibility"
	insightHealth         = "Cluster health issues"
)

// insightID is stable per cluster (by its id) and insight.
func insightID(clusterID, name string) string {
	h := sha256.Sum256([]byte(clusterID + "/" + name))
	x := fmt.Sprintf("%x", h[:16])
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

func nextVersion(v string) string {
	return fmt.Sprintf("1.%d", minorOf(v)+1)
}

var deprecatedMetric = regexp.MustCompile(`^apiserver_requested_deprecated_apis\{([^}]*)\}\s+([0-9.e+]+)`)

// deprecatedAPIs reads which deprecated APIs the cluster's API server has
// served, with the release that removes each; ok is false
// when the API server cannot be asked.
func (s *Service) deprecatedAPIs(ctx context.Context, ref ClusterRef) (map[string]string, bool) {
	api, ok := s.cp.(adminAPI)
	if !ok {
		return nil, false
	}
	url, hc, err := api.AdminAPI(ref)
	if err != nil {
		return nil, false
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, url+"/metrics", nil)
	if err != nil {
		return nil, false
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, false
	}
	out := map[string]string{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		m := deprecatedMetric.FindStringSubmatch(sc.Text())
		if m == nil || m[2] == "0" {
			continue
		}
		labels := map[string]string{}
		for _, kv := range strings.Split(m[1], ",") {
			k, v, _ := strings.Cut(kv, "=")
			labels[k] = strings.Trim(v, `"`)
		}
		gv := labels["version"]
		if labels["group"] != "" {
			gv = labels["group"] + "/" + gv
		}
		// Deprecated APIs with no removal scheduled (v1 Endpoints, say)
		// break no upgrade.
		if labels["removed_release"] == "" {
			continue
		}
		out[gv+"/"+labels["resource"]] = labels["removed_release"]
	}
	return out, sc.Err() == nil
}

// insights computes a cluster's insights.
func (s *Service) insights(ctx context.Context, account, region, cname string) ([]eksapi.Insight, error) {
	var c clusterRec
	var addons []addonRec
	var refresh insightsRefresh
	var refreshed bool
	err := s.st.View(ctx, func(tx store.Tx) (err error) {
		if c, err = cluster(tx, account, region, cname); err != nil {
			return err
		}
		if c.Cluster.ConnectorConfig != nil {
			return eksapi.NewInvalidRequestException("Insights are not available for registered cluster %s.", cname)
		}
		if addons, _, err = store.AllDocs[addonRec](tx, kindAddon, account, region, cname+"/", store.Page{}); err != nil {
			return err
		}
		refresh, refreshed, err = getDoc[insightsRefresh](tx, kindInsightsRefresh, account, region, cname)
		return err
	})
	if err != nil {
		return nil, err
	}
	ref := ClusterRef{account, region, cname}
	version := deref(c.Cluster.Version)
	next := nextVersion(version)
	at := c.Cluster.CreatedAt.Time
	if refreshed {
		at = refresh.StartedAt
	}
	mk := func(name, desc, rec string, st eksapi.InsightStatusValue, reason string) eksapi.Insight {
		return eksapi.Insight{Id: new(insightID(deref(c.Cluster.Id), name)), Name: new(name), Category: new(eksapi.CategoryUpgradeReadiness),
			KubernetesVersion: new(next), LastRefreshTime: awsapi.Time(at), LastTransitionTime: awsapi.Time(at), Description: new(desc),
			InsightStatus: &eksapi.InsightStatus{Status: &st, Reason: &reason}, Recommendation: new(rec), AdditionalInfo: map[string]string{},
			Resources: []eksapi.InsightResourceDetail{}, CategorySpecificSummary: &eksapi.InsightCategorySpecificSummary{
				DeprecationDetails: []eksapi.DeprecationDetail{}, AddonCompatibilityDetails: []eksapi.AddonCompatibilityDetail{}}}
	}

	dep := mk(fmt.Sprintf(insightDeprecatedAPIs, next),
		fmt.Sprintf("Checks for usage of deprecated APIs that are scheduled for removal in Kubernetes v%s. Upgrading your cluster before migrating to the updated APIs will cause application impact.", next),
		"Update manifests and API clients to use newer Kubernetes APIs if applicable before upgrading to Kubernetes v"+next+".",
		eksapi.InsightStatusValuePassing, "No deprecated API usage detected within the last 30 days.")
	if used, ok := s.deprecatedAPIs(ctx, ref); !ok {
		dep.InsightStatus = &eksapi.InsightStatus{Status: new(eksapi.InsightStatusValueUnknown), Reason: new("The cluster's API server could not be asked for its deprecated API usage.")}
	} else {
		keys := make([]string, 0, len(used))
		for k := range used {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		worst := eksapi.InsightStatusValuePassing
		for _, k := range keys {
			removed := used[k]
			st := eksapi.InsightStatusValueWarning
			if removed == next {
				st = eksapi.InsightStatusValueError
			}
			if st == eksapi.InsightStatusValueError || worst == eksapi.InsightStatusValuePassing {
				worst = st
			}
			dep.CategorySpecificSummary.DeprecationDetails = append(dep.CategorySpecificSummary.DeprecationDetails, eksapi.DeprecationDetail{
				Usage: new("/" + k), StopServingVersion: new(removed), ClientStats: []eksapi.ClientStat{}})
		}
		if worst != eksapi.InsightStatusValuePassing {
			dep.InsightStatus = &eksapi.InsightStatus{Status: &worst, Reason: new("Deprecated API usage detected within the last 30 days.")}
		}
	}

	add := mk(insightAddons, fmt.Sprintf("Checks version of installed EKS add-ons to ensure they are compatible with the next version of Kubernetes (v%s).", next),
		"Upgrade your EKS add-ons to a version compatible with the next Kubernetes version before upgrading the cluster.",
		eksapi.InsightStatusValuePassing, "All installed EKS add-on versions are compatible with next Kubernetes version.")
	for _, a := range addons {
		spec, _ := catalogAddon(*a.Addon.AddonName)
		var compatible []string
		for _, v := range spec.Versions {
			if v.compatible(next) {
				compatible = append(compatible, v.Version)
			}
		}
		add.CategorySpecificSummary.AddonCompatibilityDetails = append(add.CategorySpecificSummary.AddonCompatibilityDetails,
			eksapi.AddonCompatibilityDetail{Name: a.Addon.AddonName, CompatibleVersions: orEmpty(compatible)})
		cur, _ := spec.version(deref(a.Addon.AddonVersion))
		if !cur.compatible(next) {
			add.InsightStatus = &eksapi.InsightStatus{Status: new(eksapi.InsightStatusValueError), Reason: new("Installed EKS add-on versions are not compatible with the next Kubernetes version.")}
			add.Resources = append(add.Resources, eksapi.InsightResourceDetail{Arn: a.Addon.AddonArn,
				InsightStatus: &eksapi.InsightStatus{Status: new(eksapi.InsightStatusValueError), Reason: new(*a.Addon.AddonName + " " + deref(a.Addon.AddonVersion) + " does not support Kubernetes v" + next)}})
		}
	}

	health := mk(insightHealth, "Checks for any cluster health issues that prevent successful upgrade to the next Kubernetes version on EKS.",
		"Resolve the cluster health issues before upgrading.", eksapi.InsightStatusValuePassing, "No cluster health issues detected.")
	if h := c.Cluster.Health; h != nil && len(h.Issues) > 0 {
		health.InsightStatus = &eksapi.InsightStatus{Status: new(eksapi.InsightStatusValueError), Reason: new(deref(h.Issues[0].Message))}
	}
	return []eksapi.Insight{dep, add, health}, nil
}

// ListInsights lists a cluster's insights, filtered by category, version
// and status.
func (s *Service) ListInsights(ctx context.Context, in *eksapi.ListInsightsInput) (*eksapi.ListInsightsOutput, error) {
	account, region := where(ctx)
	after, limit, err := pageArgs(in.MaxResults, in.NextToken, 100)
	if err != nil {
		return nil, err
	}
	all, err := s.insights(ctx, account, region, *in.ClusterName)
	if err != nil {
		return nil, err
	}
	out := &eksapi.ListInsightsOutput{Insights: []eksapi.InsightSummary{}}
	f := in.Filter
	passed := after == ""
	for _, i := range all {
		if !passed {
			passed = *i.Id == after
			continue
		}
		if f != nil && ((len(f.Categories) > 0 && !slices.Contains(f.Categories, *i.Category)) ||
			(len(f.KubernetesVersions) > 0 && !slices.Contains(f.KubernetesVersions, *i.KubernetesVersion)) ||
			(len(f.Statuses) > 0 && !slices.Contains(f.Statuses, *i.InsightStatus.Status))) {
			continue
		}
		if len(out.Insights) == limit {
			out.NextToken = pageToken(*out.Insights[len(out.Insights)-1].Id)
			break
		}
		out.Insights = append(out.Insights, eksapi.InsightSummary{Id: i.Id, Name: i.Name, Category: i.Category, KubernetesVersion: i.KubernetesVersion,
			LastRefreshTime: i.LastRefreshTime, LastTransitionTime: i.LastTransitionTime, Description: i.Description, InsightStatus: i.InsightStatus})
	}
	return out, nil
}

// DescribeInsight returns one insight with its details.
func (s *Service) DescribeInsight(ctx context.Context, in *eksapi.DescribeInsightInput) (*eksapi.DescribeInsightOutput, error) {
	account, region := where(ctx)
	all, err := s.insights(ctx, account, region, *in.ClusterName)
	if err != nil {
		return nil, err
	}
	for _, i := range all {
		if *i.Id == *in.Id {
			return &eksapi.DescribeInsightOutput{Insight: &i}, nil
		}
	}
	return nil, eksapi.NewResourceNotFoundException("No insight found for id: %s.", *in.Id)
}

// StartInsightsRefresh records a refresh; it is IN_PROGRESS in this answer
// and COMPLETED for DescribeInsightsRefresh.
func (s *Service) StartInsightsRefresh(ctx context.Context, in *eksapi.StartInsightsRefreshInput) (*eksapi.StartInsightsRefreshOutput, error) {
	account, region := where(ctx)
	cname := *in.ClusterName
	err := s.st.Update(ctx, func(tx store.Tx) error {
		c, err := cluster(tx, account, region, cname)
		if err != nil {
			return err
		}
		if c.Cluster.ConnectorConfig != nil {
			return eksapi.NewInvalidRequestException("Insights are not available for registered cluster %s.", cname)
		}
		return store.PutDoc(tx, kindInsightsRefresh, account, region, cname, insightsRefresh{StartedAt: s.now().UTC().Truncate(time.Millisecond)}, s.now())
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.StartInsightsRefreshOutput{Status: new(eksapi.InsightsRefreshStatusInProgress), Message: new("Insights refresh started.")}, nil
}

// DescribeInsightsRefresh reports the last refresh.
func (s *Service) DescribeInsightsRefresh(ctx context.Context, in *eksapi.DescribeInsightsRefreshInput) (*eksapi.DescribeInsightsRefreshOutput, error) {
	account, region := where(ctx)
	cname := *in.ClusterName
	var r insightsRefresh
	err := s.st.View(ctx, func(tx store.Tx) error {
		if _, err := cluster(tx, account, region, cname); err != nil {
			return err
		}
		var ok bool
		var err error
		if r, ok, err = getDoc[insightsRefresh](tx, kindInsightsRefresh, account, region, cname); err == nil && !ok {
			err = eksapi.NewResourceNotFoundException("No insights refresh has been started for cluster %s.", cname)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.DescribeInsightsRefreshOutput{Status: new(eksapi.InsightsRefreshStatusCompleted), Message: new("Insights refresh completed."),
		StartedAt: awsapi.Time(r.StartedAt), EndedAt: awsapi.Time(r.StartedAt)}, nil
}
