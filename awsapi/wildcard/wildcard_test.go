package wildcard

import "testing"

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "a/b/c", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"/api/*/items", "/api/v1/x/items", true},
		{"*.example.com", "www.example.com", true},
		{"*.example.com", "example.com", false},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
		{"[x]", "[x]", true},
	} {
		if got := Match([]rune(c.pattern), []rune(c.s)); got != c.want {
			t.Errorf("Match(%q, %q) = %v", c.pattern, c.s, got)
		}
		if got := Match([]byte(c.pattern), []byte(c.s)); got != c.want {
			t.Errorf("Match(%q, %q) on bytes = %v", c.pattern, c.s, got)
		}
	}
	// ? is one element: one rune, or one byte of it.
	if !Match([]rune("?"), []rune("é")) || Match([]byte("?"), []byte("é")) {
		t.Error("? does not match one element")
	}
}
