package lifecycle

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// Parse validates a lifecycle policy text as ECR does and returns the
// policy. Every refusal is a *ValidationError carrying AWS's reason.
//
// ECR checks in three stages and so does Parse: the text must be a JSON
// object (else "Could not map policyString into LifecyclePolicy."), then it
// must satisfy ECR's JSON schema (reported in the schema validator's words),
// then the rules must satisfy the documented semantic constraints.
func Parse(text string) (*Policy, error) {
	if n := utf8.RuneCountInString(text); n < MinTextLength {
		return nil, &ValidationError{Length: true, Reason: fmt.Sprintf("Member must have length greater than or equal to %d", MinTextLength)}
	} else if n > MaxTextLength {
		return nil, &ValidationError{Length: true, Reason: fmt.Sprintf("Member must have length less than or equal to %d", MaxTextLength)}
	}
	root, err := decode(text)
	if err != nil {
		return nil, err
	}
	p, verr := fromSchema(root)
	if verr != nil {
		return nil, verr
	}
	if verr := p.check(); verr != nil {
		return nil, verr
	}
	sort.SliceStable(p.Rules, func(i, j int) bool { return p.Rules[i].Priority < p.Rules[j].Priority })
	return p, nil
}

func decode(text string) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, invalid(reasonNotMappable)
	}
	// Trailing content would make the stored text mean something other
	// than what was validated.
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalid(reasonNotMappable)
	}
	obj, ok := root.(map[string]any)
	if !ok {
		return nil, invalid(reasonNotMappable)
	}
	return obj, nil
}

// fromSchema applies ECR's JSON schema to the decoded document and builds
// the rules from it.
func fromSchema(root map[string]any) (*Policy, *ValidationError) {
	if err := checkProps(root, []string{"rules"}, []string{"rules"}); err != nil {
		return nil, err
	}
	list, ok := root["rules"].([]any)
	if !ok {
		return nil, typeMismatch(root["rules"], "array")
	}
	if len(list) == 0 {
		return nil, invalid("array is too short: must have at least 1 elements but instance has 0 elements")
	}
	p := &Policy{Rules: make([]Rule, 0, len(list))}
	for _, item := range list {
		r, err := ruleFromSchema(item)
		if err != nil {
			return nil, err
		}
		p.Rules = append(p.Rules, r)
	}
	return p, nil
}

func ruleFromSchema(v any) (Rule, *ValidationError) {
	var r Rule
	obj, ok := v.(map[string]any)
	if !ok {
		return r, typeMismatch(v, "object")
	}
	if err := checkProps(obj, []string{"rulePriority", "selection", "action"}, []string{"rulePriority", "description", "selection", "action"}); err != nil {
		return r, err
	}
	var err *ValidationError
	if r.Priority, err = integer(obj["rulePriority"]); err != nil {
		return r, err
	}
	if d, ok := obj["description"]; ok {
		s, ok := d.(string)
		if !ok {
			return r, typeMismatch(d, "string")
		}
		r.Description = s
	}
	if err := selectionFromSchema(obj["selection"], &r); err != nil {
		return r, err
	}
	if err := actionFromSchema(obj["action"], &r); err != nil {
		return r, err
	}
	return r, nil
}

var (
	tagStatuses    = []string{TagStatusAny, TagStatusTagged, TagStatusUntagged}
	countTypes     = []string{CountImageCountMoreThan, CountSinceImagePulled, CountSinceImagePushed, CountSinceImageTransitioned}
	countUnits     = []string{CountUnitDays}
	storageClasses = []string{PolicyStorageArchive, PolicyStorageStandard}
	actionTypes    = []string{PolicyActionExpire, PolicyActionTransition}
	targetClasses  = []string{PolicyStorageArchive}
)

func selectionFromSchema(v any, r *Rule) *ValidationError {
	obj, ok := v.(map[string]any)
	if !ok {
		return typeMismatch(v, "object")
	}
	if err := checkProps(obj,
		[]string{"tagStatus", "countType", "countNumber"},
		[]string{"tagStatus", "tagPrefixList", "tagPatternList", "storageClass", "countType", "countUnit", "countNumber"}); err != nil {
		return err
	}
	var err *ValidationError
	if r.TagStatus, err = enum(obj["tagStatus"], tagStatuses); err != nil {
		return err
	}
	// ECR's schema is a oneOf of "count" (imageCountMoreThan, no countUnit)
	// and "age" (a since* type with a countUnit); an unknown countType, a
	// missing or extra countUnit, or a null one matches neither branch.
	ct, _ := obj["countType"].(string)
	unit, hasUnit := obj["countUnit"]
	switch {
	case ct == CountImageCountMoreThan && !hasUnit:
	case ct != CountImageCountMoreThan && slices.Contains(countTypes, ct) && hasUnit && unit != nil:
	default:
		return invalid(reasonOneOf)
	}
	r.CountType = ct
	if hasUnit {
		if r.CountUnit, err = enum(unit, countUnits); err != nil {
			return err
		}
	}
	if r.CountNumber, err = integer(obj["countNumber"]); err != nil {
		return err
	}
	if v, ok := obj["tagPrefixList"]; ok {
		if r.TagPrefixList, err = stringList(v); err != nil {
			return err
		}
	}
	if v, ok := obj["tagPatternList"]; ok {
		if r.TagPatternList, err = stringList(v); err != nil {
			return err
		}
	}
	// The lists keep "present but empty" apart from "absent": ECR refuses an
	// empty list on an untagged or any rule.
	if _, ok := obj["tagPrefixList"]; ok && r.TagPrefixList == nil {
		r.TagPrefixList = []string{}
	}
	if _, ok := obj["tagPatternList"]; ok && r.TagPatternList == nil {
		r.TagPatternList = []string{}
	}
	r.StorageClass = PolicyStorageStandard
	if v, ok := obj["storageClass"]; ok {
		if r.StorageClass, err = enum(v, storageClasses); err != nil {
			return err
		}
	}
	return nil
}

func actionFromSchema(v any, r *Rule) *ValidationError {
	obj, ok := v.(map[string]any)
	if !ok {
		return typeMismatch(v, "object")
	}
	if err := checkProps(obj, []string{"type"}, []string{"type", "targetStorageClass"}); err != nil {
		return err
	}
	var err *ValidationError
	if r.Action, err = enum(obj["type"], actionTypes); err != nil {
		return err
	}
	// A oneOf again: expire without a target, transition with one.
	target, hasTarget := obj["targetStorageClass"]
	switch {
	case r.Action == PolicyActionExpire && !hasTarget:
	case r.Action == PolicyActionTransition && hasTarget && target != nil:
		if r.TargetStorageClass, err = enum(target, targetClasses); err != nil {
			return err
		}
	default:
		return invalid(reasonOneOf)
	}
	return nil
}

// check applies the constraints the documentation states beyond the schema.
func (p *Policy) check() *ValidationError {
	for i := range p.Rules {
		if err := p.Rules[i].check(); err != nil {
			return err
		}
	}
	seen := map[int]bool{}
	for _, r := range p.Rules {
		if seen[r.Priority] {
			return invalid(reasonUniquePriority)
		}
		seen[r.Priority] = true
	}
	// The untagged, any-last and unique-prefix rules hold per storage
	// class: a policy may archive with an any rule and expire archived
	// images with another any rule.
	for _, class := range storageClasses {
		var rules []Rule
		for _, r := range p.Rules {
			if r.StorageClass == class {
				rules = append(rules, r)
			}
		}
		if err := checkClass(rules); err != nil {
			return err
		}
	}
	return nil
}

func (r *Rule) check() *ValidationError {
	if r.TagPrefixList != nil && r.TagPatternList != nil {
		return invalid(reasonBothLists)
	}
	switch r.TagStatus {
	case TagStatusTagged:
		if len(r.TagPrefixList) == 0 && len(r.TagPatternList) == 0 {
			return invalid(reasonTaggedNeedList)
		}
	default:
		if r.TagPrefixList != nil || r.TagPatternList != nil {
			return invalid(reasonListsNeedTagged)
		}
	}
	for _, pat := range r.TagPatternList {
		if strings.Count(pat, "*") > MaxWildcards {
			return invalid("%s", reasonTooManyWildcards(pat))
		}
	}
	switch {
	case r.CountType == CountSinceImageTransitioned && r.StorageClass != PolicyStorageArchive:
		return invalid(reasonTransArchive)
	case r.CountType != CountSinceImageTransitioned && r.StorageClass == PolicyStorageArchive:
		return invalid(reasonStandardOnly)
	case r.CountType == CountSinceImagePulled && r.Action != PolicyActionTransition:
		return invalid(reasonPulledTransition)
	case r.CountType == CountSinceImageTransitioned && r.Action != PolicyActionExpire:
		return invalid(reasonTransExpire)
	case r.CountType == CountSinceImageTransitioned && r.CountNumber < MinArchiveDays:
		return invalid("%s", reasonArchiveMinimum(r.CountNumber))
	}
	return nil
}

// checkClass checks the rules that select one storage class.
func checkClass(rules []Rule) *ValidationError {
	untagged := 0
	maxPriority := math.MinInt
	for _, r := range rules {
		if r.TagStatus == TagStatusUntagged {
			untagged++
		}
		maxPriority = max(maxPriority, r.Priority)
	}
	if untagged > 1 {
		return invalid(reasonOneUntagged)
	}
	for _, r := range rules {
		if r.TagStatus == TagStatusAny && r.Priority != maxPriority {
			return invalid(reasonAnyLast)
		}
	}
	// Two rules with the same tag set would select exactly the same images,
	// and the second could never act; ECR refuses that.
	seen := map[string]bool{}
	for _, r := range rules {
		var key string
		switch {
		case len(r.TagPrefixList) > 0:
			key = "prefix\x00" + setKey(r.TagPrefixList)
		case len(r.TagPatternList) > 0:
			key = "pattern\x00" + setKey(r.TagPatternList)
		default:
			continue
		}
		if seen[key] {
			return invalid(reasonUniquePrefixes)
		}
		seen[key] = true
	}
	return nil
}

func setKey(list []string) string {
	s := slices.Clone(list)
	slices.Sort(s)
	return strings.Join(slices.Compact(s), "\x00")
}

// checkProps reports missing required and unknown properties in the schema
// validator's words, all names at once and sorted, as it does.
func checkProps(obj map[string]any, required, allowed []string) *ValidationError {
	var missing, extra []string
	for _, k := range required {
		if _, ok := obj[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return invalid("object has missing required properties (%s)", jsonList(missing))
	}
	for k := range obj {
		if !slices.Contains(allowed, k) {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return invalid("object instance has properties which are not allowed by the schema: (%s)", jsonList(extra))
	}
	return nil
}

// integer accepts a JSON integer of at least 1 (every integer of the
// language, rulePriority and countNumber, has that minimum). Values beyond a
// 32-bit int cannot be mapped onto ECR's policy model.
func integer(v any) (int, *ValidationError) {
	n, ok := v.(json.Number)
	if !ok || strings.ContainsAny(n.String(), ".eE") {
		return 0, typeMismatch(v, "integer")
	}
	i, err := n.Int64()
	if err != nil || i > math.MaxInt32 || i < math.MinInt32 {
		return 0, invalid(reasonNotMappable)
	}
	if i < 1 {
		return 0, invalid("numeric instance is lower than the required minimum (minimum: 1, found: %d)", i)
	}
	return int(i), nil
}

func enum(v any, values []string) (string, *ValidationError) {
	s, ok := v.(string)
	if !ok {
		return "", typeMismatch(v, "string")
	}
	if !slices.Contains(values, s) {
		return "", invalid("instance value (%s) not found in enum :(possible values: %s)", s, jsonList(values))
	}
	return s, nil
}

func stringList(v any) ([]string, *ValidationError) {
	items, ok := v.([]any)
	if !ok {
		return nil, typeMismatch(v, "array")
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, ok := it.(string)
		if !ok {
			return nil, typeMismatch(it, "string")
		}
		out = append(out, s)
	}
	return out, nil
}

func typeMismatch(v any, want string) *ValidationError {
	return invalid("instance type (%s) does not match any allowed primitive type (allowed: %s)", jsonType(v), jsonList([]string{want}))
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number:
		if strings.ContainsAny(x.String(), ".eE") {
			return "number"
		}
		return "integer"
	case string:
		return "string"
	case []any:
		return "array"
	default:
		return "object"
	}
}

// jsonList renders names as ECR's messages do (as moto reproduces them):
// a JSON array with ", " between items.
func jsonList(items []string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		b, _ := json.Marshal(s)
		quoted[i] = string(b)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}
