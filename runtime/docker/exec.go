package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/moby/moby/client"

	"github.com/berth-dev/berth/runtime"
)

// maxExecOutput caps what Exec keeps of each stream: it is for probes and
// one-shot commands, not for moving data.
const maxExecOutput = 1 << 20

// Exec runs a command in a running container and waits for it.
func (r *Runtime) Exec(ctx context.Context, id runtime.ContainerID, spec runtime.ExecSpec) (runtime.ExecResult, error) {
	if len(spec.Command) == 0 {
		return runtime.ExecResult{}, invalid("exec: command is empty")
	}
	created, err := r.cli.ExecCreate(ctx, string(id), client.ExecCreateOptions{
		Cmd:          spec.Command,
		Env:          envList(spec.Env),
		User:         spec.User,
		WorkingDir:   spec.WorkingDir,
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return runtime.ExecResult{}, wrap(err, "exec in "+string(id))
	}
	att, err := r.cli.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return runtime.ExecResult{}, wrap(err, "exec in "+string(id))
	}
	defer att.Close()
	// The hijacked connection ignores the context; close it when the
	// context ends so the read below returns.
	stop := context.AfterFunc(ctx, func() { att.Close() })
	defer stop()

	var res runtime.ExecResult
	var stdout, stderr cappedBuffer
	fr := newFrameReader(att.Reader)
	for {
		stream, payload, err := fr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if ctx.Err() != nil {
				return runtime.ExecResult{}, ctx.Err()
			}
			return runtime.ExecResult{}, err
		}
		switch stream {
		case streamStdout:
			stdout.write(payload)
		case streamStderr:
			stderr.write(payload)
		case streamSystemErr:
			return runtime.ExecResult{}, fmt.Errorf("docker: exec in %s: %s", id, bytes.TrimSpace(payload))
		}
	}
	res.Stdout, res.Stderr = stdout.Bytes(), stderr.Bytes()

	// The output ends when the process does, but the engine records the
	// exit code a moment later.
	for {
		ins, err := r.cli.ExecInspect(ctx, created.ID, client.ExecInspectOptions{})
		if err != nil {
			return runtime.ExecResult{}, wrap(err, "exec in "+string(id))
		}
		if !ins.Running {
			res.ExitCode = ins.ExitCode
			return res, nil
		}
		select {
		case <-ctx.Done():
			return runtime.ExecResult{}, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

type cappedBuffer struct{ bytes.Buffer }

func (b *cappedBuffer) write(p []byte) {
	if room := maxExecOutput - b.Len(); room > 0 {
		b.Write(p[:min(len(p), room)])
	}
}
