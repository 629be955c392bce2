package scoring

import (
	"io"
	"sync"
	"time"
)

// batchWriter gathers log lines and writes them in batches. The access log has a line per
// request; written one by one they cost a system call each, which on a busy host is a
// noticeable share of what serving a small request costs. A line waits at most flushAfter,
// and Flush writes everything at once (on exit).
type batchWriter struct {
	dst        io.Writer
	flushAfter time.Duration

	mu      sync.Mutex
	buf     []byte
	pending bool // a flush is scheduled
}

// maxBatch is the size at which a batch is written at once rather than after flushAfter.
const maxBatch = 64 << 10

func newBatchWriter(dst io.Writer, flushAfter time.Duration) *batchWriter {
	return &batchWriter{dst: dst, flushAfter: flushAfter}
}

func (w *batchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if len(w.buf) >= maxBatch {
		w.flushLocked()
		return len(p), nil
	}
	if !w.pending {
		// A timer only while lines wait: an idle host wakes up for nothing.
		w.pending = true
		time.AfterFunc(w.flushAfter, w.Flush)
	}
	return len(p), nil
}

// Flush writes what is buffered.
func (w *batchWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked()
}

func (w *batchWriter) flushLocked() {
	w.pending = false
	if len(w.buf) == 0 {
		return
	}
	w.dst.Write(w.buf)
	if cap(w.buf) > 4*maxBatch {
		w.buf = nil
		return
	}
	w.buf = w.buf[:0]
}
