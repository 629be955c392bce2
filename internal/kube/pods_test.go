package kube

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestFirstWaiting(t *testing.T) {
	waiting := func(name, reason, msg string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}
	}
	pod := func(name string, init []corev1.ContainerStatus, ctrs ...corev1.ContainerStatus) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.PodStatus{InitContainerStatuses: init, ContainerStatuses: ctrs}}
	}
	crashed := waiting("prom", "CrashLoopBackOff", "back-off 40s restarting failed container=prom")
	crashed.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 127}
	running := corev1.ContainerStatus{Name: "ok", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
	tests := []struct {
		name string
		pods []corev1.Pod
		want string
	}{
		{"no pods", nil, ""},
		{"running and starting", []corev1.Pod{pod("a", nil, running, waiting("b", "ContainerCreating", ""))}, ""},
		{"crash loop", []corev1.Pod{pod("a", nil, running), pod("b", nil, running, crashed)},
			"pod b: container prom is CrashLoopBackOff: back-off 40s restarting failed container=prom (its last run exited with code 127)"},
		{"image pull without message", []corev1.Pod{pod("a", nil, waiting("x", "ImagePullBackOff", ""))}, "pod a: container x is ImagePullBackOff"},
		{"init container first", []corev1.Pod{pod("a", []corev1.ContainerStatus{waiting("init", "CreateContainerConfigError", "secret \"s\" not found")}, waiting("main", "PodInitializing", ""))},
			"pod a: container init is CreateContainerConfigError: secret \"s\" not found"},
	}
	for _, tt := range tests {
		w, ok := FirstWaiting(tt.pods)
		if got := w.String(); ok != (tt.want != "") || (ok && got != tt.want) {
			t.Errorf("%s: FirstWaiting = %q, %v; want %q", tt.name, got, ok, tt.want)
		}
	}
}
