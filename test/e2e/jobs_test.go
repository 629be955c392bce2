package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "berth/api/v1"

	"berth/internal/syncbuf"
)

func TestCommandJobRunsWithInputsOutputsAndCode(t *testing.T) {
	w := startServer(t)
	job := w.createJob(`$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
type: command
name: hello
display_name: Hello
experiment_name: greetings
code: src
command: >-
  python3 main.py --data ${{inputs.data}} --greeting ${{inputs.greeting}}
  --out ${{outputs.result}} $[[--missing ${{inputs.maybe}}]]
environment_variables:
  ANSWER: 42
inputs:
  data:
    type: uri_file
    path: ./data/numbers.txt
  greeting: hi
  maybe:
    type: string
    optional: true
outputs:
  result:
    type: uri_folder
`, map[string]string{
		"src/main.py": `import argparse, os, sys
p = argparse.ArgumentParser()
p.add_argument("--data"); p.add_argument("--greeting"); p.add_argument("--out")
a = p.parse_args()
total = sum(int(x) for x in open(a.data).read().split())
print(a.greeting, "total", total, "answer", os.environ["ANSWER"], "job", os.environ["BERTH_JOB_NAME"])
print("token visible:", "BERTH_TOKEN" in os.environ)
print("to stderr", file=sys.stderr)
open(os.path.join(a.out, "total.txt"), "w").write(str(total))
os.makedirs("outputs", exist_ok=True)
open("outputs/default.txt", "w").write("default output")
`,
		"src/.amlignore":   "ignored.txt\n",
		"src/ignored.txt":  "must not be uploaded",
		"data/numbers.txt": "1 2 3 4",
	})
	if job.Name != "hello" || job.Status != v1.JobQueued || job.Compute != "local" {
		t.Fatalf("created job: name %q status %q compute %q", job.Name, job.Status, job.Compute)
	}
	r := w.mustBerth(t.TempDir(), "job", "stream", "-n", "hello")
	for _, want := range []string{"hi total 10 answer 42 job hello", "token visible: False", "to stderr", "Status: Completed"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stream output lacks %q:\n%s", want, r.stdout)
		}
	}
	done := w.waitJob("hello", 10*time.Second, terminal)
	if done.Status != v1.JobCompleted || done.ExitCode == nil || *done.ExitCode != 0 || done.StartTime == nil || done.EndTime == nil {
		t.Fatalf("job ended %+v", done)
	}

	dl := t.TempDir()
	w.mustBerth(dl, "job", "download", "-n", "hello", "--all", "--download-path", "out")
	got, err := os.ReadFile(filepath.Join(dl, "out", "named-outputs", "result", "total.txt"))
	if err != nil || string(got) != "10" {
		t.Errorf("named output: %q, %v", got, err)
	}
	got, err = os.ReadFile(filepath.Join(dl, "out", "artifacts", "outputs", "default.txt"))
	if err != nil || string(got) != "default output" {
		t.Errorf("default output: %q, %v", got, err)
	}
	// The job's folder is gone once its outputs and log are kept.
	if _, err := os.Stat(filepath.Join(w.home, "jobs", "hello")); !os.IsNotExist(err) {
		t.Errorf("job folder still there: %v", err)
	}
}

func TestSnapshotHonoursIgnoreFiles(t *testing.T) {
	w := startServer(t)
	w.createJob(`command: ls -a | sort
code: .
`, map[string]string{".gitignore": "*.log\n", "keep.txt": "x", "drop.log": "y"}, "--name", "ls")
	w.waitJob("ls", 20*time.Second, terminal)
	r := w.mustBerth(t.TempDir(), "job", "stream", "-n", "ls")
	if !strings.Contains(r.stdout, "keep.txt") || strings.Contains(r.stdout, "drop.log") {
		t.Errorf("snapshot listing:\n%s", r.stdout)
	}
}

func TestFailedJobReportsExitCodeAndStderr(t *testing.T) {
	w := startServer(t)
	w.createJob(`command: |
  echo working; echo "ValueError: bad learning rate" >&2; exit 3
`, nil, "--name", "fails")
	job := w.waitJob("fails", 20*time.Second, terminal)
	if job.Status != v1.JobFailed || job.ExitCode == nil || *job.ExitCode != 3 {
		t.Fatalf("job %+v", job)
	}
	want := "the command exited with code 3; last lines of standard error:\nValueError: bad learning rate"
	if job.Error == nil || job.Error.Code != v1.ErrCodeNonZeroExit || job.Error.Message != want {
		t.Fatalf("error %+v, want message %q", job.Error, want)
	}
	r := w.berth(t.TempDir(), "job", "stream", "-n", "fails")
	if r.code != 1 || !strings.Contains(r.stdout, "Status: Failed") {
		t.Errorf("stream of failed job: exit %d\n%s", r.code, r.stdout)
	}
}

func TestTimeoutStopsTheJob(t *testing.T) {
	w := startServer(t)
	w.createJob(`command: sleep 60
limits:
  timeout: 1
`, nil, "--name", "slow")
	job := w.waitJob("slow", 20*time.Second, terminal)
	if job.Status != v1.JobFailed || job.Error == nil || job.Error.Code != v1.ErrCodeTimeout {
		t.Fatalf("job %+v error %+v", job, job.Error)
	}
	if d := job.EndTime.Sub(*job.StartTime); d > 10*time.Second {
		t.Errorf("timed-out job ran %s", d)
	}
}

func TestCancelStopsProcessGroup(t *testing.T) {
	w := startServer(t)
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	// The command starts a grandchild that ignores nothing: cancel must reach it through the
	// process group.
	w.createJob(`command: sleep 300 & echo $! > `+pidFile+`; echo started; wait
`, nil, "--name", "long")
	w.waitJob("long", 20*time.Second, hasStatus(v1.JobRunning))
	waitFile(t, pidFile)
	r := w.mustBerth(dir, "job", "cancel", "-n", "long")
	var canceled v1.Job
	json.Unmarshal([]byte(r.stdout), &canceled)
	if canceled.Status != v1.JobCancelRequested {
		t.Errorf("cancel answered status %q", canceled.Status)
	}
	job := w.waitJob("long", 20*time.Second, terminal)
	if job.Status != v1.JobCanceled {
		t.Fatalf("job %+v", job)
	}
	waitFor(t, func() bool { return processGone(readPID(t, pidFile)) })
	// A finished job cannot be canceled again.
	r = w.berth(dir, "job", "cancel", "-n", "long")
	if r.code != 1 || !strings.Contains(r.stderr, "ERROR: job long is already Canceled; only a job that has not finished can be canceled") {
		t.Errorf("second cancel: exit %d, %s", r.code, r.stderr)
	}
}

func TestCancelQueuedJob(t *testing.T) {
	w := startServer(t, "--local-max-concurrent-jobs", "1")
	w.createJob("command: sleep 30\n", nil, "--name", "first")
	w.createJob("command: echo never\n", nil, "--name", "second")
	w.mustBerth(t.TempDir(), "job", "cancel", "-n", "second")
	job := w.waitJob("second", 5*time.Second, terminal)
	if job.Status != v1.JobCanceled || job.StartTime != nil {
		t.Fatalf("queued job after cancel: %+v", job)
	}
	w.mustBerth(t.TempDir(), "job", "cancel", "-n", "first")
	w.waitJob("first", 20*time.Second, hasStatus(v1.JobCanceled))
}

func TestQueueIsFirstInFirstOut(t *testing.T) {
	w := startServer(t, "--local-max-concurrent-jobs", "1")
	names := []string{"q1", "q2", "q3", "q4"}
	for _, n := range names {
		w.createJob("command: sleep 0.2\n", nil, "--name", n)
	}
	var last time.Time
	for _, n := range names {
		job := w.waitJob(n, 30*time.Second, terminal)
		if job.Status != v1.JobCompleted {
			t.Fatalf("%s: %+v", n, job)
		}
		if job.StartTime.Before(last) {
			t.Errorf("%s started at %s, before the job submitted ahead of it ended (%s)", n, job.StartTime, last)
		}
		last = *job.EndTime
	}
}

func TestDistributedPyTorchEnvironment(t *testing.T) {
	w := startServer(t)
	w.createJob(`command: echo "rank=$RANK local=$LOCAL_RANK world=$WORLD_SIZE master=$MASTER_ADDR:$MASTER_PORT node=$NODE_RANK"
distribution:
  type: pytorch
  process_count_per_instance: 2
`, nil, "--name", "ddp-env")
	job := w.waitJob("ddp-env", 20*time.Second, terminal)
	if job.Status != v1.JobCompleted {
		t.Fatalf("job %+v", job)
	}
	r := w.mustBerth(t.TempDir(), "job", "stream", "-n", "ddp-env")
	for _, want := range []string{"[rank 0] rank=0 local=0 world=2 master=127.0.0.1:", "[rank 1] rank=1 local=1 world=2 master=127.0.0.1:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("log lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestCondaFileIsSaidToBeIgnored(t *testing.T) {
	w := startServer(t)
	w.createJob(`command: python --version
environment:
  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04
  conda_file: conda.yml
`, nil, "--name", "conda")
	w.waitJob("conda", 20*time.Second, terminal)
	r := w.mustBerth(t.TempDir(), "job", "stream", "-n", "conda")
	if !strings.Contains(r.stdout, "berth: environment.conda_file is recorded but not used on the local compute") {
		t.Errorf("log lacks the conda notice:\n%s", r.stdout)
	}
}

func TestServerRestartAfterSIGKILLLosesNothing(t *testing.T) {
	w := startServer(t, "--local-max-concurrent-jobs", "1")
	dir := t.TempDir()
	gate := filepath.Join(dir, "gate")
	// The running job waits for a file, so it is surely still running across the restart.
	w.createJob(`command: echo before; while [ ! -f `+gate+` ]; do sleep 0.05; done; echo after
`, nil, "--name", "running")
	w.createJob("command: echo queued one\n", nil, "--name", "queued1")
	w.createJob("command: echo queued two\n", nil, "--name", "queued2")
	w.waitJob("running", 20*time.Second, hasStatus(v1.JobRunning))

	w.stop(syscall.SIGKILL)
	os.WriteFile(gate, nil, 0o644) // the job finishes while no server is up
	w.start()

	for _, n := range []string{"running", "queued1", "queued2"} {
		job := w.waitJob(n, 30*time.Second, terminal)
		if job.Status != v1.JobCompleted {
			t.Errorf("%s ended %s (%+v)", n, job.Status, job.Error)
		}
	}
	r := w.mustBerth(dir, "job", "stream", "-n", "running")
	if !strings.Contains(r.stdout, "before\nafter\n") {
		t.Errorf("log of reattached job:\n%s", r.stdout)
	}
}

func TestServerRestartFindsDeadRuntime(t *testing.T) {
	w := startServer(t)
	w.createJob("command: sleep 300\n", nil, "--name", "orphan")
	w.waitJob("orphan", 20*time.Second, hasStatus(v1.JobRunning))
	var proc struct {
		PID    int   `json:"pid"`
		Groups []int `json:"groups"`
	}
	waitFile(t, filepath.Join(w.home, "jobs", "orphan", "runtime.json"))
	data, _ := os.ReadFile(filepath.Join(w.home, "jobs", "orphan", "runtime.json"))
	json.Unmarshal(data, &proc)
	w.stop(syscall.SIGKILL)
	// The machine "rebooted": the runtime and the job are gone without a record.
	syscall.Kill(proc.PID, syscall.SIGKILL)
	for _, g := range proc.Groups {
		syscall.Kill(-g, syscall.SIGKILL)
	}
	time.Sleep(200 * time.Millisecond)
	w.start()
	job := w.waitJob("orphan", 20*time.Second, terminal)
	if job.Status != v1.JobFailed || job.Error == nil || job.Error.Code != v1.ErrCodeServerRestart ||
		!strings.HasPrefix(job.Error.Message, "server restarted while the job was running") {
		t.Fatalf("job %+v, error %+v", job, job.Error)
	}
}

func TestStreamStopsOnInterruptAndJobKeepsRunning(t *testing.T) {
	w := startServer(t)
	dir := t.TempDir()
	gate := filepath.Join(dir, "gate")
	w.createJob(`command: echo waiting; while [ ! -f `+gate+` ]; do sleep 0.05; done
`, nil, "--name", "followed")
	w.waitJob("followed", 20*time.Second, hasStatus(v1.JobRunning))
	cmd := execBerth(w, dir, "job", "stream", "-n", "followed")
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(out.String(), "waiting") })
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("stream after Ctrl-C: exit %d, want 130\n%s", code, out)
	}
	if !strings.Contains(out.String(), "Stopped following job followed; it keeps running.") {
		t.Errorf("output:\n%s", out)
	}
	job, _ := w.client().GetJob(context.Background(), "followed")
	if job.Status != v1.JobRunning {
		t.Errorf("job after interrupted stream: %s", job.Status)
	}
	os.WriteFile(gate, nil, 0o644)
	w.waitJob("followed", 20*time.Second, hasStatus(v1.JobCompleted))
}

func TestCleanShutdownOnSIGTERMLeavesJobRunning(t *testing.T) {
	w := startServer(t)
	dir := t.TempDir()
	gate := filepath.Join(dir, "gate")
	w.createJob(`command: while [ ! -f `+gate+` ]; do sleep 0.05; done; echo done
`, nil, "--name", "survivor")
	w.waitJob("survivor", 20*time.Second, hasStatus(v1.JobRunning))
	w.stop(syscall.SIGTERM)
	if code := w.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("server exit code after SIGTERM: %d\n%s", code, w.log)
	}
	w.start()
	os.WriteFile(gate, nil, 0o644)
	w.waitJob("survivor", 20*time.Second, hasStatus(v1.JobCompleted))
}
