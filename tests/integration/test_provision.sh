#!/usr/bin/env bash
# Integration test of the provisioning service and pbxctl: starts the real
# service on a free port against a running Redis, drives it with pbxctl and
# raw ZeroMQ garbage, and checks what lands in Redis and in the log.
#
# Environment:
#   PBXCTL          path to pbxctl            (required)
#   PROVISION_BIN   path to provision         (required)
#   ZMQ_GARBAGE     path to zmq_garbage       (default: next to pbxctl's
#                   build dir, tests/support/zmq_garbage)
#   REDIS_PORT      a running Redis           (default 6390)
#   PROV_PORT       first port to try         (default 7110)
#
# Prints "PASS <name>" / "FAIL <name> <why>" per check and a last line
# "N passed, M failed"; exits 1 if anything failed.
set -u

: "${PBXCTL:?set PBXCTL to the pbxctl binary}"
: "${PROVISION_BIN:?set PROVISION_BIN to the provision binary}"
REDIS_PORT=${REDIS_PORT:-6390}
PROV_PORT=${PROV_PORT:-7110}
ZMQ_GARBAGE=${ZMQ_GARBAGE:-$(dirname "$PBXCTL")/../../tests/support/zmq_garbage}

# Tenants and numbers unique to this run, so a shared test Redis (or a
# run that died half-way) cannot disturb the checks.
A="pvtest-a-$$"
B="pvtest-b-$$"
NUM="+1555$$01"
PASSWORD="secret-$$-pv"
# Scenario documents (docs/scenario.md): a greeting then a hang-up.
SC_BAD_PROMPT='{"start":"g","nodes":{"g":{"type":"greeting","options":{"prompt":"nosuch_prompt"},"outputs":{"next":"h"}},"h":{"type":"hangup"}}}'
SC_GOOD_PROMPT='{"start":"g","nodes":{"g":{"type":"greeting","options":{"prompt":"welcome"},"outputs":{"next":"h"}},"h":{"type":"hangup"}}}'
SC_BROKEN_JSON='{"start":"g","nodes":{"g":{"type":'

TMP=$(mktemp -d /tmp/test_provision.XXXXXX)
LOG="$TMP/provision.log"
PID=""
PASSED=0
FAILED=0

pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1 $2"; FAILED=$((FAILED + 1)); }
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }

stop_service() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	PID=""
}

cleanup() {
	if [ -n "$PID" ]; then
		ctl tenant delete "$A" >/dev/null 2>&1
		ctl tenant delete "$B" >/dev/null 2>&1
	fi
	stop_service
	rm -rf "$TMP"
}
trap cleanup EXIT

# ctl ARGS...: runs pbxctl against the test service; sets OUT, ERR, RC.
ctl() {
	"$PBXCTL" --server "$SERVER" "$@" >"$TMP/out" 2>"$TMP/err"
	RC=$?
	OUT=$(cat "$TMP/out")
	ERR=$(cat "$TMP/err")
	return $RC
}

# expect NAME RC [PATTERN-IN-STDOUT-OR-STDERR]
expect() {
	local name=$1 want=$2 pat=${3:-}
	if [ "$RC" != "$want" ]; then
		fail "$name" "exit $RC, want $want (stdout: ${OUT:0:200}) (stderr: ${ERR:0:200})"
	elif [ -n "$pat" ] && ! printf '%s\n%s\n' "$OUT" "$ERR" | grep -qiE -- "$pat"; then
		fail "$name" "output lacks /$pat/ (stdout: ${OUT:0:200}) (stderr: ${ERR:0:200})"
	else
		pass "$name"
	fi
}

start_service() {
	local port=$1 redis_port=$2 log=$3
	"$PROVISION_BIN" --set "listen=tcp://127.0.0.1:$port" \
		--set "redis_port=$redis_port" --set log_level=debug \
		>"$log" 2>&1 &
	PID=$!
	SERVER="tcp://127.0.0.1:$port"
	# Up once it logs that it listens (the bind succeeded: an answer could
	# come from another process holding the port) and then answers; 1 is
	# its answer while Redis is down.
	for _ in $(seq 50); do
		kill -0 "$PID" 2>/dev/null || { wait "$PID"; PID=""; return 1; }
		if grep -qs "listening on $SERVER" "$log"; then
			"$PBXCTL" --server "$SERVER" --timeout-ms 200 \
				tenant list >/dev/null 2>&1
			case $? in 0 | 1) return 0 ;; esac
		fi
		sleep 0.1
	done
	stop_service
	return 1
}

# --- preconditions ----------------------------------------------------------
if ! rcli ping >/dev/null 2>&1; then
	fail redis_reachable "no Redis on port $REDIS_PORT"
	echo "$PASSED passed, $FAILED failed"
	exit 1
fi
started=""
for port in $(seq "$PROV_PORT" $((PROV_PORT + 20))); do
	if start_service "$port" "$REDIS_PORT" "$LOG"; then
		started=$port
		break
	fi
done
if [ -z "$started" ]; then
	fail service_starts "provision did not start: $(tail -3 "$LOG")"
	echo "$PASSED passed, $FAILED failed"
	exit 1
fi
pass service_starts

# --- tenants ----------------------------------------------------------------
ctl tenant create "$A" --name "Test A"
expect tenant_create 0 '^ok$'
ctl tenant create "$A" --name "Test A"
expect tenant_create_is_idempotent 0 '^ok$'
ctl tenant create "$A" --domain other.example
expect tenant_create_other_domain_conflicts 1 'already exists'
ctl tenant create "$B"
expect tenant_create_second 0
ctl tenant list
expect tenant_list_shows_domain_and_name 0 "^$A $A\.pbx\.local Test A$"
ctl tenant create "bad id!"
expect tenant_create_invalid_id 1 'tenant must be'

# --- numbers ----------------------------------------------------------------
ctl number connect "$A" "$NUM"
expect number_connect 0 '^ok$'
ctl number list "$A"
expect number_list_shows_default 0 "^\\$NUM default$"
ctl number connect "$A" "$NUM"
expect number_connect_is_idempotent 0 '^ok$'
ctl number connect "$B" "$NUM"
expect number_connect_other_tenant_conflicts 1 'connected to another tenant'
if printf '%s' "$ERR" | grep -qF "$A"; then
	fail conflict_does_not_name_owner "stderr names $A: $ERR"
else
	pass conflict_does_not_name_owner
fi
ctl number connect "nosuch-$$" "$NUM"
expect unknown_tenant_is_not_found 1 "unknown tenant nosuch-$$"
ctl number connect "$A" "12ab"
expect number_invalid 1 'number must be'
if [ "$(rcli GET "pbx:{sys}:did:$NUM")" = "$A" ]; then
	pass did_index_names_tenant
else
	fail did_index_names_tenant "pbx:{sys}:did:$NUM = $(rcli GET "pbx:{sys}:did:$NUM")"
fi

# --- scenarios --------------------------------------------------------------
printf '%s' "$SC_BROKEN_JSON" >"$TMP/broken.json"
ctl scenario put "$A" broken "$TMP/broken.json"
expect scenario_invalid_json_refused 1 'json|line|expected|syntax|end of'
if [ "$(rcli EXISTS "pbx:{$A}:scenario:broken")" = "0" ]; then
	pass scenario_invalid_not_stored
else
	fail scenario_invalid_not_stored "pbx:{$A}:scenario:broken exists"
fi
printf '%s' "$SC_BAD_PROMPT" >"$TMP/badprompt.json"
ctl scenario put "$A" main "$TMP/badprompt.json"
expect scenario_unknown_prompt_refused 1 'nosuch_prompt'
ctl scenario get "$A" default
expect scenario_get_default 0 '.'
ctl scenario list "$A"
expect scenario_list_shows_version 0 '^default v1$'

# --- prompts ----------------------------------------------------------------
head -c $((17 * 1024 * 1024)) /dev/zero >"$TMP/big.wav"
ctl prompt upload "$A" big "$TMP/big.wav"
expect prompt_oversized_refused 1 'limit'
# Random bytes, behind a text prefix: random bytes alone can start with an
# MPEG sync word and decode as (noisy) audio about once in 2000 runs.
{ printf 'this is not audio\n'; head -c 4096 /dev/urandom; } >"$TMP/noise.bin"
ctl prompt upload "$A" noise "$TMP/noise.bin"
expect prompt_not_audio_refused 1 'not a WAV/audio file'
if command -v sox >/dev/null 2>&1 &&
	sox -n -r 16000 -c 1 "$TMP/x.wav" synth 2 sine 440 2>/dev/null; then
	ctl prompt upload "$A" welcome "$TMP/x.wav"
	expect prompt_upload 0 '^ok$'
	ctl prompt list "$A"
	expect prompt_list_shows_duration 0 '^welcome 2000ms$'
	ulaw=$(rcli HSTRLEN "pbx:{$A}:prompt:welcome" ulaw)
	alaw=$(rcli HSTRLEN "pbx:{$A}:prompt:welcome" alaw)
	if [ "$ulaw" = 16000 ] && [ "$alaw" = 16000 ]; then
		pass prompt_stored_as_8k_g711
	else
		fail prompt_stored_as_8k_g711 "ulaw $ulaw bytes, alaw $alaw bytes"
	fi
	printf '%s' "$SC_GOOD_PROMPT" >"$TMP/goodprompt.json"
	ctl scenario put "$A" main "$TMP/goodprompt.json"
	expect scenario_with_known_prompt_stored 0 '^ok$'
	ctl scenario activate "$A" "$NUM" main
	expect scenario_activate 0 '^ok$'
	ctl number list "$A"
	expect number_list_shows_active 0 "^\\$NUM main$"
else
	fail prompt_upload "sox could not make the test WAV"
fi
ctl scenario activate "$A" "$NUM" nosuch
expect scenario_activate_unknown 1 'does not exist'

# --- garbage on the socket --------------------------------------------------
if [ -x "$ZMQ_GARBAGE" ]; then
	for mode in random empty multipart wrong-body; do
		if "$ZMQ_GARBAGE" "$SERVER" "$mode" 3000 >"$TMP/g.out" 2>&1; then
			pass "garbage_${mode}_gets_error_reply"
		else
			fail "garbage_${mode}_gets_error_reply" "$(cat "$TMP/g.out")"
		fi
	done
else
	fail garbage_random_gets_error_reply "no zmq_garbage at $ZMQ_GARBAGE"
fi
ctl tenant list
expect service_answers_after_garbage 0 "^$A "

# --- extensions -------------------------------------------------------------
ctl ext add "$A" 101 short
expect ext_short_password_refused 1 'password must be 8 to 64 characters'
ctl ext add "$A" 1x1 "$PASSWORD"
expect ext_invalid_refused 1 'extension must be'
ctl ext add "$A" 101 "$PASSWORD"
expect ext_add 0 '^ok$'
want=$(printf '%s' "101:$A.pbx.local:$PASSWORD" | md5sum | cut -d' ' -f1)
got=$(rcli HGET "pbx:{$A}:ext:101" ha1)
if [ "$got" = "$want" ]; then
	pass ext_ha1_is_md5_of_user_realm_password
else
	fail ext_ha1_is_md5_of_user_realm_password "ha1 $got, want $want"
fi
want=$(printf '%s' "101@$A.pbx.local:$A.pbx.local:$PASSWORD" | md5sum | cut -d' ' -f1)
got=$(rcli HGET "pbx:{$A}:ext:101" ha1b)
if [ "$got" = "$want" ]; then
	pass ext_ha1b_is_md5_of_user_at_domain
else
	fail ext_ha1b_is_md5_of_user_at_domain "ha1b $got, want $want"
fi
ctl ext list "$A"
expect ext_list 0 '^101$'

# The clear password: nowhere in Redis (every key, every value) or the log.
: >"$TMP/dump"
rcli --scan >"$TMP/keys"
while IFS= read -r k; do
	printf '%s\n' "$k" >>"$TMP/dump"
	case $(rcli TYPE "$k") in
	string) rcli GET "$k" ;;
	hash) rcli HGETALL "$k" ;;
	set) rcli SMEMBERS "$k" ;;
	list) rcli LRANGE "$k" 0 -1 ;;
	zset) rcli ZRANGE "$k" 0 -1 WITHSCORES ;;
	esac >>"$TMP/dump" 2>/dev/null
done <"$TMP/keys"
if grep -aqF "$PASSWORD" "$TMP/dump"; then
	fail password_not_in_redis "found in the Redis dump"
elif ! grep -aqF "pbx:{$A}:ext:101" "$TMP/dump"; then
	fail password_not_in_redis "the dump does not even hold the extension"
else
	pass password_not_in_redis
fi
if grep -aqF "$PASSWORD" "$LOG"; then
	fail password_not_in_log "found in the service log"
else
	pass password_not_in_log
fi
ctl ext remove "$A" 101
expect ext_remove 0 '^ok$'
ctl ext remove "$A" 101
expect ext_remove_unknown 1 'does not exist'

# --- tenant isolation -------------------------------------------------------
ctl scenario get "$B" main
expect isolation_scenario_get_not_found 1 'does not exist'
ctl prompt delete "$B" welcome
expect isolation_prompt_delete_not_found 1 'does not exist'
ctl scenario activate "$B" "$NUM" default
expect isolation_activate_foreign_number 1 'not connected'
ctl number disconnect "$B" "$NUM"
expect isolation_disconnect_foreign_number 1 'not connected'
ctl prompt list "$A"
expect isolation_prompt_still_there 0 '^welcome 2000ms$'

# --- deletes ----------------------------------------------------------------
ctl prompt delete "$A" welcome
expect prompt_delete 0 '^ok$'
ctl number disconnect "$A" "$NUM"
expect number_disconnect 0 '^ok$'
if [ "$(rcli EXISTS "pbx:{sys}:did:$NUM")" = "0" ]; then
	pass number_disconnect_clears_index
else
	fail number_disconnect_clears_index "pbx:{sys}:did:$NUM still set"
fi
ctl number connect "$A" "$NUM"
ctl tenant delete "$A"
expect tenant_delete 0 '^ok$'
left=$(rcli --scan --pattern "pbx:{$A}:*" | wc -l)
did=$(rcli EXISTS "pbx:{sys}:did:$NUM")
dom=$(rcli EXISTS "pbx:{sys}:domain:$A.pbx.local")
if [ "$left" = 0 ] && [ "$did" = 0 ] && [ "$dom" = 0 ]; then
	pass tenant_delete_removes_every_key
else
	fail tenant_delete_removes_every_key "$left keys, did $did, domain $dom"
fi
ctl tenant list
if printf '%s\n' "$OUT" | grep -q "^$A "; then
	fail tenant_delete_unlists "still listed"
else
	pass tenant_delete_unlists
fi
ctl tenant delete "$A"
expect tenant_delete_unknown 1 "unknown tenant $A"
ctl tenant delete "$B"

# --- the CLI's own failures -------------------------------------------------
ctl prompt upload "$B" x "$TMP/does-not-exist.wav"
expect cli_unreadable_file_is_usage 2 'cannot read'
ctl number
expect cli_missing_args_is_usage 2 'usage'
"$PBXCTL" --server "tcp://127.0.0.1:1" --timeout-ms 300 tenant list \
	>"$TMP/out" 2>"$TMP/err"
RC=$? OUT=$(cat "$TMP/out") ERR=$(cat "$TMP/err")
expect cli_unreachable_exits_3 3 'no answer from tcp://127.0.0.1:1 within 300 ms'

# --- Redis down: a second instance pointed at a port with no Redis ----------
stop_service
# A sanitizer build reports leaks at exit and errors as they happen.
sanitizer_clean() {
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$2"; then
		fail "$1" "$(grep -m1 -E 'Sanitizer|runtime error:' "$2")"
	else
		pass "$1"
	fi
}
sanitizer_clean service_log_has_no_sanitizer_report "$LOG"
dead_port=1
for p in $(seq $((REDIS_PORT + 100)) $((REDIS_PORT + 120))); do
	if ! redis-cli -p "$p" ping >/dev/null 2>&1; then
		dead_port=$p
		break
	fi
done
started=""
for port in $(seq "$PROV_PORT" $((PROV_PORT + 20))); do
	if start_service "$port" "$dead_port" "$TMP/dead.log"; then
		started=$port
		break
	fi
done
if [ -n "$started" ]; then
	ctl tenant list
	expect redis_down_is_internal 1 'storage unavailable'
	ctl tenant create "$A"
	expect redis_down_write_is_internal 1 'storage unavailable'
else
	fail redis_down_is_internal "provision did not start without Redis"
fi
stop_service
sanitizer_clean redis_down_log_has_no_sanitizer_report "$TMP/dead.log"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
