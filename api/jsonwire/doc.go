// Package jsonwire is the runtime of the generated awsJson1_0/1_1
// bindings in api/<service>: it decodes request bodies strictly into the
// generated input types and wires typed service methods into
// awsapi.JSONOperation values.
package jsonwire
