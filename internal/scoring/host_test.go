package scoring

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "berth/api/v1"
)

// These tests run the host as a real process (this test binary, re-executed into Main) with
// real Python workers: Debian's /usr/bin/python3, which has numpy.
const testPython = "/usr/bin/python3"

const hostEnv = "BERTH_SCORING_TEST_HOST"

func TestMain(m *testing.M) {
	if os.Getenv(hostEnv) == "1" {
		os.Exit(Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// testScript answers commands sent as JSON, so one script serves most tests.
const testScript = `
import json, os, signal, sys, time

def wait_for(path, limit=30.0):
    end = time.time() + limit
    while not os.path.exists(path):
        if time.time() > end:
            raise TimeoutError("gave up waiting for " + path)
        time.sleep(0.005)

def init():
    gate = os.environ.get("TEST_INIT_GATE")
    if gate:
        wait_for(gate)
    print("init ran")

def run(raw_data):
    try:
        req = json.loads(raw_data)
    except ValueError:
        return raw_data
    op = req.get("op") if isinstance(req, dict) else None
    if op == "dict":
        return {"a": 1, "b": [1.5, None, True]}
    if op == "str":
        return "hello"
    if op == "bytes":
        return b"\x00\x01binary"
    if op == "array":
        import numpy
        return numpy.arange(6).reshape(2, 3)
    if op == "scalar":
        import numpy
        return numpy.int64(7)
    if op == "float32":
        import numpy
        return {"x": numpy.float32(1.5)}
    if op == "numpy_loaded":
        return "numpy" in sys.modules
    if op == "set":
        return {1, 2}
    if op == "nested_set":
        return {"s": {1}}
    if op == "object":
        return object()
    if op == "raise":
        raise ValueError("bad input")
    if op == "exit":
        os._exit(1)
    if op == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if op == "sleep":
        time.sleep(req["seconds"])
        return {"slept": req["seconds"]}
    if op == "wait":
        wait_for(req["path"])
        return {"waited": True}
    if op == "barrier":
        # Every caller leaves a file and waits for n of them: it returns only if n requests
        # are inside run() at the same time.
        open(os.path.join(req["dir"], str(os.getpid())), "w").close()
        end = time.time() + 30
        while len(os.listdir(req["dir"])) < req["n"]:
            if time.time() > end:
                return {"pid": os.getpid(), "met": False}
            time.sleep(0.005)
        return {"pid": os.getpid(), "met": True}
    if op == "env":
        return {"model_dir": os.environ.get("AZUREML_MODEL_DIR"),
                "berth_model_dir": os.environ.get("BERTH_MODEL_DIR"),
                "cwd": os.getcwd(), "path0": sys.path[0]}
    if op == "print":
        print("printed by run")
        print("complained by run", file=sys.stderr)
        return "ok"
    return {"echo": req}
`

// hostProc is a running `berth-runtime score` process.
type hostProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	dir    string // the script's folder
	base   string // http://address
	exited chan struct{}
	code   int

	mu     sync.Mutex
	stderr bytes.Buffer
	stdout bytes.Buffer
}

var listeningRE = regexp.MustCompile(`msg=listening address=(\S+)`)

// startHost writes script as score.py in a new folder and starts the host on a free port.
func startHost(t *testing.T, script string, env []string, args ...string) *hostProc {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "score.py", script)
	return startHostIn(t, dir, env, args...)
}

func startHostIn(t *testing.T, dir string, env []string, args ...string) *hostProc {
	t.Helper()
	full := append([]string{"--script", filepath.Join(dir, "score.py"), "--python", testPython,
		"--port", "0"}, args...)
	cmd := exec.Command(os.Args[0], full...)
	cmd.Env = append(append(os.Environ(), hostEnv+"=1"), env...)
	h := &hostProc{t: t, cmd: cmd, dir: dir, exited: make(chan struct{})}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = lockedWriter{&h.mu, &h.stdout}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			h.mu.Lock()
			h.stderr.WriteString(line + "\n")
			h.mu.Unlock()
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		cmd.Wait()
		h.code = cmd.ProcessState.ExitCode()
		close(h.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-h.exited
		if t.Failed() {
			t.Logf("host stderr:\n%s\nhost stdout:\n%s", h.errText(), h.outText())
		}
	})
	select {
	case a := <-addr:
		h.base = "http://" + a
	case <-h.exited:
		t.Fatalf("host exited (code %d) before listening:\n%s", h.code, h.errText())
	case <-time.After(30 * time.Second):
		t.Fatalf("host did not log its address:\n%s", h.errText())
	}
	return h
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func (h *hostProc) errText() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stderr.String()
}

func (h *hostProc) outText() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stdout.String()
}

// waitFor polls cond until it holds; it only waits longer on a slow machine, never fails
// early.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *hostProc) waitReady() {
	h.t.Helper()
	waitFor(h.t, "GET /ready to answer 200", func() bool {
		return h.get("/ready").status == http.StatusOK
	})
}

// waitExit waits for the host to exit and returns its exit code.
func (h *hostProc) waitExit() int {
	h.t.Helper()
	select {
	case <-h.exited:
		return h.code
	case <-time.After(30 * time.Second):
		h.t.Fatalf("host did not exit:\n%s", h.errText())
		return -1
	}
}

type response struct {
	status int
	header http.Header
	body   string
}

// errorBody decodes the JSON error of a failed request.
func (r response) errorBody(t *testing.T) v1.ErrorBody {
	t.Helper()
	var e v1.Error
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("error body %q is not the JSON error: %v", r.body, err)
	}
	return e.Error
}

var client = &http.Client{Timeout: 60 * time.Second}

func (h *hostProc) do(req *http.Request) response {
	h.t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(body)}
}

func (h *hostProc) get(path string) response {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.base+path, nil)
	return h.do(req)
}

func (h *hostProc) score(body string) response {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.base+"/score", strings.NewReader(body))
	return h.do(req)
}

// metric returns the value of a metric line of GET /metrics, such as
// `berth_scoring_requests_in_flight`, or "" if absent.
func (h *hostProc) metric(name string) string {
	h.t.Helper()
	for _, line := range strings.Split(h.get("/metrics").body, "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			return rest
		}
	}
	return ""
}

func op(name string) string { return fmt.Sprintf(`{"op": %q}`, name) }

func TestScoringAnswers(t *testing.T) {
	t.Parallel()
	h := startHost(t, testScript, nil)
	h.waitReady()

	// Before anything returned numpy, numpy must not have been imported.
	if r := h.score(op("numpy_loaded")); r.body != "false" {
		t.Errorf("numpy imported before any run() returned a numpy value: %s", r.body)
	}
	for _, tc := range []struct {
		name, body, contentType, want string
	}{
		{"dict", op("dict"), "application/json", `{"a": 1, "b": [1.5, null, true]}`},
		{"str is a JSON string", op("str"), "application/json", `"hello"`},
		{"bytes", op("bytes"), "application/octet-stream", "\x00\x01binary"},
		{"numpy array", op("array"), "application/json", `[[0, 1, 2], [3, 4, 5]]`},
		{"numpy scalar", op("scalar"), "application/json", `7`},
		{"numpy float32 inside a dict", op("float32"), "application/json", `{"x": 1.5}`},
		{"text that is not JSON", "héllo wörld", "application/json", `"h\u00e9llo w\u00f6rld"`},
		{"empty body", "", "application/json", `""`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.score(tc.body)
			if r.status != http.StatusOK || r.body != tc.want || r.header.Get("Content-Type") != tc.contentType {
				t.Fatalf("got %d %s %q, want 200 %s %q", r.status, r.header.Get("Content-Type"), r.body,
					tc.contentType, tc.want)
			}
		})
	}
}

func TestScoringFailures(t *testing.T) {
	t.Parallel()
	h := startHost(t, testScript, nil)
	h.waitReady()
	supported := "; return a dict, list, str, number, numpy array or bytes"
	for _, tc := range []struct {
		name, body string
		status     int
		code, msg  string
	}{
		{"set", op("set"), 500, "UnsupportedResult", "run() returned a set, which cannot be sent as JSON" + supported},
		{"set inside a dict", op("nested_set"), 500, "UnsupportedResult", "run() returned a dict holding a set, which cannot be sent as JSON" + supported},
		{"object", op("object"), 500, "UnsupportedResult", "run() returned an object, which cannot be sent as JSON" + supported},
		{"run raises", op("raise"), 500, "RunFailed", "run() raised ValueError: bad input"},
		{"not UTF-8", "\xff\xfe", 400, "InvalidBody", "the request body is not valid UTF-8; run(raw_data) receives text, so send JSON or base64-encode binary data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.score(tc.body)
			e := r.errorBody(t)
			if r.status != tc.status || e.Code != tc.code || e.Message != tc.msg {
				t.Fatalf("got %d %s %q\nwant %d %s %q", r.status, e.Code, e.Message, tc.status, tc.code, tc.msg)
			}
			if e.RequestID == "" || e.RequestID != r.header.Get("X-Request-Id") {
				t.Fatalf("request id %q in the body, %q in the header", e.RequestID, r.header.Get("X-Request-Id"))
			}
		})
	}
	// The worker that raised keeps serving.
	if r := h.score(op("dict")); r.status != http.StatusOK {
		t.Fatalf("after the failures: %d %s", r.status, r.body)
	}
	waitFor(t, "run()'s traceback in the log", func() bool {
		return strings.Contains(h.errText(), `msg="run() failed"`) && strings.Contains(h.errText(), `in run`)
	})
	if got := h.metric(`berth_scoring_worker_restarts_total`); got != "0" {
		t.Errorf("worker restarts = %q, want 0", got)
	}
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	h := startHost(t, testScript, nil)
	h.waitReady()

	if r := h.get("/"); r.status != 200 || r.body != "Healthy" {
		t.Errorf("GET / = %d %q", r.status, r.body)
	}
	r := h.get("/nope")
	if e := r.errorBody(t); r.status != 404 || e.Code != "NotFound" ||
		e.Message != "no route /nope; the scoring host serves GET /, GET /ready, POST /score and GET /metrics" {
		t.Errorf("GET /nope = %d %+v", r.status, e)
	}
	r = h.get("/score")
	if e := r.errorBody(t); r.status != 405 || e.Message != "GET is not allowed on /score; use POST" || r.header.Get("Allow") != "POST" {
		t.Errorf("GET /score = %d %+v, Allow %q", r.status, e, r.header.Get("Allow"))
	}
	req, _ := http.NewRequest(http.MethodPost, h.base+"/ready", nil)
	if r := h.do(req); r.status != 405 || r.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /ready = %d, Allow %q", r.status, r.header.Get("Allow"))
	}

	// The client's request id is kept; it reaches the header and the access log.
	req, _ = http.NewRequest(http.MethodPost, h.base+"/score", strings.NewReader(op("dict")))
	req.Header.Set("x-request-id", "client-chosen-id-42")
	if r := h.do(req); r.header.Get("X-Request-Id") != "client-chosen-id-42" {
		t.Errorf("x-request-id answered %q", r.header.Get("X-Request-Id"))
	}
	waitFor(t, "the access log line", func() bool {
		return strings.Contains(h.errText(), "msg=request request_id=client-chosen-id-42 method=POST path=/score status=200 duration_ms=")
	})

	metrics := h.get("/metrics").body
	for _, want := range []string{
		`berth_scoring_requests_total{code="200"} 1`,
		`berth_scoring_request_duration_seconds_count 2`,
		"berth_scoring_queue_length 0",
		"berth_scoring_requests_in_flight 0",
		"berth_scoring_worker_restarts_total 0",
		"berth_scoring_workers_ready 1",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q:\n%s", want, metrics)
		}
	}
}

func TestEnvironmentAndOutput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code := filepath.Join(dir, "code")
	models := filepath.Join(dir, "models")
	os.Mkdir(code, 0o755)
	os.Mkdir(models, 0o755)
	writeFile(t, dir, "score.py", testScript)
	h := startHostIn(t, dir, nil, "--code-dir", code, "--model-dir", models, "--workers", "2",
		"--max-concurrent-requests", "2")
	h.waitReady()

	var env map[string]string
	if err := json.Unmarshal([]byte(h.score(op("env")).body), &env); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"model_dir": models, "berth_model_dir": models, "cwd": code, "path0": code}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}

	h.score(op("print"))
	waitFor(t, "run()'s prints in the host's output", func() bool {
		return regexp.MustCompile(`(?m)^\[worker [12]\] printed by run$`).MatchString(h.outText()) &&
			regexp.MustCompile(`(?m)^\[worker [12]\] complained by run$`).MatchString(h.errText())
	})
}

func TestReadyOnlyAfterInit(t *testing.T) {
	t.Parallel()
	gate := filepath.Join(t.TempDir(), "gate")
	h := startHost(t, testScript, []string{"TEST_INIT_GATE=" + gate})

	if r := h.get("/"); r.status != 200 {
		t.Fatalf("liveness during init() = %d", r.status)
	}
	r := h.get("/ready")
	if e := r.errorBody(t); r.status != 503 || e.Code != "NotReady" || e.Message != "not ready: 0 of 1 workers have finished init()" {
		t.Fatalf("GET /ready during init() = %d %+v", r.status, e)
	}
	r = h.score(op("dict"))
	if e := r.errorBody(t); r.status != 503 || e.Message !=
		"the scoring script is still starting: 0 of 1 workers have finished init(); retry when GET /ready answers 200" {
		t.Fatalf("POST /score during init() = %d %+v", r.status, e)
	}

	writeFile(t, filepath.Dir(gate), "gate", "")
	h.waitReady()
	if r := h.score(op("dict")); r.status != 200 {
		t.Fatalf("after init(): %d %s", r.status, r.body)
	}
}

func TestInitFailureExits3(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, script string
		summary      string
		traceback    string
	}{
		{"init raises", "def init():\n    raise ValueError('no model at /models')\n\ndef run(d):\n    return d\n",
			"init() raised ValueError: no model at /models", `line 2, in init`},
		{"import fails", "import not_a_module_anywhere\n\ndef run(d):\n    return d\n",
			"importing score.py raised ModuleNotFoundError: No module named 'not_a_module_anywhere'", "line 1, in <module>"},
		{"no run function", "def init():\n    pass\n",
			"importing score.py raised AttributeError: score.py defines no run(raw_data) function", "AttributeError"},
		{"worker exits in init", "import os\n\ndef init():\n    os._exit(7)\n\ndef run(d):\n    return d\n",
			"the worker exited before init() finished (exit status 7)", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			termLog := filepath.Join(t.TempDir(), "termination-log")
			h := startHost(t, tc.script, nil, "--termination-log", termLog, "--workers", "2",
				"--max-concurrent-requests", "2")
			if code := h.waitExit(); code != ExitInitFailed {
				t.Fatalf("exit code %d, want %d:\n%s", code, ExitInitFailed, h.errText())
			}
			data, err := os.ReadFile(termLog)
			if err != nil {
				t.Fatal(err)
			}
			text := string(data)
			if !strings.HasPrefix(text, tc.summary) || !strings.Contains(text, tc.traceback) {
				t.Fatalf("termination log:\n%s\nwant it to start with %q and hold %q", text, tc.summary, tc.traceback)
			}
			if !strings.Contains(h.errText(), `msg="init failed"`) {
				t.Fatalf("the failure is not logged:\n%s", h.errText())
			}
		})
	}
}

func TestWorkerDeathIsAnswered502AndRepaired(t *testing.T) {
	t.Parallel()
	h := startHost(t, testScript, nil)
	h.waitReady()
	for _, tc := range []struct{ op, status string }{
		{"exit", "exit status 1"},
		{"kill", "killed by SIGKILL"},
	} {
		r := h.score(op(tc.op))
		e := r.errorBody(t)
		want := "the worker running this request died (" + tc.status + "); it is being replaced, and the request can be retried"
		if r.status != 502 || e.Code != "WorkerDied" || e.Message != want {
			t.Fatalf("%s: got %d %s %q\nwant 502 WorkerDied %q", tc.op, r.status, e.Code, e.Message, want)
		}
		// The next request waits for the replacement (within the request timeout) and is
		// served; a slow machine may need more than one try.
		waitFor(t, "a request served by the replacement", func() bool {
			return h.score(op("dict")).status == http.StatusOK
		})
	}
	if got := h.metric("berth_scoring_worker_restarts_total"); got != "2" {
		t.Errorf("worker restarts = %q, want 2", got)
	}
	h.waitReady()
}

func TestRequestTimeout(t *testing.T) {
	t.Parallel()
	h := startHost(t, testScript, nil, "--request-timeout-ms", "200")
	h.waitReady()
	release := filepath.Join(t.TempDir(), "release")

	r := h.score(fmt.Sprintf(`{"op": "wait", "path": %q}`, release))
	e := r.errorBody(t)
	if r.status != 504 || e.Code != "RequestTimeout" || e.Message != "run() did not answer within the request timeout of 200 ms (request_timeout_ms)" {
		t.Fatalf("got %d %+v", r.status, e)
	}
	// The late worker is neither killed nor replaced: once its run() returns it serves again.
	writeFile(t, filepath.Dir(release), "release", "")
	waitFor(t, "the late worker to serve again", func() bool {
		return h.score(op("dict")).status == http.StatusOK
	})
	waitFor(t, "the late answer to be logged", func() bool {
		return strings.Contains(h.errText(), "late answer discarded")
	})
	if got := h.metric("berth_scoring_worker_restarts_total"); got != "0" {
		t.Errorf("worker restarts = %q, want 0", got)
	}
}

func TestQueueWaitAnswers429(t *testing.T) {
	t.Parallel()
	h := startHost(t, testScript, nil, "--max-concurrent-requests", "1", "--max-queue-wait-ms", "50")
	h.waitReady()
	release := filepath.Join(t.TempDir(), "release")

	slow := make(chan response, 1)
	go func() { slow <- h.score(fmt.Sprintf(`{"op": "wait", "path": %q}`, release)) }()
	waitFor(t, "the slow request to hold the slot", func() bool {
		return h.metric("berth_scoring_requests_in_flight") == "1"
	})

	r := h.score(op("dict"))
	e := r.errorBody(t)
	want := "all 1 request slots stayed busy for 50 ms (max_queue_wait_ms); retry later, or raise the deployment's max_concurrent_requests_per_instance or instance_count (berth-runtime score --max-concurrent-requests and --workers)"
	if r.status != 429 || e.Code != "TooManyRequests" || e.Message != want {
		t.Fatalf("got %d %+v", r.status, e)
	}
	writeFile(t, filepath.Dir(release), "release", "")
	if r := <-slow; r.status != 200 {
		t.Fatalf("slow request: %d %s", r.status, r.body)
	}
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	h := startHost(t, testScript, nil, "--max-body-bytes", "10")
	h.waitReady()
	if r := h.score("0123456789"); r.status != 200 {
		t.Fatalf("10 bytes: %d %s", r.status, r.body)
	}
	want := "the request body is larger than 10 bytes (--max-body-bytes)"
	r := h.score("0123456789x")
	if e := r.errorBody(t); r.status != 413 || e.Code != "BodyTooLarge" || e.Message != want {
		t.Fatalf("11 bytes: %d %+v", r.status, e)
	}
	// Without Content-Length (chunked), the limit holds as the body streams in.
	req, _ := http.NewRequest(http.MethodPost, h.base+"/score", io.MultiReader(strings.NewReader("012345"), strings.NewReader("6789xy")))
	req.ContentLength = -1
	r = h.do(req)
	if e := r.errorBody(t); r.status != 413 || e.Message != want {
		t.Fatalf("11 bytes chunked: %d %+v", r.status, e)
	}
}

func TestWorkersServeInParallel(t *testing.T) {
	t.Parallel()
	const n = 3
	h := startHost(t, testScript, nil, "--workers", "3", "--max-concurrent-requests", "3",
		"--request-timeout-ms", "60000")
	h.waitReady()
	barrier := t.TempDir()

	results := make(chan response, n)
	for range n {
		go func() { results <- h.score(fmt.Sprintf(`{"op": "barrier", "dir": %q, "n": %d}`, barrier, n)) }()
	}
	pids := map[int]bool{}
	for range n {
		r := <-results
		var got struct {
			PID int  `json:"pid"`
			Met bool `json:"met"`
		}
		if err := json.Unmarshal([]byte(r.body), &got); err != nil || !got.Met {
			t.Fatalf("%d %s: the %d requests were not inside run() at the same time", r.status, r.body, n)
		}
		pids[got.PID] = true
	}
	if len(pids) != n {
		t.Fatalf("served by %d workers, want %d", len(pids), n)
	}
}

func TestSIGTERMFinishesInFlightAndExits0(t *testing.T) {
	t.Parallel()
	h := startHost(t, testScript, nil, "--workers", "2", "--max-concurrent-requests", "2")
	h.waitReady()
	var pids [][]string
	waitFor(t, "both workers' pids in the log", func() bool {
		pids = regexp.MustCompile(`msg="worker ready" worker=\d pid=(\d+)`).FindAllStringSubmatch(h.errText(), -1)
		return len(pids) == 2
	})
	release := filepath.Join(t.TempDir(), "release")

	inFlight := make(chan response, 1)
	go func() { inFlight <- h.score(fmt.Sprintf(`{"op": "wait", "path": %q}`, release)) }()
	waitFor(t, "the request to be in flight", func() bool {
		return h.metric("berth_scoring_requests_in_flight") == "1"
	})
	h.cmd.Process.Signal(syscall.SIGTERM)
	waitFor(t, "the host to start stopping", func() bool {
		return strings.Contains(h.errText(), "stopping: finishing requests in flight")
	})
	writeFile(t, filepath.Dir(release), "release", "")
	if r := <-inFlight; r.status != 200 || r.body != `{"waited": true}` {
		t.Fatalf("the request in flight got %d %s", r.status, r.body)
	}
	if code := h.waitExit(); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	for _, m := range pids {
		var pid int
		fmt.Sscan(m[1], &pid)
		waitFor(t, "worker "+m[1]+" to be gone", func() bool {
			return syscall.Kill(pid, 0) == syscall.ESRCH
		})
	}
}

func TestBadFlagsExit2(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0], "--script", "score.py", "--workers", "0")
	cmd.Env = append(os.Environ(), hostEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Dir = t.TempDir()
	writeFile(t, cmd.Dir, "score.py", "")
	err := cmd.Run()
	if cmd.ProcessState.ExitCode() != ExitUsage {
		t.Fatalf("exit code %d (%v), want %d", cmd.ProcessState.ExitCode(), err, ExitUsage)
	}
	want := "berth-runtime score: --workers must be at least 1, not 0\n(berth-runtime score --help lists the flags)\n"
	if stderr.String() != want {
		t.Fatalf("stderr %q, want %q", stderr.String(), want)
	}
}

// TestReplacementInitFailureExits3: a worker that died is replaced, and if the replacement's
// init() fails (here: every init() after the first), the host stops with exit code 3 as it
// would at startup, rather than serving with fewer workers for ever.
func TestReplacementInitFailureExits3(t *testing.T) {
	t.Parallel()
	script := `
import os

def init():
    marker = os.path.join(os.path.dirname(os.path.abspath(__file__)), "initialised")
    if os.path.exists(marker):
        raise RuntimeError("the model is gone")
    open(marker, "w").close()

def run(raw_data):
    os._exit(1)
`
	termLog := filepath.Join(t.TempDir(), "termination-log")
	h := startHost(t, script, nil, "--termination-log", termLog)
	h.waitReady()
	if r := h.score("{}"); r.status != http.StatusBadGateway {
		t.Fatalf("got %d %s, want 502", r.status, r.body)
	}
	if code := h.waitExit(); code != ExitInitFailed {
		t.Fatalf("exit code %d, want %d:\n%s", code, ExitInitFailed, h.errText())
	}
	data, err := os.ReadFile(termLog)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "init() raised RuntimeError: the model is gone") {
		t.Fatalf("termination log:\n%s", data)
	}
}

// TestWorkersDieWithAKilledHost: a host killed outright (SIGKILL, out of memory) takes its
// workers with it, even one busy in run(), so none outlives it holding memory or a GPU.
func TestWorkersDieWithAKilledHost(t *testing.T) {
	t.Parallel()
	h := startHost(t, testScript, nil)
	h.waitReady()
	var pid int
	waitFor(t, "the worker's pid in the log", func() bool {
		m := regexp.MustCompile(`msg="worker ready" worker=1 pid=(\d+)`).FindStringSubmatch(h.errText())
		if m != nil {
			fmt.Sscan(m[1], &pid)
		}
		return m != nil
	})
	never := filepath.Join(t.TempDir(), "never")
	go func() {
		req, _ := http.NewRequest(http.MethodPost, h.base+"/score", strings.NewReader(fmt.Sprintf(`{"op": "wait", "path": %q}`, never)))
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	waitFor(t, "the request to be in flight", func() bool {
		return h.metric("berth_scoring_requests_in_flight") == "1"
	})
	h.cmd.Process.Kill()
	h.waitExit()
	waitFor(t, "the worker to be gone", func() bool {
		return syscall.Kill(pid, 0) == syscall.ESRCH
	})
}
