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
C="pvtest-c-$$"
# 13 digits whatever the pid's length (a 10-digit international number
# would keep its "+" in the canonical form: docs/scenario.md).
PID6=$(printf '%06d' $(($$ % 1000000)))
NUM="+1555${PID6}01"
NUM2="+1555${PID6}02"
NUM3="+1555${PID6}03"
# The canonical form each is stored and listed under (digits only).
CNUM="1555${PID6}01"
CNUM2="1555${PID6}02"
# Letters only: digits of the pid could hold an extension number, which
# the password rule refuses.
PASSWORD="secret-$(printf '%s' "$$" | tr 0-9 a-j)-pv"
# Scenario documents (docs/scenario.md): a greeting then a hang-up.
SC_BAD_PROMPT='{"start":"g","nodes":{"g":{"type":"greeting","options":{"prompt":"nosuch_prompt"},"outputs":{"next":"h"}},"h":{"type":"hangup"}}}'
SC_GOOD_PROMPT='{"start":"g","nodes":{"g":{"type":"greeting","options":{"prompt":"welcome"},"outputs":{"next":"h"}},"h":{"type":"hangup"}}}'
SC_BROKEN_JSON='{"start":"g","nodes":{"g":{"type":'
# greeting -> menu (digit 2, timeout, invalid) -> hang up 486; v2 hangs up 603.
SC_MENU_V1='{"start":"g","nodes":{"g":{"type":"greeting","options":{"prompt":"welcome"},"outputs":{"next":"menu"}},"menu":{"type":"ivr","options":{"prompt":"menu"},"outputs":{"digit:2":"bye","timeout":"bye","invalid":"bye"}},"bye":{"type":"hangup","options":{"code":486,"reason":"Busy Here"}}}}'
SC_MENU_V2='{"start":"g","nodes":{"g":{"type":"greeting","options":{"prompt":"welcome"},"outputs":{"next":"menu"}},"menu":{"type":"ivr","options":{"prompt":"menu"},"outputs":{"digit:2":"bye","timeout":"bye","invalid":"bye"}},"bye":{"type":"hangup","options":{"code":603,"reason":"Decline"}}}}'
SC_QUEUE_SALES='{"start":"q","nodes":{"q":{"type":"queue","options":{"queue":"sales"},"outputs":{"timeout":"bye"}},"bye":{"type":"hangup"}}}'
SC_FAX='{"start":"f","nodes":{"f":{"type":"fax","options":{"box":"inbox"}}}}'
SC_HANGUP='{"start":"h","nodes":{"h":{"type":"hangup"}}}'
# Rings extension 101, then hangs up.
SC_RING_101='{"start":"s","nodes":{"s":{"type":"subscriber","options":{"kind":"internal","target":"101","timeout":20},"outputs":{"next":"h"}},"h":{"type":"hangup"}}}'

TMP=$(mktemp -d /tmp/test_provision.XXXXXX)

# CURVE as the stack runs it (docs/security.md): provision's key and an
# operator key it allows; provision, pbxctl and zmq_garbage read them from
# the environment.
mkdir -p -m 0700 "$TMP/curve/allow"
"$PBXCTL" keygen provision --dir "$TMP/curve" >/dev/null &&
	"$PBXCTL" keygen operator --dir "$TMP/curve" >/dev/null &&
	cp "$TMP/curve/operator.pub" "$TMP/curve/allow/" || {
	echo "cannot make keys in $TMP/curve" >&2
	exit 1
}
export PBX_CURVE_SECRET_FILE=$TMP/curve/provision.key
export PBX_CURVE_ALLOW_DIR=$TMP/curve/allow
export PBX_KEY=$TMP/curve/operator.key
LOG="$TMP/provision.log"
PID=""
PASSED=0
FAILED=0

pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1 $2"; FAILED=$((FAILED + 1)); }
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }
# A sanitizer build reports leaks at exit and errors as they happen.
sanitizer_clean() {
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$2"; then
		fail "$1" "$(grep -m1 -E 'Sanitizer|runtime error:' "$2")"
	else
		pass "$1"
	fi
}
# check NAME WANT GOT
check() {
	if [ "$3" = "$2" ]; then pass "$1"; else fail "$1" "got '$3', want '$2'"; fi
}

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
		ctl tenant delete "$C" >/dev/null 2>&1
		ctl trunk remove "pvt1-$$" >/dev/null 2>&1
		ctl trunk remove "pvt2-$$" >/dev/null 2>&1
	fi
	stop_service
	if [ -n "${PID2:-}" ]; then
		kill "$PID2" 2>/dev/null
		wait "$PID2" 2>/dev/null
	fi
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
	"$PROVISION_BIN" --set "listen=tcp://127.0.0.1:$port" --set metrics_listen=0 \
		--set "redis_port=$redis_port" --set log_level=debug \
		--set "media_root=$TMP/media" \
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
expect number_list_shows_default 0 "^$CNUM default v1$"
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
if [ "$(rcli GET "pbx:{sys}:did:$CNUM")" = "$A" ]; then
	pass did_index_names_tenant
else
	fail did_index_names_tenant "pbx:{sys}:did:$NUM = $(rcli GET "pbx:{sys}:did:$CNUM")"
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
	expect scenario_with_known_prompt_stored 0 '^main v1$'
	ctl scenario activate "$A" "$NUM" main
	expect scenario_activate 0 "^$CNUM main v1$"
	ctl number list "$A"
	expect number_list_shows_active 0 "^$CNUM main v1$"
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
# Weak passwords are refused by the service, which pbxctl just shows.
ctl ext add "$A" 101 password
expect ext_common_password_refused 1 'password is one of the most common passwords'
ctl ext add "$A" 101 aaaaaaaa
expect ext_one_char_password_refused 1 'password must not be one character repeated'
ctl ext add "$A" 101 "        "
expect ext_blank_password_refused 1 'password must not be only spaces'
ctl ext add "$A" 10110110 10110110
expect ext_password_is_the_extension_refused 1 'password must not contain the extension number'
ctl ext add "$A" 101 "x${A}x"
expect ext_password_with_tenant_name_refused 1 "password must not contain the tenant's name"
printf '%s\n' 'Test A phone' | ctl ext add "$A" 101 -
expect ext_password_with_tenant_display_name_refused 1 "password must not contain the tenant's name"
check ext_weak_passwords_store_nothing 0 "$(rcli EXISTS "pbx:{$A}:ext:101")"
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
printf '%s' "$SC_HANGUP" >"$TMP/hangup.json"
printf '%s' "$SC_RING_101" >"$TMP/ring101.json"
ctl scenario put "$A" ring "$TMP/ring101.json"
expect ext_scenario_rings_it 0 '^ring v1$'
ctl ext remove "$A" 101
expect ext_in_use_not_removed 1 'extension 101 is used by scenario ring v1 \(node s\); change those scenarios first'
check ext_in_use_still_listed 1 "$(rcli SISMEMBER "pbx:{$A}:exts" 101)"
check ext_in_use_keeps_credentials 1 "$(rcli EXISTS "pbx:{$A}:ext:101")"
ctl scenario put "$A" ring "$TMP/hangup.json"
ctl ext remove "$A" 101
expect ext_remove 0 '^ok$'
ctl ext remove "$A" 101
expect ext_remove_again_is_ok 0 '^ok \(already absent\)$'
ctl ext remove "$A" 109
expect ext_remove_never_added_is_ok 0 '^ok \(already absent\)$'
# Credentials an add cut short left unlisted go too.
rcli HSET "pbx:{$A}:ext:108" ha1 0123 >/dev/null
ctl ext remove "$A" 108
check ext_remove_absent_clears_unlisted_credentials "0 0" "$RC $(rcli EXISTS "pbx:{$A}:ext:108")"
ctl ext remove "nosuch-$$" 101
expect ext_remove_unknown_tenant 1 "unknown tenant nosuch-$$"

# --- tenant isolation -------------------------------------------------------
ctl scenario get "$B" main
expect isolation_scenario_get_not_found 1 'does not exist'
ctl prompt delete "$B" welcome
expect isolation_prompt_delete_is_absent_in_b 0 '^ok \(already absent\)$'
ctl scenario activate "$B" "$NUM" default
expect isolation_activate_foreign_number 1 'not connected'
ctl number disconnect "$B" "$NUM"
expect isolation_disconnect_foreign_number 1 'not connected'
ctl prompt list "$A"
expect isolation_prompt_still_there 0 '^welcome 2000ms$'

# --- voicemail messages (docs/voicemail.md) ---------------------------------
# A message as a media worker leaves it: the file in the media store, then
# its hash and its id in the box.
VMID="1765100000000-00000000000000aa"
mkdir -p "$TMP/media/$A/vm"
sox -n -r 8000 -b 16 -c 1 "$TMP/media/$A/vm/$VMID.wav" synth 1.5 sine 440 \
	2>/dev/null
rcli HSET "pbx:{$A}:vm:msg:$VMID" box general caller 79161234567 \
	called 1000 time_ms 1765100000000 duration_ms 1500 bytes 24044 \
	status new call_id vm-1 >/dev/null
rcli ZADD "pbx:{$A}:vm:box:general" 1765100000000 "$VMID" >/dev/null
ctl vm list "$A" general
expect vm_list_shows_the_new_message 0 \
	"^$VMID new 2025-12-07T09:33:20Z 1.50s from 79161234567 to 1000$"
"$PBXCTL" --server "$SERVER" vm get "$A" general "$VMID" >"$TMP/got.wav" \
	2>"$TMP/err"
RC=$?
check vm_get_exits_0 0 "$RC"
if cmp -s "$TMP/got.wav" "$TMP/media/$A/vm/$VMID.wav"; then
	pass vm_get_returns_the_wav_bytes
else
	fail vm_get_returns_the_wav_bytes "$(wc -c <"$TMP/got.wav") bytes"
fi
ctl vm get "$A" other "$VMID"
expect vm_get_from_another_box_is_not_found 1 'no message'
ctl vm get "$B" general "$VMID"
expect vm_get_from_another_tenant_is_not_found 1 'no message'
ctl vm get "$A" general "../../$B/vm/x"
expect vm_get_path_id_is_invalid 1 'not a message id'
ctl vm heard "$A" general "$VMID"
expect vm_heard 0 '^ok$'
ctl vm list "$A" general
expect vm_list_shows_heard 0 "^$VMID heard "
# A tenant's own key reaches its messages only.
"$PBXCTL" keygen "tenant-$B" --dir "$TMP/curve" >/dev/null &&
	cp "$TMP/curve/tenant-$B.pub" "$TMP/curve/allow/"
PBX_KEY=$TMP/curve/tenant-$B.key ctl vm list "$A" general
expect vm_list_with_another_tenants_key_is_denied 1 "may only manage tenant $B"
PBX_KEY=$TMP/curve/tenant-$B.key ctl vm list "$B" general
expect vm_list_with_the_tenants_key 0
# The phones' PIN lock-out (the worker counts in pbx:{t}:vm:pinfail).
rcli SET "pbx:{$A}:vm:pinfail:general" 10 EX 900 >/dev/null
PBX_KEY=$TMP/curve/tenant-$B.key ctl vm unlock "$A" general
expect vm_unlock_with_another_tenants_key_is_denied 1 "may only manage tenant $B"
check vm_unlock_denied_keeps_the_lock 10 "$(rcli GET "pbx:{$A}:vm:pinfail:general")"
ctl vm unlock "$A" general
expect vm_unlock_clears_the_count 0 '^box general: unlocked \(10 wrong PINs\)$'
check vm_unlock_deleted_the_key 0 "$(rcli EXISTS "pbx:{$A}:vm:pinfail:general")"
ctl vm unlock "$A" general
expect vm_unlock_of_an_open_box 0 '^box general: was not locked \(0 wrong PINs\)$'
ctl vm unlock "$A" '../x'
expect vm_unlock_bad_box_is_invalid 1 'voicemail box'
# The tenant's zone (voicemail says the time in it).
ctl tenant timezone "$A"
expect tenant_timezone_defaults_to_utc 0 '^timezone: UTC$'
ctl tenant timezone "$A" Europe/Moscow
expect tenant_timezone_set 0 '^timezone: Europe/Moscow$'
check tenant_timezone_stored Europe/Moscow "$(rcli HGET "pbx:{$A}:tenant" timezone)"
ctl tenant timezone "$A" Mars/Olympus
expect tenant_timezone_unknown_is_refused 1 'unknown time zone'
ctl tenant timezone "$A" ../../etc/passwd
expect tenant_timezone_path_is_refused 1 'unknown time zone'
ctl tenant language "$A"
expect tenant_language_still_shown 0 '^language: (en|ru)$'
ctl vm delete "$A" general "$VMID"
expect vm_delete 0 '^ok$'
check vm_delete_removes_the_file 0 \
	"$(find "$TMP/media/$A/vm" -name '*.wav' | wc -l)"
check vm_delete_removes_the_hash 0 "$(rcli EXISTS "pbx:{$A}:vm:msg:$VMID")"
ctl vm delete "$A" general "$VMID"
expect vm_delete_is_idempotent 0 'already absent'
ctl vm list "$A" general
expect vm_list_empty 0 '^$'

# --- faxes (docs/fax.md) ------------------------------------------------------
# A fax as a media worker leaves it: its TIFF and PDF in the media store,
# then its hash and its id in the box; a failed fax with no file beside it.
FXID="1765100000000-00000000000000fa"
FXBAD="1765100000001-00000000000000fb"
mkdir -p "$TMP/media/$A/fax"
printf 'II*\0tiff-bytes' >"$TMP/media/$A/fax/$FXID.tif"
printf '%%PDF-1.4 pdf-bytes' >"$TMP/media/$A/fax/$FXID.pdf"
rcli HSET "pbx:{$A}:fax:msg:$FXID" box office caller 79161234567 \
	called 1000 time_ms 1765100000000 duration_ms 21000 \
	remote_id "ACME FAX" pages 2 resolution 204x196 width 1728 \
	bit_rate 14400 ecm 1 transport audio result 0 result_text OK \
	ended done bad_rows 0 files tif,pdf status new call_id fx-1 >/dev/null
rcli HSET "pbx:{$A}:fax:msg:$FXBAD" box office caller 79161234568 \
	called 1000 time_ms 1765100001000 duration_ms 30000 remote_id "" \
	pages 0 resolution 0x0 width 0 bit_rate 0 ecm 0 transport audio \
	result 13 result_text "Unexpected message received" ended done \
	bad_rows 0 files "" status new call_id fx-2 >/dev/null
rcli ZADD "pbx:{$A}:fax:box:office" 1765100000000 "$FXID" \
	1765100001000 "$FXBAD" >/dev/null
ctl fax list "$A" office
expect fax_list_shows_a_received_fax 0 \
	"^$FXID new 2025-12-07T09:33:20Z 2 pages 21s from 79161234567 \(ACME FAX\) to 1000 204x196 dpi 14400 bit/s ecm tif,pdf OK$"
expect fax_list_shows_a_failed_fax_with_its_result 0 \
	"^$FXBAD new 2025-12-07T09:33:21Z 0 pages 30s from 79161234568 \(\) to 1000 0x0 dpi 0 bit/s noecm - Unexpected message received$"
"$PBXCTL" --server "$SERVER" fax get "$A" office "$FXID" >"$TMP/got.pdf" \
	2>"$TMP/err"
check fax_get_exits_0 0 "$?"
if cmp -s "$TMP/got.pdf" "$TMP/media/$A/fax/$FXID.pdf"; then
	pass fax_get_returns_the_pdf_by_default
else
	fail fax_get_returns_the_pdf_by_default "$(head -c 20 "$TMP/got.pdf")"
fi
"$PBXCTL" --server "$SERVER" fax get "$A" office "$FXID" tif \
	>"$TMP/got.tif" 2>"$TMP/err"
if cmp -s "$TMP/got.tif" "$TMP/media/$A/fax/$FXID.tif"; then
	pass fax_get_tif_returns_the_tiff
else
	fail fax_get_tif_returns_the_tiff "$(cat "$TMP/err")"
fi
ctl fax get "$A" office "$FXID" png
expect fax_get_bad_format_is_invalid 1 'is not pdf or tif'
ctl fax get "$A" office "$FXBAD"
expect fax_get_of_a_failed_fax_says_no_file 1 'has no tif file'
ctl fax get "$A" other "$FXID"
expect fax_get_from_another_box_is_not_found 1 'no fax'
ctl fax get "$B" office "$FXID"
expect fax_get_from_another_tenant_is_not_found 1 'no fax'
ctl fax get "$A" office "../../$B/fax/x"
expect fax_get_path_id_is_invalid 1 'not a fax id'
PBX_KEY=$TMP/curve/tenant-$B.key ctl fax list "$A" office
expect fax_list_with_another_tenants_key_is_denied 1 "may only manage tenant $B"
ctl fax delete "$A" office "$FXID"
expect fax_delete 0 '^ok$'
check fax_delete_removes_both_files 0 \
	"$(find "$TMP/media/$A/fax" -name "$FXID.*" | wc -l)"
check fax_delete_removes_the_hash 0 "$(rcli EXISTS "pbx:{$A}:fax:msg:$FXID")"
ctl fax delete "$A" office "$FXID"
expect fax_delete_is_idempotent 0 'already absent'
ctl fax delete "$A" office "$FXBAD"
ctl fax list "$A" office
expect fax_list_empty 0 '^$'

# --- deletes ----------------------------------------------------------------
# A prompt stays while a scenario plays it: the latest version, the version
# a number runs, or the one it is scheduled to run.
ctl prompt delete "$A" welcome
expect prompt_in_use_not_deleted 1 'prompt welcome is used by scenario main v1 \(node g\)'
check prompt_in_use_still_listed 1 "$(rcli SISMEMBER "pbx:{$A}:prompts" welcome)"
ctl scenario put "$A" main "$TMP/hangup.json"
ctl prompt delete "$A" welcome
expect prompt_used_by_active_version_not_deleted 1 "prompt welcome is used by scenario main v1 \(active on $CNUM\)"
ctl scenario activate "$A" "$NUM" main
ctl scenario activate "$A" "$NUM" main --version 1 --at 2030-01-01T00:00:00Z
ctl prompt delete "$A" welcome
expect prompt_used_by_scheduled_version_not_deleted 1 "prompt welcome is used by scenario main v1 \(scheduled on $CNUM\)"
check prompt_in_use_keeps_audio 1 "$(rcli EXISTS "pbx:{$A}:prompt:welcome")"
ctl scenario activate "$A" "$NUM" main --version 2
ctl prompt delete "$A" welcome
expect prompt_delete 0 '^ok$'
ctl prompt delete "$A" welcome
expect prompt_delete_again_is_ok 0 '^ok \(already absent\)$'
# main v1 still plays it, but nothing runs v1 now: making v1 run again
# (activate, or roll back to it) is refused rather than failing calls.
ctl scenario activate "$A" "$NUM" main --version 1
expect activate_version_naming_deleted_prompt_refused 1 '^pbxctl: scenario main v1 uses what no longer exists \(node g: prompt welcome\); put a version without it$'
ctl scenario activate "$A" "$NUM" main --version 1 --at 2030-01-01T00:00:00Z
expect schedule_version_naming_deleted_prompt_refused 1 'scenario main v1 uses what no longer exists'
ctl scenario rollback "$A" "$NUM"
expect rollback_to_version_naming_deleted_prompt_refused 1 'scenario main v1 uses what no longer exists'
ctl number list "$A"
expect refused_activation_changes_nothing 0 "^$CNUM main v2$"
ctl number disconnect "$A" "$NUM"
expect number_disconnect 0 '^ok$'
if [ "$(rcli EXISTS "pbx:{sys}:did:$CNUM")" = "0" ]; then
	pass number_disconnect_clears_index
else
	fail number_disconnect_clears_index "pbx:{sys}:did:$NUM still set"
fi
ctl number disconnect "$A" "$NUM"
expect number_disconnect_again_is_ok 0 '^ok \(already absent\)$'
ctl number connect "$A" "$NUM"
ctl tenant delete "$A"
expect tenant_delete 0 '^ok$'
left=$(rcli --scan --pattern "pbx:{$A}:*" | wc -l)
did=$(rcli EXISTS "pbx:{sys}:did:$CNUM")
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
expect tenant_delete_again_is_ok 0 '^ok \(already absent\)$'
ctl tenant delete "$B"

# --- scenario versions ------------------------------------------------------
# Tenant C runs the versioning, objects, features, simulate checks on its
# own numbers, so the sections above stay independent of them.
sox -n -r 8000 -c 1 "$TMP/p.wav" synth 1 sine 440 2>/dev/null
ctl tenant create "$C"
ctl prompt upload "$C" welcome "$TMP/p.wav"
ctl prompt upload "$C" menu "$TMP/p.wav"
expect versions_setup_prompts 0 '^ok$'
printf '%s' "$SC_MENU_V1" >"$TMP/v1.json"
printf '%s' "$SC_MENU_V2" >"$TMP/v2.json"
ctl scenario put "$C" main "$TMP/v1.json"
expect version_put_creates_v1 0 '^main v1$'
ctl scenario put "$C" main "$TMP/v1.json"
expect version_put_same_document_keeps_v1 0 '^main v1 \(unchanged\)$'
check version_head_latest_is_1 1 "$(rcli HGET "pbx:{$C}:scenario:main" latest)"
v1_sha=$(rcli HGET "pbx:{$C}:scenario:main:v1" sha1)
check version_sha1_is_sha1_of_document "$(sha1sum <"$TMP/v1.json" | cut -d' ' -f1)" "$v1_sha"
ctl scenario put "$C" main - <"$TMP/v2.json"
expect version_put_changed_creates_v2 0 '^main v2$'
check version_head_latest_is_2 2 "$(rcli HGET "pbx:{$C}:scenario:main" latest)"
check version_v1_is_untouched "$v1_sha" "$(rcli HGET "pbx:{$C}:scenario:main:v1" sha1)"
if [ "$(rcli HGET "pbx:{$C}:scenario:main:v2" json)" = "$SC_MENU_V2" ] &&
	[ -n "$(rcli HGET "pbx:{$C}:scenario:main:v2" created_ms)" ]; then
	pass version_hash_holds_json_and_created_ms
else
	fail version_hash_holds_json_and_created_ms "$(rcli HGETALL "pbx:{$C}:scenario:main:v2" | head -c 300)"
fi
ctl scenario put "$C" main "$TMP/v1.json"
expect version_put_old_document_again_is_v3 0 '^main v3$'
ctl scenario get "$C" main --version 2
if [ "$RC" = 0 ] && [ "$OUT" = "$SC_MENU_V2" ]; then
	pass version_get_by_number
else
	fail version_get_by_number "rc $RC: ${OUT:0:200} ${ERR:0:200}"
fi
ctl scenario get "$C" main --version 9
expect version_get_missing_version 1 'no version 9 \(latest is v3\)'
ctl scenario history "$C" main
if [ "$RC" = 0 ] && [ "$(printf '%s\n' "$OUT" | wc -l)" = 3 ] &&
	printf '%s\n' "$OUT" | sed -n 1p | grep -qE '^v3  20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z  [0-9a-f]{12}' &&
	printf '%s\n' "$OUT" | sed -n 3p | grep -q "^v1  .*  ${v1_sha:0:12}"; then
	pass version_history_lists_every_version
else
	fail version_history_lists_every_version "rc $RC: ${OUT:0:300} ${ERR:0:200}"
fi
ctl scenario diff "$C" main 1 2
expect version_diff_names_the_changed_node 0 '^~ node bye: options changed$'
ctl scenario diff "$C" main 1 3
expect version_diff_of_equal_documents 0 '^no changes$'
ctl scenario diff "$C" nosuch 1 2
expect version_diff_unknown_scenario 1 'scenario nosuch does not exist'

# --- activation and rollback -------------------------------------------------
NKEY="pbx:{$C}:number:$CNUM2"
pair() { printf '%s %s' "$(rcli HGET "$NKEY" scenario)" "$(rcli HGET "$NKEY" version)"; }
prev() { printf '%s %s' "$(rcli HGET "$NKEY" prev_scenario)" "$(rcli HGET "$NKEY" prev_version)"; }
ctl number connect "$C" "$NUM2"
check activate_connect_runs_default_v1 "default 1" "$(pair)"
ctl scenario activate "$C" "$NUM2" main --version 1
expect activate_version_1 0 "^$CNUM2 main v1$"
check activate_sets_pair "main 1" "$(pair)"
check activate_keeps_previous_pair "default 1" "$(prev)"
ctl scenario activate "$C" "$NUM2" main
expect activate_latest_resolves_the_number 0 "^$CNUM2 main v3$"
check activate_latest_stores_3 "main 3" "$(pair)"
ctl scenario put "$C" main "$TMP/v2.json" >/dev/null
check activate_later_put_does_not_move_the_number "main 3" "$(pair)"
ctl scenario activate "$C" "$NUM2" main --version 3
check activate_same_pair_keeps_prev "main 1" "$(prev)"
ctl scenario rollback "$C" "$NUM2"
expect rollback_returns_to_previous 0 "^$CNUM2 main v1$"
check rollback_pair "main 1" "$(pair)"
check rollback_swaps_prev "main 3" "$(prev)"
ctl scenario rollback "$C" "$NUM2"
check rollback_twice_is_redo "main 3" "$(pair)"
ctl scenario activate "$C" "$NUM2" main --version 99
expect activate_missing_version 1 'no version 99'
ctl scenario activate "$C" "$NUM2" nosuch
expect activate_missing_scenario 1 'scenario nosuch does not exist'
ctl number connect "$C" "$NUM3"
ctl scenario rollback "$C" "$NUM3"
expect rollback_without_previous 1 'no previous scenario'
ctl scenario rollback "$C" "+1999$$"
expect rollback_foreign_number 1 'not connected'

now=$(date +%s)
future=$(date -u -d "@$((now + 3600))" +%Y-%m-%dT%H:%M:%SZ)
ctl scenario activate "$C" "$NUM2" main --version 2 --at "$future"
expect activate_at_future_is_scheduled 0 "^$CNUM2 main v2 from $future$"
check activate_at_future_keeps_pair "main 3" "$(pair)"
got="$(rcli HGET "$NKEY" pending_scenario) $(rcli HGET "$NKEY" pending_version) $(rcli HGET "$NKEY" pending_at_ms)"
check activate_at_future_pending_fields "main 2 $(((now + 3600) * 1000))" "$got"
ctl number list "$C"
expect activate_at_future_listed 0 "^$CNUM2 main v3, then main v2 from $future$"
ctl scenario history "$C" main
expect activate_at_future_in_history 0 "^v2  .*  scheduled on $CNUM2 from $future"
ctl scenario activate "$C" "$NUM2" main --version 1 --at "2020-01-01T00:00:00+03:00"
expect activate_at_past_is_now 0 "^$CNUM2 main v1$"
if printf '%s' "$ERR" | grep -q 'not in the future: activated now'; then
	pass activate_at_past_warns
else
	fail activate_at_past_warns "stderr: $ERR"
fi
check activate_at_past_sets_pair "main 1" "$(pair)"
check activate_clears_pending 0 "$(rcli HEXISTS "$NKEY" pending_scenario)"
# A schedule that falls due is used as the active pair at once (router and
# list), and becomes the stored pair on the next write to the number.
ctl scenario activate "$C" "$NUM2" main --version 2 --at "$(($(date +%s%3N) + 2000))"
expect activate_soon_is_scheduled 0 "^$CNUM2 main v2 from "
sleep 2.5
ctl number list "$C"
expect activate_due_schedule_is_active 0 "^$CNUM2 main v2$"
check activate_due_schedule_not_yet_folded "main 1" "$(pair)"
ctl scenario rollback "$C" "$NUM2"
expect rollback_after_due_schedule 0 "^$CNUM2 main v1$"
check rollback_after_due_schedule_prev "main 2" "$(prev)"
check rollback_clears_pending 0 "$(rcli HEXISTS "$NKEY" pending_at_ms)"
ctl scenario activate "$C" "$NUM2" main --at "not-a-time"
expect activate_bad_time_is_usage 2 '--at takes a time'

# --- concurrency --------------------------------------------------------------
# A second service on the same Redis: half of the racing requests go to
# each, so what keeps versions and pairs whole is the Redis scripts, not
# one service handling requests one at a time.
PID2=""
SERVER2=""
for port in $(seq $((PROV_PORT + 30)) $((PROV_PORT + 50))); do
	"$PROVISION_BIN" --set "listen=tcp://127.0.0.1:$port" --set metrics_listen=0 \
		--set "redis_port=$REDIS_PORT" >"$TMP/prov2.log" 2>&1 &
	PID2=$!
	for _ in $(seq 30); do
		grep -qs "listening on tcp://127.0.0.1:$port" "$TMP/prov2.log" && break
		kill -0 "$PID2" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$PID2" 2>/dev/null && grep -qs "listening on" "$TMP/prov2.log"; then
		SERVER2="tcp://127.0.0.1:$port"
		break
	fi
	wait "$PID2" 2>/dev/null
	PID2=""
done
[ -n "$SERVER2" ] && pass second_service_starts || fail second_service_starts "$(tail -2 "$TMP/prov2.log")"
SERVER2=${SERVER2:-$SERVER}
# srv I: the service request I goes to.
srv() { if [ $(($1 % 2)) = 0 ]; then echo "$SERVER"; else echo "$SERVER2"; fi; }
# 10 puts of different documents at once: versions 2..11, each once.
printf '%s' "$SC_MENU_V1" >"$TMP/c0.json"
ctl scenario put "$C" conc "$TMP/c0.json"
for i in $(seq 1 10); do
	printf '%s' "$SC_MENU_V1" | sed "s/\"start\"/\"description\":\"doc $i\",\"start\"/" >"$TMP/c$i.json"
done
for i in $(seq 1 10); do
	"$PBXCTL" --server "$(srv "$i")" --timeout-ms 10000 scenario put "$C" conc "$TMP/c$i.json" >"$TMP/cput$i.out" 2>&1 &
done
wait_children() {
	for p in $(jobs -p); do
		[ "$p" = "$PID" ] || [ "$p" = "$PID2" ] || wait "$p"
	done
}
wait_children
got=$(cat "$TMP"/cput*.out | sed -n 's/^conc v\([0-9]*\)$/\1/p' | sort -n | tr '\n' ' ')
check concurrent_puts_get_distinct_gapless_versions "2 3 4 5 6 7 8 9 10 11 " "$got"
check concurrent_puts_latest_is_11 11 "$(rcli HGET "pbx:{$C}:scenario:conc" latest)"
shas=$(for v in $(seq 1 11); do rcli HGET "pbx:{$C}:scenario:conc:v$v" sha1; done | sort -u | grep -c .)
check concurrent_puts_every_version_distinct 11 "$shas"
ok=1
for i in $(seq 1 10); do
	v=$(sed -n 's/^conc v\([0-9]*\)$/\1/p' "$TMP/cput$i.out")
	[ "$(rcli HGET "pbx:{$C}:scenario:conc:v$v" json)" = "$(cat "$TMP/c$i.json")" ] || ok=0
done
check concurrent_puts_each_version_holds_its_document 1 "$ok"
# Activations and rollbacks racing on one number: the pair stays whole.
for i in $(seq 1 20); do
	if [ $((i % 3)) = 0 ]; then
		"$PBXCTL" --server "$(srv "$i")" --timeout-ms 10000 scenario rollback "$C" "$NUM2" >/dev/null 2>&1 &
	else
		"$PBXCTL" --server "$(srv "$i")" --timeout-ms 10000 scenario activate "$C" "$NUM2" conc --version $((i % 11 + 1)) >/dev/null 2>&1 &
	fi
done
wait_children
read -r s v <<<"$(pair)"
read -r ps pv <<<"$(prev)"
if [ -n "$s" ] && [ -n "$v" ] && [ "$(rcli HEXISTS "pbx:{$C}:scenario:$s:v$v" json)" = 1 ] &&
	[ -n "$ps" ] && [ -n "$pv" ] && [ "$(rcli HEXISTS "pbx:{$C}:scenario:$ps:v$pv" json)" = 1 ] &&
	[ "$(rcli HEXISTS "$NKEY" pending_scenario)" = 0 ]; then
	pass concurrent_activate_rollback_leave_a_whole_pair
else
	fail concurrent_activate_rollback_leave_a_whole_pair "pair '$s $v' prev '$ps $pv'"
fi
if [ -n "$PID2" ]; then
	kill "$PID2" 2>/dev/null
	wait "$PID2" 2>/dev/null
	PID2=""
	sanitizer_clean second_service_log_has_no_sanitizer_report "$TMP/prov2.log"
fi

# --- tenant objects -------------------------------------------------------------
rev() { rcli GET "pbx:{$C}:objects_rev"; }
check objects_default_queue_made_by_connect '{"description":"the tenant'"'"'s default queue (created by number connect)"}' \
	"$(rcli HGET "pbx:{$C}:objects" queue:default)"
r0=$(rev)
printf '%s' '{"max_wait":120,"strategy":"ring_all"}' >"$TMP/q.json"
ctl object put "$C" queue sales "$TMP/q.json"
expect object_put 0 '^ok$'
check object_put_bumps_revision $((r0 + 1)) "$(rev)"
ctl object put "$C" queue sales "$TMP/q.json"
check object_put_same_document_keeps_revision $((r0 + 1)) "$(rev)"
ctl object get "$C" queue sales
expect object_get 0 '^\{"max_wait":120,"strategy":"ring_all"\}$'
printf '%s' '{"max_wait":"long","bogus":1}' >"$TMP/bad.json"
ctl object put "$C" queue broken "$TMP/bad.json"
expect object_bad_document_refused 1 'max_wait|bogus'
check object_bad_document_not_stored 0 "$(rcli HEXISTS "pbx:{$C}:objects" queue:broken)"
check object_bad_document_keeps_revision $((r0 + 1)) "$(rev)"
ctl object put "$C" gadget x "$TMP/q.json"
expect object_unknown_kind_refused 1 'kind must be one of'
ctl object put "$C" queue sales - <<<'{"max_wait": 120,'
expect object_broken_json_refused 1 '.'
ctl object list "$C"
expect object_list 0 '^queue sales$'
ctl object list "$C" schedule
if [ "$RC" = 0 ] && [ -z "$OUT" ]; then pass object_list_by_kind; else fail object_list_by_kind "rc $RC: $OUT $ERR"; fi
# An object's warnings carry one prefix, pbxctl's.
ctl object put "$C" list empty - <<<'{"mode":"black","entries":[]}'
if [ "$RC" = 0 ] && printf '%s\n' "$ERR" | grep -q '^pbxctl: warning: list: is empty$' &&
	! printf '%s\n' "$ERR" | grep -q 'warning: warning:'; then
	pass object_warning_has_one_prefix
else
	fail object_warning_has_one_prefix "rc $RC: ${OUT:0:200} ${ERR:0:300}"
fi
ctl object get "$C" queue nosuch
expect object_get_unknown 1 'queue nosuch does not exist'
printf '%s' "$SC_QUEUE_SALES" >"$TMP/qs.json"
ctl scenario put "$C" sales "$TMP/qs.json"
expect object_scenario_may_reference_it 0 '^sales v1$'
printf '%s' "$SC_QUEUE_SALES" | sed 's/"queue":"sales"/"queue":"nosuchq"/' >"$TMP/qn.json"
ctl scenario put "$C" sales2 "$TMP/qn.json"
expect object_missing_reference_refused 1 'nosuchq'
ctl object delete "$C" queue sales
expect object_in_use_not_deleted 1 'queue sales is used by scenario sales v1'
check object_in_use_still_stored 1 "$(rcli HEXISTS "pbx:{$C}:objects" queue:sales)"
ctl object put "$C" queue spare "$TMP/q.json"
r1=$(rev)
ctl object delete "$C" queue spare
expect object_delete 0 '^ok$'
check object_delete_removes_field 0 "$(rcli HEXISTS "pbx:{$C}:objects" queue:spare)"
check object_delete_bumps_revision $((r1 + 1)) "$(rev)"
ctl object delete "$C" queue spare
expect object_delete_again_is_ok 0 '^ok \(already absent\)$'
# A room's dialable number is unique in its tenant (docs/scenario.md).
ctl object put "$C" conference r1 - <<<'{"number":"300"}'
expect room_number_stored 0 '^ok$'
ctl object put "$C" conference r2 - <<<'{"number":"300"}'
expect room_number_taken_refused 1 'conference r1 already has number 300'
check room_number_taken_not_stored 0 "$(rcli HEXISTS "pbx:{$C}:objects" conference:r2)"
ctl object put "$C" conference r1 - <<<'{"number":"300","max_members":5}'
expect room_number_same_room_may_keep_it 0 '^ok$'
ctl object put "$C" conference r2 - <<<'{"number":"301"}'
expect room_number_other_number_stored 0 '^ok$'
ctl object delete "$C" conference r1
ctl object delete "$C" conference r2

# --- queue agents and statistics (the queue-manager's script) ---------------------
ctl ext add "$C" 251 "$PASSWORD"
ctl ext add "$C" 252 "$PASSWORD"
printf '%s' '{"strategy":"linear","agents":["251","252"]}' >"$TMP/qa.json"
ctl object put "$C" queue agentsq "$TMP/qa.json"
expect queue_with_agents_stored 0 '^ok$'
ctl queue agent pause "$C" 251 "lunch"
expect queue_agent_pause 0 '^251 paused \(lunch\)$'
check queue_agent_pause_stored 1 "$(rcli HGET "pbx:{$C}:qm:agents" 251 | grep -c '"st":"paused"')"
ctl queue agent resume "$C" 251
expect queue_agent_resume 0 '^251 ready$'
# A queue-manager offers the waiting callers to an agent made free here:
# a wake-up timer, in the index every queue-manager polls.
check queue_agent_resume_wakes_a_queue_manager 1 "$(rcli ZCOUNT "pbx:{$C}:qm:timers" -inf +inf)"
if [ -n "$(rcli ZSCORE "pbx:{sys}:qm:due" "$C")" ]; then
	pass queue_agent_wake_up_indexed
else
	fail queue_agent_wake_up_indexed "no pbx:{sys}:qm:due entry for $C"
fi
check queue_agent_tenant_swept 1 "$(rcli SISMEMBER "pbx:{sys}:qm:tenants" "$C")"
ctl queue agent logout "$C" 252
expect queue_agent_logout 0 '^252 logged_out$'
ctl queue agent login "$C" 252
expect queue_agent_login 0 '^252 ready$'
ctl queue agent pause "$C" 299
expect queue_agent_unknown_extension 1 'not an extension of tenant'
ctl queue agent resume "$C" 251 why
expect queue_agent_reason_only_with_pause 2 'only a pause has a reason'
# A phone number is an agent too (through the trunk): written in any
# form, it is the agent "+<digits>" of the queues that list it.
printf '%s' '{"agents":["251",{"mobile":"8 916 555-01-02"}]}' >"$TMP/qn.json"
ctl object put "$C" queue numq "$TMP/qn.json"
expect queue_with_a_number_agent_stored 0 '^ok$'
ctl queue agent pause "$C" "+7 (916) 555-01-02" driving
expect queue_number_agent_pause 0 '^\+79165550102 paused \(driving\)$'
check queue_number_agent_pause_stored 1 "$(rcli HGET "pbx:{$C}:qm:agents" +79165550102 | grep -c '"st":"paused"')"
ctl queue agent resume "$C" 89165550102
expect queue_number_agent_resume 0 '^\+79165550102 ready$'
ctl queue agent login "$C" 89165550199
expect queue_number_agent_not_listed 1 'number \+79165550199 is not an agent of any queue'
printf '%s' '{"agents":[{"mobile":"0611"}]}' >"$TMP/qbad.json"
ctl object put "$C" queue badq "$TMP/qbad.json"
expect queue_bad_number_agent_refused 1 '"0611" is not a phone number with its country code'
ctl object delete "$C" queue numq
ctl queue stats "$C" agentsq
expect queue_stats_one_queue 0 '^queue agentsq: waiting 0 \(ringing 0\)'
expect queue_stats_lists_agents 0 '^queue agentsq agent 251: ready, calls 0'
ctl queue stats "$C"
expect queue_stats_every_queue 0 '^queue sales: '
ctl queue stats "$C" nosuch
expect queue_stats_unknown_queue 1 'no queue nosuch'
ctl queue stats "nosuch-$$"
expect queue_stats_unknown_tenant 1 'unknown tenant'

# --- features ----------------------------------------------------------------------
printf '%s' '{"email":"fax@example.com"}' >"$TMP/fb.json"
ctl object put "$C" fax_box inbox "$TMP/fb.json"
printf '%s' "$SC_FAX" >"$TMP/fax.json"
ctl scenario put "$C" faxline "$TMP/fax.json"
expect feature_fax_node_refused_without_fax 1 'fax'
check feature_refused_fax_not_stored 0 "$(rcli EXISTS "pbx:{$C}:scenario:faxline")"
ctl tenant feature "$C" fax on
expect feature_fax_on 0 '^ok$'
check feature_fax_stored_on 1 "$(rcli HGET "pbx:{$C}:tenant" feature_fax)"
ctl scenario put "$C" faxline "$TMP/fax.json"
expect feature_fax_node_accepted_with_fax 0 '^faxline v1$'
ctl tenant feature "$C" fax off
expect feature_fax_off_warns_about_users 0 'warning: scenario faxline v1 \(node f\) uses fax'
check feature_fax_stored_off 0 "$(rcli HGET "pbx:{$C}:tenant" feature_fax)"
ctl tenant feature "$C" teleport on
expect feature_unknown_refused 1 'unknown feature'
ctl tenant feature "nosuch-$$" fax on
expect feature_unknown_tenant 1 "unknown tenant"

# --- simulate ------------------------------------------------------------------------
ctl scenario activate "$C" "$NUM2" main --version 1
ctl scenario simulate "$C" "$NUM2" --caller +79161234567 --dtmf 2
if [ "$RC" = 0 ] && printf '%s\n' "$OUT" | head -1 | grep -q "runs scenario main v1" &&
	printf '%s\n' "$OUT" | grep -n 'node ' | grep -q 'node g ' &&
	[ "$(printf '%s\n' "$OUT" | grep -o 'node [a-z]* (' | uniq | tr -d '(' | tr '\n' ' ')" = "node g  node menu  node bye  " ] &&
	printf '%s\n' "$OUT" | tail -1 | grep -q '^outcome: .*486'; then
	pass simulate_path_greeting_menu_digit2_hangup486
else
	fail simulate_path_greeting_menu_digit2_hangup486 "rc $RC: ${OUT:0:600} ${ERR:0:200}"
fi
ctl scenario simulate "$C" "$NUM2" --caller +79161234567
expect simulate_without_digits_takes_another_path 0 '^outcome: '
# A scheduled switch counts from its time on (main has no schedule, so
# --at is UTC).
ctl scenario activate "$C" "$NUM2" main --version 2 --at 2030-01-01T00:00:00Z
ctl scenario simulate "$C" "$NUM2" --caller 1 --dtmf 2 --at 2029-12-31T23:59
expect simulate_before_schedule_runs_active 0 'runs scenario main v1$'
ctl scenario simulate "$C" "$NUM2" --caller 1 --dtmf 2 --at 2030-01-01T00:00
if [ "$RC" = 0 ] && printf '%s\n' "$OUT" | head -1 | grep -q 'runs scenario main v2$' &&
	printf '%s\n' "$OUT" | tail -1 | grep -q '^outcome: .*603'; then
	pass simulate_after_schedule_runs_scheduled_version
else
	fail simulate_after_schedule_runs_scheduled_version "rc $RC: ${OUT:0:300} ${ERR:0:200}"
fi
# The clock runs each prompt for its stored length (1 s each here): the
# greeting ends at +1s, the menu's play at +2s.
ctl scenario simulate "$C" "$NUM2" --caller 1 --at 2029-12-31T23:59
if [ "$RC" = 0 ] && printf '%s\n' "$OUT" | grep -q '^ *[0-9]* \[+1s\] PLAY_DONE *| node g ' &&
	printf '%s\n' "$OUT" | grep -q '^ *[0-9]* \[+2s\] PLAY_DONE *| node menu '; then
	pass simulate_clock_runs_prompt_lengths
else
	fail simulate_clock_runs_prompt_lengths "rc $RC: ${OUT:0:900} ${ERR:0:200}"
fi
# A prompt stored without its length: the audio's length is used.
rcli HDEL "pbx:{$C}:prompt:welcome" ms >/dev/null
ctl scenario simulate "$C" "$NUM2" --caller 1 --at 2029-12-31T23:59
expect simulate_prompt_length_from_audio 0 '^ *[0-9]* \[\+1s\] PLAY_DONE *\| node g '
# Rings: an extension of the tenant answers; one it does not have (here
# removed behind provisioning's back, as before removal was refused, and
# one dialled directly from a menu) is unavailable, as on a live call.
ctl ext add "$C" 202 "$PASSWORD"
printf '%s' '{"start":"s","nodes":{"s":{"type":"subscriber","options":{"kind":"internal","target":"202","timeout":20},"outputs":{"next":"m"}},"m":{"type":"ivr","options":{"prompt":"menu","extension_dialing":true,"extension_digits":"2"},"outputs":{"timeout":"h","invalid":"h"}},"h":{"type":"hangup","options":{"code":486,"reason":"Busy Here"}}}}' >"$TMP/ring202.json"
ctl scenario put "$C" ring "$TMP/ring202.json"
expect simulate_setup_ring_scenario 0 '^ring v1$'
ctl scenario activate "$C" "$NUM3" ring
ctl scenario simulate "$C" "$NUM3" --caller 1
expect simulate_existing_extension_answers 0 '^outcome: answered by extension 202 at node s$'
ctl scenario simulate "$C" "$NUM3" --caller 1 --no-answer 202 --dtmf 299
if [ "$RC" = 0 ] && printf '%s\n' "$OUT" | grep -q 'RING unavailable (no extension 299)' &&
	! printf '%s\n' "$OUT" | grep -q '^outcome: answered'; then
	pass simulate_direct_dialled_missing_extension_not_answered
else
	fail simulate_direct_dialled_missing_extension_not_answered "rc $RC: ${OUT:0:900} ${ERR:0:200}"
fi
rcli SREM "pbx:{$C}:exts" 202 >/dev/null
ctl scenario simulate "$C" "$NUM3" --caller 1
if [ "$RC" = 0 ] && printf '%s\n' "$OUT" | grep -q 'RING unavailable (no extension 202)' &&
	! printf '%s\n' "$OUT" | grep -q '^outcome: answered'; then
	pass simulate_missing_extension_not_answered
else
	fail simulate_missing_extension_not_answered "rc $RC: ${OUT:0:900} ${ERR:0:200}"
fi
ctl scenario simulate "$C" "+1999$$" --caller +79161234567
expect simulate_unknown_number 1 'not connected'
ctl scenario simulate "nosuch-$$" "$NUM2" --caller +79161234567
expect simulate_unknown_tenant 1 "unknown tenant nosuch-$$"
ctl scenario simulate "$C" "$NUM2" --caller 1 --at "31/12/2026"
expect simulate_bad_time_refused 1 '.'
ctl scenario simulate "$C" "$NUM2" --caller 1 --at 2026-02-30T10:00
expect simulate_date_that_does_not_exist_refused 1 '"2026-02-30T10:00" is not a date: 2026-02 has 28 days'
ctl scenario activate "$C" "$NUM3" sales
ctl scenario simulate "$C" "$NUM3" --caller 1 --agents full
expect simulate_agents_full 0 'QUEUE full'

# --- prompts and extensions that objects name --------------------------------------
ctl prompt upload "$C" hold "$TMP/p.wav"
ctl ext add "$C" 203 "$PASSWORD"
printf '%s' '{"moh":"hold","agents":["203"]}' >"$TMP/musicq.json"
ctl object put "$C" queue musicq "$TMP/musicq.json"
expect object_names_prompt_and_agent 0 '^ok$'
ctl prompt delete "$C" hold
expect prompt_used_by_queue_music_not_deleted 1 '^pbxctl: prompt hold is used by queue musicq \(moh\); change those first$'
ctl ext remove "$C" 203
expect ext_used_as_queue_agent_not_removed 1 '^pbxctl: extension 203 is used by queue musicq \(agents\); change those first$'
ctl object delete "$C" queue musicq
ctl prompt delete "$C" hold
expect prompt_delete_once_no_object_names_it 0 '^ok$'
ctl ext remove "$C" 203
expect ext_remove_once_no_object_names_it 0 '^ok$'

# --- trunks ----------------------------------------------------------------------------
T1="pvt1-$$"
T2="pvt2-$$"
TIP="127.$(($$ % 200 + 20)).$(($$ / 200 % 250)).7"
TRUNK_PASSWORD="trunk-pw-$$-zz"
had_default=$(rcli EXISTS "pbx:{sys}:trunk_default")
ctl trunk add "$T1" "$TIP" --username acc1 --password "$TRUNK_PASSWORD"
expect trunk_credentials_need_realm 1 'needs --realm'
ctl trunk add "$T1" "$TIP" --realm carrier.example
expect trunk_realm_needs_credentials 1 '--realm goes with'
ctl trunk add "$T1" "$TIP" --username acc1 --password "$TRUNK_PASSWORD" \
	--realm 'bad"realm'
expect trunk_realm_without_quotes 1 'realm must be'
ctl trunk add "$T1" "$TIP" --username acc1 --password "$TRUNK_PASSWORD" \
	--realm carrier.example
expect trunk_add 0 '^ok$'
check trunk_hash_address "$TIP:5060" "$(rcli HGET "pbx:{sys}:trunk:$T1" address)"
check trunk_hash_ip "$TIP" "$(rcli HGET "pbx:{sys}:trunk:$T1" ip)"
check trunk_hash_format e164 "$(rcli HGET "pbx:{sys}:trunk:$T1" format)"
# The password only as HA1 for the carrier's realm (uac_auth mode 1).
check trunk_hash_credentials_ha1_only \
	"acc1 carrier.example $(printf '%s' "acc1:carrier.example:$TRUNK_PASSWORD" | md5sum | cut -c1-32) 0" \
	"$(rcli HGET "pbx:{sys}:trunk:$T1" username) $(rcli HGET "pbx:{sys}:trunk:$T1" realm) $(rcli HGET "pbx:{sys}:trunk:$T1" ha1) $(rcli HEXISTS "pbx:{sys}:trunk:$T1" password)"
check trunk_ip_index "$T1" "$(rcli GET "pbx:{sys}:trunk_ip:$TIP")"
check trunk_in_set 1 "$(rcli SISMEMBER "pbx:{sys}:trunks" "$T1")"
if [ "$had_default" = 0 ]; then
	check trunk_first_is_default "$T1" "$(rcli GET "pbx:{sys}:trunk_default")"
fi
printf '%s\n' "$TRUNK_PASSWORD-2" | "$PBXCTL" --server "$SERVER" trunk add "$T2" localhost:5070 \
	--username acc2 --password - --realm c2.example --format national >"$TMP/out" 2>"$TMP/err"
RC=$? OUT=$(cat "$TMP/out") ERR=$(cat "$TMP/err")
expect trunk_add_resolves_host_password_on_stdin 0 '^ok$'
check trunk_resolved_ip 127.0.0.1 "$(rcli HGET "pbx:{sys}:trunk:$T2" ip)"
check trunk_stdin_password \
	"$(printf '%s' "acc2:c2.example:$TRUNK_PASSWORD-2" | md5sum | cut -c1-32)" \
	"$(rcli HGET "pbx:{sys}:trunk:$T2" ha1)"
ctl trunk list
if [ "$RC" = 0 ] && printf '%s\n' "$OUT" | grep -qE "^$T1 $TIP:5060 ip $TIP format e164 user acc1 realm carrier.example( default)?$" &&
	printf '%s\n' "$OUT" | grep -q "^$T2 localhost:5070 ip 127.0.0.1 format national user acc2"; then
	pass trunk_list
else
	fail trunk_list "rc $RC: ${OUT:0:300} ${ERR:0:200}"
fi
if printf '%s\n%s\n' "$OUT" "$ERR" | grep -qF "$TRUNK_PASSWORD"; then
	fail trunk_list_hides_password "the list shows it"
else
	pass trunk_list_hides_password
fi
ctl trunk add "pvt3-$$" "$TIP:5080"
expect trunk_same_ip_conflicts 1 "is already trunk $T1"
ctl trunk add "pvt3-$$" "bad host!"
expect trunk_bad_address 1 'host\[:port\]'
ctl trunk add "pvt3-$$" 100
expect trunk_numeric_host_must_be_dotted_quad 1 'host\[:port\]'
ctl trunk add "pvt3-$$" nosuch.invalid
expect trunk_unresolvable 1 'cannot resolve nosuch.invalid'
ctl trunk add "pvt3-$$" "$TIP" --format international
expect trunk_bad_format 1 'e164, national or local'
# A tenant's own trunks (tenant C: deleted below, which forgets them).
ctl trunk assign "$C" "$T2" "$T1"
expect trunk_assign_in_order 0 "^$C trunks $T2,$T1\$"
check trunk_assign_stored "$T2,$T1" "$(rcli HGET 'pbx:{sys}:tenant_trunks' "$C")"
ctl trunk assign "$C" "$T1" "nosuch-$$"
expect trunk_assign_only_existing 1 "no trunk nosuch-$$"
check trunk_assign_refused_changes_nothing "$T2,$T1" \
	"$(rcli HGET 'pbx:{sys}:tenant_trunks' "$C")"
ctl trunk add "$T1" "$TIP:5061"
check trunk_readd_replaces_without_credentials "$TIP:5061 0" \
	"$(rcli HGET "pbx:{sys}:trunk:$T1" address) $(rcli HEXISTS "pbx:{sys}:trunk:$T1" ha1)"
ctl trunk remove "$T1"
expect trunk_remove_names_tenants 0 "^removed from the trunks of $C\$"
check trunk_remove_leaves_the_rest_of_the_list "$T2" \
	"$(rcli HGET 'pbx:{sys}:tenant_trunks' "$C")"
check trunk_remove_clears_ip_index 0 "$(rcli EXISTS "pbx:{sys}:trunk_ip:$TIP")"
check trunk_remove_clears_hash 0 "$(rcli EXISTS "pbx:{sys}:trunk:$T1")"
if [ "$had_default" = 0 ]; then
	check trunk_remove_moves_default "$T2" "$(rcli GET "pbx:{sys}:trunk_default")"
fi
ctl trunk remove "$T1"
expect trunk_remove_again_is_ok 0 '^ok \(already absent\)$'
ctl trunk assign "$C" default
expect trunk_assign_default_shows_default 0 "^$C trunks default \("
check trunk_assign_default_forgets_the_list 0 \
	"$(rcli HEXISTS 'pbx:{sys}:tenant_trunks' "$C")"
ctl trunk remove "$T2"
if [ "$had_default" = 0 ]; then
	check trunk_remove_last_clears_default 0 "$(rcli EXISTS "pbx:{sys}:trunk_default")"
fi
if grep -aqF "$TRUNK_PASSWORD" "$LOG"; then
	fail trunk_password_not_in_log "found in the service log"
else
	pass trunk_password_not_in_log
fi

mkdir -p "$TMP/media/$C/vm" && echo x >"$TMP/media/$C/vm/1-a.wav"
# Its trunks are gone by now: a list as trunk_assign writes it.
rcli HSET 'pbx:{sys}:tenant_trunks' "$C" "$T2" >/dev/null
ctl tenant delete "$C"
left=$(rcli --scan --pattern "pbx:{$C}:*" | wc -l)
check tenant_delete_removes_versions_and_objects 0 "$left"
check tenant_delete_forgets_its_trunks 0 \
	"$(rcli HEXISTS 'pbx:{sys}:tenant_trunks' "$C")"
if [ -e "$TMP/media/$C" ]; then
	fail tenant_delete_removes_its_media_files "$(find "$TMP/media/$C")"
else
	pass tenant_delete_removes_its_media_files
fi

# --- the CLI's own failures -------------------------------------------------
ctl --version
expect cli_version 0 '^pbxctl [0-9]'
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
