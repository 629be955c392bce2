// Command process-kubelet registers Kubernetes nodes backed by this host and runs each pod's
// containers as host processes, so Jobs and Deployments run for real on machines without a
// container engine. It is built on virtual-kubelet and exists for berth's tests only.
//
//	process-kubelet --kubeconfig KUBECONFIG [--nodes N] [--state-dir DIR] [--gpus N] ...
//
// Every pod gets its own loopback address (127.x.y.z) as its pod IP; images are recorded and
// ignored: each container runs its command with the host's programs, with `python` and
// `python3` in front of PATH pointing at --python. Volumes are bind-mounted in a mount
// namespace of the container's own, which is why the kubelet runs as root.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

type options struct {
	kubeconfig     string
	nodes          int
	nodePrefix     string
	stateDir       string
	python         string
	gpus           int
	labels         map[string]string
	taints         []string
	restartBackoff time.Duration
	verbose        bool
}

func main() {
	// The kubelet starts each container through itself (see mountns.go): that child must not
	// parse the kubelet's flags.
	if len(os.Args) > 1 && os.Args[1] == execContainerCommand {
		os.Exit(execContainer(os.Args[2:]))
	}

	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "process-kubelet:", err)
		os.Exit(2)
	}
	level := slog.LevelInfo
	if opts.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, opts, logger); err != nil {
		logger.Error("process-kubelet failed", "err", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	var o options
	var labels, taints string
	fs := flag.NewFlagSet("process-kubelet", flag.ContinueOnError)
	fs.StringVar(&o.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the API server to register with")
	fs.IntVar(&o.nodes, "nodes", 1, "number of nodes to register, named PREFIX-0 to PREFIX-(N-1)")
	fs.StringVar(&o.nodePrefix, "node-prefix", "process-node", "prefix of the node names")
	fs.StringVar(&o.stateDir, "state-dir", "", "folder for pods' volumes and logs (default: a new temporary folder)")
	fs.StringVar(&o.python, "python", "/usr/bin/python3", "interpreter put first on containers' PATH as python and python3")
	fs.IntVar(&o.gpus, "gpus", 0, "nvidia.com/gpu capacity of each node (labels the nodes nvidia.com/gpu.present=true)")
	fs.StringVar(&labels, "labels", "", "extra labels of every node: k=v,k=v")
	fs.StringVar(&taints, "taints", "", "taints of every node: k=v:Effect,k:Effect")
	fs.DurationVar(&o.restartBackoff, "restart-backoff", 10*time.Second, "first delay of a crashing container's restart backoff (doubles up to 5m, as the kubelet's)")
	fs.BoolVar(&o.verbose, "v", false, "log debug messages, virtual-kubelet's included")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.kubeconfig == "" {
		return o, errors.New("--kubeconfig is required")
	}
	if o.nodes < 1 {
		return o, fmt.Errorf("--nodes %d: give at least 1", o.nodes)
	}
	o.labels = map[string]string{}
	for _, kv := range splitList(labels) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return o, fmt.Errorf("--labels %q: write each label as key=value", kv)
		}
		o.labels[k] = v
	}
	o.taints = splitList(taints)
	if _, err := parseTaints(o.taints); err != nil {
		return o, err
	}
	return o, nil
}

func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
