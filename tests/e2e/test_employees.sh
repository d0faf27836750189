#!/usr/bin/env bash
# End-to-end: what an office phone expects beyond calls (issue 16 items
# 3 and 4): do-not-disturb and call forwarding (always / busy / no
# answer, to an extension or an outside number), set with pbxctl and
# with feature codes. The whole stack; SIPp phones register extensions
# 101, 102, 103 with digest auth through Kamailio; a SIPp carrier on an
# outside address (198.51.100.9, the tenant's trunk) takes forwarded
# calls. Asserts what reached the phones: SIP answers (486 for a DND
# extension, 482 for a forwarding loop, the policy's 403), who got the
# INVITE and from whom, RTP counted both ways on forwarded calls, the
# confirmation prompt of a feature code (RTP) and the setting it stored.
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
own_netns "$ROOT/tests/e2e/test_employees.sh" "$@"
. "$ROOT/tests/e2e/lib.sh"
e2e_env employees
CALLER_IP=127.0.0.3 # an outside caller (a number's scenario)
IP101=127.0.0.4
IP102=127.0.0.5
IP103=127.0.0.6
CARRIER=198.51.100.9
T=empl
DOMAIN=empl.pbx.local
PW101=first-Hq7-pw-desk
PW102=second-Kd2-pw-desk
PW103=third-Vx9-pw-desk
PW105=fifth-Rb4-pw-desk
OWN=74951240000 # the tenant's number (caller ID, and a scenario)
OKEY="pbx:{$T}:outbound"

ip addr add "$CARRIER/32" dev lo 2>/dev/null

e2e_stack_with_bg
# The phones' audio: tones both ways (bridged calls), silence for the
# feature codes.
e2e_tones
sox -n -r 8000 -c 1 -t ul "$TMP/silence.ul" trim 0 1 2>/dev/null

# A number whose scenario rings 102: its busy output answers 600, so the
# caller sees which output the subscriber node took.
SCEN='{"start":"r","nodes":{"r":{"type":"subscriber","options":{"kind":"internal","target":"102","timeout":10},"outputs":{"busy":"b","no_answer":"n","unavailable":"n"}},"b":{"type":"hangup","options":{"code":600}},"n":{"type":"hangup","options":{"code":480}}}}'
{
	"$PBXCTL" tenant create $T --domain $DOMAIN &&
	"$PBXCTL" ext add $T 101 "$PW101" &&
	"$PBXCTL" ext add $T 102 "$PW102" &&
	"$PBXCTL" ext add $T 103 "$PW103" &&
	"$PBXCTL" ext add $T 104 "$PW103" &&
	"$PBXCTL" ext add $T 105 "$PW105" &&
	number_with $T $OWN ring102 "$SCEN" &&
	"$PBXCTL" outbound set $T --caller-id $OWN &&
	"$PBXCTL" trunk add empl-carrier $CARRIER:5060 --format e164
} >"$TMP/setup.log" 2>&1 && pass tenant_trunk_provisioned ||
	fail tenant_trunk_provisioned "$(tail -3 "$TMP/setup.log")"

if phone_register 102 "$PW102" $DOMAIN $IP102 5095 &&
	phone_register 103 "$PW103" $DOMAIN $IP103 5096; then
	pass phones_register
else
	fail phones_register "no 200 to REGISTER"
fi

# callee <ext> <mode> <name>: the registered phone of ext (102 or 103)
# takes one INVITE in the background (people_callee.xml: answer with
# RTP to port 320<ext>, busy, noanswer); its pid in CALLEE_<ext>.
callee() {
	local ip=$IP102 port=5095
	[ "$1" = 103 ] && ip=$IP103 port=5096
	rm -f "$TMP/$3.$1.log"
	(cd "$TMP" && exec timeout 40 sipp -sf "$SIPP_DIR/people_callee.xml" \
		-i $ip -p $port -mi $ip -mp "18$1" -key ext "$1" \
		-key rtp_port "320$1" -key mode "$2" -m 1 -nostdin \
		-trace_logs -log_file "$TMP/$3.$1.log" >>"$TMP/sipp.out" 2>&1) &
	eval "CALLEE_$1=$!"
	BG+=("$!")
	sleep 0.3
}

# dial <name> <number> <expect> [hold ms]: 101 dials number; 0 when the
# final answer is expect. Its log (got N (reason)) in $TMP/<name>.log.
# DIAL_PORT / DIAL_RTP / DIAL_MP: its ports, for a second call of 101 at
# the same time.
dial() {
	(cd "$TMP" && timeout 60 sipp -sf "$SIPP_DIR/out_phone.xml" -s "$2" \
		-key user 101 -key domain $DOMAIN -key expect "$3" \
		-key rtp_port "${DIAL_RTP:-32101}" -au 101 -ap "$PW101" \
		-i $IP101 -p "${DIAL_PORT:-5097}" -mi $IP101 \
		-mp "${DIAL_MP:-16000}" -d "${4:-500}" -m 1 -nostdin \
		-trace_logs -log_file "$TMP/$1.log" 127.0.0.1:5060 \
		>>"$TMP/sipp.out" 2>&1)
}
got() { grep -m1 -o 'got [0-9]* ([^)]*)' "$TMP/$1.log"; }

# refused <name> <number> <code> <reason regex>
refused() {
	if dial "$1" "$2" "$3" && grep -qE "got $3(\.0+)? \($4" "$TMP/$1.log"
	then pass "$1"; else fail "$1" "$(got "$1")"; fi
}

# rtp_both <name> <sink a> <sink b>: ~3 s of audio each way.
rtp_both() {
	local a b
	a=$(sink_packets "$2")
	b=$(sink_packets "$3")
	if [ "${a:-0}" -ge 100 ] && [ "${b:-0}" -ge 100 ]; then pass "$1"
	else fail "$1" "packets ${a:-0} / ${b:-0}"; fi
}

# forwarded <name> <target ext> [<ext 102's mode>]: 101 dials 102, the
# call ends up at target (answered, RTP both ways, INVITE from 101).
forwarded() {
	local name=$1 to=$2 sa sb rc
	[ -n "${3:-}" ] && callee 102 "$3" "$name"
	callee "$to" answer "$name"
	start_sink $IP101 32101 "$TMP/$name.a.sink"
	sa=$SINK_PID
	start_sink "$([ "$to" = 103 ] && echo $IP103 || echo $IP102)" \
		"320$to" "$TMP/$name.b.sink"
	sb=$SINK_PID
	if dial "$name" 102 200 3000; then pass "${name}_answered"
	else fail "${name}_answered" "$(got "$name")"; fi
	eval "wait \$CALLEE_$to"
	rc=$?
	if [ $rc = 0 ] && grep -q "invite-from 101" "$TMP/$name.$to.log"; then
		pass "${name}_${to}_rang_with_caller_101"
	else fail "${name}_${to}_rang_with_caller_101" "sipp $rc"; fi
	if [ -n "${3:-}" ]; then
		wait "$CALLEE_102" && pass "${name}_102_saw_${3}" ||
			fail "${name}_102_saw_${3}" "102's sipp failed"
	fi
	wait "$sa" "$sb"
	rtp_both "${name}_rtp_both_ways" "$TMP/$name.a.sink" "$TMP/$name.b.sink"
}

# code <name> <code>: 105 dials a feature code, hears the confirmation
# (RTP counted) and gets the PBX's BYE.
code() {
	local rc pk
	start_sink $IP102 32205 "$TMP/$1.sink"
	(cd "$TMP" && timeout 30 sipp -sf "$SIPP_DIR/vm_phone.xml" -s "$2" \
		-key user 105 -key domain $DOMAIN -key rtp_port 32205 \
		-key mode none -key wait 0 -au 105 -ap "$PW105" -i $IP102 \
		-p 5106 -mp 31700 -m 1 -nostdin 127.0.0.1:5060 \
		>>"$TMP/sipp.out" 2>&1)
	rc=$?
	wait "$SINK_PID"
	pk=$(sink_packets "$TMP/$1.sink")
	if [ $rc = 0 ] && [ "${pk:-0}" -ge 50 ]; then pass "$1_confirmed"
	else fail "$1_confirmed" "sipp $rc, ${pk:-0} packets"; fi
}
field() { rcli HGET "$OKEY" "ext:$1:$2"; }

# outside: forwarding of extension 104 to outside numbers, while 102's
# calls go on (101 dials from other ports). Its PASS/FAIL lines go to
# $TMP/outside.res, counted by replay.
outside() {
	local sa sb rc carrier
	export DIAL_PORT=5098 DIAL_RTP=32111 DIAL_MP=16100
	# Always to an outside number: out through the trunk, with the tenant's
	# number as caller ID, RTP both ways.
	"$PBXCTL" ext set $T 104 --fwd-always "8 916 123-45-67" >/dev/null
	rm -f "$TMP/out.carrier.log"
	(cd "$TMP" && exec timeout 40 sipp -sf "$SIPP_DIR/out_carrier.xml" \
		-i $CARRIER -p 5060 -mi $CARRIER -mp 18000 -key rtp_port 32020 \
		-m 1 -nostdin -trace_logs -log_file "$TMP/out.carrier.log" \
		>>"$TMP/sipp.out" 2>&1) &
	carrier=$!
	BG+=("$carrier")
	sleep 0.3
	start_sink $IP101 32111 "$TMP/out.a.sink"
	sa=$SINK_PID
	start_sink $CARRIER 32020 "$TMP/out.b.sink"
	sb=$SINK_PID
	if dial out 104 200 3000; then pass fwd_outside_answered
	else fail fwd_outside_answered "$(got out)"; fi
	wait "$carrier"
	rc=$?
	if [ $rc = 0 ] && grep -qF "ruri +79161234567 from +$OWN@" "$TMP/out.carrier.log"
	then pass fwd_outside_carrier_got_number_and_caller_id
	else fail fwd_outside_carrier_got_number_and_caller_id \
		"sipp $rc: $(grep -m1 ruri "$TMP/out.carrier.log")"; fi
	wait "$sa" "$sb"
	rtp_both fwd_outside_rtp_both_ways "$TMP/out.a.sink" "$TMP/out.b.sink"
	if [ "$(rcli ZCARD "pbx:{$T}:out:legs")" = 0 ]; then
		pass fwd_outside_counted_and_released
	else fail fwd_outside_counted_and_released "$(rcli ZRANGE "pbx:{$T}:out:legs" 0 -1)"; fi

	# The outbound policy applies: international is off by default.
	"$PBXCTL" ext set $T 104 --fwd-always +442079460958 >/dev/null
	refused fwd_outside_policy_refused 104 403 \
		"Forbidden \(international calls not allowed"
	"$PBXCTL" ext set $T 104 --fwd-always none >/dev/null
}
# codes: extension 105 sets its own settings with feature codes, while
# the other calls go on. Lines to $TMP/codes.res (replay).
codes() {
	code dnd_toggle_on '*78'
	if [ "$(field 105 dnd)" = 1 ]; then pass dnd_on_by_code_stored
	else fail dnd_on_by_code_stored "dnd '$(field 105 dnd)'"; fi
	code dnd_toggle_off '*78'
	if [ "$(field 105 dnd)" = 0 ]; then pass dnd_off_by_code_stored
	else fail dnd_off_by_code_stored "dnd '$(field 105 dnd)'"; fi
	code fwd_always_by_code '*72103'
	if [ "$(field 105 fwd_always)" = 103 ]; then pass fwd_always_code_stored
	else fail fwd_always_code_stored "fwd_always '$(field 105 fwd_always)'"; fi
	code fwd_noanswer_by_code '*9289161234567'
	if [ "$(field 105 fwd_noanswer)" = 79161234567 ]; then
		pass fwd_noanswer_code_stored_canonical
	else fail fwd_noanswer_code_stored_canonical \
		"fwd_noanswer '$(field 105 fwd_noanswer)'"; fi
	code fwd_cancel_by_code '*73'
	if [ -z "$(field 105 fwd_always)" ]; then pass fwd_always_code_cancelled
	else fail fwd_always_code_cancelled "fwd_always '$(field 105 fwd_always)'"; fi
	# The same settings pbxctl shows.
	if "$PBXCTL" ext set $T 105 | grep -qx "fwd_noanswer 79161234567"; then
		pass code_settings_shown_by_pbxctl
	else fail code_settings_shown_by_pbxctl "not shown"; fi
}

# replay <file>: the PASS/FAIL lines a background block wrote.
replay() {
	local l
	while read -r l; do
		case $l in
		PASS*) pass "${l#PASS }" ;;
		FAIL*) l=${l#FAIL }; fail "${l%% *}" "${l#* }" ;;
		esac
	done <"$1"
}

# --- settings: checked, shown ------------------------------------------------
if ! "$PBXCTL" ext set $T 102 --fwd-always 102 >"$TMP/v1" 2>&1 &&
	grep -q "cannot forward to itself" "$TMP/v1" &&
	! "$PBXCTL" ext set $T 102 --fwd-timeout 2 >/dev/null 2>&1 &&
	! "$PBXCTL" ext set $T 102 --dnd maybe >/dev/null 2>&1 &&
	! "$PBXCTL" ext set $T 102 --fwd-busy "12ab" >/dev/null 2>&1 &&
	! "$PBXCTL" ext set $T 109 --dnd on >/dev/null 2>&1; then
	pass bad_settings_refused
else fail bad_settings_refused "$(cat "$TMP/v1")"; fi
if "$PBXCTL" ext set $T 102 --dnd on | grep -qx "dnd on"; then
	pass dnd_set_by_pbxctl
else fail dnd_set_by_pbxctl "not shown as on"; fi

# --- do not disturb ------------------------------------------------------------
codes >"$TMP/codes.res" 2>&1 &
codes_pid=$!
refused dnd_colleague_gets_busy 102 486 "Busy Here"
# A scenario's subscriber node: its busy output (600 here).
expect_code dnd_scenario_takes_busy_output $OWN 600 5101

# watch <name> <ext> <answer> [domain]: 103's phone watches ext@domain
# (busy lamp field) until no NOTIFY comes for 5 s; 0 when the SUBSCRIBE
# got answer. Its log ("got N",
# "notify <state> ...") in $TMP/<name>.log.
watch() {
	(cd "$TMP" && timeout 30 sipp -sf "$SIPP_DIR/blf_watch.xml" -s "$2" \
		-key user 103 -key domain $DOMAIN -key rdomain "${4:-$DOMAIN}" \
		-au 103 -ap "$PW103" -i $IP103 -p 5107 -m 1 -nostdin \
		-trace_logs -log_file "$TMP/$1.log" 127.0.0.1:5060 \
		>>"$TMP/sipp.out" 2>&1)
	# SIPp counts a watch that ends by its 5 s of silence as failed
	# (exit 1): what it logged is the result.
	[ $? -le 1 ] && grep -q "got $3\b" "$TMP/$1.log"
}
# states <log>: the dialog states its NOTIFYs carried, in order.
states() { sed -n 's/^.*notify \([a-z]*\) .*$/\1/p' "$1" | tr '\n' ' '; }

# --- busy lamp field -------------------------------------------------------------
# Only a colleague of the same tenant, and only an extension.
if watch blf_other_domain 102 403 other.pbx.local &&
	watch blf_no_such_ext 199 404; then
	pass blf_refuses_other_domains_and_unknown_extensions
else fail blf_refuses_other_domains_and_unknown_extensions \
	"$(grep -h 'got' "$TMP"/blf_other_domain.log "$TMP"/blf_no_such_ext.log | tr '\n' ' ')"; fi

# Off again: the phone rings; 103 watches 102 meanwhile and sees the
# call ring, get answered and end.
"$PBXCTL" ext set $T 102 --dnd off >/dev/null
watch blf_watch 102 200 &
watcher=$!
sleep 1
callee 102 answer plain
if dial plain 102 200 1000 && wait "$CALLEE_102"; then
	pass dnd_off_phone_answers
else fail dnd_off_phone_answers "$(got plain)"; fi
"$PBXCTL" ext set $T 102 --dnd on >/dev/null

# --- forwarding ------------------------------------------------------------------
# Busy (DND counts as busy) to a colleague.
"$PBXCTL" ext set $T 102 --fwd-busy 103 >/dev/null
forwarded fwd_busy_to_103 103
# The watcher saw 102's call (it stops after 5 s without NOTIFY).
wait "$watcher"
rc=$?
st=$(states "$TMP/blf_watch.log")
if [ $rc = 0 ] && echo "$st" | grep -qE "^terminated early .*confirmed .*terminated"; then
	pass blf_notify_shows_early_confirmed_terminated
else fail blf_notify_shows_early_confirmed_terminated "sipp $rc, states: $st"; fi

# No answer after 5 s: 102 rings, is cancelled, 103 answers.
"$PBXCTL" ext set $T 102 --dnd off --fwd-busy none --fwd-noanswer 103 \
	--fwd-timeout 5 >/dev/null
outside >"$TMP/outside.res" 2>&1 &
outside_pid=$!
forwarded fwd_noanswer_to_103 103 noanswer
"$PBXCTL" ext set $T 102 --fwd-noanswer none >/dev/null

# Always.
"$PBXCTL" ext set $T 102 --fwd-always 103 >/dev/null
forwarded fwd_always_to_103 103
refused fwd_code_without_number '*72' 484 "Address Incomplete"

# A loop 102 -> 103 -> 102 stops with 482.
"$PBXCTL" ext set $T 103 --fwd-always 102 >/dev/null
refused fwd_loop_refused 102 482 "Loop Detected"
"$PBXCTL" ext set $T 103 --fwd-always none >/dev/null

wait "$outside_pid" "$codes_pid"
replay "$TMP/outside.res"
replay "$TMP/codes.res"

"$PBXCTL" trunk remove empl-carrier >/dev/null 2>&1
e2e_finish $T
