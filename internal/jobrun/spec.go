// Package jobrun is the contract between the local compute, which prepares a job's folder,
// and `berth-runtime run`, which runs the job's command in it. The runtime writes everything
// it knows to files in the folder, so a server that restarts finds the job where it left it.
// This package is part of berth-runtime: it imports no Kubernetes, Helm or server package.
package jobrun

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Names of the files in a job's folder.
const (
	SpecFile    = "run.json"     // RunSpec, written by the server before the runtime starts
	LockFile    = "lock"         // flock held by the runtime for its whole life
	ProcessFile = "runtime.json" // Process, written by the runtime when it starts its children
	ExitFile    = "exit.json"    // ExitStatus, written by the runtime last
	LogFile     = "std_log.txt"  // the job's standard output and error, every process
	RuntimeLog  = "runtime.log"  // the runtime's own output
	WorkDir     = "wd"           // the working directory: the code snapshot and ./outputs
)

// LockFD is the file descriptor on which the runtime receives its lock file: the server
// takes the lock before starting the runtime and hands it over, so there is no moment when
// a live runtime does not hold it.
const LockFD = 3

// RunSpec is what the runtime runs.
type RunSpec struct {
	Job     string `json:"job"`
	Command string `json:"command"`
	WorkDir string `json:"work_dir"`
	// Env is added to every process's environment.
	Env []string `json:"env"`
	// Ranks holds one entry per process to start, each the variables of that process only
	// (RANK, LOCAL_RANK, TF_CONFIG...). Empty means one process.
	Ranks [][]string `json:"ranks,omitempty"`
	// TimeoutSeconds ends the job as timed out after that long; 0 means no limit.
	TimeoutSeconds int `json:"timeout_seconds,omitempty"`
	// GraceSeconds is how long processes get between SIGTERM and SIGKILL.
	GraceSeconds int `json:"grace_seconds"`
	// Notices are written at the top of the job's log.
	Notices []string `json:"notices,omitempty"`
}

// Exit reasons.
const (
	ReasonCompleted = "completed"
	ReasonFailed    = "failed"
	ReasonTimeout   = "timeout"
	ReasonCanceled  = "canceled"
)

// ExitStatus is how the job ended.
type ExitStatus struct {
	Reason   string `json:"reason"`
	ExitCode int    `json:"exit_code"`
	// StderrTail is the last lines the processes wrote to standard error.
	StderrTail []string  `json:"stderr_tail,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	EndedAt    time.Time `json:"ended_at"`
}

// Process identifies a running runtime and the process groups of its children.
type Process struct {
	PID int `json:"pid"`
	// StartTicks is the process's start time in clock ticks since boot (/proc/PID/stat field
	// 22), which tells a live runtime from another process that reused its pid.
	StartTicks uint64 `json:"start_ticks"`
	// Groups are the process groups of the job's processes.
	Groups []int `json:"groups,omitempty"`
}

// WriteJSON writes v to path atomically: readers see the old file or the new one. It does not
// fsync: the files must survive a crash of the server or the runtime, which the page cache
// does, and a power loss ends the job's processes anyway.
func WriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// ReadJSON reads a file written by WriteJSON.
func ReadJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decoding %s: %w", path, err)
	}
	return nil
}
