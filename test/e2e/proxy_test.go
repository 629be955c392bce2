package e2e

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	v1 "berth/api/v1"
	"berth/test/testcluster"
)

// connectProxy is an HTTP proxy that serves CONNECT only, as corporate egress proxies do for
// HTTPS. It resolves the names in hosts itself (the test machine's resolver does not know
// them), and records every target it was asked for.
type connectProxy struct {
	hosts map[string]string // name to address

	mu      sync.Mutex
	targets []string
}

func (p *connectProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "this proxy serves CONNECT only", http.StatusMethodNotAllowed)
		return
	}
	p.mu.Lock()
	p.targets = append(p.targets, r.Host)
	p.mu.Unlock()
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if addr, ok := p.hosts[host]; ok {
		host = addr
	}
	upstream, err := net.Dial("tcp", net.JoinHostPort(host, port))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.WriteHeader(http.StatusOK)
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	go func() {
		io.Copy(upstream, buf)
		upstream.Close()
	}()
	io.Copy(conn, upstream)
	conn.Close()
}

func (p *connectProxy) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.targets)
}

// TestAgentDialsThroughHTTPSProxy advertises the server under a name only the proxy can
// resolve: the agent, connected with --proxy-https, reports through the proxy, and the
// cluster is Connected.
func TestAgentDialsThroughHTTPSProxy(t *testing.T) {
	cl := testcluster.Start(t, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	const serverName = "berth-server.invalid"
	ws := startServer(t, "--listen", "127.0.0.1:"+port, "--tls-self-signed", "--agent-report-interval", "1s",
		"--advertise-url", "https://"+serverName+":"+port)

	proxy := &connectProxy{hosts: map[string]string{serverName: "127.0.0.1"}}
	pln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ps := &http.Server{Handler: proxy}
	go ps.Serve(pln)
	t.Cleanup(func() { ps.Close() })

	dir := t.TempDir()
	r := ws.mustBerth(dir, "cluster", "connect", "--name", "c1", "--kubeconfig", cl.Kubeconfig,
		"--host-binary", filepath.Join(binDir, "berth"), "--report-interval", "1s",
		"--proxy-https", "http://"+pln.Addr().String())
	var c v1.Cluster
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil || c.ConnectivityStatus != v1.ClusterConnected {
		t.Fatalf("cluster connect printed %q (%v); want it Connected", r.stdout, err)
	}
	want := net.JoinHostPort(serverName, port)
	if seen := proxy.seen(); !slices.Contains(seen, want) {
		t.Errorf("the proxy was asked for %v; want CONNECT %s", seen, want)
	}
}
