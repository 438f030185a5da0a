package postgres

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/berth-dev/berth/store"
)

const ecsTaskKeyColumns = `account, region, cluster, id, family, started_by, task_group, desired_status, instance, launch_type`

func scanECSTask(row interface{ Scan(...any) error }, docs bool) (store.ECSTask, error) {
	var (
		t       store.ECSTask
		doc     []byte
		updated int64
	)
	dest := []any{&t.Account, &t.Region, &t.Cluster, &t.ID, &t.Family, &t.StartedBy, &t.Group,
		&t.DesiredStatus, &t.Instance, &t.LaunchType}
	if docs {
		dest = append(dest, &doc, &updated)
	}
	if err := row.Scan(dest...); err != nil {
		return store.ECSTask{}, mapErr(err)
	}
	if docs {
		t.Doc = json.RawMessage(doc)
		t.UpdatedAt = fromUnixNano(updated)
	}
	return t, nil
}

func ecsTaskColumns(docs bool) string {
	if docs {
		return ecsTaskKeyColumns + `, doc, updated_at`
	}
	return ecsTaskKeyColumns
}

func (t *tx) GetECSTask(account, region, cluster, id string) (store.ECSTask, error) {
	return scanECSTask(t.queryRow(`SELECT `+ecsTaskColumns(true)+` FROM ecs_tasks
		WHERE account = ? AND region = ? AND cluster = ? AND id = ?`, account, region, cluster, id), true)
}

func (t *tx) GetECSTasks(account, region, cluster string, ids []string) ([]store.ECSTask, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, 0, 3+len(ids))
	args = append(args, account, region, cluster)
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := t.query(`SELECT `+ecsTaskColumns(true)+` FROM ecs_tasks
		WHERE account = ? AND region = ? AND cluster = ? AND id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)`, args...)
	if err != nil {
		return nil, err
	}
	return collectECSTasks(rows, true)
}

func (t *tx) PutECSTask(r store.ECSTask) error {
	if !json.Valid(r.Doc) {
		return fmt.Errorf("postgres: ECS task %s/%s: document is not valid JSON", r.Cluster, r.ID)
	}
	_, err := t.execSafe(`INSERT INTO ecs_tasks (`+ecsTaskColumns(true)+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (account, region, cluster, id) DO UPDATE SET
			family = excluded.family, started_by = excluded.started_by, task_group = excluded.task_group,
			desired_status = excluded.desired_status, instance = excluded.instance,
			launch_type = excluded.launch_type, doc = excluded.doc, updated_at = excluded.updated_at`,
		r.Account, r.Region, r.Cluster, r.ID, r.Family, r.StartedBy, r.Group, r.DesiredStatus, r.Instance,
		r.LaunchType, []byte(r.Doc), unixNano(r.UpdatedAt))
	return err
}

func (t *tx) DeleteECSTask(account, region, cluster, id string) error {
	return t.execOneSafe(`DELETE FROM ecs_tasks WHERE account = ? AND region = ? AND cluster = ? AND id = ?`,
		account, region, cluster, id)
}

func (t *tx) ListECSTasks(account, region, cluster string, f store.ECSTaskFilter, page store.Page, docs bool) ([]store.ECSTask, error) {
	var (
		where = []string{"account = ?", "region = ?"}
		args  = []any{account, region}
	)
	cond := func(col, v string) {
		if v != "" {
			where = append(where, col+" = ?")
			args = append(args, v)
		}
	}
	// Across clusters the order is that of the "cluster/id" key After
	// names, which is not (cluster, id) order when names hold '-' or '.'.
	order := `(cluster || '/' || id) COLLATE "C"`
	if cluster != "" {
		cond("cluster", cluster)
		where = append(where, "id > ?")
		args = append(args, page.After)
		order = "id"
	} else if page.After != "" {
		where = append(where, `(cluster || '/' || id) COLLATE "C" > ?`)
		args = append(args, page.After)
	}
	cond("family", f.Family)
	cond("started_by", f.StartedBy)
	cond("task_group", f.Group)
	cond("desired_status", f.DesiredStatus)
	cond("instance", f.Instance)
	cond("launch_type", f.LaunchType)
	args = append(args, sqlLimit(page.Limit))
	rows, err := t.query(`SELECT `+ecsTaskColumns(docs)+` FROM ecs_tasks WHERE `+strings.Join(where, " AND ")+
		` ORDER BY `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	return collectECSTasks(rows, docs)
}

func collectECSTasks(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}, docs bool) ([]store.ECSTask, error) {
	defer rows.Close()
	var out []store.ECSTask
	for rows.Next() {
		r, err := scanECSTask(rows, docs)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, mapErr(rows.Err())
}
