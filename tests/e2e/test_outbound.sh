#!/usr/bin/env bash
# End-to-end: outbound calls of employees' phones (issue 16 item 1). The
# whole stack; a SIPp phone registers extension 101 with digest auth
# through Kamailio and dials outside numbers in every form; a SIPp
# carrier on an outside address (198.51.100.9, the tenant's trunk)
# answers them. Asserts what reached each side: the number the carrier
# got (normalised, E.164) and the caller ID (the tenant's number), RTP
# counted in both directions, and the SIP answer of every refusal:
# international before it is allowed, an extension without permission,
# the concurrent-call and calls-per-minute limits, emergency and short
# numbers; a caller ID the tenant does not own refused when it is set.
# Calls between extensions keep working.
#
# The carrier's address must exist only in a private network namespace:
# run as root, the suite creates one, re-runs itself inside it and
# deletes it at the end (tests/security/netns.sh); inside one already
# (PBX_SEC_NS set) it runs there.
#
# Environment: PBX_BUILD (required). Prints PASS/FAIL lines and a last
# line "N passed, M failed".
set -u
: "${PBX_BUILD:?set PBX_BUILD to a build directory}"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/security/netns.sh"
own_netns "$ROOT/tests/e2e/test_outbound.sh" "$@"
. "$ROOT/tests/e2e/lib.sh"
e2e_env outbound
PHONE_IP=127.0.0.4
PHONE2_IP=127.0.0.5
CARRIER=198.51.100.9
T=outb
DOMAIN=outb.pbx.local
OTHER=outb2
PW101=first-phone-Zq8-pw
PW102=second-phone-Lm3-pw
OWN=74951230000        # the tenant's numbers
OWN2=74951230001
FOREIGN=74957770000    # another tenant's

ip addr add "$CARRIER/32" dev lo 2>/dev/null

BG=()
cleanup() {
	local p
	for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
	"$STACK" stop >/dev/null 2>&1
}
trap cleanup EXIT

stack_up
cd "$TMP" || exit 1
sox -n -r 8000 -c 1 -e a-law caller.wav synth 20 sine 400 2>/dev/null
sox -n -r 8000 -c 1 -e a-law callee.wav synth 20 sine 600 2>/dev/null
cd - >/dev/null || exit 1

{
	"$PBXCTL" tenant create $T --domain $DOMAIN &&
	"$PBXCTL" tenant create $OTHER --domain outb2.pbx.local &&
	"$PBXCTL" ext add $T 101 "$PW101" &&
	"$PBXCTL" ext add $T 102 "$PW102" &&
	"$PBXCTL" number connect $T $OWN &&
	"$PBXCTL" number connect $T $OWN2 &&
	"$PBXCTL" number connect $OTHER $FOREIGN &&
	"$PBXCTL" trunk add out-carrier $CARRIER:5060 --format e164
} >"$TMP/setup.log" 2>&1 && pass tenant_trunk_provisioned ||
	fail tenant_trunk_provisioned "$(tail -3 "$TMP/setup.log")"

if phone_register 101 "$PW101" $DOMAIN $PHONE_IP 5094; then
	pass phone_registers
else
	fail phone_registers "no 200 to REGISTER"
fi

# dial <name> <number> <expect> [ext] [hold ms]: the phone (extension
# 101, or ext) dials number; exit 0 when the final answer is expect.
# DIAL_PORT / DIAL_MP: its SIP and media ports, for a second phone call
# at the same time.
# Its log (got N (reason)) in $TMP/<name>.log.
dial() {
	local ext=${4:-101} pw=$PW101 ip=$PHONE_IP
	[ "$ext" = 102 ] && pw=$PW102 ip=$PHONE2_IP
	(cd "$TMP" && timeout 60 sipp -sf "$SIPP_DIR/out_phone.xml" -s "$2" \
		-key user "$ext" -key domain $DOMAIN -key expect "$3" \
		-key rtp_port 32010 -au "$ext" -ap "$pw" -i $ip \
		-p "${DIAL_PORT:-5096}" -mi $ip -mp "${DIAL_MP:-16000}" \
		-d "${5:-500}" -m 1 -nostdin \
		-trace_logs -log_file "$TMP/$1.log" 127.0.0.1:5060 \
		>>"$TMP/sipp.out" 2>&1)
}

# refused <name> <number> <code> <reason regex> [ext]: the call gets
# code with a reason phrase that names the rule.
refused() {
	if dial "$1" "$2" "$3" "${5:-101}" &&
		grep -qE "got $3(\.0+)? \($4" "$TMP/$1.log"; then
		pass "$1"
	else
		fail "$1" "$(grep -m1 -o 'got [0-9]* ([^)]*)' "$TMP/$1.log")"
	fi
}

# carrier <name>: the SIPp carrier takes one call in the background
# (CARRIER_PID), an rtp_sink counts what reaches its RTP port.
carrier() {
	rm -f "$TMP/$1.carrier.log"
	(cd "$TMP" && exec timeout 60 sipp -sf "$SIPP_DIR/out_carrier.xml" \
		-i $CARRIER -p 5060 -mi $CARRIER -mp 18000 \
		-key rtp_port 32020 -m 1 -nostdin -trace_logs \
		-log_file "$TMP/$1.carrier.log" >>"$TMP/sipp.out" 2>&1) &
	CARRIER_PID=$!
	BG+=("$CARRIER_PID")
	sleep 0.3
}

# out_call <name> <number> <want ruri user> <want caller id> [count]:
# an answered outbound call; the carrier saw the number and caller ID;
# with count, RTP both ways (~3 s at 50 packets/s each way).
out_call() {
	local name=$1 a b rc
	carrier "$name"
	if [ -n "${5:-}" ]; then
		start_sink $PHONE_IP 32010 "$TMP/$name.phone.sink"
		a=$SINK_PID
		start_sink $CARRIER 32020 "$TMP/$name.carrier.sink"
		b=$SINK_PID
	fi
	if dial "$name" "$2" 200 101 "$([ -n "${5:-}" ] && echo 3500 || echo 500)"; then
		pass "${name}_answered"
	else
		fail "${name}_answered" "$(grep -m1 -o 'got [0-9]* ([^)]*)' "$TMP/$name.log")"
	fi
	wait "$CARRIER_PID"
	rc=$?
	if [ $rc = 0 ] && grep -qF "ruri $3 from $4@" "$TMP/$name.carrier.log"; then
		pass "${name}_carrier_got_${3}_from_${4}"
	else
		fail "${name}_carrier_got_${3}_from_${4}" \
			"rc $rc: $(grep -m1 'ruri' "$TMP/$name.carrier.log")"
	fi
	[ -n "${5:-}" ] || return 0
	wait "$a" "$b"
	a=$(sink_packets "$TMP/$name.phone.sink")
	b=$(sink_packets "$TMP/$name.carrier.sink")
	if [ "${b:-0}" -ge 100 ]; then pass "${name}_rtp_phone_to_carrier"
	else fail "${name}_rtp_phone_to_carrier" "carrier got ${b:-0} packets"; fi
	if [ "${a:-0}" -ge 100 ]; then pass "${name}_rtp_carrier_to_phone"
	else fail "${name}_rtp_carrier_to_phone" "phone got ${a:-0} packets"; fi
}

# --- caller IDs: only the tenant's numbers --------------------------------
if ! "$PBXCTL" outbound set $T --caller-id $FOREIGN >"$TMP/cid.out" 2>&1 &&
	grep -q "not a number of tenant $T" "$TMP/cid.out"; then
	pass caller_id_of_another_tenant_refused
else fail caller_id_of_another_tenant_refused "$(cat "$TMP/cid.out")"; fi
if ! "$PBXCTL" ext set $T 101 --caller-id "+7 (495) 777-00-00" \
	>"$TMP/cid2.out" 2>&1 && grep -q "not a number of tenant" "$TMP/cid2.out"; then
	pass ext_caller_id_of_another_tenant_refused
else fail ext_caller_id_of_another_tenant_refused "$(cat "$TMP/cid2.out")"; fi
if ! "$PBXCTL" outbound set $T --max-legs many >/dev/null 2>&1 &&
	! "$PBXCTL" outbound set $T --international yes >/dev/null 2>&1; then
	pass bad_policy_values_refused
else fail bad_policy_values_refused "a bad value was taken"; fi
# Nothing was stored by the refused requests.
if "$PBXCTL" outbound show $T | grep -qx "caller_id none (default)"; then
	pass refused_settings_change_nothing
else fail refused_settings_change_nothing "$("$PBXCTL" outbound show $T | tr '\n' ' ')"; fi

# No caller ID yet: the call is refused, nothing reaches the carrier.
refused no_caller_id_refused 89161234567 403 "Forbidden \(no outbound caller ID"

if "$PBXCTL" outbound set $T --caller-id "8 (495) 123-00-00" |
	grep -qx "caller_id $OWN"; then
	pass caller_id_set_canonical
else fail caller_id_set_canonical "not stored as $OWN"; fi

# --- every form of a number, out through the trunk ------------------------
out_call mobile_8 89161234567 +79161234567 +$OWN count
out_call mobile_plus7 +79161234567 +79161234567 +$OWN
out_call mobile_10_digits 9161234567 +79161234567 +$OWN
out_call mobile_e164_without_plus 79161234567 +79161234567 +$OWN
out_call national_8 84951112233 +74951112233 +$OWN
if [ "$(rcli ZCARD 'pbx:{outb}:out:legs')" = 0 ]; then
	pass outbound_calls_released_after_bye
else fail outbound_calls_released_after_bye "$(rcli ZRANGE 'pbx:{outb}:out:legs' 0 -1)"; fi

# --- international: off by default, then allowed ---------------------------
refused international_refused_by_default 810442079460958 403 \
	"Forbidden \(international calls not allowed"
refused international_plus_refused_by_default +442079460958 403 \
	"Forbidden \(international"
"$PBXCTL" outbound set $T --international on >/dev/null
out_call international_810 810442079460958 +442079460958 +$OWN
out_call international_plus +442079460958 +442079460958 +$OWN
out_call international_e164_without_plus 442079460958 +442079460958 +$OWN

# --- the extension's own caller ID and permission --------------------------
"$PBXCTL" ext set $T 101 --caller-id $OWN2 >/dev/null
out_call ext_own_caller_id 89161234567 +79161234567 +$OWN2
"$PBXCTL" ext set $T 101 --caller-id none >/dev/null
if "$PBXCTL" ext set $T 102 --outbound off | grep -qx "outbound off"; then
	pass ext_permission_set
else fail ext_permission_set "not shown as off"; fi
refused ext_without_permission_refused 89161234567 403 \
	"Forbidden \(outbound calls not allowed for this extension" 102

# --- emergency and short numbers --------------------------------------------
refused emergency_not_routed 112 403 "Forbidden \(emergency calls not routed"
refused short_number_not_found 0611 404 "Not Found"

# --- limits -------------------------------------------------------------------
# One outbound call at a time: the second gets 486 while the first is up.
"$PBXCTL" outbound set $T --max-legs 1 >/dev/null
carrier legs
(dial legs_first 89161234567 200 101 4000; echo $? >"$TMP/legs1.rc") &
first=$!
sleep 1.5
DIAL_PORT=5098 DIAL_MP=16100 refused leg_limit_refused_busy 89161234568 \
	486 "Busy Here \(Outbound Call Limit"
wait $first "$CARRIER_PID"
if [ "$(cat "$TMP/legs1.rc")" = 0 ]; then pass leg_limit_first_call_up
else fail leg_limit_first_call_up "$(grep -m1 -o 'got [0-9]* ([^)]*)' "$TMP/legs_first.log")"; fi
# A call slot comes back when the call ends.
out_call leg_limit_slot_back_after_bye 89161234567 +79161234567 +$OWN
"$PBXCTL" outbound set $T --max-legs 10 --cpm 0 >/dev/null
refused cpm_limit_refused 89161234567 503 \
	"Service Unavailable \(Outbound Rate Limit"
"$PBXCTL" outbound set $T --cpm 30 >/dev/null

# --- calls between extensions keep working ----------------------------------
(cd "$TMP" && exec timeout 30 sipp -sf "$SIPP_DIR/uas_callee.xml" \
	-i $PHONE_IP -p 5094 -mi $PHONE_IP -mp 18100 -m 1 -nostdin \
	>>"$TMP/sipp.out" 2>&1) &
callee=$!
BG+=("$callee")
sleep 0.3
"$PBXCTL" ext set $T 102 --outbound on >/dev/null
if dial ext_to_ext 101 200 102 1000; then pass ext_to_ext_answered
else fail ext_to_ext_answered "$(grep -m1 -o 'got [0-9]* ([^)]*)' "$TMP/ext_to_ext.log")"; fi
wait $callee && pass ext_to_ext_phone_got_call_and_bye ||
	fail ext_to_ext_phone_got_call_and_bye "phone sipp failed"

# Every refusal is logged with tenant and call id.
if grep -E "\[$T/[^]]+\] outbound call from extension 101 to 442079460958 \(international\) refused: 403" \
	"$PBX_RUN"/router*.log >/dev/null; then
	pass refusal_logged_with_tenant_and_call
else fail refusal_logged_with_tenant_and_call "no such line in the router's log"; fi

"$PBXCTL" trunk remove out-carrier >/dev/null 2>&1
e2e_finish $T $OTHER
