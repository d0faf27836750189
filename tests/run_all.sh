#!/usr/bin/env bash
# `make test`: unit tests (Criterion, under ASan/UBSan, via ctest), the
# integration suites (provisioning against a real redis-server; Redis as
# stack.sh runs it: kill -9 durability, ACL users, Sentinel), the
# end-to-end suites (the whole stack, real SIP calls with SIPp), the
# security suites, and the docker compose stack when a Docker engine is
# reachable. Each suite prints PASS/FAIL lines; the last line adds them
# all up: "N passed, M failed".
#
# Lanes: PBX_TEST_LANES (default 2) suites run at once, each suite in a
# network namespace of its own (its own loopback, ports and firewall, so
# two stacks never meet; the suites that make namespaces themselves are
# given theirs through PBX_SEC_NS). A lane takes the next suite of the
# list as soon as its last one ended; a suite's output is printed in one
# piece when it ends. PBX_TEST_LANES=1, or not being root, runs them one
# after the other on the host's network as before.
#   run_all.sh <build dir>          (PBX_TEST_ONLY=unit,fax: some jobs only)
#   run_all.sh <build dir> --job <name> <tmp dir>   (internal: one suite)
set -u
BUILD=${1:?usage: run_all.sh <build dir>}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
PASSED=0
FAILED=0

# The jobs, longest first (the lanes below take them in this order):
# name|title|script. "unit" and "integ" are run by functions of their own;
# "compose" needs the host's network (Docker), every other job runs in a
# network namespace of its own.
JOBS=(
	"unit|unit tests (ASan/UBSan)|"
	"fax|end to end: fax (a multi-page fax received, stored, listed)|tests/e2e/test_fax.sh"
	"people|end to end: calls reach people (menu, extensions, carrier)|tests/e2e/test_people.sh"
	"queue|end to end: queues (default scenario, agents, music, exit routes)|tests/e2e/test_queue.sh"
	"e2e|end to end: calls through kamailio|tests/e2e/test_calls.sh"
	"vm|end to end: voicemail (a tone recorded, listed, fetched, deleted)|tests/e2e/test_voicemail.sh"
	"conf|end to end: conference rooms (three tones mixed, PIN, room full)|tests/e2e/test_conference.sh"
	"security|security: the SIP edge (relay, caller ID, enumeration, torture)|tests/security/test_edge.sh"
	"workers|end to end: scaling (worker list, drain, rolling upgrade, RTP ranges)|tests/e2e/test_workers.sh"
	"cluster|end to end: calls on a 3-primary Redis Cluster, a slot resharded|tests/e2e/test_cluster.sh"
	"vmacc|end to end: voicemail from a phone, agent feature codes (*97, *45, *46)|tests/e2e/test_vm_access.sh"
	"outbound|end to end: outbound calls of extensions (policy, caller ID, limits)|tests/e2e/test_outbound.sh"
	"crm|end to end: the CRM's responsible manager (Bitrix24, amoCRM, API fakes)|tests/e2e/test_crm.sh"
	"employees|end to end: employees' phones (do-not-disturb, call forwarding)|tests/e2e/test_employees.sh"
	"asr|end to end: voice assistant (phrases spoken by espeak-ng, two asr-bridges)|tests/e2e/test_assistant.sh"
	"bridges|end to end: two edge-bridges (calls spread, a bridge killed, no call lost)|tests/e2e/test_bridges.sh"
	"pickup|end to end: call pickup by feature code (group, tenant, CANCEL, RTP)|tests/e2e/test_pickup.sh"
	"transfer|end to end: transfer from a phone (blind, back on failure, attended, refusals)|tests/e2e/test_transfer.sh"
	"notify|end to end: notifications (e-mail with the WAV, signed webhook, retries, dead letters)|tests/e2e/test_notify.sh"
	"cdr|end to end: call records (path, disposition, tenant scope, webhook)|tests/e2e/test_cdr.sh"
	"metrics|end to end: metrics, health and JSON logs (every service, calls counted)|tests/e2e/test_metrics.sh"
	"reg|end to end: registrar, trunks, worker legs at the edge|tests/e2e/test_registrar.sh"
	"flood|security: a flood at the edge|tests/security/test_flood.sh"
	"sec|security: CURVE on the buses, tenant keys, provisioning memory|tests/security/test_buses.sh"
	"durability|integration: Redis durability (kill -9) and ACL users|tests/integration/test_durability.sh"
	"integ|integration: provisioning, canonical numbers, tenant limits|"
	"sentinel|integration: Redis Sentinel failover under provisioning writes|tests/integration/test_sentinel.sh"
	"compose|compose: the docker compose stack (images, scaling, worker kill)|tests/compose/test_compose.sh"
)

job_field() { # job_field <name> <1|2|3>: the job's name, title or script
	local j
	for j in "${JOBS[@]}"; do
		if [ "${j%%|*}" = "$1" ]; then
			echo "$j" | cut -d'|' -f"$2"
			return
		fi
	done
}

# Unit tests, verbose, so each Criterion binary's own "Synthesis" line
# (tests passed, failed, crashed) is counted, not just one per binary.
job_unit() {
	local rc p f c u_pass=0 u_fail=0
	(cd "$BUILD" && ctest -V) >"$TMP/unit.out" 2>&1
	rc=$?
	{
		grep -E "Synthesis|tests passed|tests failed|Test +#" "$TMP/unit.out"
		if [ $rc != 0 ]; then
			grep -E "\[FAIL\]|\[----\]|ERROR|Sanitizer" "$TMP/unit.out" | head -40
		fi
	} >"$TMP/unit.show"
	while read -r p f c; do
		u_pass=$((u_pass + p))
		u_fail=$((u_fail + f + c))
	done < <(sed -n 's/.*Synthesis: Tested: [0-9]* | Passing: \([0-9]*\) | Failing: \([0-9]*\) | Crashing: \([0-9]*\).*/\1 \2 \3/p' "$TMP/unit.out")
	# A binary that died before its synthesis (or leaked: LeakSanitizer
	# aborts after it) fails ctest: count it too.
	[ $rc != 0 ] && [ $u_fail = 0 ] && u_fail=1
	if [ $((u_pass + u_fail)) = 0 ]; then
		echo "run_all: the unit tests printed no result" >>"$TMP/unit.show"
		u_fail=1
	fi
	echo "$u_pass passed, $u_fail failed" >>"$TMP/unit.show"
}

# Provisioning against a bare redis-server of its own.
job_integ() {
	local rc=0 t
	redis-server --port 6391 --bind 127.0.0.1 --save '' --appendonly no \
		--daemonize yes --pidfile "$TMP/integ-redis.pid" \
		--logfile "$TMP/integ-redis.log"
	for _ in $(seq 50); do redis-cli -p 6391 ping >/dev/null 2>&1 && break; sleep 0.1; done
	export PBXCTL=$BUILD/services/pbxctl/pbxctl \
		PROVISION_BIN=$BUILD/services/provision/provision \
		ZMQ_GARBAGE=$BUILD/tests/support/zmq_garbage REDIS_PORT=6391
	for t in provision numbers limits; do
		"$ROOT/tests/integration/test_$t.sh" >"$TMP/integ-$t.part" 2>&1
	done
	redis-cli -p 6391 shutdown nosave >/dev/null 2>&1
	# One result line for the three.
	cat "$TMP"/integ-*.part | grep -vE '^[0-9]+ passed, [0-9]+ failed' >"$TMP/integ.show"
	local p=0 f=0 line
	for t in provision numbers limits; do
		line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$TMP/integ-$t.part" | tail -1)
		if [ -z "$line" ]; then
			echo "run_all: integration test_$t.sh printed no result line" >>"$TMP/integ.show"
			f=$((f + 1))
			continue
		fi
		p=$((p + $(echo "$line" | cut -d' ' -f1)))
		f=$((f + $(echo "$line" | cut -d' ' -f3)))
	done
	echo "$p passed, $f failed" >>"$TMP/integ.show"
	return $rc
}

# run_job <name>: one suite; its output in $TMP/<name>.show.
run_job() {
	local script
	export PBX_BUILD=$BUILD
	case $1 in
	unit) job_unit ;;
	integ) job_integ ;;
	compose)
		"$ROOT/tests/compose_prebuild.sh" wait >"$TMP/compose.show" 2>&1
		"$ROOT/tests/compose/test_compose.sh" >>"$TMP/compose.show" 2>&1
		;;
	*)
		script=$(job_field "$1" 3)
		"$ROOT/$script" >"$TMP/$1.show" 2>&1
		;;
	esac
}

if [ "${2:-}" = --job ]; then
	TMP=${4:?}
	run_job "$3"
	exit 0
fi

TMP=$(mktemp -d /tmp/pbx-test.XXXXXX)
T_START=$SECONDS
for p in 2700 5060 5090 6390 6391 6396 7001 7002 7005 7010 8448 8458 9201 9220; do
	if ss -lntu | grep -q ":$p "; then
		echo "run_all: port $p is in use: stop the running stack (make stop) first" >&2
		exit 1
	fi
done

# PBX_TEST_ONLY=name,name: just those jobs (names as in JOBS above).
if [ -n "${PBX_TEST_ONLY:-}" ]; then
	keep=()
	for j in "${JOBS[@]}"; do
		case ",$PBX_TEST_ONLY," in *",${j%%|*},"*) keep+=("$j") ;; esac
	done
	JOBS=("${keep[@]}")
fi

LANES=${PBX_TEST_LANES:-2}
[ "$(id -u)" = 0 ] || LANES=1
[ "$LANES" -ge 1 ] 2>/dev/null || LANES=1
HAVE_DOCKER=0
docker info >/dev/null 2>&1 && command -v docker-compose >/dev/null && HAVE_DOCKER=1

# one <name>: runs a job (in a namespace of its own when lanes are on)
# and prints its output in one piece, under a lock.
one() {
	local name=$1 t0=$SECONDS ns
	if [ "$name" = compose ] && [ $HAVE_DOCKER = 0 ]; then
		printf '%s\n' "skipped: no Docker engine" >"$TMP/compose.show"
	elif [ "$LANES" -gt 1 ] && [ "$name" != compose ]; then
		ns=pbxtest-$name-$$
		ip netns del "$ns" 2>/dev/null
		if ip netns add "$ns"; then
			ip netns exec "$ns" ip link set lo up
			ip netns exec "$ns" env PBX_SEC_NS="$ns" \
				"$ROOT/tests/run_all.sh" "$BUILD" --job "$name" "$TMP"
			ip netns del "$ns"
		else
			echo "FAIL run_all cannot create namespace $ns" >"$TMP/$name.show"
			echo "0 passed, 1 failed" >>"$TMP/$name.show"
		fi
	else
		"$ROOT/tests/run_all.sh" "$BUILD" --job "$name" "$TMP"
	fi
	{
		flock 9
		echo "== $(job_field "$name" 2)"
		cat "$TMP/$name.show"
		echo "info: $name took $((SECONDS - t0)) s"
	} 9>"$TMP/print.lock"
}

# A lane: takes the next job of the list until none is left.
lane() {
	local i
	while :; do
		i=$({
			flock 8
			n=$(cat "$TMP/next")
			echo $((n + 1)) >"$TMP/next"
			echo "$n"
		} 8>"$TMP/next.lock")
		[ "$i" -lt ${#JOBS[@]} ] || return 0
		one "${JOBS[$i]%%|*}"
	done
}

echo 0 >"$TMP/next"
echo "run_all: ${#JOBS[@]} suites, $LANES at a time"
for _ in $(seq "$LANES"); do
	lane &
done
wait

# tally <name>: adds a job's "N passed, M failed" line to the totals.
tally() {
	local line
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$TMP/$1.show" 2>/dev/null | tail -1)
	if [ -z "$line" ]; then
		[ "$1" = compose ] && grep -q '^skipped' "$TMP/compose.show" && return
		echo "run_all: $1 printed no result line" >&2
		FAILED=$((FAILED + 1))
		return
	fi
	PASSED=$((PASSED + $(echo "$line" | cut -d' ' -f1)))
	FAILED=$((FAILED + $(echo "$line" | cut -d' ' -f3)))
}
for j in "${JOBS[@]}"; do
	tally "${j%%|*}"
done

# The failures again at the end, where a log cut in the middle still
# shows them.
if [ "$FAILED" -ne 0 ]; then
	echo
	echo "== failed:"
	grep -E "\[FAIL\]" "$TMP/unit.out" | head -20
	grep -HE "^(FAIL|run_all:)" "$TMP"/*.show 2>/dev/null | sed "s|$TMP/||" | head -40
fi
rm -rf "$TMP"
echo
echo "info: all suites took $((SECONDS - T_START)) s"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
