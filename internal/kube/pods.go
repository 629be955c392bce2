package kube

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Waiting is a container held back for a reason of its own (CrashLoopBackOff,
// ImagePullBackOff...), as kubectl get pods shows it.
type Waiting struct {
	Pod, Container, Reason, Message string
	// LastExit is the exit code of the container's last run, -1 when it has not ended one.
	LastExit int32
}

func (w Waiting) String() string {
	s := fmt.Sprintf("pod %s: container %s is %s", w.Pod, w.Container, w.Reason)
	if w.Message != "" {
		s += ": " + w.Message
	}
	if w.LastExit >= 0 {
		s += fmt.Sprintf(" (its last run exited with code %d)", w.LastExit)
	}
	return s
}

// PodsWaiting finds the first container of the pods selector matches in namespace ns that is
// held back; ok is false when none is, or the pods cannot be read.
func PodsWaiting(ctx context.Context, kc kubernetes.Interface, ns string, selector *metav1.LabelSelector) (w Waiting, ok bool) {
	sel, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		return Waiting{}, false
	}
	pods, err := kc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return Waiting{}, false
	}
	return FirstWaiting(pods.Items)
}

// FirstWaiting is PodsWaiting's reading of the pods: init containers first, and a container
// still being created is not held back.
func FirstWaiting(pods []corev1.Pod) (Waiting, bool) {
	for _, p := range pods {
		for _, cs := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
			w := cs.State.Waiting
			if w == nil || w.Reason == "" || w.Reason == "ContainerCreating" || w.Reason == "PodInitializing" {
				continue
			}
			last := int32(-1)
			if t := cs.LastTerminationState.Terminated; t != nil {
				last = t.ExitCode
			}
			return Waiting{Pod: p.Name, Container: cs.Name, Reason: w.Reason, Message: w.Message, LastExit: last}, true
		}
	}
	return Waiting{}, false
}
