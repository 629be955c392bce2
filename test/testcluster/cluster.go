// Package testcluster starts a real Kubernetes cluster on loopback for end-to-end tests: the
// control plane and the process kubelet of test/cluster, whose pods are host processes. It
// uses only the standard library, so tests that import it link no Kubernetes package; they
// drive the cluster with kubectl (Cluster.Kubectl) or with a client of their own.
package testcluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Cluster is a running test cluster.
type Cluster struct {
	// Dir holds the cluster's state and its components' logs (<component>.log).
	Dir string
	// Kubeconfig is an admin kubeconfig for the cluster.
	Kubeconfig string
	// Bin holds kubectl, process-kubelet and the control plane's binaries.
	Bin string

	scripts  string
	stopOnce sync.Once
	stopErr  error
}

// Start starts a cluster with the given number of nodes (named berth-node-0, berth-node-1,
// ...; 0 for the control plane alone) and stops it when the test ends. The first run on a
// machine builds the binaries, 10 to 20 minutes on two cores: run such tests with -timeout
// 30m. The kubelet runs containers in mount namespaces of their own, so a test that asks for
// nodes is skipped unless run as root.
func Start(t testing.TB, nodes int) *Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a Kubernetes cluster; skipped with -short")
	}
	if nodes > 0 && os.Geteuid() != 0 {
		t.Skip("the process kubelet needs root (mount namespaces for pods' volumes)")
	}
	scripts := scriptsDir()

	// build.sh returns at once when the binaries are cached; otherwise its progress shows.
	build := exec.Command("bash", filepath.Join(scripts, "build.sh"))
	build.Stderr = os.Stderr
	out, err := build.Output()
	if err != nil {
		t.Fatalf("building the test cluster's binaries (bash %s/build.sh): %v", scripts, err)
	}
	bin := strings.TrimSpace(lastLine(string(out)))

	// Not t.TempDir: its removal at the end of the test could race the stop of processes
	// that still write there, and a failed test's logs are worth keeping until it is stopped.
	dir, err := os.MkdirTemp("", "berth-testcluster-")
	if err != nil {
		t.Fatal(err)
	}
	start := exec.Command("bash", filepath.Join(scripts, "start.sh"), dir)
	start.Env = append(os.Environ(), "NODES="+strconv.Itoa(nodes))
	var stderr bytes.Buffer
	start.Stderr = &stderr
	began := time.Now()
	if _, err := start.Output(); err != nil {
		exec.Command("bash", filepath.Join(scripts, "stop.sh"), dir).Run() //nolint:errcheck // start's error is the one to report
		t.Fatalf("starting the test cluster: %v\n%s", err, stderr.String())
	}
	t.Logf("cluster with %d nodes started in %s: %s", nodes, time.Since(began).Round(time.Millisecond), dir)

	c := &Cluster{Dir: dir, Kubeconfig: filepath.Join(dir, "kubeconfig"), Bin: bin, scripts: scripts}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("the cluster's logs are kept in %s", dir)
		} else {
			os.RemoveAll(dir)
		}
	})
	return c
}

// Stop stops the cluster (the process kubelet and every pod's processes first); Start has
// arranged for it to run when the test ends, and later calls do nothing.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		out, err := exec.Command("bash", filepath.Join(c.scripts, "stop.sh"), c.Dir).CombinedOutput()
		if err != nil {
			c.stopErr = fmt.Errorf("stopping the test cluster: %w\n%s", err, out)
		}
	})
	return c.stopErr
}

// Kubectl runs kubectl against the cluster, with a one-minute limit, and returns its
// standard output; it fails the test if kubectl fails.
func (c *Cluster) Kubectl(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := c.KubectlE(ctx, "", args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// KubectlE runs kubectl with stdin and returns its standard output; the error carries its
// standard error.
func (c *Cluster) KubectlE(ctx context.Context, stdin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.Bin, "kubectl"), append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Apply applies a manifest (YAML or JSON) and fails the test if kubectl does.
func (c *Cluster) Apply(t testing.TB, manifest string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.KubectlE(ctx, manifest, "apply", "-f", "-"); err != nil {
		t.Fatal(err)
	}
}

// scriptsDir is test/cluster in the source tree this package was built from, or (in a binary
// built with -trimpath) in the first folder up from the working folder that has it.
func scriptsDir() string {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		return filepath.Join(filepath.Dir(file), "..", "cluster")
	}
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "test", "cluster", "start.sh")); err == nil {
			return filepath.Join(dir, "test", "cluster")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "test/cluster"
		}
		dir = parent
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
