package agent

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	v1 "berth/api/v1"
)

// DaemonSet kinds the inventory reports.
const KindNvidiaDevicePlugin = "nvidia-device-plugin"

// partOfLabel marks berth's own objects, which the inventory leaves out: the device plugin
// berth installed is not one "already running".
const partOfLabel = "app.kubernetes.io/part-of"

// Inventory reads what the server checks the extension's settings against: the Kubernetes
// version, OpenShift or not, nodes, device-plugin DaemonSets, and the TLS Secrets in
// namespace.
func Inventory(ctx context.Context, kc kubernetes.Interface, namespace string) (v1.Inventory, error) {
	var inv v1.Inventory
	version, err := kc.Discovery().ServerVersion()
	if err != nil {
		return inv, fmt.Errorf("reading the Kubernetes version: %w", err)
	}
	inv.KubernetesVersion = version.GitVersion
	groups, err := kc.Discovery().ServerGroups()
	if err != nil {
		return inv, fmt.Errorf("reading the API groups: %w", err)
	}
	inv.OpenShift = slices.ContainsFunc(groups.Groups, func(g metav1.APIGroup) bool { return g.Name == "security.openshift.io" })

	nodes, err := kc.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return inv, fmt.Errorf("listing nodes: %w", err)
	}
	inv.Nodes = []v1.Node{}
	for _, n := range nodes.Items {
		inv.Nodes = append(inv.Nodes, nodeOf(&n))
	}

	sets, err := kc.AppsV1().DaemonSets("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return inv, fmt.Errorf("listing DaemonSets: %w", err)
	}
	for _, ds := range sets.Items {
		if ds.Labels[partOfLabel] == "berth" || !isDevicePlugin(ds.Name, ds.Spec.Template.Spec.Containers) {
			continue
		}
		inv.DaemonSets = append(inv.DaemonSets, v1.DaemonSetInfo{Namespace: ds.Namespace, Name: ds.Name,
			Kind: KindNvidiaDevicePlugin, Ready: ds.Status.NumberReady})
	}

	secrets, err := kc.CoreV1().Secrets(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return inv, fmt.Errorf("listing Secrets in %s: %w", namespace, err)
	}
	for _, s := range secrets.Items {
		if len(s.Data["cert.pem"]) > 0 && len(s.Data["key.pem"]) > 0 {
			inv.TLSSecrets = append(inv.TLSSecrets, s.Name)
		}
	}
	return inv, nil
}

func nodeOf(n *corev1.Node) v1.Node {
	node := v1.Node{Name: n.Name, Labels: n.Labels, ProviderID: n.Spec.ProviderID,
		CPU: n.Status.Allocatable.Cpu().String(), Memory: n.Status.Allocatable.Memory().String()}
	if gpu, ok := n.Status.Allocatable["nvidia.com/gpu"]; ok {
		node.GPU = gpu.Value()
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			node.Ready = c.Status == corev1.ConditionTrue
		}
	}
	for _, t := range n.Spec.Taints {
		node.Taints = append(node.Taints, v1.Taint{Key: t.Key, Value: t.Value, Effect: string(t.Effect)})
	}
	return node
}

// isDevicePlugin recognizes an NVIDIA device plugin by its name or its image, as the
// upstream chart, the GPU operator and hand-written manifests name them.
func isDevicePlugin(name string, containers []corev1.Container) bool {
	if strings.Contains(name, "nvidia-device-plugin") {
		return true
	}
	return slices.ContainsFunc(containers, func(c corev1.Container) bool {
		return strings.Contains(c.Image, "k8s-device-plugin")
	})
}

// cloudOf names the cloud the nodes run in, from their provider IDs: "azure", "aws", "gcp",
// or "" when unknown.
func cloudOf(inv *v1.Inventory) string {
	for _, n := range inv.Nodes {
		switch {
		case strings.HasPrefix(n.ProviderID, "azure://"):
			return "azure"
		case strings.HasPrefix(n.ProviderID, "aws://"):
			return "aws"
		case strings.HasPrefix(n.ProviderID, "gce://"):
			return "gcp"
		}
	}
	return ""
}
