package eks

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"

	eksapi "github.com/berth-dev/berth/api/eks"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// versionInfo is a Kubernetes minor version's EKS calendar: 14 months of
// standard support from its release, then 12 of extended support. Dates
// past 1.34 follow Kubernetes' four-month release cadence.
type versionInfo struct {
	Version, Patch string
	Release        string // YYYY-MM-DD
}

var versionCalendar = []versionInfo{
	{"1.32", "1.32.9", "2025-01-23"},
	{"1.33", "1.33.5", "2025-05-29"},
	{"1.34", "1.34.1", "2025-10-02"},
	{"1.35", "1.35.0", "2026-01-27"},
	{"1.36", "1.36.0", "2026-05-26"},
	{"1.37", "1.37.0", "2026-09-22"},
}

func (v versionInfo) dates() (release, endStandard, endExtended time.Time) {
	release, _ = time.Parse(time.DateOnly, v.Release)
	return release, release.AddDate(0, 14, 0), release.AddDate(0, 26, 0)
}

func (v versionInfo) status(now time.Time) eksapi.VersionStatus {
	_, std, ext := v.dates()
	switch {
	case now.Before(std):
		return eksapi.VersionStatusStandardSupport
	case now.Before(ext):
		return eksapi.VersionStatusExtendedSupport
	}
	return eksapi.VersionStatusUnsupported
}

// DescribeClusterVersions lists the Kubernetes versions Berth offers with
// their support status and dates.
func (s *Service) DescribeClusterVersions(ctx context.Context, in *eksapi.DescribeClusterVersionsInput) (*eksapi.DescribeClusterVersionsOutput, error) {
	after, limit, err := pageArgs(in.MaxResults, in.NextToken, 100)
	if err != nil {
		return nil, err
	}
	if t := deref(in.ClusterType); t != "" && t != "eks" {
		return nil, eksapi.NewInvalidParameterException("clusterType %s is not supported: Berth only has eks clusters.", t)
	}
	now := s.now()
	out := &eksapi.DescribeClusterVersionsOutput{ClusterVersions: []eksapi.ClusterVersionInformation{}}
	// Newest first, as EKS lists them.
	for i := len(versionCalendar) - 1; i >= 0; i-- {
		v := versionCalendar[i]
		st := v.status(now)
		def := v.Version == DefaultVersion
		switch {
		case after != "" && minorOf(v.Version) >= minorOf(after),
			deref(in.DefaultOnly) && !def,
			len(in.ClusterVersions) > 0 && !slices.Contains(in.ClusterVersions, v.Version),
			in.VersionStatus != nil && *in.VersionStatus != st,
			in.Status != nil && string(*in.Status) != strings.ReplaceAll(strings.ToLower(string(st)), "_", "-"),
			st == eksapi.VersionStatusUnsupported && !deref(in.IncludeAll) && len(in.ClusterVersions) == 0:
			continue
		}
		if len(out.ClusterVersions) == limit {
			out.NextToken = pageToken(*out.ClusterVersions[len(out.ClusterVersions)-1].ClusterVersion)
			break
		}
		rel, std, ext := v.dates()
		out.ClusterVersions = append(out.ClusterVersions, eksapi.ClusterVersionInformation{
			ClusterVersion: new(v.Version), ClusterType: new("eks"), DefaultPlatformVersion: new("eks.1"), DefaultVersion: &def,
			ReleaseDate: awsapi.Time(rel), EndOfStandardSupportDate: awsapi.Time(std), EndOfExtendedSupportDate: awsapi.Time(ext),
			Status: new(eksapi.ClusterVersionStatus(strings.ReplaceAll(strings.ToLower(string(st)), "_", "-"))), VersionStatus: &st,
			KubernetesPatchVersion: new(v.Patch),
		})
	}
	return out, nil
}

// UpdateNodegroupVersion moves a node group to the cluster's Kubernetes
// version, another release, or another launch template version: a
// VersionUpdate that the controller completes like a config update.
func (s *Service) UpdateNodegroupVersion(ctx context.Context, in *eksapi.UpdateNodegroupVersionInput) (*eksapi.UpdateNodegroupVersionOutput, error) {
	account, region := where(ctx)
	cname, name := *in.ClusterName, *in.NodegroupName
	var u eksapi.Update
	err := s.st.Update(ctx, func(tx store.Tx) error {
		c, err := cluster(tx, account, region, cname)
		if err != nil {
			return err
		}
		ng, err := activeNodegroup(tx, account, region, cname, name)
		if err != nil {
			return err
		}
		n := &ng.Nodegroup
		cv := deref(c.Cluster.Version)
		version := cv
		if in.Version != nil {
			version = *in.Version
		}
		if !slices.Contains(SupportedVersions, version) {
			return eksapi.NewInvalidParameterException("Requested Kubernetes version %s is invalid. Supported versions: %s.", version, strings.Join(SupportedVersions, ", "))
		}
		if minorOf(version) > minorOf(cv) {
			return eksapi.NewInvalidParameterException("Requested Nodegroup version %s is invalid: it cannot be newer than the cluster's version %s.", version, cv)
		}
		if minorOf(version) < minorOf(deref(n.Version)) {
			return eksapi.NewInvalidParameterException("Requested Nodegroup version %s is invalid: node groups cannot be downgraded from %s.", version, deref(n.Version))
		}
		if in.LaunchTemplate != nil && in.Version != nil {
			return eksapi.NewInvalidParameterException("You cannot specify version with a launch template: the AMI of the launch template decides it.")
		}
		release := version + ".0-berth"
		if in.ReleaseVersion != nil {
			release = *in.ReleaseVersion
			if !releasePattern.MatchString(release) || !strings.HasPrefix(release, version+".") {
				return eksapi.NewInvalidParameterException("Requested release version %s is invalid: it must be a release of Kubernetes %s (%s.<patch>-<date or build>).", release, version, version)
			}
		}
		ps := []eksapi.UpdateParam{param(eksapi.UpdateParamTypeVersion, version), param(eksapi.UpdateParamTypeReleaseVersion, release)}
		if lt := in.LaunchTemplate; lt != nil {
			cur := n.LaunchTemplate
			if cur == nil {
				return eksapi.NewInvalidParameterException("Nodegroup %s was not created with a launch template, so none can be given.", name)
			}
			if (lt.Id != nil && deref(cur.Id) != "" && *lt.Id != *cur.Id) || (lt.Name != nil && deref(cur.Name) != "" && *lt.Name != *cur.Name) {
				return eksapi.NewInvalidParameterException("The launch template of a node group cannot be replaced, only its version changed.")
			}
			if lt.Version != nil {
				cur.Version = lt.Version
				ps = append(ps, param(eksapi.UpdateParamTypeLaunchTemplateVersion, *lt.Version))
			}
			if cur.Name != nil {
				ps = append(ps, param(eksapi.UpdateParamTypeLaunchTemplateName, *cur.Name))
			}
		}
		n.Version, n.ReleaseVersion = &version, &release
		u, err = s.startNodegroupUpdate(tx, account, region, cname, name, &ng, eksapi.UpdateTypeVersionUpdate, ps)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.kickController()
	return &eksapi.UpdateNodegroupVersionOutput{Update: &u}, nil
}

var (
	releasePattern = regexp.MustCompile(`^1\.[0-9]+\.[0-9]+-[A-Za-z0-9.]+$`)
	kmsKeyPattern  = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/.+$`)
)

// AssociateEncryptionConfig turns on envelope encryption of the cluster's
// secrets with a KMS key: an AssociateEncryptionConfig update. It is
// recorded, not applied: Berth's API servers keep secrets in their own
// store unencrypted (docs/eks.md).
func (s *Service) AssociateEncryptionConfig(ctx context.Context, in *eksapi.AssociateEncryptionConfigInput) (*eksapi.AssociateEncryptionConfigOutput, error) {
	if len(in.EncryptionConfig) != 1 {
		return nil, eksapi.NewInvalidParameterException("Exactly one encryptionConfig is required.")
	}
	ec := in.EncryptionConfig[0]
	if len(ec.Resources) != 1 || ec.Resources[0] != "secrets" {
		return nil, eksapi.NewInvalidParameterException("The only resource that can be encrypted is secrets: resources must be [\"secrets\"].")
	}
	if ec.Provider == nil || !kmsKeyPattern.MatchString(deref(ec.Provider.KeyArn)) {
		return nil, eksapi.NewInvalidParameterException("provider.keyArn must be the ARN of a KMS key (arn:aws:kms:<region>:<account>:key/<id>).")
	}
	u, err := s.updateCluster(ctx, *in.ClusterName, func(c *clusterRec) (eksapi.Update, error) {
		if len(c.Cluster.EncryptionConfig) > 0 {
			return eksapi.Update{}, eksapi.NewInvalidRequestException("Encryption is already enabled on cluster %s: it cannot be changed or turned off.", *in.ClusterName)
		}
		c.Cluster.EncryptionConfig = in.EncryptionConfig
		data, _ := jsonText(in.EncryptionConfig)
		return s.newUpdate(eksapi.UpdateTypeAssociateEncryptionConfig, param(eksapi.UpdateParamTypeEncryptionConfig, data)), nil
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.AssociateEncryptionConfigOutput{Update: u}, nil
}
