package ssm

import (
	"regexp"
	"strconv"
	"strings"

	ssmapi "github.com/berth-dev/berth/api/ssm"
	"github.com/berth-dev/berth/awsapi"
)

// Limits of parameter names, from the Parameter Store documentation.
const (
	maxNameLength = 1011
	maxLevels     = 15
)

// SecretsReferencePrefix names Secrets Manager secrets through Parameter
// Store.
const SecretsReferencePrefix = "/aws/reference/secretsmanager/"

var nameChars = regexp.MustCompile(`^[a-zA-Z0-9_.\-/]+$`)

// key is the store id of a parameter: a single-level name is the same
// parameter with or without its leading slash.
func key(name string) string {
	if rest, ok := strings.CutPrefix(name, "/"); ok && !strings.Contains(rest, "/") {
		return rest
	}
	return name
}

// fullPath is a parameter's name as a path from the root: its key with a
// leading slash.
func fullPath(k string) string {
	if strings.HasPrefix(k, "/") {
		return k
	}
	return "/" + k
}

// parameterARN is arn:aws:ssm:<region>:<account>:parameter/<name without
// its leading slash>.
func parameterARN(c caller, name string) string {
	return "arn:aws:ssm:" + c.Region + ":" + c.Account + ":parameter/" + strings.TrimPrefix(name, "/")
}

// invalidName is AWS's answer to a name breaking the naming rules.
func invalidName() error {
	return awsapi.Errorf(awsapi.CodeValidation, `Parameter name: can't be prefixed with "ssm" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_`)
}

// invalidPath is AWS's answer to a path breaking the naming rules.
func invalidPath() error {
	return awsapi.Errorf(awsapi.CodeValidation, `The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash "/". It can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special characters are not allowed. All sub-paths, if specified, must use the forward slash symbol "/". Valid example: /get/parameters2-/by1./path0_.`)
}

func parameterNotFound() error { return ssmapi.NewParameterNotFound("") }

// wellFormed reports whether name has the syntax of a parameter name:
// allowed characters, and when it has slashes, a leading one and no empty
// level.
func wellFormed(name string) bool {
	if !nameChars.MatchString(name) {
		return false
	}
	if !strings.Contains(name, "/") {
		return true
	}
	if !strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.Contains(name, "//") {
		return false
	}
	return true
}

// checkNewName applies every naming rule to the name of a parameter to
// create.
func checkNewName(name string) error {
	if !wellFormed(name) {
		return invalidName()
	}
	if len(name) > maxNameLength {
		return awsapi.Errorf(awsapi.CodeValidation, "Parameter name: the name is %d characters long; it can have at most %d characters.", len(name), maxNameLength)
	}
	first := strings.ToLower(strings.SplitN(strings.TrimPrefix(name, "/"), "/", 2)[0])
	hierarchical := strings.HasPrefix(name, "/") && strings.Count(name, "/") > 1
	switch {
	case strings.HasPrefix(first, "aws") && hierarchical:
		return ssmapi.NewAccessDeniedException("No access to reserved parameter name: %s.", name)
	case strings.HasPrefix(first, "aws") || strings.HasPrefix(first, "ssm"):
		if hierarchical {
			return invalidName()
		}
		return awsapi.Errorf(awsapi.CodeValidation, `Parameter name: can't be prefixed with "aws" or "ssm" (case-insensitive).`)
	}
	if strings.Count(name, "/") > maxLevels {
		return ssmapi.NewHierarchyLevelLimitExceededException("A hierarchy can have a maximum of %d levels. For more information, see Requirements and constraints for parameter names in the AWS Systems Manager User Guide.", maxLevels)
	}
	return nil
}

// ref is a parameter as read operations name it: a name or an ARN, with an
// optional selector (":<version>" or ":<label>").
type ref struct {
	Name     string // without the selector
	Selector string // with its colon, "" when none
	Version  int64  // the version a numeric selector asks for
	Label    string // the label a non-numeric selector asks for
}

// parseRef reads s as a parameter reference of caller c. ok is false when
// s is malformed, or an ARN of another account or Region (Berth shares no
// parameters).
func parseRef(c caller, s string) (r ref, ok bool) {
	s = strings.TrimSpace(s)
	if rest, isARN := strings.CutPrefix(s, "arn:"); isARN {
		parts := strings.SplitN(rest, ":", 5)
		if len(parts) != 5 || parts[1] != "ssm" || parts[2] != c.Region || parts[3] != c.Account {
			return ref{}, false
		}
		res, found := strings.CutPrefix(parts[4], "parameter/")
		if !found {
			return ref{}, false
		}
		if strings.Contains(res, "/") {
			res = "/" + res
		}
		s = res
	}
	name, sel, hasSel := strings.Cut(s, ":")
	r.Name = name
	if hasSel {
		if sel == "" || strings.Contains(sel, ":") {
			return ref{}, false
		}
		r.Selector = ":" + sel
		if v, err := strconv.ParseInt(sel, 10, 64); err == nil {
			if v < 1 {
				return ref{}, false
			}
			r.Version = v
		} else {
			r.Label = sel
		}
	}
	if strings.HasPrefix(name, SecretsReferencePrefix) {
		return r, len(name) > len(SecretsReferencePrefix)
	}
	return r, wellFormed(name)
}

// checkPath validates the Path of GetParametersByPath and returns it
// without a trailing slash ("/" stays "/").
func checkPath(p string) (string, error) {
	p = strings.TrimSpace(p)
	if p == "/" {
		return p, nil
	}
	p = strings.TrimSuffix(p, "/")
	if !strings.HasPrefix(p, "/") || !wellFormed(p) {
		return "", invalidPath()
	}
	return p, nil
}

// underPath reports whether the parameter with key k is below path:
// directly (one level down) or, when recursive, at any depth.
func underPath(k, path string, recursive bool) bool {
	full := fullPath(k)
	var rest string
	if path == "/" {
		rest = full[1:]
	} else {
		var ok bool
		if rest, ok = strings.CutPrefix(full, path+"/"); !ok {
			return false
		}
	}
	return rest != "" && (recursive || !strings.Contains(rest, "/"))
}

// labelValid applies the label rules: no aws/ssm prefix, not starting with
// a digit, letters, digits, period, hyphen and underscore only.
func labelValid(l string) bool {
	low := strings.ToLower(l)
	if l == "" || strings.HasPrefix(low, "aws") || strings.HasPrefix(low, "ssm") || (l[0] >= '0' && l[0] <= '9') {
		return false
	}
	return labelChars.MatchString(l)
}

var labelChars = regexp.MustCompile(`^[a-zA-Z0-9_.\-]+$`)
