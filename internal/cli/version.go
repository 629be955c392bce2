package cli

import (
	"github.com/spf13/cobra"

	v1 "berth/api/v1"
	"berth/internal/version"
)

type versionInfo struct {
	Client string `json:"client"`
	Server string `json:"server,omitempty"`
	URL    string `json:"server_url,omitempty"`
}

func newVersionCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the client's and the server's versions",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			info := versionInfo{Client: version.Version}
			c, err := g.client(cmd.Context())
			if err == nil {
				var v *v1.Version
				v, err = c.Version(cmd.Context())
				if err == nil {
					info.Server, info.URL = v.Version, c.BaseURL
				}
			}
			if perr := g.printResult(g.streams.Out, info, nil); perr != nil {
				return perr
			}
			return err
		},
	}
}
