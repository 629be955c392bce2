package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/node"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"
	"github.com/virtual-kubelet/virtual-kubelet/node/nodeutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	corev1listers "k8s.io/client-go/listers/core/v1"
)

// kubeletVersion is what nodes report: the release the test control plane runs.
const kubeletVersion = "v1.37.2"

// node is one registered node: virtual-kubelet's node and pod controllers over a provider,
// and the kubelet API server the API server calls for logs and exec.
type kubeletNode struct {
	name     string
	vk       *nodeutil.Node
	provider *provider
	server   *http.Server
}

func startNode(ctx context.Context, h *host, opts options, name string, cert tls.Certificate) (*kubeletNode, error) {
	// The listener comes first so its port, free for sure, can be written into the node's
	// status before the node is registered.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	spec, err := nodeSpec(name, opts, port)
	if err != nil {
		l.Close()
		return nil, err
	}

	var p *provider
	var pods corev1listers.PodLister
	newProvider := func(cfg nodeutil.ProviderConfig) (nodeutil.Provider, node.NodeProvider, error) {
		*cfg.Node = spec
		p = newProvider(h, spec.Status.Allocatable.DeepCopy())
		pods = cfg.Pods
		return p, nil, nil
	}
	vk, err := nodeutil.NewNode(name, newProvider, nodeutil.WithClient(h.client), func(cfg *nodeutil.NodeConfig) error {
		cfg.NumWorkers = 4
		// The provider resolves env itself: it knows the pod IP it allocated, which
		// virtual-kubelet's resolver (run before the provider sees the pod) cannot.
		cfg.SkipDownwardAPIResolution = true
		return nil
	})
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("creating node %s: %w", name, err)
	}

	// The API server dials this port for logs and exec without checking the certificate
	// (start.sh sets no --kubelet-certificate-authority) and without a client certificate,
	// so the handler authenticates no one: it listens on loopback only, for tests.
	handler := api.PodHandler(api.PodHandlerConfig{
		RunInContainer:    p.RunInContainer,
		AttachToContainer: p.AttachToContainer,
		GetContainerLogs:  p.GetContainerLogs,
		GetPods:           p.GetPods,
		GetPodsFromKubernetes: func(context.Context) ([]*corev1.Pod, error) {
			return pods.List(labels.Everything())
		},
		PortForward: p.PortForward,
	}, true)
	server := &http.Server{Handler: handler, ReadHeaderTimeout: 30 * time.Second}
	go server.Serve(tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})) //nolint:errcheck // Serve returns when server is closed

	n := &kubeletNode{name: name, vk: vk, provider: p, server: server}
	go vk.Run(ctx) //nolint:errcheck // the error is read from vk.Err once vk.Done is closed
	if err := vk.WaitReady(ctx, time.Minute); err != nil {
		n.stop()
		return nil, fmt.Errorf("node %s did not become ready: %w", name, err)
	}
	return n, nil
}

// stop waits a little for the node's controllers: with the API server gone they retry for
// long, and the pods' processes, the part that matters, are already stopped.
func (n *kubeletNode) stop() {
	n.server.Close()
	select {
	case <-n.vk.Done():
	case <-time.After(5 * time.Second):
	}
}

// nodeSpec describes this host as a node: its cores and memory, 110 pods, the kubelet port,
// and the labels and taints the flags ask for.
func nodeSpec(name string, opts options, port int) (corev1.Node, error) {
	taints, err := parseTaints(opts.taints)
	if err != nil {
		return corev1.Node{}, err
	}
	nodeLabels := map[string]string{
		"kubernetes.io/hostname": name,
		"kubernetes.io/os":       runtime.GOOS,
		"kubernetes.io/arch":     runtime.GOARCH,
		"type":                   "process-kubelet",
	}
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(memTotal(), resource.BinarySI),
		corev1.ResourcePods:   *resource.NewQuantity(110, resource.DecimalSI),
	}
	var fs syscall.Statfs_t
	if syscall.Statfs(os.TempDir(), &fs) == nil {
		capacity[corev1.ResourceEphemeralStorage] = *resource.NewQuantity(int64(fs.Blocks)*fs.Bsize, resource.BinarySI)
	}
	if opts.gpus > 0 {
		capacity["nvidia.com/gpu"] = *resource.NewQuantity(int64(opts.gpus), resource.DecimalSI)
		nodeLabels["nvidia.com/gpu.present"] = "true"
	}
	for k, v := range opts.labels {
		nodeLabels[k] = v
	}

	now := metav1.Now()
	condition := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, message string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: message,
			LastHeartbeatTime: now, LastTransitionTime: now}
	}
	return corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: nodeLabels},
		Spec:       corev1.NodeSpec{Taints: taints},
		Status: corev1.NodeStatus{
			Capacity:    capacity,
			Allocatable: capacity.DeepCopy(),
			Conditions: []corev1.NodeCondition{
				// virtual-kubelet turns Ready to True once its controllers run.
				condition(corev1.NodeReady, corev1.ConditionFalse, "KubeletNotReady", "process-kubelet is starting"),
				condition(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
				condition(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
				condition(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
			},
			// Only an InternalIP: the API server would try a Hostname address first, and node
			// names do not resolve.
			Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(port)}},
			NodeInfo: corev1.NodeSystemInfo{
				OperatingSystem:         runtime.GOOS,
				Architecture:            runtime.GOARCH,
				KernelVersion:           kernelVersion(),
				OSImage:                 "host processes",
				ContainerRuntimeVersion: "process://" + kubeletVersion,
				KubeletVersion:          kubeletVersion,
			},
		},
	}, nil
}

// parseTaints reads key=value:Effect or key:Effect, as kubectl taint writes them.
func parseTaints(specs []string) ([]corev1.Taint, error) {
	var taints []corev1.Taint
	for _, s := range specs {
		kv, effect, ok := strings.Cut(s, ":")
		e := corev1.TaintEffect(effect)
		if !ok || (e != corev1.TaintEffectNoSchedule && e != corev1.TaintEffectPreferNoSchedule && e != corev1.TaintEffectNoExecute) {
			return nil, fmt.Errorf("--taints %q: write key=value:Effect with Effect one of NoSchedule, PreferNoSchedule, NoExecute", s)
		}
		k, v, _ := strings.Cut(kv, "=")
		taints = append(taints, corev1.Taint{Key: k, Value: v, Effect: e})
	}
	return taints, nil
}

func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func kernelVersion() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(b))
}
