package iam

import (
	"context"
	"net/url"
	"strings"

	"github.com/berth-dev/berth/awsapi"
)

// WrapQuery adjusts the generated awsQuery binding of IAM where IAM
// checks a parameter before the model's generic validation, with its own
// wording, so that clients see IAM's error rather than the generic one.
func WrapQuery(qs *awsapi.QueryService) {
	if op, ok := qs.Operations["CreateVirtualMFADevice"]; ok {
		qs.Operations["CreateVirtualMFADevice"] = func(ctx context.Context, params url.Values) ([]byte, error) {
			if params.Has("Path") {
				if p := params.Get("Path"); p != "" && len(p) <= 512 && (!strings.HasPrefix(p, "/") || !strings.HasSuffix(p, "/")) {
					return nil, badMFAPath()
				}
			}
			return op(ctx, params)
		}
	}
}

func badMFAPath() error {
	return awsapi.Errorf("ValidationError", "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.")
}
