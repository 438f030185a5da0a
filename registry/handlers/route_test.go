package handlers

import "testing"

func TestParseRoute(t *testing.T) {
	const d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	cases := []struct {
		path     string
		ok       bool
		nameErr  bool
		endpoint endpoint
		name     string
		ref      string
	}{
		{"/v2/", true, false, endpointBase, "", ""},
		{"/v2", true, false, endpointBase, "", ""},
		{"/v2/app/manifests/latest", true, false, endpointManifest, "app", "latest"},
		{"/v2/team/app/manifests/" + d, true, false, endpointManifest, "team/app", d},
		{"/v2/team/app/blobs/" + d, true, false, endpointBlob, "team/app", d},
		{"/v2/team/app/blobs/uploads/", true, false, endpointUploads, "team/app", ""},
		{"/v2/team/app/blobs/uploads", true, false, endpointUploads, "team/app", ""},
		{"/v2/team/app/blobs/uploads/abc123", true, false, endpointUpload, "team/app", "abc123"},
		{"/v2/team/app/tags/list", true, false, endpointTags, "team/app", ""},
		{"/v2/team/app/referrers/" + d, true, false, endpointReferrers, "team/app", d},
		// Repository names that contain the endpoint words.
		{"/v2/x/blobs/manifests/v1", true, false, endpointManifest, "x/blobs", "v1"},
		{"/v2/x/manifests/y/manifests/v1", true, false, endpointManifest, "x/manifests/y", "v1"},
		{"/v2/x/blobs/uploads/blobs/" + d, true, false, endpointBlob, "x/blobs/uploads", d},
		{"/v2/tags/list/tags/list", true, false, endpointTags, "tags/list", ""},
		{"/v2/Bad/manifests/v1", true, true, 0, "", ""},
		{"/v2/app/manifests/", false, false, 0, "", ""},
		{"/v2/app", false, false, 0, "", ""},
		{"/other", false, false, 0, "", ""},
	}
	for _, tc := range cases {
		rt, nameErr, ok := parseRoute(tc.path)
		if ok != tc.ok || (nameErr != nil) != tc.nameErr {
			t.Errorf("%s: ok=%v nameErr=%v", tc.path, ok, nameErr)
			continue
		}
		if !ok || tc.nameErr {
			continue
		}
		if rt.endpoint != tc.endpoint || rt.name != tc.name || rt.ref != tc.ref {
			t.Errorf("%s: got %+v", tc.path, rt)
		}
	}
}
