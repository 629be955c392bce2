package admission

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock hands out queue-wait timers that fire only when the test says so.
type fakeClock struct {
	mu     sync.Mutex
	timers []chan time.Time
	// onStart, when set, runs inside the waiting Acquire just after it queued, so a test can
	// make a slot arrive at the very moment the timer fires.
	onStart func()
}

func (c *fakeClock) after(time.Duration) (<-chan time.Time, func() bool) {
	ch := make(chan time.Time, 1)
	c.mu.Lock()
	c.timers = append(c.timers, ch)
	start := c.onStart
	c.mu.Unlock()
	if start != nil {
		start()
	}
	return ch, func() bool { return true }
}

// fire expires the i-th timer handed out.
func (c *fakeClock) fire(t *testing.T, i int) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if i >= len(c.timers) {
		t.Fatalf("timer %d was never started; %d were", i, len(c.timers))
	}
	c.timers[i] <- time.Time{}
}

func newFake(maxConcurrent int) (*Limiter, *fakeClock) {
	l := New(maxConcurrent, time.Minute)
	c := &fakeClock{}
	l.after = c.after
	return l, c
}

// waitQueued polls until n callers wait. It only ever waits longer on a slow machine, never
// fails early, so it cannot flake.
func waitQueued(t *testing.T, l *Limiter, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for l.Queued() != n {
		if time.Now().After(deadline) {
			t.Fatalf("queued = %d, want %d", l.Queued(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func acquireAsync(l *Limiter, ctx context.Context) <-chan result {
	ch := make(chan result, 1)
	go func() {
		release, err := l.Acquire(ctx)
		ch <- result{release, err}
	}()
	return ch
}

type result struct {
	release func()
	err     error
}

func TestAdmitsUpToMaxConcurrentWithoutWaiting(t *testing.T) {
	l, _ := newFake(3)
	var releases []func()
	for i := range 3 {
		release, err := l.Acquire(context.Background())
		if err != nil {
			t.Fatalf("acquire %d: %v", i, err)
		}
		releases = append(releases, release)
	}
	if got := l.InFlight(); got != 3 {
		t.Fatalf("in flight = %d, want 3", got)
	}
	for _, r := range releases {
		r()
	}
	if got := l.InFlight(); got != 0 {
		t.Fatalf("in flight after releases = %d, want 0", got)
	}
}

func TestWaitersAreServedInArrivalOrder(t *testing.T) {
	l, _ := newFake(1)
	hold, err := l.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	results := make([]<-chan result, n)
	for i := range n {
		results[i] = acquireAsync(l, context.Background())
		waitQueued(t, l, i+1)
	}
	// A newcomer arriving while others wait must queue behind them, not take the freed slot.
	hold()
	for i := range n {
		r := <-results[i]
		if r.err != nil {
			t.Fatalf("waiter %d: %v", i, r.err)
		}
		for j := i + 1; j < n; j++ {
			select {
			case <-results[j]:
				t.Fatalf("waiter %d got a slot before waiter %d released it", j, i)
			default:
			}
		}
		if got := l.InFlight(); got != 1 {
			t.Fatalf("in flight = %d, want 1", got)
		}
		r.release()
	}
	if l.InFlight() != 0 || l.Queued() != 0 {
		t.Fatalf("in flight %d, queued %d after all released; want 0, 0", l.InFlight(), l.Queued())
	}
}

func TestNewcomerQueuesBehindWaiters(t *testing.T) {
	l, _ := newFake(1)
	hold, _ := l.Acquire(context.Background())
	first := acquireAsync(l, context.Background())
	waitQueued(t, l, 1)
	hold()
	r := <-first
	if r.err != nil {
		t.Fatal(r.err)
	}
	// The slot went to the waiter, so a new caller must queue rather than pass.
	second := acquireAsync(l, context.Background())
	waitQueued(t, l, 1)
	r.release()
	if r2 := <-second; r2.err != nil {
		t.Fatal(r2.err)
	} else {
		r2.release()
	}
}

func TestQueueWaitTimesOut(t *testing.T) {
	l, clock := newFake(1)
	hold, _ := l.Acquire(context.Background())
	waiting := acquireAsync(l, context.Background())
	waitQueued(t, l, 1)
	clock.fire(t, 0)
	r := <-waiting
	if !errors.Is(r.err, ErrQueueTimeout) {
		t.Fatalf("err = %v, want ErrQueueTimeout", r.err)
	}
	if l.Queued() != 0 || l.InFlight() != 1 {
		t.Fatalf("queued %d, in flight %d; want 0, 1", l.Queued(), l.InFlight())
	}
	hold()
	if l.InFlight() != 0 {
		t.Fatalf("in flight = %d after release, want 0", l.InFlight())
	}
}

func TestTimedOutWaiterDoesNotBlockTheNext(t *testing.T) {
	l, clock := newFake(1)
	hold, _ := l.Acquire(context.Background())
	first := acquireAsync(l, context.Background())
	waitQueued(t, l, 1)
	second := acquireAsync(l, context.Background())
	waitQueued(t, l, 2)
	clock.fire(t, 0)
	if r := <-first; !errors.Is(r.err, ErrQueueTimeout) {
		t.Fatalf("first: err = %v, want ErrQueueTimeout", r.err)
	}
	hold()
	r := <-second
	if r.err != nil {
		t.Fatalf("second: %v", r.err)
	}
	r.release()
}

func TestZeroQueueWaitRejectsAtOnce(t *testing.T) {
	l := New(1, 0)
	hold, _ := l.Acquire(context.Background())
	defer hold()
	if _, err := l.Acquire(context.Background()); !errors.Is(err, ErrQueueTimeout) {
		t.Fatalf("err = %v, want ErrQueueTimeout", err)
	}
	if l.Queued() != 0 {
		t.Fatalf("queued = %d, want 0", l.Queued())
	}
}

func TestRealQueueWaitTimesOut(t *testing.T) {
	// One real timer, to prove the default clock is wired; only a lower bound is checked.
	l := New(1, 20*time.Millisecond)
	hold, _ := l.Acquire(context.Background())
	defer hold()
	start := time.Now()
	_, err := l.Acquire(context.Background())
	if !errors.Is(err, ErrQueueTimeout) {
		t.Fatalf("err = %v, want ErrQueueTimeout", err)
	}
	if waited := time.Since(start); waited < 20*time.Millisecond {
		t.Fatalf("gave up after %s, before the 20ms queue wait", waited)
	}
}

func TestCancelledWaiterLeavesTheQueue(t *testing.T) {
	l, _ := newFake(1)
	hold, _ := l.Acquire(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	waiting := acquireAsync(l, ctx)
	waitQueued(t, l, 1)
	cancel()
	if r := <-waiting; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", r.err)
	}
	if l.Queued() != 0 {
		t.Fatalf("queued = %d, want 0", l.Queued())
	}
	hold()
	if l.InFlight() != 0 {
		t.Fatalf("in flight = %d, want 0", l.InFlight())
	}
}

func TestAcquireWithEndedContextFails(t *testing.T) {
	l, _ := newFake(1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Acquire(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if l.InFlight() != 0 {
		t.Fatalf("in flight = %d, want 0", l.InFlight())
	}
}

func TestReleaseTwiceFreesOneSlot(t *testing.T) {
	l, _ := newFake(2)
	a, _ := l.Acquire(context.Background())
	b, _ := l.Acquire(context.Background())
	a()
	a()
	if got := l.InFlight(); got != 1 {
		t.Fatalf("in flight = %d after releasing one slot twice, want 1", got)
	}
	b()
	if got := l.InFlight(); got != 0 {
		t.Fatalf("in flight = %d, want 0", got)
	}
}

// TestSlotArrivingWithTimeoutOrCancelIsNotLost makes the slot arrive while the waiter's timer
// has fired or its context ended, so its select sees both; whichever it picks, the slot must be
// used or passed on, never lost.
func TestSlotArrivingWithTimeoutOrCancelIsNotLost(t *testing.T) {
	for _, cancelled := range []bool{false, true} {
		for range 50 {
			l, clock := newFake(1)
			hold, _ := l.Acquire(context.Background())
			ctx, cancel := context.WithCancel(context.Background())
			clock.onStart = func() {
				hold()
				if cancelled {
					cancel()
				} else {
					clock.timers[0] <- time.Time{}
				}
			}
			release, err := l.Acquire(ctx)
			switch {
			case err == nil:
				if l.InFlight() != 1 {
					t.Fatalf("in flight = %d while holding the slot, want 1", l.InFlight())
				}
				release()
			case cancelled && errors.Is(err, context.Canceled):
			default:
				t.Fatalf("cancelled=%v: err = %v", cancelled, err)
			}
			if l.InFlight() != 0 || l.Queued() != 0 {
				t.Fatalf("cancelled=%v: in flight %d, queued %d; want 0, 0", cancelled, l.InFlight(), l.Queued())
			}
			cancel()
		}
	}
}

// TestNoLeakedSlotsUnderLoad mixes holders, timeouts and cancellations on real short waits
// and checks the invariants only: never more than maxConcurrent inside, nothing left at the
// end. It asserts no timing, so a slow machine cannot make it fail.
func TestNoLeakedSlotsUnderLoad(t *testing.T) {
	const maxConcurrent = 3
	l := New(maxConcurrent, 2*time.Millisecond)
	var inside, peak atomic.Int32
	var wg sync.WaitGroup
	for i := range 400 {
		wg.Go(func() {
			ctx := context.Background()
			if i%5 == 0 {
				c, cancel := context.WithTimeout(ctx, time.Millisecond)
				defer cancel()
				ctx = c
			}
			release, err := l.Acquire(ctx)
			if err != nil {
				return
			}
			n := inside.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(time.Duration(i%3) * time.Millisecond)
			inside.Add(-1)
			release()
			if i%7 == 0 {
				release()
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > maxConcurrent {
		t.Fatalf("%d holders at once, limit %d", p, maxConcurrent)
	}
	if l.InFlight() != 0 || l.Queued() != 0 {
		t.Fatalf("in flight %d, queued %d after everyone left; want 0, 0", l.InFlight(), l.Queued())
	}
}

func TestNewRejectsNonsense(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		wait time.Duration
	}{{"zero concurrency", 0, time.Second}, {"negative wait", 1, -time.Second}} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("New did not panic")
				}
			}()
			New(tc.n, tc.wait)
		})
	}
}

func TestAcquireWithinWaitsAtMostWhatIsLeft(t *testing.T) {
	l := New(1, time.Minute)
	var asked []time.Duration
	l.after = func(d time.Duration) (<-chan time.Time, func() bool) {
		asked = append(asked, d)
		ch := make(chan time.Time, 1)
		ch <- time.Time{}
		return ch, func() bool { return true }
	}
	hold, _ := l.Acquire(context.Background())
	defer hold()
	for _, want := range []struct{ ask, wait time.Duration }{{time.Second, time.Second}, {time.Hour, time.Minute}} {
		if _, err := l.AcquireWithin(context.Background(), want.ask); !errors.Is(err, ErrQueueTimeout) {
			t.Fatalf("err = %v", err)
		}
		if got := asked[len(asked)-1]; got != want.wait {
			t.Errorf("AcquireWithin(%s) waited %s, want %s", want.ask, got, want.wait)
		}
	}
	if _, err := l.AcquireWithin(context.Background(), -time.Second); !errors.Is(err, ErrQueueTimeout) || len(asked) != 2 {
		t.Errorf("nothing left to wait must refuse at once: %v, %d timers", err, len(asked))
	}
}
