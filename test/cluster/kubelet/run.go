package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	vklog "github.com/virtual-kubelet/virtual-kubelet/log"
	vkslog "github.com/virtual-kubelet/virtual-kubelet/log/slog"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// host is what every node of this process shares: the API client, the pod IP pool, the
// process spawner and the settings containers are started with.
type host struct {
	client      kubernetes.Interface
	log         *slog.Logger
	stateDir    string
	shimDir     string // holds python and python3, put first on containers' PATH
	apiHost     string // how pods reach the API server (KUBERNETES_SERVICE_HOST/PORT)
	apiPort     string
	ips         *ipPool
	spawner     *spawner
	backoffBase time.Duration
	self        string // this binary, re-executed to start containers
}

func run(ctx context.Context, opts options, logger *slog.Logger) error {
	vkLevel := slog.LevelWarn
	if opts.verbose {
		vkLevel = slog.LevelDebug
	}
	vklog.L = vkslog.FromSlog(slog.New(quietHandler{slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: vkLevel})}))
	// nodeutil.NewNode makes a client from $KUBECONFIG before it takes ours, and warns if it
	// cannot.
	os.Setenv("KUBECONFIG", opts.kubeconfig)

	h, err := newHost(opts, logger)
	if err != nil {
		return err
	}
	defer h.ips.close()
	cert, err := selfSignedCert()
	if err != nil {
		return err
	}

	nodeCtx, cancelNodes := context.WithCancel(context.Background())
	defer cancelNodes()
	var nodes []*kubeletNode
	for i := range opts.nodes {
		n, err := startNode(nodeCtx, h, opts, fmt.Sprintf("%s-%d", opts.nodePrefix, i), cert)
		if err != nil {
			return err
		}
		nodes = append(nodes, n)
	}
	logger.Info("nodes registered", "nodes", opts.nodes, "state_dir", h.stateDir)

	var failed error
	select {
	case <-ctx.Done():
	case failed = <-firstDone(nodes):
	}
	logger.Info("stopping: killing every pod's processes")
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Go(func() { n.provider.killAll(5 * time.Second) })
	}
	wg.Wait()
	cancelNodes()
	for _, n := range nodes {
		n.stop()
	}
	return failed
}

func newHost(opts options, logger *slog.Logger) (*host, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", opts.kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("reading --kubeconfig: %w", err)
	}
	// Several nodes share this client; client-go's default of 5 requests a second would make
	// pod status lag behind by seconds.
	cfg.QPS, cfg.Burst = 100, 200
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	server, err := url.Parse(cfg.Host)
	if err != nil {
		return nil, fmt.Errorf("parsing the API server address %q: %w", cfg.Host, err)
	}
	apiHost, apiPort, err := net.SplitHostPort(server.Host)
	if err != nil {
		apiHost, apiPort = server.Hostname(), "443"
	}

	stateDir := opts.stateDir
	if stateDir == "" {
		if stateDir, err = os.MkdirTemp("", "process-kubelet-"); err != nil {
			return nil, err
		}
	}
	if stateDir, err = filepath.Abs(stateDir); err != nil {
		return nil, err
	}
	shimDir, err := writePythonShim(stateDir, opts.python)
	if err != nil {
		return nil, err
	}
	ips, err := newIPPool(filepath.Join(os.TempDir(), "process-kubelet-ip-blocks"))
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return &host{
		client: client, log: logger, stateDir: stateDir, shimDir: shimDir,
		apiHost: apiHost, apiPort: apiPort, ips: ips, spawner: newSpawner(),
		backoffBase: opts.restartBackoff, self: self,
	}, nil
}

// writePythonShim makes a folder holding python and python3 links to the chosen interpreter:
// on these machines python3 on PATH is a pyenv build that does not see Debian's packages.
func writePythonShim(stateDir, python string) (string, error) {
	dir := filepath.Join(stateDir, "python-shim")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for _, name := range []string{"python", "python3"} {
		link := filepath.Join(dir, name)
		if err := os.Remove(link); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		if err := os.Symlink(python, link); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// firstDone reports the error of the first node whose controllers stop on their own.
func firstDone(nodes []*kubeletNode) <-chan error {
	ch := make(chan error, len(nodes))
	for _, n := range nodes {
		go func() {
			<-n.vk.Done()
			err := n.vk.Err()
			if err == nil {
				err = fmt.Errorf("node %s stopped", n.name)
			}
			ch <- err
		}()
	}
	return ch
}

// quietHandler drops virtual-kubelet's warning that it serves no HTTP: startNode serves the
// kubelet API itself, on a listener it opened first.
type quietHandler struct{ slog.Handler }

func (h quietHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "TLS config not provided, not starting up http service" {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietHandler{h.Handler.WithAttrs(attrs)}
}

func (h quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{h.Handler.WithGroup(name)}
}
