package logs

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"regexp"
	"strings"

	logsapi "github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// Destinations are stored records (ids are the destination names): a
// subscription filter in another account may name one, but Berth delivers
// nothing through them, as it delivers nothing to subscription filters.
const kindDestination = "logs.destination"

// destinationNameRE is the model's pattern for destination names.
var destinationNameRE = regexp.MustCompile(`^[^:*]{1,512}$`)

// destinationTargetRE is what a destination may point at: a Kinesis data
// stream or a Firehose delivery stream, as AWS documents.
var destinationTargetRE = regexp.MustCompile(`^arn:aws[a-z-]*:(kinesis:[a-z0-9-]+:\d{12}:stream/.+|firehose:[a-z0-9-]+:\d{12}:deliverystream/.+)$`)

var roleARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/.+$`)

// destinationRecord is a destination with its tags, which the tagging
// operations reach by the destination's ARN.
type destinationRecord struct {
	Destination logsapi.Destination `json:"destination"`
	Tags        map[string]string   `json:"tags,omitempty"`
}

func (c caller) destinationARN(name string) string {
	return "arn:" + partition(c.Region) + ":logs:" + c.Region + ":" + c.Account + ":destination:" + name
}

// destinationOfARN returns the destination an ARN of the caller's account
// and region names; ok is false when the ARN is not a destination ARN.
func (c caller) destinationOfARN(arn string) (name string, ok bool, err error) {
	parts := strings.SplitN(arn, ":", 7)
	if len(parts) != 7 || parts[0] != "arn" || parts[2] != "logs" || parts[5] != "destination" {
		return "", false, nil
	}
	if parts[3] != c.Region || parts[4] != c.Account {
		return "", true, logsapi.NewResourceNotFoundException("The specified resource does not exist: %s", arn)
	}
	return parts[6], true, nil
}

func getDestination(tx store.Tx, c caller, name string) (destinationRecord, error) {
	var d destinationRecord
	r, err := tx.GetResource(kindDestination, c.Account, c.Region, name)
	if errors.Is(err, store.ErrNotFound) {
		return d, logsapi.NewResourceNotFoundException("The specified destination does not exist.")
	}
	if err != nil {
		return d, err
	}
	return d, json.Unmarshal(r.Doc, &d)
}

func (s *Service) putDestinationRecord(tx store.Tx, c caller, d destinationRecord) error {
	doc, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return tx.PutResource(store.Resource{Kind: kindDestination, Account: c.Account, Region: c.Region, ID: *d.Destination.DestinationName, Doc: doc, UpdatedAt: s.now()})
}

// PutDestination creates a destination or updates its target and role; the
// access policy and tags of an existing destination are kept.
func (s *Service) PutDestination(ctx context.Context, in *logsapi.PutDestinationInput) (*logsapi.PutDestinationOutput, error) {
	c := callerOf(ctx)
	name := *in.DestinationName
	if !destinationNameRE.MatchString(name) {
		return nil, invalidParam("1 validation error detected: Value '%s' at 'destinationName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*", name)
	}
	if !destinationTargetRE.MatchString(*in.TargetArn) {
		return nil, invalidParam("Invalid targetArn %s: a destination must target a Kinesis data stream or a Firehose delivery stream.", *in.TargetArn)
	}
	if !roleARNRE.MatchString(*in.RoleArn) {
		return nil, invalidParam("Invalid roleArn %s: it must be the ARN of an IAM role.", *in.RoleArn)
	}
	if err := checkTagKeys(in.Tags); err != nil {
		return nil, err
	}
	if len(in.Tags) > maxTags {
		return nil, tooManyTags(c.destinationARN(name))
	}
	var d destinationRecord
	err := s.st.Update(ctx, func(tx store.Tx) error {
		old, err := getDestination(tx, c, name)
		switch {
		case err == nil:
			// Tags apply only when the destination is created, as in AWS.
			d = old
		case isNotFound(err):
			d = destinationRecord{
				Destination: logsapi.Destination{DestinationName: ptr(name), Arn: ptr(c.destinationARN(name)), CreationTime: ptr(ms(s.now()))},
				Tags:        maps.Clone(in.Tags),
			}
		default:
			return err
		}
		d.Destination.TargetArn, d.Destination.RoleArn = in.TargetArn, in.RoleArn
		return s.putDestinationRecord(tx, c, d)
	})
	if err != nil {
		return nil, apiErr("PutDestination", err)
	}
	return &logsapi.PutDestinationOutput{Destination: &d.Destination}, nil
}

// isNotFound tells a ResourceNotFoundException from other errors.
func isNotFound(err error) bool {
	e := awsapi.AsError(err)
	return e != nil && e.Code == logsapi.CodeResourceNotFoundException
}

// PutDestinationPolicy sets the access policy of a destination.
func (s *Service) PutDestinationPolicy(ctx context.Context, in *logsapi.PutDestinationPolicyInput) (*logsapi.PutDestinationPolicyOutput, error) {
	c := callerOf(ctx)
	if !json.Valid([]byte(*in.AccessPolicy)) {
		return nil, invalidParam("accessPolicy must be a valid JSON IAM policy document.")
	}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		d, err := getDestination(tx, c, *in.DestinationName)
		if err != nil {
			return err
		}
		d.Destination.AccessPolicy = in.AccessPolicy
		return s.putDestinationRecord(tx, c, d)
	})
	if err != nil {
		return nil, apiErr("PutDestinationPolicy", err)
	}
	return &logsapi.PutDestinationPolicyOutput{}, nil
}

// DescribeDestinations lists destinations in name order.
func (s *Service) DescribeDestinations(ctx context.Context, in *logsapi.DescribeDestinationsInput) (*logsapi.DescribeDestinationsOutput, error) {
	c := callerOf(ctx)
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &logsapi.DescribeDestinationsOutput{Destinations: []logsapi.Destination{}}
	err = s.st.View(ctx, func(tx store.Tx) error {
		recs, next, err := pageOf[destinationRecord](tx, c, kindDestination, str(in.DestinationNamePrefix), after, limitOf(in.Limit, describeLimit))
		for _, r := range recs {
			out.Destinations = append(out.Destinations, r.Destination)
		}
		out.NextToken = next
		return err
	})
	if err != nil {
		return nil, apiErr("DescribeDestinations", err)
	}
	return out, nil
}

// DeleteDestination deletes a destination. Subscription filters that name
// it stay, as in AWS, and keep delivering nothing.
func (s *Service) DeleteDestination(ctx context.Context, in *logsapi.DeleteDestinationInput) (*logsapi.DeleteDestinationOutput, error) {
	c := callerOf(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		if _, err := getDestination(tx, c, *in.DestinationName); err != nil {
			return err
		}
		return tx.DeleteResource(kindDestination, c.Account, c.Region, *in.DestinationName)
	})
	if err != nil {
		return nil, apiErr("DeleteDestination", err)
	}
	return &logsapi.DeleteDestinationOutput{}, nil
}

// destinationTags changes and returns the tags of a destination: set adds
// or replaces, remove deletes keys.
func (s *Service) destinationTags(ctx context.Context, op, name string, set map[string]string, remove []string) (map[string]string, error) {
	c := callerOf(ctx)
	if err := checkTagKeys(set); err != nil {
		return nil, err
	}
	var tags map[string]string
	write := set != nil || remove != nil
	fn := func(tx store.Tx) error {
		d, err := getDestination(tx, c, name)
		if err != nil {
			return err
		}
		if d.Tags == nil {
			d.Tags = map[string]string{}
		}
		maps.Copy(d.Tags, set)
		for _, k := range remove {
			delete(d.Tags, k)
		}
		if len(d.Tags) > maxTags {
			return tooManyTags(*d.Destination.Arn)
		}
		tags = d.Tags
		if !write {
			return nil
		}
		return s.putDestinationRecord(tx, c, d)
	}
	var err error
	if write {
		err = s.st.Update(ctx, fn)
	} else {
		err = s.st.View(ctx, fn)
	}
	return tags, apiErr(op, err)
}
