package store_test

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/store"
)

// memResources is a ResourceTx over a map, enough to test the document
// helpers without a backend.
type memResources map[string]store.Resource

func (m memResources) GetResource(kind, account, region, id string) (store.Resource, error) {
	r, ok := m[kind+"|"+account+"|"+region+"|"+id]
	if !ok {
		return store.Resource{}, store.ErrNotFound
	}
	return r, nil
}

func (m memResources) PutResource(r store.Resource) error {
	m[r.Kind+"|"+r.Account+"|"+r.Region+"|"+r.ID] = r
	return nil
}

func (m memResources) DeleteResource(kind, account, region, id string) error {
	k := kind + "|" + account + "|" + region + "|" + id
	if _, ok := m[k]; !ok {
		return store.ErrNotFound
	}
	delete(m, k)
	return nil
}

func (m memResources) ListResources(kind, account, region, prefix string, page store.Page) ([]store.Resource, error) {
	var out []store.Resource
	for _, r := range m {
		if r.Kind == kind && r.Account == account && r.Region == region && strings.HasPrefix(r.ID, prefix) && r.ID > page.After {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if page.Limit > 0 && len(out) > page.Limit {
		out = out[:page.Limit]
	}
	return out, nil
}

type item struct {
	N int `json:"n"`
}

func TestDocsRoundTripAndPaging(t *testing.T) {
	tx := memResources{}
	now := time.Now()
	// 300 items cross several of ListDocs' batches.
	for i := range 300 {
		if err := store.PutDoc(tx, "k", "a", "r", fmt.Sprintf("x/%04d", i), item{N: i}, now); err != nil {
			t.Fatal(err)
		}
	}
	store.PutDoc(tx, "k", "a", "r", "y/0", item{N: -1}, now)

	got, err := store.GetDoc[item](tx, "k", "a", "r", "x/0042")
	if err != nil || got == nil || got.N != 42 {
		t.Fatalf("GetDoc = %v, %v", got, err)
	}
	if got, err := store.GetDoc[item](tx, "k", "a", "r", "missing"); got != nil || err != nil {
		t.Fatalf("GetDoc of a missing doc = %v, %v; want nil, nil", got, err)
	}

	all, ids, err := store.AllDocs[*item](tx, "k", "a", "r", "x/", store.Page{})
	if err != nil || len(all) != 300 || len(ids) != 300 {
		t.Fatalf("AllDocs: %d docs, %d ids, %v; want 300", len(all), len(ids), err)
	}
	for i, v := range all {
		if v.N != i || ids[i] != fmt.Sprintf("x/%04d", i) {
			t.Fatalf("AllDocs[%d] = %s %d", i, ids[i], v.N)
		}
	}
	page, _, _ := store.AllDocs[item](tx, "k", "a", "r", "x/", store.Page{After: "x/0100", Limit: 5})
	if len(page) != 5 || page[0].N != 101 {
		t.Fatalf("AllDocs page = %d docs starting %v", len(page), page)
	}

	if err := store.CreateDoc(tx, "k", "a", "r", "x/0042", item{N: 0}, now); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateDoc over a doc: %v", err)
	}
	if err := store.CreateDoc(tx, "k", "a", "r", "z", item{N: 7}, now); err != nil {
		t.Fatal(err)
	}
	if err := store.DeleteDoc(tx, "k", "a", "r", "x/0042"); err != nil {
		t.Fatal(err)
	}
	if err := store.DeleteDoc(tx, "k", "a", "r", "x/0042"); err != nil {
		t.Fatalf("deleting a missing doc: %v", err)
	}

	tx.PutResource(store.Resource{Kind: "k", Account: "a", Region: "r", ID: "bad", Doc: []byte("{")})
	if _, err := store.GetDoc[item](tx, "k", "a", "r", "bad"); err == nil || !strings.Contains(err.Error(), "store: decoding k bad") {
		t.Fatalf("GetDoc of a bad doc: %v", err)
	}
}
