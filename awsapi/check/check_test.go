package check_test

import (
	"testing"

	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/awsapi/check"
)

func message(vs awsapi.Violations) string {
	if err := vs.Err("ValidationException", awsapi.CoralStyle); err != nil {
		return err.(*awsapi.Error).Message
	}
	return ""
}

// Rules are tested in model order, each reported on its own; a pattern
// RE2 cannot run is listed but never tested.
func TestRulesInOrder(t *testing.T) {
	name := check.New(check.MaxLen(3), check.MinLen(2), check.Pattern("[a-z]+", "^(?:[a-z]+)$"), check.Pattern("(?=x)", ""))
	var vs awsapi.Violations
	name.String(&vs, "name", "ABCD")
	want := "2 validation errors detected: " +
		"Value 'ABCD' at 'name' failed to satisfy constraint: Member must have length less than or equal to 3; " +
		"Value 'ABCD' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z]+"
	if got := message(vs); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	vs = nil
	name.String(&vs, "name", "\U0001F600") // two UTF-16 units
	if len(vs) != 1 || vs[0].Constraint.Kind != awsapi.Pattern {
		t.Errorf("got %v", vs)
	}
}

type item struct{ Name *string }

func (v *item) validate(vs *awsapi.Violations, p string) {
	check.Null(vs, p, "name", v.Name == nil)
}

// Members: null when required and missing, nothing when optional and
// missing, paths through lists and maps as Coral writes them.
func TestMembersAndCollections(t *testing.T) {
	level := check.New(check.Max(10), check.Min(1))
	ratio := check.New(check.MaxFloat(1))
	color := check.New(check.Enum("red", "blue"))
	secret := check.Sensitive(check.MaxLen(4))
	var vs awsapi.Violations
	var missing *string
	bad, long := "green", "longer"
	var zero int32
	check.Str(color, &vs, "", "color", true, missing)
	check.Str(color, &vs, "", "other", false, missing)
	check.Str(color, &vs, "in", "color", false, &bad)
	check.Str(secret, &vs, "", "secret", false, &long)
	check.Numeric(level, &vs, "", "level", false, &zero)
	check.Num(ratio, &vs, "ratio", 1.5)
	check.Structs(&vs, "items", []item{{Name: &bad}, {}}, (*item).validate)
	check.StructValues(&vs, "byName", map[string]item{"b": {}, "a": {}}, (*item).validate)
	check.Strings(check.New(), &vs, "colors", []string{"red", "pink"}, color)
	check.Keys(check.New(check.MaxLen(1)), &vs, "tags", map[string]string{"ok": "1"}, color)
	want := "10 validation errors detected: " +
		"Value null at 'color' failed to satisfy constraint: Member must not be null; " +
		"Value 'green' at 'in.color' failed to satisfy constraint: Member must satisfy enum value set: [red, blue]; " +
		"Value at 'secret' failed to satisfy constraint: Member must have length less than or equal to 4; " +
		"Value '0' at 'level' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
		"Value '1.5' at 'ratio' failed to satisfy constraint: Member must have value less than or equal to 1.0; " +
		"Value null at 'items.2.member.name' failed to satisfy constraint: Member must not be null; " +
		"Value null at 'byName.a.member.name' failed to satisfy constraint: Member must not be null; " +
		"Value null at 'byName.b.member.name' failed to satisfy constraint: Member must not be null; " +
		"Value '[red, pink]' at 'colors' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [red, blue]]; " +
		"Value '{ok=1}' at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy enum value set: [red, blue]]"
	if got := message(vs); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
