package elb

import (
	"context"

	"github.com/berth-dev/berth/api/elbv2"
	"github.com/berth-dev/berth/store"
)

// tagged is a resource found by ARN for tagging: its tags, and how to
// store it back.
type tagged struct {
	tags map[string]string
	save func(map[string]string) error
}

func (s *Service) taggedByARN(tx store.Tx, acct, region, arn string) (tagged, error) {
	p, ok := parseARN(arn)
	if !ok {
		return tagged{}, validation("'%s' is not a valid ELB resource ARN", arn)
	}
	now := s.clock()
	switch p.Kind {
	case "loadbalancer":
		lb, err := s.lbByARN(tx, acct, region, arn)
		return tagged{lb.Tags, func(m map[string]string) error {
			lb.Tags = m
			return store.PutDoc(tx, kindLB, acct, region, lb.ID, lb, now)
		}}, err
	case "targetgroup":
		tg, err := s.tgByARN(tx, acct, region, arn)
		return tagged{tg.Tags, func(m map[string]string) error {
			tg.Tags = m
			return store.PutDoc(tx, kindTG, acct, region, tg.ID, tg, now)
		}}, err
	case "listener":
		l, lb, err := s.listenerByARN(tx, acct, region, arn)
		return tagged{l.Tags, func(m map[string]string) error {
			l.Tags = m
			return store.PutDoc(tx, kindListener, acct, region, lb.ID+"/"+l.ID, l, now)
		}}, err
	default:
		ref, err := s.ruleByARN(tx, acct, region, arn)
		if err == nil && ref.isDefault {
			return tagged{}, elbv2.NewOperationNotPermittedException("Default rules cannot be tagged")
		}
		return tagged{ref.rule.Tags, func(m map[string]string) error {
			ref.rule.Tags = m
			return store.PutDoc(tx, kindRule, acct, region, ref.listener.ID+"/"+ref.rule.ID, ref.rule, now)
		}}, err
	}
}

// AddTags adds or replaces tags of load balancers, target groups,
// listeners and rules.
func (s *Service) AddTags(ctx context.Context, in *elbv2.AddTagsInput) (*elbv2.AddTagsOutput, error) {
	acct, region := where(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		for _, arn := range in.ResourceArns {
			t, err := s.taggedByARN(tx, acct, region, arn)
			if err != nil {
				return err
			}
			m, err := addTags(t.tags, in.Tags)
			if err != nil {
				return err
			}
			if err := t.save(m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, internal(err)
	}
	return &elbv2.AddTagsOutput{}, nil
}

// RemoveTags removes tags by key.
func (s *Service) RemoveTags(ctx context.Context, in *elbv2.RemoveTagsInput) (*elbv2.RemoveTagsOutput, error) {
	acct, region := where(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		for _, arn := range in.ResourceArns {
			t, err := s.taggedByARN(tx, acct, region, arn)
			if err != nil {
				return err
			}
			for _, k := range in.TagKeys {
				delete(t.tags, k)
			}
			if err := t.save(t.tags); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, internal(err)
	}
	return &elbv2.RemoveTagsOutput{}, nil
}

// DescribeTags returns the tags of each resource.
func (s *Service) DescribeTags(ctx context.Context, in *elbv2.DescribeTagsInput) (*elbv2.DescribeTagsOutput, error) {
	acct, region := where(ctx)
	out := &elbv2.DescribeTagsOutput{TagDescriptions: []elbv2.TagDescription{}}
	err := s.st.View(ctx, func(tx store.Tx) error {
		for _, arn := range in.ResourceArns {
			t, err := s.taggedByARN(tx, acct, region, arn)
			if err != nil {
				return err
			}
			out.TagDescriptions = append(out.TagDescriptions, elbv2.TagDescription{ResourceArn: new(arn), Tags: tagsOut(t.tags)})
		}
		return nil
	})
	if err != nil {
		return nil, internal(err)
	}
	return out, nil
}
