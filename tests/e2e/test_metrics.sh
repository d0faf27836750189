#!/usr/bin/env bash
# End-to-end: metrics, health and JSON logs (issue 15 items 3 and 4). The
# whole stack on loopback with log_format = json (PBX_LOG_FORMAT). Scrapes
# every service's /metrics and /health (and Kamailio's xhttp_prom) with
# curl, places real SIPp calls (greetings heard by rtp_sink, a caller
# waiting in a queue while it streams audio), scrapes again and asserts the
# counters moved by what was sent: decisions on the router and the edge,
# calls and RTP packets both ways on the worker, the queue's census and
# results, provisioning requests by status, Kamailio's INVITEs. Then it
# follows the queued call's Call-ID through the JSON logs of the
# edge-bridge, router, media worker and queue-manager, and stops the router
# to see the other services' /health turn 503 and come back.
#
# Environment: PBX_BUILD (required). Prints PASS/FAIL lines and a last
# line "N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/e2e/lib.sh"
e2e_env metrics
export PBX_LOG_FORMAT=json
# The queue-manager's census of waiting callers runs with its sweep.
export PBX_SWEEP_MS=1000
CALLER_IP=127.0.0.2
T=met
QCID="met-queued-$$@$CALLER_IP"
declare -A PORT=([router]=9201 [edge-bridge]=9202 [provision]=9203
	[queue-manager]=9204 [notifier]=9205 [crm-connector]=9206
	[media-worker]=9210)
SERVICES="router edge-bridge provision queue-manager notifier crm-connector media-worker"
KAM=9220

QPID=""
cleanup() {
	[ -n "$QPID" ] && kill "$QPID" 2>/dev/null
	"$STACK" stop >/dev/null 2>&1
}
trap cleanup EXIT

# get <port> <path> <out> [curl args...]: the body into out; prints the
# HTTP status (000: no answer).
get() {
	local port=$1 path=$2 out=$3
	shift 3
	curl -s -m 5 -o "$out" -w '%{http_code}' "$@" \
		"http://127.0.0.1:$port$path"
}

# scrape <service> <file>: its /metrics into file; 0 on 200.
scrape() { [ "$(get "${PORT[$1]}" /metrics "$2")" = 200 ]; }

# val <file> <sample>: the value of one sample line (name{labels}), "" if
# absent.
val() { awk -v n="$2" '$1 == n { print $2; exit }' "$1"; }

# delta <name> <before file> <after file> <sample> <min>: the sample grew
# by at least min.
delta() {
	local a b
	a=$(val "$2" "$4")
	b=$(val "$3" "$4")
	if [ -n "$a" ] && [ -n "$b" ] &&
		awk -v a="$a" -v b="$b" -v m="$5" 'BEGIN { exit !(b - a >= m) }'; then
		pass "$1"
	else
		fail "$1" "$4: ${a:-absent} -> ${b:-absent} (want +$5)"
	fi
}

# scrape_all <suffix>: every service's metrics into $TMP/<svc>.<suffix>,
# Kamailio's into $TMP/kamailio.<suffix>.
scrape_all() {
	local s
	for s in $SERVICES; do scrape "$s" "$TMP/$s.$1"; done
	get $KAM /metrics "$TMP/kamailio.$1" >/dev/null
}

# wait_health <service> <status> <seconds>: /health answers status.
wait_health() {
	local end=$((SECONDS + $3))
	while [ $SECONDS -le "$end" ]; do
		[ "$(get "${PORT[$1]}" /health "$TMP/health.out")" = "$2" ] &&
			return 0
		sleep 0.2
	done
	return 1
}

# --- stack: every endpoint answers ------------------------------------------
stack_up

for s in $SERVICES; do
	code=$(get "${PORT[$s]}" /metrics "$TMP/$s.m0")
	if [ "$code" = 200 ] &&
		grep -qx "pbx_up{service=\"$s\"} 1" "$TMP/$s.m0" &&
		grep -q '^# TYPE pbx_redis_errors_total counter$' "$TMP/$s.m0"; then
		pass "metrics_served_by_$s"
	else fail "metrics_served_by_$s" "HTTP $code: $(head -c 200 "$TMP/$s.m0")"; fi
	if wait_health "$s" 200 10 && grep -qx ok "$TMP/health.out"; then
		pass "health_200_from_$s"
	else fail "health_200_from_$s" "$(cat "$TMP/health.out")"; fi
done

code=$(get ${PORT[router]} /nope "$TMP/nope.out")
if [ "$code" = 404 ]; then pass other_path_is_404
else fail other_path_is_404 "HTTP $code"; fi
code=$(get ${PORT[edge-bridge]} /metrics "$TMP/big.out" \
	-H "X-Pad: $(head -c 6000 /dev/zero | tr '\0' a)")
if [ "$code" = 400 ] && ! grep -q pbx_up "$TMP/big.out"; then
	pass oversized_request_refused
else fail oversized_request_refused "HTTP $code"; fi
# Every endpoint on loopback only.
if ! ss -ltn | awk '{ print $4 }' |
	grep -E ':(920[1-6]|9210|9220)$' | grep -qv '^127\.0\.0\.1:'; then
	pass metrics_listen_on_loopback_only
else fail metrics_listen_on_loopback_only "$(ss -ltn | grep -E ':92[0-9][0-9] ')"; fi

code=$(get $KAM /metrics "$TMP/kamailio.m0")
if [ "$code" = 200 ] && grep -q '^kamailio_core_rcv_requests_invite ' "$TMP/kamailio.m0"; then
	pass kamailio_metrics_by_xhttp_prom
else fail kamailio_metrics_by_xhttp_prom "HTTP $code: $(head -c 200 "$TMP/kamailio.m0")"; fi
code=$(get $KAM /other "$TMP/kam404.out")
if [ "$code" = 404 ]; then pass kamailio_other_path_is_404
else fail kamailio_other_path_is_404 "HTTP $code"; fi
# xhttp would answer HTTP on the SIP port too: refused there.
code=$(get 5060 /metrics "$TMP/kam5060.out")
if [ "$code" = 403 ] && ! grep -q kamailio_ "$TMP/kam5060.out"; then
	pass kamailio_http_refused_on_the_sip_port
else fail kamailio_http_refused_on_the_sip_port "HTTP $code"; fi

# --- tenant --------------------------------------------------------------------
cd "$TMP" || exit 1
sox -n -r 8000 -c 1 -e a-law caller.wav synth 30 sine 400 2>/dev/null
sox -n -r 16000 -c 1 -b 16 hello.wav synth 3 sine 440 2>/dev/null
cd - >/dev/null || exit 1
{
	"$PBXCTL" tenant delete $T
	"$PBXCTL" tenant create $T &&
		"$PBXCTL" prompt upload $T hello "$TMP/hello.wav" &&
		echo '{"agents":[]}' | "$PBXCTL" object put $T queue empty - &&
		number_with $T 15553001 greet '{"start":"g","nodes":{"g":{"type":"greeting","options":{"prompt":"hello"},"outputs":{"next":"bye"}},"bye":{"type":"hangup"}}}' &&
		number_with $T 15553002 wait '{"start":"q","nodes":{"q":{"type":"queue","options":{"queue":"empty","max_wait":60},"outputs":{"timeout":"bye"}},"bye":{"type":"hangup","options":{"code":480}}}}'
} >"$TMP/provision.out" 2>&1
if [ $? = 0 ]; then pass provision_metrics_tenant; else
	fail provision_metrics_tenant "$(tail -2 "$TMP/provision.out" | tr '\n' ' ')"
fi
# A request provision refuses: counted by its status.
"$PBXCTL" object get $T queue nosuch >/dev/null 2>&1

scrape_all m1

# --- calls ---------------------------------------------------------------------
# A caller waits in the queue for 20 s, streaming its audio (A-law).
(cd "$TMP" && exec timeout 40 sipp -sf "$SIPP_DIR/queue_caller.xml" \
	-s 15553002 -i $CALLER_IP -p 5131 -mi $CALLER_IP -mp 17100 \
	-key caller 79990000201 -key rtp_port 33100 -key mode hangup \
	-d 20000 -m 1 -nostdin -cid_str "$QCID" -trace_logs \
	-log_file "$TMP/queued.log" 127.0.0.1:5060 >>"$TMP/sipp.out" 2>&1) &
QPID=$!

# While the queued caller waits: the census, the worker's calls.
got=""
for _ in $(seq 40); do
	scrape queue-manager "$TMP/qm.mid"
	got=$(val "$TMP/qm.mid" pbx_queue_waiting_callers)
	[ "${got:-0}" -ge 1 ] && break
	sleep 0.2
done
if [ "${got:-0}" -ge 1 ]; then pass queue_waiting_callers_counted
else fail queue_waiting_callers_counted "pbx_queue_waiting_callers ${got:-absent}"; fi
scrape media-worker "$TMP/mw.mid"
scrape router "$TMP/router.mid"
got=$(val "$TMP/mw.mid" pbx_worker_active_calls)
legs=$(val "$TMP/mw.mid" pbx_worker_active_legs)
if [ "${got:-0}" -ge 1 ] && [ "${legs:-0}" -ge 1 ]; then
	pass worker_active_calls_and_legs_during_the_call
else fail worker_active_calls_and_legs_during_the_call "calls ${got:-absent}"; fi
got=$(val "$TMP/router.mid" pbx_router_active_calls)
if [ "${got:-0}" -ge 1 ]; then pass router_active_calls_during_the_call
else fail router_active_calls_during_the_call "${got:-absent}"; fi

# Two greetings, one after the other, each heard by a sink.
for i in 1 2; do
	start_sink $CALLER_IP $((33110 + 2 * i)) "$TMP/sink$i.out"
	if sipp_call uac_greeting.xml 15553001 $((5131 + i)) \
		-key rtp_port $((33110 + 2 * i)); then
		pass "greeting_call_${i}_answered_then_bye"
	else fail "greeting_call_${i}_answered_then_bye" "sipp failed"; fi
	wait "$SINK_PID"
done
pk1=$(sink_packets "$TMP/sink1.out")
pk2=$(sink_packets "$TMP/sink2.out")
at_least_pk=$(( ${pk1:-0} + ${pk2:-0} ))
if [ "${pk1:-0}" -ge 135 ] && [ "${pk2:-0}" -ge 135 ]; then
	pass greetings_heard_by_the_callers
else fail greetings_heard_by_the_callers "packets $pk1 and $pk2 (want >= 135 each)"; fi

wait "$QPID"
qrc=$?
QPID=""
if [ $qrc = 0 ] && grep -q sent-bye "$TMP/queued.log"; then
	pass queued_caller_waited_and_hung_up
else fail queued_caller_waited_and_hung_up "sipp exit $qrc"; fi
sleep 1
scrape_all m2

# --- the counters moved by what was sent -------------------------------------
M1=$TMP/router.m1 M2=$TMP/router.m2
delta router_decisions_counted "$M1" "$M2" pbx_router_decisions_total 3
delta router_step_latency_observed "$M1" "$M2" pbx_router_step_seconds_count 3
M1=$TMP/edge-bridge.m1 M2=$TMP/edge-bridge.m2
delta edge_calls_counted "$M1" "$M2" pbx_edge_calls_total 3
delta edge_decisions_counted "$M1" "$M2" pbx_edge_decisions_total 3
delta edge_bus_round_trips_observed "$M1" "$M2" pbx_edge_decision_rtt_seconds_count 3
M1=$TMP/media-worker.m1 M2=$TMP/media-worker.m2
delta worker_calls_counted "$M1" "$M2" pbx_worker_calls_total 3
# What the sinks counted left the worker (music for the queued caller too).
delta worker_rtp_sent_counted "$M1" "$M2" pbx_worker_rtp_sent_total "$at_least_pk"
# The queued caller streamed 20 s (1000 packets): most reached the worker.
delta worker_rtp_received_counted "$M1" "$M2" pbx_worker_rtp_received_total 600
got=$(val "$M2" pbx_worker_active_calls)
if [ "${got:-1}" = 0 ]; then pass worker_active_calls_back_to_zero
else fail worker_active_calls_back_to_zero "${got:-absent}"; fi
M1=$TMP/queue-manager.m1 M2=$TMP/queue-manager.m2
delta queue_result_queued_counted "$M1" "$M2" 'pbx_queue_results_total{kind="queued"}' 1
delta queue_estimated_wait_observed "$M1" "$M2" pbx_queue_estimated_wait_seconds_count 1
delta queue_commands_counted "$M1" "$M2" pbx_queue_commands_total 2
M0=$TMP/provision.m0 M1=$TMP/provision.m1
delta provision_ok_requests_counted "$M0" "$M1" 'pbx_provision_requests_total{status="ok"}' 5
delta provision_not_found_counted "$M0" "$M1" 'pbx_provision_requests_total{status="not_found"}' 1
delta kamailio_invites_counted "$TMP/kamailio.m1" "$TMP/kamailio.m2" \
	kamailio_core_rcv_requests_invite 3

# The shipped Grafana dashboard asks only for metrics that exist.
missing=""
for n in $(grep -oE '(pbx|kamailio)_[a-z0-9_]+' \
	"$ROOT/deploy/grafana/pbx-dashboard.json" | sort -u); do
	grep -qE "^$n[ {]" "$TMP"/*.m2 || missing="$missing $n"
done
if [ -z "$missing" ]; then pass grafana_dashboard_metrics_exist
else fail grafana_dashboard_metrics_exist "not served:$missing"; fi

# --- one call through every service's JSON log ---------------------------------
# Every line of the services' logs is a JSON object; the queued call's
# Call-ID is on lines of the edge-bridge, router, media worker and
# queue-manager, each with all the fields and the tenant.
if python3 - "$PBX_RUN" "$QCID" "$T" >"$TMP/json.out" 2>&1 <<'PY'
import json, sys
run, cid, tenant = sys.argv[1:4]
logs = {'edge-bridge': 'edge-bridge', 'router': 'router',
        'media-worker': 'mw1', 'queue-manager': 'queue-manager',
        'provision': 'provision', 'notifier': 'notifier',
        'crm-connector': 'crm-connector'}
bad = 0
for svc, f in logs.items():
    seen = 0
    for n, line in enumerate(open(f'{run}/{f}.log', errors='replace'), 1):
        try:
            o = json.loads(line)
        except ValueError:
            print(f'{f}.log:{n}: not JSON: {line[:120]!r}')
            bad += 1
            continue
        if set(o) != {'time', 'level', 'service', 'tenant', 'call', 'msg'} \
                or o['service'] != svc:
            print(f'{f}.log:{n}: fields {sorted(o)} service {o.get("service")}')
            bad += 1
        if o.get('call') == cid:
            seen += 1
            if o['tenant'] not in (tenant, ''):
                print(f'{f}.log:{n}: tenant {o["tenant"]}')
                bad += 1
    print(f'{svc}: {seen} lines of the call')
    if svc in ('edge-bridge', 'router', 'media-worker', 'queue-manager') \
            and not seen:
        bad += 1
sys.exit(1 if bad else 0)
PY
then pass call_followed_through_json_logs
else fail call_followed_through_json_logs "$(grep -v ' lines of' "$TMP/json.out" | head -3 | tr '\n' ' ')"; fi
sed 's/^/info: /' "$TMP/json.out" | grep 'lines of the call'

# --- health follows the bus ------------------------------------------------------
"$STACK" stop-one router
for s in edge-bridge queue-manager crm-connector media-worker; do
	if wait_health "$s" 503 10 &&
		grep -q "unhealthy: .*router" "$TMP/health.out"; then
		pass "health_503_from_${s}_without_router"
	else fail "health_503_from_${s}_without_router" "$(cat "$TMP/health.out")"; fi
done
"$STACK" start-one router >/dev/null 2>&1
for s in router edge-bridge queue-manager crm-connector media-worker; do
	if wait_health "$s" 200 15; then pass "health_200_again_from_$s"
	else fail "health_200_again_from_$s" "$(cat "$TMP/health.out")"; fi
done

e2e_finish $T
