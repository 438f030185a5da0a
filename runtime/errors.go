package runtime

import (
	"errors"
	"fmt"
)

// Errors every runtime returns, checked with errors.Is or the Is*
// functions. Runtimes wrap them with the engine's message for people.
var (
	// ErrNotFound: the container, sandbox, volume or image does not exist.
	ErrNotFound = errors.New("runtime: not found")
	// ErrConflict: the name is taken (see *ConflictError), or the object is
	// in a state that forbids the operation (a volume in use, exec in a
	// stopped container).
	ErrConflict = errors.New("runtime: conflict")
	// ErrInvalidArgument: the spec is wrong; retrying will not help.
	ErrInvalidArgument = errors.New("runtime: invalid argument")
	// ErrUnavailable: the engine cannot be reached; retry later.
	ErrUnavailable = errors.New("runtime: unavailable")
	// ErrUnsupported: this runtime or its host cannot do it (GPUs without a
	// GPU driver, an architecture without a pause image).
	ErrUnsupported = errors.New("runtime: unsupported")
	// ErrPull: an image pull failed; the error is a *PullError.
	ErrPull = errors.New("runtime: image pull failed")
)

// IsNotFound reports whether err means the object does not exist.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsConflict reports whether err means a name is taken or the object's
// state forbids the operation.
func IsConflict(err error) bool { return errors.Is(err, ErrConflict) }

// IsInvalidArgument reports whether err means the request was wrong.
func IsInvalidArgument(err error) bool { return errors.Is(err, ErrInvalidArgument) }

// IsUnavailable reports whether err means the engine could not be reached.
func IsUnavailable(err error) bool { return errors.Is(err, ErrUnavailable) }

// IsUnsupported reports whether err means the runtime cannot do it.
func IsUnsupported(err error) bool { return errors.Is(err, ErrUnsupported) }

// ConflictError is the refusal to create an object whose name exists. ID is
// the existing object's, so a restarted caller can adopt it. It matches
// ErrConflict.
type ConflictError struct {
	Kind string // "container", "sandbox"
	Name string
	ID   string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s name %q is already in use by %s", e.Kind, e.Name, e.ID)
}

func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// PullReason classifies a failed pull the way ECS's CannotPullContainerError
// reasons do.
type PullReason string

const (
	// PullNotFound: the registry has no such repository, tag or digest.
	PullNotFound PullReason = "not found"
	// PullUnauthorized: the registry refused the credentials (or wanted
	// some).
	PullUnauthorized PullReason = "unauthorized"
	// PullNetwork: the registry could not be reached.
	PullNetwork PullReason = "network"
	// PullFailed: anything else (a corrupt layer, a full disk, ...).
	PullFailed PullReason = "failed"
)

// PullError is a failed image pull. It matches ErrPull, and ErrNotFound
// when the image does not exist.
type PullError struct {
	Ref    string
	Reason PullReason
	// Err is the engine's error; its text is what ECS shows after
	// "CannotPullContainerError: ".
	Err error
}

func (e *PullError) Error() string {
	return fmt.Sprintf("pull %s (%s): %v", e.Ref, e.Reason, e.Err)
}

func (e *PullError) Unwrap() error { return e.Err }

func (e *PullError) Is(target error) bool {
	return target == ErrPull || (target == ErrNotFound && e.Reason == PullNotFound)
}
