package lifecycle

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// policy wraps rules in a policy text padded past the 100-character minimum,
// so that short test rules reach the validation they are meant to hit.
func policy(rules ...string) string {
	return pad(`{"rules":[` + strings.Join(rules, ",") + `]}`)
}

func pad(text string) string {
	if len(text) < MinTextLength {
		text += strings.Repeat(" ", MinTextLength-len(text))
	}
	return text
}

func rule(priority int, selection, action string) string {
	return fmt.Sprintf(`{"rulePriority":%d,"selection":%s,"action":%s}`, priority, selection, action)
}

const (
	expire     = `{"type":"expire"}`
	transition = `{"type":"transition","targetStorageClass":"archive"}`
	anyCount   = `{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1}`
	untagged1  = `{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1}`
)

func tagged(list, values string) string {
	return fmt.Sprintf(`{"tagStatus":"tagged","%s":[%s],"countType":"imageCountMoreThan","countNumber":1}`, list, values)
}

func TestParseValid(t *testing.T) {
	p, err := Parse(policy(
		rule(30, anyCount, expire),
		rule(2, tagged("tagPatternList", `"*test*1*2*3","test*1*2*3*"`), expire),
		rule(5, untagged1, expire),
		rule(7, `{"tagStatus":"tagged","tagPrefixList":["prod"],"storageClass":"standard","countType":"sinceImagePulled","countUnit":"days","countNumber":90}`, transition),
		rule(40, `{"tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90}`, expire),
		rule(35, `{"tagStatus":"untagged","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":365}`, expire),
	))
	if err != nil {
		t.Fatal(err)
	}
	var prio []int
	for _, r := range p.Rules {
		prio = append(prio, r.Priority)
	}
	if fmt.Sprint(prio) != "[2 5 7 30 35 40]" {
		t.Errorf("rules not sorted by priority: %v", prio)
	}
	r := p.Rules[2]
	if r.CountType != CountSinceImagePulled || r.CountUnit != "days" || r.CountNumber != 90 ||
		r.Action != PolicyActionTransition || r.TargetStorageClass != "archive" || r.StorageClass != "standard" ||
		len(r.TagPrefixList) != 1 || r.TagPatternList != nil {
		t.Errorf("rule 7 parsed as %+v", r)
	}
	if p.Rules[0].StorageClass != PolicyStorageStandard {
		t.Errorf("storageClass default = %q", p.Rules[0].StorageClass)
	}
}

func TestParseErrors(t *testing.T) {
	mapErr := "Could not map policyString into LifecyclePolicy."
	cases := []struct {
		name, text, reason string
	}{
		// Not a policy object at all.
		{"bad json", pad(`{"rules":[`), mapErr},
		{"not an object", pad(`[{"rulePriority":1}]`), mapErr},
		{"string", pad(`"some invalid input"`), mapErr},
		{"trailing garbage", policy(rule(1, anyCount, expire)) + "x", mapErr},
		{"priority overflow", policy(rule(4294967296, anyCount, expire)), mapErr},

		// The JSON schema, in the schema validator's words.
		{"no rules", pad(`{"no_rules":"test"}`), `object has missing required properties (["rules"])`},
		{"rules not a list", pad(`{"rules":{"rulePriority":1}}`), `instance type (object) does not match any allowed primitive type (allowed: ["array"])`},
		{"empty rules", pad(`{"rules":[]}`), "array is too short: must have at least 1 elements but instance has 0 elements"},
		{"unknown top-level field", pad(`{"rules":[` + rule(1, anyCount, expire) + `],"version":1}`), `object instance has properties which are not allowed by the schema: (["version"])`},
		{"rule not an object", policy(`"not_dict"`), `instance type (string) does not match any allowed primitive type (allowed: ["object"])`},
		{"missing rulePriority", policy(`{"selection":` + anyCount + `,"action":` + expire + `}`), `object has missing required properties (["rulePriority"])`},
		{"missing selection and action", policy(`{"rulePriority":1}`), `object has missing required properties (["action", "selection"])`},
		{"unknown rule field", policy(`{"rulePriority":1,"selection":` + anyCount + `,"action":` + expire + `,"unknown":123}`), `object instance has properties which are not allowed by the schema: (["unknown"])`},
		{"priority zero", policy(rule(0, anyCount, expire)), "numeric instance is lower than the required minimum (minimum: 1, found: 0)"},
		{"priority string", policy(`{"rulePriority":"1","selection":` + anyCount + `,"action":` + expire + `}`), `instance type (string) does not match any allowed primitive type (allowed: ["integer"])`},
		{"priority fraction", policy(`{"rulePriority":1.5,"selection":` + anyCount + `,"action":` + expire + `}`), `instance type (number) does not match any allowed primitive type (allowed: ["integer"])`},
		{"description not string", policy(`{"rulePriority":1,"description":null,"selection":` + anyCount + `,"action":` + expire + `}`), `instance type (null) does not match any allowed primitive type (allowed: ["string"])`},
		{"missing tagStatus", policy(rule(1, `{"countType":"imageCountMoreThan","countNumber":30}`, expire)), `object has missing required properties (["tagStatus"])`},
		{"missing countType", policy(rule(1, `{"tagStatus":"untagged","countNumber":30}`, expire)), `object has missing required properties (["countType"])`},
		{"missing countNumber", policy(rule(1, `{"tagStatus":"untagged","countType":"imageCountMoreThan"}`, expire)), `object has missing required properties (["countNumber"])`},
		{"unknown selection field", policy(rule(1, `{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":30,"unknown":123}`, expire)), `object instance has properties which are not allowed by the schema: (["unknown"])`},
		{"unknown tagStatus", policy(rule(1, `{"tagStatus":"unknown","countType":"imageCountMoreThan","countNumber":30}`, expire)), `instance value (unknown) not found in enum :(possible values: ["any", "tagged", "untagged"])`},
		{"unknown countType", policy(rule(1, `{"tagStatus":"untagged","countType":"unknown","countNumber":30}`, expire)), reasonOneOf},
		{"countUnit with imageCountMoreThan", policy(rule(1, `{"tagStatus":"any","countType":"imageCountMoreThan","countUnit":"days","countNumber":10}`, expire)), reasonOneOf},
		{"null countUnit", policy(rule(1, `{"tagStatus":"any","countType":"imageCountMoreThan","countUnit":null,"countNumber":10}`, expire)), reasonOneOf},
		{"countUnit missing for sinceImagePushed", policy(rule(1, `{"tagStatus":"any","countType":"sinceImagePushed","countNumber":10}`, expire)), reasonOneOf},
		{"countUnit missing for sinceImagePulled", policy(rule(1, `{"tagStatus":"any","countType":"sinceImagePulled","countNumber":10}`, transition)), reasonOneOf},
		{"unknown countUnit", policy(rule(1, `{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"unknown","countNumber":30}`, expire)), `instance value (unknown) not found in enum :(possible values: ["days"])`},
		{"countNumber zero", policy(rule(1, `{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":0}`, expire)), "numeric instance is lower than the required minimum (minimum: 1, found: 0)"},
		{"countNumber negative", policy(rule(1, `{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":-1}`, expire)), "numeric instance is lower than the required minimum (minimum: 1, found: -1)"},
		{"tagPrefixList not a list", policy(rule(1, `{"tagStatus":"tagged","tagPrefixList":"prod","countType":"imageCountMoreThan","countNumber":1}`, expire)), `instance type (string) does not match any allowed primitive type (allowed: ["array"])`},
		{"tagPatternList item not a string", policy(rule(1, tagged("tagPatternList", `1`), expire)), `instance type (integer) does not match any allowed primitive type (allowed: ["string"])`},
		{"unknown storageClass", policy(rule(1, `{"tagStatus":"any","storageClass":"glacier","countType":"imageCountMoreThan","countNumber":1}`, expire)), `instance value (glacier) not found in enum :(possible values: ["archive", "standard"])`},
		{"missing action type", policy(rule(1, anyCount, `{}`)), `object has missing required properties (["type"])`},
		{"unknown action field", policy(rule(1, anyCount, `{"type":"expire","unknown":123}`)), `object instance has properties which are not allowed by the schema: (["unknown"])`},
		{"unknown action type", policy(rule(1, anyCount, `{"type":"keep"}`)), `instance value (keep) not found in enum :(possible values: ["expire", "transition"])`},
		{"expire with null target", policy(rule(1, anyCount, `{"type":"expire","targetStorageClass":null}`)), reasonOneOf},
		{"expire with target", policy(rule(1, anyCount, `{"type":"expire","targetStorageClass":"archive"}`)), reasonOneOf},
		{"transition without target", policy(rule(1, anyCount, `{"type":"transition"}`)), reasonOneOf},
		{"transition to standard", policy(rule(1, anyCount, `{"type":"transition","targetStorageClass":"standard"}`)), `instance value (standard) not found in enum :(possible values: ["archive"])`},

		// The documented constraints beyond the schema.
		{"tagged without list", policy(rule(1, `{"tagStatus":"tagged","countType":"imageCountMoreThan","countNumber":1}`, expire)), reasonTaggedNeedList},
		{"tagged with empty list", policy(rule(1, tagged("tagPrefixList", ``), expire)), reasonTaggedNeedList},
		{"both lists", policy(rule(1, `{"tagStatus":"tagged","tagPrefixList":["a"],"tagPatternList":["b*"],"countType":"imageCountMoreThan","countNumber":1}`, expire)), reasonBothLists},
		{"untagged with prefix list", policy(rule(1, `{"tagStatus":"untagged","tagPrefixList":["a"],"countType":"imageCountMoreThan","countNumber":1}`, expire)), reasonListsNeedTagged},
		{"any with empty pattern list", policy(rule(1, `{"tagStatus":"any","tagPatternList":[],"countType":"imageCountMoreThan","countNumber":1}`, expire)), reasonListsNeedTagged},
		{"five wildcards", policy(rule(1, tagged("tagPatternList", `"test*1*2*3*4*"`), expire)), reasonTooManyWildcards("test*1*2*3*4*")},
		{"doc's invalid pattern", policy(rule(1, tagged("tagPatternList", `"test*1*2*3*4*5*6"`), expire)), reasonTooManyWildcards("test*1*2*3*4*5*6")},
		{"duplicate priority", policy(rule(1, tagged("tagPrefixList", `"a"`), expire), rule(1, tagged("tagPrefixList", `"b"`), expire)), reasonUniquePriority},
		{"two untagged rules", policy(rule(1, untagged1, expire), rule(2, `{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":3}`, expire)), reasonOneUntagged},
		{"any not last", policy(rule(1, anyCount, expire), rule(2, untagged1, expire)), reasonAnyLast},
		{"two any rules", policy(rule(1, anyCount, expire), rule(2, `{"tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":3}`, expire)), reasonAnyLast},
		{"same prefixes twice", policy(rule(1, tagged("tagPrefixList", `"a","b"`), expire), rule(2, tagged("tagPrefixList", `"b","a"`), transition)), reasonUniquePrefixes},
		{"same patterns twice", policy(rule(1, tagged("tagPatternList", `"a*"`), expire), rule(2, tagged("tagPatternList", `"a*"`), expire)), reasonUniquePrefixes},
		{"sinceImagePulled expire", policy(rule(1, `{"tagStatus":"any","countType":"sinceImagePulled","countUnit":"days","countNumber":90}`, expire)), reasonPulledTransition},
		{"sinceImageTransitioned transition", policy(rule(1, `{"tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90}`, transition)), reasonTransExpire},
		{"sinceImageTransitioned standard", policy(rule(1, `{"tagStatus":"any","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90}`, expire)), reasonTransArchive},
		{"archive with imageCountMoreThan", policy(rule(1, `{"tagStatus":"any","storageClass":"archive","countType":"imageCountMoreThan","countNumber":9}`, expire)), reasonStandardOnly},
		{"archive under 90 days", policy(rule(1, `{"tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":89}`, expire)), reasonArchiveMinimum(89)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Parse(c.text)
			if err == nil {
				t.Fatalf("Parse accepted %s as %+v", c.text, p)
			}
			var verr *ValidationError
			if !errors.As(err, &verr) || !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("error %v (%T) is not a *ValidationError", err, err)
			}
			if verr.Length || verr.Reason != c.reason {
				t.Errorf("reason = %q (length %v)\n  want %q", verr.Reason, verr.Length, c.reason)
			}
		})
	}
}

func TestParseLength(t *testing.T) {
	short := `{"rules":[{"rulePriority":1}]}`
	long := `{"rules":[` + rule(1, anyCount, expire) + `]}` + strings.Repeat(" ", MaxTextLength)
	for name, c := range map[string]struct{ text, reason string }{
		"short": {short, "Member must have length greater than or equal to 100"},
		"long":  {long, "Member must have length less than or equal to 30720"},
		"empty": {"", "Member must have length greater than or equal to 100"},
	} {
		_, err := Parse(c.text)
		var verr *ValidationError
		if !errors.As(err, &verr) || !verr.Length || verr.Reason != c.reason {
			t.Errorf("%s: got %v, want length error %q", name, err, c.reason)
		}
	}
	// Length is counted in characters, not bytes.
	text := `{"rules":[{"rulePriority":1,"description":"` + strings.Repeat("é", 40) + `","selection":` + anyCount + `,"action":` + expire + `}]}`
	if _, err := Parse(text); err != nil {
		t.Errorf("multi-byte description: %v", err)
	}
}

func TestValidationErrorMessage(t *testing.T) {
	_, err := Parse(policy(rule(1, anyCount, expire), rule(2, untagged1, expire)))
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatal(err)
	}
	want := "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: Rule for tagStatus=ANY must have the lowest priority per storage class'"
	if got := verr.Message("lifecyclePolicyText"); got != want {
		t.Errorf("Message = %q", got)
	}
	_, err = Parse("{}")
	if !errors.As(err, &verr) {
		t.Fatal(err)
	}
	want = "1 validation error detected: Value at 'lifecyclePolicyText' failed to satisfy constraint: Member must have length greater than or equal to 100"
	if got := verr.Message("lifecyclePolicyText"); got != want {
		t.Errorf("Message = %q", got)
	}
}

// Rules selecting different storage classes are checked apart: each class
// may have its own untagged rule and its own last any rule.
func TestParsePerStorageClass(t *testing.T) {
	_, err := Parse(policy(
		rule(1, untagged1, expire),
		rule(2, anyCount, transition),
		rule(3, `{"tagStatus":"untagged","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":100}`, expire),
		rule(4, `{"tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":365}`, expire),
	))
	if err != nil {
		t.Fatal(err)
	}
	// Same prefix set, different storage classes.
	_, err = Parse(policy(
		rule(1, tagged("tagPrefixList", `"a"`), transition),
		rule(2, `{"tagStatus":"tagged","tagPrefixList":["a"],"storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":100}`, expire),
	))
	if err != nil {
		t.Fatal(err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(policy(rule(1, anyCount, expire)))
	f.Add(policy(rule(1, tagged("tagPatternList", `"*a*"`), transition)))
	f.Add(pad(`{"rules":[{"rulePriority":1e3}]}`))
	f.Fuzz(func(t *testing.T, text string) {
		p, err := Parse(text)
		if err != nil {
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		// A policy that parses must evaluate without trouble.
		p.Evaluate([]Image{img("a", 3, "x"), img("b", 200), {Digest: "c", StorageClass: "ARCHIVE"}}, now)
	})
}
