#!/usr/bin/env bash
# Builds the test cluster's binaries once and caches them outside the repository:
# etcd (v3.6) and kube-apiserver, kube-controller-manager, kube-scheduler and kubectl
# (Kubernetes v1.37.2), all from the Go module proxy, and the process kubelet from
# test/cluster/kubelet. Prints the bin folder, which holds all six.
#
#   bash test/cluster/build.sh        # BERTH_CLUSTER_CACHE overrides ~/.cache/berth/cluster
#
# A cold build of the control plane takes about 12 minutes on two cores, the process kubelet
# about 2; later runs find the binaries and return at once. The kubelet's folder is named
# after a hash of its sources, so editing them rebuilds it and only it. The Go build cache it
# fills is Go's own (go env GOCACHE), not this folder.
set -euo pipefail

K8S_VERSION=v1.37.2
STAGING_VERSION=v0.37.2
ETCD_VERSION=v3.6.16
here=$(cd "$(dirname "$0")" && pwd)
cache=${BERTH_CLUSTER_CACHE:-$HOME/.cache/berth/cluster}/$K8S_VERSION-etcd-$ETCD_VERSION
binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl)

export GOFLAGS=-mod=mod GOTOOLCHAIN=local

# build_kubelet builds process-kubelet into kubelet-<hash of its sources>/, beside links to
# the control plane's binaries, and prints that folder.
build_kubelet() {
	local hash bin
	hash=$(cd "$here/kubelet" && ls go.mod go.sum *.go | grep -v '_test\.go$' | xargs sha256sum | sha256sum | cut -c1-16)
	bin=$cache/kubelet-$hash
	if [ ! -x "$bin/process-kubelet" ]; then
		echo "building process-kubelet" >&2
		mkdir -p "$bin"
		(cd "$here/kubelet" && go build -trimpath -ldflags "-s -w" -o "$bin/process-kubelet.new" .)
		mv "$bin/process-kubelet.new" "$bin/process-kubelet"
		for b in "${binaries[@]}"; do ln -sfn "../$b" "$bin/$b"; done
		# Keep the three newest kubelet builds: another checkout may still use an older one.
		ls -dt "$cache"/kubelet-* | tail -n +4 | xargs -r rm -rf
	fi
	echo "$bin"
}

complete() {
	for b in "${binaries[@]}"; do [ -x "$cache/$b" ] || return 1; done
}
if complete; then
	build_kubelet
	exit 0
fi
mkdir -p "$cache"

echo "building etcd $ETCD_VERSION" >&2
(cd "$here/etcd" && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2 &&
	go build -trimpath -o "$cache/etcd.new" . && mv "$cache/etcd.new" "$cache/etcd")

echo "building Kubernetes $K8S_VERSION" >&2
cd "$here/kube"
# k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with folders of
# its own repository; used as a dependency, each must be replaced by its published release.
proxy=$(go env GOPROXY | cut -d, -f1)
if ! grep -q "k8s.io/kubernetes $K8S_VERSION" go.mod 2>/dev/null; then
	printf 'module berth/testcluster/kube\n\ngo 1.26\n\nrequire k8s.io/kubernetes %s\n' "$K8S_VERSION" >go.mod
	curl -fsS "$proxy/k8s.io/kubernetes/@v/$K8S_VERSION.mod" |
		sed -n 's#^\t\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' |
		while read -r mod; do
			echo "replace $mod => $mod $STAGING_VERSION" >>go.mod
		done
fi
ldflags="-X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1"
ldflags+=" -X k8s.io/component-base/version.gitMinor=37 -X k8s.io/component-base/version.gitTreeState=clean"
ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"
for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
	echo "  $cmd" >&2
	go build -trimpath -ldflags "$ldflags" -o "$cache/$cmd.new" "k8s.io/kubernetes/cmd/$cmd"
	mv "$cache/$cmd.new" "$cache/$cmd"
done
build_kubelet
