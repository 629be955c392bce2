// Package scoring is the scoring host behind `berth-runtime score`: an HTTP server in front of
// Python worker processes that run a user's score.py, compatible with Azure ML's online
// endpoint contract (init() once, then run(raw_data) per request).
//
// The Go side owns everything that must be fast or robust: HTTP, queueing (package
// admission), timeouts, metrics, replacing dead workers. Python only imports the script and
// calls it (worker.py, embedded). They talk over two pipes with length-prefixed frames
// (protocol.go), not stdout, which the user's prints own.
package scoring

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"berth/internal/admission"
)

// Exit codes of `berth-runtime score`.
const (
	ExitOK          = 0
	ExitFailed      = 1 // the host itself failed: cannot listen, cannot start Python
	ExitUsage       = 2
	ExitInitFailed  = 3 // the user's script failed to import or init()
	terminationSize = 4096
	// logFlushAfter is how long a log line may wait to be written with others.
	logFlushAfter = 50 * time.Millisecond
)

// Main runs `berth-runtime score` with args (the flags after "score") until SIGTERM or SIGINT,
// and returns the process's exit code.
func Main(args []string) int {
	opts, err := ParseOptions(args, os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Print(Usage)
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "berth-runtime score: %v\n(berth-runtime score --help lists the flags)\n", err)
		return ExitUsage
	}
	limitGoProcs()
	// The host's log and the workers' standard error share one batching writer, so that their
	// lines keep their order; everything is flushed before the process exits.
	stderr := newBatchWriter(os.Stderr, logFlushAfter)
	defer stderr.Flush()
	opts.Stderr = stderr
	log := slog.New(slog.NewTextHandler(stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	h, err := Start(opts, log)
	if err != nil {
		log.Error("cannot start", "error", err)
		writeTerminationLog(opts.TerminationLog, err.Error(), log)
		return ExitFailed
	}
	err = h.Wait(ctx)
	var initErr *InitError
	switch {
	case err == nil:
		log.Info("stopped")
		return ExitOK
	case errors.As(err, &initErr):
		text := initErr.Failure.Summary
		if initErr.Failure.Traceback != "" {
			text += "\n\n" + initErr.Failure.Traceback
		}
		writeTerminationLog(opts.TerminationLog, text, log)
		return ExitInitFailed
	default:
		log.Error("failed", "error", err)
		writeTerminationLog(opts.TerminationLog, err.Error(), log)
		return ExitFailed
	}
}

// limitGoProcs gives the Go scheduler half the CPUs, unless GOMAXPROCS is set. The host's own
// work is handing bytes between sockets and pipes; the CPU-heavy work is in the Python
// workers, which need the cores. With a P per core, the scheduler wakes and spins threads at
// every hand-off, which on 2 cores cost a quarter of the host's CPU time per request (about
// 85 µs against 65 µs, test/bench/scoring) and took it from the workers. Setting it stops Go
// from following later changes of a container's CPU limit, which an in-place pod resize is the
// only way to get; such a host keeps its first setting.
func limitGoProcs() {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	runtime.GOMAXPROCS(max(1, runtime.GOMAXPROCS(0)/2))
}

// writeTerminationLog writes why the host failed where Kubernetes shows it as the container's
// termination message (kubectl describe pod), cut to the 4096 bytes Kubernetes keeps.
func writeTerminationLog(path, text string, log *slog.Logger) {
	if path == "" {
		return
	}
	if len(text) > terminationSize {
		text = text[:terminationSize]
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		log.Warn("cannot write the termination log", "path", path, "error", err)
	}
}

// Host is a running scoring host.
type Host struct {
	opts     Options
	log      *slog.Logger
	listener net.Listener
	http     *http.Server
	pool     *pool
	served   chan error
}

// Start listens and starts the workers. It returns at once: init() goes on in the workers while
// GET / already answers, so a liveness probe does not kill a host that loads a large model.
func Start(opts Options, log *slog.Logger) (*Host, error) {
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	addr := net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}

	h := &Host{opts: opts, log: log, listener: ln, served: make(chan error, 1)}
	limiter := admission.New(opts.MaxConcurrent, opts.MaxQueueWait)
	var m *metrics
	h.pool = newPool(workerEnv{
		python: opts.Python, script: opts.Script, codeDir: opts.CodeDir, modelDir: opts.ModelDir,
		stdout: opts.Stdout, stderr: opts.Stderr, prefixOutput: opts.Workers > 1,
	}, opts.Workers, opts.lateGrace(), log, func() { m.restarts.Inc() })
	m = newMetrics(limiter.Queued, limiter.InFlight, h.pool.readyCount)
	srv := &server{opts: opts, pool: h.pool, limiter: limiter, metrics: m, log: log, scrape: m.handler()}
	h.http = &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	log.Info("listening", "address", ln.Addr().String(), "script", opts.Script, "workers", opts.Workers,
		"max_concurrent_requests", opts.MaxConcurrent, "request_timeout_ms", opts.RequestTimeout.Milliseconds(),
		"max_queue_wait_ms", opts.MaxQueueWait.Milliseconds())
	if opts.MaxConcurrent < opts.Workers {
		log.Warn("fewer concurrent requests than workers: some workers will stay idle; "+
			"set --max-concurrent-requests to --workers or more",
			"workers", opts.Workers, "max_concurrent_requests", opts.MaxConcurrent)
	}
	go func() { h.served <- h.http.Serve(ln) }()
	h.pool.start()
	return h, nil
}

// Addr is the address the host listens on; with --port 0 it holds the port picked.
func (h *Host) Addr() net.Addr { return h.listener.Addr() }

// Wait serves until ctx ends, then stops cleanly and returns nil; or until the host cannot go
// on (an *InitError when the script failed to start), then stops and returns that error.
// Stopping refuses new connections, lets requests in flight finish within the stop grace,
// then stops the workers.
func (h *Host) Wait(ctx context.Context) error {
	var cause error
	select {
	case <-ctx.Done():
		h.log.Info("stopping: finishing requests in flight")
	case cause = <-h.pool.fatal:
	case cause = <-h.served:
		cause = fmt.Errorf("serving HTTP: %w", cause)
	}
	h.pool.markStopping()

	grace := h.opts.stopGrace()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := h.http.Shutdown(shutdownCtx); err != nil {
		h.log.Warn("requests still in flight after the stop grace; closing their connections",
			"grace_ms", grace.Milliseconds())
		h.http.Close()
	}
	h.pool.stop(5 * time.Second)
	return cause
}
