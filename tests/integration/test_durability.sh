#!/usr/bin/env bash
# Redis as scripts/stack.sh runs it: an acknowledged provisioning write
# survives kill -9 of Redis (append-only file, appendfsync always), every
# client is an ACL user that reaches only what its docs/services/*.md
# "Redis keys" table names, unauthenticated clients are refused, and a
# service given a wrong password stops at start-up with a clear message.
#
# Starts Redis and provision through stack.sh in a temporary run dir (the
# default ports: 6390, 7010; run it in a network namespace of your own).
# Environment: PBX_BUILD (required). Prints "PASS/FAIL name" lines and
# "N passed, M failed".
set -u
: "${PBX_BUILD:?set PBX_BUILD to the build directory}"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
STACK=$ROOT/scripts/stack.sh
PBXCTL=$PBX_BUILD/services/pbxctl/pbxctl
export PBX_RUN=$(mktemp -d /tmp/pbx-durability.XXXXXX)
export PBX_REDIS_PORT=6390
N_WRITES=${N_WRITES:-100}
. "$ROOT/tests/e2e/lib.sh"
TMP=$PBX_RUN
T=durable

cleanup() {
	"$STACK" stop >/dev/null 2>&1
	rm -rf "$PBX_RUN"
}
trap cleanup EXIT

rcli() { "$STACK" cli "$@"; }
# as <user> <redis-cli args...>: one command as that ACL user.
as() {
	local u=$1
	shift
	REDISCLI_AUTH=$(cat "$PBX_RUN/secrets/redis-$u.pass") redis-cli \
		-p "$PBX_REDIS_PORT" --no-auth-warning --user "$u" "$@" 2>&1
}
as_kamailio() {
	REDISCLI_AUTH=$(cat "$PBX_RUN/secrets/redis-kamailio.pass") redis-cli \
		-p "$PBX_REDIS_PORT" --no-auth-warning "$@" 2>&1
}
# refused <name> <output>: the command was refused for permissions.
refused() {
	if [[ $2 == *NOPERM* ]]; then pass "$1"
	else fail "$1" "not refused: ${2:0:120}"; fi
}
allowed() {
	if [[ $2 != *NOPERM* && $2 != *NOAUTH* && $2 != *ERR* ]]; then
		pass "$1"
	else fail "$1" "refused: ${2:0:120}"; fi
}

if ! PBX_BUILD=$PBX_BUILD "$STACK" start-one redis ||
	! PBX_BUILD=$PBX_BUILD "$STACK" start-one provision; then
	fail stack_starts "see $PBX_RUN"
	echo "$PASSED passed, $FAILED failed"
	exit 1
fi

# --- secrets on disk ---------------------------------------------------
perms=$(stat -c '%a' "$PBX_RUN"/secrets/*.pass "$PBX_RUN/redis-users.acl" |
	sort -u | tr '\n' ' ')
check_eq() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$3', want '$2'"; fi; }
check_eq secrets_and_acl_file_are_0600 "600 " "$perms"
if grep -qf "$PBX_RUN/secrets/redis-router.pass" "$PBX_RUN/redis-users.acl"; then
	fail acl_file_holds_no_clear_password "router's password is in it"
else pass acl_file_holds_no_clear_password; fi

# --- durability ----------------------------------------------------------
"$PBXCTL" tenant create $T >/dev/null 2>&1
# A Lua script that writes several keys lands in the append-only file as a
# MULTI/EXEC block, which Redis 7.0 replays as the "default" user: it must
# come back too (stack.sh gives "default" every key for that reason).
printf '%s\n' "carrier-secret-$$" | "$PBXCTL" trunk add durable-trunk \
	127.0.0.9:5060 --username acc --password - --realm carrier.test \
	>/dev/null 2>&1
ok=0
start=$(now_ms)
for i in $(seq 100 $((99 + N_WRITES))); do
	"$PBXCTL" ext add $T "$i" "Kept-pw-$(echo "$i" | tr 0-9 a-j)" >/dev/null 2>&1 &&
		ok=$((ok + 1))
done
# Right after the last "ok": nothing has had time to reach the disk but
# what Redis wrote before answering.
kill -9 "$(cat "$PBX_RUN/redis.pid")"
elapsed=$(($(now_ms) - start))
check_eq all_writes_acknowledged "$N_WRITES" "$ok"
echo "# $N_WRITES ext add in $elapsed ms (pbxctl process per write)"
rm -f "$PBX_RUN/redis.pid"
sleep 0.2
if "$STACK" start-one redis; then pass redis_restarts_from_aof
else fail redis_restarts_from_aof "see $PBX_RUN/redis.log"; fi
check_eq acknowledged_exts_survive_kill_9 "$N_WRITES" \
	"$(rcli SCARD "pbx:{$T}:exts")"
check_eq script_write_survives_kill_9 "127.0.0.9:5060 durable-trunk" \
	"$(rcli HGET "pbx:{sys}:trunk:durable-trunk" address) $(rcli GET "pbx:{sys}:trunk_ip:127.0.0.9")"
want=$(printf '%s' "acc:carrier.test:carrier-secret-$$" | md5sum | cut -c1-32)
check_eq trunk_secret_stored_as_ha1_only "$want 0" \
	"$(rcli HGET "pbx:{sys}:trunk:durable-trunk" ha1) $(rcli HEXISTS "pbx:{sys}:trunk:durable-trunk" password)"
if rcli --scan | while read -r k; do
	[ "$(rcli TYPE "$k")" = hash ] && rcli HGETALL "$k"
	[ "$(rcli TYPE "$k")" = string ] && rcli GET "$k"
done | grep -qF "carrier-secret-$$"; then
	fail carrier_password_nowhere_in_redis "found in a key"
else pass carrier_password_nowhere_in_redis; fi
present=0
for i in $(seq 100 $((99 + N_WRITES))); do
	[ "$(rcli HEXISTS "pbx:{$T}:ext:$i" ha1)" = 1 ] && present=$((present + 1))
done
check_eq acknowledged_ext_hashes_survive_kill_9 "$N_WRITES" "$present"
# provision notices the dead link on the first request after the restart
# (answered "storage unavailable") and reconnects on the next one.
"$PBXCTL" ext list $T >/dev/null 2>&1
"$PBXCTL" ext list $T >"$TMP/list.out" 2>&1
check_eq provision_serves_after_redis_restart "$N_WRITES" \
	"$(grep -c '^[0-9]' "$TMP/list.out")"
check_eq aof_enabled_fsync_always "appendfsync always" \
	"$(rcli CONFIG GET appendfsync | tr '\n' ' ' | sed 's/ $//')"

# --- ACL ------------------------------------------------------------------
out=$(redis-cli -p "$PBX_REDIS_PORT" GET "pbx:{sys}:did:1000" 2>&1)
if [[ $out == *NOAUTH* ]]; then pass unauthenticated_client_refused
else fail unauthenticated_client_refused "$out"; fi
out=$(REDISCLI_AUTH=wrong redis-cli -p "$PBX_REDIS_PORT" --no-auth-warning \
	--user router PING 2>&1)
if [[ $out == *WRONGPASS* ]]; then pass wrong_password_refused
else fail wrong_password_refused "$out"; fi

refused worker_cannot_read_did "$(as worker GET "pbx:{sys}:did:1000")"
refused worker_cannot_read_ha1 "$(as worker HGET "pbx:{$T}:ext:100" ha1)"
refused worker_cannot_write_prompt \
	"$(as worker HSET "pbx:{$T}:prompt:x" ulaw 1)"
# A box's greeting recorded from a phone (docs/voicemail.md): only prompts
# named vmg-<box>.
allowed worker_writes_a_phone_greeting \
	"$(as worker HSET "pbx:{$T}:prompt:vmg-201" ulaw 1)"
refused worker_cannot_write_an_extension \
	"$(as worker HSET "pbx:{$T}:ext:100" ha1 x)"
allowed worker_reads_prompts "$(as worker HGET "pbx:{$T}:prompt:x" uploaded_ms)"
refused router_cannot_read_ha1 "$(as router HGET "pbx:{$T}:ext:100" ha1)"
refused router_cannot_write_did "$(as router SET "pbx:{sys}:did:1000" x)"
refused router_cannot_read_trunks "$(as router HGETALL "pbx:{sys}:trunk:t")"
refused router_cannot_flushall "$(as router FLUSHALL)"
allowed router_reads_did "$(as router GET "pbx:{sys}:did:1000")"
allowed router_writes_call_state \
	"$(as router HSET "pbx:{$T}:call:c1" rev 1)"
# Call records: the router adds them, reads (never writes) the webhook.
allowed router_adds_call_records "$(as router XADD "pbx:{$T}:cdr" '*' a 1)"
allowed router_reads_the_webhook "$(as router HMGET "pbx:{$T}:notify" webhook_url cdr)"
refused router_cannot_set_a_webhook \
	"$(as router HSET "pbx:{$T}:notify" webhook_url http://x/)"
allowed notifier_reads_call_records \
	"$(as notifier XRANGE "pbx:{$T}:cdr" - +)"
refused notifier_cannot_write_call_records \
	"$(as notifier XADD "pbx:{$T}:cdr" '*' a 1)"
# Kamailio is "default": no admin or dangerous command (stack.sh says why
# it has every key).
refused kamailio_cannot_flushall "$(as_kamailio FLUSHALL)"
refused kamailio_cannot_config "$(as_kamailio CONFIG SET appendonly no)"
refused kamailio_cannot_change_acl "$(as_kamailio ACL SETUSER x on)"
allowed kamailio_reads_ha1 "$(as_kamailio HGET "pbx:{$T}:ext:100" ha1)"
allowed kamailio_writes_registrations \
	"$(as_kamailio -n 1 HSET "location:entry:x" ruid x)"
refused provision_cannot_touch_registrations \
	"$(as provision -n 1 HGETALL "location:entry:x")"
refused provision_cannot_flushall "$(as provision FLUSHALL)"
refused provision_cannot_config "$(as provision CONFIG SET appendonly no)"

# --- service credentials --------------------------------------------------
PROV=$PBX_BUILD/services/provision/provision
out=$("$PROV" --set redis_password=not-printed-123 --print-config 2>&1)
if [[ $out != *not-printed-123* && $out == *"redis_password = (set)"* ]]; then
	pass print_config_hides_password
else fail print_config_hides_password "$(echo "$out" | grep redis_password)"; fi

echo wrong >"$TMP/wrong.pass"
for svc in provision router; do
	bin=$PBX_BUILD/services/$svc/$svc
	extra=()
	[ $svc = provision ] && extra=(--set listen=tcp://127.0.0.1:7159)
	[ $svc = router ] && extra=(--set edge_listen=tcp://127.0.0.1:7158
		--set worker_listen=tcp://127.0.0.1:7157)
	timeout 10 "$bin" --set redis_user=$svc \
		--set "redis_password_file=$TMP/wrong.pass" "${extra[@]}" \
		>"$TMP/$svc-wrong.log" 2>&1
	rc=$?
	if [ $rc != 0 ] && [ $rc != 124 ] &&
		grep -q "refused user '$svc'" "$TMP/$svc-wrong.log" &&
		! grep -qE 'Sanitizer|runtime error' "$TMP/$svc-wrong.log"; then
		pass "${svc}_wrong_password_stops_startup"
	else
		fail "${svc}_wrong_password_stops_startup" \
			"rc $rc: $(tail -2 "$TMP/$svc-wrong.log")"
	fi
done
MW=$PBX_BUILD/services/media-worker/media-worker
timeout 10 "$MW" --set redis_user=worker --set sip_listen=127.0.0.1:5189 \
	--set "redis_password_file=$TMP/wrong.pass" \
	--set router_endpoints=tcp://127.0.0.1:7157 >"$TMP/mw-wrong.log" 2>&1
rc=$?
if [ $rc != 0 ] && [ $rc != 124 ] &&
	grep -q "refused user 'worker'" "$TMP/mw-wrong.log"; then
	pass media_worker_wrong_password_stops_startup
else
	fail media_worker_wrong_password_stops_startup \
		"rc $rc: $(tail -2 "$TMP/mw-wrong.log")"
fi
timeout 10 "$PROV" --set redis_password_file=/nonexistent/pass \
	>"$TMP/nofile.log" 2>&1
rc=$?
if [ $rc = 2 ] && grep -q "redis_password_file: cannot open" "$TMP/nofile.log"
then pass missing_password_file_stops_startup
else fail missing_password_file_stops_startup "rc $rc: $(cat "$TMP/nofile.log")"; fi

# --- a run dir from before the append-only file (RDB only) ---------------
# Redis with appendonly yes and no AOF would start empty: stack.sh loads
# the RDB and switches the AOF on at run time.
"$STACK" stop >/dev/null 2>&1
OLD=$(mktemp -d /tmp/pbx-durability-old.XXXXXX)
redis-server --port "$PBX_REDIS_PORT" --bind 127.0.0.1 --dir "$OLD" \
	--dbfilename redis.rdb --save '' --appendonly no --daemonize yes \
	--pidfile "$OLD/old.pid" --logfile "$OLD/old.log"
for _ in $(seq 50); do redis-cli -p "$PBX_REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$PBX_REDIS_PORT" HSET "pbx:{old}:tenant" name old >/dev/null
redis-cli -p "$PBX_REDIS_PORT" SHUTDOWN SAVE >/dev/null 2>&1
for _ in $(seq 50); do redis-cli -p "$PBX_REDIS_PORT" ping >/dev/null 2>&1 || break; sleep 0.1; done
PBX_RUN=$OLD "$STACK" start-one redis
got=$(PBX_RUN=$OLD "$STACK" cli HGET "pbx:{old}:tenant" name)
PBX_RUN=$OLD "$STACK" stop-one redis
PBX_RUN=$OLD "$STACK" start-one redis
got="$got $(PBX_RUN=$OLD "$STACK" cli HGET "pbx:{old}:tenant" name)"
PBX_RUN=$OLD "$STACK" stop-one redis
check_eq rdb_of_older_run_dir_moves_into_aof "old old" "$got"
rm -rf "$OLD"

sanitizer_clean durability_services_clean "$PBX_RUN"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
