package e2e

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "berth/api/v1"
	"berth/internal/agent"
	"berth/internal/client"
	"berth/internal/kube"
	"berth/test/testcluster"
)

// TestAgentKilledWhileInstallingConverges kills the agent's pod as soon as the extension's
// first objects appear, while its release is being installed: the new agent finishes the
// install, and no object exists twice.
func TestAgentKilledWhileInstallingConverges(t *testing.T) {
	env := connectCluster(t, 1)
	ctx := context.Background()
	before, err := env.kc.CoreV1().Pods("berth").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=berth-agent"})
	if err != nil || len(before.Items) != 1 {
		t.Fatalf("agent pods: %v %v", before, err)
	}
	env.extensionCmd("create", "--name", "ml", "--extension-type", "berth.ml", "--scope", "cluster",
		"--config", "enableTraining=True", "enableInference=True", "allowInsecureConnections=True")
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := env.kc.CoreV1().ServiceAccounts("berth").Get(ctx, "berth-operator", metav1.GetOptions{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the install never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	env.cluster.Kubectl(t, "-n", "berth", "delete", "pod", before.Items[0].Name, "--grace-period=0", "--force")

	ext := env.waitInstalled("ml")
	if ext.AppliedGeneration != 1 {
		t.Errorf("applied generation %d", ext.AppliedGeneration)
	}
	after, err := env.kc.CoreV1().Pods("berth").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=berth-agent"})
	if err != nil || len(after.Items) != 1 || after.Items[0].Name == before.Items[0].Name {
		t.Errorf("agent pods after the kill: %v %v", after, err)
	}
	for _, component := range []string{"operator", "router"} {
		pods, err := env.kc.CoreV1().Pods("berth").List(ctx, metav1.ListOptions{LabelSelector: "berth.dev/component=" + component})
		if err != nil || len(pods.Items) != 1 {
			t.Errorf("%s pods: %d, want 1 (%v)", component, len(pods.Items), err)
		}
	}
	deps, err := env.kc.AppsV1().Deployments("berth").List(ctx, metav1.ListOptions{})
	if err != nil || len(deps.Items) != 3 {
		t.Errorf("deployments: %d, want the agent's, the operator's and the router's (%v)", len(deps.Items), err)
	}
}

// TestAgentBacksOffWhileServerIsAway runs the agent in the test, with its waits recorded
// rather than slept, and stops the server for what the agent counts as over a minute: the
// agent backs off, reconnects when the server is back, and the server's state is whole.
func TestAgentBacksOffWhileServerIsAway(t *testing.T) {
	cl := testcluster.Start(t, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ws := startServer(t, "--listen", addr, "--tls-self-signed", "--agent-report-interval", "1s")
	api := ws.client()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	created, err := api.CreateCluster(ctx, v1.ClusterRequest{Name: "c1", ClusterType: v1.ClusterTypeConnected})
	if err != nil {
		t.Fatal(err)
	}
	_, err = api.CreateExtension(ctx, "c1", "ml", v1.ExtensionRequest{ExtensionType: v1.ExtensionType, Scope: "cluster",
		ConfigurationSettings: map[string]string{"enableTraining": "True"}})
	if err != nil {
		t.Fatal(err)
	}

	kc, err := kube.Connect(cl.Kubeconfig, "")
	if err != nil {
		t.Fatal(err)
	}
	hc, err := client.HTTPClientWithCA(created.ServerCA)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var waits []time.Duration
	reconnected := make(chan struct{}, 1)
	a := &agent.Agent{
		Server: &client.Client{BaseURL: created.ServerURL, Token: created.AgentToken, HTTP: hc},
		Kube:   kc.Clientset, Namespace: "berth", HostBinary: filepath.Join(binDir, "berth"),
		Interval: 200 * time.Millisecond, Log: slog.New(slog.NewTextHandler(os.Stderr, nil)),
		Releases: func(ns string) (agent.Releases, error) { return kc.Releaser(ns, slog.Default()) },
		Backoff: func(n int) time.Duration {
			d := agent.Backoff(n)
			mu.Lock()
			waits = append(waits, d)
			mu.Unlock()
			return d
		},
		// Backoffs are recorded, not slept: the test needs no real minute.
		Sleep: func(ctx context.Context, d time.Duration) error {
			return agent.Sleep(ctx, min(d, 200*time.Millisecond))
		},
		Connected: func() {
			select {
			case reconnected <- struct{}{}:
			default:
			}
		},
	}
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitExtension(t, api, v1.InstallInstalled, 1)

	ws.stop(syscall.SIGTERM)
	away := func() time.Duration {
		mu.Lock()
		defer mu.Unlock()
		var sum time.Duration
		for _, w := range waits {
			sum += w
		}
		return sum
	}
	for deadline := time.Now().Add(time.Minute); away() < time.Minute; {
		if time.Now().After(deadline) {
			t.Fatalf("the agent backed off only %s in a minute of real time: %v", away(), waits)
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	for i, w := range waits {
		ceiling := min(time.Second<<min(i, 6), time.Minute)
		if w < ceiling/2 || w > ceiling {
			t.Errorf("wait %d was %s, want between %s and %s", i+1, w, ceiling/2, ceiling)
		}
	}
	mu.Unlock()
	// The extension kept running while the server was away.
	pods, err := kc.Clientset.CoreV1().Pods("berth").List(ctx, metav1.ListOptions{LabelSelector: "berth.dev/component=operator"})
	if err != nil || len(pods.Items) != 1 || pods.Items[0].Status.Phase != "Running" {
		t.Errorf("operator while the server was away: %v %v", pods, err)
	}

	<-reconnected // drain the first connection's signal
	// The server comes back advertising a new host: it serves a new certificate from the CA
	// the agent pinned, so the agent reconnects without being installed again.
	certBefore, _ := os.ReadFile(filepath.Join(ws.home, "tls", "server.crt"))
	_, port, _ := net.SplitHostPort(addr)
	ws.args = append(ws.args, "--advertise-url", "https://berth-moved.example.com:"+port)
	ws.start()
	if certAfter, _ := os.ReadFile(filepath.Join(ws.home, "tls", "server.crt")); bytes.Equal(certBefore, certAfter) {
		t.Errorf("a new advertised host did not give a new certificate")
	}
	select {
	case <-reconnected:
	case <-time.After(30 * time.Second):
		t.Fatal("the agent did not reconnect")
	}
	api = ws.client()
	c, err := api.GetCluster(ctx, "c1")
	if err != nil || c.ConnectivityStatus != v1.ClusterConnected {
		t.Fatalf("cluster after reconnecting: %+v %v", c, err)
	}
	// Work asked for after the outage is done.
	if _, err := api.UpdateExtension(ctx, "c1", "ml", v1.ExtensionRequest{ConfigurationSettings: map[string]string{
		"enableInference": "True", "allowInsecureConnections": "True"}}); err != nil {
		t.Fatal(err)
	}
	ext := waitExtension(t, api, v1.InstallInstalled, 2)
	if !strings.Contains(ext.ConfigurationSettings["enableInference"], "True") {
		t.Errorf("settings after update: %v", ext.ConfigurationSettings)
	}
}

// waitExtension waits until extension ml of c1 is in state with generation applied.
func waitExtension(t *testing.T, api *client.Client, state string, generation int64) *v1.Extension {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ext, err := api.GetExtension(context.Background(), "c1", "ml")
		if err == nil && ext.InstallState == state && ext.AppliedGeneration == generation {
			return ext
		}
		if time.Now().After(deadline) {
			t.Fatalf("extension not %s at generation %d: %+v %v", state, generation, ext, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
