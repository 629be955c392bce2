package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// ipPool hands out pod IPs from a /16 of the loopback range, 127.B.0.0/16. Linux routes all of
// 127.0.0.0/8 to the loopback interface, so a pod's server can listen on its own address with
// no network setup. Several process kubelets (one per test cluster) may run on one machine:
// each holds an flock on a file named after its block for its lifetime, so no two pick the
// same block, and the kernel releases the lock if the kubelet dies.
type ipPool struct {
	mu    sync.Mutex
	block int
	lock  *os.File
	used  map[int]bool // host part: 256*third octet + fourth octet
	next  int
}

func newIPPool(lockDir string) (*ipPool, error) {
	if err := os.MkdirAll(lockDir, 0o755); err != nil {
		return nil, err
	}
	for block := 1; block <= 254; block++ {
		f, err := os.OpenFile(filepath.Join(lockDir, fmt.Sprintf("127.%d.lock", block)), os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			continue
		}
		return &ipPool{block: block, lock: f, used: map[int]bool{}, next: 1}, nil
	}
	return nil, errors.New("every loopback block 127.1-254.0.0/16 is held by another process-kubelet")
}

// allocate returns an address no live pod of this kubelet has, preferring ones not handed out
// recently so a deleted pod's address is not reused at once.
func (p *ipPool) allocate() (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range 1 << 16 {
		n := p.next
		p.next = (p.next + 1) % (1 << 16)
		if n%256 == 0 || n%256 == 255 || p.used[n] {
			continue
		}
		p.used[n] = true
		return fmt.Sprintf("127.%d.%d.%d", p.block, n/256, n%256), nil
	}
	return "", fmt.Errorf("no free pod IP left in 127.%d.0.0/16", p.block)
}

func (p *ipPool) release(ip string) {
	var a, b, c, d int
	if _, err := fmt.Sscanf(ip, "%d.%d.%d.%d", &a, &b, &c, &d); err != nil || b != p.block {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.used, c*256+d)
}

func (p *ipPool) close() { p.lock.Close() }
