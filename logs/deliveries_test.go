package logs

import (
	"testing"

	logsapi "github.com/berth-dev/berth/api/logs"
)

// The delivery operations declare ValidationException, not the
// InvalidParameterException of the older operations, so the checks their
// handlers share with those (tag keys, page tokens) answer with it too,
// while the older operations keep theirs.
func TestDeliveryBadInputIsValidationException(t *testing.T) {
	s, _ := newService(t)
	src := "arn:aws:cloudfront::123456789012:distribution/E1"
	_, err := s.PutDeliverySource(ctx0, &logsapi.PutDeliverySourceInput{Name: ptr("ds"), ResourceArn: ptr("not-an-arn"), LogType: ptr("ACCESS_LOGS")})
	wantCode(t, err, "ValidationException")
	_, err = s.PutDeliverySource(ctx0, &logsapi.PutDeliverySourceInput{Name: ptr("ds"), ResourceArn: &src, LogType: ptr("ACCESS_LOGS"), Tags: map[string]string{"aws:x": "y"}})
	wantCode(t, err, "ValidationException")
	_, err = s.DescribeDeliveries(ctx0, &logsapi.DescribeDeliveriesInput{NextToken: ptr("!!")})
	wantCode(t, err, "ValidationException")
	_, err = s.DescribeConfigurationTemplates(ctx0, &logsapi.DescribeConfigurationTemplatesInput{NextToken: ptr("!!")})
	wantCode(t, err, "ValidationException")

	_, err = s.DescribeLogGroups(ctx0, &logsapi.DescribeLogGroupsInput{NextToken: ptr("!!")})
	wantCode(t, err, "InvalidParameterException")
}
