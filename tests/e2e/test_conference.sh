#!/usr/bin/env bash
# End-to-end conference rooms: starts the whole stack (stack.sh, one media
# worker), provisions a tenant with three numbers: a dedicated number whose
# scenario is just an open room of max_members 3, one into a room with a
# PIN, and an IVR whose digit 1 leads into the open room. Three SIPp
# callers (tests/sipp/queue_caller.xml, each from its own directory so each
# streams its own caller.wav: 400, 700 and 1000 Hz, A-law) join the open
# room; while all three are in, an rtp_sink on each caller's RTP port keeps
# what it hears, and sox measures the energy around each tone: each hears
# the other two and not its own. A fourth caller is refused (room full:
# conf_full, then BYE) while the room stays at three; a caller that sends
# a wrong PIN three times (in-band DTMF) gets BYE; one reaching the room
# through the IVR digit hears the caller already in. Checks the room's
# members in Redis (pbxctl conf list / members when built).
#
# Environment: PBX_BUILD (a build dir, required). Prints "PASS <name>" /
# "FAIL <name> <why>" per check and a last line "N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/e2e/lib.sh"
e2e_env conf
T=e2econf
CALLER_IP=127.0.0.2
N_OPEN=15550401
N_PIN=15550402
N_MENU=15550403
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

# --- provisioning ----------------------------------------------------------
prov_ok=1
{
	"$PBXCTL" tenant delete $T
	"$PBXCTL" tenant create $T &&
		echo '{"max_members":3}' |
		"$PBXCTL" object put $T conference open - &&
		echo '{"pin":"4321","pin_retries":3}' |
		"$PBXCTL" object put $T conference locked - &&
		number_with $T $N_OPEN open \
			'{"start":"c","nodes":{"c":{"type":"conference","options":{"room":"open"}}}}' &&
		number_with $T $N_PIN locked \
			'{"start":"c","nodes":{"c":{"type":"conference","options":{"room":"locked"}}}}'
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
for _ in $(seq 50); do
	[ "$(members_in open)" = 3 ] && break
	sleep 0.1
done
if [ "$(members_in open)" = 3 ]; then pass three_callers_join_the_room
else fail three_callers_join_the_room "members: $(members_in open)"; fi
sleep 0.5 # the join tone
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
for _ in $(seq 30); do
	[ "$(members_in open)" = 0 ] && break
	sleep 0.1
done
if [ "$(members_in open)" = 0 ]; then pass members_leave_the_list
else fail members_leave_the_list "members: $(members_in open)"; fi

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

# --- teardown ----------------------------------------------------------------
"$PBXCTL" tenant delete $T >/dev/null 2>&1
"$STACK" stop
sanitizer_clean services_clean_under_sanitizers "$PBX_RUN"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
