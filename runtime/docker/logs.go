package docker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/moby/moby/client"

	"github.com/berth-dev/berth/runtime"
)

// Logs reads a container's output through the engine, with the engine's
// timestamps. Containers are created without a TTY, so the engine sends
// stdout and stderr multiplexed in frames, which the reader takes apart.
func (r *Runtime) Logs(ctx context.Context, id runtime.ContainerID, opts runtime.LogOptions) (runtime.LogReader, error) {
	o := client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Timestamps: true, Follow: opts.Follow}
	if !opts.Since.IsZero() {
		o.Since = opts.Since.UTC().Format(time.RFC3339Nano)
	}
	if opts.Tail > 0 {
		o.Tail = strconv.Itoa(opts.Tail)
	}
	rc, err := r.cli.ContainerLogs(ctx, string(id), o)
	if err != nil {
		return nil, wrap(err, "logs of "+string(id))
	}
	return &logReader{ctx: ctx, rc: rc, fr: newFrameReader(rc)}, nil
}

type logReader struct {
	ctx     context.Context
	rc      io.ReadCloser
	fr      *frameReader
	pending []runtime.LogEntry
}

func (l *logReader) Next() (runtime.LogEntry, error) {
	for len(l.pending) == 0 {
		stream, payload, err := l.fr.next()
		if err != nil {
			if l.ctx.Err() != nil {
				// The client closes the body when the context ends; say
				// why rather than "use of closed connection".
				return runtime.LogEntry{}, l.ctx.Err()
			}
			return runtime.LogEntry{}, err
		}
		switch stream {
		case streamStdout:
			l.pending = parseLogLines(runtime.Stdout, payload)
		case streamStderr:
			l.pending = parseLogLines(runtime.Stderr, payload)
		case streamSystemErr:
			return runtime.LogEntry{}, fmt.Errorf("docker: logs: %s", bytes.TrimSpace(payload))
		}
	}
	e := l.pending[0]
	l.pending = l.pending[1:]
	return e, nil
}

func (l *logReader) Close() error { return l.rc.Close() }

// parseLogLines splits one frame into lines of "<RFC3339Nano time> <text>".
// The engine writes one message per frame; a message it split because it
// was too long comes without its newline, and is marked Partial.
func parseLogLines(stream runtime.LogStream, payload []byte) []runtime.LogEntry {
	var out []runtime.LogEntry
	for len(payload) > 0 {
		line, rest, complete := bytes.Cut(payload, []byte{'\n'})
		payload = rest
		e := runtime.LogEntry{Stream: stream, Partial: !complete}
		if ts, text, ok := bytes.Cut(line, []byte{' '}); ok {
			if t, err := time.Parse(time.RFC3339Nano, string(ts)); err == nil {
				e.Time, line = t, text
			}
		}
		e.Line = string(line)
		out = append(out, e)
	}
	return out
}

// Stream numbers of the engine's multiplexed stream format.
const (
	streamStdin     = 0
	streamStdout    = 1
	streamStderr    = 2
	streamSystemErr = 3
)

// maxFrame bounds one frame's payload. Engines split output into messages
// of 16 KiB, so anything near this is a corrupt stream, not output.
const maxFrame = 8 << 20

// frameReader reads the engine's multiplexed stream: frames of an 8-byte
// header (stream, 3 zero bytes, big-endian payload size) and the payload.
type frameReader struct {
	br  *bufio.Reader
	hdr [8]byte
	buf []byte
}

func newFrameReader(r io.Reader) *frameReader {
	return &frameReader{br: bufio.NewReaderSize(r, 32<<10)}
}

// next returns the next frame; the payload is valid until the next call.
func (f *frameReader) next() (byte, []byte, error) {
	if _, err := io.ReadFull(f.br, f.hdr[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			return 0, nil, fmt.Errorf("docker: truncated stream frame header")
		}
		return 0, nil, err
	}
	stream := f.hdr[0]
	size := binary.BigEndian.Uint32(f.hdr[4:])
	if stream > streamSystemErr {
		return 0, nil, fmt.Errorf("docker: unknown stream %d in multiplexed output", stream)
	}
	if size > maxFrame {
		return 0, nil, fmt.Errorf("docker: stream frame of %d bytes is too large", size)
	}
	if cap(f.buf) < int(size) {
		f.buf = make([]byte, size)
	}
	f.buf = f.buf[:size]
	if _, err := io.ReadFull(f.br, f.buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, fmt.Errorf("docker: truncated stream frame: %w", err)
	}
	return stream, f.buf, nil
}
