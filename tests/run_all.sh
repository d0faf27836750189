#!/usr/bin/env bash
# `make test`: unit tests (Criterion, under ASan/UBSan, via ctest), then the
# integration suites (provisioning against a real redis-server; Redis as
# stack.sh runs it: kill -9 durability and ACL users), then the
# end-to-end suites (the whole stack, real SIP calls with SIPp), then the
# security suites (the edge's in a network namespace of its own), then the
# docker compose stack when a Docker engine is reachable. Each suite
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

for p in 2700 5060 5090 6390 6396 7001 7002 7005 7010 8448 8458 9201 9220; do
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

T_START=$SECONDS
echo "== unit tests (ASan/UBSan)"
# Verbose, so each Criterion binary's own "Synthesis" line (tests passed,
# failed, crashed) is counted, not just one result per binary.
(cd "$BUILD" && ctest -V) >"$TMP/unit.out" 2>&1
unit_rc=$?
grep -E "Synthesis|tests passed|tests failed|Test +#" "$TMP/unit.out"
if [ $unit_rc != 0 ]; then
	grep -E "\[FAIL\]|\[----\]|ERROR|Sanitizer" "$TMP/unit.out" | head -40
fi
u_pass=0
u_fail=0
while read -r p f c; do
	u_pass=$((u_pass + p))
	u_fail=$((u_fail + f + c))
done < <(sed -n 's/.*Synthesis: Tested: [0-9]* | Passing: \([0-9]*\) | Failing: \([0-9]*\) | Crashing: \([0-9]*\).*/\1 \2 \3/p' "$TMP/unit.out")
# A binary that died before its synthesis (or leaked: LeakSanitizer
# aborts after it) fails ctest: count it too.
[ $unit_rc != 0 ] && [ $u_fail = 0 ] && u_fail=1
if [ $((u_pass + u_fail)) = 0 ]; then
	echo "run_all: the unit tests printed no result" >&2
	u_fail=1
fi
echo "$u_pass passed, $u_fail failed" | tee "$TMP/unit.sum"
echo "info: unit took $((SECONDS - T_START)) s"
tally "$TMP/unit.sum"

# suite <title> <out name> <script>: runs one suite and adds its result
# line to the totals. The environment each needs is set around the calls.
suite() {
	local t0=$SECONDS
	echo "== $1"
	"$ROOT/$3" 2>&1 | tee "$TMP/$2.out"
	tally "$TMP/$2.out"
	echo "info: $2 took $((SECONDS - t0)) s"
}

redis-server --port 6391 --bind 127.0.0.1 --save '' --appendonly no \
	--daemonize yes --pidfile "$TMP/redis.pid" --logfile "$TMP/redis.log"
for _ in $(seq 50); do redis-cli -p 6391 ping >/dev/null 2>&1 && break; sleep 0.1; done
export PBXCTL=$BUILD/services/pbxctl/pbxctl \
	PROVISION_BIN=$BUILD/services/provision/provision \
	ZMQ_GARBAGE=$BUILD/tests/support/zmq_garbage REDIS_PORT=6391
suite "integration: provisioning" integ tests/integration/test_provision.sh
suite "integration: canonical numbers and their migration" numbers \
	tests/integration/test_numbers.sh
suite "integration: tenant limits" limits tests/integration/test_limits.sh
redis-cli -p 6391 shutdown nosave >/dev/null 2>&1
unset PBXCTL PROVISION_BIN ZMQ_GARBAGE REDIS_PORT

export PBX_BUILD=$BUILD
suite "integration: Redis durability (kill -9) and ACL users" durability \
	tests/integration/test_durability.sh
suite "integration: Redis Sentinel failover under provisioning writes" \
	sentinel tests/integration/test_sentinel.sh
suite "end to end: calls through kamailio" e2e tests/e2e/test_calls.sh
suite "end to end: calls on a 3-primary Redis Cluster, a slot resharded" \
	cluster tests/e2e/test_cluster.sh
suite "end to end: registrar, trunks, worker legs at the edge" reg \
	tests/e2e/test_registrar.sh
suite "end to end: calls reach people (menu, extensions, carrier)" people \
	tests/e2e/test_people.sh
# Its own network namespace (it creates one as root): the carrier's
# outside address it adds exists only there.
suite "end to end: outbound calls of extensions (policy, caller ID, limits)" \
	outbound tests/e2e/test_outbound.sh
# Its own network namespace too (the carrier of forwarded calls).
suite "end to end: employees' phones (do-not-disturb, call forwarding)" \
	employees tests/e2e/test_employees.sh
suite "end to end: transfer from a phone (blind, back on failure, attended, refusals)" \
	transfer tests/e2e/test_transfer.sh
# Its own network namespace too (the carrier of its mobile agent).
suite "end to end: queues (default scenario, agents, music, exit routes)" \
	queue tests/e2e/test_queue.sh
# Its own network namespace too (the carrier of the API's owner number).
suite "end to end: the CRM's responsible manager (Bitrix24, amoCRM, API fakes)" \
	crm tests/e2e/test_crm.sh
suite "end to end: voicemail (a tone recorded, listed, fetched, deleted)" vm \
	tests/e2e/test_voicemail.sh
suite "end to end: voicemail from a phone, agent feature codes (*97, *45, *46)" \
	vmacc tests/e2e/test_vm_access.sh
suite "end to end: notifications (e-mail with the WAV, signed webhook, retries, dead letters)" notify \
	tests/e2e/test_notify.sh
suite "end to end: call records (path, disposition, tenant scope, webhook)" \
	cdr tests/e2e/test_cdr.sh
suite "end to end: conference rooms (three tones mixed, PIN, room full)" \
	conf tests/e2e/test_conference.sh
suite "end to end: fax (a multi-page fax received, stored, listed)" fax \
	tests/e2e/test_fax.sh
suite "end to end: scaling (worker list, drain, rolling upgrade, RTP ranges)" \
	workers tests/e2e/test_workers.sh
suite "end to end: two edge-bridges (calls spread, a bridge killed, no call lost)" \
	bridges tests/e2e/test_bridges.sh
suite "end to end: metrics, health and JSON logs (every service, calls counted)" \
	metrics tests/e2e/test_metrics.sh
suite "end to end: voice assistant (phrases spoken by espeak-ng, two asr-bridges)" \
	asr tests/e2e/test_assistant.sh
suite "security: a flood at the edge" flood tests/security/test_flood.sh
# Its own network namespace (it creates one as root): the attacker and
# carrier addresses it adds exist only there.
suite "security: the SIP edge (relay, caller ID, enumeration, torture)" \
	security tests/security/test_edge.sh
suite "security: CURVE on the buses, tenant keys, provisioning memory" \
	sec tests/security/test_buses.sh

# The compose stack on a network of its own (no host port of the suites
# above), when this machine has a Docker engine.
if docker info >/dev/null 2>&1 && command -v docker-compose >/dev/null; then
	"$ROOT/tests/compose_prebuild.sh" wait
	suite "compose: the docker compose stack (images, scaling, worker kill)" \
		compose tests/compose/test_compose.sh
else
	echo "== compose: the docker compose stack"
	echo "skipped: no Docker engine"
fi

# The failures again at the end, where a log cut in the middle still
# shows them.
if [ "$FAILED" -ne 0 ]; then
	echo
	echo "== failed:"
	grep -E "\[FAIL\]" "$TMP/unit.out" | head -20
	grep -HE "^(FAIL|run_all:)" "$TMP"/*.out 2>/dev/null | sed "s|$TMP/||" | head -40
fi
rm -rf "$TMP"
echo
echo "info: all suites took $((SECONDS - T_START)) s"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
