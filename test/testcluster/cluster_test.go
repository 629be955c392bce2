package testcluster_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"berth/test/testcluster"
)

// TestProcessKubelet proves the process kubelet on a three-node cluster: pods become Ready
// through their probes and answer on their pod IPs, Jobs complete with init containers and
// shared volumes, pods reach the API server with their service account, the scheduler spreads
// pods over the nodes, and deleting a pod or stopping the cluster leaves no process behind.
func TestProcessKubelet(t *testing.T) {
	c := testcluster.Start(t, 3)

	var survivors []int // processes stopping the cluster must kill
	t.Run("pods", func(t *testing.T) {
		t.Run("DeploymentIsReadyAndServesOnItsPodIP", func(t *testing.T) {
			t.Parallel()
			testDeployment(t, c)
		})
		t.Run("JobRunsInitContainerSharingAnEmptyDir", func(t *testing.T) {
			t.Parallel()
			testJob(t, c)
		})
		t.Run("PodCallsTheAPIServerWithItsServiceAccountToken", func(t *testing.T) {
			t.Parallel()
			testServiceAccount(t, c)
		})
		t.Run("AntiAffinityPutsOneReplicaOnEachNode", func(t *testing.T) {
			t.Parallel()
			survivors = testAntiAffinity(t, c)
		})
		t.Run("DeletingAPodKillsItsProcesses", func(t *testing.T) {
			t.Parallel()
			testDelete(t, c)
		})
	})

	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range survivors {
		if alive(pid) {
			t.Errorf("process %d of a pod still runs after the cluster stopped", pid)
		}
	}
}

func testDeployment(t *testing.T, c *testcluster.Cluster) {
	c.Apply(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: python:3.11
        command: [python3, -c]
        args:
        - |
          import http.server, os
          class Hello(http.server.BaseHTTPRequestHandler):
              def do_GET(self):
                  self.send_response(200)
                  self.end_headers()
                  self.wfile.write(("hello from " + os.environ["POD_NAME"]).encode())
          http.server.HTTPServer((os.environ["POD_IP"], 8080), Hello).serve_forever()
        env:
        - name: POD_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /, port: http}
          periodSeconds: 1
`)
	c.Kubectl(t, "rollout", "status", "deployment/web", "--timeout=60s")
	pod := c.Kubectl(t, "get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}")
	ip := c.Kubectl(t, "get", "pod", pod, "-o", "jsonpath={.status.podIP}")
	if !strings.HasPrefix(ip, "127.") || ip == "127.0.0.1" {
		t.Fatalf("pod IP %q: want a loopback address of the pod's own", ip)
	}
	ready := c.Kubectl(t, "get", "pod", pod, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
	if ready != "True" {
		t.Fatalf("pod %s Ready = %q after the rollout", pod, ready)
	}

	resp, err := http.Get("http://" + ip + ":8080/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := "hello from " + pod; string(body) != want {
		t.Errorf("GET %s:8080 = %q, want %q", ip, body, want)
	}

	// kubectl exec runs in the container's mount namespace, where the service account's
	// volume is mounted.
	ns := c.Kubectl(t, "exec", pod, "--", "cat", "/var/run/secrets/kubernetes.io/serviceaccount/namespace")
	if ns != "default" {
		t.Errorf("kubectl exec cat .../namespace = %q, want default", ns)
	}
}

func testJob(t *testing.T, c *testcluster.Cluster) {
	c.Apply(t, `
apiVersion: batch/v1
kind: Job
metadata: {name: hello}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      volumes: [{name: work, emptyDir: {}}]
      initContainers:
      - name: write
        image: busybox
        command: [sh, -c, 'echo "written by the init container" > /mnt/berth-test/work/message']
        volumeMounts: [{name: work, mountPath: /mnt/berth-test/work}]
      containers:
      - name: read
        image: busybox
        workingDir: /mnt/berth-test/work
        command: [sh, -c, 'cat message; echo "job $(JOB) ran in $(pwd)"']
        env: [{name: JOB, value: hello}]
        volumeMounts: [{name: work, mountPath: /mnt/berth-test/work}]
`)
	c.Kubectl(t, "wait", "--for=condition=complete", "job/hello", "--timeout=60s")
	logs := c.Kubectl(t, "logs", "job/hello")
	want := "written by the init container\njob hello ran in /mnt/berth-test/work\n"
	if logs != want {
		t.Errorf("kubectl logs job/hello = %q, want %q", logs, want)
	}
	if tail := c.Kubectl(t, "logs", "job/hello", "--tail=1"); tail != "job hello ran in /mnt/berth-test/work\n" {
		t.Errorf("kubectl logs --tail=1 = %q", tail)
	}
}

func testServiceAccount(t *testing.T, c *testcluster.Cluster) {
	c.Apply(t, `
apiVersion: v1
kind: Pod
metadata: {name: api-caller}
spec:
  restartPolicy: Never
  containers:
  - name: call
    image: python:3.11
    command: [python3, -c]
    args:
    - |
      import json, os, ssl, urllib.request
      d = "/var/run/secrets/kubernetes.io/serviceaccount"
      token = open(d + "/token").read()
      ctx = ssl.create_default_context(cafile=d + "/ca.crt")
      base = "https://%s:%s" % (os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"])
      review = json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}).encode()
      req = urllib.request.Request(base + "/apis/authentication.k8s.io/v1/selfsubjectreviews", data=review,
          headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
      answer = json.load(urllib.request.urlopen(req, context=ctx))
      print("namespace", open(d + "/namespace").read(), "user", answer["status"]["userInfo"]["username"])
`)
	waitPhase(t, c, "api-caller", "Succeeded")
	logs := c.Kubectl(t, "logs", "api-caller")
	if want := "namespace default user system:serviceaccount:default:default\n"; logs != want {
		t.Errorf("the pod printed %q, want %q", logs, want)
	}
}

// testAntiAffinity returns the pids of the replicas, which outlive this test.
func testAntiAffinity(t *testing.T, c *testcluster.Cluster) []int {
	c.Apply(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: spread}
spec:
  replicas: 3
  selector: {matchLabels: {app: spread}}
  template:
    metadata: {labels: {app: spread}}
    spec:
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector: {matchLabels: {app: spread}}
            topologyKey: kubernetes.io/hostname
      containers:
      - name: sleep
        image: busybox
        command: [sleep, "3600"]
`)
	c.Kubectl(t, "rollout", "status", "deployment/spread", "--timeout=60s")
	out := c.Kubectl(t, "get", "pods", "-l", "app=spread", "-o",
		`jsonpath={range .items[*]}{.spec.nodeName} {.status.containerStatuses[0].containerID}{"\n"}{end}`)
	nodes := map[string]bool{}
	var pids []int
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		node, id, _ := strings.Cut(line, " ")
		nodes[node] = true
		pids = append(pids, pidOf(t, id))
	}
	if len(nodes) != 3 {
		t.Errorf("replicas landed on %v, want one on each of the 3 nodes:\n%s", nodes, out)
	}
	return pids
}

func testDelete(t *testing.T, c *testcluster.Cluster) {
	c.Apply(t, `
apiVersion: v1
kind: Pod
metadata: {name: doomed}
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: main
    image: busybox
    command: [sh, -c, 'sleep 1000 & echo "child $!"; exec sleep 1001']
`)
	c.Kubectl(t, "wait", "--for=condition=Ready", "pod/doomed", "--timeout=60s")
	main := pidOf(t, c.Kubectl(t, "get", "pod", "doomed", "-o", "jsonpath={.status.containerStatuses[0].containerID}"))
	var child int
	deadline := time.Now().Add(10 * time.Second)
	for child == 0 && time.Now().Before(deadline) {
		fmt.Sscanf(c.Kubectl(t, "logs", "doomed"), "child %d", &child)
		time.Sleep(100 * time.Millisecond)
	}
	for _, pid := range []int{main, child} {
		if !alive(pid) {
			t.Fatalf("process %d of pod doomed does not run (main %d, child %d)", pid, main, child)
		}
	}

	began := time.Now()
	c.Kubectl(t, "delete", "pod", "doomed", "--timeout=30s")
	t.Logf("pod deleted in %s", time.Since(began).Round(time.Millisecond))
	for _, pid := range []int{main, child} {
		if alive(pid) {
			t.Errorf("process %d of pod doomed still runs after its deletion", pid)
		}
	}
}

// waitPhase waits up to a minute for the pod to reach the phase, failing at once if it ends
// in another.
func waitPhase(t *testing.T, c *testcluster.Cluster, pod, want string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		phase, err := c.KubectlE(ctx, "", "get", "pod", pod, "-o", "jsonpath={.status.phase}")
		cancel()
		switch {
		case err == nil && phase == want:
			return
		case err == nil && (phase == "Succeeded" || phase == "Failed"):
			logs, _ := c.KubectlE(context.Background(), "", "logs", pod)
			t.Fatalf("pod %s ended %s, want %s; its logs:\n%s", pod, phase, want, logs)
		case time.Now().After(deadline):
			t.Fatalf("pod %s is %q after a minute, want %s (err %v)", pod, phase, want, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// pidOf reads the pid from a container ID the process kubelet writes: process://<pid>.
func pidOf(t *testing.T, containerID string) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(containerID), "process://"))
	if err != nil {
		t.Fatalf("container ID %q: want process://<pid>", containerID)
	}
	return pid
}

// alive reports whether the process exists and is not a zombie waiting to be reaped.
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses and may hold spaces.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}
