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
# Per-tenant trunks (issue 16): a tenant given its own trunks (198.51.100.11
# then .10) reaches them while another tenant still takes the default;
# a trunk that answers 503 hands the call to the tenant's next trunk, a
# 404 does not; what reached the carrier shows only the edge (Contact,
# Via, To: no worker address, no tenant domain); the carrier's re-INVITE
# and BYE reach our side and end the call there.
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
PHONE3_IP=127.0.0.6    # extension 201 of the other tenant
CARRIER=198.51.100.9
CARRIER2=198.51.100.10 # trunk "carrier2", format national
DEAD=198.51.100.11     # trunk "dead": refuses every call
T=outb
DOMAIN=outb.pbx.local
OTHER=outb2
DOMAIN2=outb2.pbx.local
PW201=other-tenant-Kp5-pw
PW101=first-phone-Zq8-pw
PW102=second-phone-Lm3-pw
OWN=74951230000        # the tenant's numbers
OWN2=74951230001
FOREIGN=74957770000    # another tenant's

for a in $CARRIER $CARRIER2 $DEAD; do ip addr add "$a/32" dev lo 2>/dev/null; done

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
	"$PBXCTL" tenant create $OTHER --domain $DOMAIN2 &&
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
	local ext=${4:-101} pw=$PW101 ip=$PHONE_IP dom=$DOMAIN
	[ "$ext" = 102 ] && pw=$PW102 ip=$PHONE2_IP
	[ "$ext" = 201 ] && pw=$PW201 ip=$PHONE3_IP dom=$DOMAIN2
	(cd "$TMP" && timeout 60 sipp -sf "$SIPP_DIR/out_phone.xml" -s "$2" \
		-key user "$ext" -key domain "$dom" -key expect "$3" \
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
# CARRIER_AT / CARRIER_SF: another address and scenario; what it
# received is in $TMP/<name>.carrier.msg.
carrier() {
	rm -f "$TMP/$1.carrier.log" "$TMP/$1.carrier.msg"
	(cd "$TMP" && exec timeout 60 sipp \
		-sf "$SIPP_DIR/${CARRIER_SF:-out_carrier.xml}" \
		-i "${CARRIER_AT:-$CARRIER}" -p 5060 \
		-mi "${CARRIER_AT:-$CARRIER}" -mp 18000 \
		-key rtp_port 32020 -m 1 -nostdin -trace_logs \
		-log_file "$TMP/$1.carrier.log" -trace_msg \
		-message_file "$TMP/$1.carrier.msg" >>"$TMP/sipp.out" 2>&1) &
	CARRIER_PID=$!
	BG+=("$CARRIER_PID")
	sleep 0.3
}

# out_call <name> <number> <want ruri user> <want caller id> [count]:
# an answered outbound call; the carrier saw the number and caller ID;
# with count, RTP both ways (~3 s at 50 packets/s each way).
out_call() {
	local name=$1 a b rc pip=$PHONE_IP
	[ "${DIAL_EXT:-101}" = 201 ] && pip=$PHONE3_IP
	carrier "$name"
	if [ -n "${5:-}" ]; then
		start_sink $pip 32010 "$TMP/$name.phone.sink"
		a=$SINK_PID
		start_sink "${CARRIER_AT:-$CARRIER}" 32020 "$TMP/$name.carrier.sink"
		b=$SINK_PID
	fi
	if dial "$name" "$2" 200 "${DIAL_EXT:-101}" "$([ -n "${5:-}" ] && echo 3500 || echo 500)"; then
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

# --- per-tenant trunks, failover, topology hiding ---------------------------
# Tenant B ($OTHER) gets trunks "dead" (answers 503 or 404) and then
# "carrier2"; tenant A ($T) keeps the default. B never called out
# before, so the edge has no cached list for it.
{
	"$PBXCTL" trunk add carrier2 $CARRIER2:5060 --format national &&
	"$PBXCTL" trunk add dead $DEAD:5060 &&
	"$PBXCTL" ext add $OTHER 201 "$PW201" &&
	"$PBXCTL" outbound set $OTHER --caller-id $FOREIGN
} >"$TMP/trunks.log" 2>&1 && phone_register 201 "$PW201" $DOMAIN2 $PHONE3_IP 5092 &&
	pass trunks_and_second_tenant_provisioned ||
	fail trunks_and_second_tenant_provisioned "$(tail -2 "$TMP/trunks.log")"

# assign_refused <name> <message regex> <args...>: pbxctl trunk assign
# fails naming the problem, and the tenant keeps the default.
assign_refused() {
	local name=$1 want=$2 out
	shift 2
	if ! out=$("$PBXCTL" trunk assign "$@" 2>&1) && grep -qE "$want" <<<"$out" &&
		"$PBXCTL" trunk show $OTHER | grep -qx "$OTHER trunks default (out-carrier)"; then
		pass "$name"
	else fail "$name" "$out / $("$PBXCTL" trunk show $OTHER 2>&1)"; fi
}
assign_refused assign_unknown_trunk_refused "no trunk nosuch" $OTHER carrier2 nosuch
assign_refused assign_same_trunk_twice_refused "named twice" $OTHER carrier2 carrier2
assign_refused assign_unknown_tenant_refused "unknown tenant" nosuchtenant carrier2
assign_refused assign_five_trunks_refused "at most 4" $OTHER a b c d e

if "$PBXCTL" trunk assign $OTHER dead carrier2 | grep -qx "$OTHER trunks dead,carrier2" &&
	[ "$(rcli HGET 'pbx:{sys}:tenant_trunks' $OTHER)" = dead,carrier2 ] &&
	"$PBXCTL" trunk show $T | grep -qx "$T trunks default (out-carrier)"; then
	pass tenant_b_assigned_two_trunks
else fail tenant_b_assigned_two_trunks "$("$PBXCTL" trunk show $OTHER 2>&1)"; fi

# refusing_carrier <name> <code>: the dead trunk's SIPp answers code.
refusing_carrier() {
	(cd "$TMP" && exec timeout 30 sipp -sf "$SIPP_DIR/uas_fail.xml" \
		-key code "$2" -i $DEAD -p 5060 -m 1 -nostdin -trace_logs \
		-log_file "$TMP/$1.dead.log" >>"$TMP/sipp.out" 2>&1) &
	DEAD_PID=$!
	BG+=("$DEAD_PID")
}

# B's phone: the first trunk answers 503, the call reaches carrier 2 in
# its number format (national: 8 and 10 digits), RTP both ways.
refusing_carrier failover 503
DIAL_EXT=201 CARRIER_AT=$CARRIER2 out_call tenant_b_failover_to_trunk2 \
	89161234567 89161234567 +$FOREIGN count
if wait "$DEAD_PID" && grep -q 'ruri +79161234567' "$TMP/failover.dead.log"; then
	pass failover_first_trunk_got_invite_and_503
else fail failover_first_trunk_got_invite_and_503 "dead trunk's sipp failed"; fi
if grep -q "trunk dead answered 503: trying trunk carrier2 (tenant $OTHER)" \
	"$PBX_RUN/kamailio.log"; then
	pass failover_logged
else fail failover_logged "no such line in kamailio.log"; fi

# What carrier 2 got shows the edge only.
m=$TMP/tenant_b_failover_to_trunk2.carrier.msg
awk '/^(INVITE|BYE|ACK) sip:/{p=1} p&&/^\r?$/{p=0} p' "$m" >"$m.hdr"
if grep -q '^INVITE sip:89161234567@198.51.100.10:5060 SIP' "$m.hdr" &&
	grep -q '^BYE sip:' "$m.hdr"; then
	pass carrier_got_invite_and_bye
else fail carrier_got_invite_and_bye "$(grep -c . "$m.hdr") header lines"; fi
# Contact: the edge's address (the worker's, encoded, in a parameter).
if grep -qiE '^Contact: *<sip:127\.0\.0\.1;line=sr-[^>]*>' "$m.hdr"; then
	pass carrier_contact_is_the_edge
else fail carrier_contact_is_the_edge "$(grep -i '^Contact' "$m.hdr")"; fi
# Nothing internal in any header: the edge's address (its Record-Route,
# port 5060 implied) and nothing else: no worker port (5080+), no tenant
# domain, no worker name. (The SDP's c= is the worker's RTP address:
# media flows there directly.)
leak=$(grep -oE '127\.0\.0\.1:[0-9]+|outb2?\.pbx\.local|mw[0-9]+@' "$m.hdr" |
	grep -v '^127\.0\.0\.1:5060$' | sort -u)
if [ -z "$leak" ] && grep -q '^Record-Route: <sip:127\.0\.0\.1;lr' "$m.hdr"; then
	pass carrier_sees_no_internal_address
else fail carrier_sees_no_internal_address "leaked: $(echo $leak)"; fi
if grep -qiE '^To: *<sip:89161234567@198\.51\.100\.10:5060>' "$m.hdr"; then
	pass carrier_to_is_number_at_trunk
else fail carrier_to_is_number_at_trunk "$(grep -i '^To:' "$m.hdr" | head -1)"; fi

# Tenant A still takes the default trunk (198.51.100.9, e164).
out_call tenant_a_still_default 89161234567 +79161234567 +$OWN

# A callee's own answer (404) is final: no second trunk (the phone gets
# the failure of the ring, 480, and carrier 2 no INVITE).
refusing_carrier notfound 404
k=$(grep -c 'via trunk carrier2' "$PBX_RUN/kamailio.log")
if dial failover_404_final 89161234567 480 201 && wait "$DEAD_PID" &&
	grep -q 'ruri +79161234567' "$TMP/notfound.dead.log" &&
	[ "$(grep -c 'via trunk carrier2' "$PBX_RUN/kamailio.log")" = "$k" ]; then
	pass failover_not_on_404
else fail failover_not_on_404 "$(grep -m1 -o 'got [0-9]* ([^)]*)' "$TMP/failover_404_final.log")"; fi

# The carrier drives the dialog: its re-INVITE (hold) and its BYE reach
# our side through the edge; the BYE ends the call there (the caller of
# B's scenario, which rings a mobile number, gets BYE from the PBX).
{
	echo '{"start":"m","nodes":{"m":{"type":"subscriber","options":{"kind":"mobile","target":"+79161234567","timeout":10},"outputs":{"no_answer":"x","busy":"x","unavailable":"x"}},"x":{"type":"hangup"}}}' |
		"$PBXCTL" scenario put $OTHER ringout - &&
	"$PBXCTL" scenario activate $OTHER $FOREIGN ringout
} >"$TMP/ringout.log" 2>&1 || fail ringout_scenario "$(tail -1 "$TMP/ringout.log")"
refusing_carrier carrier_bye 503
CARRIER_AT=$CARRIER2 CARRIER_SF=uas_carrier_bye.xml carrier carrier_bye
if CALLER_IP=127.0.0.2 sipp_call uac_greeting.xml $FOREIGN 5072 -key rtp_port 32030 \
	-trace_logs -log_file "$TMP/carrier_bye.caller.log"; then
	pass carrier_bye_ends_the_call_on_our_side
else fail carrier_bye_ends_the_call_on_our_side "caller got no BYE"; fi
if wait "$CARRIER_PID"; then pass carrier_reinvite_and_bye_answered
else fail carrier_reinvite_and_bye_answered "carrier's sipp: $(grep -m2 -iE 'fail|unexpected|abort' "$TMP/carrier_bye.carrier.log" "$TMP/sipp.out" | tail -2)"; fi
wait "$DEAD_PID"

# A carrier's call in: the answer it gets (and the PBX's BYE) shows the
# edge only, and the dialog works through the masked Contact (its ACK
# reaches the worker, which plays the greeting and hangs up).
INBOUND=74957770001
sox -n -r 16000 -c 1 -b 16 "$TMP/hello.wav" synth 1 sine 440 2>/dev/null
{
	"$PBXCTL" number connect $OTHER $INBOUND &&
	"$PBXCTL" prompt upload $OTHER hello "$TMP/hello.wav" &&
	echo '{"start":"g","nodes":{"g":{"type":"greeting","options":{"prompt":"hello"},"outputs":{"next":"bye"}},"bye":{"type":"hangup"}}}' |
		"$PBXCTL" scenario put $OTHER greet - &&
	"$PBXCTL" scenario activate $OTHER $INBOUND greet
} >"$TMP/inbound.log" 2>&1 || fail inbound_scenario "$(tail -1 "$TMP/inbound.log")"
m=$TMP/inbound.msg
if CALLER_IP=$CARRIER2 sipp_call uac_greeting.xml $INBOUND 5060 -key rtp_port 32040 	-trace_msg -message_file "$m"; then
	pass carrier_call_in_answered_and_ended_by_pbx
else fail carrier_call_in_answered_and_ended_by_pbx "carrier's sipp failed"; fi
awk '/^(SIP\/2\.0 200|BYE sip:)/{p=1} p&&/^\r?$/{p=0} p' "$m" >"$m.hdr"
leak=$(grep -oE '127\.0\.0\.1:[0-9]+|outb2?\.pbx\.local|mw[0-9]+@' "$m.hdr" |
	grep -v '^127\.0\.0\.1:5060$' | sort -u)
if grep -q '^BYE sip:' "$m.hdr" && [ -z "$leak" ] &&
	grep -qiE '^Contact: *<sip:127\.0\.0\.1;line=sr-[^>]*>' "$m.hdr"; then
	pass carrier_call_in_sees_only_the_edge
else fail carrier_call_in_sees_only_the_edge "leaked: $(echo $leak); $(grep -i '^Contact' "$m.hdr" | head -1)"; fi

# Removing a trunk takes it out of every tenant's list (the others keep
# their order); with none left the tenant takes the default again.
if "$PBXCTL" trunk remove dead | grep -qx "removed from the trunks of $OTHER" &&
	"$PBXCTL" trunk show $OTHER | grep -qx "$OTHER trunks carrier2" &&
	"$PBXCTL" trunk remove carrier2 >/dev/null &&
	"$PBXCTL" trunk show $OTHER | grep -qx "$OTHER trunks default (out-carrier)"; then
	pass trunk_removed_from_assignments
else fail trunk_removed_from_assignments "$("$PBXCTL" trunk show $OTHER 2>&1)"; fi

"$PBXCTL" trunk remove out-carrier >/dev/null 2>&1
e2e_finish $T $OTHER
