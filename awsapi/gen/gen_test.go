package main

import (
	"bytes"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func loadTestModel(t *testing.T) *Model {
	t.Helper()
	m, err := LoadModel(filepath.Join("testdata", "service-2.json"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestGenerateIsFormattedAndDeterministic(t *testing.T) {
	first, err := generate(loadTestModel(t), "things", "ValidationException", "CoralStyle")
	if err != nil {
		t.Fatal(err)
	}
	again, err := generate(loadTestModel(t), "things", "ValidationException", "CoralStyle")
	if err != nil {
		t.Fatal(err)
	}
	for name, src := range first {
		if !bytes.HasPrefix(src, []byte(header)) {
			t.Errorf("%s lacks the generated-code header", name)
		}
		if formatted, err := format.Source(src); err != nil || !bytes.Equal(formatted, src) {
			t.Errorf("%s is not gofmt'ed (%v)", name, err)
		}
		if !bytes.Equal(src, again[name]) {
			t.Errorf("%s differs between two runs", name)
		}
	}
	for _, want := range []string{"type ServiceShape struct", "ValidateMember *string", "KindBigOneValue Kind = \"big_one\"",
		"The pattern of Note is not checked", "`json:\"CustomName,omitempty\"`"} {
		if !strings.Contains(string(first["types.go"])+string(first["enums.go"])+string(first["validate.go"]), want) {
			t.Errorf("generated code lacks %q", want)
		}
	}
	if strings.Contains(string(first["types.go"]), "Unused") {
		t.Error("a shape no operation uses was generated")
	}
}

func TestUnsupportedProtocol(t *testing.T) {
	m := loadTestModel(t)
	m.Metadata.Protocol, m.Metadata.Protocols = "rest-xml", []string{"rest-xml"}
	if _, err := generate(m, "things", "ValidationException", "CoralStyle"); err == nil || !strings.Contains(err.Error(), "rest-xml") {
		t.Errorf("got %v", err)
	}
}

func TestBadModels(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"dangling.json": `{"operations":{"A":{"input":{"shape":"Nope"}}},"shapes":{}}`,
		"type.json":     `{"operations":{"A":{"input":{"shape":"X"}}},"shapes":{"X":{"type":"union"}}}`,
		"syntax.json":   `{"operations":`,
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadModel(path); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}

func TestNames(t *testing.T) {
	for in, want := range map[string]string{"registryId": "RegistryId", "AWS::EC2::Instance": "AWSEC2Instance", "2fa": "X2fa", "type": "Type", "": "X"} {
		if got := exportName(in); got != want {
			t.Errorf("exportName(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"FARGATE_SPOT": "FargateSpot", "awsvpc": "Awsvpc", "Bits/Second": "BitsSecond", "x86_64": "X8664", "EC2Instance": "EC2Instance"} {
		if got := enumName(in); got != want {
			t.Errorf("enumName(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"<p>Creates a <code>Repository</code>. For more, see <a href=\"x\">docs</a>.</p>": "Creates a Repository.",
		"<p>Values like 1.5 stay whole, e.g. this. Next</p>":                              "Values like 1.5 stay whole, e.g. this.",
		"": "",
	} {
		if got := firstSentence(in); got != want {
			t.Errorf("firstSentence(%q) = %q, want %q", in, got, want)
		}
	}
	if got := firstSentence(strings.Repeat("word ", 100)); len(got) > maxDocLen+3 || !strings.HasSuffix(got, "...") {
		t.Errorf("long doc not cut: %q", got)
	}
}

// TestGeneratedPackage builds the code generated from the test model in a
// scratch module that points at this repository, vets it and runs the
// behaviour tests in testdata/things_test.go.txt against it.
func TestGeneratedPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a scratch module")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	pkg := filepath.Join(mod, "things")
	err = run(options{service: "things", out: pkg, model: filepath.Join("testdata", "service-2.json"),
		validationCode: "ValidationException", validationStyle: "coral"})
	if err != nil {
		t.Fatal(err)
	}
	behaviour, err := os.ReadFile(filepath.Join("testdata", "things_test.go.txt"))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	goMod := "module example.com/scratch\n\ngo 1.26\n\nrequire github.com/berth-dev/berth v0.0.0\n\nreplace github.com/berth-dev/berth => " + filepath.ToSlash(root) + "\n"
	for name, data := range map[string][]byte{
		filepath.Join(mod, "go.mod"):         []byte(goMod),
		filepath.Join(mod, "go.sum"):         sum,
		filepath.Join(pkg, "things_test.go"): behaviour,
	} {
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"vet", "./..."}, {"test", "-count=1", "./..."}} {
		cmd := exec.Command(goTool, args...)
		cmd.Dir = mod
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// The query binding: NewQueryService with the result wrappers, struct tags
// for the traits that rename collections, Coral's lower-camel member
// names in validation, Java \u escapes compiled for RE2.
func TestQueryBinding(t *testing.T) {
	m, err := LoadModel(filepath.Join("testdata", "query", "service-2.json"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := generate(m, "widgets", "ValidationError", "CoralStyle")
	if err != nil {
		t.Fatal(err)
	}
	all := string(files["types.go"]) + string(files["service.go"]) + string(files["validate.go"]) + string(files["errors.go"])
	for _, want := range []string{
		"func NewQueryService(s Service) *awsapi.QueryService {",
		`SigningName:  "widgets"`,
		`XMLNamespace: "https://widgets.example/doc/2024-01-01/"`,
		`"PutWidget":    querywire.Op(s.PutWidget, "PutWidgetResult")`,
		`"DeleteWidget": querywire.Op(s.DeleteWidget, "")`,
		"`json:\"Labels,omitzero\" query:\"flat,member=Label\"`",
		"`json:\"Items,omitzero\" query:\"member=item\"`",
		"`json:\"Attributes,omitzero\" query:\"flat,key=Name,value=Value\"`",
		`check.Str(ruleName, vs, p, "widgetName", true, v.WidgetName)`,
		"check.Pattern(`(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)`, `^(?:(\\x{002F})|(\\x{002F}[\\x{0021}-\\x{007E}]+\\x{002F}))$`)",
		`CodeNoSuchWidgetException = "NoSuchWidget"`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("generated code lacks %s", want)
		}
	}
	if strings.Contains(all, "The pattern of Path is not checked") {
		t.Error("the \\u pattern was left unchecked")
	}
}

func TestRE2Escapes(t *testing.T) {
	for in, want := range map[string]string{
		`[\u0020-\u00FF]+`: `[\x{0020}-\x{00FF}]+`,
		`\\u0020`:          `\\u0020`,
		`\u12`:             `\u12`,
		`[\w+=,.@-]+`:      `[\w+=,.@-]+`,
		`a\`:               `a\`,
	} {
		if got := re2Escapes(in); got != want {
			t.Errorf("re2Escapes(%s) = %s, want %s", in, got, want)
		}
	}
}

// The restJson1 binding: the operation table with methods, URI templates
// and success statuses, and rest tags that keep bound members out of the
// JSON body.
func TestRestBinding(t *testing.T) {
	m, err := LoadModel(filepath.Join("testdata", "rest", "service-2.json"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := generate(m, "boats", "InvalidParameterException", "CoralStyle")
	if err != nil {
		t.Fatal(err)
	}
	all := string(files["types.go"]) + string(files["service.go"]) + string(files["validate.go"]) + string(files["errors.go"])
	for _, want := range []string{
		"func NewRestService(s Service) *awsapi.RestService {",
		`SigningName: "boats"`,
		`{Name: "DescribeBoat", Method: "GET", URI: "/harbors/{harbor}/boats/{name}", Status: 200, Call: restwire.Op(s.DescribeBoat)}`,
		`{Name: "PutBoat", Method: "PUT", URI: "/boats/{key+}", Status: 201, Call: restwire.Op(s.PutBoat)}`,
		"`json:\"-\" rest:\"uri=harbor\"`",
		"`json:\"-\" rest:\"querystring=maxResults\"`",
		"`json:\"-\" rest:\"header=X-Boat-Token\"`",
		"`json:\"-\" rest:\"payload\"`",
		"`json:\"-\" rest:\"statusCode\"`",
		"`json:\"boat,omitempty\"`",
		`check.Str(ruleName, vs, p, "harbor", true, v.Harbor)`,
		`return awsapi.NewError(404, CodeNotFoundException, format, args...)`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("generated code lacks %s", want)
		}
	}
}
