#!/usr/bin/env bash
# Stops a control plane start.sh started in DIR: etcd last, so the others shut down cleanly.
#
#   bash test/cluster/stop.sh DIR
set -euo pipefail
dir=${1:?usage: stop.sh DIR (the folder start.sh printed)}
[ -f "$dir/pids" ] || { echo "$dir has no pids file; was the cluster started there?" >&2; exit 2; }
stop() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
}
for name in kube-scheduler kube-controller-manager kube-apiserver etcd; do
	pid=$(awk -v n="$name" '$1 == n {print $2}' "$dir/pids")
	[ -n "$pid" ] && stop "$pid"
done
rm -f "$dir/pids"
