#!/usr/bin/env bash
# End-to-end: group call pickup by feature code (issue 16 item 3,
# docs/employees.md "Pickup"). The whole stack on loopback, one media
# worker; SIPp phones register extensions with digest auth through
# Kamailio. An outside caller dials a number whose scenario rings 201 (a
# phone that rings and never answers); while it rings:
#   - 203 (group "support") dials *8: 404, 201 keeps ringing;
#   - another tenant's 202 (its group is also named "sales") dials *8:
#     404;
#   - 202 (group "sales", like 201) dials *8: 201 gets CANCEL, the caller
#     and 202 are answered and hear each other (RTP counted both ways,
#     each one's tone measured), the caller's hang-up ends 202's call;
#   - the call record says the call was answered by 202;
#   - once nothing rings, 202's *8 gets 404.
#
# Runs in a network namespace of its own like the other employee suites
# (tests/security/netns.sh). Environment: PBX_BUILD (required). Prints
# PASS/FAIL lines and a last line "N passed, M failed".
set -u
: "${PBX_BUILD:?set PBX_BUILD to a build directory}"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/security/netns.sh"
own_netns "$ROOT/tests/e2e/test_pickup.sh" "$@"
. "$ROOT/tests/e2e/lib.sh"
e2e_env pickup
T=pick
DOMAIN=pick.pbx.local
OTHER=pick2
ODOMAIN=pick2.pbx.local
PW=Pk7-phone-secret-pw
NUM=15553001

e2e_cleanup_on_exit
stack_up

# tone <dir> <file> <hz>: 20 s of A-law at hz in dir (each SIPp streams
# the file of its own directory).
tone() {
	mkdir -p "$TMP/$1"
	sox -n -r 8000 -c 1 -e a-law "$TMP/$1/$2" synth 20 sine "$3" \
		2>/dev/null
}
# band <file> <hz>: RMS of the A-law audio in a 60 Hz band around hz.
band() {
	sox -t al -r 8000 -c 1 "$1" -n sinc $(($2 - 30))-$(($2 + 30)) stat \
		2>&1 | sed -n 's/^RMS     amplitude: *\([0-9.]*\).*/\1/p'
}
heard() {
	local v
	v=$(band "$2" "$3")
	if awk -v v="${v:-0}" 'BEGIN { exit !(v > 0.02) }'; then pass "$1"
	else fail "$1" "band $3 Hz rms ${v:-none}"; fi
}

SCEN='{"start":"r","nodes":{"r":{"type":"subscriber","options":{"kind":"internal","target":"201","timeout":20},"outputs":{"no_answer":"bye","busy":"bye","unavailable":"bye"}},"bye":{"type":"hangup"}}}'
(
	"$PBXCTL" tenant create $T --domain $DOMAIN &&
	"$PBXCTL" tenant create $OTHER --domain $ODOMAIN &&
	for e in 201 202 203; do "$PBXCTL" ext add $T $e "$PW" || exit 1; done &&
	"$PBXCTL" ext add $OTHER 202 "$PW" &&
	"$PBXCTL" ext set $T 201 --pickup-group sales &&
	"$PBXCTL" ext set $T 202 --pickup-group sales &&
	"$PBXCTL" ext set $T 203 --pickup-group support &&
	"$PBXCTL" ext set $OTHER 202 --pickup-group sales &&
	number_with $T $NUM ring201 "$SCEN"
) >"$TMP/setup.log" 2>&1 && pass tenant_provisioned ||
	fail tenant_provisioned "$(tail -3 "$TMP/setup.log")"

# The setting is checked and shown.
if "$PBXCTL" ext set $T 203 --pickup-group 'no spaces' >/dev/null 2>&1; then
	fail bad_group_name_refused "accepted"
elif "$PBXCTL" ext set $T 202 | grep -q "^pickup_group sales$"; then
	pass bad_group_name_refused_and_the_group_shown
else fail bad_group_name_refused_and_the_group_shown \
	"$("$PBXCTL" ext set $T 202 2>&1 | tr '\n' ' ')"; fi

# 201 rings and never answers: it waits for the CANCEL (10 s at most
# after the INVITE).
if phone_register 201 "$PW" $DOMAIN 127.0.0.21 5201; then
	pass phone_201_registers
else fail phone_201_registers "no 200 to REGISTER"; fi
(cd "$TMP" && timeout 30 sipp -sf "$SIPP_DIR/uas_ring.xml" \
	-i 127.0.0.21 -p 5201 -mi 127.0.0.21 -mp 18200 -m 1 -nostdin \
	-trace_logs -log_file "$TMP/p201.log" >>"$TMP/sipp.out" 2>&1
	echo $? >"$TMP/p201.rc") &
BG+=($!)
sleep 0.3

# The caller (outside, 400 Hz) and the picker (202, 600 Hz): xfer_dial.xml.
tone caller caller.wav 400
tone picker caller.wav 600
"$SINK" 127.0.0.2 31000 25 4000 "$TMP/caller.ready" "$TMP/caller.al" \
	>"$TMP/caller.sink" &
BG+=($!)
"$SINK" 127.0.0.22 31010 25 4000 "$TMP/picker.ready" "$TMP/picker.al" \
	>"$TMP/picker.sink" &
BG+=($!)
(cd "$TMP/caller" && timeout 40 sipp -sf "$SIPP_DIR/xfer_dial.xml" \
	-s $NUM -key user 79990000001 -key domain 127.0.0.1 \
	-key fdomain 127.0.0.2 -key rtp_port 31000 -key mode hangup \
	-key refer_to "" -i 127.0.0.2 -p 5300 -mi 127.0.0.2 -mp 17000 \
	-d 5000 -m 1 -nostdin -trace_logs -log_file "$TMP/caller.log" \
	127.0.0.1:5060 >>"$TMP/sipp.out" 2>&1
	echo $? >"$TMP/caller.rc") &
BG+=($!)
# 201 rings once the router noted the ring for pickup.
for _ in $(seq 50); do
	[ "$(rcli ZCARD "pbx:{$T}:pickup:ring" 2>/dev/null)" = 1 ] && break
	sleep 0.1
done
if [ "$(rcli ZCARD "pbx:{$T}:pickup:ring" 2>/dev/null)" = 1 ]; then
	pass ring_noted_for_pickup
else fail ring_noted_for_pickup "no note in pbx:{$T}:pickup:ring"; fi

# auth_call <name> <tenant domain> <ext> <ip> <port> <expect>: ext dials
# *8 with its credentials (uac_auth_call.xml), the final answer expected.
auth_call() {
	if (cd "$TMP" && timeout 20 sipp -sf "$SIPP_DIR/uac_auth_call.xml" \
		-s '*8' -key user "$3" -key domain "$2" -key rdomain "$2" \
		-key expect "$6" -au "$3" -ap "$PW" -i "$4" -p "$5" \
		-mi "$4" -mp 17100 -m 1 -nostdin -trace_logs \
		-log_file "$TMP/$1.log" 127.0.0.1:5060 >>"$TMP/sipp.out" 2>&1)
	then pass "$1"
	else fail "$1" "$(grep -o 'got [0-9]*, expected [0-9]*' \
		"$TMP/$1.log" 2>/dev/null | head -1)"; fi
}
auth_call other_group_gets_404 $DOMAIN 203 127.0.0.23 5203 404
auth_call other_tenant_gets_404 $ODOMAIN 202 127.0.0.24 5204 404

# 202 picks it up and waits for the network's BYE (the caller hangs up
# 5 s after its answer).
(cd "$TMP/picker" && timeout 40 sipp -sf "$SIPP_DIR/xfer_dial.xml" \
	-s '*8' -key user 202 -key domain $DOMAIN -key fdomain $DOMAIN \
	-key rtp_port 31010 -key mode wait -key refer_to "" \
	-au 202 -ap "$PW" -i 127.0.0.22 -p 5202 -mi 127.0.0.22 -mp 17200 \
	-m 1 -nostdin -trace_logs -log_file "$TMP/picker.log" \
	127.0.0.1:5060 >>"$TMP/sipp.out" 2>&1
	echo $? >"$TMP/picker.rc") &
BG+=($!)
wait

rc_ok() {
	if [ "$(cat "$TMP/$2.rc" 2>/dev/null)" = 0 ]; then pass "$1"
	else fail "$1" "$2 exit $(cat "$TMP/$2.rc" 2>/dev/null)"; fi
}
rc_ok ringing_phone_got_cancel p201
if grep -q canceled "$TMP/p201.log" 2>/dev/null; then
	pass ringing_phone_logged_the_cancel
else fail ringing_phone_logged_the_cancel "no CANCEL logged"; fi
rc_ok caller_answered_talked_and_hung_up caller
rc_ok picker_answered_and_got_bye picker
if grep -q got-bye "$TMP/picker.log" 2>/dev/null; then
	pass picker_call_ended_with_the_caller
else fail picker_call_ended_with_the_caller "no BYE logged"; fi
for who in caller picker; do
	n=$(sink_packets "$TMP/$who.sink")
	if [ "${n:-0}" -ge 150 ]; then pass "rtp_to_$who"
	else fail "rtp_to_$who" "$who got ${n:-0} packets"; fi
done
heard picker_hears_the_caller "$TMP/picker.al" 400
heard caller_hears_the_picker "$TMP/caller.al" 600

# The call record: answered, by 202.
for _ in $(seq 30); do
	"$PBXCTL" cdr list $T --number $NUM 2>/dev/null | grep -q . && break
	sleep 0.1
done
id=$("$PBXCTL" cdr list $T --number $NUM 2>/dev/null | awk 'NR == 1 { print $1 }')
if "$PBXCTL" cdr show $T "${id:-none}" 2>/dev/null |
	grep -qE "^answered by +202$"; then
	pass call_record_answered_by_the_picker
else fail call_record_answered_by_the_picker \
	"$("$PBXCTL" cdr show $T "${id:-none}" 2>&1 | grep -E 'answered|disp' |
		tr '\n' ' ')"; fi

# Nothing rings any more.
auth_call nothing_to_pick_up_gets_404 $DOMAIN 202 127.0.0.22 5212 404

e2e_finish $T $OTHER
