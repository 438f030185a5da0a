package eks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	eksapi "github.com/berth-dev/berth/api/eks"
	"github.com/berth-dev/berth/store"
)

const kindAddon = "eks.addon"

// addonRec is an add-on as the store keeps it, under "<cluster>/<name>".
type addonRec struct {
	Addon eksapi.Addon `json:"addon"`
	// Pending is the update the controller completes, if any.
	Pending string `json:"pending,omitempty"`
	// Token is the clientRequestToken of the create, so that a retry of it
	// succeeds.
	Token string `json:"token,omitempty"`
	// Preserve is DeleteAddon's preserve flag.
	Preserve bool `json:"preserve,omitempty"`
}

// addonGrace is how long an add-on Berth provides itself may wait for the
// control plane to make its Kubernetes objects before it is DEGRADED.
const addonGrace = 2 * time.Minute

func addonARN(account, region, cluster, name, id string) string {
	return fmt.Sprintf("arn:aws:eks:%s:%s:addon/%s/%s/%s", region, account, cluster, name, id)
}

// parseConfig reads configuration values, JSON or YAML, and checks them
// against the add-on's schema. Empty values are no configuration.
func parseConfig(a addonSpec, values *string) error {
	if values == nil || strings.TrimSpace(*values) == "" {
		return nil
	}
	var v any
	if err := yaml.Unmarshal([]byte(*values), &v); err != nil {
		return eksapi.NewInvalidParameterException("ConfigurationValue provided in request is not supported: it is neither valid JSON nor valid YAML (%v)", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return eksapi.NewInvalidParameterException("ConfigurationValue provided in request is not supported: Json schema validation failed with error: [$: %s found, object expected]", jsonType(v))
	}
	return a.checkConfig(m)
}

// resolveVersion checks an asked version against the cluster's Kubernetes
// version, or picks the default one.
func resolveVersion(a addonSpec, asked *string, k8s string) (string, error) {
	if asked == nil || *asked == "" {
		v, ok := a.defaultVersion(k8s)
		if !ok {
			return "", eksapi.NewInvalidParameterException("Addon %s has no version compatible with Kubernetes version %s", a.Name, k8s)
		}
		return v, nil
	}
	v, ok := a.version(*asked)
	if !ok {
		return "", eksapi.NewInvalidParameterException("Addon version specified is not supported: %s has no version %s (see describe-addon-versions)", a.Name, *asked)
	}
	if !v.compatible(k8s) {
		return "", eksapi.NewInvalidParameterException("Addon version specified is not supported: %s %s is not compatible with Kubernetes version %s", a.Name, *asked, k8s)
	}
	return v.Version, nil
}

// CreateAddon records the add-on CREATING; the controller makes it ACTIVE.
func (s *Service) CreateAddon(ctx context.Context, in *eksapi.CreateAddonInput) (*eksapi.CreateAddonOutput, error) {
	account, region := where(ctx)
	cname, name := *in.ClusterName, *in.AddonName
	spec, ok := catalogAddon(name)
	if !ok {
		return nil, eksapi.NewInvalidParameterException("Addon %s specified is not supported (see describe-addon-versions for the add-ons Berth offers)", name)
	}
	if in.ServiceAccountRoleArn != nil && !roleARNPattern.MatchString(*in.ServiceAccountRoleArn) {
		return nil, eksapi.NewInvalidParameterException("serviceAccountRoleArn %s is not a valid IAM role ARN.", *in.ServiceAccountRoleArn)
	}
	if len(in.PodIdentityAssociations) > 0 {
		return nil, eksapi.NewInvalidParameterException("podIdentityAssociations on add-ons are not supported by Berth yet: create the association with create-pod-identity-association instead.")
	}
	if err := parseConfig(spec, in.ConfigurationValues); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	ns := spec.Namespace
	if in.NamespaceConfig != nil && deref(in.NamespaceConfig.Namespace) != "" {
		ns = *in.NamespaceConfig.Namespace
	}
	var a eksapi.Addon
	err := s.st.Update(ctx, func(tx store.Tx) error {
		c, err := clusterTakingChildren(tx, account, region, cname)
		if err != nil {
			return err
		}
		key := cname + "/" + name
		if old, ok, err := getDoc[addonRec](tx, kindAddon, account, region, key); err != nil {
			return err
		} else if ok {
			if in.ClientRequestToken != nil && old.Token == *in.ClientRequestToken {
				a = old.Addon
				return nil
			}
			return eksapi.NewResourceInUseException("Addon already exists.")
		}
		version, err := resolveVersion(spec, in.AddonVersion, deref(c.Cluster.Version))
		if err != nil {
			return err
		}
		a = eksapi.Addon{AddonName: &name, ClusterName: &cname, Status: new(eksapi.AddonStatusCreating), AddonVersion: &version,
			Health: &eksapi.AddonHealth{Issues: []eksapi.AddonIssue{}}, AddonArn: new(addonARN(account, region, cname, name, newID())),
			CreatedAt: s.ts(), ModifiedAt: s.ts(), ServiceAccountRoleArn: in.ServiceAccountRoleArn, Tags: orEmptyMap(in.Tags),
			Publisher: new("eks"), Owner: new(spec.Owner), ConfigurationValues: in.ConfigurationValues,
			PodIdentityAssociations: []string{}, NamespaceConfig: &eksapi.AddonNamespaceConfigResponse{Namespace: &ns}}
		return store.PutDoc(tx, kindAddon, account, region, key, addonRec{Addon: a, Token: deref(in.ClientRequestToken)}, s.now())
	})
	if err != nil {
		return nil, err
	}
	s.kickController()
	return &eksapi.CreateAddonOutput{Addon: &a}, nil
}

func addon(tx store.Tx, account, region, cname, name string) (addonRec, error) {
	if _, err := cluster(tx, account, region, cname); err != nil {
		return addonRec{}, err
	}
	return mustGet[addonRec](tx, kindAddon, account, region, cname+"/"+name, eksapi.NewResourceNotFoundException("No addon: %s found in cluster: %s", name, cname))
}

// DescribeAddon returns an add-on.
func (s *Service) DescribeAddon(ctx context.Context, in *eksapi.DescribeAddonInput) (*eksapi.DescribeAddonOutput, error) {
	account, region := where(ctx)
	var a addonRec
	err := s.st.View(ctx, func(tx store.Tx) (err error) {
		a, err = addon(tx, account, region, *in.ClusterName, *in.AddonName)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.DescribeAddonOutput{Addon: &a.Addon}, nil
}

// ListAddons lists the names of a cluster's add-ons.
func (s *Service) ListAddons(ctx context.Context, in *eksapi.ListAddonsInput) (*eksapi.ListAddonsOutput, error) {
	account, region := where(ctx)
	names, next, err := s.listNames(ctx, kindAddon, account, region, *in.ClusterName, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &eksapi.ListAddonsOutput{Addons: names, NextToken: next}, nil
}

// UpdateAddon changes an add-on's version, role, conflict resolution or
// configuration: an AddonUpdate that the controller completes, the add-on
// UPDATING meanwhile.
func (s *Service) UpdateAddon(ctx context.Context, in *eksapi.UpdateAddonInput) (*eksapi.UpdateAddonOutput, error) {
	account, region := where(ctx)
	cname, name := *in.ClusterName, *in.AddonName
	if in.ServiceAccountRoleArn != nil && *in.ServiceAccountRoleArn != "" && !roleARNPattern.MatchString(*in.ServiceAccountRoleArn) {
		return nil, eksapi.NewInvalidParameterException("serviceAccountRoleArn %s is not a valid IAM role ARN.", *in.ServiceAccountRoleArn)
	}
	if len(in.PodIdentityAssociations) > 0 {
		return nil, eksapi.NewInvalidParameterException("podIdentityAssociations on add-ons are not supported by Berth yet: create the association with create-pod-identity-association instead.")
	}
	var u eksapi.Update
	err := s.st.Update(ctx, func(tx store.Tx) error {
		c, err := cluster(tx, account, region, cname)
		if err != nil {
			return err
		}
		a, err := addon(tx, account, region, cname, name)
		if err != nil {
			return err
		}
		if st := *a.Addon.Status; st != eksapi.AddonStatusActive && st != eksapi.AddonStatusDegraded && st != eksapi.AddonStatusUpdateFailed {
			return eksapi.NewResourceInUseException("Addon %s is in %s status; it can be updated once it is ACTIVE.", name, st)
		}
		spec, _ := catalogAddon(name)
		var ps []eksapi.UpdateParam
		if in.AddonVersion != nil {
			v, err := resolveVersion(spec, in.AddonVersion, deref(c.Cluster.Version))
			if err != nil {
				return err
			}
			// The catalogue lists versions newest first; EKS does not
			// downgrade add-ons.
			if spec.index(v) > spec.index(deref(a.Addon.AddonVersion)) {
				return eksapi.NewInvalidParameterException("Updating addon %s from %s to the older version %s is not supported: add-ons cannot be downgraded.", name, deref(a.Addon.AddonVersion), v)
			}
			a.Addon.AddonVersion = &v
			ps = append(ps, param(eksapi.UpdateParamTypeAddonVersion, v))
		}
		if in.ServiceAccountRoleArn != nil {
			a.Addon.ServiceAccountRoleArn = in.ServiceAccountRoleArn
			if *in.ServiceAccountRoleArn == "" {
				a.Addon.ServiceAccountRoleArn = nil
			}
			ps = append(ps, param(eksapi.UpdateParamTypeServiceAccountRoleArn, *in.ServiceAccountRoleArn))
		}
		if in.ResolveConflicts != nil {
			ps = append(ps, param(eksapi.UpdateParamTypeResolveConflicts, string(*in.ResolveConflicts)))
		}
		if in.ConfigurationValues != nil {
			if err := parseConfig(spec, in.ConfigurationValues); err != nil {
				return err
			}
			a.Addon.ConfigurationValues = in.ConfigurationValues
			ps = append(ps, param(eksapi.UpdateParamTypeConfigurationValues, *in.ConfigurationValues))
		}
		u = s.newUpdate(eksapi.UpdateTypeAddonUpdate, ps...)
		a.Addon.Status = new(eksapi.AddonStatusUpdating)
		a.Addon.ModifiedAt = s.ts()
		a.Pending = *u.Id
		if err := store.PutDoc(tx, kindAddon, account, region, cname+"/"+name, a, s.now()); err != nil {
			return err
		}
		return store.PutDoc(tx, kindUpdate, account, region, cname+"/"+*u.Id, updateRec{Update: u, Addon: name}, s.now())
	})
	if err != nil {
		return nil, err
	}
	s.kickController()
	return &eksapi.UpdateAddonOutput{Update: &u}, nil
}

// DeleteAddon marks an add-on DELETING; the controller forgets it. With
// preserve the add-on's software would stay on the cluster: on Berth the
// add-ons it provides itself stay either way (see docs/eks.md).
func (s *Service) DeleteAddon(ctx context.Context, in *eksapi.DeleteAddonInput) (*eksapi.DeleteAddonOutput, error) {
	account, region := where(ctx)
	cname, name := *in.ClusterName, *in.AddonName
	var a addonRec
	err := s.st.Update(ctx, func(tx store.Tx) (err error) {
		a, err = addon(tx, account, region, cname, name)
		if err != nil {
			return err
		}
		if *a.Addon.Status == eksapi.AddonStatusDeleting {
			return nil
		}
		a.Addon.Status = new(eksapi.AddonStatusDeleting)
		a.Addon.ModifiedAt = s.ts()
		a.Preserve = deref(in.Preserve)
		return store.PutDoc(tx, kindAddon, account, region, cname+"/"+name, a, s.now())
	})
	if err != nil {
		return nil, err
	}
	s.kickController()
	return &eksapi.DeleteAddonOutput{Addon: &a.Addon}, nil
}

// DescribeAddonVersions lists the catalogue, filtered by name, Kubernetes
// version, type, publisher and owner.
func (s *Service) DescribeAddonVersions(ctx context.Context, in *eksapi.DescribeAddonVersionsInput) (*eksapi.DescribeAddonVersionsOutput, error) {
	after, limit, err := pageArgs(in.MaxResults, in.NextToken, 100)
	if err != nil {
		return nil, err
	}
	k8s := deref(in.KubernetesVersion)
	out := &eksapi.DescribeAddonVersionsOutput{Addons: []eksapi.AddonInfo{}}
	names := make([]string, 0, len(addonCatalog))
	for _, a := range addonCatalog {
		names = append(names, a.Name)
	}
	slices.Sort(names)
	for _, n := range names {
		a, _ := catalogAddon(n)
		switch {
		case after != "" && n <= after,
			in.AddonName != nil && *in.AddonName != n,
			len(in.Types) > 0 && !slices.Contains(in.Types, a.Type),
			len(in.Publishers) > 0 && !slices.Contains(in.Publishers, "eks"),
			len(in.Owners) > 0 && !slices.Contains(in.Owners, a.Owner):
			continue
		}
		info := a.info(k8s)
		if len(info.AddonVersions) == 0 {
			continue
		}
		if len(out.Addons) == limit {
			out.NextToken = pageToken(*out.Addons[len(out.Addons)-1].AddonName)
			break
		}
		out.Addons = append(out.Addons, info)
	}
	return out, nil
}

// DescribeAddonConfiguration returns an add-on version's configuration
// schema and suggested pod identity configuration.
func (s *Service) DescribeAddonConfiguration(ctx context.Context, in *eksapi.DescribeAddonConfigurationInput) (*eksapi.DescribeAddonConfigurationOutput, error) {
	a, ok := catalogAddon(*in.AddonName)
	if !ok {
		return nil, eksapi.NewResourceNotFoundException("No addon found for name: %s", *in.AddonName)
	}
	if _, ok := a.version(*in.AddonVersion); !ok {
		return nil, eksapi.NewResourceNotFoundException("No version %s of addon %s found", *in.AddonVersion, *in.AddonName)
	}
	out := &eksapi.DescribeAddonConfigurationOutput{AddonName: in.AddonName, AddonVersion: in.AddonVersion,
		ConfigurationSchema: new(a.schema()), PodIdentityConfiguration: []eksapi.AddonPodIdentityConfiguration{}}
	if a.ServiceAccount != "" {
		out.PodIdentityConfiguration = append(out.PodIdentityConfiguration, eksapi.AddonPodIdentityConfiguration{
			ServiceAccount: new(a.ServiceAccount), RecommendedManagedPolicies: a.Policies})
	}
	return out, nil
}

// adminAPI is implemented by control planes that let Berth read a
// cluster's Kubernetes objects (eks/k8sproc).
type adminAPI interface {
	AdminAPI(c ClusterRef) (string, *http.Client, error)
}

// errMissing says an add-on's Kubernetes object is definitely absent.
var errMissing = errors.New("missing")

// addonPresent checks the Kubernetes object through which the cluster
// provides an add-on Berth runs itself: coredns is the cluster DNS behind
// kube-system/kube-dns. nil when present or when nothing can be checked.
func (s *Service) addonPresent(ctx context.Context, ref ClusterRef, name string) error {
	api, ok := s.cp.(adminAPI)
	if !ok || name != "coredns" {
		return nil
	}
	url, hc, err := api.AdminAPI(ref)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, url+"/api/v1/namespaces/kube-system/services/kube-dns", nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusNotFound:
		return errMissing
	}
	return fmt.Errorf("the API server answered %s", resp.Status)
}

// reconcileAddons makes CREATING and UPDATING add-ons ACTIVE (completing
// their update), checks the health of the ones Berth provides itself, and
// forgets DELETING ones with their updates.
func (s *Service) reconcileAddons(ctx context.Context, ref ClusterRef) error {
	var as []addonRec
	var ids []string
	err := s.st.View(ctx, func(tx store.Tx) (err error) {
		as, ids, err = store.AllDocs[addonRec](tx, kindAddon, ref.Account, ref.Region, ref.Name+"/", store.Page{})
		return err
	})
	if err != nil || len(as) == 0 {
		return err
	}
	type verdict struct {
		status eksapi.AddonStatus
		issues []eksapi.AddonIssue
	}
	want := map[string]verdict{}
	for i, a := range as {
		name, st := *a.Addon.AddonName, *a.Addon.Status
		if st == eksapi.AddonStatusDeleting {
			want[ids[i]] = verdict{status: st}
			continue
		}
		perr := s.addonPresent(ctx, ref, name)
		switch {
		case perr == nil:
			want[ids[i]] = verdict{status: eksapi.AddonStatusActive, issues: []eksapi.AddonIssue{}}
		case errors.Is(perr, errMissing) && (st == eksapi.AddonStatusActive || st == eksapi.AddonStatusDegraded || s.now().Sub(a.Addon.CreatedAt.Time) > addonGrace):
			want[ids[i]] = verdict{status: eksapi.AddonStatusDegraded, issues: []eksapi.AddonIssue{{Code: new(eksapi.AddonIssueCodeK8sResourceNotFound),
				Message: new("The cluster has no kube-system/kube-dns Service: its DNS server is not running."), ResourceIds: []string{"kube-system/kube-dns"}}}}
		}
		// Otherwise undecided (the control plane not answering, or still
		// making its objects): the next pass looks again.
	}
	changed := false
	for i, a := range as {
		if v, ok := want[ids[i]]; ok && (v.status != *a.Addon.Status || v.status == eksapi.AddonStatusDeleting || len(v.issues) != len(a.Addon.Health.Issues)) {
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return s.st.Update(ctx, func(tx store.Tx) error {
		for i, seen := range as {
			v, ok := want[ids[i]]
			if !ok {
				continue
			}
			cur, found, err := getDoc[addonRec](tx, kindAddon, ref.Account, ref.Region, ids[i])
			if err != nil {
				return err
			}
			if !found || *cur.Addon.Status != *seen.Addon.Status || cur.Pending != seen.Pending {
				continue // changed meanwhile: the next pass looks again
			}
			if v.status == eksapi.AddonStatusDeleting {
				if err := s.deleteAddonUpdates(tx, ref, *cur.Addon.AddonName); err != nil {
					return err
				}
				if err := store.DeleteDoc(tx, kindAddon, ref.Account, ref.Region, ids[i]); err != nil {
					return err
				}
				continue
			}
			cur.Addon.Status = new(v.status)
			cur.Addon.Health = &eksapi.AddonHealth{Issues: v.issues}
			if cur.Pending != "" {
				if err := s.finishUpdate(tx, ref, cur.Pending); err != nil {
					return err
				}
				cur.Pending = ""
			}
			if err := store.PutDoc(tx, kindAddon, ref.Account, ref.Region, ids[i], cur, s.now()); err != nil {
				return err
			}
		}
		return nil
	})
}

// deleteAddonUpdates forgets an add-on's updates, which go with it as in
// EKS.
func (s *Service) deleteAddonUpdates(tx store.Tx, ref ClusterRef, name string) error {
	us, uids, err := store.AllDocs[updateRec](tx, kindUpdate, ref.Account, ref.Region, ref.Name+"/", store.Page{})
	if err != nil {
		return err
	}
	for j, u := range us {
		if u.Addon == name {
			if err := store.DeleteDoc(tx, kindUpdate, ref.Account, ref.Region, uids[j]); err != nil {
				return err
			}
		}
	}
	return nil
}
