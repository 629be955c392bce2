package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "berth/api/v1"
)

// scoreScript is a scoring script that needs only the standard library; a request can ask it
// to sleep, raise or die, so the tests can drive every failure of the contract.
const scoreScript = `import json, os, time

weights = None

def init():
    global weights
    if os.environ.get("FAIL_INIT"):
        raise RuntimeError("cannot load weights: " + os.environ["FAIL_INIT"])
    if os.environ.get("HANG_INIT"):
        time.sleep(1000)
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "weights.json")) as f:
        weights = json.load(f)

def run(raw_data):
    req = json.loads(raw_data)
    if req.get("sleep"):
        time.sleep(req["sleep"])
    if req.get("raise"):
        raise ValueError(req["raise"])
    if req.get("die"):
        os._exit(7)
    return {"sum": sum(req.get("data", [])) + weights["bias"], "deployment": os.environ["BERTH_DEPLOYMENT_NAME"]}
`

// endpointFiles writes a model folder, the scoring script and endpoint and deployment files.
func endpointFiles(t *testing.T, deployments map[string]string) string {
	files := map[string]string{
		"model/weights.json": `{"bias": 1}`,
		"src/score.py":       scoreScript,
		"endpoint.yml":       "name: web\nauth_mode: key\n",
	}
	for name, extra := range deployments {
		files[name+".yml"] = fmt.Sprintf("name: %s\nendpoint_name: web\nmodel: azureml:weights@latest\ncode_configuration:\n  code: src\n  scoring_script: score.py\n%s", name, extra)
	}
	return writeFiles(t, "command: echo unused\n", files)
}

// scoreOnce posts a body to the endpoint with a key and returns the status and answer.
func scoreOnce(t *testing.T, uri, key string, header map[string]string, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, uri, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
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

type creds struct {
	Primary   string `json:"primaryKey"`
	Secondary string `json:"secondaryKey"`
}

func (w *workspace) credentials(dir, endpoint string) creds {
	w.t.Helper()
	var c creds
	json.Unmarshal([]byte(w.mustBerth(dir, "online-endpoint", "get-credentials", "-n", endpoint).stdout), &c)
	if c.Primary == "" || c.Secondary == "" || c.Primary == c.Secondary {
		w.t.Fatalf("credentials: %+v", c)
	}
	return c
}

func (w *workspace) scoringURI(dir, endpoint string) string {
	w.t.Helper()
	return strings.TrimSpace(w.mustBerth(dir, "online-endpoint", "show", "-n", endpoint, "--query", "scoring_uri", "-o", "tsv").stdout)
}

func TestEndpointDeployScoreRotateAndSplitTraffic(t *testing.T) {
	w := startServer(t)
	dir := endpointFiles(t, map[string]string{"blue": "", "green": ""})
	w.mustBerth(dir, "model", "create", "--name", "weights", "--path", "model")
	w.mustBerth(dir, "online-endpoint", "create", "-f", "endpoint.yml")
	r := w.mustBerth(dir, "online-deployment", "create", "-f", "blue.yml", "--all-traffic")
	var blue v1.OnlineDeployment
	json.Unmarshal([]byte(r.stdout), &blue)
	if blue.ProvisioningState != v1.StateSucceeded || len(blue.Instances) != 1 || !blue.Instances[0].Ready {
		t.Fatalf("blue after create: %+v", blue)
	}

	os.WriteFile(filepath.Join(dir, "req.json"), []byte(`{"data": [1, 2, 3]}`), 0o644)
	r = w.mustBerth(dir, "online-endpoint", "invoke", "-n", "web", "--request-file", "req.json", "-o", "tsv", "--query", "[sum, deployment]")
	if r.stdout != "7\nblue\n" {
		t.Errorf("invoke: %q", r.stdout)
	}

	// Either key works; a regenerated key replaces the old one at once.
	uri, c := w.scoringURI(dir, "web"), w.credentials(dir, "web")
	for _, k := range []string{c.Primary, c.Secondary} {
		if status, body := scoreOnce(t, uri, k, nil, `{"data":[1]}`); status != 200 {
			t.Fatalf("key scoring: %d %s", status, body)
		}
	}
	w.mustBerth(dir, "online-endpoint", "regenerate-keys", "-n", "web", "--key-type", "primary")
	if status, _ := scoreOnce(t, uri, c.Primary, nil, `{}`); status != 401 {
		t.Errorf("old primary key after regenerate: %d", status)
	}
	if status, _ := scoreOnce(t, uri, c.Secondary, nil, `{}`); status != 200 {
		t.Errorf("secondary key after regenerating the primary: %d", status)
	}
	c2 := w.credentials(dir, "web")
	if c2.Secondary != c.Secondary || c2.Primary == c.Primary {
		t.Errorf("keys after regenerate: %+v, before %+v", c2, c)
	}

	// Blue/green: 90/10, counted over 200 requests, then all to green.
	w.mustBerth(dir, "online-deployment", "create", "-f", "green.yml")
	w.mustBerth(dir, "online-endpoint", "update", "-n", "web", "--traffic", "blue=90 green=10")
	counts := map[string]int{}
	for range 200 {
		status, body := scoreOnce(t, uri, c2.Primary, nil, `{"data":[1]}`)
		var ans struct{ Deployment string }
		json.Unmarshal([]byte(body), &ans)
		if status != 200 {
			t.Fatalf("split scoring: %d %s", status, body)
		}
		counts[ans.Deployment]++
	}
	// Binomial(200, 0.1): standard deviation 4.2; 4..40 is beyond four of them.
	if counts["green"] < 4 || counts["green"] > 40 || counts["blue"]+counts["green"] != 200 {
		t.Errorf("90/10 split gave %v", counts)
	}
	_, body := scoreOnce(t, uri, c2.Primary, map[string]string{"azureml-model-deployment": "green"}, `{}`)
	if !strings.Contains(body, `"deployment": "green"`) {
		t.Errorf("header routing: %s", body)
	}
	w.mustBerth(dir, "online-endpoint", "update", "-n", "web", "--traffic", "blue=0 green=100")
	for range 20 {
		if _, body := scoreOnce(t, uri, c2.Primary, nil, `{}`); !strings.Contains(body, `"deployment": "green"`) {
			t.Fatalf("0/100 sent a request elsewhere: %s", body)
		}
	}
	r = w.berth(dir, "online-deployment", "delete", "-n", "green", "-e", "web")
	if r.code != 1 || r.stderr != "ERROR: deployment green receives 100% of endpoint web's traffic; move it elsewhere first (berth online-endpoint update -n web --traffic \"...\")\n" {
		t.Errorf("deleting a deployment with traffic: %d %q", r.code, r.stderr)
	}
	w.mustBerth(dir, "online-deployment", "delete", "-n", "blue", "-e", "web")
	w.mustBerth(dir, "online-endpoint", "delete", "-n", "web")
	if status, _ := scoreOnce(t, uri, c2.Primary, nil, `{}`); status != 404 {
		t.Errorf("scoring a deleted endpoint: %d", status)
	}
}

func TestScoringFailures(t *testing.T) {
	w := startServer(t, "--scoring-max-body-bytes", "1000")
	dir := endpointFiles(t, map[string]string{
		"blue": "request_settings:\n  request_timeout_ms: 1000\n  max_concurrent_requests_per_instance: 1\n  max_queue_wait_ms: 100\n",
		"bad":  "environment_variables:\n  FAIL_INIT: weights.json is corrupt\n",
	})
	w.mustBerth(dir, "model", "create", "--name", "weights", "--path", "model")
	w.mustBerth(dir, "online-endpoint", "create", "-f", "endpoint.yml")
	w.mustBerth(dir, "online-deployment", "create", "-f", "blue.yml", "--all-traffic")
	uri, c := w.scoringURI(dir, "web"), w.credentials(dir, "web")

	status, body := scoreOnce(t, uri, c.Primary, nil, `{"raise": "bad input row"}`)
	if status != 500 || !strings.Contains(body, "bad input row") {
		t.Errorf("run() raising: %d %s", status, body)
	}
	if status, _ := scoreOnce(t, uri, c.Primary, nil, `{}`); status != 200 {
		t.Errorf("after run() raised, the worker must keep serving: %d", status)
	}
	status, body = scoreOnce(t, uri, c.Primary, nil, `{"die": true}`)
	if status != 502 {
		t.Errorf("worker death: %d %s", status, body)
	}
	waitFor(t, func() bool { s, _ := scoreOnce(t, uri, c.Primary, nil, `{}`); return s == 200 })
	status, body = scoreOnce(t, uri, c.Primary, nil, `{"sleep": 3}`)
	if status != 504 {
		t.Errorf("timeout: %d %s", status, body)
	}
	status, body = scoreOnce(t, uri, c.Primary, nil, `{"data": [`+strings.Repeat("1,", 600)+`1]}`)
	if status != 413 {
		t.Errorf("body limit: %d %s", status, body)
	}
	waitFor(t, func() bool { s, _ := scoreOnce(t, uri, c.Primary, nil, `{}`); return s == 200 })
	var wg sync.WaitGroup
	results := make(chan int, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, _ := scoreOnce(t, uri, c.Primary, nil, `{"sleep": 0.5}`)
			results <- s
		}()
	}
	wg.Wait()
	close(results)
	got := map[int]int{}
	for s := range results {
		got[s]++
	}
	if got[200] != 1 || got[429] != 1 {
		t.Errorf("two requests on one slot with max_queue_wait_ms 100: %v", got)
	}

	r := w.berth(dir, "online-deployment", "create", "-f", "bad.yml")
	if r.code != 1 || !strings.Contains(r.stderr, "RuntimeError: cannot load weights: weights.json is corrupt") {
		t.Errorf("init failure: exit %d\n%s", r.code, r.stderr)
	}
	r = w.mustBerth(dir, "online-deployment", "show", "-n", "bad", "-e", "web", "--query", "provisioning_state", "-o", "tsv")
	if strings.TrimSpace(r.stdout) != "Failed" {
		t.Errorf("state after init failure: %s", r.stdout)
	}
	r = w.mustBerth(dir, "online-deployment", "get-logs", "-n", "bad", "-e", "web")
	if !strings.Contains(r.stdout, "Traceback") || !strings.Contains(r.stdout, "cannot load weights") {
		t.Errorf("get-logs after init failure:\n%s", r.stdout)
	}
	status, body = scoreOnce(t, uri, c.Primary, map[string]string{"azureml-model-deployment": "bad"}, `{}`)
	if status != 503 || !strings.Contains(body, "bad is Failed") {
		t.Errorf("scoring a failed deployment: %d %s", status, body)
	}
}

func TestEndpointsComeBackAfterServerRestart(t *testing.T) {
	w := startServer(t)
	dir := endpointFiles(t, map[string]string{"blue": "instance_count: 2\n"})
	w.mustBerth(dir, "model", "create", "--name", "weights", "--path", "model")
	w.mustBerth(dir, "online-endpoint", "create", "-f", "endpoint.yml")
	w.mustBerth(dir, "online-deployment", "create", "-f", "blue.yml", "--all-traffic")
	c := w.credentials(dir, "web")

	w.stop(syscall.SIGKILL)
	w.start()
	uri := w.scoringURI(dir, "web")
	waitFor(t, func() bool { s, _ := scoreOnce(t, uri, c.Primary, nil, `{"data":[2]}`); return s == 200 })
	if status, body := scoreOnce(t, uri, c.Secondary, nil, `{"data":[2]}`); status != 200 || !strings.Contains(body, `"sum": 3`) {
		t.Errorf("after restart: %d %s", status, body)
	}
	waitFor(t, func() bool {
		r := w.mustBerth(dir, "online-deployment", "show", "-n", "blue", "-e", "web", "--query", "length(instances[?ready])", "-o", "tsv")
		return strings.TrimSpace(r.stdout) == "2"
	})
}

func TestTokenAuthAndModelCommands(t *testing.T) {
	w := startServer(t)
	dir := endpointFiles(t, map[string]string{"blue": ""})
	os.WriteFile(filepath.Join(dir, "endpoint.yml"), []byte("name: web\nauth_mode: aml_token\n"), 0o644)
	w.mustBerth(dir, "model", "create", "--name", "weights", "--path", "model")
	r := w.mustBerth(dir, "model", "create", "--name", "weights", "--path", "model", "--description", "second: with a colon")
	var m v1.Model
	json.Unmarshal([]byte(r.stdout), &m)
	if m.Version != "2" || m.FolderName != "model" || m.Description != "second: with a colon" {
		t.Errorf("second version: %+v", m)
	}
	r = w.berth(dir, "model", "create", "--name", "weights", "--version", "2", "--path", "model")
	if r.code != 1 || r.stderr != "ERROR: model weights version 2 already exists; give another --version, or leave it out to take the next one\n" {
		t.Errorf("duplicate version: %d %q", r.code, r.stderr)
	}
	r = w.mustBerth(dir, "model", "list", "-n", "weights", "--query", "[].version", "-o", "tsv")
	if r.stdout != "2\n1\n" {
		t.Errorf("model list: %q", r.stdout)
	}
	w.mustBerth(dir, "model", "download", "-n", "weights", "--label", "latest", "--download-path", "dl")
	if data, err := os.ReadFile(filepath.Join(dir, "dl", "weights", "model", "weights.json")); err != nil || string(data) != `{"bias": 1}` {
		t.Errorf("downloaded model: %q %v", data, err)
	}
	r = w.berth(dir, "model", "show", "-n", "weights", "-v", "9")
	if r.code != 3 || r.stderr != "ERROR: model weights version 9 not found; see berth model list -n weights\n" {
		t.Errorf("missing version: %d %q", r.code, r.stderr)
	}

	w.mustBerth(dir, "online-endpoint", "create", "-f", "endpoint.yml")
	w.mustBerth(dir, "online-deployment", "create", "-f", "blue.yml", "--all-traffic")
	r = w.mustBerth(dir, "online-endpoint", "get-credentials", "-n", "web")
	var tok v1.EndpointToken
	json.Unmarshal([]byte(r.stdout), &tok)
	if tok.AccessToken == "" || tok.TokenType != "Bearer" || time.Until(tok.ExpiryOn) < 50*time.Minute {
		t.Fatalf("token: %+v", tok)
	}
	uri := w.scoringURI(dir, "web")
	if status, body := scoreOnce(t, uri, tok.AccessToken, nil, `{"data":[1]}`); status != 200 || !strings.Contains(body, `"sum": 2`) {
		t.Errorf("scoring with the token: %d %s", status, body)
	}
	if status, _ := scoreOnce(t, uri, tok.AccessToken+"x", nil, `{}`); status != 401 {
		t.Errorf("a forged token: %d", status)
	}
	r = w.berth(dir, "online-endpoint", "regenerate-keys", "-n", "web")
	if r.code != 2 || r.stderr != "ERROR: endpoint web uses auth_mode aml_token, which has no keys; its tokens expire by themselves, and get-credentials gives a new one\n" {
		t.Errorf("regenerate-keys on a token endpoint: %d %q", r.code, r.stderr)
	}
	r = w.mustBerth(dir, "online-endpoint", "invoke", "-n", "web", "--request-file", "model/weights.json")
	if !strings.Contains(r.stdout, `"sum": 1`) {
		t.Errorf("invoke with a token: %q", r.stdout)
	}
}

func TestDeploymentLifecycleEdges(t *testing.T) {
	w := startServer(t)
	dir := endpointFiles(t, map[string]string{
		"blue": "",
		"hang": "environment_variables:\n  HANG_INIT: \"1\"\nreadiness_probe:\n  initial_delay: 0\n  period: 1\n  failure_threshold: 2\n",
		"huge": "instance_count: 17\n",
	})
	w.mustBerth(dir, "model", "create", "--name", "weights", "--path", "model")
	w.mustBerth(dir, "online-endpoint", "create", "-f", "endpoint.yml")

	r := w.berth(dir, "online-deployment", "create", "-f", "huge.yml")
	if r.code != 2 || r.stderr != "ERROR: instance_count: 17 instances is more than the local compute runs (at most 16 per deployment); lower it, or deploy to a Kubernetes compute\n" {
		t.Errorf("too many instances: %d %q", r.code, r.stderr)
	}
	r = w.berth(dir, "online-deployment", "create", "-f", "hang.yml")
	if r.code != 1 || !strings.Contains(r.stderr, "was not ready 2 s after it started (readiness_probe initial_delay + period × failure_threshold), so it was stopped; its init() may hang") {
		t.Errorf("init() that hangs: %d %q", r.code, r.stderr)
	}

	// A failed update leaves the previous generation serving, also after a restart.
	w.mustBerth(dir, "online-deployment", "create", "-f", "blue.yml", "--all-traffic")
	c := w.credentials(dir, "web")
	r = w.berth(dir, "online-deployment", "update", "-n", "blue", "-e", "web", "--set", "environment_variables.FAIL_INIT=broken")
	if r.code != 1 || !strings.Contains(r.stderr, "cannot load weights: broken") {
		t.Fatalf("failing update: %d %q", r.code, r.stderr)
	}
	uri := w.scoringURI(dir, "web")
	if status, body := scoreOnce(t, uri, c.Primary, nil, `{"data":[1]}`); status != 200 {
		t.Errorf("after a failed update the previous generation serves: %d %s", status, body)
	}
	w.stop(syscall.SIGKILL)
	w.start()
	uri = w.scoringURI(dir, "web")
	waitFor(t, func() bool { s, _ := scoreOnce(t, uri, c.Primary, nil, `{"data":[1]}`); return s == 200 })
	r = w.mustBerth(dir, "online-deployment", "show", "-n", "blue", "-e", "web", "--query", "provisioning_state", "-o", "tsv")
	if strings.TrimSpace(r.stdout) != "Failed" {
		t.Errorf("the failed update is still what the deployment says: %q", r.stdout)
	}

	// Deleted and created again under the same name, a deployment starts clean.
	w.mustBerth(dir, "online-endpoint", "update", "-n", "web", "--traffic", "blue=0")
	w.mustBerth(dir, "online-deployment", "delete", "-n", "blue", "-e", "web")
	w.mustBerth(dir, "online-deployment", "create", "-f", "blue.yml", "--all-traffic")
	if status, body := scoreOnce(t, uri, c.Primary, nil, `{"data":[1]}`); status != 200 {
		t.Errorf("recreated deployment: %d %s", status, body)
	}
	if _, err := os.Stat(filepath.Join(w.home, "deployments", "web", "blue", "g1")); err != nil {
		t.Errorf("the recreated deployment's folder: %v", err)
	}
}

func TestTokenOfDeletedEndpointDoesNotOpenItsSuccessor(t *testing.T) {
	w := startServer(t)
	dir := endpointFiles(t, map[string]string{"blue": ""})
	os.WriteFile(filepath.Join(dir, "endpoint.yml"), []byte("name: web\nauth_mode: aml_token\n"), 0o644)
	w.mustBerth(dir, "online-endpoint", "create", "-f", "endpoint.yml")
	var old v1.EndpointToken
	json.Unmarshal([]byte(w.mustBerth(dir, "online-endpoint", "get-credentials", "-n", "web").stdout), &old)
	w.mustBerth(dir, "online-endpoint", "delete", "-n", "web")
	w.mustBerth(dir, "online-endpoint", "create", "-f", "endpoint.yml")
	if status, body := scoreOnce(t, w.scoringURI(dir, "web"), old.AccessToken, nil, `{}`); status != 401 {
		t.Errorf("old token on the new endpoint: %d %s", status, body)
	}
}
