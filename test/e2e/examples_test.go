package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "berth/api/v1"
)

// requirePython fails (not skips) when Debian's packages the examples use are missing:
// scripts/test installs them.
func requirePython(t *testing.T, modules ...string) {
	t.Helper()
	code := "import " + strings.Join(modules, ", ")
	if out, err := exec.Command("/usr/bin/python3", "-c", code).CombinedOutput(); err != nil {
		t.Fatalf("/usr/bin/python3 cannot %q (run scripts/test, which installs python3-sklearn and python3-torch): %v\n%s", code, err, out)
	}
}

func TestSklearnExampleTrainsALoadableModel(t *testing.T) {
	requirePython(t, "sklearn", "joblib")
	w := startServer(t)
	root := repoRoot()
	r := w.mustBerth(root, "job", "create", "-f", "examples/sklearn-iris/job.yml", "--name", "iris", "--stream")
	for _, want := range []string{"loaded 150 rows", "test accuracy: 0.9", "Status: Completed"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stream lacks %q:\n%s", want, r.stdout)
		}
	}
	dl := t.TempDir()
	w.mustBerth(dl, "job", "download", "-n", "iris", "--output-name", "model", "--download-path", dl)
	model := filepath.Join(dl, "named-outputs", "model", "model.joblib")
	out, err := exec.Command("/usr/bin/python3", "-c",
		"import joblib, sys; print(joblib.load(sys.argv[1]).predict([[5.1, 3.5, 1.4, 0.2]])[0])", model).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "setosa" {
		t.Fatalf("loading the model: %v\n%s", err, out)
	}

	// Serve it, as the quickstart does, then blue/green.
	w.mustBerth(root, "model", "create", "--name", "iris", "--path", "azureml://jobs/iris/outputs/model")
	w.mustBerth(root, "online-endpoint", "create", "-f", "examples/sklearn-iris/deploy/endpoint.yml")
	w.mustBerth(root, "online-deployment", "create", "-f", "examples/sklearn-iris/deploy/blue.yml", "--all-traffic")
	res := w.mustBerth(root, "online-endpoint", "invoke", "-n", "iris-endpoint", "--request-file", "examples/sklearn-iris/deploy/sample-request.json", "-o", "tsv")
	if res.stdout != "setosa\nvirginica\n" {
		t.Errorf("invoke: %q", res.stdout)
	}
	w.mustBerth(root, "online-deployment", "create", "-f", "examples/sklearn-iris/deploy/green.yml")
	w.mustBerth(root, "online-endpoint", "update", "-n", "iris-endpoint", "--traffic", "blue=90 green=10")
	uri, c := w.scoringURI(root, "iris-endpoint"), w.credentials(root, "iris-endpoint")
	sample := `{"data": [[5.1, 3.5, 1.4, 0.2]]}`
	green := 0
	for range 200 {
		status, body := scoreOnce(t, uri, c.Primary, nil, sample)
		if status != 200 {
			t.Fatalf("scoring: %d %s", status, body)
		}
		if strings.Contains(body, "probabilities") {
			green++
		}
	}
	if green < 4 || green > 40 {
		t.Errorf("green answered %d of 200 requests at 10%%", green)
	}
	w.mustBerth(root, "online-endpoint", "update", "-n", "iris-endpoint", "--traffic", "blue=0 green=100")
	if _, body := scoreOnce(t, uri, c.Primary, nil, sample); !strings.Contains(body, `"classes": ["setosa", "versicolor", "virginica"]`) {
		t.Errorf("green's answer: %s", body)
	}
}

func TestPyTorchDDPExampleRunsTwoRanks(t *testing.T) {
	requirePython(t, "torch")
	w := startServer(t)
	r := w.mustBerth(repoRoot(), "job", "create", "-f", "examples/pytorch-ddp/job.yml", "--name", "ddp", "--stream",
		"--set", "limits.timeout=300") // a hung rank fails the test instead of holding it
	if !strings.Contains(r.stdout, "[rank 0] world size 2: learned weight") {
		t.Errorf("stream:\n%s", r.stdout)
	}
	job := w.waitJob("ddp", 10*time.Second, terminal)
	if job.Status != v1.JobCompleted {
		t.Fatalf("job %+v", job)
	}
	dl := t.TempDir()
	w.mustBerth(dl, "job", "download", "-n", "ddp", "--output-name", "model", "--download-path", dl)
	out, err := exec.Command("/usr/bin/python3", "-c",
		"import torch, sys; s = torch.load(sys.argv[1]); print(round(s['weight'].item()))",
		filepath.Join(dl, "named-outputs", "model", "model.pt")).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "3" {
		t.Fatalf("loading the model: %v\n%s", err, out)
	}
}
