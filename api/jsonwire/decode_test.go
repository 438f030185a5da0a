package jsonwire

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/berth-dev/berth/awsapi"
)

type inner struct {
	Name *string `json:"name,omitempty"`
}

type sample struct {
	Count  *int32             `json:"count,omitempty"`
	Size   *int64             `json:"size,omitempty"`
	Ratio  *float64           `json:"ratio,omitempty"`
	On     *bool              `json:"on,omitempty"`
	Blob   []byte             `json:"blob,omitzero"`
	When   *awsapi.Timestamp  `json:"when,omitempty"`
	Times  []awsapi.Timestamp `json:"times,omitzero"`
	Tags   map[string]string  `json:"tags,omitzero"`
	Items  []inner            `json:"items,omitzero"`
	Nested *inner             `json:"nested,omitempty"`
	Doc    any                `json:"doc,omitempty"`
}

func (*sample) Validate() error { return nil }

func TestDecodeScalars(t *testing.T) {
	var s sample
	body := `{"count":5.0,"size":9007199254740993,"ratio":0.5,"on":true,"blob":"aGk=",
		"when":1772368215.25,"times":["2026-03-01T12:30:15Z",0],"tags":{"a":"b"},
		"items":[{"name":"x"}],"nested":{"name":null},"doc":{"any":[1,"two"]}}`
	if err := Decode([]byte(body), &s); err != nil {
		t.Fatal(err)
	}
	if *s.Count != 5 || *s.Size != 9007199254740993 || *s.Ratio != 0.5 || !*s.On || string(s.Blob) != "hi" {
		t.Errorf("scalars: %+v", s)
	}
	if want := time.Date(2026, 3, 1, 12, 30, 15, 250e6, time.UTC); !s.When.Equal(want) {
		t.Errorf("when %v, want %v", s.When.Time, want)
	}
	if !s.Times[0].Equal(time.Date(2026, 3, 1, 12, 30, 15, 0, time.UTC)) || s.Times[1].Unix() != 0 {
		t.Errorf("times %v", s.Times)
	}
	if s.Tags["a"] != "b" || *s.Items[0].Name != "x" || s.Nested == nil || s.Nested.Name != nil {
		t.Errorf("collections: %+v", s)
	}
	if doc, _ := json.Marshal(s.Doc); string(doc) != `{"any":[1,"two"]}` {
		t.Errorf("document %s", doc)
	}
}

func TestDecodeRefuses(t *testing.T) {
	cases := []struct{ body, message string }{
		{`{"count":5.5}`, "Value '5.5' at 'count' in sample is not an integer."},
		{`{"count":2147483648}`, "Value '2147483648' at 'count' in sample is out of range."},
		{`{"count":"5"}`, "Value at 'count' in sample must be an integer, not a string."},
		{`{"blob":"***"}`, "Value at 'blob' in sample is not valid base64."},
		{`{"when":true}`, "Value at 'when' in sample must be a timestamp, not a boolean."},
		{`{"items":[{"Name":"x"}]}`, "Unknown member 'items.1.member.Name' in sample."},
		{`{"tags":{"a":1}}`, "Value at 'tags.a.member' in sample must be a string, not a number."},
		{`{"Count":1}`, "Unknown member 'Count' in sample."},
		{`{} {}`, "The request body has data after its JSON value."},
	}
	for _, c := range cases {
		var s sample
		err := Decode([]byte(c.body), &s)
		e := awsapi.AsError(err)
		if e == nil || e.Code != awsapi.CodeSerialization || e.Message != c.message {
			t.Errorf("%s: got %v\nwant %s", c.body, err, c.message)
		}
	}
}

func TestNullAndEmpty(t *testing.T) {
	for _, body := range []string{"", "  ", "null", "{}", `{"count":null,"items":null}`} {
		var s sample
		if err := Decode([]byte(body), &s); err != nil || s.Count != nil || s.Items != nil {
			t.Errorf("%q: %v %+v", body, err, s)
		}
	}
}

func TestOpReturnsAnEmptyOutputForNil(t *testing.T) {
	op := Op(func(context.Context, *sample) (*inner, error) { return nil, nil })
	out, err := op(context.Background(), []byte(`{"count":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := json.Marshal(out); string(data) != "{}" {
		t.Errorf("got %s", data)
	}
}
