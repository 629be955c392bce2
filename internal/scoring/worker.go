package scoring

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// worker is one Python process running the user's script. It serves one request at a time:
// whoever took it from the pool's idle set owns its pipes until it gives it back.
type worker struct {
	index int // 1-based, kept by the replacement of a dead worker
	cmd   *exec.Cmd
	pid   int

	requests *os.File      // our end of the worker's fd 3
	answers  *os.File      // our end of the worker's fd 4
	reader   *bufio.Reader // over answers

	// exited is closed once the process has been reaped; state is set before.
	exited chan struct{}
	state  *os.ProcessState
	// initialised is set once init() returned.
	initialised atomic.Bool
	// retired is set once the pool stopped counting on this worker; it is never set back.
	retired atomic.Bool
	// killedBecause, when set, says why the host killed the process, for the client's error.
	killedBecause atomic.Pointer[string]
	output        sync.WaitGroup // copying of stdout and stderr
}

// workerEnv is what a worker needs to start.
type workerEnv struct {
	python, script, codeDir, modelDir string
	stdout, stderr                    io.Writer
	prefixOutput                      bool // several workers: mark their lines with [worker N]
}

// startWorker starts worker number index. It returns once the process runs; init() goes on in
// it, and awaitInit reports its outcome.
func startWorker(env workerEnv, index int) (*worker, error) {
	// Request pipe: we write, the worker reads fd 3. Answer pipe: the worker writes fd 4.
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("creating the request pipe of worker %d: %w", index, err)
	}
	ansR, ansW, err := os.Pipe()
	if err != nil {
		closeAll(reqR, reqW)
		return nil, fmt.Errorf("creating the answer pipe of worker %d: %w", index, err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		closeAll(reqR, reqW, ansR, ansW)
		return nil, fmt.Errorf("creating the stdout pipe of worker %d: %w", index, err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		closeAll(reqR, reqW, ansR, ansW, outR, outW)
		return nil, fmt.Errorf("creating the stderr pipe of worker %d: %w", index, err)
	}

	cmd := exec.Command(env.python, "-u", "-c", workerSource, env.script, env.codeDir)
	cmd.Dir = env.codeDir
	cmd.Env = append(os.Environ(),
		"BERTH_WORKER_INDEX="+strconv.Itoa(index),
		"AML_APP_ROOT="+env.codeDir,
		"AZUREML_ENTRY_SCRIPT="+env.script,
	)
	if env.modelDir != "" {
		cmd.Env = append(cmd.Env, "AZUREML_MODEL_DIR="+env.modelDir, "BERTH_MODEL_DIR="+env.modelDir)
	}
	cmd.ExtraFiles = []*os.File{reqR, ansW}
	// Plain pipes rather than cmd.StdoutPipe, so that Wait does not wait for or close them.
	cmd.Stdout, cmd.Stderr = outW, errW
	// Its own process group: a stuck worker is killed with whatever it started, and a signal
	// sent to the host's group (a supervisor's SIGTERM, Ctrl-C in a terminal) does not cut a
	// request short: the host drains, then closes the worker's pipe. Pdeathsig covers the host
	// being killed outright; it fires when the starting thread ends, and Go ends threads only
	// when a goroutine locked to one returns, which the host never does.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	// The worker holds its ends now; ours must go, or we would never see end-of-file when it
	// dies.
	closeAll(reqR, ansW, outW, errW)
	if err != nil {
		closeAll(reqW, ansR, outR, errR)
		return nil, fmt.Errorf("starting worker %d with %s: %w", index, env.python, err)
	}

	w := &worker{
		index:    index,
		cmd:      cmd,
		pid:      cmd.Process.Pid,
		requests: reqW,
		answers:  ansR,
		reader:   bufio.NewReaderSize(ansR, 64<<10),
		exited:   make(chan struct{}),
	}
	prefix := ""
	if env.prefixOutput {
		prefix = "[worker " + strconv.Itoa(index) + "] "
	}
	w.output.Add(2)
	go func() { defer w.output.Done(); copyLines(env.stdout, outR, prefix); outR.Close() }()
	go func() { defer w.output.Done(); copyLines(env.stderr, errR, prefix); errR.Close() }()
	go w.reap()
	return w, nil
}

// reap waits for the process, then unblocks any reader still waiting on the answer pipe: if
// something the worker started still holds fd 4, end-of-file would never come.
func (w *worker) reap() {
	w.cmd.Wait()
	w.state = w.cmd.ProcessState
	close(w.exited)
	w.answers.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
}

// hasExited reports whether the process is gone.
func (w *worker) hasExited() bool {
	select {
	case <-w.exited:
		return true
	default:
		return false
	}
}

// initOutcome is what a starting worker reported.
type initOutcome struct {
	failure *scriptFailure // nil when init() returned
}

// awaitInit waits for the worker's first frame: ready, or the failure of the import or of
// init(). A worker that dies or breaks the protocol before either is a failure too.
func (w *worker) awaitInit() initOutcome {
	kind, payload, _, err := readFrame(w.reader, nil)
	switch {
	case err == nil && kind == kindReady:
		return initOutcome{}
	case err == nil && kind == kindInitFailed:
		f := parseFailure(payload)
		return initOutcome{failure: &f}
	case err == nil:
		w.kill("it sent an answer before init() finished")
		return initOutcome{failure: &scriptFailure{Summary: "the worker broke the protocol: it answered before init() finished"}}
	}
	if errors.As(err, new(*frameError)) {
		w.kill(err.Error())
		return initOutcome{failure: &scriptFailure{Summary: "the worker broke the protocol during init(): " + err.Error()}}
	}
	<-w.exited
	return initOutcome{failure: &scriptFailure{
		Summary: "the worker exited before init() finished (" + w.exitDescription() + ")",
	}}
}

// callError says why a call got no answer.
type callError struct {
	// timedOut: the deadline passed before the worker answered.
	timedOut bool
	// late: the worker is still running the request and the stream is intact, so it can be
	// given back once its late answer was read and discarded. Otherwise the worker is dead or
	// being killed.
	late bool
	err  error
}

func (e *callError) Error() string { return e.err.Error() }

// call sends one request, whose frame is built in buf (headerSize bytes reserved, then the
// body), and reads the answer into buf. The payload returned aliases the returned buffer.
func (w *worker) call(buf []byte, deadline time.Time) (kind byte, payload, newBuf []byte, err error) {
	if w.hasExited() {
		return 0, nil, buf, &callError{err: errors.New("the worker had exited")}
	}
	putHeader(buf, kindScore, len(buf)-headerSize)
	w.requests.SetWriteDeadline(deadline)
	if _, err := w.requests.Write(buf); err != nil {
		// A request cut short leaves the worker waiting for the rest of it: it cannot be
		// reused.
		timedOut := errors.Is(err, os.ErrDeadlineExceeded) && !w.hasExited()
		if timedOut {
			w.kill("the request could not be sent to it within the request timeout")
		}
		return 0, nil, buf, &callError{timedOut: timedOut,
			err: fmt.Errorf("sending the request to worker %d: %w", w.index, err)}
	}
	w.answers.SetReadDeadline(deadline)
	kind, payload, buf, err = readFrame(w.reader, buf[:0])
	if err != nil {
		ce := &callError{err: fmt.Errorf("reading the answer of worker %d: %w", w.index, err)}
		if errors.Is(err, os.ErrDeadlineExceeded) && !w.hasExited() {
			ce.timedOut = true
			ce.late = !errors.As(err, new(*midFrameError))
		}
		if errors.As(err, new(*frameError)) || (ce.timedOut && !ce.late) {
			w.kill("its answer could not be read: " + err.Error())
		}
		return 0, nil, buf, ce
	}
	if kind == kindReady || kind == kindInitFailed {
		w.kill("it sent an init frame in answer to a request")
		return 0, nil, buf, &callError{err: fmt.Errorf("worker %d sent frame %q in answer to a request", w.index, kind)}
	}
	return kind, payload, buf, nil
}

// awaitLate waits up to grace for the answer to a request that timed out and discards it. It
// reports whether the worker is fit to serve again; if not, it is dead or being killed.
func (w *worker) awaitLate(grace time.Duration) bool {
	w.answers.SetReadDeadline(time.Now().Add(grace))
	_, _, _, err := readFrame(w.reader, make([]byte, 0, 4096))
	if err == nil {
		return true
	}
	if !w.hasExited() {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			w.kill(fmt.Sprintf("run() was still busy %s after its request timed out", grace))
		} else {
			w.kill("its late answer could not be read: " + err.Error())
		}
	}
	return false
}

// kill ends the worker and everything it started, remembering why for the client's error.
func (w *worker) kill(reason string) {
	w.killedBecause.CompareAndSwap(nil, &reason)
	syscall.Kill(-w.pid, syscall.SIGKILL)
}

// stop asks the worker to exit by closing its request pipe, and kills it after grace.
func (w *worker) stop(grace time.Duration) {
	w.requests.Close()
	select {
	case <-w.exited:
	case <-time.After(grace):
		w.kill("the host was stopping and the worker did not exit in time")
		<-w.exited
	}
	w.answers.Close()
	// Something the worker started in the background may still hold its stdout; the output
	// is not worth hanging the host's exit for.
	copied := make(chan struct{})
	go func() { w.output.Wait(); close(copied) }()
	select {
	case <-copied:
	case <-time.After(2 * time.Second):
		syscall.Kill(-w.pid, syscall.SIGKILL)
	}
}

// exitDescription says how the process ended, such as "exit status 1" or "killed by SIGKILL",
// and why the host killed it if it did.
func (w *worker) exitDescription() string {
	select {
	case <-w.exited:
	default:
		return "still running"
	}
	desc := describeExit(w.state)
	if reason := w.killedBecause.Load(); reason != nil {
		desc += ", killed by the host because " + *reason
	}
	return desc
}

func describeExit(state *os.ProcessState) string {
	if state == nil {
		return "exit status unknown"
	}
	ws, ok := state.Sys().(syscall.WaitStatus)
	switch {
	case ok && ws.Signaled():
		name := unix.SignalName(ws.Signal())
		if name == "" {
			name = "signal " + strconv.Itoa(int(ws.Signal()))
		}
		return "killed by " + name
	default:
		return "exit status " + strconv.Itoa(state.ExitCode())
	}
}

func closeAll(files ...*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// copyLines copies a worker's output to dst line by line, each line prefixed, so the lines of
// several workers never mix. A line longer than the buffer is passed on in pieces.
func copyLines(dst io.Writer, src io.Reader, prefix string) {
	r := bufio.NewReaderSize(src, 64<<10)
	var out []byte
	atLineStart := true
	for {
		chunk, err := r.ReadSlice('\n')
		if len(chunk) > 0 {
			out = out[:0]
			if atLineStart {
				out = append(out, prefix...)
			}
			out = append(out, chunk...)
			atLineStart = chunk[len(chunk)-1] == '\n'
			if !atLineStart && err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				out = append(out, '\n') // the output ended without a newline
			}
			dst.Write(out)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}
