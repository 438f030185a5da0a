package logs

import (
	"encoding/json"
	"testing"

	logsapi "github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/store"
)

func TestMaskManagedIdentifiers(t *testing.T) {
	doc := `{"Name":"p","Version":"2021-06-01","Statement":[
		{"Sid":"a","DataIdentifier":["arn:aws:dataprotection::aws:data-identifier/EmailAddress","arn:aws:dataprotection::aws:data-identifier/IpAddress","arn:aws:dataprotection::aws:data-identifier/AwsSecretKey","arn:aws:dataprotection::aws:data-identifier/CreditCardNumber","EmployeeId"],"Operation":{"Audit":{"FindingsDestination":{}}}},
		{"Sid":"d","DataIdentifier":["arn:aws:dataprotection::aws:data-identifier/EmailAddress","arn:aws:dataprotection::aws:data-identifier/IpAddress","arn:aws:dataprotection::aws:data-identifier/AwsSecretKey","arn:aws:dataprotection::aws:data-identifier/CreditCardNumber","EmployeeId"],"Operation":{"Deidentify":{"MaskConfig":{}}}}],
		"Configuration":{"CustomDataIdentifier":[{"Name":"EmployeeId","Regex":"EMP-[0-9]{6}"}]}}`
	terms, err := compileDataProtection(doc)
	if err != nil {
		t.Fatal(err)
	}
	m := &masker{since: 100, terms: terms}
	for in, want := range map[string]string{
		"mail a.b+c@mail.example.co.uk ok":                    "mail **** ok",
		"from 192.168.0.1 and 256.1.1.1":                      "from **** and 256.1.1.1",
		`"secret":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"`: `"secret":"****"`,
		"41-char AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA":   "41-char AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"card 4111-1111-1111-1111 and 4111111111111112":       "card **** and 4111111111111112",
		"employee EMP-123456":                                 "employee ****",
	} {
		if got := m.mask(store.LogEvent{Message: in, Ingested: 100}); got != want {
			t.Errorf("mask(%q) = %q, want %q", in, got, want)
		}
	}
	if got := m.mask(store.LogEvent{Message: "x@example.com", Ingested: 99}); got != "x@example.com" {
		t.Errorf("an event ingested before the policy was masked: %q", got)
	}
	var none *masker
	if got := none.mask(store.LogEvent{Message: "x@example.com"}); got != "x@example.com" {
		t.Errorf("nil masker changed the message: %q", got)
	}
}

func TestDataProtectionPolicyValidation(t *testing.T) {
	for name, doc := range map[string]string{
		"not json":      `{`,
		"audit only":    `{"Statement":[{"DataIdentifier":["arn:aws:dataprotection::aws:data-identifier/EmailAddress"],"Operation":{"Audit":{}}}]}`,
		"mismatch":      `{"Statement":[{"DataIdentifier":["arn:aws:dataprotection::aws:data-identifier/EmailAddress"],"Operation":{"Audit":{}}},{"DataIdentifier":["arn:aws:dataprotection::aws:data-identifier/IpAddress"],"Operation":{"Deidentify":{"MaskConfig":{}}}}]}`,
		"mask config":   `{"Statement":[{"DataIdentifier":["arn:aws:dataprotection::aws:data-identifier/EmailAddress"],"Operation":{"Audit":{}}},{"DataIdentifier":["arn:aws:dataprotection::aws:data-identifier/EmailAddress"],"Operation":{"Deidentify":{"MaskConfig":{"x":1}}}}]}`,
		"unknown ident": `{"Statement":[{"DataIdentifier":["Nope"],"Operation":{"Audit":{}}},{"DataIdentifier":["Nope"],"Operation":{"Deidentify":{"MaskConfig":{}}}}]}`,
	} {
		if _, err := compileDataProtection(doc); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestTransform(t *testing.T) {
	var ps []logsapi.Processor
	if err := json.Unmarshal([]byte(`[
		{"parseJSON":{}},
		{"renameKeys":{"entries":[{"key":"a.b","renameTo":"c"}]}},
		{"copyValue":{"entries":[{"source":"c","target":"d.e"}]}},
		{"addKeys":{"entries":[{"key":"c","value":"no"},{"key":"f","value":"yes"}]}},
		{"deleteKeys":{"withKeys":["a"]}},
		{"upperCaseString":{"withKeys":["c"]}}
	]`), &ps); err != nil {
		t.Fatal(err)
	}
	if err := checkTransformer(ps); err != nil {
		t.Fatal(err)
	}
	got, err := transform(ps, `{"a":{"b":"x"}}`)
	if want := `{"c":"X","d":{"e":"x"},"f":"yes"}`; err != nil || got != want {
		t.Errorf("transform = %s, %v; want %s", got, err, want)
	}
	// A message the parser cannot read is kept as it came.
	if got, err := transform(ps, "plain text"); err == nil || got != "plain text" {
		t.Errorf("transform(plain) = %q, %v", got, err)
	}
	var bad []logsapi.Processor
	_ = json.Unmarshal([]byte(`[{"parseJSON":{}},{"csv":{}}]`), &bad)
	if err := checkTransformer(bad); err == nil {
		t.Error("csv accepted")
	}
}

func TestRecordPointer(t *testing.T) {
	p := recordPointer(store.LogGroup{ID: 7, Name: "/a/b"}, store.LogEvent{StreamID: 3, Timestamp: 1700000000000, ID: 42})
	got, ok := parsePointer(p)
	if !ok || got != (pointer{group: 7, stream: 3, ts: 1700000000000, id: 42, name: "/a/b"}) {
		t.Errorf("parsePointer = %+v, %v", got, ok)
	}
	if _, ok := parsePointer("!!"); ok {
		t.Error("garbage pointer parsed")
	}
}

// The ECS agent's awslogs path transforms as PutLogEvents does, and a
// transformer policy of the account applies where the group has none.
func TestAppendTransforms(t *testing.T) {
	s, clk := newService(t)
	if err := s.Append(ctx0, "123456789012", "eu-west-1", "/ecs/app", "s", []Event{{Timestamp: clk.Now(), Message: "first"}}, true); err != nil {
		t.Fatal(err)
	}
	_, err := s.PutAccountPolicy(ctx0, &logsapi.PutAccountPolicyInput{
		PolicyName: ptr("kv"), PolicyType: ptr(logsapi.PolicyTypeTransformerPolicy), SelectionCriteria: ptr(`LogGroupNamePrefix IN ["/ecs/"]`),
		PolicyDocument: ptr(`{"transformerConfig":[{"parseKeyValue":{}},{"upperCaseString":{"withKeys":["level"]}}]}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx0, "123456789012", "eu-west-1", "/ecs/app", "s", []Event{{Timestamp: clk.Now(), Message: "level=warn&code=7"}}, false); err != nil {
		t.Fatal(err)
	}
	out, err := s.GetLogEvents(ctx0, &logsapi.GetLogEventsInput{LogGroupName: ptr("/ecs/app"), LogStreamName: ptr("s"), StartFromHead: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Events) != 2 || *out.Events[0].Message != "first" || *out.Events[1].Message != `{"code":"7","level":"WARN"}` {
		for _, e := range out.Events {
			t.Logf("event %q", *e.Message)
		}
		t.Errorf("events after the account transformer policy: %d", len(out.Events))
	}
	// A group's own transformer overrides the account policy.
	if _, err := s.PutTransformer(ctx0, &logsapi.PutTransformerInput{LogGroupIdentifier: ptr("/ecs/app"),
		TransformerConfig: []logsapi.Processor{{ParseJSON: &logsapi.ParseJSON{}}}}); err != nil {
		t.Fatal(err)
	}
	procs, err := func() ([]logsapi.Processor, error) {
		var p []logsapi.Processor
		err := s.st.View(ctx0, func(tx store.Tx) error {
			g, err := tx.GetLogGroup("123456789012", "eu-west-1", "/ecs/app")
			if err != nil {
				return err
			}
			p, err = transformerFor(tx, callerOf(ctx0), g)
			return err
		})
		return p, err
	}()
	if err != nil || len(procs) != 1 || procs[0].ParseJSON == nil {
		t.Errorf("transformerFor = %+v, %v", procs, err)
	}
}
