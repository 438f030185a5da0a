package secrets

import (
	"context"
	"crypto/rand"
	"math/big"
	"strings"

	smapi "github.com/berth-dev/berth/api/secretsmanager"
)

const (
	lowerChars = "abcdefghijklmnopqrstuvwxyz"
	upperChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digitChars = "0123456789"
	punctChars = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
)

func (s *Service) GetRandomPassword(ctx context.Context, in *smapi.GetRandomPasswordInput) (*smapi.GetRandomPasswordOutput, error) {
	length := int(deref(in.PasswordLength))
	if in.PasswordLength == nil {
		length = 32
	}
	exclude := deref(in.ExcludeCharacters)
	keep := func(set string) string {
		return strings.Map(func(r rune) rune {
			if strings.ContainsRune(exclude, r) {
				return -1
			}
			return r
		}, set)
	}
	var classes []string
	add := func(excluded *bool, set string) {
		if !deref(excluded) {
			if set = keep(set); set != "" {
				classes = append(classes, set)
			}
		}
	}
	add(in.ExcludeLowercase, lowerChars)
	add(in.ExcludeUppercase, upperChars)
	add(in.ExcludeNumbers, digitChars)
	add(in.ExcludePunctuation, punctChars)
	// The space is not one of the types RequireEachIncludedType asks for
	// (letters of each case, digits, punctuation), so it is only mixed in.
	var space string
	if deref(in.IncludeSpace) && !strings.ContainsRune(exclude, ' ') {
		space = " "
	}
	if len(classes) == 0 && space == "" {
		return nil, smapi.NewInvalidParameterException("The password can't be generated: every character type is excluded.")
	}
	requireEach := in.RequireEachIncludedType == nil || *in.RequireEachIncludedType
	if requireEach && length < len(classes) {
		return nil, smapi.NewInvalidParameterException("Password length is too short based on the required types.")
	}
	all := strings.Join(classes, "") + space
	pw := make([]byte, 0, length)
	if requireEach {
		for _, set := range classes {
			pw = append(pw, set[randN(len(set))])
		}
	}
	for len(pw) < length {
		pw = append(pw, all[randN(len(all))])
	}
	// Shuffle so the required characters are not always first.
	for i := len(pw) - 1; i > 0; i-- {
		j := randN(i + 1)
		pw[i], pw[j] = pw[j], pw[i]
	}
	return &smapi.GetRandomPasswordOutput{RandomPassword: ptr(string(pw))}, nil
}

func randN(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return 0
	}
	return int(v.Int64())
}
