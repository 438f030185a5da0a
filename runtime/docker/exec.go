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
	res.ExitCode, err = r.execExitCode(ctx, id, created.ID)
	if err != nil {
		return runtime.ExecResult{}, err
	}
	return res, nil
}

// execExitCode waits for an exec whose output has ended: the engine
// records the exit code a moment after the process closes its streams.
func (r *Runtime) execExitCode(ctx context.Context, id runtime.ContainerID, execID string) (int, error) {
	for {
		ins, err := r.cli.ExecInspect(ctx, execID, client.ExecInspectOptions{})
		if err != nil {
			return 0, wrap(err, "exec in "+string(id))
		}
		if !ins.Running {
			return ins.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// ExecStream runs a command with its streams connected while it runs:
// kubectl exec with stdin, a TTY or more output than Exec keeps.
func (r *Runtime) ExecStream(ctx context.Context, id runtime.ContainerID, spec runtime.ExecSpec, s runtime.ExecIO) (int, error) {
	if len(spec.Command) == 0 {
		return 0, invalid("exec: command is empty")
	}
	created, err := r.cli.ExecCreate(ctx, string(id), client.ExecCreateOptions{
		Cmd:          spec.Command,
		Env:          envList(spec.Env),
		User:         spec.User,
		WorkingDir:   spec.WorkingDir,
		TTY:          s.TTY,
		AttachStdin:  s.Stdin != nil,
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return 0, wrap(err, "exec in "+string(id))
	}
	att, err := r.cli.ExecAttach(ctx, created.ID, client.ExecAttachOptions{TTY: s.TTY})
	if err != nil {
		return 0, wrap(err, "exec in "+string(id))
	}
	defer att.Close()
	stop := context.AfterFunc(ctx, func() { att.Close() })
	defer stop()
	done := make(chan struct{})
	defer close(done)

	if s.TTY && s.Resize != nil {
		go func() {
			for {
				select {
				case size := <-s.Resize:
					// Best effort, as docker exec -it does: a resize racing
					// the process's exit fails harmlessly.
					_, _ = r.cli.ExecResize(ctx, created.ID, client.ExecResizeOptions{Height: uint(size.Height), Width: uint(size.Width)})
				case <-done:
					return
				}
			}
		}()
	}
	if s.Stdin != nil {
		go func() {
			_, _ = io.Copy(att.Conn, s.Stdin)
			// Half-close: the command reads end of file (echo hi | kubectl
			// exec -i … cat) while its output still comes back.
			_ = att.CloseWrite()
		}()
	}

	if s.TTY {
		// A terminal's output is one raw stream, not multiplexed frames.
		_, err = io.Copy(orDiscard(s.Stdout), att.Reader)
	} else {
		err = demux(att.Reader, orDiscard(s.Stdout), orDiscard(s.Stderr), id)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, err
	}
	return r.execExitCode(ctx, id, created.ID)
}

// demux copies the engine's multiplexed stream to stdout and stderr until
// it ends.
func demux(r io.Reader, stdout, stderr io.Writer, id runtime.ContainerID) error {
	fr := newFrameReader(r)
	for {
		stream, payload, err := fr.next()
		if err != nil {
			return err
		}
		switch stream {
		case streamStdout:
			_, err = stdout.Write(payload)
		case streamStderr:
			_, err = stderr.Write(payload)
		case streamSystemErr:
			return fmt.Errorf("docker: exec in %s: %s", id, bytes.TrimSpace(payload))
		}
		if err != nil {
			return err
		}
	}
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

type cappedBuffer struct{ bytes.Buffer }

func (b *cappedBuffer) write(p []byte) {
	if room := maxExecOutput - b.Len(); room > 0 {
		b.Write(p[:min(len(p), room)])
	}
}
