package logs

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/api/jsonwire"
	logsapi "github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/awsapi"
)

// maxGroupOrStreamName is the model's bound on logGroupName and
// logStreamName.
const maxGroupOrStreamName = 512

// AdaptJSON adjusts the generated wire service of svc where CloudWatch
// Logs' front end answers differently from the model's generic
// validation: a log group or stream name over 512 characters is refused
// with the service's own message rather than Coral's "1 validation error
// detected", which is what AWS sends for every operation taking them; and
// metric namespaces may contain colons, as CloudWatch namespaces may,
// though the model's pattern [^:*$]* forbids them.
func AdaptJSON(js *awsapi.JSONService, svc *Service) {
	put := colonNamespaces(svc.PutMetricFilter, func(in *logsapi.PutMetricFilterInput) []*string {
		ns := make([]*string, len(in.MetricTransformations))
		for i, m := range in.MetricTransformations {
			ns[i] = m.MetricNamespace
		}
		return ns
	})
	js.Operations["PutMetricFilter"] = func(ctx context.Context, body []byte) (any, error) {
		out, err := put(ctx, body)
		return out, javaTransformations(body, err)
	}
	js.Operations["DescribeMetricFilters"] = colonNamespaces(svc.DescribeMetricFilters, func(in *logsapi.DescribeMetricFiltersInput) []*string {
		return []*string{in.MetricNamespace}
	})
	for name, op := range js.Operations {
		js.Operations[name] = checkNameLengths(op)
	}
}

func checkNameLengths(op awsapi.JSONOperation) awsapi.JSONOperation {
	return func(ctx context.Context, body []byte) (any, error) {
		var names struct {
			LogGroupName  any `json:"logGroupName"`
			LogStreamName any `json:"logStreamName"`
		}
		if json.Unmarshal(body, &names) == nil {
			for _, v := range []any{names.LogGroupName, names.LogStreamName} {
				if s, ok := v.(string); ok && awsapi.StringLength(s) > maxGroupOrStreamName {
					return nil, logsapi.NewInvalidParameterException("Invalid LogGroup or LogStream, both must have length less than or equal to 512.")
				}
			}
		}
		return op(ctx, body)
	}
}

// colonNamespaces is jsonwire.Op validating the input with the colons of
// its metric namespaces masked. A masked input that still breaks the model
// is validated again as sent, so the error quotes the caller's values.
func colonNamespaces[I, O any, P jsonwire.Input[I]](call func(context.Context, P) (*O, error), namespaces func(P) []*string) awsapi.JSONOperation {
	return func(ctx context.Context, body []byte) (any, error) {
		in := P(new(I))
		if err := jsonwire.Decode(body, in); err != nil {
			return nil, err
		}
		ns := namespaces(in)
		sent := make([]string, len(ns))
		for i, p := range ns {
			if p != nil {
				sent[i] = *p
				*p = strings.ReplaceAll(*p, ":", ".")
			}
		}
		masked := in.Validate()
		for i, p := range ns {
			if p != nil {
				*p = sent[i]
			}
		}
		if masked != nil {
			return nil, in.Validate()
		}
		out, err := call(ctx, in)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = new(O)
		}
		return out, nil
	}
}

const tooManyTransformations = "at 'metricTransformations' failed to satisfy constraint: Member must have length less than or equal to 1"

// javaTransformations rewords the model's one-transformation limit the way
// AWS's front end quotes the list: Java's toString of each
// MetricTransformation, every member named and null when unset, where the
// generic wording prints only the members given.
func javaTransformations(body []byte, err error) error {
	e := awsapi.AsError(err)
	if e == nil || !strings.HasPrefix(e.Message, "1 validation error detected: ") || !strings.HasSuffix(e.Message, tooManyTransformations) {
		return err
	}
	var in logsapi.PutMetricFilterInput
	if jsonwire.Decode(body, &in) != nil {
		return err
	}
	orNull := func(s *string) string {
		if s == nil {
			return "null"
		}
		return *s
	}
	parts := make([]string, len(in.MetricTransformations))
	for i, m := range in.MetricTransformations {
		def, unit, dims := "null", "null", "null"
		if m.DefaultValue != nil {
			def = strconv.FormatFloat(*m.DefaultValue, 'f', -1, 64)
			if !strings.ContainsAny(def, ".") {
				def += ".0" // a Java Double
			}
		}
		if m.Unit != nil {
			unit = string(*m.Unit)
		}
		if m.Dimensions != nil {
			kv := []string{}
			for _, k := range slices.Sorted(maps.Keys(m.Dimensions)) {
				kv = append(kv, k+"="+m.Dimensions[k])
			}
			dims = "{" + strings.Join(kv, ", ") + "}"
		}
		parts[i] = "MetricTransformation(metricName=" + orNull(m.MetricName) + ", metricNamespace=" + orNull(m.MetricNamespace) +
			", metricValue=" + orNull(m.MetricValue) + ", defaultValue=" + def + ", unit=" + unit + ", dimensions=" + dims + ")"
	}
	return awsapi.Errorf(e.Code, "1 validation error detected: Value '[%s]' %s", strings.Join(parts, ", "), tooManyTransformations)
}
