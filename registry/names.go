package registry

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/opencontainers/go-digest"
)

// Tag mutability settings (ECR's ImageTagMutability enum).
const (
	Mutable                = "MUTABLE"
	Immutable              = "IMMUTABLE"
	MutableWithExclusion   = "MUTABLE_WITH_EXCLUSION"
	ImmutableWithExclusion = "IMMUTABLE_WITH_EXCLUSION"
)

var (
	// The distribution spec's repository name grammar.
	nameRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$`)
	tagRE  = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]*$`)
	// ECR's exclusion filter pattern.
	filterRE = regexp.MustCompile(`^[0-9a-zA-Z._*-]+$`)
)

// maxNameLength is ECR's limit on repository names.
const maxNameLength = 256

// ValidateName checks a repository name against the distribution spec's
// grammar and ECR's length limit.
func ValidateName(name string) error {
	if len(name) > maxNameLength || !nameRE.MatchString(name) {
		return fmt.Errorf("%w: %q must match [a-z0-9]+((.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((.|_|__|-+)[a-z0-9]+)*)* and be at most %d characters",
			ErrNameInvalid, name, maxNameLength)
	}
	return nil
}

// ValidateTag checks a tag against the distribution spec's grammar.
func ValidateTag(tag string) error {
	if len(tag) > 128 || !tagRE.MatchString(tag) {
		return fmt.Errorf("%w: %q must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}", ErrTagInvalid, tag)
	}
	return nil
}

// parseDigest validates a digest given by a client; the algorithm must be
// one this build can compute.
func parseDigest(s string) (digest.Digest, error) {
	d, err := digest.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrDigestInvalid, s, err)
	}
	if !d.Algorithm().Available() {
		return "", fmt.Errorf("%w: %q: algorithm %s is not supported", ErrDigestInvalid, s, d.Algorithm())
	}
	return d, nil
}

// isDigestReference tells a digest reference from a tag: tags cannot
// contain a colon.
func isDigestReference(ref string) bool { return strings.Contains(ref, ":") }

func validateMutability(mode string, filters []string) error {
	switch mode {
	case Mutable, Immutable:
		if len(filters) > 0 {
			return fmt.Errorf("%w: exclusion filters need %s or %s", ErrInvalidArgument, MutableWithExclusion, ImmutableWithExclusion)
		}
	case MutableWithExclusion, ImmutableWithExclusion:
		if len(filters) == 0 {
			return fmt.Errorf("%w: %s needs at least one exclusion filter", ErrInvalidArgument, mode)
		}
	default:
		return fmt.Errorf("%w: tag mutability %q is not one of %s, %s, %s, %s",
			ErrInvalidArgument, mode, Mutable, Immutable, MutableWithExclusion, ImmutableWithExclusion)
	}
	for _, f := range filters {
		if len(f) > 128 || !filterRE.MatchString(f) {
			return fmt.Errorf("%w: exclusion filter %q must match [0-9a-zA-Z._*-]{1,128}", ErrInvalidArgument, f)
		}
	}
	return nil
}

// TagImmutable reports whether the repository's settings forbid moving tag:
// an exclusion filter inverts the repository-wide setting for the tags it
// matches.
func (r Repository) TagImmutable(tag string) bool {
	excluded := false
	for _, f := range r.MutabilityExclusions {
		if wildcardMatch(f, tag) {
			excluded = true
			break
		}
	}
	switch r.TagMutability {
	case Immutable:
		return true
	case ImmutableWithExclusion:
		return !excluded
	case MutableWithExclusion:
		return excluded
	default:
		return false
	}
}

// wildcardMatch matches s against a pattern where '*' stands for any run of
// characters (possibly empty) and everything else for itself.
func wildcardMatch(pattern, s string) bool {
	// Greedy matching with backtracking to the last star: linear in
	// practice, no regexp compilation per call.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
