// Package operator is `berth operator`, the extension's controller manager in a cluster: it
// reconciles berth's custom resources in the namespace of the extension's release. Today it
// keeps the default InstanceType; the TrainingJob and OnlineDeployment controllers come with
// running jobs and deployments on Kubernetes.
package operator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// Options are the operator's settings, its command's flags.
type Options struct {
	// Namespace holds the extension's release; the operator keeps its objects there.
	Namespace string
	// HealthAddr is where /healthz and /readyz are served.
	HealthAddr string
	// HealthListener, when set, serves the probes instead of a listener on HealthAddr (tests
	// pass one on port 0).
	HealthListener net.Listener
	// MetricsAddr is where controller-runtime's /metrics is served; "0" serves none.
	MetricsAddr string
	// Training and Inference enable the controllers of each scenario.
	Training, Inference bool
	// LeaderElect makes replicas elect one that reconciles, with a Lease in Namespace.
	LeaderElect bool
	// CRDPollInterval is how often a missing or not yet established CRD is looked at again;
	// 2 seconds when zero.
	CRDPollInterval time.Duration
}

// leaderElectionID names the Lease replicas elect a leader with.
const leaderElectionID = "berth-operator"

// Run runs the operator until ctx ends. It owns the process's Kubernetes logging:
// controller-runtime's and client-go's logs go to log as well.
func Run(ctx context.Context, cfg *rest.Config, opts Options, log *slog.Logger) error {
	if opts.Namespace == "" {
		return errors.New("the operator needs a namespace; give it with --namespace or POD_NAMESPACE")
	}
	logger := logr.FromSlogHandler(log.Handler())
	ctrllog.SetLogger(logger)
	klog.SetLogger(logger)
	if opts.CRDPollInterval <= 0 {
		opts.CRDPollInterval = 2 * time.Second
	}

	probes := opts.HealthListener
	if probes == nil {
		var err error
		if probes, err = net.Listen("tcp", opts.HealthAddr); err != nil {
			return fmt.Errorf("listening for health probes on %s (change it with --health-addr): %w", opts.HealthAddr, err)
		}
	}
	defer probes.Close()
	mgr, err := manager.New(cfg, manager.Options{
		Logger: logger,
		// Every object the operator reads today lives in its own namespace.
		Cache:                         cache.Options{DefaultNamespaces: map[string]cache.Config{opts.Namespace: {}}},
		Metrics:                       metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress:        "0", // served below, on probes
		LeaderElection:                opts.LeaderElect,
		LeaderElectionID:              leaderElectionID,
		LeaderElectionNamespace:       opts.Namespace,
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("setting up the controller manager: %w", err)
	}

	s := &starter{mgr: mgr, opts: opts, log: log}
	s.setNotReady("starting")
	if err := mgr.Add(s); err != nil {
		return err
	}
	if err := mgr.Add(probeServer(probes, s.readyCheck)); err != nil {
		return err
	}
	log.Info("berth operator starting", "namespace", opts.Namespace, "training", opts.Training,
		"inference", opts.Inference, "leader_elect", opts.LeaderElect, "health_addr", probes.Addr().String(),
		"metrics_addr", opts.MetricsAddr)
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("running the controller manager: %w", err)
	}
	log.Info("berth operator stopped")
	return nil
}

// probeServer serves /healthz, which answers as long as the process does, and /readyz, which
// answers once the operator's CRDs are established and its caches synced.
func probeServer(ln net.Listener, ready healthz.Checker) *manager.Server {
	mux := http.NewServeMux()
	handle := func(path string, h http.Handler) {
		mux.Handle(path, http.StripPrefix(path, h))
		mux.Handle(path+"/", http.StripPrefix(path, h)) // one check by name: /readyz/ready
	}
	handle("/healthz", &healthz.Handler{Checks: map[string]healthz.Checker{"ping": healthz.Ping}})
	handle("/readyz", &healthz.Handler{Checks: map[string]healthz.Checker{"ready": ready}})
	shutdown := 5 * time.Second
	return &manager.Server{
		Name:            "health probes",
		Server:          &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		Listener:        ln,
		ShutdownTimeout: &shutdown,
	}
}

// starter waits for the CRDs, then registers the controllers. Controllers registered before
// their CRD exists would fail to start after a timeout, and the process would restart in a
// loop with a less clear message; waiting here keeps /healthz answering and says what is
// missing.
type starter struct {
	mgr  manager.Manager
	opts Options
	log  *slog.Logger
	// notReady is why /readyz fails, or "" once the operator is ready.
	notReady atomic.Pointer[string]
}

// NeedLeaderElection is false: every replica waits for the CRDs and syncs its caches, so that
// a replica that is not the leader is ready to take over.
func (s *starter) NeedLeaderElection() bool { return false }

func (s *starter) Start(ctx context.Context) error {
	s.setNotReady("waiting for CustomResourceDefinition " + instanceTypesCRD)
	if err := waitForCRD(ctx, s.mgr.GetAPIReader(), s.mgr.GetRESTMapper(), instanceTypesCRD, instanceTypeGVK,
		s.opts.CRDPollInterval, s.log); err != nil {
		if ctx.Err() != nil {
			return nil // stopping before the CRD came
		}
		return err
	}
	if err := addDefaultInstanceType(s.mgr, s.opts.Namespace); err != nil {
		return fmt.Errorf("registering the default InstanceType controller: %w", err)
	}
	// TODO(operator): register the TrainingJob controller here when s.opts.Training (a
	// TrainingJob becomes a batch/v1 Job) and the OnlineDeployment controller when
	// s.opts.Inference (a Deployment and a Service), each after waiting for its own CRD; they
	// come with running jobs and deployments on Kubernetes. Until then both flags are only
	// recorded.

	s.setNotReady("waiting for the InstanceType cache to sync")
	if _, err := s.mgr.GetCache().GetInformer(ctx, newInstanceType()); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("syncing the InstanceType cache: %w", err)
	}
	s.setNotReady("")
	s.log.Info("berth operator ready", "namespace", s.opts.Namespace)
	return nil
}

func (s *starter) setNotReady(why string) { s.notReady.Store(&why) }

func (s *starter) readyCheck(*http.Request) error {
	if why := *s.notReady.Load(); why != "" {
		return errors.New(why)
	}
	return nil
}
