// Package cli is the berth command line: every verb of the seed's `az ml` and
// `az k8s-extension` commands with `az` replaced by `berth`. Each command has an options
// struct, a constructor that declares its flags, and a run function that does the work.
package cli

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Streams are the command's standard input, output and error.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// globalOptions are the flags every command accepts, including az's global flags, so that
// copied `az ml` commands run unchanged.
type globalOptions struct {
	streams       Streams
	server        string
	resourceGroup string
	workspace     string
	subscription  string
	output        string
	query         string
}

// Main runs the CLI with args (without the program name) and returns the exit code.
func Main(args []string, streams Streams) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := NewRootCmd(streams)
	cmd.SetArgs(expandMultiValueFlags(args, multiValueFlags))
	err := cmd.ExecuteContext(ctx)
	if err != nil {
		printError(streams.Err, err)
	}
	return exitCode(err)
}

// NewRootCmd builds the command tree.
func NewRootCmd(streams Streams) *cobra.Command {
	g := &globalOptions{streams: streams}
	root := &cobra.Command{
		Use:           "berth",
		Short:         "berth runs machine-learning jobs and model endpoints on your machine and your Kubernetes clusters",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetOut(streams.Out)
	root.SetErr(streams.Err)
	root.SetIn(streams.In)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%v", err)
	})
	// Output flags are checked before a command does anything, so that a typo in -o never
	// follows a change already made.
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error { return g.checkOutput() }
	pf := root.PersistentFlags()
	pf.StringVar(&g.server, "server", "", "URL of the berth server (default: $BERTH_SERVER, or the server started from $BERTH_HOME on this machine)")
	pf.StringVarP(&g.resourceGroup, "resource-group", "g", "", "resource group: recorded on connected clusters and checked by k8s-extension; accepted and unused elsewhere, for az compatibility")
	pf.StringVarP(&g.workspace, "workspace-name", "w", "", "workspace name; when given it must match the server's workspace")
	pf.StringVar(&g.subscription, "subscription", "", "subscription (accepted for az compatibility, unused)")
	pf.StringVarP(&g.output, "output", "o", formatJSON, "output format: json, yaml, table, tsv or none")
	pf.StringVar(&g.query, "query", "", "JMESPath query applied to the output, as in az")

	root.AddCommand(newServerCmd(g), newVersionCmd(g), newOperatorCmd(g), newRouterCmd(g),
		newClusterCmd(g), newExtensionCmd(g), newAgentCmd(g))
	addMLCommands(root, g)
	ml := groupCmd("ml", "The az ml command group: the same commands as the top level")
	addMLCommands(ml, g)
	root.AddCommand(ml)
	return root
}

// noArgs refuses positional arguments, pointing at the flag the user probably meant: az's
// commands name resources with --name/-n, never positionally.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.Flags().Lookup("name") != nil {
		return usageErrorf("%s takes no arguments; give the name with --name/-n %s", cmd.CommandPath(), args[0])
	}
	return usageErrorf("%s takes no arguments, but got %q; see %s --help", cmd.CommandPath(), args[0], cmd.CommandPath())
}

// groupCmd is a command that only holds subcommands: run alone or with an unknown
// subcommand it is a usage error, not help with exit code 0.
func groupCmd(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unknown command %q for %q; see %s --help", args[0], cmd.CommandPath(), cmd.CommandPath())
			}
			return usageErrorf("%s needs a subcommand; see %s --help", cmd.CommandPath(), cmd.CommandPath())
		},
	}
}

// addMLCommands adds the commands of the `az ml` group to parent.
func addMLCommands(parent *cobra.Command, g *globalOptions) {
	parent.AddCommand(newJobCmd(g), newComputeCmd(g), newModelCmd(g), newEndpointCmd(g), newDeploymentCmd(g))
}
