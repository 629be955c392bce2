package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// hostIP is every node's address and so every pod's status.hostIP.
const hostIP = "127.0.0.1"

// podRuntime runs one pod: it prepares the volumes, runs the init containers in order, then
// supervises the containers under the pod's restartPolicy, and reports status as it changes.
type podRuntime struct {
	host        *host
	provider    *provider
	pod         *corev1.Pod // as created: what the containers run (a pod's spec cannot change)
	dir         string      // state folder: volumes/ and logs/
	ip          string
	allocatable corev1.ResourceList
	log         *slog.Logger

	ctx    context.Context // cancelled when the pod is deleted or the kubelet stops
	cancel context.CancelFunc

	changed  chan struct{} // a status change to send; holds at most one
	finished chan struct{} // closed once the lifecycle is over and every process has exited
	gone     chan struct{} // closed once the pod is deleted and forgotten

	mu          sync.Mutex
	current     *corev1.Pod // the latest from the API server: labels, annotations, status base
	volumePaths map[string]string
	prepared    bool
	waitReason  string // why the pod is not prepared yet
	waitMessage string
	initDone    bool
	init        []*container
	containers  []*container
	phase       corev1.PodPhase // set once terminal: Succeeded or Failed
	startTime   metav1.Time
	conditions  map[corev1.PodConditionType]corev1.PodCondition
	deleting    bool
	grace       time.Duration // for processes started while the pod is being deleted
}

func newPodRuntime(p *provider, pod *corev1.Pod) (*podRuntime, error) {
	ip, err := p.host.ips.allocate()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(p.host.stateDir, "pods", fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID))
	ctx, cancel := context.WithCancel(context.Background())
	pr := &podRuntime{
		host: p.host, provider: p, pod: pod.DeepCopy(), dir: dir, ip: ip,
		allocatable: p.allocatable,
		log:         p.host.log.With("pod", pod.Namespace+"/"+pod.Name, "node", pod.Spec.NodeName),
		ctx:         ctx, cancel: cancel,
		changed: make(chan struct{}, 1), finished: make(chan struct{}), gone: make(chan struct{}),
		current: pod.DeepCopy(), startTime: metav1.Now(),
		conditions: map[corev1.PodConditionType]corev1.PodCondition{},
		waitReason: "ContainerCreating",
	}
	for _, c := range pod.Spec.InitContainers {
		pr.init = append(pr.init, newContainer(c, true))
	}
	for _, c := range pod.Spec.Containers {
		pr.containers = append(pr.containers, newContainer(c, false))
	}
	// TODO(berth): ephemeral containers (kubectl debug) are not run, and activeDeadlineSeconds
	// does not fail the pod (Jobs enforce their own activeDeadlineSeconds).
	return pr, nil
}

func (p *podRuntime) update(pod *corev1.Pod) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.current = pod.DeepCopy()
	return nil
}

// run is the pod's lifecycle; it returns once no process of the pod is left.
func (p *podRuntime) run() {
	go p.sendStatusLoop()
	p.statusChanged()
	defer close(p.finished)
	p.log.Info("starting pod", "ip", p.ip)

	if !p.prepare() {
		return
	}
	if !p.runInitContainers() {
		return
	}
	var wg sync.WaitGroup
	for _, c := range p.containers {
		wg.Go(func() { p.supervise(c) })
	}
	wg.Wait()
	if p.ctx.Err() != nil {
		return
	}
	// Every container has stopped for good under the restart policy.
	p.mu.Lock()
	p.phase = p.terminalPhaseLocked()
	p.mu.Unlock()
	p.log.Info("pod finished", "phase", p.phase)
	p.statusChanged()
}

// prepare makes the pod's folders and volumes, retrying while a secret or configMap is
// missing, as the kubelet does, with the reason shown on the waiting containers.
func (p *podRuntime) prepare() bool {
	if err := os.MkdirAll(filepath.Join(p.dir, "logs"), 0o755); err != nil {
		p.setWaiting("CreateContainerError", err.Error())
	}
	delay := time.Second
	for {
		paths, refresh, err := p.prepareVolumes(p.ctx)
		if err == nil {
			p.mu.Lock()
			p.volumePaths, p.prepared = paths, true
			p.mu.Unlock()
			if !refresh.IsZero() {
				go p.refreshTokens(refresh)
			}
			p.statusChanged()
			return true
		}
		p.log.Warn("preparing volumes", "err", err)
		p.setWaiting("ContainerCreating", "MountVolume failed: "+err.Error())
		if !sleep(p.ctx, delay) {
			return false
		}
		delay = min(2*delay, 30*time.Second)
	}
}

func (p *podRuntime) setWaiting(reason, message string) {
	p.mu.Lock()
	p.waitReason, p.waitMessage = reason, message
	p.mu.Unlock()
	p.statusChanged()
}

// refreshTokens rewrites the projected volumes before their service account tokens expire.
func (p *podRuntime) refreshTokens(at time.Time) {
	for {
		if !sleep(p.ctx, time.Until(at)) {
			return
		}
		_, next, err := p.prepareVolumes(p.ctx)
		if err != nil {
			p.log.Warn("refreshing service account tokens", "err", err)
			next = time.Now().Add(10 * time.Second)
		}
		at = next
	}
}

// runInitContainers runs each init container to completion, in order. A failure fails the pod
// under restartPolicy Never and is retried with backoff otherwise.
func (p *podRuntime) runInitContainers() bool {
	for _, c := range p.init {
		// TODO(berth): sidecar init containers (restartPolicy Always) run to completion like
		// the others instead of running alongside the containers.
		for {
			code := p.runInstance(c)
			if p.ctx.Err() != nil {
				return false
			}
			if code == 0 {
				break
			}
			if p.pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
				p.mu.Lock()
				p.phase = corev1.PodFailed
				p.mu.Unlock()
				p.log.Info("init container failed", "container", c.spec.Name, "exit_code", code)
				p.statusChanged()
				return false
			}
			if !p.backoff(c) {
				return false
			}
		}
	}
	p.mu.Lock()
	p.initDone = true
	p.mu.Unlock()
	p.statusChanged()
	return true
}

// supervise runs one container, restarting it as the pod's restartPolicy says.
func (p *podRuntime) supervise(c *container) {
	for {
		code := p.runInstance(c)
		if p.ctx.Err() != nil {
			return
		}
		switch p.pod.Spec.RestartPolicy {
		case corev1.RestartPolicyNever:
			return
		case corev1.RestartPolicyOnFailure:
			if code == 0 {
				return
			}
		}
		if !p.backoff(c) {
			return
		}
	}
}

// backoff waits before a restart: at once the first time, then the base delay doubling up
// to five minutes, reset after ten minutes of running (the kubelet's CrashLoopBackOff).
func (p *podRuntime) backoff(c *container) bool {
	p.mu.Lock()
	delay := c.nextBackoff(p.host.backoffBase)
	if delay > 0 {
		c.setState(corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
			Reason:  "CrashLoopBackOff",
			Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", delay, c.spec.Name, p.pod.Name),
		}})
	}
	p.mu.Unlock()
	p.statusChanged()
	return sleep(p.ctx, delay)
}

// terminate stops the pod for its deletion; once every process has exited, the final status
// is written and the pod removed from the API server.
func (p *podRuntime) terminate(grace time.Duration) {
	p.mu.Lock()
	if p.deleting {
		p.mu.Unlock()
		return
	}
	p.deleting, p.grace = true, grace
	procs := p.runningLocked()
	p.mu.Unlock()

	p.log.Info("stopping pod", "grace", grace)
	p.cancel()
	for _, proc := range procs {
		go proc.stop(grace)
	}
	go func() {
		<-p.finished
		p.finishDeletion()
	}()
}

// stop kills the pod's processes without touching the API server: the kubelet is stopping.
func (p *podRuntime) stop(grace time.Duration) {
	p.mu.Lock()
	p.deleting, p.grace = true, grace
	procs := p.runningLocked()
	p.mu.Unlock()
	p.cancel()
	for _, proc := range procs {
		go proc.stop(grace)
	}
	<-p.finished
}

func (p *podRuntime) runningLocked() []*process {
	var procs []*process
	for _, c := range append(append([]*container{}, p.init...), p.containers...) {
		if c.proc != nil {
			procs = append(procs, c.proc)
		}
	}
	return procs
}

// finishDeletion writes the pod's terminal status, then deletes it for good (grace period 0,
// only this pod's UID): the Job controller reads the phase of a deleted pod, so the status
// comes first. Then the pod's IP and folder are freed.
func (p *podRuntime) finishDeletion() {
	p.mu.Lock()
	if p.phase == "" {
		p.phase = p.terminalPhaseLocked()
	}
	p.mu.Unlock()
	final := p.snapshot()
	p.statusChanged()

	if !p.provider.stopping.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		pods := p.host.client.CoreV1().Pods(p.pod.Namespace)
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			current, err := pods.Get(ctx, p.pod.Name, metav1.GetOptions{})
			if err != nil || current.UID != p.pod.UID {
				return err
			}
			if current.Status.Phase == corev1.PodSucceeded || current.Status.Phase == corev1.PodFailed {
				return nil
			}
			current.Status = final.Status
			_, err = pods.UpdateStatus(ctx, current, metav1.UpdateOptions{})
			return err
		})
		if err != nil && !apierrors.IsNotFound(err) {
			p.log.Warn("writing the final status", "err", err)
		}
		zero := int64(0)
		err = pods.Delete(ctx, p.pod.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: metav1.NewUIDPreconditions(string(p.pod.UID))})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			p.log.Warn("deleting the pod", "err", err)
		}
	}
	p.provider.remove(p)
	close(p.gone)
	p.host.ips.release(p.ip)
	if err := os.RemoveAll(p.dir); err != nil {
		p.log.Warn("removing the pod's folder", "err", err)
	}
	p.log.Info("pod removed")
}

// statusChanged asks for the status to be sent; changes made meanwhile go in the same send.
func (p *podRuntime) statusChanged() {
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// sendStatusLoop sends the status from one goroutine, so updates never arrive out of order.
func (p *podRuntime) sendStatusLoop() {
	for {
		select {
		case <-p.changed:
			p.provider.sendStatus(p.snapshot())
		case <-p.gone:
			return
		}
	}
}

func (p *podRuntime) findSpec(name string) *corev1.Container {
	for _, c := range append(append([]*container{}, p.init...), p.containers...) {
		if c.spec.Name == name {
			return &c.spec
		}
	}
	return nil
}

// sleep waits d, reporting false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
