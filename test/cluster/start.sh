#!/usr/bin/env bash
# Starts a Kubernetes cluster on loopback from the binaries build.sh made: etcd,
# kube-apiserver, kube-controller-manager and kube-scheduler, each on a free port, and the
# process kubelet with NODES nodes (default 1; 0 for none), berth-node-0 to berth-node-<NODES-1>,
# with its state in DIR. Waits until the nodes are Ready, writes DIR/kubeconfig (admin, token
# auth) and prints DIR. Stop it with stop.sh DIR. Logs are DIR/<component>.log. KUBELET_FLAGS
# adds flags to process-kubelet (--gpus 1, --labels k=v, --taints k=v:NoSchedule; see its -h).
#
#   dir=$(NODES=3 bash test/cluster/start.sh [DIR])
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
nodes=${NODES:-1}
bin=$(bash "$here/build.sh")
dir=${1:-$(mktemp -d -t berth-cluster-XXXXXX)}
mkdir -p "$dir"
cd "$dir"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
etcd_client=$(free_port) etcd_peer=$(free_port) api=$(free_port)

openssl genrsa -out sa.key 2048 2>/dev/null
openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$token,admin,admin,system:masters" >tokens.csv

fail() { # MESSAGE: stops what started, keeping the logs in $dir
	echo "$1" >&2
	bash "$here/stop.sh" "$dir" || true
	exit 1
}

start() { # NAME COMMAND...: runs it in the background, logging to NAME.log
	local name=$1
	shift
	"$@" >"$name.log" 2>&1 &
	echo "$name $!" >>pids
}

: >pids
start etcd "$bin/etcd" --data-dir "$dir/etcd" --name default \
	--listen-client-urls "http://127.0.0.1:$etcd_client" --advertise-client-urls "http://127.0.0.1:$etcd_client" \
	--listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
	--initial-cluster "default=http://127.0.0.1:$etcd_peer"
start kube-apiserver "$bin/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_client" \
	--bind-address 127.0.0.1 --secure-port "$api" --cert-dir "$dir/certs" \
	--service-account-issuer https://kubernetes.default.svc --service-account-key-file sa.pub \
	--service-account-signing-key-file sa.key --token-auth-file tokens.csv \
	--authorization-mode Node,RBAC --service-cluster-ip-range 10.96.0.0/16

for _ in $(seq 300); do
	curl -sf --cacert "$dir/certs/apiserver.crt" -H "Authorization: Bearer $token" \
		"https://127.0.0.1:$api/readyz" >/dev/null 2>&1 && break
	sleep 0.1
done
cat >kubeconfig <<YAML
apiVersion: v1
kind: Config
clusters:
- name: berth-test
  cluster:
    server: https://127.0.0.1:$api
    certificate-authority: $dir/certs/apiserver.crt
users:
- name: admin
  user:
    token: $token
contexts:
- name: berth-test
  context: {cluster: berth-test, user: admin}
current-context: berth-test
YAML
"$bin/kubectl" --kubeconfig kubeconfig get --raw /readyz >/dev/null ||
	fail "kube-apiserver did not become ready; see $dir/kube-apiserver.log"

start kube-controller-manager "$bin/kube-controller-manager" --kubeconfig kubeconfig \
	--bind-address 127.0.0.1 --secure-port 0 --leader-elect=false \
	--service-account-private-key-file sa.key --root-ca-file "$dir/certs/apiserver.crt" \
	--use-service-account-credentials
start kube-scheduler "$bin/kube-scheduler" --kubeconfig kubeconfig \
	--bind-address 127.0.0.1 --secure-port 0 --leader-elect=false

# NODES=0 is a control plane alone, for tests that need only the API server.
# --restart-backoff 1s: crashing test containers restart within seconds, not minutes.
if [ "$nodes" -gt 0 ]; then
	start process-kubelet "$bin/process-kubelet" --kubeconfig kubeconfig --nodes "$nodes" \
		--node-prefix berth-node --state-dir "$dir/kubelet" --restart-backoff 1s ${KUBELET_FLAGS:-}
fi

# Pods can be created once the namespace's default ServiceAccount exists, and scheduled once
# every node is Ready and the node controller's not-ready taint is gone.
kubectl() { "$bin/kubectl" --kubeconfig kubeconfig "$@"; }
ready() {
	local states
	kubectl get serviceaccount default >/dev/null 2>&1 || return 1
	states=$(kubectl get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status} {.spec.taints[*].key}{"\n"}{end}') || return 1
	[ "$(grep -c '^True' <<<"$states")" -eq "$nodes" ] && ! grep -q 'node.kubernetes.io/' <<<"$states"
}
for _ in $(seq 300); do
	ready && break
	sleep 0.2
done
ready || {
	kubectl get nodes -o wide >&2 || true
	fail "the cluster did not become ready: see the logs in $dir (kube-controller-manager.log, process-kubelet.log)"
}
echo "$dir"
