#!/usr/bin/env bash
# Concurrent streams per core on one asr-bridge (docs/performance.md
# "Voice assistant"): for each step N, a fresh asr-bridge (release build,
# the embedded recogniser, CURVE on its bus, capacity 1024) pinned to one
# core, and asr_load on the other core as a media worker with N streams
# open at once, each sending espeak-ng utterances through 8 kHz µ-law in
# real-time 20 ms frames, turn after turn. Steps up until one breaks the
# goal: the recogniser's real-time factor <= RTF_MAX and end of speech ->
# result p99 <= P99_MS at the bus side, every utterance answered. Prints a
# table (the bridge's own /metrics p99 beside asr_load's bus-side
# figures), the largest N that held and the bridge's own added latency at
# 1 stream and at that N against its goal (<= 20 ms over the
# recogniser's).
#
#   bench/asr/load.sh [build dir]
#
# Environment: BENCH_ASR_STEPS (1,5,10,20,30,40,60,80,120,160; the
# first is the one the bridge's own latency is given at beside N), BENCH_ASR_S (seconds
# measured per step, 20), BENCH_ASR_P99_MS (200), BENCH_ASR_RTF (0.05),
# BENCH_ASR_CORE (the bridge's core, 1; asr_load takes the other of 0/1),
# BENCH_ASR_VERBOSE (1: a line per utterance on stderr), BENCH_ASR_TRIES
# (2: a step that breaks is measured again, a fresh bridge each time; it
# breaks only if every try does).
# Exit: 0 if a step was measured, 1 if none was, 2 usage / missing tools.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd) || exit 2
STEPS=${BENCH_ASR_STEPS:-1,5,10,20,30,40,60,80,120,160}
SECS=${BENCH_ASR_S:-20}
P99_MS=${BENCH_ASR_P99_MS:-200}
RTF_MAX=${BENCH_ASR_RTF:-0.05}
CORE=${BENCH_ASR_CORE:-1}
VERBOSE=${BENCH_ASR_VERBOSE:-}
TRIES=${BENCH_ASR_TRIES:-2}
OTHER=$((CORE == 0 ? 1 : 0))
BRIDGE=$BUILD/services/asr-bridge/asr-bridge
LOAD=$BUILD/bench/asr/asr_load
PBXCTL=$BUILD/services/pbxctl/pbxctl
OWN_GOAL_MS=20
for b in "$BRIDGE" "$LOAD" "$PBXCTL"; do
	[ -x "$b" ] || { echo "asrload: $b not built" >&2; exit 2; }
done
for t in espeak-ng sox ss taskset; do
	command -v $t >/dev/null || { echo "asrload: no $t" >&2; exit 2; }
done
TMP=$(mktemp -d /tmp/asr-load.XXXXXX)
BPID=
stop_bridge() {
	[ -n "$BPID" ] || return 0
	kill "$BPID" 2>/dev/null
	wait "$BPID" 2>/dev/null
	BPID=
}
trap 'stop_bridge; rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

. "$ROOT/bench/asr/phrases.sh"
make_utterances "$TMP" "en-us en-us+f3" "140 170" ||
	{ echo "asrload: espeak-ng/sox failed" >&2; exit 2; }

# Keys as scripts/stack.sh makes them: the bridge's, a worker's in its
# allow list.
KEYS=$TMP/keys
mkdir -p -m 0700 "$KEYS/allow/worker"
"$PBXCTL" keygen asr1 --dir "$KEYS" >/dev/null &&
	"$PBXCTL" keygen mw1 --dir "$KEYS" >/dev/null &&
	cp "$KEYS/mw1.pub" "$KEYS/allow/worker/" ||
	{ echo "asrload: keygen failed" >&2; exit 2; }

free_port() {
	local p
	for p in $(seq "$1" $(($1 + 99))); do
		ss -H -lnt "( sport = :$p )" | grep -q . || { echo "$p"; return 0; }
	done
	return 1
}

# step <N>: one fresh bridge, asr_load's row with the bridge's own p99
# from /metrics; returns asr_load's status (0 held, 1 broke, 2 nothing).
step() {
	local n=$1 port mport rc p99m
	port=$(free_port 7450) && mport=$(free_port 9450) ||
		{ echo "asrload: no free port" >&2; return 2; }
	taskset -c "$CORE" "$BRIDGE" --set bridge_id=asr1 \
		--set "listen=tcp://127.0.0.1:$port" \
		--set "curve_secret_file=$KEYS/asr1.key" \
		--set "curve_allow_dir=$KEYS/allow/worker" \
		--set capacity=1024 --set log_level=warn \
		--set "metrics_listen=127.0.0.1:$mport" \
		>"$TMP/bridge-$n.log" 2>&1 &
	BPID=$!
	for _ in $(seq 150); do
		ss -H -lnt "( sport = :$port )" | grep -q . && break
		sleep 0.1
	done
	taskset -c "$OTHER" "$LOAD" --endpoint "tcp://127.0.0.1:$port" \
		--secret "$KEYS/mw1.key" --server-pub "$KEYS/asr1.pub" \
		--streams "$n" --seconds "$SECS" --pid "$BPID" \
		--p99-ms "$P99_MS" --rtf "$RTF_MAX" ${VERBOSE:+--verbose} \
		"$PHRASES" "${FILES[@]}" \
		>"$TMP/row-$n" 2>"$TMP/load-$n.err"
	rc=$?
	if ! kill -0 "$BPID" 2>/dev/null; then
		echo "asrload: the bridge died during step $n:" >&2
		[ $rc = 0 ] && rc=1 # measured, and it broke
	fi
	[ $rc = 0 ] || tail -3 "$TMP/bridge-$n.log" | sed 's/^/    bridge: /' >&2
	# The bridge's own figure beside (without curl: "-").
	p99m=$(curl -sf "127.0.0.1:$mport/metrics" 2>/dev/null |
		awk '$1 == "pbx_asr_bridge_p99_seconds" { printf "%.0f ms", $2 * 1000 }')
	stop_bridge
	if [ -s "$TMP/row-$n" ]; then
		echo "$(cat "$TMP/row-$n") ${p99m:--} | $([ $rc = 0 ] && echo holds || echo "**breaks**") |"
	else
		echo "| $n | not measured |"
	fi
	[ -s "$TMP/load-$n.err" ] && sed 's/^/    /' "$TMP/load-$n.err" >&2
	return $rc
}

# own_p99 <N>: the bus-side own p99 of step N's row (ms).
own_p99() { awk -F'|' '{ gsub(/[ ms]/, "", $12); print $12 }' "$TMP/row-$1"; }

echo "## Voice assistant: concurrent streams on one asr-bridge core (pocketsphinx grammar search)"
echo
echo "Each step: a fresh bridge pinned to CPU $CORE, N streams open at once (real-time 20 ms frames of"
echo "espeak-ng utterances through µ-law, turn after turn), ${SECS}s measured. Holds while every utterance"
echo "is answered, the recogniser's RTF <= $RTF_MAX and end of speech -> result p99 <= $P99_MS ms."
echo
echo "| streams | utterances | right phrase (of in-grammar) | lost / refused | recogniser RTF | bridge CPU | end of speech -> result p50 | p99 | max | bridge's own p50 | own p99 | own p99 (/metrics bucket) | |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
best=0 measured=0
for n in ${STEPS//,/ }; do
	# A step breaks only if every try does (a shared host's stalls are
	# sporadic, saturation fails them all).
	for try in $(seq "$TRIES"); do
		step "$n"
		rc=$?
		[ $rc = 1 ] || break
	done
	[ $rc = 2 ] && break
	measured=$n
	[ $rc = 0 ] || break
	best=$n
done
echo
if [ "$measured" = 0 ]; then
	echo "asrload: no step was measured" >&2
	exit 1
fi
own1=$(own_p99 "${STEPS%%,*}")
echo "- asrload: **$best streams** held on one core (goal: RTF <= $RTF_MAX per stream, end of speech -> result p99 <= $P99_MS ms)"
echo "- asrload: the bridge's own added latency p99 at ${STEPS%%,*} stream(s): **$own1 ms** (goal <= $OWN_GOAL_MS ms, ratio $(awk -v a="$own1" -v g=$OWN_GOAL_MS 'BEGIN { printf "%.2f", a / g }'))"
if [ "$best" != 0 ] && [ "$best" != "${STEPS%%,*}" ]; then
	ownn=$(own_p99 "$best")
	echo "- asrload: ... at $best streams: **$ownn ms** (goal <= $OWN_GOAL_MS ms, ratio $(awk -v a="$ownn" -v g=$OWN_GOAL_MS 'BEGIN { printf "%.2f", a / g }'))"
fi
exit 0
