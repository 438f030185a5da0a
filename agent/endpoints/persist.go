package endpoints

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/berth-dev/berth/store"
)

// Registrations and the chosen port are store resources, global (no
// account or region) so that one listing finds them all at startup.
const (
	kindTask   = "agent.endpoints.task"
	kindConfig = "agent.endpoints.config"
	portID     = "port"
)

func saveTask(ctx context.Context, st store.Store, t Task, now time.Time) error {
	doc, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return st.Update(ctx, func(tx store.Tx) error {
		return tx.PutResource(store.Resource{Kind: kindTask, ID: t.TaskARN, Doc: doc, UpdatedAt: now})
	})
}

func deleteTask(ctx context.Context, st store.Store, taskARN string) error {
	return st.Update(ctx, func(tx store.Tx) error {
		err := tx.DeleteResource(kindTask, "", "", taskARN)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
}

// loadTasks reads every registration. A record that no longer reads as a
// task (written by another version) is skipped rather than failing start.
func loadTasks(ctx context.Context, st store.Store) ([]Task, error) {
	var out []Task
	after := ""
	for {
		var page []store.Resource
		err := st.View(ctx, func(tx store.Tx) error {
			var err error
			page, err = tx.ListResources(kindTask, "", "", "", store.Page{After: after, Limit: 500})
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, r := range page {
			var t Task
			if json.Unmarshal(r.Doc, &t) == nil && normalize(&t) == nil {
				out = append(out, t)
			}
			after = r.ID
		}
		if len(page) < 500 {
			return out, nil
		}
	}
}

func loadPort(ctx context.Context, st store.Store) (int, error) {
	var port int
	err := st.View(ctx, func(tx store.Tx) error {
		r, err := tx.GetResource(kindConfig, "", "", portID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if p, err := strconv.Atoi(string(r.Doc)); err == nil && p > 0 && p < 65536 {
			port = p
		}
		return nil
	})
	return port, err
}

func savePort(ctx context.Context, st store.Store, port int) error {
	return st.Update(ctx, func(tx store.Tx) error {
		return tx.PutResource(store.Resource{Kind: kindConfig, ID: portID,
			Doc: []byte(strconv.Itoa(port)), UpdatedAt: time.Now()})
	})
}
