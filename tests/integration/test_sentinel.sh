#!/usr/bin/env bash
# Redis Sentinel failover under provisioning writes (docs/operations.md,
# "Redis Sentinel"): one primary, one replica and three Sentinels on
# loopback; provision finds the primary through the Sentinels and
# acknowledges a write only once the replica has it (WAIT 1). A loop of
# pbxctl writes runs while the primary is killed with kill -9: the
# Sentinels promote the replica, every write pbxctl reported OK is on the
# new primary (0 lost), the writes in between fail with a clear error
# within a bounded time (no hang), and once the old primary is back as a
# replica writes succeed again. A router configured the same way
# reconnects to the new primary (its /health says so).
#
# Ports 6401-6402 (Redis), 26401-26403 (Sentinels), 7411 (provision),
# 7412-7415 and 9241 (router), 8459 and 9242 (evapi, edge-bridge): run
# it in a network namespace of your own.
# Environment: PBX_BUILD (required). Prints "PASS/FAIL name" lines and
# "N passed, M failed".
set -u
: "${PBX_BUILD:?set PBX_BUILD to the build directory}"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PBXCTL=$PBX_BUILD/services/pbxctl/pbxctl
PROVISION_BIN=$PBX_BUILD/services/provision/provision
ROUTER_BIN=$PBX_BUILD/services/router/router
EDGE_BIN=$PBX_BUILD/services/edge-bridge/edge-bridge
TMP=$(mktemp -d /tmp/pbx-sentinel.XXXXXX)
PRIMARY=6401
REPLICA=6402
SENTINELS=127.0.0.1:26401,127.0.0.1:26402,127.0.0.1:26403
SERVER=tcp://127.0.0.1:7411
. "$ROOT/tests/e2e/lib.sh"

PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for f in "$TMP"/*.pid; do
		[ -s "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

echo sentinel-secret >"$TMP/sentinel.pass"
redis_start() { # <port> [redis-server args...]
	local port=$1
	shift
	redis-server --port "$port" --bind 127.0.0.1 --save '' \
		--appendonly no --daemonize yes --dir "$TMP" \
		--repl-diskless-sync-delay 0 \
		--pidfile "$TMP/redis-$port.pid" \
		--logfile "$TMP/redis-$port.log" "$@"
	for _ in $(seq 50); do
		redis-cli -p "$port" ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
sentinel_start() { # <port>
	cat >"$TMP/sentinel-$1.conf" <<EOF
port $1
bind 127.0.0.1
daemonize yes
pidfile $TMP/sentinel-$1.pid
logfile $TMP/sentinel-$1.log
dir $TMP
requirepass sentinel-secret
sentinel monitor pbx 127.0.0.1 $PRIMARY 2
sentinel down-after-milliseconds pbx 1000
sentinel failover-timeout pbx 5000
sentinel parallel-syncs pbx 1
EOF
	redis-server "$TMP/sentinel-$1.conf" --sentinel
}
scli() { # <sentinel port> <args...>
	local p=$1
	shift
	REDISCLI_AUTH=sentinel-secret redis-cli --no-auth-warning -p "$p" "$@"
}
primary_port() { scli 26401 SENTINEL get-master-addr-by-name pbx | tail -1; }
role() { redis-cli -p "$1" ROLE 2>/dev/null | head -1; }

redis_start $PRIMARY && redis_start $REPLICA --replicaof 127.0.0.1 $PRIMARY &&
	sentinel_start 26401 && sentinel_start 26402 && sentinel_start 26403
ok=0
for _ in $(seq 100); do
	# The Sentinels know the replica and each other: a failover can run.
	if [ "$(scli 26401 SENTINEL replicas pbx 2>/dev/null | grep -c "127.0.0.1:$REPLICA")" -ge 1 ] &&
		[ "$(scli 26401 SENTINEL sentinels pbx 2>/dev/null | grep -c '^name$')" -ge 2 ]; then
		ok=1
		break
	fi
	sleep 0.1
done
for _ in $(seq 100); do
	redis-cli -p $REPLICA INFO replication | grep -q 'master_link_status:up' && break
	sleep 0.1
done
if [ $ok = 1 ] && [ "$(role $REPLICA)" = slave ] &&
	redis-cli -p $REPLICA INFO replication | grep -q 'master_link_status:up'; then
	pass redis_primary_replica_and_three_sentinels_up
else
	fail redis_primary_replica_and_three_sentinels_up "see $TMP"
	echo "$PASSED passed, $FAILED failed"
	exit 1
fi

# Services as the Sentinels point them: redis_host/redis_port are wrong
# on purpose (nothing listens on 6499), so only the Sentinels lead to
# Redis.
SENT_ARGS=(--set redis_host=127.0.0.1 --set redis_port=6499
	--set "redis_sentinels=$SENTINELS" --set redis_master=pbx
	--set "redis_sentinel_password_file=$TMP/sentinel.pass")
"$PROVISION_BIN" --set "listen=$SERVER" --set metrics_listen=0 \
	"${SENT_ARGS[@]}" --set redis_wait_replicas=1 \
	--set redis_wait_timeout_ms=500 >"$TMP/provision.log" 2>&1 &
PIDS+=($!)
"$ROUTER_BIN" --set edge_listen=tcp://127.0.0.1:7412 \
	--set worker_listen=tcp://127.0.0.1:7413 --set queue_listen=tcp://127.0.0.1:7414 --set crm_listen=tcp://127.0.0.1:7415 \
	--set metrics_listen=127.0.0.1:9241 "${SENT_ARGS[@]}" \
	>"$TMP/router.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do
	"$PBXCTL" --server "$SERVER" --timeout-ms 300 tenant list \
		>/dev/null 2>&1 && break
	sleep 0.1
done
if "$PBXCTL" --server "$SERVER" tenant create before >/dev/null 2>&1 &&
	grep -q "names 127.0.0.1:$PRIMARY the primary" "$TMP/provision.log"; then
	pass provision_finds_the_primary_through_sentinel
else
	fail provision_finds_the_primary_through_sentinel "$(tail -3 "$TMP/provision.log")"
fi
health() { curl -s -m 2 http://127.0.0.1:9241/health; }
for _ in $(seq 50); do [ "$(health)" = ok ] && break; sleep 0.1; done
check_health() {
	if [ "$(health)" = ok ] &&
		grep -q "127.0.0.1:$1: connected to the primary" "$TMP/router.log"; then
		pass "$2"
	else
		fail "$2" "health '$(health)'; $(grep redis "$TMP/router.log" | tail -2)"
	fi
}
check_health $PRIMARY router_connects_to_the_primary_through_sentinel

# A bad Sentinel setting stops start-up naming the item.
"$PROVISION_BIN" --set "listen=tcp://127.0.0.1:7419" --set metrics_listen=0 \
	--set redis_sentinels=127.0.0.1 >"$TMP/bad.log" 2>&1
rc=$?
if [ $rc != 0 ] && grep -q "redis_sentinels: '127.0.0.1' is not host:port" "$TMP/bad.log"; then
	pass bad_sentinel_list_stops_startup
else
	fail bad_sentinel_list_stops_startup "rc=$rc $(head -2 "$TMP/bad.log")"
fi

# --- the write loop, and kill -9 of the primary in the middle -------------
# Each line of writes.txt: <i> <exit code> <ms> <first error line>.
writer() {
	local i=0 ok_after=0 t0 rc err after
	while [ $i -lt 400 ] && [ ! -e "$TMP/stop" ]; do
		i=$((i + 1))
		# A write counts as after the recovery only if it started
		# after it (one in flight then may end either way).
		after=0
		[ -e "$TMP/recovered" ] && after=1
		t0=$(now_ms)
		err=$("$PBXCTL" --server "$SERVER" --timeout-ms 8000 \
			tenant create "w$i" 2>&1 >/dev/null)
		rc=$?
		echo "$i $rc $(($(now_ms) - t0)) ${err%%$'\n'*}" >>"$TMP/writes.txt"
		if [ $after = 1 ] && [ $rc = 0 ]; then
			echo "$i" >>"$TMP/after.txt"
			ok_after=$((ok_after + 1))
			[ $ok_after -ge 10 ] && break
		fi
		sleep 0.02
	done
}
writer &
WRITER=$!
for _ in $(seq 100); do
	[ -e "$TMP/writes.txt" ] &&
		[ "$(awk '$2 == 0' "$TMP/writes.txt" | wc -l)" -ge 20 ] && break
	sleep 0.05
done
T_KILL=$(now_ms)
kill -9 "$(cat "$TMP/redis-$PRIMARY.pid")"
# The Sentinels agree it is down (1 s) and promote the replica.
for _ in $(seq 150); do
	[ "$(primary_port)" = $REPLICA ] && [ "$(role $REPLICA)" = master ] && break
	sleep 0.1
done
T_PROMOTED=$(now_ms)
if [ "$(primary_port)" = $REPLICA ] && [ "$(role $REPLICA)" = master ]; then
	pass "sentinel_promotes_the_replica ($((T_PROMOTED - T_KILL)) ms)"
else
	fail sentinel_promotes_the_replica "primary $(primary_port)"
fi
# With no replica left, writes are refused (WAIT 1 cannot be met). Let
# the loop see that for a moment, then bring the old primary back: the
# Sentinels make it a replica of the new primary.
sleep 1
redis_start $PRIMARY
for _ in $(seq 150); do
	[ "$(role $PRIMARY)" = slave ] &&
		redis-cli -p $PRIMARY INFO replication | grep -q 'master_link_status:up' && break
	sleep 0.1
done
if [ "$(role $PRIMARY)" = slave ]; then
	pass old_primary_rejoins_as_replica
else
	fail old_primary_rejoins_as_replica "role $(role $PRIMARY)"
fi
touch "$TMP/recovered"
for _ in $(seq 300); do kill -0 $WRITER 2>/dev/null || break; sleep 0.1; done
touch "$TMP/stop"
wait $WRITER

n_ok=$(awk '$2 == 0' "$TMP/writes.txt" | wc -l)
n_fail=$(awk '$2 != 0' "$TMP/writes.txt" | wc -l)
echo "info: $(wc -l <"$TMP/writes.txt") writes: $n_ok acknowledged, $n_fail refused"

# Every acknowledged write is on the new primary; asked both through
# provision (which follows the Sentinels) and on Redis directly.
"$PBXCTL" --server "$SERVER" tenant list >"$TMP/tenants.txt" 2>&1
lost=0
lost_direct=0
key_tenants=$(redis-cli -p $REPLICA --raw SMEMBERS 'pbx:{sys}:tenants')
while read -r i rc _; do
	[ "$rc" = 0 ] || continue
	grep -q "^w$i " "$TMP/tenants.txt" || lost=$((lost + 1))
	grep -qx "w$i" <<<"$key_tenants" || lost_direct=$((lost_direct + 1))
done <"$TMP/writes.txt"
if [ $n_ok -ge 30 ] && [ $lost = 0 ] && [ $lost_direct = 0 ]; then
	pass "acknowledged_writes_survive_the_failover ($n_ok acknowledged, 0 lost)"
else
	fail acknowledged_writes_survive_the_failover "$n_ok acknowledged, $lost lost (via provision), $lost_direct lost (on $REPLICA)"
fi

# The writes in between failed with a sentence, not a hang: each
# answered within the bound (WAIT 500 ms + a Sentinel round).
if [ "$n_fail" -ge 1 ]; then
	pass "writes_during_the_failover_are_refused ($n_fail)"
else
	fail writes_during_the_failover_are_refused "none refused"
fi
slow=$(awk '$2 != 0 && $3 > 3000' "$TMP/writes.txt" | wc -l)
bad=$(awk '$2 != 0' "$TMP/writes.txt" |
	grep -cvE 'storage unavailable|not confirmed by 1 replica')
if [ "$slow" = 0 ] && [ "$bad" = 0 ]; then
	pass "refused_writes_say_why_within_3s (slowest $(awk '$2 != 0 {print $3}' "$TMP/writes.txt" | sort -n | tail -1) ms)"
else
	fail refused_writes_say_why_within_3s "$slow slow, $bad without a reason: $(awk '$2 != 0' "$TMP/writes.txt" | head -3)"
fi
after_ok=$(cat "$TMP/after.txt" 2>/dev/null | wc -l)
if [ "$after_ok" -ge 10 ]; then
	pass "writes_succeed_again_after_the_failover ($after_ok)"
else
	fail writes_succeed_again_after_the_failover "$after_ok after recovery: $(tail -3 "$TMP/writes.txt")"
fi
# The last write of the loop is on the restarted node too (replicated).
last=$(awk '$2 == 0 {i = $1} END {print i}' "$TMP/writes.txt")
for _ in $(seq 20); do
	[ "$(redis-cli -p $PRIMARY SISMEMBER 'pbx:{sys}:tenants' "w$last")" = 1 ] && break
	sleep 0.1
done
if [ "$(redis-cli -p $PRIMARY SISMEMBER 'pbx:{sys}:tenants' "w$last")" = 1 ]; then
	pass new_replica_has_the_last_write
else
	fail new_replica_has_the_last_write "w$last missing on $PRIMARY"
fi

for _ in $(seq 50); do
	grep -q "127.0.0.1:$REPLICA: connected to the primary" "$TMP/router.log" &&
		[ "$(health)" = ok ] && break
	sleep 0.1
done
check_health $REPLICA router_reconnects_to_the_new_primary

# --- a call decided on the new primary -------------------------------------
# A number provisioned after the failover (so only on the new primary)
# whose scenario hangs up 486: the router reads number and scenario and
# rejects with the configured code, no media worker needed.
NUM=15580001
echo '{"start":"h","nodes":{"h":{"type":"hangup","options":{"code":486,"reason":"Busy Here"}}}}' >"$TMP/busy.json"
"$PBXCTL" --server "$SERVER" tenant create dec >/dev/null &&
	"$PBXCTL" --server "$SERVER" scenario put dec busy "$TMP/busy.json" >/dev/null &&
	"$PBXCTL" --server "$SERVER" number connect dec $NUM >/dev/null &&
	"$PBXCTL" --server "$SERVER" scenario activate dec $NUM busy >/dev/null
prov_rc=$?
# evapi as Kamailio speaks it (netstrings): one call.new, then the
# bridge's answer printed.
cat >"$TMP/evapi.py" <<'PY'
import json, socket, sys, time
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 8459))
srv.listen(1)
srv.settimeout(10)
c, _ = srv.accept()
c.settimeout(5)
buf = b""


def ask(tindex):
    """One call.new; the bridge's answer (a JSON text)."""
    global buf
    ev = json.dumps({"event": "call.new", "tindex": tindex, "tlabel": 9,
                     "callid": "sentinel-%d@127.0.0.2" % tindex,
                     "from_user": "100", "from_uri": "sip:100@127.0.0.2",
                     "to_user": sys.argv[1],
                     "to_uri": "sip:%s@127.0.0.1" % sys.argv[1],
                     "src_ip": "127.0.0.2", "src_port": 5099,
                     "transport": "udp", "source": "unknown"}).encode()
    c.sendall(b"%d:%s," % (len(ev), ev))
    while True:
        if b":" in buf:
            n, rest = buf.split(b":", 1)
            if len(rest) > int(n):
                buf = rest[int(n) + 1:]
                return rest[:int(n)].decode()
        d = c.recv(4096)
        if not d:
            return ""
        buf += d


# The bridge answers 503 "Router unavailable" until its bus to the
# router is up: ask again (a new transaction) until it is.
for t in range(7, 57):
    ans = ask(t)
    if "Router unavailable" not in ans:
        break
    time.sleep(0.1)
print(ans)
PY
python3 "$TMP/evapi.py" $NUM >"$TMP/decision.json" 2>"$TMP/evapi.err" &
EVAPI=$!
sleep 0.3
"$EDGE_BIN" --set edge_id=edge1 --set evapi_addr=127.0.0.1:8459 \
	--set router_endpoints=tcp://127.0.0.1:7412 \
	--set metrics_listen=127.0.0.1:9242 >"$TMP/edge.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do kill -0 $EVAPI 2>/dev/null || break; sleep 0.1; done
kill $EVAPI 2>/dev/null
dec=$(cat "$TMP/decision.json")
if [ $prov_rc = 0 ] && grep -q '"action":"reject"' <<<"$dec" &&
	grep -q '"code":486' <<<"$dec" && grep -q '"tlabel":9' <<<"$dec"; then
	pass router_decides_on_the_new_primary
else
	fail router_decides_on_the_new_primary "provisioning rc $prov_rc, decision '$dec' $(tail -2 "$TMP/evapi.err") $(grep -i "redis\|$NUM" "$TMP/router.log" | tail -2)"
fi

for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
wait "${PIDS[@]}" 2>/dev/null
PIDS=()
if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' \
	"$TMP/provision.log" "$TMP/router.log" "$TMP/edge.log"; then
	fail services_sanitizer_clean "$(grep -hm1 -E 'Sanitizer|runtime error:' "$TMP"/*.log)"
else
	pass services_sanitizer_clean
fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
