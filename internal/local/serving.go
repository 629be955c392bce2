package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	v1 "berth/api/v1"
	"berth/internal/archive"
	"berth/internal/artifacts"
	"berth/internal/jobrun"
	"berth/internal/store"
)

// ServingConfig says how the local compute runs online deployments.
type ServingConfig struct {
	// Dir holds one folder per deployment generation.
	Dir     string
	BinDir  string
	Runtime string
	// ReadyPoll is how often a starting instance's /ready is checked.
	ReadyPoll time.Duration
	// RestartBackoff is the first wait before restarting an instance that exited; it doubles
	// up to a minute.
	RestartBackoff time.Duration
	Now            func() time.Time
}

// Serving runs the online deployments of the local compute: instance_count `berth-runtime
// score` processes per deployment, restarted when they exit. A create or update starts a new
// generation of instances; the previous one serves until the new one is ready.
type Serving struct {
	cfg       ServingConfig
	store     store.Store
	artifacts artifacts.Store
	log       *slog.Logger
	// OnChange is called after an endpoint's deployments changed state or instances.
	OnChange func(endpoint string)

	spawns chan spawnRequest

	mu   sync.Mutex
	runs map[string]*generation // by endpoint/deployment: the generation serving, or starting
	// next holds a generation that is starting while an older one serves.
	next map[string]*generation
	ctx  context.Context
	wg   sync.WaitGroup
}

// generation is one create or update of a deployment and its instances.
type generation struct {
	spec      v1.OnlineDeployment
	dir       string
	cancel    context.CancelFunc
	instances []*instance
}

// instance is one scoring host process.
type instance struct {
	name  string
	url   string
	log   string
	mu    sync.Mutex
	ready bool
	since time.Time
}

func (i *instance) setReady(ready bool, now time.Time) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	changed := i.ready != ready
	i.ready, i.since = ready, now
	return changed
}

func (i *instance) state() (bool, time.Time) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.ready, i.since
}

// NewServing returns the local deployment supervisor; Start brings back stored deployments.
func NewServing(cfg ServingConfig, st store.Store, arts artifacts.Store, log *slog.Logger) *Serving {
	if cfg.ReadyPoll <= 0 {
		cfg.ReadyPoll = 100 * time.Millisecond
	}
	if cfg.RestartBackoff <= 0 {
		cfg.RestartBackoff = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Serving{cfg: cfg, store: st, artifacts: arts, log: log, OnChange: func(string) {},
		runs: map[string]*generation{}, next: map[string]*generation{}, spawns: make(chan spawnRequest)}
}

func key(endpoint, name string) string { return endpoint + "/" + name }

// Start starts every stored deployment's instances again, after stopping any that a previous
// server left behind.
func (s *Serving) Start(ctx context.Context) error {
	s.ctx = ctx
	go s.spawner()
	deps, err := s.store.ListDeployments(ctx, "")
	if err != nil {
		return err
	}
	for _, d := range deps {
		dir := filepath.Join(s.cfg.Dir, d.EndpointName, d.Name)
		s.stopLeftovers(dir)
		// An update that failed left the generation before it serving; it serves again.
		var serving v1.OnlineDeployment
		if d.ProvisioningState == v1.StateFailed && jobrun.ReadJSON(filepath.Join(dir, servingFile), &serving) == nil &&
			serving.Generation < d.Generation {
			d = serving
		}
		if err := s.Apply(ctx, d); err != nil {
			s.log.Error("restarting deployment", "deployment", key(d.EndpointName, d.Name), "error", err)
		}
	}
	return nil
}

// Shutdown stops every instance.
func (s *Serving) Shutdown() {
	s.mu.Lock()
	for _, g := range s.runs {
		g.cancel()
	}
	for _, g := range s.next {
		g.cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Instances reports a deployment's instances, the serving generation's first.
func (s *Serving) Instances(endpoint, name string) (ready []string, all []v1.Instance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range []*generation{s.runs[key(endpoint, name)], s.next[key(endpoint, name)]} {
		if g == nil {
			continue
		}
		for _, in := range g.instances {
			r, since := in.state()
			all = append(all, v1.Instance{Name: in.name, URL: in.url, Ready: r, Since: since})
			if r && g == s.runs[key(endpoint, name)] {
				ready = append(ready, in.url)
			}
		}
	}
	return ready, all
}

// Apply starts a new generation of a deployment's instances from its stored spec. When all
// are ready it replaces the generation that served before and the deployment is Succeeded;
// when one cannot start, the deployment is Failed and the previous generation keeps serving.
func (s *Serving) Apply(ctx context.Context, d v1.OnlineDeployment) error {
	k := key(d.EndpointName, d.Name)
	dir := filepath.Join(s.cfg.Dir, d.EndpointName, d.Name, "g"+strconv.Itoa(d.Generation))
	if err := s.prepare(ctx, d, dir); err != nil {
		s.fail(d, fmt.Sprintf("preparing the deployment's files: %v", err))
		return err
	}
	gctx, cancel := context.WithCancel(s.ctx)
	g := &generation{spec: d, dir: dir, cancel: cancel}
	for i := range max(d.InstanceCount, 1) {
		name := fmt.Sprintf("%s-%d-%d", d.Name, d.Generation, i)
		g.instances = append(g.instances, &instance{name: name, log: filepath.Join(dir, name+".log")})
	}
	s.mu.Lock()
	if old := s.next[k]; old != nil {
		old.cancel()
	}
	if cur := s.runs[k]; cur == nil {
		s.runs[k] = g
	} else {
		s.next[k] = g
	}
	s.mu.Unlock()
	for _, in := range g.instances {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.supervise(gctx, g, in)
		}()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.awaitReady(gctx, g)
	}()
	return nil
}

// Remove stops a deployment's instances and removes its files.
func (s *Serving) Remove(endpoint, name string) {
	k := key(endpoint, name)
	s.mu.Lock()
	for _, g := range []*generation{s.runs[k], s.next[k]} {
		if g != nil {
			g.cancel()
		}
	}
	delete(s.runs, k)
	delete(s.next, k)
	s.mu.Unlock()
	// The folder moves aside at once, so a deployment created again under the same name
	// starts clean; it is removed once its processes (which end with their generation's
	// context) have had time to go.
	dir := filepath.Join(s.cfg.Dir, endpoint, name)
	trash := fmt.Sprintf("%s.deleted-%d", dir, s.cfg.Now().UnixNano())
	if err := os.Rename(dir, trash); err != nil {
		trash = dir
	}
	time.AfterFunc(15*time.Second, func() { os.RemoveAll(trash) })
}

// prepare lays out a generation's folder: code/ and model/ (AZUREML_MODEL_DIR).
func (s *Serving) prepare(ctx context.Context, d v1.OnlineDeployment, dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "model"), 0o755); err != nil {
		return err
	}
	if err := archive.UnpackFromStore(ctx, s.artifacts, DeploymentUploadKey(d, "code"), filepath.Join(dir, "code")); err != nil {
		return err
	}
	if d.Model == nil {
		return nil
	}
	modelKey := DeploymentUploadKey(d, "model")
	if d.Model.Path == "" {
		modelKey = ModelKey(d.Model.Name, d.Model.Version)
	}
	return archive.UnpackFromStore(ctx, s.artifacts, modelKey, filepath.Join(dir, "model"))
}

// Limits of one local deployment: each instance is a scoring host with one Python process
// per concurrent request, all on this machine.
const (
	MaxInstances          = 16
	MaxWorkersPerInstance = 64
)

// CheckDeployment refuses a deployment the local compute cannot run, before it is stored.
func CheckDeployment(d *v1.OnlineDeploymentSpec) error {
	if d.InstanceCount > MaxInstances {
		return fmt.Errorf("instance_count: %d instances is more than the local compute runs (at most %d per deployment); lower it, or deploy to a Kubernetes compute", d.InstanceCount, MaxInstances)
	}
	if n := d.RequestSettings.MaxConcurrentRequestsPerInstance; n > MaxWorkersPerInstance {
		return fmt.Errorf("request_settings.max_concurrent_requests_per_instance: each concurrent request gets a Python worker process, and %d is more than the local compute starts (at most %d per instance); lower it, or add instances", n, MaxWorkersPerInstance)
	}
	return nil
}

// DeploymentPrefix holds the uploads of one generation of a deployment.
func DeploymentPrefix(d v1.OnlineDeployment) string {
	return fmt.Sprintf("endpoints/%s/deployments/%s/g%d", d.EndpointName, d.Name, d.Generation)
}

// DeploymentUploadKey is the tar of an upload ("code", "model") of a deployment generation.
func DeploymentUploadKey(d v1.OnlineDeployment, part string) string {
	return DeploymentPrefix(d) + "/" + part + ".tar"
}

// ModelKey is the tar of a registered model version's files: one file, or one folder.
func ModelKey(name, version string) string { return "models/" + name + "/" + version + ".tar" }

// supervise runs one instance until its generation ends, restarting it when it exits. An
// init() failure (exit code 3) fails the deployment instead.
func (s *Serving) supervise(ctx context.Context, g *generation, in *instance) {
	backoff := s.cfg.RestartBackoff
	for ctx.Err() == nil {
		started := s.cfg.Now()
		code, err := s.runInstance(ctx, g, in)
		if s.setReady(in, false) {
			s.OnChange(g.spec.EndpointName)
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.fail(g.spec, fmt.Sprintf("starting instance %s: %v", in.name, err))
			return
		}
		if code == notReadyInTime {
			r := probeOrDefault(g.spec.ReadinessProbe)
			s.fail(g.spec, fmt.Sprintf("instance %s was not ready %d s after it started (readiness_probe initial_delay + period × failure_threshold), so it was stopped; its init() may hang: see berth online-deployment get-logs -n %s -e %s",
				in.name, r.InitialDelay+r.Period*r.FailureThreshold, g.spec.Name, g.spec.EndpointName))
			return
		}
		if code == initFailedExit {
			msg, _ := os.ReadFile(in.log + ".termination")
			s.fail(g.spec, fmt.Sprintf("init() of the scoring script failed in instance %s:\n%s", in.name, strings.TrimSpace(string(msg))))
			return
		}
		s.log.Warn("scoring instance exited; restarting", "deployment", key(g.spec.EndpointName, g.spec.Name),
			"instance", in.name, "exit_code", code, "backoff", backoff)
		if s.cfg.Now().Sub(started) > time.Minute {
			backoff = s.cfg.RestartBackoff
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, time.Minute)
	}
}

// initFailedExit is the exit code of a scoring host whose init() raised.
const initFailedExit = 3

// runInstance starts the scoring host, marks it ready when /ready answers, and waits for it
// to exit or for its generation to end.
func (s *Serving) runInstance(ctx context.Context, g *generation, in *instance) (int, error) {
	port, err := freePort()
	if err != nil {
		return 0, err
	}
	d := g.spec
	in.url = "http://127.0.0.1:" + strconv.Itoa(port)
	rs := d.RequestSettings
	args := []string{"score",
		"--script", filepath.Join(g.dir, "code", d.CodeConfiguration.ScoringScript),
		"--code-dir", filepath.Join(g.dir, "code"),
		"--model-dir", filepath.Join(g.dir, "model"),
		"--workers", strconv.Itoa(max(rs.MaxConcurrentRequestsPerInstance, 1)),
		"--host", "127.0.0.1", "--port", strconv.Itoa(port),
		"--request-timeout-ms", strconv.Itoa(rs.RequestTimeoutMS),
		"--max-concurrent-requests", strconv.Itoa(max(rs.MaxConcurrentRequestsPerInstance, 1)),
		"--max-queue-wait-ms", strconv.Itoa(rs.MaxQueueWaitMS),
		"--termination-log", in.log + ".termination",
	}
	// TODO(serving): instance logs are never rotated; a script that prints a lot fills the
	// disk. Rotate by size (keeping the last files) as the kubelet does container logs.
	logFile, err := os.OpenFile(in.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer logFile.Close()
	cmd := exec.Command(s.cfg.Runtime, args...)
	cmd.Dir = filepath.Join(g.dir, "code")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	env := append(jobEnviron(), "PATH="+s.cfg.BinDir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"PYTHONUNBUFFERED=1", "BERTH_ENDPOINT_NAME="+d.EndpointName, "BERTH_DEPLOYMENT_NAME="+d.Name)
	for k, v := range d.EnvironmentVariables {
		env = append(env, k+"="+v)
	}
	cmd.Env = env
	// The instance dies with the server (it is restarted by the next one), so no scoring
	// host outlives the workspace that routes to it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.spawn(cmd); err != nil {
		return 0, err
	}
	s.recordInstance(in, cmd.Process.Pid)
	exited := make(chan int, 1)
	go func() { exited <- exitCodeOf(cmd.Wait()) }()

	return s.watchInstance(ctx, d, in, cmd.Process.Pid, exited)
}

// watchInstance probes a running instance until it exits or its generation ends, as the
// kubelet does a pod: it is ready when /ready answers, until readiness_probe fails
// failure_threshold times in a row; liveness_probe failing that often kills it (and
// supervise starts it again); not ready within initial_delay + period × failure_threshold
// of the readiness probe, it is stopped and the deployment fails (an init() that hangs).
func (s *Serving) watchInstance(ctx context.Context, d v1.OnlineDeployment, in *instance, pid int, exited <-chan int) (int, error) {
	readiness, liveness := probeOrDefault(d.ReadinessProbe), probeOrDefault(d.LivenessProbe)
	startBy := s.cfg.Now().Add(seconds(readiness.InitialDelay + readiness.Period*readiness.FailureThreshold))
	tick := time.NewTicker(s.cfg.ReadyPoll)
	defer tick.Stop()
	var nextReadiness, nextLiveness time.Time
	readyFails, liveFails, everReady := 0, 0, false
	kill := func(sig syscall.Signal, wait time.Duration) {
		syscall.Kill(-pid, sig)
		select {
		case <-exited:
		case <-time.After(wait):
			syscall.Kill(-pid, syscall.SIGKILL)
			<-exited
		}
	}
	for {
		select {
		case code := <-exited:
			return code, nil
		case <-ctx.Done():
			kill(syscall.SIGTERM, 10*time.Second)
			return 0, nil
		case <-tick.C:
		}
		now := s.cfg.Now()
		ready, _ := in.state()
		switch {
		case !ready && probe(ctx, in.url+"/ready", seconds(readiness.Timeout)):
			readyFails, everReady = 0, true
			nextReadiness = now.Add(seconds(readiness.Period))
			nextLiveness = now.Add(seconds(liveness.InitialDelay))
			if s.setReady(in, true) {
				s.OnChange(d.EndpointName)
			}
		case !everReady && now.After(startBy):
			kill(syscall.SIGKILL, time.Second)
			return notReadyInTime, nil
		case ready && now.After(nextReadiness):
			nextReadiness = now.Add(seconds(readiness.Period))
			if probe(ctx, in.url+"/ready", seconds(readiness.Timeout)) {
				readyFails = 0
			} else if readyFails++; readyFails >= readiness.FailureThreshold && s.setReady(in, false) {
				s.OnChange(d.EndpointName)
			}
		}
		if ready && now.After(nextLiveness) {
			nextLiveness = now.Add(seconds(liveness.Period))
			if probe(ctx, in.url+"/", seconds(liveness.Timeout)) {
				liveFails = 0
			} else if liveFails++; liveFails >= liveness.FailureThreshold {
				s.log.Warn("liveness probe failed; restarting the instance", "instance", in.name)
				kill(syscall.SIGKILL, time.Second)
				return 0, nil // supervise starts it again
			}
		}
	}
}

// notReadyInTime is the pseudo exit code of an instance stopped for not becoming ready.
const notReadyInTime = -2

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }

// probeOrDefault is a deployment's probe, or Azure ML's defaults when it has none.
func probeOrDefault(p *v1.Probe) v1.Probe {
	if p == nil {
		return v1.Probe{InitialDelay: 10, Period: 10, Timeout: 2, SuccessThreshold: 1, FailureThreshold: 30}
	}
	return *p
}

func exitCodeOf(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// probe reports whether GET url answers 200 within timeout.
func probe(ctx context.Context, url string, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, max(timeout, time.Second))
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (s *Serving) setReady(in *instance, ready bool) bool {
	return in.setReady(ready, s.cfg.Now().UTC())
}

// awaitReady waits until every instance of a generation is ready, then makes it the serving
// generation and the deployment Succeeded.
func (s *Serving) awaitReady(ctx context.Context, g *generation) {
	tick := time.NewTicker(s.cfg.ReadyPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		all := true
		for _, in := range g.instances {
			if r, _ := in.state(); !r {
				all = false
			}
		}
		if !all {
			continue
		}
		k := key(g.spec.EndpointName, g.spec.Name)
		s.mu.Lock()
		if s.next[k] == g {
			s.runs[k].cancel()
			s.runs[k] = g
			delete(s.next, k)
		}
		s.mu.Unlock()
		s.retireOlderGenerations(ctx, g)
		_, err := s.store.UpdateDeployment(ctx, g.spec.EndpointName, g.spec.Name, func(d *v1.OnlineDeployment) error {
			if d.Generation == g.spec.Generation {
				d.ProvisioningState, d.Error = v1.StateSucceeded, nil
			}
			return nil
		})
		if err != nil && ctx.Err() == nil {
			s.log.Error("marking deployment ready", "deployment", k, "error", err)
		}
		s.OnChange(g.spec.EndpointName)
		return
	}
}

// servingFile records, in a deployment's folder, the generation that last became ready, so
// that a restart after a failed update serves it again.
const servingFile = "serving.json"

// retireOlderGenerations records g as the serving generation and removes the files of the
// generations before it.
func (s *Serving) retireOlderGenerations(ctx context.Context, g *generation) {
	dir := filepath.Join(s.cfg.Dir, g.spec.EndpointName, g.spec.Name)
	if err := jobrun.WriteJSON(filepath.Join(dir, servingFile), g.spec); err != nil {
		s.log.Error("recording the serving generation", "deployment", key(g.spec.EndpointName, g.spec.Name), "error", err)
	}
	for gen := 1; gen < g.spec.Generation; gen++ {
		old := g.spec
		old.Generation = gen
		s.artifacts.DeletePrefix(ctx, DeploymentPrefix(old))
		os.RemoveAll(filepath.Join(dir, "g"+strconv.Itoa(gen)))
	}
}

// fail marks a deployment generation Failed and stops it; an older generation keeps serving.
func (s *Serving) fail(d v1.OnlineDeployment, message string) {
	k := key(d.EndpointName, d.Name)
	s.log.Info("deployment failed", "deployment", k, "error", message)
	s.mu.Lock()
	for _, m := range []map[string]*generation{s.next, s.runs} {
		if g := m[k]; g != nil && g.spec.Generation == d.Generation {
			g.cancel()
			delete(m, k)
		}
	}
	s.mu.Unlock()
	_, err := s.store.UpdateDeployment(context.WithoutCancel(s.ctx), d.EndpointName, d.Name, func(cur *v1.OnlineDeployment) error {
		if cur.Generation == d.Generation {
			cur.ProvisioningState = v1.StateFailed
			cur.Error = &v1.JobError{Code: "DeploymentFailed", Message: message}
		}
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Error("marking deployment failed", "deployment", k, "error", err)
	}
	s.OnChange(d.EndpointName)
}

// Logs returns the last lines of the serving generation's instance logs.
func (s *Serving) Logs(endpoint, name string, lines int) (string, error) {
	s.mu.Lock()
	var gens []*generation
	for _, g := range []*generation{s.runs[key(endpoint, name)], s.next[key(endpoint, name)]} {
		if g != nil {
			gens = append(gens, g)
		}
	}
	s.mu.Unlock()
	var b strings.Builder
	for _, g := range gens {
		for _, in := range g.instances {
			tail, err := lastLines(in.log, lines)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return "", err
			}
			fmt.Fprintf(&b, "==> instance %s <==\n%s", in.name, tail)
		}
	}
	return b.String(), nil
}

func lastLines(path string, n int) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var ring []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		ring = append(ring, sc.Text())
		if len(ring) > n {
			ring = ring[1:]
		}
	}
	if len(ring) == 0 {
		return "", sc.Err()
	}
	return strings.Join(ring, "\n") + "\n", sc.Err()
}

// spawnRequest asks the spawner thread to start a process.
type spawnRequest struct {
	cmd  *exec.Cmd
	done chan error
}

// spawner starts processes from one OS thread that never exits: Pdeathsig fires when the
// thread that started a process ends, not the process, and Go may end other threads.
func (s *Serving) spawner() {
	runtime.LockOSThread()
	for req := range s.spawns {
		req.done <- req.cmd.Start()
	}
}

func (s *Serving) spawn(cmd *exec.Cmd) error {
	done := make(chan error, 1)
	s.spawns <- spawnRequest{cmd: cmd, done: done}
	return <-done
}

// recordInstance writes the instance's pid and start time, so that a server starting after a
// crash can stop an instance the crash left running.
func (s *Serving) recordInstance(in *instance, pid int) {
	ticks, _ := jobrun.StartTicks(pid)
	jobrun.WriteJSON(in.log+".pid", jobrun.Process{PID: pid, StartTicks: ticks, Groups: []int{pid}})
}

// stopLeftovers kills the instances recorded under dir that still run.
func (s *Serving) stopLeftovers(dir string) {
	matches, _ := filepath.Glob(filepath.Join(dir, "g*", "*.log.pid"))
	for _, m := range matches {
		var p jobrun.Process
		if jobrun.ReadJSON(m, &p) == nil && p.Alive() {
			syscall.Kill(-p.PID, syscall.SIGKILL)
		}
	}
}
