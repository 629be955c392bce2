package scoring

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func noEnv(string) string { return "" }

func TestParseOptionsDefaults(t *testing.T) {
	dir := t.TempDir()
	script := writeFile(t, dir, "score.py", "def run(d): return d\n")
	got, err := ParseOptions([]string{"--script", script}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	python3, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal(err)
	}
	want := Options{
		Script: script, CodeDir: dir, Workers: 1, Python: python3, Host: "127.0.0.1",
		Port: 5001, RequestTimeout: 5 * time.Second, MaxConcurrent: 1,
		MaxQueueWait: 500 * time.Millisecond, MaxBodyBytes: 100 << 20,
	}
	if fi, err := os.Stat(kubernetesTermLog); err == nil && fi.Mode().IsRegular() {
		want.TerminationLog = kubernetesTermLog
	}
	if d := cmp.Diff(want, got, cmpopts.IgnoreFields(Options{}, "Stdout", "Stderr")); d != "" {
		t.Fatalf("options (-want +got):\n%s", d)
	}
}

func TestParseOptionsAll(t *testing.T) {
	dir := t.TempDir()
	code := filepath.Join(dir, "src")
	models := filepath.Join(dir, "model")
	os.Mkdir(code, 0o755)
	os.Mkdir(models, 0o755)
	script := writeFile(t, code, "score.py", "")
	t.Chdir(dir)
	got, err := ParseOptions([]string{
		"--script", "src/score.py", "--code-dir", "src", "--model-dir=model", "--workers", "3",
		"--python", "/usr/bin/python3", "--port", "0", "--request-timeout-ms", "100",
		"--max-concurrent-requests", "4", "--max-queue-wait-ms", "0", "--max-body-bytes", "10",
		"--termination-log", filepath.Join(dir, "term"),
	}, func(k string) string { return map[string]string{"POD_IP": "127.0.0.9"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := Options{
		Script: script, CodeDir: code, ModelDir: models, Workers: 3, Python: "/usr/bin/python3",
		Host: "127.0.0.9", Port: 0, RequestTimeout: 100 * time.Millisecond, MaxConcurrent: 4,
		MaxQueueWait: 0, MaxBodyBytes: 10, TerminationLog: filepath.Join(dir, "term"),
	}
	if d := cmp.Diff(want, got, cmpopts.IgnoreFields(Options{}, "Stdout", "Stderr")); d != "" {
		t.Fatalf("options (-want +got):\n%s", d)
	}
}

// TestParseOptionsRejects pins every message a bad command line gets.
func TestParseOptionsRejects(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "score.py", "")
	writeFile(t, dir, "notes.txt", "")
	t.Chdir(dir)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "--script is required: the scoring script with init() and run(raw_data), such as --script ./score.py"},
		{[]string{"--script", "notes.txt"}, "--script notes.txt must be a Python file whose name ends in .py"},
		{[]string{"--script", "missing.py"}, "--script missing.py does not exist or cannot be read: no such file or directory"},
		{[]string{"--script", "score.py", "--workers", "0"}, "--workers must be at least 1, not 0"},
		{[]string{"--script", "score.py", "--workers", "two"}, `--workers must be a whole number, not "two"`},
		{[]string{"--script", "score.py", "--workers", "5000"}, "--workers must be at most 1024, not 5000"},
		{[]string{"--script", "score.py", "--port", "70000"}, "--port must be at most 65535, not 70000"},
		{[]string{"--script", "score.py", "--port", "-1"}, "--port must not be negative, not -1"},
		{[]string{"--script", "score.py", "--request-timeout-ms", "0"}, "--request-timeout-ms must be at least 1, not 0"},
		{[]string{"--script", "score.py", "--max-concurrent-requests", "0"}, "--max-concurrent-requests must be at least 1, not 0"},
		{[]string{"--script", "score.py", "--max-queue-wait-ms", "-5"}, "--max-queue-wait-ms must not be negative, not -5"},
		{[]string{"--script", "score.py", "--max-body-bytes", "0"}, "--max-body-bytes must be at least 1, not 0"},
		{[]string{"--script", "score.py", "--code-dir", "nowhere"}, "--code-dir nowhere does not exist or cannot be read: no such file or directory"},
		{[]string{"--script", "score.py", "--code-dir", "notes.txt"}, "--code-dir notes.txt is not a folder"},
		{[]string{"--script", "score.py", "--model-dir", "nowhere"}, "--model-dir nowhere does not exist or cannot be read: no such file or directory"},
		{[]string{"--script", "score.py", "--python", "python-does-not-exist"}, "--python python-does-not-exist: no such interpreter; give a path or a name on PATH, such as /usr/bin/python3"},
		{[]string{"--script", "score.py", "--wrokers", "2"}, "flag provided but not defined: --wrokers"},
		{[]string{"--script", "score.py", "--port"}, "flag needs an argument: --port"},
		{[]string{"--script", "score.py", "extra"}, `unexpected argument "extra": score takes flags only, such as --script score.py`},
	} {
		_, err := ParseOptions(tc.args, noEnv)
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: err = %v, want a UsageError", tc.args, err)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.args, err, tc.want)
		}
	}

	if err := os.Mkdir(filepath.Join(dir, "code.py"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := ParseOptions([]string{"--script", "code.py"}, noEnv)
	if want := "--script code.py is a folder; give the scoring script itself, such as code.py/score.py"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
	if _, err := ParseOptions([]string{"--help"}, noEnv); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: err = %v, want flag.ErrHelp", err)
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
