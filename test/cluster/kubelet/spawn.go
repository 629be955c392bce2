package main

import (
	"os/exec"
	"runtime"
)

// spawner starts every child process from one goroutine locked to one OS thread for the
// kubelet's whole life. The parent-death signal (Pdeathsig) that kills containers when the
// kubelet dies fires when the thread that forked the child exits, not the process: started
// from an arbitrary goroutine's thread, a container could be killed when Go retires that
// thread, or outlive the kubelet.
type spawner struct {
	requests chan spawnRequest
}

type spawnRequest struct {
	cmd  *exec.Cmd
	done chan error
}

func newSpawner() *spawner {
	s := &spawner{requests: make(chan spawnRequest)}
	go func() {
		runtime.LockOSThread() // never unlocked: the thread must live as long as the process
		for r := range s.requests {
			r.done <- r.cmd.Start()
		}
	}()
	return s
}

func (s *spawner) start(cmd *exec.Cmd) error {
	done := make(chan error, 1)
	s.requests <- spawnRequest{cmd: cmd, done: done}
	return <-done
}
