#!/usr/bin/env bash
# End-to-end conference rooms: starts the whole stack (stack.sh, two media
# workers), provisions a tenant with three numbers: a dedicated number whose
# scenario is just an open room of max_members 3, one into a room with a
# PIN, and an IVR whose digit 2 leads into the open room. Three SIPp
# callers (tests/sipp/queue_caller.xml, each from its own directory so each
# streams its own caller.wav: 400, 700 and 1000 Hz, A-law) join the open
# room; while all three are in, an rtp_sink on each caller's RTP port keeps
# what it hears, and sox measures the energy around each tone: each hears
# the other two and not its own. A fourth caller is refused (room full:
# conf_full, then BYE) while the room stays at three; a caller that sends
# a wrong PIN three times (in-band DTMF) gets BYE; one reaching the room
# through the IVR digit joins the member already in; one dials the PIN
# room's number (55) in a menu with room_dialing, then its PIN (in-band),
# and joins it. Checks the room's
# members (pbxctl conf list / members) and pbxctl conf mute / kick of a
# member, and that another tenant cannot kick it. Across workers: a menu
# caller placed on the worker that does not hold the room joins through a
# cascade leg (its worker rings the room's through Kamailio): both hear
# each other's tone, a mute and a kick of the leg reach it, the caller's
# hang-up ends the leg, and killing the room's worker ends the caller.
#
# Environment: PBX_BUILD (a build dir, required). Prints "PASS <name>" /
# "FAIL <name> <why>" per check and a last line "N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/e2e/lib.sh"
e2e_env conf
# Two workers: a menu caller that lands on the worker without the room
# joins it through a cascade leg (the last section).
export PBX_WORKERS=2
T=e2econf
CALLER_IP=127.0.0.2
N_OPEN=15550401
N_PIN=15550402
N_MENU=15550403
N_DIRECT=15550404
HZ=(400 700 1000 550)

cleanup() {
	jobs -p | xargs -r kill 2>/dev/null
	"$STACK" stop >/dev/null 2>&1
}
trap cleanup EXIT
stack_up

# --- audio ----------------------------------------------------------------
for i in 0 1 2 3; do
	mkdir -p "$TMP/c$i"
	sox -n -r 8000 -c 1 -e a-law "$TMP/c$i/caller.wav" \
		synth 30 sine "${HZ[$i]}" vol 0.3 2>/dev/null
done
# DTMF "1#" three times (in-band, A-law), a second apart: wrong PINs.
dtmf() { sox -n -r 8000 -c 1 -e a-law "$2" synth 0.15 sine "${1% *}" \
	sine "${1#* }" remix - vol 0.3 2>/dev/null; }
mkdir -p "$TMP/pin"
dtmf "697 1209" "$TMP/k1.wav"
dtmf "941 1477" "$TMP/kh.wav"
sox -n -r 8000 -c 1 -e a-law "$TMP/gap.wav" trim 0 1 2>/dev/null
sox -n -r 8000 -c 1 -e a-law "$TMP/short.wav" trim 0 0.15 2>/dev/null
sox "$TMP/gap.wav" "$TMP/k1.wav" "$TMP/short.wav" "$TMP/kh.wav" \
	"$TMP/gap.wav" "$TMP/k1.wav" "$TMP/short.wav" "$TMP/kh.wav" \
	"$TMP/gap.wav" "$TMP/k1.wav" "$TMP/short.wav" "$TMP/kh.wav" \
	"$TMP/gap.wav" "$TMP/gap.wav" "$TMP/gap.wav" "$TMP/gap.wav" \
	"$TMP/gap.wav" "$TMP/gap.wav" "$TMP/gap.wav" "$TMP/gap.wav" \
	-e a-law "$TMP/pin/caller.wav" 2>/dev/null

sox -n -r 8000 -c 1 -b 16 "$TMP/menu.wav" synth 1 sine 660 2>/dev/null

# The room's number 55 dialled in the menu, then its PIN 4321# (in-band),
# then a 550 Hz tone.
mkdir -p "$TMP/direct"
dtmf "770 1336" "$TMP/k5.wav"
dtmf "770 1209" "$TMP/k4.wav"
dtmf "697 1477" "$TMP/k3.wav"
dtmf "697 1336" "$TMP/k2.wav"
sox -n -r 8000 -c 1 -e a-law "$TMP/tone.wav" synth 20 sine 550 vol 0.3 \
	2>/dev/null
sox "$TMP/gap.wav" "$TMP/k5.wav" "$TMP/short.wav" "$TMP/k5.wav" \
	"$TMP/gap.wav" "$TMP/gap.wav" "$TMP/k4.wav" "$TMP/short.wav" \
	"$TMP/k3.wav" "$TMP/short.wav" "$TMP/k2.wav" "$TMP/short.wav" \
	"$TMP/k1.wav" "$TMP/short.wav" "$TMP/kh.wav" "$TMP/short.wav" \
	"$TMP/tone.wav" -e a-law "$TMP/direct/caller.wav" 2>/dev/null

# --- provisioning ----------------------------------------------------------
prov_ok=1
{
	"$PBXCTL" tenant delete $T
	"$PBXCTL" tenant create $T &&
		echo '{"max_members":3}' |
		"$PBXCTL" object put $T conference open - &&
		echo '{"pin":"4321","pin_retries":3,"number":"55"}' |
		"$PBXCTL" object put $T conference locked - &&
		number_with $T $N_OPEN open \
			'{"start":"c","nodes":{"c":{"type":"conference","options":{"room":"open"}}}}' &&
		number_with $T $N_PIN locked \
			'{"start":"c","nodes":{"c":{"type":"conference","options":{"room":"locked"}}}}' &&
		"$PBXCTL" prompt upload $T menu "$TMP/menu.wav" &&
		number_with $T $N_MENU menu \
			'{"start":"m","nodes":{"m":{"type":"ivr","options":{"prompt":"menu","timeout":10,"retries":0},"outputs":{"digit:2":"c","timeout":"h"}},"c":{"type":"conference","options":{"room":"open"}},"h":{"type":"hangup"}}}' &&
		number_with $T $N_DIRECT direct \
			'{"start":"m","nodes":{"m":{"type":"ivr","options":{"prompt":"menu","timeout":10,"retries":0,"room_dialing":true,"extension_max_len":2},"outputs":{"timeout":"h","invalid":"h"}},"h":{"type":"hangup"}}}'
} >"$TMP/provision.out" 2>&1 || prov_ok=0
if [ $prov_ok = 1 ]; then pass provision_conference_tenant; else
	fail provision_conference_tenant "$(tail -1 "$TMP/provision.out")"
fi

# member <i> <number> <mode> <hold ms>: caller i from $TMP/c<i> (or the
# directory in DIR), local port 5130+i, RTP port 34000+2i, in the
# background; its pid in MPID[i].
declare -A MPID
member() {
	local dir=${DIR:-$TMP/c$1}
	(cd "$dir" && exec timeout 60 sipp -sf "$SIPP_DIR/queue_caller.xml" \
		-s "$2" -i $CALLER_IP -p $((5130 + $1)) -mi $CALLER_IP \
		-mp $((18000 + $1 * 10)) -key caller "7999000040$1" \
		-key rtp_port $((34000 + $1 * 2)) -key mode "$3" -d "$4" \
		-m 1 -nostdin -trace_logs -log_file "$TMP/member$1.log" \
		127.0.0.1:5060 >>"$TMP/sipp.out" 2>&1) &
	MPID[$1]=$!
}

members_in() { rcli HLEN "pbx:{$T}:conf:members:$1"; }
# wait_members <room> <n>: up to 5 s for the room's member list to be n.
wait_members() {
	for _ in $(seq 50); do
		[ "$(members_in "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# band <file> <hz>: RMS of the A-law audio in a 60 Hz band around hz.
band() {
	sox -t al -r 8000 -c 1 "$1" -n sinc $(($2 - 30))-$(($2 + 30)) stat \
		2>&1 | sed -n 's/^RMS     amplitude: *\([0-9.]*\).*/\1/p'
}

# --- three members hear each other, not themselves --------------------------
member 0 $N_OPEN hangup 12000
sleep 1
member 1 $N_OPEN hangup 11000
sleep 1
member 2 $N_OPEN hangup 10000
if wait_members open 3; then pass three_callers_join_the_room
else fail three_callers_join_the_room "members: $(members_in open)"; fi
sleep 3 # the last joiner's count ("There are three participants...")
for i in 0 1 2; do
	"$SINK" $CALLER_IP $((34000 + i * 2)) 3 1000 "" "$TMP/heard$i.al" \
		>"$TMP/sink$i.out" &
	SPID[$i]=$!
done

# --- the fourth caller of a max_members 3 room is refused -------------------
DIR=$TMP/c3 member 3 $N_OPEN wait 0
wait "${MPID[3]}"
rc=$?
if [ $rc = 0 ] && grep -q got-bye "$TMP/member3.log"; then
	pass fourth_caller_is_refused_with_bye
else fail fourth_caller_is_refused_with_bye "sipp exit $rc"; fi
if [ "$(members_in open)" = 3 ]; then pass room_stays_at_three
else fail room_stays_at_three "members: $(members_in open)"; fi
if grep -q "conference open: full" "$PBX_RUN/router.log"; then
	pass router_logs_room_full
else fail router_logs_room_full "no 'full' line in router.log"; fi

for i in 0 1 2; do wait "${SPID[$i]}"; done
for i in 0 1 2; do
	pk=$(sink_packets "$TMP/sink$i.out")
	line=""
	ok=1
	for j in 0 1 2; do
		r=$(band "$TMP/heard$i.al" "${HZ[$j]}")
		line="$line ${HZ[$j]}Hz=${r:-?}"
		if [ "$i" = "$j" ]; then
			awk -v r="${r:-1}" 'BEGIN { exit !(r < 0.01) }' || ok=0
		else
			awk -v r="${r:-0}" 'BEGIN { exit !(r > 0.05) }' || ok=0
		fi
	done
	echo "info: member $i heard ($pk packets):$line"
	if [ "$pk" -ge 100 ] && [ $ok = 1 ]; then
		pass "member${i}_hears_the_others_not_itself"
	else fail "member${i}_hears_the_others_not_itself" "$pk packets,$line"; fi
done
for i in 0 1 2; do
	wait "${MPID[$i]}"
	rc=$?
	if [ $rc = 0 ] && grep -q sent-bye "$TMP/member$i.log"; then
		pass "member${i}_hung_up_cleanly"
	else fail "member${i}_hung_up_cleanly" "sipp exit $rc"; fi
done
if wait_members open 0; then pass members_leave_the_list
else fail members_leave_the_list "members: $(members_in open)"; fi

# --- pbxctl conf list / members / mute / kick -------------------------------
DIR=$TMP/c0 member 6 $N_OPEN wait 0
wait_members open 1
call=$(rcli HKEYS "pbx:{$T}:conf:members:open" | head -1)
list=$("$PBXCTL" conf list $T 2>&1)
if [ "$list" = "open 1 member" ]; then pass conf_list_shows_the_room
else fail conf_list_shows_the_room "$list"; fi
mem=$("$PBXCTL" conf members $T open 2>&1)
if echo "$mem" | grep -qE "^$call 79990000406 member talking since "; then
	pass conf_members_lists_the_caller
else fail conf_members_lists_the_caller "$mem"; fi
"$PBXCTL" conf mute $T open "$call" >"$TMP/mute.out" 2>&1
for _ in $(seq 30); do
	"$PBXCTL" conf members $T open 2>/dev/null | grep -q " muted " && break
	sleep 0.1
done
if "$PBXCTL" conf members $T open 2>&1 | grep -q "^$call .* member muted "; then
	pass conf_mute_reaches_the_worker
else fail conf_mute_reaches_the_worker "$(cat "$TMP/mute.out"); $("$PBXCTL" conf members $T open 2>&1)"; fi
out=$("$PBXCTL" conf kick $T open no-such-call 2>&1)
if echo "$out" | grep -q "no member no-such-call"; then
	pass conf_kick_of_a_stranger_is_not_found
else fail conf_kick_of_a_stranger_is_not_found "$out"; fi
"$PBXCTL" tenant create ${T}x >/dev/null 2>&1
out=$("$PBXCTL" conf kick ${T}x open "$call" 2>&1)
if echo "$out" | grep -q "no member"; then
	pass other_tenant_cannot_kick_the_member
else fail other_tenant_cannot_kick_the_member "$out"; fi
"$PBXCTL" tenant delete ${T}x >/dev/null 2>&1
"$PBXCTL" conf kick $T open "$call" >"$TMP/kick.out" 2>&1
wait "${MPID[6]}"
rc=$?
if [ $rc = 0 ] && grep -q got-bye "$TMP/member6.log" && wait_members open 0; then
	pass conf_kick_ends_the_members_call
else fail conf_kick_ends_the_members_call "sipp exit $rc; $(cat "$TMP/kick.out")"; fi

# --- from a menu digit into the room ----------------------------------------
# A member waits in the room; a caller of the menu presses 2 (RFC 4733)
# and joins it; both are then kicked.
DIR=$TMP/c0 member 7 $N_OPEN wait 0
wait_members open 1
DIR=$TMP/c1 member 8 $N_MENU key2 0
if wait_members open 2; then pass menu_digit_leads_into_the_room
else fail menu_digit_leads_into_the_room "members: $(members_in open)"; fi
for call in $(rcli HKEYS "pbx:{$T}:conf:members:open"); do
	"$PBXCTL" conf kick $T open "$call" >/dev/null 2>&1
done
ok=1
for i in 7 8; do
	wait "${MPID[$i]}" || ok=0
	grep -q got-bye "$TMP/member$i.log" || ok=0
done
if [ $ok = 1 ]; then pass menu_and_number_members_kicked
else fail menu_and_number_members_kicked "see $TMP/member7.log, member8.log"; fi

# --- a wrong PIN three times ends the call ----------------------------------
t0=$(now_ms)
DIR=$TMP/pin member 5 $N_PIN wait 0
wait "${MPID[5]}"
rc=$?
t=$(($(now_ms) - t0))
if [ $rc = 0 ] && grep -q got-bye "$TMP/member5.log" &&
	grep -q "conference locked: PIN retries used up" "$PBX_RUN/router.log"; then
	pass wrong_pin_three_times_ends_the_call
else fail wrong_pin_three_times_ends_the_call "sipp exit $rc after $t ms"; fi
echo "info: wrong-PIN caller got BYE after $t ms"
if [ "$(members_in locked)" = 0 ]; then pass wrong_pin_never_joins
else fail wrong_pin_never_joins "members: $(members_in locked)"; fi

# --- a menu with room_dialing: the room's number, then its PIN -------------
DIR=$TMP/direct member 13 $N_DIRECT wait 0
if wait_members locked 1 || wait_members locked 1; then
	pass menu_room_dialing_joins_the_room_with_its_pin
else fail menu_room_dialing_joins_the_room_with_its_pin \
	"members: $(members_in locked); $(grep -c 'dial_room\|conference locked' "$PBX_RUN/router.log") router lines"; fi
for call in $(rcli HKEYS "pbx:{$T}:conf:members:locked"); do
	"$PBXCTL" conf kick $T locked "$call" >/dev/null 2>&1
done
wait "${MPID[13]}"
rc=$?
if [ $rc = 0 ] && grep -q got-bye "$TMP/member13.log"; then
	pass room_dialing_member_kicked
else fail room_dialing_member_kicked "sipp exit $rc"; fi

# --- across workers: a menu caller joins a room held by the other worker -----
# heard <i> <file> <want hz> <not hz> <name>: energy at want, none at not.
heard() {
	local a b
	a=$(band "$2" "$3")
	b=$(band "$2" "$4")
	echo "info: member $1 heard ${3}Hz=${a:-?} ${4}Hz=${b:-?}"
	if awk -v a="${a:-0}" -v b="${b:-1}" 'BEGIN { exit !(a > 0.05 && b < 0.01) }'
	then pass "$5"; else fail "$5" "${3}Hz=${a:-?} ${4}Hz=${b:-?}"; fi
}
# other_worker_call: the call id of the menu caller in the room through a
# cascade leg (its record's cst is c) and, in CWORKER, its worker.
other_worker_call() {
	local k
	for k in $(rcli --scan --pattern "pbx:{$T}:call:*"); do
		if [ "$(rcli HGET "$k" cst)" = c ]; then
			CWORKER=$(rcli HGET "$k" worker)
			echo "${k#pbx:\{$T\}:call:}"
			return 0
		fi
	done
	return 1
}
DIR=$TMP/c0 member 9 $N_OPEN wait 0
wait_members open 1
sleep 1.5 # a heartbeat: the room's worker counts one call more
room_w=$(rcli GET "pbx:{$T}:conf:room:open")
DIR=$TMP/c1 member 10 $N_MENU key2 0
CWORKER=""
for _ in $(seq 50); do
	ccall=$(other_worker_call) && break
	sleep 0.1
done
CWORKER=$(rcli HGET "pbx:{$T}:call:$ccall" worker)
if wait_members open 2 && [ -n "$ccall" ] && [ -n "$CWORKER" ] &&
	[ "$CWORKER" != "$room_w" ]; then
	pass menu_caller_on_the_other_worker_joins_through_a_leg
else fail menu_caller_on_the_other_worker_joins_through_a_leg \
	"room on '$room_w', caller '${ccall:-?}' on '${CWORKER:-?}', members $(members_in open)"; fi
echo "info: room on $room_w, menu caller on ${CWORKER:-?}"
leg=""
for c in $(rcli HKEYS "pbx:{$T}:conf:members:open"); do
	v=$(rcli HGET "pbx:{$T}:conf:members:open" "$c")
	case "$v" in "$room_w "*" 799900004010") leg=$c ;; esac
done
if [ -n "$leg" ]; then pass cascade_leg_is_a_member_on_the_rooms_worker
else fail cascade_leg_is_a_member_on_the_rooms_worker \
	"$(rcli HGETALL "pbx:{$T}:conf:members:open" | tr '\n' ' ')"; fi
sleep 3 # the count announcement
"$SINK" $CALLER_IP $((34000 + 9 * 2)) 3 1000 "" "$TMP/x9.al" >"$TMP/x9.out" &
p9=$!
"$SINK" $CALLER_IP $((34000 + 10 * 2)) 3 1000 "" "$TMP/x10.al" >"$TMP/x10.out" &
p10=$!
wait $p9 $p10
heard 9 "$TMP/x9.al" 700 400 room_member_hears_the_caller_on_the_other_worker
heard 10 "$TMP/x10.al" 400 700 caller_on_the_other_worker_hears_the_room

# A mute by RPC reaches the leg: the room no longer hears the caller.
"$PBXCTL" conf mute $T open "$leg" >"$TMP/xmute.out" 2>&1
for _ in $(seq 30); do
	"$PBXCTL" conf members $T open 2>/dev/null | grep -q "^$leg .* muted " &&
		break
	sleep 0.1
done
sleep 0.5
"$SINK" $CALLER_IP $((34000 + 9 * 2)) 2 1000 "" "$TMP/x9m.al" >"$TMP/x9m.out"
r=$(band "$TMP/x9m.al" 700)
if awk -v r="${r:-1}" 'BEGIN { exit !(r < 0.01) }'; then
	pass muted_cascade_member_is_not_heard
else fail muted_cascade_member_is_not_heard "700Hz=${r:-?}; $(cat "$TMP/xmute.out")"; fi
# A kick of the leg ends the caller's call on the other worker.
"$PBXCTL" conf kick $T open "$leg" >"$TMP/xkick.out" 2>&1
wait "${MPID[10]}"
rc=$?
if [ $rc = 0 ] && grep -q got-bye "$TMP/member10.log" && wait_members open 1
then pass kick_of_the_leg_ends_the_callers_call
else fail kick_of_the_leg_ends_the_callers_call "sipp exit $rc; $(cat "$TMP/xkick.out")"; fi

# The caller hangs up: its leg leaves the room.
DIR=$TMP/c1 member 11 $N_MENU key2hup 6000
if wait_members open 2; then
	wait "${MPID[11]}"
	if wait_members open 1; then pass caller_hangup_ends_the_leg
	else fail caller_hangup_ends_the_leg "members: $(members_in open)"; fi
else fail caller_hangup_ends_the_leg "never joined: $(members_in open)"; fi

# The caller's worker dies: its leg leaves the room at once (the reaper
# ends a cascade leg with the call it carries), not after the leg's RTP
# timeout (60 s); the worker then starts again for the section below.
DIR=$TMP/c1 member 14 $N_MENU key2 0
cw=""
for _ in $(seq 50); do
	wait_members open 2 && other_worker_call >/dev/null && cw=$CWORKER &&
		[ -n "$cw" ] && [ "$cw" != "$room_w" ] && break
	cw=""
	sleep 0.1
done
if [ -n "$cw" ]; then
	t0=$(now_ms)
	kill -KILL "$(cat "$PBX_RUN/$cw.pid")"
	for _ in $(seq 150); do
		[ "$(members_in open)" = 1 ] && break
		sleep 0.1
	done
	t=$(($(now_ms) - t0))
	echo "info: the leg left the room $t ms after its caller's worker was killed"
	if [ "$(members_in open)" = 1 ] && [ $t -lt 12000 ]; then
		pass callers_worker_dies_its_leg_leaves_the_room
	else fail callers_worker_dies_its_leg_leaves_the_room \
		"members $(members_in open) after $t ms"; fi
	wait "${MPID[14]}"
	rm -f "$PBX_RUN/$cw.pid"
	"$STACK" start-one "$cw" >/dev/null 2>&1
	sleep 1.5 # its first heartbeat
else fail callers_worker_dies_its_leg_leaves_the_room \
	"no caller on the other worker: members $(members_in open)"; fi

# The room's worker dies: the caller on the other worker gets BYE.
DIR=$TMP/c1 member 12 $N_MENU key2 0
if wait_members open 2; then
	t0=$(now_ms)
	kill -KILL "$(cat "$PBX_RUN/$room_w.pid")"
	wait "${MPID[12]}"
	rc=$?
	t=$(($(now_ms) - t0))
	if [ $rc = 0 ] && grep -q got-bye "$TMP/member12.log"; then
		pass rooms_worker_dies_caller_on_other_worker_gets_bye
	else fail rooms_worker_dies_caller_on_other_worker_gets_bye \
		"sipp exit $rc after $t ms"; fi
	echo "info: BYE $t ms after the room's worker was killed"
	rm -f "$PBX_RUN/$room_w.pid"
else fail rooms_worker_dies_caller_on_other_worker_gets_bye \
	"never joined: $(members_in open)"; fi
wait "${MPID[9]}"

# --- teardown ----------------------------------------------------------------
"$PBXCTL" tenant delete $T >/dev/null 2>&1
"$STACK" stop
sanitizer_clean services_clean_under_sanitizers "$PBX_RUN"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
