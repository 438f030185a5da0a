package ecs

import (
	"path"
	"slices"
	"strconv"
	"strings"

	ecsapi "github.com/berth-dev/berth/api/ecs"
)

// A subset of the ECS cluster query language, for ListContainerInstances'
// filter and memberOf placement constraints: terms joined by "and", each
//
//	attribute:<name> (==|!=|=~|!~) <value>     (=~ matches * wildcards)
//	attribute:<name> (exists|!exists)
//	attribute:<name> in [<v1>, <v2>, ...]       (also not_in)
//	ec2InstanceId / agentConnected / agentVersion  with the same operators
//	runningTasksCount (==|!=|>|>=|<|<=) <n>
//
// Parentheses and "or" are not supported and are refused.

type filterTerm struct {
	field  string // attribute:<name>, ec2InstanceId, runningTasksCount, ...
	op     string
	values []string
}

type instanceFilter []filterTerm

func errFilter(expr, why string) error {
	return ecsapi.NewInvalidParameterException("Invalid filter expression %q: %s", expr, why)
}

func parseFilter(expr string) (instanceFilter, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return nil, nil
	}
	if strings.ContainsAny(expr, "()") {
		return nil, errFilter(expr, "parentheses are not supported")
	}
	var f instanceFilter
	for _, part := range splitWord(expr, "and") {
		if len(splitWord(part, "or")) > 1 {
			return nil, errFilter(expr, "\"or\" is not supported")
		}
		t, err := parseTerm(part)
		if err != nil {
			return nil, errFilter(expr, err.Error())
		}
		f = append(f, t)
	}
	return f, nil
}

// splitWord splits s at the whole word w (case-insensitive) outside brackets.
func splitWord(s, w string) []string {
	var parts []string
	fields := strings.Fields(s)
	var cur []string
	depth := 0
	for _, fl := range fields {
		depth += strings.Count(fl, "[") - strings.Count(fl, "]")
		if depth == 0 && strings.EqualFold(fl, w) {
			parts = append(parts, strings.Join(cur, " "))
			cur = nil
			continue
		}
		cur = append(cur, fl)
	}
	return append(parts, strings.Join(cur, " "))
}

type filterError string

func (e filterError) Error() string { return string(e) }

func parseTerm(s string) (filterTerm, error) {
	fields := strings.Fields(s)
	if len(fields) < 2 {
		return filterTerm{}, filterError("each term needs a field and an operator")
	}
	t := filterTerm{field: fields[0], op: strings.ToLower(fields[1])}
	if !strings.HasPrefix(t.field, "attribute:") && !slices.Contains([]string{"ec2InstanceId", "agentConnected", "agentVersion", "runningTasksCount"}, t.field) {
		return filterTerm{}, filterError("unknown field " + t.field)
	}
	rest := strings.TrimSpace(strings.Join(fields[2:], " "))
	switch t.op {
	case "exists", "!exists":
		if rest != "" {
			return filterTerm{}, filterError(t.op + " takes no value")
		}
	case "in", "not_in":
		if !strings.HasPrefix(rest, "[") || !strings.HasSuffix(rest, "]") {
			return filterTerm{}, filterError(t.op + " needs a list [a, b]")
		}
		for _, v := range strings.Split(strings.Trim(rest, "[]"), ",") {
			if v = strings.TrimSpace(v); v != "" {
				t.values = append(t.values, v)
			}
		}
	case "==", "!=", "=~", "!~", ">", ">=", "<", "<=":
		if rest == "" {
			return filterTerm{}, filterError(t.op + " needs a value")
		}
		t.values = []string{rest}
		if strings.ContainsAny(t.op, "<>") {
			if t.field != "runningTasksCount" {
				return filterTerm{}, filterError(t.op + " only compares runningTasksCount")
			}
			if _, err := strconv.Atoi(rest); err != nil {
				return filterTerm{}, filterError("runningTasksCount compares with a number")
			}
		}
	default:
		return filterTerm{}, filterError("unknown operator " + t.op)
	}
	return t, nil
}

func (f instanceFilter) match(r *instanceRecord) bool {
	for _, t := range f {
		if !t.match(r) {
			return false
		}
	}
	return true
}

func (t filterTerm) match(r *instanceRecord) bool {
	value, present := "", true
	switch {
	case strings.HasPrefix(t.field, "attribute:"):
		name := strings.TrimPrefix(t.field, "attribute:")
		i := slices.IndexFunc(r.Attributes, func(a ecsapi.Attribute) bool { return deref(a.Name) == name })
		present = i >= 0
		if present {
			value = deref(r.Attributes[i].Value)
		}
	case t.field == "ec2InstanceId":
		value = r.HostID
	case t.field == "agentConnected":
		value = strconv.FormatBool(r.AgentConnected)
	case t.field == "agentVersion":
		value = deref(r.VersionInfo.AgentVersion)
	case t.field == "runningTasksCount":
		value = strconv.Itoa(r.RunningTasks)
	}
	switch t.op {
	case "exists":
		return present
	case "!exists":
		return !present
	case "in":
		return present && slices.Contains(t.values, value)
	case "not_in":
		return !present || !slices.Contains(t.values, value)
	case "==":
		return present && value == t.values[0]
	case "!=":
		return !present || value != t.values[0]
	case "=~":
		ok, _ := path.Match(t.values[0], value)
		return present && ok
	case "!~":
		ok, _ := path.Match(t.values[0], value)
		return !present || !ok
	}
	n, _ := strconv.Atoi(value)
	m, _ := strconv.Atoi(t.values[0])
	switch t.op {
	case ">":
		return n > m
	case ">=":
		return n >= m
	case "<":
		return n < m
	case "<=":
		return n <= m
	}
	return false
}
