#!/usr/bin/env bash
# bench/redis_fsync.sh [BUILD_DIR]: what appendfsync always costs against
# everysec (docs/performance.md, "Redis durability"). For each policy it
# starts a redis-server with the append-only file in a temporary directory
# next to the repository (the same disk as .run/), then measures
#   - provisioning-shaped writes: one "ext add" is HSET + SADD, sent the
#     way provision sends them (one blocking client, one command at a
#     time): redis-benchmark -c 1 on a 2-command MULTI-less sequence;
#   - the same with 20 clients (several routers and workers at once);
#   - with BUILD_DIR: `pbxctl ext add` end to end through provision (one
#     pbxctl process per write: dominated by process start-up).
# Ports: Redis 6491, provision 7191 (run it in a network namespace of its
# own on a shared host). Prints a markdown table.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-}
PORT=6491
N=${BENCH_REDIS_N:-20000}
PROV_N=${BENCH_PROV_N:-50}
DIR=$(mktemp -d "$ROOT/.bench-redis.XXXXXX")
trap 'redis-cli -p $PORT shutdown nosave >/dev/null 2>&1; [ -n "${PP:-}" ] && kill $PP 2>/dev/null; rm -rf "$DIR"' EXIT

# rps <redis-benchmark args...>: requests per second it reports.
rps() {
	redis-benchmark -p $PORT -q "$@" 2>/dev/null |
		grep -oE '[0-9.]+ requests per second' | tail -1 | cut -d' ' -f1
}

echo "| appendfsync | 1 client: HSET+SADD pairs/s | 20 clients: HSET/s | pbxctl ext add/s |"
echo "|---|---|---|---|"
for policy in always everysec; do
	rm -rf "${DIR:?}"/*
	redis-server --port $PORT --bind 127.0.0.1 --dir "$DIR" --save '' \
		--appendonly yes --appendfsync $policy --daemonize yes \
		--logfile "$DIR/redis.log" --pidfile "$DIR/redis.pid"
	for _ in $(seq 50); do redis-cli -p $PORT ping >/dev/null 2>&1 && break; sleep 0.1; done
	# One client, two writes per "ext add": requests/s / 2.
	one=$(rps -c 1 -n $N -r 100000 HSET 'pbx:{b}:ext:__rand_int__' ha1 x)
	one_s=$(rps -c 1 -n $N -r 100000 SADD 'pbx:{b}:exts' __rand_int__)
	pairs=$(awk -v a="$one" -v b="$one_s" 'BEGIN{printf "%.0f", 1/(1/a+1/b)}')
	many=$(rps -c 20 -n $N -r 100000 HSET 'pbx:{b}:call:__rand_int__' rev 1)
	prov="-"
	if [ -n "$BUILD" ]; then
		"$BUILD/services/provision/provision" --set metrics_listen=0 --set redis_port=$PORT \
			--set listen=tcp://127.0.0.1:7191 --set log_level=warn \
			>"$DIR/prov.log" 2>&1 &
		PP=$!
		P="$BUILD/services/pbxctl/pbxctl --server tcp://127.0.0.1:7191"
		for _ in $(seq 50); do $P tenant list >/dev/null 2>&1 && break; sleep 0.1; done
		$P tenant create perf >/dev/null
		t0=$(date +%s%N)
		for i in $(seq 10 $((9 + PROV_N))); do
			$P ext add perf "$i" "Kept-pw-$(echo "$i" | tr 0-9 a-j)" >/dev/null
		done
		t1=$(date +%s%N)
		prov=$(awk -v n=$PROV_N -v ns=$((t1 - t0)) 'BEGIN{printf "%.0f", n/(ns/1e9)}')
		kill $PP
		wait $PP 2>/dev/null
		PP=""
	fi
	echo "| $policy | $pairs | $many | $prov |"
	redis-cli -p $PORT shutdown nosave >/dev/null 2>&1
	sleep 0.2
done
