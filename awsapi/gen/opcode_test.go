package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// opcodeModel is a JSON service whose operations declare different
// validation-like errors; InvalidInputException's code is InvalidInput,
// as in IAM and Cloud Map.
const opcodeModel = `{
 "metadata": {"apiVersion": "2024-01-01", "protocol": "json", "jsonVersion": "1.1", "serviceId": "Codes", "targetPrefix": "Codes", "serviceFullName": "Codes"},
 "operations": {
  "Both":     {"name": "Both",     "input": {"shape": "BothRequest"},     "errors": [{"shape": "ValidationException"}, {"shape": "InvalidParameterException"}]},
  "Smithy":   {"name": "Smithy",   "input": {"shape": "SmithyRequest"},   "errors": [{"shape": "NotFoundException"}, {"shape": "ValidationException"}]},
  "Older":    {"name": "Older",    "input": {"shape": "OlderRequest"},    "errors": [{"shape": "InvalidRequestException"}, {"shape": "InvalidInputException"}]},
  "Plain":    {"name": "Plain",    "input": {"shape": "PlainRequest"},    "errors": [{"shape": "NotFoundException"}]},
  "SharedA":  {"name": "SharedA",  "input": {"shape": "SharedRequest"},   "errors": [{"shape": "InvalidParameterException"}]},
  "SharedB":  {"name": "SharedB",  "input": {"shape": "SharedRequest"},   "errors": [{"shape": "ValidationException"}]}
 },
 "shapes": {
  "Name": {"type": "string", "min": 1},
  "Count": {"type": "integer", "min": 1},
  "BothRequest":   {"type": "structure", "required": ["Name"], "members": {"Name": {"shape": "Name"}}},
  "SmithyRequest": {"type": "structure", "members": {"MaxResults": {"shape": "Count"}, "SSEType": {"shape": "Name"}}},
  "OlderRequest":  {"type": "structure", "required": ["Name"], "members": {"Name": {"shape": "Name"}}},
  "PlainRequest":  {"type": "structure", "required": ["Name"], "members": {"Name": {"shape": "Name"}}},
  "SharedRequest": {"type": "structure", "required": ["Name"], "members": {"Name": {"shape": "Name"}}},
  "ValidationException":       {"type": "structure", "exception": true, "members": {"message": {"shape": "Name"}}},
  "InvalidParameterException": {"type": "structure", "exception": true, "members": {"message": {"shape": "Name"}}},
  "InvalidRequestException":   {"type": "structure", "exception": true, "members": {"message": {"shape": "Name"}}},
  "InvalidInputException":     {"type": "structure", "exception": true, "error": {"code": "InvalidInput"}, "members": {"message": {"shape": "Name"}}},
  "NotFoundException":         {"type": "structure", "exception": true, "members": {"message": {"shape": "Name"}}}
 }
}`

func loadOpcodeModel(t *testing.T) *Model {
	t.Helper()
	path := filepath.Join(t.TempDir(), "service-2.json")
	if err := os.WriteFile(path, []byte(opcodeModel), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := LoadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestValidationCodePerOperation(t *testing.T) {
	m := loadOpcodeModel(t)
	p, err := newPlan(m, "codes")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ service, op, want string }{
		// The service-wide code when the operation declares it.
		{"InvalidParameterException", "Both", "InvalidParameterException"},
		// Else the validation error the operation declares.
		{"InvalidParameterException", "Smithy", "ValidationException"},
		// Else the preferred one of several.
		{"InvalidParameterException", "Older", "InvalidInput"},
		// The service-wide code when the operation declares none.
		{"InvalidParameterException", "Plain", "InvalidParameterException"},
		{"ValidationException", "Older", "InvalidInput"},
		// A service-wide code the model does not define is the front
		// end's own (awsQuery's ValidationError) and always wins.
		{"ValidationError", "Older", "ValidationError"},
		{"ValidationError", "Smithy", "ValidationError"},
	} {
		if got, _ := p.validationCode(m.Operations[c.op], c.service); got != c.want {
			t.Errorf("service code %s, %s: got %s, want %s", c.service, c.op, got, c.want)
		}
	}

	files, err := generate(m, "codes", "InvalidParameterException", "CoralStyle")
	if err != nil {
		t.Fatal(err)
	}
	src := string(files["validate.go"])
	for _, want := range []string{
		`validationCode  = "InvalidParameterException"`,
		"check.Input(v, (*BothInput).validate, validationCode, validationStyle)",
		"check.Input(v, (*SmithyInput).validate, CodeValidationException, validationStyle)",
		"check.Input(v, (*OlderInput).validate, CodeInvalidInputException, validationStyle)",
		"check.Input(v, (*PlainInput).validate, validationCode, validationStyle)",
		// One Validate serves both operations of a shared input, so
		// their disagreement falls back to the service-wide code.
		"check.Input(v, (*SharedRequest).validate, validationCode, validationStyle)",
		// Coral's member names: the first letter in lower case only.
		`p, "maxResults", false, v.MaxResults)`,
		`p, "sSEType", false, v.SSEType)`,
		`p, "name", true, v.Name)`,
	} {
		if !strings.Contains(src, want) {
			t.Errorf("validate.go lacks %s", want)
		}
	}
}

func TestLowerFirst(t *testing.T) {
	for in, want := range map[string]string{"MaxResults": "maxResults", "maxResults": "maxResults", "SSESpecification": "sSESpecification", "TTL": "tTL", "": ""} {
		if got := lowerFirst(in); got != want {
			t.Errorf("lowerFirst(%q) = %q, want %q", in, got, want)
		}
	}
}
