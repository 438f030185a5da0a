package logs

import (
	"encoding/json"
	"errors"
	"fmt"

	logsapi "github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/store"
)

// deleteGroupChild deletes a record kept per log group and name (metric
// and subscription filters), answering ResourceNotFoundException with
// notFound when the group has no such record.
func deleteGroupChild(tx store.Tx, c caller, group, name, kind, notFound string) error {
	g, err := getGroup(tx, c, group)
	if err != nil {
		return err
	}
	id := filterID(g.Name, name)
	if _, err := tx.GetResource(kind, c.Account, c.Region, id); errors.Is(err, store.ErrNotFound) {
		return logsapi.NewResourceNotFoundException("%s", notFound)
	} else if err != nil {
		return err
	}
	return tx.DeleteResource(kind, c.Account, c.Region, id)
}

// pageOf reads one page of records of a kind under an id prefix, decoded
// as T, and the token of the next page when there is one.
func pageOf[T any](tx store.Tx, c caller, kind, prefix, after string, limit int) ([]T, *string, error) {
	page, err := tx.ListResources(kind, c.Account, c.Region, prefix, store.Page{After: after, Limit: limit + 1})
	if err != nil {
		return nil, nil, err
	}
	var next *string
	if len(page) > limit {
		page = page[:limit]
		next = encodeToken(page[limit-1].ID)
	}
	out := make([]T, 0, len(page))
	for _, r := range page {
		var v T
		if err := json.Unmarshal(r.Doc, &v); err != nil {
			return nil, nil, fmt.Errorf("%s %s: %w", kind, r.ID, err)
		}
		out = append(out, v)
	}
	return out, next, nil
}
