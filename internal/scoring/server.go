package scoring

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	v1 "berth/api/v1"
	"berth/internal/admission"
)

// server answers HTTP: the probes, the metrics and the scoring route.
type server struct {
	opts    Options
	pool    *pool
	limiter *admission.Limiter
	metrics *metrics
	log     *slog.Logger
	scrape  http.Handler

	// bufs holds request buffers: the body goes in after the frame header, and the worker's
	// answer comes back into the same memory, so a request usually allocates none.
	bufs sync.Pool
}

// maxPooledBuffer keeps one huge request from pinning its buffer for the process's life.
const maxPooledBuffer = 1 << 20

func (s *server) getBuf() *[]byte {
	if b, ok := s.bufs.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 16<<10)
	return &b
}

func (s *server) putBuf(b *[]byte) {
	if cap(*b) <= maxPooledBuffer {
		s.bufs.Put(b)
	}
}

// statusRecorder remembers the status a handler sent, for the access log and the metrics.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// ServeHTTP routes the request, answers errors in JSON and writes one access-log line.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := requestID(r.Header.Get("X-Request-Id"))
	w.Header()["X-Request-Id"] = []string{id}
	rec := &statusRecorder{ResponseWriter: w}

	err := s.route(rec, r, id)
	var errMessage string
	if err != nil {
		var he *httpError
		if !errors.As(err, &he) {
			he = &httpError{status: http.StatusInternalServerError, code: "InternalError",
				message: "the scoring host failed; its log has the details under this request id", err: err}
		}
		writeError(rec, id, he)
		rec.status = he.status
		errMessage = he.Error()
	}
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}

	elapsed := time.Since(start)
	if r.URL.Path == "/score" {
		s.metrics.observe(status, elapsed.Seconds())
	}
	// Probes come every few seconds (every 100 ms while a deployment starts): logged, they
	// would drown the user's own lines.
	if (r.URL.Path == "/" || r.URL.Path == "/ready") && (status == http.StatusOK || status == http.StatusServiceUnavailable) {
		return
	}
	attrs := []slog.Attr{
		slog.String("request_id", id),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
	}
	level := slog.LevelInfo
	if errMessage != "" {
		attrs = append(attrs, slog.String("error", errMessage))
		// Not 503: probes during init() are expected to fail and must not look like errors.
		if status >= 500 && status != http.StatusServiceUnavailable {
			level = slog.LevelError
		}
	}
	s.log.LogAttrs(context.Background(), level, "request", attrs...)
}

func (s *server) route(w http.ResponseWriter, r *http.Request, id string) error {
	switch r.URL.Path {
	case "/":
		if err := allow(w, r, http.MethodGet, http.MethodHead); err != nil {
			return err
		}
		return writeText(w, "Healthy")
	case "/ready":
		if err := allow(w, r, http.MethodGet, http.MethodHead); err != nil {
			return err
		}
		if !s.pool.isReady() {
			return newError(http.StatusServiceUnavailable, "NotReady",
				"not ready: %d of %d workers have finished init()", s.pool.readyCount(), s.opts.Workers)
		}
		return writeText(w, "Ready")
	case "/score":
		if err := allow(w, r, http.MethodPost); err != nil {
			return err
		}
		return s.score(w, r, id)
	case "/metrics":
		if err := allow(w, r, http.MethodGet); err != nil {
			return err
		}
		s.scrape.ServeHTTP(w, r)
		return nil
	}
	return newError(http.StatusNotFound, "NotFound",
		"no route %s; the scoring host serves GET /, GET /ready, POST /score and GET /metrics", r.URL.Path)
}

// allow answers 405 with the Allow header unless r uses one of methods.
func allow(w http.ResponseWriter, r *http.Request, methods ...string) error {
	for _, m := range methods {
		if r.Method == m {
			return nil
		}
	}
	list := methods[0]
	for _, m := range methods[1:] {
		list += ", " + m
	}
	w.Header().Set("Allow", list)
	return newError(http.StatusMethodNotAllowed, "MethodNotAllowed",
		"%s is not allowed on %s; use %s", r.Method, r.URL.Path, list)
}

func writeText(w http.ResponseWriter, text string) error {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(text)))
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, text)
	return nil
}

// queueBudget is how long a request may wait in the host's queue.
func queueBudget(r *http.Request, configured time.Duration) time.Duration {
	if v := r.Header.Get(v1.QueueWaitHeader); v != "" {
		if ms, err := strconv.Atoi(v); err == nil && ms >= 0 {
			return min(time.Duration(ms)*time.Millisecond, configured)
		}
	}
	return configured
}

// score runs one request through the queue and a worker.
func (s *server) score(w http.ResponseWriter, r *http.Request, id string) error {
	if !s.pool.everReady.Load() {
		return newError(http.StatusServiceUnavailable, "NotReady",
			"the scoring script is still starting: %d of %d workers have finished init(); retry when GET /ready answers 200",
			s.pool.readyCount(), s.opts.Workers)
	}
	// The body is read before queueing, so that a slow upload does not hold a slot.
	bufp := s.getBuf()
	defer s.putBuf(bufp)
	if err := s.readBody(r, bufp); err != nil {
		return err
	}

	release, err := s.limiter.AcquireWithin(r.Context(), queueBudget(r, s.opts.MaxQueueWait))
	switch {
	case errors.Is(err, admission.ErrQueueTimeout):
		return newError(http.StatusTooManyRequests, "TooManyRequests",
			"all %d request slots stayed busy for %d ms (max_queue_wait_ms); retry later, or raise the deployment's max_concurrent_requests_per_instance or instance_count (berth-runtime score --max-concurrent-requests and --workers)",
			s.opts.MaxConcurrent, s.opts.MaxQueueWait.Milliseconds())
	case err != nil:
		return errClientGone
	}
	defer release()

	// The request timeout starts once the request is admitted: the queue has its own bound.
	deadline := time.Now().Add(s.opts.RequestTimeout)
	wk := s.pool.tryGet()
	if wk == nil {
		// More slots than workers, or a worker being replaced: wait for one, within the
		// request's time.
		ctx, cancel := context.WithDeadline(r.Context(), deadline)
		wk, err = s.pool.get(ctx)
		cancel()
		if err != nil {
			if r.Context().Err() != nil {
				return errClientGone
			}
			return s.timeoutError("no worker became free")
		}
	}

	kind, payload, buf, err := wk.call(*bufp, deadline)
	*bufp = buf
	if err != nil {
		return s.callFailed(wk, id, err)
	}
	s.pool.put(wk)

	switch kind {
	case kindJSON:
		return writeAnswer(w, "application/json", payload)
	case kindBytes:
		return writeAnswer(w, "application/octet-stream", payload)
	case kindRunFailed:
		f := parseFailure(payload)
		s.log.Error("run() failed", "request_id", id, "worker", wk.index, "error", f.Summary,
			"traceback", f.Traceback)
		return newError(http.StatusInternalServerError, "RunFailed", "%s", f.Summary)
	default: // kindUnsupported
		return newError(http.StatusInternalServerError, "UnsupportedResult", "%s", payload)
	}
}

// callFailed turns a call without an answer into the client's error and deals with the worker.
//
// On a timeout the worker is not killed: it finishes run(), its answer is discarded and it
// serves again, because a replacement would pay init() (often loading a model) for one slow
// request. A worker still busy long after (Options.LateGrace) is killed and replaced.
func (s *server) callFailed(wk *worker, id string, err error) error {
	var ce *callError
	if errors.As(err, &ce) && ce.timedOut {
		if ce.late {
			s.pool.awaitLate(wk, id)
		}
		return s.timeoutError("run() did not answer")
	}
	// The worker closed its end: it is dying or dead. Its exit status tells the client why.
	select {
	case <-wk.exited:
	case <-time.After(2 * time.Second):
		wk.kill("it closed its answer pipe but did not exit")
		<-wk.exited
	}
	return &httpError{status: http.StatusBadGateway, code: "WorkerDied",
		message: "the worker running this request died (" + wk.exitDescription() +
			"); it is being replaced, and the request can be retried",
		err: err}
}

func (s *server) timeoutError(what string) *httpError {
	return newError(http.StatusGatewayTimeout, "RequestTimeout",
		"%s within the request timeout of %d ms (request_timeout_ms)", what, s.opts.RequestTimeout.Milliseconds())
}

// readBody reads the request body into *bufp after headerSize reserved bytes.
func (s *server) readBody(r *http.Request, bufp *[]byte) error {
	limit := s.opts.MaxBodyBytes
	tooLarge := newError(http.StatusRequestEntityTooLarge, "BodyTooLarge",
		"the request body is larger than %d bytes (--max-body-bytes)", limit)
	if r.ContentLength > limit {
		return tooLarge
	}
	buf := (*bufp)[:headerSize]
	if n := r.ContentLength; n >= 0 {
		if int64(cap(buf)) < headerSize+n {
			buf = make([]byte, headerSize, headerSize+n)
		}
		buf = buf[:headerSize+n]
		if _, err := io.ReadFull(r.Body, buf[headerSize:]); err != nil {
			*bufp = buf[:0]
			return newError(http.StatusBadRequest, "BadRequest", "reading the request body: %v", err)
		}
	} else {
		// Chunked: read until the end or one byte past the limit.
		for {
			if len(buf) == cap(buf) {
				buf = append(buf, 0)[:len(buf)]
			}
			n, err := r.Body.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if int64(len(buf)-headerSize) > limit {
				*bufp = buf[:0]
				return tooLarge
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				*bufp = buf[:0]
				return newError(http.StatusBadRequest, "BadRequest", "reading the request body: %v", err)
			}
		}
	}
	*bufp = buf
	if !utf8.Valid(buf[headerSize:]) {
		return newError(http.StatusBadRequest, "InvalidBody",
			"the request body is not valid UTF-8; run(raw_data) receives text, so send JSON or base64-encode binary data")
	}
	return nil
}

func writeAnswer(w http.ResponseWriter, contentType string, body []byte) error {
	h := w.Header()
	h["Content-Type"] = []string{contentType}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	return nil
}

// requestID returns the client's id when it is a sane one, else a new one. Ids are logged,
// so anything long or with control characters is replaced rather than trusted.
func requestID(incoming string) string {
	if n := len(incoming); n > 0 && n <= 128 {
		ok := true
		for i := 0; i < n && ok; i++ {
			ok = incoming[i] > ' ' && incoming[i] < 0x7f
		}
		if ok {
			return incoming
		}
	}
	return newRequestID()
}

// newRequestID returns a random UUID (version 4). The ids need to be unique, not secret, so
// math/rand's per-thread generator is enough and costs nothing under load.
func newRequestID() string {
	var b [16]byte
	hi, lo := rand.Uint64(), rand.Uint64()
	for i := range 8 {
		b[i] = byte(hi >> (56 - 8*i))
		b[8+i] = byte(lo >> (56 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}
