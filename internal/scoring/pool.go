package scoring

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// InitError is the failure of the user's script to start: the import or init() raised, or
// the worker died before init() returned. berth-runtime exits 3 for it, so the supervisor
// marks the deployment Failed instead of restarting it in a loop that cannot succeed.
type InitError struct {
	Worker  int
	Failure scriptFailure
}

func (e *InitError) Error() string { return e.Failure.Summary }

// pool keeps Workers processes serving. Every slot (1..size) has one current process; one that
// dies is replaced by a new process that runs init() again. Idle workers are handed out to
// waiting requests oldest first.
type pool struct {
	env       workerEnv
	size      int
	lateGrace time.Duration
	log       *slog.Logger
	restarts  func() // counts a replacement in the metrics

	everReady atomic.Bool // every worker was ready once: requests may be taken
	fatal     chan error  // the first error that ends the host

	mu       sync.Mutex
	current  []*worker      // by slot, the process serving it (possibly still in init())
	idle     []*worker      // ready and free
	waiting  []chan *worker // requests waiting for a free worker, oldest first
	ready    int            // workers whose init() returned and that are alive
	stopping bool           // no more replacements
}

func newPool(env workerEnv, size int, lateGrace time.Duration, log *slog.Logger, restarts func()) *pool {
	return &pool{
		env: env, size: size, lateGrace: lateGrace, log: log, restarts: restarts,
		current: make([]*worker, size),
		fatal:   make(chan error, 1),
	}
}

// start starts every worker; their init() runs in parallel.
func (p *pool) start() {
	for i := 1; i <= p.size; i++ {
		go p.bringUp(i)
	}
}

// bringUp starts the process of slot index, waits for its init() and makes it available.
func (p *pool) bringUp(index int) {
	started := time.Now()
	w, err := startWorker(p.env, index)
	if err != nil {
		p.fail(err)
		return
	}
	p.mu.Lock()
	if p.stopping {
		p.mu.Unlock()
		w.stop(time.Second)
		return
	}
	p.current[index-1] = w
	p.mu.Unlock()
	go p.watch(w)

	outcome := w.awaitInit()
	if outcome.failure != nil {
		// Not a death to repair by replacement: the next process would fail the same way.
		w.retired.Store(true)
		w.kill("its init() failed")
		p.log.Error("init failed", "worker", index, "pid", w.pid,
			"error", outcome.failure.Summary, "traceback", outcome.failure.Traceback)
		p.fail(&InitError{Worker: index, Failure: *outcome.failure})
		return
	}

	w.initialised.Store(true)
	p.mu.Lock()
	p.ready++
	// everReady is set under the lock that isReady takes, so that once GET /ready answered
	// 200, POST /score takes requests.
	first := p.ready == p.size && !p.everReady.Load()
	if first {
		p.everReady.Store(true)
	}
	p.mu.Unlock()
	p.log.Info("worker ready", "worker", index, "pid", w.pid,
		"init_ms", time.Since(started).Milliseconds())
	if first {
		p.log.Info("ready", "workers", p.size)
	}
	p.put(w)
}

// watch retires w when its process ends and, unless the host is stopping, starts its
// replacement. A worker may die idle (out of memory, a thread calling os._exit) as well as
// while it serves; both end here.
func (p *pool) watch(w *worker) {
	<-w.exited
	if !w.retired.CompareAndSwap(false, true) {
		return
	}
	p.mu.Lock()
	p.idle = slices.DeleteFunc(p.idle, func(x *worker) bool { return x == w })
	if w.initialised.Load() {
		p.ready--
	}
	stopping := p.stopping
	p.mu.Unlock()
	if stopping {
		return
	}
	p.log.Warn("worker exited; starting a replacement", "worker", w.index, "pid", w.pid,
		"status", w.exitDescription())
	p.restarts()
	p.bringUp(w.index)
}

// fail ends the host with err, unless an earlier error already does.
func (p *pool) fail(err error) {
	select {
	case p.fatal <- err:
	default:
	}
}

// tryGet returns a free worker, or nil if none is free now.
func (p *pool) tryGet() *worker {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.popIdle()
}

func (p *pool) popIdle() *worker {
	for len(p.idle) > 0 {
		w := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if !w.retired.Load() && !w.hasExited() {
			return w
		}
	}
	return nil
}

// get waits for a free worker until ctx ends.
func (p *pool) get(ctx context.Context) (*worker, error) {
	p.mu.Lock()
	if w := p.popIdle(); w != nil {
		p.mu.Unlock()
		return w, nil
	}
	ch := make(chan *worker, 1)
	p.waiting = append(p.waiting, ch)
	p.mu.Unlock()

	select {
	case w := <-ch:
		return w, nil
	case <-ctx.Done():
	}
	p.mu.Lock()
	p.waiting = slices.DeleteFunc(p.waiting, func(c chan *worker) bool { return c == ch })
	p.mu.Unlock()
	// A worker handed over at the last moment goes to the next request.
	select {
	case w := <-ch:
		p.put(w)
	default:
	}
	return nil, ctx.Err()
}

// put gives a worker back after a request it answered.
func (p *pool) put(w *worker) {
	if w.retired.Load() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.waiting) > 0 {
		ch := p.waiting[0]
		p.waiting = p.waiting[1:]
		ch <- w
		return
	}
	// Last in, first out: the worker used last is the warmest in the CPU caches.
	p.idle = append(p.idle, w)
}

// awaitLate takes back a worker whose request timed out once its late answer arrived, so the
// cost of init() is not paid again for a slow request. A worker that is still busy after
// lateGrace is killed instead, so a run() that never returns cannot hold a slot forever.
func (p *pool) awaitLate(w *worker, requestID string) {
	go func() {
		started := time.Now()
		if w.awaitLate(p.lateGrace) {
			p.log.Info("late answer discarded; worker serving again", "request_id", requestID,
				"worker", w.index, "late_ms", time.Since(started).Milliseconds())
			p.put(w)
		}
	}()
}

// readyCount is how many workers are initialised and alive.
func (p *pool) readyCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ready
}

// isReady reports whether every worker is ready and the host is not stopping.
func (p *pool) isReady() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.stopping && p.ready == p.size
}

// stop stops replacing workers and stops every worker, each given grace to finish what it
// is doing after its request pipe is closed.
func (p *pool) stop(grace time.Duration) {
	p.mu.Lock()
	p.stopping = true
	workers := slices.DeleteFunc(slices.Clone(p.current), func(w *worker) bool { return w == nil })
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() { w.stop(grace) })
	}
	wg.Wait()
}

// markStopping makes /ready fail and replacements stop while requests still drain.
func (p *pool) markStopping() {
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
}

func (p *pool) String() string { return fmt.Sprintf("%d of %d workers ready", p.readyCount(), p.size) }
