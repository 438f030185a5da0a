package querywire

import (
	"context"
	"net/url"

	"github.com/berth-dev/berth/awsapi"
)

// Input is what every generated input structure is: a pointer type that
// validates itself against the model.
type Input[I any] interface {
	*I
	Validate() error
}

// Op adapts a typed service method to an awsQuery operation: decode the
// parameters, validate them against the model, call, and write the output
// inside the result element (none when result is "", for operations whose
// model has no output).
func Op[I, O any, P Input[I]](call func(context.Context, P) (*O, error), result string) awsapi.QueryOperation {
	return func(ctx context.Context, params url.Values) ([]byte, error) {
		in := P(new(I))
		if err := Decode(params, in); err != nil {
			return nil, err
		}
		if err := in.Validate(); err != nil {
			return nil, err
		}
		out, err := call(ctx, in)
		if err != nil {
			return nil, err
		}
		if result == "" {
			return nil, nil
		}
		if out == nil {
			out = new(O)
		}
		return EncodeResult(result, out), nil
	}
}
