package elb

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/berth-dev/berth/api/elbv2"
	"github.com/berth-dev/berth/store"
)

// listenerDefaultAttributes are the attributes of an HTTP listener of an
// Application Load Balancer and their defaults (the mTLS, TLS and HSTS
// attributes belong to HTTPS listeners, which Berth does not have). Header
// values are empty until set; the server header is on by default.
var listenerDefaultAttributes = map[string]string{
	"routing.http.response.server.enabled":                                "true",
	"routing.http.response.access_control_allow_origin.header_value":      "",
	"routing.http.response.access_control_allow_methods.header_value":     "",
	"routing.http.response.access_control_allow_headers.header_value":     "",
	"routing.http.response.access_control_allow_credentials.header_value": "",
	"routing.http.response.access_control_expose_headers.header_value":    "",
	"routing.http.response.access_control_max_age.header_value":           "",
	"routing.http.response.content_security_policy.header_value":          "",
	"routing.http.response.x_content_type_options.header_value":           "",
	"routing.http.response.x_frame_options.header_value":                  "",
}

func listenerAttrsOut(l listenerRecord) []elbv2.ListenerAttribute {
	all := maps.Clone(listenerDefaultAttributes)
	maps.Copy(all, l.Attributes)
	out := []elbv2.ListenerAttribute{}
	for _, k := range slices.Sorted(maps.Keys(all)) {
		out = append(out, elbv2.ListenerAttribute{Key: str(k), Value: str(all[k])})
	}
	return out
}

// DescribeListenerAttributes returns a listener's attributes, defaults
// included. Terraform's aws_lb_listener reads them after every create
// and refresh.
func (s *Service) DescribeListenerAttributes(ctx context.Context, in *elbv2.DescribeListenerAttributesInput) (*elbv2.DescribeListenerAttributesOutput, error) {
	acct, region := where(ctx)
	var l listenerRecord
	err := s.st.View(ctx, func(tx store.Tx) (err error) {
		l, _, err = s.listenerByARN(tx, acct, region, deref(in.ListenerArn))
		return err
	})
	if err != nil {
		return nil, internal(err)
	}
	return &elbv2.DescribeListenerAttributesOutput{Attributes: listenerAttrsOut(l)}, nil
}

// ModifyListenerAttributes stores listener attributes. They are kept and
// returned; the proxy does not add the response headers they name.
func (s *Service) ModifyListenerAttributes(ctx context.Context, in *elbv2.ModifyListenerAttributesInput) (*elbv2.ModifyListenerAttributesOutput, error) {
	acct, region := where(ctx)
	var l listenerRecord
	err := s.st.Update(ctx, func(tx store.Tx) error {
		var (
			lb  lbRecord
			err error
		)
		l, lb, err = s.listenerByARN(tx, acct, region, deref(in.ListenerArn))
		if err != nil {
			return err
		}
		if l.Attributes == nil {
			l.Attributes = map[string]string{}
		}
		for _, a := range in.Attributes {
			k, v := deref(a.Key), deref(a.Value)
			if _, ok := listenerDefaultAttributes[k]; !ok {
				return validation("Listener attribute key '%s' is not recognized", k)
			}
			if strings.HasSuffix(k, ".enabled") && v != "true" && v != "false" {
				return validation("Listener attribute value '%s' is not valid for key '%s'", v, k)
			}
			l.Attributes[k] = v
		}
		return store.PutDoc(tx, kindListener, acct, region, lb.ID+"/"+l.ID, l, s.clock())
	})
	if err != nil {
		return nil, internal(err)
	}
	return &elbv2.ModifyListenerAttributesOutput{Attributes: listenerAttrsOut(l)}, nil
}
