package codedeploy

import (
	"context"
	"slices"
	"strings"

	cdapi "github.com/berth-dev/berth/api/codedeploy"
	"github.com/berth-dev/berth/store"
)

// maxTags is CodeDeploy's limit of tags on one resource.
const maxTags = 50

// withTagged runs fn on the tags of the application or deployment group
// arn names, in one transaction, and writes them back when write is set.
func (s *Service) withTagged(ctx context.Context, arn *string, write bool, fn func(tags *[]tag) error) error {
	if arn == nil || *arn == "" {
		return cdapi.NewResourceArnRequiredException("A resource ARN must be specified (ResourceArn).")
	}
	sc, typ, name, ok := parseARN(*arn)
	if !ok {
		return cdapi.NewInvalidArnException("%s is not a CodeDeploy ARN (arn:aws:codedeploy:<region>:<account>:application:<name>).", *arn)
	}
	if caller := callerOf(ctx); sc != caller {
		return cdapi.NewInvalidArnException("The ARN %s is not in this account and region (%s, %s).", *arn, caller.account, caller.region)
	}
	run := s.st.View
	if write {
		run = s.st.Update
	}
	return internal(run(ctx, func(tx store.Tx) error {
		switch typ {
		case "application":
			app, err := getApp(tx, sc, name)
			if err != nil {
				return err
			}
			if err := fn(&app.Tags); err != nil || !write {
				return err
			}
			return putDoc(tx, kindApplication, sc, app.Name, app, s.now())
		case "deploymentgroup":
			appName, groupName, ok := strings.Cut(name, "/")
			if !ok {
				return cdapi.NewInvalidArnException("A deployment group ARN ends in deploymentgroup:<application>/<group>, not %s.", name)
			}
			app, g, err := getGroup(tx, sc, appName, groupName)
			if err != nil {
				return err
			}
			if err := fn(&g.Tags); err != nil || !write {
				return err
			}
			return putDoc(tx, kindGroup, sc, groupKey(app.ID, groupName), g, s.now())
		}
		return cdapi.NewArnNotSupportedException("Tags are supported on applications and deployment groups, not on %s.", typ)
	}))
}

func (s *Service) TagResource(ctx context.Context, in *cdapi.TagResourceInput) (*cdapi.TagResourceOutput, error) {
	if len(in.Tags) == 0 {
		return nil, cdapi.NewTagRequiredException("At least one tag must be specified (Tags).")
	}
	for _, t := range in.Tags {
		if str(t.Key) == "" {
			return nil, cdapi.NewInvalidTagsToAddException("Every tag needs a Key.")
		}
	}
	err := s.withTagged(ctx, in.ResourceArn, true, func(tags *[]tag) error {
		merged := mergeTags(*tags, toTags(in.Tags))
		if len(merged) > maxTags {
			return cdapi.NewTagLimitExceededException("A resource can have at most %d tags; this would make %d.", maxTags, len(merged))
		}
		*tags = merged
		return nil
	})
	return &cdapi.TagResourceOutput{}, err
}

func (s *Service) UntagResource(ctx context.Context, in *cdapi.UntagResourceInput) (*cdapi.UntagResourceOutput, error) {
	err := s.withTagged(ctx, in.ResourceArn, true, func(tags *[]tag) error {
		*tags = slices.DeleteFunc(*tags, func(t tag) bool { return slices.Contains(in.TagKeys, t.Key) })
		return nil
	})
	return &cdapi.UntagResourceOutput{}, err
}

func (s *Service) ListTagsForResource(ctx context.Context, in *cdapi.ListTagsForResourceInput) (*cdapi.ListTagsForResourceOutput, error) {
	out := &cdapi.ListTagsForResourceOutput{}
	err := s.withTagged(ctx, in.ResourceArn, false, func(tags *[]tag) error {
		out.Tags = fromTags(*tags)
		return nil
	})
	return out, err
}
