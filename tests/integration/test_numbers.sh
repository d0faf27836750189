#!/usr/bin/env bash
# Integration test of the canonical number form in provisioning: any way a
# number is written names the same stored number; another tenant cannot
# take any form of it; numbers stored as typed by older releases move to
# the canonical key when the service starts (and a conflict between two
# tenants is left in place and logged, never resolved by dropping data).
#
# Environment: PBXCTL, PROVISION_BIN (required); REDIS_PORT (a running
# Redis, default 6390), PROV_PORT (default 7150). Prints "PASS/FAIL name"
# lines and "N passed, M failed".
set -u
: "${PBXCTL:?set PBXCTL to the pbxctl binary}"
: "${PROVISION_BIN:?set PROVISION_BIN to the provision binary}"
REDIS_PORT=${REDIS_PORT:-6390}
PROV_PORT=${PROV_PORT:-7150}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PBX_REDIS_PORT=$REDIS_PORT
. "$ROOT/tests/e2e/lib.sh"

TMP=$(mktemp -d /tmp/test_numbers.XXXXXX)
A="nmtest-a-$$"
B="nmtest-b-$$"
# An 11-digit Russian number unique to this run, and its other forms.
D=$(printf '%07d' $(($$ % 10000000)))
CANON="7999$D"
FORMS=("+7999$D" "8999$D" "999$D" "+7 (999) ${D:0:3}-${D:3:2}-${D:5:2}"
	"8.999.$D")
. "$ROOT/tests/integration/lib.sh"

with_two_tenants

# --- every form is one number ---------------------------------------------
ctl number connect "$A" "${FORMS[3]}"
expect connect_with_separators 0
check stored_canonical "$A" "$(rcli GET "pbx:{sys}:did:$CANON")"
ctl number list "$A"
expect listed_canonical 0 "^$CANON default v1$"
for f in "${FORMS[@]}"; do
	ctl number connect "$B" "$f"
	expect "other_tenant_refused_${f// /_}" 1 \
		"is connected to another tenant"
done
check other_tenant_got_nothing "0" "$(rcli SCARD "pbx:{$B}:numbers")"
ctl number connect "$A" "${FORMS[1]}"
expect reconnect_other_form_is_same_number 0
check one_number_not_two "1" "$(rcli SCARD "pbx:{$A}:numbers")"
ctl scenario activate "$A" "${FORMS[0]}" default
expect activate_by_plus_form 0 "^$CANON default v1$"
ctl number connect "$A" "7999abc"
expect letters_refused 1 "number must be"
ctl number disconnect "$A" "${FORMS[2]}"
expect disconnect_by_ten_digits 0
check disconnected "0" "$(rcli EXISTS "pbx:{sys}:did:$CANON")"

# --- numbers stored as typed by an older release ---------------------------
# Tenant A holds "+7999…" (old form) with a scenario pair; tenant B holds
# "8 (888)…" and A the canonical "7888…" of the same number: a conflict.
stop_service
OLD="+7999$D"
rcli SET "pbx:{sys}:did:$OLD" "$A" >/dev/null
rcli SADD "pbx:{$A}:numbers" "$OLD" >/dev/null
rcli HSET "pbx:{$A}:number:$OLD" scenario default version 1 \
	prev_scenario default prev_version 1 >/dev/null
rcli SET "pbx:{sys}:did:8(888)$D" "$B" >/dev/null
rcli SADD "pbx:{$B}:numbers" "8(888)$D" >/dev/null
rcli SET "pbx:{sys}:did:7888$D" "$A" >/dev/null
rcli SADD "pbx:{$A}:numbers" "7888$D" >/dev/null
if ! start_service; then
	fail provision_restarts "$(tail -3 "$TMP/provision.log")"
else
	pass provision_restarts
fi
check migrated_index "$A" "$(rcli GET "pbx:{sys}:did:$CANON")"
check old_index_gone "0" "$(rcli EXISTS "pbx:{sys}:did:$OLD")"
check migrated_pair "default 1" \
	"$(rcli HMGET "pbx:{$A}:number:$CANON" scenario version | xargs)"
check old_pair_gone "0" "$(rcli EXISTS "pbx:{$A}:number:$OLD")"
check migrated_member "1" "$(rcli SISMEMBER "pbx:{$A}:numbers" "$CANON")"
ctl number list "$A"
expect migrated_number_listed 0 "^$CANON default v1$"
check conflict_keeps_canonical_holder "$A" \
	"$(rcli GET "pbx:{sys}:did:7888$D")"
check conflict_leaves_other_entry "$B" \
	"$(rcli GET "pbx:{sys}:did:8(888)$D")"
if grep -q "8(888)$D.*same number" "$TMP/provision.log"; then
	pass conflict_logged
else
	fail conflict_logged "no log line naming 8(888)$D"
fi
# The conflicting entry is the operator's to clear; it stays removable.
ctl number disconnect "$B" "8(888)$D"
rcli DEL "pbx:{sys}:did:8(888)$D" >/dev/null
ctl number disconnect "$A" "7888$D"
expect disconnect_after_migration 0
sanitizer_clean_log provision_sanitizer_clean
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
