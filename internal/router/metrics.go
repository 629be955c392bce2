package router

import (
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the router's Prometheus series, per endpoint and deployment.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	mirrored *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_router_requests_total",
			Help: "Scoring requests by endpoint, deployment and HTTP status code.",
		}, []string{"endpoint", "deployment", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "berth_router_request_duration_seconds",
			Help:    "Time from receiving a scoring request to its answer, by endpoint and deployment.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"endpoint", "deployment"}),
		mirrored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_router_mirrored_requests_total",
			Help: "Mirrored copies of scoring requests by endpoint, deployment and status code.",
		}, []string{"endpoint", "deployment", "code"}),
	}
	// The Go runtime's and the process's series make a router that has served nothing yet
	// answer with more than an empty page.
	m.registry.MustRegister(m.requests, m.latency, m.mirrored,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(endpoint, deployment string, status int, d time.Duration) {
	m.requests.WithLabelValues(endpoint, deployment, statusLabel(status)).Inc()
	m.latency.WithLabelValues(endpoint, deployment).Observe(d.Seconds())
}

func (m *metrics) observeMirror(endpoint, deployment string, status int) {
	m.mirrored.WithLabelValues(endpoint, deployment, statusLabel(status)).Inc()
}

func (m *metrics) handler() fasthttp.RequestHandler {
	return fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
}
