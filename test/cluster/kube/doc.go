// Package kube pins the Kubernetes release whose control plane the test cluster runs
// (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl). It is a module of its
// own so that berth's module never depends on k8s.io/kubernetes; build.sh builds the
// commands from it.
package kube

import _ "k8s.io/kubernetes/cmd/kube-apiserver/app" // keeps the requirement in go.mod
