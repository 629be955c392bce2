#!/usr/bin/env bash
# Measures `berth-runtime score` against the same score.py under Flask and gunicorn (sync
# workers), side by side in one run: the same interpreter (/usr/bin/python3), the same worker
# count, the same wrk load, on 127.0.0.1 only. The runs alternate so that a machine that
# slows down during the run penalises both alike.
#
#   bash test/bench/scoring/run.sh [-d SECONDS] [-c CONNECTIONS] [-r ROUNDS] [-w WORKERS]
#
# It installs wrk, gunicorn and python3-flask with apt when they are missing, builds
# berth-runtime, and prints requests/s and p50/p99 latency per run, the medians and the ratio.
# berth's target: at least 1.5x gunicorn's requests/s at an equal or lower p99.
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
	*) sed -n '2,12p' "$0" >&2; exit 2 ;;
	esac
done

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
python=/usr/bin/python3

# Packages: wrk drives the load; gunicorn and Flask are the baseline, from Debian so that they
# run on the same /usr/bin/python3 as berth's workers.
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v gunicorn >/dev/null || missing+=(gunicorn)
$python -c 'import flask' 2>/dev/null || missing+=(python3-flask)
command -v curl >/dev/null || missing+=(curl)
if ((${#missing[@]})); then
	echo "installing ${missing[*]}" >&2
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "building berth-runtime" >&2
(cd "$root" && go build -o "$tmp/berth-runtime" ./cmd/berth-runtime)

# wait_for_line FILE REGEX: prints the first match of REGEX (extended) in FILE, waiting up to
# 30 s for it to appear.
wait_for_line() {
	for _ in $(seq 300); do
		if line=$(grep -oE "$2" "$1" 2>/dev/null | head -1) && [[ -n $line ]]; then
			echo "$line"
			return 0
		fi
		sleep 0.1
	done
	echo "gave up waiting for /$2/ in $1:" >&2
	cat "$1" >&2
	return 1
}

# berth: the access log goes to a file, as a deployment's log would; --max-concurrent-requests
# equals the worker count, so every worker is used and the rest queue in berth's FIFO.
"$tmp/berth-runtime" score --script "$here/score.py" --python $python --workers "$workers" \
	--max-concurrent-requests "$workers" --port 0 >"$tmp/berth.out" 2>"$tmp/berth.log" &
pids+=($!)
berth_addr=$(wait_for_line "$tmp/berth.log" 'address=[0-9.]+:[0-9]+' | cut -d= -f2)
for _ in $(seq 300); do
	curl -sf "http://$berth_addr/ready" >/dev/null && break
	sleep 0.1
done
curl -sf "http://$berth_addr/ready" >/dev/null || { echo "berth never became ready" >&2; cat "$tmp/berth.log" >&2; exit 1; }

# gunicorn with sync workers, the default of Azure ML's inference server. It logs the port it
# got at info level; it keeps no access log by default.
(cd "$here" && exec gunicorn --workers "$workers" --worker-class sync --bind 127.0.0.1:0 \
	flask_app:app >"$tmp/gunicorn.out" 2>"$tmp/gunicorn.log") &
pids+=($!)
gunicorn_addr=$(wait_for_line "$tmp/gunicorn.log" 'Listening at: http://[0-9.]+:[0-9]+' | sed 's#.*http://##')
for _ in $(seq 300); do
	curl -sf -X POST -d '{"data": []}' "http://$gunicorn_addr/score" >/dev/null && break
	sleep 0.1
done
curl -sf -X POST -d '{"data": []}' "http://$gunicorn_addr/score" >/dev/null ||
	{ echo "gunicorn never answered" >&2; cat "$tmp/gunicorn.log" >&2; exit 1; }

# to_ms VALUE: wrk prints latencies as 812.00us, 1.25ms or 1.02s.
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0
		if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000
		printf "%.2f", n
	}'
}

# measure NAME ADDR SECONDS: one wrk run; prints "rps p50_ms p99_ms errors".
measure() {
	local out="$tmp/$1.wrk"
	wrk -t1 -c"$connections" -d"$3"s --latency -s "$here/post.lua" "http://$2/score" >"$out"
	local rps p50 p99 errors
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
	p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
	p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
	errors=$(awk '/Non-2xx or 3xx responses:/ {n += $NF} /Socket errors:/ {for (i = 4; i <= NF; i += 2) n += $i} END {print n + 0}' "$out")
	echo "$rps $p50 $p99 $errors"
}

echo "warming up" >&2
measure berth "$berth_addr" 2 >/dev/null
measure gunicorn "$gunicorn_addr" 2 >/dev/null

echo
echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
echo "load: wrk -t1 -c$connections -d${duration}s POST /score, $workers workers each, $rounds rounds"
echo
printf '%-6s %-9s %12s %10s %10s %8s\n' round server "requests/s" "p50 ms" "p99 ms" errors
declare -a berth_rps gunicorn_rps berth_p99 gunicorn_p99 berth_p50 gunicorn_p50
for round in $(seq "$rounds"); do
	for server in berth gunicorn; do
		addr=${server}_addr
		read -r rps p50 p99 errors < <(measure "$server" "${!addr}" "$duration")
		printf '%-6s %-9s %12.0f %10.2f %10.2f %8d\n' "$round" "$server" "$rps" "$p50" "$p99" "$errors"
		eval "${server}_rps+=($rps) ${server}_p50+=($p50) ${server}_p99+=($p99)"
	done
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
b_rps=$(median "${berth_rps[@]}")
g_rps=$(median "${gunicorn_rps[@]}")
b_p50=$(median "${berth_p50[@]}")
g_p50=$(median "${gunicorn_p50[@]}")
b_p99=$(median "${berth_p99[@]}")
g_p99=$(median "${gunicorn_p99[@]}")
echo
printf '%-16s %12.0f %10.2f %10.2f\n' "median berth" "$b_rps" "$b_p50" "$b_p99"
printf '%-16s %12.0f %10.2f %10.2f\n' "median gunicorn" "$g_rps" "$g_p50" "$g_p99"
ratio=$(awk -v b="$b_rps" -v g="$g_rps" 'BEGIN {printf "%.2f", b / g}')
echo "berth/gunicorn requests/s: ${ratio}x; p99 berth ${b_p99} ms vs gunicorn ${g_p99} ms"
if awk -v r="$ratio" -v b="$b_p99" -v g="$g_p99" 'BEGIN {exit !(r >= 1.5 && b <= g)}'; then
	echo "target met: at least 1.5x the requests/s at an equal or lower p99"
else
	echo "target missed: want at least 1.5x the requests/s at an equal or lower p99"
fi
