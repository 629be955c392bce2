package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	v1 "berth/api/v1"
	"berth/internal/archive"
	"berth/internal/jobrun"
)

// execute takes a Queued job through Starting and Preparing to Running and waits for its
// runtime to exit. It reports whether the job is left to finalize, which its caller does
// after freeing the job's slot: keeping outputs is the server's work, not the job's.
func (e *Executor) execute(ctx context.Context, name string, a *activeJob) (finalize bool) {
	log := e.log.With("job", name)
	job, err := e.advance(ctx, name, v1.JobStarting)
	if err != nil || job.Status != v1.JobStarting {
		if err != nil && !errors.Is(err, errStopped) {
			log.Error("starting job", "error", err)
		}
		return false
	}
	if job, err = e.advance(ctx, name, v1.JobPreparing); err != nil {
		return false
	}
	dir := e.JobDir(name)
	spec, err := e.prepare(ctx, job, dir)
	if err != nil {
		if ctx.Err() == nil {
			log.Info("preparing job failed", "error", err)
			e.finishWith(ctx, name, v1.JobFailed, &v1.JobError{Code: v1.ErrCodePrepare, Message: err.Error()}, nil)
			os.RemoveAll(dir)
		}
		return false
	}
	if err := jobrun.WriteJSON(filepath.Join(dir, jobrun.SpecFile), spec); err != nil {
		e.finishWith(ctx, name, v1.JobFailed, &v1.JobError{Code: v1.ErrCodeSystem, Message: err.Error()}, nil)
		return false
	}
	// A cancel that arrived while the job was being prepared ends it here, before it runs.
	select {
	case <-a.cancel:
		return true // finalize sees CancelRequested and no exit record: Canceled
	default:
	}
	cmd, err := e.launch(dir)
	if err != nil {
		e.finishWith(ctx, name, v1.JobFailed, &v1.JobError{Code: v1.ErrCodeSystem,
			Message: "starting berth-runtime: " + err.Error()}, nil)
		return false
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	e.markRunning(ctx, name)
	signal := func(sig syscall.Signal) { cmd.Process.Signal(sig) }
	return e.wait(ctx, dir, a, exited, signal)
}

// advance moves a job forward to status. A job canceled meanwhile keeps its state, and the
// caller sees it in the returned job.
func (e *Executor) advance(ctx context.Context, name string, status v1.JobStatus) (*v1.Job, error) {
	if ctx.Err() != nil {
		return nil, errStopped
	}
	return e.store.UpdateJob(ctx, name, func(j *v1.Job) error {
		if j.Status.Terminal() || j.Status == v1.JobCancelRequested {
			return nil
		}
		j.Status = status
		return nil
	})
}

func (e *Executor) markRunning(ctx context.Context, name string) {
	now := e.cfg.Now().UTC()
	_, err := e.store.UpdateJob(ctx, name, func(j *v1.Job) error {
		j.StartTime = &now
		if j.Status == v1.JobPreparing || j.Status == v1.JobStarting {
			j.Status = v1.JobRunning
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		e.log.Error("marking job running", "job", name, "error", err)
	}
}

// launch starts berth-runtime for the job in dir, in a session of its own so it outlives the
// server, holding the job's lock from the first instant.
func (e *Executor) launch(dir string) (*exec.Cmd, error) {
	lock, err := os.OpenFile(filepath.Join(dir, jobrun.LockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return nil, fmt.Errorf("the job's folder is locked by another runtime: %w", err)
	}
	out, err := os.OpenFile(filepath.Join(dir, jobrun.RuntimeLog), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd := exec.Command(e.cfg.Runtime, "run", dir)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.ExtraFiles = []*os.File{lock} // becomes jobrun.LockFD
	cmd.Env = jobEnviron()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return cmd, nil
}

// jobEnviron is the server's environment without the credentials a job must not see.
func jobEnviron() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "BERTH_TOKEN=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// wait blocks until the runtime exits or the executor stops, turning a cancel request into
// signals. It reports whether the runtime exited.
func (e *Executor) wait(ctx context.Context, dir string, a *activeJob, exited <-chan struct{}, signal func(syscall.Signal)) bool {
	cancel := a.cancel
	var kill <-chan time.Time
	for {
		select {
		case <-exited:
			return true
		case <-ctx.Done():
			return false
		case <-cancel:
			cancel = nil
			signal(syscall.SIGTERM)
			// The runtime escalates to SIGKILL after the grace period itself; this is the
			// backstop for a runtime that cannot.
			kill = time.After(e.cfg.Grace + 5*time.Second)
		case <-kill:
			signalRuntime(dir, syscall.SIGKILL, true)
		}
	}
}

// pollExit is the exited channel of a runtime this server did not start: it closes when the
// job's lock is free.
func (e *Executor) pollExit(ctx context.Context, dir string) <-chan struct{} {
	exited := make(chan struct{})
	go func() {
		t := time.NewTicker(e.cfg.PollInterval)
		defer t.Stop()
		for {
			if !locked(dir) {
				close(exited)
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return exited
}

// locked reports whether a runtime holds the lock of the job folder dir.
func locked(dir string) bool {
	f, err := os.Open(filepath.Join(dir, jobrun.LockFile))
	if err != nil {
		return false
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return false
	}
	return errors.Is(err, syscall.EWOULDBLOCK)
}

// TODO(local): finished jobs' outputs and logs are kept forever; DESIGN asks for retention
// settings (age or count) that remove them.
//
// finalize records how a job whose runtime has exited ended: it keeps the outputs and the
// log in the artifact store, sets the final state and removes the job's folder. It is
// idempotent, so a server that dies halfway does it again after restarting.
//
// missing says why there may be no exit record: the server restarted, or the runtime died
// under a running server.
func (e *Executor) finalize(ctx context.Context, name string, missing missingExit) {
	log := e.log.With("job", name)
	dir := e.JobDir(name)
	var exit jobrun.ExitStatus
	exitErr := jobrun.ReadJSON(filepath.Join(dir, jobrun.ExitFile), &exit)
	if exitErr != nil && !errors.Is(exitErr, fs.ErrNotExist) {
		log.Error("reading exit status", "error", exitErr)
	}
	hasExit := exitErr == nil
	if !hasExit {
		// The runtime died without stopping the job's processes: they must not run on
		// outside the concurrency limit.
		signalRuntime(dir, syscall.SIGKILL, true)
	}

	job, err := e.store.UpdateJob(ctx, name, func(j *v1.Job) error {
		if j.Status != v1.JobCancelRequested && !j.Status.Terminal() {
			j.Status = v1.JobFinalizing
		}
		return nil
	})
	if err != nil || job.Status.Terminal() {
		return
	}
	if hasExit {
		if err := e.keepOutputs(ctx, job, dir); err != nil {
			log.Error("keeping outputs", "error", err)
			e.finishWith(ctx, name, v1.JobFailed, &v1.JobError{Code: v1.ErrCodeSystem,
				Message: "keeping the job's outputs failed: " + err.Error()}, &exit)
			return
		}
	}
	if err := e.keepLog(ctx, name, dir); err != nil {
		log.Error("keeping log", "error", err)
	}

	status, jerr := endState(job.Status == v1.JobCancelRequested, hasExit, exit, missing)
	if !e.finishWith(ctx, name, status, jerr, exitOrNil(hasExit, &exit)) {
		return
	}
	if err := os.RemoveAll(dir); err != nil {
		log.Error("removing job folder", "error", err)
	}
}

func exitOrNil(ok bool, exit *jobrun.ExitStatus) *jobrun.ExitStatus {
	if ok {
		return exit
	}
	return nil
}

// endState maps how the runtime ended to the job's final state.
func endState(cancelRequested, hasExit bool, exit jobrun.ExitStatus, missing missingExit) (v1.JobStatus, *v1.JobError) {
	switch {
	case cancelRequested || hasExit && exit.Reason == jobrun.ReasonCanceled:
		return v1.JobCanceled, &v1.JobError{Code: v1.ErrCodeCanceled, Message: "the job was canceled"}
	case !hasExit && missing == serverRestarted:
		return v1.JobFailed, &v1.JobError{Code: v1.ErrCodeServerRestart,
			Message: "server restarted while the job was running, and the job's runtime had stopped without recording how the job ended"}
	case !hasExit:
		return v1.JobFailed, &v1.JobError{Code: v1.ErrCodeSystem,
			Message: "the job's runtime (berth-runtime) stopped without recording how the job ended (was it killed?); the job's processes were stopped"}
	case exit.Reason == jobrun.ReasonTimeout:
		return v1.JobFailed, &v1.JobError{Code: v1.ErrCodeTimeout,
			Message: "the job ran longer than its limits.timeout and was stopped"}
	case exit.Reason == jobrun.ReasonCompleted:
		return v1.JobCompleted, nil
	default:
		msg := fmt.Sprintf("the command exited with code %d", exit.ExitCode)
		if len(exit.StderrTail) > 0 {
			msg += "; last lines of standard error:\n" + strings.Join(exit.StderrTail, "\n")
		}
		return v1.JobFailed, &v1.JobError{Code: v1.ErrCodeNonZeroExit, Message: msg}
	}
}

// missingExit says why a job may have no exit record when it is finalized.
type missingExit int

const (
	runtimeDied missingExit = iota
	serverRestarted
)

// finishWith sets a final state, and reports whether it was written.
func (e *Executor) finishWith(ctx context.Context, name string, status v1.JobStatus, jerr *v1.JobError, exit *jobrun.ExitStatus) bool {
	_, err := e.store.UpdateJob(ctx, name, func(j *v1.Job) error {
		if j.Status.Terminal() {
			return nil
		}
		e.endJob(j, status, jerr)
		if exit != nil {
			code := exit.ExitCode
			j.ExitCode = &code
			// The runtime's clock says when the command really started and ended.
			start := exit.StartedAt
			j.StartTime = &start
			end := exit.EndedAt
			j.EndTime = &end
		}
		return nil
	})
	if err != nil {
		if ctx.Err() == nil {
			e.log.Error("finishing job", "job", name, "error", err)
		}
		return false
	}
	return true
}

// keepOutputs copies the job's ./outputs folder and its named outputs to the artifact store.
func (e *Executor) keepOutputs(ctx context.Context, job *v1.Job, dir string) error {
	if err := archive.CopyToStore(ctx, filepath.Join(dir, jobrun.WorkDir, "outputs"), e.artifacts,
		OutputPrefix(job.Name, DefaultOutput)); err != nil {
		return err
	}
	for name := range job.Outputs {
		if err := archive.CopyToStore(ctx, filepath.Join(dir, "outputs", name), e.artifacts,
			OutputPrefix(job.Name, name)); err != nil {
			return err
		}
	}
	return nil
}

func (e *Executor) keepLog(ctx context.Context, name, dir string) error {
	f, err := os.Open(filepath.Join(dir, jobrun.LogFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	return e.artifacts.Put(ctx, LogKey(name), f)
}
