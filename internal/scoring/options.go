package scoring

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Usage is the help of `berth-runtime score`.
const Usage = `usage: berth-runtime score --script PATH [flags]

Serves a scoring script (score.py with init() and run(raw_data)) over HTTP:
GET / (liveness), GET /ready, POST /score, GET /metrics.

flags:
  --script PATH                   the scoring script, relative to the current folder (required)
  --code-dir DIR                  working folder of the workers, first on sys.path
                                  (default: the script's folder)
  --model-dir DIR                 exported to the workers as AZUREML_MODEL_DIR and BERTH_MODEL_DIR
  --workers N                     Python worker processes (default 1)
  --python PATH                   interpreter of the workers (default python3)
  --host H                        address to listen on (default $POD_IP, else 127.0.0.1)
  --port P                        port to listen on; 0 picks a free one, logged as "listening"
                                  (default 5001)
  --request-timeout-ms MS         answer 504 when run() takes longer (default 5000)
  --max-concurrent-requests N     requests scored at once; the rest queue (default 1)
  --max-queue-wait-ms MS          answer 429 after queueing this long; 0: never queue (default 500)
  --max-body-bytes N              answer 413 to larger request bodies (default 104857600)
  --termination-log PATH          where a failed init() is described (default
                                  /dev/termination-log when Kubernetes created it, else none)
`

// Defaults of the flags; the request settings are Azure ML's.
const (
	DefaultPort           = 5001
	DefaultRequestTimeout = 5000 * time.Millisecond
	DefaultMaxQueueWait   = 500 * time.Millisecond
	DefaultMaxBodyBytes   = 100 << 20
	kubernetesTermLog     = "/dev/termination-log"
)

// Options configure a scoring host. Flags fill the exported fields; the rest are for tests and
// embedders.
type Options struct {
	Script         string // absolute path of score.py
	CodeDir        string // absolute
	ModelDir       string // absolute, or "" for none
	Workers        int
	Python         string
	Host           string
	Port           int
	RequestTimeout time.Duration
	MaxConcurrent  int
	MaxQueueWait   time.Duration
	MaxBodyBytes   int64
	TerminationLog string // "" for none

	// LateGrace is how long a worker whose request timed out may go on before it is killed
	// and replaced; zero means the larger of 30 s and the request timeout.
	LateGrace time.Duration
	// StopGrace bounds the wait for in-flight requests and then for workers on shutdown;
	// zero means the queue wait plus the request timeout plus 5 s.
	StopGrace time.Duration
	// Stdout and Stderr receive the workers' output (default os.Stdout and os.Stderr).
	Stdout, Stderr io.Writer
}

// UsageError is a bad command line; berth-runtime exits 2 for it.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &UsageError{msg: fmt.Sprintf(format, args...)}
}

// ParseOptions reads the flags of `berth-runtime score`. getenv supplies POD_IP. Every
// message names the flag and what would be accepted.
func ParseOptions(args []string, getenv func(string) string) (Options, error) {
	fs := flag.NewFlagSet("berth-runtime score", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var o Options
	// Numbers are read as strings so that a bad one gets this package's message rather than
	// the flag package's.
	var workers, port, timeout, concurrent, queueWait, bodyBytes string
	fs.StringVar(&o.Script, "script", "", "")
	fs.StringVar(&o.CodeDir, "code-dir", "", "")
	fs.StringVar(&o.ModelDir, "model-dir", "", "")
	fs.StringVar(&workers, "workers", "1", "")
	fs.StringVar(&o.Python, "python", "python3", "")
	fs.StringVar(&o.Host, "host", "", "")
	fs.StringVar(&port, "port", strconv.Itoa(DefaultPort), "")
	fs.StringVar(&timeout, "request-timeout-ms", "5000", "")
	fs.StringVar(&concurrent, "max-concurrent-requests", "1", "")
	fs.StringVar(&queueWait, "max-queue-wait-ms", "500", "")
	fs.StringVar(&bodyBytes, "max-body-bytes", strconv.Itoa(DefaultMaxBodyBytes), "")
	termLog := fs.String("termination-log", "", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Options{}, err
		}
		return Options{}, usageErrorf("%s", strings.Replace(err.Error(), " -", " --", 1))
	}
	if fs.NArg() > 0 {
		return Options{}, usageErrorf("unexpected argument %q: score takes flags only, such as --script score.py", fs.Arg(0))
	}

	var err error
	if o.Workers, err = intFlag("workers", workers, 1, 1024); err != nil {
		return Options{}, err
	}
	if o.Port, err = intFlag("port", port, 0, 65535); err != nil {
		return Options{}, err
	}
	if o.MaxConcurrent, err = intFlag("max-concurrent-requests", concurrent, 1, 1<<20); err != nil {
		return Options{}, err
	}
	ms, err := intFlag("request-timeout-ms", timeout, 1, 24*3600*1000)
	if err != nil {
		return Options{}, err
	}
	o.RequestTimeout = time.Duration(ms) * time.Millisecond
	if ms, err = intFlag("max-queue-wait-ms", queueWait, 0, 24*3600*1000); err != nil {
		return Options{}, err
	}
	o.MaxQueueWait = time.Duration(ms) * time.Millisecond
	n, err := intFlag("max-body-bytes", bodyBytes, 1, maxAnswerBytes)
	if err != nil {
		return Options{}, err
	}
	o.MaxBodyBytes = int64(n)

	if err := o.resolvePaths(); err != nil {
		return Options{}, err
	}
	if o.Host == "" {
		o.Host = getenv("POD_IP")
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	o.TerminationLog = *termLog
	if !flagSet(fs, "termination-log") {
		// Kubernetes creates the file before the container starts; /dev exists everywhere,
		// so its folder alone says nothing, and a stray file in /dev helps nobody.
		if fi, err := os.Stat(kubernetesTermLog); err == nil && fi.Mode().IsRegular() {
			o.TerminationLog = kubernetesTermLog
		}
	}
	return o, nil
}

// resolvePaths checks the script, code and model folders and the interpreter, and makes the
// paths absolute, since the workers run in the code folder.
func (o *Options) resolvePaths() error {
	if o.Script == "" {
		return usageErrorf("--script is required: the scoring script with init() and run(raw_data), such as --script ./score.py")
	}
	if !strings.HasSuffix(o.Script, ".py") {
		return usageErrorf("--script %s must be a Python file whose name ends in .py", o.Script)
	}
	script, err := filepath.Abs(o.Script)
	if err != nil {
		return usageErrorf("--script %s: %v", o.Script, err)
	}
	fi, err := os.Stat(script)
	switch {
	case err != nil:
		return usageErrorf("--script %s does not exist or cannot be read: %v", o.Script, pathError(err))
	case fi.IsDir():
		return usageErrorf("--script %s is a folder; give the scoring script itself, such as %s",
			o.Script, filepath.Join(o.Script, "score.py"))
	}
	o.Script = script

	if o.CodeDir == "" {
		o.CodeDir = filepath.Dir(script)
	} else if o.CodeDir, err = existingDir("code-dir", o.CodeDir); err != nil {
		return err
	}
	if o.ModelDir != "" {
		if o.ModelDir, err = existingDir("model-dir", o.ModelDir); err != nil {
			return err
		}
	}
	python, err := exec.LookPath(o.Python)
	if err != nil {
		return usageErrorf("--python %s: no such interpreter; give a path or a name on PATH, such as /usr/bin/python3", o.Python)
	}
	// Absolute, because the workers start in the code folder, where a relative path would
	// mean something else.
	if o.Python, err = filepath.Abs(python); err != nil {
		return usageErrorf("--python %s: %v", o.Python, err)
	}
	return nil
}

func existingDir(name, path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", usageErrorf("--%s %s: %v", name, path, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case err != nil:
		return "", usageErrorf("--%s %s does not exist or cannot be read: %v", name, path, pathError(err))
	case !fi.IsDir():
		return "", usageErrorf("--%s %s is not a folder", name, path)
	}
	return abs, nil
}

// pathError drops the path that os repeats in its errors, since the message names it already.
func pathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func intFlag(name, value string, least, most int) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(value))
	switch {
	case err != nil:
		return 0, usageErrorf("--%s must be a whole number, not %q", name, value)
	case n < least && least == 0:
		return 0, usageErrorf("--%s must not be negative, not %d", name, n)
	case n < least:
		return 0, usageErrorf("--%s must be at least %d, not %d", name, least, n)
	case n > most:
		return 0, usageErrorf("--%s must be at most %d, not %d", name, most, n)
	}
	return n, nil
}

func flagSet(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// lateGrace and stopGrace apply the defaults documented on Options.
func (o *Options) lateGrace() time.Duration {
	if o.LateGrace > 0 {
		return o.LateGrace
	}
	return max(30*time.Second, o.RequestTimeout)
}

func (o *Options) stopGrace() time.Duration {
	if o.StopGrace > 0 {
		return o.StopGrace
	}
	return o.MaxQueueWait + o.RequestTimeout + 5*time.Second
}
