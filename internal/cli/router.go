package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"berth/internal/router"
)

type routerOptions struct {
	listen  string
	tlsCert string
	tlsKey  string
	maxBody int64

	// reloadEvery is how often a TLS handshake looks at the key pair's files for a change.
	reloadEvery time.Duration
	// listening, when set, is told the address the router listens on (tests listen on port 0).
	listening func(net.Addr)
}

// newRouterCmd is the scoring router as it runs in a cluster, a Deployment of the extension's
// release; the server runs the same router in-process for the local compute. It is hidden:
// users never start it by hand.
func newRouterCmd(g *globalOptions) *cobra.Command {
	o := &routerOptions{reloadEvery: 10 * time.Second}
	cmd := &cobra.Command{
		Use:    "router",
		Short:  "Run the scoring router of a cluster's online endpoints",
		Hidden: true,
		Args:   noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), g)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", defaultRouterListen(), "address of the scoring router (default $POD_IP:8080, or 127.0.0.1:8080 without POD_IP)")
	f.StringVar(&o.tlsCert, "tls-cert", "", "PEM certificate (chain) to serve HTTPS with; needs --tls-key. Read again when the file changes")
	f.StringVar(&o.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	f.Int64Var(&o.maxBody, "scoring-max-body-bytes", 100<<20, "largest scoring request body the router accepts (413 above)")
	return cmd
}

// defaultRouterListen is the pod's own address, as the scoring host's: on the process kubelet
// every pod shares the host's network and has its own loopback address as its pod IP.
func defaultRouterListen() string {
	if ip := os.Getenv("POD_IP"); ip != "" {
		return net.JoinHostPort(ip, "8080")
	}
	return "127.0.0.1:8080"
}

func (o *routerOptions) run(ctx context.Context, g *globalOptions) error {
	switch {
	case o.tlsCert != "" && o.tlsKey == "":
		return usageErrorf("--tls-cert needs --tls-key: give the certificate's private key too, or neither flag to serve HTTP")
	case o.tlsKey != "" && o.tlsCert == "":
		return usageErrorf("--tls-key needs --tls-cert: give the certificate too, or neither flag to serve HTTP")
	}
	if _, err := net.ResolveTCPAddr("tcp", o.listen); err != nil {
		return usageErrorf("--listen %q is not an address such as 127.0.0.1:8080 (port 0 picks a free one): %v", o.listen, err)
	}
	if o.maxBody < 1 {
		return usageErrorf("--scoring-max-body-bytes must be at least 1, not %d", o.maxBody)
	}
	log := slog.New(slog.NewTextHandler(g.streams.Err, nil)).With("component", "router")
	var tlsConfig *tls.Config
	if o.tlsCert != "" {
		pair, err := loadKeyPair(o.tlsCert, o.tlsKey, o.reloadEvery, log)
		if err != nil {
			return usageErrorf("--tls-cert %s and --tls-key %s: %v; give a PEM certificate and its own private key", o.tlsCert, o.tlsKey, err)
		}
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: pair.certificate}
	}

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listening for scoring requests on %s (change it with --listen): %w", o.listen, err)
	}
	defer ln.Close()
	accessLog := router.NewAccessLog(g.streams.Err)
	defer accessLog.Close()
	// No aml_token can be checked yet: the router has no key to verify tokens with until the
	// endpoint source below brings one, so token endpoints answer 401.
	rt := router.New(accessLog.With("component", "router"), nil)
	rt.MaxBodyBytes = o.maxBody
	rt.TLSConfig = tlsConfig
	// TODO(router): the in-cluster router has no endpoint source yet, so every scoring request
	// is answered as for an unknown endpoint (404). With online deployments on Kubernetes, a
	// source plugs in here: it watches the EndpointSlices of the deployments' Services (the
	// ready pods) and the endpoints' traffic, keys and token key, and calls rt.SetEndpoint and
	// rt.RemoveEndpoint as they change.

	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	log.Info("berth router listening", "url", scheme+"://"+ln.Addr().String())
	if o.listening != nil {
		o.listening(ln.Addr())
	}
	served := make(chan error, 1)
	go func() { served <- rt.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serving scoring requests: %w", err)
	case <-ctx.Done():
	}
	log.Info("berth router shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rt.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("waiting for scoring requests in flight: %w", err)
	}
	return nil
}

// keyPair is the router's certificate and key, read again when their files change, so that
// a renewed certificate is served without a restart: the kubelet swaps a Secret's files in
// place, and cert-manager renews before expiry.
type keyPair struct {
	certFile, keyFile string
	every             time.Duration
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string    // the files' sizes and modification times when last read
	checked time.Time // when the files were last looked at
}

func loadKeyPair(certFile, keyFile string, every time.Duration, log *slog.Logger) (*keyPair, error) {
	k := &keyPair{certFile: certFile, keyFile: keyFile, every: every, log: log}
	stamp, err := fileStamp(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	k.cert, k.stamp, k.checked = &cert, stamp, time.Now()
	return k, nil
}

// certificate is tls.Config.GetCertificate: the current pair, read again first when the
// files changed since they were last read and were not looked at for every.
func (k *keyPair) certificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if time.Since(k.checked) >= k.every {
		k.checked = time.Now()
		k.maybeReload()
	}
	return k.cert, nil
}

// maybeReload reads the pair again if its files changed. A pair that does not load (the
// certificate was written and the key not yet) keeps the previous one in service until the
// files change again.
func (k *keyPair) maybeReload() {
	stamp, err := fileStamp(k.certFile, k.keyFile)
	if err != nil || stamp == k.stamp {
		return
	}
	k.stamp = stamp
	cert, err := tls.LoadX509KeyPair(k.certFile, k.keyFile)
	if err != nil {
		k.log.Warn("TLS key pair changed but does not load; serving the previous one", "cert_file", k.certFile, "key_file", k.keyFile, "error", err)
		return
	}
	k.cert = &cert
	k.log.Info("TLS key pair reloaded", "cert_file", k.certFile, "key_file", k.keyFile)
}

// fileStamp tells one state of the files from another by their sizes and modification times
// (following links, as a mounted Secret's files are).
func fileStamp(files ...string) (string, error) {
	stamp := ""
	for _, f := range files {
		info, err := os.Stat(f)
		if err != nil {
			return "", err
		}
		if info.IsDir() {
			return "", errors.New(f + " is a folder")
		}
		stamp += fmt.Sprintf("%d/%d;", info.Size(), info.ModTime().UnixNano())
	}
	return stamp, nil
}
