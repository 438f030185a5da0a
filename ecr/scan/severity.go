package scan

import (
	"math"
	"strings"
)

// Severities, as ECR names them.
const (
	SeverityCritical      = "CRITICAL"
	SeverityHigh          = "HIGH"
	SeverityMedium        = "MEDIUM"
	SeverityLow           = "LOW"
	SeverityInformational = "INFORMATIONAL"
	SeverityUndefined     = "UNDEFINED"
)

// SeverityRank orders severities: CRITICAL highest, UNDEFINED lowest.
func SeverityRank(s string) int {
	switch s {
	case SeverityCritical:
		return 5
	case SeverityHigh:
		return 4
	case SeverityMedium:
		return 3
	case SeverityLow:
		return 2
	case SeverityInformational:
		return 1
	}
	return 0
}

// normalizeSeverity maps the words databases use (GitHub's MODERATE, Red
// Hat's IMPORTANT, Debian's and Ubuntu's priorities) to ECR's severities;
// "" when the word is not a severity.
func normalizeSeverity(s string) string {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "CRITICAL":
		return SeverityCritical
	case "HIGH", "IMPORTANT":
		return SeverityHigh
	case "MEDIUM", "MODERATE":
		return SeverityMedium
	case "LOW":
		return SeverityLow
	case "NEGLIGIBLE", "UNIMPORTANT", "INFORMATIONAL", "NONE":
		return SeverityInformational
	}
	return ""
}

// CVSS is one CVSS assessment of a vulnerability.
type CVSS struct {
	Version string  `json:"version"` // "2.0", "3.0", "3.1", "4.0"
	Vector  string  `json:"vector"`
	Score   float64 `json:"score,omitempty"` // base score; 0 when not computed (CVSS 4.0)
	Source  string  `json:"source,omitempty"`
}

// severityOfScore is the qualitative rating of a CVSS v3 base score.
func severityOfScore(score float64) string {
	switch {
	case score >= 9.0:
		return SeverityCritical
	case score >= 7.0:
		return SeverityHigh
	case score >= 4.0:
		return SeverityMedium
	case score > 0:
		return SeverityLow
	}
	return SeverityInformational
}

// severityOfV2Score is the NVD rating of a CVSS v2 base score (which has
// no CRITICAL).
func severityOfV2Score(score float64) string {
	switch {
	case score >= 7.0:
		return SeverityHigh
	case score >= 4.0:
		return SeverityMedium
	}
	return SeverityLow
}

func vectorMetrics(v string) map[string]string {
	m := map[string]string{}
	for _, part := range strings.Split(v, "/") {
		k, val, ok := strings.Cut(part, ":")
		if ok {
			m[k] = val
		}
	}
	return m
}

// cvss3Score computes the base score of a CVSS v3.0 or v3.1 vector
// ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"); ok is false when the
// vector is not a complete v3 base vector.
func cvss3Score(vector string) (version string, score float64, ok bool) {
	switch {
	case strings.HasPrefix(vector, "CVSS:3.1/"):
		version = "3.1"
	case strings.HasPrefix(vector, "CVSS:3.0/"):
		version = "3.0"
	default:
		return "", 0, false
	}
	m := vectorMetrics(vector)
	pick := func(k string, vals map[string]float64) (float64, bool) {
		v, ok := vals[m[k]]
		return v, ok
	}
	av, ok1 := pick("AV", map[string]float64{"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2})
	ac, ok2 := pick("AC", map[string]float64{"L": 0.77, "H": 0.44})
	ui, ok3 := pick("UI", map[string]float64{"N": 0.85, "R": 0.62})
	cia := map[string]float64{"H": 0.56, "L": 0.22, "N": 0}
	c, ok4 := pick("C", cia)
	i, ok5 := pick("I", cia)
	a, ok6 := pick("A", cia)
	scope := m["S"]
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || (scope != "U" && scope != "C") {
		return "", 0, false
	}
	changed := scope == "C"
	prVals := map[string]float64{"N": 0.85, "L": 0.62, "H": 0.27}
	if changed {
		prVals = map[string]float64{"N": 0.85, "L": 0.68, "H": 0.5}
	}
	pr, ok7 := pick("PR", prVals)
	if !ok7 {
		return "", 0, false
	}
	iss := 1 - (1-c)*(1-i)*(1-a)
	var impact float64
	if changed {
		impact = 7.52*(iss-0.029) - 3.25*math.Pow(iss-0.02, 15)
	} else {
		impact = 6.42 * iss
	}
	exploitability := 8.22 * av * ac * pr * ui
	if impact <= 0 {
		return version, 0, true
	}
	if changed {
		return version, roundUp(math.Min(1.08*(impact+exploitability), 10)), true
	}
	return version, roundUp(math.Min(impact+exploitability, 10)), true
}

// roundUp is CVSS 3.1's Roundup: the smallest number with one decimal
// that is not less than x, computed so that floating point error does not
// push 4.0 to 4.1.
func roundUp(x float64) float64 {
	n := int64(math.Round(x * 100000))
	if n%10000 == 0 {
		return float64(n) / 100000
	}
	return float64(n/10000+1) / 10
}

// cvss2Score computes the base score of a CVSS v2 vector
// ("AV:N/AC:L/Au:N/C:P/I:P/A:P").
func cvss2Score(vector string) (float64, bool) {
	m := vectorMetrics(strings.TrimPrefix(strings.TrimSuffix(strings.TrimPrefix(vector, "("), ")"), "CVSS:2.0/"))
	pick := func(k string, vals map[string]float64) (float64, bool) {
		v, ok := vals[m[k]]
		return v, ok
	}
	av, ok1 := pick("AV", map[string]float64{"L": 0.395, "A": 0.646, "N": 1.0})
	ac, ok2 := pick("AC", map[string]float64{"H": 0.35, "M": 0.61, "L": 0.71})
	au, ok3 := pick("Au", map[string]float64{"M": 0.45, "S": 0.56, "N": 0.704})
	cia := map[string]float64{"N": 0, "P": 0.275, "C": 0.660}
	c, ok4 := pick("C", cia)
	i, ok5 := pick("I", cia)
	a, ok6 := pick("A", cia)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return 0, false
	}
	impact := 10.41 * (1 - (1-c)*(1-i)*(1-a))
	exploitability := 20 * av * ac * au
	f := 1.176
	if impact == 0 {
		f = 0
	}
	score := ((0.6 * impact) + (0.4 * exploitability) - 1.5) * f
	return math.Round(score*10) / 10, true
}
