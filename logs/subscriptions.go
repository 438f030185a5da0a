package logs

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"

	logsapi "github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/logs/filter"
	"github.com/berth-dev/berth/store"
)

// Subscription filters are stored and listed like metric filters (ids
// "GROUP:FILTER"), but Berth delivers nothing to their destinations: there
// is no Kinesis, Firehose or Lambda to deliver to.
const kindSubscriptionFilter = "logs.subscription-filter"

// maxSubscriptionFilters is how many subscription filters a log group can
// have.
const maxSubscriptionFilters = 2

// destinationRE is what a subscription can point at: a Kinesis data stream,
// a Firehose delivery stream, a Lambda function or a CloudWatch Logs
// destination.
var destinationRE = regexp.MustCompile(`^arn:aws[a-z-]*:(kinesis:[a-z0-9-]+:\d{12}:stream/.+|firehose:[a-z0-9-]+:\d{12}:deliverystream/.+|lambda:[a-z0-9-]+:\d{12}:function:.+|logs:[a-z0-9-]+:\d{12}:destination:.+)$`)

// PutSubscriptionFilter creates or replaces a subscription filter.
func (s *Service) PutSubscriptionFilter(ctx context.Context, in *logsapi.PutSubscriptionFilterInput) (*logsapi.PutSubscriptionFilterOutput, error) {
	c := callerOf(ctx)
	if _, err := filter.Parse(*in.FilterPattern); err != nil {
		return nil, invalidParam("Invalid subscription filter pattern: %s", *in.FilterPattern)
	}
	if !destinationRE.MatchString(*in.DestinationArn) {
		return nil, invalidParam("Invalid destinationArn %s: it must be the ARN of a Kinesis stream, a Firehose delivery stream, a Lambda function or a CloudWatch Logs destination.", *in.DestinationArn)
	}
	// Logs writes to a stream with a role it assumes; only Lambda (by its
	// resource policy) and destinations (by theirs) need none.
	if vendor := strings.SplitN(*in.DestinationArn, ":", 4)[2]; (vendor == "kinesis" || vendor == "firehose") && str(in.RoleArn) == "" {
		return nil, invalidParam("destinationArn for vendor %s cannot be used without roleArn", vendor)
	}
	dist := logsapi.DistributionByLogStream
	if in.Distribution != nil {
		dist = *in.Distribution
	}
	sf := logsapi.SubscriptionFilter{
		FilterName:             in.FilterName,
		LogGroupName:           in.LogGroupName,
		FilterPattern:          in.FilterPattern,
		DestinationArn:         in.DestinationArn,
		RoleArn:                in.RoleArn,
		Distribution:           &dist,
		ApplyOnTransformedLogs: ptr(in.ApplyOnTransformedLogs != nil && *in.ApplyOnTransformedLogs),
		CreationTime:           ptr(ms(s.now())),
		FieldSelectionCriteria: in.FieldSelectionCriteria,
		EmitSystemFields:       in.EmitSystemFields,
	}
	doc, err := json.Marshal(sf)
	if err != nil {
		return nil, internal("PutSubscriptionFilter", err)
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		g, err := getGroup(tx, c, *in.LogGroupName)
		if err != nil {
			return err
		}
		id := filterID(g.Name, *in.FilterName)
		if _, err := tx.GetResource(kindSubscriptionFilter, c.Account, c.Region, id); errors.Is(err, store.ErrNotFound) {
			existing, err := tx.ListResources(kindSubscriptionFilter, c.Account, c.Region, g.Name+":", store.Page{})
			if err != nil {
				return err
			}
			if len(existing) >= maxSubscriptionFilters {
				return logsapi.NewLimitExceededException("Resource limit exceeded: log group %s already has %d subscription filters.", g.Name, maxSubscriptionFilters)
			}
		} else if err != nil {
			return err
		}
		return tx.PutResource(store.Resource{Kind: kindSubscriptionFilter, Account: c.Account, Region: c.Region, ID: id, Doc: doc, UpdatedAt: s.now()})
	})
	if err != nil {
		return nil, apiErr("PutSubscriptionFilter", err)
	}
	return &logsapi.PutSubscriptionFilterOutput{}, nil
}

// DeleteSubscriptionFilter deletes a subscription filter.
func (s *Service) DeleteSubscriptionFilter(ctx context.Context, in *logsapi.DeleteSubscriptionFilterInput) (*logsapi.DeleteSubscriptionFilterOutput, error) {
	c := callerOf(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		return deleteGroupChild(tx, c, *in.LogGroupName, *in.FilterName, kindSubscriptionFilter, "The specified subscription filter does not exist.")
	})
	if err != nil {
		return nil, apiErr("DeleteSubscriptionFilter", err)
	}
	return &logsapi.DeleteSubscriptionFilterOutput{}, nil
}

// DescribeSubscriptionFilters lists the subscription filters of a log
// group in name order.
func (s *Service) DescribeSubscriptionFilters(ctx context.Context, in *logsapi.DescribeSubscriptionFiltersInput) (*logsapi.DescribeSubscriptionFiltersOutput, error) {
	c := callerOf(ctx)
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	limit := limitOf(in.Limit, describeLimit)
	out := &logsapi.DescribeSubscriptionFiltersOutput{SubscriptionFilters: []logsapi.SubscriptionFilter{}}
	err = s.st.View(ctx, func(tx store.Tx) error {
		g, err := getGroup(tx, c, *in.LogGroupName)
		if err != nil {
			return err
		}
		out.SubscriptionFilters, out.NextToken, err = pageOf[logsapi.SubscriptionFilter](tx, c, kindSubscriptionFilter, filterID(g.Name, str(in.FilterNamePrefix)), after, limit)
		return err
	})
	if err != nil {
		return nil, apiErr("DescribeSubscriptionFilters", err)
	}
	return out, nil
}
