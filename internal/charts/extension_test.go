package charts

import (
	"encoding/base64"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"berth/internal/extension"
	"berth/internal/version"
)

// The extension's release in these tests: azureml in namespace berth.
const (
	testRelease   = "azureml"
	testNamespace = "berth"
)

// The objects of each component.
var (
	operatorObjects = []string{
		"ClusterRole/berth-operator-berth", "ClusterRoleBinding/berth-operator-berth",
		"Deployment/berth-operator", "ServiceAccount/berth-operator",
	}
	routerObjects = []string{
		"ClusterRole/berth-router-berth", "ClusterRoleBinding/berth-router-berth",
		"Deployment/berth-router", "Service/berth-router", "ServiceAccount/berth-router",
	}
	routerSecret        = []string{"Secret/berth-router-tls"}
	devicePluginObjects = []string{"DaemonSet/nvidia-device-plugin", "ServiceAccount/nvidia-device-plugin"}
	prometheusObjects   = []string{
		"ConfigMap/berth-prometheus", "Deployment/berth-prometheus", "Role/berth-prometheus",
		"RoleBinding/berth-prometheus", "Service/berth-prometheus", "ServiceAccount/berth-prometheus",
	}
	fluentBitObjects = []string{
		"ClusterRole/berth-fluent-bit-berth", "ClusterRoleBinding/berth-fluent-bit-berth",
		"ConfigMap/berth-fluent-bit", "DaemonSet/berth-fluent-bit", "ServiceAccount/berth-fluent-bit",
	}
	openShiftObjects = []string{"RoleBinding/berth-scc-privileged"}
)

func objects(groups ...[]string) []string {
	out := slices.Concat(groups...)
	slices.Sort(out)
	return out
}

// Field references used by several cases.
const (
	operatorCommand = "Deployment/berth-operator spec.template.spec.containers[0].command"
	operatorArgs    = "Deployment/berth-operator spec.template.spec.containers[0].args"
	operatorImage   = "Deployment/berth-operator spec.template.spec.containers[0].image"
	routerReplicas  = "Deployment/berth-router spec.replicas"
	routerStrategy  = "Deployment/berth-router spec.strategy"
	routerAffinity  = "Deployment/berth-router spec.template.spec.affinity"
	routerCommand   = "Deployment/berth-router spec.template.spec.containers[0].command"
	routerArgs      = "Deployment/berth-router spec.template.spec.containers[0].args"
	routerReadiness = "Deployment/berth-router spec.template.spec.containers[0].readinessProbe.httpGet"
	routerLiveness  = "Deployment/berth-router spec.template.spec.containers[0].livenessProbe.httpGet"
	routerVolumes   = "Deployment/berth-router spec.template.spec.volumes"
	routerScheme    = `Deployment/berth-router spec.template.metadata.annotations."prometheus.io/scheme"`
	serviceType     = "Service/berth-router spec.type"
	servicePorts    = "Service/berth-router spec.ports"
	serviceAnnots   = "Service/berth-router metadata.annotations"
	tlsSecretData   = "Secret/berth-router-tls data"
)

var haAntiAffinity = map[string]any{
	"podAntiAffinity": map[string]any{
		"requiredDuringSchedulingIgnoredDuringExecution": []any{map[string]any{
			"labelSelector": map[string]any{"matchLabels": dict(
				"app.kubernetes.io/instance", testRelease, "berth.dev/component", "router")},
			"topologyKey": "kubernetes.io/hostname",
		}},
	},
}

// haStrategy is the router's update strategy, one replica or three: old pods go first.
var haStrategy = map[string]any{
	"type":          "RollingUpdate",
	"rollingUpdate": map[string]any{"maxSurge": int64(0), "maxUnavailable": int64(1)},
}

func httpsArgs() []any {
	return list("--listen", "$(POD_IP):8443", "--tls-cert", "/etc/berth/tls/cert.pem", "--tls-key", "/etc/berth/tls/key.pem")
}

func probe(port int64, scheme string) map[string]any {
	return map[string]any{"path": "/healthz", "port": port, "scheme": scheme}
}

func servicePort(name string, port, target int64) []any {
	return []any{map[string]any{"name": name, "port": port, "targetPort": target, "protocol": "TCP"}}
}

func tlsVolume(secret string) []any {
	return []any{map[string]any{"name": "tls", "secret": map[string]any{"secretName": secret}}}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// httpsRouter is an inference Config with cert and key, on a public LoadBalancer in HA.
func httpsRouter() extension.Config {
	return extension.Config{Inference: true, TLSCert: "CERT PEM", TLSKey: "KEY PEM",
		RouterServiceType: extension.ServiceLoadBalancer, RouterReplicas: 3}
}

// httpRouter is an inference Config without TLS, allowed to serve HTTP.
func httpRouter() extension.Config {
	return extension.Config{Inference: true, AllowInsecure: true,
		RouterServiceType: extension.ServiceLoadBalancer, RouterReplicas: 3}
}

func with(cfg extension.Config, change func(*extension.Config)) extension.Config {
	change(&cfg)
	return cfg
}

type extensionCase struct {
	name    string
	cfg     extension.Config
	opts    ExtensionOptions
	objects []string
	// fields maps "Kind/name path" to the value expected there (absent: not there).
	fields map[string]any
}

var extensionCases = []extensionCase{
	{
		name:    "training only",
		cfg:     extension.Config{Training: true},
		objects: objects(operatorObjects),
		fields: map[string]any{
			operatorCommand: list("/berth", "operator"),
			operatorArgs:    list("--training=true", "--inference=false", "--health-addr", "$(POD_IP):8081", "--metrics-addr", "$(POD_IP):8080"),
			operatorImage:   "berth:" + version.Version,
			"Deployment/berth-operator spec.replicas":                                           int64(1),
			"Deployment/berth-operator spec.template.spec.nodeSelector":                         absent,
			"Deployment/berth-operator spec.template.spec.containers[0].readinessProbe.httpGet": map[string]any{"path": "/readyz", "port": int64(8081)},
			"Deployment/berth-operator spec.template.spec.containers[0].livenessProbe.httpGet":  map[string]any{"path": "/healthz", "port": int64(8081)},
		},
	},
	{
		name:    "inference over HTTPS with cert and key",
		cfg:     httpsRouter(),
		objects: objects(operatorObjects, routerObjects, routerSecret),
		fields: map[string]any{
			operatorArgs:                   list("--training=false", "--inference=true", "--health-addr", "$(POD_IP):8081", "--metrics-addr", "$(POD_IP):8080"),
			routerReplicas:                 int64(3),
			routerStrategy:                 haStrategy,
			routerAffinity:                 haAntiAffinity,
			routerCommand:                  list("/berth", "router"),
			routerArgs:                     httpsArgs(),
			routerReadiness:                probe(8443, "HTTPS"),
			routerLiveness:                 probe(8443, "HTTPS"),
			routerVolumes:                  tlsVolume("berth-router-tls"),
			routerScheme:                   "https",
			serviceType:                    "LoadBalancer",
			servicePorts:                   servicePort("https", 443, 8443),
			serviceAnnots:                  absent,
			tlsSecretData:                  dict("cert.pem", b64("CERT PEM"), "key.pem", b64("KEY PEM")),
			"Secret/berth-router-tls type": "Opaque",
		},
	},
	{
		name:    "inference over HTTP when insecure connections are allowed",
		cfg:     httpRouter(),
		objects: objects(operatorObjects, routerObjects),
		fields: map[string]any{
			routerArgs:      list("--listen", "$(POD_IP):8080"),
			routerReadiness: probe(8080, "HTTP"),
			routerVolumes:   absent,
			routerScheme:    absent,
			serviceType:     "LoadBalancer",
			servicePorts:    servicePort("http", 80, 8080),
			serviceAnnots:   absent,
		},
	},
	{
		name:    "internal load balancer over HTTPS on Azure",
		cfg:     with(httpsRouter(), func(c *extension.Config) { c.InternalLB = "azure" }),
		objects: objects(operatorObjects, routerObjects, routerSecret),
		fields: map[string]any{
			routerArgs:    httpsArgs(),
			serviceType:   "LoadBalancer",
			servicePorts:  servicePort("https", 443, 8443),
			serviceAnnots: dict("service.beta.kubernetes.io/azure-load-balancer-internal", "true"),
		},
	},
	{
		name:    "internal load balancer over HTTP on AWS",
		cfg:     with(httpRouter(), func(c *extension.Config) { c.InternalLB = "aws" }),
		objects: objects(operatorObjects, routerObjects),
		fields: map[string]any{
			routerArgs:   list("--listen", "$(POD_IP):8080"),
			serviceType:  "LoadBalancer",
			servicePorts: servicePort("http", 80, 8080),
			serviceAnnots: dict(
				"service.beta.kubernetes.io/aws-load-balancer-internal", "true",
				"service.beta.kubernetes.io/aws-load-balancer-scheme", "internal"),
		},
	},
	{
		name:    "internal load balancer of the cluster's own cloud, detected as GCP",
		cfg:     with(httpsRouter(), func(c *extension.Config) { c.InternalLB = "auto" }),
		opts:    ExtensionOptions{ClusterProvider: "gcp"},
		objects: objects(operatorObjects, routerObjects, routerSecret),
		fields: map[string]any{
			serviceAnnots: dict("networking.gke.io/load-balancer-type", "Internal"),
		},
	},
	{
		name:    "internal load balancer of an unknown cloud gets every cloud's annotation",
		cfg:     with(httpsRouter(), func(c *extension.Config) { c.InternalLB = "auto" }),
		objects: objects(operatorObjects, routerObjects, routerSecret),
		fields: map[string]any{
			serviceAnnots: dict(
				"service.beta.kubernetes.io/azure-load-balancer-internal", "true",
				"service.beta.kubernetes.io/aws-load-balancer-internal", "true",
				"service.beta.kubernetes.io/aws-load-balancer-scheme", "internal",
				"networking.gke.io/load-balancer-type", "Internal"),
		},
	},
	{
		name:    "NodePort over HTTPS",
		cfg:     with(httpsRouter(), func(c *extension.Config) { c.RouterServiceType = extension.ServiceNodePort }),
		objects: objects(operatorObjects, routerObjects, routerSecret),
		fields: map[string]any{
			routerArgs:    httpsArgs(),
			serviceType:   "NodePort",
			servicePorts:  servicePort("https", 443, 8443),
			serviceAnnots: absent,
		},
	},
	{
		name:    "NodePort over HTTP",
		cfg:     with(httpRouter(), func(c *extension.Config) { c.RouterServiceType = extension.ServiceNodePort }),
		objects: objects(operatorObjects, routerObjects),
		fields: map[string]any{
			routerArgs:    list("--listen", "$(POD_IP):8080"),
			serviceType:   "NodePort",
			servicePorts:  servicePort("http", 80, 8080),
			serviceAnnots: absent,
		},
	},
	{
		name:    "ClusterIP behind the user's own ingress",
		cfg:     with(httpRouter(), func(c *extension.Config) { c.RouterServiceType = extension.ServiceClusterIP }),
		objects: objects(operatorObjects, routerObjects),
		fields: map[string]any{
			serviceType:  "ClusterIP",
			servicePorts: servicePort("http", 80, 8080),
		},
	},
	{
		name:    "training and inference",
		cfg:     with(httpsRouter(), func(c *extension.Config) { c.Training = true }),
		objects: objects(operatorObjects, routerObjects, routerSecret),
		fields: map[string]any{
			operatorArgs:   list("--training=true", "--inference=true", "--health-addr", "$(POD_IP):8081", "--metrics-addr", "$(POD_IP):8080"),
			routerReplicas: int64(3),
			routerAffinity: haAntiAffinity,
		},
	},
	{
		name:    "HA off runs one router replica anywhere",
		cfg:     with(httpsRouter(), func(c *extension.Config) { c.RouterReplicas = 1 }),
		objects: objects(operatorObjects, routerObjects, routerSecret),
		fields: map[string]any{
			routerReplicas: int64(1),
			routerStrategy: haStrategy,
			routerAffinity: absent,
		},
	},
	{
		name: "nodeSelector keeps every workload and tells the operator",
		cfg: extension.Config{Training: true, InstallNvidiaDevicePlugin: true,
			NodeSelector: map[string]string{"pool": "ml", "kubernetes.io/os": "linux"}},
		objects: objects(operatorObjects, devicePluginObjects),
		fields: map[string]any{
			"Deployment/berth-operator spec.template.spec.nodeSelector":      dict("pool", "ml", "kubernetes.io/os", "linux"),
			"DaemonSet/nvidia-device-plugin spec.template.spec.nodeSelector": dict("pool", "ml", "kubernetes.io/os", "linux"),
			`Deployment/berth-operator spec.template.spec.containers[0].env[2]`: map[string]any{
				"name": "BERTH_NODE_SELECTOR", "value": `{"kubernetes.io/os":"linux","pool":"ml"}`},
		},
	},
	{
		name:    "NVIDIA device plugin only on nodes with NVIDIA GPUs",
		cfg:     extension.Config{Training: true, InstallNvidiaDevicePlugin: true},
		objects: objects(operatorObjects, devicePluginObjects),
		fields: map[string]any{
			"DaemonSet/nvidia-device-plugin spec.template.spec.affinity": map[string]any{
				"nodeAffinity": map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": map[string]any{
					"nodeSelectorTerms": []any{map[string]any{"matchExpressions": []any{map[string]any{
						"key": "nvidia.com/gpu.present", "operator": "In", "values": list("true"),
					}}}},
				}},
			},
			"DaemonSet/nvidia-device-plugin spec.template.spec.tolerations": []any{
				map[string]any{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
			},
			"DaemonSet/nvidia-device-plugin spec.template.spec.containers[0].image": "nvcr.io/nvidia/k8s-device-plugin:v0.17.1",
			"DaemonSet/nvidia-device-plugin spec.template.spec.nodeSelector":        absent,
			"DaemonSet/nvidia-device-plugin spec.template.spec.serviceAccountName":  "nvidia-device-plugin",
			"DaemonSet/nvidia-device-plugin spec.template.spec.volumes[0].hostPath": dict("path", "/var/lib/kubelet/device-plugins"),
		},
	},
	{
		name:    "Prometheus scrapes the release's namespace",
		cfg:     extension.Config{Training: true, InstallPrometheus: true},
		objects: objects(operatorObjects, prometheusObjects),
		fields: map[string]any{
			"Deployment/berth-prometheus spec.template.spec.containers[0].image": "quay.io/prometheus/prometheus:v3.5.0",
			"Deployment/berth-prometheus spec.template.spec.serviceAccountName":  "berth-prometheus",
			"Role/berth-prometheus rules[0].resources":                           list("pods", "services", "endpoints"),
			`Deployment/berth-operator spec.template.metadata.annotations`: dict(
				"prometheus.io/scrape", "true", "prometheus.io/port", "8080", "prometheus.io/path", "/metrics"),
		},
	},
	{
		name:    "fluent-bit tails the containers' logs",
		cfg:     extension.Config{Training: true, LogAnalytics: true},
		objects: objects(operatorObjects, fluentBitObjects),
		fields: map[string]any{
			"DaemonSet/berth-fluent-bit spec.template.spec.containers[0].image": "cr.fluentbit.io/fluent/fluent-bit:4.0.13",
			"DaemonSet/berth-fluent-bit spec.template.spec.volumes[1].hostPath": dict("path", "/var/log"),
			"ClusterRoleBinding/berth-fluent-bit-berth subjects": []any{map[string]any{
				"kind": "ServiceAccount", "name": "berth-fluent-bit", "namespace": testNamespace}},
		},
	},
	{
		name: "OpenShift grants the privileged SCC to every service account",
		cfg: with(httpsRouter(), func(c *extension.Config) {
			c.Training, c.OpenShift = true, true
			c.InstallNvidiaDevicePlugin, c.InstallPrometheus, c.LogAnalytics = true, true, true
		}),
		objects: objects(operatorObjects, routerObjects, routerSecret, devicePluginObjects, prometheusObjects,
			fluentBitObjects, openShiftObjects),
		fields: map[string]any{
			"RoleBinding/berth-scc-privileged roleRef": dict(
				"apiGroup", "rbac.authorization.k8s.io", "kind", "ClusterRole", "name", "system:openshift:scc:privileged"),
			"RoleBinding/berth-scc-privileged subjects": []any{
				serviceAccount("berth-operator"), serviceAccount("berth-router"), serviceAccount("nvidia-device-plugin"),
				serviceAccount("berth-prometheus"), serviceAccount("berth-fluent-bit"),
			},
		},
	},
	{
		name:    "OpenShift with training only binds the operator alone",
		cfg:     extension.Config{Training: true, OpenShift: true},
		objects: objects(operatorObjects, openShiftObjects),
		fields: map[string]any{
			"RoleBinding/berth-scc-privileged subjects": []any{serviceAccount("berth-operator")},
		},
	},
	{
		name: "the user's sslSecret is mounted, not created",
		cfg: extension.Config{Inference: true, TLSSecret: "my-tls", CName: "score.example.com",
			RouterServiceType: extension.ServiceLoadBalancer, RouterReplicas: 3},
		objects: objects(operatorObjects, routerObjects),
		fields: map[string]any{
			routerArgs:      httpsArgs(),
			routerVolumes:   tlsVolume("my-tls"),
			routerReadiness: probe(8443, "HTTPS"),
			servicePorts:    servicePort("https", 443, 8443),
		},
	},
	{
		name:    "a host binary runs instead of the image's",
		cfg:     httpsRouter(),
		opts:    ExtensionOptions{HostBinary: "/opt/berth/bin/berth"},
		objects: objects(operatorObjects, routerObjects, routerSecret),
		fields: map[string]any{
			operatorCommand: list("/opt/berth/bin/berth", "operator"),
			routerCommand:   list("/opt/berth/bin/berth", "router"),
			operatorImage:   "berth:" + version.Version,
			`Deployment/berth-operator spec.template.spec.containers[0].env[2]`: map[string]any{
				"name": "BERTH_HOST_BINARY", "value": "/opt/berth/bin/berth"},
		},
	},
	{
		name:    "an image from a registry with a port",
		cfg:     httpsRouter(),
		opts:    ExtensionOptions{Image: "registry.example.com:5000/ml/berth:1.2.3"},
		objects: objects(operatorObjects, routerObjects, routerSecret),
		fields: map[string]any{
			operatorCommand: list("/berth", "operator"),
			operatorImage:   "registry.example.com:5000/ml/berth:1.2.3",
			"Deployment/berth-router spec.template.spec.containers[0].image":    "registry.example.com:5000/ml/berth:1.2.3",
			`Deployment/berth-operator spec.template.spec.containers[0].env[2]`: absent,
		},
	},
	{
		name:    "an image by digest",
		cfg:     extension.Config{Training: true},
		opts:    ExtensionOptions{Image: "ghcr.io/berth/berth@sha256:0123abcd"},
		objects: objects(operatorObjects),
		fields:  map[string]any{operatorImage: "ghcr.io/berth/berth@sha256:0123abcd"},
	},
	{
		name:    "an image without a tag takes the chart's appVersion",
		cfg:     extension.Config{Training: true},
		opts:    ExtensionOptions{Image: "registry.example.com:5000/berth"},
		objects: objects(operatorObjects),
		fields:  map[string]any{operatorImage: "registry.example.com:5000/berth:" + version.Version},
	},
}

func serviceAccount(name string) map[string]any {
	return map[string]any{"kind": "ServiceAccount", "name": name, "namespace": testNamespace}
}

func renderExtension(t *testing.T, cfg extension.Config, opts ExtensionOptions) rendered {
	t.Helper()
	return render(t, mustLoad(t, ExtensionChart), testRelease, testNamespace, ExtensionValues(cfg, opts))
}

func TestExtensionChart(t *testing.T) {
	for _, tt := range extensionCases {
		t.Run(tt.name, func(t *testing.T) {
			objs := renderExtension(t, tt.cfg, tt.opts)
			if diff := cmp.Diff(tt.objects, objs.names()); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
			refs := slices.Sorted(maps.Keys(tt.fields))
			if diff := cmp.Diff(tt.fields, objs.fields(refs)); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExtensionChartLabelsEveryObject checks, for every case, what holds for all objects:
// berth's labels, selectors that match their pod templates, and the settings' nodeSelector
// on every pod.
func TestExtensionChartLabelsEveryObject(t *testing.T) {
	for _, tt := range extensionCases {
		t.Run(tt.name, func(t *testing.T) {
			for _, o := range renderExtension(t, tt.cfg, tt.opts) {
				where := o.GetKind() + "/" + o.GetName()
				checkLabels(t, where, o.GetLabels())

				if o.GetKind() != "Deployment" && o.GetKind() != "DaemonSet" {
					continue
				}
				labels, _, _ := unstructured.NestedStringMap(o.Object, "spec", "template", "metadata", "labels")
				checkLabels(t, where+" pod template", labels)
				selector, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector", "matchLabels")
				for k, v := range selector {
					if labels[k] != v {
						t.Errorf("%s: selector %s=%s does not match its pod template's labels %v", where, k, v, labels)
					}
				}
				got, _, _ := unstructured.NestedStringMap(podSpec(o), "nodeSelector")
				if len(tt.cfg.NodeSelector) > 0 || len(got) > 0 {
					if diff := cmp.Diff(tt.cfg.NodeSelector, got); diff != "" {
						t.Errorf("%s: nodeSelector (-settings +pod):\n%s", where, diff)
					}
				}
			}
		})
	}
}

func checkLabels(t *testing.T, where string, labels map[string]string) {
	t.Helper()
	want := map[string]string{
		"app.kubernetes.io/part-of":    "berth",
		"app.kubernetes.io/instance":   testRelease,
		"app.kubernetes.io/managed-by": "Helm",
	}
	for k, v := range want {
		if labels[k] != v {
			t.Errorf("%s: label %s is %q, want %q", where, k, labels[k], v)
		}
	}
	for _, k := range []string{"berth.dev/component", "app.kubernetes.io/name"} {
		if labels[k] == "" {
			t.Errorf("%s: no label %s", where, k)
		}
	}
}

// TestExtensionChartRefuses checks the chart's own guards, which protect a plain helm
// install from settings the server would have refused.
func TestExtensionChartRefuses(t *testing.T) {
	tests := []struct {
		name   string
		values map[string]any
		want   string
	}{
		{
			name:   "neither training nor inference",
			values: map[string]any{},
			want:   "set training=true or inference=true (enableTraining, enableInference): with neither the extension installs nothing",
		},
		{
			name:   "inference without TLS material or permission for HTTP",
			values: map[string]any{"inference": true},
			want:   "inference needs TLS material (router.tls.cert and key, or router.tls.secretName) or router.allowInsecure=true (allowInsecureConnections)",
		},
		{
			name:   "a certificate without its key",
			values: map[string]any{"inference": true, "router": map[string]any{"tls": map[string]any{"cert": "C"}}},
			want:   "router.tls.cert and router.tls.key (sslCertPemFile, sslKeyPemFile) go together: give both",
		},
		{
			name: "cert and key and a secret",
			values: map[string]any{"inference": true, "router": map[string]any{
				"tls": map[string]any{"cert": "C", "key": "K", "secretName": "s"}}},
			want: "router.tls.secretName (sslSecret) and router.tls.cert/key (sslCertPemFile, sslKeyPemFile) exclude each other: give one",
		},
		{
			name: "an internal load balancer on a NodePort",
			values: map[string]any{"inference": true, "router": map[string]any{
				"allowInsecure": true, "serviceType": "NodePort", "internalLoadBalancer": "azure"}},
			want: "router.internalLoadBalancer needs router.serviceType LoadBalancer, not NodePort (privateEndpointILB and privateEndpointNodeport exclude each other)",
		},
		{
			name: "an unknown Service type",
			values: map[string]any{"inference": true, "router": map[string]any{
				"allowInsecure": true, "serviceType": "nodePort"}},
			want: `router.serviceType "nodePort" is not LoadBalancer, NodePort or ClusterIP`,
		},
		{
			name: "an unknown cloud",
			values: map[string]any{"inference": true, "router": map[string]any{
				"allowInsecure": true, "internalLoadBalancer": "oci"}},
			want: `router.internalLoadBalancer "oci" is not azure, aws, gcp or auto`,
		},
		{
			name: "no router replica",
			values: map[string]any{"inference": true, "router": map[string]any{
				"allowInsecure": true, "replicas": 0}},
			want: "router.replicas must be at least 1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := renderErr(mustLoad(t, ExtensionChart), tt.values)
			if err == nil {
				t.Fatalf("rendered; want the error %q", tt.want)
			}
			// Helm prefixes the template's place: "execution error at (...): <message>".
			if _, msg, _ := strings.Cut(err.Error(), "): "); msg != tt.want {
				t.Errorf("error:\n got %q\nwant %q", msg, tt.want)
			}
		})
	}
}

func TestExtensionChartWithoutCRDs(t *testing.T) {
	// templates/crds.yaml comes from another package's work: the chart renders the same
	// objects whether or not it is there.
	ch := mustLoad(t, ExtensionChart)
	cfg := with(httpsRouter(), func(c *extension.Config) { c.Training = true })
	want := render(t, ch, testRelease, testNamespace, ExtensionValues(cfg, ExtensionOptions{})).names()

	ch.Templates = slices.DeleteFunc(ch.Templates, func(f *chartFile) bool { return f.Name == "templates/crds.yaml" })
	if diff := cmp.Diff(want, render(t, ch, testRelease, testNamespace, ExtensionValues(cfg, ExtensionOptions{})).names()); diff != "" {
		t.Errorf("objects without templates/crds.yaml (-with +without):\n%s", diff)
	}
}

func TestExtensionValues(t *testing.T) {
	cfg := extension.Config{Training: true, Inference: true, TLSCert: "C", TLSKey: "K", CName: "score.example.com",
		RouterServiceType: extension.ServiceNodePort, RouterReplicas: 1, InstallNvidiaDevicePlugin: true,
		OpenShift: true, LogAnalytics: true, InstallPrometheus: true, NodeSelector: map[string]string{"pool": "ml"}}
	got := ExtensionValues(cfg, ExtensionOptions{ExtensionName: "azureml", HostBinary: "/bin/berth",
		Image: "reg:5000/berth:1.0", ClusterProvider: "azure"})
	want := map[string]any{
		"extensionName": "azureml",
		"training":      true,
		"inference":     true,
		"hostBinary":    "/bin/berth",
		"image":         map[string]any{"repository": "reg:5000/berth", "tag": "1.0"},
		"nodeSelector":  map[string]any{"pool": "ml"},
		"router": map[string]any{
			"replicas": 1, "serviceType": "NodePort", "internalLoadBalancer": "", "allowInsecure": false,
			"cname": "score.example.com", "tls": map[string]any{"cert": "C", "key": "K", "secretName": ""},
		},
		"nvidiaDevicePlugin": map[string]any{"enabled": true},
		"prometheus":         map[string]any{"enabled": true},
		"fluentBit":          map[string]any{"enabled": true},
		"openshift":          true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
}

func TestInternalLB(t *testing.T) {
	tests := []struct{ setting, provider, want string }{
		{"", "azure", ""},
		{"aws", "azure", "aws"},
		{"auto", "azure", "azure"},
		{"auto", "GCP", "gcp"},
		{"auto", "", "auto"},
		{"auto", "openstack", "auto"},
	}
	for _, tt := range tests {
		if got := internalLB(tt.setting, tt.provider); got != tt.want {
			t.Errorf("internalLB(%q, %q) = %q, want %q", tt.setting, tt.provider, got, tt.want)
		}
	}
}

func TestImageValues(t *testing.T) {
	tests := []struct {
		ref  string
		want map[string]any
	}{
		{"", map[string]any{}},
		{"berth", map[string]any{"repository": "berth"}},
		{"berth:1.2", map[string]any{"repository": "berth", "tag": "1.2"}},
		{"localhost:5000/berth", map[string]any{"repository": "localhost:5000/berth"}},
		{"localhost:5000/ml/berth:v1", map[string]any{"repository": "localhost:5000/ml/berth", "tag": "v1"}},
		{"ghcr.io/b/berth@sha256:ab", map[string]any{"repository": "ghcr.io/b/berth", "tag": "sha256:ab"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, imageValues(tt.ref)); diff != "" {
			t.Errorf("imageValues(%q) (-want +got):\n%s", tt.ref, diff)
		}
	}
}
