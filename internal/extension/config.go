// Package extension holds the ML extension's settings: their names, parsing and validation
// (one place, on the server; the agent checks the cluster-state rules again at install), and
// the Config the extension's chart is rendered from.
package extension

// Router Service types (the Kubernetes names).
const (
	ServiceLoadBalancer = "LoadBalancer"
	ServiceNodePort     = "NodePort"
	ServiceClusterIP    = "ClusterIP"
)

// Config is the extension's settings, parsed and checked. The chart's values come from it.
type Config struct {
	Training  bool
	Inference bool

	// AllowInsecure allows HTTP scoring without TLS material.
	AllowInsecure bool
	// TLSCert and TLSKey are PEM from sslCertPemFile and sslKeyPemFile (protected); TLSSecret
	// names an existing Secret with cert.pem and key.pem instead. CName is sslCname.
	TLSCert   string
	TLSKey    string
	TLSSecret string
	CName     string
	// TLSSecretProtected says sslSecret was given protected, so that Check's messages do not
	// show the name.
	TLSSecretProtected bool

	// RouterServiceType is one of the Service* constants; InternalLB is the internal load
	// balancer's provider ("azure", "aws", "gcp") when the router's LoadBalancer is internal,
	// "auto" for the seed's privateEndpointILB=True (the agent picks the annotation of the
	// cluster's own cloud), "" otherwise.
	RouterServiceType string
	InternalLB        string
	// RouterReplicas is 3 in HA mode and 1 otherwise; RouterHAExplicit says the user asked
	// for HA (inferenceRouterHA or inferenceLoadBalancerHA given as True), as opposed to
	// HA being the default.
	RouterReplicas   int
	RouterHAExplicit bool
	// RouterHASetting is the name the user gave the HA setting by (inferenceRouterHA or the
	// seed's inferenceLoadBalancerHA, whatever its value), "" when HA is the default; messages
	// name the setting as the user wrote it.
	RouterHASetting string

	InstallNvidiaDevicePlugin bool
	OpenShift                 bool
	// OpenShiftExplicit says openshift was given (True or False); otherwise Check sets OpenShift
	// from the cluster's inventory.
	OpenShiftExplicit bool
	// LogAnalytics (logAnalyticsWS) installs fluent-bit; InstallPrometheus (installPromOp)
	// installs Prometheus.
	LogAnalytics      bool
	InstallPrometheus bool

	// NodeSelector keeps the extension's pods and workloads on matching nodes.
	NodeSelector map[string]string
}
