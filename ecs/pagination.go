package ecs

import (
	"encoding/base64"
	"strings"

	ecsapi "github.com/berth-dev/berth/api/ecs"
)

// List operations page in key order; a nextToken is the last key returned,
// wrapped so that clients treat it as opaque.

const tokenPrefix = "berth1:"

func encodeToken(key string) *string {
	return ptr(base64.RawURLEncoding.EncodeToString([]byte(tokenPrefix + key)))
}

func decodeToken(tok *string) (string, error) {
	if tok == nil || *tok == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(*tok)
	if err != nil || !strings.HasPrefix(string(raw), tokenPrefix) {
		return "", ecsapi.NewInvalidParameterException("Invalid token %s", *tok)
	}
	return strings.TrimPrefix(string(raw), tokenPrefix), nil
}

// pageParams checks a list request's maxResults and nextToken: the page
// size (see pageSize) and the key to list after.
func pageParams(maxResults *int32, nextToken *string, def, bound int) (limit int, after string, err error) {
	if limit, err = pageSize(maxResults, def, bound); err != nil {
		return 0, "", err
	}
	if after, err = decodeToken(nextToken); err != nil {
		return 0, "", err
	}
	return limit, after, nil
}

// pageSize checks maxResults against the operation's bound (AWS: 1 to 100
// for most lists) and returns the size to use.
func pageSize(maxResults *int32, def, bound int) (int, error) {
	if maxResults == nil {
		return def, nil
	}
	n := int(*maxResults)
	if n < 1 || n > bound {
		return 0, ecsapi.NewInvalidParameterException("maxResults must be between 1 and %d.", bound)
	}
	return n, nil
}
