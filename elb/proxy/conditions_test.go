package proxy

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestConditionMatches(t *testing.T) {
	req := func(method, target, remote string, hdr map[string]string) func() *httptestReq {
		return func() *httptestReq {
			r := httptest.NewRequest(method, target, nil)
			r.RemoteAddr = remote
			for k, v := range hdr {
				r.Header.Set(k, v)
			}
			return &httptestReq{r}
		}
	}
	cases := []struct {
		name string
		c    Condition
		r    func() *httptestReq
		want bool
	}{
		{"header name and value fold", Condition{Field: FieldHTTPHeader, HeaderName: "user-agent", Values: []string{"*MOBILE*"}},
			req("GET", "/", "127.0.0.1:1", map[string]string{"User-Agent": "x mobile y"}), true},
		{"header missing", Condition{Field: FieldHTTPHeader, HeaderName: "X-Env", Values: []string{"*"}},
			req("GET", "/", "127.0.0.1:1", nil), false},
		{"header ? wildcard", Condition{Field: FieldHTTPHeader, HeaderName: "X-Env", Values: []string{"v?"}},
			req("GET", "/", "127.0.0.1:1", map[string]string{"X-Env": "v2"}), true},
		{"header regex", Condition{Field: FieldHTTPHeader, HeaderName: "X-Env", Regex: []string{"^beta-[0-9]+$"}},
			req("GET", "/", "127.0.0.1:1", map[string]string{"X-Env": "beta-12"}), true},
		{"method exact", Condition{Field: FieldRequestMethod, Values: []string{"POST", "PUT"}},
			req("PUT", "/", "127.0.0.1:1", nil), true},
		{"method case-sensitive", Condition{Field: FieldRequestMethod, Values: []string{"post"}},
			req("POST", "/", "127.0.0.1:1", nil), false},
		{"query pair decoded, folded", Condition{Field: FieldQueryString, Pairs: []QueryPair{{Key: "version", Value: "V1*"}}},
			req("GET", "/?a=b&version=v1%2E2", "127.0.0.1:1", nil), true},
		{"query value any key", Condition{Field: FieldQueryString, Pairs: []QueryPair{{Value: "blue"}}},
			req("GET", "/?color=blue", "127.0.0.1:1", nil), true},
		{"query no match", Condition{Field: FieldQueryString, Pairs: []QueryPair{{Key: "color", Value: "red"}}},
			req("GET", "/?color=blue", "127.0.0.1:1", nil), false},
		{"query escaped star literal", Condition{Field: FieldQueryString, Pairs: []QueryPair{{Key: "q", Value: `a\*`}}},
			req("GET", "/?q=ab", "127.0.0.1:1", nil), false},
		{"source v4", Condition{Field: FieldSourceIP, Values: []string{"10.0.0.0/8", "127.0.0.1/32"}},
			req("GET", "/", "127.0.0.1:5555", nil), true},
		{"source not xff", Condition{Field: FieldSourceIP, Values: []string{"203.0.113.0/24"}},
			req("GET", "/", "127.0.0.1:5555", map[string]string{"X-Forwarded-For": "203.0.113.9"}), false},
		{"source v6", Condition{Field: FieldSourceIP, Values: []string{"::1/128"}},
			req("GET", "/", "[::1]:5555", nil), true},
		{"path regex", Condition{Field: FieldPathPattern, Regex: []string{"^/api/v[0-9]+/"}},
			req("GET", "/api/v2/x", "127.0.0.1:1", nil), true},
		{"host regex", Condition{Field: FieldHostHeader, Regex: []string{`^[a-z]+\.example\.com$`}},
			req("GET", "http://shop.example.com:8080/", "127.0.0.1:1", nil), true},
	}
	for _, c := range cases {
		if got := conditionMatches(c.c, c.r().r); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

type httptestReq struct{ r *http.Request }

func TestEscapedWildcard(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{
		{"a*c", "abbc", true}, {"a?c", "abc", true}, {"a?c", "ac", false},
		{`a\*`, "a*", true}, {`a\*`, "ab", false}, {`a\?`, "a?", true}, {"*", "", true}, {"A*", "abc", true},
	} {
		if got := EscapedWildcard(c.p, c.s); got != c.want {
			t.Errorf("EscapedWildcard(%q, %q) = %v, want %v", c.p, c.s, got, c.want)
		}
	}
}
