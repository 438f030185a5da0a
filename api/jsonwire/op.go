package jsonwire

import (
	"context"

	"github.com/berth-dev/berth/awsapi"
)

// Input is what every generated input structure is: a pointer type that
// validates itself against the model.
type Input[I any] interface {
	*I
	Validate() error
}

// Op adapts a typed service method to an awsJson operation: decode the body
// strictly, validate it against the model, call, and return the output (an
// empty structure when the method returns none).
func Op[I, O any, P Input[I]](call func(context.Context, P) (*O, error)) awsapi.JSONOperation {
	return func(ctx context.Context, body []byte) (any, error) {
		in := P(new(I))
		if err := Decode(body, in); err != nil {
			return nil, err
		}
		if err := in.Validate(); err != nil {
			return nil, err
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
