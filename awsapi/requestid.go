package awsapi

import (
	"crypto/rand"
	"fmt"
)

// NewRequestID returns a random UUID-shaped request id, as AWS sends.
func NewRequestID() string { return NewUUID() }

// NewUUID returns a random RFC 4122 version 4 UUID, in lower case: the form
// of AWS's request ids and of many of its resource ids.
func NewUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
