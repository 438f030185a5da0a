// Command gen writes Berth's wire layer for one AWS service from its
// botocore model: Go types, enums, errors, validation and the protocol
// binding, into api/<service>.
//
//	go run ./awsapi/gen -service ecr -out api/ecr [-model PATH]
//	    [-validation-code InvalidParameterException] [-validation-style parameter]
//
// Without -model it asks python3 where botocore is installed and reads
// data/<service>/<newest version>/service-2.json(.gz).
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/renameio/v2"
)

func main() {
	var o options
	flag.StringVar(&o.service, "service", "", "botocore service name, e.g. ecr")
	flag.StringVar(&o.out, "out", "", "output directory, e.g. api/ecr")
	flag.StringVar(&o.model, "model", "", "path to service-2.json(.gz); default: botocore's newest")
	flag.StringVar(&o.pkg, "package", "", "Go package name; default: the service name")
	flag.StringVar(&o.validationCode, "validation-code", "ValidationException", "error code of model validation failures; an operation whose model declares another validation error but not this one answers with that (see opcode.go)")
	flag.StringVar(&o.validationStyle, "validation-style", "coral", "message format of validation failures: coral or parameter (ECR's)")
	flag.StringVar(&o.operations, "operations", "", "comma-separated operations to generate (default: all); for large models such as ec2")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

type options struct {
	service, out, model, pkg        string
	validationCode, validationStyle string
	operations                      string
}

// errUsage marks a bad command line.
var errUsage = errors.New("usage: gen -service NAME -out DIR [-model PATH] [-package NAME] [-validation-code CODE] [-validation-style coral|parameter] [-operations A,B]")

var styles = map[string]string{"coral": "CoralStyle", "parameter": "ParameterStyle"}

func run(o options) error {
	if o.service == "" || o.out == "" {
		return errUsage
	}
	style, ok := styles[o.validationStyle]
	if !ok {
		return fmt.Errorf("%w: unknown -validation-style %q", errUsage, o.validationStyle)
	}
	if o.pkg == "" {
		o.pkg = strings.ToLower(strings.Join(splitWords(o.service), ""))
	}
	if o.model == "" {
		path, err := botocoreModel(o.service)
		if err != nil {
			return err
		}
		o.model = path
	}
	m, err := LoadModel(o.model)
	if err != nil {
		return err
	}
	if err := m.keepOperations(o.operations); err != nil {
		return err
	}
	files, err := generate(m, o.pkg, o.validationCode, style)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := renameio.WriteFile(filepath.Join(o.out, name), files[name], 0o644); err != nil {
			return err
		}
	}
	return writeDocIfMissing(o, m)
}

// generate returns the generated files of m by name.
func generate(m *Model, pkg, validationCode, validationStyle string) (map[string][]byte, error) {
	proto := m.protocol()
	b, ok := bindings[proto]
	if !ok {
		return nil, fmt.Errorf("protocol %q is not supported yet (only json, rest-json, query and ec2)", proto)
	}
	p, err := newPlan(m, pkg)
	if err != nil {
		return nil, err
	}
	p.bind = b
	vf, err := p.validateFile(validationCode, validationStyle)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, f := range []*file{p.typesFile(), p.enumsFile(), p.errorsFile(), vf, p.serviceFile(b), p.operationsFile()} {
		src, err := f.source()
		if err != nil {
			return nil, err
		}
		out[f.name] = src
	}
	return out, nil
}

// botocoreModel finds the newest service-2.json of service in the
// botocore that python3 imports.
func botocoreModel(service string) (string, error) {
	out, err := exec.Command("python3", "-c", "import botocore,os;print(os.path.dirname(botocore.__file__))").Output()
	if err != nil {
		return "", fmt.Errorf("finding botocore with python3 (pass -model instead): %w", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "data", service)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("botocore has no model for %q: %w", service, err)
	}
	var versions []string
	for _, e := range entries {
		if e.IsDir() {
			versions = append(versions, e.Name())
		}
	}
	// Version directories are dates (2015-09-21), so the newest sorts last.
	sort.Strings(versions)
	for i := len(versions) - 1; i >= 0; i-- {
		for _, name := range []string{"service-2.json", "service-2.json.gz"} {
			path := filepath.Join(dir, versions[i], name)
			if _, err := os.Stat(path); err == nil {
				return path, nil
			}
		}
	}
	return "", fmt.Errorf("no service-2.json under %s", dir)
}

// writeDocIfMissing starts a new service package with its hand-written
// doc.go, which carries the go:generate line; an existing one is kept.
func writeDocIfMissing(o options, m *Model) error {
	path := filepath.Join(o.out, "doc.go")
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	genDir, err := generatorDir(o.out)
	if err != nil {
		genDir = "github.com/berth-dev/berth/awsapi/gen"
	}
	args := fmt.Sprintf("-service %s -out .", o.service)
	if o.validationCode != "ValidationException" {
		args += " -validation-code " + o.validationCode
	}
	if o.validationStyle != "coral" {
		args += " -validation-style " + o.validationStyle
	}
	if o.operations != "" {
		args += " -operations " + o.operations
	}
	src := fmt.Sprintf("// Package %s is the wire layer of %s, generated from botocore's\n// model: types, enums, errors, validation and the %s binding.\npackage %s\n\n//go:generate go run %s %s\n",
		o.pkg, m.Metadata.ServiceFullName, m.protocol(), o.pkg, genDir, args)
	return renameio.WriteFile(path, []byte(src), 0o644)
}

// generatorDir is this command's directory relative to out, found through
// the go.mod above out, for the go:generate line.
func generatorDir(out string) (string, error) {
	abs, err := filepath.Abs(out)
	if err != nil {
		return "", err
	}
	for root := abs; ; root = filepath.Dir(root) {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			rel, err := filepath.Rel(abs, filepath.Join(root, "awsapi", "gen"))
			if err != nil {
				return "", err
			}
			return filepath.ToSlash(rel), nil
		}
		if filepath.Dir(root) == root {
			return "", fmt.Errorf("no go.mod above %s", out)
		}
	}
}
