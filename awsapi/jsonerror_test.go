package awsapi

import (
	"encoding/json"
	"testing"
)

func TestJSONErrorBody(t *testing.T) {
	plain := Errorf("InvalidParameterException", `bad "x" <y>`)
	if got, want := string(jsonErrorBody(plain)), `{"__type":"InvalidParameterException","message":"bad \"x\" \u003cy\u003e"}`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// ECR's InvalidLayerPartException carries its shape's other members,
	// which SDKs surface on the exception.
	part := Errorf("InvalidLayerPartException", "gap")
	part.Fields = map[string]any{"registryId": "123456789012", "uploadId": "u", "lastValidByteReceived": int64(3)}
	var got map[string]any
	if err := json.Unmarshal(jsonErrorBody(part), &got); err != nil {
		t.Fatal(err)
	}
	if got["__type"] != "InvalidLayerPartException" || got["message"] != "gap" || got["lastValidByteReceived"] != 3.0 ||
		got["uploadId"] != "u" || got["registryId"] != "123456789012" || len(got) != 5 {
		t.Errorf("got %v", got)
	}
	// A field may not replace the error's own code and message.
	part.Fields = map[string]any{"message": "other"}
	if got := string(jsonErrorBody(part)); got != `{"__type":"InvalidLayerPartException","message":"gap"}` {
		t.Errorf("shadowing field: %s", got)
	}
	// Errors without extra members build no map: the marshalled bytes
	// and the boxed structure only.
	if n := testing.AllocsPerRun(100, func() { jsonErrorBody(plain) }); n > 2 && !raceEnabled {
		t.Errorf("%v allocations for an error without extra members", n)
	}
}
