package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// container is one container of a pod across its restarts. Its fields are guarded by the
// pod's mutex.
type container struct {
	spec     corev1.Container
	init     bool
	restarts int32 // instances started after the first
	runs     int   // instances started, so the next log file is logs/NAME/<runs>.log
	state    corev1.ContainerState
	last     corev1.ContainerState
	started  bool // the startup probe passed (or there is none) in the running instance
	ready    bool // the readiness probe passes in the running instance
	proc     *process
	env      []string // the running instance's, for exec
	delay    time.Duration
}

func newContainer(spec corev1.Container, init bool) *container {
	reason := "ContainerCreating"
	if init {
		reason = "PodInitializing"
	}
	return &container{spec: spec, init: init,
		state: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}
}

// nextBackoff is the delay before the next restart: none the first time, then base doubling
// up to five minutes; a run of ten minutes resets it.
func (c *container) nextBackoff(base time.Duration) time.Duration {
	if t := c.state.Terminated; t != nil && t.FinishedAt.Sub(t.StartedAt.Time) > 10*time.Minute {
		c.delay = 0
	}
	d := c.delay
	if c.delay == 0 {
		c.delay = base
	} else {
		c.delay = min(2*c.delay, 5*time.Minute)
	}
	return d
}

// setState moves a terminated state to lastState as the next one replaces it.
func (c *container) setState(s corev1.ContainerState) {
	if c.state.Terminated != nil {
		c.last = c.state
	}
	c.state = s
}

func (c *container) logPath(podDir string, run int) string {
	return filepath.Join(podDir, "logs", c.spec.Name, strconv.Itoa(run)+".log")
}

// process is one running instance of a container: the leader of its own session and process
// group, in its own mount namespace.
type process struct {
	pid      int
	run      int // index of its log file
	exited   chan struct{}
	exitCode int // valid once exited is closed
}

// stop sends SIGTERM to the process group, then SIGKILL after grace.
func (p *process) stop(grace time.Duration) {
	syscall.Kill(-p.pid, syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.exited:
	case <-t.C:
		syscall.Kill(-p.pid, syscall.SIGKILL)
	}
}

// runInstance starts one instance of the container and waits for it to exit, recording its
// states. It returns the exit code (128 when it could not start, as container runtimes do).
func (p *podRuntime) runInstance(c *container) int {
	env, err := p.containerEnv(p.ctx, &c.spec)
	for err != nil {
		// The kubelet keeps such a container waiting until the secret or configMap appears.
		p.setContainerWaiting(c, "CreateContainerConfigError", err.Error())
		if !sleep(p.ctx, 2*time.Second) {
			return 128
		}
		env, err = p.containerEnv(p.ctx, &c.spec)
	}
	if p.ctx.Err() != nil {
		return 128 // the pod is being deleted: start nothing more
	}
	lookup := envLookup(env)
	var command []string
	for _, s := range append(append([]string{}, c.spec.Command...), c.spec.Args...) {
		command = append(command, expand(s, lookup))
	}

	p.mu.Lock()
	run := c.runs
	c.runs++
	if run > 0 {
		c.restarts++
	}
	p.mu.Unlock()

	proc, err := p.startProcess(c, run, command, env)
	if err != nil {
		p.log.Warn("starting container", "container", c.spec.Name, "err", err)
		// kubectl logs shows why: the log file is the one place a user looks.
		if os.MkdirAll(filepath.Dir(c.logPath(p.dir, run)), 0o755) == nil {
			os.WriteFile(c.logPath(p.dir, run), []byte("process-kubelet: "+err.Error()+"\n"), 0o644)
		}
		now := metav1.Now()
		p.setTerminated(c, corev1.ContainerStateTerminated{ExitCode: 128, Reason: "StartError",
			Message: err.Error(), StartedAt: now, FinishedAt: now})
		return 128
	}

	p.mu.Lock()
	startedAt := metav1.Now()
	c.proc, c.env = proc, env
	c.setState(corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: startedAt}})
	c.started = c.spec.StartupProbe == nil
	c.ready = false
	deleting, grace := p.deleting, p.grace
	p.mu.Unlock()
	if deleting {
		// Started as the pod was being deleted, after terminate looked for processes.
		go proc.stop(grace)
	}
	p.log.Info("container started", "container", c.spec.Name, "pid", proc.pid, "run", run)
	p.statusChanged()

	probesDone := p.startProbes(c, proc)
	<-proc.exited
	probesDone()

	reason := "Completed"
	if proc.exitCode != 0 {
		reason = "Error"
	}
	p.log.Info("container exited", "container", c.spec.Name, "exit_code", proc.exitCode)
	p.setTerminated(c, corev1.ContainerStateTerminated{ExitCode: int32(proc.exitCode), Reason: reason,
		StartedAt: startedAt, FinishedAt: metav1.Now(), ContainerID: containerID(proc.pid)})
	return proc.exitCode
}

// startProcess starts the command through `process-kubelet exec-container`, in a new session
// and mount namespace, with stdout and stderr appended to the instance's log file.
func (p *podRuntime) startProcess(c *container, run int, command, env []string) (*process, error) {
	if len(command) == 0 {
		// TODO(berth): an image's entrypoint is unknown here: a container must give a command.
		return nil, errors.New("the container has no command, and the process kubelet ignores images")
	}
	p.mu.Lock()
	mounts, err := p.mountsFor(&c.spec, env)
	p.mu.Unlock()
	if err != nil {
		return nil, err
	}
	spec, err := json.Marshal(containerMounts{Mounts: mounts, WorkingDir: c.spec.WorkingDir})
	if err != nil {
		return nil, err
	}
	logPath := c.logPath(p.dir, run)
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer log.Close() // the child has its own copy

	cmd := exec.Command(p.host.self, append([]string{execContainerCommand, string(spec), "--"}, command...)...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = log, log
	// TODO(berth): a process that leaves the group (setsid, a daemon) escapes the kill; a
	// cgroup per container would hold them all.
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setsid:     true,                // its own session and process group, killed as one
		Cloneflags: syscall.CLONE_NEWNS, // its own mounts
		Pdeathsig:  syscall.SIGKILL,     // dies with the kubelet
	}
	if err := p.host.spawner.start(cmd); err != nil {
		return nil, err
	}
	proc := &process{pid: cmd.Process.Pid, run: run, exited: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		if err != nil && cmd.ProcessState == nil {
			p.log.Warn("waiting for container", "container", c.spec.Name, "err", err)
		}
		proc.exitCode = exitCode(cmd.ProcessState)
		// A container ends with its main process: what it left behind in its group goes too.
		syscall.Kill(-proc.pid, syscall.SIGKILL)
		close(proc.exited)
	}()
	return proc, nil
}

// exitCode reports a signal as 128+signal, as shells and container runtimes do.
func exitCode(state *os.ProcessState) int {
	if state == nil {
		return 128
	}
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	if code := state.ExitCode(); code >= 0 {
		return code
	}
	return 128
}

func containerID(pid int) string { return fmt.Sprintf("process://%d", pid) }

func (p *podRuntime) setContainerWaiting(c *container, reason, message string) {
	p.mu.Lock()
	c.setState(corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}})
	p.mu.Unlock()
	p.statusChanged()
}

func (p *podRuntime) setTerminated(c *container, t corev1.ContainerStateTerminated) {
	p.mu.Lock()
	c.setState(corev1.ContainerState{Terminated: &t})
	c.proc = nil
	c.ready = false
	p.mu.Unlock()
	p.statusChanged()
}
