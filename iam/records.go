package iam

import (
	"context"
	"slices"
	"time"

	iamapi "github.com/berth-dev/berth/api/iam"
	"github.com/berth-dev/berth/store"
)

// named is a record of IAM's named entities (users, roles, groups,
// instance profiles, customer managed policies): each is stored under the
// key of its name, which an update may change.
type named interface{ entityName() string }

func (u userRecord) entityName() string            { return u.Name }
func (r roleRecord) entityName() string            { return r.Name }
func (g groupRecord) entityName() string           { return g.Name }
func (p instanceProfileRecord) entityName() string { return p.Name }
func (p policyRecord) entityName() string          { return p.Name }

// getNamed reads the entity name of kind in acct, or the kind's
// NoSuchEntity error made by missing.
func getNamed[T any](tx store.Tx, kind, acct, name string, missing func(string) error) (T, error) {
	var v T
	found, err := get(tx, kind, acct, key(name), &v)
	if err != nil {
		return v, err
	}
	if !found {
		return v, missing(name)
	}
	return v, nil
}

// update runs fn on the stored entity that read finds by name (or ARN)
// and stores the result, in one transaction.
func update[T named](ctx context.Context, s *Service, kind, name string, read func(store.Tx, string, string) (T, error), fn func(*T, store.Tx) error) (T, error) {
	acct := account(ctx)
	var v T
	err := s.st.Update(ctx, func(tx store.Tx) error {
		var err error
		if v, err = read(tx, acct, name); err != nil {
			return err
		}
		if err := fn(&v, tx); err != nil {
			return err
		}
		return put(tx, kind, acct, key(v.entityName()), v, s.clock())
	})
	return v, err
}

// view reads the entity name with read in a read-only transaction.
func view[T any](ctx context.Context, s *Service, name string, read func(store.Tx, string, string) (T, error)) (T, error) {
	var v T
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		v, err = read(tx, account(ctx), name)
		return err
	})
	return v, err
}

// create stores v, a new entity name of kind in acct, refusing a name
// that is taken (exists makes the error from the stored entity) and more
// than limit entities of the kind (quota is the error), as IAM's Create
// operations do.
func create[T any](tx store.Tx, kind, acct, name string, v T, at time.Time, exists func(T) error, limit int, quota error) error {
	var existing T
	found, err := get(tx, kind, acct, key(name), &existing)
	if err != nil {
		return err
	}
	if found {
		return exists(existing)
	}
	n, err := tx.ListResources(kind, acct, global, "", store.Page{})
	if err != nil {
		return err
	}
	if len(n) >= limit {
		return quota
	}
	return put(tx, kind, acct, key(name), v, at)
}

// viewAll lists every record of kind in acct in a read-only transaction.
func viewAll[T any](ctx context.Context, s *Service, kind, acct string) ([]T, error) {
	var out []T
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = all[T](tx, kind, acct)
		return err
	})
	return out, err
}

// rename frees an entity's old key when its new name has another key,
// refusing a name another entity has (exists makes the error from it),
// as the Update operations that rename do.
func rename[T any](tx store.Tx, kind, acct, from, to string, exists func(T) error) error {
	if key(to) == key(from) {
		return nil
	}
	var other T
	found, err := get(tx, kind, acct, key(to), &other)
	if err != nil {
		return err
	}
	if found {
		return exists(other)
	}
	return tx.DeleteResource(kind, acct, global, key(from))
}

// remove deletes the stored entity name once inUse (given the entity) finds
// nothing that keeps it, in one transaction.
func remove[T named](ctx context.Context, s *Service, kind, name string, read func(store.Tx, string, string) (T, error), inUse func(T, store.Tx) error) error {
	acct := account(ctx)
	return s.st.Update(ctx, func(tx store.Tx) error {
		v, err := read(tx, acct, name)
		if err != nil {
			return err
		}
		if err := inUse(v, tx); err != nil {
			return err
		}
		return tx.DeleteResource(kind, acct, global, key(v.entityName()))
	})
}

// tagEntity adds tags to the entity read finds by name (or ARN); tags
// gives the record's tag list.
func tagEntity[T named](ctx context.Context, s *Service, kind, name string, read func(store.Tx, string, string) (T, error), tags func(*T) *[]tag, add []iamapi.Tag) error {
	_, err := update(ctx, s, kind, name, read, func(v *T, _ store.Tx) error { return addTags(tags(v), add) })
	return err
}

// untagEntity removes the tags of keys from the entity read finds.
func untagEntity[T named](ctx context.Context, s *Service, kind, name string, read func(store.Tx, string, string) (T, error), tags func(*T) *[]tag, keys []string) error {
	_, err := update(ctx, s, kind, name, read, func(v *T, _ store.Tx) error {
		ts := tags(v)
		*ts = removeTags(*ts, keys)
		return nil
	})
	return err
}

// entityTags reads one page of the tags of the entity read finds.
func entityTags[T any](ctx context.Context, s *Service, name string, read func(store.Tx, string, string) (T, error), tags func(*T) *[]tag, marker *string, maxItems *int32) ([]iamapi.Tag, *bool, *string, error) {
	v, err := view(ctx, s, name, read)
	if err != nil {
		return nil, nil, nil, err
	}
	items, truncated, next := pageTags(*tags(&v), marker, maxItems)
	return items, truncated, next, nil
}

// changeUserItem runs fn on the item of one of a user's lists (signing
// certificates, SSH keys) that match picks, storing the list fn returns,
// in one transaction; missing is the error when no item matches.
func changeUserItem[E any](ctx context.Context, s *Service, user string, list func(*userRecord) *[]E, match func(E) bool, missing error, fn func(items []E, i int) []E) error {
	_, err := s.updateUser(ctx, user, func(u *userRecord, _ store.Tx) error {
		items := list(u)
		i := slices.IndexFunc(*items, match)
		if i < 0 {
			return missing
		}
		*items = fn(*items, i)
		return nil
	})
	return err
}

// deleteItem is changeUserItem's fn for a Delete call.
func deleteItem[E any](items []E, i int) []E { return slices.Delete(items, i, i+1) }
