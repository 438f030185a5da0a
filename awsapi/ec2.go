package awsapi

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"
)

// The ec2 protocol is awsQuery's request format (form-encoded Action and
// Version) with its own documents: a successful call answers
//
//	<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
//	  <requestId>...</requestId><vpcSet><item>...</item></vpcSet>
//	</DescribeVpcsResponse>
//
// with no result wrapper, and a failed one
//
//	<Response><Errors><Error><Code>...</Code><Message>...</Message></Error></Errors>
//	  <RequestID>...</RequestID></Response>
//
// An EC2 service is registered with HandleQuery as a QueryService with EC2
// set; its operations return the response's members.

// ec2Service is the ec2-protocol service a query request is for: the one
// registered under the signing name of its credential scope, or, for an
// unsigned request, the one whose Version it sends (without Version, the
// one with its Action if no awsQuery service has it). It returns nil for
// every other request, which stays awsQuery.
func (m *Mux) ec2Service(r *http.Request, params url.Values) *QueryService {
	s, err := parseSigV4(r)
	if err != nil {
		return nil // awsQuery reports the malformed signature
	}
	if s != nil {
		if svc := m.byQuery[s.Service]; svc != nil && svc.EC2 {
			return svc
		}
		return nil
	}
	version, action := params.Get("Version"), params.Get("Action")
	var found *QueryService
	for _, svc := range m.byQuery {
		switch {
		case version != "":
			if svc.EC2 && svc.Version == version {
				return svc
			}
		case svc.Operations[action] != nil:
			// Without Version, by Action, when no awsQuery service has it.
			if !svc.EC2 {
				return nil
			}
			found = svc
		}
	}
	return found
}

// serveEC2 authenticates and runs one call of the ec2-protocol service svc.
func (m *Mux) serveEC2(w http.ResponseWriter, r *http.Request, svc *QueryService, params url.Values, body []byte) {
	id, aerr := m.Auth.Authenticate(r, body)
	if aerr != nil {
		writeEC2Error(w, aerr)
		return
	}
	action := params.Get("Action")
	if action == "" {
		writeEC2Error(w, NewError(http.StatusBadRequest, "MissingAction", "The request must contain the parameter Action."))
		return
	}
	call := svc.Operations[action]
	if call == nil {
		writeEC2Error(w, NewError(http.StatusBadRequest, "InvalidAction", "The action %s is not valid for this web service.", action))
		return
	}
	members, err := call(WithIdentity(r.Context(), id), params)
	if err != nil {
		e := AsError(err)
		if e == nil {
			m.Log.Error("internal error", "service", svc.SigningName, "action", action, "err", err)
			e = InternalError(err)
		}
		writeEC2Error(w, e)
		return
	}
	reqID := NewRequestID()
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<" + action + "Response xmlns=\"")
	xml.EscapeText(&b, []byte(svc.XMLNamespace))
	b.WriteString("\"><requestId>" + reqID + "</requestId>")
	b.Write(members)
	b.WriteString("</" + action + "Response>")
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("X-Amzn-RequestId", reqID)
	w.WriteHeader(http.StatusOK)
	w.Write(b.Bytes())
}

// ec2Codes are the EC2 spellings of the common codes.
var ec2Codes = map[string]string{
	CodeMissingAuthenticationToken: "AuthFailure",
	CodeInvalidSignature:           "SignatureDoesNotMatch",
	CodeUnrecognizedClient:         "AuthFailure",
	CodeExpiredToken:               "RequestExpired",
	CodeUnknownOperation:           "InvalidAction",
	"InternalFailure":              "InternalError",
}

// EC2ErrorCode is the code an EC2 client sees for e.
func EC2ErrorCode(e *Error) string {
	if c, ok := ec2Codes[e.Code]; ok {
		return c
	}
	return e.Code
}

// writeEC2Error writes e as the ec2 protocol's error document.
func writeEC2Error(w http.ResponseWriter, e *Error) {
	reqID := NewRequestID()
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<Response><Errors><Error><Code>")
	xml.EscapeText(&b, []byte(EC2ErrorCode(e)))
	b.WriteString("</Code><Message>")
	xml.EscapeText(&b, []byte(strings.ToValidUTF8(e.Message, "\uFFFD")))
	b.WriteString("</Message></Error></Errors><RequestID>" + reqID + "</RequestID></Response>")
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("X-Amzn-RequestId", reqID)
	w.WriteHeader(e.HTTPStatus)
	w.Write(b.Bytes())
}
