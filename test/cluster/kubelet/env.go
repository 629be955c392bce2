package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// containerEnv builds a container's environment as the kubelet does: the "image" env (here:
// PATH with the python shim first, HOME, HOSTNAME), the API server's address for in-cluster
// clients, then envFrom, then env in order, each value expanded with the variables before it.
func (p *podRuntime) containerEnv(ctx context.Context, c *corev1.Container) ([]string, error) {
	pod := p.pod
	hostname := pod.Name
	if pod.Spec.Hostname != "" {
		hostname = pod.Spec.Hostname
	}
	env := newEnvList()
	env.set("PATH", p.host.shimDir+":"+os.Getenv("PATH"))
	env.set("HOME", os.Getenv("HOME"))
	env.set("HOSTNAME", hostname)
	if lang := os.Getenv("LANG"); lang != "" {
		env.set("LANG", lang)
	}
	// The kubelet writes these for the default/kubernetes Service; there is no cluster IP here,
	// so they name the API server itself, and rest.InClusterConfig works unmodified.
	env.set("KUBERNETES_SERVICE_HOST", p.host.apiHost)
	env.set("KUBERNETES_SERVICE_PORT", p.host.apiPort)
	env.set("KUBERNETES_SERVICE_PORT_HTTPS", p.host.apiPort)
	env.set("KUBERNETES_PORT", "tcp://"+p.host.apiHost+":"+p.host.apiPort)
	// TODO(berth): the <SERVICE>_SERVICE_HOST variables of enableServiceLinks are not written:
	// they would name cluster IPs, which no kube-proxy routes here.

	for _, from := range c.EnvFrom {
		data, err := p.envFromSource(ctx, from)
		if err != nil {
			return nil, err
		}
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			env.set(from.Prefix+k, data[k])
		}
	}
	for _, e := range c.Env {
		value := e.Value
		if e.ValueFrom != nil {
			v, ok, err := p.envVarSource(ctx, c, e.ValueFrom)
			if err != nil {
				return nil, fmt.Errorf("env %s: %w", e.Name, err)
			}
			if !ok {
				continue // an optional reference that is missing: the variable is not set
			}
			value = v
		} else {
			value = expand(value, env.lookup)
		}
		env.set(e.Name, value)
	}
	return env.list(), nil
}

// envFromSource reads one envFrom entry; an optional source that is missing gives nothing.
func (p *podRuntime) envFromSource(ctx context.Context, from corev1.EnvFromSource) (map[string]string, error) {
	ns := p.pod.Namespace
	switch {
	case from.ConfigMapRef != nil:
		cm, err := p.host.client.CoreV1().ConfigMaps(ns).Get(ctx, from.ConfigMapRef.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) && isTrue(from.ConfigMapRef.Optional) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("envFrom configMap %s: %w", from.ConfigMapRef.Name, err)
		}
		return cm.Data, nil
	case from.SecretRef != nil:
		s, err := p.host.client.CoreV1().Secrets(ns).Get(ctx, from.SecretRef.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) && isTrue(from.SecretRef.Optional) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("envFrom secret %s: %w", from.SecretRef.Name, err)
		}
		data := map[string]string{}
		for k, v := range s.Data {
			data[k] = string(v)
		}
		return data, nil
	}
	return nil, nil
}

// envVarSource resolves valueFrom; ok is false for a missing optional key or object.
func (p *podRuntime) envVarSource(ctx context.Context, c *corev1.Container, src *corev1.EnvVarSource) (string, bool, error) {
	ns := p.pod.Namespace
	switch {
	case src.FieldRef != nil:
		v, err := p.fieldRef(src.FieldRef.FieldPath)
		return v, err == nil, err
	case src.ResourceFieldRef != nil:
		v, err := p.resourceFieldRef(c, src.ResourceFieldRef)
		return v, err == nil, err
	case src.ConfigMapKeyRef != nil:
		ref := src.ConfigMapKeyRef
		cm, err := p.host.client.CoreV1().ConfigMaps(ns).Get(ctx, ref.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) && isTrue(ref.Optional) {
			return "", false, nil
		}
		if err != nil {
			return "", false, fmt.Errorf("configMap %s: %w", ref.Name, err)
		}
		if v, ok := cm.Data[ref.Key]; ok {
			return v, true, nil
		}
		if v, ok := cm.BinaryData[ref.Key]; ok {
			return string(v), true, nil
		}
		if isTrue(ref.Optional) {
			return "", false, nil
		}
		return "", false, fmt.Errorf("configMap %s has no key %s", ref.Name, ref.Key)
	case src.SecretKeyRef != nil:
		ref := src.SecretKeyRef
		s, err := p.host.client.CoreV1().Secrets(ns).Get(ctx, ref.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) && isTrue(ref.Optional) {
			return "", false, nil
		}
		if err != nil {
			return "", false, fmt.Errorf("secret %s: %w", ref.Name, err)
		}
		if v, ok := s.Data[ref.Key]; ok {
			return string(v), true, nil
		}
		if isTrue(ref.Optional) {
			return "", false, nil
		}
		return "", false, fmt.Errorf("secret %s has no key %s", ref.Name, ref.Key)
	}
	// TODO(berth): fileKeyRef (env from a file in an emptyDir) is not supported.
	return "", false, fmt.Errorf("unsupported valueFrom")
}

// fieldRef answers the downward API's field paths.
func (p *podRuntime) fieldRef(path string) (string, error) {
	pod := p.pod
	if k, ok := subscript(path, "metadata.labels"); ok {
		return pod.Labels[k], nil
	}
	if k, ok := subscript(path, "metadata.annotations"); ok {
		return pod.Annotations[k], nil
	}
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.podIP", "status.podIPs":
		return p.ip, nil
	case "status.hostIP", "status.hostIPs":
		return hostIP, nil
	}
	return "", fmt.Errorf("unsupported fieldRef %q", path)
}

// resourceFieldRef answers requests and limits of c (or of the container the reference
// names), with the node's allocatable standing in for a limit that is not set, as the kubelet
// does.
func (p *podRuntime) resourceFieldRef(c *corev1.Container, ref *corev1.ResourceFieldSelector) (string, error) {
	if ref.ContainerName != "" {
		c = p.findSpec(ref.ContainerName)
	}
	if c == nil {
		return "", fmt.Errorf("resourceFieldRef %s: no container %q", ref.Resource, ref.ContainerName)
	}
	kind, name, ok := strings.Cut(ref.Resource, ".")
	if !ok {
		return "", fmt.Errorf("unsupported resourceFieldRef %q", ref.Resource)
	}
	list := c.Resources.Limits
	if kind == "requests" {
		list = c.Resources.Requests
	}
	q, ok := list[corev1.ResourceName(name)]
	if !ok {
		q, ok = p.allocatable[corev1.ResourceName(name)]
		if !ok && kind == "requests" {
			return "0", nil
		}
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	if name == "cpu" {
		return fmt.Sprint(int64(math.Ceil(float64(q.MilliValue()) / float64(divisor.MilliValue())))), nil
	}
	return fmt.Sprint(int64(math.Ceil(float64(q.Value()) / float64(divisor.Value())))), nil
}

func subscript(path, field string) (string, bool) {
	rest, ok := strings.CutPrefix(path, field+"['")
	if !ok || !strings.HasSuffix(rest, "']") {
		return "", false
	}
	return strings.TrimSuffix(rest, "']"), true
}

// formatMap writes labels or annotations as the downward API does: key="value" lines, sorted.
func formatMap(m map[string]string) string {
	var lines []string
	for k, v := range m {
		lines = append(lines, fmt.Sprintf("%s=%q", k, v))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func isTrue(b *bool) bool { return b != nil && *b }

// expand replaces $(NAME) with the variable's value as the kubelet does: $$ is a literal $, a
// name that is not defined is left as written, and so is a $ not followed by ( or $.
func expand(s string, lookup func(string) (string, bool)) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// envList keeps variables in the order they were first set, later values winning.
type envList struct {
	names  []string
	values map[string]string
}

func newEnvList() *envList { return &envList{values: map[string]string{}} }

func (e *envList) set(name, value string) {
	if _, ok := e.values[name]; !ok {
		e.names = append(e.names, name)
	}
	e.values[name] = value
}

func (e *envList) lookup(name string) (string, bool) {
	v, ok := e.values[name]
	return v, ok
}

func (e *envList) list() []string {
	out := make([]string, 0, len(e.names))
	for _, n := range e.names {
		out = append(out, n+"="+e.values[n])
	}
	return out
}

// envLookup reads a NAME=value list as expand's lookup.
func envLookup(env []string) func(string) (string, bool) {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}
