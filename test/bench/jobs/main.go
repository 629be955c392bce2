// Command jobs measures the local compute: submit-to-Running latency of trivial jobs
// submitted one at a time, and end-to-end throughput of many echo jobs submitted at once.
// It builds berth, starts a server with a fresh data folder on a loopback port, and prints
// the figures that BENCHMARKS.md records.
//
//	go run ./test/bench/jobs [-latency-jobs 200] [-throughput-jobs 1000]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	v1 "berth/api/v1"
	"berth/internal/client"
	"berth/internal/server"
)

func main() {
	latencyJobs := flag.Int("latency-jobs", 200, "trivial jobs submitted one at a time")
	throughputJobs := flag.Int("throughput-jobs", 1000, "echo jobs submitted at once")
	submitters := flag.Int("submitters", 16, "concurrent submitters for the throughput run")
	flag.Parse()
	if err := run(*latencyJobs, *throughputJobs, *submitters); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(latencyJobs, throughputJobs, submitters int) error {
	bin, err := os.MkdirTemp("", "berth-bench-bin-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	build := exec.Command("go", "build", "-o", bin, "./cmd/berth", "./cmd/berth-runtime")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building (run from the repository root): %w", err)
	}
	home, err := os.MkdirTemp("", "berth-bench-home-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(home)
	srv := exec.Command(filepath.Join(bin, "berth"), "server", "--listen", "127.0.0.1:0", "--router-listen", "127.0.0.1:0", "--home", home)
	logFile, _ := os.Create(filepath.Join(home, "server.log"))
	srv.Stdout, srv.Stderr = logFile, logFile
	if err := srv.Start(); err != nil {
		return err
	}
	defer srv.Process.Kill()
	c, err := connect(home, srv.Process.Pid)
	if err != nil {
		return err
	}
	ctx := context.Background()
	fmt.Printf("machine: %d cores (%s/%s), local compute max concurrent jobs: %d\n",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())

	// Latency: one job at a time, so none waits in the queue; measured on the server's clock
	// from the moment it received the request to the moment the job's process started.
	var lat []time.Duration
	for i := range latencyJobs {
		job, err := c.CreateJob(ctx, v1.SpecRequest{YAML: "command: \"true\"\n", Name: fmt.Sprintf("lat-%d", i)}, nil, nil)
		if err != nil {
			return err
		}
		done, err := waitEnd(ctx, c, job.Name)
		if err != nil {
			return err
		}
		if done.Status != v1.JobCompleted || done.StartTime == nil {
			return fmt.Errorf("job %s ended %s", done.Name, done.Status)
		}
		lat = append(lat, done.StartTime.Sub(done.CreationContext.CreatedAt))
	}
	slices.Sort(lat)
	fmt.Printf("submit-to-Running latency over %d jobs: p50 %s, p99 %s, max %s\n", len(lat),
		pct(lat, 50), pct(lat, 99), lat[len(lat)-1])

	// Throughput: every job submitted at once by concurrent clients; from the first request
	// to the last job's end.
	start := time.Now()
	names := make(chan string, throughputJobs)
	var wg sync.WaitGroup
	errs := make(chan error, submitters)
	next := make(chan int)
	go func() {
		for i := range throughputJobs {
			next <- i
		}
		close(next)
	}()
	for range submitters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				job, err := c.CreateJob(ctx, v1.SpecRequest{YAML: "command: echo hello\n", Name: fmt.Sprintf("tp-%d", i)}, nil, nil)
				if err != nil {
					errs <- err
					return
				}
				names <- job.Name
			}
		}()
	}
	wg.Wait()
	close(names)
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	submitted := time.Since(start)
	for name := range names {
		job, err := waitEnd(ctx, c, name)
		if err != nil {
			return err
		}
		if job.Status != v1.JobCompleted {
			return fmt.Errorf("job %s ended %s", name, job.Status)
		}
	}
	total := time.Since(start)
	fmt.Printf("throughput: %d echo jobs submitted in %s, all Completed after %s: %.1f jobs/s end to end\n",
		throughputJobs, submitted.Round(time.Millisecond), total.Round(time.Millisecond), float64(throughputJobs)/total.Seconds())
	return nil
}

func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i-1, 0)]
}

func connect(home string, pid int) (*client.Client, error) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var addr server.Address
		data, err := os.ReadFile(filepath.Join(home, server.AddressFile))
		if err == nil && json.Unmarshal(data, &addr) == nil && addr.PID == pid {
			token, err := os.ReadFile(filepath.Join(home, server.TokenFile))
			if err != nil {
				return nil, err
			}
			return &client.Client{BaseURL: addr.URL, Token: strings.TrimSpace(string(token))}, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil, fmt.Errorf("server did not start; see %s", filepath.Join(home, "server.log"))
}

func waitEnd(ctx context.Context, c *client.Client, name string) (*v1.Job, error) {
	for {
		job, err := c.GetJob(ctx, name)
		if err != nil {
			return nil, err
		}
		if job.Status.Terminal() {
			return job, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
}
