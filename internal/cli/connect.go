package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"

	"berth/internal/client"
	"berth/internal/jobrun"
	"berth/internal/server"
)

// Home is the data folder: $BERTH_HOME, or ~/.berth.
func Home() string {
	if h := os.Getenv("BERTH_HOME"); h != "" {
		return h
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".berth")
	}
	return ".berth"
}

// client finds the server and its token: --server, then BERTH_SERVER, then the address the
// local server wrote into the data folder; BERTH_TOKEN, then the data folder's token file.
// When -w is given it must name the server's workspace.
func (g *globalOptions) client(ctx context.Context) (*client.Client, error) {
	url := g.server
	if url == "" {
		url = os.Getenv("BERTH_SERVER")
	}
	caFile := os.Getenv("BERTH_SERVER_CA")
	if url == "" {
		var addr server.Address
		err := jobrun.ReadJSON(filepath.Join(Home(), server.AddressFile), &addr)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no berth server found: none has started from %s; start one with `berth server`, or point --server or BERTH_SERVER at one", Home())
		}
		if err != nil {
			return nil, err
		}
		url = addr.URL
		if caFile == "" {
			caFile = addr.CAFile
		}
	}
	if u, err := neturl.Parse(url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageErrorf("server address %q is not a URL such as http://127.0.0.1:8080 (from --server, BERTH_SERVER or %s)", url, filepath.Join(Home(), server.AddressFile))
	}
	token := os.Getenv("BERTH_TOKEN")
	if token == "" {
		data, err := os.ReadFile(filepath.Join(Home(), server.TokenFile))
		if err != nil {
			return nil, fmt.Errorf("no token for %s: set BERTH_TOKEN to the server's admin token (the token file in its data folder)", url)
		}
		token = strings.TrimSpace(string(data))
	}
	c := &client.Client{BaseURL: url, Token: token}
	if caFile != "" {
		hc, err := client.HTTPClientWithCA(caFile)
		if err != nil {
			return nil, err
		}
		c.HTTP = hc
	}
	if g.workspace != "" {
		ws, err := c.Workspace(ctx)
		if err != nil {
			return nil, err
		}
		if ws.Name != g.workspace {
			return nil, usageErrorf("--workspace-name %q does not match this server's workspace %q", g.workspace, ws.Name)
		}
	}
	return c, nil
}
