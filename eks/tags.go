package eks

import (
	"context"
	"regexp"
	"strings"

	eksapi "github.com/berth-dev/berth/api/eks"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// checkTags refuses the tag keys AWS reserves.
func checkTags(tags map[string]string) error {
	for k := range tags {
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return eksapi.NewInvalidParameterException("Tag keys starting with aws: are reserved for AWS use: %s.", k)
		}
	}
	return nil
}

var resourceARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:eks:([a-z0-9-]+):([0-9]{12}):(cluster|nodegroup|fargateprofile|access-entry|podidentityassociation|addon|identityproviderconfig|capability|eks-anywhere-subscription)/([^/]+)(?:/(.+))?$`)

// taggable reads, changes with fn and writes back the tags of the
// resource arn names, in one transaction.
func (s *Service) taggable(ctx context.Context, arn string, write bool, fn func(tags map[string]string) map[string]string) (map[string]string, error) {
	m := resourceARNPattern.FindStringSubmatch(arn)
	notFound := eksapi.NewNotFoundException("Resource %s not found.", arn)
	if m == nil {
		return nil, eksapi.NewBadRequestException("%s is not a valid EKS resource ARN.", arn)
	}
	region, account, kind, cname, rest := m[1], m[2], m[3], m[4], m[5]
	if id := identity(ctx); id.AccountID != account || id.Region != region {
		return nil, notFound
	}
	var out map[string]string
	run := s.st.View
	if write {
		run = s.st.Update
	}
	err := run(ctx, func(tx store.Tx) error {
		switch kind {
		case "cluster":
			if rest != "" {
				return notFound
			}
			c, ok, err := getDoc[clusterRec](tx, kindCluster, account, region, cname)
			if err != nil || !ok {
				return orErr(err, notFound)
			}
			c.Cluster.Tags = fn(orEmptyMap(c.Cluster.Tags))
			out = c.Cluster.Tags
			if write {
				return store.PutDoc(tx, kindCluster, account, region, cname, c, s.now())
			}
		case "nodegroup", "fargateprofile":
			name, _, _ := strings.Cut(rest, "/")
			k := kindNodegroup
			if kind == "fargateprofile" {
				k = kindFargate
			}
			if k == kindNodegroup {
				ng, ok, err := getDoc[nodegroupRec](tx, k, account, region, cname+"/"+name)
				if err != nil || !ok || *ng.Nodegroup.NodegroupArn != arn {
					return orErr(err, notFound)
				}
				ng.Nodegroup.Tags = fn(orEmptyMap(ng.Nodegroup.Tags))
				out = ng.Nodegroup.Tags
				if write {
					return store.PutDoc(tx, k, account, region, cname+"/"+name, ng, s.now())
				}
				return nil
			}
			fp, ok, err := getDoc[eksapi.FargateProfile](tx, k, account, region, cname+"/"+name)
			if err != nil || !ok || *fp.FargateProfileArn != arn {
				return orErr(err, notFound)
			}
			fp.Tags = fn(orEmptyMap(fp.Tags))
			out = fp.Tags
			if write {
				return store.PutDoc(tx, k, account, region, cname+"/"+name, fp, s.now())
			}
		case "podidentityassociation":
			rec, ok, err := getDoc[podIdentityRec](tx, kindPodIdentity, account, region, cname+"/"+rest)
			if err != nil || !ok || deref(rec.Association.AssociationArn) != arn {
				return orErr(err, notFound)
			}
			rec.Association.Tags = fn(orEmptyMap(rec.Association.Tags))
			out = rec.Association.Tags
			if write {
				return store.PutDoc(tx, kindPodIdentity, account, region, cname+"/"+rest, rec, s.now())
			}
		case "capability":
			name, _, _ := strings.Cut(rest, "/")
			c, ok, err := getDoc[capabilityRec](tx, kindCapability, account, region, cname+"/"+name)
			if err != nil || !ok || *c.Capability.Arn != arn {
				return orErr(err, notFound)
			}
			c.Capability.Tags = fn(orEmptyMap(c.Capability.Tags))
			out = c.Capability.Tags
			if write {
				return store.PutDoc(tx, kindCapability, account, region, cname+"/"+name, c, s.now())
			}
		case "eks-anywhere-subscription":
			// …:eks-anywhere-subscription/<id>: the "cluster" is the id.
			r, ok, err := getDoc[anywhereRec](tx, kindAnywhere, account, region, cname)
			if err != nil || !ok || rest != "" || *r.Sub.Arn != arn {
				return orErr(err, notFound)
			}
			r.Sub.Tags = fn(orEmptyMap(r.Sub.Tags))
			out = r.Sub.Tags
			if write {
				return store.PutDoc(tx, kindAnywhere, account, region, cname, r, s.now())
			}
		case "addon":
			name, _, _ := strings.Cut(rest, "/")
			a, ok, err := getDoc[addonRec](tx, kindAddon, account, region, cname+"/"+name)
			if err != nil || !ok || *a.Addon.AddonArn != arn {
				return orErr(err, notFound)
			}
			a.Addon.Tags = fn(orEmptyMap(a.Addon.Tags))
			out = a.Addon.Tags
			if write {
				return store.PutDoc(tx, kindAddon, account, region, cname+"/"+name, a, s.now())
			}
		case "identityproviderconfig":
			// …:identityproviderconfig/<cluster>/oidc/<name>/<uuid>
			parts := strings.Split(rest, "/")
			if len(parts) < 2 {
				return notFound
			}
			p, ok, err := getDoc[eksapi.OidcIdentityProviderConfig](tx, kindIdentityProvider, account, region, cname+"/"+parts[1])
			if err != nil || !ok || *p.IdentityProviderConfigArn != arn {
				return orErr(err, notFound)
			}
			p.Tags = fn(orEmptyMap(p.Tags))
			out = p.Tags
			if write {
				return store.PutDoc(tx, kindIdentityProvider, account, region, cname+"/"+parts[1], p, s.now())
			}
		case "access-entry":
			es, ids, err := store.AllDocs[accessRec](tx, kindAccess, account, region, cname+"/", store.Page{})
			if err != nil {
				return err
			}
			for i, e := range es {
				if *e.Entry.AccessEntryArn != arn {
					continue
				}
				e.Entry.Tags = fn(orEmptyMap(e.Entry.Tags))
				out = e.Entry.Tags
				if write {
					return store.PutDoc(tx, kindAccess, account, region, ids[i], e, s.now())
				}
				return nil
			}
			return notFound
		}
		return nil
	})
	return out, err
}

func orErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// TagResource adds or overwrites tags.
func (s *Service) TagResource(ctx context.Context, in *eksapi.TagResourceInput) (*eksapi.TagResourceOutput, error) {
	if err := checkTags(in.Tags); err != nil {
		return nil, eksapi.NewBadRequestException("%s", awsapi.AsError(err).Message)
	}
	_, err := s.taggable(ctx, *in.ResourceArn, true, func(tags map[string]string) map[string]string {
		for k, v := range in.Tags {
			tags[k] = v
		}
		return tags
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.TagResourceOutput{}, nil
}

// UntagResource removes tags; keys that are not there are ignored.
func (s *Service) UntagResource(ctx context.Context, in *eksapi.UntagResourceInput) (*eksapi.UntagResourceOutput, error) {
	_, err := s.taggable(ctx, *in.ResourceArn, true, func(tags map[string]string) map[string]string {
		for _, k := range in.TagKeys {
			delete(tags, k)
		}
		return tags
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.UntagResourceOutput{}, nil
}

// ListTagsForResource returns a resource's tags.
func (s *Service) ListTagsForResource(ctx context.Context, in *eksapi.ListTagsForResourceInput) (*eksapi.ListTagsForResourceOutput, error) {
	tags, err := s.taggable(ctx, *in.ResourceArn, false, func(tags map[string]string) map[string]string { return tags })
	if err != nil {
		return nil, err
	}
	return &eksapi.ListTagsForResourceOutput{Tags: tags}, nil
}
