package charts

import (
	"strings"
	"time"

	"berth/internal/extension"
)

// ExtensionOptions is what the extension's chart needs beyond the settings.
type ExtensionOptions struct {
	// ExtensionName is the extension's name, which is also its release's name.
	ExtensionName string
	// HostBinary is the berth binary's path on the nodes, for the test cluster's process
	// kubelet that runs commands on the host and ignores images; empty in real clusters.
	HostBinary string
	// Image is berth's own image as a reference, repository[:tag] or repository@digest;
	// empty keeps the chart's default, berth:<appVersion>, and a reference without a tag
	// takes the appVersion as tag.
	Image string
	// ClusterProvider is the cluster's cloud ("azure", "aws", "gcp"), which the agent reads
	// from the nodes' providerIDs; "" when unknown. It picks the internal load balancer's
	// annotation when the settings say "auto" (the seed's privateEndpointILB=True).
	ClusterProvider string
}

// Internal load balancer providers the extension's chart knows.
var internalLBProviders = map[string]bool{"azure": true, "aws": true, "gcp": true}

// ExtensionValues are the extension chart's values for settings cfg, checked by the
// extension package. The chart's values.yaml documents each one.
func ExtensionValues(cfg extension.Config, opts ExtensionOptions) map[string]any {
	router := map[string]any{
		"internalLoadBalancer": internalLB(cfg.InternalLB, opts.ClusterProvider),
		"allowInsecure":        cfg.AllowInsecure,
		"cname":                cfg.CName,
		"tls": map[string]any{
			"cert":       cfg.TLSCert,
			"key":        cfg.TLSKey,
			"secretName": cfg.TLSSecret,
		},
	}
	// Zero values keep the chart's defaults (three replicas, LoadBalancer).
	if cfg.RouterReplicas > 0 {
		router["replicas"] = cfg.RouterReplicas
	}
	if cfg.RouterServiceType != "" {
		router["serviceType"] = cfg.RouterServiceType
	}

	values := map[string]any{
		"extensionName":      opts.ExtensionName,
		"training":           cfg.Training,
		"inference":          cfg.Inference,
		"hostBinary":         opts.HostBinary,
		"nodeSelector":       stringMap(cfg.NodeSelector),
		"router":             router,
		"nvidiaDevicePlugin": map[string]any{"enabled": cfg.InstallNvidiaDevicePlugin},
		"prometheus":         map[string]any{"enabled": cfg.InstallPrometheus},
		"fluentBit":          map[string]any{"enabled": cfg.LogAnalytics},
		"openshift":          cfg.OpenShift,
	}
	if image := imageValues(opts.Image); len(image) > 0 {
		values["image"] = image
	}
	return values
}

// internalLB is the chart's router.internalLoadBalancer for the setting's provider:
// "auto" becomes the cluster's own cloud when known, and stays "auto" (the annotations
// of every known cloud) otherwise.
func internalLB(setting, clusterProvider string) string {
	setting = strings.ToLower(setting)
	if setting != "auto" {
		return setting
	}
	if p := strings.ToLower(clusterProvider); internalLBProviders[p] {
		return p
	}
	return "auto"
}

// AgentOptions are the agent chart's settings, which `berth cluster connect` gathers.
type AgentOptions struct {
	// ServerURL is the server's advertised URL, and ServerCA the PEM the agent trusts for
	// it (empty: the system roots).
	ServerURL string
	ServerCA  string
	// ClusterName and Token are the cluster's name in the workspace and its agent token.
	ClusterName string
	Token       string
	// HTTPSProxy and NoProxy become the agent's HTTPS_PROXY and NO_PROXY.
	HTTPSProxy string
	NoProxy    string
	// ReportInterval is how often the agent reports (zero: the chart's 10s).
	ReportInterval time.Duration
	// HostBinary and Image are as in ExtensionOptions.
	HostBinary string
	Image      string
}

// AgentValues are the agent chart's values for opts. The chart's values.yaml documents
// each one.
func AgentValues(opts AgentOptions) map[string]any {
	values := map[string]any{
		"server":     map[string]any{"url": opts.ServerURL, "ca": opts.ServerCA},
		"cluster":    map[string]any{"name": opts.ClusterName, "token": opts.Token},
		"proxy":      map[string]any{"https": opts.HTTPSProxy, "no": opts.NoProxy},
		"hostBinary": opts.HostBinary,
	}
	if opts.ReportInterval > 0 {
		values["reportInterval"] = opts.ReportInterval.String()
	}
	if image := imageValues(opts.Image); len(image) > 0 {
		values["image"] = image
	}
	return values
}

// imageValues are the chart's image.repository and image.tag for an image reference: the
// tag follows the last colon after the last slash (a registry's port is not a tag), a
// digest follows @ and is kept with its algorithm ("sha256:..."), which the charts join
// with @. Fields the reference lacks are left to the chart's defaults.
func imageValues(ref string) map[string]any {
	values := map[string]any{}
	if ref == "" {
		return values
	}
	repo, tag := ref, ""
	if at := strings.LastIndex(ref, "@"); at >= 0 {
		repo, tag = ref[:at], ref[at+1:]
	} else if colon := strings.LastIndex(ref, ":"); colon > strings.LastIndex(ref, "/") {
		repo, tag = ref[:colon], ref[colon+1:]
	}
	values["repository"] = repo
	if tag != "" {
		values["tag"] = tag
	}
	return values
}

// stringMap copies m into the map type Helm's values merge expects.
func stringMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
