#!/usr/bin/env bash
# bench/run.sh BUILD_DIR: runs every benchmark under bench/ in turn, each
# with a bounded duration, and prints each result (markdown tables, as in
# docs/performance.md). Builds nothing: `make bench` builds BUILD_DIR
# (release) and calls this. About 6 minutes with the defaults, at most
# about 20 (each bench has a time limit).
#
#   scenario  bench/scenario/scenario_bench with its own redis-server on a
#             free port (decisions/s, p50/p99, Redis round trips)
#   bridge    bench/media/bridge_bench: bridged calls one worker holds on
#             one core, beside a plain UDP relay (a short ramp by default)
#   playback  bridge_bench --playback (B3): callers hearing a long greeting
#             on one worker core, talking callers then silent ones, each
#             beside a bare UDP echo on the same core; lateness, loss,
#             spacing and bursts at the receiving side (its own
#             redis-server on a free port holds the prompt)
#   stack     call setup (INVITE -> 200 OK) through the whole stack with
#             SIPp; starts its own stack (scripts/stack.sh) on the standard
#             ports, and only if nothing listens on them
#
# Environment:
#   BENCH_ONLY      comma-separated subset (default
#                   scenario,bridge,playback,stack)
#   BENCH_STEPS     bridge_bench steps (default 250,500,1000,1200,1400)
#   BENCH_PLAY_STEPS  playback steps, in callers (legs) (default
#                   1000,2000,2400,3000)
#   BENCH_MEASURE   bridge_bench seconds per step (default 5)
#   BENCH_TRIES     measurements a bridge/playback step may take to pass
#                   (default 3: a shared host's stalls are sporadic,
#                   saturation fails them all)
#   BENCH_RT        1 (default): worker and bench at SCHED_FIFO as in
#                   docs/performance.md; 0: --no-rt (kinder to a shared
#                   host, noisier numbers)
#   BENCH_CALLS     stack: calls (default 500) at BENCH_CPS (default 50)
#
# Exit status: 0 if every selected bench ran; 1 if one failed or could not
# run (ports in use, a tool missing, over its time limit); 2 usage.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-}
if [ -z "$BUILD" ] || [ ! -d "$BUILD" ]; then
	echo "usage: $0 BUILD_DIR   (make bench builds it and calls this)" >&2
	exit 2
fi
BUILD=$(cd "$BUILD" && pwd)
ONLY=${BENCH_ONLY:-scenario,bridge,playback,stack}
STEPS=${BENCH_STEPS:-250,500,1000,1200,1400}
PLAY_STEPS=${BENCH_PLAY_STEPS:-1000,2000,2400,3000}
MEASURE=${BENCH_MEASURE:-5}
TRIES=${BENCH_TRIES:-3}
RT=${BENCH_RT:-1}
CALLS=${BENCH_CALLS:-500}
CPS=${BENCH_CPS:-50}
TMP=$(mktemp -d /tmp/pbx-bench.XXXXXX)

declare -A RESULT
ORDER=()
REDIS_PID=
STACK_RUN=

log() { echo "bench: $*" >&2; }

cleanup() {
	[ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null
	if [ -n "$STACK_RUN" ]; then
		PBX_BUILD=$BUILD PBX_RUN=$STACK_RUN "$ROOT/scripts/stack.sh" \
			stop >/dev/null 2>&1
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

selected() { [[ ",$ONLY," == *",$1,"* ]]; }

# listening <tcp|udp> <port>: something on this host listens there.
listening() {
	local flag=-lnt
	[ "$1" = udp ] && flag=-lnu
	ss -H $flag "( sport = :$2 )" 2>/dev/null | grep -q .
}

# busy_ports <proto/port...>: prints the ones in use.
busy_ports() {
	local p busy=
	for p in "$@"; do
		listening "${p%/*}" "${p#*/}" && busy="$busy ${p#*/}/${p%/*}"
	done
	echo "${busy# }"
}

free_tcp_port() {
	local p
	for p in $(seq 6411 6499); do
		listening tcp "$p" || { echo "$p"; return 0; }
	done
	return 1
}

# run_bench <name> <seconds> <command...>: runs it under a time limit,
# output to the terminal and to $TMP/<name>.out.
run_bench() {
	local name=$1 limit=$2 rc
	shift 2
	timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$TMP/$name.out"
	rc=${PIPESTATUS[0]}
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		log "$name: over its ${limit}s limit"
	fi
	return "$rc"
}

record() {
	ORDER+=("$1")
	RESULT[$1]=$2
}

# ---- scenario decisions ------------------------------------------------
bench_scenario() {
	local bin=$BUILD/bench/scenario/scenario_bench port
	[ -x "$bin" ] || { log "scenario: $bin not built"; return 1; }
	command -v redis-server >/dev/null || { log "scenario: no redis-server"; return 1; }
	port=$(free_tcp_port) || { log "scenario: no free port for redis"; return 1; }
	redis-server --port "$port" --bind 127.0.0.1 --save '' \
		--appendonly no --dir "$TMP" >"$TMP/redis.log" 2>&1 &
	REDIS_PID=$!
	for _ in $(seq 50); do
		redis-cli -p "$port" ping >/dev/null 2>&1 && break
		sleep 0.1
	done
	redis-cli -p "$port" ping >/dev/null 2>&1 ||
		{ log "scenario: redis-server did not start"; return 1; }
	echo "## Scenario decisions (Redis on port $port)"
	echo
	run_bench scenario 180 taskset -c 1 "$bin" --redis-port "$port"
	local rc=$?
	kill "$REDIS_PID" 2>/dev/null
	wait "$REDIS_PID" 2>/dev/null
	REDIS_PID=
	[ $rc = 0 ] && grep -q '^| walk step | 1000 ' "$TMP/scenario.out"
}

# ---- bridged calls -------------------------------------------------------
bench_bridge() {
	local bin=$BUILD/bench/media/bridge_bench busy rt=()
	[ -x "$bin" ] || { log "bridge: $bin not built"; return 1; }
	# Its own fixed ports (bench/media/bridge_bench.c).
	busy=$(busy_ports udp/5380 udp/5390 tcp/7390 udp/33000 udp/33002)
	if [ -n "$busy" ]; then
		log "bridge: ports in use: $busy"
		return 1
	fi
	[ "$RT" = 1 ] || rt=(--no-rt)
	echo "## Bridged calls (steps $STEPS, ${MEASURE}s each)"
	echo
	# Each step: the ramp at 200 calls/s, 1 s settling, the measurement;
	# twice (worker, then relay): about 90 s for the default steps.
	run_bench bridge 300 "$bin" --steps "$STEPS" --measure "$MEASURE" \
		--tries "$TRIES" "${rt[@]}"
}

# ---- callers hearing a prompt (B3) ---------------------------------------
bench_playback() {
	local bin=$BUILD/bench/media/bridge_bench busy rt=() port kind rc=0
	[ -x "$bin" ] || { log "playback: $bin not built"; return 1; }
	command -v redis-server >/dev/null || { log "playback: no redis-server"; return 1; }
	# The same fixed ports as bridge (they run one after the other).
	busy=$(busy_ports udp/5380 udp/5390 tcp/7390 udp/33000 udp/33002)
	if [ -n "$busy" ]; then
		log "playback: ports in use: $busy"
		return 1
	fi
	port=$(free_tcp_port) || { log "playback: no free port for redis"; return 1; }
	[ "$RT" = 1 ] || rt=(--no-rt)
	# Each: the ramp at 200 calls/s to the largest step, 1 s settling and
	# the measurement per step, for the worker then the echo: about
	# 70 s each with the defaults.
	for kind in talking silent; do
		echo "## Playback, $kind callers (steps $PLAY_STEPS, ${MEASURE}s each)"
		echo
		run_bench "playback-$kind" 300 "$bin" --playback "$kind" \
			--redis-port "$port" --steps "$PLAY_STEPS" \
			--measure "$MEASURE" --tries "$TRIES" "${rt[@]}" || rc=1
		echo
	done
	return $rc
}

# ---- call setup through the stack ---------------------------------------
bench_stack() {
	local stack=$ROOT/scripts/stack.sh pbxctl=$BUILD/services/pbxctl/pbxctl
	local busy number=1990 csv rc
	command -v sipp >/dev/null || { log "stack: no sipp"; return 1; }
	command -v sox >/dev/null || { log "stack: no sox"; return 1; }
	# The standard ports of scripts/stack.sh (and of the e2e suites): a
	# stack of somebody else's may be running; never start over it.
	busy=$(busy_ports tcp/6390 udp/5060 tcp/5060 tcp/8448 tcp/7001 \
		tcp/7002 tcp/7010 udp/5080 udp/5099)
	if [ -n "$busy" ]; then
		log "stack: not run, ports in use: $busy (another stack running?)"
		return 1
	fi
	STACK_RUN=$TMP/stack
	mkdir -p "$STACK_RUN"
	export PBX_BUILD=$BUILD PBX_RUN=$STACK_RUN PBX_WORKERS=1
	# One SIPp address places every call (50/s): above pike's per-source
	# ban, as in the e2e suites; the edge's global rate still applies.
	export PBX_PIKE_DENSITY=100000
	export PBX_LOG_LEVEL=warn
	"$stack" start || { log "stack: start failed, logs in $STACK_RUN"; return 1; }
	# A greeting longer than any call: the caller hangs up first.
	sox -n -r 8000 -c 1 -b 16 "$TMP/long.wav" synth 60 sine 330 2>/dev/null
	{
		"$pbxctl" tenant create bench &&
			"$pbxctl" prompt upload bench long "$TMP/long.wav" &&
			echo '{"start":"g","nodes":{"g":{"type":"greeting","options":{"prompt":"long"}}}}' |
			"$pbxctl" scenario put bench long - &&
			"$pbxctl" number connect bench "$number" &&
			"$pbxctl" scenario activate bench "$number" long
	} >"$TMP/provision.out" 2>&1 || {
		log "stack: provisioning failed: $(tail -1 "$TMP/provision.out")"
		return 1
	}
	echo "## Call setup through the stack ($CALLS calls at $CPS/s)"
	echo
	# SIPp writes uac_expect_<pid>_rtt.csv into its working directory.
	(cd "$TMP" && timeout --kill-after=10 120 sipp \
		-sf "$ROOT/tests/sipp/uac_expect.xml" -key expect 200 \
		-s "$number" -i 127.0.0.2 -p 5099 -mi 127.0.0.2 -mp 17300 \
		-m "$CALLS" -r "$CPS" -l 60 -d 200 -trace_rtt -rtt_freq 1 \
		-nostdin 127.0.0.1:5060 >"$TMP/sipp.out" 2>&1)
	rc=$?
	[ $rc = 124 ] && log "stack: SIPp over its 120 s limit"
	csv=$(ls "$TMP"/uac_expect_*_rtt.csv 2>/dev/null | head -1)
	if [ -z "$csv" ]; then
		log "stack: SIPp wrote no response times"
		return 1
	fi
	# Date_ms;response_time_ms;rtd_no
	awk -F';' 'NR > 1 && $2 != "" { print $2 }' "$csv" | sort -g |
		awk '{ v[NR] = $1; s += $1 }
		END {
			if (!NR) exit 1
			# nearest rank: the smallest value >= q of them
			p50 = int(NR * 0.5); if (p50 < NR * 0.5) p50++
			p99 = int(NR * 0.99); if (p99 < NR * 0.99) p99++
			printf "| | calls | mean | p50 | p99 | max |\n"
			printf "|---|---:|---:|---:|---:|---:|\n"
			printf "| INVITE -> 200 OK | %d | %.1f ms | %.1f ms | %.1f ms | %.1f ms |\n",
				NR, s / NR, v[p50], v[p99], v[NR]
		}' || { log "stack: no response time measured"; return 1; }
	echo
	"$stack" stop >/dev/null 2>&1
	STACK_RUN=
	[ $rc = 0 ] || log "stack: SIPp exited $rc (failed calls)"
	return $rc
}

for b in scenario bridge playback stack; do
	selected "$b" || continue
	echo
	start=$SECONDS
	if "bench_$b"; then
		record "$b" "ok ($((SECONDS - start)) s)"
	else
		record "$b" "FAILED ($((SECONDS - start)) s)"
	fi
done

echo
echo "## Summary"
failed=0
for b in "${ORDER[@]}"; do
	echo "- $b: ${RESULT[$b]}"
	[[ ${RESULT[$b]} == ok* ]] || failed=1
done
[ ${#ORDER[@]} -gt 0 ] || { log "nothing selected (BENCH_ONLY=$ONLY)"; exit 2; }
# The media benches' last line: ours beside the baseline, and the ratio.
for name in bridge playback-talking playback-silent; do
	line=$(grep -o 'media-worker \*\*.*' "$TMP/$name.out" 2>/dev/null | tail -1)
	[ -n "$line" ] && echo "- $name: $line"
done
exit $failed
