package scoring

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestStuckWorkerIsReplaced runs the host in this process, where the late grace can be short:
// a run() that never returns is killed once its grace is over, and its replacement serves.
func TestStuckWorkerIsReplaced(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script := writeFile(t, dir, "score.py", testScript)
	var logs, out bytes.Buffer
	logw := lockedWriter{new(sync.Mutex), &logs}
	outw := lockedWriter{logw.mu, &out}
	opts := Options{
		Script: script, CodeDir: dir, Workers: 1, Python: testPython, Host: "127.0.0.1",
		RequestTimeout: 200 * time.Millisecond, MaxConcurrent: 1, MaxQueueWait: time.Second,
		MaxBodyBytes: 1 << 20, LateGrace: 300 * time.Millisecond, Stdout: outw, Stderr: outw,
	}
	host, err := Start(opts, slog.New(slog.NewTextHandler(logw, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- host.Wait(ctx) }()
	defer func() {
		if t.Failed() {
			logw.mu.Lock()
			t.Logf("log:\n%s", logs.String())
			logw.mu.Unlock()
		}
	}()
	h := &hostProc{t: t, base: "http://" + host.Addr().String()}
	h.waitReady()

	never := filepath.Join(dir, "never")
	if r := h.score(fmt.Sprintf(`{"op": "wait", "path": %q}`, never)); r.status != http.StatusGatewayTimeout {
		t.Fatalf("got %d %s, want 504", r.status, r.body)
	}
	waitFor(t, "the replacement to serve", func() bool {
		return h.score(op("dict")).status == http.StatusOK
	})
	if got := h.metric("berth_scoring_worker_restarts_total"); got != "1" {
		t.Errorf("worker restarts = %q, want 1", got)
	}
	logw.mu.Lock()
	text := logs.String()
	logw.mu.Unlock()
	if want := "killed by the host because run() was still busy 300ms after its request timed out"; !strings.Contains(text, want) {
		t.Errorf("log lacks %q:\n%s", want, text)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Wait after cancel: %v", err)
	}
}
