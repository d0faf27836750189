#!/usr/bin/env bash
# The docker compose stack (docker/compose.yaml) end to end: builds the
# images (the Debian base once, then from the build cache), starts the
# stack as project "pbxtest" on its own network, provisions the demo
# tenant with pbxctl inside the stack, and calls it from this host with
# SIPp: the greeting with RTP counted at the caller, calls spread over 3
# scaled media workers, and `docker kill` of a worker mid-call (its
# callers get BYE, new calls go to the others). Tears the stack and its
# volumes down at the end; the images stay cached.
#
# Nothing is published on the host's ports: SIPp and the RTP sink use the
# host's address on the stack's bridge network (PBX_NET.1, default
# 172.28.77.1), so the suite runs beside the plain-process suites (5060,
# 6390, 7001...) without a collision.
#
# Environment: PBX_BUILD (a build dir with tests/support/rtp_sink,
# required), PBX_NET (the /24's first three octets). Prints "PASS <name>" /
# "FAIL <name> <why>" per check and a last line "N passed, M failed".
set -u
: "${PBX_BUILD:?set PBX_BUILD to a build directory}"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SIPP_DIR=$ROOT/tests/sipp
SINK=$PBX_BUILD/tests/support/rtp_sink
export PBX_COMPOSE_PROJECT=pbxtest PBX_NET=${PBX_NET:-172.28.77}
# One test caller places every call: above pike's per-source ban.
export PBX_PIKE_DENSITY=100000
DC="docker-compose -p $PBX_COMPOSE_PROJECT -f $ROOT/docker/compose.yaml"
PBXCTL=$ROOT/docker/pbxctl.sh
EDGE=$PBX_NET.11:5060
CALLER_IP=$PBX_NET.1
TMP=$(mktemp -d /tmp/pbx-compose.XXXXXX)
. "$ROOT/tests/e2e/lib.sh"

cleanup() {
	$DC logs --no-color >"$TMP/stack.log" 2>&1
	$DC down -v --remove-orphans >/dev/null 2>&1
}
trap cleanup EXIT

# csipp <scenario> <number> <local port> [sipp args...]: one call to the
# stack's edge (lib.sh's sipp_call calls the plain-process stack).
csipp() {
	local sf=$1 num=$2 port=$3
	shift 3
	(cd "$TMP" && timeout 60 sipp -sf "$SIPP_DIR/$sf" -s "$num" \
		-i "$CALLER_IP" -p "$port" -nostdin "$@" "$EDGE" \
		>>"$TMP/sipp.out" 2>&1)
}

# healthy <n workers>: every service of the stack reports healthy.
# Services with a health check besides the workers: all but the one-shot
# init and media-worker itself.
others() { $DC config --services | grep -cvxE 'init|media-worker'; }
healthy() {
	local c want=$(($1 + $(others))) n=0
	for c in $($DC ps -q); do
		[ "$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$c")" = healthy ] &&
			n=$((n + 1))
	done
	[ $n = "$want" ]
}
wait_healthy() {
	local end=$((SECONDS + $2))
	until healthy "$1"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 1
	done
}

# worker_ip <n>: media worker replica n's address on the stack network.
worker_ip() {
	docker inspect -f "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}" \
		"${PBX_COMPOSE_PROJECT}_media-worker_$1"
}

# answered_by <sipp log> <ip>: calls in that log whose media came from ip.
answered_by() { grep -c "^sdp $2 " "$1"; }

# --- images and stack --------------------------------------------------------
t0=$SECONDS
if "$ROOT/docker/base-image.sh" >"$TMP/build.log" 2>&1 &&
	$DC build >>"$TMP/build.log" 2>&1; then
	pass images_build
else
	fail images_build "$(tail -3 "$TMP/build.log")"
	echo "$PASSED passed, $FAILED failed"
	exit 1
fi
echo "info: images built in $((SECONDS - t0)) s"
t0=$SECONDS
if $DC up -d --scale media-worker=1 >"$TMP/up.log" 2>&1 && wait_healthy 1 90; then
	pass stack_up_and_healthy
else
	fail stack_up_and_healthy "$($DC ps 2>&1 | grep -v healthy | tail -3)"
	echo "$PASSED passed, $FAILED failed"
	exit 1
fi
echo "info: stack healthy in $((SECONDS - t0)) s"

# Keys and passwords exist only in the keys volume, not in the images.
if [ "$($DC exec -T provision sh -c 'ls /pbx/keys/router.key /pbx/secrets/redis-admin.pass' 2>/dev/null | wc -l)" = 2 ] &&
	! docker run --rm --entrypoint sh pbx-provision -c 'ls /pbx/keys' >/dev/null 2>&1; then
	pass keys_in_volume_not_in_image
else fail keys_in_volume_not_in_image "keys missing from the volume, or present in the image"; fi
if [ "$($DC exec -T provision id -u)" = 10001 ] &&
	[ "$($DC exec -T kamailio id -u)" = 10001 ] &&
	[ "$($DC exec -T redis id -u)" = 10001 ]; then
	pass services_run_unprivileged
else fail services_run_unprivileged "a service runs as another user"; fi

# --- provisioning with pbxctl inside the stack ------------------------------
sox -n -r 8000 -c 1 -b 16 "$TMP/short.wav" synth 1 sine 660 2>/dev/null
sox -n -r 8000 -c 1 -b 16 "$TMP/long.wav" synth 10 sine 330 2>/dev/null
if {
	PBX_RUN=$TMP PBXCTL=$PBXCTL "$ROOT/scripts/demo.sh" &&
		"$PBXCTL" prompt upload demo short - <"$TMP/short.wav" &&
		"$PBXCTL" prompt upload demo long - <"$TMP/long.wav" &&
		number_with demo 15550004 short \
			'{"start":"g","nodes":{"g":{"type":"greeting","options":{"prompt":"short"}}}}' &&
		number_with demo 15550005 long \
			'{"start":"g","nodes":{"g":{"type":"greeting","options":{"prompt":"long"}}}}'
} >"$TMP/provision.out" 2>&1; then
	pass demo_tenant_provisioned_with_pbxctl
else fail demo_tenant_provisioned_with_pbxctl "$(tail -2 "$TMP/provision.out")"; fi

# --- the demo call, RTP counted at the caller --------------------------------
start_sink "$CALLER_IP" 31000 "$TMP/sink.out"
if csipp uac_greeting.xml 1000 5071 -m 1 -key rtp_port 31000 \
	-trace_logs -log_file "$TMP/demo.log"; then
	pass demo_call_answered_then_bye_from_pbx
else fail demo_call_answered_then_bye_from_pbx "sipp failed"; fi
wait "$SINK_PID"
packets=$(sink_packets "$TMP/sink.out")
# The demo prompt is 2.3 s: 115 packets at 50/s; at least 90 %.
if [ "${packets:-0}" -ge 103 ] && grep -q 'seq_bad=0 ts_bad=0' "$TMP/sink.out"; then
	pass demo_call_rtp_counted
else fail demo_call_rtp_counted "$(cat "$TMP/sink.out")"; fi
if grep -q "^sdp $(worker_ip 1) " "$TMP/demo.log"; then pass demo_call_on_worker_1
else fail demo_call_on_worker_1 "$(grep '^sdp' "$TMP/demo.log")"; fi

# --- scale to 3 workers: calls spread ---------------------------------------
if $DC up -d --no-recreate --scale media-worker=3 >>"$TMP/up.log" 2>&1 &&
	wait_healthy 3 60; then
	pass scaled_to_three_workers
else fail scaled_to_three_workers "$($DC ps 2>&1 | tail -4)"; fi
ips=$(for i in 1 2 3; do worker_ip $i; done | sort -u | wc -l)
ranges=$(for i in 1 2 3; do docker logs "${PBX_COMPOSE_PROJECT}_media-worker_$i" 2>&1 |
	sed -n 's/.*rtp [0-9.]*:\([0-9]*-[0-9]*\)$/\1/p' | tail -1; done | sort -u | wc -l)
if [ "$ips" = 3 ] && [ "$ranges" = 3 ]; then pass workers_have_own_address_and_rtp_range
else fail workers_have_own_address_and_rtp_range "$ips addresses, $ranges ranges"; fi
sleep 1.5 # the router has each new worker's heartbeat
csipp uac_greeting.xml 15550004 5072 -m 15 -r 10 -l 15 -key rtp_port 31004 \
	-trace_logs -log_file "$TMP/spread.log"
spread=""
low=0
for i in 1 2 3; do
	n=$(answered_by "$TMP/spread.log" "$(worker_ip $i)")
	spread="$spread mw$i=$n"
	[ "$n" -ge 3 ] || low=1
done
if [ "$(grep -c '^sdp ' "$TMP/spread.log")" = 15 ] && [ $low = 0 ]; then
	pass fifteen_calls_spread_over_three_workers
else fail fifteen_calls_spread_over_three_workers "$spread"; fi
echo "info: 15 calls:$spread"

# --- docker kill of a worker mid-call ----------------------------------------
# 9 callers hear a 10 s prompt; worker 2 is killed 2.5 s in. Its callers
# get BYE within 5 s (the router's dead-worker reaper, then the edge);
# the others hear the prompt out; 6 calls placed after the kill are
# answered by the two others.
for i in $(seq 9); do
	(csipp uac_greeting.xml 15550005 $((5200 + i)) -m 1 \
		-key rtp_port $((32000 + 2 * i)) -trace_logs -log_file "$TMP/kill$i.log"
	echo "$? $(now_ms)" >"$TMP/kill$i.end") &
	sleep 0.1
done
sleep 2.5
victim=$(worker_ip 2)
docker kill "${PBX_COMPOSE_PROJECT}_media-worker_2" >/dev/null
tkill=$(now_ms)
sleep 1
csipp uac_greeting.xml 15550004 5230 -m 6 -r 5 -l 6 -key rtp_port 32100 \
	-trace_logs -log_file "$TMP/after.log"
after_rc=$?
wait
lost=0 late=0 kept=0 cut=0 failed=0
for i in $(seq 9); do
	read -r rc tend <"$TMP/kill$i.end"
	if [ "$rc" != 0 ]; then failed=$((failed + 1)); continue; fi
	if grep -q "^sdp $victim " "$TMP/kill$i.log"; then
		lost=$((lost + 1))
		[ $((tend - tkill)) -gt 5000 ] && late=$((late + 1))
	else
		kept=$((kept + 1))
		[ $((tend - tkill)) -lt 5000 ] && cut=$((cut + 1))
	fi
done
echo "info: worker kill: $lost calls on the killed worker, $kept on the others, $failed failed"
if [ $failed = 0 ] && [ $lost -ge 1 ] && [ $late = 0 ]; then
	pass killed_workers_callers_get_bye_within_5s
else fail killed_workers_callers_get_bye_within_5s "lost=$lost late=$late failed=$failed"; fi
if [ $kept -ge 1 ] && [ $cut = 0 ]; then pass other_workers_callers_finish_normally
else fail other_workers_callers_finish_normally "kept=$kept cut=$cut"; fi
if [ $after_rc = 0 ] && [ "$(grep -c '^sdp ' "$TMP/after.log")" = 6 ] &&
	[ "$(answered_by "$TMP/after.log" "$victim")" = 0 ]; then
	pass calls_after_worker_kill_go_to_the_others
else fail calls_after_worker_kill_go_to_the_others "rc $after_rc; $(grep '^sdp' "$TMP/after.log" | cut -d' ' -f2 | sort | uniq -c | tr '\n' ' ')"; fi
if $DC logs --no-color router 2>/dev/null | grep -q "call lost: media worker mw2"; then
	pass router_reaped_the_killed_worker
else fail router_reaped_the_killed_worker "no 'call lost: media worker mw2' in the router's log"; fi

# --- teardown ---------------------------------------------------------------
trap - EXIT
cleanup
if [ -z "$(docker ps -aq --filter "label=com.docker.compose.project=$PBX_COMPOSE_PROJECT")" ] &&
	! docker volume ls -q | grep -q "^${PBX_COMPOSE_PROJECT}_"; then
	pass stack_and_volumes_removed
else fail stack_and_volumes_removed "containers or volumes left"; fi
rm -rf "$TMP"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
