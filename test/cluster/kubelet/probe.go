package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// startProbes runs the container's probes for one running instance, as the kubelet does: the
// startup probe first, then readiness (ready once it passes; ready at once without one) and
// liveness (a failing container is killed and restarted under the restart policy). The
// returned function stops them.
func (p *podRuntime) startProbes(c *container, proc *process) (stop func()) {
	ctx, cancel := context.WithCancel(p.ctx)
	var wg sync.WaitGroup
	startRest := func() {
		if c.spec.ReadinessProbe == nil {
			p.setProbeResult(c, proc, func() { c.ready = true })
		} else {
			wg.Go(func() {
				p.probeLoop(ctx, c, proc, c.spec.ReadinessProbe, "readiness", false, func(ok bool) {
					p.setProbeResult(c, proc, func() { c.ready = ok })
				})
			})
		}
		if c.spec.LivenessProbe != nil {
			wg.Go(func() {
				p.probeLoop(ctx, c, proc, c.spec.LivenessProbe, "liveness", true, func(ok bool) {
					if !ok {
						p.log.Info("liveness probe failed: restarting the container", "container", c.spec.Name)
						go proc.stop(p.terminationGrace(c.spec.LivenessProbe))
					}
				})
			})
		}
	}
	if c.init {
		// Init containers have no probes; they are never ready, they complete.
	} else if c.spec.StartupProbe == nil {
		startRest()
	} else {
		wg.Go(func() {
			startupCtx, done := context.WithCancel(ctx)
			defer done()
			p.probeLoop(startupCtx, c, proc, c.spec.StartupProbe, "startup", false, func(ok bool) {
				if ok {
					p.setProbeResult(c, proc, func() { c.started = true })
					done() // a startup probe stops once it passes
					startRest()
					return
				}
				p.log.Info("startup probe failed: restarting the container", "container", c.spec.Name)
				go proc.stop(p.terminationGrace(c.spec.StartupProbe))
			})
		})
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// setProbeResult applies a probe's verdict if the instance it probed still runs.
func (p *podRuntime) setProbeResult(c *container, proc *process, apply func()) {
	p.mu.Lock()
	if c.proc != proc {
		p.mu.Unlock()
		return
	}
	apply()
	p.mu.Unlock()
	p.statusChanged()
}

func (p *podRuntime) terminationGrace(probe *corev1.Probe) time.Duration {
	if probe.TerminationGracePeriodSeconds != nil {
		return time.Duration(*probe.TerminationGracePeriodSeconds) * time.Second
	}
	if g := p.pod.Spec.TerminationGracePeriodSeconds; g != nil {
		return time.Duration(*g) * time.Second
	}
	return 30 * time.Second
}

// probeLoop probes every periodSeconds after initialDelaySeconds, and calls onChange when the
// result flips after successThreshold successes or failureThreshold failures. The result
// starts as initial (liveness starts as passing, the others as failing).
func (p *podRuntime) probeLoop(ctx context.Context, c *container, proc *process, probe *corev1.Probe, kind string, initial bool, onChange func(bool)) {
	period := seconds(probe.PeriodSeconds, 10)
	timeout := seconds(probe.TimeoutSeconds, 1)
	successes, failures := int32(0), int32(0)
	successThreshold, failureThreshold := max(probe.SuccessThreshold, 1), max(probe.FailureThreshold, 1)
	if probe.FailureThreshold == 0 {
		failureThreshold = 3
	}
	result := initial
	if !sleep(ctx, time.Duration(probe.InitialDelaySeconds)*time.Second) {
		return
	}
	for {
		err := p.probeOnce(ctx, c, proc, probe, timeout)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			successes, failures = successes+1, 0
			if !result && successes >= successThreshold {
				result = true
				onChange(true)
			}
		} else {
			p.log.Debug("probe failed", "container", c.spec.Name, "probe", kind, "err", err)
			successes, failures = 0, failures+1
			if (result || kind != "readiness") && failures >= failureThreshold {
				result = false
				failures = 0
				onChange(false)
			}
		}
		if !sleep(ctx, period) {
			return
		}
	}
}

func seconds(n int32, fallback int) time.Duration {
	if n <= 0 {
		return time.Duration(fallback) * time.Second
	}
	return time.Duration(n) * time.Second
}

// probeOnce runs one probe: HTTP GET and TCP against the pod's IP (or the probe's host), exec
// inside the container's mount namespace.
func (p *podRuntime) probeOnce(ctx context.Context, c *container, proc *process, probe *corev1.Probe, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case probe.HTTPGet != nil:
		g := probe.HTTPGet
		port, err := resolvePort(g.Port, &c.spec)
		if err != nil {
			return err
		}
		host := g.Host
		if host == "" {
			host = p.ip
		}
		scheme := "http"
		if g.Scheme == corev1.URISchemeHTTPS {
			scheme = "https"
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s://%s%s", scheme, net.JoinHostPort(host, strconv.Itoa(port)), g.Path), nil)
		if err != nil {
			return err
		}
		req.Header.Set("User-Agent", "kube-probe/1.37")
		for _, h := range g.HTTPHeaders {
			req.Header.Set(h.Name, h.Value)
		}
		// The kubelet does not verify the certificates of HTTPS probes either.
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return fmt.Errorf("HTTP probe answered %d", resp.StatusCode)
		}
		return nil
	case probe.TCPSocket != nil:
		port, err := resolvePort(probe.TCPSocket.Port, &c.spec)
		if err != nil {
			return err
		}
		host := probe.TCPSocket.Host
		if host == "" {
			host = p.ip
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return err
		}
		return conn.Close()
	case probe.Exec != nil:
		var out bytes.Buffer
		cmd := p.commandInContainer(ctx, c, proc, probe.Exec.Command)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := p.host.spawner.start(cmd); err != nil {
			return err
		}
		if err := cmd.Wait(); err != nil {
			return fmt.Errorf("%w: %s", err, out.String())
		}
		return nil
	}
	// TODO(berth): gRPC probes are not run; they count as passing.
	return nil
}

// commandInContainer runs a command beside the container's processes: in its mount namespace
// (through nsenter, since a Go program cannot join one), with its env and working folder.
func (p *podRuntime) commandInContainer(ctx context.Context, c *container, proc *process, command []string) *exec.Cmd {
	args := []string{"--target", strconv.Itoa(proc.pid), "--mount"}
	if c.spec.WorkingDir != "" {
		args = append(args, "--wd="+c.spec.WorkingDir)
	}
	args = append(args, "--")
	args = append(args, command...)
	cmd := exec.CommandContext(ctx, "nsenter", args...)
	p.mu.Lock()
	cmd.Env = c.env
	p.mu.Unlock()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	return cmd
}

// resolvePort reads a probe's port: a number, or the name of one of the container's ports.
func resolvePort(port intstr.IntOrString, c *corev1.Container) (int, error) {
	if port.Type == intstr.Int {
		return port.IntValue(), nil
	}
	for _, cp := range c.Ports {
		if cp.Name == port.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	if n, err := strconv.Atoi(port.StrVal); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("the container has no port named %q", port.StrVal)
}
