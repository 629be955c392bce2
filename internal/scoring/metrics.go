package scoring

import (
	"net/http"
	"strconv"

	vm "github.com/VictoriaMetrics/metrics"
)

// metrics are what GET /metrics exposes, in the Prometheus text format. They live in a set of
// their own, so that tests can run several hosts in one process. The library is
// VictoriaMetrics', not client_golang: client_golang's package initialisation alone took
// 2 ms, which every job's berth-runtime paid before running a single command.
type metrics struct {
	set      *vm.Set
	byCode   map[int]*vm.Counter // the usual codes, resolved once instead of per request
	latency  *vm.PrometheusHistogram
	restarts *vm.Counter
}

// latencyBuckets start at half a millisecond: a small model answers in about one.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// newMetrics registers the host's metrics; the gauges read the limiter and the pool when
// scraped, so serving a request costs no gauge update.
func newMetrics(queued, inFlight, ready func() int) *metrics {
	s := vm.NewSet()
	m := &metrics{
		set:      s,
		latency:  s.NewPrometheusHistogramExt("berth_scoring_request_duration_seconds", latencyBuckets),
		restarts: s.NewCounter("berth_scoring_worker_restarts_total"),
		byCode:   map[int]*vm.Counter{},
	}
	gauge := func(name string, f func() int) { s.NewGauge(name, func() float64 { return float64(f()) }) }
	gauge("berth_scoring_queue_length", queued)
	gauge("berth_scoring_requests_in_flight", inFlight)
	gauge("berth_scoring_workers_ready", ready)
	for _, code := range []int{200, 400, 404, 405, 413, 429, 499, 500, 502, 503, 504} {
		m.byCode[code] = s.NewCounter(requestsSeries(code))
	}
	return m
}

func requestsSeries(code int) string {
	return `berth_scoring_requests_total{code="` + strconv.Itoa(code) + `"}`
}

// observe records one answered scoring request.
func (m *metrics) observe(status int, seconds float64) {
	c, ok := m.byCode[status]
	if !ok {
		c = m.set.GetOrCreateCounter(requestsSeries(status))
	}
	c.Inc()
	m.latency.Update(seconds)
}

func (m *metrics) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		m.set.WritePrometheus(w)
		vm.WriteProcessMetrics(w)
	})
}
