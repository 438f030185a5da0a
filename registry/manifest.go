package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Manifest media types the registry accepts.
const (
	MediaTypeOCIManifest        = ocispec.MediaTypeImageManifest
	MediaTypeOCIIndex           = ocispec.MediaTypeImageIndex
	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
)

const (
	mediaTypeDockerSchema1       = "application/vnd.docker.distribution.manifest.v1+json"
	mediaTypeDockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"
	mediaTypeOctetStream         = "application/octet-stream"
	mediaTypeJSON                = "application/json"
	// maxDescriptors bounds the work one manifest can ask for.
	maxDescriptors = 10000
)

// IsManifestMediaType reports whether the registry stores manifests of
// this media type.
func IsManifestMediaType(mt string) bool {
	switch mt {
	case MediaTypeOCIManifest, MediaTypeOCIIndex, MediaTypeDockerManifest, MediaTypeDockerManifestList:
		return true
	}
	return false
}

func isIndexMediaType(mt string) bool {
	return mt == MediaTypeOCIIndex || mt == MediaTypeDockerManifestList
}

// manifestJSON is the union of the fields of every accepted manifest type.
type manifestJSON struct {
	SchemaVersion *int                 `json:"schemaVersion"`
	MediaType     string               `json:"mediaType"`
	ArtifactType  string               `json:"artifactType"`
	Config        *ocispec.Descriptor  `json:"config"`
	Layers        []ocispec.Descriptor `json:"layers"`
	Manifests     []ocispec.Descriptor `json:"manifests"`
	Subject       *ocispec.Descriptor  `json:"subject"`
	Annotations   map[string]string    `json:"annotations"`
	FSLayers      json.RawMessage      `json:"fsLayers"`
}

// parsedManifest is what the registry keeps from a manifest.
type parsedManifest struct {
	mediaType    string
	artifactType string // artifactType, or for an image the config media type
	subject      *ocispec.Descriptor
	annotations  map[string]string
	blobs        []digest.Digest // config and layers that must be in the repository
	children     []digest.Digest // manifests of an index
	size         int64           // config + layers, for an image
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrManifestInvalid, fmt.Sprintf(format, args...))
}

// baseMediaType strips parameters ("; charset=utf-8") from a Content-Type.
func baseMediaType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// parseManifest validates a manifest body. contentType is what the client
// declared; the body's own mediaType wins and must agree with it.
func parseManifest(contentType string, body []byte) (parsedManifest, error) {
	var m manifestJSON
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&m); err != nil {
		return parsedManifest{}, invalid("not valid JSON: %v", err)
	}
	if dec.More() {
		return parsedManifest{}, invalid("trailing data after the JSON document")
	}
	ct := baseMediaType(contentType)
	if ct == mediaTypeDockerSchema1 || ct == mediaTypeDockerSchema1Signed ||
		m.MediaType == mediaTypeDockerSchema1 || m.MediaType == mediaTypeDockerSchema1Signed ||
		len(m.FSLayers) > 0 || (m.SchemaVersion != nil && *m.SchemaVersion == 1) {
		return parsedManifest{}, invalid("Docker schema1 manifests are not supported; push with a current client (Docker schema2 or OCI)")
	}
	if m.SchemaVersion == nil || *m.SchemaVersion != 2 {
		return parsedManifest{}, invalid("schemaVersion must be 2")
	}

	mt := m.MediaType
	switch {
	case mt != "":
		if ct != "" && ct != mt && ct != mediaTypeJSON && ct != mediaTypeOctetStream {
			return parsedManifest{}, invalid("Content-Type %q does not match the manifest's mediaType %q", ct, mt)
		}
	case ct != "" && ct != mediaTypeJSON && ct != mediaTypeOctetStream:
		mt = ct
	case m.Manifests != nil && m.Config == nil:
		mt = MediaTypeOCIIndex
	case m.Config != nil && m.Manifests == nil:
		mt = MediaTypeOCIManifest
	default:
		return parsedManifest{}, invalid("cannot tell the manifest type: set mediaType")
	}
	if !IsManifestMediaType(mt) {
		return parsedManifest{}, invalid("media type %q is not a manifest type the registry accepts (%s, %s, %s, %s)",
			mt, MediaTypeOCIManifest, MediaTypeOCIIndex, MediaTypeDockerManifest, MediaTypeDockerManifestList)
	}

	p := parsedManifest{mediaType: mt, artifactType: m.ArtifactType, annotations: m.Annotations}
	if m.Subject != nil {
		if err := checkDescriptor("subject", *m.Subject); err != nil {
			return parsedManifest{}, err
		}
		p.subject = m.Subject
	}
	if isIndexMediaType(mt) {
		if m.Config != nil || m.Layers != nil {
			return parsedManifest{}, invalid("an index has no config or layers")
		}
		if len(m.Manifests) > maxDescriptors {
			return parsedManifest{}, invalid("more than %d manifests", maxDescriptors)
		}
		for i, d := range m.Manifests {
			if err := checkDescriptor(fmt.Sprintf("manifests[%d]", i), d); err != nil {
				return parsedManifest{}, err
			}
			p.children = append(p.children, d.Digest)
		}
		return p, nil
	}

	if m.Config == nil {
		return parsedManifest{}, invalid("an image manifest needs a config")
	}
	if m.Manifests != nil {
		return parsedManifest{}, invalid("an image manifest has no manifests list")
	}
	if len(m.Layers) > maxDescriptors {
		return parsedManifest{}, invalid("more than %d layers", maxDescriptors)
	}
	if err := checkDescriptor("config", *m.Config); err != nil {
		return parsedManifest{}, err
	}
	if p.artifactType == "" {
		p.artifactType = m.Config.MediaType
	}
	p.blobs = append(p.blobs, m.Config.Digest)
	p.size = m.Config.Size
	for i, d := range m.Layers {
		if err := checkDescriptor(fmt.Sprintf("layers[%d]", i), d); err != nil {
			return parsedManifest{}, err
		}
		p.size += d.Size
		// Foreign (non-distributable) layers live at their URLs; the
		// registry does not hold them.
		if len(d.URLs) > 0 {
			continue
		}
		p.blobs = append(p.blobs, d.Digest)
	}
	return p, nil
}

func checkDescriptor(field string, d ocispec.Descriptor) error {
	if _, err := parseDigest(d.Digest.String()); err != nil {
		return invalid("%s: %v", field, err)
	}
	if d.Size < 0 {
		return invalid("%s: negative size", field)
	}
	if d.Data != nil {
		if int64(len(d.Data)) != d.Size {
			return invalid("%s: data is %d bytes, size says %d", field, len(d.Data), d.Size)
		}
		if d.Digest.Algorithm().FromBytes(d.Data) != d.Digest {
			return invalid("%s: data does not match the digest", field)
		}
	}
	return nil
}
