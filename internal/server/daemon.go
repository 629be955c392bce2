package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/api/validate/content"

	"berth/internal/artifacts"
	"berth/internal/jobrun"
	"berth/internal/local"
	"berth/internal/router"
	"berth/internal/secrets"
	"berth/internal/store"
)

// Files in the data folder.
const (
	TokenFile   = "token"       // the admin token, mode 0600
	AddressFile = "server.json" // where the running server listens, for the CLI on this machine
	dbFile      = "berth.db"
)

// Options configure `berth server`.
type Options struct {
	Home          string
	Listen        string
	RouterListen  string
	Workspace     string
	MaxConcurrent int
	Python        string
	Runtime       string
	Grace         time.Duration
	// MaxScoringBody bounds a scoring request's body at the router.
	MaxScoringBody int64
	// TLSCert and TLSKey serve the API over HTTPS; TLSSelfSigned does so with a pair
	// generated in the data folder, whose certificate connected clusters pin.
	// TLSCA is the CA that issued TLSCert, for agents to pin when it is a private one.
	TLSCert, TLSKey, TLSCA string
	TLSSelfSigned          bool
	// AdvertiseURL is the API's address as agents and pods reach it; by default the listen
	// address (with this machine's name when it listens on every interface).
	AdvertiseURL string
	// ReportInterval is how often agents report; three missed make a cluster Offline.
	ReportInterval time.Duration
}

// OptionError is an error in a value or file of the server's Options that the user gave;
// the CLI exits 2 on it.
type OptionError struct{ Err error }

func (e *OptionError) Error() string { return e.Err.Error() }
func (e *OptionError) Unwrap() error { return e.Err }

func optionErrorf(format string, args ...any) error {
	return &OptionError{Err: fmt.Errorf(format, args...)}
}

// Address is the content of AddressFile.
type Address struct {
	URL       string `json:"url"`
	RouterURL string `json:"router_url"`
	PID       int    `json:"pid"`
	// CAFile is the certificate the CLI trusts for URL (self-signed, or --tls-ca), when there is one.
	CAFile string `json:"ca_file,omitempty"`
}

// Run serves the workspace until ctx ends, then shuts down cleanly: it stops taking
// requests, ends open streams, and leaves running jobs to be reattached on the next start.
//
// logOutput is where log writes; the router's access log goes there too.
func Run(ctx context.Context, opts Options, log *slog.Logger, logOutput io.Writer) error {
	if err := os.MkdirAll(opts.Home, 0o700); err != nil {
		return fmt.Errorf("creating data folder %s: %w", opts.Home, err)
	}
	unlock, err := lockHome(opts.Home)
	if err != nil {
		return err
	}
	defer unlock()
	token, err := LoadOrCreateToken(opts.Home)
	if err != nil {
		return err
	}
	st, err := store.OpenSQLite(ctx, filepath.Join(opts.Home, dbFile))
	if err != nil {
		return err
	}
	defer st.Close()
	arts := artifacts.FS{Root: filepath.Join(opts.Home, "artifacts")}
	if err := arts.Clean(); err != nil {
		return fmt.Errorf("cleaning the artifact store: %w", err)
	}
	exec, err := local.New(local.Config{
		Dir:           filepath.Join(opts.Home, "jobs"),
		BinDir:        filepath.Join(opts.Home, "local", "bin"),
		Runtime:       opts.Runtime,
		Python:        opts.Python,
		MaxConcurrent: opts.MaxConcurrent,
		Grace:         opts.Grace,
	}, st, arts, log)
	if err != nil {
		return err
	}
	box, err := secrets.LoadOrCreate(opts.Home)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s (change it with --listen): %w", opts.Listen, err)
	}
	defer ln.Close()
	rln, err := net.Listen("tcp", opts.RouterListen)
	if err != nil {
		return fmt.Errorf("listening for scoring requests on %s (change it with --router-listen): %w", opts.RouterListen, err)
	}
	defer rln.Close()
	// TLS before anything starts, so that a bad certificate stops the server with nothing run.
	scheme := "http"
	if opts.TLSCert != "" || opts.TLSSelfSigned {
		scheme = "https"
	}
	url, routerURL := scheme+"://"+localAddr(ln.Addr()), "http://"+localAddr(rln.Addr())
	advertise, err := advertiseURL(opts.AdvertiseURL, scheme, ln.Addr().String())
	if err != nil {
		return err
	}
	listenHost, _, _ := net.SplitHostPort(ln.Addr().String())
	pinnedHost := "" // a given certificate must name the host agents dial
	if opts.TLSCert != "" {
		pinnedHost = hostOf(advertise)
	}
	tlsServed, err := loadTLS(opts.Home, tlsFiles{cert: opts.TLSCert, key: opts.TLSKey, ca: opts.TLSCA, selfSigned: opts.TLSSelfSigned},
		certHosts(listenHost, hostOf(advertise)), pinnedHost, time.Now())
	if err != nil {
		return err
	}
	tlsConfig := tlsServed.config
	if tlsServed.replaced {
		log.Warn("the server's generated CA was made anew (the old one was near expiry, or the data folder predates it); connected clusters pin the old one and stay Offline until their agent is installed again",
			"ca", tlsServed.caFile)
	}
	if err := exec.Start(ctx); err != nil {
		return err
	}
	defer exec.Shutdown()

	accessLog := router.NewAccessLog(logOutput)
	defer accessLog.Close()
	rt := router.New(accessLog.With("component", "router"), func(token, endpoint, instance string) bool {
		return box.VerifyToken(token, endpoint, instance, time.Now())
	})
	if opts.MaxScoringBody > 0 {
		rt.MaxBodyBytes = opts.MaxScoringBody
	}
	serving := local.NewServing(local.ServingConfig{
		Dir: filepath.Join(opts.Home, "deployments"), BinDir: filepath.Join(opts.Home, "local", "bin"),
		Runtime: opts.Runtime,
	}, st, arts, log)
	srv := &Server{Workspace: opts.Workspace, Token: token, Store: st, Artifacts: arts, Local: exec,
		Serving: serving, Router: rt, RouterURL: routerURL, Box: box, Log: log,
		AdvertiseURL: advertise, ServerCA: tlsServed.caPEM, ReportInterval: opts.ReportInterval}
	serving.OnChange = func(endpoint string) { srv.syncRoute(context.Background(), endpoint) }
	if err := serving.Start(ctx); err != nil {
		return err
	}
	defer serving.Shutdown()
	if err := srv.SyncAllRoutes(ctx); err != nil {
		return err
	}

	reqCtx, endRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer endRequests()
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, TLSConfig: tlsConfig,
		BaseContext: func(net.Listener) context.Context { return reqCtx }}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}

	// The CLI on this machine dials the listen address unless a given certificate does not
	// name it; then the advertised URL, which it names.
	if opts.TLSCert != "" && tlsConfig.Certificates[0].Leaf.VerifyHostname(hostOf(url)) != nil {
		url = advertise
	}
	addr := Address{URL: url, RouterURL: routerURL, PID: os.Getpid(), CAFile: tlsServed.caFile}
	if err := jobrun.WriteJSON(filepath.Join(opts.Home, AddressFile), addr); err != nil {
		return err
	}
	log.Info("berth server listening", "url", url, "advertise_url", advertise, "router_url", routerURL, "home", opts.Home, "workspace", opts.Workspace)
	// A clean stop leaves no address behind, so the CLI says no server runs rather than
	// failing to reach an old one.
	defer os.Remove(filepath.Join(opts.Home, AddressFile))
	served := make(chan error, 2)
	go func() { served <- hs.Serve(ln) }()
	go func() { served <- rt.Serve(rln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("berth server shutting down")
	endRequests() // ends log streams, which would otherwise hold Shutdown open
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(hs.Shutdown(shutCtx), rt.Shutdown(shutCtx))
}

// advertiseURL checks the advertised URL, or makes one from the listen address: an address
// on every interface is advertised with this machine's name.
func advertiseURL(given, scheme, listenAddr string) (string, error) {
	if given != "" {
		u, err := neturl.Parse(given)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") ||
			u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return "", optionErrorf("--advertise-url %q is not a URL such as https://berth.example.com:8080 (scheme, host and port only)", given)
		}
		if port := u.Port(); port != "" {
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				return "", optionErrorf("--advertise-url %q: port %s is not a number from 1 to 65535", given, port)
			}
		}
		if host := u.Hostname(); net.ParseIP(host) == nil && len(content.IsDNS1123Subdomain(strings.ToLower(host))) > 0 {
			return "", optionErrorf("--advertise-url %q: host %q is not a DNS name or IP address (write an international name in its xn-- form)", given, host)
		}
		if u.Scheme != scheme {
			return "", optionErrorf("--advertise-url %q says %s, but the server serves %s; make them agree (--tls-cert, --tls-self-signed)", given, u.Scheme, scheme)
		}
		return strings.TrimRight(given, "/"), nil
	}
	host, port, err := net.SplitHostPort(listenAddr)
	if err != nil {
		return "", err
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if host, err = os.Hostname(); err != nil {
			return "", fmt.Errorf("finding this machine's name for the advertised URL (set --advertise-url): %w", err)
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port), nil
}

// localAddr is the address a client on this machine dials for a listener: loopback for one
// on every address (0.0.0.0 or ::), which names no host a certificate can hold.
func localAddr(a net.Addr) string {
	if tcp, ok := a.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp.Port))
	}
	return a.String()
}

func hostOf(rawURL string) string {
	u, err := neturl.Parse(rawURL)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// LoadOrCreateToken returns the admin token of the data folder home, creating it with mode
// 0600 on first start.
func LoadOrCreateToken(home string) (string, error) {
	path := filepath.Join(home, TokenFile)
	data, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(data)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("reading token: %w", err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token := hex.EncodeToString(b)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", fmt.Errorf("writing token: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(token + "\n"); err != nil {
		return "", err
	}
	return token, nil
}

// lockHome makes sure one server at a time uses a data folder: two would run the same
// queued jobs twice. The lock goes with the process, however it ends.
func lockHome(home string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(home, "server.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking data folder %s: %w", home, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		holder := "another berth server"
		var addr Address
		if jobrun.ReadJSON(filepath.Join(home, AddressFile), &addr) == nil && addr.PID > 0 {
			holder = fmt.Sprintf("the berth server with pid %d (%s)", addr.PID, addr.URL)
		}
		return nil, fmt.Errorf("data folder %s is in use by %s; stop that server, or give this one another data folder with --home or BERTH_HOME", home, holder)
	}
	return func() { f.Close() }, nil
}
