// Package awsapi is Berth's AWS wire layer: request identity, SigV4, the
// protocols (awsJson, restJson1, awsQuery, ec2) and AWS error shapes.
package awsapi

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an AWS service error as clients see it: a code that SDKs turn into
// a typed exception, a message for people, and the HTTP status.
type Error struct {
	Code       string
	Message    string
	HTTPStatus int
	// Fields are the error shape's other modeled members (JSON protocol
	// only), e.g. ECR's lastValidByteReceived, which SDKs surface on the
	// exception.
	Fields map[string]any
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// NewError builds a client error (HTTP 400 unless status says otherwise).
func NewError(status int, code, format string, args ...any) *Error {
	if status == 0 {
		status = http.StatusBadRequest
	}
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), HTTPStatus: status}
}

// Errorf builds a 400 client error with the given AWS code.
func Errorf(code, format string, args ...any) *Error {
	return NewError(http.StatusBadRequest, code, format, args...)
}

// InternalError wraps an unexpected failure; its cause is logged, not sent.
func InternalError(err error) *Error {
	return &Error{Code: "InternalFailure", Message: "The request processing has failed because of an unknown error, exception or failure.", HTTPStatus: http.StatusInternalServerError}
}

// AsError returns err as an *Error, or nil when it is not one.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// Common codes shared by every AWS protocol.
const (
	CodeMissingAuthenticationToken = "MissingAuthenticationTokenException"
	CodeInvalidSignature           = "InvalidSignatureException"
	CodeUnrecognizedClient         = "UnrecognizedClientException"
	CodeIncompleteSignature        = "IncompleteSignature"
	CodeSerialization              = "SerializationException"
	CodeUnknownOperation           = "UnknownOperationException"
	CodeValidation                 = "ValidationException"
	CodeAccessDenied               = "AccessDeniedException"
)
