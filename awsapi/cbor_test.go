package awsapi

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"
)

type cborShape struct {
	Name   *string            `json:"Name,omitempty"`
	Value  *float64           `json:"Value,omitempty"`
	Count  *int32             `json:"Count,omitempty"`
	When   *Timestamp         `json:"When,omitempty"`
	Times  []Timestamp        `json:"Times,omitzero"`
	Blob   []byte             `json:"Blob,omitzero"`
	Labels map[string]string  `json:"Labels,omitzero"`
	Nested []cborNested       `json:"Nested,omitzero"`
	Stats  map[string]float64 `json:"Stats,omitzero"`
}

type cborNested struct {
	On *bool `json:"On,omitempty"`
}

func TestCBORRoundTrip(t *testing.T) {
	name, value, count, on := "cpu", 1.5, int32(-3), true
	when := time.Date(2026, 3, 1, 12, 0, 0, 250e6, time.UTC)
	in := cborShape{
		Name: &name, Value: &value, Count: &count, When: Time(when),
		Times: []Timestamp{{when.Add(time.Second)}}, Blob: []byte{0, 1, 0xff},
		Labels: map[string]string{"a": "b"}, Nested: []cborNested{{On: &on}}, Stats: map[string]float64{"p99": 2},
	}
	data, err := EncodeCBOR(in)
	if err != nil {
		t.Fatal(err)
	}
	// A timestamp is tag 1 around a double of epoch seconds.
	if !bytes.Contains(data, []byte{0xc1, 0xfb}) {
		t.Errorf("no tag-1 double timestamp in % x", data)
	}
	var out cborShape
	if err := DecodeCBOR(data, &out); err != nil {
		t.Fatal(err)
	}
	if *out.Name != name || *out.Value != value || *out.Count != count || !out.When.Equal(when) ||
		!out.Times[0].Equal(when.Add(time.Second)) || !bytes.Equal(out.Blob, in.Blob) ||
		out.Labels["a"] != "b" || !*out.Nested[0].On || out.Stats["p99"] != 2 {
		t.Errorf("round trip = %+v", out)
	}
	// The request path turns the same bytes into the awsJson body.
	j, err := CBORToJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	var tree map[string]any
	if err := json.Unmarshal(j, &tree); err != nil {
		t.Fatal(err)
	}
	if tree["When"] != float64(when.UnixMilli())/1000 || tree["Blob"] != "AAH/" || tree["Count"] != -3.0 {
		t.Errorf("CBORToJSON = %s", j)
	}
	var back cborShape
	if err := json.Unmarshal(j, &back); err != nil || !back.When.Equal(when) {
		t.Errorf("JSON of CBOR does not decode back: %v %+v", err, back)
	}
}

func TestCBORToJSONRejects(t *testing.T) {
	nan, _ := EncodeCBOR(map[string]any{"Value": math.NaN()})
	for name, body := range map[string][]byte{
		"truncated": {0xa1, 0x61},
		"NaN":       nan,
		"tag 37":    {0xa1, 0x61, 'x', 0xd8, 0x25, 0x41, 0x01},
	} {
		_, err := CBORToJSON(body)
		if e := AsError(err); e == nil || e.Code != CodeSerialization {
			t.Errorf("%s: err = %v, want a SerializationException", name, err)
		}
	}
	if j, err := CBORToJSON(nil); err != nil || string(j) != "{}" {
		t.Errorf("empty body = %s, %v", j, err)
	}
	// Integer epoch seconds are timestamps too (botocore sends those).
	j, err := CBORToJSON([]byte{0xa1, 0x61, 'T', 0xc1, 0x1a, 0x69, 0x00, 0x00, 0x00})
	if err != nil || string(j) != `{"T":1761607680}` {
		t.Errorf("integer timestamp = %s, %v", j, err)
	}
}
