#!/usr/bin/env bash
# End-to-end: calls reach people. The whole stack on loopback; a SIPp
# "phone" registers extension 101 with digest auth through Kamailio; SIPp
# callers dial tenant numbers whose scenarios use the voice menu, the
# subscriber element, lists and schedules; a SIPp "carrier" answers
# external numbers. Asserts what reached each side: SIP codes, RTP packets
# in both directions (rtp_sink at the address each side offered), the
# branch the menu digit (RFC 4733, in-band, SIP INFO) selected, CANCEL to
# a phone that does not answer; RTP and RFC 4733 sprayed at every worker
# port during a live menu call and its bridge change nothing.
#
# Environment: PBX_BUILD (required). Prints PASS/FAIL lines and a last
# line "N passed, M failed".
set -u
: "${PBX_BUILD:?set PBX_BUILD to a build directory}"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SIPP_DIR=$ROOT/tests/sipp
STACK=$ROOT/scripts/stack.sh
PBXCTL=$PBX_BUILD/services/pbxctl/pbxctl
SINK=$PBX_BUILD/tests/support/rtp_sink
SPRAY=$PBX_BUILD/tests/support/rtp_spray
export PBX_RUN=${PBX_RUN:-$(mktemp -d /tmp/pbx-people.XXXXXX)}
export PBX_WORKERS=1 PBX_BUILD
TMP=$PBX_RUN/e2e
mkdir -p "$TMP"
CALLER_IP=127.0.0.2
PHONE_IP=127.0.0.4
CARRIER_IP=127.0.0.8
T=people
DOMAIN=people.pbx.local
PASSWORD=first-phone-secret-pw
PASSWORD2=second-phone-secret-pw
. "$ROOT/tests/e2e/lib.sh"

PHONE_PID=""
cleanup() {
	[ -n "$PHONE_PID" ] && kill "$PHONE_PID" 2>/dev/null
	"$STACK" stop >/dev/null 2>&1
}
trap cleanup EXIT

# phone <mode> <name>: registers extension 101 from the phone's address
# (reg_auth.xml, digest auth through Kamailio), then runs the SIPp phone
# (people_callee.xml, a UAS) there in the background.
phone() {
	local mode=$1 name=$2
	if ! phone_register 101 "$PASSWORD" $DOMAIN $PHONE_IP 5094; then
		fail "${name}_phone_registers" "no 200 to REGISTER"
		return 1
	fi
	(cd "$TMP" && exec timeout 90 sipp -sf "$SIPP_DIR/people_callee.xml" \
		-i $PHONE_IP -p 5094 -mi $PHONE_IP -mp 16000 \
		-key ext 101 -key rtp_port 32002 -key mode "$mode" -m 1 \
		-nostdin -trace_logs -log_file "$TMP/phone-$name.log" \
		>>"$TMP/sipp.out" 2>&1) &
	PHONE_PID=$!
	sleep 0.3
	kill -0 $PHONE_PID 2>/dev/null && return 0
	fail "${name}_phone_starts" "phone sipp exited"
	return 1
}

# phone_done <name>: the phone's scenario completed (exit 0).
phone_done() {
	local rc
	wait "$PHONE_PID"
	rc=$?
	PHONE_PID=""
	if [ $rc = 0 ]; then pass "$1"; else fail "$1" "phone sipp exit $rc"; fi
}

# caller <name> <number> <mode> <fmts> <hold ms> [caller number]
caller() {
	(cd "$TMP" && timeout 60 sipp -sf "$SIPP_DIR/people_caller.xml" \
		-s "$2" -i $CALLER_IP -p 5101 -mi $CALLER_IP -mp 17000 \
		-key caller "${6:-79990000001}" -key rtp_port 32000 \
		-key fmts "$4" -key mode "$3" -d "$5" -m 1 -nostdin \
		-trace_err -error_file "$TMP/caller-$1.err" \
		127.0.0.1:5060 >>"$TMP/sipp.out" 2>&1)
}

# bridged_call <name> <number> <mode> <fmts> [caller number] [phone mode]:
# the scenario routes the caller to 101; RTP must flow both ways for ~5 s.
bridged_call() {
	local name=$1 a b
	phone "${6:-answer}" "$name" || return
	start_sink $PHONE_IP 32002 "$TMP/$name.phone.sink"
	local sb=$SINK_PID
	start_sink $CALLER_IP 32000 "$TMP/$name.caller.sink"
	local sa=$SINK_PID
	if caller "$name" "$2" "$3" "$4" 6000 "${5:-}"; then
		pass "${name}_caller_bridged_and_hung_up"
	else
		fail "${name}_caller_bridged_and_hung_up" "caller sipp failed"
	fi
	phone_done "${name}_phone_answered_and_got_bye"
	wait $sa $sb
	a=$(sink_packets "$TMP/$name.caller.sink")
	b=$(sink_packets "$TMP/$name.phone.sink")
	# ~5 s of talk at 50 packets/s each way; the phone's side sees only
	# bridged audio, the caller's also the menu and ringback.
	if [ "${b:-0}" -ge 150 ]; then pass "${name}_rtp_caller_to_phone"
	else fail "${name}_rtp_caller_to_phone" "phone got ${b:-0} packets"; fi
	if [ "${a:-0}" -ge 150 ]; then pass "${name}_rtp_phone_to_caller"
	else fail "${name}_rtp_phone_to_caller" "caller got ${a:-0} packets"; fi
}

# --- stack and tenant -------------------------------------------------------
if ! "$STACK" start; then
	fail stack_starts "see logs in $PBX_RUN"
	echo "$PASSED passed, $FAILED failed"
	exit 1
fi
pass stack_starts

cd "$TMP" || exit 1
sox -n -r 16000 -c 1 -b 16 menu.wav synth 4 sine 520 2>/dev/null
sox -n -r 16000 -c 1 -b 16 closed.wav synth 2 sine 300 2>/dev/null
sox -n -r 16000 -c 1 -b 16 hello.wav synth 2 sine 700 2>/dev/null
sox -n -r 8000 -c 1 -e a-law caller.wav synth 20 sine 400 2>/dev/null
sox -n -r 8000 -c 1 -e a-law callee.wav synth 20 sine 600 2>/dev/null
# DTMF "2" in-band: 697 Hz + 1336 Hz for 250 ms, then silence.
sox -n -r 8000 -c 1 -e a-law dtmf2.wav synth 0.25 sine 697 synth 0.25 \
	sine mix 1336 gain -6 pad 0 0.3 2>/dev/null
cd - >/dev/null || exit 1

MENU='"menu":{"type":"ivr","options":{"prompt":"menu","timeout":5,"retries":1,"extension_dialing":true,"extension_max_len":3,"inter_digit_ms":2000},"outputs":{"digit:2":"ring101","digit:9":"busy","timeout":"bye","invalid":"bye","extension":"bye"}},"ring101":{"type":"subscriber","options":{"kind":"internal","target":"101","timeout":15},"outputs":{"no_answer":"bye","busy":"busy","unavailable":"bye"}},"busy":{"type":"hangup","options":{"code":486}},"bye":{"type":"hangup"}'
{
	"$PBXCTL" tenant delete $T
	"$PBXCTL" tenant create $T --domain $DOMAIN &&
	"$PBXCTL" ext add $T 101 "$PASSWORD" &&
	"$PBXCTL" ext add $T 102 "$PASSWORD2" &&
	"$PBXCTL" prompt upload $T menu "$TMP/menu.wav" &&
	"$PBXCTL" prompt upload $T closed "$TMP/closed.wav" &&
	"$PBXCTL" prompt upload $T hello "$TMP/hello.wav" &&
	echo '{"mode":"white","entries":["+79990000009"]}' |
		"$PBXCTL" object put $T list important - &&
	echo '{"timezone":"Europe/Moscow","windows":[{"days":"all","from":"00:00","to":"23:59"}],"override":"closed"}' |
		"$PBXCTL" object put $T schedule office - &&
	echo "{\"start\":\"menu\",\"nodes\":{$MENU}}" |
		"$PBXCTL" scenario put $T menu - &&
	echo '{"start":"r","nodes":{"r":{"type":"subscriber","options":{"kind":"internal","target":"101","timeout":5},"outputs":{"no_answer":"hello","busy":"busy","unavailable":"gone"}},"hello":{"type":"greeting","options":{"prompt":"hello"}},"busy":{"type":"hangup","options":{"code":486}},"gone":{"type":"hangup","options":{"code":410}}}}' |
		"$PBXCTL" scenario put $T ring - &&
	echo '{"start":"r","nodes":{"r":{"type":"subscriber","options":{"kind":"internal","target":"102","timeout":5},"outputs":{"no_answer":"gone","busy":"gone","unavailable":"gone"}},"gone":{"type":"hangup","options":{"code":410}}}}' |
		"$PBXCTL" scenario put $T ring102 - &&
	echo '{"start":"x","nodes":{"x":{"type":"subscriber","options":{"kind":"external","target":"+74951112233","timeout":10},"outputs":{"no_answer":"gone","busy":"gone","unavailable":"gone"}},"gone":{"type":"hangup","options":{"code":410}}}}' |
		"$PBXCTL" scenario put $T external - &&
	echo "{\"start\":\"vip\",\"nodes\":{\"vip\":{\"type\":\"list\",\"options\":{\"list\":\"important\"},\"outputs\":{\"in_list\":\"head\",\"not_in_list\":\"hours\"}},\"head\":{\"type\":\"subscriber\",\"options\":{\"kind\":\"internal\",\"target\":\"101\",\"timeout\":15},\"outputs\":{\"no_answer\":\"hours\",\"busy\":\"hours\",\"unavailable\":\"hours\"}},\"hours\":{\"type\":\"schedule\",\"options\":{\"schedule\":\"office\"},\"outputs\":{\"match\":\"menu\",\"no_match\":\"closed\"}},\"closed\":{\"type\":\"greeting\",\"options\":{\"prompt\":\"closed\"},\"outputs\":{\"next\":\"bye\"}},$MENU}}" |
		"$PBXCTL" scenario put $T example - &&
	"$PBXCTL" trunk remove e2e-carrier
	"$PBXCTL" trunk add e2e-carrier $CARRIER_IP:5060 --format e164 &&
	for n in 15551001 15551002 15551003 15551004 15551005; do
		"$PBXCTL" number connect $T $n || exit 1
	done &&
	"$PBXCTL" scenario activate $T 15551001 menu &&
	"$PBXCTL" scenario activate $T 15551002 ring &&
	"$PBXCTL" scenario activate $T 15551003 ring102 &&
	"$PBXCTL" scenario activate $T 15551004 external &&
	"$PBXCTL" scenario activate $T 15551005 example
} >"$TMP/provision.out" 2>&1
if [ $? = 0 ]; then pass provision_people_tenant; else
	fail provision_people_tenant "$(tail -2 "$TMP/provision.out" | tr '\n' ' ')"
fi

# --- menu digit 2 reaches extension 101, three DTMF methods -----------------
bridged_call menu_rfc4733 15551001 rfc4733 "8 101"
bridged_call menu_info 15551001 info "8 101"
bridged_call menu_inband 15551001 inband "8"
# A gateway that negotiates telephone-event and still sends tones.
bridged_call menu_inband_with_te 15551001 inband "8 101"
# Direct extension dialing: 1 0 1 during the menu prompt.
bridged_call menu_direct_extension 15551001 ext101 "8 101"

# --- RTP and DTMF injection (issue 8 item 2) --------------------------------
# During a live menu call, and again once it is bridged to 101, a blind
# attacker on another address (127.0.0.9) sprays RFC 4733 '1' and runs of
# audio at every port of the worker's RTP range (rtp_spray: 3 passes, at
# most 1.8 s, at most 3 * ports * 22 packets). The worker must drop them
# all: the router hears only the caller's own '2', which still routes the
# call to 101, and RTP flows both ways as usual.
spray_call() {
	local name=spray num=79990000077 lo hi out1 out2 cid rl ml a b
	read -r lo hi <<<"$("$STACK" ports mw1 | sed -E 's/.* rtp ([0-9]+)-([0-9]+).*/\1 \2/')"
	phone answer $name || return
	start_sink $PHONE_IP 32002 "$TMP/$name.phone.sink"
	local sb=$SINK_PID
	start_sink $CALLER_IP 32000 "$TMP/$name.caller.sink"
	local sa=$SINK_PID
	rl=$(wc -l <"$PBX_RUN/router.log")
	ml=$(wc -l <"$PBX_RUN/mw1.log")
	# The caller presses 2 about 3.6 s into the call (late4733).
	caller $name 15551001 late4733 "8 101" 6000 $num &
	local cp=$!
	sleep 1.3 # answered, the menu prompt playing
	out1=$("$SPRAY" 127.0.0.9 127.0.0.1 "$lo" "$hi" 3 1800)
	sleep 3 # the caller's 2, the ring, the phone's answer: bridged
	out2=$("$SPRAY" 127.0.0.9 127.0.0.1 "$lo" "$hi" 3 1800)
	if wait $cp; then pass ${name}_caller_bridged_and_hung_up
	else fail ${name}_caller_bridged_and_hung_up "caller sipp failed"; fi
	phone_done ${name}_phone_answered_and_got_bye
	wait $sa $sb
	echo "spray during the menu: $out1; during the bridge: $out2" >"$TMP/$name.spray"
	case "$out1 $out2" in
	sent=0*|*" sent=0"*|"") fail ${name}_sprayed_every_port "$out1 / $out2" ;;
	*) pass ${name}_sprayed_every_port ;;
	esac
	cid=$(tail -n +$((rl + 1)) "$PBX_RUN/router.log" |
		sed -n "s/.*\[$T\/\([^]]*\)\] call $num -> 15551001.*/\1/p" | head -1)
	if [ -z "$cid" ]; then
		fail ${name}_router_saw_the_call "no call from $num in router.log"
		return
	fi
	# Only the caller's own digit reached the router.
	local digits
	digits=$(tail -n +$((rl + 1)) "$PBX_RUN/router.log" | grep -F "[$T/$cid]" |
		sed -n 's/.* dtmf \(.\) .*/\1/p' | tr -d '\n')
	if [ "$digits" = 2 ]; then pass ${name}_no_injected_digit
	else fail ${name}_no_injected_digit "router heard digits '$digits' (want '2')"; fi
	# Both legs dropped the spray (counted when the call ended).
	local dc dr
	dc=$(tail -n +$((ml + 1)) "$PBX_RUN/mw1.log" | grep -F "[$T/$cid]" |
		sed -n 's/.*call freed.*dropped \([0-9]*\) from.*/\1/p' | head -1)
	dr=$(tail -n +$((ml + 1)) "$PBX_RUN/mw1.log" | grep -F "[$T/$cid]" |
		sed -n 's/.*callee leg closed.*dropped \([0-9]*\) from.*/\1/p' | head -1)
	if [ "${dc:-0}" -ge 22 ] && [ "${dr:-0}" -ge 22 ]; then
		pass ${name}_both_legs_dropped_the_spray
	else
		fail ${name}_both_legs_dropped_the_spray "caller leg dropped ${dc:-?}, callee leg ${dr:-?}"
	fi
	a=$(sink_packets "$TMP/$name.caller.sink")
	b=$(sink_packets "$TMP/$name.phone.sink")
	if [ "${b:-0}" -ge 150 ] && [ "${a:-0}" -ge 150 ]; then
		pass ${name}_call_went_on_rtp_both_ways
	else
		fail ${name}_call_went_on_rtp_both_ways "phone got ${b:-0}, caller ${a:-0} packets"
	fi
}
spray_call

# --- the phone holds and resumes a bridged call (re-INVITEs) --------------
bridged_call hold_resume 15551002 none "8 101" 79990000001 hold
if grep -q '^held$' "$TMP/phone-hold_resume.log" 2>/dev/null &&
	grep -q '^resumed$' "$TMP/phone-hold_resume.log"; then
	pass hold_resume_answered_recvonly_then_sendrecv
else
	fail hold_resume_answered_recvonly_then_sendrecv "phone saw no hold/resume answers"
fi

# --- one extension calls another: 102 (digest auth) dials 101 ------------
if phone answer ext_to_ext; then
	if (cd "$TMP" && timeout 30 sipp -sf "$SIPP_DIR/uac_auth_call.xml" \
		-s 101 -key user 102 -key domain $DOMAIN -key rdomain $DOMAIN \
		-key expect 200 -au 102 -ap "$PASSWORD2" -d 2000 \
		-i $CALLER_IP -p 5108 -mi $CALLER_IP -mp 17100 -m 1 -nostdin \
		-trace_logs -log_file "$TMP/ext_to_ext.log" \
		127.0.0.1:5060 >>"$TMP/sipp.out" 2>&1); then
		pass ext_to_ext_authenticated_call_answered
	else
		fail ext_to_ext_authenticated_call_answered "$(grep -o 'got [0-9]*, expected [0-9]*' "$TMP/ext_to_ext.log" | head -1)"
	fi
	phone_done ext_to_ext_phone_answered_and_got_bye
	if grep -q "invite-from 102" "$TMP/phone-ext_to_ext.log"; then
		pass ext_to_ext_phone_sees_caller_extension
	else
		fail ext_to_ext_phone_sees_caller_extension "$(grep invite-from "$TMP/phone-ext_to_ext.log")"
	fi
fi

# --- no answer: ringing is cancelled, the call goes on to the greeting ----
if phone noanswer noanswer; then
	start_sink $CALLER_IP 31010 "$TMP/noanswer.sink"
	s=$SINK_PID
	if sipp_call uac_greeting.xml 15551002 5102 -key rtp_port 31010; then
		pass noanswer_caller_hears_next_greeting_then_bye
	else
		fail noanswer_caller_hears_next_greeting_then_bye "sipp failed"
	fi
	phone_done noanswer_phone_ringing_cancelled
	wait $s
	p=$(sink_packets "$TMP/noanswer.sink")
	# 5 s of ringback (early media, at most ~255 packets) and then the 2 s
	# greeting (~100): more than ringback alone can explain.
	if [ "${p:-0}" -ge 300 ]; then pass noanswer_ringback_then_greeting_rtp
	else fail noanswer_ringback_then_greeting_rtp "got ${p:-0} packets (want >= 300)"; fi
fi

# --- busy and unavailable branches -------------------------------------------
if phone busy busy; then
	expect_code busy_branch_taken 15551002 486 5103
	phone_done busy_phone_answered_486
fi
expect_code unavailable_branch_taken 15551003 410 5104

# --- external number through the carrier trunk -----------------------------
# uas_callee.xml: a carrier that echoes Record-Route, as carriers do, so
# the BYE passes the edge and the tenant's carrier-leg count goes down.
(cd "$TMP" && exec timeout 40 sipp -sf "$SIPP_DIR/uas_callee.xml" \
	-i $CARRIER_IP -p 5060 -mi $CARRIER_IP -mp 18100 -m 1 \
	-nostdin -trace_msg -message_file "$TMP/carrier.msg" \
	>>"$TMP/sipp.out" 2>&1) &
carrier=$!
sleep 0.3
expect_code external_number_answered 15551004 200 5105 -d 1500
wait $carrier
if [ $? = 0 ]; then pass external_carrier_got_call_and_bye
else fail external_carrier_got_call_and_bye "carrier sipp failed"; fi
if grep -q "INVITE sip:+74951112233@" "$TMP/carrier.msg" 2>/dev/null &&
	! grep -qi "^X-Pbx-" "$TMP/carrier.msg"; then
	pass external_carrier_sees_number_no_internal_headers
else
	fail external_carrier_sees_number_no_internal_headers "$(grep -m1 '^INVITE' "$TMP/carrier.msg")"
fi

# --- the tenant's carrier-leg limit (toll-fraud guard) ----------------------
# With 0 carrier legs allowed, the external call takes the "unavailable"
# branch (410) and nothing reaches the carrier.
if "$PBXCTL" tenant limits $T --carrier-legs 0 | grep -q '^carrier_legs 0$'; then
	pass tenant_limit_set_and_shown
else fail tenant_limit_set_and_shown "pbxctl tenant limits did not show it"; fi
(cd "$TMP" && exec timeout 8 sipp -sn uas -i $CARRIER_IP -p 5060 -m 1 \
	-nostdin -trace_msg -message_file "$TMP/carrier2.msg" \
	>>"$TMP/sipp.out" 2>&1) &
carrier=$!
sleep 0.3
expect_code carrier_leg_limit_takes_unavailable_branch 15551004 410 5108
wait $carrier
if ! grep -q "^INVITE" "$TMP/carrier2.msg" 2>/dev/null; then
	pass carrier_leg_limit_nothing_reaches_the_carrier
else fail carrier_leg_limit_nothing_reaches_the_carrier "the carrier got an INVITE"; fi
# With 1 allowed, a second external call while the first is up is refused.
"$PBXCTL" tenant limits $T --carrier-legs 1 >/dev/null
(cd "$TMP" && exec timeout 20 sipp -sf "$SIPP_DIR/uas_callee.xml" \
	-i $CARRIER_IP -p 5060 -mi $CARRIER_IP -mp 18100 -m 1 \
	-nostdin >>"$TMP/sipp.out" 2>&1) &
carrier=$!
sleep 0.3
# The first call holds its leg for 3 s (its result is checked below, in
# this shell: a check in a background job would not be counted).
(sipp_call uac_expect.xml 15551004 5109 -key expect 200 -d 3000 \
	-trace_logs -log_file "$TMP/leg1.log"; echo $? >"$TMP/leg1.rc") &
first=$!
sleep 1.5
expect_code carrier_leg_limit_second_leg_refused 15551004 410 5110
wait $first $carrier
if [ "$(cat "$TMP/leg1.rc")" = 0 ]; then pass carrier_leg_limit_first_leg_up
else fail carrier_leg_limit_first_leg_up "$(grep -m1 FAIL "$TMP/leg1.log")"; fi
"$PBXCTL" tenant limits $T --carrier-legs 10 >/dev/null

# --- the product's example scenario on live calls ---------------------------
# An important client reaches the head of the company (ext 101).
bridged_call example_important_client 15551005 none "8 101" 89990000009
# Others outside working hours hear "we are closed" and are hung up on.
start_sink $CALLER_IP 31012 "$TMP/closed.sink"
s=$SINK_PID
if sipp_call uac_greeting.xml 15551005 5106 -key rtp_port 31012; then
	pass example_closed_hears_greeting_then_bye
else fail example_closed_hears_greeting_then_bye "sipp failed"; fi
wait $s
p=$(sink_packets "$TMP/closed.sink")
if [ "${p:-0}" -ge 90 ] && [ "${p:-0}" -le 130 ]; then
	pass example_closed_prompt_only
else fail example_closed_prompt_only "got ${p:-0} packets for a 2 s prompt"; fi
# In working hours they reach the menu and are routed by their digit.
echo '{"timezone":"Europe/Moscow","windows":[{"days":"all","from":"00:00","to":"23:59"}],"override":"open"}' |
	"$PBXCTL" object put $T schedule office - >/dev/null
bridged_call example_open_menu_digit 15551005 rfc4733 "8 101"

# --- call recording: a subscriber node with record: true ---------------------
# The caller streams 400 Hz (caller.wav), the phone 600 Hz (callee.wav) for
# ~7 s; the worker mixes both into one WAV. pbxctl rec list shows it,
# rec get downloads it: 8 kHz 16-bit mono, the bridge's length, energy in
# both tones' bands (sox's bandpass, then its RMS); another tenant's
# rec get of the same id is not found, and rec delete removes it.
T2=people2
rec_case() {
	local list id info dur r400 r600 r1k n
	{
		"$PBXCTL" tenant delete $T2
		"$PBXCTL" tenant create $T2 &&
		echo '{"start":"r","nodes":{"r":{"type":"subscriber","options":{"kind":"internal","target":"101","timeout":10,"record":true},"outputs":{"no_answer":"gone","busy":"gone","unavailable":"gone"}},"gone":{"type":"hangup","options":{"code":410}}}}' |
			"$PBXCTL" scenario put $T recorded - &&
		"$PBXCTL" number connect $T 15551006 &&
		"$PBXCTL" scenario activate $T 15551006 recorded
	} >>"$TMP/provision.out" 2>&1 || {
		fail rec_provision "$(tail -2 "$TMP/provision.out" | tr '\n' ' ')"
		return
	}
	bridged_call rec 15551006 none "8 101"
	# The worker stores the recording as the call ends.
	for n in $(seq 1 30); do
		list=$("$PBXCTL" rec list $T 2>&1)
		[ -n "$list" ] && break
		sleep 0.1
	done
	id=$(echo "$list" | awk 'NR == 1 {print $1}')
	if [ "$(echo "$list" | grep -c .)" = 1 ] &&
		echo "$list" | grep -qE " from 79990000001 to 15551006 ext 101 "; then
		pass rec_listed_with_caller_number_and_extension
	else
		fail rec_listed_with_caller_number_and_extension "list: $list"
	fi
	if "$PBXCTL" rec get $T "$id" >"$TMP/rec.wav" 2>"$TMP/rec_get.err"; then
		pass rec_get_returns_the_recording
	else
		fail rec_get_returns_the_recording "$(cat "$TMP/rec_get.err")"
	fi
	check_wav_8k_mono rec_is_8khz_16bit_mono_wav "$TMP/rec.wav"
	# The caller hangs up 7 s after the 200 OK (people_caller.xml: 1 s,
	# then -d 6000); the bridge starts with that 200.
	check_wav_seconds rec_duration_within_0_5_s_of_the_bridge \
		"$TMP/rec.wav" 6.5 7.5
	dur=$WAV_SECONDS
	band() {
		sox "$TMP/rec.wav" -n sinc "$1" stat 2>&1 |
			sed -n 's/^RMS     amplitude: *\([0-9.]*\).*/\1/p'
	}
	r400=$(band 370-430)
	r600=$(band 570-630)
	r1k=$(band 900-1100)
	echo "info: recording $id: $dur s, rms 400 Hz ${r400:-?}, 600 Hz ${r600:-?}, 1 kHz ${r1k:-?}"
	if awk -v a="${r400:-0}" -v b="${r600:-0}" -v n="${r1k:-1}" \
		'BEGIN { exit !(a > 0.05 && b > 0.05 && a > 10 * n && b > 10 * n) }'; then
		pass rec_audio_has_both_parties_tones
	else
		fail rec_audio_has_both_parties_tones "rms 400 Hz ${r400:-?}, 600 Hz ${r600:-?}, 1 kHz ${r1k:-?}"
	fi
	if "$PBXCTL" rec get $T2 "$id" >/dev/null 2>"$TMP/rec_other.err"; then
		fail rec_other_tenant_gets_not_found "$T2 downloaded $T's recording"
	elif grep -qi "no recording" "$TMP/rec_other.err" &&
		[ -z "$("$PBXCTL" rec list $T2 2>&1)" ]; then
		pass rec_other_tenant_gets_not_found
	else
		fail rec_other_tenant_gets_not_found "$(cat "$TMP/rec_other.err")"
	fi
	if "$PBXCTL" rec delete $T "$id" >/dev/null 2>&1 &&
		[ -z "$("$PBXCTL" rec list $T 2>&1)" ] &&
		[ -z "$(find "$PBX_RUN/media/$T/rec" -type f 2>/dev/null)" ]; then
		pass rec_delete_removes_listing_and_file
	else
		fail rec_delete_removes_listing_and_file "$(find "$PBX_RUN/media/$T/rec" -type f)"
	fi
}
rec_case

# --- the worker dies while the caller hears ringback ------------------------
# The call is not answered yet (an early dialog ringing 101): the edge
# ends the caller's INVITE with 503 within 5 s, instead of leaving it to
# ring into silence. Last: it kills the suite's only worker.
if echo '{"start":"r","nodes":{"r":{"type":"subscriber","options":{"kind":"internal","target":"101","timeout":60},"outputs":{"no_answer":"gone","busy":"gone","unavailable":"gone"}},"gone":{"type":"hangup","options":{"code":410}}}}' |
	"$PBXCTL" scenario put $T ringlong - >/dev/null &&
	"$PBXCTL" number connect $T 15551006 >/dev/null &&
	"$PBXCTL" scenario activate $T 15551006 ringlong >/dev/null &&
	phone noanswer worker_dies; then
	(sipp_call uac_expect.xml 15551006 5107 -key expect 503 \
		-trace_logs -log_file "$TMP/worker_dies.log"
	echo "$? $(now_ms)" >"$TMP/worker_dies.end") &
	caller_pid=$!
	sleep 2
	kill -9 "$(cat "$PBX_RUN/mw1.pid")"
	tkill=$(now_ms)
	wait $caller_pid
	read -r rc tend <"$TMP/worker_dies.end"
	if [ "$rc" = 0 ] && [ $((tend - tkill)) -le 5000 ]; then
		pass ringing_caller_gets_503_when_worker_dies
	else
		fail ringing_caller_gets_503_when_worker_dies "rc=$rc after $((tend - tkill)) ms"
	fi
	kill "$PHONE_PID" 2>/dev/null
	wait "$PHONE_PID" 2>/dev/null
	PHONE_PID=""
fi

"$PBXCTL" tenant delete $T >/dev/null 2>&1
"$PBXCTL" trunk remove e2e-carrier >/dev/null 2>&1
"$STACK" stop
sanitizer_clean people_services_clean_under_sanitizers "$PBX_RUN"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
