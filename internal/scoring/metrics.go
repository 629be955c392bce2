package scoring

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are what GET /metrics exposes. They live in a registry of their own, not the
// process-wide default, so that tests can run several hosts in one process.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	byCode   map[int]prometheus.Counter // the usual codes, resolved once instead of per request
	latency  prometheus.Histogram
	restarts prometheus.Counter
}

// latencyBuckets start at half a millisecond: a small model answers in about one.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// newMetrics registers the host's metrics; the gauges read the limiter and the pool when
// scraped, so serving a request costs no gauge update.
func newMetrics(queued, inFlight, ready func() int) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_scoring_requests_total",
			Help: "Scoring requests (POST /score) answered, by HTTP status code.",
		}, []string{"code"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "berth_scoring_request_duration_seconds",
			Help:    "Time from receiving a scoring request to answering it, queueing included.",
			Buckets: latencyBuckets,
		}),
		restarts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "berth_scoring_worker_restarts_total",
			Help: "Workers that died and were replaced.",
		}),
	}
	gauge := func(name, help string, f func() int) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return float64(f()) })
	}
	m.registry.MustRegister(
		m.requests, m.latency, m.restarts,
		gauge("berth_scoring_queue_length", "Scoring requests waiting for a slot.", queued),
		gauge("berth_scoring_requests_in_flight", "Scoring requests holding a slot.", inFlight),
		gauge("berth_scoring_workers_ready", "Workers whose init() returned and that are alive.", ready),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.byCode = make(map[int]prometheus.Counter)
	for _, code := range []int{200, 400, 404, 405, 413, 429, 499, 500, 502, 503, 504} {
		m.byCode[code] = m.requests.WithLabelValues(strconv.Itoa(code))
	}
	return m
}

// observe records one answered scoring request.
func (m *metrics) observe(status int, seconds float64) {
	c, ok := m.byCode[status]
	if !ok {
		c = m.requests.WithLabelValues(strconv.Itoa(status))
	}
	c.Inc()
	m.latency.Observe(seconds)
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
