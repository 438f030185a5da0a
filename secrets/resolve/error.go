package resolve

// NewError is the Error of a resolver that reads secrets some other way than
// from the store (a remote task agent, through the APIs), so that the agent
// words its failures as it words Resolver's. notFound makes it match
// ErrNotFound, else ErrInvalid.
func NewError(valueFrom, service, code, message string, notFound bool) *Error {
	kind := ErrInvalid
	if notFound {
		kind = ErrNotFound
	}
	return &Error{ValueFrom: valueFrom, Service: service, Code: code, Message: message, kind: kind}
}
