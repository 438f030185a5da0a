package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/berth-dev/berth/registry"
)

// Error codes of the distribution spec.
const (
	CodeBlobUnknown         = "BLOB_UNKNOWN"
	CodeBlobUploadInvalid   = "BLOB_UPLOAD_INVALID"
	CodeBlobUploadUnknown   = "BLOB_UPLOAD_UNKNOWN"
	CodeDigestInvalid       = "DIGEST_INVALID"
	CodeManifestBlobUnknown = "MANIFEST_BLOB_UNKNOWN"
	CodeManifestInvalid     = "MANIFEST_INVALID"
	CodeManifestUnknown     = "MANIFEST_UNKNOWN"
	CodeNameInvalid         = "NAME_INVALID"
	CodeNameUnknown         = "NAME_UNKNOWN"
	CodeSizeInvalid         = "SIZE_INVALID"
	CodeUnauthorized        = "UNAUTHORIZED"
	CodeDenied              = "DENIED"
	CodeUnsupported         = "UNSUPPORTED"
	CodeTooManyRequests     = "TOOMANYREQUESTS"
	// codeUnknown is not in the spec; clients show the message.
	codeUnknown = "UNKNOWN"
)

// ErrTooManyRequests, returned by an Authorizer, answers 429.
var ErrTooManyRequests = errors.New("too many requests")

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

func writeError(w http.ResponseWriter, status int, code, message string, detail any) {
	body, _ := json.Marshal(struct {
		Errors []apiError `json:"errors"`
	}{[]apiError{{Code: code, Message: message, Detail: detail}}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", itoa(int64(len(body))))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// errorStatus maps registry errors to the spec's codes and statuses.
var errorStatus = []struct {
	err    error
	status int
	code   string
}{
	{registry.ErrRepositoryNotFound, http.StatusNotFound, CodeNameUnknown},
	{registry.ErrNameInvalid, http.StatusBadRequest, CodeNameInvalid},
	{registry.ErrManifestUnknown, http.StatusNotFound, CodeManifestUnknown},
	{registry.ErrManifestBlobUnknown, http.StatusBadRequest, CodeManifestBlobUnknown},
	{registry.ErrManifestInvalid, http.StatusBadRequest, CodeManifestInvalid},
	{registry.ErrTagInvalid, http.StatusBadRequest, CodeManifestInvalid},
	{registry.ErrTagImmutable, http.StatusForbidden, CodeDenied},
	{registry.ErrManifestReferenced, http.StatusConflict, CodeDenied},
	{registry.ErrBlobInUse, http.StatusConflict, CodeDenied},
	{registry.ErrBlobUnknown, http.StatusNotFound, CodeBlobUnknown},
	{registry.ErrDigestInvalid, http.StatusBadRequest, CodeDigestInvalid},
	{registry.ErrUploadUnknown, http.StatusNotFound, CodeBlobUploadUnknown},
	{registry.ErrRangeInvalid, http.StatusRequestedRangeNotSatisfiable, CodeBlobUploadInvalid},
	{registry.ErrSizeInvalid, http.StatusBadRequest, CodeSizeInvalid},
	{registry.ErrUnsupported, http.StatusMethodNotAllowed, CodeUnsupported},
	{registry.ErrInvalidArgument, http.StatusBadRequest, CodeUnsupported},
	{ErrTooManyRequests, http.StatusTooManyRequests, CodeTooManyRequests},
	{ErrUpstream, http.StatusBadGateway, codeUnknown},
}

// fail answers with the error's code; unexpected errors are logged and
// answered 500 without their text.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	for _, e := range errorStatus {
		if errors.Is(err, e.err) {
			var detail any
			var missing *registry.ManifestBlobUnknownError
			if errors.As(err, &missing) {
				detail = map[string]string{"digest": missing.Digest.String()}
			}
			writeError(w, e.status, e.code, err.Error(), detail)
			return
		}
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return // the client went away; nobody is listening
	}
	h.log.Error("registry request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	writeError(w, http.StatusInternalServerError, codeUnknown, "internal error", nil)
}
