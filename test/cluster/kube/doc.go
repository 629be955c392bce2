// Package kube pins the Kubernetes release whose control plane the test cluster runs
// (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl). It is a module of its
// own so that berth's module never depends on k8s.io/kubernetes; build.sh builds the
// commands from it. The blank import keeps the requirement in go.mod.
package kube

import _ "k8s.io/kubernetes/pkg/version"
