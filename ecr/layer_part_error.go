package ecr

import ecrapi "github.com/berth-dev/berth/api/ecr"

// invalidLayerPart is InvalidLayerPartException with the members AWS's
// error shape carries: SDKs expose lastValidByteReceived on the exception
// so a client can resume the upload from the right byte.
func invalidLayerPart(c caller, name, uploadID string, lastValid int64, format string, args ...any) error {
	e := ecrapi.NewInvalidLayerPartException(format, args...)
	e.Fields = map[string]any{
		"registryId":            c.Account,
		"repositoryName":        name,
		"uploadId":              uploadID,
		"lastValidByteReceived": lastValid,
	}
	return e
}
