#!/usr/bin/env bash
# Integration test of per-tenant limits in provisioning: defaults shown
# until set, set and kept per limit, bad values refused, stored where the
# router and Kamailio read them (pbx:{t}:tenant, pbx_limits.h).
#
# Environment: PBXCTL, PROVISION_BIN (required); REDIS_PORT (a running
# Redis, default 6390), PROV_PORT (default 7160). Prints "PASS/FAIL name"
# lines and "N passed, M failed".
set -u
: "${PBXCTL:?set PBXCTL to the pbxctl binary}"
: "${PROVISION_BIN:?set PROVISION_BIN to the provision binary}"
REDIS_PORT=${REDIS_PORT:-6390}
PROV_PORT=${PROV_PORT:-7160}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PBX_REDIS_PORT=$REDIS_PORT
. "$ROOT/tests/e2e/lib.sh"

TMP=$(mktemp -d /tmp/test_limits.XXXXXX)
A="lmtest-a-$$"
B="lmtest-b-$$"
. "$ROOT/tests/integration/lib.sh"

with_two_tenants

ctl tenant limits "$A"
expect defaults_shown 0 '^calls 200 \(default\)$'
ctl tenant limits "$A" --calls 5 --carrier-legs 0
expect set_two_limits 0 '^carrier_legs 0$'
check calls_stored 5 "$(rcli HGET "pbx:{$A}:tenant" limit_calls)"
check carrier_stored 0 "$(rcli HGET "pbx:{$A}:tenant" limit_carrier_legs)"
ctl tenant limits "$A" --cps 7
expect set_one_keeps_the_others 0 '^calls 5$'
check cps_stored 7 "$(rcli HGET "pbx:{$A}:tenant" limit_cps)"
ctl tenant limits "$B"
expect other_tenant_untouched 0 '^calls 200 \(default\)$'
ctl tenant limits "$A" --calls -3
expect negative_refused 2 'whole number'
ctl tenant limits "$A" --calls 10x
expect garbage_refused 2 'whole number'
ctl tenant limits "$A" --cps 1000001
expect too_big_refused 2 'whole number'
ctl tenant limits "nosuch-$$" --calls 1
expect unknown_tenant_refused 1 'unknown tenant'
check refused_changes_nothing 5 "$(rcli HGET "pbx:{$A}:tenant" limit_calls)"
sanitizer_clean_log provision_sanitizer_clean
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
