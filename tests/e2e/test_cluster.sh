#!/usr/bin/env bash
# End-to-end against a real Redis Cluster of three primaries: stack.sh
# with PBX_REDIS_CLUSTER=1 PBX_REDIS_MASTERS=3 (redis-cli --cluster
# create on three ports, the services routing by slot, Kamailio's
# ndb_redis following MOVED). Three tenants whose hash tags land on the
# three different primaries each get a greeting number; their keys are
# checked on the primary that owns their slot (and on no other), and a
# real call to each plays its greeting (RTP counted at the caller). Then
# one tenant's slot is resharded to another primary during calls: its
# keys migrated while the slot is MIGRATING/IMPORTING (the services must
# follow ASK), then the slot handed over (MOVED): the call in progress
# ends normally and new calls work, with the keys on the new primary.
#
# Environment: PBX_BUILD (a build dir, required). Prints "PASS <name>" /
# "FAIL <name> <why>" per check and a last line "N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/e2e/lib.sh"
e2e_env cluster
export PBX_REDIS_CLUSTER=1 PBX_REDIS_MASTERS=3
export PBX_REDIS_PORT=${PBX_REDIS_PORT:-6390}
P0=$PBX_REDIS_PORT
PORTS="$P0 $((P0 + 1)) $((P0 + 2))"
# What stack.sh gives the services; lib.sh's rcli then follows MOVED.
export PBX_REDIS_NODES=127.0.0.1:$P0,127.0.0.1:$((P0 + 1)),127.0.0.1:$((P0 + 2))
CALLER_IP=127.0.0.2
e2e_stack_with_bg

# owner <slot>: the port of the primary that serves the slot (its own
# CLUSTER NODES line: "myself,master" and its ranges).
owner() {
	local p
	for p in $PORTS; do
		rcli -p "$p" CLUSTER NODES | awk -v s="$1" -v p="$p" '
			/myself/ { for (i = 9; i <= NF; i++) {
				n = split($i, r, "-"); lo = r[1]; hi = n > 1 ? r[2] : r[1]
				if ($i !~ /^\[/ && s + 0 >= lo + 0 && s + 0 <= hi + 0) { print p; exit }
			} }'
	done | head -1
}
node_id() { rcli -p "$1" CLUSTER MYID; }
# keys_on <port> <tenant>: how many of the tenant's keys that node holds.
keys_on() { rcli -p "$1" --scan --pattern "pbx:{$2}:*" | grep -c .; }

masters=$(rcli CLUSTER NODES | grep -c master)
if [ "$masters" = 3 ] && rcli CLUSTER INFO | grep -q cluster_state:ok; then
	pass cluster_of_three_primaries
else
	fail cluster_of_three_primaries "$masters primaries"
fi

# One tenant per primary: the first names whose tag lands there.
declare -A TEN SLOT
for i in $(seq 1 60); do
	t=cl$i
	s=$(rcli CLUSTER KEYSLOT "pbx:{$t}:x")
	o=$(owner "$s")
	[ -n "$o" ] && [ -z "${TEN[$o]:-}" ] && TEN[$o]=$t && SLOT[$t]=$s
	[ ${#TEN[@]} = 3 ] && break
done
if [ ${#TEN[@]} = 3 ]; then pass tenants_on_three_primaries
else fail tenants_on_three_primaries "found ${#TEN[@]}"; fi

n=0
declare -A NUM
prov_ok=1
for p in $PORTS; do
	t=${TEN[$p]:-}
	[ -n "$t" ] || continue
	n=$((n + 1))
	NUM[$t]=1570000$n
	"$PBXCTL" tenant delete "$t" >/dev/null 2>&1
	{ "$PBXCTL" tenant create "$t" &&
		greeting_number "$t" "${NUM[$t]}" "hello$n" 2 $((300 + 100 * n)); } \
		>>"$TMP/provision.out" 2>&1 || prov_ok=0
done
if [ $prov_ok = 1 ]; then pass provision_three_tenants
else fail provision_three_tenants "$(tail -1 "$TMP/provision.out")"; fi

# Each tenant's keys on its own primary only.
placed=1 why=""
for p in $PORTS; do
	t=${TEN[$p]:-}
	[ -n "$t" ] || { placed=0; continue; }
	for q in $PORTS; do
		k=$(keys_on "$q" "$t")
		if [ "$q" = "$p" ] && [ "$k" -lt 1 ]; then placed=0 why="$why $t:none-on-$q"; fi
		if [ "$q" != "$p" ] && [ "$k" -gt 0 ]; then placed=0 why="$why $t:$k-on-$q"; fi
	done
done
if [ $placed = 1 ]; then pass keys_on_their_slots_primary
else fail keys_on_their_slots_primary "$why"; fi

# greet <name> <tenant> <sip port> <rtp port>: a call to the tenant's
# number plays its greeting to the end (PBX's BYE) with RTP.
greet() {
	local out="$TMP/$1.sink"
	start_sink $CALLER_IP "$4" "$out"
	if sipp_call uac_greeting.xml "${NUM[$2]}" "$3" -key rtp_port "$4"; then
		wait "$SINK_PID"
		local pk
		pk=$(sink_packets "$out")
		if [ "${pk:-0}" -ge 50 ]; then pass "$1"
		else fail "$1" "$pk RTP packets at the caller"; fi
	else
		kill "$SINK_PID" 2>/dev/null
		fail "$1" "SIPp failed (see $TMP/sipp.out)"
	fi
}

k=0
for p in $PORTS; do
	t=${TEN[$p]:-}
	[ -n "$t" ] || continue
	k=$((k + 1))
	greet "call_tenant_on_primary_$k" "$t" $((5170 + k)) $((31000 + 2 * k))
done

# --- reshard tenant 1's slot during calls ------------------------------
src=$P0
t=${TEN[$src]:-}
dst=$((P0 + 1))
if [ -n "$t" ]; then
	s=${SLOT[$t]}
	# A call in progress across the move (a 2 s greeting).
	start_sink $CALLER_IP 31020 "$TMP/across.sink"
	across_sink=$SINK_PID
	sipp_call uac_greeting.xml "${NUM[$t]}" 5180 -key rtp_port 31020 &
	across=$!
	sleep 0.5
	# As redis-cli --cluster reshard does: IMPORTING, MIGRATING, keys.
	rcli -p "$dst" CLUSTER SETSLOT "$s" IMPORTING "$(node_id "$src")" >/dev/null
	rcli -p "$src" CLUSTER SETSLOT "$s" MIGRATING "$(node_id "$dst")" >/dev/null
	mapfile -t keys < <(rcli -p "$src" CLUSTER GETKEYSINSLOT "$s" 1000)
	if [ ${#keys[@]} -gt 0 ] &&
		rcli -p "$src" MIGRATE 127.0.0.1 "$dst" "" 0 5000 AUTH2 admin \
			"$(cat "$PBX_RUN/secrets/redis-admin.pass")" KEYS "${keys[@]}" |
		grep -q OK; then
		pass "migrate_${#keys[@]}_keys_of_slot_$s"
	else
		fail migrate_keys "${#keys[@]} keys"
	fi
	# The slot still MIGRATING: every key of it answers ASK at the source.
	greet call_while_slot_migrating_ask "$t" 5181 31022
	for p in $PORTS; do
		rcli -p "$p" CLUSTER SETSLOT "$s" NODE "$(node_id "$dst")" >/dev/null
	done
	# Handed over: the services' maps still name the source: MOVED.
	greet call_after_slot_moved "$t" 5182 31024
	if wait $across; then
		wait "$across_sink"
		pk=$(sink_packets "$TMP/across.sink")
		if [ "${pk:-0}" -ge 50 ]; then pass call_across_the_reshard
		else fail call_across_the_reshard "$pk RTP packets"; fi
	else
		fail call_across_the_reshard "SIPp failed"
	fi
	if [ "$(owner "$s")" = "$dst" ] && [ "$(keys_on "$dst" "$t")" -gt 0 ] &&
		[ "$(keys_on "$src" "$t")" = 0 ]; then
		pass keys_on_the_new_primary
	else
		fail keys_on_the_new_primary "owner $(owner "$s"), $(keys_on "$dst" "$t") / $(keys_on "$src" "$t")"
	fi
	if grep -q "redis cluster: MOVED $s " "$PBX_RUN"/router.log; then
		pass router_followed_moved
	else
		fail router_followed_moved "no MOVED $s in router.log"
	fi
	# The other tenants were not touched.
	k=0
	for p in $PORTS; do
		[ "$p" = "$src" ] && continue
		k=$((k + 1))
		greet "call_other_tenant_after_reshard_$k" "${TEN[$p]}" $((5183 + k)) $((31026 + 2 * k))
	done
fi

# Kamailio asks the "pbx" server (the first primary) for every INVITE's
# trunk lookup (pbx:{sys}:...); with {sys} on another primary, each call
# above needed ndb_redis to follow MOVED (a failed lookup answers 503).
sys_owner=$(owner "$(rcli CLUSTER KEYSLOT 'pbx:{sys}:x')")
if [ "$sys_owner" != "$P0" ] &&
	! grep -q -E 'Redis unavailable|ndb_redis.*(ERROR|error)' "$PBX_RUN/kamailio.log"; then
	pass kamailio_follows_moved_for_sys_keys
else
	fail kamailio_follows_moved_for_sys_keys "{sys} on $sys_owner, or Redis errors in kamailio.log"
fi

if ! grep -l 'CROSSSLOT' "$PBX_RUN"/*.log >/dev/null 2>&1; then
	pass no_crossslot_errors
else
	fail no_crossslot_errors "$(grep -h CROSSSLOT "$PBX_RUN"/*.log | head -3)"
fi

e2e_finish "${TEN[@]}"
