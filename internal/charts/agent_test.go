package charts

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"

	"berth/internal/extension"
	"berth/internal/version"
)

const (
	agentDeployment = "Deployment/berth-agent"
	agentCommand    = "Deployment/berth-agent spec.template.spec.containers[0].command"
	agentImage      = "Deployment/berth-agent spec.template.spec.containers[0].image"
)

func TestAgentChart(t *testing.T) {
	base := AgentOptions{ServerURL: "https://berth.example.com", ClusterName: "c1", Token: "s3cret"}
	tests := []struct {
		name    string
		opts    AgentOptions
		objects []string
		env     []string
		fields  map[string]any
	}{
		{
			name: "a server with a public certificate, no proxy, from the image",
			opts: base,
			objects: []string{"ClusterRoleBinding/berth-agent-berth", agentDeployment, "Secret/berth-agent-token",
				"Service/berth-agent", "ServiceAccount/berth-agent"},
			env: []string{
				"BERTH_SERVER=https://berth.example.com",
				"BERTH_CLUSTER=c1",
				"BERTH_AGENT_TOKEN<-secret:berth-agent-token/token",
				"BERTH_REPORT_INTERVAL=10s",
				"POD_NAMESPACE<-field:metadata.namespace",
				"POD_IP<-field:status.podIP",
			},
			fields: map[string]any{
				agentCommand:                           list("/berth", "agent"),
				agentImage:                             "berth:" + version.Version,
				"Deployment/berth-agent spec.replicas": int64(1),
				"Deployment/berth-agent spec.strategy": dict("type", "Recreate"),
				"Deployment/berth-agent spec.template.spec.serviceAccountName":                   "berth-agent",
				"Deployment/berth-agent spec.template.spec.containers[0].imagePullPolicy":        "IfNotPresent",
				"Deployment/berth-agent spec.template.spec.containers[0].readinessProbe.httpGet": map[string]any{"path": "/healthz", "port": int64(8080)},
				"Secret/berth-agent-token data":                                                  dict("token", b64("s3cret")),
				"ClusterRoleBinding/berth-agent-berth roleRef": dict(
					"apiGroup", "rbac.authorization.k8s.io", "kind", "ClusterRole", "name", "cluster-admin"),
				"ClusterRoleBinding/berth-agent-berth subjects": []any{serviceAccountIn("berth-agent", AgentNamespace)},
			},
		},
		{
			name: "a self-signed server behind a proxy, from the host's binary",
			opts: func() AgentOptions {
				o := base
				o.ServerCA = "CA PEM"
				o.HTTPSProxy, o.NoProxy = "http://proxy:3128", "10.0.0.0/8,.svc"
				o.ReportInterval = 30 * time.Second
				o.HostBinary = "/usr/local/bin/berth"
				return o
			}(),
			objects: []string{"ClusterRoleBinding/berth-agent-berth", "ConfigMap/berth-agent-ca", agentDeployment,
				"Secret/berth-agent-token", "Service/berth-agent", "ServiceAccount/berth-agent"},
			env: []string{
				"BERTH_SERVER=https://berth.example.com",
				"BERTH_CLUSTER=c1",
				"BERTH_AGENT_TOKEN<-secret:berth-agent-token/token",
				"BERTH_SERVER_CA<-configmap:berth-agent-ca/ca.pem",
				"HTTPS_PROXY=http://proxy:3128",
				"NO_PROXY=10.0.0.0/8,.svc",
				"BERTH_REPORT_INTERVAL=30s",
				"BERTH_HOST_BINARY=/usr/local/bin/berth",
				"POD_NAMESPACE<-field:metadata.namespace",
				"POD_IP<-field:status.podIP",
			},
			fields: map[string]any{
				agentCommand:                    list("/usr/local/bin/berth", "agent"),
				"ConfigMap/berth-agent-ca data": dict("ca.pem", "CA PEM"),
			},
		},
		{
			name: "an image of the user's",
			opts: func() AgentOptions {
				o := base
				o.Image = "registry.example.com/berth:2.0"
				return o
			}(),
			objects: []string{"ClusterRoleBinding/berth-agent-berth", agentDeployment, "Secret/berth-agent-token",
				"Service/berth-agent", "ServiceAccount/berth-agent"},
			env: []string{
				"BERTH_SERVER=https://berth.example.com",
				"BERTH_CLUSTER=c1",
				"BERTH_AGENT_TOKEN<-secret:berth-agent-token/token",
				"BERTH_REPORT_INTERVAL=10s",
				"POD_NAMESPACE<-field:metadata.namespace",
				"POD_IP<-field:status.podIP",
			},
			fields: map[string]any{
				agentCommand: list("/berth", "agent"),
				agentImage:   "registry.example.com/berth:2.0",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := render(t, mustLoad(t, AgentChart), AgentRelease, AgentNamespace, AgentValues(tt.opts))
			if diff := cmp.Diff(tt.objects, objs.names()); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.env, envOf(firstContainer(objs.get("Deployment", "berth-agent")))); diff != "" {
				t.Errorf("environment (-want +got):\n%s", diff)
			}
			refs := slices.Sorted(maps.Keys(tt.fields))
			if diff := cmp.Diff(tt.fields, objs.fields(refs)); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			for _, o := range objs {
				labels := o.GetLabels()
				if labels["app.kubernetes.io/part-of"] != "berth" || labels["app.kubernetes.io/instance"] != AgentRelease ||
					labels["berth.dev/component"] != "agent" {
					t.Errorf("%s/%s: labels %v", o.GetKind(), o.GetName(), labels)
				}
			}
		})
	}
}

func serviceAccountIn(name, namespace string) map[string]any {
	return map[string]any{"kind": "ServiceAccount", "name": name, "namespace": namespace}
}

func TestAgentChartNeedsServerClusterAndToken(t *testing.T) {
	tests := []struct {
		name string
		opts AgentOptions
		want string
	}{
		{"no server", AgentOptions{ClusterName: "c1", Token: "t"}, "server.url is required: the berth server's advertised URL"},
		{"no cluster", AgentOptions{ServerURL: "https://s", Token: "t"}, "cluster.name is required: the cluster's name in the workspace"},
		{"no token", AgentOptions{ServerURL: "https://s", ClusterName: "c1"}, "cluster.token is required: the agent token the server issued when the cluster was registered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := renderErr(mustLoad(t, AgentChart), AgentValues(tt.opts))
			if err == nil {
				t.Fatalf("rendered; want the error %q", tt.want)
			}
			if _, msg, _ := strings.Cut(err.Error(), "): "); msg != tt.want {
				t.Errorf("error:\n got %q\nwant %q", msg, tt.want)
			}
		})
	}
}

// TestWriteChart writes each chart out, as `berth cluster chart` will, and checks that
// Helm loads and lints the files and renders them as the embedded chart.
func TestWriteChart(t *testing.T) {
	tests := []struct {
		chart  string
		values map[string]any
	}{
		{AgentChart, AgentValues(AgentOptions{ServerURL: "https://s", ClusterName: "c1", Token: "t"})},
		{ExtensionChart, ExtensionValues(extension.Config{Training: true, Inference: true, AllowInsecure: true,
			RouterServiceType: extension.ServiceLoadBalancer, RouterReplicas: 3, InstallNvidiaDevicePlugin: true}, ExtensionOptions{})},
	}
	for _, tt := range tests {
		t.Run(tt.chart, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), tt.chart)
			if err := WriteChart(tt.chart, dir); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(dir, "templates", "_helpers.tpl")); err != nil {
				t.Errorf("_helpers.tpl was not written: %v", err)
			}

			written, err := loader.LoadDir(dir)
			if err != nil {
				t.Fatalf("helm cannot load the written chart: %v", err)
			}
			if written.Metadata.APIVersion != "v2" || written.Metadata.AppVersion != version.Version {
				t.Errorf("Chart.yaml: apiVersion %q appVersion %q, want v2 and %q",
					written.Metadata.APIVersion, written.Metadata.AppVersion, version.Version)
			}
			want := render(t, mustLoad(t, tt.chart), "r", "berth", tt.values)
			got := render(t, written, "r", "berth", tt.values)
			if diff := cmp.Diff(want.names(), got.names()); diff != "" {
				t.Errorf("objects of the written chart (-embedded +written):\n%s", diff)
			}

			linter := lint.RunAll(dir, tt.values, "berth")
			for _, msg := range linter.Messages {
				if msg.Severity >= support.WarningSev {
					t.Errorf("helm lint: %v", msg)
				}
			}
		})
	}
}

func TestLoadRefusesAnUnknownChart(t *testing.T) {
	_, err := Load("agnet")
	want := `no chart named "agnet": the charts are "agent" and "extension"`
	if err == nil || err.Error() != want {
		t.Errorf("Load(agnet) = %v, want %q", err, want)
	}
}

func TestAgentValuesDefaults(t *testing.T) {
	got := AgentValues(AgentOptions{ServerURL: "https://s", ClusterName: "c1", Token: "t"})
	want := map[string]any{
		"server":     map[string]any{"url": "https://s", "ca": ""},
		"cluster":    map[string]any{"name": "c1", "token": "t"},
		"proxy":      map[string]any{"https": "", "no": ""},
		"hostBinary": "",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
}
