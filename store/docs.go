package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// The functions here keep Go values as JSON documents in the resource area
// (kind, account, region, id): the one way services read and write their
// records there.

// LoadDoc reads the resource kind/account/region/id into v; found is false,
// and v untouched, when there is none.
func LoadDoc(tx ResourceTx, kind, account, region, id string, v any) (found bool, err error) {
	r, err := tx.GetResource(kind, account, region, id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(r.Doc, v); err != nil {
		return false, fmt.Errorf("store: decoding %s %s: %w", kind, id, err)
	}
	return true, nil
}

// ReadDoc is LoadDoc for callers that want a missing resource to be
// ErrNotFound.
func ReadDoc(tx ResourceTx, kind, account, region, id string, v any) error {
	found, err := LoadDoc(tx, kind, account, region, id, v)
	if err == nil && !found {
		return ErrNotFound
	}
	return err
}

// GetDoc reads the resource kind/account/region/id into a new T; it returns
// nil and no error when there is none.
func GetDoc[T any](tx ResourceTx, kind, account, region, id string) (*T, error) {
	v := new(T)
	found, err := LoadDoc(tx, kind, account, region, id, v)
	if !found {
		return nil, err
	}
	return v, nil
}

// PutDoc writes v as the resource kind/account/region/id.
func PutDoc(tx ResourceTx, kind, account, region, id string, v any, now time.Time) error {
	doc, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encoding %s %s: %w", kind, id, err)
	}
	return tx.PutResource(Resource{Kind: kind, Account: account, Region: region, ID: id, Doc: doc, UpdatedAt: now})
}

// CreateDoc writes v as the resource kind/account/region/id unless there
// is one already: ErrConflict then.
func CreateDoc(tx ResourceTx, kind, account, region, id string, v any, now time.Time) error {
	if _, err := tx.GetResource(kind, account, region, id); err == nil {
		return ErrConflict
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	return PutDoc(tx, kind, account, region, id, v, now)
}

// DeleteDoc removes a resource; a missing one is not an error.
func DeleteDoc(tx ResourceTx, kind, account, region, id string) error {
	err := tx.DeleteResource(kind, account, region, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// ListDocs pages through the resources of a kind whose id starts with
// prefix and comes after after, in id order, decoding each into a new T and
// calling fn until it returns false.
func ListDocs[T any](tx ResourceTx, kind, account, region, prefix, after string, fn func(id string, v *T) (bool, error)) error {
	// Batches start small, as most callers stop at a page of 100, and grow
	// for the scans that filter most records out.
	batch := 64
	for {
		rs, err := tx.ListResources(kind, account, region, prefix, Page{After: after, Limit: batch})
		if err != nil {
			return err
		}
		for _, r := range rs {
			v := new(T)
			if err := json.Unmarshal(r.Doc, v); err != nil {
				return fmt.Errorf("store: decoding %s %s: %w", kind, r.ID, err)
			}
			more, err := fn(r.ID, v)
			if err != nil || !more {
				return err
			}
		}
		if len(rs) < batch {
			return nil
		}
		after = rs[len(rs)-1].ID
		batch = min(batch*2, 1024)
	}
}

// AllDocs returns the resources of a kind whose id starts with prefix and
// comes after page.After, at most page.Limit of them (none: all), decoded,
// with their ids, in id order; none is an empty slice, not nil. For a slice
// of pointers, T is the pointer type.
func AllDocs[T any](tx ResourceTx, kind, account, region, prefix string, page Page) ([]T, []string, error) {
	out, ids := []T{}, []string{}
	err := ListDocs(tx, kind, account, region, prefix, page.After, func(id string, v *T) (bool, error) {
		out, ids = append(out, *v), append(ids, id)
		return page.Limit <= 0 || len(out) < page.Limit, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, ids, nil
}
