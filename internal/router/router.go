// Package router is the scoring front end (the seed's azureml-fe): it authenticates scoring
// requests with an endpoint's keys or tokens, picks a deployment by the endpoint's traffic
// weights (or the azureml-model-deployment header), waits for a free instance up to
// max_queue_wait_ms, and proxies the request with request_timeout_ms. It knows nothing of
// the workspace: whoever runs it (the server for the local compute, a Deployment in a
// cluster) tells it the endpoints with SetEndpoint.
package router

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mathrand "math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	v1 "berth/api/v1"
	"berth/internal/admission"
)

// Deployment is what the router needs of one deployment.
type Deployment struct {
	Name string
	// State is the deployment's provisioning state, named when no instance can serve.
	State string
	// Instances are the base URLs of the scoring hosts that are ready.
	Instances []string
	// Wanted is how many instances the deployment has in all.
	Wanted   int
	Settings v1.RequestSettings
}

// Endpoint is what the router needs of one endpoint.
type Endpoint struct {
	Name     string
	AuthMode string
	// Keys are accepted in key mode.
	Keys        []string
	Traffic     map[string]int
	Mirror      map[string]int
	Deployments map[string]Deployment
}

// Router serves scoring requests.
type Router struct {
	log *slog.Logger
	// verifyToken checks an aml_token bearer token for an endpoint.
	verifyToken func(token, endpoint string) bool
	client      *http.Client
	// MaxBodyBytes bounds a scoring request's body.
	MaxBodyBytes int64
	// intn picks a number in [0, n); injectable so tests can fix the traffic split.
	intn func(n int) int

	endpoints atomic.Pointer[map[string]*Endpoint]

	mu       sync.Mutex
	limiters map[string]*instanceLimiter

	metrics *metrics
}

type instanceLimiter struct {
	settings v1.RequestSettings
	lim      *admission.Limiter
}

// New returns a router with no endpoints.
func New(log *slog.Logger, verifyToken func(token, endpoint string) bool) *Router {
	r := &Router{
		log:         log,
		verifyToken: verifyToken,
		client: &http.Client{Transport: &http.Transport{
			MaxIdleConns: 1024, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second,
			DisableCompression: true,
		}},
		MaxBodyBytes: 100 << 20,
		intn:         mathrand.IntN,
		limiters:     map[string]*instanceLimiter{},
		metrics:      newMetrics(),
	}
	empty := map[string]*Endpoint{}
	r.endpoints.Store(&empty)
	return r
}

// SetEndpoint adds or replaces an endpoint's routing.
func (r *Router) SetEndpoint(e Endpoint) {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := map[string]*Endpoint{}
	for k, v := range *r.endpoints.Load() {
		next[k] = v
	}
	next[e.Name] = &e
	r.endpoints.Store(&next)
}

// RemoveEndpoint stops routing to an endpoint.
func (r *Router) RemoveEndpoint(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := map[string]*Endpoint{}
	for k, v := range *r.endpoints.Load() {
		if k != name {
			next[k] = v
		}
	}
	r.endpoints.Store(&next)
}

// Handler serves the scoring routes and /metrics.
func (r *Router) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/endpoint/{endpoint}/score", r.score)
	mux.HandleFunc("POST /api/v1/service/{endpoint}/score", r.score)
	mux.Handle("GET /metrics", r.metrics.handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		writeError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("no scoring route %s %s; POST to /api/v1/endpoint/<endpoint>/score", req.Method, req.URL.Path))
	})
	return mux
}

// routeError is a refusal with the status and message the client sees.
type routeError struct {
	status  int
	code    string
	message string
}

func (r *Router) score(w http.ResponseWriter, req *http.Request) {
	start := time.Now()
	id := req.Header.Get("x-request-id")
	if id == "" || len(id) > 64 {
		b := make([]byte, 8)
		rand.Read(b)
		id = hex.EncodeToString(b)
	}
	w.Header().Set("x-request-id", id)
	name := req.PathValue("endpoint")
	status, deployment := r.serve(w, req, name, id)
	label := name
	if _, known := (*r.endpoints.Load())[name]; !known {
		label = "" // names from unknown paths would grow the series without bound
	}
	r.metrics.observe(label, deployment, status, time.Since(start))
	r.log.Info("score", "request_id", id, "endpoint", name, "deployment", deployment, "status", status,
		"duration_ms", time.Since(start).Milliseconds())
}

// serve handles one scoring request and returns the status sent and the deployment chosen.
func (r *Router) serve(w http.ResponseWriter, req *http.Request, name, id string) (int, string) {
	ep, ok := (*r.endpoints.Load())[name]
	if !ok {
		return writeError(w, http.StatusNotFound, "EndpointNotFound", fmt.Sprintf("endpoint %s not found", name)), ""
	}
	if e := r.authenticate(req, ep); e != nil {
		return writeError(w, e.status, e.code, e.message), ""
	}
	dep, e := r.pick(req, ep)
	if e != nil {
		return writeError(w, e.status, e.code, e.message), ""
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return writeError(w, http.StatusRequestEntityTooLarge, "PayloadTooLarge",
				fmt.Sprintf("the request body is larger than %d bytes", r.MaxBodyBytes)), dep.Name
		}
		return writeError(w, http.StatusBadRequest, "BadRequest", "reading the request body: "+err.Error()), dep.Name
	}
	r.maybeMirror(ep, dep.Name, req, body, id)
	return r.forward(w, req, ep, dep, body, id), dep.Name
}

func (r *Router) authenticate(req *http.Request, ep *Endpoint) *routeError {
	auth := req.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if auth == "" || !ok || token == "" {
		return &routeError{http.StatusUnauthorized, "Unauthorized",
			fmt.Sprintf("missing credentials; send Authorization: Bearer <key or token> (berth online-endpoint get-credentials -n %s)", ep.Name)}
	}
	switch ep.AuthMode {
	case v1.AuthAMLToken:
		if r.verifyToken != nil && r.verifyToken(token, ep.Name) {
			return nil
		}
		return &routeError{http.StatusUnauthorized, "Unauthorized",
			fmt.Sprintf("the token is not valid for endpoint %s or has expired; get a new one with berth online-endpoint get-credentials -n %s", ep.Name, ep.Name)}
	default:
		for _, k := range ep.Keys {
			if subtle.ConstantTimeCompare([]byte(token), []byte(k)) == 1 {
				return nil
			}
		}
		return &routeError{http.StatusUnauthorized, "Unauthorized",
			fmt.Sprintf("the key is not a key of endpoint %s; see berth online-endpoint get-credentials -n %s", ep.Name, ep.Name)}
	}
}

// pick chooses the deployment: the one the azureml-model-deployment header names, else one
// drawn by the traffic weights.
func (r *Router) pick(req *http.Request, ep *Endpoint) (Deployment, *routeError) {
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range ep.Deployments {
			if !yield(n) {
				return
			}
		}
	})
	if want := req.Header.Get("azureml-model-deployment"); want != "" {
		dep, ok := ep.Deployments[want]
		if !ok {
			return Deployment{}, &routeError{http.StatusNotFound, "DeploymentNotFound",
				fmt.Sprintf("deployment %s not found in endpoint %s; its deployments are: %s", want, ep.Name, listOrNone(names))}
		}
		return dep, nil
	}
	total := 0
	for _, n := range names {
		total += ep.Traffic[n]
	}
	if total == 0 {
		return Deployment{}, &routeError{http.StatusServiceUnavailable, "NoTraffic",
			fmt.Sprintf("endpoint %s sends no traffic to any deployment (deployments: %s); set it with berth online-endpoint update -n %s --traffic \"<deployment>=100\", or name one in the azureml-model-deployment header",
				ep.Name, listOrNone(names), ep.Name)}
	}
	draw := r.intn(total)
	for _, n := range names {
		if draw < ep.Traffic[n] {
			return ep.Deployments[n], nil
		}
		draw -= ep.Traffic[n]
	}
	return Deployment{}, &routeError{http.StatusInternalServerError, "InternalError", "traffic weights changed while routing"}
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// forward waits for a free instance of dep and sends it the request.
func (r *Router) forward(w http.ResponseWriter, req *http.Request, ep *Endpoint, dep Deployment, body []byte, id string) int {
	if len(dep.Instances) == 0 {
		return writeError(w, http.StatusServiceUnavailable, "NoReadyDeployment", notReadyMessage(ep, dep))
	}
	instance, release, err := r.acquire(req.Context(), dep)
	if errors.Is(err, admission.ErrQueueTimeout) {
		return writeError(w, http.StatusTooManyRequests, "TooManyRequests",
			fmt.Sprintf("deployment %s is busy: the request waited longer than max_queue_wait_ms (%d ms) for a free instance; retry later or raise max_concurrent_requests_per_instance or instance_count",
				dep.Name, dep.Settings.MaxQueueWaitMS))
	}
	if err != nil {
		return 499 // the client went away while waiting
	}
	defer release()

	timeout := time.Duration(dep.Settings.RequestTimeoutMS) * time.Millisecond
	ctx, cancel := context.WithTimeout(req.Context(), timeout)
	defer cancel()
	out, err := http.NewRequestWithContext(ctx, http.MethodPost, instance+"/score", bytes.NewReader(body))
	if err != nil {
		return writeError(w, http.StatusInternalServerError, "InternalError", err.Error())
	}
	out.Header.Set("Content-Type", req.Header.Get("Content-Type"))
	out.Header.Set("x-request-id", id)
	resp, err := r.client.Do(out)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return writeError(w, http.StatusGatewayTimeout, "RequestTimeout",
				fmt.Sprintf("deployment %s did not answer within request_timeout_ms (%d ms)", dep.Name, dep.Settings.RequestTimeoutMS))
		}
		return writeError(w, http.StatusBadGateway, "BadGateway", fmt.Sprintf("deployment %s: %v", dep.Name, err))
	}
	defer resp.Body.Close()
	for _, h := range []string{"Content-Type", "Content-Length"} {
		if v := resp.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.Header().Set("azureml-model-deployment", dep.Name)
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
	return resp.StatusCode
}

func notReadyMessage(ep *Endpoint, picked Deployment) string {
	var parts []string
	for _, n := range slices.Sorted(mapKeys(ep.Deployments)) {
		d := ep.Deployments[n]
		parts = append(parts, fmt.Sprintf("%s is %s (%d of %d instances ready)", n, d.State, len(d.Instances), d.Wanted))
	}
	return fmt.Sprintf("deployment %s of endpoint %s has no ready instance to serve the request: %s",
		picked.Name, ep.Name, strings.Join(parts, "; "))
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// acquire takes a slot on the instance of dep with the fewest requests in flight and waiting.
func (r *Router) acquire(ctx context.Context, dep Deployment) (string, func(), error) {
	var best string
	var bestLim *admission.Limiter
	bestLoad := 0
	for _, inst := range dep.Instances {
		lim := r.limiter(inst, dep.Settings)
		load := lim.InFlight() + lim.Queued()
		if bestLim == nil || load < bestLoad {
			best, bestLim, bestLoad = inst, lim, load
		}
	}
	release, err := bestLim.Acquire(ctx)
	return best, release, err
}

func (r *Router) limiter(instance string, s v1.RequestSettings) *admission.Limiter {
	r.mu.Lock()
	defer r.mu.Unlock()
	il, ok := r.limiters[instance]
	if !ok || il.settings != s {
		il = &instanceLimiter{settings: s,
			lim: admission.New(max(s.MaxConcurrentRequestsPerInstance, 1), time.Duration(s.MaxQueueWaitMS)*time.Millisecond)}
		r.limiters[instance] = il
	}
	return il.lim
}

// maybeMirror sends a copy of the request to a mirrored deployment, as often as its
// mirror_traffic percentage says; its answer is dropped.
func (r *Router) maybeMirror(ep *Endpoint, chosen string, req *http.Request, body []byte, id string) {
	for name, pct := range ep.Mirror {
		dep, ok := ep.Deployments[name]
		if !ok || name == chosen || pct <= 0 || r.intn(100) >= pct || len(dep.Instances) == 0 {
			continue
		}
		contentType := req.Header.Get("Content-Type")
		go func() {
			timeout := time.Duration(dep.Settings.RequestTimeoutMS) * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			instance, release, err := r.acquire(ctx, dep)
			if err != nil {
				return
			}
			defer release()
			out, _ := http.NewRequestWithContext(ctx, http.MethodPost, instance+"/score", bytes.NewReader(body))
			out.Header.Set("Content-Type", contentType)
			out.Header.Set("x-request-id", id+"-mirror")
			resp, err := r.client.Do(out)
			status := 502
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				status = resp.StatusCode
			}
			r.metrics.observeMirror(ep.Name, name, status)
		}()
	}
}

func writeError(w http.ResponseWriter, status int, code, message string) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v1.Error{Error: v1.ErrorBody{Code: code, Message: message}})
	return status
}

// statusLabel is the label value of a status code.
func statusLabel(status int) string { return strconv.Itoa(status) }
