package logs

import (
	"context"
	"errors"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	logsapi "github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// CreateLogGroup creates a log group in the caller's account and region.
func (s *Service) CreateLogGroup(ctx context.Context, in *logsapi.CreateLogGroupInput) (*logsapi.CreateLogGroupOutput, error) {
	c := callerOf(ctx)
	name := *in.LogGroupName
	if strings.HasPrefix(name, "aws/") {
		return nil, invalidParam("Log group names can't start with aws/.")
	}
	if err := checkTagKeys(in.Tags); err != nil {
		return nil, err
	}
	g := &store.LogGroup{
		Account:            c.Account,
		Region:             c.Region,
		Name:               name,
		CreatedAt:          ms(s.now()),
		Class:              string(logsapi.LogGroupClassStandard),
		KMSKeyID:           str(in.KmsKeyId),
		DeletionProtection: in.DeletionProtectionEnabled != nil && *in.DeletionProtectionEnabled,
		Tags:               maps.Clone(in.Tags),
	}
	if in.LogGroupClass != nil {
		g.Class = string(*in.LogGroupClass)
	}
	// Log events in the Delivery class are kept for one day.
	if g.Class == string(logsapi.LogGroupClassDelivery) {
		g.RetentionDays = 1
	}
	err := s.st.Update(ctx, func(tx store.Tx) error { return tx.CreateLogGroup(g) })
	if errors.Is(err, store.ErrConflict) {
		return nil, logsapi.NewResourceAlreadyExistsException("The specified log group already exists")
	}
	if err != nil {
		return nil, apiErr("CreateLogGroup", err)
	}
	return &logsapi.CreateLogGroupOutput{}, nil
}

// DeleteLogGroup deletes a log group with all its streams and events.
func (s *Service) DeleteLogGroup(ctx context.Context, in *logsapi.DeleteLogGroupInput) (*logsapi.DeleteLogGroupOutput, error) {
	c := callerOf(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		g, err := getGroup(tx, c, *in.LogGroupName)
		if err != nil {
			return err
		}
		if g.DeletionProtection {
			return logsapi.NewValidationException("Log group %s has deletion protection enabled; disable it with PutLogGroupDeletionProtection first.", g.Name)
		}
		if err := deleteGroupFilters(tx, c, g.Name); err != nil {
			return err
		}
		return tx.DeleteLogGroup(g.ID)
	})
	if err != nil {
		return nil, apiErr("DeleteLogGroup", err)
	}
	return &logsapi.DeleteLogGroupOutput{}, nil
}

// DescribeLogGroups lists the caller's log groups in name order.
func (s *Service) DescribeLogGroups(ctx context.Context, in *logsapi.DescribeLogGroupsInput) (*logsapi.DescribeLogGroupsOutput, error) {
	c := callerOf(ctx)
	if in.LogGroupNamePrefix != nil && in.LogGroupNamePattern != nil {
		return nil, invalidParam("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	}
	q := store.LogGroupQuery{Prefix: str(in.LogGroupNamePrefix), Contains: str(in.LogGroupNamePattern)}
	if in.LogGroupClass != nil {
		q.Class = string(*in.LogGroupClass)
	}
	if in.LogGroupIdentifiers != nil {
		if in.LogGroupNamePrefix != nil || in.LogGroupNamePattern != nil {
			return nil, invalidParam("logGroupIdentifiers cannot be combined with logGroupNamePrefix or logGroupNamePattern.")
		}
		q.Names = []string{}
		for _, id := range in.LogGroupIdentifiers {
			name, err := c.identifierName(id)
			if err != nil {
				if awsapi.AsError(err).Code == logsapi.CodeResourceNotFoundException {
					continue // another account's group: not listed
				}
				return nil, err
			}
			q.Names = append(q.Names, name)
		}
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	q.After = after
	limit := limitOf(in.Limit, describeLimit)
	q.Limit = limit + 1
	var groups []store.LogGroup
	var filters map[string]int32
	var protected map[string]bool
	err = s.st.View(ctx, func(tx store.Tx) error {
		var err error
		if groups, err = tx.ListLogGroups(c.Account, c.Region, q); err != nil {
			return err
		}
		if protected, err = dataProtectedGroups(tx, c); err != nil {
			return err
		}
		filters, err = metricFilterCounts(tx, c)
		return err
	})
	if err != nil {
		return nil, apiErr("DescribeLogGroups", err)
	}
	out := &logsapi.DescribeLogGroupsOutput{LogGroups: []logsapi.LogGroup{}}
	if len(groups) > limit {
		groups = groups[:limit]
		out.NextToken = encodeToken(groups[limit-1].Name)
	}
	for _, g := range groups {
		d := describeGroup(c, g)
		d.MetricFilterCount = ptr(filters[g.Name])
		if protected[g.Name] {
			d.DataProtectionStatus = ptr(logsapi.DataProtectionStatusActivated)
		}
		if in.LogGroupNamePattern != nil {
			// AWS's pattern search leaves out the size, retention and
			// protection fields.
			d = logsapi.LogGroup{
				LogGroupName: d.LogGroupName, CreationTime: d.CreationTime, Arn: d.Arn,
				LogGroupArn: d.LogGroupArn, LogGroupClass: d.LogGroupClass, MetricFilterCount: d.MetricFilterCount,
			}
		}
		out.LogGroups = append(out.LogGroups, d)
	}
	return out, nil
}

func describeGroup(c caller, g store.LogGroup) logsapi.LogGroup {
	class := logsapi.LogGroupClass(g.Class)
	d := logsapi.LogGroup{
		LogGroupName:              ptr(g.Name),
		CreationTime:              ptr(g.CreatedAt),
		MetricFilterCount:         ptr(int32(0)),
		Arn:                       ptr(c.groupARN(g.Name) + ":*"),
		StoredBytes:               ptr(g.StoredBytes),
		LogGroupClass:             &class,
		LogGroupArn:               ptr(c.groupARN(g.Name)),
		DeletionProtectionEnabled: ptr(g.DeletionProtection),
	}
	if g.RetentionDays > 0 {
		d.RetentionInDays = ptr(int32(g.RetentionDays))
	}
	if g.KMSKeyID != "" {
		d.KmsKeyId = ptr(g.KMSKeyID)
	}
	return d
}

// ListLogGroups is the newer listing: a regular expression over names.
func (s *Service) ListLogGroups(ctx context.Context, in *logsapi.ListLogGroupsInput) (*logsapi.ListLogGroupsOutput, error) {
	c := callerOf(ctx)
	var re *regexp.Regexp
	if in.LogGroupNamePattern != nil && *in.LogGroupNamePattern != "" {
		var err error
		if re, err = regexp.Compile(*in.LogGroupNamePattern); err != nil {
			return nil, invalidParam("logGroupNamePattern %q is not a valid regular expression.", *in.LogGroupNamePattern)
		}
	}
	q := store.LogGroupQuery{}
	if in.LogGroupClass != nil {
		q.Class = string(*in.LogGroupClass)
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	q.After = after
	limit := limitOf(in.Limit, describeLimit)
	out := &logsapi.ListLogGroupsOutput{LogGroups: []logsapi.LogGroupSummary{}}
	err = s.st.View(ctx, func(tx store.Tx) error {
		const batch = 500
		for {
			q.Limit = batch
			groups, err := tx.ListLogGroups(c.Account, c.Region, q)
			if err != nil {
				return err
			}
			for _, g := range groups {
				q.After = g.Name
				if re != nil && !re.MatchString(g.Name) || !tagsMatch(g.Tags, in.LogGroupTags) {
					continue
				}
				if len(out.LogGroups) == limit {
					out.NextToken = encodeToken(*out.LogGroups[limit-1].LogGroupName)
					return nil
				}
				class := logsapi.LogGroupClass(g.Class)
				out.LogGroups = append(out.LogGroups, logsapi.LogGroupSummary{
					LogGroupName: ptr(g.Name), LogGroupArn: ptr(c.groupARN(g.Name)), LogGroupClass: &class,
				})
			}
			if len(groups) < batch {
				return nil
			}
		}
	})
	if err != nil {
		return nil, apiErr("ListLogGroups", err)
	}
	return out, nil
}

func tagsMatch(tags map[string]string, filters []logsapi.TagFilter) bool {
	for _, f := range filters {
		v, ok := tags[str(f.Key)]
		if !ok || (len(f.Values) > 0 && !slices.Contains(f.Values, v)) {
			return false
		}
	}
	return true
}

// PutRetentionPolicy sets how long a group keeps its events.
func (s *Service) PutRetentionPolicy(ctx context.Context, in *logsapi.PutRetentionPolicyInput) (*logsapi.PutRetentionPolicyOutput, error) {
	days := *in.RetentionInDays
	if !slices.Contains(retentionDays, days) {
		enum := make([]string, len(retentionDays))
		for i, d := range retentionDays {
			enum[i] = strconv.Itoa(int(d))
		}
		var vs awsapi.Violations
		vs.Add("retentionInDays", days, awsapi.Constraint{Kind: awsapi.EnumSet, Enum: enum})
		return nil, vs.Err(logsapi.CodeInvalidParameterException, awsapi.CoralStyle)
	}
	err := s.updateGroup(ctx, *in.LogGroupName, func(g *store.LogGroup) error {
		if g.Class == string(logsapi.LogGroupClassDelivery) {
			return invalidParam("The retention of a log group in the DELIVERY class cannot be changed.")
		}
		g.RetentionDays = int(days)
		return nil
	})
	if err != nil {
		return nil, apiErr("PutRetentionPolicy", err)
	}
	return &logsapi.PutRetentionPolicyOutput{}, nil
}

// DeleteRetentionPolicy makes a group keep its events forever.
func (s *Service) DeleteRetentionPolicy(ctx context.Context, in *logsapi.DeleteRetentionPolicyInput) (*logsapi.DeleteRetentionPolicyOutput, error) {
	err := s.updateGroup(ctx, *in.LogGroupName, func(g *store.LogGroup) error {
		if g.Class == string(logsapi.LogGroupClassDelivery) {
			return invalidParam("The retention of a log group in the DELIVERY class cannot be changed.")
		}
		g.RetentionDays = 0
		return nil
	})
	if err != nil {
		return nil, apiErr("DeleteRetentionPolicy", err)
	}
	return &logsapi.DeleteRetentionPolicyOutput{}, nil
}

// PutLogGroupDeletionProtection turns deletion protection on or off.
func (s *Service) PutLogGroupDeletionProtection(ctx context.Context, in *logsapi.PutLogGroupDeletionProtectionInput) (*logsapi.PutLogGroupDeletionProtectionOutput, error) {
	name, err := callerOf(ctx).identifierName(*in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	err = s.updateGroup(ctx, name, func(g *store.LogGroup) error {
		g.DeletionProtection = *in.DeletionProtectionEnabled
		return nil
	})
	if err != nil {
		return nil, apiErr("PutLogGroupDeletionProtection", err)
	}
	return &logsapi.PutLogGroupDeletionProtectionOutput{}, nil
}

// updateGroup reads, changes and writes a group in one transaction.
func (s *Service) updateGroup(ctx context.Context, name string, change func(*store.LogGroup) error) error {
	c := callerOf(ctx)
	return s.st.Update(ctx, func(tx store.Tx) error {
		g, err := getGroup(tx, c, name)
		if err != nil {
			return err
		}
		if err := change(&g); err != nil {
			return err
		}
		return tx.UpdateLogGroup(g)
	})
}

// --- tags ---

func checkTagKeys[V any](tags map[string]V) error {
	for k := range tags {
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return invalidParam("Tag keys beginning with 'aws:' are reserved for AWS use: %s", k)
		}
	}
	return nil
}

func tooManyTags(arn string) error {
	return logsapi.NewTooManyTagsException("A resource can have no more than %d tags: %s", maxTags, arn)
}

// groupOfARN resolves the resourceArn of the tagging operations, which name
// a log group without the trailing ":*".
func (c caller) groupOfARN(arn string) (string, error) {
	name, found, ok := c.parseGroupARN(arn)
	if !ok {
		if strings.HasPrefix(arn, "arn:") && strings.Contains(arn, ":logs:") {
			// A destination or delivery resource: Berth keeps none.
			return "", logsapi.NewResourceNotFoundException("The specified resource does not exist: %s", arn)
		}
		return "", invalidParam("The specified resource ARN %s is not valid.", arn)
	}
	if !found {
		return "", logsapi.NewResourceNotFoundException("The specified resource does not exist: %s", arn)
	}
	return name, nil
}

func (s *Service) tag(ctx context.Context, op, name string, tags map[string]string) error {
	if err := checkTagKeys(tags); err != nil {
		return err
	}
	c := callerOf(ctx)
	err := s.updateGroup(ctx, name, func(g *store.LogGroup) error {
		merged := maps.Clone(g.Tags)
		if merged == nil {
			merged = map[string]string{}
		}
		maps.Copy(merged, tags)
		if len(merged) > maxTags {
			return tooManyTags(c.groupARN(name))
		}
		g.Tags = merged
		return nil
	})
	return apiErr(op, err)
}

func (s *Service) untag(ctx context.Context, op, name string, keys []string) error {
	err := s.updateGroup(ctx, name, func(g *store.LogGroup) error {
		for _, k := range keys {
			delete(g.Tags, k)
		}
		return nil
	})
	return apiErr(op, err)
}

func (s *Service) tagsOf(ctx context.Context, op, name string) (map[string]string, error) {
	c := callerOf(ctx)
	var g store.LogGroup
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		g, err = getGroup(tx, c, name)
		return err
	})
	if err != nil {
		return nil, apiErr(op, err)
	}
	if g.Tags == nil {
		g.Tags = map[string]string{}
	}
	return g.Tags, nil
}

// TagResource adds or replaces tags of a log group named by ARN.
func (s *Service) TagResource(ctx context.Context, in *logsapi.TagResourceInput) (*logsapi.TagResourceOutput, error) {
	if dest, ok, err := callerOf(ctx).destinationOfARN(*in.ResourceArn); ok {
		if err == nil {
			_, err = s.destinationTags(ctx, "TagResource", dest, in.Tags, nil)
		}
		if err != nil {
			return nil, err
		}
		return &logsapi.TagResourceOutput{}, nil
	}
	name, err := callerOf(ctx).groupOfARN(*in.ResourceArn)
	if err != nil {
		return nil, err
	}
	if err := s.tag(ctx, "TagResource", name, in.Tags); err != nil {
		return nil, err
	}
	return &logsapi.TagResourceOutput{}, nil
}

// UntagResource removes tags of a log group named by ARN.
func (s *Service) UntagResource(ctx context.Context, in *logsapi.UntagResourceInput) (*logsapi.UntagResourceOutput, error) {
	if dest, ok, err := callerOf(ctx).destinationOfARN(*in.ResourceArn); ok {
		if err == nil {
			_, err = s.destinationTags(ctx, "UntagResource", dest, nil, append([]string{}, in.TagKeys...))
		}
		if err != nil {
			return nil, err
		}
		return &logsapi.UntagResourceOutput{}, nil
	}
	name, err := callerOf(ctx).groupOfARN(*in.ResourceArn)
	if err != nil {
		return nil, err
	}
	if err := s.untag(ctx, "UntagResource", name, in.TagKeys); err != nil {
		return nil, err
	}
	return &logsapi.UntagResourceOutput{}, nil
}

// ListTagsForResource lists the tags of a log group named by ARN.
func (s *Service) ListTagsForResource(ctx context.Context, in *logsapi.ListTagsForResourceInput) (*logsapi.ListTagsForResourceOutput, error) {
	if dest, ok, err := callerOf(ctx).destinationOfARN(*in.ResourceArn); ok {
		var tags map[string]string
		if err == nil {
			tags, err = s.destinationTags(ctx, "ListTagsForResource", dest, nil, nil)
		}
		if err != nil {
			return nil, err
		}
		return &logsapi.ListTagsForResourceOutput{Tags: tags}, nil
	}
	name, err := callerOf(ctx).groupOfARN(*in.ResourceArn)
	if err != nil {
		return nil, err
	}
	tags, err := s.tagsOf(ctx, "ListTagsForResource", name)
	if err != nil {
		return nil, err
	}
	return &logsapi.ListTagsForResourceOutput{Tags: tags}, nil
}

// TagLogGroup is the older TagResource, by log group name.
func (s *Service) TagLogGroup(ctx context.Context, in *logsapi.TagLogGroupInput) (*logsapi.TagLogGroupOutput, error) {
	if err := s.tag(ctx, "TagLogGroup", *in.LogGroupName, in.Tags); err != nil {
		return nil, err
	}
	return &logsapi.TagLogGroupOutput{}, nil
}

// UntagLogGroup is the older UntagResource, by log group name.
func (s *Service) UntagLogGroup(ctx context.Context, in *logsapi.UntagLogGroupInput) (*logsapi.UntagLogGroupOutput, error) {
	if err := s.untag(ctx, "UntagLogGroup", *in.LogGroupName, in.Tags); err != nil {
		return nil, err
	}
	return &logsapi.UntagLogGroupOutput{}, nil
}

// ListTagsLogGroup is the older ListTagsForResource, by log group name.
func (s *Service) ListTagsLogGroup(ctx context.Context, in *logsapi.ListTagsLogGroupInput) (*logsapi.ListTagsLogGroupOutput, error) {
	tags, err := s.tagsOf(ctx, "ListTagsLogGroup", *in.LogGroupName)
	if err != nil {
		return nil, err
	}
	return &logsapi.ListTagsLogGroupOutput{Tags: tags}, nil
}
