package router

import (
	"strconv"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"
)

// metrics are the router's Prometheus series, per endpoint and deployment, in a set of their
// own so that tests can run several routers in one process.
type metrics struct {
	set *vm.Set
}

// latencyBuckets span half a millisecond to 16 s, doubling.
var latencyBuckets = func() []float64 {
	b := make([]float64, 16)
	for i := range b {
		b[i] = 0.0005 * float64(int(1)<<i)
	}
	return b
}()

func newMetrics() *metrics { return &metrics{set: vm.NewSet()} }

// series names a series with its labels in alphabetical order, as Prometheus prints them.
func series(name string, labels ...string) string {
	s := name + "{"
	for i := 0; i+1 < len(labels); i += 2 {
		if i > 0 {
			s += ","
		}
		s += labels[i] + "=" + strconv.Quote(labels[i+1])
	}
	return s + "}"
}

func (m *metrics) observe(endpoint, deployment string, status int, d time.Duration) {
	code := strconv.Itoa(status)
	m.set.GetOrCreateCounter(series("berth_router_requests_total", "code", code, "deployment", deployment, "endpoint", endpoint)).Inc()
	m.set.GetOrCreatePrometheusHistogramExt(series("berth_router_request_duration_seconds", "deployment", deployment, "endpoint", endpoint),
		latencyBuckets).Update(d.Seconds())
}

func (m *metrics) observeMirror(endpoint, deployment string, status int) {
	m.set.GetOrCreateCounter(series("berth_router_mirrored_requests_total", "code", strconv.Itoa(status),
		"deployment", deployment, "endpoint", endpoint)).Inc()
}

func (m *metrics) handler() fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/plain; version=0.0.4; charset=utf-8")
		m.set.WritePrometheus(ctx)
	}
}
