package cli

import (
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"berth/internal/local"
	"berth/internal/server"
)

var workspaceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

type serverOptions struct {
	listen        string
	routerListen  string
	home          string
	workspace     string
	maxConcurrent int
	python        string
	runtime       string
	grace         time.Duration
	maxBody       int64
	tlsCert       string
	tlsKey        string
	tlsCA         string
	selfSigned    bool
	advertise     string
	reportEvery   time.Duration
}

func newServerCmd(g *globalOptions) *cobra.Command {
	o := &serverOptions{}
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the workspace server: API, store, artifacts and the local compute",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, g)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address of the workspace API")
	f.StringVar(&o.routerListen, "router-listen", "127.0.0.1:8081", "address of the scoring router of the local compute's endpoints")
	f.StringVar(&o.home, "home", "", "data folder (default $BERTH_HOME, or ~/.berth)")
	f.StringVar(&o.workspace, "workspace-name", "default", "name of the workspace this server holds")
	f.IntVar(&o.maxConcurrent, "local-max-concurrent-jobs", runtime.NumCPU(), "jobs the local compute runs at once; the rest wait in Queued")
	f.StringVar(&o.python, "local-python", local.DefaultPython(), "Python interpreter local jobs get as python and python3")
	f.StringVar(&o.runtime, "runtime", "", "path of the berth-runtime binary (default: next to berth)")
	f.Int64Var(&o.maxBody, "scoring-max-body-bytes", 100<<20, "largest scoring request body the router accepts (413 above)")
	f.DurationVar(&o.grace, "cancel-grace", 10*time.Second, "time a canceled job's processes get between SIGTERM and SIGKILL")
	f.StringVar(&o.tlsCert, "tls-cert", "", "PEM certificate (chain) to serve the API over HTTPS; needs --tls-key")
	f.StringVar(&o.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	f.StringVar(&o.tlsCA, "tls-ca", "", "PEM certificate of the private CA that issued --tls-cert; connected clusters and the CLI pin it")
	f.BoolVar(&o.selfSigned, "tls-self-signed", false, "serve HTTPS with a self-signed pair kept in the data folder; connected clusters pin its certificate")
	f.StringVar(&o.advertise, "advertise-url", "", "the API's URL as connected clusters reach it (default: the listen address)")
	f.DurationVar(&o.reportEvery, "agent-report-interval", 10*time.Second, "how often cluster agents report; a cluster is Offline after three missed reports")
	return cmd
}

func (o *serverOptions) run(cmd *cobra.Command, g *globalOptions) error {
	if o.maxConcurrent < 1 {
		return usageErrorf("--local-max-concurrent-jobs must be at least 1, not %d", o.maxConcurrent)
	}
	if !workspaceName.MatchString(o.workspace) {
		return usageErrorf("--workspace-name %q is not a valid name; use 1 to 64 letters, digits, _ and -, starting with a letter or digit", o.workspace)
	}
	if info, err := os.Stat(o.python); err == nil && (info.IsDir() || info.Mode().Perm()&0o111 == 0) {
		return usageErrorf("--local-python %s is not an executable file", o.python)
	} else if err != nil && filepath.IsAbs(o.python) {
		return usageErrorf("--local-python %s does not exist; install Python (apt-get install python3) or give another interpreter", o.python)
	}
	if o.maxBody < 1 {
		return usageErrorf("--scoring-max-body-bytes must be at least 1, not %d", o.maxBody)
	}
	if o.grace <= 0 {
		return usageErrorf("--cancel-grace must be positive, not %s", o.grace)
	}
	for _, f := range []struct{ flag, value string }{{"--listen", o.listen}, {"--router-listen", o.routerListen}} {
		if _, err := net.ResolveTCPAddr("tcp", f.value); err != nil {
			return usageErrorf("%s %q is not an address such as 127.0.0.1:8080 (port 0 picks a free one): %v", f.flag, f.value, err)
		}
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return usageErrorf("--tls-cert and --tls-key go together; give both, or --tls-self-signed for a generated pair")
	}
	if o.tlsCert != "" && o.selfSigned {
		return usageErrorf("--tls-self-signed generates a pair; do not give it with --tls-cert and --tls-key")
	}
	if o.tlsCA != "" && o.tlsCert == "" {
		return usageErrorf("--tls-ca is the CA that issued --tls-cert; give it with --tls-cert and --tls-key (--tls-self-signed needs none)")
	}
	if o.reportEvery < 100*time.Millisecond {
		return usageErrorf("--agent-report-interval must be at least 100ms, not %s", o.reportEvery)
	}
	if o.home == "" {
		o.home = Home()
	}
	if o.runtime == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		o.runtime = filepath.Join(filepath.Dir(exe), "berth-runtime")
	} else if _, err := os.Stat(o.runtime); err != nil {
		return usageErrorf("--runtime %s: %v; build it with go build ./cmd/berth-runtime", o.runtime, err)
	}
	log := slog.New(slog.NewTextHandler(g.streams.Err, nil))
	return server.Run(cmd.Context(), server.Options{
		Home: o.home, Listen: o.listen, RouterListen: o.routerListen, Workspace: o.workspace, MaxConcurrent: o.maxConcurrent,
		Python: o.python, Runtime: o.runtime, Grace: o.grace, MaxScoringBody: o.maxBody,
		TLSCert: o.tlsCert, TLSKey: o.tlsKey, TLSCA: o.tlsCA, TLSSelfSigned: o.selfSigned, AdvertiseURL: o.advertise,
		ReportInterval: o.reportEvery,
	}, log, g.streams.Err)
}
