package extension

import (
	"slices"
	"strconv"
	"strings"

	"berth/internal/strictyaml"
)

// The settings' names: the seed's and today's, matched exactly (case-sensitive).
const (
	KeyEnableTraining               = "enableTraining"
	KeyEnableInference              = "enableInference"
	KeyAllowInsecureConnections     = "allowInsecureConnections"
	KeySSLCertPemFile               = "sslCertPemFile"
	KeySSLKeyPemFile                = "sslKeyPemFile"
	KeySSLSecret                    = "sslSecret"
	KeySSLCname                     = "sslCname"
	KeyPrivateEndpointNodeport      = "privateEndpointNodeport"
	KeyInferenceRouterServiceType   = "inferenceRouterServiceType"
	KeyPrivateEndpointILB           = "privateEndpointILB"
	KeyInternalLoadBalancerProvider = "internalLoadBalancerProvider"
	KeyInferenceLoadBalancerHA      = "inferenceLoadBalancerHA"
	KeyInferenceRouterHA            = "inferenceRouterHA"
	KeyInstallNvidiaDevicePlugin    = "installNvidiaDevicePlugin"
	KeyOpenShift                    = "openshift"
	KeyLogAnalyticsWS               = "logAnalyticsWS"
	KeyInstallPromOp                = "installPromOp"
	// NodeSelectorPrefix starts the nodeSelector.<label-key> settings.
	NodeSelectorPrefix = "nodeSelector."
)

// Internal load balancer providers (Config.InternalLB). InternalLBAuto is the seed's
// privateEndpointILB=True: the agent picks the Service annotation from the cluster's own cloud.
const (
	InternalLBAuto  = "auto"
	InternalLBAzure = "azure"
	InternalLBAWS   = "aws"
	InternalLBGCP   = "gcp"
)

// kind says how a setting's value is read.
type kind int

const (
	kindBool kind = iota
	kindServiceType
	kindProvider
	kindCert
	kindKey
	kindSecretName
	kindCName
)

type setting struct {
	name string
	kind kind
	// inference marks the settings that only mean something with enableInference=True.
	inference bool
}

// settings are the fixed names, in the order of DESIGN.md's table, which Names keeps.
var settings = []setting{
	{KeyEnableTraining, kindBool, false},
	{KeyEnableInference, kindBool, false},
	{KeyAllowInsecureConnections, kindBool, true},
	{KeySSLCertPemFile, kindCert, true},
	{KeySSLKeyPemFile, kindKey, true},
	{KeySSLSecret, kindSecretName, true},
	{KeySSLCname, kindCName, true},
	{KeyPrivateEndpointNodeport, kindBool, true},
	{KeyPrivateEndpointILB, kindBool, true},
	{KeyInternalLoadBalancerProvider, kindProvider, true},
	{KeyInferenceRouterServiceType, kindServiceType, true},
	{KeyInferenceLoadBalancerHA, kindBool, true},
	{KeyInferenceRouterHA, kindBool, true},
	{KeyInstallNvidiaDevicePlugin, kindBool, false},
	{KeyOpenShift, kindBool, false},
	{KeyLogAnalyticsWS, kindBool, false},
	{KeyInstallPromOp, kindBool, false},
}

// renamed maps each seed name to the name that replaces it; giving both is an error.
var renamed = []struct{ seed, today string }{
	{KeyInferenceLoadBalancerHA, KeyInferenceRouterHA},
	{KeyPrivateEndpointNodeport, KeyInferenceRouterServiceType},
	{KeyPrivateEndpointILB, KeyInternalLoadBalancerProvider},
}

// nodeSelectorName is how Names and messages show the nodeSelector settings.
const nodeSelectorName = NodeSelectorPrefix + "<label-key>"

// Names returns every valid setting name, in the order of the settings table, for CLI help;
// the last one, "nodeSelector.<label-key>", stands for any nodeSelector setting.
func Names() []string {
	names := fixedNames()
	return append(names, nodeSelectorName)
}

func fixedNames() []string {
	names := make([]string, len(settings))
	for i, s := range settings {
		names[i] = s.name
	}
	return names
}

func lookup(name string) (setting, bool) {
	i := slices.IndexFunc(settings, func(s setting) bool { return s.name == name })
	if i < 0 {
		return setting{}, false
	}
	return settings[i], true
}

// Values of the enum settings, as the messages spell them; input matches in any case.
var (
	booleanValues     = []string{"True", "False"}
	serviceTypeValues = []string{"loadBalancer", "nodePort", "clusterIP"}
	providerValues    = []string{InternalLBAzure, InternalLBAWS, InternalLBGCP}
)

// serviceTypes maps the lowercased inferenceRouterServiceType values to Service types.
var serviceTypes = map[string]string{
	"loadbalancer": ServiceLoadBalancer,
	"nodeport":     ServiceNodePort,
	"clusterip":    ServiceClusterIP,
}

// unknownKeyMessage says that key is not a setting, naming the closest valid one.
func unknownKeyMessage(key string) string {
	if key == "" {
		return "a setting has an empty name; write settings as key=value."
	}
	if c := closestKey(key); c != "" {
		if strings.EqualFold(c, key) {
			return "unknown setting; did you mean " + c + "? Setting names are case-sensitive."
		}
		return "unknown setting; did you mean " + c + "?"
	}
	return "unknown setting; use one of: " + strings.Join(Names(), ", ") + "."
}

// closestKey returns the valid name key is most likely a typo of, or "". A nodeSelector prefix
// in the wrong case keeps the user's label key.
func closestKey(key string) string {
	if len(key) > len(NodeSelectorPrefix) &&
		strings.EqualFold(key[:len(NodeSelectorPrefix)], NodeSelectorPrefix) {
		return NodeSelectorPrefix + key[len(NodeSelectorPrefix):]
	}
	return strictyaml.Closest(key, fixedNames())
}

// closestValue returns the canonical value (from valid) that value is most likely a typo of,
// comparing without case since values match in any case; "" when none is near.
func closestValue(value string, valid []string) string {
	lower := make([]string, len(valid))
	for i, v := range valid {
		lower[i] = strings.ToLower(v)
	}
	c := strictyaml.Closest(strings.ToLower(value), lower)
	if c == "" {
		return ""
	}
	return valid[slices.Index(lower, c)]
}

// oneOf lists values as "a, b or c".
func oneOf(values []string) string {
	if len(values) == 1 {
		return values[0]
	}
	return strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
}

// quote quotes a user's text for a message, cut to one readable line.
func quote(s string) string {
	return strconv.Quote(strictyaml.Excerpt(s, 60))
}

// boolText spells a boolean as the seed's commands do.
func boolText(b bool) string {
	if b {
		return "True"
	}
	return "False"
}
