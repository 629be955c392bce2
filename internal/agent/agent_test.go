package agent

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	v1 "berth/api/v1"
)

func TestBackoffDoublesToAMinuteWithJitter(t *testing.T) {
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second,
		6: 32 * time.Second, 7: time.Minute, 100: time.Minute} {
		for range 200 {
			if d := Backoff(n); d < want/2 || d > want {
				t.Fatalf("Backoff(%d) = %s, want within [%s, %s]", n, d, want/2, want)
			}
		}
	}
}

func TestIsDevicePlugin(t *testing.T) {
	tests := []struct {
		name, image string
		want        bool
	}{
		{"nvidia-device-plugin-daemonset", "busybox", true},
		{"gpu-feature", "nvcr.io/nvidia/k8s-device-plugin:v0.17.0", true},
		{"fluent-bit", "fluent/fluent-bit:3.2", false},
	}
	for _, tt := range tests {
		if got := isDevicePlugin(tt.name, []corev1.Container{{Image: tt.image}}); got != tt.want {
			t.Errorf("isDevicePlugin(%q, %q) = %v, want %v", tt.name, tt.image, got, tt.want)
		}
	}
}

func TestCloudOf(t *testing.T) {
	for id, want := range map[string]string{
		"azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/n": "azure",
		"aws:///eu-west-1a/i-0123": "aws",
		"gce://project/zone/node":  "gcp",
		"kind://docker/kind/node":  "",
		"":                         "",
	} {
		inv := &v1.Inventory{Nodes: []v1.Node{{Name: "n", ProviderID: id}}}
		if got := cloudOf(inv); got != want {
			t.Errorf("cloudOf(%q) = %q, want %q", id, got, want)
		}
	}
}

func TestDeploymentReady(t *testing.T) {
	one, three := int32(1), int32(3)
	tests := []struct {
		name       string
		d          appsv1.Deployment
		ready, bad bool
		why        string
	}{
		{"all replicas available", appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: &three},
			Status: appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3}}, true, false, ""},
		{"an old pod serves while the new one is Pending", appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: &one},
			Status: appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 1, AvailableReplicas: 1}}, false, false,
			"rolling out: new pods 1, old pods left 1"},
		{"one replica missing", appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: &three},
			Status: appsv1.DeploymentStatus{UpdatedReplicas: 3, AvailableReplicas: 2}}, false, false, "2 of 3 replicas available"},
		{"an update not yet seen by the controller", appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: &three},
			Status: appsv1.DeploymentStatus{ObservedGeneration: 1, UpdatedReplicas: 3, AvailableReplicas: 3}}, false, false, "3 of 3 replicas available"},
		{"past its progress deadline", appsv1.Deployment{Status: appsv1.DeploymentStatus{Conditions: []appsv1.DeploymentCondition{{
			Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded",
			Message: `ReplicaSet "r" has timed out progressing.`}}}}, false, true, `ReplicaSet "r" has timed out progressing.`},
	}
	tests[3].d.Generation = 2
	for _, tt := range tests {
		ready, stuck, why, err := deploymentReady(&tt.d)
		if err != nil || ready != tt.ready || stuck != tt.bad || why != tt.why {
			t.Errorf("%s: deploymentReady = %v, %v, %q, %v; want %v, %v, %q", tt.name, ready, stuck, why, err, tt.ready, tt.bad, tt.why)
		}
	}
}
