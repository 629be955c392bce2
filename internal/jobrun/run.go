package jobrun

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stderrTailLines is how many of the last standard-error lines a failed job reports.
const stderrTailLines = 20

// Run runs the job whose folder is dir and writes its ExitStatus there. It returns an error
// only when it could not run the job at all; the job's own failure is in the ExitStatus.
func Run(dir string) error {
	var spec RunSpec
	if err := ReadJSON(filepath.Join(dir, SpecFile), &spec); err != nil {
		return err
	}
	// The lock arrives on LockFD; it must stay open for the runtime's life but not leak into
	// the job's processes, which could otherwise keep it after the runtime died.
	syscall.CloseOnExec(LockFD)

	logFile, err := os.OpenFile(filepath.Join(dir, LogFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	log := &jobLog{w: logFile}
	for _, n := range spec.Notices {
		log.line("", "berth: "+n)
	}

	r := &runner{spec: spec, dir: dir, log: log, started: time.Now().UTC()}
	status := r.run()
	return WriteJSON(filepath.Join(dir, ExitFile), status)
}

type runner struct {
	spec    RunSpec
	dir     string
	log     *jobLog
	started time.Time

	mu     sync.Mutex
	reason string // why the processes are being stopped, "" while they run normally
	procs  []*exec.Cmd
}

func (r *runner) run() ExitStatus {
	ranks := r.spec.Ranks
	if len(ranks) == 0 {
		ranks = [][]string{nil}
	}
	tail := &lineTail{max: stderrTailLines}
	status := ExitStatus{StartedAt: r.started}

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	signal.Ignore(syscall.SIGHUP)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go r.watch(ctx, sigs)

	exits := make(chan int, len(ranks))
	for i, rankEnv := range ranks {
		prefix := ""
		if len(ranks) > 1 {
			prefix = "[rank " + strconv.Itoa(i) + "] "
		}
		exited, err := r.start(rankEnv, prefix, tail)
		if err != nil {
			r.log.line(prefix, "berth: cannot start the command: "+err.Error())
			r.stop(ReasonFailed)
			exits <- 127
			continue
		}
		go func() { exits <- <-exited }()
	}
	r.recordProcess()

	for range ranks {
		if code := <-exits; code != 0 && status.ExitCode == 0 {
			status.ExitCode = code
			// One failed process fails the job; the others are stopped, as torchrun does.
			r.stop(ReasonFailed)
		}
	}

	r.mu.Lock()
	status.Reason = r.reason
	r.mu.Unlock()
	switch {
	case status.Reason == ReasonTimeout || status.Reason == ReasonCanceled:
	case status.ExitCode != 0:
		status.Reason = ReasonFailed
	default:
		status.Reason = ReasonCompleted
	}
	status.StderrTail = tail.lines()
	status.EndedAt = time.Now().UTC()
	return status
}

func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	default:
		return 1
	}
}

// start starts one process of the job in its own process group, so that stopping the job
// reaches every process the command started. The returned channel closes when the process
// has exited and its output is in the log.
func (r *runner) start(rankEnv []string, prefix string, tail *lineTail) (<-chan int, error) {
	cmd := exec.Command(shell(), "-c", r.spec.Command)
	cmd.Dir = r.spec.WorkDir
	cmd.Env = append(append(os.Environ(), r.spec.Env...), rankEnv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Plain pipes rather than cmd.StdoutPipe: Wait must not close them before the log has
	// read everything the process wrote.
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	r.mu.Lock()
	if r.reason != "" {
		err = fmt.Errorf("the job is stopping (%s)", r.reason)
	} else if err = cmd.Start(); err == nil {
		r.procs = append(r.procs, cmd)
	}
	r.mu.Unlock()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, err
	}
	var copying sync.WaitGroup
	copying.Add(2)
	go func() { defer copying.Done(); r.log.copyLines(outR, prefix, nil); outR.Close() }()
	go func() { defer copying.Done(); r.log.copyLines(errR, prefix, tail); errR.Close() }()
	exited := make(chan int, 1)
	go func() {
		code := exitCode(cmd.Wait())
		// When the command has exited, what it left running in the background ends with
		// it, as processes of a container do when its main process ends.
		copied := make(chan struct{})
		go func() { copying.Wait(); close(copied) }()
		select {
		case <-copied:
		case <-time.After(2 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-copied
		}
		exited <- code
	}()
	return exited, nil
}

func shell() string {
	if p, err := exec.LookPath("bash"); err == nil {
		return p
	}
	return "/bin/sh"
}

// recordProcess writes ProcessFile, so a restarted server can signal this runtime and the
// job's process groups.
func (r *runner) recordProcess() {
	p := Process{PID: os.Getpid()}
	p.StartTicks, _ = StartTicks(p.PID)
	r.mu.Lock()
	for _, c := range r.procs {
		p.Groups = append(p.Groups, c.Process.Pid)
	}
	r.mu.Unlock()
	if err := WriteJSON(filepath.Join(r.dir, ProcessFile), p); err != nil {
		fmt.Fprintln(os.Stderr, "berth-runtime:", err)
	}
}

// watch turns signals and the time limit into a stop.
func (r *runner) watch(ctx context.Context, sigs <-chan os.Signal) {
	var timeout <-chan time.Time
	if r.spec.TimeoutSeconds > 0 {
		t := time.NewTimer(time.Duration(r.spec.TimeoutSeconds) * time.Second)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ctx.Done():
	case <-sigs:
		r.log.line("", "berth: the job was canceled; stopping its processes")
		r.stop(ReasonCanceled)
	case <-timeout:
		r.log.line("", fmt.Sprintf("berth: the job reached its time limit of %ds (limits.timeout); stopping its processes", r.spec.TimeoutSeconds))
		r.stop(ReasonTimeout)
	}
}

// stop sends SIGTERM to every process group of the job, then SIGKILL after the grace period.
// The first reason given is the one reported.
func (r *runner) stop(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reason != "" {
		return
	}
	r.reason = reason
	groups := make([]int, 0, len(r.procs))
	for _, c := range r.procs {
		groups = append(groups, c.Process.Pid)
	}
	for _, g := range groups {
		syscall.Kill(-g, syscall.SIGTERM)
	}
	grace := time.Duration(r.spec.GraceSeconds) * time.Second
	time.AfterFunc(grace, func() {
		for _, g := range groups {
			syscall.Kill(-g, syscall.SIGKILL)
		}
	})
}

// jobLog writes whole lines from several processes into one log without interleaving them.
type jobLog struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *jobLog) line(prefix, s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	io.WriteString(l.w, prefix+s+"\n")
}

// copyLines copies r to the log line by line, keeping the last lines in tail when it is set.
func (l *jobLog) copyLines(r io.Reader, prefix string, tail *lineTail) {
	br := bufio.NewReaderSize(r, 64*1024)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			l.mu.Lock()
			io.WriteString(l.w, prefix)
			l.w.Write(line)
			if errors.Is(err, io.EOF) && line[len(line)-1] != '\n' {
				io.WriteString(l.w, "\n")
			}
			l.mu.Unlock()
			if tail != nil {
				tail.add(prefix + strings.TrimRight(string(line), "\r\n"))
			}
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// lineTail keeps the last max lines added.
type lineTail struct {
	mu  sync.Mutex
	max int
	buf []string
}

func (t *lineTail) add(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, s)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
}

func (t *lineTail) lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.buf...)
}
