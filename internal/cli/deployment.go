package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	v1 "berth/api/v1"
	"berth/internal/client"
	"berth/internal/endpointspec"
)

func newDeploymentCmd(g *globalOptions) *cobra.Command {
	cmd := groupCmd("online-deployment", "Create, update and delete the deployments behind online endpoints")
	cmd.AddCommand(newDeploymentCreateCmd(g), newDeploymentUpdateCmd(g), newDeploymentShowCmd(g),
		newDeploymentListCmd(g), newDeploymentDeleteCmd(g), newDeploymentLogsCmd(g))
	return cmd
}

func deploymentTable(deps []v1.OnlineDeployment) table {
	t := table{headers: []string{"Name", "Endpoint", "State", "Instances", "Model"}}
	for _, d := range deps {
		ready := 0
		for _, in := range d.Instances {
			if in.Ready {
				ready++
			}
		}
		model := ""
		switch {
		case d.Model == nil:
		case d.Model.Ref != "":
			model = "azureml:" + d.Model.Name + ":" + d.Model.Version
		default:
			model = d.Model.Path
		}
		t.rows = append(t.rows, []string{d.Name, d.EndpointName, d.ProvisioningState,
			fmt.Sprintf("%d/%d", ready, max(d.InstanceCount, 1)), model})
	}
	return t
}

// deploymentFlags name one deployment.
type deploymentFlags struct {
	name, endpoint string
}

func (f *deploymentFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.name, "name", "n", "", "name of the deployment")
	cmd.Flags().StringVarP(&f.endpoint, "endpoint-name", "e", "", "name of the endpoint")
}

func (f *deploymentFlags) require() error {
	switch {
	case f.name == "":
		return usageErrorf("--name/-n is required: the deployment's name (see berth online-deployment list -e <endpoint>)")
	case f.endpoint == "":
		return usageErrorf("--endpoint-name/-e is required: the endpoint the deployment belongs to")
	}
	return nil
}

type deploymentCreateOptions struct {
	deploymentFlags
	file       string
	set        []string
	allTraffic bool
	noWait     bool
}

func newDeploymentCreateCmd(g *globalOptions) *cobra.Command {
	o := &deploymentCreateOptions{}
	cmd := &cobra.Command{
		Use:     "create",
		Short:   "Create a deployment and wait until it serves",
		Example: "  berth online-deployment create -f blue.yml --all-traffic",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), g, false)
		},
	}
	o.addFlags(cmd)
	cmd.Flags().BoolVar(&o.allTraffic, "all-traffic", false, "send all of the endpoint's traffic to this deployment once it serves")
	return cmd
}

func (o *deploymentCreateOptions) addFlags(cmd *cobra.Command) {
	o.deploymentFlags.add(cmd)
	cmd.Flags().StringVarP(&o.file, "file", "f", "", "a kubernetesOnlineDeployment YAML file")
	cmd.Flags().StringArrayVar(&o.set, "set", nil, "set a field: path=value; several may follow one --set")
	cmd.Flags().BoolVar(&o.noWait, "no-wait", false, "return once the deployment is accepted, without waiting for it to serve")
}

func newDeploymentUpdateCmd(g *globalOptions) *cobra.Command {
	o := &deploymentCreateOptions{}
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Change a deployment; its current instances serve until the new ones are ready",
		Example: `  berth online-deployment update -f blue.yml
  berth online-deployment update -n blue -e my-endpoint --set instance_count=2`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), g, true)
		},
	}
	o.addFlags(cmd)
	return cmd
}

func (o *deploymentCreateOptions) run(ctx context.Context, g *globalOptions, update bool) error {
	c, err := g.client(ctx)
	if err != nil {
		return err
	}
	set := append([]string(nil), o.set...)
	if o.endpoint != "" {
		set = append(set, setFlag("endpoint_name", o.endpoint))
	}
	var src specSource
	switch {
	case o.file != "":
		if src, err = readSpec(o.file); err != nil {
			return err
		}
	case update:
		// Without a file the current spec is changed by --set; its files stay as uploaded.
		if err := o.require(); err != nil {
			return err
		}
		cur, err := c.GetDeployment(ctx, o.endpoint, o.name)
		if err != nil {
			return err
		}
		if src.yaml, err = deploymentYAML(cur.OnlineDeploymentSpec); err != nil {
			return err
		}
	default:
		return usageErrorf("--file/-f is required: the deployment's YAML file")
	}
	spec, err := endpointspec.ParseDeployment([]byte(src.yaml), endpointspec.Options{Name: o.name, Set: set})
	if err != nil {
		return usageErrorf("the deployment is not valid:\n%v", err)
	}
	var uploads []client.Upload
	if o.file != "" {
		for _, lp := range endpointspec.LocalPaths(spec) {
			l, err := findLocal(lp.Part, lp.Path, src.base, "deployment")
			if err != nil {
				return err
			}
			up, err := l.upload(lp.Part == "model")
			if err != nil {
				return err
			}
			uploads = append(uploads, up)
		}
	}
	progress, done := uploadProgress(g, uploads)
	req := v1.SpecRequest{YAML: src.yaml, Name: o.name, Set: set}
	var d *v1.OnlineDeployment
	if update {
		d, err = c.UpdateDeployment(ctx, spec.EndpointName, spec.Name, req, uploads, progress)
	} else {
		d, err = c.CreateDeployment(ctx, spec.EndpointName, req, uploads, progress)
	}
	done()
	if err != nil {
		return err
	}
	if !o.noWait {
		if d, err = waitDeployment(ctx, g, c, d); err != nil {
			return err
		}
		if o.allTraffic {
			if err := sendAllTraffic(ctx, c, d); err != nil {
				return err
			}
		}
	}
	return g.printResult(g.streams.Out, d, func() table { return deploymentTable([]v1.OnlineDeployment{*d}) })
}

// deploymentYAML renders a stored spec as a deployment file the parser reads back.
func deploymentYAML(spec v1.OnlineDeploymentSpec) (string, error) {
	var m map[string]any
	if err := roundTrip(spec, &m); err != nil {
		return "", err
	}
	if spec.Model != nil {
		if spec.Model.Ref != "" {
			m["model"] = spec.Model.Ref
		} else {
			m["model"] = map[string]any{"path": spec.Model.Path}
		}
	}
	if spec.Environment != nil && spec.Environment.Ref != "" {
		m["environment"] = spec.Environment.Ref
	}
	return toYAML(m)
}

// waitDeployment polls until the deployment of this generation is Succeeded or Failed.
func waitDeployment(ctx context.Context, g *globalOptions, c *client.Client, d *v1.OnlineDeployment) (*v1.OnlineDeployment, error) {
	fmt.Fprintf(g.streams.Err, "Waiting for deployment %s of endpoint %s to serve", d.Name, d.EndpointName)
	defer fmt.Fprintln(g.streams.Err)
	for {
		cur, err := c.GetDeployment(ctx, d.EndpointName, d.Name)
		if err != nil {
			return nil, err
		}
		switch {
		case cur.Generation != d.Generation:
			return nil, fmt.Errorf("deployment %s was changed by someone else while waiting (generation %d, not %d)", d.Name, cur.Generation, d.Generation)
		case cur.ProvisioningState == v1.StateSucceeded:
			return cur, nil
		case cur.ProvisioningState == v1.StateFailed:
			msg := "no reason recorded"
			if cur.Error != nil {
				msg = cur.Error.Message
			}
			return nil, fmt.Errorf("deployment %s failed: %s\nSee its logs with: berth online-deployment get-logs -n %s -e %s", d.Name, msg, d.Name, d.EndpointName)
		}
		fmt.Fprint(g.streams.Err, ".")
		select {
		case <-ctx.Done():
			return nil, &exitError{code: ExitInterrupted, err: fmt.Errorf("stopped waiting; the deployment goes on: see berth online-deployment show -n %s -e %s", d.Name, d.EndpointName)}
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// sendAllTraffic points all of the endpoint's traffic at the deployment.
func sendAllTraffic(ctx context.Context, c *client.Client, d *v1.OnlineDeployment) error {
	e, err := c.GetEndpoint(ctx, d.EndpointName)
	if err != nil {
		return err
	}
	var spec map[string]any
	if err := roundTrip(e.OnlineEndpointSpec, &spec); err != nil {
		return err
	}
	spec["traffic"] = map[string]int{d.Name: 100}
	text, err := toYAML(spec)
	if err != nil {
		return err
	}
	_, err = c.UpdateEndpoint(ctx, d.EndpointName, v1.SpecRequest{YAML: text})
	return err
}

func newDeploymentShowCmd(g *globalOptions) *cobra.Command {
	var f deploymentFlags
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show a deployment, with its instances",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.require(); err != nil {
				return err
			}
			c, err := g.client(cmd.Context())
			if err != nil {
				return err
			}
			d, err := c.GetDeployment(cmd.Context(), f.endpoint, f.name)
			if err != nil {
				return err
			}
			return g.printResult(g.streams.Out, d, func() table { return deploymentTable([]v1.OnlineDeployment{*d}) })
		},
	}
	f.add(cmd)
	return cmd
}

func newDeploymentListCmd(g *globalOptions) *cobra.Command {
	var endpoint string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List an endpoint's deployments",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if endpoint == "" {
				return usageErrorf("--endpoint-name/-e is required: the endpoint whose deployments to list")
			}
			c, err := g.client(cmd.Context())
			if err != nil {
				return err
			}
			deps, err := c.ListDeployments(cmd.Context(), endpoint)
			if err != nil {
				return err
			}
			return g.printResult(g.streams.Out, deps, func() table { return deploymentTable(deps) })
		},
	}
	cmd.Flags().StringVarP(&endpoint, "endpoint-name", "e", "", "name of the endpoint")
	return cmd
}

func newDeploymentDeleteCmd(g *globalOptions) *cobra.Command {
	var f deploymentFlags
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete a deployment that receives no traffic",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.require(); err != nil {
				return err
			}
			c, err := g.client(cmd.Context())
			if err != nil {
				return err
			}
			if err := c.DeleteDeployment(cmd.Context(), f.endpoint, f.name); err != nil {
				return err
			}
			fmt.Fprintf(g.streams.Err, "Deleted deployment %s of endpoint %s\n", f.name, f.endpoint)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation (accepted for az compatibility; berth does not ask)")
	return cmd
}

func newDeploymentLogsCmd(g *globalOptions) *cobra.Command {
	var f deploymentFlags
	var lines int
	cmd := &cobra.Command{
		Use:   "get-logs",
		Short: "Print the last lines of a deployment's instance logs",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.require(); err != nil {
				return err
			}
			if err := g.textOnly(cmd); err != nil {
				return err
			}
			if lines < 1 || lines > 10000 {
				return usageErrorf("--lines must be from 1 to 10000, not %d", lines)
			}
			c, err := g.client(cmd.Context())
			if err != nil {
				return err
			}
			logs, err := c.DeploymentLogs(cmd.Context(), f.endpoint, f.name, lines)
			if err != nil {
				return err
			}
			fmt.Fprint(g.streams.Out, logs)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().IntVarP(&lines, "lines", "l", 100, "how many of the last lines of each instance's log")
	return cmd
}
