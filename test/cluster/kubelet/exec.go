package main

import (
	"context"
	"errors"
	"os/exec"

	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"
	utilexec "k8s.io/utils/exec"
)

// exec serves `kubectl exec`: the command runs in the container's mount namespace with its env,
// and its exit code goes back to kubectl.
func (p *podRuntime) exec(ctx context.Context, name string, command []string, attach api.AttachIO) error {
	p.mu.Lock()
	var c *container
	for _, cc := range p.containers {
		if cc.spec.Name == name {
			c = cc
		}
	}
	var proc *process
	if c != nil {
		proc = c.proc
	}
	p.mu.Unlock()
	if c == nil {
		return errdefs.NotFoundf("container %s is not in pod %s/%s", name, p.pod.Namespace, p.pod.Name)
	}
	if proc == nil {
		return errdefs.InvalidInputf("container %s of pod %s/%s is not running", name, p.pod.Namespace, p.pod.Name)
	}

	// TODO(berth): a TTY (kubectl exec -t) is not given: the command gets pipes.
	cmd := p.commandInContainer(ctx, c, proc, command)
	if in := attach.Stdin(); in != nil {
		cmd.Stdin = in
	}
	if out := attach.Stdout(); out != nil {
		cmd.Stdout = out
	}
	if errOut := attach.Stderr(); errOut != nil {
		cmd.Stderr = errOut
	}
	if err := p.host.spawner.start(cmd); err != nil {
		return err
	}
	err := cmd.Wait()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return utilexec.CodeExitError{Err: err, Code: exitCode(exitErr.ProcessState)}
	}
	return err
}
