package awsapi

import (
	"bytes"
	"encoding/json"
)

// jsonError is the body of an awsJson error without extra members, which
// is nearly every error: encoding it builds no map.
type jsonError struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
}

// jsonErrorBody is e as an awsJson error body: __type, message and the
// error shape's other members (Fields). Fields are encoded as they are,
// with __type and message spliced in front, so they are copied nowhere.
func jsonErrorBody(e *Error) []byte {
	head, _ := json.Marshal(jsonError{Type: e.Code, Message: e.Message})
	if len(e.Fields) == 0 {
		return head
	}
	if m, ok := e.Fields["Message"]; ok && len(e.Fields) == 1 && m == e.Message {
		// A shape whose message member is "Message" (Secrets Manager's)
		// sends it under that name only, as AWS does.
		body, _ := json.Marshal(struct {
			Type    string `json:"__type"`
			Message string `json:"Message"`
		}{e.Code, e.Message})
		return body
	}
	_, hasType := e.Fields["__type"]
	_, hasMessage := e.Fields["message"]
	fields, err := json.Marshal(e.Fields)
	if err != nil || hasType || hasMessage || !bytes.HasPrefix(fields, []byte("{")) {
		// The modeled members are the error's own; a field that cannot
		// be encoded, or would shadow them, is left out.
		return head
	}
	// {"__type":..,"message":..} + , + "k":v... }
	out := make([]byte, 0, len(head)+len(fields))
	out = append(out, head[:len(head)-1]...)
	out = append(out, ',')
	return append(out, fields[1:]...)
}
