package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "berth/api/v1"
	"berth/internal/charts"
	"berth/internal/client"
	"berth/internal/kube"
)

// Where the agent lives in a connected cluster.
const (
	agentNamespace = "berth"
	agentRelease   = "berth-agent"
)

type clusterOptions struct {
	name        string
	kubeconfig  string
	kubeContext string
	clusterType string
	image       string
	hostBinary  string
	httpsProxy  string
	noProxy     string
	interval    time.Duration
	timeout     time.Duration
	yes         bool
	force       bool
}

func newClusterCmd(g *globalOptions) *cobra.Command {
	cmd := groupCmd("cluster", "Connect Kubernetes clusters to the workspace")
	cmd.AddCommand(newClusterConnectCmd(g), newClusterShowCmd(g), newClusterListCmd(g), newClusterDeleteCmd(g))
	return cmd
}

func (o *clusterOptions) addKubeFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (default $KUBECONFIG, or ~/.kube/config); it never leaves this machine")
	f.StringVar(&o.kubeContext, "context", "", "kubeconfig context to use (default: its current context)")
}

func newClusterConnectCmd(g *globalOptions) *cobra.Command {
	o := &clusterOptions{}
	cmd := &cobra.Command{
		Use:   "connect",
		Short: "Connect a cluster: register it and install its agent, which dials out to this workspace",
		Long: "Register a Kubernetes cluster with the workspace and install berth's agent into its namespace\n" +
			"berth as a Helm release, with your kubeconfig, from this machine. The agent dials out to the\n" +
			"server's advertised URL; the cluster needs no inbound port.\n\n" +
			"  berth cluster connect --name c1 --kubeconfig ~/.kube/config --resource-group rg",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.runConnect(cmd.Context(), g)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.name, "name", "n", "", "name of the cluster in the workspace")
	o.addKubeFlags(cmd)
	f.StringVar(&o.clusterType, "cluster-type", v1.ClusterTypeConnected, "connectedClusters or managedClusters")
	f.StringVar(&o.image, "agent-image", "", "image of berth's in-cluster components (default berth:<version>)")
	f.StringVar(&o.hostBinary, "host-binary", "", "run the components from this berth binary on the nodes' hosts instead of an image (berth's test cluster, whose kubelet runs commands as host processes)")
	f.StringVar(&o.httpsProxy, "proxy-https", "", "HTTPS proxy the agent dials the server through")
	f.StringVar(&o.noProxy, "proxy-skip-range", "", "hosts and ranges the agent reaches without the proxy (NO_PROXY)")
	f.DurationVar(&o.interval, "report-interval", 10*time.Second, "how often the agent reports")
	f.DurationVar(&o.timeout, "timeout", 5*time.Minute, "how long to wait for the agent's first report")
	return cmd
}

func (o *clusterOptions) runConnect(ctx context.Context, g *globalOptions) error {
	var problems []string
	if o.name == "" {
		problems = append(problems, "--name is required: the cluster's name in the workspace")
	}
	if !strings.EqualFold(o.clusterType, v1.ClusterTypeConnected) && !strings.EqualFold(o.clusterType, v1.ClusterTypeManaged) {
		problems = append(problems, fmt.Sprintf("--cluster-type %q is not valid; use connectedClusters or managedClusters", o.clusterType))
	}
	if o.hostBinary != "" && o.image != "" {
		problems = append(problems, "--host-binary and --agent-image exclude each other: the components run from one or the other")
	}
	if o.hostBinary != "" {
		if info, err := os.Stat(o.hostBinary); !filepath.IsAbs(o.hostBinary) || err != nil || info.IsDir() || info.Mode().Perm()&0o111 == 0 {
			problems = append(problems, fmt.Sprintf("--host-binary %q is not an executable file at an absolute path; give the berth binary the test cluster's nodes run, such as $PWD/bin/berth", o.hostBinary))
		}
	}
	if o.httpsProxy != "" {
		if u, err := url.Parse(o.httpsProxy); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			problems = append(problems, fmt.Sprintf("--proxy-https %q is not a proxy URL such as http://proxy.example.com:3128", o.httpsProxy))
		}
	}
	if o.interval < time.Second {
		problems = append(problems, fmt.Sprintf("--report-interval must be at least 1s, not %s", o.interval))
	}
	if o.timeout <= 0 {
		problems = append(problems, fmt.Sprintf("--timeout must be positive, not %s", o.timeout))
	}
	if len(problems) > 0 {
		return usageErrorf("%s", strings.Join(problems, "\n"))
	}
	kc, err := kube.Connect(o.kubeconfig, o.kubeContext)
	if err != nil {
		return err
	}
	c, err := g.client(ctx)
	if err != nil {
		return err
	}
	if err := o.checkNotConnected(ctx, c, kc); err != nil {
		return err
	}
	created, err := c.CreateCluster(ctx, v1.ClusterRequest{Name: o.name, ClusterType: o.clusterType, ResourceGroup: g.resourceGroup})
	if err != nil {
		return err
	}
	fmt.Fprintf(g.streams.Err, "Installing the agent into namespace %s of %s...\n", agentNamespace, kc.Host)
	log := warnings(g.streams.Err)
	err = o.installAgent(ctx, kc, created, log)
	if err == nil {
		cl, werr := waitConnected(ctx, c, kc, o.name, o.timeout)
		if werr == nil {
			return g.printResult(g.streams.Out, cl, func() table { return clusterTable([]v1.Cluster{*cl}) })
		}
		if !errors.Is(werr, errAgentHeldBack) {
			return werr // it stays registered and connects when it can
		}
		err = werr
	}
	// Nothing half-done stays, also after Ctrl-C: the registration was made for this install,
	// so what the install left of an agent under its name is no other's.
	cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	if uerr := uninstallAgent(cleanup, kc, log); uerr != nil {
		err = errors.Join(err, fmt.Errorf("removing what was installed of the agent (helm -n %s uninstall %s): %w", agentNamespace, agentRelease, uerr))
	}
	if derr := c.DeleteCluster(cleanup, o.name, true); derr != nil {
		err = errors.Join(err, fmt.Errorf("removing the registration of cluster %s: %w", o.name, derr))
	}
	return err
}

// installAgent installs the agent chart with the cluster's token and the server's address.
func (o *clusterOptions) installAgent(ctx context.Context, kc *kube.Cluster, created *v1.ClusterCreated, log *slog.Logger) error {
	ch, err := charts.Agent()
	if err != nil {
		return err
	}
	values := charts.AgentValues(charts.AgentOptions{ServerURL: created.ServerURL, ServerCA: created.ServerCA,
		ClusterName: created.Name, Token: created.AgentToken, Image: o.image, HostBinary: o.hostBinary,
		HTTPSProxy: o.httpsProxy, NoProxy: o.noProxy, ReportInterval: o.interval})
	if err := kc.EnsureNamespace(ctx, agentNamespace); err != nil {
		return err
	}
	rel, err := kc.Releaser(agentNamespace, log)
	if err != nil {
		return err
	}
	if err := rel.Apply(ctx, agentRelease, ch, values); err != nil {
		return fmt.Errorf("installing the agent's Helm release %s: %w", agentRelease, err)
	}
	return nil
}

// checkNotConnected refuses a cluster whose agent already reports under another name: the
// new name would take over that agent, and deleting either name would uninstall the other's
// extension. Like the server's answer to a name connected twice, it is a conflict (exit 1).
func (o *clusterOptions) checkNotConnected(ctx context.Context, c *client.Client, kc *kube.Cluster) error {
	connectedAs, err := agentClusterName(ctx, kc)
	if err != nil || connectedAs == "" || connectedAs == o.name {
		return err
	}
	_, err = c.GetCluster(ctx, connectedAs)
	switch {
	case err == nil:
		return fmt.Errorf("the cluster at %s is already connected as %s (its agent runs in namespace %s); a cluster connects once: see `berth cluster show --name %s`, or disconnect it first with `berth cluster delete --name %s`",
			kc.Host, connectedAs, agentNamespace, connectedAs, connectedAs)
	case isNotFound(err):
		return fmt.Errorf("the cluster at %s runs berth's agent for a cluster %s this workspace does not know (another workspace's, or one left behind); to move it here, connect it as %s, or remove that agent first with `helm -n %s uninstall %s`",
			kc.Host, connectedAs, connectedAs, agentNamespace, agentRelease)
	}
	return err
}

// agentClusterName is the name the agent already running in kc reports as, or "" when none
// runs there.
func agentClusterName(ctx context.Context, kc *kube.Cluster) (string, error) {
	name, _, err := kc.DeploymentEnv(ctx, agentNamespace, agentRelease, "BERTH_CLUSTER")
	if err != nil {
		return "", fmt.Errorf("looking for berth's agent: %w", err)
	}
	return name, nil
}

// errAgentHeldBack marks an agent whose pod will not start by itself.
var errAgentHeldBack = errors.New("the agent does not start")

// heldBack are the reasons a container waits that time does not mend; ErrImagePull turns
// into ImagePullBackOff once the kubelet gives up retrying at once.
var heldBack = []string{"CrashLoopBackOff", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError"}

// waitConnected waits for the agent's first report, and fails early when its pod is held
// back for good.
func waitConnected(ctx context.Context, c *client.Client, kc *kube.Cluster, name string, timeout time.Duration) (*v1.Cluster, error) {
	deadline := time.Now().Add(timeout)
	for {
		cl, err := c.GetCluster(ctx, name)
		if err != nil {
			return nil, err
		}
		if cl.ConnectivityStatus == v1.ClusterConnected {
			return cl, nil
		}
		if d, err := kc.Clientset.AppsV1().Deployments(agentNamespace).Get(ctx, agentRelease, metav1.GetOptions{}); err == nil {
			if w, ok := kube.PodsWaiting(ctx, kc.Clientset, agentNamespace, d.Spec.Selector); ok && slices.Contains(heldBack, w.Reason) {
				return nil, fmt.Errorf("%w: %s; the agent was removed and the cluster is not registered: fix that and connect again",
					errAgentHeldBack, w)
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the agent of cluster %s did not report within %s; it stays registered and connects when it can: see `kubectl -n %s logs deploy/%s`",
				name, timeout, agentNamespace, agentRelease)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func newClusterShowCmd(g *globalOptions) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show a cluster: connectivity, Kubernetes version, nodes",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if name == "" {
				return usageErrorf("--name is required: the cluster to show (see berth cluster list)")
			}
			c, err := g.client(cmd.Context())
			if err != nil {
				return err
			}
			cl, err := c.GetCluster(cmd.Context(), name)
			if err != nil {
				return err
			}
			return g.printResult(g.streams.Out, cl, func() table { return clusterTable([]v1.Cluster{*cl}) })
		},
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "name of the cluster")
	return cmd
}

func newClusterListCmd(g *globalOptions) *cobra.Command {
	var lim listLimit
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the connected clusters",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			limit, err := lim.max(cmd)
			if err != nil {
				return err
			}
			c, err := g.client(cmd.Context())
			if err != nil {
				return err
			}
			list, err := c.ListClusters(cmd.Context(), limit)
			if err != nil {
				return err
			}
			return g.printResult(g.streams.Out, list, func() table { return clusterTable(list) })
		},
	}
	lim.add(cmd, "clusters")
	return cmd
}

func newClusterDeleteCmd(g *globalOptions) *cobra.Command {
	o := &clusterOptions{}
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Disconnect a cluster: remove its extension, then its agent, then its registration",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.runDelete(cmd.Context(), g)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.name, "name", "n", "", "name of the cluster")
	o.addKubeFlags(cmd)
	f.BoolVarP(&o.yes, "yes", "y", false, "do not ask for confirmation")
	f.BoolVar(&o.force, "force", false, "forget the cluster even if its agent cannot remove the extension (the cluster is gone)")
	f.DurationVar(&o.timeout, "timeout", 10*time.Minute, "how long to wait for the agent to remove the extension")
	return cmd
}

func (o *clusterOptions) runDelete(ctx context.Context, g *globalOptions) error {
	if o.name == "" {
		return usageErrorf("--name is required: the cluster to disconnect (see berth cluster list)")
	}
	if o.timeout <= 0 {
		return usageErrorf("--timeout must be positive, not %s", o.timeout)
	}
	c, err := g.client(ctx)
	if err != nil {
		return err
	}
	cl, err := c.GetCluster(ctx, o.name)
	if err != nil {
		return err
	}
	exts, err := c.ListExtensions(ctx, o.name)
	if err != nil {
		return err
	}
	// Everything is checked before anything is removed.
	kc, unreachable := kube.Connect(o.kubeconfig, o.kubeContext)
	if unreachable != nil && !o.force {
		return fmt.Errorf("%w; to forget the cluster without uninstalling anything from it, pass --force", unreachable)
	}
	if kc != nil {
		connectedAs, err := agentClusterName(ctx, kc)
		if err != nil && !o.force {
			return err
		}
		if connectedAs != "" && connectedAs != o.name {
			return usageErrorf("the cluster at %s runs the agent of cluster %s, not %s; pass the kubeconfig (or --context) of cluster %s",
				kc.Host, connectedAs, o.name, o.name)
		}
	}
	offline := cl.ConnectivityStatus == v1.ClusterOffline
	if offline && len(exts) > 0 && !o.force {
		return fmt.Errorf("cluster %s is Offline, so its agent cannot remove extension %s; bring the agent back (kubectl -n %s logs deploy/%s), or pass --force to uninstall it with the kubeconfig and forget the cluster",
			o.name, exts[0].Name, agentNamespace, agentRelease)
	}
	if err := confirm(g, o.yes, fmt.Sprintf("Disconnect cluster %s, uninstalling its extension and agent?", o.name)); err != nil {
		return err
	}
	log := warnings(g.streams.Err)
	for _, e := range exts {
		if !offline {
			fmt.Fprintf(g.streams.Err, "Removing extension %s...\n", e.Name)
			if _, err := c.DeleteExtension(ctx, o.name, e.Name); err != nil {
				return err
			}
			err := waitExtensionGone(ctx, c, o.name, cl.ClusterType, e.Name, o.timeout)
			if err == nil {
				continue
			}
			if !o.force {
				return err
			}
		}
		if kc == nil {
			continue // said once below
		}
		// --force, and the agent cannot remove it: this machine does, with the kubeconfig.
		fmt.Fprintf(g.streams.Err, "Uninstalling extension %s with the kubeconfig...\n", e.Name)
		if err := uninstallExtension(ctx, kc, e, log); err != nil {
			fmt.Fprintf(g.streams.Err, "Extension %s is not uninstalled: %v; what it made stays (kubectl get all,crd,clusterrole,clusterrolebinding -A -l app.kubernetes.io/part-of=berth).\n", e.Name, err)
		}
	}
	if kc == nil {
		fmt.Fprintf(g.streams.Err, "Nothing was uninstalled from the cluster: %v. What berth installed there stays (kubectl get all,crd,clusterrole,clusterrolebinding -A -l app.kubernetes.io/part-of=berth lists it).\n", unreachable)
	} else if err := uninstallAgent(ctx, kc, log); err != nil && !o.force {
		return fmt.Errorf("%w; to forget the cluster anyway, pass --force", err)
	}
	return c.DeleteCluster(ctx, o.name, o.force)
}

// uninstallExtension uninstalls an extension's release from this machine, for when the
// cluster's agent cannot.
func uninstallExtension(ctx context.Context, kc *kube.Cluster, e v1.Extension, log *slog.Logger) error {
	rel, err := kc.Releaser(e.ReleaseNamespace, log)
	if err != nil {
		return err
	}
	return rel.Uninstall(ctx, e.Name)
}

func uninstallAgent(ctx context.Context, kc *kube.Cluster, log *slog.Logger) error {
	rel, err := kc.Releaser(agentNamespace, log)
	if err != nil {
		return err
	}
	if err := rel.Uninstall(ctx, agentRelease); err != nil {
		return fmt.Errorf("uninstalling the agent's Helm release %s: %w", agentRelease, err)
	}
	return kc.DeleteNamespace(ctx, agentNamespace)
}

func clusterTable(list []v1.Cluster) table {
	t := table{headers: []string{"Name", "ClusterType", "Connectivity", "KubernetesVersion", "Nodes"}}
	for _, c := range list {
		t.rows = append(t.rows, []string{c.Name, c.ClusterType, c.ConnectivityStatus, c.KubernetesVersion, fmt.Sprint(c.TotalNodeCount)})
	}
	return t
}

// isNotFound reports whether err is the server's 404.
func isNotFound(err error) bool {
	var api *client.APIError
	return errors.As(err, &api) && api.Status == http.StatusNotFound
}

// warnings is the log of Helm work the CLI does itself: the CLI says what it does, so only
// Helm's warnings (a release recovered from an interrupted install) are shown.
func warnings(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
