package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

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
}

// Address is the content of AddressFile.
type Address struct {
	URL       string `json:"url"`
	RouterURL string `json:"router_url"`
	PID       int    `json:"pid"`
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
	url, routerURL := "http://"+ln.Addr().String(), "http://"+rln.Addr().String()
	srv := &Server{Workspace: opts.Workspace, Token: token, Store: st, Artifacts: arts, Local: exec,
		Serving: serving, Router: rt, RouterURL: routerURL, Box: box, Log: log}
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
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return reqCtx }}

	if err := jobrun.WriteJSON(filepath.Join(opts.Home, AddressFile), Address{URL: url, RouterURL: routerURL, PID: os.Getpid()}); err != nil {
		return err
	}
	log.Info("berth server listening", "url", url, "router_url", routerURL, "home", opts.Home, "workspace", opts.Workspace)
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
