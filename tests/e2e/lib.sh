# Shared helpers of the e2e suites (sourced). Expects SIPP_DIR, TMP and
# CALLER_IP set by the suite (or e2e_env); counts PASSED / FAILED.
PASSED=0
FAILED=0

# e2e_env <name>: the paths a suite uses (ROOT set by the suite, PBX_BUILD
# required): SIPP_DIR, STACK, PBXCTL, SINK; PBX_RUN (a fresh
# /tmp/pbx-<name>.* unless set) with one media worker, and TMP in it.
e2e_env() {
	: "${PBX_BUILD:?set PBX_BUILD to a build directory}"
	SIPP_DIR=$ROOT/tests/sipp
	STACK=$ROOT/scripts/stack.sh
	PBXCTL=$PBX_BUILD/services/pbxctl/pbxctl
	SINK=$PBX_BUILD/tests/support/rtp_sink
	export PBX_RUN=${PBX_RUN:-$(mktemp -d "/tmp/pbx-$1.XXXXXX")}
	export PBX_WORKERS=1 PBX_BUILD
	TMP=$PBX_RUN/e2e
	mkdir -p "$TMP"
}

# stack_up: starts the stack ($STACK start); a suite whose stack does not
# start ends here with its result line.
stack_up() {
	if ! "$STACK" start; then
		fail stack_starts "see logs in $PBX_RUN"
		echo "$PASSED passed, $FAILED failed"
		exit 1
	fi
	pass stack_starts
}

# e2e_stack_with_bg: stack_up, with an exit trap that kills the pids a
# suite adds to BG (its background SIPp peers) and stops the stack.
e2e_stack_with_bg() {
	e2e_cleanup_on_exit
	stack_up
}

# e2e_tones: caller.wav (400 Hz) and callee.wav (600 Hz), 20 s of A-law,
# in $TMP: what SIPp peers stream on a bridged call.
e2e_tones() {
	sox -n -r 8000 -c 1 -e a-law "$TMP/caller.wav" synth 20 sine 400 \
		2>/dev/null
	sox -n -r 8000 -c 1 -e a-law "$TMP/callee.wav" synth 20 sine 600 \
		2>/dev/null
}

# e2e_cleanup_on_exit: at exit, kill the suite's background jobs (pids
# it appends to BG) and stop the stack.
e2e_cleanup_on_exit() {
	BG=()
	trap e2e_cleanup EXIT
}
e2e_cleanup() {
	local p
	for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
	"$STACK" stop >/dev/null 2>&1
}

# calls_on_worker <sipp log> <worker SIP port>: how many of the calls in
# a uac_greeting.xml log (its "sdp <ip> <port> <pt>" lines) that worker
# answered, by the RTP port of its SDP: the worker's range as `pbxctl
# worker list` shows it while it is listed, else stack.sh's block for
# that SIP port (mwN: 5080 + 2 * (N - 1), RTP from 20000 + (N - 1) *
# 5000). A carrier's Contact no longer tells (its dialogs are masked:
# topoh).
calls_on_worker() {
	local lo hi range
	range=$("$PBXCTL" worker list 2>/dev/null |
		sed -n "s|.* address=sip:[0-9.]*:$2 rtp=[0-9.]*:\([0-9]*\)-\([0-9]*\) .*|\1 \2|p" | head -1)
	if [ -n "$range" ]; then
		read -r lo hi <<<"$range"
	else
		lo=$((20000 + ($2 - 5080) / 2 * 5000))
		hi=$((lo + 4998))
	fi
	awk -v lo="$lo" -v hi="$hi" \
		'$1 == "sdp" && $3 >= lo && $3 <= hi { n++ } END { print n + 0 }' \
		"$1" 2>/dev/null || echo 0
}

pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1 $2"; FAILED=$((FAILED + 1)); }
now_ms() { date +%s%3N; }
# redis-cli; as stack.sh's admin user when the suite's stack made one.
rcli() {
	local f=${PBX_RUN:-/nonexistent}/secrets/redis-admin.pass
	if [ -s "$f" ]; then
		REDISCLI_AUTH=$(cat "$f") redis-cli -p "${PBX_REDIS_PORT:-6390}" \
			--user admin --no-auth-warning ${PBX_REDIS_NODES:+-c} ${PBX_REDIS_CLUSTER:+-c} "$@"
	else
		redis-cli -p "${PBX_REDIS_PORT:-6390}" "$@"
	fi
}

# sipp_call <scenario> <number> <local port> [extra sipp args...]
sipp_call() {
	local sf=$1 num=$2 port=$3
	shift 3
	(cd "$TMP" && timeout 60 sipp -sf "$SIPP_DIR/$sf" -s "$num" \
		-i "$CALLER_IP" -p "$port" -nostdin -m 1 "$@" \
		127.0.0.1:5060 >>"$TMP/sipp.out" 2>&1)
}

# expect_code <name> <number> <code> <local port> [extra sipp args...]
expect_code() {
	local name=$1 num=$2 code=$3 port=$4 log="$TMP/$1.log"
	shift 4
	if sipp_call uac_expect.xml "$num" "$port" -key expect "$code" \
		-trace_logs -log_file "$log" "$@"; then
		pass "$name"
	else
		fail "$name" "$(grep -o 'got [0-9]*, expected [0-9]*' "$log" |
			head -1) (sipp failed)"
	fi
}

# start_sink <ip> <port> <outfile>: rtp_sink in the background, ready
# when this returns; its pid in SINK_PID.
start_sink() {
	rm -f "$3.ready"
	"$SINK" "$1" "$2" 40 2000 "$3.ready" >"$3" &
	SINK_PID=$!
	for _ in $(seq 50); do [ -e "$3.ready" ] && break; sleep 0.05; done
}

# sink_packets <outfile>: packets counted by a finished rtp_sink.
sink_packets() { sed -E 's/packets=([0-9]+).*/\1/' "$1"; }

# sanitizer_clean <name> <run dir>: no service logged a sanitizer report.
sanitizer_clean() {
	local bad
	bad=$(grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
		"$2"/*.log 2>/dev/null)
	if [ -z "$bad" ]; then pass "$1"
	else
		fail "$1" "reports in: $bad"
		grep -h -A12 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
			$bad | head -60
	fi
}

# check_wav_8k_mono <check> <wav>: the file is what the media store
# keeps (8 kHz, mono, 16-bit PCM WAV), said by soxi.
check_wav_8k_mono() {
	local info
	info=$(soxi "$2" 2>&1)
	if echo "$info" | grep -qE "Sample Rate +: 8000" &&
		echo "$info" | grep -qE "Channels +: 1" &&
		echo "$info" | grep -qE "Precision +: 16-bit"; then
		pass "$1"
	else
		fail "$1" "$info"
	fi
}

# check_wav_seconds <check> <wav> <min> <max>: its length in seconds is
# in [min, max]; prints it as WAV_SECONDS.
check_wav_seconds() {
	WAV_SECONDS=$(soxi -D "$2" 2>/dev/null || echo 0)
	if awk -v d="$WAV_SECONDS" -v lo="$3" -v hi="$4" \
		'BEGIN { exit !(d >= lo && d <= hi) }'; then
		pass "$1"
	else
		fail "$1" "$WAV_SECONDS s, want $3-$4 s"
	fi
}

# vm_wait_listed <tenant> <box>: waits (3 s at most) until the box lists a
# message: the worker stores it as the caller hangs up.
vm_wait_listed() {
	for _ in $(seq 30); do
		[ "$("$PBXCTL" vm list "$1" "$2" 2>/dev/null | wc -l)" -ge 1 ] &&
			return 0
		sleep 0.1
	done
	return 1
}

# number_with <tenant> <number> <scenario name> <scenario json>: stores
# the scenario, connects the number and makes the scenario its active one.
number_with() {
	echo "$4" | "$PBXCTL" scenario put "$1" "$3" - &&
		"$PBXCTL" number connect "$1" "$2" &&
		"$PBXCTL" scenario activate "$1" "$2" "$3"
}

# greeting_number <tenant> <number> <prompt> <seconds> <Hz>: a tone of
# that length uploaded as the prompt, and the number playing it, then
# hanging up (the PBX's BYE ends the call).
greeting_number() {
	sox -n -r 8000 -c 1 -b 16 "$TMP/$3.wav" synth "$4" sine "$5" \
		2>/dev/null &&
		"$PBXCTL" prompt upload "$1" "$3" "$TMP/$3.wav" >/dev/null &&
		number_with "$1" "$2" "$3" '{"start":"g","nodes":{"g":{"type":"greeting","options":{"prompt":"'"$3"'"},"outputs":{"next":"bye"}},"bye":{"type":"hangup"}}}' >/dev/null
}

# phone_register <ext> <password> <domain> <ip> <port>: a SIPp phone
# registers the extension from ip:port (reg_auth.xml, digest auth through
# Kamailio); 0 on its 200.
phone_register() {
	(cd "$TMP" && timeout 20 sipp -sf "$SIPP_DIR/reg_auth.xml" \
		-s "$1" -key domain "$3" -key expect 200 -key expires 3600 \
		-au "$1" -ap "$2" -i "$4" -p "$5" -m 1 -nostdin \
		127.0.0.1:5060 >>"$TMP/sipp.out" 2>&1)
}

# e2e_finish <tenant>...: deletes the suite's tenants, stops the stack,
# checks the services' logs for sanitizer reports, prints the result line
# and returns the suite's status.
e2e_finish() {
	local t
	for t in "$@"; do "$PBXCTL" tenant delete "$t" >/dev/null 2>&1; done
	"$STACK" stop
	sanitizer_clean services_clean_under_sanitizers "$PBX_RUN"
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

# The notification receivers (tests/support/smtp_sink.py, a real SMTP
# server, and webhook_sink.py), on $SMTP_PORT / $HTTP_PORT, writing into
# $MAIL / $HOOKS; waits until both listen. Sets SMTP_PID / HTTP_PID for
# notify_sinks_stop (the suite's cleanup). Debian's python3 (aiosmtpd).
PY=/usr/bin/python3
SMTP_PID="" HTTP_PID=""
notify_sinks_start() {
	$PY "$ROOT/tests/support/smtp_sink.py" 127.0.0.1 "$SMTP_PORT" "$MAIL" \
		>"$TMP/smtp.log" 2>&1 &
	SMTP_PID=$!
	$PY "$ROOT/tests/support/webhook_sink.py" 127.0.0.1 "$HTTP_PORT" \
		"$HOOKS" >"$TMP/http.log" 2>&1 &
	HTTP_PID=$!
	for _ in $(seq 100); do
		[ -e "$MAIL/ready" ] && [ -e "$HOOKS/ready" ] && break
		sleep 0.05
	done
}
notify_sinks_stop() {
	[ -n "$SMTP_PID" ] && kill "$SMTP_PID" 2>/dev/null
	[ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null
	wait 2>/dev/null
}
