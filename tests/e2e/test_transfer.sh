#!/usr/bin/env bash
# End-to-end: call transfer from an extension's phone (issue 16 item 2,
# docs/employees.md "Transfer"). The whole stack on loopback, two media
# workers (the attended case needs the router to keep an extension's calls
# on one); SIPp phones register extensions with digest auth through
# Kamailio, SIPp callers from outside dial tenant numbers whose scenario
# rings an extension. Five calls run at once, each with its own phones:
#   blind      the caller reaches 101, 101 REFERs it to 102: 202, NOTIFY
#              100 and 200, 101's leg ends; the caller hears ringback,
#              then 102 (its tone), 102 hears the caller (RTP counted)
#   back       103 REFERs to 104, which is busy: NOTIFY 486, the caller
#              stays with 103 until it hangs up itself
#   attended   the caller reaches 105; 105 calls 106 (a second call, a
#              known Call-ID); 105 REFERs the caller to 106 with Replaces
#              of that call: both of 105's legs end, the caller and 106
#              hear each other
#   outsider   the outside caller REFERs 107 away: 403; 107 itself
#              REFERs to another tenant's domain: NOTIFY 403
#   policy     109 REFERs to an international number the tenant's
#              outbound policy does not allow: NOTIFY 403
#   caller     110 calls 111 (its own call, 110 is the caller leg) and
#              REFERs 111 to 112: 110's leg ends, 111 and 112 talk
#   outside    113 REFERs the caller to "8 (495) 111-22-33": an outbound
#              call of 113 under the tenant's policy, through the trunk
#              to a SIPp carrier on an outside address (198.51.100.9)
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
own_netns "$ROOT/tests/e2e/test_transfer.sh" "$@"
. "$ROOT/tests/e2e/lib.sh"
e2e_env transfer
T=xfer
DOMAIN=xfer.pbx.local
OTHER=xfer2
PW=Kd4-phone-secret-pw
CARRIER=198.51.100.9 # the tenant's trunk: an outside address
ip addr add "$CARRIER/32" dev lo 2>/dev/null

e2e_cleanup_on_exit
# Two media workers: an attended transfer joins the transferor's two
# calls on one worker, so the consultation call must be placed beside
# the first (the router's note of an extension's worker), not on the
# least loaded one.
export PBX_WORKERS=2
stack_up

# tone <dir> <file> <hz>: 20 s of A-law at hz in dir (each SIPp streams
# the file of its own directory, so each party has its own tone).
tone() {
	mkdir -p "$TMP/$1"
	sox -n -r 8000 -c 1 -e a-law "$TMP/$1/$2" synth 20 sine "$3" \
		2>/dev/null
}

ring_scen() {
	echo "{\"start\":\"r\",\"nodes\":{\"r\":{\"type\":\"subscriber\",\"options\":{\"kind\":\"internal\",\"target\":\"$1\",\"timeout\":10},\"outputs\":{\"no_answer\":\"bye\",\"busy\":\"bye\",\"unavailable\":\"bye\"}},\"bye\":{\"type\":\"hangup\"}}}"
}

(
	"$PBXCTL" tenant create $T --domain $DOMAIN &&
	"$PBXCTL" tenant create $OTHER --domain xfer2.pbx.local &&
	for e in 101 102 103 104 105 106 107 108 109 110 111 112 113; do
		"$PBXCTL" ext add $T $e "$PW" || exit 1
	done &&
	"$PBXCTL" ext add $OTHER 101 "$PW" &&
	for e in 101 103 105 107 109 113; do
		number_with $T 155520${e#1} "r$e" "$(ring_scen $e)" || exit 1
	done &&
	"$PBXCTL" trunk add xfer-carrier $CARRIER:5060 --format e164 &&
	"$PBXCTL" outbound set $T --caller-id 15552001
) >"$TMP/setup.log" 2>&1 && pass tenant_provisioned ||
	fail tenant_provisioned "$(tail -3 "$TMP/setup.log")"

# phone <ext> <mode> [refer_to]: registers ext from 127.0.0.<ext-90>:
# 5<ext>, then runs xfer_phone.xml there in the background (pid in
# PID_<ext>, log $TMP/p<ext>.log); an rtp_sink keeps what it hears in
# $TMP/p<ext>.al.
phone() {
	local ext=$1 ip=127.0.0.$(($1 - 90)) port=5$1 rtp=$((30000 + $1 * 10))
	if ! phone_register "$ext" "$PW" $DOMAIN "$ip" "$port"; then
		fail "phone_${ext}_registers" "no 200 to REGISTER"
		return 1
	fi
	tone "p$ext" callee.wav $((500 + ($1 - 100) * 50))
	if [ "$2" != busy ]; then
		"$SINK" "$ip" "$rtp" 25 4000 "$TMP/p$ext.ready" \
			"$TMP/p$ext.al" >"$TMP/p$ext.sink" &
		BG+=($!)
	fi
	(cd "$TMP/p$ext" && timeout 40 sipp -sf "$SIPP_DIR/xfer_phone.xml" \
		-i "$ip" -p "$port" -mi "$ip" -mp $((16000 + ($1 - 100) * 20)) \
		-key ext "$ext" -key domain $DOMAIN -key rtp_port "$rtp" \
		-key mode "$2" -key refer_to "${3:-}" -m 1 -nostdin \
		-trace_logs -log_file "$TMP/p$ext.log" -trace_err \
		-error_file "$TMP/p$ext.err" >>"$TMP/sipp.out" 2>&1
		echo $? >"$TMP/p$ext.rc"; now_ms >"$TMP/p$ext.end") &
	BG+=($!)
}

# dialer <name> <from> <number> <mode> <hold ms> <ip> [refer_to] [sipp
# args...]: xfer_dial.xml from ip:5<n> in the background, from outside
# (From <from>@<ip>), or with DDOM=<domain> as an extension of it; its exit code
# and end time in $TMP/<name>.rc / .end, what it hears in $TMP/<name>.al.
dialer() {
	local name=$1 from=$2 num=$3 mode=$4 hold=$5 ip=$6 refer=${7:-}
	local n=${#BG[@]} rtp
	shift 7
	rtp=$((31000 + n * 10))
	tone "$name" caller.wav "${TONE:-400}"
	"$SINK" "$ip" "$rtp" 25 4000 "$TMP/$name.ready" "$TMP/$name.al" \
		>"$TMP/$name.sink" &
	BG+=($!)
	(cd "$TMP/$name" && timeout 40 sipp -sf "$SIPP_DIR/xfer_dial.xml" \
		-s "$num" -key user "$from" -key domain "${DDOM:-127.0.0.1}" \
		-key fdomain "${DDOM:-$ip}" \
		-key rtp_port "$rtp" -key mode "$mode" -key refer_to "$refer" \
		-i "$ip" -p $((5200 + n)) -mi "$ip" -mp $((17000 + n * 20)) \
		-d "$hold" -m 1 -nostdin -trace_logs \
		-log_file "$TMP/$name.log" "$@" 127.0.0.1:5060 \
		>>"$TMP/sipp.out" 2>&1
		echo $? >"$TMP/$name.rc"; now_ms >"$TMP/$name.end") &
	BG+=($!)
}

# band <file> <hz>: RMS of the A-law audio in a 60 Hz band around hz.
band() {
	sox -t al -r 8000 -c 1 "$1" -n sinc $(($2 - 30))-$(($2 + 30)) stat \
		2>&1 | sed -n 's/^RMS     amplitude: *\([0-9.]*\).*/\1/p'
}
# heard <check> <file> <hz>: the tone is in what was heard.
heard() {
	local v
	v=$(band "$2" "$3")
	if awk -v v="${v:-0}" 'BEGIN { exit !(v > 0.02) }'; then pass "$1"
	else fail "$1" "band $3 Hz rms ${v:-none}"; fi
}
rc_ok() {
	if [ "$(cat "$TMP/$2.rc" 2>/dev/null)" = 0 ]; then pass "$1"
	else fail "$1" "$2 exit $(cat "$TMP/$2.rc" 2>/dev/null)"; fi
}
logged() {
	if grep -qE "$3" "$TMP/$2.log" 2>/dev/null; then pass "$1"
	else fail "$1" "$2: $(grep -E 'refer-answer|notify-frag|got-bye' \
		"$TMP/$2.log" 2>/dev/null | tr '\n' ' ')"; fi
}

# --- the calls, all at once ---------------------------------------------------
phone 101 transferor "sip:102@$DOMAIN"
phone 102 target
phone 103 transferor "sip:104@$DOMAIN"
phone 104 busy
phone 105 transferor \
	"sip:106@$DOMAIN?Replaces=xfer-attended-2%3Bto-tag%3Dt%3Bfrom-tag%3Df"
phone 106 answer
phone 107 transferor "sip:108@xfer2.pbx.local"
phone 109 transferor "sip:+442079460958@$DOMAIN"
phone 113 transferor "sip:8%20(495)%20111-22-33@$DOMAIN"
phone 111 answer
phone 112 target_bye
sleep 0.5
dialer blind 79990000001 15552001 hangup 9000 127.0.0.2 ""
dialer back 79990000003 15552003 hangup 7000 127.0.0.3 ""
dialer attended 79990000005 15552005 hangup 9000 127.0.0.6 ""
dialer outsider 79990000007 15552007 refer 6000 127.0.0.7 "sip:108@$DOMAIN"
dialer policy 79990000009 15552009 hangup 6000 127.0.0.8 ""
sleep 0.5
dialer outside 79990000013 15552013 hangup 9000 127.0.0.9 ""
# 113's target is outside: the carrier answers it.
tone carrier callee.wav 1200
"$SINK" $CARRIER 32020 25 4000 "$TMP/carrier.ready" "$TMP/carrier.al" \
	>"$TMP/carrier.sink" &
BG+=($!)
(cd "$TMP/carrier" && timeout 40 sipp -sf "$SIPP_DIR/out_carrier.xml" \
	-i $CARRIER -p 5060 -mi $CARRIER -mp 18000 -key rtp_port 32020 \
	-m 1 -nostdin -trace_logs -log_file "$TMP/carrier.log" \
	>>"$TMP/sipp.out" 2>&1
	echo $? >"$TMP/carrier.rc") &
BG+=($!)
# 110 calls 111 and transfers it (the caller leg's REFER) to 112.
TONE=700 DDOM=$DOMAIN dialer caller 110 111 transferor 0 127.0.0.20 "sip:112@$DOMAIN" \
	-au 110 -ap "$PW"
# 105's second call: to 106, with the Call-ID its Replaces names.
TONE=500 DDOM=$DOMAIN dialer second 105 106 wait 0 127.0.0.15 "" -cid_str xfer-attended-2 \
	-au 105 -ap "$PW"
# Every SIPp ends by itself (40 s at most); the sinks 4 s after their
# last packet.
wait

# --- blind ------------------------------------------------------------------
rc_ok blind_caller_talked_and_hung_up blind
rc_ok blind_transferor_done p101
logged blind_refer_accepted p101 "refer-answer 202"
logged blind_notify_trying p101 "notify-frag 100"
logged blind_notify_ok p101 "notify-frag 200"
logged blind_transferor_leg_ended p101 "got-bye"
if [ "$(cat "$TMP/p101.end")" -lt $(($(cat "$TMP/blind.end") - 2000)) ]; then
	pass blind_transferor_left_before_the_call_ended
else fail blind_transferor_left_before_the_call_ended "p101 ended with the call"; fi
rc_ok blind_target_answered_and_got_bye p102
logged blind_target_saw_the_caller p102 "invite-from 79990000001"
n=$(sink_packets "$TMP/p102.sink")
if [ "${n:-0}" -ge 150 ]; then pass blind_rtp_caller_to_target
else fail blind_rtp_caller_to_target "102 got ${n:-0} packets"; fi
heard blind_target_hears_the_caller "$TMP/p102.al" 400
heard blind_caller_hears_the_target "$TMP/blind.al" 600
heard blind_caller_heard_ringback "$TMP/blind.al" 425
n=$(sink_packets "$TMP/blind.sink")
if [ "${n:-0}" -ge 300 ]; then pass blind_rtp_to_caller
else fail blind_rtp_to_caller "caller got ${n:-0} packets"; fi

# The call record's path ends with the transfer (route_cdr.c).
for _ in $(seq 30); do
	"$PBXCTL" cdr list $T --number 15552001 2>/dev/null | grep -q . && break
	sleep 0.1
done
id=$("$PBXCTL" cdr list $T --number 15552001 2>/dev/null | awk 'NR == 1 { print $1 }')
if "$PBXCTL" cdr show $T "${id:-none}" 2>/dev/null |
	grep -qE "TRANSFER +\| node transfer \(101\): (sip:)?.*102.* -> answered"; then
	pass blind_call_record_shows_the_transfer
else fail blind_call_record_shows_the_transfer \
	"$("$PBXCTL" cdr show $T "${id:-none}" 2>&1 | tail -4 | tr '\n' ' ')"; fi

# --- back to the transferor ---------------------------------------------------
rc_ok back_caller_talked_and_hung_up back
logged back_refer_accepted p103 "refer-answer 202"
logged back_notify_busy p103 "notify-frag 486"
rc_ok back_transferor_kept_until_the_caller_hung_up p103
if [ "$(cat "$TMP/p103.end")" -ge $(($(cat "$TMP/back.end") - 1000)) ]; then
	pass back_transferor_leg_lasted_the_call
else fail back_transferor_leg_lasted_the_call "p103 ended early"; fi
heard back_caller_hears_the_transferor "$TMP/back.al" 650

# --- attended -------------------------------------------------------------------
rc_ok attended_caller_talked_and_hung_up attended
logged attended_refer_accepted p105 "refer-answer 202"
logged attended_notify_ok p105 "notify-frag 200"
logged attended_first_leg_ended p105 "got-bye"
rc_ok attended_second_call_ended second
logged attended_second_leg_ended second "got-bye"
rc_ok attended_target_stays_until_the_caller_hangs_up p106
heard attended_target_hears_the_caller "$TMP/p106.al" 400
heard attended_caller_hears_the_target "$TMP/attended.al" 800

# --- the caller transfers the callee (an extension's own call) -------------------
logged caller_refer_accepted caller "refer-answer 202"
logged caller_notify_ok caller "notify-frag 200"
logged caller_transferor_leg_ended caller "got-bye"
rc_ok caller_transferor_done caller
logged caller_target_saw_the_callee p112 "invite-from 111"
rc_ok caller_target_talked_and_hung_up p112
rc_ok caller_callee_stayed_until_the_target_hung_up p111
heard caller_callee_hears_the_target "$TMP/p111.al" 1100
heard caller_callee_heard_ringback "$TMP/p111.al" 425
heard caller_target_hears_the_callee "$TMP/p112.al" 1050

# --- to an outside number, through the trunk ------------------------------------
logged outside_refer_accepted p113 "refer-answer 202"
logged outside_notify_ok p113 "notify-frag 200"
logged outside_transferor_leg_ended p113 "got-bye"
rc_ok outside_carrier_answered_and_got_bye carrier
logged outside_carrier_got_the_number_in_e164 carrier "ruri \+74951112233 from"
rc_ok outside_caller_talked_and_hung_up outside
heard outside_carrier_hears_the_caller "$TMP/carrier.al" 400
heard outside_caller_hears_the_carrier "$TMP/outside.al" 1200

# --- refusals ---------------------------------------------------------------------
rc_ok outsider_call_goes_on outsider
logged outsider_refer_refused_403 outsider \
	"refer-answer 403 \(Forbidden \(transfer only by an extension"
logged foreign_domain_refused_403 p107 \
	"notify-frag 403 \(Forbidden \(another tenant's domain"
rc_ok foreign_domain_call_goes_on p107
logged policy_refused_403 p109 "notify-frag 403 \(Forbidden \(international"
rc_ok policy_call_goes_on policy

e2e_finish $T $OTHER
