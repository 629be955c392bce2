package main

import (
	"context"
	"errors"
	"io"
	"os"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"
)

// logs serves `kubectl logs`: the current instance's file (or the last one's while the
// container waits to restart), or the one before with previous; tail, limitBytes and follow
// are honoured.
func (p *podRuntime) logs(ctx context.Context, name string, opts api.ContainerLogOpts) (io.ReadCloser, error) {
	p.mu.Lock()
	var c *container
	for _, cc := range append(append([]*container{}, p.init...), p.containers...) {
		if cc.spec.Name == name {
			c = cc
		}
	}
	if c == nil {
		p.mu.Unlock()
		return nil, errdefs.NotFoundf("container %s is not in pod %s/%s", name, p.pod.Namespace, p.pod.Name)
	}
	run := c.runs - 1
	proc := c.proc
	p.mu.Unlock()

	if opts.Previous {
		run--
		proc = nil
	}
	if run < 0 {
		if opts.Previous {
			return nil, errdefs.InvalidInputf("previous terminated container %q in pod %q not found", name, p.pod.Name)
		}
		return nil, errdefs.InvalidInputf("container %q in pod %q is waiting to start", name, p.pod.Name)
	}
	if proc != nil && proc.run != run {
		proc = nil
	}
	// TODO(berth): timestamps, sinceSeconds and sinceTime are ignored: lines are stored as the
	// container wrote them, without the time each was written.
	f, err := os.Open(c.logPath(p.dir, run))
	if err != nil {
		return nil, err
	}
	// virtual-kubelet parses tailLines=0 and no tailLines alike, so --tail=0 shows everything.
	if opts.Tail > 0 {
		if err := seekTail(f, opts.Tail); err != nil {
			f.Close()
			return nil, err
		}
	}
	var r io.Reader = f
	if opts.Follow && proc != nil {
		r = &followReader{ctx: ctx, f: f, exited: proc.exited}
	}
	if opts.LimitBytes > 0 {
		r = io.LimitReader(r, int64(opts.LimitBytes))
	}
	return struct {
		io.Reader
		io.Closer
	}{r, f}, nil
}

// seekTail moves f to the start of its last n lines, reading backwards in chunks.
func seekTail(f *os.File, n int) error {
	info, err := f.Stat()
	if err != nil {
		return err
	}
	end := info.Size()
	const chunk = 32 * 1024
	buf := make([]byte, chunk)
	lines := 0
	pos := end
	for pos > 0 {
		size := int64(chunk)
		if pos < size {
			size = pos
		}
		pos -= size
		if _, err := f.ReadAt(buf[:size], pos); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		for i := size - 1; i >= 0; i-- {
			if buf[i] != '\n' || pos+i == end-1 {
				continue // a final newline ends the last line, it does not start one
			}
			lines++
			if lines == n {
				_, err := f.Seek(pos+i+1, io.SeekStart)
				return err
			}
		}
	}
	_, err = f.Seek(0, io.SeekStart)
	return err
}

// followReader reads a log file as it grows, until the instance writing it has exited and
// everything it wrote was read, or the client goes away.
type followReader struct {
	ctx    context.Context
	f      *os.File
	exited <-chan struct{}
}

func (r *followReader) Read(b []byte) (int, error) {
	for {
		n, err := r.f.Read(b)
		if n > 0 || !errors.Is(err, io.EOF) {
			return n, err
		}
		select {
		case <-r.exited:
			// One last read: the process may have written just before it exited.
			return r.f.Read(b)
		case <-r.ctx.Done():
			return 0, io.EOF
		case <-time.After(200 * time.Millisecond):
		}
	}
}
