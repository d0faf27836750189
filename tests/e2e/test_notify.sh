#!/bin/bash
# End-to-end notifications (docs/services/notifier.md): the whole stack
# with the notifier, a real SMTP server (aiosmtpd, tests/support/
# smtp_sink.py) and an HTTP receiver (tests/support/webhook_sink.py).
# A SIPp caller leaves a 3 s message; checks the e-mail (envelope
# recipient, MIME structure, the attached WAV decodes, is the listed
# message byte for byte and lasts what was recorded), the signed webhook
# (JSON fields, a valid HMAC-SHA256 under the tenant's secret, retried
# after two 500s), a webhook that always fails ends in the dead-letter
# stream after max_attempts, a notifier that was down delivers the jobs
# written meanwhile when it starts, and the webhook RPC's checks (tenant
# scope, bad URL, short secret, the secret never shown). Then MWI: a SIPp
# phone subscribes to message-summary through Kamailio (digest) and must
# see 0/0, then 1/0 after a message, then 0/1 after `pbxctl vm heard`.
#
# Environment: PBX_BUILD (a build dir, required). Prints "PASS <name>" /
# "FAIL <name> <why>" per check and a last line "N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/e2e/lib.sh"
e2e_env notify
CALLER_IP=127.0.0.2
T=e2ent    # the tenant: e-mail with attachment, a flaky webhook
T2=e2ent2  # another: its webhook always fails
NUM=15550401
NUM2=15550402
NUM3=15550403
DOMAIN=$T.pbx.test
EXTPW=mwi-phone-secret-x7
SECRET=whsec-0123456789abcdef
SECRET2=whsec-fedcba9876543210
SMTP_PORT=2525
HTTP_PORT=8089
MAIL=$TMP/mail
HOOKS=$TMP/hooks
export PBX_SMTP_URL=smtp://127.0.0.1:$SMTP_PORT PBX_SMTP_FROM=vm@pbx.test
# Quick retries so the suite sees them: 300 ms, 600 ms; dead at the 3rd.
export PBX_NOTIFY_RETRY_MS=300 PBX_NOTIFY_ATTEMPTS=3

cleanup() {
	"$STACK" stop >/dev/null 2>&1
	notify_sinks_stop
}
trap cleanup EXIT
notify_sinks_start
stack_up

sox -n -r 8000 -c 1 -b 16 "$TMP/vmhi.wav" synth 1 sine 660 2>/dev/null
sox -n -r 8000 -c 1 -t ul "$TMP/vm_tone.ul" synth 3 sine 440 vol 0.5 \
	2>/dev/null
VM='{"start":"v","nodes":{"v":{"type":"voicemail","options":{"box":"general"}}}}'
prov_ok=1
{
	for t in $T $T2; do "$PBXCTL" tenant delete $t; done
	"$PBXCTL" tenant create $T --domain $DOMAIN &&
		"$PBXCTL" tenant create $T2 &&
		"$PBXCTL" prompt upload $T vmhi "$TMP/vmhi.wav" &&
		echo '{"greeting":"vmhi","email":"anna@example.com","attach":true}' |
		"$PBXCTL" object put $T voicemail_box general - &&
		echo '{"greeting":"vmhi"}' |
		"$PBXCTL" object put $T2 voicemail_box general - &&
		number_with $T $NUM vm "$VM" && number_with $T2 $NUM2 vm "$VM" &&
		"$PBXCTL" notify webhook $T "http://127.0.0.1:$HTTP_PORT/flaky" \
			$SECRET &&
		echo $SECRET2 | "$PBXCTL" notify webhook $T2 \
			"http://127.0.0.1:$HTTP_PORT/fail" -
} >"$TMP/provision.out" 2>&1 || prov_ok=0
if [ $prov_ok = 1 ]; then pass provision_tenants_boxes_and_webhooks; else
	fail provision_tenants_boxes_and_webhooks "$(tail -1 "$TMP/provision.out")"
fi

# --- the webhook RPC ---------------------------------------------------------
out=$("$PBXCTL" notify show $T 2>&1)
if [ "$out" = "webhook: http://127.0.0.1:$HTTP_PORT/flaky (secret set)" ]; then
	pass notify_show_names_the_url_never_the_secret
else
	fail notify_show_names_the_url_never_the_secret "$out"
fi
if ! out=$("$PBXCTL" notify webhook $T ftp://x/ $SECRET 2>&1) &&
	echo "$out" | grep -q "http:// or https://"; then
	pass webhook_url_must_be_http
else
	fail webhook_url_must_be_http "$out"
fi
if ! out=$("$PBXCTL" notify webhook $T http://x/ short 2>&1) &&
	echo "$out" | grep -q "secret must be 16"; then
	pass webhook_secret_too_short_is_refused
else
	fail webhook_secret_too_short_is_refused "$out"
fi
TKEY=$("$STACK" key tenant-$T)
if ! out=$("$PBXCTL" --key "$TKEY" notify webhook $T2 http://x/ $SECRET 2>&1) &&
	"$PBXCTL" --key "$TKEY" notify show $T >/dev/null 2>&1 &&
	[ "$("$PBXCTL" notify show $T2)" = "webhook: http://127.0.0.1:$HTTP_PORT/fail (secret set)" ]; then
	pass tenant_key_sets_only_its_own_webhook
else
	fail tenant_key_sets_only_its_own_webhook "$out"
fi

# --- a message: the e-mail and the webhook ------------------------------------
if sipp_call uac_voicemail.xml $NUM 5081 -mp 31100; then
	pass caller_leaves_a_message
else
	fail caller_leaves_a_message "sipp failed (see $TMP/sipp.out)"
fi
id=$("$PBXCTL" vm list $T general 2>/dev/null | awk 'NR == 1 {print $1}')
for _ in $(seq 100); do [ -e "$MAIL/1.eml" ] && break; sleep 0.1; done
if [ -e "$MAIL/1.eml" ] &&
	[ "$($PY -c 'import json,sys; e=json.load(open(sys.argv[1])); print(e["mail_from"], ",".join(e["rcpt_tos"]))' "$MAIL/1.env")" = "vm@pbx.test anna@example.com" ]; then
	pass mail_reaches_the_smtp_server_for_the_boxs_address
else
	fail mail_reaches_the_smtp_server_for_the_boxs_address "$(cat "$MAIL/1.env" 2>/dev/null || echo 'no mail')"
fi
# The MIME structure, and the attachment written out.
mime=$($PY - "$MAIL/1.eml" "$TMP/attached.wav" <<'PY' 2>&1
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"),
                                   policy=email.policy.default)
parts = [p.get_content_type() for p in m.iter_parts()]
att = [p for p in m.iter_attachments()]
print("type", m.get_content_type())
print("to", m["To"])
print("subject", m["Subject"])
print("parts", ",".join(parts))
print("text", "voicemail box general" in m.get_body(("plain",)).get_content())
if att:
    print("filename", att[0].get_filename())
    open(sys.argv[2], "wb").write(att[0].get_content())
PY
)
echo "$mime" | sed 's/^/info: mail /'
if echo "$mime" | grep -qx "type multipart/mixed" &&
	echo "$mime" | grep -qx "parts text/plain,audio/wav" &&
	echo "$mime" | grep -qx "to anna@example.com" &&
	echo "$mime" | grep -qx "subject New voicemail from 79990000001 (3 s)" &&
	echo "$mime" | grep -qx "text True" &&
	echo "$mime" | grep -qx "filename voicemail-$id.wav"; then
	pass mail_is_multipart_text_and_wav_attachment
else
	fail mail_is_multipart_text_and_wav_attachment "$mime"
fi
"$PBXCTL" vm get $T general "$id" >"$TMP/listed.wav" 2>/dev/null
dur=$(soxi -D "$TMP/attached.wav" 2>/dev/null || echo 0)
ms=$(rcli HGET "pbx:{$T}:vm:msg:$id" duration_ms)
if cmp -s "$TMP/attached.wav" "$TMP/listed.wav" &&
	awk -v d="$dur" -v ms="$ms" 'BEGIN { exit !(d >= 2.8 && d <= 3.2 && d * 1000 == ms) }'; then
	pass attachment_decodes_to_the_message_with_its_duration
else
	fail attachment_decodes_to_the_message_with_its_duration "$dur s, listed $ms ms"
fi
echo "info: attachment $dur s"

# The flaky webhook answers 500 twice: three signed deliveries.
for _ in $(seq 100); do [ -e "$HOOKS/3.json" ] && break; sleep 0.1; done
hooks=$($PY - "$HOOKS" $SECRET "$id" $T <<'PY' 2>&1
import glob, hashlib, hmac, json, os, sys, time
d, secret, mid, tenant = sys.argv[1:5]
for f in sorted(glob.glob(os.path.join(d, "*.json")),
                key=lambda p: int(os.path.basename(p).split(".")[0])):
    r = json.load(open(f))
    h = {k.lower(): v for k, v in r["headers"].items()}
    sig = dict(kv.split("=", 1) for kv in h["x-pbx-signature"].split(","))
    want = hmac.new(secret.encode(), (sig["t"] + "." + r["body"]).encode(),
                    hashlib.sha256).hexdigest()
    b = json.loads(r["body"])
    print(r["path"], b["attempt"], "valid" if hmac.compare_digest(want, sig["v1"]) else "BAD",
          "fresh" if abs(time.time() - int(sig["t"])) < 60 else "stale",
          h.get("content-type"), h.get("x-pbx-event"),
          "event" if h.get("x-pbx-event-id") == b["event_id"] else "noevent",
          b["kind"], b["tenant"], b["box"], "id" if b["id"] == mid else "otherid",
          b["caller"], b["called"], b["duration_ms"])
PY
)
echo "$hooks" | sed 's/^/info: webhook /'
want1="/flaky 1 valid fresh application/json voicemail event voicemail $T general id 79990000001 $NUM $ms"
if [ "$(echo "$hooks" | wc -l)" = 3 ] &&
	[ "$(echo "$hooks" | sed -n 1p)" = "$want1" ] &&
	[ "$(echo "$hooks" | sed -n 3p)" = "${want1/flaky 1/flaky 3}" ]; then
	pass webhook_json_signed_and_retried_after_500s
else
	fail webhook_json_signed_and_retried_after_500s "$hooks"
fi
# Delivered: nothing pending, nothing dead, no error kept.
for _ in $(seq 30); do
	[ "$(rcli XLEN 'pbx:{sys}:notify:jobs')" = 0 ] && break
	sleep 0.1
done
if [ "$(rcli XLEN 'pbx:{sys}:notify:jobs')" = 0 ] &&
	[ "$(rcli XLEN 'pbx:{sys}:notify:dead')" = 0 ] &&
	[ "$(rcli HLEN 'pbx:{sys}:notify:errors')" = 0 ]; then
	pass delivered_jobs_leave_nothing_behind
else
	fail delivered_jobs_leave_nothing_behind "jobs $(rcli XLEN 'pbx:{sys}:notify:jobs'), dead $(rcli XLEN 'pbx:{sys}:notify:dead')"
fi

# --- a webhook that always fails ends in the dead-letter stream ---------------
nhooks=$(ls "$HOOKS"/*.json | wc -l)
if sipp_call uac_voicemail.xml $NUM2 5082 -mp 31200; then :; else
	echo "info: second call: sipp failed"
fi
id2=$("$PBXCTL" vm list $T2 general 2>/dev/null | awk 'NR == 1 {print $1}')
for _ in $(seq 100); do
	rcli --raw XRANGE 'pbx:{sys}:notify:dead' - + | grep -qx $T2 && break
	sleep 0.1
done
dead=$(rcli --raw XRANGE 'pbx:{sys}:notify:dead' - + | tr '\n' ' ')
fails=$(($(ls "$HOOKS"/*.json | wc -l) - nhooks))
if echo "$dead" | grep -q "attempts 3 error webhook answered HTTP 500 " &&
	echo "$dead" | grep -q "tenant $T2 box general ref $id2 channel webhook" &&
	[ "$fails" = 3 ] && [ "$(rcli XLEN 'pbx:{sys}:notify:jobs')" = 0 ]; then
	pass failing_webhook_dead_lettered_after_3_attempts
else
	fail failing_webhook_dead_lettered_after_3_attempts "$fails posts; dead: $dead"
fi
if [ ! -e "$MAIL/2.eml" ]; then pass box_without_email_sends_no_mail; else
	fail box_without_email_sends_no_mail "a second mail arrived"
fi

# --- a notifier that was down loses nothing -----------------------------------
"$STACK" stop-one notifier
"$PBXCTL" notify webhook $T off >/dev/null
if sipp_call uac_voicemail.xml $NUM 5083 -mp 31300; then :; else
	echo "info: third call: sipp failed"
fi
sleep 1
queued=$(rcli XLEN 'pbx:{sys}:notify:jobs')
none_yet=0
[ ! -e "$MAIL/2.eml" ] && none_yet=1
"$STACK" start-one notifier >/dev/null 2>&1
for _ in $(seq 100); do [ -e "$MAIL/2.eml" ] && break; sleep 0.1; done
if [ "$queued" = 1 ] && [ $none_yet = 1 ] && [ -e "$MAIL/2.eml" ]; then
	pass job_written_while_notifier_down_is_mailed_at_its_start
else
	fail job_written_while_notifier_down_is_mailed_at_its_start "queued $queued, mail before start: $((1 - none_yet))"
fi

# --- MWI: 0 -> 1 -> 0 new messages for a subscribed phone ---------------------
mwi_ok=1
{
	"$PBXCTL" ext add $T 201 $EXTPW &&
		echo '{"greeting":"vmhi"}' |
		"$PBXCTL" object put $T voicemail_box 201 - &&
		number_with $T $NUM3 vm201 \
			'{"start":"v","nodes":{"v":{"type":"voicemail","options":{"box":"201"}}}}'
} >"$TMP/mwi-prov.out" 2>&1 || mwi_ok=0
(cd "$TMP" && exec timeout 120 sipp -sf "$SIPP_DIR/mwi_subscribe.xml" -s 201 \
	-key domain $DOMAIN -key final 0/1 -au 201 -ap $EXTPW -i $CALLER_IP -p 5097 -m 1 \
	-nostdin -trace_msg -message_file "$TMP/mwi.msg" 127.0.0.1:5060 \
	>"$TMP/mwi.out" 2>&1) &
MWI_PID=$!
nlog() { grep -c "mwi: $T/201: $1" "$PBX_RUN/notifier.log"; }
for _ in $(seq 100); do [ "$(nlog "0 new, 0 old")" -ge 1 ] && break; sleep 0.1; done
sipp_call uac_voicemail.xml $NUM3 5084 -mp 31400 || mwi_ok=0
for _ in $(seq 100); do [ "$(nlog "1 new, 0 old")" -ge 1 ] && break; sleep 0.1; done
id3=$("$PBXCTL" vm list $T 201 2>/dev/null | awk 'NR == 1 {print $1}')
"$PBXCTL" vm heard $T 201 "$id3" >/dev/null 2>&1 || mwi_ok=0
wait $MWI_PID
mwi_rc=$?
if [ $mwi_ok = 1 ] && [ $mwi_rc = 0 ] &&
	[ "$(grep -c '^Messages-Waiting:' "$TMP/mwi.msg")" = 3 ]; then
	pass mwi_notify_0_then_1_then_0_after_heard
else
	fail mwi_notify_0_then_1_then_0_after_heard "sipp $mwi_rc, provisioning $mwi_ok; $(grep -h 'Voice-Message' "$TMP/mwi.msg" | tr -d '\r' | tr '\n' ' ')"
fi

"$PBXCTL" tenant delete $T >/dev/null 2>&1
"$PBXCTL" tenant delete $T2 >/dev/null 2>&1
"$STACK" stop
sanitizer_clean services_clean_under_sanitizers "$PBX_RUN"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
