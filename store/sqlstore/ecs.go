package sqlstore

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/berth-dev/berth/store"
)

const ecsTaskKeyColumns = `account, region, cluster, id, family, started_by, task_group, desired_status, instance, launch_type`

func (tx *Tx) scanECSTask(row interface{ Scan(...any) error }, docs bool) (store.ECSTask, error) {
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
		return store.ECSTask{}, tx.d.MapErr(err)
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

func (t *Tx) GetECSTask(account, region, cluster, id string) (store.ECSTask, error) {
	return t.scanECSTask(t.queryRow(`SELECT `+ecsTaskColumns(true)+` FROM ecs_tasks
		WHERE account = ? AND region = ? AND cluster = ? AND id = ?`, account, region, cluster, id), true)
}

func (t *Tx) GetECSTasks(account, region, cluster string, ids []string) ([]store.ECSTask, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, 0, 3+len(ids))
	args = append(args, account, region, cluster)
	for _, id := range ids {
		args = append(args, id)
	}
	return listScan(t, t.scanECSTaskDoc, `SELECT `+ecsTaskColumns(true)+` FROM ecs_tasks
		WHERE account = ? AND region = ? AND cluster = ? AND id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)`, args...)
}

func (t *Tx) PutECSTask(r store.ECSTask) error {
	if !json.Valid(r.Doc) {
		return fmt.Errorf("%s: ECS task %s/%s: document is not valid JSON", t.d.Name, r.Cluster, r.ID)
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

func (t *Tx) DeleteECSTask(account, region, cluster, id string) error {
	return t.execOneSafe(`DELETE FROM ecs_tasks WHERE account = ? AND region = ? AND cluster = ? AND id = ?`,
		account, region, cluster, id)
}

func (t *Tx) ListECSTasks(account, region, cluster string, f store.ECSTaskFilter, page store.Page, docs bool) ([]store.ECSTask, error) {
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
	order := t.d.Queries.TaskKey
	if cluster != "" {
		cond("cluster", cluster)
		where = append(where, "id > ?")
		args = append(args, page.After)
		order = "id"
	} else if page.After != "" {
		where = append(where, order+" > ?")
		args = append(args, page.After)
	}
	cond("family", f.Family)
	cond("started_by", f.StartedBy)
	cond("task_group", f.Group)
	cond("desired_status", f.DesiredStatus)
	cond("instance", f.Instance)
	cond("launch_type", f.LaunchType)
	args = append(args, t.limit(page.Limit))
	scan := t.scanECSTaskKey
	if docs {
		scan = t.scanECSTaskDoc
	}
	return listScan(t, scan, `SELECT `+ecsTaskColumns(docs)+` FROM ecs_tasks WHERE `+strings.Join(where, " AND ")+
		` ORDER BY `+order+` LIMIT ?`, args...)
}

func (t *Tx) scanECSTaskDoc(row scanner) (store.ECSTask, error) { return t.scanECSTask(row, true) }

func (t *Tx) scanECSTaskKey(row scanner) (store.ECSTask, error) { return t.scanECSTask(row, false) }
