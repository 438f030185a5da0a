package main

import "net/http"

// errorsFile writes a code constant and a constructor per exception
// shape, with the HTTP status AWS sends it with.
func (p *plan) errorsFile() *file {
	f := newFile("errors.go", p.pkg)
	if len(p.errors) == 0 {
		return f
	}
	f.use(awsapiPath)
	f.printf("// Error codes of the %s model, as clients see them in __type.\nconst (\n", p.m.Metadata.ServiceID)
	for _, s := range p.errors {
		f.printf("%s = %q\n", p.errorNames[s.Name].code, errorCode(s))
	}
	f.printf(")\n\n")
	for _, s := range p.errors {
		n := p.errorNames[s.Name]
		status := errorStatus(s)
		f.printf("// %s returns the %s error (HTTP %d).\n", n.constructor, errorCode(s), status)
		f.printf("func %s(format string, args ...any) *awsapi.Error {\nreturn awsapi.NewError(%d, %s, format, args...)\n}\n\n", n.constructor, status, n.code)
	}
	return f
}

// errorCode is the code AWS sends: the error trait's code, else the
// shape name.
func errorCode(s *Shape) string {
	if s.Error != nil && s.Error.Code != "" {
		return s.Error.Code
	}
	return s.Name
}

func errorStatus(s *Shape) int {
	if s.Error != nil && s.Error.HTTPStatusCode != 0 {
		return s.Error.HTTPStatusCode
	}
	if s.Fault {
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}
