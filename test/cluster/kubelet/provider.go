package main

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"
	corev1 "k8s.io/api/core/v1"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// provider is one node's virtual-kubelet provider: it keeps that node's pods and answers the
// pod controller and the kubelet API. The pods' lifecycles live in podRuntime.
type provider struct {
	host        *host
	allocatable corev1.ResourceList // the node's, for resourceFieldRef limits that are not set

	mu     sync.Mutex
	pods   map[string]*podRuntime // by namespace/name
	notify func(*corev1.Pod)

	// stopping is set when the kubelet shuts down: pods killed then are not reported Failed,
	// as a real kubelet that stops leaves its pods' status alone.
	stopping atomic.Bool
}

func newProvider(h *host, allocatable corev1.ResourceList) *provider {
	return &provider{host: h, allocatable: allocatable, pods: map[string]*podRuntime{}}
}

func podKey(namespace, name string) string { return namespace + "/" + name }

// NotifyPods makes the provider asynchronous: pod status is pushed as it changes instead of
// being polled every five seconds.
func (p *provider) NotifyPods(_ context.Context, notify func(*corev1.Pod)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.notify = notify
}

func (p *provider) sendStatus(pod *corev1.Pod) {
	p.mu.Lock()
	notify := p.notify
	p.mu.Unlock()
	if notify != nil && !p.stopping.Load() {
		notify(pod)
	}
}

// CreatePod starts a pod: it gets its IP at once, and its containers start in the background.
func (p *provider) CreatePod(_ context.Context, pod *corev1.Pod) error {
	key := podKey(pod.Namespace, pod.Name)
	p.mu.Lock()
	if old, ok := p.pods[key]; ok {
		p.mu.Unlock()
		if old.pod.UID == pod.UID {
			return old.update(pod)
		}
		// TODO(berth): a pod recreated under the same name while the old one still stops
		// (StatefulSets) waits for the pod controller's retry.
		return errors.New("a previous pod of this name is still stopping")
	}
	pr, err := newPodRuntime(p, pod)
	if err != nil {
		p.mu.Unlock()
		return err
	}
	p.pods[key] = pr
	p.mu.Unlock()
	go pr.run()
	return nil
}

// UpdatePod takes the new labels and annotations; a pod's containers cannot change.
func (p *provider) UpdatePod(_ context.Context, pod *corev1.Pod) error {
	pr, err := p.find(pod.Namespace, pod.Name)
	if err != nil {
		return err
	}
	return pr.update(pod)
}

// DeletePod stops the pod's containers (SIGTERM, then SIGKILL after the grace period); once
// they have all exited, the pod's final status is written and the pod is removed from the
// API server, as the kubelet does. It may be called several times.
func (p *provider) DeletePod(_ context.Context, pod *corev1.Pod) error {
	pr, err := p.find(pod.Namespace, pod.Name)
	if err != nil {
		return err
	}
	grace := 30 * time.Second
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	if pod.DeletionGracePeriodSeconds != nil {
		grace = time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	}
	pr.terminate(grace)
	return nil
}

func (p *provider) remove(pr *podRuntime) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := podKey(pr.pod.Namespace, pr.pod.Name)
	if p.pods[key] == pr {
		delete(p.pods, key)
	}
}

func (p *provider) find(namespace, name string) (*podRuntime, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pr, ok := p.pods[podKey(namespace, name)]
	if !ok {
		return nil, errdefs.NotFoundf("pod %s/%s is not on this node", namespace, name)
	}
	return pr, nil
}

func (p *provider) GetPod(_ context.Context, namespace, name string) (*corev1.Pod, error) {
	pr, err := p.find(namespace, name)
	if err != nil {
		return nil, err
	}
	return pr.snapshot(), nil
}

func (p *provider) GetPodStatus(ctx context.Context, namespace, name string) (*corev1.PodStatus, error) {
	pod, err := p.GetPod(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	return &pod.Status, nil
}

func (p *provider) GetPods(context.Context) ([]*corev1.Pod, error) {
	p.mu.Lock()
	all := make([]*podRuntime, 0, len(p.pods))
	for _, pr := range p.pods {
		all = append(all, pr)
	}
	p.mu.Unlock()
	pods := make([]*corev1.Pod, 0, len(all))
	for _, pr := range all {
		pods = append(pods, pr.snapshot())
	}
	return pods, nil
}

// killAll stops every pod's processes when the kubelet shuts down, waiting up to grace for
// them to exit on SIGTERM before SIGKILL.
func (p *provider) killAll(grace time.Duration) {
	p.stopping.Store(true)
	p.mu.Lock()
	all := make([]*podRuntime, 0, len(p.pods))
	for _, pr := range p.pods {
		all = append(all, pr)
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, pr := range all {
		wg.Go(func() { pr.stop(grace) })
	}
	wg.Wait()
}

func (p *provider) GetContainerLogs(ctx context.Context, namespace, podName, containerName string, opts api.ContainerLogOpts) (io.ReadCloser, error) {
	pr, err := p.find(namespace, podName)
	if err != nil {
		return nil, err
	}
	return pr.logs(ctx, containerName, opts)
}

func (p *provider) RunInContainer(ctx context.Context, namespace, podName, containerName string, cmd []string, attach api.AttachIO) error {
	pr, err := p.find(namespace, podName)
	if err != nil {
		return err
	}
	return pr.exec(ctx, containerName, cmd, attach)
}

// AttachToContainer is not supported: a container's output goes to its log file only.
func (p *provider) AttachToContainer(context.Context, string, string, string, api.AttachIO) error {
	// TODO(berth): kubectl attach; containers' stdin is /dev/null and output goes to files.
	return errdefs.InvalidInput("attach is not supported by the process kubelet; use kubectl logs -f")
}

// PortForward connects the stream to the port on the pod's own loopback address.
func (p *provider) PortForward(ctx context.Context, namespace, podName string, port int32, stream io.ReadWriteCloser) error {
	pr, err := p.find(namespace, podName)
	if err != nil {
		return err
	}
	defer stream.Close()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(pr.ip, strconv.Itoa(int(port))))
	if err != nil {
		return err
	}
	defer conn.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(conn, stream); done <- struct{}{} }() //nolint:errcheck // either side closing ends the forward
	go func() { io.Copy(stream, conn); done <- struct{}{} }() //nolint:errcheck
	select {
	case <-done:
	case <-ctx.Done():
	}
	return nil
}

// GetStatsSummary is not served: nothing here measures pods' resource use.
func (p *provider) GetStatsSummary(context.Context) (*statsv1alpha1.Summary, error) {
	// TODO(berth): stats from /proc for each pod's process groups, for metrics-server.
	return nil, errdefs.NotFound("stats are not collected by the process kubelet")
}

func (p *provider) GetMetricsResource(context.Context) ([]*dto.MetricFamily, error) {
	return nil, errdefs.NotFound("metrics are not collected by the process kubelet")
}
