package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// execContainerCommand is the first argument with which the kubelet re-executes itself to
// start a container:
//
//	process-kubelet exec-container '{"mounts":[...],"workingDir":"..."}' -- COMMAND ARGS...
//
// The child is cloned into a new mount namespace (CLONE_NEWNS), so the bind mounts it makes
// for the pod's volumes are seen by the container alone; then it replaces itself with the
// command, keeping its pid, session and parent-death signal.
const execContainerCommand = "exec-container"

type containerMounts struct {
	Mounts     []bindMount `json:"mounts,omitempty"`
	WorkingDir string      `json:"workingDir,omitempty"`
}

type bindMount struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// execContainer runs in the child: it returns only on failure, with the exit code a shell
// gives (126 cannot run, 127 not found), and the reason is in the container's log.
func execContainer(args []string) int {
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "process-kubelet: "+format+"\n", a...)
		return code
	}
	if len(args) < 3 || args[1] != "--" {
		return fail(126, "usage: %s SPEC -- COMMAND [ARGS...]", execContainerCommand)
	}
	var spec containerMounts
	if err := json.Unmarshal([]byte(args[0]), &spec); err != nil {
		return fail(126, "reading the container's mounts: %v", err)
	}
	command := args[2:]

	// Without this, mounts below would propagate back to the host's shared mounts.
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fail(126, "making / private in the container's mount namespace: %v", err)
	}
	for _, m := range spec.Mounts {
		if err := bind(m); err != nil {
			return fail(126, "mounting %s at %s: %v", m.Source, m.Target, err)
		}
	}
	// Without a workingDir a container starts in the image's, most often /.
	dir := spec.WorkingDir
	if dir == "" {
		dir = "/"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(126, "creating workingDir: %v", err)
	}
	if err := os.Chdir(dir); err != nil {
		return fail(126, "entering workingDir: %v", err)
	}
	// PATH is the container's: the kubelet started this child with the container's env.
	path, err := exec.LookPath(command[0])
	if err != nil {
		return fail(127, "%s: command not found in the container's PATH (%s)", command[0], os.Getenv("PATH"))
	}
	err = syscall.Exec(path, command, os.Environ())
	return fail(126, "running %s: %v", path, err)
}

// bind mounts m.Source at m.Target, creating the mount point (a folder, or an empty file for a
// file) as the kubelet does. The mount point is created on the host's filesystem too: only
// what is mounted on it is private to the container.
func bind(m bindMount) error {
	info, err := os.Stat(m.Source)
	if err != nil {
		return err
	}
	if info.IsDir() {
		if err := os.MkdirAll(m.Target, 0o755); err != nil {
			return err
		}
	} else if _, err := os.Stat(m.Target); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(m.Target), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(m.Target, os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		f.Close()
	}
	if err := syscall.Mount(m.Source, m.Target, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return err
	}
	if m.ReadOnly {
		// A bind mount takes read-only only on a remount.
		return syscall.Mount("", m.Target, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, "")
	}
	return nil
}
