package cli

import (
	"github.com/spf13/cobra"

	v1 "berth/api/v1"
)

func newComputeCmd(g *globalOptions) *cobra.Command {
	cmd := groupCmd("compute", "List and show compute targets")
	var name string
	show := &cobra.Command{
		Use:   "show",
		Short: "Show a compute target",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if name == "" {
				return usageErrorf("--name/-n is required: the compute to show (see berth compute list)")
			}
			c, err := g.client(cmd.Context())
			if err != nil {
				return err
			}
			comp, err := c.GetCompute(cmd.Context(), name)
			if err != nil {
				return err
			}
			return g.printResult(g.streams.Out, comp, func() table { return computeTable([]v1.Compute{*comp}) })
		},
	}
	show.Flags().StringVarP(&name, "name", "n", "", "name of the compute")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the workspace's compute targets",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client(cmd.Context())
			if err != nil {
				return err
			}
			comps, err := c.ListComputes(cmd.Context())
			if err != nil {
				return err
			}
			return g.printResult(g.streams.Out, comps, func() table { return computeTable(comps) })
		},
	}
	cmd.AddCommand(show, list)
	return cmd
}

func computeTable(comps []v1.Compute) table {
	t := table{headers: []string{"Name", "Type", "State"}}
	for _, c := range comps {
		t.rows = append(t.rows, []string{c.Name, c.Type, c.ProvisioningState})
	}
	return t
}
