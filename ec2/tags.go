package ec2

import (
	"context"
	"sort"
	"strings"

	ec2api "github.com/berth-dev/berth/api/ec2"
)

// specTags reads the tags of TagSpecifications for a resource of kind;
// specifications for other kinds are refused as EC2 does.
func specTags(specs []ec2api.TagSpecification, kind string) (map[string]string, error) {
	var tags map[string]string
	for _, sp := range specs {
		if sp.ResourceType == nil || string(*sp.ResourceType) != kind {
			rt := ""
			if sp.ResourceType != nil {
				rt = string(*sp.ResourceType)
			}
			return nil, invalidParam("'%s' is not a valid taggable resource type for this operation.", rt)
		}
		for _, t := range sp.Tags {
			if tags == nil {
				tags = map[string]string{}
			}
			if err := checkTag(t); err != nil {
				return nil, err
			}
			tags[deref(t.Key)] = deref(t.Value)
		}
	}
	if len(tags) > maxTagsPerID {
		return nil, apiErr("TagLimitExceeded", "The maximum number of Tags for a resource has been reached.")
	}
	return tags, nil
}

func checkTag(t ec2api.Tag) error {
	k := deref(t.Key)
	switch {
	case k == "":
		return invalidParam("Tag key must not be empty")
	case len([]rune(k)) > 127:
		return invalidParam("Tag key exceeds the maximum length of 127 characters")
	case strings.HasPrefix(strings.ToLower(k), "aws:"):
		return invalidParam("Tag keys starting with 'aws:' are reserved for internal use")
	case len([]rune(deref(t.Value))) > 255:
		return invalidParam("Tag value exceeds the maximum length of 255 characters")
	}
	return nil
}

// tagged is a taggable resource: a pointer to its tags and its type.
type tagged struct {
	id   string
	kind string
	tags *map[string]string
}

// resource finds the taggable resource id in n.
func (n *network) resource(id string) (tagged, error) {
	switch {
	case strings.HasPrefix(id, "vpc-"):
		if err := vpcCodes.check(id); err != nil {
			return tagged{}, apiError(err)
		}
		if v := n.vpc(id); v != nil {
			return tagged{id, "vpc", &v.Tags}, nil
		}
		return tagged{}, apiError(vpcNotFound(id))
	case strings.HasPrefix(id, "subnet-"):
		if err := subCodes.check(id); err != nil {
			return tagged{}, apiError(err)
		}
		if sn := n.subnet(id); sn != nil {
			return tagged{id, "subnet", &sn.Tags}, nil
		}
		return tagged{}, apiError(subnetNotFound(id))
	case strings.HasPrefix(id, "sg-"):
		if err := sgCodes.check(id); err != nil {
			return tagged{}, apiError(err)
		}
		if g := n.group(id); g != nil {
			return tagged{id, "security-group", &g.Tags}, nil
		}
		return tagged{}, apiError(groupNotFound(id))
	}
	return tagged{}, apiErr("InvalidID", "The ID '"+id+"' is not valid")
}

// all lists every taggable resource of n.
func (n *network) all() []tagged {
	var out []tagged
	for _, v := range n.VPCs {
		out = append(out, tagged{v.ID, "vpc", &v.Tags})
	}
	for _, sn := range n.Subnets {
		out = append(out, tagged{sn.ID, "subnet", &sn.Tags})
	}
	for _, g := range n.Groups {
		out = append(out, tagged{g.ID, "security-group", &g.Tags})
	}
	return out
}

// CreateTags adds or overwrites tags of VPCs, subnets and security groups.
func (s *Service) CreateTags(ctx context.Context, in *ec2api.CreateTagsInput) (*ec2api.CreateTagsOutput, error) {
	if len(in.Resources) == 0 {
		return nil, missingParam("ResourceId")
	}
	for _, t := range in.Tags {
		if err := checkTag(t); err != nil {
			return nil, err
		}
	}
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	_, err := s.update(ctx, scopeOf(ctx), func(n *network) error {
		for _, id := range in.Resources {
			r, err := n.resource(id)
			if err != nil {
				return err
			}
			if *r.tags == nil {
				*r.tags = map[string]string{}
			}
			for _, t := range in.Tags {
				(*r.tags)[deref(t.Key)] = deref(t.Value)
			}
			if len(*r.tags) > maxTagsPerID {
				return apiErr("TagLimitExceeded", "The maximum number of Tags for a resource has been reached.")
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ec2api.CreateTagsOutput{}, nil
}

// DeleteTags removes tags: every tag when none are named, a named tag
// whatever its value when no value is given, else only with that value.
func (s *Service) DeleteTags(ctx context.Context, in *ec2api.DeleteTagsInput) (*ec2api.DeleteTagsOutput, error) {
	if len(in.Resources) == 0 {
		return nil, missingParam("ResourceId")
	}
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	_, err := s.update(ctx, scopeOf(ctx), func(n *network) error {
		for _, id := range in.Resources {
			r, err := n.resource(id)
			if err != nil {
				return err
			}
			if in.Tags == nil {
				*r.tags = nil
				continue
			}
			for _, t := range in.Tags {
				k := deref(t.Key)
				if v, ok := (*r.tags)[k]; ok && (t.Value == nil || *t.Value == v) {
					delete(*r.tags, k)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ec2api.DeleteTagsOutput{}, nil
}

// DescribeTags lists the tags of the account's VPCs, subnets and security
// groups, by resource id and key.
func (s *Service) DescribeTags(ctx context.Context, in *ec2api.DescribeTagsInput) (*ec2api.DescribeTagsOutput, error) {
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	n, err := s.view(ctx, scopeOf(ctx))
	if err != nil {
		return nil, err
	}
	out := &ec2api.DescribeTagsOutput{Tags: []ec2api.TagDescription{}}
	for _, r := range n.all() {
		keys := make([]string, 0, len(*r.tags))
		for k := range *r.tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := (*r.tags)[k]
			ok, err := matches(in.Filters, func(name string) ([]string, bool) {
				switch name {
				case "resource-id":
					return one(r.id), true
				case "resource-type":
					return one(r.kind), true
				case "key":
					return one(k), true
				case "value":
					return one(v), true
				}
				return tagAttrs(name, *r.tags)
			})
			if err != nil {
				return nil, err
			}
			if ok {
				rt := ec2api.ResourceType(r.kind)
				out.Tags = append(out.Tags, ec2api.TagDescription{ResourceId: str(r.id), ResourceType: &rt, Key: str(k), Value: str(v)})
			}
		}
	}
	if len(out.Tags) == 0 {
		if err := checkFilters(in.Filters, func(name string) ([]string, bool) {
			switch name {
			case "resource-id", "resource-type", "key", "value":
				return nil, true
			}
			return tagAttrs(name, nil)
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}
