package main

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// snapshot is the pod as the API server should see it: the latest object from the API
// server, with the status this kubelet owns.
func (p *podRuntime) snapshot() *corev1.Pod {
	p.mu.Lock()
	defer p.mu.Unlock()
	pod := p.current.DeepCopy()
	s := &pod.Status
	s.Phase = p.phaseLocked()
	s.HostIP, s.HostIPs = hostIP, []corev1.HostIP{{IP: hostIP}}
	s.PodIP, s.PodIPs = p.ip, []corev1.PodIP{{IP: p.ip}}
	start := p.startTime
	s.StartTime = &start
	s.InitContainerStatuses = p.containerStatusesLocked(p.init)
	s.ContainerStatuses = p.containerStatusesLocked(p.containers)
	s.Conditions = p.conditionsLocked(s.Conditions, s.Phase)
	return pod
}

func (p *podRuntime) containerStatusesLocked(cs []*container) []corev1.ContainerStatus {
	var out []corev1.ContainerStatus
	for _, c := range cs {
		st := corev1.ContainerStatus{
			Name:                 c.spec.Name,
			Image:                c.spec.Image,
			ImageID:              "ignored-by-process-kubelet://" + c.spec.Image,
			RestartCount:         c.restarts,
			State:                *c.state.DeepCopy(),
			LastTerminationState: *c.last.DeepCopy(),
			Ready:                c.ready,
		}
		started := c.state.Running != nil && c.started
		st.Started = &started
		if c.proc != nil {
			st.ContainerID = containerID(c.proc.pid)
		} else if t := c.state.Terminated; t != nil {
			st.ContainerID = t.ContainerID
		}
		if w := st.State.Waiting; w != nil && c.runs == 0 && (w.Reason == "ContainerCreating" || w.Reason == "PodInitializing") {
			// Not started yet: say what it waits for.
			switch {
			case !p.prepared:
				st.State.Waiting = &corev1.ContainerStateWaiting{Reason: p.waitReason, Message: p.waitMessage}
			case !c.init && !p.initDone:
				st.State.Waiting = &corev1.ContainerStateWaiting{Reason: "PodInitializing"}
			default:
				st.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
			}
		}
		out = append(out, st)
	}
	return out
}

// phaseLocked follows the kubelet's rules: Pending until the init containers are done and
// every container has started; Running while one runs or will restart; Succeeded or Failed
// once every container has stopped for good.
func (p *podRuntime) phaseLocked() corev1.PodPhase {
	if p.phase != "" {
		return p.phase
	}
	if !p.initDone {
		return corev1.PodPending
	}
	running, waiting, stopped, succeeded := 0, 0, 0, 0
	for _, c := range p.containers {
		switch {
		case c.state.Running != nil:
			running++
		case c.state.Terminated != nil:
			stopped++
			if c.state.Terminated.ExitCode == 0 {
				succeeded++
			}
		case c.last.Terminated != nil: // waiting to restart
			stopped++
		default:
			waiting++
		}
	}
	switch {
	case waiting > 0:
		return corev1.PodPending
	case running > 0:
		return corev1.PodRunning
	case stopped > 0 && p.pod.Spec.RestartPolicy == corev1.RestartPolicyAlways:
		return corev1.PodRunning // every container is restarting
	case stopped > 0 && stopped == succeeded:
		return corev1.PodSucceeded
	case stopped > 0 && p.pod.Spec.RestartPolicy == corev1.RestartPolicyNever:
		return corev1.PodFailed
	}
	return corev1.PodRunning // OnFailure, restarting the ones that failed
}

// terminalPhaseLocked is the phase of a pod none of whose containers will run again:
// Succeeded if every container exited 0, Failed otherwise.
func (p *podRuntime) terminalPhaseLocked() corev1.PodPhase {
	if p.phase != "" {
		return p.phase
	}
	if !p.initDone {
		return corev1.PodFailed
	}
	for _, c := range p.containers {
		if c.state.Terminated == nil || c.state.Terminated.ExitCode != 0 {
			return corev1.PodFailed
		}
	}
	return corev1.PodSucceeded
}

// conditionsLocked keeps the conditions others own (PodScheduled, DisruptionTarget, readiness
// gates) and sets the kubelet's, keeping each one's transition time while its status holds.
func (p *podRuntime) conditionsLocked(existing []corev1.PodCondition, phase corev1.PodPhase) []corev1.PodCondition {
	owned := map[corev1.PodConditionType]bool{
		corev1.PodReadyToStartContainers: true, corev1.PodInitialized: true,
		corev1.ContainersReady: true, corev1.PodReady: true,
	}
	var out []corev1.PodCondition
	for _, c := range existing {
		if !owned[c.Type] {
			out = append(out, c)
		}
	}
	terminal := phase == corev1.PodSucceeded || phase == corev1.PodFailed

	set := func(t corev1.PodConditionType, ok bool, reason, message string) {
		status := corev1.ConditionFalse
		if ok {
			status, reason, message = corev1.ConditionTrue, "", ""
		}
		c := corev1.PodCondition{Type: t, Status: status, Reason: reason, Message: message,
			LastTransitionTime: metav1.Now()}
		if old, found := p.conditions[t]; found && old.Status == status {
			c.LastTransitionTime = old.LastTransitionTime
		}
		p.conditions[t] = c
		out = append(out, c)
	}

	set(corev1.PodReadyToStartContainers, p.prepared && !terminal, "", "")

	var notInit []string
	for _, c := range p.init {
		if !(c.state.Terminated != nil && c.state.Terminated.ExitCode == 0) {
			notInit = append(notInit, c.spec.Name)
		}
	}
	initialized := p.initDone || len(notInit) == 0
	set(corev1.PodInitialized, initialized, "ContainersNotInitialized",
		fmt.Sprintf("containers with incomplete status: [%s]", strings.Join(notInit, " ")))

	var notReady []string
	for _, c := range p.containers {
		if !c.ready {
			notReady = append(notReady, c.spec.Name)
		}
	}
	reason, message := "ContainersNotReady", fmt.Sprintf("containers with unready status: [%s]", strings.Join(notReady, " "))
	if terminal {
		reason, message = "PodCompleted", ""
	}
	containersReady := len(notReady) == 0 && !terminal
	set(corev1.ContainersReady, containersReady, reason, message)

	ready := containersReady
	for _, gate := range p.pod.Spec.ReadinessGates {
		if !conditionTrue(existing, gate.ConditionType) {
			ready = false
			if containersReady {
				reason, message = "ReadinessGatesNotReady", fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist or is not True", gate.ConditionType)
			}
		}
	}
	set(corev1.PodReady, ready, reason, message)
	return out
}

func conditionTrue(conditions []corev1.PodCondition, t corev1.PodConditionType) bool {
	for _, c := range conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
