#!/usr/bin/env bash
# Flood at the edge: the whole stack on loopback with its new-request rate
# lowered to 20/s (PBX_KAM_RATE), a burst of INVITEs at 20 times that
# rate, then a legitimate call. The edge must shed the excess with a
# retryable "503 Too Busy" carrying Retry-After (never a 500, never
# "out of mem"), and serve the next call once the burst is over.
#
# Environment: PBX_BUILD (a build dir, required). Prints "PASS <name>" /
# "FAIL <name> <why>" per check and a last line "N passed, M failed".
set -u
: "${PBX_BUILD:?set PBX_BUILD to a build directory}"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SIPP_DIR=$ROOT/tests/sipp
STACK=$ROOT/scripts/stack.sh
PBXCTL=$PBX_BUILD/services/pbxctl/pbxctl
export PBX_RUN=${PBX_RUN:-$(mktemp -d /tmp/pbx-flood.XXXXXX)}
export PBX_WORKERS=1 PBX_BUILD PBX_KAM_RATE=20
# One test caller address places every call (bursts of 30 and loads of
# 20 calls/s): above pike's per-source ban, which other suites test.
export PBX_PIKE_DENSITY=100000
TMP=$PBX_RUN/e2e
mkdir -p "$TMP"
T=flood
CALLER_IP=127.0.0.2
. "$ROOT/tests/e2e/lib.sh"

cleanup() {
	"$STACK" stop >/dev/null 2>&1
}
trap cleanup EXIT

if ! "$STACK" start; then
	fail stack_starts "see logs in $PBX_RUN"
	echo "$PASSED passed, $FAILED failed"
	exit 1
fi
pass stack_starts
"$PBXCTL" tenant delete $T >/dev/null 2>&1
if "$PBXCTL" tenant create $T >/dev/null &&
	echo '{"start":"h","nodes":{"h":{"type":"hangup","options":{"code":486,"reason":"Busy Here"}}}}' |
	"$PBXCTL" scenario put $T busy - >/dev/null &&
	"$PBXCTL" number connect $T 15560001 >/dev/null &&
	"$PBXCTL" scenario activate $T 15560001 busy >/dev/null; then
	pass provision_flood_tenant
else
	fail provision_flood_tenant "pbxctl failed"
fi
sleep 1.2 # a fresh rate interval

# 200 INVITEs at 400/s: about 10 intervals' worth arrive in half a second.
(cd "$TMP" && timeout 30 sipp -sf "$SIPP_DIR/uac_expect.xml" -s 15560001 \
	-key expect 486 -i $CALLER_IP -p 5120 -nostdin -r 400 -m 200 -l 200 \
	-trace_msg -message_file "$TMP/flood.msg" 127.0.0.1:5060 \
	>"$TMP/flood.out" 2>&1)
shed=$(grep -c '^SIP/2.0 503 Too Busy' "$TMP/flood.msg")
served=$(grep -c '^SIP/2.0 486 Busy Here' "$TMP/flood.msg")
retry=$(grep -c '^Retry-After: 5' "$TMP/flood.msg")
# Any other 5xx (500 out of memory, 503 Router timeout...) is a failure.
errors=$(($(grep -cE '^SIP/2.0 5[0-9][0-9]' "$TMP/flood.msg") - shed))
echo "info: burst of 200 at 400/s, limit 20/s: $served served, $shed shed"
if [ "$shed" -ge 100 ] && [ "$served" -ge 10 ]; then
	pass burst_is_shed_above_the_rate
else fail burst_is_shed_above_the_rate "served=$served shed=$shed"; fi
if [ "$retry" -ge "$shed" ] && [ "$shed" -gt 0 ]; then
	pass shed_answers_carry_retry_after
else fail shed_answers_carry_retry_after "$retry Retry-After for $shed 503s"; fi
if [ "$errors" = 0 ]; then pass burst_gets_no_server_errors
else fail burst_gets_no_server_errors "$errors other 5xx answers"; fi
sleep 1.5
expect_code legitimate_call_served_after_the_burst 15560001 486 5121
if ! grep -q "out of mem" "$PBX_RUN/kamailio.log"; then
	pass kamailio_never_out_of_memory
else fail kamailio_never_out_of_memory "$(grep -m1 'out of mem' "$PBX_RUN/kamailio.log")"; fi

"$PBXCTL" tenant delete $T >/dev/null 2>&1
"$STACK" stop
sanitizer_clean flood_services_clean_under_sanitizers "$PBX_RUN"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
