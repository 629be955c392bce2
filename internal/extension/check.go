package extension

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	v1 "berth/api/v1"
	"berth/internal/strictyaml"
)

// routerHAReplicas is how many router replicas HA mode spreads over nodes.
const routerHAReplicas = 3

// Check applies the rules that need the cluster's state to cfg, a Config from Parse, against
// the agent's last inventory; inv nil (no report yet) skips them with a notice, and the agent
// applies them at install. The error, when there is one, is a *ValidationError.
//
// Check changes cfg, even when it returns an error, where the cluster decides a default: one
// router replica instead of HA when HA was only the default and the cluster has too few
// eligible nodes; no NVIDIA device plugin when one runs already; openshift on an OpenShift
// cluster unless the user set it. Each change comes with a notice.
func Check(cfg *Config, inv *v1.Inventory) ([]Notice, error) {
	var ps problems
	if inv == nil {
		ps.notice(CodeClusterChecksDeferred, "the cluster's agent has not reported yet, so "+
			"eligible nodes, the device plugin, sslSecret and OpenShift are checked at install.")
		return ps.notices, nil
	}

	checkNodes(&ps, cfg, inv)
	checkDevicePlugin(&ps, cfg, inv)
	checkOpenShift(&ps, cfg, inv)
	checkSecret(&ps, cfg, inv)
	return ps.notices, ps.err()
}

// checkSecret checks that the Secret sslSecret names exists, suggesting the closest one (unless
// sslSecret is protected: a suggestion would tell what it looks like).
func checkSecret(ps *problems, cfg *Config, inv *v1.Inventory) {
	if !cfg.Inference || cfg.TLSSecret == "" || slices.Contains(inv.TLSSecrets, cfg.TLSSecret) {
		return
	}
	name := quote(cfg.TLSSecret)
	if cfg.TLSSecretProtected {
		name = "of the protected name"
	}
	msg := "no Secret " + name + " holding cert.pem and key.pem in the extension's namespace; "
	if c := strictyaml.Closest(cfg.TLSSecret, inv.TLSSecrets); c != "" && !cfg.TLSSecretProtected {
		msg += "did you mean " + quote(c) + "?"
	} else {
		msg += "create it there, or pass sslCertPemFile and sslKeyPemFile instead."
	}
	ps.add(CodeSSLSecretNotFound, KeySSLSecret, msg)
}

// checkNodes checks that the extension has somewhere to run and the router enough nodes for
// its HA replicas.
func checkNodes(ps *problems, cfg *Config, inv *v1.Inventory) {
	eligible := eligibleNodes(cfg.NodeSelector, inv.Nodes)
	if len(eligible) == 0 {
		ps.add(noNodesProblem(cfg.NodeSelector, len(inv.Nodes)))
		return
	}
	if !cfg.Inference || cfg.RouterReplicas != routerHAReplicas ||
		len(eligible) >= routerHAReplicas {
		return
	}

	have := fmt.Sprintf("%d (%s)", len(eligible), strings.Join(eligible, ", "))
	if cfg.RouterHAExplicit {
		ps.add(CodeRouterHANeedsNodes, cfg.RouterHASetting, fmt.Sprintf(
			"True needs %d eligible nodes for the router's replicas, but the cluster has only %s; "+
				"set %s=False or add nodes.", routerHAReplicas, have, cfg.RouterHASetting))
		return
	}
	cfg.RouterReplicas = 1
	noun := "nodes"
	if len(eligible) == 1 {
		noun = "node"
	}
	ps.notice(CodeRouterHAFallback, fmt.Sprintf("the router runs 1 replica instead of %d "+
		"because the cluster has only %d eligible %s (%s); set inferenceRouterHA=False to "+
		"choose this, or add nodes.", routerHAReplicas, len(eligible), noun,
		strings.Join(eligible, ", ")))
}

// eligibleNodes returns the names of the nodes the extension's pods can run on: Ready, matching
// selector, and without a NoSchedule or NoExecute taint (the extension tolerates none).
func eligibleNodes(selector map[string]string, nodes []v1.Node) []string {
	var names []string
	for _, n := range nodes {
		if n.Ready && matches(selector, n.Labels) && !repels(n.Taints) {
			names = append(names, n.Name)
		}
	}
	slices.Sort(names)
	return names
}

// matches reports whether labels have every key of selector with its value, as a Pod's
// nodeSelector does (a missing label never matches, even an empty value).
func matches(selector, labels map[string]string) bool {
	for k, want := range selector {
		if got, ok := labels[k]; !ok || got != want {
			return false
		}
	}
	return true
}

// repels reports whether a taint keeps the extension's pods off the node.
func repels(taints []v1.Taint) bool {
	return slices.ContainsFunc(taints, func(t v1.Taint) bool {
		return t.Effect == "NoSchedule" || t.Effect == "NoExecute"
	})
}

// noNodesProblem words the problem of a cluster with no eligible node, naming nodeSelector when
// it is set.
func noNodesProblem(selector map[string]string, nodes int) (code, key, message string) {
	if nodes == 0 {
		return CodeNoEligibleNodes, "", "the cluster reports no nodes; add a node."
	}
	if len(selector) == 0 {
		return CodeNoEligibleNodes, "", fmt.Sprintf("none of the cluster's %d nodes is Ready "+
			"without a NoSchedule or NoExecute taint; add a node or remove the taints.", nodes)
	}
	var pairs []string
	for _, k := range slices.Sorted(maps.Keys(selector)) {
		pairs = append(pairs, NodeSelectorPrefix+k+"="+selector[k])
	}
	return CodeNoEligibleNodes, "nodeSelector", fmt.Sprintf("no Ready node without a "+
		"NoSchedule or NoExecute taint matches %s (the cluster has %d nodes); label a node "+
		"or change nodeSelector.", strings.Join(pairs, ", "), nodes)
}

// checkDevicePlugin turns off the NVIDIA device plugin when one runs already: a second one
// fails the install.
func checkDevicePlugin(ps *problems, cfg *Config, inv *v1.Inventory) {
	if !cfg.InstallNvidiaDevicePlugin {
		return
	}
	var found []string
	for _, ds := range inv.DaemonSets {
		if ds.Kind == "nvidia-device-plugin" {
			found = append(found, ds.Namespace+"/"+ds.Name)
		}
	}
	if len(found) == 0 {
		return
	}
	slices.Sort(found)
	cfg.InstallNvidiaDevicePlugin = false
	ps.notice(CodeNvidiaDevicePluginFound, "an NVIDIA device plugin already runs ("+
		strings.Join(found, ", ")+"), so the extension does not install another.")
}

// checkOpenShift turns openshift on for an OpenShift cluster unless the user set it; a user's
// False stands (they may have granted the SCC themselves, as the seed's manual steps do), with
// a notice.
func checkOpenShift(ps *problems, cfg *Config, inv *v1.Inventory) {
	switch {
	case !inv.OpenShift || cfg.OpenShift:
	case cfg.OpenShiftExplicit:
		ps.notice(CodeOpenShiftDisabled, "the cluster is OpenShift but openshift is False, so "+
			"the extension's service accounts get no privileged SCC; grant it yourself or "+
			"set openshift=True.")
	default:
		cfg.OpenShift = true
		ps.notice(CodeOpenShiftDetected, "the cluster is OpenShift, so openshift is set to "+
			"True: the extension's service accounts get the privileged SCC.")
	}
}
