package docker

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/berth-dev/berth/runtime"
)

// Events streams the engine's events about Berth's containers. The engine
// stream breaks when the engine restarts or the connection drops; Events
// then reconnects (backing off up to reconnectMax), asks for what happened
// since the last event it saw, and sends an EventResync, because an engine
// that restarted has forgotten its events.
func (r *Runtime) Events(ctx context.Context) <-chan runtime.Event {
	out := make(chan runtime.Event, 64)
	go func() {
		defer close(out)
		var since time.Time
		backoff := reconnectMin
		for first := true; ; first = false {
			connected, last := r.streamEvents(ctx, since, out, !first)
			if ctx.Err() != nil {
				return
			}
			if !last.IsZero() {
				since = last
			}
			if connected {
				backoff = reconnectMin
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, reconnectMax)
		}
	}()
	return out
}

const (
	reconnectMin = 100 * time.Millisecond
	reconnectMax = 5 * time.Second
)

// streamEvents relays one engine event stream until it breaks. It reports
// whether it got through to the engine and the time of the last event. A
// resync is sent once the stream is up again (not before: a consumer that
// lists while the engine is still down learns nothing).
func (r *Runtime) streamEvents(ctx context.Context, since time.Time, out chan<- runtime.Event, resync bool) (bool, time.Time) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f := client.Filters{}
	f.Add("type", string(events.ContainerEventType))
	f.Add("label", labelManaged+"=true")
	opts := client.EventsListOptions{Filters: f}
	if !since.IsZero() {
		opts.Since = since.UTC().Format(time.RFC3339Nano)
	}
	// The events endpoint sends nothing until something happens, so
	// whether the engine is reachable is learnt from a ping first.
	if _, err := r.cli.Ping(sctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return false, time.Time{}
	}
	res := r.cli.Events(sctx, opts)
	if resync {
		select {
		case out <- runtime.Event{Type: runtime.EventResync, Time: time.Now()}:
		case <-ctx.Done():
			return true, time.Time{}
		}
	}
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return true, last
		case <-res.Err:
			return true, last
		case m := <-res.Messages:
			ev, ok := eventOf(m)
			if !ok {
				continue
			}
			last = ev.Time
			select {
			case out <- ev:
			case <-ctx.Done():
				return true, last
			}
		}
	}
}

// eventOf translates an engine event, dropping those Berth has no use for
// (create, attach, exec_*, kill, ...).
func eventOf(m events.Message) (runtime.Event, bool) {
	action := string(m.Action)
	ev := runtime.Event{
		ContainerID: runtime.ContainerID(m.Actor.ID),
		Time:        time.Unix(0, m.TimeNano),
	}
	if m.TimeNano == 0 {
		ev.Time = time.Unix(m.Time, 0)
	}
	switch {
	case action == "start":
		ev.Type = runtime.EventStart
	case action == "die":
		ev.Type = runtime.EventDie
		ev.ExitCode, _ = strconv.Atoi(m.Actor.Attributes["exitCode"])
	case action == "oom":
		ev.Type = runtime.EventOOM
	case action == "destroy":
		ev.Type = runtime.EventDestroy
	case strings.HasPrefix(action, "health_status"):
		// "health_status: healthy"; health_status without a status is not
		// sent by any engine we know, but would carry nothing usable.
		_, status, ok := strings.Cut(action, ":")
		if !ok {
			return runtime.Event{}, false
		}
		ev.Type = runtime.EventHealth
		ev.Health = healthOf(strings.TrimSpace(status))
	default:
		return runtime.Event{}, false
	}
	attrs := m.Actor.Attributes
	ev.Name = attrs["name"]
	ev.Sandbox = attrs[labelKind] == kindSandbox
	// The engine mixes the container's labels into the attributes with its
	// own keys (name, image, exitCode, ...): keep only labels. Our own keys
	// are stripped; the engine's have no dots, the caller's in practice do,
	// so the engine's few fixed keys are dropped by name.
	labels := make(map[string]string, len(attrs))
	for k, v := range attrs {
		switch k {
		case "name", "image", "exitCode", "signal", "execDuration", "container":
			continue
		}
		if strings.HasPrefix(k, labelPrefix) {
			continue
		}
		labels[k] = v
	}
	ev.Labels = labels
	return ev, true
}
