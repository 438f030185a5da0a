package logs

import (
	"context"
	"errors"

	logsapi "github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/awsapi"
)

// validationExceptionOps are the Logs operations whose model declares
// ValidationException and not InvalidParameterException (vended-log
// deliveries, scheduled queries, S3 Tables integrations). AWS answers bad
// input to them with ValidationException, and SDKs raise the modeled
// exception class only for that code.
var validationExceptionOps = []string{
	"AssociateSourceToS3TableIntegration", "CreateDelivery", "CreateScheduledQuery", "DeleteDelivery",
	"DeleteDeliveryDestination", "DeleteDeliveryDestinationPolicy", "DeleteDeliverySource",
	"DeleteScheduledQuery", "DescribeConfigurationTemplates", "DescribeDeliveries",
	"DescribeDeliveryDestinations", "DescribeDeliverySources", "DisassociateSourceFromS3TableIntegration",
	"GetDelivery", "GetDeliveryDestination", "GetDeliveryDestinationPolicy", "GetDeliverySource",
	"GetScheduledQuery", "GetScheduledQueryHistory", "ListScheduledQueries",
	"ListSourcesForS3TableIntegration", "PutDeliveryDestination", "PutDeliveryDestinationPolicy",
	"PutDeliverySource", "UpdateDeliveryConfiguration", "UpdateScheduledQuery",
}

// UseValidationException makes those operations answer ValidationException
// where the generated validation (which uses the service-wide
// InvalidParameterException) or the handler reports invalid input.
func UseValidationException(ops map[string]awsapi.JSONOperation) {
	for _, name := range validationExceptionOps {
		op, ok := ops[name]
		if !ok {
			continue
		}
		ops[name] = func(ctx context.Context, body []byte) (any, error) {
			out, err := op(ctx, body)
			var ae *awsapi.Error
			if errors.As(err, &ae) && ae.Code == logsapi.CodeInvalidParameterException {
				c := *ae
				c.Code = logsapi.CodeValidationException
				return nil, &c
			}
			return out, err
		}
	}
}
