#!/usr/bin/env bash
# bench/run.sh BUILD_DIR: runs every benchmark under bench/ in turn, each
# with a bounded duration, and prints each result (markdown tables, as in
# docs/performance.md). Builds nothing: `make bench` builds BUILD_DIR
# (release) and calls this. About 9 minutes with the defaults (asrload
# about 5 more), at most about 50 (each bench has a time limit).
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
#   conference  bridge_bench --conference N (issue 11): talking members
#             in rooms of 3, 10 and 50 on one worker core, each hearing
#             the mix of the others, each size beside the bare UDP echo
#   queuemoh  bridge_bench --queue-hold (issue 9): waiting callers in the
#             default queue's hold (the built-in music looped) on one
#             worker core, silent as waiting callers are, beside the
#             bare UDP echo; measured as playback
#   stack     call setup (INVITE -> 200 OK) through the whole stack with
#             SIPp; starts its own stack (scripts/stack.sh) on the standard
#             ports, and only if nothing listens on them
#   signalling  calls/s to a reject-at-once number answered cleanly by the
#             stack, beside bare Kamailio deciding from a hash table; also
#             a reject the router must decide on every call (a schedule)
#   sigcpu    CPU per call the router decides, per process (Kamailio,
#             edge-bridge, router, Redis), at a modest rate: where the
#             signalling path's time goes, whatever else the machine runs
#   greeting  answered calls/s: each call hears a greeting for 200 ms and
#             hangs up; the stack on both cores, one media worker
#   timers    tmr_bench_list / tmr_bench_wheel: what one answered call
#             costs libre's timers at 250..2000 calls/s, on libre's sorted
#             list and on the media worker's wheel (pure CPU, one thread)
#   flood     the same stack under a distributed INVITE flood at 10x the
#             edge's budget from 50 addresses, beside a carrier's calls
#             (answered share and setup times, with and without the flood)
#   queue     bench/queue/qm_bench: queue-manager processes against their
#             own redis-server on a free port, the bench as their router:
#             10,000 waiting callers in 1,000 queues, 5,000 agents, 200
#             enqueues/s and 500 agent-state changes/s for BENCH_QUEUE_S;
#             agent free -> offer p50/p99, double offers (must be 0),
#             Redis commands per offer
#   asr       bench/asr/run.sh: the voice assistant's embedded recogniser
#             on espeak-ng phrases through 8 kHz µ-law (intent accuracy,
#             off-topic accepted, real-time factor, end of speech ->
#             result) at a node's default confidence 0.5 and at 0.25
#   asrload   bench/asr/load.sh: concurrent streams on one asr-bridge
#             core (real-time paced espeak-ng utterances over its CURVE
#             bus, stepping N up until the recogniser's RTF > 0.05 or end
#             of speech -> result p99 > 200 ms) and the bridge's own added
#             latency at 1 stream and at that N (goal p99 <= 20 ms);
#             about 5 minutes
#
# Environment:
#   BENCH_ONLY      comma-separated subset (default: every one above)
#   BENCH_STEPS     bridge_bench steps (default 250,500,1000,1200,1400)
#   BENCH_PLAY_STEPS  playback steps, in callers (legs) (default
#                   1000,2000,2400,3000)
#   BENCH_CONF_SIZES  conference: room sizes (default 3,10,50)
#   BENCH_CONF_STEPS  conference: steps, in members (default
#                   600,1200,1800,2400,3000; rounded down per size to
#                   whole rooms)
#   BENCH_QMOH_STEPS  queuemoh: steps, in waiting callers (default
#                   1000,2000,2500,3000)
#   BENCH_QMOH_KINDS  queuemoh: silent and/or talking callers (default
#                   silent)
#   BENCH_MEASURE   bridge_bench seconds per step (default 5)
#   BENCH_TRIES     measurements a bridge/playback step may take to pass
#                   (default 3: a shared host's stalls are sporadic,
#                   saturation fails them all)
#   BENCH_RT        1 (default): worker and bench at SCHED_FIFO as in
#                   docs/performance.md; 0: --no-rt (kinder to a shared
#                   host, noisier numbers)
#   BENCH_CALLS     stack: calls (default 500) at BENCH_CPS (default 50)
#   BENCH_SIG_STEPS, BENCH_SIG_S, BENCH_SIG_P99_MS
#                   signalling: rates tried (500,...,4000), seconds per
#                   step (5), the p99 that still counts as clean (100 ms)
#   BENCH_SIG_OVER, BENCH_SIG_AFTER
#                   signalling: the overload (3500 calls/s) and the
#                   rate that must be clean right after it (1000)
#   BENCH_GREET_STEPS  greeting: rates tried (250,500,750,1000,1250)
#   BENCH_QUEUE_S   queue: seconds of load (default 60)
#   BENCH_QUEUE_QMS queue: queue-manager processes (default 2)
#   BENCH_ASR_STEPS, BENCH_ASR_S, BENCH_ASR_P99_MS, BENCH_ASR_RTF,
#   BENCH_ASR_TRIES  asrload: streams tried (1,5,10,20,30,40,60,80,120,
#                   160), seconds measured per step (20), the result
#                   latency p99 (200 ms) and RTF (0.05) that still hold,
#                   tries a step may take to hold (2)
#   BENCH_FLOOD_RATE, BENCH_FLOOD_SOURCES, BENCH_FLOOD_S
#                   flood: INVITEs/s in all (4000), addresses (50),
#                   seconds (20); the carrier calls at BENCH_CPS
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
ONLY=${BENCH_ONLY:-scenario,bridge,playback,conference,queuemoh,timers,stack,signalling,sigcpu,greeting,flood,queue,asr,asrload}
STEPS=${BENCH_STEPS:-250,500,1000,1200,1400}
PLAY_STEPS=${BENCH_PLAY_STEPS:-1000,2000,2400,3000}
CONF_SIZES=${BENCH_CONF_SIZES:-3,10,50}
CONF_STEPS=${BENCH_CONF_STEPS:-600,1200,1800,2400,3000}
QMOH_STEPS=${BENCH_QMOH_STEPS:-1000,2000,2500,3000}
QMOH_KINDS=${BENCH_QMOH_KINDS:-silent}
MEASURE=${BENCH_MEASURE:-5}
TRIES=${BENCH_TRIES:-3}
RT=${BENCH_RT:-1}
CALLS=${BENCH_CALLS:-500}
CPS=${BENCH_CPS:-50}
TMP=$(mktemp -d /tmp/pbx-bench.XXXXXX)

declare -A RESULT
ORDER=()
REDIS_PID=
REDIS_PORT=
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
# start_redis <bench>: its own redis-server on the first free port from
# 6411 (the port in REDIS_PORT, the pid in REDIS_PID); stop_redis.
start_redis() {
	command -v redis-server >/dev/null || { log "$1: no redis-server"; return 1; }
	REDIS_PORT=$(free_tcp_port) || { log "$1: no free port for redis"; return 1; }
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
		--appendonly no --dir "$TMP" >"$TMP/redis-$1.log" 2>&1 &
	REDIS_PID=$!
	for _ in $(seq 50); do
		redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
		sleep 0.1
	done
	redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 ||
		{ log "$1: redis-server did not start"; return 1; }
}

stop_redis() {
	kill "$REDIS_PID" 2>/dev/null
	wait "$REDIS_PID" 2>/dev/null
	REDIS_PID=
}

bench_scenario() {
	local bin=$BUILD/bench/scenario/scenario_bench rc
	[ -x "$bin" ] || { log "scenario: $bin not built"; return 1; }
	start_redis scenario || return 1
	echo "## Scenario decisions (Redis on port $REDIS_PORT)"
	echo
	run_bench scenario 180 taskset -c 1 "$bin" --redis-port "$REDIS_PORT"
	rc=$?
	stop_redis
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
# bridge_bench_with_redis <name>: bridge_bench built, redis-server there,
# the bench's fixed ports free (the same as bridge: they run one after the
# other); sets BIN, PORT (a free TCP port for its Redis) and RTARGS.
bridge_bench_with_redis() {
	local busy
	BIN=$BUILD/bench/media/bridge_bench
	[ -x "$BIN" ] || { log "$1: $BIN not built"; return 1; }
	command -v redis-server >/dev/null || { log "$1: no redis-server"; return 1; }
	busy=$(busy_ports udp/5380 udp/5390 tcp/7390 udp/33000 udp/33002)
	if [ -n "$busy" ]; then
		log "$1: ports in use: $busy"
		return 1
	fi
	PORT=$(free_tcp_port) || { log "$1: no free port for redis"; return 1; }
	RTARGS=()
	[ "$RT" = 1 ] || RTARGS=(--no-rt)
}

# bridge_kinds <name> <option> <title> <who> <steps> <kinds...>:
# bridge_bench <option> <kind> for each kind, its output in <name>-<kind>.
bridge_kinds() {
	local name=$1 opt=$2 title=$3 who=$4 steps=$5 bin port kind rc=0 rt
	shift 5
	bridge_bench_with_redis "$name" || return 1
	bin=$BIN port=$PORT rt=("${RTARGS[@]}")
	# Each: the ramp at 200 calls/s to the largest step, 1 s settling and
	# the measurement per step, for the worker then the echo: about
	# 70 s each with the defaults.
	for kind in "$@"; do
		echo "## $title, $kind $who (steps $steps, ${MEASURE}s each)"
		echo
		run_bench "$name-$kind" 300 "$bin" "$opt" "$kind" \
			--redis-port "$port" --steps "$steps" \
			--measure "$MEASURE" --tries "$TRIES" "${rt[@]}" || rc=1
		echo
	done
	return $rc
}

bench_playback() {
	bridge_kinds playback --playback Playback callers "$PLAY_STEPS" \
		talking silent
}

# ---- conference members (issue 11) ---------------------------------------
# whole_rooms <size> <steps>: each step rounded down to whole rooms.
whole_rooms() {
	local size=$1 out="" v
	for v in ${2//,/ }; do
		v=$((v / size * size))
		[ "$v" -gt 0 ] && out="$out${out:+,}$v"
	done
	echo "$out"
}

bench_conference() {
	local bin port size rc=0 steps rt
	bridge_bench_with_redis conference || return 1
	bin=$BIN port=$PORT rt=("${RTARGS[@]}")
	for size in ${CONF_SIZES//,/ }; do
		steps=$(whole_rooms "$size" "$CONF_STEPS")
		echo "## Conference, rooms of $size (steps $steps members, ${MEASURE}s each)"
		echo
		run_bench "conference-$size" 300 "$bin" --conference "$size" \
			--redis-port "$port" --steps "$steps" \
			--measure "$MEASURE" --tries "$TRIES" "${rt[@]}" || rc=1
		echo
	done
	return $rc
}

# ---- callers waiting in a queue, hearing its music (issue 9) -------------
bench_queuemoh() {
	# shellcheck disable=SC2086 # the kinds: one word each
	bridge_kinds queuemoh --queue-hold "Queue hold" "waiting callers" \
		"$QMOH_STEPS" ${QMOH_KINDS//,/ }
}

# ---- the whole stack ------------------------------------------------------
# stack_up: starts scripts/stack.sh (release build, one worker) on the
# standard ports, with tenant "bench": number $NUMBER answers with a
# greeting longer than any call (the caller hangs up first), number
# $BUSY rejects at once (486). $CARRIER is a trunk of the stack: what
# it sends uses the carriers' budget at the edge (PBX_KAM_RATE).
NUMBER=1990
CARRIER=127.0.0.9
BUSY=1991
# Rejects too, but through a schedule (always closed): the router decides
# every call (only a number that starts with a hang-up is answered by the
# edge from memory, docs/kamailio.md "Constant rejects").
CLOSED=1992
STACK=$ROOT/scripts/stack.sh
PBXCTL=$BUILD/services/pbxctl/pbxctl
stack_up() {
	local busy
	command -v sipp >/dev/null || { log "$1: no sipp"; return 1; }
	command -v sox >/dev/null || { log "$1: no sox"; return 1; }
	# The standard ports of scripts/stack.sh (and of the e2e suites): a
	# stack of somebody else's may be running; never start over it.
	busy=$(busy_ports tcp/6390 udp/5060 tcp/5060 tcp/8448 tcp/7001 \
		tcp/7002 tcp/7010 udp/5080 udp/5099)
	if [ -n "$busy" ]; then
		log "$1: not run, ports in use: $busy (another stack running?)"
		return 1
	fi
	STACK_RUN=$TMP/stack-$1
	mkdir -p "$STACK_RUN"
	export PBX_BUILD=$BUILD PBX_RUN=$STACK_RUN PBX_WORKERS=1
	# One SIPp address places every call (50/s): above pike's per-source
	# ban, as in the e2e suites; the edge's rate budgets still apply.
	export PBX_PIKE_DENSITY=100000
	export PBX_LOG_LEVEL=warn
	${STACK_TASKSET:-} "$STACK" start ||
		{ log "$1: start failed, logs in $STACK_RUN"; return 1; }
	sox -n -r 8000 -c 1 -b 16 "$TMP/long.wav" synth 60 sine 330 2>/dev/null
	{
		"$PBXCTL" tenant create bench &&
			"$PBXCTL" prompt upload bench long "$TMP/long.wav" &&
			echo '{"start":"g","nodes":{"g":{"type":"greeting","options":{"prompt":"long"}}}}' |
			"$PBXCTL" scenario put bench long - &&
			echo '{"start":"h","nodes":{"h":{"type":"hangup","options":{"code":486}}}}' |
			"$PBXCTL" scenario put bench busy - &&
			"$PBXCTL" number connect bench "$NUMBER" &&
			"$PBXCTL" scenario activate bench "$NUMBER" long &&
			"$PBXCTL" number connect bench "$BUSY" &&
			"$PBXCTL" scenario activate bench "$BUSY" busy &&
			echo '{"timezone":"UTC","override":"closed"}' |
			"$PBXCTL" object put bench schedule shut - &&
			echo '{"start":"s","nodes":{"s":{"type":"schedule","options":{"schedule":"shut"},"outputs":{"match":"h","no_match":"h"}},"h":{"type":"hangup","options":{"code":486}}}}' |
			"$PBXCTL" scenario put bench closed - &&
			"$PBXCTL" number connect bench "$CLOSED" &&
			"$PBXCTL" scenario activate bench "$CLOSED" closed &&
			"$PBXCTL" tenant limits bench --calls 20000 \
				--cps 20000 &&
			"$PBXCTL" trunk add bench-carrier "$CARRIER:5060" \
				--format e164
	} >"$TMP/provision-$1.out" 2>&1 || {
		log "$1: provisioning failed: $(tail -1 "$TMP/provision-$1.out")"
		return 1
	}
}
stack_down() {
	"$PBXCTL" trunk remove bench-carrier >/dev/null 2>&1
	"$STACK" stop >/dev/null 2>&1
	STACK_RUN=
}

# rtt_row <label> <sipp rtt csv>: one markdown row of INVITE -> 200 times.
rtt_row() {
	# Date_ms;response_time_ms;rtd_no
	awk -F';' 'NR > 1 && $2 != "" { print $2 }' "$2" | sort -g |
		awk -v label="$1" '{ v[NR] = $1; s += $1 }
		END {
			if (!NR) exit 1
			# nearest rank: the smallest value >= q of them
			p50 = int(NR * 0.5); if (p50 < NR * 0.5) p50++
			p99 = int(NR * 0.99); if (p99 < NR * 0.99) p99++
			printf "| %s | %d | %.1f ms | %.1f ms | %.1f ms | %.1f ms |\n",
				label, NR, s / NR, v[p50], v[p99], v[NR]
		}'
}

# ---- call setup through the stack ---------------------------------------
bench_stack() {
	local csv rc
	stack_up stack || return 1
	echo "## Call setup through the stack ($CALLS calls at $CPS/s)"
	echo
	# SIPp writes uac_expect_<pid>_rtt.csv into its working directory.
	(cd "$TMP" && timeout --kill-after=10 120 sipp \
		-sf "$ROOT/tests/sipp/uac_expect.xml" -key expect 200 \
		-s "$NUMBER" -i 127.0.0.2 -p 5099 -mi 127.0.0.2 -mp 17300 \
		-m "$CALLS" -r "$CPS" -l 60 -d 200 -trace_rtt -rtt_freq 1 \
		-nostdin 127.0.0.1:5060 >"$TMP/sipp.out" 2>&1)
	rc=$?
	[ $rc = 124 ] && log "stack: SIPp over its 120 s limit"
	csv=$(ls "$TMP"/uac_expect_*_rtt.csv 2>/dev/null | head -1)
	if [ -z "$csv" ]; then
		log "stack: SIPp wrote no response times"
		return 1
	fi
	echo "| | calls | mean | p50 | p99 | max |"
	echo "|---|---:|---:|---:|---:|---:|"
	rtt_row "INVITE -> 200 OK" "$csv" || { log "stack: no response time measured"; return 1; }
	rm -f "$csv"
	echo
	stack_down
	[ $rc = 0 ] || log "stack: SIPp exited $rc (failed calls)"
	return $rc
}

# ---- signalling capacity beside bare Kamailio (issue 17, B1) --------------
# The rate of new calls to a number that rejects at once (486) that is
# answered cleanly (every call 486, p99 INVITE -> 486 under SIG_P99_MS),
# stepping up SIG_STEPS for SIG_S seconds each: first bare Kamailio
# deciding from a hash table (bench/kamailio/native.cfg), then the whole
# stack as shipped, the calls coming from its carrier trunk. The system
# under test runs on CPU 0 (all of the stack's processes), SIPp on CPU 1.
SIG_STEPS=${BENCH_SIG_STEPS:-500,1000,1500,2000,2500,3000,3500,4000}
SIG_S=${BENCH_SIG_S:-5}
SIG_P99_MS=${BENCH_SIG_P99_MS:-100}
# sig_step <label> <port> <source address> <rate>: one step; prints a
# row, returns 1 when it was not clean.
# SIG_NUMBER (default $BUSY) is called, SIG_EXPECT (486) expected;
# SIG_HOLD_MS (0) holds an answered call that long before its BYE.
sig_step() {
	local label=$1 port=$2 src=$3 rate=$4 csv rc row p99 failed
	rm -f "$TMP"/uac_expect_*_rtt.csv
	(cd "$TMP" && timeout --kill-after=5 $((SIG_S + 30)) taskset -c 1 sipp \
		-sf "$ROOT/tests/sipp/uac_expect.xml" \
		-key expect "${SIG_EXPECT:-486}" -d "${SIG_HOLD_MS:-0}" \
		-s "${SIG_NUMBER:-$BUSY}" -i "$src" -p 5097 -mi "$src" -mp 17500 \
		-r "$rate" -m $((rate * SIG_S)) -l $((rate * 2)) \
		-trace_rtt -rtt_freq 1 -trace_stat -stf "$TMP/sig.csv" \
		-nostdin "127.0.0.1:$port" >"$TMP/sig.out" 2>&1)
	rc=$?
	csv=$(ls "$TMP"/uac_expect_*_rtt.csv 2>/dev/null | head -1)
	failed=$(grep -o 'Failed call *| *[0-9]* *| *[0-9]*' "$TMP/sig.out" | tail -1 | awk '{print $NF}')
	row=$([ -n "$csv" ] && rtt_row "$label $rate/s" "$csv")
	p99=$(echo "$row" | awk -F'|' '{ gsub(/[ ms]/, "", $6); print int($6) }')
	echo "${row:-| $label $rate/s | 0 | | | | |} ${failed:-?} |"
	[ "$rc" = 0 ] && [ "${failed:-1}" = 0 ] && [ -n "$p99" ] && [ "$p99" -le "$SIG_P99_MS" ]
}
# sig_ramp <label> <port> <source address>: steps up until one is not
# clean; SIG_BEST is the last clean rate (0 if none).
sig_ramp() {
	local r
	SIG_BEST=0
	for r in ${SIG_STEPS//,/ }; do
		sig_step "$1" "$2" "$3" "$r" || return 0
		SIG_BEST=$r
		sleep 1
	done
}
bench_signalling() {
	local pid native ours
	echo "## Signalling: calls/s answered cleanly, reject at once (p99 <= ${SIG_P99_MS} ms, ${SIG_S}s steps)"
	echo
	echo "| step | calls | mean | p50 | p99 | max | failed |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	listening udp 5070 && { log "signalling: port 5070 in use"; return 1; }
	taskset -c 0 /usr/sbin/kamailio -DD -E -m 256 -M 16 -x tlsf -X tlsf \
		-f "$ROOT/bench/kamailio/native.cfg" -Y "$TMP" -P "$TMP/native.pid" \
		-A PBX_BENCH_PORT=5070 -A "PBX_BENCH_NUMBER=$BUSY" \
		>"$TMP/native.log" 2>&1 &
	pid=$!
	for _ in $(seq 50); do listening udp 5070 && break; sleep 0.1; done
	sig_ramp "bare Kamailio" 5070 127.0.0.2
	native=$SIG_BEST
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	STACK_TASKSET="taskset -c 0" stack_up signalling || return 1
	sleep 1
	# From the carrier: calls to a PBX come through its trunks.
	sig_ramp "our stack" 5060 $CARRIER
	ours=$SIG_BEST
	SIG_NUMBER=$CLOSED sig_ramp "our stack, the router deciding" 5060 \
		$CARRIER
	local decided=$SIG_BEST
	sig_overload
	stack_down
	echo
	echo "| | clean calls/s | ratio |"
	echo "|---|---:|---:|"
	echo "| bare Kamailio (htable, stateful) | $native | 1 |"
	echo "| our stack as shipped (a number that starts with a hang-up: the edge repeats the router's answer) | $ours | $(awk -v a="$ours" -v b="$native" 'BEGIN { if (b) printf "%.2f", a / b; else print "-" }') |"
	echo "| our stack, the router deciding every call (a closed schedule) | $decided | $(awk -v a="$decided" -v b="$native" 'BEGIN { if (b) printf "%.2f", a / b; else print "-" }') |"
	echo
	echo "$SIG_OVERLOAD"
	echo
}

# ---- CPU per decided call, per process (issue 17) --------------------------
# Where a router-decided call's time goes, independent of the machine's
# other load: the stack as in *signalling* (all on CPU 0), SIGCPU_CALLS
# calls at SIGCPU_RATE/s to the number the router decides (a closed
# schedule), and the CPU time each service's processes spent meanwhile
# (the scheduler's own count, /proc/<pid>/schedstat), divided by the
# calls. Kamailio's processes are the main one and its children.
SIGCPU_RATE=${BENCH_SIGCPU_RATE:-500}
SIGCPU_S=${BENCH_SIGCPU_S:-10}
# cpu_ns <pid>...: the CPU nanoseconds those processes have used.
cpu_ns() {
	local p t=0 v
	for p in "$@"; do
		v=$(cut -d' ' -f1 "/proc/$p/schedstat" 2>/dev/null) || continue
		t=$((t + v))
	done
	echo $t
}
# stack_pids <service>: its process and, for Kamailio, its children.
stack_pids() {
	local main
	main=$(cat "$STACK_RUN/$1.pid" 2>/dev/null) ||
		main=$(cat "$STACK_RUN/$1/$1.pid" 2>/dev/null) || return 0
	echo "$main" $(pgrep -P "$main")
}
bench_sigcpu() {
	local svc n ok before after
	local -A pids b
	STACK_TASKSET="taskset -c 0" stack_up sigcpu || return 1
	sleep 1
	# Warm up: the first calls fill caches and Kamailio's memory pools.
	SIG_S=2 SIG_NUMBER=$CLOSED sig_step warmup 5060 $CARRIER "$SIGCPU_RATE" >/dev/null
	for svc in kamailio edge-bridge router redis; do
		pids[$svc]=$(stack_pids "$svc")
		b[$svc]=$(cpu_ns ${pids[$svc]})
	done
	echo "## CPU per call the router decides, per process ($SIGCPU_RATE calls/s for ${SIGCPU_S}s, stack on CPU 0)"
	echo
	echo "| step | calls | mean | p50 | p99 | max | failed |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	SIG_S=$SIGCPU_S SIG_NUMBER=$CLOSED sig_step "decided" 5060 $CARRIER "$SIGCPU_RATE"
	ok=$?
	n=$((SIGCPU_RATE * SIGCPU_S))
	echo
	echo "| process | CPU µs per call |"
	echo "|---|---:|"
	local total=0 v
	for svc in kamailio edge-bridge router redis; do
		v=$(( ($(cpu_ns ${pids[$svc]}) - ${b[$svc]}) / 1000 / n ))
		total=$((total + v))
		echo "| $svc ($(echo ${pids[$svc]} | wc -w) processes) | $v |"
	done
	echo "| all | **$total** |"
	echo
	stack_down
	return $ok
}

# sig_overload: past capacity, SIG_OVER calls/s from the carrier for SIG_S
# seconds to the number the router decides (a constant answer costs
# Kamailio alone, and the budget does not count it): each call must get its 486 or a 503 with Retry-After (nothing
# else, none left unanswered); then, at once, a step at SIG_AFTER calls/s
# must be clean (the stack recovered). Sets SIG_OVERLOAD to a table.
SIG_OVER=${BENCH_SIG_OVER:-3500}
SIG_AFTER=${BENCH_SIG_AFTER:-1000}
sig_overload() {
	local n=$((SIG_OVER * SIG_S)) s486 s503 retry row
	(cd "$TMP" && timeout --kill-after=5 $((SIG_S + 40)) taskset -c 1 sipp \
		-sf "$ROOT/tests/sipp/flood_invite.xml" -s "$CLOSED" \
		-i $CARRIER -p 5096 -mp 17600 -r "$SIG_OVER" -m $n \
		-l $((SIG_OVER * 40)) -nostdin -trace_logs \
		-log_file "$TMP/over.log" -trace_msg -message_file "$TMP/over.msg" \
		127.0.0.1:5060 >"$TMP/over.out" 2>&1)
	s486=$(grep -c ' got 486' "$TMP/over.log" 2>/dev/null)
	s503=$(grep -c ' got 503' "$TMP/over.log" 2>/dev/null)
	retry=$(grep -c '^Retry-After:' "$TMP/over.msg" 2>/dev/null)
	rm -f "$TMP/over.msg"
	if SIG_NUMBER=$CLOSED sig_step "our stack, right after" 5060 \
		$CARRIER "$SIG_AFTER" \
		>"$TMP/after.row"; then
		row="clean: $(cut -d'|' -f6 "$TMP/after.row" | tr -d ' ') p99"
	else
		row="NOT clean: $(cat "$TMP/after.row")"
	fi
	SIG_OVERLOAD="| past capacity: $SIG_OVER calls/s for ${SIG_S}s | calls | 486 | 503 (with Retry-After) | other / none | then $SIG_AFTER calls/s |
|---|---:|---:|---:|---:|---|
| from the carrier | $n | $s486 | $s503 ($retry) | $((n - s486 - s503)) | $row |"
}

# ---- a distributed flood (issue 8) ----------------------------------------
# FLOOD_SOURCES addresses (127.0.1.x) together send 10x the edge's budget
# for unknown sources (stack.sh's 400/s) for FLOOD_S seconds to the number
# that rejects; meanwhile the carrier trunk places CPS calls/s to
# the greeting. The same carrier load runs first without the flood: the
# baseline. Reports what the flood got (486 served, 503 shed, other),
# the carrier's answered calls and setup times in both runs, and
# Kamailio's "out of mem" lines.
FLOOD_SOURCES=${BENCH_FLOOD_SOURCES:-50}
FLOOD_RATE=${BENCH_FLOOD_RATE:-4000}
FLOOD_S=${BENCH_FLOOD_S:-20}
# carrier_calls <label>: CPS calls/s for FLOOD_S - 5 s; prints a row.
carrier_calls() {
	local n=$((CPS * (FLOOD_S - 5))) csv ok
	rm -f "$TMP"/uac_expect_*_rtt.csv
	(cd "$TMP" && timeout --kill-after=10 $((FLOOD_S + 60)) sipp \
		-sf "$ROOT/tests/sipp/uac_expect.xml" -key expect 200 \
		-s "$NUMBER" -i $CARRIER -p 5098 -mi $CARRIER -mp 17400 \
		-m $n -r "$CPS" -l 200 -d 200 -trace_rtt -rtt_freq 1 \
		-trace_logs -log_file "$TMP/carrier-$1.log" \
		-nostdin 127.0.0.1:5060 >"$TMP/carrier-$1.out" 2>&1)
	csv=$(ls "$TMP"/uac_expect_*_rtt.csv 2>/dev/null | head -1)
	ok=$(grep -c ' got 200' "$TMP/carrier-$1.log" 2>/dev/null)
	CARRIER_ROW="| $1 | $n | $ok ($(awk -v a="$ok" -v n="$n" 'BEGIN { printf "%.1f", 100 * a / n }') %) |"
	CARRIER_RTT=$( [ -n "$csv" ] && rtt_row "$1" "$csv")
	rm -f "$csv"
}
bench_flood() {
	local i pid sent s486 s503 base
	stack_up flood || return 1
	echo "## Distributed flood: $FLOOD_RATE INVITE/s from $FLOOD_SOURCES addresses for ${FLOOD_S}s, carrier at $CPS calls/s"
	echo
	sleep 1.2
	carrier_calls "carrier alone"
	base=$CARRIER_ROW
	local base_rtt=$CARRIER_RTT
	# One SIPp, one socket per source address (-t ui), the addresses
	# taking turns call by call.
	{ echo SEQUENTIAL; for i in $(seq "$FLOOD_SOURCES"); do echo "127.0.1.$i"; done; } \
		>"$TMP/sources.csv"
	(cd "$TMP" && exec timeout $((FLOOD_S + 40)) sipp \
		-sf "$ROOT/tests/sipp/flood_invite.xml" -s "$BUSY" -t ui \
		-inf "$TMP/sources.csv" -ip_field 0 -max_socket 200 -p 5200 \
		-mp 7000 -r "$FLOOD_RATE" -m $((FLOOD_RATE * FLOOD_S)) \
		-l $((FLOOD_RATE * 40)) -nostdin -trace_logs \
		-log_file "$TMP/flood.log" 127.0.0.1:5060 >"$TMP/flood.out" 2>&1) &
	pid=$!
	sleep 2
	carrier_calls "carrier during the flood"
	wait "$pid"
	sent=$((FLOOD_RATE * FLOOD_S))
	s486=$(grep -c ' got 486' "$TMP/flood.log" 2>/dev/null)
	s503=$(grep -c ' got 503' "$TMP/flood.log" 2>/dev/null)
	echo "| flood | INVITEs | 486 (served) | 503 (shed) | other / none | Kamailio \"out of mem\" |"
	echo "|---|---:|---:|---:|---:|---:|"
	echo "| $FLOOD_RATE/s from $FLOOD_SOURCES addresses | $sent | $s486 | $s503 | $((sent - s486 - s503)) | $(grep -c 'out of mem' "$STACK_RUN/kamailio.log") |"
	echo
	echo "| carrier | calls | answered |"
	echo "|---|---:|---:|"
	echo "$base"
	echo "$CARRIER_ROW"
	echo
	echo "| INVITE -> 200 OK | calls | mean | p50 | p99 | max |"
	echo "|---|---:|---:|---:|---:|---:|"
	echo "$base_rtt"
	echo "$CARRIER_RTT"
	echo
	stack_down
}

# ---- libre's timers: sorted list vs the worker's wheel (issue 17) ----------
# One source, two links (bench/media/tmr_bench.c); each prints its table.
bench_timers() {
	local b rc=0
	for b in list wheel; do
		[ -x "$BUILD/bench/media/tmr_bench_$b" ] ||
			{ log "timers: tmr_bench_$b not built"; return 1; }
	done
	echo "## libre's timers per answered call: sorted list, then the worker's wheel"
	echo
	for b in list wheel; do
		run_bench "timers-$b" 300 taskset -c 1 \
			"$BUILD/bench/media/tmr_bench_$b" || rc=1
		echo
	done
	return $rc
}

# ---- answered calls per second (issue 17) ---------------------------------
# The carrier places calls to the greeting number at each rate of
# GREET_STEPS for SIG_S seconds; each call is answered, hears the greeting
# for 200 ms and hangs up. A step is clean when every call was answered
# and the p99 INVITE -> 200 OK is <= SIG_P99_MS. The stack (one media
# worker) on both cores, SIPp pinned to CPU 1 with it.
GREET_STEPS=${BENCH_GREET_STEPS:-250,500,750,1000,1250}
bench_greeting() {
	local r best=0
	stack_up greeting || return 1
	echo "## Answered calls/s: a greeting heard for 200 ms (p99 <= ${SIG_P99_MS} ms, ${SIG_S}s steps, one worker)"
	echo
	echo "| step | calls | mean | p50 | p99 | max | failed |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	sleep 1
	for r in ${GREET_STEPS//,/ }; do
		SIG_NUMBER=$NUMBER SIG_EXPECT=200 SIG_HOLD_MS=200 \
			sig_step "greeting" 5060 $CARRIER "$r" || break
		best=$r
		sleep 2
	done
	stack_down
	echo
	echo "Answered cleanly up to **$best calls/s**."
	echo
}

# ---- queue-manager (issue 9) ------------------------------------------
bench_asr() {
	[ -x "$BUILD/bench/asr/asr_bench" ] || { log "asr: asr_bench not built"; return 1; }
	echo "## Voice assistant: the embedded recogniser (pocketsphinx en-us)"
	echo
	local c rc=0
	for c in 0.5 0.25; do
		run_bench "asr-$c" 600 "$ROOT/bench/asr/run.sh" "$BUILD" "$c" || rc=1
	done
	return $rc
}

# ---- concurrent streams on one asr-bridge core (issue 13) -----------------
# The step loop, the bridge per step and the table are load.sh's; it fails
# only when no step was measured.
bench_asrload() {
	[ -x "$BUILD/bench/asr/asr_load" ] || { log "asrload: asr_load not built"; return 1; }
	# Per try of a step: a bridge's start, 3 s warm-up, the window, 5.5 s
	# for the last answers; plus the utterances made first.
	local steps=${BENCH_ASR_STEPS:-1,5,10,20,30,40,60,80,120,160}
	local n=$(($(tr -cd , <<<"$steps" | wc -c) + 1))
	run_bench asrload \
		$((n * (${BENCH_ASR_S:-20} + 25) * ${BENCH_ASR_TRIES:-2} + 120)) \
		"$ROOT/bench/asr/load.sh" "$BUILD"
}

bench_queue() {
	local bin=$BUILD/bench/queue/qm_bench rport rc
	[ -x "$bin" ] || { log "queue: $bin not built"; return 1; }
	start_redis queue || return 1
	rport=$((REDIS_PORT + 1000))
	if listening tcp "$rport"; then
		log "queue: port $rport in use"
		stop_redis
		return 1
	fi
	echo "## Queues: queue-manager under load (Redis on port $REDIS_PORT)"
	echo
	run_bench queue $((${BENCH_QUEUE_S:-60} + 300)) "$bin" \
		--redis-port "$REDIS_PORT" --router-port "$rport" \
		--instances "${BENCH_QUEUE_QMS:-2}" --seconds "${BENCH_QUEUE_S:-60}"
	rc=$?
	stop_redis
	[ $rc = 0 ] && grep -q '^| double offers | 0 |' "$TMP/queue.out"
}

for b in scenario bridge playback conference queuemoh timers stack signalling sigcpu greeting flood queue asr asrload; do
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
for name in bridge playback-talking playback-silent conference-3 \
	conference-10 conference-50 queuemoh-silent queuemoh-talking; do
	line=$(grep -o 'media-worker \*\*.*' "$TMP/$name.out" 2>/dev/null | tail -1)
	[ -n "$line" ] && echo "- $name: $line"
done
# The voice assistant's streams per core and the bridge's own latency.
grep '^- asrload:' "$TMP/asrload.out" 2>/dev/null
exit $failed
