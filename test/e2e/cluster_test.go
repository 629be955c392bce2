package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	v1 "berth/api/v1"
	"berth/test/testcluster"
)

// kubeEnv is a test cluster with a workspace connected to it.
type kubeEnv struct {
	t       *testing.T
	ws      *workspace
	cluster *testcluster.Cluster
	kc      kubernetes.Interface
	dir     string // holds the PEM files the commands name
}

// connectCluster starts a test cluster of nodes process nodes and a workspace server over
// self-signed HTTPS, and connects the cluster as c1 in resource group rg1.
func connectCluster(t *testing.T, nodes int) *kubeEnv {
	t.Helper()
	cl := testcluster.Start(t, nodes)
	ws := startServer(t, "--tls-self-signed", "--agent-report-interval", "1s")
	cfg, err := clientcmd.BuildConfigFromFlags("", cl.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	env := &kubeEnv{t: t, ws: ws, cluster: cl, kc: kubernetes.NewForConfigOrDie(cfg), dir: t.TempDir()}
	r := ws.mustBerth(env.dir, "cluster", "connect", "--name", "c1", "--kubeconfig", cl.Kubeconfig,
		"--host-binary", filepath.Join(binDir, "berth"), "--report-interval", "1s", "-g", "rg1")
	var c v1.Cluster
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil {
		t.Fatalf("cluster connect printed %q: %v", r.stdout, err)
	}
	if c.ConnectivityStatus != v1.ClusterConnected || c.TotalNodeCount != nodes || c.ResourceGroup != "rg1" {
		t.Fatalf("connected cluster: %+v", c)
	}
	env.writeCert("cert.pem", "key.pem", time.Now().Add(24*time.Hour))
	return env
}

// writeCert writes a self-signed certificate valid until notAfter, and its key.
func (e *kubeEnv) writeCert(certName, keyName string, notAfter time.Time) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		e.t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ml.example.com"},
		DNSNames: []string{"ml.example.com"}, NotBefore: notAfter.Add(-48 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		e.t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		e.t.Fatal(err)
	}
	os.WriteFile(filepath.Join(e.dir, certName), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(filepath.Join(e.dir, keyName), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
}

// seedCommand turns one of the seed's az commands into berth's arguments, with the
// placeholders filled in: the cluster c1, resource group rg1, and the PEM files.
func seedCommand(cmd string) []string {
	r := strings.NewReplacer("az k8s-extension", "k8s-extension",
		"<your-connected-cluster-name>", "c1", "<resource-group>", "rg1",
		"<path-to-the-SSL-cert-PEM-ile>", "cert.pem", "<path-to-the-SSL-key-PEM-file>", "key.pem")
	return strings.Fields(r.Replace(cmd))
}

// extension returns the extension as `k8s-extension show` prints it.
func (e *kubeEnv) extension(name string) (*v1.Extension, result) {
	r := e.ws.berth(e.dir, "k8s-extension", "show", "--name", name, "--cluster-type", "connectedClusters", "--cluster-name", "c1", "-g", "rg1")
	if r.code != 0 {
		return nil, r
	}
	var ext v1.Extension
	if err := json.Unmarshal([]byte(r.stdout), &ext); err != nil {
		e.t.Fatalf("k8s-extension show printed %q: %v", r.stdout, err)
	}
	return &ext, r
}

// waitInstalled waits until the extension is Installed, failing on Failed.
func (e *kubeEnv) waitInstalled(name string) *v1.Extension {
	e.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		ext, r := e.extension(name)
		if ext == nil {
			e.t.Fatalf("k8s-extension show: exit %d: %s", r.code, r.stderr)
		}
		switch {
		case ext.InstallState == v1.InstallInstalled && ext.AppliedGeneration == ext.Generation:
			return ext
		case ext.InstallState == v1.InstallFailed:
			e.t.Fatalf("extension %s failed: %s\n%s", name, r.stdout, e.agentLog())
		case time.Now().After(deadline):
			e.t.Fatalf("extension %s not Installed after 3 minutes: %s\n%s", name, r.stdout, e.agentLog())
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// agentLog is the agent's log, for failure messages.
func (e *kubeEnv) agentLog() string {
	out, _ := e.cluster.KubectlE(context.Background(), "", "-n", "berth", "logs", "deploy/berth-agent", "--tail", "40")
	return "agent log:\n" + out
}

// releaseObjects lists the kinds and names of the objects of one extension's release that
// exist in the cluster.
func (e *kubeEnv) releaseObjects(release string) []string {
	e.t.Helper()
	ctx := context.Background()
	sel := metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=" + release}
	var objs []string
	deps, err := e.kc.AppsV1().Deployments("berth").List(ctx, sel)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, d := range deps.Items {
		objs = append(objs, fmt.Sprintf("Deployment/%s:%d", d.Name, *d.Spec.Replicas))
	}
	sets, _ := e.kc.AppsV1().DaemonSets("berth").List(ctx, sel)
	for _, d := range sets.Items {
		objs = append(objs, "DaemonSet/"+d.Name)
	}
	svcs, _ := e.kc.CoreV1().Services("berth").List(ctx, sel)
	for _, s := range svcs.Items {
		internal := ""
		if s.Annotations["service.beta.kubernetes.io/azure-load-balancer-internal"] == "true" {
			internal = ":internal"
		}
		objs = append(objs, "Service/"+s.Name+":"+string(s.Spec.Type)+internal)
	}
	secrets, _ := e.kc.CoreV1().Secrets("berth").List(ctx, sel)
	for _, s := range secrets.Items {
		objs = append(objs, "Secret/"+s.Name)
	}
	slices.Sort(objs)
	return objs
}

// podsRunning checks that every pod of namespace berth is Running, as the seed's
// `kubectl get pods -n azureml` check does.
func (e *kubeEnv) podsRunning() {
	e.t.Helper()
	pods, err := e.kc.CoreV1().Pods("berth").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodRunning && p.DeletionTimestamp == nil {
			e.t.Errorf("pod %s is %s, not Running", p.Name, p.Status.Phase)
		}
	}
}

// deleteExtension deletes an extension and checks that nothing of it stays behind.
func (e *kubeEnv) deleteExtension(name string) {
	e.t.Helper()
	e.ws.mustBerth(e.dir, "k8s-extension", "delete", "--name", name, "--cluster-type", "connectedClusters", "--cluster-name", "c1", "-g", "rg1", "--yes")
	waitFor(e.t, func() bool { return len(e.releaseObjects(name)) == 0 })
	crds := e.cluster.Kubectl(e.t, "get", "crd", "-o", "name")
	if strings.Contains(crds, "berth.dev") || strings.Contains(crds, "amlarc") {
		e.t.Errorf("CRDs left after delete:\n%s", crds)
	}
}

// TestSeedExtensionCommands runs each of the seed's `az k8s-extension create` commands with
// az replaced by berth on a three-node test cluster: each ends Installed with the objects of
// its scenario, or fails validation with the expected message, and so do the corrected
// versions of the two commands validation refuses.
func TestSeedExtensionCommands(t *testing.T) {
	env := connectCluster(t, 3)
	router3 := []string{"Deployment/berth-operator:1", "Deployment/berth-router:3", "Secret/berth-router-tls"}
	cases := []struct {
		name    string
		command string
		want    []string // objects of the release, besides the operator
		code    int
		stderr  string
	}{{
		name:    "training",
		command: `az k8s-extension create --name arcml-extension --extension-type Microsoft.AzureML.Kubernetes --config enableTraining=True --cluster-type connectedClusters --cluster-name <your-connected-cluster-name> --resource-group <resource-group> --scope cluster`,
		want:    []string{"DaemonSet/nvidia-device-plugin", "Deployment/berth-operator:1"},
	}, {
		name:    "inference over HTTPS",
		command: `az k8s-extension create --name arcml-extension --extension-type Microsoft.AzureML.Kubernetes --cluster-type connectedClusters --cluster-name <your-connected-cluster-name> --config enableInference=True --config-protected sslCertPemFile=<path-to-the-SSL-cert-PEM-ile> sslKeyPemFile=<path-to-the-SSL-key-PEM-file> --resource-group <resource-group> --scope cluster`,
		want:    append([]string{"DaemonSet/nvidia-device-plugin", "Service/berth-router:LoadBalancer"}, router3...),
	}, {
		name:    "inference over HTTP",
		command: `az k8s-extension create --name arcml-extension --extension-type Microsoft.AzureML.Kubernetes --cluster-type connectedClusters --cluster-name <your-connected-cluster-name>  --configuration-settings enableInference=True allowInsecureConnections=True --resource-group <resource-group> --scope cluster`,
		want:    []string{"DaemonSet/nvidia-device-plugin", "Deployment/berth-operator:1", "Deployment/berth-router:3", "Service/berth-router:LoadBalancer"},
	}, {
		name:    "internal load balancer over HTTPS",
		command: `az k8s-extension create --name amlarc-compute --extension-type Microsoft.AzureML.Kubernetes --cluster-type connectedClusters --cluster-name <your-connected-cluster-name> --config enableInference=True privateEndpointILB=True --config-protected sslCertPemFile=<path-to-the-SSL-cert-PEM-ile> sslKeyPemFile=<path-to-the-SSL-key-PEM-file> --resource-group <resource-group> --scope cluster`,
		want:    append([]string{"DaemonSet/nvidia-device-plugin", "Service/berth-router:LoadBalancer:internal"}, router3...),
	}, {
		name:    "internal load balancer over HTTP",
		command: `az k8s-extension create --name arcml-extension --extension-type Microsoft.AzureML.Kubernetes --cluster-type connectedClusters --cluster-name <your-connected-cluster-name> --config enableInference=True privateEndpointILB=True allowInsecureConnections=True --resource-group <resource-group> --scope cluster`,
		want:    []string{"DaemonSet/nvidia-device-plugin", "Deployment/berth-operator:1", "Deployment/berth-router:3", "Service/berth-router:LoadBalancer:internal"},
	}, {
		name:    "NodePort over HTTPS",
		command: `az k8s-extension create --name arcml-extension --extension-type Microsoft.AzureML.Kubernetes --cluster-type connectedClusters --cluster-name <your-connected-cluster-name> --resource-group <resource-group> --scope cluster --config enableInference=True privateEndpointNodeport=True --config-protected sslCertPemFile=<path-to-the-SSL-cert-PEM-ile> sslKeyPemFile=<path-to-the-SSL-key-PEM-file>`,
		want:    append([]string{"DaemonSet/nvidia-device-plugin", "Service/berth-router:NodePort"}, router3...),
	}, {
		name:    "NodePort over HTTP, as the seed writes it",
		command: `az k8s-extension create --name arcml-extension --extension-type Microsoft.AzureML.Kubernetes --cluster-type connectedClusters --cluster-name <your-connected-cluster-name> --config enableInference=True privateEndpointNodeport=True allowInsecureConnections=Ture --resource-group <resource-group> --scope cluster`,
		code:    2,
		stderr:  "ERROR: invalid extension settings:\nallowInsecureConnections: \"Ture\" is not a boolean; did you mean True? Use True or False.\n",
	}, {
		name:    "NodePort over HTTP, corrected",
		command: `az k8s-extension create --name arcml-extension --extension-type Microsoft.AzureML.Kubernetes --cluster-type connectedClusters --cluster-name <your-connected-cluster-name> --config enableInference=True privateEndpointNodeport=True allowInsecureConnections=True --resource-group <resource-group> --scope cluster`,
		want:    []string{"DaemonSet/nvidia-device-plugin", "Deployment/berth-operator:1", "Deployment/berth-router:3", "Service/berth-router:NodePort"},
	}, {
		name:    "training and inference, as the seed writes it",
		command: `az k8s-extension create --name arcml-extension --extension-type Microsoft.AzureML.Kubernetes --cluster-type connectedClusters --cluster-name <your-connected-cluster-name> --config enableTraining=True enableInference=True --config-protected sslCertPemFile=<path-to-the-SSL-cert-PEM-ile> sslKeyPemFile=<path-to-the-SSL-key-PEM-file>--resource-group <resource-group> --scope cluster`,
		code:    2,
		stderr:  "ERROR: --config-protected: \"rg1\" is not key=value; write settings as key=value, such as enableTraining=True.\nsslKeyPemFile: file \"key.pem--resource-group\" does not exist; a flag seems glued to the path: put a space before --resource-group\n",
	}, {
		name:    "training and inference, corrected",
		command: `az k8s-extension create --name arcml-extension --extension-type Microsoft.AzureML.Kubernetes --cluster-type connectedClusters --cluster-name <your-connected-cluster-name> --config enableTraining=True enableInference=True --config-protected sslCertPemFile=<path-to-the-SSL-cert-PEM-ile> sslKeyPemFile=<path-to-the-SSL-key-PEM-file> --resource-group <resource-group> --scope cluster`,
		want:    append([]string{"DaemonSet/nvidia-device-plugin", "Service/berth-router:LoadBalancer"}, router3...),
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env.t = t
			args := seedCommand(tc.command)
			name := args[slices.Index(args, "--name")+1]
			began := time.Now()
			r := env.ws.berth(env.dir, args...)
			if tc.code != 0 {
				if r.code != tc.code || r.stderr != tc.stderr {
					t.Fatalf("exit %d, want %d; stderr:\n%s\nwant:\n%s", r.code, tc.code, r.stderr, tc.stderr)
				}
				if objs := env.releaseObjects(name); len(objs) > 0 {
					t.Errorf("refused command left objects: %v", objs)
				}
				return
			}
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			var created v1.Extension
			if err := json.Unmarshal([]byte(r.stdout), &created); err != nil {
				t.Fatal(err)
			}
			if created.InstallState != v1.InstallPending || created.Scope != "cluster" || created.ReleaseNamespace != "berth" {
				t.Errorf("create printed %+v", created)
			}
			ext := env.waitInstalled(name)
			// BENCHMARKS.md reports this figure.
			t.Logf("create to Installed: %s", time.Since(began).Round(10*time.Millisecond))
			for _, c := range ext.Components {
				if !c.Ready {
					t.Errorf("component %s %s not ready: %s", c.Kind, c.Name, c.Message)
				}
			}
			slices.Sort(tc.want)
			if diff := cmp.Diff(tc.want, env.releaseObjects(name)); diff != "" {
				t.Errorf("objects of the release (-want +got):\n%s", diff)
			}
			env.podsRunning()
			// The operator runs for real: it keeps the default instance type.
			waitFor(t, func() bool {
				_, err := env.cluster.KubectlE(context.Background(), "", "-n", "berth", "get", "instancetype", "defaultinstancetype")
				return err == nil
			})
			env.deleteExtension(name)
		})
	}
}

// extensionCmd runs a k8s-extension command on cluster c1 with extra arguments.
func (e *kubeEnv) extensionCmd(verb string, args ...string) result {
	e.t.Helper()
	base := []string{"k8s-extension", verb, "--cluster-type", "connectedClusters", "--cluster-name", "c1", "-g", "rg1"}
	return e.ws.berth(e.dir, append(base, args...)...)
}

// TestExtensionLifecycleOnCluster covers what the seed's commands do not: bad input refused
// with nothing installed, the HA fallback on a nodeSelector with one node, updates in place,
// and disconnecting the cluster.
func TestExtensionLifecycleOnCluster(t *testing.T) {
	env := connectCluster(t, 3)
	env.writeCert("old-cert.pem", "old-key.pem", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	env.writeCert("other-cert.pem", "other-key.pem", time.Now().Add(24*time.Hour))

	t.Run("bad input is refused and nothing is installed", func(t *testing.T) {
		env.t = t
		create := []string{"--name", "ml", "--extension-type", "berth.ml", "--scope", "cluster"}
		cases := []struct {
			name   string
			args   []string
			code   int
			stderr string
		}{{
			name:   "the seed table's ssKeyPMFile",
			args:   []string{"--config", "enableInference=True", "--config-protected", "sslCertPemFile=cert.pem", "ssKeyPMFile=key.pem"},
			code:   2,
			stderr: "ERROR: invalid extension settings:\nssKeyPMFile: unknown setting; did you mean sslKeyPemFile?\n",
		}, {
			name:   "NodePort and internal load balancer",
			args:   []string{"--config", "enableInference=True", "privateEndpointNodeport=True", "privateEndpointILB=True", "allowInsecureConnections=True"},
			code:   2,
			stderr: "ERROR: invalid extension settings:\nprivateEndpointILB: an internal load balancer and NodePort (privateEndpointNodeport=True) exclude each other; keep one of them.\n",
		}, {
			name:   "--config and --configuration-settings add up",
			args:   []string{"--config", "enableInference=True", "privateEndpointNodeport=True", "--configuration-settings", "privateEndpointILB=True", "allowInsecureConnections=True"},
			code:   2,
			stderr: "ERROR: invalid extension settings:\nprivateEndpointILB: an internal load balancer and NodePort (privateEndpointNodeport=True) exclude each other; keep one of them.\n",
		}, {
			name:   "inference with neither TLS nor HTTP allowed",
			args:   []string{"--config", "enableInference=True"},
			code:   2,
			stderr: "ERROR: invalid extension settings:\nenableInference: inference needs TLS: pass sslCertPemFile and sslKeyPemFile with --config-protected or set sslSecret; or set allowInsecureConnections=True to allow HTTP.\n",
		}, {
			name:   "a key that does not match its certificate",
			args:   []string{"--config", "enableInference=True", "--config-protected", "sslCertPemFile=cert.pem", "sslKeyPemFile=other-key.pem"},
			code:   2,
			stderr: "ERROR: invalid extension settings:\nsslKeyPemFile: the private key does not match the certificate in sslCertPemFile; give the key the certificate was issued for.\n",
		}, {
			name:   "an expired certificate",
			args:   []string{"--config", "enableInference=True", "--config-protected", "sslCertPemFile=old-cert.pem", "sslKeyPemFile=old-key.pem"},
			code:   2,
			stderr: "ERROR: invalid extension settings:\nsslCertPemFile: the certificate expired at 2026-01-01T00:00:00Z; renew it.\n",
		}, {
			name:   "a wrongly cased key",
			args:   []string{"--config", "EnableTraining=True"},
			code:   2,
			stderr: "ERROR: invalid extension settings:\nEnableTraining: unknown setting; did you mean enableTraining? Setting names are case-sensitive.\n",
		}, {
			name:   "explicit HA with one eligible node",
			args:   []string{"--config", "enableInference=True", "allowInsecureConnections=True", "inferenceRouterHA=True", "nodeSelector.kubernetes.io/hostname=berth-node-0"},
			code:   2,
			stderr: "ERROR: invalid extension settings:\ninferenceRouterHA: True needs 3 eligible nodes for the router's replicas, but the cluster has only 1 (berth-node-0); set inferenceRouterHA=False or add nodes.\n",
		}, {
			name:   "a release namespace of Kubernetes",
			args:   []string{"--config", "enableTraining=True", "--release-namespace", "kube-system"},
			code:   2,
			stderr: "ERROR: release namespace \"kube-system\" belongs to Kubernetes; leave --release-namespace out (berth) or name a namespace of the extension's own\n",
		}, {
			name:   "scope namespace",
			args:   []string{"--config", "enableTraining=True", "--scope", "namespace"},
			code:   2,
			stderr: "ERROR: scope namespace is not supported: the ML extension serves the whole cluster; use --scope cluster\n",
		}}
		for _, tc := range cases {
			r := env.extensionCmd("create", append(slices.Clone(create), tc.args...)...)
			if r.code != tc.code || r.stderr != tc.stderr {
				t.Errorf("%s: exit %d, want %d; stderr:\n%s\nwant:\n%s", tc.name, r.code, tc.code, r.stderr, tc.stderr)
			}
		}
		r := env.ws.berth(env.dir, "k8s-extension", "create", "--name", "ml", "--extension-type", "berth.ml", "--cluster-type", "connectedClusters",
			"--cluster-name", "nope", "--config", "enableTraining=True")
		if want := "ERROR: cluster \"nope\" is not connected to this workspace; see `berth cluster list`, or connect it with `berth cluster connect --name nope --kubeconfig <file>`\n"; r.code != 3 || r.stderr != want {
			t.Errorf("unknown cluster: exit %d; stderr:\n%s\nwant:\n%s", r.code, r.stderr, want)
		}
		r = env.ws.berth(env.dir, "k8s-extension", "list", "--cluster-type", "connectedClusters", "--cluster-name", "c1", "-g", "rg2")
		if want := "ERROR: cluster c1 is in resource group rg1, not rg2; pass -g rg1, or leave -g out\n"; r.code != 2 || r.stderr != want {
			t.Errorf("wrong resource group: exit %d; stderr:\n%s\nwant:\n%s", r.code, r.stderr, want)
		}
		r = env.ws.berth(env.dir, "k8s-extension", "list", "--cluster-type", "managedClusters", "--cluster-name", "c1")
		if want := "ERROR: cluster c1 was connected as connectedClusters, not managedClusters; pass --cluster-type connectedClusters\n"; r.code != 2 || r.stderr != want {
			t.Errorf("wrong cluster type: exit %d; stderr:\n%s\nwant:\n%s", r.code, r.stderr, want)
		}
		r = env.extensionCmd("show", "--name", "ml")
		if want := "ERROR: extension ml not found on cluster c1; see `berth k8s-extension list --cluster-type connectedClusters --cluster-name c1`\n"; r.code != 3 || r.stderr != want {
			t.Errorf("show of an extension not created: exit %d; stderr:\n%s\nwant:\n%s", r.code, r.stderr, want)
		}
		if r := env.extensionCmd("list"); r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
			t.Errorf("after refused creates, list: exit %d: %s%s", r.code, r.stdout, r.stderr)
		}
		if objs := env.releaseObjects("ml"); len(objs) > 0 {
			t.Errorf("refused creates left objects: %v", objs)
		}
	})

	t.Run("HA falls back to one replica and updates apply in place", func(t *testing.T) {
		env.t = t
		r := env.extensionCmd("create", "--name", "ml", "--extension-type", "berth.ml", "--scope", "cluster",
			"--config", "enableInference=True", "nodeSelector.kubernetes.io/hostname=berth-node-0",
			"--config-protected", "sslCertPemFile=cert.pem", "sslKeyPemFile=key.pem")
		if r.code != 0 {
			t.Fatalf("create: exit %d: %s", r.code, r.stderr)
		}
		var created v1.Extension
		json.Unmarshal([]byte(r.stdout), &created)
		if !slices.ContainsFunc(created.Statuses, func(s v1.ExtensionStatus) bool { return s.Code == "RouterHAFallback" }) {
			t.Errorf("create output does not say the router falls back to one replica: %s", r.stdout)
		}
		if diff := cmp.Diff([]string{"sslCertPemFile", "sslKeyPemFile"}, created.ProtectedSettings); diff != "" || strings.Contains(r.stdout, "BEGIN") {
			t.Errorf("protected settings shown wrongly (-want +got):\n%s\n%s", diff, r.stdout)
		}
		ext := env.waitInstalled("ml")
		if !slices.ContainsFunc(ext.Statuses, func(s v1.ExtensionStatus) bool { return s.Code == "RouterHAFallback" }) {
			t.Errorf("status does not say the router falls back to one replica: %+v", ext.Statuses)
		}
		if objs := env.releaseObjects("ml"); !slices.Contains(objs, "Deployment/berth-router:1") {
			t.Errorf("router replicas: %v", objs)
		}

		r = env.extensionCmd("update", "--name", "ml", "--config", "sslCname=ml.example.com")
		if want := "ERROR: berth never returns protected settings, so an update must give them again (an empty value removes one): pass --config-protected sslCertPemFile=<value> sslKeyPemFile=<value>\n"; r.code != 2 || r.stderr != want {
			t.Errorf("update without protected settings: exit %d; stderr:\n%s\nwant:\n%s", r.code, r.stderr, want)
		}
		r = env.extensionCmd("update", "--name", "ml", "--config", "nodeSelector.kubernetes.io/hostname=",
			"--config-protected", "sslCertPemFile=cert.pem", "sslKeyPemFile=key.pem")
		if want := "ERROR: nodeSelector.kubernetes.io/hostname cannot be removed by update (workloads it placed would stay where they are); delete the extension and create it again without it\n"; r.code != 2 || r.stderr != want {
			t.Errorf("update removing the nodeSelector: exit %d; stderr:\n%s\nwant:\n%s", r.code, r.stderr, want)
		}
		r = env.extensionCmd("update", "--name", "ml", "--config", "enabletraining=",
			"--config-protected", "sslCertPemFile=cert.pem", "sslKeyPemFile=key.pem")
		if want := "ERROR: enabletraining is not set, so enabletraining= removes nothing; see the extension's settings with `berth k8s-extension show`\n"; r.code != 2 || r.stderr != want {
			t.Errorf("update removing a setting not set: exit %d; stderr:\n%s\nwant:\n%s", r.code, r.stderr, want)
		}
		r = env.extensionCmd("update", "--name", "ml", "--config", "sslCname=ml.example.com",
			"--config-protected", "sslCname=ml.example.com", "sslCertPemFile=cert.pem", "sslKeyPemFile=key.pem")
		if want := "ERROR: invalid extension settings:\nsslCname: given both plain (--config) and protected (--config-protected); give it once.\n"; r.code != 2 || r.stderr != want {
			t.Errorf("update giving a key plain and protected: exit %d; stderr:\n%s\nwant:\n%s", r.code, r.stderr, want)
		}
		r = env.extensionCmd("update", "--name", "ml", "--config", "sslCname=ml.example.com", "nodeSelector.kubernetes.io/hostname=berth-node-1",
			"--config-protected", "sslCertPemFile=cert.pem", "sslKeyPemFile=key.pem")
		if r.code != 0 {
			t.Fatalf("update: exit %d: %s", r.code, r.stderr)
		}
		ext = env.waitInstalled("ml")
		if ext.Generation != 2 || ext.ConfigurationSettings["sslCname"] != "ml.example.com" {
			t.Errorf("after update: generation %d, settings %v", ext.Generation, ext.ConfigurationSettings)
		}
		waitFor(t, func() bool {
			pods, err := env.kc.CoreV1().Pods("berth").List(context.Background(), metav1.ListOptions{LabelSelector: "berth.dev/component=router"})
			return err == nil && len(pods.Items) == 1 && pods.Items[0].Spec.NodeName == "berth-node-1"
		})
		env.podsRunning()

		// key= removes a setting: from HTTPS with a CNAME to HTTP.
		r = env.extensionCmd("update", "--name", "ml", "--config", "allowInsecureConnections=True", "sslCname=",
			"--config-protected", "sslCertPemFile=", "sslKeyPemFile=")
		if r.code != 0 {
			t.Fatalf("update to HTTP: exit %d: %s", r.code, r.stderr)
		}
		ext = env.waitInstalled("ml")
		if _, ok := ext.ConfigurationSettings["sslCname"]; ok || len(ext.ProtectedSettings) != 0 || ext.ConfigurationSettings["allowInsecureConnections"] != "True" {
			t.Errorf("after update to HTTP: settings %v, protected %v", ext.ConfigurationSettings, ext.ProtectedSettings)
		}
		if objs := env.releaseObjects("ml"); slices.Contains(objs, "Secret/berth-router-tls") {
			t.Errorf("the router's TLS Secret stayed after the update to HTTP: %v", objs)
		}
		env.deleteExtension("ml")
	})

	t.Run("an update from three router replicas to one on a chosen node rolls out", func(t *testing.T) {
		env.t = t
		r := env.extensionCmd("create", "--name", "ml", "--extension-type", "berth.ml", "--config", "enableInference=True", "allowInsecureConnections=True")
		if r.code != 0 {
			t.Fatalf("create: exit %d: %s", r.code, r.stderr)
		}
		env.waitInstalled("ml")
		// The old replicas' anti-affinity keeps a new pod off their nodes: old pods go first.
		r = env.extensionCmd("update", "--name", "ml", "--config", "nodeSelector.kubernetes.io/hostname=berth-node-2")
		if r.code != 0 {
			t.Fatalf("update: exit %d: %s", r.code, r.stderr)
		}
		env.waitInstalled("ml")
		pods, err := env.kc.CoreV1().Pods("berth").List(context.Background(), metav1.ListOptions{LabelSelector: "berth.dev/component=router"})
		if err != nil {
			t.Fatal(err)
		}
		pods.Items = slices.DeleteFunc(pods.Items, func(p corev1.Pod) bool { return p.DeletionTimestamp != nil })
		if len(pods.Items) != 1 || pods.Items[0].Spec.NodeName != "berth-node-2" || pods.Items[0].Status.Phase != corev1.PodRunning {
			t.Errorf("router pods once Installed: %v", podPlaces(pods))
		}
		env.deleteExtension("ml")
	})

	t.Run("a running device plugin and an OpenShift API are detected", func(t *testing.T) {
		env.t = t
		testDetection(t, env)
	})

	t.Run("an object in the way fails the install, which recovers once it is gone", func(t *testing.T) {
		env.t = t
		testFailedInstall(t, env)
	})

	t.Run("a cluster connects once, and an Offline cluster's deletes do not wait for its agent", func(t *testing.T) {
		env.t = t
		testOfflineDeletes(t, env)
	})

	t.Run("cluster delete removes the extension, then the agent", func(t *testing.T) {
		env.t = t
		env.ws.mustBerth(env.dir, "k8s-extension", "create", "--name", "ml", "--extension-type", "berth.ml", "--cluster-type", "connectedClusters",
			"--cluster-name", "c1", "--config", "enableTraining=True")
		env.waitInstalled("ml")
		env.ws.mustBerth(env.dir, "cluster", "delete", "--name", "c1", "--kubeconfig", env.cluster.Kubeconfig, "--yes")
		if r := env.ws.mustBerth(env.dir, "cluster", "list"); strings.TrimSpace(r.stdout) != "[]" {
			t.Errorf("cluster list after delete: %s", r.stdout)
		}
		if objs := env.releaseObjects("ml"); len(objs) > 0 {
			t.Errorf("extension objects left: %v", objs)
		}
		waitFor(t, func() bool {
			_, err := env.kc.AppsV1().Deployments("berth").Get(context.Background(), "berth-agent", metav1.GetOptions{})
			return err != nil
		})
		crbs := env.cluster.Kubectl(t, "get", "clusterrolebindings", "-l", "app.kubernetes.io/part-of=berth", "-o", "name")
		if strings.TrimSpace(crbs) != "" {
			t.Errorf("cluster role bindings left: %s", crbs)
		}
		// cluster delete returns once namespace berth is gone, so the cluster connects again
		// at once.
		if _, err := env.kc.CoreV1().Namespaces().Get(context.Background(), "berth", metav1.GetOptions{}); err == nil {
			t.Errorf("namespace berth still exists after cluster delete returned")
		}
		env.ws.mustBerth(env.dir, "cluster", "connect", "--name", "c1", "--kubeconfig", env.cluster.Kubeconfig,
			"--host-binary", filepath.Join(binDir, "berth"), "--report-interval", "1s")

		// With its agent gone, --force uninstalls the extension with the kubeconfig, so that
		// nothing stays to block the next install.
		env.ws.mustBerth(env.dir, "k8s-extension", "create", "--name", "ml", "--extension-type", "berth.ml", "--cluster-type", "connectedClusters",
			"--cluster-name", "c1", "--config", "enableTraining=True")
		env.waitInstalled("ml")
		env.cluster.Kubectl(t, "-n", "berth", "scale", "deployment/berth-agent", "--replicas=0")
		waitFor(t, func() bool {
			var c v1.Cluster
			json.Unmarshal([]byte(env.ws.mustBerth(env.dir, "cluster", "show", "--name", "c1").stdout), &c)
			return c.ConnectivityStatus == v1.ClusterOffline
		})
		r := env.ws.mustBerth(env.dir, "cluster", "delete", "--name", "c1", "--kubeconfig", env.cluster.Kubeconfig, "--yes", "--force")
		if want := "Uninstalling extension ml with the kubeconfig...\n"; r.stderr != want {
			t.Errorf("cluster delete --force said:\n%s\nwant:\n%s", r.stderr, want)
		}
		if r := env.ws.mustBerth(env.dir, "cluster", "list"); strings.TrimSpace(r.stdout) != "[]" {
			t.Errorf("cluster list after delete --force: %s", r.stdout)
		}
		left := env.cluster.Kubectl(t, "get", "crd,clusterrole,clusterrolebinding", "-l", "app.kubernetes.io/part-of=berth", "-o", "name")
		if strings.TrimSpace(left) != "" {
			t.Errorf("left after cluster delete --force:\n%s", left)
		}
		if _, err := env.kc.CoreV1().Namespaces().Get(context.Background(), "berth", metav1.GetOptions{}); err == nil {
			t.Errorf("namespace berth still exists after cluster delete --force")
		}
	})
}

// testDetection makes the cluster look like an OpenShift cluster that runs an NVIDIA device
// plugin of its own (the security.openshift.io API group served through a CRD, and the
// upstream plugin's DaemonSet on GPU nodes, of which there are none): the extension installs
// no second device plugin, binds its service accounts to the privileged SCC, and says both.
func testDetection(t *testing.T, env *kubeEnv) {
	env.cluster.Apply(t, `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: securitycontextconstraints.security.openshift.io}
spec:
  group: security.openshift.io
  scope: Cluster
  names: {kind: SecurityContextConstraints, plural: securitycontextconstraints, singular: securitycontextconstraints}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: nvidia-device-plugin-daemonset, namespace: kube-system}
spec:
  selector: {matchLabels: {name: nvidia-device-plugin-ds}}
  template:
    metadata: {labels: {name: nvidia-device-plugin-ds}}
    spec:
      nodeSelector: {nvidia.com/gpu.present: "true"}
      containers:
      - name: nvidia-device-plugin-ctr
        image: nvcr.io/nvidia/k8s-device-plugin:v0.17.0
`)
	t.Cleanup(func() {
		env.cluster.KubectlE(context.Background(), "", "delete", "crd", "securitycontextconstraints.security.openshift.io")
		env.cluster.KubectlE(context.Background(), "", "-n", "kube-system", "delete", "daemonset", "nvidia-device-plugin-daemonset")
	})
	// The server checks a create against the agent's last inventory.
	waitFor(t, func() bool {
		r := env.ws.berth(env.dir, "cluster", "show", "--name", "c1", "-g", "rg1")
		var c v1.Cluster
		return r.code == 0 && json.Unmarshal([]byte(r.stdout), &c) == nil && c.Inventory != nil &&
			c.Inventory.OpenShift && len(c.Inventory.DaemonSets) == 1
	})

	r := env.extensionCmd("create", "--name", "ml", "--extension-type", "berth.ml", "--config", "enableTraining=True")
	if r.code != 0 {
		t.Fatalf("create: exit %d: %s", r.code, r.stderr)
	}
	ext := env.waitInstalled("ml")
	var codes []string
	for _, s := range ext.Statuses {
		codes = append(codes, s.Code)
	}
	for _, want := range []string{"NvidiaDevicePluginFound", "OpenShiftDetected"} {
		if !slices.Contains(codes, want) {
			t.Errorf("status codes %v lack %s", codes, want)
		}
	}
	if diff := cmp.Diff([]string{"Deployment/berth-operator:1"}, env.releaseObjects("ml")); diff != "" {
		t.Errorf("objects of the release (-want +got):\n%s", diff)
	}
	binding := env.cluster.Kubectl(t, "-n", "berth", "get", "rolebinding", "berth-scc-privileged", "-o",
		`jsonpath={.roleRef.name} {range .subjects[*]}{.name} {end}`)
	if want := "system:openshift:scc:privileged berth-operator "; binding != want {
		t.Errorf("SCC binding %q, want %q", binding, want)
	}
	env.deleteExtension("ml")
	if out, _ := env.cluster.KubectlE(context.Background(), "", "-n", "berth", "get", "rolebinding", "-o", "name"); strings.Contains(out, "scc") {
		t.Errorf("SCC binding left after delete: %s", out)
	}
}

// testFailedInstall puts a ServiceAccount of the operator's name, not Helm's, where the
// release would create it: the install fails with a code and Helm's message, and once the
// object is removed the agent's next try installs the extension.
func testFailedInstall(t *testing.T, env *kubeEnv) {
	env.cluster.Apply(t, "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: berth-operator, namespace: berth}\n")
	r := env.extensionCmd("create", "--name", "ml", "--extension-type", "berth.ml", "--config", "enableTraining=True")
	if r.code != 0 {
		t.Fatalf("create: exit %d: %s", r.code, r.stderr)
	}
	var failed *v1.Extension
	waitFor(t, func() bool {
		failed, _ = env.extension("ml")
		return failed != nil && failed.InstallState == v1.InstallFailed
	})
	if len(failed.Statuses) != 1 || failed.Statuses[0].Code != "HelmReleaseFailed" || failed.Statuses[0].Level != "Error" ||
		!strings.Contains(failed.Statuses[0].Message, "ServiceAccount \"berth-operator\" in namespace \"berth\" exists and cannot be imported into the current release") {
		t.Errorf("statuses of the failed install: %+v", failed.Statuses)
	}
	if want := "installing release ml in namespace berth: unable to continue with install: ServiceAccount"; !strings.HasPrefix(failed.Statuses[0].Message, want) {
		t.Errorf("message %q does not start with %q", failed.Statuses[0].Message, want)
	}
	if want := "; that object is not this release's (made by hand, or left by an extension forgotten with --force): delete it, and the agent tries again"; !strings.HasSuffix(failed.Statuses[0].Message, want) {
		t.Errorf("message %q does not end with %q", failed.Statuses[0].Message, want)
	}
	env.cluster.Kubectl(t, "-n", "berth", "delete", "serviceaccount", "berth-operator")
	waitFor(t, func() bool {
		ext, _ := env.extension("ml")
		return ext != nil && ext.InstallState != v1.InstallFailed
	})
	env.waitInstalled("ml")
	env.podsRunning()
	env.deleteExtension("ml")
}

// testOfflineDeletes connects the cluster a second time under another name, which is refused;
// then stops the agent: cluster delete refuses at once to strand the extension, k8s-extension
// delete returns with the extension Deleting, and the agent removes it when it comes back.
func testOfflineDeletes(t *testing.T, env *kubeEnv) {
	cfg, err := clientcmd.BuildConfigFromFlags("", env.cluster.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	r := env.ws.berth(env.dir, "cluster", "connect", "--name", "c2", "--kubeconfig", env.cluster.Kubeconfig, "--host-binary", filepath.Join(binDir, "berth"))
	want := fmt.Sprintf("ERROR: the cluster at %s is already connected as c1 (its agent runs in namespace berth); a cluster connects once: see `berth cluster show --name c1`, or disconnect it first with `berth cluster delete --name c1`\n", cfg.Host)
	if r.code != 1 || r.stderr != want {
		t.Errorf("connecting again as c2: exit %d; stderr:\n%s\nwant:\n%s", r.code, r.stderr, want)
	}
	if r := env.ws.berth(env.dir, "cluster", "show", "--name", "c2"); r.code != 3 {
		t.Errorf("c2 is registered after a refused connect: exit %d: %s", r.code, r.stdout)
	}

	env.ws.mustBerth(env.dir, "k8s-extension", "create", "--name", "ml", "--extension-type", "berth.ml", "--cluster-type", "connectedClusters",
		"--cluster-name", "c1", "--config", "enableTraining=True")
	env.waitInstalled("ml")
	scaleAgent := func(replicas string) {
		env.cluster.Kubectl(t, "-n", "berth", "scale", "deployment/berth-agent", "--replicas="+replicas)
	}
	connectivity := func() string {
		var c v1.Cluster
		json.Unmarshal([]byte(env.ws.mustBerth(env.dir, "cluster", "show", "--name", "c1").stdout), &c)
		return c.ConnectivityStatus
	}
	scaleAgent("0")
	waitFor(t, func() bool { return connectivity() == v1.ClusterOffline })

	r = env.ws.berth(env.dir, "cluster", "delete", "--name", "c1", "--kubeconfig", env.cluster.Kubeconfig, "--yes")
	want = "ERROR: cluster c1 is Offline, so its agent cannot remove extension ml; bring the agent back (kubectl -n berth logs deploy/berth-agent), or pass --force to uninstall it with the kubeconfig and forget the cluster\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("cluster delete while Offline: exit %d; stderr:\n%s\nwant:\n%s", r.code, r.stderr, want)
	}
	if ext, _ := env.extension("ml"); ext == nil || ext.InstallState != v1.InstallInstalled || ext.Generation != 1 {
		t.Fatalf("a refused cluster delete changed the extension: %+v", ext)
	}

	r = env.extensionCmd("update", "--name", "ml", "--config", "installNvidiaDevicePlugin=False")
	if want := "Cluster c1 is Offline: its agent applies the change when it reports again.\n"; r.code != 0 || r.stderr != want {
		t.Errorf("update while Offline: exit %d; stderr:\n%s\nwant:\n%s", r.code, r.stderr, want)
	}
	r = env.extensionCmd("delete", "--name", "ml", "--yes")
	want = "Cluster c1 is Offline: extension ml is Deleting, and its agent removes it when it reports again; if the cluster is gone, forget it with `berth cluster delete --name c1 --force`.\n"
	if r.code != 0 || r.stderr != want {
		t.Errorf("k8s-extension delete while Offline: exit %d; stderr:\n%s\nwant:\n%s", r.code, r.stderr, want)
	}
	if ext, _ := env.extension("ml"); ext == nil || ext.InstallState != v1.InstallDeleting {
		t.Errorf("after delete while Offline: %+v", ext)
	}
	if objs := env.releaseObjects("ml"); len(objs) == 0 {
		t.Errorf("the extension went before its agent came back")
	}
	scaleAgent("1")
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		if ext, r := env.extension("ml"); ext == nil && r.code == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not remove extension ml within 2 minutes of coming back\n%s", env.agentLog())
		}
	}
	waitFor(t, func() bool { return len(env.releaseObjects("ml")) == 0 })
	if c := connectivity(); c != v1.ClusterConnected {
		t.Errorf("connectivity after the agent came back: %s", c)
	}
}

// TestFailedConnectLeavesNothing puts a ServiceAccount of the agent's name, not Helm's, where
// the agent's release would create it: connect fails with Helm's message, and neither the
// registration nor any record of the release stays behind. Then the agent's binary is one
// that exits at once.
func TestFailedConnectLeavesNothing(t *testing.T) {
	cl := testcluster.Start(t, 1)
	ws := startServer(t, "--tls-self-signed")
	cl.Apply(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: berth}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: berth-agent, namespace: berth}\n")
	dir := t.TempDir()
	r := ws.berth(dir, "cluster", "connect", "--name", "c1", "--kubeconfig", cl.Kubeconfig, "--host-binary", filepath.Join(binDir, "berth"))
	if want := "ServiceAccount \"berth-agent\" in namespace \"berth\" exists and cannot be imported into the current release"; r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Fatalf("connect: exit %d, stderr:\n%s\nwant exit 1 and %q", r.code, r.stderr, want)
	}
	if r := ws.mustBerth(dir, "cluster", "list"); strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("a failed connect left its registration: %s", r.stdout)
	}
	if out := cl.Kubectl(t, "-n", "berth", "get", "secrets,deployments", "-l", "owner=helm", "-o", "name"); strings.TrimSpace(out) != "" {
		t.Errorf("a failed connect left the release's records: %s", out)
	}
	if out := cl.Kubectl(t, "-n", "berth", "get", "deployments", "-o", "name"); strings.TrimSpace(out) != "" {
		t.Errorf("a failed connect left the agent: %s", out)
	}

	// An agent that cannot start fails the connect once its pod is in CrashLoopBackOff,
	// not after the 5-minute wait, and leaves nothing either.
	cl.Kubectl(t, "delete", "namespace", "berth") // the test's own, with the ServiceAccount
	r = ws.berth(dir, "cluster", "connect", "--name", "c1", "--kubeconfig", cl.Kubeconfig, "--host-binary", "/bin/false")
	if r.code != 1 || !strings.Contains(r.stderr, "\nERROR: the agent does not start: pod berth-agent-") ||
		!strings.Contains(r.stderr, ": container agent is CrashLoopBackOff: ") ||
		!strings.HasSuffix(r.stderr, " (its last run exited with code 1); the agent was removed and the cluster is not registered: fix that and connect again\n") {
		t.Errorf("connect with an agent that cannot start: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if r := ws.mustBerth(dir, "cluster", "list"); strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("a connect whose agent did not start left its registration: %s", r.stdout)
	}
	if out, err := cl.KubectlE(context.Background(), "", "get", "namespace", "berth", "-o", "name"); err == nil {
		t.Errorf("a connect whose agent did not start left its namespace: %s", out)
	}

	// A cluster whose kubeconfig is gone: delete refuses, and --force forgets it saying that
	// nothing was uninstalled.
	if _, err := ws.client().CreateCluster(context.Background(), v1.ClusterRequest{Name: "gone", ClusterType: v1.ClusterTypeConnected}); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing-kubeconfig")
	r = ws.berth(dir, "cluster", "delete", "--name", "gone", "--kubeconfig", missing, "--yes")
	if r.code != 2 || !strings.HasSuffix(r.stderr, "; to forget the cluster without uninstalling anything from it, pass --force\n") {
		t.Errorf("delete with a missing kubeconfig: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	r = ws.berth(dir, "cluster", "delete", "--name", "gone", "--kubeconfig", missing, "--yes", "--force")
	if r.code != 0 || !strings.HasPrefix(r.stderr, "Nothing was uninstalled from the cluster: kubeconfig: "+missing) ||
		!strings.HasSuffix(r.stderr, ". What berth installed there stays (kubectl get all,crd,clusterrole,clusterrolebinding -A -l app.kubernetes.io/part-of=berth lists it).\n") {
		t.Errorf("delete --force with a missing kubeconfig: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if r := ws.mustBerth(dir, "cluster", "list"); strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("delete --force kept the cluster: %s", r.stdout)
	}
}

// podPlaces lists pods as name@node:phase, for messages.
func podPlaces(pods *corev1.PodList) []string {
	var out []string
	if pods != nil {
		for _, p := range pods.Items {
			out = append(out, p.Name+"@"+p.Spec.NodeName+":"+string(p.Status.Phase))
		}
	}
	return out
}
