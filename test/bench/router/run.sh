#!/usr/bin/env bash
# Measures the overhead of berth's scoring router, side by side in one run: wrk against one
# scoring host directly, through berth's router (in `berth server`, with a key), and through
# nginx configured as a reverse proxy to the same scoring host. Loopback only; the runs
# alternate so that a machine that slows down penalises all three alike.
#
#   bash test/bench/router/run.sh [-d SECONDS] [-c CONNECTIONS] [-r ROUNDS] [-w WORKERS]
#
# It installs wrk, nginx and curl with apt when they are missing, builds berth, deploys
# test/bench/scoring/score.py with max_concurrent_requests_per_instance = WORKERS, and prints
# requests/s and p50/p99 latency per run, the medians and the ratios. Targets: the router at
# least 0.95x nginx's requests/s, and under 1 ms more than the direct path at p99.
set -euo pipefail

duration=10
connections=16
rounds=3
workers=2
while getopts "d:c:r:w:" opt; do
	case $opt in
	d) duration=$OPTARG ;;
	c) connections=$OPTARG ;;
	r) rounds=$OPTARG ;;
	w) workers=$OPTARG ;;
	*) sed -n '2,13p' "$0" >&2; exit 2 ;;
	esac
done

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
scoring=$root/test/bench/scoring

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v curl >/dev/null || missing+=(curl)
if ((${#missing[@]})); then
	echo "installing ${missing[*]}" >&2
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi
nginx=$(command -v nginx || echo /usr/sbin/nginx)

tmp=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "building berth" >&2
(cd "$root" && go build -o "$tmp/bin/" ./cmd/berth ./cmd/berth-runtime)
export BERTH_HOME=$tmp/home PATH=$tmp/bin:$PATH
berth server --listen 127.0.0.1:0 --router-listen 127.0.0.1:0 >"$tmp/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do berth version >/dev/null 2>&1 && break; sleep 0.1; done

# The deployment: the scoring benchmark's trivial score.py, every worker in use.
mkdir -p "$tmp/work/code" && cp "$scoring/score.py" "$tmp/work/code/"
echo '{}' >"$tmp/work/model.json"
cat >"$tmp/work/endpoint.yml" <<YAML
name: bench
auth_mode: key
YAML
cat >"$tmp/work/blue.yml" <<YAML
name: blue
endpoint_name: bench
model:
  path: model.json
code_configuration:
  code: code
  scoring_script: score.py
request_settings:
  max_concurrent_requests_per_instance: $workers
  max_queue_wait_ms: 10000
YAML
(cd "$tmp/work" && berth online-endpoint create -f endpoint.yml -o none &&
	berth online-deployment create -f blue.yml --all-traffic -o none)
direct=$(berth online-deployment show -n blue -e bench --query 'instances[0].url' -o tsv | sed 's#http://##')
uri=$(berth online-endpoint show -n bench --query scoring_uri -o tsv)
router=$(echo "$uri" | sed -E 's#http://([^/]+)/.*#\1#')
key=$(berth online-endpoint get-credentials -n bench --query primaryKey -o tsv)

# nginx: the same upstream, keep-alive connections to it, and no access log, while berth's
# router writes a line per request to the server's log: if anything, this favours nginx.
nginx_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx/nginx.conf" <<CONF
worker_processes auto;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx;
  proxy_temp_path $tmp/nginx;
  upstream scoring { server $direct; keepalive 64; }
  server {
    listen 127.0.0.1:$nginx_port;
    location / {
      proxy_pass http://scoring/score;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
CONF
"$nginx" -c "$tmp/nginx/nginx.conf" -p "$tmp/nginx" &
pids+=($!)
for _ in $(seq 100); do curl -sf -X POST -d '{}' "http://127.0.0.1:$nginx_port/" >/dev/null && break; sleep 0.1; done

cat >"$tmp/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"data": [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $key"
LUA

to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0
		if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000
		printf "%.3f", n
	}'
}

# measure NAME URL SECONDS: one wrk run; prints "rps p50_ms p99_ms errors".
measure() {
	local out="$tmp/$1.wrk"
	wrk -t1 -c"$connections" -d"$3"s --latency -s "$tmp/post.lua" "$2" >"$out"
	local rps p50 p99 errors
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
	p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
	p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
	errors=$(awk '/Non-2xx or 3xx responses:/ {n += $NF} /Socket errors:/ {for (i = 4; i <= NF; i += 2) n += $i} END {print n + 0}' "$out")
	echo "$rps $p50 $p99 $errors"
}

declare -A url=([direct]="http://$direct/score" [router]="$uri" [nginx]="http://127.0.0.1:$nginx_port/")
echo "warming up" >&2
for s in direct router nginx; do measure "$s" "${url[$s]}" 2 >/dev/null; done

echo
echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
echo "load: wrk -t1 -c$connections -d${duration}s POST, one scoring host with $workers workers, $rounds rounds"
echo
printf '%-6s %-7s %12s %10s %10s %8s\n' round path "requests/s" "p50 ms" "p99 ms" errors
declare -a direct_rps router_rps nginx_rps direct_p99 router_p99 nginx_p99 direct_p50 router_p50 nginx_p50
for round in $(seq "$rounds"); do
	for s in direct router nginx; do
		read -r rps p50 p99 errors < <(measure "$s" "${url[$s]}" "$duration")
		printf '%-6s %-7s %12.0f %10.3f %10.3f %8d\n' "$round" "$s" "$rps" "$p50" "$p99" "$errors"
		eval "${s}_rps+=($rps) ${s}_p50+=($p50) ${s}_p99+=($p99)"
	done
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
echo
for s in direct router nginx; do
	eval "r=\$(median \"\${${s}_rps[@]}\") p50=\$(median \"\${${s}_p50[@]}\") p99=\$(median \"\${${s}_p99[@]}\")"
	printf '%-14s %12.0f %10.3f %10.3f\n' "median $s" "$r" "$p50" "$p99"
	eval "m_${s}_rps=$r m_${s}_p99=$p99"
done
ratio=$(awk -v a="$m_router_rps" -v b="$m_nginx_rps" 'BEGIN {printf "%.2f", a / b}')
added=$(awk -v a="$m_router_p99" -v b="$m_direct_p99" 'BEGIN {printf "%.3f", a - b}')
echo "router/nginx requests/s: ${ratio}x; router p99 minus direct p99: ${added} ms"
if awk -v r="$ratio" -v a="$added" 'BEGIN {exit !(r >= 0.95 && a < 1)}'; then
	echo "target met: at least 0.95x nginx's requests/s and under 1 ms added at p99"
else
	echo "target missed: want at least 0.95x nginx's requests/s and under 1 ms added at p99"
fi
