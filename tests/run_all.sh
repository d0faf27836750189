#!/usr/bin/env bash
# `make test`: unit tests (Criterion, under ASan/UBSan, via ctest), then the
# integration suite (provisioning against a real redis-server), then the
# end-to-end suite (the whole stack, real SIP calls with SIPp). Each suite
# prints PASS/FAIL lines; the last line adds them all up:
# "N passed, M failed".
set -u
BUILD=${1:?usage: run_all.sh <build dir>}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
PASSED=0
FAILED=0
TMP=$(mktemp -d /tmp/pbx-test.XXXXXX)

for p in 5060 5090 6390 6396 7001 7002 7010 8448 8458; do
	if ss -lntu | grep -q ":$p "; then
		echo "run_all: port $p is in use: stop the running stack (make stop) first" >&2
		exit 1
	fi
done

# tally <file>: adds a suite's "N passed, M failed" line to the totals.
tally() {
	local line
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
	if [ -z "$line" ]; then
		echo "run_all: $1 printed no result line" >&2
		FAILED=$((FAILED + 1))
		return
	fi
	PASSED=$((PASSED + $(echo "$line" | cut -d' ' -f1)))
	FAILED=$((FAILED + $(echo "$line" | cut -d' ' -f3)))
}

echo "== unit tests (ASan/UBSan)"
(cd "$BUILD" && ctest --output-on-failure) | tee "$TMP/unit.out"
u_total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$TMP/unit.out")
u_failed=$(sed -n 's/.* \([0-9]*\) tests failed out of.*/\1/p' "$TMP/unit.out")
if [ -z "$u_total" ]; then
	echo "run_all: ctest printed no summary" >&2
	FAILED=$((FAILED + 1))
else
	u_failed=${u_failed:-0}
	echo "$((u_total - u_failed)) passed, $u_failed failed" >"$TMP/unit.sum"
	tally "$TMP/unit.sum"
fi

echo "== integration: provisioning"
redis-server --port 6391 --bind 127.0.0.1 --save '' --appendonly no \
	--daemonize yes --pidfile "$TMP/redis.pid" --logfile "$TMP/redis.log"
for _ in $(seq 50); do redis-cli -p 6391 ping >/dev/null 2>&1 && break; sleep 0.1; done
PBXCTL=$BUILD/services/pbxctl/pbxctl \
	PROVISION_BIN=$BUILD/services/provision/provision \
	ZMQ_GARBAGE=$BUILD/tests/support/zmq_garbage REDIS_PORT=6391 \
	"$ROOT/tests/integration/test_provision.sh" 2>&1 | tee "$TMP/integ.out"
tally "$TMP/integ.out"
redis-cli -p 6391 shutdown nosave >/dev/null 2>&1

echo "== end to end: calls through kamailio"
PBX_BUILD=$BUILD "$ROOT/tests/e2e/test_calls.sh" 2>&1 | tee "$TMP/e2e.out"
tally "$TMP/e2e.out"

echo "== end to end: registrar, trunks, worker legs at the edge"
PBX_BUILD=$BUILD "$ROOT/tests/e2e/test_registrar.sh" 2>&1 | tee "$TMP/reg.out"
tally "$TMP/reg.out"

echo "== end to end: calls reach people (menu, extensions, carrier)"
PBX_BUILD=$BUILD "$ROOT/tests/e2e/test_people.sh" 2>&1 | tee "$TMP/people.out"
tally "$TMP/people.out"

rm -rf "$TMP"
echo
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
