package logs

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"strings"

	logsapi "github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// Vended-log deliveries (sources, destinations, the deliveries between
// them) are stored records: Berth's AWS resources vend no logs, so nothing
// is ever delivered. They exist so that configurations which create them
// (Terraform, CDK) apply and read back.
const (
	kindDeliverySource      = "logs.delivery-source"
	kindDeliveryDestination = "logs.delivery-destination"
	kindDelivery            = "logs.delivery"
)

func (c caller) logsARN(kind, id string) string {
	return "arn:" + partition(c.Region) + ":logs:" + c.Region + ":" + c.Account + ":" + kind + ":" + id
}

// getRecord reads a record of a kind decoded as T; notFound is the message
// of the ResourceNotFoundException when there is none.
func getRecord[T any](tx store.Tx, c caller, kind, id, notFound string) (T, error) {
	var v T
	r, err := tx.GetResource(kind, c.Account, c.Region, id)
	if errors.Is(err, store.ErrNotFound) {
		return v, logsapi.NewResourceNotFoundException("%s", notFound)
	}
	if err != nil {
		return v, err
	}
	return v, json.Unmarshal(r.Doc, &v)
}

func (s *Service) putRecord(tx store.Tx, c caller, kind, id string, v any) error {
	doc, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.PutResource(store.Resource{Kind: kind, Account: c.Account, Region: c.Region, ID: id, Doc: doc, UpdatedAt: s.now()})
}

func checkTags(arn string, tags map[string]string) error {
	if err := checkTagKeys(tags); err != nil {
		return asValidation(err)
	}
	if len(tags) > maxTags {
		return tooManyTags(arn)
	}
	return nil
}

// invalidDelivery is the error of bad input to the delivery operations:
// their model declares ValidationException, not the InvalidParameterException
// of the older Logs operations, and SDKs raise the modeled class only for it.
func invalidDelivery(format string, args ...any) error {
	return logsapi.NewValidationException(format, args...)
}

// asValidation re-codes an InvalidParameterException from a check shared
// with the older operations (tag keys, page tokens) for the delivery
// operations.
func asValidation(err error) error {
	if e := awsapi.AsError(err); e != nil && e.Code == logsapi.CodeInvalidParameterException {
		return invalidDelivery("%s", e.Message)
	}
	return err
}

// deliveries returns every delivery of the caller.
func deliveries(tx store.Tx, c caller) ([]logsapi.Delivery, error) {
	recs, err := tx.ListResources(kindDelivery, c.Account, c.Region, "", store.Page{})
	if err != nil {
		return nil, err
	}
	out := make([]logsapi.Delivery, 0, len(recs))
	for _, r := range recs {
		var d logsapi.Delivery
		if err := json.Unmarshal(r.Doc, &d); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// PutDeliverySource creates or updates a delivery source: an AWS resource
// that vends logs of a type.
func (s *Service) PutDeliverySource(ctx context.Context, in *logsapi.PutDeliverySourceInput) (*logsapi.PutDeliverySourceOutput, error) {
	c := callerOf(ctx)
	arnParts := strings.SplitN(*in.ResourceArn, ":", 6)
	if len(arnParts) != 6 || arnParts[0] != "arn" || arnParts[2] == "" {
		return nil, invalidDelivery("Invalid resourceArn %s: it must be the ARN of the AWS resource that vends the logs.", *in.ResourceArn)
	}
	arn := c.logsARN("delivery-source", *in.Name)
	if err := checkTags(arn, in.Tags); err != nil {
		return nil, err
	}
	src := logsapi.DeliverySource{
		Name: in.Name, Arn: ptr(arn), ResourceArns: []string{*in.ResourceArn}, Service: ptr(arnParts[2]),
		LogType: in.LogType, Tags: maps.Clone(in.Tags), DeliverySourceConfiguration: in.DeliverySourceConfiguration,
		Status: ptr(logsapi.DeliverySourceStatusActive),
	}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		old, err := getRecord[logsapi.DeliverySource](tx, c, kindDeliverySource, *in.Name, "")
		switch {
		case err == nil:
			if str(old.LogType) != *in.LogType || old.ResourceArns[0] != *in.ResourceArn {
				return logsapi.NewConflictException("Delivery source %s already exists for %s (%s); its resource and log type cannot change.", *in.Name, old.ResourceArns[0], str(old.LogType))
			}
			src.Tags = old.Tags
		case !isNotFound(err):
			return err
		}
		return s.putRecord(tx, c, kindDeliverySource, *in.Name, src)
	})
	if err != nil {
		return nil, apiErr("PutDeliverySource", err)
	}
	return &logsapi.PutDeliverySourceOutput{DeliverySource: &src}, nil
}

// GetDeliverySource returns a delivery source.
func (s *Service) GetDeliverySource(ctx context.Context, in *logsapi.GetDeliverySourceInput) (*logsapi.GetDeliverySourceOutput, error) {
	c := callerOf(ctx)
	var src logsapi.DeliverySource
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		src, err = getRecord[logsapi.DeliverySource](tx, c, kindDeliverySource, *in.Name, noDeliverySource)
		return err
	})
	if err != nil {
		return nil, apiErr("GetDeliverySource", err)
	}
	return &logsapi.GetDeliverySourceOutput{DeliverySource: &src}, nil
}

// DescribeDeliverySources lists delivery sources in name order.
func (s *Service) DescribeDeliverySources(ctx context.Context, in *logsapi.DescribeDeliverySourcesInput) (*logsapi.DescribeDeliverySourcesOutput, error) {
	c := callerOf(ctx)
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, asValidation(err)
	}
	out := &logsapi.DescribeDeliverySourcesOutput{}
	err = s.st.View(ctx, func(tx store.Tx) error {
		out.DeliverySources, out.NextToken, err = pageOf[logsapi.DeliverySource](tx, c, kindDeliverySource, "", after, limitOf(in.Limit, describeLimit))
		return err
	})
	if err != nil {
		return nil, apiErr("DescribeDeliverySources", err)
	}
	return out, nil
}

// DeleteDeliverySource deletes a delivery source no delivery uses.
func (s *Service) DeleteDeliverySource(ctx context.Context, in *logsapi.DeleteDeliverySourceInput) (*logsapi.DeleteDeliverySourceOutput, error) {
	c := callerOf(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		if _, err := getRecord[logsapi.DeliverySource](tx, c, kindDeliverySource, *in.Name, noDeliverySource); err != nil {
			return err
		}
		ds, err := deliveries(tx, c)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if str(d.DeliverySourceName) == *in.Name {
				return logsapi.NewConflictException("Delivery source %s is used by delivery %s; delete the delivery first.", *in.Name, str(d.Id))
			}
		}
		return tx.DeleteResource(kindDeliverySource, c.Account, c.Region, *in.Name)
	})
	if err != nil {
		return nil, apiErr("DeleteDeliverySource", err)
	}
	return &logsapi.DeleteDeliverySourceOutput{}, nil
}

// deliveryDestinationRecord keeps a destination with its policy.
type deliveryDestinationRecord struct {
	Destination logsapi.DeliveryDestination `json:"destination"`
	Policy      *string                     `json:"policy,omitempty"`
}

// destinationTypeOf is the delivery destination type of a resource ARN.
func destinationTypeOf(arn string) (logsapi.DeliveryDestinationType, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return "", false
	}
	switch parts[2] {
	case "logs":
		return logsapi.DeliveryDestinationTypeCwl, strings.HasPrefix(parts[5], "log-group:")
	case "s3":
		return logsapi.DeliveryDestinationTypeS3, parts[5] != ""
	case "firehose":
		return logsapi.DeliveryDestinationTypeFh, strings.HasPrefix(parts[5], "deliverystream/")
	}
	return "", false
}

// PutDeliveryDestination creates or updates a delivery destination.
func (s *Service) PutDeliveryDestination(ctx context.Context, in *logsapi.PutDeliveryDestinationInput) (*logsapi.PutDeliveryDestinationOutput, error) {
	c := callerOf(ctx)
	arn := c.logsARN("delivery-destination", *in.Name)
	if err := checkTags(arn, in.Tags); err != nil {
		return nil, err
	}
	var typ logsapi.DeliveryDestinationType
	switch {
	case in.DeliveryDestinationConfiguration != nil && in.DeliveryDestinationConfiguration.DestinationResourceArn != nil:
		t, ok := destinationTypeOf(*in.DeliveryDestinationConfiguration.DestinationResourceArn)
		if !ok {
			return nil, invalidDelivery("Invalid destinationResourceArn %s: it must be a log group, S3 bucket or Firehose delivery stream ARN.", *in.DeliveryDestinationConfiguration.DestinationResourceArn)
		}
		if in.DeliveryDestinationType != nil && *in.DeliveryDestinationType != t {
			return nil, invalidDelivery("deliveryDestinationType %s does not match the destination resource, a %s destination.", *in.DeliveryDestinationType, t)
		}
		typ = t
	case in.DeliveryDestinationType != nil && *in.DeliveryDestinationType == logsapi.DeliveryDestinationTypeXray:
		typ = logsapi.DeliveryDestinationTypeXray
	default:
		return nil, invalidDelivery("deliveryDestinationConfiguration.destinationResourceArn is required unless deliveryDestinationType is XRAY.")
	}
	rec := deliveryDestinationRecord{Destination: logsapi.DeliveryDestination{
		Name: in.Name, Arn: ptr(arn), DeliveryDestinationType: &typ, OutputFormat: in.OutputFormat,
		DeliveryDestinationConfiguration: in.DeliveryDestinationConfiguration, Tags: maps.Clone(in.Tags),
	}}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		old, err := getRecord[deliveryDestinationRecord](tx, c, kindDeliveryDestination, *in.Name, "")
		switch {
		case err == nil:
			if *old.Destination.DeliveryDestinationType != typ {
				return logsapi.NewConflictException("Delivery destination %s is a %s destination; its type cannot change.", *in.Name, *old.Destination.DeliveryDestinationType)
			}
			rec.Policy, rec.Destination.Tags = old.Policy, old.Destination.Tags
			if rec.Destination.OutputFormat == nil {
				rec.Destination.OutputFormat = old.Destination.OutputFormat
			}
		case !isNotFound(err):
			return err
		}
		return s.putRecord(tx, c, kindDeliveryDestination, *in.Name, rec)
	})
	if err != nil {
		return nil, apiErr("PutDeliveryDestination", err)
	}
	return &logsapi.PutDeliveryDestinationOutput{DeliveryDestination: &rec.Destination}, nil
}

// AWS's words for a missing delivery source or destination.
const (
	noDeliverySource      = "Requested Delivery Source does not exist in this account."
	noDeliveryDestination = "Requested Delivery Destination does not exist in this account."
)

// GetDeliveryDestination returns a delivery destination.
func (s *Service) GetDeliveryDestination(ctx context.Context, in *logsapi.GetDeliveryDestinationInput) (*logsapi.GetDeliveryDestinationOutput, error) {
	c := callerOf(ctx)
	var rec deliveryDestinationRecord
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		rec, err = getRecord[deliveryDestinationRecord](tx, c, kindDeliveryDestination, *in.Name, noDeliveryDestination)
		return err
	})
	if err != nil {
		return nil, apiErr("GetDeliveryDestination", err)
	}
	return &logsapi.GetDeliveryDestinationOutput{DeliveryDestination: &rec.Destination}, nil
}

// DescribeDeliveryDestinations lists delivery destinations in name order.
func (s *Service) DescribeDeliveryDestinations(ctx context.Context, in *logsapi.DescribeDeliveryDestinationsInput) (*logsapi.DescribeDeliveryDestinationsOutput, error) {
	c := callerOf(ctx)
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, asValidation(err)
	}
	out := &logsapi.DescribeDeliveryDestinationsOutput{DeliveryDestinations: []logsapi.DeliveryDestination{}}
	err = s.st.View(ctx, func(tx store.Tx) error {
		recs, next, err := pageOf[deliveryDestinationRecord](tx, c, kindDeliveryDestination, "", after, limitOf(in.Limit, describeLimit))
		for _, r := range recs {
			out.DeliveryDestinations = append(out.DeliveryDestinations, r.Destination)
		}
		out.NextToken = next
		return err
	})
	if err != nil {
		return nil, apiErr("DescribeDeliveryDestinations", err)
	}
	return out, nil
}

// DeleteDeliveryDestination deletes a delivery destination no delivery uses.
func (s *Service) DeleteDeliveryDestination(ctx context.Context, in *logsapi.DeleteDeliveryDestinationInput) (*logsapi.DeleteDeliveryDestinationOutput, error) {
	c := callerOf(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		rec, err := getRecord[deliveryDestinationRecord](tx, c, kindDeliveryDestination, *in.Name, noDeliveryDestination)
		if err != nil {
			return err
		}
		ds, err := deliveries(tx, c)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if str(d.DeliveryDestinationArn) == *rec.Destination.Arn {
				return logsapi.NewConflictException("Delivery destination %s is used by delivery %s; delete the delivery first.", *in.Name, str(d.Id))
			}
		}
		return tx.DeleteResource(kindDeliveryDestination, c.Account, c.Region, *in.Name)
	})
	if err != nil {
		return nil, apiErr("DeleteDeliveryDestination", err)
	}
	return &logsapi.DeleteDeliveryDestinationOutput{}, nil
}

// PutDeliveryDestinationPolicy sets the policy of a delivery destination.
func (s *Service) PutDeliveryDestinationPolicy(ctx context.Context, in *logsapi.PutDeliveryDestinationPolicyInput) (*logsapi.PutDeliveryDestinationPolicyOutput, error) {
	c := callerOf(ctx)
	if !json.Valid([]byte(*in.DeliveryDestinationPolicy)) {
		return nil, invalidDelivery("deliveryDestinationPolicy must be a valid JSON IAM policy document.")
	}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		rec, err := getRecord[deliveryDestinationRecord](tx, c, kindDeliveryDestination, *in.DeliveryDestinationName, noDeliveryDestination)
		if err != nil {
			return err
		}
		rec.Policy = in.DeliveryDestinationPolicy
		return s.putRecord(tx, c, kindDeliveryDestination, *in.DeliveryDestinationName, rec)
	})
	if err != nil {
		return nil, apiErr("PutDeliveryDestinationPolicy", err)
	}
	return &logsapi.PutDeliveryDestinationPolicyOutput{Policy: &logsapi.Policy{DeliveryDestinationPolicy: in.DeliveryDestinationPolicy}}, nil
}

// GetDeliveryDestinationPolicy returns the policy of a delivery destination.
func (s *Service) GetDeliveryDestinationPolicy(ctx context.Context, in *logsapi.GetDeliveryDestinationPolicyInput) (*logsapi.GetDeliveryDestinationPolicyOutput, error) {
	c := callerOf(ctx)
	var rec deliveryDestinationRecord
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		rec, err = getRecord[deliveryDestinationRecord](tx, c, kindDeliveryDestination, *in.DeliveryDestinationName, noDeliveryDestination)
		return err
	})
	if err != nil {
		return nil, apiErr("GetDeliveryDestinationPolicy", err)
	}
	return &logsapi.GetDeliveryDestinationPolicyOutput{Policy: &logsapi.Policy{DeliveryDestinationPolicy: rec.Policy}}, nil
}

// DeleteDeliveryDestinationPolicy removes the policy of a delivery
// destination.
func (s *Service) DeleteDeliveryDestinationPolicy(ctx context.Context, in *logsapi.DeleteDeliveryDestinationPolicyInput) (*logsapi.DeleteDeliveryDestinationPolicyOutput, error) {
	c := callerOf(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		rec, err := getRecord[deliveryDestinationRecord](tx, c, kindDeliveryDestination, *in.DeliveryDestinationName, noDeliveryDestination)
		if err != nil {
			return err
		}
		if rec.Policy == nil {
			return logsapi.NewResourceNotFoundException("Delivery destination %s has no policy.", *in.DeliveryDestinationName)
		}
		rec.Policy = nil
		return s.putRecord(tx, c, kindDeliveryDestination, *in.DeliveryDestinationName, rec)
	})
	if err != nil {
		return nil, apiErr("DeleteDeliveryDestinationPolicy", err)
	}
	return &logsapi.DeleteDeliveryDestinationPolicyOutput{}, nil
}

// deliveryID is a delivery's id: 16 lowercase letters and digits.
func deliveryID() string {
	return strings.ReplaceAll(newID(), "-", "")[:16]
}

// CreateDelivery connects a delivery source to a delivery destination.
func (s *Service) CreateDelivery(ctx context.Context, in *logsapi.CreateDeliveryInput) (*logsapi.CreateDeliveryOutput, error) {
	c := callerOf(ctx)
	id := deliveryID()
	d := logsapi.Delivery{
		Id: ptr(id), Arn: ptr(c.logsARN("delivery", id)), DeliverySourceName: in.DeliverySourceName,
		DeliveryDestinationArn: in.DeliveryDestinationArn, RecordFields: in.RecordFields,
		FieldDelimiter: in.FieldDelimiter, S3DeliveryConfiguration: in.S3DeliveryConfiguration, Tags: maps.Clone(in.Tags),
	}
	if err := checkTags(*d.Arn, in.Tags); err != nil {
		return nil, err
	}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		if _, err := getRecord[logsapi.DeliverySource](tx, c, kindDeliverySource, *in.DeliverySourceName, noDeliverySource); err != nil {
			return err
		}
		prefix := c.logsARN("delivery-destination", "")
		if !strings.HasPrefix(*in.DeliveryDestinationArn, prefix) {
			return logsapi.NewResourceNotFoundException("The specified delivery destination %s does not exist.", *in.DeliveryDestinationArn)
		}
		dest, err := getRecord[deliveryDestinationRecord](tx, c, kindDeliveryDestination, strings.TrimPrefix(*in.DeliveryDestinationArn, prefix), noDeliveryDestination)
		if err != nil {
			return err
		}
		d.DeliveryDestinationType = dest.Destination.DeliveryDestinationType
		if in.S3DeliveryConfiguration != nil && *d.DeliveryDestinationType != logsapi.DeliveryDestinationTypeS3 {
			return invalidDelivery("s3DeliveryConfiguration applies only to S3 delivery destinations.")
		}
		ds, err := deliveries(tx, c)
		if err != nil {
			return err
		}
		for _, o := range ds {
			if str(o.DeliverySourceName) == *in.DeliverySourceName && str(o.DeliveryDestinationArn) == *in.DeliveryDestinationArn {
				return logsapi.NewConflictException("A delivery from %s to %s already exists: %s.", *in.DeliverySourceName, *in.DeliveryDestinationArn, str(o.Id))
			}
		}
		return s.putRecord(tx, c, kindDelivery, id, d)
	})
	if err != nil {
		return nil, apiErr("CreateDelivery", err)
	}
	return &logsapi.CreateDeliveryOutput{Delivery: &d}, nil
}

const noDelivery = "The specified delivery does not exist."

// GetDelivery returns a delivery.
func (s *Service) GetDelivery(ctx context.Context, in *logsapi.GetDeliveryInput) (*logsapi.GetDeliveryOutput, error) {
	c := callerOf(ctx)
	var d logsapi.Delivery
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		d, err = getRecord[logsapi.Delivery](tx, c, kindDelivery, *in.Id, noDelivery)
		return err
	})
	if err != nil {
		return nil, apiErr("GetDelivery", err)
	}
	return &logsapi.GetDeliveryOutput{Delivery: &d}, nil
}

// DescribeDeliveries lists deliveries in id order.
func (s *Service) DescribeDeliveries(ctx context.Context, in *logsapi.DescribeDeliveriesInput) (*logsapi.DescribeDeliveriesOutput, error) {
	c := callerOf(ctx)
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, asValidation(err)
	}
	out := &logsapi.DescribeDeliveriesOutput{}
	err = s.st.View(ctx, func(tx store.Tx) error {
		out.Deliveries, out.NextToken, err = pageOf[logsapi.Delivery](tx, c, kindDelivery, "", after, limitOf(in.Limit, describeLimit))
		return err
	})
	if err != nil {
		return nil, apiErr("DescribeDeliveries", err)
	}
	return out, nil
}

// DeleteDelivery deletes a delivery.
func (s *Service) DeleteDelivery(ctx context.Context, in *logsapi.DeleteDeliveryInput) (*logsapi.DeleteDeliveryOutput, error) {
	c := callerOf(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		if _, err := getRecord[logsapi.Delivery](tx, c, kindDelivery, *in.Id, noDelivery); err != nil {
			return err
		}
		return tx.DeleteResource(kindDelivery, c.Account, c.Region, *in.Id)
	})
	if err != nil {
		return nil, apiErr("DeleteDelivery", err)
	}
	return &logsapi.DeleteDeliveryOutput{}, nil
}

// UpdateDeliveryConfiguration changes a delivery's record fields, field
// delimiter and S3 configuration.
func (s *Service) UpdateDeliveryConfiguration(ctx context.Context, in *logsapi.UpdateDeliveryConfigurationInput) (*logsapi.UpdateDeliveryConfigurationOutput, error) {
	c := callerOf(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		d, err := getRecord[logsapi.Delivery](tx, c, kindDelivery, *in.Id, noDelivery)
		if err != nil {
			return err
		}
		if in.RecordFields != nil {
			d.RecordFields = in.RecordFields
		}
		if in.FieldDelimiter != nil {
			d.FieldDelimiter = in.FieldDelimiter
		}
		if in.S3DeliveryConfiguration != nil {
			if *d.DeliveryDestinationType != logsapi.DeliveryDestinationTypeS3 {
				return invalidDelivery("s3DeliveryConfiguration applies only to S3 delivery destinations.")
			}
			d.S3DeliveryConfiguration = in.S3DeliveryConfiguration
		}
		return s.putRecord(tx, c, kindDelivery, *in.Id, d)
	})
	if err != nil {
		return nil, apiErr("UpdateDeliveryConfiguration", err)
	}
	return &logsapi.UpdateDeliveryConfigurationOutput{}, nil
}

// DescribeConfigurationTemplates lists the delivery configuration
// templates of AWS services. Berth hosts none of the services that vend
// logs, so there are none.
func (s *Service) DescribeConfigurationTemplates(ctx context.Context, in *logsapi.DescribeConfigurationTemplatesInput) (*logsapi.DescribeConfigurationTemplatesOutput, error) {
	if _, err := decodeToken(in.NextToken); err != nil {
		return nil, asValidation(err)
	}
	return &logsapi.DescribeConfigurationTemplatesOutput{ConfigurationTemplates: []logsapi.ConfigurationTemplate{}}, nil
}
