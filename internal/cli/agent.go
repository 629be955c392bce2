package cli

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"berth/internal/agent"
	"berth/internal/client"
	"berth/internal/kube"
)

type agentOptions struct {
	server     string
	ca         string
	cluster    string
	namespace  string
	interval   time.Duration
	hostBinary string
	image      string
	health     string
}

// newAgentCmd is the connected-cluster agent, run by the agent chart inside the cluster. Its
// settings come from the environment the chart sets, so the token never shows in a
// command line.
func newAgentCmd(g *globalOptions) *cobra.Command {
	o := &agentOptions{}
	cmd := &cobra.Command{
		Use:    "agent",
		Short:  "Run the connected-cluster agent (inside the cluster; installed by berth cluster connect)",
		Hidden: true,
		Args:   noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), g)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.server, "server-url", os.Getenv("BERTH_SERVER"), "the workspace server's advertised URL ($BERTH_SERVER)")
	f.StringVar(&o.ca, "server-ca", os.Getenv("BERTH_SERVER_CA"), "PEM certificate (or its file) to trust for the server ($BERTH_SERVER_CA)")
	f.StringVar(&o.cluster, "cluster", os.Getenv("BERTH_CLUSTER"), "the cluster's name in the workspace ($BERTH_CLUSTER)")
	f.StringVar(&o.namespace, "namespace", envOr("POD_NAMESPACE", "berth"), "the agent's namespace ($POD_NAMESPACE)")
	f.StringVar(&o.hostBinary, "host-binary", os.Getenv("BERTH_HOST_BINARY"), "run the extension's components from this host binary ($BERTH_HOST_BINARY)")
	f.StringVar(&o.image, "image", os.Getenv("BERTH_IMAGE"), "image of the extension's components ($BERTH_IMAGE)")
	f.StringVar(&o.health, "health-listen", envOr("POD_IP", "127.0.0.1")+":8080", "address of /healthz")
	interval, err := time.ParseDuration(envOr("BERTH_REPORT_INTERVAL", "10s"))
	if err != nil {
		interval = 0 // reported by run
	}
	f.DurationVar(&o.interval, "report-interval", interval, "time between reports ($BERTH_REPORT_INTERVAL)")
	return cmd
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func (o *agentOptions) run(ctx context.Context, g *globalOptions) error {
	token := os.Getenv("BERTH_AGENT_TOKEN")
	var problems []string
	if o.server == "" {
		problems = append(problems, "no server URL: set BERTH_SERVER or --server-url")
	}
	if token == "" {
		problems = append(problems, "no agent token: set BERTH_AGENT_TOKEN (the agent chart takes it from its Secret)")
	} else if o.cluster != "" && !strings.HasPrefix(token, o.cluster+".") {
		problems = append(problems, "BERTH_AGENT_TOKEN is not cluster "+o.cluster+"'s token; reconnect the cluster")
	}
	if o.interval < 100*time.Millisecond {
		problems = append(problems, "BERTH_REPORT_INTERVAL must be a duration of at least 100ms, such as 10s")
	}
	if len(problems) > 0 {
		return usageErrorf("%s", strings.Join(problems, "\n"))
	}
	log := slog.New(slog.NewJSONHandler(g.streams.Err, nil)).With("component", "agent", "cluster", o.cluster)
	c := &client.Client{BaseURL: o.server, Token: token}
	if o.ca != "" {
		hc, err := client.HTTPClientWithCA(o.ca)
		if err != nil {
			return err
		}
		c.HTTP = hc
	}
	kc, err := kube.Connect("", "")
	if err != nil {
		return err
	}
	// /healthz turns ready once the server has heard the agent; /metrics is the Go
	// process's. TODO: accept the logs fluent-bit posts to /logs (logAnalyticsWS) and
	// forward them to the workspace; until then they are refused with 404.
	var connected atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if !connected.Load() {
			http.Error(w, "not connected to the server yet", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", promhttp.Handler())
	health := &http.Server{Addr: o.health, ReadHeaderTimeout: 5 * time.Second, Handler: mux}
	ln, err := net.Listen("tcp", o.health)
	if err != nil {
		return err
	}
	go health.Serve(ln)
	defer health.Close()

	a := &agent.Agent{Server: c, Kube: kc.Clientset, Namespace: o.namespace, HostBinary: o.hostBinary, Image: o.image,
		Interval: o.interval, Log: log, Sleep: agent.Sleep, Backoff: agent.Backoff,
		Connected: func() { connected.Store(true) },
		Releases:  func(ns string) (agent.Releases, error) { return kc.Releaser(ns, log) }}
	log.Info("agent starting", "server", o.server, "interval", o.interval)
	if err := a.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
