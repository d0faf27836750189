#!/usr/bin/env bash
# N edge-bridges as active peers (docs/operations.md, "Edge-bridges"): the
# whole stack with two edge-bridges (edge1, edge2), real SIP calls with
# SIPp. Kamailio gives each call to one bridge in turn: both carry calls
# (counted in each bridge's log) and no call is asked twice; a bridge
# frozen with a call waiting in it and then killed loses no call
# (Kamailio asks again through the other); a frozen bridge that left one
# call unanswered is passed over; with one bridge left every new call is
# answered, also during a burst when the other is killed;
# a bridge started again takes its share again.
#
# Environment: PBX_BUILD (a build dir, required). Prints "PASS <name>" /
# "FAIL <name> <why>" per check and a last line "N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/e2e/lib.sh"
e2e_env bridges
export PBX_BRIDGES=2
export PBX_PIKE_DENSITY=100000
T=brg
CALLER_IP=127.0.0.2
SHORT=15570001 # a 1 s prompt, then the PBX hangs up
LONG=15570002  # a 20 s prompt

cleanup() { "$STACK" stop >/dev/null 2>&1; }
trap cleanup EXIT

stack_up
"$PBXCTL" tenant delete $T >/dev/null 2>&1
if "$PBXCTL" tenant create $T >/dev/null &&
	greeting_number $T $SHORT short 1 660 &&
	greeting_number $T $LONG long 20 330; then
	pass provision_test_tenant
else fail provision_test_tenant "pbxctl failed"; fi

B1=$PBX_RUN/edge-bridge.log
B2=$PBX_RUN/edge2.log
KAM=$PBX_RUN/kamailio.log
# asked <bridge log>: the calls that bridge asked a router about.
asked() { grep -c "call.new .*-> $SHORT" "$1"; }
# calls <name> <n> <rate> <sip port> <rtp port>: n calls of SHORT at rate
# per second, all must be answered (sipp exits 0); log $TMP/<name>.log.
calls() {
	(cd "$TMP" && timeout 60 sipp -sf "$SIPP_DIR/uac_greeting.xml" \
		-s $SHORT -i $CALLER_IP -p "$4" -nostdin -m "$2" -r "$3" \
		-l "$2" -key rtp_port "$5" -trace_logs -trace_stat \
		-stf "$TMP/$1.csv" -log_file "$TMP/$1.log" \
		127.0.0.1:5060 >>"$TMP/sipp.out" 2>&1)
}
# succ <name>: the calls of that sipp run that succeeded (its -stf file).
stat_col() { head -1 "$TMP/$1.csv" | tr ';' '\n' | grep -n "^$2$" | cut -d: -f1; }
succ() { local c; c=$(stat_col "$1" SuccessfulCall\(C\)); tail -1 "$TMP/$1.csv" | cut -d';' -f"$c"; }

# --- both bridges carry calls, each call asked once ------------------------
a1=$(asked "$B1") a2=$(asked "$B2")
if calls spread 20 10 6100 16000; then
	pass spread_calls_answered
else fail spread_calls_answered "$(succ spread) of 20 answered"; fi
d1=$(($(asked "$B1") - a1)) d2=$(($(asked "$B2") - a2))
echo "info: 20 calls: edge1 asked $d1, edge2 asked $d2"
if [ $d1 -ge 5 ] && [ $d2 -ge 5 ] && [ $((d1 + d2)) = 20 ]; then
	pass "calls_spread_over_both_bridges (edge1 $d1, edge2 $d2)"
else fail calls_spread_over_both_bridges "edge1 $d1, edge2 $d2 of 20"; fi

# --- a bridge that dies with a call waiting in it loses no call -----------
# edge2 frozen: what Kamailio gives it waits in its socket. Two calls: one
# of them goes to edge2 (round robin). Then edge2 dies.
P2=$(cat "$PBX_RUN/edge2.pid")
kill -STOP "$P2"
n_lost0=$(grep -c "bridge b[0-9]* gone before the router's answer" "$KAM")
calls frozen 2 10 6200 17000 &
CALLS=$!
sleep 0.5
kill -9 "$P2"
kill -CONT "$P2" 2>/dev/null
wait $CALLS
rc=$?
n_lost=$(($(grep -c "bridge b[0-9]* gone before the router's answer" "$KAM") - n_lost0))
if [ $rc = 0 ] && [ "$n_lost" -ge 1 ]; then
	pass "call_waiting_in_a_dead_bridge_is_answered ($n_lost asked again)"
else fail call_waiting_in_a_dead_bridge_is_answered "sipp rc $rc, $(succ frozen) of 2 answered, $n_lost asked again"; fi

# gone <pid>: waits until the killed process is reaped.
gone() { for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; }

# --- a frozen bridge is passed over after one unanswered call -------------
gone "$P2"
"$STACK" start-one edge2 >/dev/null 2>&1
sleep 0.3
P2=$(cat "$PBX_RUN/edge2.pid")
kill -STOP "$P2"
# Two calls: the one given to edge2 gets 503 after 2 s (Kamailio's
# timer), the other is answered through edge1.
calls suspect 2 10 6250 17500
s1=$(succ suspect)
a1=$(asked "$B1")
calls passed 10 10 6270 17600
rc=$?
d1=$(($(asked "$B1") - a1))
if [ "$s1" = 1 ] && [ $rc = 0 ] && [ $d1 = 10 ] &&
	grep -q "did not answer: passed over" "$KAM"; then
	pass "frozen_bridge_passed_over_after_one_timeout (then 10 of 10 through edge1)"
else fail frozen_bridge_passed_over_after_one_timeout "first 2: $s1 answered; then sipp rc $rc, $(succ passed) of 10, edge1 asked $d1"; fi
kill -9 "$P2"
kill -CONT "$P2" 2>/dev/null

# --- kill one mid-burst: new calls keep working ---------------------------
gone "$P2"
"$STACK" start-one edge2 >/dev/null 2>&1
sleep 0.3
a1=$(asked "$B1") a2=$(asked "$B2")
calls burst 30 15 6300 18000 &
CALLS=$!
sleep 1
P2=$(cat "$PBX_RUN/edge2.pid")
kill -9 "$P2"
wait $CALLS
rc=$?
d1=$(($(asked "$B1") - a1)) d2=$(($(asked "$B2") - a2))
echo "info: burst of 30, edge2 killed after 1 s: edge1 asked $d1, edge2 asked $d2"
if [ $rc = 0 ] && [ $d2 -ge 1 ] && [ $d1 -gt $d2 ]; then
	pass "bridge_killed_mid_burst_no_call_lost (edge1 $d1, edge2 $d2)"
else fail bridge_killed_mid_burst_no_call_lost "sipp rc $rc, $(succ burst) of 30 answered; edge1 $d1, edge2 $d2"; fi
a1=$(asked "$B1")
if calls after 10 10 6400 19000 && [ $(($(asked "$B1") - a1)) = 10 ]; then
	pass new_calls_all_through_the_live_bridge
else fail new_calls_all_through_the_live_bridge "$(succ after) of 10 answered, edge1 asked $(($(asked "$B1") - a1))"; fi

# --- the bridge back: it takes its share again -----------------------------
gone "$P2"
"$STACK" start-one edge2 >/dev/null 2>&1
sleep 0.3
a1=$(asked "$B1") a2=$(asked "$B2")
calls back 10 10 6500 20000
rc=$?
d1=$(($(asked "$B1") - a1)) d2=$(($(asked "$B2") - a2))
if [ $rc = 0 ] && [ $d1 -ge 3 ] && [ $d2 -ge 3 ]; then
	pass "restarted_bridge_takes_calls_again (edge1 $d1, edge2 $d2)"
else fail restarted_bridge_takes_calls_again "sipp rc $rc; edge1 $d1, edge2 $d2"; fi

# --- a call whose bridge died is still ended when its worker dies ---------
# Calls up through both bridges; edge2 dies, then the worker: the router
# sends the CallEnd of edge2's calls through edge1, and every caller gets
# its BYE long before the 20 s prompt would end.
a2=$(grep -c "call.new .*-> $LONG" "$B2")
(cd "$TMP" && timeout 60 sipp -sf "$SIPP_DIR/uac_greeting.xml" -s $LONG \
	-i $CALLER_IP -p 6600 -nostdin -m 4 -r 10 -l 4 -key rtp_port 21000 \
	-trace_stat -stf "$TMP/lost.csv" 127.0.0.1:5060 >>"$TMP/sipp.out" 2>&1) &
CALLS=$!
sleep 2
n2=$(($(grep -c "call.new .*-> $LONG" "$B2") - a2))
P2=$(cat "$PBX_RUN/edge2.pid")
kill -9 "$P2"
sleep 0.3
T_KILL=$(now_ms)
kill -9 "$(cat "$PBX_RUN/mw1.pid")"
wait $CALLS
rc=$?
took=$(($(now_ms) - T_KILL))
through=$(grep -c "edge edge2 is gone: call end sent through edge edge1" "$PBX_RUN/router.log")
echo "info: 4 calls (edge2 asked $n2), worker killed: all ended $took ms later, $through call ends rerouted"
if [ $rc = 0 ] && [ "$took" -lt 10000 ] && [ "$n2" -ge 1 ] && [ "$through" -ge "$n2" ]; then
	pass "callers_of_a_dead_bridge_get_bye_when_their_worker_dies ($n2 through edge1, ${took} ms)"
else fail callers_of_a_dead_bridge_get_bye_when_their_worker_dies "sipp rc $rc, $(succ lost) of 4 ended, ${took} ms, edge2 asked $n2, $through rerouted"; fi

"$STACK" stop >/dev/null 2>&1
sanitizer_clean services_sanitizer_clean "$PBX_RUN"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
