package local

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	v1 "berth/api/v1"
	"berth/internal/jobrun"
)

// recover brings every unfinished job to a true state after the server (re)starts:
//   - waiting jobs go back in the queue, in the order they were submitted;
//   - a job whose runtime still holds its lock is reattached and followed to its end;
//   - a job whose runtime recorded its end is finalized;
//   - a job interrupted while it was being prepared is prepared again, first in line;
//   - a job whose runtime is gone without a record failed, and says the server restarted.
func (e *Executor) recover(ctx context.Context) error {
	jobs, err := e.store.UnfinishedJobs(ctx)
	if err != nil {
		return err
	}
	var requeue, queue []string
	for _, job := range jobs {
		if job.Compute != ComputeName {
			continue
		}
		dir := e.JobDir(job.Name)
		switch {
		case job.Status == v1.JobNotStarted || job.Status == v1.JobQueued:
			queue = append(queue, job.Name)
		case locked(dir):
			e.reattach(ctx, job.Name, dir)
		case exists(filepath.Join(dir, jobrun.ExitFile)):
			e.wg.Add(1)
			go func() { defer e.wg.Done(); e.finalize(ctx, job.Name, serverRestarted) }()
		case job.Status == v1.JobStarting || job.Status == v1.JobPreparing:
			// Its command never started: preparing again is safe.
			if _, err := e.store.UpdateJob(ctx, job.Name, func(j *v1.Job) error {
				j.Status = v1.JobQueued
				return nil
			}); err != nil {
				return err
			}
			requeue = append(requeue, job.Name)
		default:
			e.wg.Add(1)
			go func() { defer e.wg.Done(); e.finalize(ctx, job.Name, serverRestarted) }()
		}
	}
	e.mu.Lock()
	e.queue = append(append(requeue, queue...), e.queue...)
	e.mu.Unlock()
	return nil
}

// reattach follows a job whose runtime outlived a previous server.
func (e *Executor) reattach(ctx context.Context, name, dir string) {
	e.log.Info("reattaching to running job", "job", name)
	a := &activeJob{cancel: make(chan struct{})}
	e.mu.Lock()
	e.running[name] = a
	e.mu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		if job, err := e.store.GetJob(ctx, name); err == nil && job.Status == v1.JobCancelRequested {
			a.requestCancel()
		}
		signal := func(sig syscall.Signal) { signalRuntime(dir, sig, false) }
		ended := e.wait(ctx, dir, a, e.pollExit(ctx, dir), signal)
		e.release(name)
		if ended {
			e.finalize(ctx, name, runtimeDied)
		}
	}()
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return !errors.Is(err, fs.ErrNotExist)
}
