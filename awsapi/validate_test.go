package awsapi

import "testing"

func TestCoralMessages(t *testing.T) {
	pattern := Constraint{Kind: Pattern, Text: `[\.\-_/#A-Za-z0-9]+`}
	var vs Violations
	vs.Add("logGroupName", "C:/x", pattern)
	vs.Null("logStreamName")
	vs.AddSensitive("secretString", Constraint{Kind: MaxLength, Bound: "65536"})
	vs.Add("architectures", []string{"foo"}, Constraint{Kind: EachMember, Inner: []Constraint{{Kind: EnumSet, Enum: []string{"x86_64", "arm64"}}}})
	vs.Add("tags", map[string]string{"b": "2", "a": "1"}, Constraint{Kind: MapKeys, Inner: []Constraint{{Kind: MaxLength, Bound: "128"}, {Kind: MinLength, Bound: "1"}}})
	vs.Add("weight", 1.0, Constraint{Kind: MaxValue, Bound: "0.5"})
	vs.Add("maxResults", int32(0), Constraint{Kind: MinValue, Bound: "1"})
	want := "7 validation errors detected: " +
		`Value 'C:/x' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+; ` +
		"Value null at 'logStreamName' failed to satisfy constraint: Member must not be null; " +
		"Value at 'secretString' failed to satisfy constraint: Member must have length less than or equal to 65536; " +
		"Value '[foo]' at 'architectures' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]; " +
		"Value '{a=1, b=2}' at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]; " +
		"Value '1.0' at 'weight' failed to satisfy constraint: Member must have value less than or equal to 0.5; " +
		"Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"
	e := AsError(vs.Err(CodeValidation, CoralStyle))
	if e == nil || e.Code != CodeValidation || e.HTTPStatus != 400 || e.Message != want {
		t.Fatalf("got %+v\nwant %s", e, want)
	}
	if vs[:1].Err(CodeValidation, CoralStyle).(*Error).Message[:28] != "1 validation error detected:" {
		t.Error("one violation is not worded in the singular")
	}
	if Violations(nil).Err(CodeValidation, CoralStyle) != nil {
		t.Error("no violations must be no error")
	}
}

func TestParameterStyleReportsTheFirstViolation(t *testing.T) {
	var vs Violations
	vs.Add("imageIds", []string{}, Constraint{Kind: MinLength, Bound: "1"})
	vs.Add("repositoryName", "Foo", Constraint{Kind: Pattern, Text: "[a-z]+"})
	got := vs.Err("InvalidParameterException", ParameterStyle).(*Error).Message
	if want := "Invalid parameter at 'imageIds' failed to satisfy constraint: 'Member must have length greater than or equal to 1'"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	got = vs[1:].Err("InvalidParameterException", ParameterStyle).(*Error).Message
	if want := "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '[a-z]+''"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestStringLengthCountsUTF16(t *testing.T) {
	if n := StringLength("a€😀"); n != 4 {
		t.Errorf("got %d, want 4 (1 + 1 + a surrogate pair)", n)
	}
}
