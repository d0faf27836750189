#!/usr/bin/env bash
# End-to-end: the voice assistant (issue 13). The whole stack on loopback
# with two asr-bridges (asr1, asr2: pocketsphinx); SIPp callers
# (tests/sipp/asr_caller.xml) call a number whose scenario asks a
# question (a 400 Hz tone) and routes by the phrase heard, each output to
# a greeting of its own tone (operator 1000 Hz, support 1600 Hz, no_input
# 2200 Hz, not_recognized 2800 Hz) and then a hang-up. The callers speak
# phrases and synonyms made by espeak-ng (8 kHz µ-law, as RTP carries
# them). Asserts what the caller heard (the tone of the output taken, in
# the RTP an rtp_sink kept; the question cut short by speech: barge-in),
# the BYE, and that both bridges served streams; off-topic sentences are
# measured (how many were rejected), not asserted; with both bridges
# stopped the call still ends, by no_input.
#
# The network recogniser (issue 13 step 3): tenants whose asr setting is
# engine=vosk, language=ru, with the URL of tests/support/fake_vosk.py (a
# fake Vosk server speaking its WebSocket protocol, which "hears" the
# dominant frequency of the audio it got: 500 Hz оператор, 900 Hz живой
# человек, 1300 Hz поддержка). Callers play those tones; asserts the
# Cyrillic phrase's output was heard, and that the audio reached the
# server (8000 Hz config, the bytes, the voiced ms, the bearer token, the
# grammar). A slow server, one that closes at eof and a dead one route
# to not_recognized in time (the caller hears it and gets the BYE). Over
# wss:// (the fake with a certificate for 127.0.0.1 that the bridges
# trust through vosk_ca_file) the phrase routes too; a server whose
# certificate they do not trust is never sent the audio.
#
# Environment: PBX_BUILD (required). Prints PASS/FAIL lines and a last
# line "N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/e2e/lib.sh"
e2e_env asr
export PBX_ASR=2
CALLER_IP=127.0.0.2
T=asr
NUM=15557001     # question 1 s
NUM_LONG=15557002 # question 6 s (barge-in)
NUM_RU=15557003   # tenant asrru: the fake Vosk server
NUM_SLOW=15557004 # tenant asrslow: its /slow
NUM_CLOSE=15557005 # tenant asrclose: its /close
NUM_DEAD=15557006 # tenant asrdead: nothing listens
NUM_TLS=15557007  # tenant asrtls: wss://, a trusted certificate
NUM_BADTLS=15557008 # tenant asrbadtls: wss://, an untrusted one
NUM_SSRF=15557009 # tenant asrssrf: its URL names our Redis
VOSK_PORT=2700 VOSK_TLS_PORT=2701 VOSK_BADTLS_PORT=2702
VOSK_TOKEN=fake-vosk-token-0123456789
RU_TENANTS="asrru asrslow asrclose asrdead asrtls asrbadtls asrssrf"

VOSK_PIDS=()
cleanup() {
	"$STACK" stop >/dev/null 2>&1
	[ ${#VOSK_PIDS[@]} -gt 0 ] && kill "${VOSK_PIDS[@]}" 2>/dev/null
}
trap cleanup EXIT

# Certificates of the wss:// fakes: one for 127.0.0.1 the bridges trust
# (their vosk_ca_file), one they do not.
for c in good bad; do
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 -keyout "$TMP/$c.key" \
		-out "$TMP/$c.crt" >/dev/null 2>&1
done
export PBX_VOSK_CA_FILE=$TMP/good.crt
# The bridges refuse private servers but the fakes' (as an operator
# lists its own Vosk servers): a tenant's URL at anything else on our
# side (here Redis) is never connected to.
export PBX_VOSK_PRIVATE=0
export PBX_VOSK_PRIVATE_ALLOW=127.0.0.1:$VOSK_PORT,127.0.0.1:$VOSK_TLS_PORT,127.0.0.1:$VOSK_BADTLS_PORT,127.0.0.1:2799
stack_up

# The fake Vosk servers (Debian's python3-websockets): ws://, and wss://
# with either certificate; one log.
fake_vosk() { # <port> <ready> [--tls CERT KEY]
	local port=$1 ready=$2
	shift 2
	/usr/bin/python3 "$ROOT/tests/support/fake_vosk.py" 127.0.0.1 "$port" \
		"$TMP/vosk.log" "$ready" --map 500=оператор \
		--map "900=живой человек" --map 1300=поддержка \
		--token $VOSK_TOKEN --slow-ms 10000 "$@" >>"$TMP/vosk.out" 2>&1 &
	VOSK_PIDS+=($!)
}
fake_vosk $VOSK_PORT "$TMP/vosk.ready"
fake_vosk $VOSK_TLS_PORT "$TMP/vosk_tls.ready" --tls "$TMP/good.crt" "$TMP/good.key"
fake_vosk $VOSK_BADTLS_PORT "$TMP/vosk_badtls.ready" --tls "$TMP/bad.crt" "$TMP/bad.key"
for _ in $(seq 100); do
	[ -e "$TMP/vosk.ready" ] && [ -e "$TMP/vosk_tls.ready" ] &&
		[ -e "$TMP/vosk_badtls.ready" ] && break
	sleep 0.05
done

# --- audio ------------------------------------------------------------------
tone() { sox -n -r 8000 -c 1 -b 16 "$TMP/$1.wav" synth "$2" sine "$3" vol 0.5 2>/dev/null; }
tone question 1 400
tone question_long 6 400
tone r_operator 2 1000
tone r_support 2 1600
tone r_no_input 2 2200
tone r_not_rec 2 2800
tone r_other 2 700

# say <name> <text>: <name>/speech.wav, the text spoken (espeak-ng en-us,
# 140 words/min) as 8 kHz µ-law, with 1.5 s of silence after it (a
# phone keeps sending RTP while the caller is silent).
say() {
	mkdir -p "$TMP/$1"
	espeak-ng -v en-us -s 140 -w "$TMP/$1/tts.wav" "$2" &&
		sox -q "$TMP/$1/tts.wav" -r 8000 -c 1 -e mu-law \
			"$TMP/$1/speech.wav" pad 0 1.5
}
silence() {
	mkdir -p "$TMP/$1"
	sox -n -r 8000 -c 1 -e mu-law "$TMP/$1/speech.wav" trim 0 6
}

# tone_say <name> <hz>: <name>/speech.wav, a 1 s tone (what the fake Vosk
# server maps to a word) as 8 kHz µ-law, 1.5 s of silence after it.
tone_say() {
	mkdir -p "$TMP/$1"
	sox -n -r 8000 -c 1 -e mu-law "$TMP/$1/speech.wav" synth 1 sine "$2" \
		vol 0.5 pad 0 1.5 2>/dev/null
}

# --- provisioning -------------------------------------------------------------
# scen <question prompt> [phrases json]: operator and support (with a
# synonym each) and two competitors in the grammar (yes, no: both to a
# 700 Hz tone); no retries, 3 s to answer.
EN_PHRASES='{"operator":["operator","talk to a person"],"support":["support","technical help"],"yes":["yes","correct"],"no":["no","wrong"]}'
RU_PHRASES='{"operator":["оператор","живой человек"],"support":["поддержка"],"yes":["да"],"no":["нет"]}'
scen() {
	printf '{"start":"ask","nodes":{"ask":{"type":"assistant","options":{"prompt":"%s","phrases":%s,"confidence":0.3,"timeout":3,"retries":0},"outputs":{"phrase:operator":"op","phrase:support":"sup","phrase:yes":"ot","phrase:no":"ot","no_input":"ni","not_recognized":"nr"}},"ot":{"type":"greeting","options":{"prompt":"r_other"},"outputs":{"next":"bye"}},"op":{"type":"greeting","options":{"prompt":"r_operator"},"outputs":{"next":"bye"}},"sup":{"type":"greeting","options":{"prompt":"r_support"},"outputs":{"next":"bye"}},"ni":{"type":"greeting","options":{"prompt":"r_no_input"},"outputs":{"next":"bye"}},"nr":{"type":"greeting","options":{"prompt":"r_not_rec"},"outputs":{"next":"bye"}},"bye":{"type":"hangup"}}}' "$1" "${2:-$EN_PHRASES}"
}
# tenant_with <tenant>: the tenant and its prompts.
tenant_with() {
	"$PBXCTL" tenant delete "$1" >/dev/null 2>&1
	"$PBXCTL" tenant create "$1" || return 1
	for p in question question_long r_operator r_support r_no_input r_not_rec r_other; do
		"$PBXCTL" prompt upload "$1" $p "$TMP/$p.wav" || return 1
	done
}
if {
	tenant_with $T &&
		number_with $T $NUM ask "$(scen question)" &&
		number_with $T $NUM_LONG ask_long "$(scen question_long)"
} >"$TMP/provision.out" 2>&1; then pass provision_assistant
else fail provision_assistant "$(tail -1 "$TMP/provision.out")"; fi

# The Russian tenants: engine=vosk (the URL's path picks the fake's
# behaviour), the token as the secret (on stdin for one of them).
VURL=ws://127.0.0.1:$VOSK_PORT
ru_tenant() { # <tenant> <number> <url>
	tenant_with "$1" &&
		"$PBXCTL" asr set "$1" engine=vosk "url=$3" language=ru \
			secret=$VOSK_TOKEN &&
		number_with "$1" "$2" ask "$(scen question "$RU_PHRASES")"
}
if {
	ru_tenant asrru $NUM_RU "$VURL/" &&
		ru_tenant asrslow $NUM_SLOW "$VURL/slow" &&
		ru_tenant asrclose $NUM_CLOSE "$VURL/close" &&
		ru_tenant asrdead $NUM_DEAD ws://127.0.0.1:2799/ &&
		ru_tenant asrtls $NUM_TLS "wss://127.0.0.1:$VOSK_TLS_PORT/" &&
		ru_tenant asrbadtls $NUM_BADTLS "wss://127.0.0.1:$VOSK_BADTLS_PORT/" &&
		ru_tenant asrssrf $NUM_SSRF "ws://127.0.0.1:${PBX_REDIS_PORT:-6390}/" &&
		echo $VOSK_TOKEN | "$PBXCTL" asr set asrru secret=-
} >"$TMP/provision_ru.out" 2>&1; then pass provision_vosk_tenants
else fail provision_vosk_tenants "$(tail -1 "$TMP/provision_ru.out")"; fi

# asr set: shown without the secret; bad settings refused.
out=$("$PBXCTL" asr show asrru 2>&1)
if [ "$out" = "asr: engine=vosk url=$VURL/ language=ru secret=(set)" ]; then
	pass asr_show_hides_the_secret
else fail asr_show_hides_the_secret "$out"; fi
bad=""
for args in "engine=vosk url=" "language=ru engine=pocketsphinx" \
	"url=http://x/" "url=ws://user:pw@host/" "engine=google" "colour=red" \
	"language=RU!"; do
	# shellcheck disable=SC2086
	"$PBXCTL" asr set asrru $args >/dev/null 2>&1 && bad="$bad [$args]"
done
out=$("$PBXCTL" asr show asrru 2>&1)
if [ -z "$bad" ] && [ "$out" = "asr: engine=vosk url=$VURL/ language=ru secret=(set)" ]; then
	pass asr_set_refuses_bad_settings
else fail asr_set_refuses_bad_settings "accepted:$bad; now: $out"; fi

# --- calls --------------------------------------------------------------------
# call <case dir> <number> <ms before speaking> <n>: the caller in the
# case's directory (its speech.wav), local port 5120+n, RTP 34000+2n kept
# by an rtp_sink into <case>/heard (µ-law); the sink is stopped once
# SIPp is done (the BYE came, or it gave up). 0 when the caller got the
# BYE.
call() {
	local dir=$TMP/$1 n=$4 rc
	rm -f "$dir/ready"
	"$SINK" $CALLER_IP $((34000 + 2 * n)) 45 10000 "$dir/ready" \
		"$dir/heard" >"$dir/sink.out" &
	local sp=$!
	for _ in $(seq 50); do [ -e "$dir/ready" ] && break; sleep 0.05; done
	(cd "$dir" && timeout 60 sipp -sf "$SIPP_DIR/asr_caller.xml" -s "$2" \
		-i $CALLER_IP -p $((5120 + n)) -mi $CALLER_IP \
		-mp $((18000 + 10 * n)) -key caller "7999000020$n" \
		-key rtp_port $((34000 + 2 * n)) -d "$3" -m 1 -nostdin \
		-trace_logs -log_file "$dir/sipp.log" 127.0.0.1:5060 \
		>"$dir/sipp.out" 2>&1)
	rc=$?
	sleep 0.2 # the last packets in flight
	kill -TERM $sp 2>/dev/null
	wait $sp
	[ $rc = 0 ] && grep -q got-bye "$dir/sipp.log"
}

# tones <heard>: "<ms of 400> <ms of 1000> <ms of 1600> <ms of 2200>
# <ms of 2800> <ms of 700>": how long each tone was heard, in 20 ms frames whose
# energy at it (Goertzel) is most of the frame's.
tones() {
	python3 -W ignore - "$1" <<'PY'
import audioop, math, sys
data = open(sys.argv[1], 'rb').read()
pcm = audioop.ulaw2lin(data, 2)
n = len(pcm) // 2
s = [int.from_bytes(pcm[2*i:2*i+2], 'little', signed=True) for i in range(n)]
freqs = [400, 1000, 1600, 2200, 2800, 700]
ms = [0] * len(freqs)
for f0 in range(0, n - 159, 160):
    x = s[f0:f0 + 160]
    tot = sum(v * v for v in x)
    if tot < 160 * 100 * 100:
        continue
    for k, f in enumerate(freqs):
        w = 2 * math.cos(2 * math.pi * f / 8000)
        a = b = 0.0
        for v in x:
            a, b = v + w * a - b, a
        p = (a * a + b * b - w * a * b) / 80  # |X(f)|^2 / (N/2)
        if p > 0.6 * tot:
            ms[k] += 20
print(' '.join(map(str, ms)))
PY
}

# heard_output <name> <case> <tone index 1-4>: the caller heard the
# output's tone for at least a second and no other output's (the case's
# tones, measured by its job).
IDX_NAMES=(question operator support no_input not_recognized yes_no)
heard_output() {
	local t
	read -r -a t <"$TMP/$2/tones"
	local want=$3 bad=""
	for k in 1 2 3 4 5; do
		[ "$k" = "$want" ] && continue
		[ "${t[$k]:-0}" -gt 200 ] && bad="$bad ${IDX_NAMES[$k]}"
	done
	if [ "${t[$want]:-0}" -ge 1000 ] && [ -z "$bad" ]; then pass "$1"
	else fail "$1" "heard ms (question op sup no_input not_rec yes_no): ${t[*]:-none}"; fi
}

# Every call of a batch runs at once, as a job of its own: case_job
# <case> <number> <ms before speaking> <text|-silence|-tone HZ>: makes the speech,
# calls, writes <case>/bye (0: the caller got the BYE) and <case>/tones.
# case_check <check> <case> <tone index> asserts it after the batch.
n=0
CASE_PIDS=()
case_job() {
	n=$((n + 1))
	(
		case $4 in
		-silence) silence "$1" ;;
		-tone*) tone_say "$1" "${4#-tone }" ;;
		*) say "$1" "$4" ;;
		esac
		local t0
		t0=$(now_ms)
		call "$1" "$2" "$3" $n
		echo $? >"$TMP/$1/bye"
		echo $(($(now_ms) - t0)) >"$TMP/$1/ms"
		tones "$TMP/$1/heard" >"$TMP/$1/tones" 2>/dev/null
	) &
	CASE_PIDS+=($!)
}
# case_wait: until every case_job so far is done.
case_wait() {
	wait "${CASE_PIDS[@]}"
	CASE_PIDS=()
}
case_bye() { [ "$(cat "$TMP/$1/bye" 2>/dev/null)" = 0 ]; }
case_check() {
	if case_bye "$2"; then heard_output "$1" "$2" "$3"
	else fail "$1" "caller got no BYE (see $TMP/$2/sipp.log)"; fi
}

t_batch=$(now_ms)
case_job operator_phrase $NUM 1500 "operator"
case_job operator_synonym $NUM 1500 "talk to a person"
case_job support_phrase $NUM 1500 "support"
case_job support_synonym $NUM 1500 "technical help"
case_job silence $NUM 500 -silence
# Barge-in: speaking 1 s into a 6 s question stops it.
case_job barge $NUM_LONG 1000 "technical help"
# Off-topic sentences: measured, not asserted (pocketsphinx's grammar
# search forces speech onto a phrase; only the confidence rejects it).
OFFTOPIC=("the weather is nice today in paris"
	"my cat likes to sleep on the sofa"
	"please send the invoice by email"
	"how much is the train ticket to london")
for i in "${!OFFTOPIC[@]}"; do
	case_job offtopic$((i + 1)) $NUM 1500 "${OFFTOPIC[$i]}"
done
# The Russian tenants, through the fake Vosk server.
case_job vosk_operator $NUM_RU 1500 "-tone 500"
case_job vosk_synonym $NUM_RU 1500 "-tone 900"
case_job vosk_support $NUM_RU 1500 "-tone 1300"
case_job vosk_slow $NUM_SLOW 1500 "-tone 500"
case_job vosk_close $NUM_CLOSE 1500 "-tone 500"
case_job vosk_dead $NUM_DEAD 1500 "-tone 500"
case_job vosk_tls $NUM_TLS 1500 "-tone 1300"
case_job vosk_badtls $NUM_BADTLS 1500 "-tone 500"
case_job vosk_ssrf $NUM_SSRF 1500 "-tone 500"
case_wait
echo "info: $n calls at once in $(($(now_ms) - t_batch)) ms"

case_check operator_phrase_routes_to_operator operator_phrase 1
case_check operator_synonym_routes_to_operator operator_synonym 1
case_check support_phrase_routes_to_support support_phrase 2
case_check support_synonym_routes_to_support support_synonym 2
case_check silence_routes_to_no_input silence 3
case_check barge_in_routes_to_support barge 2
if case_bye barge; then
	read -r -a t <"$TMP/barge/tones"
	if [ "${t[0]:-0}" -lt 4000 ]; then pass barge_in_cuts_the_question
	else fail barge_in_cuts_the_question "question heard ${t[0]:-0} ms of 6000"; fi
fi
rejected=0 total=0
for i in "${!OFFTOPIC[@]}"; do
	d=offtopic$((i + 1)) total=$((total + 1))
	if case_bye $d; then
		read -r -a t <"$TMP/$d/tones"
		[ "${t[4]:-0}" -ge 1000 ] && rejected=$((rejected + 1))
	else fail "offtopic_call_${total}_ends" "caller got no BYE"; fi
done
echo "info: off-topic sentences routed to not_recognized: $rejected of $total"

case_check vosk_phrase_routes_to_operator vosk_operator 1
case_check vosk_synonym_routes_to_operator vosk_synonym 1
case_check vosk_phrase_routes_to_support vosk_support 2
case_check vosk_slow_server_routes_to_not_recognized vosk_slow 4
# In time: the bridge gives up after its vosk_timeout_ms (3 s); waiting
# for the slow fake (10 s) would make the call last 16 s and more.
ms=$(cat "$TMP/vosk_slow/ms" 2>/dev/null || echo 99999)
if [ "$ms" -lt 14000 ]; then pass vosk_slow_server_call_ends_in_time
else fail vosk_slow_server_call_ends_in_time "the call took $ms ms"; fi
echo "info: call lengths (ms): slow $ms, dead $(cat "$TMP/vosk_dead/ms"), routed $(cat "$TMP/vosk_operator/ms")"
case_check vosk_server_closing_routes_to_not_recognized vosk_close 4
case_check vosk_dead_server_routes_to_not_recognized vosk_dead 4
case_check vosk_over_wss_routes_to_support vosk_tls 2
case_check vosk_untrusted_certificate_routes_to_not_recognized vosk_badtls 4
case_check vosk_private_url_routes_to_not_recognized vosk_ssrf 4
if grep -q "asrssrf.*vosk 127.0.0.1: 127.0.0.1 is a private address" "$PBX_RUN"/asr*.log; then
	pass vosk_private_url_never_connected
else fail vosk_private_url_never_connected "no refusal line for asrssrf in the asr logs"; fi
# What reached the fake server for the three words: the config (8 kHz,
# the turn's phrases as its grammar with [unk]), at least the 1 s tone
# as 16-bit samples in binary frames, voiced, and the tenant's token.
vosk_got() { # <text>
	/usr/bin/python3 - "$TMP/vosk.log" "$1" <<'PY'
import json, sys
ok = False
for line in open(sys.argv[1], encoding='utf-8'):
    r = json.loads(line)
    if r.get('path') != '/' or r.get('text') != sys.argv[2]:
        continue
    pl = r.get('phrase_list') or []
    ok = (r['sample_rate'] == 8000 and r['bytes'] >= 16000 and
          r['frames'] >= 2 and r['voiced_ms'] >= 800 and
          r['auth'] == 'ok' and 'оператор' in pl and
          'живой человек' in pl and '[unk]' in pl)
    if not ok:
        print(line.strip())
sys.exit(0 if ok else 1)
PY
}
for w in оператор "живой человек" поддержка; do
	if out=$(vosk_got "$w"); then pass "vosk_server_got_the_audio_of_${w// /_}"
	else fail "vosk_server_got_the_audio_of_${w// /_}" "${out:-no session answered \"$w\"} (see $TMP/vosk.log)"; fi
done
tls_ok=$(grep -c "\"port\": $VOSK_TLS_PORT, \"tls\": true, .*\"bytes\": [1-9]" "$TMP/vosk.log")
tls_bad=$(grep -c "\"port\": $VOSK_BADTLS_PORT" "$TMP/vosk.log")
if grep -q "vosk 127.0.0.1: TLS: certificate verify failed" "$PBX_RUN"/asr*.log &&
	[ "$tls_ok" -eq 1 ] && [ "$tls_bad" -eq 0 ]; then
	pass vosk_untrusted_server_never_got_the_audio
else fail vosk_untrusted_server_never_got_the_audio "$(grep -h 'TLS' "$PBX_RUN"/asr*.log | head -2); sessions over wss: trusted $tls_ok (1), untrusted $tls_bad (0)"; fi
if grep -q "vosk 127.0.0.1: no answer in time" "$PBX_RUN"/asr*.log &&
	grep -q "vosk 127.0.0.1: .*ECONNREFUSED\|vosk 127.0.0.1: cannot connect" "$PBX_RUN"/asr*.log; then
	pass vosk_failures_logged_by_the_bridge
else fail vosk_failures_logged_by_the_bridge "no timeout / refusal line in the asr logs"; fi
if grep -q "$VOSK_TOKEN" "$PBX_RUN"/*.log; then
	fail vosk_secret_never_logged "the token is in $(grep -l "$VOSK_TOKEN" "$PBX_RUN"/*.log)"
else pass vosk_secret_never_logged; fi

# Both bridges took streams (least-loaded, ties in turn).
s1=$(grep -c "phrase(s), no input" "$PBX_RUN/asr1.log")
s2=$(grep -c "phrase(s), no input" "$PBX_RUN/asr2.log")
if [ "$s1" -ge 1 ] && [ "$s2" -ge 1 ]; then pass both_bridges_served_streams
else fail both_bridges_served_streams "asr1 $s1, asr2 $s2 streams"; fi
echo "info: streams asr1 $s1, asr2 $s2"

# The bridges' /metrics (asrN on 9240+N): the utterances answered, the
# result latency by recogniser, the bridge's own share and its p99.
finals=0
for i in 1 2; do
	curl -s -m 3 "http://127.0.0.1:$((9240 + i))/metrics" >"$TMP/asr$i.metrics"
	f=$(awk '$1 == "pbx_asr_finals_total" { print $2 }' "$TMP/asr$i.metrics")
	finals=$((finals + ${f:-0}))
done
cat "$TMP"/asr[12].metrics >"$TMP/asr.metrics"
rem=$(awk '$1 ~ /^pbx_asr_result_seconds_count\{recogniser="remote"/ { n += $2 } END { print n + 0 }' "$TMP/asr.metrics")
if [ "$finals" -ge 15 ] && [ "$rem" -ge 5 ] &&
	grep -q '^pbx_asr_bridge_p99_seconds ' "$TMP/asr.metrics"; then
	pass asr_metrics_count_the_utterances
else fail asr_metrics_count_the_utterances "finals $finals (>= 15), remote $rem (>= 5)"; fi
echo "info: bridge's own p99 (s): $(awk '$1 == "pbx_asr_bridge_p99_seconds" { printf "%s ", $2 }' "$TMP/asr.metrics")"

# No bridge: the caller is not heard, the call still ends (no_input).
"$STACK" stop-one asr1
"$STACK" stop-one asr2
sleep 3.5 # the worker's pings go unanswered: both bridges not used
case_job nobridge $NUM 1500 "operator"
case_wait
case_check dead_bridges_route_to_no_input nobridge 3

grep -h "heard \"" "$PBX_RUN"/asr*.log | sed 's/^.*stream/info: stream/' | head -20
e2e_finish $T $RU_TENANTS
