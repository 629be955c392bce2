package cli

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	v1 "berth/api/v1"
	"berth/internal/client"
	"berth/internal/extension"
)

// pemSettings name PEM files: the CLI reads them and sends their contents as protected
// settings, so the files never need to be on the server's machine.
var pemSettings = []string{"sslCertPemFile", "sslKeyPemFile"}

// extensionOptions are the flags of the k8s-extension commands, as az k8s-extension names them.
type extensionOptions struct {
	name          string
	extensionType string
	clusterType   string
	clusterName   string
	scope         string
	namespace     string
	// Each flag has its own slice: two flags on one slice would each replace what the other
	// gathered. settings merges them.
	config, configAlias       []string
	protected, protectedAlias []string
	yes                       bool
	noWait                    bool
	timeout                   time.Duration
}

func (o *extensionOptions) addTargetFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&o.name, "name", "n", "", "name of the extension")
	f.StringVarP(&o.clusterName, "cluster-name", "c", "", "name of the connected cluster (see berth cluster list)")
	f.StringVarP(&o.clusterType, "cluster-type", "t", "", "connectedClusters or managedClusters, as the cluster was connected")
}

func (o *extensionOptions) addConfigFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVar(&o.config, "configuration-settings", nil, "settings as key=value, several after one flag")
	f.StringArrayVar(&o.configAlias, "config", nil, "alias of --configuration-settings")
	f.StringArrayVar(&o.protected, "configuration-protected-settings", nil, "protected settings as key=value; a PEM setting names a file the CLI reads")
	f.StringArrayVar(&o.protectedAlias, "config-protected", nil, "alias of --configuration-protected-settings")
}

func newExtensionCmd(g *globalOptions) *cobra.Command {
	cmd := groupCmd("k8s-extension", "Install the ML extension on a connected cluster and manage it")
	cmd.AddCommand(newExtensionCreateCmd(g), newExtensionUpdateCmd(g), newExtensionShowCmd(g),
		newExtensionListCmd(g), newExtensionDeleteCmd(g))
	return cmd
}

func newExtensionCreateCmd(g *globalOptions) *cobra.Command {
	o := &extensionOptions{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Install the ML extension on a cluster, with validated settings",
		Long: "Install the ML extension on a connected cluster. The server checks every setting before anything\n" +
			"is installed; installState is Pending until every component runs, then Installed.\n\n" +
			"  berth k8s-extension create --name ml --extension-type berth.ml --cluster-type connectedClusters \\\n" +
			"    --cluster-name c1 --scope cluster --config enableTraining=True",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.runCreate(cmd.Context(), g)
		},
	}
	o.addTargetFlags(cmd)
	o.addConfigFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.extensionType, "extension-type", "", "berth.ml (Microsoft.AzureML.Kubernetes is accepted as an alias)")
	f.StringVar(&o.scope, "scope", "cluster", "cluster (the ML extension serves the whole cluster)")
	f.StringVar(&o.namespace, "release-namespace", "", "namespace of the extension's release (default berth)")
	f.BoolVar(&o.noWait, "no-wait", false, "accepted for az compatibility: create never waits for Installed")
	return cmd
}

// checkTarget checks the flags that name an extension on a cluster.
func (o *extensionOptions) checkTarget(needName bool) []string {
	var problems []string
	if needName && o.name == "" {
		problems = append(problems, "--name is required: the extension's name")
	}
	if o.clusterName == "" {
		problems = append(problems, "--cluster-name is required: the connected cluster (see berth cluster list)")
	}
	if o.clusterType == "" {
		problems = append(problems, "--cluster-type is required: connectedClusters or managedClusters")
	} else if !strings.EqualFold(o.clusterType, v1.ClusterTypeConnected) && !strings.EqualFold(o.clusterType, v1.ClusterTypeManaged) {
		problems = append(problems, fmt.Sprintf("--cluster-type %q is not valid; use connectedClusters or managedClusters", o.clusterType))
	}
	return problems
}

// settings turns the --config and --config-protected values into the request's maps,
// reading PEM files. In an update, key= removes a setting, so a PEM setting without a path
// is sent empty. Every problem is returned at once.
func (o *extensionOptions) settings(update bool) (plain, protected map[string]string, problems []string) {
	plain, err := extension.ParseKeyValues(slices.Concat(o.config, o.configAlias))
	if err != nil {
		problems = append(problems, "--config: "+err.Error())
	}
	protected, err = extension.ParseKeyValues(slices.Concat(o.protected, o.protectedAlias))
	if err != nil {
		problems = append(problems, "--config-protected: "+err.Error())
	}
	if plain == nil {
		plain = map[string]string{}
	}
	if protected == nil {
		protected = map[string]string{}
	}
	for _, key := range pemSettings {
		path, inPlain := plain[key]
		protectedPath, inProtected := protected[key]
		switch {
		case inPlain && inProtected:
			problems = append(problems, fmt.Sprintf("%s is given with both --config and --config-protected; give it once, with --config-protected", key))
			continue
		case inProtected:
			path = protectedPath
		case !inPlain:
			continue
		}
		if update && path == "" {
			delete(plain, key)
			protected[key] = ""
			continue
		}
		data, err := readPEMFile(key, path)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		delete(plain, key)
		protected[key] = data
	}
	return plain, protected, problems
}

// pemBlockWanted is the kind of PEM block each PEM setting's file must hold.
var pemBlockWanted = map[string]string{"sslCertPemFile": "CERTIFICATE", "sslKeyPemFile": "PRIVATE KEY"}

// readPEMFile reads the PEM file a setting names. A path that does not exist but ends in a
// flag's name says a space is missing, as in one of the seed's own commands.
func readPEMFile(key, path string) (string, error) {
	switch {
	case path == "":
		return "", fmt.Errorf("%s needs the path of a PEM file", key)
	case strings.HasPrefix(strings.TrimSpace(path), "-----BEGIN"):
		return "", fmt.Errorf("%s takes the path of a PEM file, not its contents", key)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if i := strings.Index(path, "--"); i > 0 {
			return "", fmt.Errorf("%s: file %q does not exist; a flag seems glued to the path: put a space before %s", key, path, path[i:])
		}
		return "", fmt.Errorf("%s: file %q does not exist; give the path of the PEM file", key, path)
	}
	if err != nil {
		if info, serr := os.Stat(path); serr == nil && info.IsDir() {
			return "", fmt.Errorf("%s: %q is a folder; give the path of a PEM file", key, path)
		}
		return "", fmt.Errorf("%s: reading %s: %v", key, path, err)
	}
	var found []string
	for rest := data; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		if block.Type == pemBlockWanted[key] || strings.HasSuffix(block.Type, " "+pemBlockWanted[key]) {
			return string(data), nil
		}
		found = append(found, block.Type)
	}
	if len(found) == 0 {
		return "", fmt.Errorf("%s: file %q holds no PEM data; give a PEM file, whose blocks start with -----BEGIN", key, path)
	}
	return "", fmt.Errorf("%s: file %q holds %s, not a %s; give the %s file (are the certificate and key files swapped?)",
		key, path, strings.Join(found, ", "), pemBlockWanted[key], strings.ToLower(pemBlockWanted[key]))
}

func (o *extensionOptions) runCreate(ctx context.Context, g *globalOptions) error {
	problems := o.checkTarget(true)
	if o.extensionType == "" {
		problems = append(problems, fmt.Sprintf("--extension-type is required: %s", v1.ExtensionType))
	}
	plain, protected, more := o.settings(false)
	problems = append(problems, more...)
	if len(problems) > 0 {
		return usageErrorf("%s", strings.Join(problems, "\n"))
	}
	c, cl, err := o.clientForCluster(ctx, g)
	if err != nil {
		return err
	}
	ext, err := c.CreateExtension(ctx, o.clusterName, o.name, v1.ExtensionRequest{ExtensionType: o.extensionType,
		Scope: o.scope, ReleaseNamespace: o.namespace, ConfigurationSettings: plain, ProtectedSettings: protected})
	if err != nil {
		return err
	}
	noteOffline(g, cl)
	return g.printResult(g.streams.Out, ext, func() table { return extensionTable([]v1.Extension{*ext}) })
}

// noteOffline says that an Offline cluster's agent applies a change only when it reports again.
func noteOffline(g *globalOptions, cl *v1.Cluster) {
	if cl.ConnectivityStatus == v1.ClusterOffline {
		fmt.Fprintf(g.streams.Err, "Cluster %s is Offline: its agent applies the change when it reports again.\n", cl.Name)
	}
}

// clientForCluster connects to the server and checks that the cluster is the one the flags
// describe: its type, and its resource group when both have one.
func (o *extensionOptions) clientForCluster(ctx context.Context, g *globalOptions) (*client.Client, *v1.Cluster, error) {
	c, err := g.client(ctx)
	if err != nil {
		return nil, nil, err
	}
	cl, err := c.GetCluster(ctx, o.clusterName)
	if err != nil {
		return nil, nil, err
	}
	if !strings.EqualFold(cl.ClusterType, o.clusterType) {
		return nil, nil, usageErrorf("cluster %s was connected as %s, not %s; pass --cluster-type %s", cl.Name, cl.ClusterType, o.clusterType, cl.ClusterType)
	}
	if g.resourceGroup != "" && cl.ResourceGroup != "" && !strings.EqualFold(g.resourceGroup, cl.ResourceGroup) {
		return nil, nil, usageErrorf("cluster %s is in resource group %s, not %s; pass -g %s, or leave -g out", cl.Name, cl.ResourceGroup, g.resourceGroup, cl.ResourceGroup)
	}
	return c, cl, nil
}

func newExtensionUpdateCmd(g *globalOptions) *cobra.Command {
	o := &extensionOptions{}
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Change the extension's settings in place (protected settings must be given again)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			problems := o.checkTarget(true)
			plain, protected, more := o.settings(true)
			problems = append(problems, more...)
			if len(plain)+len(protected) == 0 && len(more) == 0 {
				problems = append(problems, "nothing to change: pass --config and/or --config-protected")
			}
			if len(problems) > 0 {
				return usageErrorf("%s", strings.Join(problems, "\n"))
			}
			ctx := cmd.Context()
			c, cl, err := o.clientForCluster(ctx, g)
			if err != nil {
				return err
			}
			ext, err := c.UpdateExtension(ctx, o.clusterName, o.name, v1.ExtensionRequest{ConfigurationSettings: plain, ProtectedSettings: protected})
			if err != nil {
				return err
			}
			noteOffline(g, cl)
			return g.printResult(g.streams.Out, ext, func() table { return extensionTable([]v1.Extension{*ext}) })
		},
	}
	o.addTargetFlags(cmd)
	o.addConfigFlags(cmd)
	cmd.Flags().BoolVar(&o.noWait, "no-wait", false, "accepted for az compatibility: update never waits for Installed")
	return cmd
}

func newExtensionShowCmd(g *globalOptions) *cobra.Command {
	o := &extensionOptions{}
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show the extension: installState, settings (protected ones by name only) and components",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if problems := o.checkTarget(true); len(problems) > 0 {
				return usageErrorf("%s", strings.Join(problems, "\n"))
			}
			ctx := cmd.Context()
			c, _, err := o.clientForCluster(ctx, g)
			if err != nil {
				return err
			}
			ext, err := c.GetExtension(ctx, o.clusterName, o.name)
			if err != nil {
				return err
			}
			return g.printResult(g.streams.Out, ext, func() table { return extensionTable([]v1.Extension{*ext}) })
		},
	}
	o.addTargetFlags(cmd)
	return cmd
}

func newExtensionListCmd(g *globalOptions) *cobra.Command {
	o := &extensionOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List a cluster's extensions",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if problems := o.checkTarget(false); len(problems) > 0 {
				return usageErrorf("%s", strings.Join(problems, "\n"))
			}
			ctx := cmd.Context()
			c, _, err := o.clientForCluster(ctx, g)
			if err != nil {
				return err
			}
			list, err := c.ListExtensions(ctx, o.clusterName)
			if err != nil {
				return err
			}
			return g.printResult(g.streams.Out, list, func() table { return extensionTable(list) })
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.clusterName, "cluster-name", "c", "", "name of the connected cluster")
	f.StringVarP(&o.clusterType, "cluster-type", "t", "", "connectedClusters or managedClusters")
	return cmd
}

func newExtensionDeleteCmd(g *globalOptions) *cobra.Command {
	o := &extensionOptions{}
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Uninstall the extension; waits until the agent removed every component",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if problems := o.checkTarget(true); len(problems) > 0 {
				return usageErrorf("%s", strings.Join(problems, "\n"))
			}
			if o.timeout <= 0 {
				return usageErrorf("--timeout must be positive, not %s", o.timeout)
			}
			if err := confirm(g, o.yes, fmt.Sprintf("Uninstall extension %s from cluster %s?", o.name, o.clusterName)); err != nil {
				return err
			}
			ctx := cmd.Context()
			c, _, err := o.clientForCluster(ctx, g)
			if err != nil {
				return err
			}
			if _, err := c.DeleteExtension(ctx, o.clusterName, o.name); err != nil {
				return err
			}
			if o.noWait {
				return nil
			}
			// An Offline cluster's agent removes the extension when it reports again, which
			// waiting here would not hasten.
			if cl, err := c.GetCluster(ctx, o.clusterName); err == nil && cl.ConnectivityStatus == v1.ClusterOffline {
				fmt.Fprintf(g.streams.Err, "Cluster %s is Offline: extension %s is Deleting, and its agent removes it when it reports again; if the cluster is gone, forget it with `berth cluster delete --name %s --force`.\n",
					o.clusterName, o.name, o.clusterName)
				return nil
			}
			return waitExtensionGone(ctx, c, o.clusterName, o.clusterType, o.name, o.timeout)
		},
	}
	o.addTargetFlags(cmd)
	f := cmd.Flags()
	f.BoolVarP(&o.yes, "yes", "y", false, "do not ask for confirmation")
	f.BoolVar(&o.noWait, "no-wait", false, "return once the deletion is asked for, without waiting for the agent")
	f.DurationVar(&o.timeout, "timeout", 10*time.Minute, "how long to wait for the agent to remove the extension")
	f.Bool("force", false, "accepted for az compatibility")
	return cmd
}

// waitExtensionGone waits until the server forgot the extension, which it does when the agent
// reports it uninstalled.
func waitExtensionGone(ctx context.Context, c *client.Client, cluster, clusterType, name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		_, err := c.GetExtension(ctx, cluster, name)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if time.Now().After(deadline) {
			cl, err := c.GetCluster(ctx, cluster)
			if err == nil && cl.ConnectivityStatus == v1.ClusterOffline {
				return fmt.Errorf("cluster %s is Offline, so its agent cannot remove extension %s; bring the agent back, or forget the cluster with `berth cluster delete --name %s --force`", cluster, name, cluster)
			}
			return fmt.Errorf("extension %s is still being removed after %s; see `berth k8s-extension show` and the agent's log (kubectl -n berth logs deploy/berth-agent)", name, timeout)
		}
		select {
		case <-ctx.Done():
			return &exitError{code: ExitInterrupted, err: fmt.Errorf("stopped waiting; the agent goes on removing extension %s: see `berth k8s-extension list --cluster-type %s --cluster-name %s`", name, clusterType, cluster)}
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func extensionTable(list []v1.Extension) table {
	t := table{headers: []string{"Name", "ExtensionType", "Cluster", "InstallState", "ReleaseNamespace"}}
	for _, e := range list {
		t.rows = append(t.rows, []string{e.Name, e.ExtensionType, e.ClusterName, e.InstallState, e.ReleaseNamespace})
	}
	return t
}

// confirm asks a yes/no question on a terminal; elsewhere it needs --yes.
func confirm(g *globalOptions, yes bool, question string) error {
	if yes {
		return nil
	}
	f, ok := g.streams.In.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return usageErrorf("%s Pass --yes to confirm (no terminal to ask on)", question)
	}
	fmt.Fprintf(g.streams.Err, "%s (y/n): ", question)
	var answer string
	fmt.Fscanln(f, &answer)
	if !slices.Contains([]string{"y", "yes"}, strings.ToLower(answer)) {
		return fmt.Errorf("not confirmed; nothing was changed")
	}
	return nil
}
