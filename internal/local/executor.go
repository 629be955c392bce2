// Package local is the built-in `local` compute: it runs jobs as host processes, each under
// `berth-runtime run` in its own session and folder, a configurable number at a time, the rest
// waiting first in first out. Everything a running job needs to be found again lives in its
// folder, so a server that was killed and restarted reattaches to the jobs that kept running.
package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"time"

	v1 "berth/api/v1"
	"berth/internal/artifacts"
	"berth/internal/jobrun"
	"berth/internal/store"
)

// ComputeName is the name of the built-in compute.
const ComputeName = "local"

// Config says how the local compute runs jobs.
type Config struct {
	// Dir holds one folder per job that has started.
	Dir string
	// BinDir holds the python and python3 links put first on every job's PATH.
	BinDir string
	// Runtime is the path of the berth-runtime binary.
	Runtime string
	// Python is the interpreter jobs get as python and python3.
	Python string
	// MaxConcurrent is how many jobs run at once; 0 means the number of CPUs.
	MaxConcurrent int
	// Grace is how long a canceled or timed-out job gets between SIGTERM and SIGKILL.
	Grace time.Duration
	// PollInterval is how often a job reattached after a restart is checked.
	PollInterval time.Duration
	// HTTPClient fetches http(s) inputs.
	HTTPClient *http.Client
	// Now is the clock.
	Now func() time.Time
}

// Executor runs the jobs of the local compute.
type Executor struct {
	cfg       Config
	store     store.Store
	artifacts artifacts.Store
	log       *slog.Logger

	mu      sync.Mutex
	queue   []string
	running map[string]*activeJob
	wake    chan struct{}

	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup
}

// activeJob is a job holding one of the executor's slots.
type activeJob struct {
	cancel chan struct{} // closed when the user asks to cancel
	once   sync.Once
}

func (a *activeJob) requestCancel() { a.once.Do(func() { close(a.cancel) }) }

// New returns an executor; Start begins running jobs.
func New(cfg Config, st store.Store, arts artifacts.Store, log *slog.Logger) (*Executor, error) {
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = runtime.NumCPU()
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 10 * time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 100 * time.Millisecond
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Minute}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if _, err := os.Stat(cfg.Runtime); err != nil {
		return nil, fmt.Errorf("berth-runtime not found at %s (build it next to berth, or set --runtime): %w", cfg.Runtime, err)
	}
	if err := linkPython(cfg.BinDir, cfg.Python); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	return &Executor{cfg: cfg, store: st, artifacts: arts, log: log,
		running: map[string]*activeJob{}, wake: make(chan struct{}, 1)}, nil
}

// DefaultPython is the interpreter jobs get when none is configured: Debian's, which sees
// the packages apt installs (python3-sklearn, python3-torch), else python3 on PATH.
func DefaultPython() string {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	if p, err := exec.LookPath("python3"); err == nil {
		return p
	}
	return "python3"
}

func linkPython(binDir, python string) error {
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return err
	}
	target := python
	if !filepath.IsAbs(target) {
		p, err := exec.LookPath(python)
		if err != nil {
			return fmt.Errorf("local compute python %q not found on PATH; install it or pass --local-python: %w", python, err)
		}
		target = p
	}
	for _, name := range []string{"python", "python3"} {
		link := filepath.Join(binDir, name)
		tmp := link + ".new"
		os.Remove(tmp)
		if err := os.Symlink(target, tmp); err != nil {
			return err
		}
		if err := os.Rename(tmp, link); err != nil {
			return err
		}
	}
	return nil
}

// Properties describes the compute for `compute show local`.
func (e *Executor) Properties() map[string]string {
	return map[string]string{
		"max_concurrent_jobs": fmt.Sprint(e.cfg.MaxConcurrent),
		"python":              e.cfg.Python,
		"runtime":             e.cfg.Runtime,
	}
}

// Start reconciles the jobs left unfinished by a previous server and begins running jobs.
func (e *Executor) Start(ctx context.Context) error {
	e.ctx, e.stop = context.WithCancel(context.WithoutCancel(ctx))
	if err := e.recover(e.ctx); err != nil {
		return fmt.Errorf("recovering unfinished jobs: %w", err)
	}
	e.wg.Add(1)
	go e.schedule()
	return nil
}

// Shutdown stops starting jobs and waits for the executor's goroutines. Jobs that run keep
// running in their own sessions; the next Start reattaches to them.
func (e *Executor) Shutdown() {
	if e.stop == nil {
		return
	}
	e.stop()
	e.wg.Wait()
}

// Enqueue adds a Queued job to the end of the queue.
func (e *Executor) Enqueue(name string) {
	e.mu.Lock()
	e.queue = append(e.queue, name)
	e.mu.Unlock()
	e.poke()
}

func (e *Executor) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// schedule starts queued jobs, oldest first, whenever a slot is free.
func (e *Executor) schedule() {
	defer e.wg.Done()
	for {
		e.mu.Lock()
		for len(e.queue) > 0 && len(e.running) < e.cfg.MaxConcurrent {
			name := e.queue[0]
			e.queue = e.queue[1:]
			a := &activeJob{cancel: make(chan struct{})}
			e.running[name] = a
			e.wg.Add(1)
			go func() {
				defer e.wg.Done()
				ended := e.execute(e.ctx, name, a)
				e.release(name)
				if ended {
					e.finalize(e.ctx, name, runtimeDied)
				}
			}()
		}
		e.mu.Unlock()
		select {
		case <-e.ctx.Done():
			return
		case <-e.wake:
		}
	}
}

func (e *Executor) release(name string) {
	e.mu.Lock()
	delete(e.running, name)
	e.mu.Unlock()
	e.poke()
}

// Cancel cancels a job: a waiting job ends Canceled at once, a running one goes
// CancelRequested and its processes get SIGTERM, then SIGKILL after the grace period.
func (e *Executor) Cancel(ctx context.Context, name string) (*v1.Job, error) {
	job, err := e.store.UpdateJob(ctx, name, func(j *v1.Job) error {
		switch {
		case j.Status.Terminal() || j.Status == v1.JobFinalizing:
			return &StateError{Job: name, Status: j.Status}
		case j.Status == v1.JobNotStarted || j.Status == v1.JobQueued:
			e.endJob(j, v1.JobCanceled, &v1.JobError{Code: v1.ErrCodeCanceled, Message: "the job was canceled before it started"})
		default:
			j.Status = v1.JobCancelRequested
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.queue = slices.DeleteFunc(e.queue, func(n string) bool { return n == name })
	a := e.running[name]
	e.mu.Unlock()
	if a != nil {
		a.requestCancel()
	}
	return job, nil
}

// StateError is returned when a job's state does not allow what was asked.
type StateError struct {
	Job    string
	Status v1.JobStatus
}

func (e *StateError) Error() string {
	if e.Status == v1.JobFinalizing {
		return fmt.Sprintf("job %s is Finalizing: its command has ended and its outputs are being kept, so it can no longer be canceled", e.Job)
	}
	return fmt.Sprintf("job %s is already %s; only a job that has not finished can be canceled", e.Job, e.Status)
}

func (e *Executor) endJob(j *v1.Job, status v1.JobStatus, jerr *v1.JobError) {
	now := e.cfg.Now().UTC()
	j.Status = status
	j.EndTime = &now
	j.Error = jerr
}

// JobDir is the folder of a job that has started.
func (e *Executor) JobDir(name string) string { return filepath.Join(e.cfg.Dir, name) }

// LogPath is where a running job's log is written. After the job ends the log moves to the
// artifact store under LogKey.
func (e *Executor) LogPath(name string) string {
	return filepath.Join(e.JobDir(name), jobrun.LogFile)
}

// LogKey is the artifact key of a finished job's log.
func LogKey(name string) string { return "jobs/" + name + "/logs/" + jobrun.LogFile }

// OutputPrefix is the artifact prefix of a job's output; "default" is the ./outputs folder.
func OutputPrefix(job, output string) string { return "jobs/" + job + "/outputs/" + output }

// UploadKey is the artifact key of the tar of a local path uploaded with a job ("code" or
// "inputs.<name>").
func UploadKey(job, part string) string { return "jobs/" + job + "/uploads/" + part + ".tar" }

// DefaultOutput names the job's ./outputs folder among its outputs.
const DefaultOutput = "default"

// errStopped is returned when the executor shuts down in the middle of a job; the job is
// picked up by the next Start.
var errStopped = errors.New("executor stopped")

// signalRuntime sends sig to a runtime recorded in dir, if it is still the same process.
func signalRuntime(dir string, sig syscall.Signal, groupsToo bool) {
	var p jobrun.Process
	if jobrun.ReadJSON(filepath.Join(dir, jobrun.ProcessFile), &p) != nil || !p.Alive() {
		return
	}
	syscall.Kill(p.PID, sig)
	if groupsToo {
		for _, g := range p.Groups {
			syscall.Kill(-g, sig)
		}
	}
}
