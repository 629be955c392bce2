package agent

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"

	v1 "berth/api/v1"
	"berth/internal/kube"
)

// componentKinds are the kinds of a release's objects that count as components: what runs,
// and what the router needs to be reached. RBAC and ConfigMaps only support them.
var componentKinds = map[string]bool{"Deployment": true, "DaemonSet": true, "StatefulSet": true,
	"Service": true, "Secret": true, "CustomResourceDefinition": true}

// msgAbsent is the message of a component that does not exist.
const msgAbsent = "not created yet"

// checkComponents reads each component of a release from the cluster. failed reports a
// component that will not become ready by itself.
func checkComponents(ctx context.Context, kc kubernetes.Interface, objects []*unstructured.Unstructured) (comps []v1.Component, failed bool, err error) {
	comps = []v1.Component{}
	for _, obj := range objects {
		if !componentKinds[obj.GetKind()] {
			continue
		}
		c := v1.Component{Kind: obj.GetKind(), Name: obj.GetName()}
		var stuck bool
		c.Ready, stuck, c.Message, err = componentReady(ctx, kc, obj)
		if apierrors.IsNotFound(err) {
			c.Ready, c.Message, err = false, msgAbsent, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("reading %s %s: %w", c.Kind, c.Name, err)
		}
		failed = failed || stuck
		comps = append(comps, c)
	}
	return comps, failed, nil
}

// componentReady reports whether one object is ready, whether it is stuck (will not become
// ready by itself), and why not.
func componentReady(ctx context.Context, kc kubernetes.Interface, obj *unstructured.Unstructured) (ready, stuck bool, why string, err error) {
	ns, name := obj.GetNamespace(), obj.GetName()
	get := metav1.GetOptions{}
	switch obj.GetKind() {
	case "Deployment":
		d, err := kc.AppsV1().Deployments(ns).Get(ctx, name, get)
		if err != nil {
			return false, false, "", err
		}
		ready, stuck, why, err := deploymentReady(d)
		if !ready && !stuck && err == nil {
			why += podsWaiting(ctx, kc, ns, d.Spec.Selector)
		}
		return ready, stuck, why, err
	case "DaemonSet":
		d, err := kc.AppsV1().DaemonSets(ns).Get(ctx, name, get)
		if err != nil {
			return false, false, "", err
		}
		s := d.Status
		if s.ObservedGeneration < d.Generation || s.UpdatedNumberScheduled < s.DesiredNumberScheduled || s.NumberReady < s.DesiredNumberScheduled {
			return false, false, fmt.Sprintf("%d of %d pods ready", s.NumberReady, s.DesiredNumberScheduled) + podsWaiting(ctx, kc, ns, d.Spec.Selector), nil
		}
		if s.DesiredNumberScheduled == 0 {
			return true, false, "no node matches its node selector and affinity", nil
		}
		return true, false, "", nil
	case "StatefulSet":
		s, err := kc.AppsV1().StatefulSets(ns).Get(ctx, name, get)
		if err != nil {
			return false, false, "", err
		}
		want := int32(1)
		if s.Spec.Replicas != nil {
			want = *s.Spec.Replicas
		}
		if s.Status.ObservedGeneration < s.Generation || s.Status.ReadyReplicas < want {
			return false, false, fmt.Sprintf("%d of %d pods ready", s.Status.ReadyReplicas, want) + podsWaiting(ctx, kc, ns, s.Spec.Selector), nil
		}
		return true, false, "", nil
	case "Service":
		s, err := kc.CoreV1().Services(ns).Get(ctx, name, get)
		if err != nil {
			return false, false, "", err
		}
		// A load balancer's address is not waited for: a cluster may have no controller
		// that gives one.
		if s.Spec.Type == corev1.ServiceTypeLoadBalancer && len(s.Status.LoadBalancer.Ingress) == 0 {
			return true, false, "load balancer address pending", nil
		}
		return true, false, "", nil
	case "Secret":
		_, err := kc.CoreV1().Secrets(ns).Get(ctx, name, get)
		return err == nil, false, "", err
	case "CustomResourceDefinition":
		err := kc.Discovery().RESTClient().Get().AbsPath("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", name).Do(ctx).Error()
		if err != nil {
			return false, false, "", err
		}
		// Discovery listing the group's version proves the CRD is served.
		if _, err := kc.Discovery().ServerResourcesForGroupVersion(crdGroupVersion(obj)); err != nil {
			return false, false, "not served yet", nil
		}
		return true, false, "", nil
	}
	return true, false, "", nil
}

func deploymentReady(d *appsv1.Deployment) (ready, stuck bool, why string, err error) {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded" {
			return false, true, c.Message, nil
		}
	}
	// As kubectl rollout status: every replica runs the newest template, is available, and
	// no pod of an older one is left (an old pod still serving the old settings).
	s := d.Status
	if s.ObservedGeneration < d.Generation || s.UpdatedReplicas < want || s.AvailableReplicas < want {
		return false, false, fmt.Sprintf("%d of %d replicas available", s.AvailableReplicas, want), nil
	}
	if s.Replicas > s.UpdatedReplicas || s.AvailableReplicas < s.UpdatedReplicas {
		return false, false, fmt.Sprintf("rolling out: new pods %d, old pods left %d",
			s.UpdatedReplicas, s.Replicas-s.UpdatedReplicas), nil
	}
	return true, false, "", nil
}

// podsWaiting says why a workload's pods do not run, for its component's message.
func podsWaiting(ctx context.Context, kc kubernetes.Interface, ns string, selector *metav1.LabelSelector) string {
	if w, ok := kube.PodsWaiting(ctx, kc, ns, selector); ok {
		return "; " + w.String()
	}
	return ""
}

// crdGroupVersion is the group/version a CRD object serves first.
func crdGroupVersion(crd *unstructured.Unstructured) string {
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	for _, v := range versions {
		if m, ok := v.(map[string]any); ok {
			if served, _ := m["served"].(bool); served {
				return group + "/" + fmt.Sprint(m["name"])
			}
		}
	}
	return group
}
