# Shared helpers of the integration suites that start their own
# provision service (sourced after tests/e2e/lib.sh). Expects PBXCTL,
# PROVISION_BIN, REDIS_PORT, PROV_PORT and TMP; sets SERVER and PID.
SERVER="tcp://127.0.0.1:$PROV_PORT"
PID=""

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

# ctl ARGS...: pbxctl against the test service; sets OUT, ERR, RC.
ctl() {
	"$PBXCTL" --server "$SERVER" "$@" >"$TMP/out" 2>"$TMP/err"
	RC=$?
	OUT=$(cat "$TMP/out")
	ERR=$(cat "$TMP/err")
	return $RC
}
# expect NAME RC [PATTERN in stdout or stderr]
expect() {
	local pat=${3:-}
	if [ "$RC" != "$2" ]; then
		fail "$1" "exit $RC, want $2 (out: ${OUT:0:160}) (err: ${ERR:0:160})"
	elif [ -n "$pat" ] && ! printf '%s\n%s\n' "$OUT" "$ERR" |
		grep -qE -- "$pat"; then
		fail "$1" "output lacks /$pat/ (out: ${OUT:0:160}) (err: ${ERR:0:160})"
	else
		pass "$1"
	fi
}
check() {
	if [ "$3" = "$2" ]; then pass "$1"; else fail "$1" "got '$3', want '$2'"; fi
}
start_service() {
	"$PROVISION_BIN" --set "listen=$SERVER" --set "redis_port=$REDIS_PORT" \
		--set metrics_listen=0 \
		>>"$TMP/provision.log" 2>&1 &
	PID=$!
	for _ in $(seq 50); do
		if grep -qs "listening on $SERVER" "$TMP/provision.log" &&
			"$PBXCTL" --server "$SERVER" --timeout-ms 200 \
				tenant list >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
stop_service() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	PID=""
}
# sanitizer_clean_log NAME: the service logged no sanitizer report.
sanitizer_clean_log() {
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' \
		"$TMP/provision.log"; then
		fail "$1" "$(grep -m1 -E 'Sanitizer|runtime error:' "$TMP/provision.log")"
	else
		pass "$1"
	fi
}

# with_two_tenants: starts the service (or ends the suite with a failure)
# and creates tenants $A and $B, deleted again on exit with $TMP.
with_two_tenants() {
	trap 'ctl tenant delete "$A" >/dev/null 2>&1
		ctl tenant delete "$B" >/dev/null 2>&1
		stop_service
		rm -rf "$TMP"' EXIT
	if ! start_service; then
		fail provision_starts "$(tail -3 "$TMP/provision.log")"
		echo "$PASSED passed, $FAILED failed"
		exit 1
	fi
	ctl tenant create "$A" && ctl tenant create "$B"
	expect tenants_created 0
}
