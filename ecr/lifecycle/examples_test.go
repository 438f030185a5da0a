package lifecycle

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// The worked examples of AWS's "Examples of lifecycle policies in Amazon
// ECR" and "Automate the cleanup of images by using lifecycle policies"
// pages, policy texts verbatim, with the outcome the documentation states.
// Where a page gives a policy without a repository, the repository here is
// made up to exercise it.

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func daysAgo(n float64) time.Time { return now.Add(-time.Duration(n * float64(24*time.Hour))) }

func img(name string, pushedDaysAgo float64, tags ...string) Image {
	return Image{Digest: "sha256:" + name, Tags: tags, PushedAt: daysAgo(pushedDaysAgo)}
}

// outcome renders actions as "A:EXPIRE@1 B:TRANSITION@2", sorted by image.
func outcome(actions []Action) string {
	var parts []string
	for _, a := range actions {
		parts = append(parts, fmt.Sprintf("%s:%s@%d", strings.TrimPrefix(a.Digest, "sha256:"), a.Type, a.RulePriority))
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

type example struct {
	name   string
	policy string
	images []Image
	want   string
}

func runExamples(t *testing.T, examples []example) {
	t.Helper()
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			p, err := Parse(ex.policy)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := outcome(p.Evaluate(ex.images, now)); got != ex.want {
				t.Errorf("outcome = %q, want %q", got, ex.want)
			}
		})
	}
}

// The repositories of the "Filtering on multiple rules" examples.
func multipleRulesRepo() []Image {
	return []Image{
		img("A", 10, "beta-1", "prod-1"),
		img("B", 9, "beta-2", "prod-2"),
		img("C", 8, "beta-3"),
	}
}

func multipleTagsRepoA() []Image {
	return []Image{
		img("A", 12, "alpha-1"),
		img("B", 11, "beta-1"),
		img("C", 10, "alpha-2", "beta-2"),
		img("D", 4, "alpha-3"),
		img("E", 3, "beta-3"),
		img("F", 2, "alpha-4", "beta-4"),
	}
}

func multipleTagsRepoB() []Image {
	return []Image{
		img("A", 10, "alpha-1", "beta-1", "gamma-1"),
		img("B", 9, "alpha-2", "beta-2"),
		img("C", 8, "alpha-3", "beta-3", "gamma-2"),
	}
}

func allImagesRepoA() []Image {
	return []Image{
		img("A", 4, "alpha-1"),
		img("B", 3, "beta-1"),
		img("C", 2),
		img("D", 1, "alpha-2"),
	}
}

// In the documentation D and E are both "pushed 1 day ago" and the outcome
// (D expired by the any rule, E kept as the newest) needs E to count as the
// newer one; equal push times are ordered by digest, so "E" > "D" does it.
func allImagesRepoB() []Image {
	return []Image{
		img("A", 4, "alpha-1", "beta-1"),
		img("B", 3),
		img("C", 2, "alpha-2"),
		img("D", 1, "git hash"),
		img("E", 1),
	}
}

const ruleTmpl = `{"rulePriority": %d, "description": "Rule %d", "selection": {"tagStatus": "tagged", "%s": [%s], "countType": "imageCountMoreThan", "countNumber": 1}, "action": {"type": "expire"}}`

func twoRules(list, first, second string) string {
	return `{"rules": [` + fmt.Sprintf(ruleTmpl, 1, 1, list, first) + `, ` + fmt.Sprintf(ruleTmpl, 2, 2, list, second) + `]}`
}

func TestDocExamplesMultipleRules(t *testing.T) {
	runExamples(t, []example{
		// Rule 2 would mark A and B; A is already expired by rule 1 and B
		// matches rule 1's tags, so rule 2 may not expire it.
		{"A/prefix", twoRules("tagPrefixList", `"prod"`, `"beta"`), multipleRulesRepo(), "A:EXPIRE@1"},
		{"A/pattern", twoRules("tagPatternList", `"prod*"`, `"beta*"`), multipleRulesRepo(), "A:EXPIRE@1"},
		// Rule 1 sees all three and marks A and B; rule 2 sees nothing new.
		{"B/prefix", twoRules("tagPrefixList", `"beta"`, `"prod"`), multipleRulesRepo(), "A:EXPIRE@1 B:EXPIRE@1"},
		{"B/pattern", twoRules("tagPatternList", `"beta*"`, `"prod*"`), multipleRulesRepo(), "A:EXPIRE@1 B:EXPIRE@1"},
	})
}

func TestDocExamplesMultipleTagsInOneRule(t *testing.T) {
	const a = `{
    "rules": [
        {
            "rulePriority": 1,
            "description": "Rule 1",
            "selection": {
                "tagStatus": "tagged",
                "%s": [%s],
                "countType": "sinceImagePushed",
                "countNumber": 5,
                "countUnit": "days"
            },
            "action": {
                "type": "expire"
            }
        }
    ]
}`
	const b = `{
    "rules": [
        {
            "rulePriority": 1,
            "description": "Rule 1",
            "selection": {
                "tagStatus": "tagged",
                "%s": [%s],
                "countType": "imageCountMoreThan",
                "countNumber": 1
            },
            "action": {
                "type": "expire"
            }
        }
    ]
}`
	runExamples(t, []example{
		// Only C and F carry both an alpha and a beta tag; C is older than
		// five days.
		{"A/prefix", fmt.Sprintf(a, "tagPrefixList", `"alpha", "beta"`), multipleTagsRepoA(), "C:EXPIRE@1"},
		{"A/pattern", fmt.Sprintf(a, "tagPatternList", `"alpha*", "beta*"`), multipleTagsRepoA(), "C:EXPIRE@1"},
		// Tags are not exclusive: a gamma tag does not stop a match.
		{"B/prefix", fmt.Sprintf(b, "tagPrefixList", `"alpha", "beta"`), multipleTagsRepoB(), "A:EXPIRE@1 B:EXPIRE@1"},
		{"B/pattern", fmt.Sprintf(b, "tagPatternList", `"alpha*", "beta*"`), multipleTagsRepoB(), "A:EXPIRE@1 B:EXPIRE@1"},
	})
}

func TestDocExamplesAllImages(t *testing.T) {
	const a = `{
    "rules": [
        {
            "rulePriority": 1,
            "description": "Rule 1",
            "selection": {
                "tagStatus": "any",
                "countType": "imageCountMoreThan",
                "countNumber": 1
            },
            "action": {
                "type": "expire"
            }
        }
    ]
}`
	const b = `{
    "rules": [
        {
            "rulePriority": 1,
            "description": "Rule 1",
            "selection": {
                "tagStatus": "tagged",
                "%s": [%s],
                "countType": "imageCountMoreThan",
                "countNumber": 1
            },
            "action": {
                "type": "expire"
            }
        },
        {
            "rulePriority": 2,
            "description": "Rule 2",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 1
            },
            "action": {
                "type": "expire"
            }
        },
        {
            "rulePriority": 3,
            "description": "Rule 3",
            "selection": {
                "tagStatus": "any",
                "countType": "imageCountMoreThan",
                "countNumber": 1
            },
            "action": {
                "type": "expire"
            }
        }
    ]
}`
	runExamples(t, []example{
		{"A", a, allImagesRepoA(), "A:EXPIRE@1 B:EXPIRE@1 C:EXPIRE@1"},
		// Rule 1 expires A, rule 2 expires B (E is exactly one day old, not
		// older), rule 3 may only take D: A, B, C and E matched rules 1-2.
		{"B/prefix", fmt.Sprintf(b, "tagPrefixList", `"alpha"`), allImagesRepoB(), "A:EXPIRE@1 B:EXPIRE@2 D:EXPIRE@3"},
		{"B/pattern", fmt.Sprintf(b, "tagPatternList", `"alpha*"`), allImagesRepoB(), "A:EXPIRE@1 B:EXPIRE@2 D:EXPIRE@3"},
	})
}

func TestDocExamplesSingleRule(t *testing.T) {
	const ageNew = `{
    "rules": [
        {
            "rulePriority": 1,
            "description": "Expire images older than 14 days",
            "selection": {
                "tagStatus": "tagged",
                "tagPatternList": ["prod*"],
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 14
            },
            "action": {
                "type": "expire"
            }
        }
    ]
}`
	const ageOld = `{
    "rules": [
        {
            "rulePriority": 1,
            "description": "Expire images older than 14 days",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 14
            },
            "action": {
                "type": "expire"
            }
        }
    ]
}`
	const count = `{
    "rules": [
        {
            "rulePriority": 1,
            "description": "Keep only one untagged image, expire all others",
            "selection": {
                "tagStatus": "untagged",
                "countType": "imageCountMoreThan",
                "countNumber": 1
            },
            "action": {
                "type": "expire"
            }
        }
    ]
}`
	repo := []Image{
		img("prod-old", 20, "prod-1"),
		img("prod-new", 10, "production-team1"),
		img("dev-old", 20, "dev-1"),
		img("untagged-old", 30),
		img("untagged-mid", 15),
		img("untagged-new", 1),
	}
	runExamples(t, []example{
		{"age/tagPatternList", ageNew, repo, "prod-old:EXPIRE@1"},
		{"age/untagged", ageOld, repo, "untagged-mid:EXPIRE@1 untagged-old:EXPIRE@1"},
		{"count/untagged", count, repo, "untagged-mid:EXPIRE@1 untagged-old:EXPIRE@1"},
	})
}

func TestDocExamplesArchive(t *testing.T) {
	const pulled = `{
    "rules": [
        {
            "rulePriority": 1,
            "description": "Archive images not pulled in 90 days",
            "selection": {
                "tagStatus": "any",
                "countType": "sinceImagePulled",
                "countUnit": "days",
                "countNumber": 90
            },
            "action": {
                "type": "transition",
                "targetStorageClass": "archive"
            }
        }
    ]
}`
	const transitioned = `{
    "rules": [
        {
            "rulePriority": 1,
            "description": "Expire images archived for more than 365 days",
            "selection": {
                "tagStatus": "any",
                "storageClass": "archive",
                "countType": "sinceImageTransitioned",
                "countUnit": "days",
                "countNumber": 365
            },
            "action": {
                "type": "expire"
            }
        }
    ]
}`
	const prodAge = `{
    "rules": [
        {
            "rulePriority": 1,
            "description": "Archive production images older than 30 days",
            "selection": {
                "tagStatus": "tagged",
                "tagPatternList": ["prod*"],
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 30
            },
            "action": {
                "type": "transition",
                "targetStorageClass": "archive"
            }
        }
    ]
}`
	const combined = `{
    "rules": [
        {
            "rulePriority": 1,
            "description": "Archive images older than 30 days",
            "selection": {
                "tagStatus": "any",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 30
            },
            "action": {
                "type": "transition",
                "targetStorageClass": "archive"
            }
        },
        {
            "rulePriority": 2,
            "description": "Expire images archived for more than 365 days",
            "selection": {
                "tagStatus": "any",
                "storageClass": "archive",
                "countType": "sinceImageTransitioned",
                "countUnit": "days",
                "countNumber": 365
            },
            "action": {
                "type": "expire"
            }
        }
    ]
}`
	archived := func(name string, pushed, archivedDaysAgo float64, tags ...string) Image {
		i := img(name, pushed, tags...)
		i.StorageClass = StorageArchive
		i.ArchivedAt = daysAgo(archivedDaysAgo)
		return i
	}
	pulledAgo := func(i Image, d float64) Image { i.LastPulledAt = daysAgo(d); return i }
	restored := func(i Image, d float64) Image { i.LastActivatedAt = daysAgo(d); return i }
	repo := []Image{
		pulledAgo(img("pulled-recently", 200, "v1"), 10),
		pulledAgo(img("pulled-long-ago", 200, "v2"), 120),
		img("never-pulled-old", 100, "prod-1"),
		img("never-pulled-new", 20, "prod-2"),
		// Pulled 150 days ago, restored 40 days ago and not pulled since:
		// the restore counts as the last use, and as the push time.
		restored(pulledAgo(img("restored", 300, "prod-3"), 150), 40),
		archived("archived-long", 800, 400, "old"),
		archived("archived-short", 800, 100),
	}
	runExamples(t, []example{
		{"not pulled in 90 days", pulled, repo, "never-pulled-old:TRANSITION@1 pulled-long-ago:TRANSITION@1"},
		{"archived more than 365 days", transitioned, repo, "archived-long:EXPIRE@1"},
		{"prod older than 30 days", prodAge, repo, "never-pulled-old:TRANSITION@1 restored:TRANSITION@1"},
		{"archive then expire", combined, repo,
			"archived-long:EXPIRE@2 never-pulled-old:TRANSITION@1 pulled-long-ago:TRANSITION@1 pulled-recently:TRANSITION@1 restored:TRANSITION@1"},
	})
}

// The product brief's example: keep only the last 10 images.
func TestBriefKeepLastTen(t *testing.T) {
	const policy = `{"rules":[{"rulePriority":1,"description":"Keep last 10 images","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":10},"action":{"type":"expire"}}]}`
	var repo []Image
	for i := range 15 {
		var tags []string
		if i%2 == 0 {
			tags = []string{fmt.Sprintf("v%d", i)}
		}
		repo = append(repo, img(fmt.Sprintf("%02d", i), float64(15-i), tags...))
	}
	runExamples(t, []example{
		{"15 images", policy, repo, "00:EXPIRE@1 01:EXPIRE@1 02:EXPIRE@1 03:EXPIRE@1 04:EXPIRE@1"},
		{"10 images", policy, repo[5:], ""},
	})
}
