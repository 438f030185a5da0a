package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// The ec2 binding: NewEC2Service with the EC2 flag, the namespace, and
// struct tags for queryName and list item names; -operations keeps only
// the shapes the named operations reach.
func TestEC2Binding(t *testing.T) {
	m, err := LoadModel(filepath.Join("testdata", "ec2", "service-2.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.keepOperations("DescribeThings"); err != nil {
		t.Fatal(err)
	}
	files, err := generate(m, "compute", "InvalidParameterValue", "CoralStyle")
	if err != nil {
		t.Fatal(err)
	}
	all := string(files["types.go"]) + string(files["service.go"])
	for _, want := range []string{
		"func NewEC2Service(s Service) *awsapi.QueryService {",
		`XMLNamespace: "http://ec2.amazonaws.com/doc/2016-11-15/"`,
		"EC2:          true,",
		`"DescribeThings": ec2wire.Op(s.DescribeThings),`,
		"`json:\"ThingId,omitzero\" ec2:\"member=ThingId\"`",
		"`json:\"thingSet,omitzero\" ec2:\"member=item\"`",
		"`json:\"odd,omitempty\" ec2:\"name=OddName\"`",
		"`json:\"dryRun,omitempty\"`",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("generated code lacks %s", want)
		}
	}
	for _, unwanted := range []string{"DeleteThing", "NotGenerated"} {
		if strings.Contains(all, unwanted) {
			t.Errorf("generated code has %s, which -operations left out", unwanted)
		}
	}
	if err := m.keepOperations("NoSuchOperation"); err == nil {
		t.Error("an unknown operation was accepted")
	}
}
