// Package router is the scoring front end (the seed's azureml-fe): it authenticates scoring
// requests with an endpoint's keys or tokens, picks a deployment by the endpoint's traffic
// weights (or the azureml-model-deployment header), waits for a free instance up to
// max_queue_wait_ms, and proxies the request with request_timeout_ms. It knows nothing of
// the workspace: whoever runs it (the server for the local compute, a Deployment in a
// cluster) tells it the endpoints with SetEndpoint.
package router

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

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
	Name string
	// Instance tells this endpoint from others of the same name, for tokens.
	Instance string
	AuthMode string
	// Keys are accepted in key mode.
	Keys        []string
	Traffic     map[string]int
	Mirror      map[string]int
	Deployments map[string]Deployment
}

// Router serves scoring requests.
type Router struct {
	// log is the access log: a line per scoring request.
	log *slog.Logger
	// verifyToken checks an aml_token bearer token for an endpoint.
	verifyToken func(token, endpoint, instance string) bool
	// MaxBodyBytes bounds a scoring request's body.
	MaxBodyBytes int64
	// intn picks a number in [0, n); injectable so tests can fix the traffic split.
	intn func(n int) int
	// TLSConfig, when set before Serve, makes the router speak HTTPS with it; the local
	// compute's router speaks HTTP on loopback.
	TLSConfig *tls.Config

	endpoints atomic.Pointer[map[string]*Endpoint]
	server    *fasthttp.Server

	mu        sync.Mutex
	instances map[string]*instance

	metrics        *metrics
	metricsHandler fasthttp.RequestHandler
}

// instance is the router's state for one scoring host: its admission limit and its
// connections.
type instance struct {
	settings v1.RequestSettings
	lim      *admission.Limiter
	client   *fasthttp.HostClient
}

// New returns a router with no endpoints that writes a line per request to log.
func New(log *slog.Logger, verifyToken func(token, endpoint, instance string) bool) *Router {
	r := &Router{
		log:          log,
		verifyToken:  verifyToken,
		MaxBodyBytes: 100 << 20,
		intn:         mathrand.IntN,
		instances:    map[string]*instance{},
		metrics:      newMetrics(),
	}
	r.metricsHandler = r.metrics.handler()
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

// scorePath matches /api/v1/endpoint/<name>/score and /api/v1/service/<name>/score and
// returns the endpoint's name.
func scorePath(path string) (string, bool) {
	for _, prefix := range []string{"/api/v1/endpoint/", "/api/v1/service/"} {
		if rest, ok := strings.CutPrefix(path, prefix); ok {
			name, ok := strings.CutSuffix(rest, "/score")
			return name, ok && name != "" && !strings.Contains(name, "/")
		}
	}
	return "", false
}

// TODO(router): throughput is about half of nginx's in front of the same scoring host on two
// cores (BENCHMARKS.md; the target is 0.95x). The time is in system calls and the
// Go scheduler, not in berth's code; next to try: several accept loops, a larger in-flight
// window, and a profile on a quiet machine.
//
// Serve answers scoring requests on ln until Shutdown. It is fasthttp, not net/http: a
// router spends its time in HTTP handling, and on a small machine net/http's goroutine
// handoffs cost it half its throughput against nginx.
func (r *Router) Serve(ln net.Listener) error {
	r.server = &fasthttp.Server{
		Handler:               r.handle,
		ErrorHandler:          r.handleParseError,
		Name:                  "berth-router",
		MaxRequestBodySize:    int(r.MaxBodyBytes),
		ReadTimeout:           5 * time.Minute,
		IdleTimeout:           2 * time.Minute,
		NoDefaultServerHeader: true,
		NoDefaultDate:         true,
	}
	if r.TLSConfig != nil {
		ln = tls.NewListener(ln, r.TLSConfig)
	}
	return r.server.Serve(ln)
}

// Shutdown stops taking requests and waits for those in flight.
func (r *Router) Shutdown(ctx context.Context) error {
	if r.server == nil {
		return nil
	}
	return r.server.ShutdownWithContext(ctx)
}

func (r *Router) handle(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	switch {
	case ctx.IsGet() && path == "/metrics":
		r.metricsHandler(ctx)
	case ctx.IsGet() && path == "/healthz":
		ctx.SetBodyString("ok\n")
	default:
		name, ok := scorePath(path)
		switch {
		case ok && ctx.IsPost():
			r.score(ctx, name)
		case ok:
			writeError(ctx, http.StatusMethodNotAllowed, "MethodNotAllowed", fmt.Sprintf("%s is not allowed on %s; scoring takes POST", ctx.Method(), path))
			ctx.Response.Header.Set("Allow", http.MethodPost)
		default:
			writeError(ctx, http.StatusNotFound, "NotFound", fmt.Sprintf("no scoring route %s %s; POST to /api/v1/endpoint/<endpoint>/score", ctx.Method(), path))
		}
	}
}

// handleParseError answers requests fasthttp could not read, in the router's JSON.
func (r *Router) handleParseError(ctx *fasthttp.RequestCtx, err error) {
	name, _ := scorePath(string(ctx.Path()))
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		status := writeError(ctx, http.StatusRequestEntityTooLarge, "PayloadTooLarge",
			fmt.Sprintf("the request body is larger than %d bytes; send less at a time (the limit is the server's --scoring-max-body-bytes)", r.MaxBodyBytes))
		r.metrics.observe(r.knownName(name), "", status, 0)
		return
	}
	writeError(ctx, http.StatusBadRequest, "BadRequest", "the request is not valid HTTP: "+err.Error())
}

// knownName is name when it is an endpoint's, else "": names from unknown paths would grow
// the metrics' series without bound.
func (r *Router) knownName(name string) string {
	if _, ok := (*r.endpoints.Load())[name]; ok {
		return name
	}
	return ""
}

// routeError is a refusal with the status and message the client sees.
type routeError struct {
	status  int
	code    string
	message string
}

func (r *Router) score(ctx *fasthttp.RequestCtx, name string) {
	start := time.Now()
	id := string(ctx.Request.Header.Peek("x-request-id"))
	if id == "" || len(id) > 64 {
		id = strconv.FormatUint(mathrand.Uint64(), 16) // an id, not a secret: no system call
	}
	ctx.Response.Header.Set("x-request-id", id)
	status, deployment := r.serve(ctx, name, id)
	r.metrics.observe(r.knownName(name), deployment, status, time.Since(start))
	r.log.Info("score", "request_id", id, "endpoint", name, "deployment", deployment, "status", status,
		"duration_ms", time.Since(start).Milliseconds())
}

// serve handles one scoring request and returns the status sent and the deployment chosen.
func (r *Router) serve(ctx *fasthttp.RequestCtx, name, id string) (int, string) {
	ep, ok := (*r.endpoints.Load())[name]
	if !ok {
		return writeError(ctx, http.StatusNotFound, "EndpointNotFound", fmt.Sprintf("endpoint %s not found", name)), ""
	}
	if e := r.authenticate(string(ctx.Request.Header.Peek("Authorization")), ep); e != nil {
		return writeError(ctx, e.status, e.code, e.message), ""
	}
	dep, e := r.pick(string(ctx.Request.Header.Peek("azureml-model-deployment")), ep)
	if e != nil {
		return writeError(ctx, e.status, e.code, e.message), ""
	}
	contentType := string(ctx.Request.Header.ContentType())
	r.maybeMirror(ep, dep.Name, contentType, ctx.PostBody(), id)
	return r.forward(ctx, ep, dep, contentType, id), dep.Name
}

func (r *Router) authenticate(auth string, ep *Endpoint) *routeError {
	scheme, token, ok := strings.Cut(auth, " ")
	if auth == "" || !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return &routeError{http.StatusUnauthorized, "Unauthorized",
			fmt.Sprintf("missing credentials; send Authorization: Bearer <key or token> (berth online-endpoint get-credentials -n %s)", ep.Name)}
	}
	switch ep.AuthMode {
	case v1.AuthAMLToken:
		if r.verifyToken != nil && r.verifyToken(token, ep.Name, ep.Instance) {
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
func (r *Router) pick(want string, ep *Endpoint) (Deployment, *routeError) {
	names := slices.Sorted(mapKeys(ep.Deployments))
	if want != "" {
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
func (r *Router) forward(ctx *fasthttp.RequestCtx, ep *Endpoint, dep Deployment, contentType, id string) int {
	if len(dep.Instances) == 0 {
		return writeError(ctx, http.StatusServiceUnavailable, "NoReadyDeployment", notReadyMessage(ep, dep))
	}
	queued := time.Now()
	inst, release, err := r.acquire(ctx, dep)
	if errors.Is(err, admission.ErrQueueTimeout) {
		return writeError(ctx, http.StatusTooManyRequests, "TooManyRequests",
			fmt.Sprintf("deployment %s is busy: the request waited longer than max_queue_wait_ms (%d ms) for a free instance; retry later or raise max_concurrent_requests_per_instance or instance_count",
				dep.Name, dep.Settings.MaxQueueWaitMS))
	}
	if err != nil {
		return writeError(ctx, http.StatusServiceUnavailable, "ShuttingDown", "the router is shutting down; retry")
	}
	defer release()

	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	resp := &ctx.Response
	req.Header.SetMethod(http.MethodPost)
	req.SetRequestURI("/score")
	req.Header.SetHost(inst.client.Addr)
	if contentType != "" {
		req.Header.SetContentType(contentType)
	}
	req.Header.Set("x-request-id", id)
	left := time.Duration(dep.Settings.MaxQueueWaitMS)*time.Millisecond - time.Since(queued)
	req.Header.Set(v1.QueueWaitHeader, strconv.FormatInt(max(left.Milliseconds(), 0), 10))
	req.SetBodyRaw(ctx.PostBody())
	deadline := time.Now().Add(time.Duration(dep.Settings.RequestTimeoutMS) * time.Millisecond)
	err = inst.client.DoDeadline(req, resp, deadline)
	switch {
	case errors.Is(err, fasthttp.ErrTimeout):
		resp.Reset()
		return writeError(ctx, http.StatusGatewayTimeout, "RequestTimeout",
			fmt.Sprintf("deployment %s did not answer within request_timeout_ms (%d ms)", dep.Name, dep.Settings.RequestTimeoutMS))
	case err != nil:
		resp.Reset()
		return writeError(ctx, http.StatusBadGateway, "BadGateway", fmt.Sprintf("deployment %s: %v", dep.Name, err))
	}
	resp.Header.Del("Server")
	resp.Header.Del("Date")
	resp.Header.Set("x-request-id", id)
	resp.Header.Set("azureml-model-deployment", dep.Name)
	return resp.StatusCode()
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
func (r *Router) acquire(ctx context.Context, dep Deployment) (*instance, func(), error) {
	var best *instance
	bestLoad := 0
	for _, url := range dep.Instances {
		inst := r.instance(url, dep.Settings)
		load := inst.lim.InFlight() + inst.lim.Queued()
		if best == nil || load < bestLoad {
			best, bestLoad = inst, load
		}
	}
	release, err := best.lim.Acquire(ctx)
	return best, release, err
}

// instance returns the router's state for a scoring host, made anew when its settings
// change. Up to window times max_concurrent_requests_per_instance requests are in flight to
// one instance, so that its workers never wait for the network between requests; the
// scoring host itself admits max_concurrent_requests_per_instance to its workers and queues
// the rest, with the same max_queue_wait_ms.
func (r *Router) instance(url string, s v1.RequestSettings) *instance {
	r.mu.Lock()
	defer r.mu.Unlock()
	inst, ok := r.instances[url]
	if !ok || inst.settings != s {
		if ok {
			inst.client.CloseIdleConnections()
		}
		limit := window * max(s.MaxConcurrentRequestsPerInstance, 1)
		inst = &instance{settings: s,
			lim:    admission.New(limit, time.Duration(s.MaxQueueWaitMS)*time.Millisecond),
			client: &fasthttp.HostClient{Addr: strings.TrimPrefix(url, "http://"), MaxConns: limit, NoDefaultUserAgentHeader: true}}
		r.instances[url] = inst
	}
	return inst
}

// window is how many requests per worker the router keeps in flight to an instance.
const window = 2

// maybeMirror sends a copy of the request to a mirrored deployment, as often as its
// mirror_traffic percentage says; its answer is dropped.
func (r *Router) maybeMirror(ep *Endpoint, chosen, contentType string, body []byte, id string) {
	for name, pct := range ep.Mirror {
		dep, ok := ep.Deployments[name]
		if !ok || name == chosen || pct <= 0 || r.intn(100) >= pct || len(dep.Instances) == 0 {
			continue
		}
		body := append([]byte(nil), body...) // the request's body is reused once it is answered
		go func() {
			deadline := time.Now().Add(time.Duration(dep.Settings.RequestTimeoutMS) * time.Millisecond)
			ctx, cancel := context.WithDeadline(context.Background(), deadline)
			defer cancel()
			inst, release, err := r.acquire(ctx, dep)
			if err != nil {
				return
			}
			defer release()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.Header.SetMethod(http.MethodPost)
			req.SetRequestURI("/score")
			req.Header.SetHost(inst.client.Addr)
			req.Header.SetContentType(contentType)
			req.Header.Set("x-request-id", id+"-mirror")
			req.SetBodyRaw(body)
			status := http.StatusBadGateway
			if err := inst.client.DoDeadline(req, resp, deadline); err == nil {
				status = resp.StatusCode()
			}
			r.metrics.observeMirror(ep.Name, name, status)
		}()
	}
}

func writeError(ctx *fasthttp.RequestCtx, status int, code, message string) int {
	id := string(ctx.Response.Header.Peek("x-request-id"))
	ctx.Response.Reset()
	if id != "" {
		ctx.Response.Header.Set("x-request-id", id)
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	body, _ := json.Marshal(v1.Error{Error: v1.ErrorBody{Code: code, Message: message, RequestID: id}})
	ctx.SetBody(append(body, '\n'))
	return status
}

// statusLabel is the label value of a status code.
func statusLabel(status int) string { return strconv.Itoa(status) }
