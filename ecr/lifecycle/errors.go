package lifecycle

import (
	"errors"
	"fmt"
)

// ErrInvalidPolicy is matched (errors.Is) by every *ValidationError.
var ErrInvalidPolicy = errors.New("lifecycle: invalid policy")

// ValidationError says why a lifecycle policy text was refused.
//
// AWS reports two different things for a bad policy and the ECR layer must
// keep them apart: a text whose length breaks the model's bounds is caught by
// request validation (ValidationException), everything else by ECR's policy
// evaluator (InvalidParameterException with the "Lifecycle policy validation
// failure" wrapper). Length tells which one this is.
type ValidationError struct {
	// Reason is AWS's text: the part after "Lifecycle policy validation
	// failure: " for a policy failure, or the model constraint for Length.
	Reason string
	// Length is set when the text is shorter than MinTextLength or longer
	// than MaxTextLength.
	Length bool
}

func (e *ValidationError) Error() string { return "lifecycle: " + e.Reason }

// Is makes errors.Is(err, ErrInvalidPolicy) hold.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidPolicy }

// Message is the complete message AWS sends for this error, for the given
// member name ("lifecyclePolicyText" in request validation, where AWS uses
// the wire member name; policy failures always name 'LifecyclePolicyText').
func (e *ValidationError) Message(member string) string {
	if e.Length {
		return fmt.Sprintf("1 validation error detected: Value at '%s' failed to satisfy constraint: %s", member, e.Reason)
	}
	return "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: " + e.Reason + "'"
}

func invalid(format string, args ...any) *ValidationError {
	return &ValidationError{Reason: fmt.Sprintf(format, args...)}
}

// Reasons AWS is known to return verbatim (seen in public error reports and
// in moto, which copied them from AWS). The JSON-schema ones come from the
// schema validator ECR runs before its own checks.
const (
	reasonNotMappable    = "Could not map policyString into LifecyclePolicy."
	reasonOneOf          = "instance failed to match exactly one schema (matched 0 out of 2)"
	reasonTaggedNeedList = "Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED."
	reasonOneUntagged    = "Only one rule can select Untagged images per storage class."
	reasonAnyLast        = "Rule for tagStatus=ANY must have the lowest priority per storage class"
)

// Reasons for constraints the documentation states but for which no AWS
// message is public; they are worded after the documentation.
const (
	reasonBothLists        = "A rule may specify either tagPatternList or tagPrefixList, but not both."
	reasonListsNeedTagged  = "tagPatternList and tagPrefixList may only be used when tagStatus=TAGGED."
	reasonUniquePriority   = "Rules must have unique rulePriority values."
	reasonUniquePrefixes   = "The set of rules selecting a storage class must contain a unique set of tag prefixes and tag patterns."
	reasonPulledTransition = "countType sinceImagePulled must be used with action type transition."
	reasonTransExpire      = "countType sinceImageTransitioned must be used with action type expire."
	reasonTransArchive     = "countType sinceImageTransitioned requires storageClass archive."
	reasonStandardOnly     = "storageClass archive may only be used with countType sinceImageTransitioned."
)

func reasonTooManyWildcards(pattern string) string {
	return fmt.Sprintf("tagPatternList value %q has more than %d wildcards (*); the maximum is %d per string.", pattern, MaxWildcards, MaxWildcards)
}

func reasonArchiveMinimum(n int) string {
	return fmt.Sprintf("countNumber for countType sinceImageTransitioned must be at least %d (days): archived images have a %d-day minimum storage duration, found: %d", MinArchiveDays, MinArchiveDays, n)
}
