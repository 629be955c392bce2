package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"berth/internal/artifacts"
	"berth/internal/jobrun"
	"berth/internal/local"
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
	Workspace     string
	MaxConcurrent int
	Python        string
	Runtime       string
	Grace         time.Duration
}

// Address is the content of AddressFile.
type Address struct {
	URL string `json:"url"`
	PID int    `json:"pid"`
}

// Run serves the workspace until ctx ends, then shuts down cleanly: it stops taking
// requests, ends open streams, and leaves running jobs to be reattached on the next start.
func Run(ctx context.Context, opts Options, log *slog.Logger, ready func(url string)) error {
	if err := os.MkdirAll(opts.Home, 0o700); err != nil {
		return fmt.Errorf("creating data folder %s: %w", opts.Home, err)
	}
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
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s (change it with --listen): %w", opts.Listen, err)
	}
	if err := exec.Start(ctx); err != nil {
		ln.Close()
		return err
	}
	defer exec.Shutdown()

	srv := &Server{Workspace: opts.Workspace, Token: token, Store: st, Artifacts: arts, Local: exec, Log: log}
	reqCtx, endRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer endRequests()
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return reqCtx }}

	url := "http://" + ln.Addr().String()
	if err := jobrun.WriteJSON(filepath.Join(opts.Home, AddressFile), Address{URL: url, PID: os.Getpid()}); err != nil {
		ln.Close()
		return err
	}
	log.Info("berth server listening", "url", url, "home", opts.Home, "workspace", opts.Workspace)
	if ready != nil {
		ready(url)
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("berth server shutting down")
	endRequests() // ends log streams, which would otherwise hold Shutdown open
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
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
