#!/usr/bin/env bash
# End-to-end: callers wait in queues and reach agents (issue 9). The whole
# stack on loopback (queue-manager qm1 included); SIPp phones register
# extensions 101 and 102 (digest auth through Kamailio) and act as agents
# (tests/sipp/queue_agent.xml: answer, answer and hang up, or only ring);
# SIPp callers (tests/sipp/queue_caller.xml) dial tenant numbers whose
# scenarios put them in queues. Asserts what reached each side: RTP
# counted at the caller while it waits (music on hold) and both ways once
# bridged, the position announcement a waiting caller hears (the exact
# bytes of the Russian system sounds, then the music again), which caller
# reached which agent, the exit routes (max wait, an
# RFC 4733 exit key), an agent that does not answer skipped and then
# auto-paused, and `pbxctl queue stats`. A mobile number is an agent
# too: a SIPp carrier on an outside address (198.51.100.9, the trunk)
# answers as that agent, with RTP counted both ways. The call-back exit:
# a caller presses the callback key, hears the confirmation and is hung
# up; when an agent is free its phone rings first and answers, then the
# carrier (as the caller's number) is called and answers, RTP counted
# both ways; a busy caller is tried again after the interval, then
# given up (statistics).
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
own_netns "$ROOT/tests/e2e/test_queue.sh" "$@"
. "$ROOT/tests/e2e/lib.sh"
e2e_env queue
CALLER_IP=127.0.0.2
CARRIER=198.51.100.9
MOBILE_AGENT=79161234567
T=queue
DOMAIN=queue.pbx.local

# Agents: extension, password, the phone's address and RTP port.
declare -A A_IP=([101]=127.0.0.4 [102]=127.0.0.5)
declare -A A_PORT=([101]=5094 [102]=5095)
declare -A A_RTP=([101]=32002 [102]=32004)
declare -A A_PW=([101]=first-agent-secret-pw [102]=second-agent-secret-pw)
declare -A A_PID=()

BG=()
cleanup() {
	local p
	for p in "${A_PID[@]}" "${BG[@]}"; do kill "$p" 2>/dev/null; done
	"$STACK" stop >/dev/null 2>&1
}
trap cleanup EXIT
ip addr add "$CARRIER/32" dev lo 2>/dev/null

# register <ext>: the agent's phone registers its address (digest auth).
register() {
	(cd "$TMP" && timeout 20 sipp -sf "$SIPP_DIR/reg_auth.xml" \
		-s "$1" -key domain $DOMAIN -key expect 200 -key expires 3600 \
		-au "$1" -ap "${A_PW[$1]}" -i "${A_IP[$1]}" -p "${A_PORT[$1]}" \
		-m 1 -nostdin 127.0.0.1:5060 >>"$TMP/sipp.out" 2>&1)
}

# agent <ext> <mode> <calls> <name> [talk ms]: the agent's phone takes
# <calls> calls in the background (queue_agent.xml), logging to
# $TMP/agent-<name>.log.
agent() {
	local ext=$1
	(cd "$TMP" && exec timeout 90 sipp -sf "$SIPP_DIR/queue_agent.xml" \
		-i "${A_IP[$ext]}" -p "${A_PORT[$ext]}" -mi "${A_IP[$ext]}" \
		-mp $((16000 + ext * 10)) -key ext "$ext" \
		-key rtp_port "${A_RTP[$ext]}" -key mode "$2" -m "$3" \
		-d "${5:-1000}" -nostdin -trace_logs \
		-log_file "$TMP/agent-$4.log" >>"$TMP/sipp.out" 2>&1) &
	A_PID[$ext]=$!
	sleep 0.3
}

# agent_done <ext> <check name>: the agent's phone completed its calls.
agent_done() {
	local rc
	wait "${A_PID[$1]}"
	rc=$?
	unset "A_PID[$1]"
	if [ $rc = 0 ]; then pass "$2"; else fail "$2" "agent $1 sipp exit $rc"; fi
}

# caller <name> <number> <mode> <n> [hold ms]: caller n (local port
# 5110+n, RTP port 33000+2n, number 7999000010n) in the foreground; its
# log is $TMP/caller-<name>.log.
caller() {
	(cd "$TMP" && timeout 70 sipp -sf "$SIPP_DIR/queue_caller.xml" \
		-s "$2" -i $CALLER_IP -p $((5110 + $4)) -mi $CALLER_IP \
		-mp $((17000 + $4 * 10)) -key caller "7999000010$4" \
		-key rtp_port $((33000 + $4 * 2)) -key mode "$3" \
		-d "${5:-1000}" -m 1 -nostdin -trace_logs \
		-log_file "$TMP/caller-$1.log" \
		127.0.0.1:5060 >>"$TMP/sipp.out" 2>&1)
}

# at_least <name> <what> <got> <min>
at_least() {
	if [ "${3:-0}" -ge "$4" ]; then pass "$1"
	else fail "$1" "$2: ${3:-0} (want >= $4)"; fi
}

# audio_has <heard> <after-offset-file|-> <sound>...: the raw audio a
# caller heard holds the sounds back to back (their exact bytes: the
# worker sends G.711 as it is stored). Prints the offset past them.
audio_has() {
	python3 - "$@" <<'PY'
import sys
heard = open(sys.argv[1], 'rb').read()
start = 0 if sys.argv[2] == '-' else int(open(sys.argv[2]).read())
needle = b''.join(open(f, 'rb').read() for f in sys.argv[3:])
i = heard.find(needle, start)
if i < 0:
    sys.exit(1)
print(i + len(needle))
PY
}

# stat <queue> <word>: the number before <word> in `queue stats`.
stat() {
	"$PBXCTL" queue stats $T "$1" 2>/dev/null | head -1 |
		sed -n "s/.*[ ,;]$2 \([0-9]*\).*/\1/p"
}

# qscen <queue> [node options] [outputs] [nodes]: a scenario whose queue
# node's exit route hangs up with 480 (options, outputs and nodes are
# added to the node's, each starting with a comma, the nodes ending with
# one).
qscen() {
	printf '{"start":"q","nodes":{"q":{"type":"queue","options":{"queue":"%s"%s},"outputs":{"timeout":"bye"%s}},%s"bye":{"type":"hangup","options":{"code":480}}}}' \
		"$1" "${2:-}" "${3:-}" "${4:-}"
}

# leave_by <node>: a node that plays the prompt "left", then hangs up.
leave_by() {
	printf '"%s":{"type":"greeting","options":{"prompt":"left"},"outputs":{"next":"bye"}},' "$1"
}

# --- stack and tenant -------------------------------------------------------
stack_up

cd "$TMP" || exit 1
sox -n -r 8000 -c 1 -e a-law caller.wav synth 30 sine 400 2>/dev/null
sox -n -r 8000 -c 1 -e a-law callee.wav synth 30 sine 600 2>/dev/null
sox -n -r 16000 -c 1 -b 16 left.wav synth 2 sine 700 2>/dev/null
cd - >/dev/null || exit 1

{
	"$PBXCTL" tenant delete $T
	"$PBXCTL" tenant create $T --domain $DOMAIN &&
	"$PBXCTL" ext add $T 101 "${A_PW[101]}" &&
	"$PBXCTL" ext add $T 102 "${A_PW[102]}" &&
	"$PBXCTL" prompt upload $T left "$TMP/left.wav" &&
	"$PBXCTL" tenant language $T ru | grep -q "language: ru" &&
	echo '{"strategy":"longest_idle","agents":["101","102"],"agent_timeout":10,"announce_position":true}' |
		"$PBXCTL" object put $T queue sales - &&
	echo '{"agents":[],"max_wait":5}' |
		"$PBXCTL" object put $T queue empty - &&
	echo '{"strategy":"linear","agents":["101","102"],"agent_timeout":5}' |
		"$PBXCTL" object put $T queue line - &&
	number_with $T 15552002 sales "$(qscen sales)" &&
	number_with $T 15552003 short "$(qscen empty ',"max_wait":4')" &&
	number_with $T 15552004 keyed "$(qscen empty ',"max_wait":30' \
		',"exit_key:2":"left"' "$(leave_by left)")" &&
	echo '{"agents":["102"],"agent_timeout":30}' |
		"$PBXCTL" object put $T queue slow - &&
	echo '{"agents":["102"],"join_empty":false}' |
		"$PBXCTL" object put $T queue closed - &&
	number_with $T 15552006 slow "$(qscen slow ',"max_wait":4')" &&
	number_with $T 15552007 closed "$(qscen closed '' \
		',"no_agents":"none"' "$(leave_by none)")" &&
	number_with $T 15552005 linear "$(qscen line)" &&
	echo '{"agents":[{"mobile":"8 (916) 123-45-67"}],"agent_timeout":10}' |
		"$PBXCTL" object put $T queue mobile - &&
	number_with $T 15552008 mobile "$(qscen mobile)" &&
	echo '{"strategy":"linear","agents":["101"],"agent_timeout":10,"callback_key":"2","callback_retries":1,"callback_retry_interval":5}' |
		"$PBXCTL" object put $T queue cbq - &&
	number_with $T 15552009 cbq "$(qscen cbq)" &&
	"$PBXCTL" trunk add q-carrier $CARRIER:5060 --format e164 &&
	register 101 && register 102
} >"$TMP/provision.out" 2>&1
if [ $? = 0 ]; then pass provision_queue_tenant; else
	fail provision_queue_tenant "$(tail -2 "$TMP/provision.out" | tr '\n' ' ')"
fi
# A language the system sounds do not speak is refused; the tenant's
# stays.
if ! "$PBXCTL" tenant language $T de >"$TMP/lang.out" 2>&1 &&
	grep -q "unknown language; the languages are: en, ru" "$TMP/lang.out" &&
	"$PBXCTL" tenant language $T | grep -q "language: ru"; then
	pass tenant_language_refuses_an_unknown_one
else fail tenant_language_refuses_an_unknown_one "$(cat "$TMP/lang.out")"; fi

# --- a freshly connected number: the default scenario reaches an agent -----
# `number connect` gives the number the default scenario (queue "default",
# ring_all, exit route 480); the operator lists the agents of the default
# queue. Both ring; 101 answers, so 102's ring is cancelled (not a miss of
# 102's); the caller talks 5 s and hangs up: 101 gets the BYE.
if "$PBXCTL" number connect $T 15552001 >"$TMP/default.out" 2>&1 &&
	echo '{"agents":["101","102"]}' |
	"$PBXCTL" object put $T queue default - >>"$TMP/default.out" 2>&1; then
	pass default_number_connected
else fail default_number_connected "$(tail -1 "$TMP/default.out")"; fi
agent 101 answer 1 default
agent 102 noanswer 1 default102
start_sink "${A_IP[101]}" "${A_RTP[101]}" "$TMP/default.agent.sink"
sa=$SINK_PID
start_sink $CALLER_IP 33002 "$TMP/default.caller.sink"
sc=$SINK_PID
if caller default 15552001 hangup 1 5000 && grep -q sent-bye "$TMP/caller-default.log"; then
	pass default_caller_reached_agent_and_hung_up
else fail default_caller_reached_agent_and_hung_up "caller sipp failed"; fi
agent_done 101 default_agent101_answered_and_got_bye
agent_done 102 default_agent102_rang_and_was_cancelled
wait $sa $sc
# ~5 s of talk at 50 packets/s each way.
at_least default_rtp_caller_to_agent "agent got" "$(sink_packets "$TMP/default.agent.sink")" 200
at_least default_rtp_agent_to_caller "caller got" "$(sink_packets "$TMP/default.caller.sink")" 200

# --- a recorded queue: the scenario's own "record", two channels -----------
# The document says "record": true, "record_channels": 2 (no node option):
# agent 101 answers, the caller (400 Hz) and the agent (600 Hz) talk 3 s.
# The stored WAV is stereo: the caller's tone on the left channel, the
# agent's on the right (each measured in the other tone's band too); the
# listing names the queue and the agent; its bytes are the tenant's.
rec_queue_case() {
	local list id l400 l600 r400 r600 n bytes used
	number_with $T 15552010 recq '{"start":"q","record":true,"record_channels":2,"nodes":{"q":{"type":"queue","options":{"queue":"line"},"outputs":{"timeout":"bye"}},"bye":{"type":"hangup","options":{"code":480}}}}' \
		>>"$TMP/provision.out" 2>&1 || {
		fail rec_queue_provision "$(tail -1 "$TMP/provision.out")"
		return
	}
	agent 101 answer 1 recq
	if caller recq 15552010 hangup 1 3000 &&
		grep -q sent-bye "$TMP/caller-recq.log"; then
		pass rec_queue_caller_reached_agent
	else fail rec_queue_caller_reached_agent "caller sipp failed"; fi
	agent_done 101 rec_queue_agent_answered_and_got_bye
	for n in $(seq 1 30); do
		list=$("$PBXCTL" rec list $T 2>&1)
		[ -n "$list" ] && break
		sleep 0.1
	done
	id=$(echo "$list" | awk 'NR == 1 {print $1}')
	if echo "$list" | grep -qE " to 15552010 ext 101 queue line stereo [0-9]+ bytes "; then
		pass rec_queue_listed_with_agent_queue_and_channels
	else fail rec_queue_listed_with_agent_queue_and_channels "list: $list"; fi
	"$PBXCTL" rec get $T "$id" >"$TMP/recq.wav" 2>"$TMP/recq.err" ||
		fail rec_queue_get "$(cat "$TMP/recq.err")"
	if soxi "$TMP/recq.wav" 2>&1 | grep -qE "Channels +: 2" &&
		soxi "$TMP/recq.wav" 2>&1 | grep -qE "Sample Rate +: 8000"; then
		pass rec_queue_wav_is_8khz_stereo
	else fail rec_queue_wav_is_8khz_stereo "$(soxi "$TMP/recq.wav" 2>&1)"; fi
	# From the agent's 200 OK to the caller's BYE: about 3 s.
	check_wav_seconds rec_queue_duration_is_the_bridge "$TMP/recq.wav" 2.5 4
	band() {
		sox "$TMP/recq.wav" -n remix "$1" sinc "$2" stat 2>&1 |
			sed -n 's/^RMS     amplitude: *\([0-9.]*\).*/\1/p'
	}
	l400=$(band 1 370-430)
	l600=$(band 1 570-630)
	r400=$(band 2 370-430)
	r600=$(band 2 570-630)
	echo "info: queue recording $id: left 400 Hz ${l400:-?} 600 Hz ${l600:-?}, right 400 Hz ${r400:-?} 600 Hz ${r600:-?}"
	if awk -v a="${l400:-0}" -v b="${l600:-1}" -v c="${r600:-0}" -v d="${r400:-1}" \
		'BEGIN { exit !(a > 0.05 && c > 0.05 && a > 10 * b && c > 10 * d) }'; then
		pass rec_queue_caller_left_agent_right
	else fail rec_queue_caller_left_agent_right "left 400/600 ${l400:-?}/${l600:-?}, right 400/600 ${r400:-?}/${r600:-?}"; fi
	bytes=$(wc -c <"$TMP/recq.wav")
	used=$(rcli GET "pbx:{$T}:rec:bytes" 2>/dev/null)
	if [ "$bytes" = "$used" ]; then pass rec_queue_bytes_counted
	else fail rec_queue_bytes_counted "file $bytes bytes, counted ${used:-?}"; fi
	"$PBXCTL" rec delete $T "$id" >/dev/null 2>&1
}
rec_queue_case

# --- 3 callers, 2 agents ------------------------------------------------------
# 101 talks 5 s per call and takes two; 102 talks 9 s. Callers 1 and 2
# are connected at once, caller 3 hears music and its position (1, in
# Russian: the tenant's language) until 101 hangs up, then talks to 101.
agent 101 hangup 2 three101 5000
agent 102 hangup 1 three102 9000
start_sink "${A_IP[101]}" "${A_RTP[101]}" "$TMP/three.101.sink"
s101=$SINK_PID
for n in 1 2 3; do
	if [ $n = 3 ]; then
		# What caller 3 hears in its first 3.5 s, kept as audio.
		rm -f "$TMP/three3.ready"
		"$SINK" $CALLER_IP 33006 3 5000 "$TMP/three3.ready" \
			"$TMP/three3.heard" >"$TMP/three3.moh.sink" &
		smoh=$!
		for _ in $(seq 50); do [ -e "$TMP/three3.ready" ] && break; sleep 0.05; done
	fi
	(caller three$n 15552002 wait $n; echo $? >"$TMP/three$n.rc") &
	eval "c$n=\$!"
	sleep 0.7
done
wait $smoh
start_sink $CALLER_IP 33006 "$TMP/three3.talk.sink"
s3=$SINK_PID
wait "$c1" "$c2" "$c3"
for n in 1 2 3; do
	if [ "$(cat "$TMP/three$n.rc")" = 0 ] &&
		grep -q got-bye "$TMP/caller-three$n.log"; then
		pass three_caller${n}_connected_until_agent_hung_up
	else fail three_caller${n}_connected_until_agent_hung_up "caller sipp failed"; fi
done
agent_done 101 three_agent101_took_two_calls
agent_done 102 three_agent102_took_one_call
wait $s101 $s3
at_least three_caller3_hears_moh_while_waiting "packets in 3 s" \
	"$(sink_packets "$TMP/three3.moh.sink")" 120
# "Ваш номер в очереди" "один" (the system sounds, Russian), then the
# music from its start again.
QS=$PBX_BUILD/services/media-worker
if audio_has "$TMP/three3.heard" - "$QS/qs_ru_q_position.alaw" \
	"$QS/qs_ru_num_1.alaw" >"$TMP/three3.said"; then
	pass three_caller3_hears_its_position_in_russian
else fail three_caller3_hears_its_position_in_russian "no 'q_position num_1' (ru) in $(wc -c <"$TMP/three3.heard") bytes heard"; fi
if head -c 1600 "$QS/moh_builtin.alaw" >"$TMP/moh.head" &&
	audio_has "$TMP/three3.heard" "$TMP/three3.said" "$TMP/moh.head" >/dev/null; then
	pass three_caller3_hears_music_after_the_announcement
else fail three_caller3_hears_music_after_the_announcement "no music after the announcement"; fi
at_least three_caller3_rtp_from_agent "packets" \
	"$(sink_packets "$TMP/three3.talk.sink")" 150
who101=$(sed -n 's/^answered //p' "$TMP/agent-three101.log" | sort | tr '\n' ' ')
who102=$(sed -n 's/^answered //p' "$TMP/agent-three102.log" | tr '\n' ' ')
case "$who101|$who102" in
"79990000101 79990000103 |79990000102 " | "79990000102 79990000103 |79990000101 ")
	pass three_caller3_went_to_the_first_free_agent ;;
*) fail three_caller3_went_to_the_first_free_agent "101 took '$who101', 102 '$who102'" ;;
esac
at_least three_rtp_callers_to_agent101 "agent 101 got" \
	"$(sink_packets "$TMP/three.101.sink")" 300

# carrier <name> [scenario] [keys...]: a SIPp carrier on the trunk's
# address takes calls in the background (CARRIER_PID; default
# out_carrier.xml: one call answered, its log $TMP/<name>.carrier.log).
carrier() {
	local name=$1 sf=${2:-out_carrier.xml}
	shift $(($# < 2 ? $# : 2))
	[ $# -gt 0 ] || set -- -m 1
	rm -f "$TMP/$name.carrier.log"
	(cd "$TMP" && exec timeout 60 sipp -sf "$SIPP_DIR/$sf" \
		-i $CARRIER -p 5060 -mi $CARRIER -mp 18000 -key rtp_port 32020 \
		-nostdin -trace_logs -log_file "$TMP/$name.carrier.log" \
		"$@" >>"$TMP/sipp.out" 2>&1) &
	CARRIER_PID=$!
	BG+=("$CARRIER_PID")
}

# carrier_got <check> <name> <regex>: the carrier (CARRIER_PID) took its
# call and ended well, and its INVITE matched regex ("ruri ... from ...").
carrier_got() {
	local rc
	wait "$CARRIER_PID"
	rc=$?
	if [ $rc = 0 ] && grep -qE "$3" "$TMP/$2.carrier.log"; then
		pass "$1"
	else fail "$1" "rc $rc: $(grep -m1 'ruri' "$TMP/$2.carrier.log")"; fi
}

# --- a mobile number as an agent, through the trunk (with max wait) ------------
# The queue lists {"mobile": "8 (916) 123-45-67"}: the carrier at the
# trunk's address gets the call for +79161234567 from the caller's
# number, answers, and talks with the caller 4 s (RTP counted both
# ways) until the caller hangs up. Meanwhile (in parallel) another
# caller waits in an empty queue until its max wait.
carrier mobile
start_sink $CARRIER 32020 "$TMP/mobile.carrier.sink"
smc=$SINK_PID
start_sink $CALLER_IP 33016 "$TMP/mobile.caller.sink"
smk=$SINK_PID
sleep 0.3
(caller mobile 15552008 hangup 8 5000; echo $? >"$TMP/mobile.rc") &
cm=$!
t0=$(now_ms)
if caller maxwait 15552003 wait 4 && grep -q got-bye "$TMP/caller-maxwait.log"; then
	el=$(($(now_ms) - t0))
	if [ $el -ge 3500 ] && [ $el -le 8000 ]; then
		pass max_wait_takes_the_timeout_route
	else fail max_wait_takes_the_timeout_route "ended after $el ms (max wait 4 s)"; fi
else fail max_wait_takes_the_timeout_route "caller sipp failed"; fi
wait $cm
if [ "$(cat "$TMP/mobile.rc")" = 0 ] && grep -q sent-bye "$TMP/caller-mobile.log"; then
	pass mobile_agent_caller_talked_and_hung_up
else fail mobile_agent_caller_talked_and_hung_up "caller sipp failed"; fi
carrier_got mobile_agent_carrier_got_the_number_from_the_caller mobile \
	"ruri \\+$MOBILE_AGENT from \\+?79990000108@"
wait $smc $smk
at_least mobile_agent_rtp_caller_to_carrier "carrier got" \
	"$(sink_packets "$TMP/mobile.carrier.sink")" 150
at_least mobile_agent_rtp_carrier_to_caller "caller got" \
	"$(sink_packets "$TMP/mobile.caller.sink")" 150
sleep 0.3
"$PBXCTL" queue stats $T mobile >"$TMP/mobile.stats" 2>&1
if grep -q "queue mobile agent +$MOBILE_AGENT: ready, calls 1, talk [3-6] s, missed 0" "$TMP/mobile.stats"; then
	pass mobile_agent_counted_and_ready_again
else fail mobile_agent_counted_and_ready_again "$(tr '\n' ';' <"$TMP/mobile.stats")"; fi

# --- an exit key leaves along its output -------------------------------------
# Key 2 one second in; its output plays a 2 s prompt and hangs up: the
# call ends long before the 30 s max wait.
rl=$(wc -l <"$PBX_RUN/router.log")
start_sink $CALLER_IP 33010 "$TMP/key.sink"
sk=$SINK_PID
t0=$(now_ms)
if caller key 15552004 key2 5 && grep -q got-bye "$TMP/caller-key.log"; then
	el=$(($(now_ms) - t0))
	if [ $el -le 8000 ]; then pass exit_key_leaves_along_its_output
	else fail exit_key_leaves_along_its_output "ended after $el ms"; fi
else fail exit_key_leaves_along_its_output "caller sipp failed"; fi
wait $sk
if tail -n +$((rl + 1)) "$PBX_RUN/router.log" | grep -q "exit key 2" &&
	tail -n +$((rl + 1)) "$PBX_RUN/router.log" | grep -q "node left:"; then
	pass exit_key_heard_by_the_router_node_left
else fail exit_key_heard_by_the_router_node_left "no 'exit key 2', node left in router.log"; fi
# ~1 s of music, then the 2 s prompt.
at_least exit_key_music_then_prompt "packets" "$(sink_packets "$TMP/key.sink")" 120

# --- a caller who hangs up while waiting is abandoned ---------------------------
if caller abandon 15552004 hangup 6 2000 && grep -q sent-bye "$TMP/caller-abandon.log"; then
	pass abandon_caller_hangs_up_while_waiting
else fail abandon_caller_hangs_up_while_waiting "caller sipp failed"; fi

# --- an agent that does not answer is skipped, then auto-paused -----------------
# linear: 101 first, for 5 s; it only rings, so each call goes on to 102
# (which talks 1.5 s and hangs up). After 3 misses in a row (max_missed)
# 101 is paused and a 4th call rings 102 only.
agent 101 noanswer 3 noans101
agent 102 hangup 4 noans102 1500
for n in 1 2 3 4; do
	if caller noans$n 15552005 wait 7 && grep -q got-bye "$TMP/caller-noans$n.log"; then
		pass skip_call${n}_answered_by_102
	else fail skip_call${n}_answered_by_102 "caller sipp failed"; fi
done
agent_done 101 skip_agent101_rang_three_times_and_was_cancelled
agent_done 102 skip_agent102_answered_four_calls
n101=$(grep -c '^cancelled' "$TMP/agent-noans101.log")
if [ "$n101" = 3 ]; then pass skip_agent101_offered_only_until_paused
else fail skip_agent101_offered_only_until_paused "101 rang $n101 times"; fi
"$PBXCTL" queue stats $T line >"$TMP/line.stats" 2>&1
if grep -q "agent 101: paused (auto" "$TMP/line.stats"; then
	pass skip_agent101_auto_paused
else fail skip_agent101_auto_paused "$(grep 'agent 101' "$TMP/line.stats")"; fi
"$PBXCTL" queue agent resume $T 101 >/dev/null

# --- max wait while an agent rings: the ring is cancelled -----------------------
agent 102 noanswer 1 slow
if caller slow 15552006 wait 8 && grep -q got-bye "$TMP/caller-slow.log"; then
	pass ringing_max_wait_takes_the_timeout_route
else fail ringing_max_wait_takes_the_timeout_route "caller sipp failed"; fi
agent_done 102 ringing_max_wait_cancels_the_agents_ring
sleep 0.5
"$PBXCTL" queue stats $T slow >"$TMP/slow.stats" 2>&1
if grep -q "agent 102: ready" "$TMP/slow.stats"; then
	pass ringing_max_wait_agent_ready_again
else fail ringing_max_wait_agent_ready_again "$(grep 'agent 102' "$TMP/slow.stats")"; fi

# --- no agent logged in: no_agents (join_empty false) ----------------------------
rl=$(wc -l <"$PBX_RUN/router.log")
"$PBXCTL" queue agent logout $T 102 >/dev/null
if caller closed 15552007 wait 9 && grep -q got-bye "$TMP/caller-closed.log" &&
	tail -n +$((rl + 1)) "$PBX_RUN/router.log" | grep -q "node none:"; then
	pass no_agents_takes_its_output
else fail no_agents_takes_its_output "caller sipp failed or no 'node none' in router.log"; fi
"$PBXCTL" queue agent login $T 102 >/dev/null

# --- call-back exit ----------------------------------------------------------------
# Nobody is free (101 paused); caller 9 presses 2 (the callback key),
# hears the confirmation and is hung up. 101 is resumed: the PBX calls
# 101 first (it answers, shown the caller's number), then the caller's
# number through the trunk (the carrier answers): RTP both ways between
# them until 101 hangs up.
cb_wait() { # cb_wait <name> <n>: the caller asks for a call-back
	local rl t0 el
	rl=$(wc -l <"$PBX_RUN/router.log")
	t0=$(now_ms)
	if caller "$1" 15552009 key2 "$2" && grep -q got-bye "$TMP/caller-$1.log" &&
		tail -n +$((rl + 1)) "$PBX_RUN/router.log" | grep -q "call-back asked (key 2)"; then
		el=$(($(now_ms) - t0))
		pass "$1_callback_asked_confirmed_and_hung_up"
	else fail "$1_callback_asked_confirmed_and_hung_up" "caller sipp failed or no 'call-back asked' in router.log"; fi
}
"$PBXCTL" queue agent pause $T 101 >/dev/null
start_sink $CALLER_IP 33018 "$TMP/cb1.caller.sink"
scb=$SINK_PID
cb_wait cb1 9
wait $scb
# The confirmation (a few seconds of speech) reached the caller.
at_least cb1_caller_heard_the_confirmation "packets" "$(sink_packets "$TMP/cb1.caller.sink")" 60
carrier cb1
agent 101 hangup 1 cb1 4000
start_sink $CARRIER 32020 "$TMP/cb1.carrier.sink"
scc=$SINK_PID
start_sink "${A_IP[101]}" "${A_RTP[101]}" "$TMP/cb1.agent.sink"
sca=$SINK_PID
"$PBXCTL" queue agent resume $T 101 >/dev/null
agent_done 101 cb1_agent_called_first_answered_and_hung_up
if grep -q "^answered 79990000109" "$TMP/agent-cb1.log"; then
	pass cb1_agent_shown_the_callers_number
else fail cb1_agent_shown_the_callers_number "$(grep -m1 answered "$TMP/agent-cb1.log")"; fi
carrier_got cb1_then_the_caller_called_through_the_trunk cb1 \
	"ruri \\+79990000109 from"
wait $scc $sca
at_least cb1_rtp_agent_to_caller "carrier got" "$(sink_packets "$TMP/cb1.carrier.sink")" 120
at_least cb1_rtp_caller_to_agent "agent got" "$(sink_packets "$TMP/cb1.agent.sink")" 120

# A call-back whose caller does not answer (the carrier says busy) frees
# the agent, is tried again after callback_retry_interval (5 s) from its
# place, then given up (callback_retries 1): the agent answered twice.
"$PBXCTL" queue agent pause $T 101 >/dev/null
cb_wait cb2 10
carrier cb2 people_callee.xml -key ext x -key mode busy -m 2
agent 101 answer 2 cb2
t0=$(now_ms)
"$PBXCTL" queue agent resume $T 101 >/dev/null
agent_done 101 cb2_agent_called_twice
el=$(($(now_ms) - t0))
if wait "$CARRIER_PID"; then pass cb2_caller_busy_twice
else fail cb2_caller_busy_twice "carrier sipp failed"; fi
if [ $el -ge 4500 ]; then pass cb2_retried_after_the_interval
else fail cb2_retried_after_the_interval "both tries within $el ms"; fi
sleep 0.3
"$PBXCTL" queue stats $T cbq >"$TMP/cbq.stats" 2>&1
if grep -q "call-backs 2 (connected 1, tries failed 2, given up 1, expired 0)" "$TMP/cbq.stats" &&
	grep -q "queue cbq agent 101: ready, calls 1, talk [3-6] s, missed 0" "$TMP/cbq.stats"; then
	pass callback_statistics
else fail callback_statistics "$(tr '\n' ';' <"$TMP/cbq.stats")"; fi

# --- statistics ------------------------------------------------------------------
"$PBXCTL" queue stats $T >"$TMP/stats.out" 2>&1
a=$(stat sales answered)
if [ "${a:-0}" = 3 ]; then pass stats_sales_answered
else fail stats_sales_answered "answered ${a:-?} (want 3): $(head -1 "$TMP/stats.out")"; fi
a=$(stat default answered)
if [ "${a:-0}" = 1 ]; then pass stats_default_answered
else fail stats_default_answered "answered ${a:-?} (want 1)"; fi
if grep -q "queue default agent 101: ready, calls 1, talk [45] s, missed 0" "$TMP/stats.out" &&
	grep -q "queue default agent 102: ready, calls 0, talk 0 s, missed 0" "$TMP/stats.out"; then
	pass stats_default_agents_ring_all_cancel_is_no_miss
else fail stats_default_agents_ring_all_cancel_is_no_miss "$(grep 'queue default agent' "$TMP/stats.out" | tr '\n' ';')"; fi
a=$(stat empty abandoned)
if [ "${a:-0}" = 1 ]; then pass stats_empty_abandoned
else fail stats_empty_abandoned "abandoned ${a:-?} (want 1): $(grep 'queue empty:' "$TMP/stats.out")"; fi
a=$(stat empty "timed out")
if [ "${a:-0}" = 1 ]; then pass stats_empty_timed_out
else fail stats_empty_timed_out "timed out ${a:-?} (want 1)"; fi

# Every cancelled ring ended cleanly: the worker matched (and ACKed) each
# final response the edge relayed, 487s included (libre prints responses
# it cannot match). A provisional one (180) that UDP delivers after its
# transaction's final answer has nothing left to match and changes
# nothing: not counted.
unmatched=$(grep "unhandeled response" "$PBX_RUN/mw1.log" | grep -vE ': 1[0-9][0-9] ')
if [ -n "$unmatched" ]; then
	fail worker_matched_every_sip_response "$(echo "$unmatched" | wc -l) unmatched, e.g. $(echo "$unmatched" | head -1)"
else pass worker_matched_every_sip_response; fi

"$PBXCTL" tenant delete $T >/dev/null 2>&1
"$PBXCTL" trunk remove q-carrier >/dev/null 2>&1
"$STACK" stop
sanitizer_clean queue_services_clean_under_sanitizers "$PBX_RUN"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
