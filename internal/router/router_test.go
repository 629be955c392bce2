package router

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "berth/api/v1"
)

// backend is a scoring host stand-in that answers with its name; the end-to-end tests run
// the router in front of real scoring hosts.
func backend(t *testing.T, name string, delay time.Duration) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		time.Sleep(delay)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"deployment":%q,"echo":%q,"request_id":%q}`, name, body, r.Header.Get("x-request-id"))
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func settings(concurrent, queueMS, timeoutMS int) v1.RequestSettings {
	return v1.RequestSettings{MaxConcurrentRequestsPerInstance: concurrent, MaxQueueWaitMS: queueMS, RequestTimeoutMS: timeoutMS}
}

// testRouter is a router serving on a loopback port.
type testRouter struct{ URL string }

func newTestRouter(t *testing.T, configure ...func(*Router)) (*Router, testRouter) {
	r := New(slog.New(slog.NewTextHandler(io.Discard, nil)), func(token, endpoint, instance string) bool {
		return token == "token-for-"+endpoint
	})
	for _, c := range configure {
		c(r)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go r.Serve(ln)
	t.Cleanup(func() { r.Shutdown(context.Background()) })
	return r, testRouter{URL: "http://" + ln.Addr().String()}
}

func post(t *testing.T, url, key string, header map[string]string, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func errorMessage(body string) string {
	var e v1.Error
	json.Unmarshal([]byte(body), &e)
	return e.Error.Message
}

func TestRoutingAuthAndErrors(t *testing.T) {
	r, srv := newTestRouter(t)
	blue, _ := backend(t, "blue", 0)
	r.SetEndpoint(Endpoint{Name: "ep", AuthMode: v1.AuthKey, Keys: []string{"k1", "k2"},
		Traffic: map[string]int{"blue": 100, "green": 0},
		Deployments: map[string]Deployment{
			"blue":  {Name: "blue", State: v1.StateSucceeded, Instances: []string{blue.URL}, Wanted: 1, Settings: settings(1, 500, 5000)},
			"green": {Name: "green", State: v1.StateCreating, Wanted: 2, Settings: settings(1, 500, 5000)},
		}})
	r.SetEndpoint(Endpoint{Name: "tok", AuthMode: v1.AuthAMLToken, Traffic: map[string]int{}, Deployments: map[string]Deployment{}})
	url := srv.URL + "/api/v1/endpoint/ep/score"
	tests := []struct {
		name, url, key string
		header         map[string]string
		status         int
		message        string
	}{
		{"unknown endpoint", srv.URL + "/api/v1/endpoint/nope/score", "k1", nil, 404, "endpoint nope not found"},
		{"no key", url, "", nil, 401, "missing credentials; send Authorization: Bearer <key or token> (berth online-endpoint get-credentials -n ep)"},
		{"wrong key", url, "bad", nil, 401, "the key is not a key of endpoint ep; see berth online-endpoint get-credentials -n ep"},
		{"unknown deployment header", url, "k1", map[string]string{"azureml-model-deployment": "red"}, 404,
			"deployment red not found in endpoint ep; its deployments are: blue, green"},
		{"deployment not ready", url, "k2", map[string]string{"azureml-model-deployment": "green"}, 503,
			"deployment green of endpoint ep has no ready instance to serve the request: blue is Succeeded (1 of 1 instances ready); green is Creating (0 of 2 instances ready)"},
		{"no traffic", srv.URL + "/api/v1/service/tok/score", "token-for-tok", nil, 503,
			"endpoint tok sends no traffic to any deployment (deployments: none); set it with berth online-endpoint update -n tok --traffic \"<deployment>=100\", or name one in the azureml-model-deployment header"},
		{"wrong token", srv.URL + "/api/v1/endpoint/tok/score", "token-for-ep", nil, 401,
			"the token is not valid for endpoint tok or has expired; get a new one with berth online-endpoint get-credentials -n tok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(t, tt.url, tt.key, tt.header, "{}")
			if status != tt.status || errorMessage(body) != tt.message {
				t.Errorf("got %d %q, want %d %q", status, errorMessage(body), tt.status, tt.message)
			}
		})
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET on the scoring route: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	status, body := post(t, url, "k2", map[string]string{"x-request-id": "abc"}, `{"x":1}`)
	if status != 200 || !strings.Contains(body, `"deployment":"blue"`) || !strings.Contains(body, `"request_id":"abc"`) {
		t.Errorf("scoring: %d %s", status, body)
	}
}

func TestTrafficSplitFollowsWeights(t *testing.T) {
	r, srv := newTestRouter(t)
	blue, blueCalls := backend(t, "blue", 0)
	green, greenCalls := backend(t, "green", 0)
	r.SetEndpoint(Endpoint{Name: "ep", AuthMode: v1.AuthKey, Keys: []string{"k"},
		Traffic: map[string]int{"blue": 90, "green": 10},
		Deployments: map[string]Deployment{
			"blue":  {Name: "blue", Instances: []string{blue.URL}, Settings: settings(4, 500, 5000)},
			"green": {Name: "green", Instances: []string{green.URL}, Settings: settings(4, 500, 5000)},
		}})
	const n = 1000
	for range n {
		if status, _ := post(t, srv.URL+"/api/v1/endpoint/ep/score", "k", nil, "{}"); status != 200 {
			t.Fatalf("status %d", status)
		}
	}
	// Binomial(1000, 0.1): the standard deviation is 9.5, so 60..140 is more than four of them.
	if g := greenCalls.Load(); g < 60 || g > 140 || blueCalls.Load()+g != n {
		t.Errorf("blue %d, green %d of %d", blueCalls.Load(), g, n)
	}
}

func TestQueueWaitAndTimeout(t *testing.T) {
	r, srv := newTestRouter(t)
	slow, _ := backend(t, "slow", 300*time.Millisecond)
	r.SetEndpoint(Endpoint{Name: "ep", AuthMode: v1.AuthKey, Keys: []string{"k"}, Traffic: map[string]int{"slow": 100},
		Deployments: map[string]Deployment{"slow": {Name: "slow", Instances: []string{slow.URL}, Settings: settings(1, 50, 5000)}}})
	// One slot per instance lets two requests in flight (the scoring host queues the second);
	// the third waits in the router and gives up after max_queue_wait_ms.
	var wg sync.WaitGroup
	statuses := make(chan int, 3)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, _ := post(t, srv.URL+"/api/v1/endpoint/ep/score", "k", nil, "{}")
			statuses <- s
		}()
	}
	wg.Wait()
	close(statuses)
	got := map[int]int{}
	for s := range statuses {
		got[s]++
	}
	if got[200] != 2 || got[429] != 1 {
		t.Errorf("one request must wait past max_queue_wait_ms and get 429: %v", got)
	}

	r.SetEndpoint(Endpoint{Name: "ep", AuthMode: v1.AuthKey, Keys: []string{"k"}, Traffic: map[string]int{"slow": 100},
		Deployments: map[string]Deployment{"slow": {Name: "slow", Instances: []string{slow.URL}, Settings: settings(1, 500, 100)}}})
	status, body := post(t, srv.URL+"/api/v1/endpoint/ep/score", "k", nil, "{}")
	if status != 504 || errorMessage(body) != "deployment slow did not answer within request_timeout_ms (100 ms)" {
		t.Errorf("timeout: %d %s", status, body)
	}
}

func TestBodyLimitAndMetrics(t *testing.T) {
	r, srv := newTestRouter(t, func(r *Router) { r.MaxBodyBytes = 10 })
	b, _ := backend(t, "blue", 0)
	r.SetEndpoint(Endpoint{Name: "ep", AuthMode: v1.AuthKey, Keys: []string{"k"}, Traffic: map[string]int{"blue": 100},
		Deployments: map[string]Deployment{"blue": {Name: "blue", Instances: []string{b.URL}, Settings: settings(1, 500, 5000)}}})
	status, body := post(t, srv.URL+"/api/v1/endpoint/ep/score", "k", nil, strings.Repeat("x", 11))
	if status != 413 || errorMessage(body) != "the request body is larger than 10 bytes; send less at a time (the limit is the server's --scoring-max-body-bytes)" {
		t.Errorf("body limit: %d %s", status, body)
	}
	post(t, srv.URL+"/api/v1/endpoint/ep/score", "k", nil, "{}")
	post(t, srv.URL+"/api/v1/endpoint/unknown-1/score", "k", nil, "{}")
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`berth_router_requests_total{code="200",deployment="blue",endpoint="ep"} 1`,
		`berth_router_requests_total{code="413",deployment="",endpoint="ep"} 1`,
		`berth_router_requests_total{code="404",deployment="",endpoint=""} 1`,
		`berth_router_request_duration_seconds_count{deployment="blue",endpoint="ep"} 1`,
		"go_goroutines ", "process_resident_memory_bytes ",
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestMirrorTrafficGetsACopy(t *testing.T) {
	r, srv := newTestRouter(t)
	blue, blueCalls := backend(t, "blue", 0)
	green, greenCalls := backend(t, "green", 0)
	r.intn = func(int) int { return 0 } // always mirror
	r.SetEndpoint(Endpoint{Name: "ep", AuthMode: v1.AuthKey, Keys: []string{"k"},
		Traffic: map[string]int{"blue": 100}, Mirror: map[string]int{"green": 10},
		Deployments: map[string]Deployment{
			"blue":  {Name: "blue", Instances: []string{blue.URL}, Settings: settings(1, 500, 5000)},
			"green": {Name: "green", Instances: []string{green.URL}, Settings: settings(1, 500, 5000)},
		}})
	status, body := post(t, srv.URL+"/api/v1/endpoint/ep/score", "k", nil, "{}")
	if status != 200 || !strings.Contains(body, `"deployment":"blue"`) {
		t.Fatalf("%d %s", status, body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for greenCalls.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if blueCalls.Load() != 1 || greenCalls.Load() != 1 {
		t.Errorf("blue %d green %d", blueCalls.Load(), greenCalls.Load())
	}
}
