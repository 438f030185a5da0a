package agent

import (
	"context"
	"strings"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/ecs"
	"github.com/berth-dev/berth/logs"
	"github.com/berth-dev/berth/runtime"
)

// awslogsConfig is where a container's output goes: the awslogs log
// driver's options resolved for one container.
type awslogsConfig struct {
	account, region string
	group, stream   string
	create          bool
}

// awslogs resolves a container's awslogs configuration: awslogs-group,
// awslogs-region (the task's by default), awslogs-stream-prefix (the stream
// is prefix/container/task-id; without a prefix it is the container's id,
// as the Docker driver names it) and awslogs-create-group.
func (a *Agent) awslogs(t *ecs.AssignedTask, def ecsapi.ContainerDefinition, id runtime.ContainerID) (awslogsConfig, bool) {
	lc := def.LogConfiguration
	if a.o.Logs == nil || lc == nil || deref(lc.LogDriver) != ecsapi.LogDriverAwslogs {
		return awslogsConfig{}, false
	}
	opts := lc.Options
	cfg := awslogsConfig{
		account: t.Account,
		region:  opts["awslogs-region"],
		group:   opts["awslogs-group"],
		create:  strings.EqualFold(opts["awslogs-create-group"], "true"),
	}
	if cfg.region == "" {
		cfg.region = t.Region
	}
	if p := opts["awslogs-stream-prefix"]; p != "" {
		cfg.stream = logs.ECSStreamName(p, deref(def.Name), taskID(t.TaskARN))
	} else {
		cfg.stream = string(id)
	}
	return cfg, cfg.group != ""
}

// logDriverMessage words a failure to make a log stream the way the
// awslogs driver does when a container cannot start because of it.
func logDriverMessage(err error) string {
	if e := awsapi.AsError(err); e != nil {
		if e.Code == "ResourceNotFoundException" {
			return "failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist."
		}
		return "failed to create Cloudwatch log stream: " + e.Code + ": " + e.Message
	}
	return "failed to create Cloudwatch log stream: " + err.Error()
}

// shipper ships one container's output; done closes when it has shipped
// everything up to the container's end (or the agent stops).
type shipper struct {
	done chan struct{}
}

// Limits of one Append: CloudWatch takes at most 10,000 events in a
// PutLogEvents batch.
const maxBatch = 10000

// ship follows a container's output from since (exclusive, to the
// millisecond CloudWatch keeps) and appends it to its stream in batches,
// until the container ends: the last lines are shipped before done closes.
func (a *Agent) ship(ctx context.Context, cfg awslogsConfig, id runtime.ContainerID, since time.Time) *shipper {
	s := &shipper{done: make(chan struct{})}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer close(s.done)
		a.shipLogs(ctx, cfg, id, since)
	}()
	return s
}

func (a *Agent) shipLogs(ctx context.Context, cfg awslogsConfig, id runtime.ContainerID, since time.Time) {
	opts := runtime.LogOptions{Follow: true}
	sinceMS := int64(0)
	if !since.IsZero() {
		sinceMS = since.UnixMilli()
		opts.Since = time.UnixMilli(sinceMS)
	}
	rd, err := a.rt.Logs(ctx, id, opts)
	if err != nil {
		if ctx.Err() == nil && !runtime.IsNotFound(err) {
			a.log.Warn("agent: reading a container's output", "container", id, "err", err)
		}
		return
	}
	defer rd.Close()
	entries := make(chan runtime.LogEntry, 1024)
	go func() {
		defer close(entries)
		for {
			e, err := rd.Next()
			if err != nil {
				return
			}
			select {
			case entries <- e:
			case <-ctx.Done():
				return
			}
		}
	}()

	var batch []logs.Event
	var partial strings.Builder
	flush := func(fctx context.Context) {
		if len(batch) == 0 {
			return
		}
		err := a.o.Logs.Append(fctx, cfg.account, cfg.region, cfg.group, cfg.stream, batch, cfg.create)
		if err != nil && fctx.Err() == nil {
			// One retry covers a busy store; a group deleted under a running
			// task loses its lines, as on AWS.
			time.Sleep(200 * time.Millisecond)
			err = a.o.Logs.Append(fctx, cfg.account, cfg.region, cfg.group, cfg.stream, batch, cfg.create)
		}
		if err != nil {
			a.log.Warn("agent: shipping container output", "group", cfg.group, "stream", cfg.stream, "lines", len(batch), "err", err)
		}
		batch = batch[:0]
	}
	add := func(e runtime.LogEntry) {
		if sinceMS != 0 && e.Time.UnixMilli() <= sinceMS {
			return // shipped before a restart
		}
		if e.Partial {
			partial.WriteString(e.Line)
			return
		}
		msg := e.Line
		if partial.Len() > 0 {
			msg = partial.String() + msg
			partial.Reset()
		}
		batch = append(batch, logs.Event{Timestamp: e.Time, Message: msg})
	}
	// final ships what is left with a context of its own: the agent's may
	// be ending, and lines written before the end must not be lost.
	final := func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		flush(fctx)
	}
	tick := time.NewTicker(a.o.LogFlush)
	defer tick.Stop()
	for {
		select {
		case e, ok := <-entries:
			if !ok {
				if partial.Len() > 0 {
					batch = append(batch, logs.Event{Timestamp: a.now(), Message: partial.String()})
				}
				final()
				return
			}
			add(e)
			if len(batch) >= maxBatch {
				flush(ctx)
			}
		case <-tick.C:
			flush(ctx)
		case <-ctx.Done():
			for {
				select {
				case e, ok := <-entries:
					if ok {
						add(e)
						continue
					}
				default:
				}
				break
			}
			final()
			return
		}
	}
}
