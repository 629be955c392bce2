#!/usr/bin/env bash
# Stops a cluster start.sh started in DIR: the process kubelet first (it kills every pod's
# processes), etcd last, so the others shut down cleanly.
#
#   bash test/cluster/stop.sh DIR
set -euo pipefail
dir=${1:?usage: stop.sh DIR (the folder start.sh printed)}
[ -f "$dir/pids" ] || { echo "$dir has no pids file; was the cluster started there?" >&2; exit 2; }
# running PID: the process exists and is not a zombie (start.sh's children are reparented,
# and here PID 1 may be slow to reap them).
running() {
	local state
	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$state" ] && [ "$state" != Z ]
}
stop() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 100); do running "$pid" || return 0; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
}
for name in process-kubelet kube-scheduler kube-controller-manager kube-apiserver etcd; do
	for pid in $(awk -v n="$name" '$1 == n {print $2}' "$dir/pids"); do stop "$pid"; done
done
rm -f "$dir/pids"
