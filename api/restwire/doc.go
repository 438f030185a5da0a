// Package restwire is the runtime of the generated restJson1 bindings in
// api/<service>: it binds a request's URI labels, query string, headers
// and JSON body into the generated input types (their rest struct tags say
// where each member travels), and writes outputs and their bound headers
// and status code back.
package restwire
