// Package e2e runs the real berth binaries: a server on a loopback port with its own data
// folder, the CLI as a subprocess, jobs as real processes. Nothing is mocked.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "berth/api/v1"
	"berth/internal/client"
	"berth/internal/server"
)

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "berth-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	root := repoRoot()
	build := exec.Command("go", "build", "-o", dir, "./cmd/berth", "./cmd/berth-runtime")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building berth:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// workspace is a running berth server with its own data folder.
type workspace struct {
	t      *testing.T
	home   string
	url    string
	token  string
	cmd    *exec.Cmd
	log    *bytes.Buffer
	exited chan struct{}
	args   []string
}

// startServer starts `berth server` on a free loopback port with a new data folder.
func startServer(t *testing.T, args ...string) *workspace {
	t.Helper()
	w := &workspace{t: t, home: t.TempDir(), args: args}
	w.start()
	t.Cleanup(func() { w.stop(syscall.SIGTERM) })
	return w
}

func (w *workspace) start() {
	t := w.t
	t.Helper()
	os.Remove(filepath.Join(w.home, server.AddressFile))
	args := append([]string{"server", "--listen", "127.0.0.1:0", "--router-listen", "127.0.0.1:0", "--cancel-grace", "2s"}, w.args...)
	w.cmd = exec.Command(filepath.Join(binDir, "berth"), args...)
	w.cmd.Env = append(os.Environ(), "BERTH_HOME="+w.home)
	w.log = &bytes.Buffer{}
	w.cmd.Stdout, w.cmd.Stderr = w.log, w.log
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.exited = make(chan struct{})
	go func() { w.cmd.Wait(); close(w.exited) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var addr server.Address
		data, err := os.ReadFile(filepath.Join(w.home, server.AddressFile))
		if err == nil && json.Unmarshal(data, &addr) == nil && addr.PID == w.cmd.Process.Pid {
			w.url = addr.URL
			break
		}
		select {
		case <-w.exited:
			t.Fatalf("server exited at start:\n%s", w.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start:\n%s", w.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	token, err := os.ReadFile(filepath.Join(w.home, server.TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	w.token = strings.TrimSpace(string(token))
}

// stop ends the server with sig and waits for it.
func (w *workspace) stop(sig syscall.Signal) {
	select {
	case <-w.exited:
		return
	default:
	}
	w.cmd.Process.Signal(sig)
	select {
	case <-w.exited:
	case <-time.After(20 * time.Second):
		w.cmd.Process.Kill()
		<-w.exited
		w.t.Errorf("server did not stop on %v:\n%s", sig, w.log)
	}
}

func (w *workspace) client() *client.Client {
	c := &client.Client{BaseURL: w.url, Token: w.token}
	if ca := filepath.Join(w.home, "tls", "ca.crt"); strings.HasPrefix(w.url, "https:") {
		hc, err := client.HTTPClientWithCA(ca)
		if err != nil {
			w.t.Fatal(err)
		}
		c.HTTP = hc
	}
	return c
}

// result is what a CLI run printed and how it exited.
type result struct {
	stdout, stderr string
	code           int
}

// berth runs the CLI against this workspace in dir.
func (w *workspace) berth(dir string, args ...string) result {
	w.t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "berth"), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BERTH_HOME="+w.home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatal(err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// mustBerth runs the CLI and fails the test unless it exits 0.
func (w *workspace) mustBerth(dir string, args ...string) result {
	w.t.Helper()
	r := w.berth(dir, args...)
	if r.code != 0 {
		w.t.Fatalf("berth %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// createJob writes a job file into a new folder and submits it, returning the job.
func (w *workspace) createJob(yaml string, files map[string]string, args ...string) *v1.Job {
	w.t.Helper()
	dir := writeFiles(w.t, yaml, files)
	r := w.mustBerth(dir, append([]string{"job", "create", "-f", "job.yml"}, args...)...)
	var job v1.Job
	if err := json.Unmarshal([]byte(r.stdout), &job); err != nil {
		w.t.Fatalf("decoding job create output: %v\n%s", err, r.stdout)
	}
	return &job
}

// writeFiles makes a folder holding job.yml and files.
func writeFiles(t *testing.T, yaml string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files = maps.Clone(files)
	if files == nil {
		files = map[string]string{}
	}
	files["job.yml"] = yaml
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// waitJob waits until the job satisfies done, and returns it.
func (w *workspace) waitJob(name string, timeout time.Duration, done func(*v1.Job) bool) *v1.Job {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		job, err := w.client().GetJob(context.Background(), name)
		if err == nil && done(job) {
			return job
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("job %s: condition not reached in %s; last: %+v, err %v\nserver log:\n%s", name, timeout, job, err, w.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func terminal(j *v1.Job) bool { return j.Status.Terminal() }

func hasStatus(s v1.JobStatus) func(*v1.Job) bool {
	return func(j *v1.Job) bool { return j.Status == s }
}

// execBerth prepares a CLI run against this workspace for a test that drives it itself.
func execBerth(w *workspace, dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(binDir, "berth"), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BERTH_HOME="+w.home)
	return cmd
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	waitFor(t, func() bool { _, err := os.Stat(path); return err == nil })
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// processGone reports whether pid has exited (a zombie waiting to be reaped counts as gone).
func processGone(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && s[i+2] == 'Z'
}
