#!/usr/bin/env bash
# Security of the ZeroMQ buses (docs/security.md, "Buses"): starts the
# whole stack on loopback (fixed ports, like the e2e suites: run it in a
# network namespace of its own when others share the machine), then
# checks that a peer without an allowed CURVE key reaches neither the
# router nor provisioning, that a peer with a valid key claiming worker
# id mw1 is dropped while mw1 keeps answering calls, that a tenant key is
# refused on another tenant for every RPC, and that 40 parallel 23 MiB
# frames keep provisioning under its memory bound.
#
# Environment: PBX_BUILD (a build dir, required). Prints "PASS <name>" /
# "FAIL <name> <why>" per check and a last line "N passed, M failed".
set -u
: "${PBX_BUILD:?set PBX_BUILD to a build directory}"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SIPP_DIR=$ROOT/tests/sipp
STACK=$ROOT/scripts/stack.sh
PBXCTL=$PBX_BUILD/services/pbxctl/pbxctl
GARBAGE=$PBX_BUILD/tests/support/zmq_garbage
export PBX_RUN=${PBX_RUN:-$(mktemp -d /tmp/pbx-sec.XXXXXX)}
export PBX_WORKERS=1 PBX_BUILD
TMP=$PBX_RUN/sec
KEYS=$PBX_RUN/keys
mkdir -p "$TMP"
CALLER_IP=127.0.0.2
# Provisioning's documented bound (docs/security.md): max_clients (4) x
# 3 frames x 24 MiB plus the service's own ~100 MiB (ASan build).
MEM_BOUND_MIB=${PBX_PROV_MEM_BOUND_MIB:-400}
. "$ROOT/tests/e2e/lib.sh"

cleanup() { "$STACK" stop >/dev/null 2>&1; }
trap cleanup EXIT

if ! "$STACK" start; then
	fail stack_starts "see logs in $PBX_RUN"
	echo "$PASSED passed, $FAILED failed"
	exit 1
fi
pass stack_starts

# --- keys on disk ------------------------------------------------------------
bad=$(find "$KEYS" -name '*.key' ! -perm 0600; find "$KEYS" -maxdepth 0 ! -perm 0700)
if [ -z "$bad" ]; then pass keys_private
else fail keys_private "wrong modes: $bad"; fi

# --- provisioning: operator works, strangers do not --------------------------
sox -n -r 8000 -c 1 -b 16 "$TMP/p.wav" synth 1 sine 440 2>/dev/null
GREET='{"start":"g","nodes":{"g":{"type":"greeting","options":{"prompt":"p"},"outputs":{"next":"bye"}},"bye":{"type":"hangup"}}}'
printf '%s' "$GREET" >"$TMP/greet.json"
echo '{"agents":["101"],"strategy":"ring_all"}' >"$TMP/q.json"
prov_ok=1
for t in sa sb; do
	"$PBXCTL" tenant create $t >/dev/null &&
		"$PBXCTL" prompt upload $t p "$TMP/p.wav" >/dev/null &&
		"$PBXCTL" scenario put $t s "$TMP/greet.json" >/dev/null &&
		"$PBXCTL" scenario put $t s "$TMP/greet.json" >/dev/null || prov_ok=0
done
"$PBXCTL" number connect sb 15551001 >/dev/null &&
	"$PBXCTL" scenario activate sb 15551001 s >/dev/null &&
	"$PBXCTL" ext add sb 200 'Sb-Secret-Pass-42' >/dev/null || prov_ok=0
if [ $prov_ok = 1 ]; then pass operator_key_provisions
else fail operator_key_provisions "pbxctl with the operator key failed"; fi

before=$(rcli DBSIZE)
out=$(cd "$TMP" && env -u PBX_RUN -u PBX_KEY "$PBXCTL" --timeout-ms 1500 \
	tenant create intruder 2>&1)
rc=$?
if [ $rc = 3 ] && [ "$(rcli SISMEMBER 'pbx:{sys}:tenants' intruder)" = 0 ]; then
	pass provision_refuses_client_without_key
else fail provision_refuses_client_without_key "rc=$rc: $out"; fi

mkdir -p "$TMP/other"
"$PBXCTL" keygen stranger --dir "$TMP/other" >/dev/null
out=$(PBX_SERVER_KEY=$KEYS/provision.pub "$PBXCTL" --timeout-ms 1500 \
	--key "$TMP/other/stranger.key" tenant create intruder 2>&1)
rc=$?
if [ $rc = 3 ] && printf '%s' "$out" | grep -q refused &&
	[ "$(rcli SISMEMBER 'pbx:{sys}:tenants' intruder)" = 0 ]; then
	pass provision_refuses_unknown_key
else fail provision_refuses_unknown_key "rc=$rc: $out"; fi
if env -u PBX_RUN "$GARBAGE" tcp://127.0.0.1:7010 random 1000 >/dev/null 2>&1; then
	fail provision_garbage_without_key_unanswered "a plaintext frame got an answer"
else pass provision_garbage_without_key_unanswered; fi
[ "$(rcli DBSIZE)" = "$before" ] && pass refused_clients_changed_nothing ||
	fail refused_clients_changed_nothing "dbsize $before -> $(rcli DBSIZE)"

# --- router sockets ----------------------------------------------------------
call_ok() { # call_ok <name> <port>: a greeting call on 15551001 answered
	if sipp_call uac_greeting.xml 15551001 "$2" -key rtp_port 31010 \
		-trace_logs -log_file "$TMP/$1.log"; then pass "$1"
	else fail "$1" "sipp failed (see $TMP/$1.log)"; fi
}
call_ok call_works_before 5081

malformed() { grep -c 'dropped malformed frame' "$PBX_RUN/router.log"; }
m0=$(malformed)
for ep in 7001 7002; do
	env -u PBX_RUN PBX_ROUTING_ID=mw1 "$GARBAGE" tcp://127.0.0.1:$ep random 700 >/dev/null 2>&1
	PBX_KEY=$TMP/other/stranger.key PBX_SERVER_KEY=$KEYS/router.pub \
		PBX_ROUTING_ID=mw1 "$GARBAGE" tcp://127.0.0.1:$ep random 700 >/dev/null 2>&1
done
if [ "$(malformed)" = "$m0" ] && grep -q "zap: refused" "$PBX_RUN/router.log"; then
	pass router_refuses_peers_without_allowed_key
else fail router_refuses_peers_without_allowed_key "a frame reached the router's handlers"; fi

# An impostor that holds a valid worker key (mallory) and claims mw1's
# routing id, for 6 s, while calls go on.
"$PBXCTL" keygen mallory --dir "$KEYS" >/dev/null
cp "$KEYS/mallory.pub" "$KEYS/allow/worker/"
PBX_KEY=$KEYS/mallory.key PBX_SERVER_KEY=$KEYS/router.pub PBX_ROUTING_ID=mw1 \
	"$GARBAGE" tcp://127.0.0.1:7002 random 6000 >/dev/null 2>&1 &
imp=$!
sleep 1
call_ok call_works_with_impostor_connected 5082
sleep 3.5 # longer than worker_ttl_ms: mw1 would be declared dead
if worker_alive_now=$(rcli HGET 'pbx:{sys}:workers' mw1) &&
	[ $(($(now_ms) - ${worker_alive_now%% *})) -lt 3000 ]; then
	pass mw1_heartbeats_kept_with_impostor
else fail mw1_heartbeats_kept_with_impostor "last heartbeat: $worker_alive_now"; fi
wait $imp
if grep -q "key 'mallory' that claims routing id 'mw1'" "$PBX_RUN/router.log"; then
	pass impostor_frames_dropped_and_logged
else fail impostor_frames_dropped_and_logged "no drop logged"; fi
if grep -q "media worker mw1 lost" "$PBX_RUN/router.log"; then
	fail mw1_never_declared_dead "$(grep -m1 'mw1' "$PBX_RUN/router.log")"
else pass mw1_never_declared_dead; fi
call_ok call_works_after_impostor_left 5083

# --- tenant keys: every RPC on another tenant is refused -------------------
"$STACK" key tenant-sa >/dev/null
SA=(--key "$KEYS/tenant-sa.key")
denied() { # denied <name> <pbxctl args...>
	local name=$1 out rc
	shift
	out=$("$PBXCTL" "${SA[@]}" "$@" 2>&1 </dev/null)
	rc=$?
	if [ $rc = 1 ] && printf '%s' "$out" | grep -q 'tenant sa'; then
		pass "tenant_key_refused_$name"
	else fail "tenant_key_refused_$name" "rc=$rc: $out"; fi
}
# Every key of tenant sb with its value, to compare after the matrix
# (not the live-call counters and records, which expire on their own).
sb_state() {
	rcli --scan --pattern 'pbx:{sb}:*' |
		grep -vE '^pbx:\{sb\}:(cps:|active$|call:)' | sort |
		while read -r k; do
			echo "$k"
			rcli DUMP "$k" | od -An -tx1
		done | md5sum
}
sb0=$(sb_state)
denied tenant_create tenant create sc
denied tenant_list tenant list
denied tenant_delete tenant delete sb
denied tenant_feature tenant feature sb fax on
denied tenant_feature_own tenant feature sa fax on
denied number_connect number connect sb 15551002
denied number_disconnect number disconnect sb 15551001
denied number_list number list sb
denied extension_add ext add sb 200 'Attacker-Pass-99'
denied extension_remove ext remove sb 200
denied extension_list ext list sb
denied prompt_upload prompt upload sb p "$TMP/p.wav"
denied prompt_list prompt list sb
denied prompt_delete prompt delete sb p
denied scenario_put scenario put sb s "$TMP/greet.json"
denied scenario_get scenario get sb s
denied scenario_list scenario list sb
denied scenario_history scenario history sb s
denied scenario_diff scenario diff sb s 1 2
denied scenario_activate scenario activate sb 15551001 s
denied scenario_rollback scenario rollback sb 15551001
denied scenario_simulate scenario simulate sb 15551001 --caller 79161234567
denied object_put object put sb queue q "$TMP/q.json"
denied object_get object get sb queue q
denied object_list object list sb
denied object_delete object delete sb queue q
denied trunk_add trunk add t1 127.0.0.1:5090
denied trunk_remove trunk remove t1
denied trunk_list trunk list
denied worker_list worker list
denied worker_drain worker drain mw1 --exit
denied worker_undrain worker undrain mw1
if [ "$(rcli HEXISTS 'pbx:{sys}:worker:drain' mw1)" = 0 ]; then
	pass tenant_key_drained_no_worker
else fail tenant_key_drained_no_worker "mw1 has a drain mark"; fi
if [ "$(sb_state)" = "$sb0" ] && "$PBXCTL" ext list sb | grep -qx 200; then
	pass other_tenant_unchanged
else fail other_tenant_unchanged "tenant sb's keys changed"; fi
own_ok=1
"$PBXCTL" "${SA[@]}" ext add sa 101 'Sa-Own-Pass-77' >/dev/null || own_ok=0
"$PBXCTL" "${SA[@]}" ext list sa | grep -qx 101 || own_ok=0
"$PBXCTL" "${SA[@]}" scenario get sa s >/dev/null || own_ok=0
"$PBXCTL" "${SA[@]}" number connect sa 15551003 >/dev/null || own_ok=0
if [ $own_ok = 1 ]; then pass tenant_key_manages_own_tenant
else fail tenant_key_manages_own_tenant "an own-tenant request failed"; fi

# --- memory in flight ----------------------------------------------------------
ppid=$(cat "$PBX_RUN/provision.pid")
rss0=$(awk '/VmRSS/ {print int($2/1024)}' /proc/$ppid/status)
for i in $(seq 40); do
	"$GARBAGE" tcp://127.0.0.1:7010 big:23 20000 >/dev/null 2>&1 &
done
peak=0
for _ in $(seq 150); do
	r=$(awk '/VmRSS/ {print int($2/1024)}' /proc/$ppid/status 2>/dev/null)
	[ -n "$r" ] && [ "$r" -gt $peak ] && peak=$r
	jobs -r | grep -q . || break
	sleep 0.1
done
wait
hwm=$(awk '/VmHWM/ {print int($2/1024)}' /proc/$ppid/status)
echo "# provision: rss before ${rss0} MiB, peak seen ${peak} MiB, VmHWM ${hwm} MiB (bound ${MEM_BOUND_MIB} MiB)"
if [ -n "$hwm" ] && [ "$hwm" -lt "$MEM_BOUND_MIB" ]; then
	pass provision_40_parallel_23mib_frames_under_bound
else fail provision_40_parallel_23mib_frames_under_bound "VmHWM ${hwm} MiB >= ${MEM_BOUND_MIB} MiB"; fi
if "$PBXCTL" tenant list | grep -q "^sa "; then pass provision_answers_after_flood
else fail provision_answers_after_flood "tenant list failed"; fi

sanitizer_clean services_clean_under_sanitizers "$PBX_RUN"
echo "$PASSED passed, $FAILED failed"
[ $FAILED = 0 ]
