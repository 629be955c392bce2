// Package server is the workspace's HTTP JSON API under /api/v1. Handlers return errors; one
// error type carries what the client sees. Every call needs the admin bearer token.
package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	v1 "berth/api/v1"
	"berth/internal/artifacts"
	"berth/internal/local"
	"berth/internal/router"
	"berth/internal/secrets"
	"berth/internal/store"
	"berth/internal/version"
)

// Server serves the workspace API.
type Server struct {
	Workspace string
	Token     string
	Store     store.Store
	Artifacts artifacts.Store
	Local     *local.Executor
	Serving   *local.Serving
	Router    *router.Router
	// RouterURL is where the router listens; scoring URIs start with it.
	RouterURL string
	Box       *secrets.Box
	// AdvertiseURL is the address agents and pods dial; ServerCA is the PEM certificate they
	// pin when the server's certificate is self-signed ("" otherwise).
	AdvertiseURL string
	ServerCA     string
	// ReportInterval is how often agents report; a cluster is Offline after three missed.
	ReportInterval time.Duration
	Log            *slog.Logger
	// Now is the clock; LogPoll is how often a followed log is read again.
	Now     func() time.Time
	LogPoll time.Duration

	// creating holds the names of jobs being created, so two uploads under one name never
	// write into the same artifact folder.
	mu       sync.Mutex
	creating map[string]bool

	// routeMu orders the router's updates: each reads the store and tells the router in one
	// step, so an update that read an endpoint just before it was deleted cannot bring it
	// back after.
	routeMu sync.Mutex
}

// Handler returns the API's routes.
func (s *Server) Handler() http.Handler {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.LogPoll == 0 {
		s.LogPoll = 100 * time.Millisecond
	}
	mux := http.NewServeMux()
	handle := func(pattern string, h handlerFunc) {
		mux.Handle(pattern, s.authenticated(h))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	handle("GET /api/v1/version", s.getVersion)
	handle("GET /api/v1/workspace", s.getWorkspace)
	handle("GET /api/v1/computes", s.listComputes)
	handle("GET /api/v1/computes/{name}", s.getCompute)
	handle("POST /api/v1/jobs", s.createJob)
	handle("GET /api/v1/jobs", s.listJobs)
	handle("GET /api/v1/jobs/{name}", s.getJob)
	handle("POST /api/v1/jobs/{name}/cancel", s.cancelJob)
	handle("GET /api/v1/jobs/{name}/logs", s.jobLogs)
	handle("GET /api/v1/jobs/{name}/outputs/{output}", s.jobOutput)
	handle("POST /api/v1/models", s.createModel)
	handle("GET /api/v1/models", s.listModels)
	handle("GET /api/v1/models/{name}", s.getModel)
	handle("GET /api/v1/models/{name}/versions/{version}", s.getModel)
	handle("GET /api/v1/models/{name}/versions/{version}/download", s.downloadModel)
	handle("POST /api/v1/endpoints", s.createEndpoint)
	handle("GET /api/v1/endpoints", s.listEndpoints)
	handle("GET /api/v1/endpoints/{name}", s.getEndpoint)
	handle("PUT /api/v1/endpoints/{name}", s.updateEndpoint)
	handle("DELETE /api/v1/endpoints/{name}", s.deleteEndpoint)
	handle("GET /api/v1/endpoints/{name}/credentials", s.getCredentials)
	handle("POST /api/v1/endpoints/{name}/regenerate-keys", s.regenerateKeys)
	handle("POST /api/v1/endpoints/{endpoint}/deployments", s.createDeployment)
	handle("GET /api/v1/endpoints/{endpoint}/deployments", s.listDeployments)
	handle("GET /api/v1/endpoints/{endpoint}/deployments/{name}", s.getDeployment)
	handle("PUT /api/v1/endpoints/{endpoint}/deployments/{name}", s.updateDeployment)
	handle("DELETE /api/v1/endpoints/{endpoint}/deployments/{name}", s.deleteDeployment)
	handle("GET /api/v1/endpoints/{endpoint}/deployments/{name}/logs", s.deploymentLogs)
	handle("POST /api/v1/clusters", s.createCluster)
	handle("GET /api/v1/clusters", s.listClusters)
	handle("GET /api/v1/clusters/{name}", s.getCluster)
	handle("DELETE /api/v1/clusters/{name}", s.deleteCluster)
	handle("GET /api/v1/clusters/{cluster}/extensions", s.listExtensions)
	handle("PUT /api/v1/clusters/{cluster}/extensions/{name}", s.createExtension)
	handle("GET /api/v1/clusters/{cluster}/extensions/{name}", s.getExtension)
	handle("PATCH /api/v1/clusters/{cluster}/extensions/{name}", s.updateExtension)
	handle("DELETE /api/v1/clusters/{cluster}/extensions/{name}", s.deleteExtension)
	mux.Handle("POST /api/v1/agent/report", s.agentAuthenticated(s.agentReport))
	mux.Handle("/api/", s.authenticated(func(w http.ResponseWriter, r *http.Request) error {
		if allowed := allowedMethods(mux, r); len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			return &Error{Status: http.StatusMethodNotAllowed, Code: "MethodNotAllowed",
				Message: fmt.Sprintf("%s %s is not a route; this path takes %s", r.Method, r.URL.Path, strings.Join(allowed, ", "))}
		}
		return notFound("no API route %s %s; see ARCHITECTURE.md for the routes", r.Method, r.URL.Path)
	}))
	return s.withRequestID(mux)
}

// allowedMethods lists the methods that have a route for the request's path.
func allowedMethods(mux *http.ServeMux, r *http.Request) []string {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "/api/" && pattern != "" {
			allowed = append(allowed, m)
		}
	}
	return allowed
}

type ctxKey int

const requestIDKey ctxKey = 0

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			b := make([]byte, 8)
			rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

func (s *Server) authenticated(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.Token)) != 1 {
			writeError(w, r, s.Log, &Error{Status: http.StatusUnauthorized, Code: "Unauthorized",
				Message: "missing or wrong bearer token; the CLI reads it from BERTH_TOKEN or the server's data folder (token file)"})
			return
		}
		if err := h(w, r); err != nil {
			writeError(w, r, s.Log, err)
		}
	})
}

func (s *Server) getVersion(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, v1.Version{Version: version.Version, Commit: version.Commit})
	return nil
}

func (s *Server) getWorkspace(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, v1.Workspace{Name: s.Workspace})
	return nil
}

func (s *Server) localCompute() v1.Compute {
	return v1.Compute{Name: local.ComputeName, Type: "local", ProvisioningState: "Succeeded",
		Description: "runs jobs as processes on the server's machine", Properties: s.Local.Properties()}
}

func (s *Server) listComputes(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, v1.List[v1.Compute]{Value: []v1.Compute{s.localCompute()}})
	return nil
}

func (s *Server) getCompute(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if name != local.ComputeName {
		return notFound("compute %q not found; this workspace has: %s (see berth compute list)", name, local.ComputeName)
	}
	writeJSON(w, http.StatusOK, s.localCompute())
	return nil
}
