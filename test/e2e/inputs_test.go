package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	v1 "berth/api/v1"
)

func TestHTTPInputIsFetchedWhenTheJobStarts(t *testing.T) {
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/data/numbers.csv" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("5,6,7\n"))
	}))
	defer files.Close()
	w := startServer(t)
	w.createJob(`command: cat ${{inputs.numbers}}
inputs:
  numbers:
    type: uri_file
    path: `+files.URL+`/data/numbers.csv
`, nil, "--name", "fetch")
	job := w.waitJob("fetch", 20*time.Second, terminal)
	if job.Status != v1.JobCompleted {
		t.Fatalf("job %+v %+v", job, job.Error)
	}
	r := w.mustBerth(t.TempDir(), "job", "stream", "-n", "fetch")
	if !strings.Contains(r.stdout, "5,6,7") {
		t.Errorf("log:\n%s", r.stdout)
	}

	w.createJob(`command: cat ${{inputs.numbers}}
inputs:
  numbers:
    type: uri_file
    path: `+files.URL+`/missing.csv
`, nil, "--name", "fetch-missing")
	job = w.waitJob("fetch-missing", 20*time.Second, terminal)
	want := "input numbers: fetching " + files.URL + "/missing.csv: the server answered 404 Not Found"
	if job.Status != v1.JobFailed || job.Error == nil || job.Error.Code != v1.ErrCodePrepare || job.Error.Message != want {
		t.Fatalf("job %s, error %+v, want message %q", job.Status, job.Error, want)
	}
}

func TestJobOutputFeedsAnotherJob(t *testing.T) {
	w := startServer(t)
	w.createJob(`command: echo 41 > ${{outputs.answer}}/value.txt
outputs:
  answer:
    type: uri_folder
`, nil, "--name", "producer")
	w.waitJob("producer", 20*time.Second, hasStatus(v1.JobCompleted))
	w.createJob(`command: echo $(( $(cat ${{inputs.previous}}/value.txt) + 1 ))
inputs:
  previous:
    type: uri_folder
    path: azureml://jobs/producer/outputs/answer
`, nil, "--name", "consumer")
	w.waitJob("consumer", 20*time.Second, hasStatus(v1.JobCompleted))
	r := w.mustBerth(t.TempDir(), "job", "stream", "-n", "consumer")
	if !strings.Contains(r.stdout, "\n42\n") {
		t.Errorf("log:\n%s", r.stdout)
	}
	dir := writeFiles(t, `command: ls ${{inputs.previous}}
inputs:
  previous:
    type: uri_folder
    path: azureml://jobs/producer/outputs/nothing
`, nil)
	res := w.berth(dir, "job", "create", "-f", "job.yml")
	want := "ERROR: inputs.previous: job producer has no output named \"nothing\"; its outputs are: default, answer\n"
	if res.code != 2 || res.stderr != want {
		t.Errorf("exit %d stderr %q, want %q", res.code, res.stderr, want)
	}
}
