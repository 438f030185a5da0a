package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// An https:// URL on Berth's own address reaches Berth's plain-HTTP
// listener; other https:// URLs are left alone.
func TestIssuerFetchClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "issuer "+r.URL.Path)
	}))
	defer srv.Close()
	self := strings.TrimPrefix(srv.URL, "http://")
	resp, err := issuerFetchClient(self).Get("https://" + self + "/id/X/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "issuer /id/X/.well-known/openid-configuration" {
		t.Errorf("body %q", body)
	}
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer other.Close()
	if _, err := issuerFetchClient(self).Get("https://" + strings.TrimPrefix(other.URL, "http://") + "/"); err == nil {
		t.Error("an https:// URL elsewhere was fetched over http")
	}
}
