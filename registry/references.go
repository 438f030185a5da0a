package registry

import (
	"encoding/json"

	"github.com/opencontainers/go-digest"
)

// References lists what a stored manifest uses inside its repository:
// config and layers (blobs) of an image, manifests (children) of an index.
// Foreign layers (with urls) are left out: the registry does not hold them.
// Replication and the pull-through cache use it to know what to copy or
// link; a body that does not parse references nothing.
func References(body []byte) (blobs, children []digest.Digest) {
	type desc struct {
		Digest digest.Digest `json:"digest"`
		URLs   []string      `json:"urls"`
	}
	var m struct {
		Config    *desc  `json:"config"`
		Layers    []desc `json:"layers"`
		Manifests []desc `json:"manifests"`
	}
	if json.Unmarshal(body, &m) != nil {
		return nil, nil
	}
	if m.Config != nil && m.Config.Digest.Validate() == nil {
		blobs = append(blobs, m.Config.Digest)
	}
	for _, l := range m.Layers {
		if len(l.URLs) == 0 && l.Digest.Validate() == nil {
			blobs = append(blobs, l.Digest)
		}
	}
	for _, d := range m.Manifests {
		if d.Digest.Validate() == nil {
			children = append(children, d.Digest)
		}
	}
	return blobs, children
}
