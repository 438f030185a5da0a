package elb

import (
	"net/netip"
	"regexp"
	"strings"

	"github.com/berth-dev/berth/api/elbv2"
	"github.com/berth-dev/berth/elb/proxy"
)

// AWS's limits on listener rule conditions (ALB user guide, "Condition
// types for listener rules" and "Quotas").
const (
	maxValuesPerCondition = 3
	maxValuesPerRule      = 5
	maxWildcardsPerRule   = 5
	maxConditionValueLen  = 128
	maxHeaderNameLen      = 40
	maxMethodLen          = 40
)

// normalizeConditions validates a rule's conditions as CreateRule and
// ModifyRule do on AWS and returns them as ELB reports them (the legacy
// Values member and the field's config both set for host-header and
// path-pattern, only the config for the others).
func normalizeConditions(conds []elbv2.RuleCondition) ([]elbv2.RuleCondition, error) {
	if len(conds) == 0 {
		return nil, validation("A rule must have at least one condition")
	}
	seen := map[string]bool{}
	total, wildcards := 0, 0
	out := make([]elbv2.RuleCondition, 0, len(conds))
	for _, c := range conds {
		field := deref(c.Field)
		n := elbv2.RuleCondition{Field: str(field)}
		var count int
		switch field {
		case proxy.FieldPathPattern, proxy.FieldHostHeader:
			// AWS documents a single value in the legacy Values member of
			// host-header and path-pattern; more go in the condition's config.
			if len(c.Values) > 1 {
				return nil, validation("The '%s' field contains too many values; the limit is '1'", field)
			}
			values, regex := c.Values, c.RegexValues
			var cfgValues, cfgRegex []string
			cfgName := "PathPatternConfig"
			if field == proxy.FieldPathPattern {
				if c.PathPatternConfig != nil {
					cfgValues, cfgRegex = c.PathPatternConfig.Values, c.PathPatternConfig.RegexValues
				}
			} else {
				cfgName = "HostHeaderConfig"
				if c.HostHeaderConfig != nil {
					cfgValues, cfgRegex = c.HostHeaderConfig.Values, c.HostHeaderConfig.RegexValues
				}
			}
			if len(values) > 0 && (len(cfgValues) > 0 || len(cfgRegex) > 0) {
				return nil, validation("You cannot specify both Values and %s", cfgName)
			}
			values = append(append([]string(nil), values...), cfgValues...)
			regex = append(append([]string(nil), regex...), cfgRegex...)
			if len(values) > 0 && len(regex) > 0 {
				return nil, validation("A '%s' condition cannot have both values and regular expressions", field)
			}
			for _, v := range values {
				if err := checkPattern(field, v, field == proxy.FieldHostHeader); err != nil {
					return nil, err
				}
				wildcards += strings.Count(v, "*") + strings.Count(v, "?")
			}
			if err := checkRegex(field, regex); err != nil {
				return nil, err
			}
			count = len(values) + len(regex)
			if len(values) > 0 {
				n.Values = values
			}
			if field == proxy.FieldPathPattern {
				n.PathPatternConfig = &elbv2.PathPatternConditionConfig{Values: values, RegexValues: regex}
			} else {
				n.HostHeaderConfig = &elbv2.HostHeaderConditionConfig{Values: values, RegexValues: regex}
			}
		case proxy.FieldHTTPHeader:
			h := c.HttpHeaderConfig
			if h == nil || len(c.Values) > 0 {
				return nil, validation("An 'http-header' condition must be specified with HttpHeaderConfig and no Values")
			}
			name := deref(h.HttpHeaderName)
			if name == "" || len(name) > maxHeaderNameLen || !isToken(name) {
				return nil, validation("The HTTP header name '%s' must be 1 to %d characters of a valid HTTP header field name", name, maxHeaderNameLen)
			}
			values := append([]string(nil), h.Values...)
			regex := append(append([]string(nil), c.RegexValues...), h.RegexValues...)
			if len(values) > 0 && len(regex) > 0 {
				return nil, validation("An 'http-header' condition cannot have both values and regular expressions")
			}
			for _, v := range values {
				if v == "" || len(v) > maxConditionValueLen || !printable(v, true) {
					return nil, validation("The HTTP header value '%s' must be 1 to %d visible ASCII characters", v, maxConditionValueLen)
				}
				wildcards += strings.Count(v, "*") + strings.Count(v, "?")
			}
			if err := checkRegex(field, regex); err != nil {
				return nil, err
			}
			count = len(values) + len(regex)
			n.HttpHeaderConfig = &elbv2.HttpHeaderConditionConfig{HttpHeaderName: str(name), Values: values, RegexValues: regex}
		case proxy.FieldRequestMethod:
			if c.HttpRequestMethodConfig == nil || len(c.Values) > 0 {
				return nil, validation("An 'http-request-method' condition must be specified with HttpRequestMethodConfig and no Values")
			}
			values := c.HttpRequestMethodConfig.Values
			for _, v := range values {
				if !isMethod(v) {
					return nil, validation("The HTTP request method '%s' is not valid: use 1 to %d characters A-Z, '-' and '_' (the comparison is case-sensitive, without wildcards)", v, maxMethodLen)
				}
			}
			count = len(values)
			n.HttpRequestMethodConfig = &elbv2.HttpRequestMethodConditionConfig{Values: values}
		case proxy.FieldQueryString:
			if c.QueryStringConfig == nil || len(c.Values) > 0 {
				return nil, validation("A 'query-string' condition must be specified with QueryStringConfig and no Values")
			}
			pairs := c.QueryStringConfig.Values
			for _, p := range pairs {
				k, v := deref(p.Key), deref(p.Value)
				if p.Key != nil && (k == "" || len(k) > maxConditionValueLen || !printable(k, false)) {
					return nil, validation("The query string key '%s' must be 1 to %d visible ASCII characters", k, maxConditionValueLen)
				}
				if v == "" || len(v) > maxConditionValueLen || !printable(v, false) {
					return nil, validation("The query string value '%s' must be 1 to %d visible ASCII characters", v, maxConditionValueLen)
				}
				wildcards += unescapedWildcards(k) + unescapedWildcards(v)
			}
			count = len(pairs)
			n.QueryStringConfig = &elbv2.QueryStringConditionConfig{Values: pairs}
		case proxy.FieldSourceIP:
			if c.SourceIpConfig == nil || len(c.Values) > 0 {
				return nil, validation("A 'source-ip' condition must be specified with SourceIpConfig and no Values")
			}
			values := c.SourceIpConfig.Values
			for _, v := range values {
				if _, err := netip.ParsePrefix(v); err != nil {
					return nil, validation("The source IP '%s' is not a valid CIDR block (wildcards are not supported)", v)
				}
			}
			count = len(values)
			n.SourceIpConfig = &elbv2.SourceIpConditionConfig{Values: values}
		case "":
			return nil, validation("A condition field must be specified")
		default:
			return nil, validation("Condition field '%s' is not valid; use host-header, http-header, http-request-method, path-pattern, query-string or source-ip", field)
		}
		// http-header and query-string may repeat (to AND values); the
		// others may appear once.
		if field != proxy.FieldHTTPHeader && field != proxy.FieldQueryString {
			if seen[field] {
				return nil, validation("A rule can only have one '%s' condition", field)
			}
			seen[field] = true
		}
		if count == 0 || count > maxValuesPerCondition {
			return nil, validation("A '%s' condition must have between 1 and %d values", field, maxValuesPerCondition)
		}
		total += count
		out = append(out, n)
	}
	if total > maxValuesPerRule {
		return nil, validation("A rule can only have '%d' condition values", maxValuesPerRule)
	}
	if wildcards > maxWildcardsPerRule {
		return nil, validation("A rule can only have '%d' wildcards", maxWildcardsPerRule)
	}
	return out, nil
}

// checkPattern checks a host-header or path-pattern value: host names are
// letters, digits, '-', '.' and wildcards; paths visible ASCII.
func checkPattern(field, v string, host bool) error {
	if v == "" || len(v) > maxConditionValueLen {
		return validation("Condition value '%s' must be between 1 and %d characters", v, maxConditionValueLen)
	}
	if host {
		for _, r := range v {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-.*?", r)) {
				return validation("The host name '%s' can only contain A-Z, a-z, 0-9, '-', '.', '*' and '?'", v)
			}
		}
		return nil
	}
	if !printable(v, false) {
		return validation("The '%s' value '%s' must be visible ASCII characters", field, v)
	}
	return nil
}

func checkRegex(field string, regex []string) error {
	for _, r := range regex {
		if r == "" || len(r) > maxConditionValueLen {
			return validation("The regular expression '%s' must be between 1 and %d characters", r, maxConditionValueLen)
		}
		// Go's RE2 lacks lookarounds, backreferences and possessive
		// quantifiers, which AWS's rule regexes do not support either.
		if _, err := regexp.Compile(r); err != nil {
			return validation("The regular expression '%s' of the '%s' condition is not valid: %v", r, field, err)
		}
	}
	return nil
}

// printable reports whether s is visible ASCII (and spaces when allowed):
// AWS applies rules to visible ASCII only.
func printable(s string, spaces bool) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b == ' ' && spaces {
			continue
		}
		if b <= 0x20 || b >= 0x7f {
			return false
		}
	}
	return true
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0) {
			return false
		}
	}
	return true
}

func isMethod(s string) bool {
	if s == "" || len(s) > maxMethodLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; !(b >= 'A' && b <= 'Z' || b == '-' || b == '_') {
			return false
		}
	}
	return true
}

// unescapedWildcards counts * and ? not escaped with '\' (a query-string
// value escapes them to match them literally).
func unescapedWildcards(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '*', '?':
			n++
		}
	}
	return n
}

// proxyCondition is a stored condition as the data plane matches it.
func proxyCondition(c elbv2.RuleCondition) proxy.Condition {
	pc := proxy.Condition{Field: deref(c.Field), Values: c.Values}
	switch {
	case c.PathPatternConfig != nil:
		pc.Values, pc.Regex = c.PathPatternConfig.Values, c.PathPatternConfig.RegexValues
	case c.HostHeaderConfig != nil:
		pc.Values, pc.Regex = c.HostHeaderConfig.Values, c.HostHeaderConfig.RegexValues
	case c.HttpHeaderConfig != nil:
		pc.HeaderName = deref(c.HttpHeaderConfig.HttpHeaderName)
		pc.Values, pc.Regex = c.HttpHeaderConfig.Values, c.HttpHeaderConfig.RegexValues
	case c.HttpRequestMethodConfig != nil:
		pc.Values = c.HttpRequestMethodConfig.Values
	case c.SourceIpConfig != nil:
		pc.Values = c.SourceIpConfig.Values
	case c.QueryStringConfig != nil:
		for _, p := range c.QueryStringConfig.Values {
			pc.Pairs = append(pc.Pairs, proxy.QueryPair{Key: deref(p.Key), Value: deref(p.Value)})
		}
	}
	return pc
}
