package docker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/berth-dev/berth/runtime"
)

// engineError is an engine error classified as one of runtime's sentinels.
// It keeps the engine's error too, for its message and for callers that
// look deeper.
type engineError struct {
	kind error // a runtime.Err* sentinel, or nil when unclassified
	op   string
	err  error
}

func (e *engineError) Error() string { return "docker: " + e.op + ": " + e.err.Error() }
func (e *engineError) Unwrap() error { return e.err }
func (e *engineError) Is(target error) bool {
	return e.kind != nil && target == e.kind
}

// wrap classifies an error of the engine client. The client already maps
// HTTP statuses to containerd's errdefs classes; an unreachable socket is
// its own error type.
func wrap(err error, op string) error {
	if err == nil {
		return nil
	}
	// A caller's cancellation is not the engine's fault: keep it
	// recognisable as such.
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("docker: %s: %w", op, err)
	}
	return &engineError{kind: classify(err), op: op, err: err}
}

func classify(err error) error {
	switch {
	case client.IsErrConnectionFailed(err), cerrdefs.IsUnavailable(err):
		return runtime.ErrUnavailable
	case cerrdefs.IsNotFound(err):
		return runtime.ErrNotFound
	case cerrdefs.IsConflict(err), cerrdefs.IsAlreadyExists(err), cerrdefs.IsFailedPrecondition(err):
		return runtime.ErrConflict
	case cerrdefs.IsInvalidArgument(err):
		return runtime.ErrInvalidArgument
	case cerrdefs.IsNotImplemented(err):
		return runtime.ErrUnsupported
	case isGPUDriverMissing(err):
		return runtime.ErrUnsupported
	}
	return nil
}

// isGPUDriverMissing recognises the engine refusing a GPU device request
// because no GPU driver (nvidia-container-toolkit) is installed: it says so
// only in words, with a 500.
func isGPUDriverMissing(err error) bool {
	return strings.Contains(err.Error(), "could not select device driver")
}

// invalid is a spec error found before the engine is asked.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{runtime.ErrInvalidArgument}, args...)...)
}
