package router

import (
	"bufio"
	"io"
	"log/slog"
	"sync"
	"time"
)

// AccessLog is the router's log of scoring requests, one line each. Lines are buffered and
// written every flushInterval: a write per request would cost a system call per request, as
// much as the proxying itself on a small machine.
type AccessLog struct {
	*slog.Logger
	mu   sync.Mutex
	bw   *bufio.Writer
	done chan struct{}
	once sync.Once
}

const flushInterval = 200 * time.Millisecond

// NewAccessLog writes access log lines to w; Close flushes what is buffered.
func NewAccessLog(w io.Writer) *AccessLog {
	a := &AccessLog{bw: bufio.NewWriterSize(w, 64<<10), done: make(chan struct{})}
	a.Logger = slog.New(slog.NewTextHandler(lockedWriter{a}, nil))
	go a.flushEvery(flushInterval)
	return a
}

type lockedWriter struct{ a *AccessLog }

func (l lockedWriter) Write(p []byte) (int, error) {
	l.a.mu.Lock()
	defer l.a.mu.Unlock()
	return l.a.bw.Write(p)
}

func (a *AccessLog) flush() {
	a.mu.Lock()
	a.bw.Flush()
	a.mu.Unlock()
}

func (a *AccessLog) flushEvery(d time.Duration) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			a.flush()
		case <-a.done:
			a.flush()
			return
		}
	}
}

// Close flushes the log and stops its flusher.
func (a *AccessLog) Close() {
	a.once.Do(func() { close(a.done) })
	a.flush()
}
