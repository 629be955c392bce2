// Package admission bounds how many requests are processed at once and how long the others
// may wait for their turn. The scoring host uses it per instance and the router per
// deployment, so both apply Azure ML's max_concurrent_requests_per_instance and
// max_queue_wait_ms the same way.
package admission

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrQueueTimeout is returned by Acquire when a request waited maxQueueWait without getting a
// slot. Callers answer it with 429 Too Many Requests.
var ErrQueueTimeout = errors.New("waited too long in the queue for a free slot")

// Limiter lets at most maxConcurrent holders in at once and queues the others in arrival
// order. A slot freed while others wait passes straight to the oldest waiter, so a newcomer
// can never overtake the queue.
type Limiter struct {
	maxConcurrent int
	maxQueueWait  time.Duration
	// after starts the queue-wait timer; tests replace it with a fake clock so that timeouts
	// need no real sleeping.
	after func(time.Duration) (<-chan time.Time, func() bool)

	mu       sync.Mutex
	inFlight int
	waiters  list.List // of *waiter, oldest first
}

// waiter is one queued Acquire. granted is set, under the limiter's lock, when a released
// slot was handed to it; ready is closed at the same moment.
type waiter struct {
	ready   chan struct{}
	granted bool
}

// New returns a Limiter admitting maxConcurrent requests at once; the others wait up to
// maxQueueWait (zero: not at all) in FIFO order. maxConcurrent below 1 or a negative wait is
// a programming error: flags are validated before this point.
func New(maxConcurrent int, maxQueueWait time.Duration) *Limiter {
	if maxConcurrent < 1 {
		panic(fmt.Sprintf("admission.New: maxConcurrent must be at least 1, not %d", maxConcurrent))
	}
	if maxQueueWait < 0 {
		panic(fmt.Sprintf("admission.New: maxQueueWait must not be negative, not %s", maxQueueWait))
	}
	return &Limiter{maxConcurrent: maxConcurrent, maxQueueWait: maxQueueWait, after: realAfter}
}

func realAfter(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// Acquire waits for a slot, oldest caller first. It returns ErrQueueTimeout when the wait
// exceeded maxQueueWait and ctx.Err() when ctx ended first; otherwise the caller holds a slot
// until it calls release, which is safe to call more than once.
func (l *Limiter) Acquire(ctx context.Context) (release func(), err error) {
	return l.AcquireWithin(ctx, l.maxQueueWait)
}

// AcquireWithin is Acquire with a shorter wait for this caller: a request that already
// waited elsewhere (in the router) gets what is left of its max_queue_wait_ms, not all of it
// again. A wait longer than maxQueueWait is cut to it.
func (l *Limiter) AcquireWithin(ctx context.Context, wait time.Duration) (release func(), err error) {
	wait = max(min(wait, l.maxQueueWait), 0)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	if l.inFlight < l.maxConcurrent && l.waiters.Len() == 0 {
		l.inFlight++
		l.mu.Unlock()
		return l.releaseFunc(), nil
	}
	if wait == 0 {
		l.mu.Unlock()
		return nil, ErrQueueTimeout
	}
	w := &waiter{ready: make(chan struct{})}
	elem := l.waiters.PushBack(w)
	l.mu.Unlock()

	timeout, stop := l.after(wait)
	defer stop()
	select {
	case <-w.ready:
		return l.releaseFunc(), nil
	case <-timeout:
		err = ErrQueueTimeout
	case <-ctx.Done():
		err = ctx.Err()
	}

	l.mu.Lock()
	if !w.granted {
		l.waiters.Remove(elem)
		l.mu.Unlock()
		return nil, err
	}
	l.mu.Unlock()
	// The slot arrived at the same moment as the timeout or cancellation. A request that
	// timed out may as well use it; a cancelled one gives it to the next waiter.
	if errors.Is(err, ErrQueueTimeout) {
		return l.releaseFunc(), nil
	}
	l.releaseSlot()
	return nil, err
}

// releaseFunc returns a release that frees the slot once however often it is called, so a
// deferred release and an early one cannot free two slots.
func (l *Limiter) releaseFunc() func() {
	var once sync.Once
	return func() { once.Do(l.releaseSlot) }
}

// releaseSlot hands the slot to the oldest waiter, or frees it when nobody waits.
func (l *Limiter) releaseSlot() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if front := l.waiters.Front(); front != nil {
		w := l.waiters.Remove(front).(*waiter)
		w.granted = true
		close(w.ready)
		return
	}
	l.inFlight--
}

// InFlight is how many slots are held now.
func (l *Limiter) InFlight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inFlight
}

// Queued is how many callers wait for a slot now.
func (l *Limiter) Queued() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waiters.Len()
}
