package ecr

import "encoding/json"

// declaresMediaType tells whether a manifest body names its own mediaType.
// PutImage needs the type from the body or from imageManifestMediaType;
// AWS does not guess it from the manifest's shape (a Helm chart's OCI
// manifest without mediaType is refused unless the parameter is given).
// A body that is not JSON is reported by the registry's own checks.
func declaresMediaType(body []byte) bool {
	var m struct {
		MediaType *string `json:"mediaType"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return true
	}
	return m.MediaType != nil && *m.MediaType != ""
}
