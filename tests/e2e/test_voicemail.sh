#!/usr/bin/env bash
# End-to-end voicemail: starts the whole stack (stack.sh, one media worker),
# provisions a tenant whose number goes to a voicemail box, and has a SIPp
# caller stream a known tone (3 s of 440 Hz) into it after the greeting
# and the beep, then hang up. Checks the stored message: listed with its
# caller and called number, its WAV is 8 kHz 16-bit mono, within 0.2 s of
# what was sent, and is the tone (sox's frequency and level); then
# pbxctl vm get / heard / delete, and that another tenant sees nothing;
# then quotas: a full box (messages per box, then the tenant's bytes)
# plays its prompt and ends the call, storing nothing, and pbxctl vm
# quota shows the usage;
# then kills the worker mid-message: nothing listed, and its restart
# removes the unfinished file; then 50 messages with three kills at random
# moments: every listed message whole, no temporary file left.
#
# Environment: PBX_BUILD (a build dir, required). Prints "PASS <name>" /
# "FAIL <name> <why>" per check and a last line "N passed, M failed".
set -u
: "${PBX_BUILD:?set PBX_BUILD to a build directory}"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SIPP_DIR=$ROOT/tests/sipp
STACK=$ROOT/scripts/stack.sh
PBXCTL=$PBX_BUILD/services/pbxctl/pbxctl
SINK=$PBX_BUILD/tests/support/rtp_sink
export PBX_RUN=${PBX_RUN:-$(mktemp -d /tmp/pbx-e2e-vm.XXXXXX)}
export PBX_WORKERS=1 PBX_BUILD
TMP=$PBX_RUN/e2e
mkdir -p "$TMP"
T=e2evm   # test tenant
T2=e2evm2 # another tenant
NUM=15550301
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

# The box's greeting (1 s) and the caller's audio: 3 s of 440 Hz at about
# -6 dBFS, raw mu-law as SIPp's rtp_stream sends it.
sox -n -r 8000 -c 1 -b 16 "$TMP/vmhi.wav" synth 1 sine 660 2>/dev/null
sox -n -r 8000 -c 1 -t ul "$TMP/vm_tone.ul" synth 3 sine 440 vol 0.5 \
	2>/dev/null
prov_ok=1
{
	"$PBXCTL" tenant delete $T
	"$PBXCTL" tenant delete $T2
	"$PBXCTL" tenant create $T &&
		"$PBXCTL" tenant create $T2 &&
		"$PBXCTL" prompt upload $T vmhi "$TMP/vmhi.wav" &&
		echo '{"greeting":"vmhi","max_length":60}' |
		"$PBXCTL" object put $T voicemail_box general - &&
		number_with $T $NUM vm \
			'{"start":"v","nodes":{"v":{"type":"voicemail","options":{"box":"general"}}}}'
} >"$TMP/provision.out" 2>&1 || prov_ok=0
if [ $prov_ok = 1 ]; then pass provision_voicemail_tenant; else
	fail provision_voicemail_tenant "$(tail -1 "$TMP/provision.out")"
fi

# --- a message left by a caller ---------------------------------------------
if sipp_call uac_voicemail.xml $NUM 5081 -mp 31100 \
	-trace_logs -log_file "$TMP/vm_call.log"; then
	pass caller_leaves_a_message
else
	fail caller_leaves_a_message "sipp failed (see $TMP/sipp.out)"
fi
# The worker stores the message as the caller hangs up.
vm_wait_listed $T general
list=$("$PBXCTL" vm list $T general 2>&1)
id=$(echo "$list" | awk 'NR == 1 {print $1}')
if [ "$(echo "$list" | wc -l)" = 1 ] &&
	echo "$list" | grep -qE " new .* from 79990000001 to $NUM$"; then
	pass message_listed_new_with_caller_and_number
else
	fail message_listed_new_with_caller_and_number "list: $list"
fi

if "$PBXCTL" vm get $T general "$id" >"$TMP/msg.wav" 2>"$TMP/get.err"; then
	pass vm_get_returns_the_message
else
	fail vm_get_returns_the_message "$(cat "$TMP/get.err")"
fi
check_wav_8k_mono message_is_8khz_16bit_mono_wav "$TMP/msg.wav"
check_wav_seconds message_duration_within_0_2_s_of_what_was_sent \
	"$TMP/msg.wav" 2.8 3.2
dur=$WAV_SECONDS
echo "info: message $id: $dur s"
stat=$(sox "$TMP/msg.wav" -n stat 2>&1)
freq=$(echo "$stat" | sed -n 's/^Rough   frequency: *\([0-9]*\).*/\1/p')
rms=$(echo "$stat" | sed -n 's/^RMS     amplitude: *\([0-9.]*\).*/\1/p')
if [ -n "$freq" ] && [ "$freq" -ge 420 ] && [ "$freq" -le 460 ] &&
	awk -v r="$rms" 'BEGIN { exit !(r >= 0.25 && r <= 0.45) }'; then
	pass message_audio_is_the_440hz_tone
else
	fail message_audio_is_the_440hz_tone "frequency ${freq:-?} Hz, rms ${rms:-?}"
fi
echo "info: message audio ${freq:-?} Hz, rms ${rms:-?}"
files=$(find "$PBX_RUN/media/$T/vm" -type f | wc -l)
tmps=$(find "$PBX_RUN/media/$T/vm" -name '.tmp.*' | wc -l)
if [ "$files" = 1 ] && [ "$tmps" = 0 ]; then
	pass one_file_in_the_tenants_store_no_temporary
else
	fail one_file_in_the_tenants_store_no_temporary "$files files, $tmps temporary"
fi

# --- another tenant sees nothing ---------------------------------------------
out=$("$PBXCTL" vm list $T2 general 2>&1)
if [ -z "$out" ]; then pass other_tenant_lists_nothing; else
	fail other_tenant_lists_nothing "$out"
fi
if ! "$PBXCTL" vm get $T2 general "$id" >/dev/null 2>"$TMP/get2.err" &&
	grep -q 'no message' "$TMP/get2.err"; then
	pass other_tenant_cannot_get_it
else
	fail other_tenant_cannot_get_it "$(cat "$TMP/get2.err")"
fi

# --- heard, delete ------------------------------------------------------------
"$PBXCTL" vm heard $T general "$id" >/dev/null 2>&1
if "$PBXCTL" vm list $T general | grep -q "^$id heard "; then
	pass vm_heard_marks_it
else
	fail vm_heard_marks_it "$("$PBXCTL" vm list $T general 2>&1)"
fi
"$PBXCTL" vm delete $T general "$id" >/dev/null 2>&1
if [ -z "$("$PBXCTL" vm list $T general 2>&1)" ] &&
	[ "$(find "$PBX_RUN/media/$T/vm" -type f | wc -l)" = 0 ]; then
	pass vm_delete_removes_listing_and_file
else
	fail vm_delete_removes_listing_and_file "still listed or on disk"
fi

# --- quotas: a full box refuses with a prompt and a BYE ----------------------
"$PBXCTL" vm quota $T --messages 1 >/dev/null 2>&1
sipp_call uac_voicemail.xml $NUM 5085 -mp 31500 || echo "info: quota call 1 failed"
vm_wait_listed $T general
qid=$("$PBXCTL" vm list $T general 2>/dev/null | awk 'NR == 1 {print $1}')
qbytes=$(rcli HGET "pbx:{$T}:vm:msg:$qid" bytes)
"$SINK" $CALLER_IP 31600 20 1500 "$TMP/qsink.ready" >"$TMP/qsink.out" &
qsink=$!
for _ in $(seq 50); do [ -e "$TMP/qsink.ready" ] && break; sleep 0.05; done
if sipp_call uac_greeting.xml $NUM 5086 -key rtp_port 31600; then qcall=ok
else qcall=failed; fi
wait $qsink
qpackets=$(sink_packets "$TMP/qsink.out")
if [ $qcall = ok ] && [ "${qpackets:-0}" -ge 80 ] &&
	[ "$("$PBXCTL" vm list $T general | wc -l)" = 1 ]; then
	pass full_box_plays_a_prompt_then_bye_and_stores_nothing
else
	fail full_box_plays_a_prompt_then_bye_and_stores_nothing "call $qcall, ${qpackets:-0} packets heard, $("$PBXCTL" vm list $T general | wc -l) listed"
fi
echo "info: the full box's prompt: ${qpackets:-0} packets"
out=$("$PBXCTL" vm quota $T --bytes $((qbytes + 8000)) 2>&1)
if [ "$out" = "messages per box: 1
bytes: $qbytes of $((qbytes + 8000)) used" ]; then
	pass vm_quota_shows_limits_and_usage
else
	fail vm_quota_shows_limits_and_usage "$out"
fi
# Under 1 s of room left: the tenant's bytes refuse even a box with room.
"$PBXCTL" vm quota $T --messages 0 >/dev/null
"$SINK" $CALLER_IP 31610 20 1500 "$TMP/qsink2.ready" >"$TMP/qsink2.out" &
qsink=$!
for _ in $(seq 50); do [ -e "$TMP/qsink2.ready" ] && break; sleep 0.05; done
sipp_call uac_greeting.xml $NUM 5087 -key rtp_port 31610 && qcall=ok || qcall=failed
wait $qsink
if [ $qcall = ok ] && [ "$(sink_packets "$TMP/qsink2.out")" -ge 80 ] &&
	[ "$("$PBXCTL" vm list $T general | wc -l)" = 1 ]; then
	pass tenant_bytes_quota_refuses_too
else
	fail tenant_bytes_quota_refuses_too "call $qcall, $(sink_packets "$TMP/qsink2.out") packets"
fi
"$PBXCTL" vm delete $T general "$qid" >/dev/null
out=$("$PBXCTL" vm quota $T --bytes 0 2>&1)
if [ "$out" = "messages per box: no limit
bytes: 0 used, no limit" ]; then
	pass delete_gives_the_bytes_back
else
	fail delete_gives_the_bytes_back "$out"
fi
if ! out=$("$PBXCTL" --key "$("$STACK" key tenant-$T)" vm quota $T --messages 9 2>&1); then
	pass tenant_key_cannot_change_its_quota
else
	fail tenant_key_cannot_change_its_quota "$out"
fi

# --- a worker killed mid-message leaves no listing, and its start cleans up --
(cd "$TMP" && exec timeout 30 sipp -sf "$SIPP_DIR/uac_voicemail.xml" -s $NUM \
	-i "$CALLER_IP" -p 5082 -mp 31200 -nostdin -m 1 127.0.0.1:5060 \
	>>"$TMP/sipp-kill.out" 2>&1) &
killed_call=$!
# The tone streams from 2.5 s; at 4 s the message is half recorded.
sleep 4
tmp_before=$(find "$PBX_RUN/media/$T/vm" -name '.tmp.mw1.*' | wc -l)
victim=$(cat "$PBX_RUN/mw1.pid")
kill -9 "$victim"
for _ in $(seq 50); do kill -0 "$victim" 2>/dev/null || break; sleep 0.1; done
kill "$killed_call" 2>/dev/null
wait "$killed_call" 2>/dev/null
if [ "$tmp_before" = 1 ] &&
	[ -z "$("$PBXCTL" vm list $T general 2>&1)" ] &&
	[ "$(rcli --scan --pattern "pbx:{$T}:vm:msg:*" | wc -l)" = 0 ] &&
	[ "$(rcli --scan --pattern "pbx:{$T}:vm:box:*" | wc -l)" = 0 ]; then
	pass killed_worker_leaves_no_redis_reference
else
	fail killed_worker_leaves_no_redis_reference "temporary files $tmp_before, list '$("$PBXCTL" vm list $T general 2>&1)'"
fi
"$STACK" start-one mw1 >"$TMP/restart.out" 2>&1 ||
	echo "info: start-one mw1: $(tail -1 "$TMP/restart.out")"
# start-one may return on the dead worker's last heartbeat (still fresh):
# give the new one the time to reach its sweep.
for _ in $(seq 50); do
	left=$(find "$PBX_RUN/media/$T/vm" -type f | wc -l)
	[ "$left" = 0 ] && break
	sleep 0.1
done
if [ "$left" = 0 ]; then pass restarted_worker_sweeps_its_temporary_file
else fail restarted_worker_sweeps_its_temporary_file "$left files left"; fi

# --- 50 messages, the worker killed at random moments --------------------------
# Ten callers leave five messages each while mw1 is killed with SIGKILL
# three times at random moments (and started again at once). Afterwards
# every listed message must have its whole file (its WAV's length is the
# length Redis lists), and once the worker has started again no
# temporary file is left.
rcli DEL "pbx:{$T}:vm:box:general" >/dev/null
kill_pids=""
for i in $(seq 0 9); do
	(cd "$TMP" && exec timeout 90 sipp -sf "$SIPP_DIR/uac_voicemail.xml" \
		-s $NUM -i "$CALLER_IP" -p $((5090 + i)) -mp $((32000 + 100 * i)) \
		-nostdin -m 5 -l 1 127.0.0.1:5060 >>"$TMP/sipp-many.out" 2>&1) &
	kill_pids="$kill_pids $!"
done
for k in 1 2 3; do
	sleep $((4 + RANDOM % 6)).$((RANDOM % 10))
	victim=$(cat "$PBX_RUN/mw1.pid")
	kill -9 "$victim"
	for _ in $(seq 50); do kill -0 "$victim" 2>/dev/null || break; sleep 0.1; done
	"$STACK" start-one mw1 >>"$TMP/restart.out" 2>&1
	echo "info: mw1 killed and restarted ($k)"
done
for p in $kill_pids; do wait "$p" 2>/dev/null; done
# The last start's sweep, then the checks.
for _ in $(seq 50); do
	[ "$(find "$PBX_RUN/media/$T/vm" -name '.tmp.*' | wc -l)" = 0 ] && break
	sleep 0.1
done
listed=0 bad=""
for id in $(rcli ZRANGE "pbx:{$T}:vm:box:general" 0 -1); do
	listed=$((listed + 1))
	ms=$(rcli HGET "pbx:{$T}:vm:msg:$id" duration_ms)
	f="$PBX_RUN/media/$T/vm/$id.wav"
	samples=$(soxi -s "$f" 2>/dev/null || echo missing)
	[ "$samples" = "$((ms * 8))" ] || bad="$bad $id:$ms:$samples"
done
echo "info: $listed of 50 messages stored across 3 kills"
if [ -z "$bad" ]; then pass every_listed_message_has_its_whole_file
else fail every_listed_message_has_its_whole_file "id:ms:samples$bad"; fi
if [ "$listed" -ge 10 ]; then pass messages_are_stored_between_the_kills
else fail messages_are_stored_between_the_kills "only $listed of 50"; fi
tmps=$(find "$PBX_RUN/media/$T/vm" -name '.tmp.*' | wc -l)
if [ "$tmps" = 0 ]; then pass no_temporary_file_after_the_restart
else fail no_temporary_file_after_the_restart "$tmps left"; fi

# --- teardown ---------------------------------------------------------------
e2e_finish $T $T2
