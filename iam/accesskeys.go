package iam

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	iamapi "github.com/berth-dev/berth/api/iam"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// kindAccessKey holds the long-term keys IAM created by access key id.
// Like STS sessions they are global (the id alone finds them, before the
// request's account is known), so account and region are empty.
const kindAccessKey = "iam.accessKey"

// kindAccount holds an account's own settings (root keys, alias) under
// accountDoc.
const (
	kindAccount = "iam.account"
	accountDoc  = "account"
)

const maxKeysPerUser = 2

// keyCacheTTL bounds how long a key looked up for a request is trusted
// without reading the store again. Writes through this process forget
// their keys at once; the TTL covers writes by another replica.
const (
	keyCacheTTL  = 5 * time.Second
	keyCacheSize = 10000
)

// accessKeyRecord is an access key as the store keeps it.
type accessKeyRecord struct {
	ID       string    `json:"id"`
	Secret   string    `json:"secret"`
	Account  string    `json:"account"`
	UserName string    `json:"userName,omitempty"` // empty: the account root's key
	Status   string    `json:"status"`
	Created  time.Time `json:"created"`
}

// accountRecord is what IAM keeps about an account itself.
type accountRecord struct {
	RootKeys []string `json:"rootKeys,omitempty"`
	Aliases  []string `json:"aliases,omitempty"`
}

func getAccount(tx store.Tx, acct string) (accountRecord, error) {
	var a accountRecord
	_, err := get(tx, kindAccount, acct, accountDoc, &a)
	return a, err
}

// keyCache remembers looked-up keys (and keys IAM does not know) for
// keyCacheTTL, and when each key was last used.
type keyCache struct {
	mu      sync.Mutex
	entries map[string]keyEntry
	used    map[string]keyUse
}

type keyEntry struct {
	key *awsapi.AccessKey // nil: not a key IAM created
	at  time.Time
}

type keyUse struct {
	at              time.Time
	service, region string
}

func (c *keyCache) get(id string) (*awsapi.AccessKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok || time.Since(e.at) > keyCacheTTL {
		return nil, false
	}
	return e.key, true
}

func (c *keyCache) put(id string, k *awsapi.AccessKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= keyCacheSize {
		c.entries = map[string]keyEntry{}
	}
	c.entries[id] = keyEntry{key: k, at: time.Now()}
}

func (c *keyCache) forget(ids ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		delete(c.entries, id)
	}
}

func (c *keyCache) use(id, service, region string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.used == nil || len(c.used) >= keyCacheSize {
		c.used = map[string]keyUse{}
	}
	c.used[id] = keyUse{at: at, service: service, region: region}
}

func (c *keyCache) lastUse(id string) (keyUse, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.used[id]
	return u, ok
}

var _ awsapi.AccessKeys = (*Service)(nil)

// LookupAccessKey implements awsapi.AccessKeys.
func (s *Service) LookupAccessKey(ctx context.Context, id string) (*awsapi.AccessKey, error) {
	if k, ok := s.keys.get(id); ok {
		return k, nil
	}
	var out *awsapi.AccessKey
	err := s.st.View(ctx, func(tx store.Tx) error {
		var k accessKeyRecord
		found, err := store.LoadDoc(tx, kindAccessKey, "", "", id, &k)
		if err != nil || !found {
			return err
		}
		ak := &awsapi.AccessKey{AccessKeyID: k.ID, SecretAccessKey: k.Secret, AccountID: k.Account, Active: k.Status == string(iamapi.StatusTypeActive)}
		if k.UserName != "" {
			var u userRecord
			found, err := get(tx, kindUser, k.Account, key(k.UserName), &u)
			if err != nil || !found {
				return err // a key whose user is gone signs nothing
			}
			ak.Principal, ak.UserID = u.arn(k.Account), u.ID
		}
		out = ak
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.keys.put(id, out)
	return out, nil
}

// AccessKeyUsed implements awsapi.AccessKeys. Last use is kept in memory,
// so it is per process and forgotten on restart.
func (s *Service) AccessKeyUsed(id, service, region string) {
	s.keys.use(id, service, region, s.clock())
}

func noSuchKey(id string) error {
	return iamapi.NewNoSuchEntityException("The Access Key with id %s cannot be found.", id)
}

// keysOf returns the key ids of a user (or of the root, for ""), checking
// that the user exists.
func keysOf(tx store.Tx, acct, user string) ([]string, error) {
	if user == "" {
		a, err := getAccount(tx, acct)
		return a.RootKeys, err
	}
	u, err := getUser(tx, acct, user)
	return u.Keys, err
}

func setKeysOf(tx store.Tx, acct, user string, keys []string, now time.Time) error {
	if user == "" {
		a, err := getAccount(tx, acct)
		if err != nil {
			return err
		}
		a.RootKeys = keys
		return put(tx, kindAccount, acct, accountDoc, a, now)
	}
	u, err := getUser(tx, acct, user)
	if err != nil {
		return err
	}
	u.Keys = keys
	return put(tx, kindUser, acct, key(u.Name), u, now)
}

// setKeyUser follows a user's rename in its key.
func (s *Service) setKeyUser(tx store.Tx, id, name string) error {
	var k accessKeyRecord
	found, err := store.LoadDoc(tx, kindAccessKey, "", "", id, &k)
	if err != nil || !found {
		return err
	}
	k.UserName = name
	return store.PutDoc(tx, kindAccessKey, "", "", id, k, s.clock())
}

// CreateAccessKey creates a long-term key for a user (by default the
// caller; the root's own key for root credentials). Requests signed with
// it act as the user in its account (see LookupAccessKey).
func (s *Service) CreateAccessKey(ctx context.Context, in *iamapi.CreateAccessKeyInput) (*iamapi.CreateAccessKeyOutput, error) {
	acct := account(ctx)
	user, err := callerUser(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 30)
	rand.Read(secret)
	k := accessKeyRecord{ID: newID("AKIA")[:20], Secret: base64.StdEncoding.EncodeToString(secret), Account: acct, UserName: user,
		Status: string(iamapi.StatusTypeActive), Created: s.clock()}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		keys, err := keysOf(tx, acct, user)
		if err != nil {
			return err
		}
		if len(keys) >= maxKeysPerUser {
			return iamapi.NewLimitExceededException("Cannot exceed quota for AccessKeysPerUser: %d", maxKeysPerUser)
		}
		if user != "" {
			u, _ := getUser(tx, acct, user)
			k.UserName = u.Name
		}
		if err := setKeysOf(tx, acct, k.UserName, append(keys, k.ID), k.Created); err != nil {
			return err
		}
		return store.PutDoc(tx, kindAccessKey, "", "", k.ID, k, k.Created)
	})
	if err != nil {
		return nil, err
	}
	s.keys.forget(k.ID)
	st := iamapi.StatusType(k.Status)
	return &iamapi.CreateAccessKeyOutput{AccessKey: &iamapi.AccessKey{
		UserName: optional(k.UserName), AccessKeyId: str(k.ID), Status: &st, SecretAccessKey: str(k.Secret), CreateDate: awsapi.Time(k.Created),
	}}, nil
}

// ListAccessKeys lists a user's keys (by default the caller's).
func (s *Service) ListAccessKeys(ctx context.Context, in *iamapi.ListAccessKeysInput) (*iamapi.ListAccessKeysOutput, error) {
	acct := account(ctx)
	user, err := callerUser(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	var recs []accessKeyRecord
	err = s.st.View(ctx, func(tx store.Tx) error {
		ids, err := keysOf(tx, acct, user)
		if err != nil {
			return err
		}
		for _, id := range ids {
			var k accessKeyRecord
			if found, err := store.LoadDoc(tx, kindAccessKey, "", "", id, &k); err != nil {
				return err
			} else if found {
				recs = append(recs, k)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(recs, func(a, b accessKeyRecord) int { return strings.Compare(a.ID, b.ID) })
	items, truncated, marker := page(recs, func(k accessKeyRecord) string { return k.ID }, in.Marker, in.MaxItems)
	out := &iamapi.ListAccessKeysOutput{AccessKeyMetadata: make([]iamapi.AccessKeyMetadata, 0, len(items)), IsTruncated: truncated, Marker: marker}
	for _, k := range items {
		st := iamapi.StatusType(k.Status)
		out.AccessKeyMetadata = append(out.AccessKeyMetadata, iamapi.AccessKeyMetadata{
			UserName: optional(k.UserName), AccessKeyId: str(k.ID), Status: &st, CreateDate: awsapi.Time(k.Created),
		})
	}
	return out, nil
}

// changeKey runs fn on a key of a user (by default the caller); the key
// must be that user's.
func (s *Service) changeKey(ctx context.Context, userName *string, id string, fn func(tx store.Tx, k *accessKeyRecord, keys []string) error) error {
	acct := account(ctx)
	user, err := callerUser(ctx, userName)
	if err != nil {
		return err
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		keys, err := keysOf(tx, acct, user)
		if err != nil {
			return err
		}
		var k accessKeyRecord
		found, err := store.LoadDoc(tx, kindAccessKey, "", "", id, &k)
		if err != nil {
			return err
		}
		if !found || !slices.Contains(keys, id) {
			return noSuchKey(id)
		}
		return fn(tx, &k, keys)
	})
	s.keys.forget(id)
	return err
}

// UpdateAccessKey makes a key Active or Inactive; an Inactive key signs
// nothing (InvalidClientTokenId) until it is made Active again.
func (s *Service) UpdateAccessKey(ctx context.Context, in *iamapi.UpdateAccessKeyInput) (*iamapi.UpdateAccessKeyOutput, error) {
	err := s.changeKey(ctx, in.UserName, *in.AccessKeyId, func(tx store.Tx, k *accessKeyRecord, _ []string) error {
		k.Status = string(*in.Status)
		return store.PutDoc(tx, kindAccessKey, "", "", k.ID, k, s.clock())
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UpdateAccessKeyOutput{}, nil
}

// DeleteAccessKey deletes a key; requests signed with it are refused from
// then on.
func (s *Service) DeleteAccessKey(ctx context.Context, in *iamapi.DeleteAccessKeyInput) (*iamapi.DeleteAccessKeyOutput, error) {
	err := s.changeKey(ctx, in.UserName, *in.AccessKeyId, func(tx store.Tx, k *accessKeyRecord, keys []string) error {
		keys = slices.DeleteFunc(slices.Clone(keys), func(id string) bool { return id == k.ID })
		if err := setKeysOf(tx, k.Account, k.UserName, keys, s.clock()); err != nil {
			return err
		}
		return store.DeleteDoc(tx, kindAccessKey, "", "", k.ID)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteAccessKeyOutput{}, nil
}

// GetAccessKeyLastUsed says when, with which service and in which region
// a key of the caller's account last signed a request Berth accepted.
func (s *Service) GetAccessKeyLastUsed(ctx context.Context, in *iamapi.GetAccessKeyLastUsedInput) (*iamapi.GetAccessKeyLastUsedOutput, error) {
	var k accessKeyRecord
	var found bool
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		found, err = store.LoadDoc(tx, kindAccessKey, "", "", *in.AccessKeyId, &k)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !found || k.Account != account(ctx) {
		// IAM does not reveal whether a key it cannot show the caller
		// exists: it refuses the request as it would an unauthorized one.
		caller := awsapi.IdentityFrom(ctx).Principal
		if caller == "" {
			caller = "arn:aws:iam::" + account(ctx) + ":root"
		}
		return nil, awsapi.NewError(http.StatusForbidden, "AccessDenied",
			"User: %s is not authorized to perform iam:GetAccessKeyLastUsed on resource: access key %s", caller, *in.AccessKeyId)
	}
	last := &iamapi.AccessKeyLastUsed{ServiceName: str("N/A"), Region: str("N/A")}
	if u, ok := s.keys.lastUse(k.ID); ok {
		last = &iamapi.AccessKeyLastUsed{LastUsedDate: awsapi.Time(u.at), ServiceName: str(u.service), Region: str(u.region)}
	}
	return &iamapi.GetAccessKeyLastUsedOutput{UserName: optional(k.UserName), AccessKeyLastUsed: last}, nil
}
