#!/usr/bin/env bash
# End-to-end fax: starts the whole stack (stack.sh, one media worker),
# provisions a tenant with the paid fax option whose number goes to a fax
# box (format pdf, ECM), and has a real fax machine (tests/support/fax_send:
# spandsp's T.30 sender on a libre call through Kamailio, G.711 RTP) send a
# three-page TIFF. Checks the fax as the worker stored it: listed in the
# box with its T.30 result, pages, resolution, ECM and the sender's id; the
# received TIFF's pages are the sent ones (count, width, rows within 2 %,
# black pixels within 3 %); the PDF has a page per fax page; pbxctl fax
# list / get / delete, and another tenant sees nothing. Then a tiff-format
# box without ECM; a fax node with outputs: the scenario goes on after the
# fax (a prompt, then the hang-up; over T.38 back to audio first, heard
# at the new RTP port the sender answers with); a sender going back to
# audio after a page over T.38 (the page kept, the fax recorded, BYE); the
# box's page header on the PDF pages and burned into a tiff box's pages;
# a box at its quota refusing a fax;
# and the fax feature switched off: 403 "Fax Not Enabled".
# Notifications: a real SMTP server (aiosmtpd, tests/support/smtp_sink.py)
# gets the box's e-mail with the PDF attached (its pages counted: the fax's),
# the tiff box's mail carries the TIFF, and the tenant's webhook receiver
# (tests/support/webhook_sink.py) a signed `fax.received` event with the
# metadata and no document.
#
# Environment: PBX_BUILD (a build dir, required). Prints "PASS <name>" /
# "FAIL <name> <why>" per check and a last line "N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/e2e/lib.sh"
e2e_env e2e-fax
FAXSEND=$PBX_BUILD/tests/support/fax_send
T=e2efax   # test tenant
T2=e2efax2 # another tenant
NUM=15550401
NUM2=15550402
NUM3=15550403
CALLER_IP=127.0.0.2
SMTP_PORT=2525
HTTP_PORT=8089
MAIL=$TMP/mail
HOOKS=$TMP/hooks
SECRET=whsec-fax-0123456789abcdef
export PBX_SMTP_URL=smtp://127.0.0.1:$SMTP_PORT PBX_SMTP_FROM=fax@pbx.test

cleanup() {
	"$STACK" stop >/dev/null 2>&1
	notify_sinks_stop
}
trap cleanup EXIT
notify_sinks_start
stack_up

# The mail number $1 (waited for): "<rcpt> <subject> | <parts> | <file>
# <pages>", the attachment written to $2. Pages: the PDF's /Type /Page
# objects (0 for a TIFF, whose pages fax_send compare checks).
mail_of() {
	for _ in $(seq 100); do [ -e "$MAIL/$1.eml" ] && break; sleep 0.1; done
	$PY - "$MAIL/$1.eml" "$MAIL/$1.env" "$2" <<'PY' 2>&1
import email, email.policy, json, re, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"),
                                   policy=email.policy.default)
env = json.load(open(sys.argv[2]))
att = list(m.iter_attachments())
data = att[0].get_content() if att else b""
open(sys.argv[3], "wb").write(data)
pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", data))
print(",".join(env["rcpt_tos"]), m["Subject"], "|",
      ",".join(p.get_content_type() for p in m.iter_parts()), "|",
      att[0].get_filename() if att else "-", pages)
PY
}

prov_ok=1
{
	"$PBXCTL" tenant delete $T
	"$PBXCTL" tenant delete $T2
	"$PBXCTL" tenant create $T &&
		"$PBXCTL" tenant create $T2 &&
		"$PBXCTL" tenant feature $T fax on &&
		echo '{"format":"pdf","ecm":true,"ident":"E2E PBX","email":"office@example.com","t38":false,"header":"ACME Office Fax"}' |
		"$PBXCTL" object put $T fax_box office - &&
		echo '{"format":"tiff","ecm":false,"email":"plain@example.com","t38":false,"header":"E2E PLAIN"}' |
		"$PBXCTL" object put $T fax_box plain - &&
		number_with $T $NUM fax \
			'{"start":"f","nodes":{"f":{"type":"fax","options":{"box":"office"}}}}' &&
		number_with $T $NUM2 fax2 \
			'{"start":"f","nodes":{"f":{"type":"fax","options":{"box":"plain"}}}}' &&
		echo '{"format":"tiff","ecm":true,"t38":true}' |
		"$PBXCTL" object put $T fax_box t38 - &&
		number_with $T $NUM3 fax3 \
			'{"start":"f","nodes":{"f":{"type":"fax","options":{"box":"t38"}}}}' &&
		"$PBXCTL" notify webhook $T "http://127.0.0.1:$HTTP_PORT/ok" $SECRET
} >"$TMP/provision.out" 2>&1 || prov_ok=0
if [ $prov_ok = 1 ]; then pass provision_fax_tenant; else
	fail provision_fax_tenant "$(tail -1 "$TMP/provision.out")"
fi

# --- a three-page fax with ECM, stored as TIFF and PDF -----------------------
out=$("$FAXSEND" $CALLER_IP 5071 127.0.0.1:5060 $NUM "$TMP/sent.tif" 1 90 0 3 \
	2>"$TMP/send.err")
echo "info: sender: $out"
if echo "$out" | grep -q "^code=200 result=0 pages=3 closed=bye.* transport=audio reinvites=0 "; then
	pass fax_sent_whole_and_the_pbx_hung_up
else
	fail fax_sent_whole_and_the_pbx_hung_up "$out $(tail -1 "$TMP/send.err")"
fi
for _ in $(seq 30); do
	[ -n "$(rcli ZRANGE "pbx:{$T}:fax:box:office" 0 -1)" ] && break
	sleep 0.1
done
id=$(rcli ZRANGE "pbx:{$T}:fax:box:office" 0 -1 | head -1)
meta() { rcli HGET "pbx:{$T}:fax:msg:$id" "$1"; }
if [ -n "$id" ] && [ "$(meta result)" = 0 ] && [ "$(meta pages)" = 3 ] &&
	[ "$(meta ecm)" = 1 ] && [ "$(meta transport)" = audio ] &&
	[ "$(meta remote_id)" = "E2E SENDER" ] &&
	[ "$(meta resolution)" = 204x196 ] && [ "$(meta files)" = tif,pdf ] &&
	[ "$(meta caller)" = 79990000002 ] && [ "$(meta called)" = $NUM ]; then
	pass fax_listed_with_result_pages_ecm_and_sender
else
	fail fax_listed_with_result_pages_ecm_and_sender \
		"id '$id': $(rcli HGETALL "pbx:{$T}:fax:msg:$id" | tr '\n' ' ')"
fi
echo "info: fax $id: $(meta bit_rate) bit/s, $(meta duration_ms) ms"
dir=$PBX_RUN/media/$T/fax
if cmp=$("$FAXSEND" compare "$TMP/sent.tif" "$dir/$id.tif" 2>&1); then
	pass received_pages_are_the_sent_ones
else
	fail received_pages_are_the_sent_ones "$(echo "$cmp" | tr '\n' ' ')"
fi
echo "$cmp" | sed 's/^/info: /'
pdf_pages=$(grep -a -c '/Type /Page$\|/Type /Page[^s]' "$dir/$id.pdf" 2>/dev/null)
if [ "$(head -c 5 "$dir/$id.pdf" 2>/dev/null)" = "%PDF-" ] &&
	[ "$pdf_pages" = 3 ]; then
	pass pdf_has_a_page_per_fax_page
else
	fail pdf_has_a_page_per_fax_page "${pdf_pages:-no} pages"
fi
# The box's header line on every page: the PDF's page contents inflated.
hdr=$($PY - "$dir/$id.pdf" <<'PY' 2>&1
import re, sys, zlib
data = open(sys.argv[1], "rb").read()
text = b""
for m in re.finditer(rb"stream\r?\n", data):
    try:
        text += zlib.decompressobj().decompress(data[m.end():])
    except zlib.error:
        pass
# libhpdf writes "/" in a string as the octal escape \057.
text = text.decode("latin-1").replace("\\057", "/")
print(" ".join(sorted(set(re.findall(r"From: E2E SENDER  ACME Office Fax  Page \d/3",
                                     text)))))
PY
)
if [ "$hdr" = "From: E2E SENDER  ACME Office Fax  Page 1/3 From: E2E SENDER  ACME Office Fax  Page 2/3 From: E2E SENDER  ACME Office Fax  Page 3/3" ]; then
	pass pdf_pages_carry_the_box_header
else
	fail pdf_pages_carry_the_box_header "$hdr"
fi
tmps=$(find "$dir" -name '.tmp.*' | wc -l)
if [ "$tmps" = 0 ]; then pass no_temporary_file_left
else fail no_temporary_file_left "$tmps left"; fi

# --- the e-mail with the PDF, the webhook with the metadata -----------------
mail=$(mail_of 1 "$TMP/mailed.pdf")
echo "info: mail: $mail"
if [ "$mail" = "office@example.com Fax from 79990000002 (3 pages) | text/plain,application/pdf | fax-$id.pdf 3" ] &&
	cmp -s "$TMP/mailed.pdf" "$dir/$id.pdf"; then
	pass mail_carries_the_pdf_with_the_faxs_pages
else
	fail mail_carries_the_pdf_with_the_faxs_pages "$mail"
fi
for _ in $(seq 100); do [ -e "$HOOKS/1.json" ] && break; sleep 0.1; done
hook=$($PY - "$HOOKS/1.json" $SECRET "$id" <<'PY' 2>&1
import hashlib, hmac, json, sys
r = json.load(open(sys.argv[1]))
h = {k.lower(): v for k, v in r["headers"].items()}
sig = dict(kv.split("=", 1) for kv in h["x-pbx-signature"].split(","))
want = hmac.new(sys.argv[2].encode(), (sig["t"] + "." + r["body"]).encode(),
                hashlib.sha256).hexdigest()
b = json.loads(r["body"])
print("valid" if hmac.compare_digest(want, sig["v1"]) else "BAD",
      h.get("x-pbx-event"), b["event"], b["tenant"], b["box"],
      "id" if b["id"] == sys.argv[3] else "otherid", b["caller"], b["called"],
      b["pages"], b["result"], b["remote_id"], b["resolution"], b["ecm"],
      b["transport"], b["files"], "small" if len(r["body"]) < 2000 else "big")
PY
)
echo "info: webhook: $hook"
if [ "$hook" = "valid fax.received fax.received $T office id 79990000002 $NUM 3 0 E2E SENDER 204x196 True audio tif,pdf small" ]; then
	pass webhook_fax_received_with_metadata_signed
else
	fail webhook_fax_received_with_metadata_signed "$hook"
fi

# --- the same over pbxctl ----------------------------------------------------
list=$("$PBXCTL" fax list $T office 2>&1)
if echo "$list" | grep -qE "^$id new .*3 pages .*from 79990000002 \(E2E SENDER\) .*OK"; then
	pass pbxctl_fax_list
else
	fail pbxctl_fax_list "$list"
fi
if "$PBXCTL" fax get $T office "$id" >"$TMP/got.pdf" 2>"$TMP/get.err" &&
	cmp -s "$TMP/got.pdf" "$dir/$id.pdf"; then
	pass pbxctl_fax_get_returns_the_pdf
else
	fail pbxctl_fax_get_returns_the_pdf "$(cat "$TMP/get.err")"
fi
if "$PBXCTL" fax get $T office "$id" tif >"$TMP/got.tif" 2>"$TMP/get.err" &&
	cmp -s "$TMP/got.tif" "$dir/$id.tif"; then
	pass pbxctl_fax_get_tif_returns_the_tiff
else
	fail pbxctl_fax_get_tif_returns_the_tiff "$(cat "$TMP/get.err")"
fi
out=$("$PBXCTL" fax list $T2 office 2>&1)
if [ -z "$out" ] &&
	! "$PBXCTL" fax get $T2 office "$id" >/dev/null 2>"$TMP/get2.err" &&
	grep -q 'no fax' "$TMP/get2.err"; then
	pass other_tenant_sees_nothing
else
	fail other_tenant_sees_nothing "list '$out', get: $(cat "$TMP/get2.err")"
fi
"$PBXCTL" fax delete $T office "$id" >/dev/null 2>&1
if [ -z "$("$PBXCTL" fax list $T office 2>&1)" ] &&
	[ "$(find "$dir" -type f | wc -l)" = 0 ] &&
	[ "$(rcli EXISTS "pbx:{$T}:fax:msg:$id")" = 0 ]; then
	pass fax_delete_removes_listing_and_files
else
	fail fax_delete_removes_listing_and_files "still listed or on disk"
fi

# --- a tiff box without ECM ---------------------------------------------------
out=$("$FAXSEND" $CALLER_IP 5073 127.0.0.1:5060 $NUM2 "$TMP/sent2.tif" 1 90 0 2 \
	2>"$TMP/send2.err")
echo "info: sender: $out"
for _ in $(seq 30); do
	[ -n "$(rcli ZRANGE "pbx:{$T}:fax:box:plain" 0 -1)" ] && break
	sleep 0.1
done
id=$(rcli ZRANGE "pbx:{$T}:fax:box:plain" 0 -1 | head -1)
if echo "$out" | grep -q "result=0 pages=2" && [ "$(meta ecm)" = 0 ] &&
	[ "$(meta files)" = tif ] && [ ! -e "$dir/$id.pdf" ] &&
	"$FAXSEND" compare "$TMP/sent2.tif" "$dir/$id.tif" header >"$TMP/cmp2" 2>&1; then
	pass tiff_box_without_ecm_stores_the_tiff_only
else
	fail tiff_box_without_ecm_stores_the_tiff_only \
		"$out; ecm $(meta ecm), files $(meta files); $(tr '\n' ' ' <"$TMP/cmp2")"
fi
# The box's header is burned into the TIFF pages' top band (compared above
# with "header": ink there, the rest of each page as sent).
sed 's/^/info: /' "$TMP/cmp2"
if grep -q "page 2: .* ok" "$TMP/cmp2"; then
	pass tiff_box_pages_carry_the_header_line
else
	fail tiff_box_pages_carry_the_header_line "$(tr '\n' ' ' <"$TMP/cmp2")"
fi
mail=$(mail_of 2 "$TMP/mailed.tif")
echo "info: mail: $mail"
if [ "$mail" = "plain@example.com Fax from 79990000002 (2 pages) | text/plain,image/tiff | fax-$id.tif 0" ] &&
	cmp -s "$TMP/mailed.tif" "$dir/$id.tif" &&
	"$FAXSEND" compare "$TMP/sent2.tif" "$TMP/mailed.tif" header >/dev/null 2>&1; then
	pass tiff_box_mail_carries_the_tiff
else
	fail tiff_box_mail_carries_the_tiff "$mail"
fi

# --- T.38 ----------------------------------------------------------------------
# $1: the box; waits for its newest fax and prints its id.
newest_fax() {
	local before=${2:-}
	for _ in $(seq 50); do
		id=$(rcli ZRANGE "pbx:{$T}:fax:box:$1" -1 -1)
		[ -n "$id" ] && [ "$id" != "$before" ] && break
		sleep 0.1
	done
	echo "$id"
}
# The sender re-INVITEs to T.38 a second into the call (the office box does
# not offer T.38 itself, but takes it): a four-page fax over UDPTL.
out=$("$FAXSEND" $CALLER_IP 5077 127.0.0.1:5060 $NUM "$TMP/t38.tif" 1 90 0 4 \
	0 invite 2>"$TMP/send3.err")
echo "info: sender: $out"
id=$(newest_fax office)
if echo "$out" | grep -q "^code=200 result=0 pages=4 closed=bye.* transport=t38 " &&
	[ "$(meta transport)" = t38 ] && [ "$(meta result)" = 0 ] &&
	[ "$(meta pages)" = 4 ] && [ "$(meta files)" = tif,pdf ] &&
	"$FAXSEND" compare "$TMP/t38.tif" "$dir/$id.tif" >"$TMP/cmp3" 2>&1; then
	pass t38_from_the_sender_four_pages_received_whole
else
	fail t38_from_the_sender_four_pages_received_whole \
		"$out; $(rcli HGETALL "pbx:{$T}:fax:msg:$id" | tr '\n' ' '); $(tr '\n' ' ' <"$TMP/cmp3")"
fi
sed 's/^/info: /' "$TMP/cmp3"
# The sender goes back to audio after page 1 of 2 over T.38: the worker
# answers with its audio line, ends the fax with that page kept and its
# T.30 result recorded, and hangs up.
last=$id
out=$("$FAXSEND" $CALLER_IP 5091 127.0.0.1:5060 $NUM "$TMP/back.tif" 1 90 0 2 \
	0 back 2>"$TMP/send10.err")
echo "info: sender: $out"
id=$(newest_fax office "$last")
if echo "$out" | grep -qE "^code=200 result=[1-9][0-9]* pages=1 closed=bye .* transport=t38 .* back=1/1 " &&
	[ "$id" != "$last" ] && [ "$(meta transport)" = t38 ] &&
	[ "$(meta pages)" = 1 ] && [ "$(meta result)" != 0 ] &&
	[ "$(meta ended)" = "t38 to audio" ] && [ "$(meta files)" = tif,pdf ] &&
	grep -q "went back to audio after a page" "$PBX_RUN/mw1.log"; then
	pass t38_back_to_audio_after_a_page_keeps_it_and_ends
else
	fail t38_back_to_audio_after_a_page_keeps_it_and_ends \
		"$out; $(rcli HGETALL "pbx:{$T}:fax:msg:$id" | tr '\n' ' ')"
fi
# The box says t38: the worker re-INVITEs to T.38 once it hears CNG; the
# sender takes it.
out=$("$FAXSEND" $CALLER_IP 5079 127.0.0.1:5060 $NUM3 "$TMP/t38b.tif" 1 90 0 2 \
	0 accept 2>"$TMP/send4.err")
echo "info: sender: $out"
id=$(newest_fax t38)
first_t38=$id
if echo "$out" | grep -q "^code=200 result=0 pages=2 closed=bye.* transport=t38 reinvites=1 " &&
	[ "$(rcli HGET "pbx:{$T}:fax:msg:$id" transport)" = t38 ] &&
	"$FAXSEND" compare "$TMP/t38b.tif" "$dir/$id.tif" >"$TMP/cmp4" 2>&1; then
	pass t38_offered_by_the_box_after_cng
else
	fail t38_offered_by_the_box_after_cng \
		"$out; $(rcli HGETALL "pbx:{$T}:fax:msg:$id" | tr '\n' ' '); $(tr '\n' ' ' <"$TMP/cmp4")"
fi
# ... and a sender that refuses it (488) gets its fax through over audio.
out=$("$FAXSEND" $CALLER_IP 5081 127.0.0.1:5060 $NUM3 "$TMP/t38c.tif" 1 90 0 2 \
	0 refuse 2>"$TMP/send5.err")
echo "info: sender: $out"
id=$(newest_fax t38 "$first_t38")
if echo "$out" | grep -q "^code=200 result=0 pages=2 closed=bye.* transport=audio reinvites=1 " &&
	[ "$id" != "$first_t38" ] &&
	[ "$(rcli HGET "pbx:{$T}:fax:msg:$id" transport)" = audio ] &&
	"$FAXSEND" compare "$TMP/t38c.tif" "$dir/$id.tif" >"$TMP/cmp5" 2>&1; then
	pass t38_refused_by_the_sender_falls_back_to_audio
else
	fail t38_refused_by_the_sender_falls_back_to_audio \
		"$out; $(rcli HGETALL "pbx:{$T}:fax:msg:$id" | tr '\n' ' ')"
fi

# --- the scenario goes on after the fax (outputs next / failed) --------------
# fax -> next: a 0.6 s 700 Hz prompt -> hang-up. The sender hears the
# prompt (packets of that tone: none in any other fax here) and then the
# PBX's BYE, or its own T.30 ends first (its phase E comes about a second
# after its DCN); over T.38 the worker first re-INVITEs back to audio.
NUM4=15550404
sox -n -r 8000 -c 1 -b 16 "$TMP/fax_thanks.wav" synth 0.6 sine 700 2>/dev/null
if "$PBXCTL" prompt upload $T fax_thanks "$TMP/fax_thanks.wav" >/dev/null 2>&1 &&
	number_with $T $NUM4 fax4 \
		'{"start":"f","nodes":{"f":{"type":"fax","options":{"box":"office"},"outputs":{"next":"thanks","failed":"bye"}},"thanks":{"type":"greeting","options":{"prompt":"fax_thanks"},"outputs":{"next":"bye"}},"bye":{"type":"hangup"}}}' \
		>"$TMP/prov4.out" 2>&1; then
	pass fax_node_with_outputs_accepted
else
	fail fax_node_with_outputs_accepted "$(tail -1 "$TMP/prov4.out")"
fi
last=$(rcli ZRANGE "pbx:{$T}:fax:box:office" -1 -1)
out=$("$FAXSEND" $CALLER_IP 5083 127.0.0.1:5060 $NUM4 "$TMP/next.tif" 1 90 0 1 \
	2>"$TMP/send6.err")
echo "info: sender: $out"
after=$(echo "$out" | sed -n 's/.* after=\([0-9]*\) .*/\1/p')
id=$(newest_fax office "$last")
if echo "$out" | grep -qE "^code=200 result=0 pages=1 closed=(bye|t30) .* transport=audio " &&
	[ "${after:-0}" -ge 20 ] &&
	grep -q "node bye: hang up" "$PBX_RUN/router.log" && [ "$id" != "$last" ] &&
	[ "$(meta result)" = 0 ] && [ "$(meta pages)" = 1 ]; then
	pass fax_next_plays_the_prompt_then_hangs_up
else
	fail fax_next_plays_the_prompt_then_hangs_up "$out; fax '$id'"
fi
last=$id
# The sender answers the worker's re-INVITE back to audio from a new RTP
# port: the prompt must arrive there (after=), none at the old one (old=).
out=$("$FAXSEND" $CALLER_IP 5085 127.0.0.1:5060 $NUM4 "$TMP/next38.tif" 1 90 0 1 \
	0 move 2>"$TMP/send7.err")
echo "info: sender: $out"
after=$(echo "$out" | sed -n 's/.* after=\([0-9]*\) .*/\1/p')
id=$(newest_fax office "$last")
if echo "$out" | grep -qE "^code=200 result=0 pages=1 closed=(bye|t30) .* transport=t38 .* to_audio=1 .* old=0 " &&
	[ "${after:-0}" -ge 20 ] && [ "$id" != "$last" ] &&
	[ "$(meta transport)" = t38 ]; then
	pass fax_next_after_t38_goes_back_to_audio_for_the_prompt
else
	fail fax_next_after_t38_goes_back_to_audio_for_the_prompt "$out; fax '$id'"
fi

# --- box quotas: max_faxes 1 -------------------------------------------------
# The first fax is kept (its bytes counted), the second gets no T.30 at all:
# the PBX hangs up at once (ENDED "fax: box full, refused"). Deleting the
# fax frees the box and its byte count.
NUM5=15550405
echo '{"format":"pdf","t38":false,"max_faxes":1,"max_bytes":10000000}' |
	"$PBXCTL" object put $T fax_box small - >/dev/null 2>&1
number_with $T $NUM5 fax5 \
	'{"start":"f","nodes":{"f":{"type":"fax","options":{"box":"small"}}}}' \
	>/dev/null 2>&1
out=$("$FAXSEND" $CALLER_IP 5087 127.0.0.1:5060 $NUM5 "$TMP/q1.tif" 1 90 0 1 \
	2>"$TMP/send8.err")
echo "info: sender: $out"
id=$(newest_fax small)
used=$(rcli GET "pbx:{$T}:fax:bytes:small")
if echo "$out" | grep -q "^code=200 result=0 pages=1 closed=bye" &&
	[ -n "$id" ] && [ "${used:-0}" -gt 1000 ] &&
	[ "$(rcli HGET "pbx:{$T}:fax:msg:$id" bytes)" = "$used" ]; then
	pass quota_box_takes_its_first_fax_and_counts_its_bytes
else
	fail quota_box_takes_its_first_fax_and_counts_its_bytes "$out; bytes '$used'"
fi
t0=$(date +%s)
out=$("$FAXSEND" $CALLER_IP 5089 127.0.0.1:5060 $NUM5 "$TMP/q2.tif" 1 60 0 1 \
	2>"$TMP/send9.err")
t1=$(date +%s)
echo "info: sender: $out ($((t1 - t0)) s)"
if echo "$out" | grep -q "^code=200 result=[1-9][0-9]* pages=0 closed=bye" &&
	[ $((t1 - t0)) -lt 15 ] &&
	[ "$(rcli ZCARD "pbx:{$T}:fax:box:small")" = 1 ] &&
	grep -q "fax: box small full: BYE" "$PBX_RUN/mw1.log"; then
	pass quota_full_box_refuses_the_next_fax_and_hangs_up
else
	fail quota_full_box_refuses_the_next_fax_and_hangs_up \
		"$out; $(rcli ZCARD "pbx:{$T}:fax:box:small") faxes"
fi
"$PBXCTL" fax delete $T small "$id" >/dev/null 2>&1
if [ "$(rcli GET "pbx:{$T}:fax:bytes:small")" = 0 ] &&
	[ "$(rcli ZCARD "pbx:{$T}:fax:box:small")" = 0 ]; then
	pass quota_delete_frees_the_box_and_its_bytes
else
	fail quota_delete_frees_the_box_and_its_bytes \
		"bytes $(rcli GET "pbx:{$T}:fax:bytes:small")"
fi

# --- the paid option switched off: 403 live ---------------------------------
"$PBXCTL" tenant feature $T fax off >/dev/null 2>&1
expect_code fax_off_gets_403 $NUM 403 5075 -trace_msg \
	-message_file "$TMP/fax_off.msg"
if grep -q "SIP/2.0 403 Fax Not Enabled" "$TMP/fax_off.msg" 2>/dev/null; then
	pass fax_off_reason_is_fax_not_enabled
else
	fail fax_off_reason_is_fax_not_enabled \
		"$(grep -m1 '^SIP/2.0 [3-6]' "$TMP/fax_off.msg" 2>/dev/null)"
fi

# --- teardown ---------------------------------------------------------------
e2e_finish $T $T2
