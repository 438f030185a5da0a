package ssm

import (
	"strings"
	"time"

	"github.com/berth-dev/berth/store"
)

// Value is a parameter's value as a reader with decryption sees it.
type Value struct {
	Name    string
	ARN     string
	Type    string // String, StringList or SecureString
	Version int64
	// Value is the plaintext (a StringList's items joined by commas).
	Value string
}

// GetValue reads a parameter in tx as GetParameter with WithDecryption
// does for a caller in account and region: name is a parameter name or
// ARN (of that account and Region), optionally with a ":<version>" or
// ":<label>" selector, or /aws/reference/secretsmanager/<secret-id>. Its
// errors are GetParameter's *awsapi.Error (ParameterNotFound,
// ParameterVersionNotFound, ValidationException for a malformed name) or
// the store's.
func GetValue(tx store.Tx, account, region, name string, now time.Time) (Value, error) {
	c := caller{Account: account, Region: region}
	r, ok := parseRef(c, name)
	if !ok {
		if strings.HasPrefix(name, "arn:") {
			return Value{}, parameterNotFound()
		}
		return Value{}, invalidName()
	}
	s := &Service{now: func() time.Time { return now }}
	p, err := s.read(tx, c, r, true)
	if err != nil {
		return Value{}, err
	}
	return Value{Name: deref(p.Name), ARN: deref(p.ARN), Type: string(deref(p.Type)), Version: deref(p.Version), Value: deref(p.Value)}, nil
}
