// Package lifecycle is ECR's lifecycle policy language: parsing and
// validating a policy text the way ECR does, and evaluating it against a
// repository's images. It has no I/O, so StartLifecyclePolicyPreview and the
// real expiry run the same Evaluate and cannot disagree.
package lifecycle

// Model and documentation limits.
const (
	// MinTextLength and MaxTextLength bound LifecyclePolicyText (characters).
	MinTextLength = 100
	MaxTextLength = 30720
	// MaxWildcards is the documented limit of '*' per tagPatternList string.
	MaxWildcards = 4
	// MinArchiveDays is the minimum archive storage duration: ECR refuses
	// rules that would delete images archived for less.
	MinArchiveDays = 90
)

// Values of the policy language, spelled as in the policy JSON.
const (
	TagStatusTagged   = "tagged"
	TagStatusUntagged = "untagged"
	TagStatusAny      = "any"

	CountImageCountMoreThan     = "imageCountMoreThan"
	CountSinceImagePushed       = "sinceImagePushed"
	CountSinceImagePulled       = "sinceImagePulled"
	CountSinceImageTransitioned = "sinceImageTransitioned"

	CountUnitDays = "days"

	PolicyStorageStandard = "standard"
	PolicyStorageArchive  = "archive"

	PolicyActionExpire     = "expire"
	PolicyActionTransition = "transition"
)

// Values of the ECR API (ImageActionType, LifecyclePolicyStorageClass), as
// used in Action and Image.
const (
	ActionExpire     = "EXPIRE"
	ActionTransition = "TRANSITION"

	StorageStandard = "STANDARD"
	StorageArchive  = "ARCHIVE"
)

// Policy is a parsed, valid lifecycle policy. Rules are sorted by Priority,
// lowest (applied first) to highest.
type Policy struct {
	Rules []Rule
}

// Rule is one rule of a policy. Optional fields hold their documented
// defaults after Parse (StorageClass "standard").
type Rule struct {
	Priority    int
	Description string

	TagStatus      string   // tagged | untagged | any
	TagPrefixList  []string // only with tagged; every prefix must match one of the image's tags
	TagPatternList []string // only with tagged; every pattern must match one of the image's tags
	StorageClass   string   // standard | archive: the only images the rule sees

	CountType   string
	CountUnit   string // "days" for the since* count types, "" otherwise
	CountNumber int

	Action             string // expire | transition
	TargetStorageClass string // "archive" for transition, "" otherwise
}
