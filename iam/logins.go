package iam

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	iamapi "github.com/berth-dev/berth/api/iam"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// kindPasswordPolicy holds an account's password policy under accountDoc;
// an account without one has IAM's default policy.
const kindPasswordPolicy = "iam.passwordPolicy"

// Password hashing: PBKDF2-HMAC-SHA256 with a random salt per password,
// so that the store never holds a password IAM could give back.
const (
	passwordIterations = 100_000
	passwordSaltSize   = 16
	passwordHashSize   = 32
	// maxPasswordHistory is the most PasswordReusePrevention may ask for.
	maxPasswordHistory = 24
)

// loginProfile is a user's console password, as the store keeps it (in
// the user's record, so it follows renames).
type loginProfile struct {
	Hash          string    `json:"hash"` // base64(salt) "$" base64(key)
	Created       time.Time `json:"created"`
	Changed       time.Time `json:"changed,omitzero"` // when the password was last set
	ResetRequired bool      `json:"resetRequired,omitempty"`
	// History holds the hashes of earlier passwords, newest first, for
	// PasswordReusePrevention.
	History []string `json:"history,omitempty"`
}

func hashPassword(pw string) (string, error) {
	salt := make([]byte, passwordSaltSize)
	rand.Read(salt)
	k, err := pbkdf2.Key(sha256.New, pw, salt, passwordIterations, passwordHashSize)
	if err != nil {
		return "", err
	}
	return base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(k), nil
}

// passwordMatches reports whether pw is the password hash was made from.
func passwordMatches(hash, pw string) bool {
	s, k, ok := strings.Cut(hash, "$")
	if !ok {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(s)
	want, err2 := base64.RawStdEncoding.DecodeString(k)
	if err1 != nil || err2 != nil {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, pw, salt, passwordIterations, len(want))
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}

// passwordPolicy is an account's password policy as the store keeps it.
type passwordPolicy struct {
	MinLength      int32 `json:"minLength"`
	Symbols        bool  `json:"symbols,omitempty"`
	Numbers        bool  `json:"numbers,omitempty"`
	Uppercase      bool  `json:"uppercase,omitempty"`
	Lowercase      bool  `json:"lowercase,omitempty"`
	AllowChange    bool  `json:"allowChange,omitempty"`
	MaxAge         int32 `json:"maxAge,omitempty"`
	ReusePrevented int32 `json:"reusePrevented,omitempty"`
	HardExpiry     bool  `json:"hardExpiry,omitempty"`
}

// passwordSymbols are the characters IAM counts as symbols.
const passwordSymbols = "!@#$%^&*()_+-=[]{}|'"

func (p passwordPolicy) wire() *iamapi.PasswordPolicy {
	expire := p.MaxAge > 0
	out := &iamapi.PasswordPolicy{
		MinimumPasswordLength: &p.MinLength, RequireSymbols: &p.Symbols, RequireNumbers: &p.Numbers,
		RequireUppercaseCharacters: &p.Uppercase, RequireLowercaseCharacters: &p.Lowercase,
		AllowUsersToChangePassword: &p.AllowChange, ExpirePasswords: &expire,
	}
	// IAM leaves HardExpiry out of a policy that does not set it.
	if p.HardExpiry {
		out.HardExpiry = &p.HardExpiry
	}
	if p.MaxAge > 0 {
		out.MaxPasswordAge = &p.MaxAge
	}
	if p.ReusePrevented > 0 {
		out.PasswordReusePrevention = &p.ReusePrevented
	}
	return out
}

func getPasswordPolicy(tx store.Tx, acct string) (passwordPolicy, bool, error) {
	var p passwordPolicy
	found, err := get(tx, kindPasswordPolicy, acct, accountDoc, &p)
	return p, found, err
}

func noPasswordPolicy(acct string) error {
	return iamapi.NewNoSuchEntityException("The Password Policy with domain name %s cannot be found.", acct)
}

// checkPassword refuses a password the account's policy (or, without one,
// IAM's default policy: at least 8 characters of at least three of the
// four kinds) does not allow, or one of the last passwords the policy
// forbids reusing.
func checkPassword(tx store.Tx, acct, pw string, history []string) error {
	p, found, err := getPasswordPolicy(tx, acct)
	if err != nil {
		return err
	}
	var upper, lower, digit, symbol bool
	for _, r := range pw {
		switch {
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= '0' && r <= '9':
			digit = true
		case strings.ContainsRune(passwordSymbols, r):
			symbol = true
		}
	}
	n := int32(len([]rune(pw)))
	if !found {
		kinds := 0
		for _, b := range []bool{upper, lower, digit, symbol} {
			if b {
				kinds++
			}
		}
		if n < 8 || kinds < 3 {
			return iamapi.NewPasswordPolicyViolationException("Password does not conform to the account password policy: it must be at least 8 characters long and contain at least three of uppercase letters, lowercase letters, numbers and symbols (%s).", passwordSymbols)
		}
		return nil
	}
	var missing []string
	if n < p.MinLength {
		missing = append(missing, fmt.Sprintf("have a minimum length of %d", p.MinLength))
	}
	if p.Uppercase && !upper {
		missing = append(missing, "have at least one uppercase character")
	}
	if p.Lowercase && !lower {
		missing = append(missing, "have at least one lowercase character")
	}
	if p.Numbers && !digit {
		missing = append(missing, "have at least one number")
	}
	if p.Symbols && !symbol {
		missing = append(missing, "have at least one symbol ("+passwordSymbols+")")
	}
	if len(missing) > 0 {
		return iamapi.NewPasswordPolicyViolationException("Password does not conform to the account password policy: the password must %s.", strings.Join(missing, ", "))
	}
	for i, h := range history {
		if int32(i) >= p.ReusePrevented {
			break
		}
		if passwordMatches(h, pw) {
			return iamapi.NewPasswordPolicyViolationException("Password does not conform to the account password policy: the password must not be one of the last %d passwords used.", p.ReusePrevented)
		}
	}
	return nil
}

// setPassword checks pw against the account's policy and the profile's
// history, then makes it the profile's password.
func setPassword(tx store.Tx, acct string, lp *loginProfile, pw string, now time.Time) error {
	var history []string
	if lp.Hash != "" {
		history = append([]string{lp.Hash}, lp.History...)
	}
	if err := checkPassword(tx, acct, pw, history); err != nil {
		return err
	}
	h, err := hashPassword(pw)
	if err != nil {
		return err
	}
	if len(history) > maxPasswordHistory {
		history = history[:maxPasswordHistory]
	}
	lp.Hash, lp.History, lp.Changed = h, history, now
	return nil
}

func noLoginProfile(user string) error {
	return iamapi.NewNoSuchEntityException("Login Profile for User %s cannot be found.", user)
}

func (lp *loginProfile) wire(user string) *iamapi.LoginProfile {
	return &iamapi.LoginProfile{UserName: str(user), CreateDate: awsapi.Time(lp.Created), PasswordResetRequired: &lp.ResetRequired}
}

// CreateLoginProfile gives a user a console password.
func (s *Service) CreateLoginProfile(ctx context.Context, in *iamapi.CreateLoginProfileInput) (*iamapi.CreateLoginProfileOutput, error) {
	name, err := callerUser(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, awsapi.Errorf("ValidationError", "Must specify userName when calling with root credentials")
	}
	if in.Password == nil {
		return nil, awsapi.Errorf("ValidationError", "Password is required: Berth creates no password-less login profiles.")
	}
	u, err := s.updateUser(ctx, name, func(u *userRecord, tx store.Tx) error {
		if u.Login != nil {
			return iamapi.NewEntityAlreadyExistsException("Login Profile for user %s already exists.", u.Name)
		}
		lp := &loginProfile{Created: s.clock(), ResetRequired: in.PasswordResetRequired != nil && *in.PasswordResetRequired}
		if err := setPassword(tx, account(ctx), lp, *in.Password, lp.Created); err != nil {
			return err
		}
		u.Login = lp
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.CreateLoginProfileOutput{LoginProfile: u.Login.wire(u.Name)}, nil
}

// GetLoginProfile tells whether a user has a console password (never the
// password itself).
func (s *Service) GetLoginProfile(ctx context.Context, in *iamapi.GetLoginProfileInput) (*iamapi.GetLoginProfileOutput, error) {
	name, err := callerUser(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, awsapi.Errorf("ValidationError", "Must specify userName when calling with root credentials")
	}
	u, err := s.viewUser(ctx, name)
	if err != nil {
		return nil, err
	}
	if u.Login == nil {
		return nil, noLoginProfile(u.Name)
	}
	return &iamapi.GetLoginProfileOutput{LoginProfile: u.Login.wire(u.Name)}, nil
}

// UpdateLoginProfile changes a user's password or whether it must be
// reset at the next sign-in.
func (s *Service) UpdateLoginProfile(ctx context.Context, in *iamapi.UpdateLoginProfileInput) (*iamapi.UpdateLoginProfileOutput, error) {
	_, err := s.updateUser(ctx, *in.UserName, func(u *userRecord, tx store.Tx) error {
		if u.Login == nil {
			return noLoginProfile(u.Name)
		}
		if in.Password != nil {
			if err := setPassword(tx, account(ctx), u.Login, *in.Password, s.clock()); err != nil {
				return err
			}
		}
		if in.PasswordResetRequired != nil {
			u.Login.ResetRequired = *in.PasswordResetRequired
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UpdateLoginProfileOutput{}, nil
}

// DeleteLoginProfile takes a user's console password away.
func (s *Service) DeleteLoginProfile(ctx context.Context, in *iamapi.DeleteLoginProfileInput) (*iamapi.DeleteLoginProfileOutput, error) {
	name, err := callerUser(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, awsapi.Errorf("ValidationError", "Must specify userName when calling with root credentials")
	}
	_, err = s.updateUser(ctx, name, func(u *userRecord, _ store.Tx) error {
		if u.Login == nil {
			return noLoginProfile(u.Name)
		}
		u.Login = nil
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteLoginProfileOutput{}, nil
}

// ChangePassword changes the calling IAM user's own password, given the
// current one; it clears a pending reset.
func (s *Service) ChangePassword(ctx context.Context, in *iamapi.ChangePasswordInput) (*iamapi.ChangePasswordOutput, error) {
	id := awsapi.IdentityFrom(ctx)
	name, err := callerUser(ctx, nil)
	if err != nil || name == "" {
		return nil, iamapi.NewInvalidUserTypeException("Only IAM users can change their own password; the caller %s is not an IAM user.", id.Principal)
	}
	_, err = s.updateUser(ctx, name, func(u *userRecord, tx store.Tx) error {
		if u.Login == nil {
			return noLoginProfile(u.Name)
		}
		if !passwordMatches(u.Login.Hash, *in.OldPassword) {
			return iamapi.NewInvalidUserTypeException("The old password is incorrect.")
		}
		if err := setPassword(tx, account(ctx), u.Login, *in.NewPassword, s.clock()); err != nil {
			return err
		}
		u.Login.ResetRequired = false
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.ChangePasswordOutput{}, nil
}

// GetAccountPasswordPolicy returns the account's password policy; an
// account that never set one has none (IAM's default applies).
func (s *Service) GetAccountPasswordPolicy(ctx context.Context, _ *iamapi.GetAccountPasswordPolicyInput) (*iamapi.GetAccountPasswordPolicyOutput, error) {
	acct := account(ctx)
	var p passwordPolicy
	var found bool
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		p, found, err = getPasswordPolicy(tx, acct)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, noPasswordPolicy(acct)
	}
	return &iamapi.GetAccountPasswordPolicyOutput{PasswordPolicy: p.wire()}, nil
}

// UpdateAccountPasswordPolicy sets the account's password policy. As in
// IAM, a parameter left out takes its default (minimum length 6, nothing
// required, no expiry, no reuse prevention), not its previous value.
func (s *Service) UpdateAccountPasswordPolicy(ctx context.Context, in *iamapi.UpdateAccountPasswordPolicyInput) (*iamapi.UpdateAccountPasswordPolicyOutput, error) {
	b := func(p *bool) bool { return p != nil && *p }
	n := func(p *int32, def int32) int32 {
		if p == nil {
			return def
		}
		return *p
	}
	p := passwordPolicy{
		MinLength: n(in.MinimumPasswordLength, 6), Symbols: b(in.RequireSymbols), Numbers: b(in.RequireNumbers),
		Uppercase: b(in.RequireUppercaseCharacters), Lowercase: b(in.RequireLowercaseCharacters),
		AllowChange: b(in.AllowUsersToChangePassword), MaxAge: n(in.MaxPasswordAge, 0),
		ReusePrevented: n(in.PasswordReusePrevention, 0), HardExpiry: b(in.HardExpiry),
	}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		return put(tx, kindPasswordPolicy, account(ctx), accountDoc, p, s.clock())
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UpdateAccountPasswordPolicyOutput{}, nil
}

// DeleteAccountPasswordPolicy removes the account's password policy, so
// that IAM's default applies again.
func (s *Service) DeleteAccountPasswordPolicy(ctx context.Context, _ *iamapi.DeleteAccountPasswordPolicyInput) (*iamapi.DeleteAccountPasswordPolicyOutput, error) {
	acct := account(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		if _, found, err := getPasswordPolicy(tx, acct); err != nil || !found {
			if err == nil {
				// IAM words this one differently from GetAccountPasswordPolicy.
				err = iamapi.NewNoSuchEntityException("The account policy with name PasswordPolicy cannot be found.")
			}
			return err
		}
		return tx.DeleteResource(kindPasswordPolicy, acct, global, accountDoc)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteAccountPasswordPolicyOutput{}, nil
}
