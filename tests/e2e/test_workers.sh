#!/usr/bin/env bash
# Scaling without a restart (docs/operations.md, "Scaling"): the whole
# stack with two media workers, real SIP calls with SIPp and their RTP
# counted by rtp_sink. pbxctl worker list shows both with their RTP
# ranges; a tenant key may not run worker commands; a drained worker
# keeps its calls to their normal end (every packet counted) while new
# calls all go to the other, also across a router restart; undrain puts it
# back; `drain --exit` makes it exit after its last call, and the rolling
# upgrade (drain --exit, wait for 0 calls, replace, undrain) runs with
# calls up on the other worker; a third worker started at runtime takes a
# free block of RTP ports from a pool and takes calls; a worker
# configured into a live worker's range refuses to start naming it.
#
# Environment: PBX_BUILD (a build dir, required). Prints "PASS <name>" /
# "FAIL <name> <why>" per check and a last line "N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/e2e/lib.sh"
e2e_env workers
export PBX_WORKERS=2
# Bursts of calls from one test address: above pike's per-source ban.
export PBX_PIKE_DENSITY=100000
T=wrk
CALLER_IP=127.0.0.2
LONG=15560001  # a 6 s prompt, then the PBX hangs up: the call's normal end
SHORT=15560002 # a 1 s prompt
SIP_MW1=5080 SIP_MW2=5082 SIP_MW3=5084

cleanup() { "$STACK" stop >/dev/null 2>&1; }
trap cleanup EXIT

stack_up
sox -n -r 8000 -c 1 -b 16 "$TMP/long.wav" synth 6 sine 330 2>/dev/null
sox -n -r 8000 -c 1 -b 16 "$TMP/short.wav" synth 1 sine 660 2>/dev/null
"$PBXCTL" tenant delete $T >/dev/null 2>&1
if "$PBXCTL" tenant create $T >/dev/null &&
	"$PBXCTL" prompt upload $T long "$TMP/long.wav" >/dev/null &&
	"$PBXCTL" prompt upload $T short "$TMP/short.wav" >/dev/null &&
	number_with $T $LONG long '{"start":"g","nodes":{"g":{"type":"greeting","options":{"prompt":"long"},"outputs":{"next":"bye"}},"bye":{"type":"hangup"}}}' >/dev/null &&
	number_with $T $SHORT short '{"start":"g","nodes":{"g":{"type":"greeting","options":{"prompt":"short"},"outputs":{"next":"bye"}},"bye":{"type":"hangup"}}}' >/dev/null; then
	pass provision_test_tenant
else fail provision_test_tenant "pbxctl failed"; fi

# worker_line <id>: its line of `pbxctl worker list`.
worker_line() { "$PBXCTL" worker list 2>/dev/null | grep "^$1 "; }
# field <line> <name>: a name=value field of a list line.
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# --- the list -------------------------------------------------------------
l1=$(worker_line mw1) l2=$(worker_line mw2)
if [ "$(field "$l1" rtp)" = 127.0.0.1:20000-24998 ] &&
	[ "$(field "$l2" rtp)" = 127.0.0.1:25000-29998 ] &&
	[ "$(field "$l1" state)" = up ] && [ "$(field "$l2" state)" = up ] &&
	[ "$(field "$l1" address)" = "sip:127.0.0.1:$SIP_MW1" ] &&
	[ "$(field "$l1" capacity)" = 1000 ]; then
	pass worker_list_shows_both_with_rtp_ranges
else fail worker_list_shows_both_with_rtp_ranges "$l1 / $l2"; fi
echo "info: $l1"

# --- a tenant's key may not touch the workers ------------------------------
tkey=$("$STACK" key tenant-$T | tail -1)
out=$(PBX_KEY=$tkey "$PBXCTL" worker list 2>&1)
rc1=$?
out2=$(PBX_KEY=$tkey "$PBXCTL" worker drain mw1 2>&1)
rc2=$?
if [ $rc1 = 1 ] && [ $rc2 = 1 ] && grep -q "operator key" <<<"$out$out2" &&
	[ "$(rcli HEXISTS 'pbx:{sys}:worker:drain' mw1)" = 0 ]; then
	pass tenant_key_refused_for_worker_commands
else fail tenant_key_refused_for_worker_commands "rc $rc1/$rc2: $out / $out2"; fi
if PBX_KEY=$tkey "$PBXCTL" number list $T >/dev/null 2>&1; then
	pass tenant_key_still_manages_its_tenant
else fail tenant_key_still_manages_its_tenant "number list refused"; fi
out=$("$PBXCTL" worker drain mw9 2>&1)
if [ $? = 1 ] && grep -q "no worker mw9" <<<"$out"; then
	pass drain_of_unknown_worker_refused
else fail drain_of_unknown_worker_refused "$out"; fi

# long_calls <n> <first sip port> <first rtp port> <tag>: n callers of
# LONG in the background, each with its rtp_sink; results in
# $TMP/<tag><i>.{log,end,rtp}.
long_calls() {
	local i
	for i in $(seq "$1"); do
		start_sink $CALLER_IP $(($3 + 2 * i)) "$TMP/$4$i.rtp"
		(t0=$(now_ms)
		cd "$TMP" && timeout 40 sipp -sf "$SIPP_DIR/uac_greeting.xml" \
			-s $LONG -i $CALLER_IP -p $(($2 + i)) -nostdin -m 1 \
			-key rtp_port $(($3 + 2 * i)) -trace_logs \
			-log_file "$TMP/$4$i.log" 127.0.0.1:5060 >/dev/null 2>&1
		echo "$? $(($(now_ms) - t0))" >"$TMP/$4$i.end") &
		sleep 0.2
	done
}
# long_results <n> <tag> <sip port>: for the calls of that worker, sets
# N_ON (calls), N_FULL (ended by the PBX after 5.5 s or more, with at
# least 90 % of 6 s of RTP), N_BAD and BAD (why).
long_results() {
	local i rc ms pk
	N_ON=0 N_FULL=0 N_BAD=0 BAD=""
	for i in $(seq "$1"); do
		[ "$(calls_on_worker "$TMP/$2$i.log" "$3")" = 1 ] || continue
		N_ON=$((N_ON + 1))
		read -r rc ms <"$TMP/$2$i.end"
		pk=$(sink_packets "$TMP/$2$i.rtp")
		if [ "$rc" = 0 ] && [ "$ms" -ge 5500 ] && [ "${pk:-0}" -ge 270 ]; then
			N_FULL=$((N_FULL + 1))
		else
			N_BAD=$((N_BAD + 1))
			BAD="$BAD call$i:rc=$rc,${ms}ms,${pk}pkts"
		fi
	done
}
# short_calls <name> <n> <sip port> <rtp port>: n calls of SHORT, all
# must be answered; their log in $TMP/<name>.log.
short_calls() {
	(cd "$TMP" && timeout 60 sipp -sf "$SIPP_DIR/uac_greeting.xml" \
		-s $SHORT -i $CALLER_IP -p "$3" -nostdin -m "$2" -r 10 -l "$2" \
		-key rtp_port "$4" -trace_logs -log_file "$TMP/$1.log" \
		127.0.0.1:5060 >>"$TMP/sipp.out" 2>&1)
}
on_port() { calls_on_worker "$TMP/$1.log" "$2"; }
# all_on_mw2 <check> <n> <sip port> <rtp port>: n new calls, all on mw2.
all_on_mw2() {
	local n1 n2
	short_calls "$1" "$2" "$3" "$4"
	n1=$(on_port "$1" $SIP_MW1) n2=$(on_port "$1" $SIP_MW2)
	if [ "$n1" = 0 ] && [ "$n2" = "$2" ]; then pass "$1"
	else fail "$1" "mw1=$n1 mw2=$n2 of $2"; fi
}

# --- drain: calls finish, new calls go elsewhere ---------------------------
long_calls 6 5200 31100 d
sleep 1.5
l1=$(worker_line mw1)
"$PBXCTL" worker drain mw1 >"$TMP/drain.out" 2>&1
drc=$?
if [ $drc = 0 ] && [ "$(rcli HGET 'pbx:{sys}:worker:drain' mw1)" = wait ]; then
	pass drain_command_accepted
else fail drain_command_accepted "rc $drc: $(cat "$TMP/drain.out")"; fi
echo "info: before the drain: $l1"
sleep 1.2 # the routers' refresh (500 ms), the worker's heartbeat (1 s)
l1=$(worker_line mw1)
if [ "$(field "$l1" state)" = draining ] && [ "$(field "$l1" calls)" -ge 1 ]; then
	pass worker_list_shows_draining_with_its_calls
else fail worker_list_shows_draining_with_its_calls "$l1"; fi
all_on_mw2 new_calls_all_go_to_the_other_worker 6 5230 31300
wait
long_results 6 d $SIP_MW1
if [ $N_ON -ge 1 ] && [ $N_BAD = 0 ]; then
	pass drained_workers_calls_end_normally_with_all_rtp
else fail drained_workers_calls_end_normally_with_all_rtp "$N_ON on mw1,$BAD"; fi
echo "info: drain: $N_ON calls on mw1 heard their 6 s prompt out ($N_FULL full)"
long_results 6 d $SIP_MW2
if [ $N_ON -ge 1 ] && [ $N_BAD = 0 ]; then pass other_workers_calls_unaffected
else fail other_workers_calls_unaffected "$N_ON on mw2,$BAD"; fi
if grep -q "operator drain mark: drain" "$PBX_RUN/mw1.log"; then
	pass worker_logged_the_drain
else fail worker_logged_the_drain "no log line"; fi

# --- a router restart does not forget the drain ----------------------------
"$STACK" stop-one router && "$STACK" start-one router
sleep 1.5
all_on_mw2 drain_survives_a_router_restart 4 5240 31320

# --- undrain ---------------------------------------------------------------
out=$("$PBXCTL" worker undrain mw1 2>&1)
sleep 1.5
short_calls undrained 6 5250 31340
n1=$(on_port undrained $SIP_MW1)
l1=$(worker_line mw1)
if [ "${n1:-0}" -ge 2 ] && [ "$(field "$l1" state)" = up ]; then
	pass undrained_worker_takes_calls_again
else fail undrained_worker_takes_calls_again "mw1 took ${n1:-0} of 6; $out; $l1"; fi

# --- rolling upgrade of mw1: drain --exit, 0 calls, replace, undrain --------
long_calls 6 5300 31400 u
sleep 1.5
pid1=$(cat "$PBX_RUN/mw1.pid")
"$PBXCTL" worker drain mw1 --exit >/dev/null 2>&1
sleep 1.5
alive_mid=0
kill -0 "$pid1" 2>/dev/null && alive_mid=1
l1=$(worker_line mw1)
all_on_mw2 exit_drain_new_calls_go_elsewhere 4 5320 31500
wait
long_results 6 u $SIP_MW1
on1=$N_ON bad1=$N_BAD why1=$BAD
# The worker exits once its last call ended (its BYE answered).
for _ in $(seq 50); do kill -0 "$pid1" 2>/dev/null || break; sleep 0.1; done
if [ $alive_mid = 1 ] && [ $on1 -ge 1 ] && ! kill -0 "$pid1" 2>/dev/null &&
	grep -q "then=exit" <<<"$l1"; then
	pass exit_drain_worker_exits_after_its_last_call
else fail exit_drain_worker_exits_after_its_last_call "alive mid=$alive_mid, $on1 calls, $(kill -0 "$pid1" 2>/dev/null && echo still running) ($l1)"; fi
if [ $bad1 = 0 ]; then pass exit_drain_calls_end_normally_with_all_rtp
else fail exit_drain_calls_end_normally_with_all_rtp "$why1"; fi
if grep -q "drained: the last call ended, exiting" "$PBX_RUN/mw1.log" &&
	[ "$(rcli HGET 'pbx:{sys}:worker:drain' mw1)" = wait ] &&
	[ "$(rcli HEXISTS 'pbx:{sys}:rtp:leases' mw1)" = 0 ]; then
	pass exited_worker_left_a_plain_drain_and_freed_its_ports
else fail exited_worker_left_a_plain_drain_and_freed_its_ports "mark '$(rcli HGET 'pbx:{sys}:worker:drain' mw1)', lease '$(rcli HGET 'pbx:{sys}:rtp:leases' mw1)'"; fi
# Gone from the registry once the routers lost it (3 s), listed by its
# mark until its replacement comes.
for _ in $(seq 60); do
	[ "$(field "$(worker_line mw1)" state)" = drained ] && break
	sleep 0.1
done
l1=$(worker_line mw1)
if [ "$(field "$l1" state)" = drained ]; then pass exited_worker_listed_as_drained
else fail exited_worker_listed_as_drained "$l1"; fi
# Replace: the new mw1 (same id, the new binary) comes up drained, with
# calls up on mw2 meanwhile.
long_calls 2 5340 31600 r
rm -f "$PBX_RUN/mw1.pid"
"$STACK" start-one mw1 >/dev/null 2>&1
sleep 1
l1=$(worker_line mw1)
short_calls replaced_drained 4 5350 31700
n1=$(on_port replaced_drained $SIP_MW1)
if [ "$(field "$l1" state)" = draining ] && [ "$n1" = 0 ]; then
	pass replacement_starts_drained
else fail replacement_starts_drained "$l1; it took $n1 of 4"; fi
"$PBXCTL" worker undrain mw1 >/dev/null 2>&1
sleep 1.5
short_calls replaced_up 6 5360 31720
n1=$(on_port replaced_up $SIP_MW1)
if [ "${n1:-0}" -ge 2 ]; then pass rolling_upgrade_undrained_replacement_takes_calls
else fail rolling_upgrade_undrained_replacement_takes_calls "mw1 took ${n1:-0} of 6"; fi
wait
long_results 2 r $SIP_MW2
if [ $N_BAD = 0 ]; then pass calls_on_the_other_worker_survive_the_upgrade
else fail calls_on_the_other_worker_survive_the_upgrade "$BAD"; fi

# --- a third worker at runtime: a free block from a pool --------------------
if PBX_RTP_POOL=20000-64999 "$STACK" start-one mw3 >/dev/null 2>&1; then
	pass third_worker_started_at_runtime
else fail third_worker_started_at_runtime "see $PBX_RUN/mw3.log"; fi
l3=$(worker_line mw3)
if [ "$(field "$l3" rtp)" = 127.0.0.1:29999-34997 ]; then
	pass third_worker_took_the_next_free_block
else fail third_worker_took_the_next_free_block "$l3"; fi
# Every pair of listed ranges is disjoint.
overlap=$("$PBXCTL" worker list | sed -n 's/^\([^ ]*\) .* rtp=[^:]*:\([0-9]*\)-\([0-9]*\) .*/\1 \2 \3/p' |
	awk '{id[NR]=$1; lo[NR]=$2; hi[NR]=$3}
	END {for (i = 1; i <= NR; i++) for (j = i + 1; j <= NR; j++)
		if (lo[i] <= hi[j] && lo[j] <= hi[i]) print id[i] "/" id[j]; print NR}')
if [ "$overlap" = 3 ]; then pass listed_rtp_ranges_never_overlap
else fail listed_rtp_ranges_never_overlap "$overlap"; fi
short_calls third 9 5380 31800
n3=$(on_port third $SIP_MW3)
sdp3=$(awk '$1 == "sdp" && $3 >= 29999 && $3 <= 34997 { print $3; exit }' "$TMP/third.log")
if [ "${n3:-0}" -ge 2 ] && [ -n "$sdp3" ] && [ "$sdp3" -ge 29999 ] &&
	[ "$sdp3" -le 34997 ]; then
	pass third_worker_takes_calls_on_its_ports
else fail third_worker_takes_calls_on_its_ports "mw3 took ${n3:-0} of 9, its RTP port '${sdp3}'"; fi

# --- a worker configured into a live worker's range refuses to start ------
"$PBX_BUILD/services/media-worker/media-worker" --set worker_id=mw7 \
	--set sip_listen=127.0.0.1:5096 --set redis_port="${PBX_REDIS_PORT:-6390}" \
	--set redis_user=worker \
	--set redis_password_file="$PBX_RUN/secrets/redis-worker.pass" \
	--set rtp_port_min=24000 --set rtp_port_max=25999 \
	--set media_root="$PBX_RUN/media" >"$PBX_RUN/mw7.log" 2>&1 &
p7=$!
for _ in $(seq 100); do kill -0 $p7 2>/dev/null || break; sleep 0.1; done
if kill -0 $p7 2>/dev/null; then
	kill $p7
	fail overlapping_worker_refuses_to_start "still running"
else
	wait $p7
	rc7=$?
	if [ $rc7 != 0 ] && grep -q "RTP ports 24000-25999 overlap 20000-24998 of live worker mw1" "$PBX_RUN/mw7.log" &&
		[ -z "$(worker_line mw7)" ]; then
		pass overlapping_worker_refuses_to_start
	else fail overlapping_worker_refuses_to_start "rc $rc7: $(grep -m1 ERROR "$PBX_RUN/mw7.log")"; fi
fi
echo "info: $(grep -m1 'overlap' "$PBX_RUN/mw7.log" | cut -c1-200)"

e2e_finish $T
