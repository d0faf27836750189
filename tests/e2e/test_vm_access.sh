#!/usr/bin/env bash
# End-to-end feature codes (docs/voicemail.md *Listening from a phone*,
# docs/employees.md *Feature codes*): the whole stack (stack.sh, one
# media worker, the notifier, the queue-manager). A caller leaves a
# message in box 201 (3 s of 1400 Hz) while extension 201's phone is
# subscribed to its MWI. Then 201 (a SIPp phone, digest auth through
# Kamailio) dials *97:
#  - with a wrong PIN three times (RFC 4733) on a box that has 7 wrong
#    PINs counted already: the PBX hangs up (BYE), the phone heard
#    prompts but not the message (no 1400 Hz), the message is still
#    listed and new, the box's wrong-PIN count (lock-out) is 10 and the
#    third try heard "locked" (the lock across calls), all in Russian
#    (the tenant's language); `pbxctl vm unlock` clears the count;
#  - with its PIN 4321 (the box unlocked): it hears "received <day> <time>
#    from <caller>" in the tenant's zone (the exact bytes of the word
#    prompts the test expects, right before the tone), the message (RTP
#    counted, the 1400 Hz band's level measured with sox) and presses 7:
#    the PBX says goodbye and hangs up, `pbxctl vm list` is empty, the
#    file is gone, the tenant's byte count is back to 0, and its MWI says
#    0/0;
#  - PIN 4321, then 0 (options) during the goodbye of the empty box, 2,
#    5678 twice: the box's object holds the new PIN; the next call's 4321
#    hears "wrong PIN", its 5678 then opens the box;
#  - 0, 1: the phone records 700 Hz as the box's greeting and keeps it
#    (1): the box's object names prompt vmg-201, and a caller of the
#    number hears the tone (its band's level in the RTP received).
# *46 and *45 from 201: the queue-manager has agent 201 logged out, then
# ready (pbxctl queue stats), each call a prompt and a BYE. *99: 404.
#
# Environment: PBX_BUILD (a build dir, required). Prints "PASS <name>" /
# "FAIL <name> <why>" per check and a last line "N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/e2e/lib.sh"
e2e_env vmacc
CALLER_IP=127.0.0.2
T=e2evma
NUM=15550501
DOMAIN=$T.pbx.test
EXTPW=vm-phone-secret-k9
PIN=4321

cleanup() { "$STACK" stop >/dev/null 2>&1; }
trap cleanup EXIT
stack_up

# The message: 3 s of 1400 Hz (no prompt has a sustained tone there);
# the phone's own audio: silence.
sox -n -r 8000 -c 1 -t ul "$TMP/vm_tone.ul" synth 3 sine 1400 vol 0.5 \
	2>/dev/null
sox -n -r 8000 -c 1 -t ul "$TMP/silence.ul" trim 0 1 2>/dev/null
{
	"$PBXCTL" tenant delete $T
	"$PBXCTL" tenant create $T --domain $DOMAIN &&
		"$PBXCTL" tenant language $T ru &&
		"$PBXCTL" tenant timezone $T Asia/Kamchatka &&
		"$PBXCTL" ext add $T 201 $EXTPW &&
		echo "{\"pin\":\"$PIN\",\"max_length\":60}" |
		"$PBXCTL" object put $T voicemail_box 201 - &&
		echo '{"strategy":"linear","agents":["201"],"agent_timeout":10}' |
		"$PBXCTL" object put $T queue sales - &&
		number_with $T $NUM vm201 \
			'{"start":"v","nodes":{"v":{"type":"voicemail","options":{"box":"201"}}}}'
} >"$TMP/provision.out" 2>&1
if [ $? = 0 ]; then pass provision_tenant_box_with_pin; else
	fail provision_tenant_box_with_pin "$(tail -2 "$TMP/provision.out" | tr '\n' ' ')"
fi

# phone <name> <code> <mode> <rtp port> <sipp port> <media port>: 201
# dials <code>; its sink records what it hears in $TMP/<name>.ul.
phone() {
	start_sink $CALLER_IP "$4" "$TMP/$1.sink" "$TMP/$1.ul"
	(cd "$TMP" && timeout 60 sipp -sf "$SIPP_DIR/vm_phone.xml" -s "$2" \
		-key user 201 -key domain $DOMAIN -key rtp_port "$4" \
		-key mode "$3" -key wait "${PHONE_WAIT:-6500}" -au 201 -ap $EXTPW \
		-i $CALLER_IP -p "$5" -mp "$6" -m 1 -nostdin \
		-trace_msg -message_file "$TMP/$1.msg" 127.0.0.1:5060 \
		>"$TMP/$1.out" 2>&1)
	PHONE_RC=$?
	wait "$SINK_PID"
}
# band_rms <raw mu-law file>: RMS level of its 1300-1500 Hz band.
band_rms() {
	sox -t ul -r 8000 -c 1 "$1" -n sinc 1300-1500 stat 2>&1 |
		sed -n 's/^RMS     amplitude: *\([0-9.]*\).*/\1/p'
}
# start_sink with a 6th argument (the audio file)
start_sink() {
	rm -f "$3.ready"
	"$SINK" "$1" "$2" 40 3000 "$3.ready" "$4" >"$3" &
	SINK_PID=$!
	for _ in $(seq 50); do [ -e "$3.ready" ] && break; sleep 0.05; done
}

# --- MWI watched from the start; a message arrives ----------------------------
(cd "$TMP" && exec timeout 120 sipp -sf "$SIPP_DIR/mwi_subscribe.xml" -s 201 \
	-key domain $DOMAIN -key final 0/0 -au 201 -ap $EXTPW -i $CALLER_IP \
	-p 5097 -m 1 -nostdin -trace_msg -message_file "$TMP/mwi.msg" \
	127.0.0.1:5060 >"$TMP/mwi.out" 2>&1) &
MWI_PID=$!
nlog() { grep -c "mwi: $T/201: $1" "$PBX_RUN/notifier.log"; }
for _ in $(seq 100); do [ "$(nlog "0 new, 0 old")" -ge 1 ] && break; sleep 0.1; done
if sipp_call uac_voicemail.xml $NUM 5081 -mp 31100; then
	pass caller_leaves_a_message
else
	fail caller_leaves_a_message "sipp failed (see $TMP/sipp.out)"
fi
vm_wait_listed $T 201
id=$("$PBXCTL" vm list $T 201 2>/dev/null | awk 'NR == 1 {print $1}')

# session <name> <mode> <ports...> <bye check> <audio check> <min packets>
#   <band rms test (awk, on r)>: 201 dials *97 and does <mode>; the PBX
#   must hang up (BYE), and what the phone heard must pass the tests.
session() {
	local rms pk
	phone "$1" '*97' "$2" "$3" "$4" "$5"
	rms=$(band_rms "$TMP/$1.ul")
	pk=$(sink_packets "$TMP/$1.sink")
	if [ $PHONE_RC = 0 ] && grep -q '^BYE ' "$TMP/$1.msg"; then
		pass "$6"
	else
		fail "$6" "sipp $PHONE_RC (see $TMP/$1.out)"
	fi
	if [ "${pk:-0}" -ge "$8" ] &&
		awk -v r="${rms:-x}" "BEGIN { exit !(r != \"x\" && ($9)) }"; then
		pass "$7"
	else
		fail "$7" "${pk:-0} packets, 1400 Hz band rms ${rms:-?}"
	fi
	echo "info: $1 call: $pk packets, 1400 Hz band rms $rms"
}

# --- a wrong PIN three times ----------------------------------------------------
# 7 wrong PINs from earlier calls (within the window): these 3 lock it.
rcli SET "pbx:{$T}:vm:pinfail:201" 7 EX 900 >/dev/null
session wrong wrong 30510 5090 31510 wrong_pin_three_times_ends_with_bye \
	wrong_pin_hears_prompts_not_the_message 100 'r < 0.03'
if "$PBXCTL" vm list $T 201 2>/dev/null | grep -q "^$id new "; then
	pass message_still_new_after_wrong_pins
else
	fail message_still_new_after_wrong_pins "$("$PBXCTL" vm list $T 201 2>&1)"
fi
# The tenant speaks Russian: the phone heard the Russian PIN prompt (its
# exact bytes: the worker sends G.711 as it is stored; its first second,
# as the phone's keys cut the prompt), not the English.
has_sound() {
	python3 -c 'import sys; sys.exit(open(sys.argv[2], "rb").read()[:8000] not in open(sys.argv[1], "rb").read())' "$1" "$2"
}
MW=$PBX_BUILD/services/media-worker
if has_sound "$TMP/wrong.ul" "$MW/ru_vm_pin.ulaw" &&
	! has_sound "$TMP/wrong.ul" "$MW/en_vm_pin.ulaw"; then
	pass prompts_in_the_tenants_language
else
	fail prompts_in_the_tenants_language "ru_vm_pin not in $(wc -c <"$TMP/wrong.ul") bytes heard"
fi
# The lock-out count (docs/voicemail.md): the worker's Redis user may
# count, and the window is set.
fails=$(rcli GET "pbx:{$T}:vm:pinfail:201")
ttl=$(rcli TTL "pbx:{$T}:vm:pinfail:201")
if [ "$fails" = 10 ] && [ "${ttl:-0}" -gt 0 ]; then
	pass wrong_pins_counted_for_the_lock_out
else
	fail wrong_pins_counted_for_the_lock_out "count '$fails', ttl '$ttl'"
fi
if has_sound "$TMP/wrong.ul" "$MW/ru_vm_locked.ulaw"; then
	pass tenth_wrong_pin_locks_the_box
else
	fail tenth_wrong_pin_locks_the_box "ru_vm_locked not heard"
fi
# --- pbxctl vm unlock: the right PIN opens it again (the next session) ----------
out=$("$PBXCTL" vm unlock $T 201 2>&1)
if [ "$out" = "box 201: unlocked (10 wrong PINs)" ] &&
	[ "$(rcli EXISTS "pbx:{$T}:vm:pinfail:201")" = 0 ]; then
	pass vm_unlock_clears_the_lock_out
else
	fail vm_unlock_clears_the_lock_out "$out"
fi
if ! "$PBXCTL" vm unlock $T '../201' >/dev/null 2>&1 &&
	! "$PBXCTL" vm unlock nosuch-tenant 201 >/dev/null 2>&1; then
	pass vm_unlock_refuses_a_bad_box_or_tenant
else
	fail vm_unlock_refuses_a_bad_box_or_tenant "accepted"
fi
caller=$(rcli HGET "pbx:{$T}:vm:msg:$id" caller)
at_ms=$(rcli HGET "pbx:{$T}:vm:msg:$id" time_ms)

# --- the right PIN: hear it, press 7 ----------------------------------------------
# About 3 s of the 0.5 tone in some 10 s of audio: a band rms near 0.2.
# The 7 after the date (some 12 s of words) and the message; 3 s of the
# tone in some 25 s heard (the wrong PINs' call: 0.002).
PHONE_WAIT=19000 session listen delete 30520 5091 31520 \
	pin_then_7_ends_with_bye right_pin_hears_the_message 300 'r >= 0.05'
# "Сообщение получено <weekday> <day> <month> <h> <hours> <m> <minutes>
# с номера <digits>" (say.c say_received, Russian) in Asia/Kamchatka
# (UTC+12), built here from the words' G.711 files; it must reach the
# phone whole, and the message's tone must follow it.
date_check() {
	python3 - "$TMP/listen.ul" "$MW" "$at_ms" "$caller" <<'PY'
import datetime, sys, zoneinfo
heard, mw, at_ms, caller = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
t = datetime.datetime.fromtimestamp(at_ms // 1000, zoneinfo.ZoneInfo("Asia/Kamchatka"))
def form(n):
    if 11 <= n % 100 <= 14: return 2
    return 0 if n % 10 == 1 else 1 if 2 <= n % 10 <= 4 else 2
def num(n, fem=False):
    w = []
    if n >= 20:
        w.append("num_%d" % (n // 10 * 10)); n %= 10
        if not n: return w
    w.append("num_%d%s" % (n, "f" if fem and n in (1, 2) else ""))
    return w
d = t.day
day = ["ord_%d" % d] if d < 20 or d % 10 == 0 else ["num_%d" % (d // 10 * 10), "ord_%d" % (d % 10)]
words = ["vm_received", "wd_%d" % ((t.weekday() + 1) % 7)] + day + ["mon_%d" % t.month]
words += num(t.hour) + [["h_1", "h_2", "h_5"][form(t.hour)]]
if t.minute:
    words += num(t.minute, True) + [["min_1", "min_2", "min_5"][form(t.minute)]]
digits = [c for c in caller if c.isdigit()][:20]
if digits:
    words += ["t_from"] + ["num_%s" % c for c in digits]
def sound(w):
    for f in ("%s/ru_%s.ulaw" % (mw, w), "%s/qs_ru_%s.ulaw" % (mw, w)):
        try: return open(f, "rb").read()
        except OSError: pass
    sys.exit("no sound " + w)
seq = b"".join(sound(w) for w in words)
audio = open(heard, "rb").read()
i = audio.find(seq)
if i < 0:
    sys.exit("not heard: " + " ".join(words))
print(i, i + len(seq), " ".join(words))
PY
}
if dc=$(date_check 2>&1); then
	read -r d0 d1 dwords <<<"$dc"
	# the tone right after the date, none before it
	head -c "$d0" "$TMP/listen.ul" >"$TMP/before.ul"
	tail -c +$((d1 + 1)) "$TMP/listen.ul" | head -c 24000 >"$TMP/after.ul"
	rb=$(band_rms "$TMP/before.ul")
	ra=$(band_rms "$TMP/after.ul")
	if awk -v b="${rb:-1}" -v a="${ra:-0}" 'BEGIN { exit !(b < 0.03 && a >= 0.1) }'; then
		pass date_time_and_caller_said_before_the_message
	else
		fail date_time_and_caller_said_before_the_message "band rms before $rb, after $ra"
	fi
	echo "info: said: $dwords"
else
	fail date_time_and_caller_said_before_the_message "$dc"
fi
out=$("$PBXCTL" vm list $T 201 2>&1)
files=$(find "$PBX_RUN/media/$T/vm" -type f 2>/dev/null | wc -l)
if [ -n "$id" ] && [ -z "$out" ] && [ "$files" = 0 ]; then
	pass key_7_deleted_the_message_and_its_file
else
	fail key_7_deleted_the_message_and_its_file "list: $out; $files files"
fi
if [ "$(rcli EXISTS "pbx:{$T}:vm:pinfail:201")" = 0 ]; then
	pass right_pin_cleared_the_wrong_pin_count
else
	fail right_pin_cleared_the_wrong_pin_count "$(rcli GET "pbx:{$T}:vm:pinfail:201")"
fi
bytes=$(rcli GET "pbx:{$T}:vm:bytes")
if [ "$bytes" = 0 ]; then pass deleted_bytes_leave_the_quota_count; else
	fail deleted_bytes_leave_the_quota_count "vm:bytes $bytes"
fi
wait $MWI_PID
mwi_rc=$?
if [ $mwi_rc = 0 ] && [ "$(grep -c '^Messages-Waiting:' "$TMP/mwi.msg")" = 3 ]; then
	pass mwi_0_then_1_then_0_after_key_7
else
	fail mwi_0_then_1_then_0_after_key_7 "sipp $mwi_rc; $(grep -h 'Voice-Message' "$TMP/mwi.msg" | tr -d '\r' | tr '\n' ' ')"
fi

# --- a new PIN from the phone ------------------------------------------------------
# keys_phone <name> <keys> <rtp port> <sipp port> <media port> [<audio>]:
# as phone, with vm_phone.xml's keys replaced by <keys> (a key each 400
# ms; pN: a pause of N ms) and its audio by <audio> (a raw mu-law file in
# $TMP, looped; silence.ul by default); the PBX must hang up.
keys_phone() {
	python3 - "$SIPP_DIR/vm_phone.xml" "$TMP/keys_$1.xml" "$2" \
		"${6:-silence.ul}" <<'PY'
import sys
src, dst, spec, audio = sys.argv[1:5]
x = open(src).read().replace('rtp_stream="silence.ul,', 'rtp_stream="%s,' % audio)
a = x.index('  <nop test="is_delete" next="delete"/>')
b = x.index('  <label id="wait_bye"/>')
names = {"#": "pound", "*": "star"}
steps = []
for tok in spec.split():
    if tok[0] == "p":
        steps.append('  <pause milliseconds="%d"/>' % int(tok[1:]))
        continue
    for k in tok:
        steps.append('  <nop><action><exec play_pcap_audio='
                     '"/usr/share/sip-tester/dtmf_2833_%s.pcap"/></action></nop>'
                     % names.get(k, k))
        steps.append('  <pause milliseconds="400"/>')
# SIPp refuses variables set but never used: the modes' stay referenced.
y = x[b:].replace('<Reference variables="wait_s"/>',
                  '<Reference variables="wait_s,wait,is_delete,is_wrong"/>')
open(dst, "w").write(x[:a] + "\n".join(steps) + "\n" + y)
PY
	start_sink $CALLER_IP "$3" "$TMP/$1.sink" "$TMP/$1.ul"
	(cd "$TMP" && timeout 60 sipp -sf "$TMP/keys_$1.xml" -s '*97' \
		-key user 201 -key domain $DOMAIN -key rtp_port "$3" \
		-key mode keys -key wait 0 -au 201 -ap $EXTPW \
		-i $CALLER_IP -p "$4" -mp "$5" -m 1 -nostdin \
		-trace_msg -message_file "$TMP/$1.msg" 127.0.0.1:5060 \
		>"$TMP/$1.out" 2>&1)
	PHONE_RC=$?
	wait "$SINK_PID"
}
# The box is empty now: 0 during its goodbye opens the options.
keys_phone newpin '4321# p300 0 p1500 2 p1500 5678# p1500 5678# p3000 *' \
	30560 5095 31560
pin=$("$PBXCTL" object get $T voicemail_box 201 2>/dev/null |
	python3 -c 'import json,sys; print(json.load(sys.stdin).get("pin"))' 2>/dev/null)
if [ $PHONE_RC = 0 ] && [ "$pin" = 5678 ] &&
	has_sound "$TMP/newpin.ul" "$MW/ru_vm_newpin_done.ulaw"; then
	pass pin_changed_from_the_phone_is_stored_in_the_box
else
	fail pin_changed_from_the_phone_is_stored_in_the_box "sipp $PHONE_RC, pin '$pin' (see $TMP/newpin.out)"
fi
# The old PIN is wrong now, the new one opens the box (it is empty).
keys_phone pins '4321# p2500 5678#' 30570 5096 31570
if [ $PHONE_RC = 0 ] && has_sound "$TMP/pins.ul" "$MW/ru_vm_bad_pin.ulaw" &&
	has_sound "$TMP/pins.ul" "$MW/ru_vm_new_0.ulaw"; then
	pass old_pin_refused_new_pin_opens_the_box
else
	fail old_pin_refused_new_pin_opens_the_box "sipp $PHONE_RC (see $TMP/pins.out)"
fi

# --- a greeting recorded from the phone ------------------------------------------
# 0, 1: after "record after the tone" and the beep (some 5.5 s) the phone's
# 700 Hz for some 2.5 s, #; its playback, 1 keeps it; then a caller of the
# number hears it as the box's greeting.
sox -n -r 8000 -c 1 -t ul "$TMP/greet_tone.ul" synth 30 sine 700 vol 0.5 \
	2>/dev/null
keys_phone greet '5678# p300 0 p1500 1 p7500 # p2500 1 p2500 *' \
	30580 5098 31580 greet_tone.ul
greeting=$("$PBXCTL" object get $T voicemail_box 201 2>/dev/null |
	python3 -c 'import json,sys; print(json.load(sys.stdin).get("greeting"))' 2>/dev/null)
if [ $PHONE_RC = 0 ] && [ "$greeting" = vmg-201 ] &&
	has_sound "$TMP/greet.ul" "$MW/ru_vm_greet_saved.ulaw" &&
	"$PBXCTL" prompt list $T 2>/dev/null | grep -q '^vmg-201 '; then
	pass greeting_recorded_from_the_phone_is_the_boxs
else
	fail greeting_recorded_from_the_phone_is_the_boxs "sipp $PHONE_RC, greeting '$greeting' (see $TMP/greet.out)"
fi
# tone_rms <raw mu-law file>: RMS level of its 680-720 Hz band.
tone_rms() {
	sox -t ul -r 8000 -c 1 "$1" -n sinc 680-720 stat 2>&1 |
		sed -n 's/^RMS     amplitude: *\([0-9.]*\).*/\1/p'
}
start_sink $CALLER_IP 30590 "$TMP/newcaller.sink" "$TMP/newcaller.ul"
sipp_call uac_greeting.xml $NUM 5099 -key rtp_port 30590
rc=$?
wait "$SINK_PID"
rms=$(tone_rms "$TMP/newcaller.ul")
if [ $rc = 0 ] && awk -v r="${rms:-0}" 'BEGIN { exit !(r >= 0.1) }'; then
	pass next_caller_hears_the_recorded_greeting
else
	fail next_caller_hears_the_recorded_greeting "sipp $rc, 700 Hz band rms ${rms:-?}"
fi
echo "info: next caller: 700 Hz band rms $rms"

# --- queue agent codes -------------------------------------------------------------
agent_state() {
	"$PBXCTL" queue stats $T sales 2>/dev/null |
		sed -n 's/^queue sales agent 201: \([a-z_]*\).*/\1/p'
}
# agent_code <name> <code> <state> <rtp port> <sipp port> <media port>:
# 201 dials the code, hears a prompt (RTP counted), gets BYE, and the
# queue-manager has it in <state>.
agent_code() {
	local st pk
	phone "$1" "$2" none "$4" "$5" "$6"
	st=$(agent_state)
	pk=$(sink_packets "$TMP/$1.sink")
	if [ $PHONE_RC = 0 ] && [ "$st" = "$3" ] && [ "${pk:-0}" -ge 50 ]; then
		pass "$7"
	else
		fail "$7" "sipp $PHONE_RC, state '$st', ${pk:-0} packets"
	fi
}
agent_code logout '*46' logged_out 30530 5092 31530 \
	star46_logs_the_agent_out_with_a_prompt
agent_code login '*45' ready 30540 5093 31540 \
	star45_makes_the_agent_ready_with_a_prompt

# --- an unknown code ---------------------------------------------------------------
if (cd "$TMP" && timeout 30 sipp -sf "$SIPP_DIR/uac_auth_call.xml" -s '*99' \
	-key user 201 -key domain $DOMAIN -key rdomain $DOMAIN -key expect 404 \
	-au 201 -ap $EXTPW -i $CALLER_IP -p 5094 -mp 31550 -m 1 -nostdin \
	-trace_msg -message_file "$TMP/unknown.msg" 127.0.0.1:5060 \
	>"$TMP/unknown.out" 2>&1) &&
	grep -q '^SIP/2.0 404 Unknown feature code' "$TMP/unknown.msg"; then
	pass unknown_code_gets_404_unknown_feature_code
else
	fail unknown_code_gets_404_unknown_feature_code "$(grep -h '^SIP/2.0 [1-6]' "$TMP/unknown.msg" | tr -d '\r' | tr '\n' ' ')"
fi

e2e_finish $T
