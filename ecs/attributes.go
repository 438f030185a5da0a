package ecs

import (
	"context"
	"regexp"
	"slices"
	"strings"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/store"
)

// Attributes live in the container instance record next to the ones its
// agent registered, so that DescribeContainerInstances, ListContainerInstances'
// filter, requiresAttributes and memberOf constraints all see them.

// maxCustomAttributes is AWS's limit of custom attributes per resource.
const maxCustomAttributes = 10

var (
	attrNamePattern  = regexp.MustCompile(`^[a-zA-Z0-9_./\\-]{1,128}$`)
	attrValuePattern = regexp.MustCompile(`^[a-zA-Z0-9_.@/\\: -]{1,128}$`)
)

// builtinAttribute reports whether name is one the ECS agent reports, which
// does not count against the custom attribute limit.
func builtinAttribute(name string) bool {
	return strings.HasPrefix(name, "ecs.") || strings.HasPrefix(name, "com.amazonaws.ecs.")
}

func customCount(attrs []ecsapi.Attribute) int {
	n := 0
	for _, a := range attrs {
		if !builtinAttribute(deref(a.Name)) {
			n++
		}
	}
	return n
}

func errTargetNotFound(id string) error {
	return ecsapi.NewTargetNotFoundException("The specified target wasn't found: %s. You can view your available container instances with ListContainerInstances. Amazon ECS container instances are cluster-specific and Region-specific.", id)
}

// checkAttributeRefs validates the attributes of PutAttributes (values
// too) or DeleteAttributes.
func checkAttributeRefs(attrs []ecsapi.Attribute, withValues bool) error {
	if len(attrs) == 0 {
		return ecsapi.NewInvalidParameterException("attributes must contain at least one attribute.")
	}
	if len(attrs) > 10 {
		return ecsapi.NewInvalidParameterException("You can specify up to 10 attributes in a single call.")
	}
	for _, a := range attrs {
		name := deref(a.Name)
		if !attrNamePattern.MatchString(name) {
			return ecsapi.NewInvalidParameterException("Attribute name '%s' is invalid: up to 128 letters, numbers, hyphens, underscores, periods, forward slashes and back slashes are allowed.", name)
		}
		if withValues && a.Value != nil {
			v := *a.Value
			if !attrValuePattern.MatchString(v) || strings.TrimSpace(v) != v {
				return ecsapi.NewInvalidParameterException("Attribute value '%s' of '%s' is invalid: up to 128 letters, numbers, hyphens, underscores, periods, at signs, forward slashes, back slashes, colons and spaces are allowed, without leading or trailing spaces.", v, name)
			}
		}
		id := deref(a.TargetId)
		if id == "" {
			return ecsapi.NewInvalidParameterException("Attribute '%s' has no targetId.", name)
		}
		if !strings.HasPrefix(id, "arn:") && a.TargetType == nil {
			return ecsapi.NewInvalidParameterException("If you specify the target ID using the short form, you must also specify the target type.")
		}
	}
	return nil
}

// attributeTargets loads the container instances the attributes name, in
// cluster c, keyed by targetId.
func attributeTargets(tx store.Tx, sc scope, c *clusterRecord, attrs []ecsapi.Attribute) (map[string]*instanceRecord, error) {
	out := map[string]*instanceRecord{}
	for _, a := range attrs {
		id := deref(a.TargetId)
		if _, ok := out[id]; ok {
			continue
		}
		in, err := lookupInstance(tx, sc, c, id)
		if err != nil {
			return nil, err
		}
		if in == nil || in.Status == statusInactive {
			return nil, errTargetNotFound(id)
		}
		// Two spellings of one instance must share one record.
		for _, other := range out {
			if other.ID == in.ID {
				in = other
			}
		}
		out[id] = in
	}
	return out, nil
}

func (s *Service) saveTargets(tx store.Tx, sc scope, targets map[string]*instanceRecord) error {
	now := s.clock()
	saved := map[string]bool{}
	for _, in := range targets {
		if saved[in.ID] {
			continue
		}
		saved[in.ID] = true
		if err := putDoc(tx, kindInstance, sc, instanceKey(in.Cluster, in.ID), in, now); err != nil {
			return err
		}
	}
	return nil
}

// editAttributes applies edit to the target instance of each attribute, in
// order, and saves the instances in one transaction; withValue says whether
// the attributes may carry values (PutAttributes) or not.
func (s *Service) editAttributes(ctx context.Context, cluster *string, attrs []ecsapi.Attribute, withValue bool, edit func(rec *instanceRecord, a ecsapi.Attribute) error) error {
	sc := scopeOf(ctx)
	if err := checkAttributeRefs(attrs, withValue); err != nil {
		return err
	}
	return s.st.Update(ctx, func(tx store.Tx) error {
		c, err := lookupCluster(tx, sc, deref(cluster))
		if err != nil {
			return err
		}
		targets, err := attributeTargets(tx, sc, c, attrs)
		if err != nil {
			return err
		}
		for _, a := range attrs {
			if err := edit(targets[deref(a.TargetId)], a); err != nil {
				return err
			}
		}
		return s.saveTargets(tx, sc, targets)
	})
}

// PutAttributes creates or replaces attributes of container instances.
func (s *Service) PutAttributes(ctx context.Context, in *ecsapi.PutAttributesInput) (*ecsapi.PutAttributesOutput, error) {
	err := s.editAttributes(ctx, in.Cluster, in.Attributes, true, func(rec *instanceRecord, a ecsapi.Attribute) error {
		set := ecsapi.Attribute{Name: a.Name, Value: a.Value}
		i := slices.IndexFunc(rec.Attributes, func(b ecsapi.Attribute) bool { return deref(b.Name) == deref(a.Name) })
		if i >= 0 {
			rec.Attributes[i] = set
			return nil
		}
		rec.Attributes = append(rec.Attributes, set)
		if !builtinAttribute(deref(a.Name)) && customCount(rec.Attributes) > maxCustomAttributes {
			return ecsapi.NewAttributeLimitExceededException("You can apply up to %d custom attributes to a resource; %s would have more.", maxCustomAttributes, deref(a.TargetId))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.PutAttributesOutput{Attributes: in.Attributes}, nil
}

// DeleteAttributes removes attributes of container instances by name.
func (s *Service) DeleteAttributes(ctx context.Context, in *ecsapi.DeleteAttributesInput) (*ecsapi.DeleteAttributesOutput, error) {
	err := s.editAttributes(ctx, in.Cluster, in.Attributes, false, func(rec *instanceRecord, a ecsapi.Attribute) error {
		rec.Attributes = slices.DeleteFunc(rec.Attributes, func(b ecsapi.Attribute) bool { return deref(b.Name) == deref(a.Name) })
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.DeleteAttributesOutput{Attributes: in.Attributes}, nil
}

// ListAttributes lists the attributes of a cluster's container instances,
// one entry per attribute and instance, built-in ones included (as AWS
// does: ecs.os-type is a common filter).
func (s *Service) ListAttributes(ctx context.Context, in *ecsapi.ListAttributesInput) (*ecsapi.ListAttributesOutput, error) {
	sc := scopeOf(ctx)
	if in.AttributeValue != nil && in.AttributeName == nil {
		return nil, ecsapi.NewInvalidParameterException("You must also specify an attribute name to filter by attribute value.")
	}
	limit, after, err := pageParams(in.MaxResults, in.NextToken, 100, 100)
	if err != nil {
		return nil, err
	}
	afterInst, afterAttr, _ := strings.Cut(after, "|")
	out := &ecsapi.ListAttributesOutput{Attributes: []ecsapi.Attribute{}}
	err = s.st.View(ctx, func(tx store.Tx) error {
		out.Attributes, out.NextToken = out.Attributes[:0], nil
		c, err := lookupCluster(tx, sc, deref(in.Cluster))
		if err != nil {
			return err
		}
		lastInst, lastAttr := "", ""
		return listDocs(tx, kindInstance, sc, c.Name+"/", "", func(_ string, rec *instanceRecord) (bool, error) {
			if rec.Status == statusInactive || rec.ID < afterInst {
				return true, nil
			}
			// By name, so that a page can end inside an instance.
			attrs := slices.SortedFunc(slices.Values(rec.Attributes), func(a, b ecsapi.Attribute) int {
				return strings.Compare(deref(a.Name), deref(b.Name))
			})
			for _, a := range attrs {
				name := deref(a.Name)
				if rec.ID == afterInst && name <= afterAttr {
					continue
				}
				if in.AttributeName != nil && name != *in.AttributeName {
					continue
				}
				if in.AttributeValue != nil && deref(a.Value) != *in.AttributeValue {
					continue
				}
				if len(out.Attributes) == limit {
					out.NextToken = encodeToken(lastInst + "|" + lastAttr)
					return false, nil
				}
				out.Attributes = append(out.Attributes, ecsapi.Attribute{
					Name:       a.Name,
					Value:      a.Value,
					TargetType: ptr(ecsapi.TargetTypeContainerInstance),
					TargetId:   ptr(sc.instanceARN(rec.Cluster, rec.ID)),
				})
				lastInst, lastAttr = rec.ID, name
			}
			return true, nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
