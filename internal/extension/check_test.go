package extension

import (
	"errors"
	"testing"

	v1 "berth/api/v1"
	"github.com/google/go-cmp/cmp"
)

// node builds a Ready node with labels given as key, value pairs.
func node(name string, labels ...string) v1.Node {
	n := v1.Node{Name: name, Ready: true, CPU: "4", Memory: "16Gi"}
	if len(labels) > 0 {
		n.Labels = make(map[string]string)
		for i := 0; i+1 < len(labels); i += 2 {
			n.Labels[labels[i]] = labels[i+1]
		}
	}
	return n
}

func notReady(n v1.Node) v1.Node {
	n.Ready = false
	return n
}

func tainted(n v1.Node, effect string) v1.Node {
	n.Taints = append(n.Taints, v1.Taint{Key: "dedicated", Value: "other", Effect: effect})
	return n
}

func nodes(names ...string) []v1.Node {
	var ns []v1.Node
	for _, n := range names {
		ns = append(ns, node(n))
	}
	return ns
}

// httpInference are the settings of an HTTP inference extension, plus more.
func httpInference(more ...string) map[string]string {
	m := map[string]string{"enableInference": "True", "allowInsecureConnections": "True"}
	for i := 0; i+1 < len(more); i += 2 {
		m[more[i]] = more[i+1]
	}
	return m
}

func TestCheck(t *testing.T) {
	cases := []struct {
		name      string
		plain     map[string]string
		protected map[string]string
		inv       *v1.Inventory
		// change is what Check changes in the parsed Config.
		change  func(*Config)
		notices []Notice
		want    string
		codes   []string
	}{
		{
			name:  "no inventory yet",
			plain: httpInference(),
			notices: []Notice{{CodeClusterChecksDeferred, "the cluster's agent has not reported " +
				"yet, so eligible nodes, the device plugin, sslSecret and OpenShift are checked at " +
				"install."}},
		},
		{
			name:  "HA by default on three nodes",
			plain: httpInference(),
			inv:   &v1.Inventory{Nodes: nodes("node-a", "node-b", "node-c")},
		},
		{
			name:   "HA by default on two nodes falls back to one replica",
			plain:  httpInference(),
			inv:    &v1.Inventory{Nodes: nodes("node-b", "node-a")},
			change: func(c *Config) { c.RouterReplicas = 1 },
			notices: []Notice{{CodeRouterHAFallback, "the router runs 1 replica instead of 3 " +
				"because the cluster has only 2 eligible nodes (node-a, node-b); set " +
				"inferenceRouterHA=False to choose this, or add nodes."}},
		},
		{
			name:   "HA by default on one node",
			plain:  httpInference(),
			inv:    &v1.Inventory{Nodes: nodes("solo")},
			change: func(c *Config) { c.RouterReplicas = 1 },
			notices: []Notice{{CodeRouterHAFallback, "the router runs 1 replica instead of 3 " +
				"because the cluster has only 1 eligible node (solo); set inferenceRouterHA=False " +
				"to choose this, or add nodes."}},
		},
		{
			name:  "HA asked for on two nodes",
			plain: httpInference("inferenceRouterHA", "True"),
			inv:   &v1.Inventory{Nodes: nodes("node-a", "node-b")},
			want: "inferenceRouterHA: True needs 3 eligible nodes for the router's replicas, but " +
				"the cluster has only 2 (node-a, node-b); set inferenceRouterHA=False or add nodes.",
			codes: []string{CodeRouterHANeedsNodes},
		},
		{
			name:  "HA asked for by the seed's name",
			plain: httpInference("inferenceLoadBalancerHA", "true"),
			inv: &v1.Inventory{Nodes: []v1.Node{node("node-a"), node("node-b"),
				notReady(node("node-c")), tainted(node("node-d"), "NoSchedule")}},
			want: "inferenceLoadBalancerHA: True needs 3 eligible nodes for the router's replicas, " +
				"but the cluster has only 2 (node-a, node-b); set inferenceLoadBalancerHA=False or add nodes.",
			codes: []string{CodeRouterHANeedsNodes},
		},
		{
			name:  "HA off on one node",
			plain: httpInference("inferenceRouterHA", "False"),
			inv:   &v1.Inventory{Nodes: nodes("solo")},
		},
		{
			name:  "training only on one node",
			plain: map[string]string{"enableTraining": "True"},
			inv:   &v1.Inventory{Nodes: nodes("solo")},
		},
		{
			name:  "eligible nodes after selector and taints",
			plain: httpInference("inferenceRouterHA", "True", "nodeSelector.pool", "ml"),
			inv: &v1.Inventory{Nodes: []v1.Node{
				node("a", "pool", "ml"),
				tainted(node("b", "pool", "ml"), "PreferNoSchedule"),
				node("c", "pool", "ml", "zone", "1"),
				node("d", "pool", "web"),
				tainted(node("e", "pool", "ml"), "NoExecute"),
			}},
		},
		{
			name:  "no node matches nodeSelector",
			plain: map[string]string{"enableTraining": "True", "nodeSelector.pool": "ml", "nodeSelector.gpu": ""},
			inv: &v1.Inventory{Nodes: []v1.Node{
				node("a", "pool", "ml"), // no gpu label: an empty value needs the label
				tainted(node("b", "pool", "ml", "gpu", ""), "NoSchedule"),
				notReady(node("c", "pool", "ml", "gpu", "")),
			}},
			want: "nodeSelector: no Ready node without a NoSchedule or NoExecute taint matches " +
				"nodeSelector.gpu=, nodeSelector.pool=ml (the cluster has 3 nodes); label a node or " +
				"change nodeSelector.",
			codes: []string{CodeNoEligibleNodes},
		},
		{
			name:  "no usable node without nodeSelector",
			plain: httpInference("inferenceRouterHA", "True"),
			inv:   &v1.Inventory{Nodes: []v1.Node{notReady(node("a")), tainted(node("b"), "NoSchedule")}},
			want: "none of the cluster's 2 nodes is Ready without a NoSchedule or NoExecute taint; " +
				"add a node or remove the taints.",
			codes: []string{CodeNoEligibleNodes},
		},
		{
			name:  "no nodes",
			plain: map[string]string{"enableTraining": "True"},
			inv:   &v1.Inventory{},
			want:  "the cluster reports no nodes; add a node.",
			codes: []string{CodeNoEligibleNodes},
		},
		{
			name:  "an NVIDIA device plugin runs already",
			plain: map[string]string{"enableTraining": "True"},
			inv: &v1.Inventory{Nodes: nodes("a"), DaemonSets: []v1.DaemonSetInfo{
				{Namespace: "monitoring", Name: "node-exporter", Kind: "node-exporter"},
				{Namespace: "kube-system", Name: "nvidia-device-plugin-daemonset",
					Kind: "nvidia-device-plugin", Ready: 1},
			}},
			change: func(c *Config) { c.InstallNvidiaDevicePlugin = false },
			notices: []Notice{{CodeNvidiaDevicePluginFound, "an NVIDIA device plugin already runs " +
				"(kube-system/nvidia-device-plugin-daemonset), so the extension does not install " +
				"another."}},
		},
		{
			name:  "an NVIDIA device plugin with the plugin off",
			plain: map[string]string{"enableTraining": "True", "installNvidiaDevicePlugin": "False"},
			inv: &v1.Inventory{Nodes: nodes("a"), DaemonSets: []v1.DaemonSetInfo{
				{Namespace: "gpu", Name: "nvdp", Kind: "nvidia-device-plugin"}}},
		},
		{
			name:   "OpenShift detected",
			plain:  map[string]string{"enableTraining": "True"},
			inv:    &v1.Inventory{OpenShift: true, Nodes: nodes("a")},
			change: func(c *Config) { c.OpenShift = true },
			notices: []Notice{{CodeOpenShiftDetected, "the cluster is OpenShift, so openshift is " +
				"set to True: the extension's service accounts get the privileged SCC."}},
		},
		{
			name:  "OpenShift set by the user",
			plain: map[string]string{"enableTraining": "True", "openshift": "True"},
			inv:   &v1.Inventory{OpenShift: true, Nodes: nodes("a")},
		},
		{
			name:  "OpenShift turned off by the user",
			plain: map[string]string{"enableTraining": "True", "openshift": "False"},
			inv:   &v1.Inventory{OpenShift: true, Nodes: nodes("a")},
			notices: []Notice{{CodeOpenShiftDisabled, "the cluster is OpenShift but openshift is " +
				"False, so the extension's service accounts get no privileged SCC; grant it " +
				"yourself or set openshift=True."}},
		},
		{
			name:  "sslSecret found",
			plain: map[string]string{"enableInference": "True", "sslSecret": "scoring-tls"},
			inv:   &v1.Inventory{Nodes: nodes("a", "b", "c"), TLSSecrets: []string{"scoring-tls"}},
		},
		{
			name:  "sslSecret missing, with one near",
			plain: map[string]string{"enableInference": "True", "sslSecret": "scoring-tsl"},
			inv:   &v1.Inventory{Nodes: nodes("a", "b", "c"), TLSSecrets: []string{"other", "scoring-tls"}},
			want: `sslSecret: no Secret "scoring-tsl" holding cert.pem and key.pem in the ` +
				`extension's namespace; did you mean "scoring-tls"?`,
			codes: []string{CodeSSLSecretNotFound},
		},
		{
			name:  "sslSecret missing",
			plain: map[string]string{"enableInference": "True", "sslSecret": "scoring-tls"},
			inv:   &v1.Inventory{Nodes: nodes("a", "b", "c")},
			want: `sslSecret: no Secret "scoring-tls" holding cert.pem and key.pem in the ` +
				"extension's namespace; create it there, or pass sslCertPemFile and sslKeyPemFile " +
				"instead.",
			codes: []string{CodeSSLSecretNotFound},
		},
		{
			name:      "a protected sslSecret missing is not named",
			plain:     map[string]string{"enableInference": "True"},
			protected: map[string]string{"sslSecret": "scoring-tsl"},
			inv:       &v1.Inventory{Nodes: nodes("a", "b", "c"), TLSSecrets: []string{"scoring-tls"}},
			want: "sslSecret: no Secret of the protected name holding cert.pem and key.pem in the " +
				"extension's namespace; create it there, or pass sslCertPemFile and sslKeyPemFile " +
				"instead.",
			codes: []string{CodeSSLSecretNotFound},
		},
		{
			name: "every problem at once, and the changes still made",
			plain: map[string]string{"enableInference": "True", "sslSecret": "scoring-tls",
				"inferenceRouterHA": "True"},
			inv: &v1.Inventory{OpenShift: true, Nodes: nodes("a"), DaemonSets: []v1.DaemonSetInfo{
				{Namespace: "gpu", Name: "nvdp", Kind: "nvidia-device-plugin"}}},
			change: func(c *Config) { c.OpenShift, c.InstallNvidiaDevicePlugin = true, false },
			notices: []Notice{
				{CodeNvidiaDevicePluginFound, "an NVIDIA device plugin already runs (gpu/nvdp), so " +
					"the extension does not install another."},
				{CodeOpenShiftDetected, "the cluster is OpenShift, so openshift is set to True: the " +
					"extension's service accounts get the privileged SCC."},
			},
			want: "inferenceRouterHA: True needs 3 eligible nodes for the router's replicas, but the " +
				"cluster has only 1 (a); set inferenceRouterHA=False or add nodes.\n" +
				`sslSecret: no Secret "scoring-tls" holding cert.pem and key.pem in the ` +
				"extension's namespace; create it there, or pass sslCertPemFile and sslKeyPemFile " +
				"instead.",
			codes: []string{CodeRouterHANeedsNodes, CodeSSLSecretNotFound},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, _, err := testParser.Parse(c.plain, c.protected)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := cfg
			if c.change != nil {
				c.change(&want)
			}

			notices, err := Check(&cfg, c.inv)
			if diff := cmp.Diff(want, cfg); diff != "" {
				t.Errorf("Config after Check (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(c.notices, notices); diff != "" {
				t.Errorf("notices (-want +got):\n%s", diff)
			}
			if c.want == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check succeeded; want error:\n%s", c.want)
			}
			if diff := cmp.Diff(c.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error is %T, not *ValidationError", err)
			}
			var codes []string
			for _, p := range ve.Problems {
				codes = append(codes, p.Code)
			}
			if diff := cmp.Diff(c.codes, codes); diff != "" {
				t.Errorf("codes (-want +got):\n%s", diff)
			}
		})
	}
}
