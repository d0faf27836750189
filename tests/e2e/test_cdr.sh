#!/usr/bin/env bash
# End-to-end call records (docs/services/router.md "Call records"): the
# whole stack on loopback with the notifier and an HTTP receiver
# (tests/support/webhook_sink.py). Real calls with SIPp through Kamailio:
# a caller walks list -> schedule -> menu, presses 2 (RFC 4733) and is
# bridged to extension 101 (a registered SIPp phone); a ring to 101 that
# answers busy; a number refused at once; a greeting the PBX ends; a caller
# who hangs up during the greeting. Then `pbxctl cdr list / show` must give
# each call its disposition, SIP code, answering extension and node path;
# the filters narrow the list; another tenant's key sees none of them; the
# tenant's webhook receives each record signed as the notifier signs
# (once `cdr webhook on`), and nothing before.
#
# Environment: PBX_BUILD (required). Prints PASS/FAIL lines and a last
# line "N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/e2e/lib.sh"
e2e_env cdr
CALLER_IP=127.0.0.2
PHONE_IP=127.0.0.4
T=cdrt
T2=cdrt2
DOMAIN=cdrt.pbx.local
PASSWORD=cdr-phone-secret-pw1
SECRET=whsec-cdr-0123456789
SMTP_PORT=2526
HTTP_PORT=8090
MAIL=$TMP/mail
HOOKS=$TMP/hooks
PHONE_PID=""

cleanup() {
	[ -n "$PHONE_PID" ] && kill "$PHONE_PID" 2>/dev/null
	"$STACK" stop >/dev/null 2>&1
	notify_sinks_stop
}
trap cleanup EXIT
notify_sinks_start
stack_up

# phone <mode> <name>: 101 registers, then answers (or is busy) once.
phone() {
	if ! phone_register 101 "$PASSWORD" $DOMAIN $PHONE_IP 5094; then
		fail "${2}_phone_registers" "no 200 to REGISTER"
		return 1
	fi
	(cd "$TMP" && exec timeout 90 sipp -sf "$SIPP_DIR/people_callee.xml" \
		-i $PHONE_IP -p 5094 -mi $PHONE_IP -mp 16000 \
		-key ext 101 -key rtp_port 32002 -key mode "$1" -m 1 \
		-nostdin >>"$TMP/sipp.out" 2>&1) &
	PHONE_PID=$!
	sleep 0.3
}
phone_wait() { wait "$PHONE_PID"; PHONE_PID=""; }

# caller <number> <mode> <hold ms> <port>: the people_caller.xml caller.
caller() {
	(cd "$TMP" && timeout 60 sipp -sf "$SIPP_DIR/people_caller.xml" \
		-s "$1" -i $CALLER_IP -p "$4" -mi $CALLER_IP -mp 17000 \
		-key caller 79990000001 -key rtp_port 32000 -key fmts "8 101" \
		-key mode "$2" -d "$3" -m 1 -nostdin \
		127.0.0.1:5060 >>"$TMP/sipp.out" 2>&1)
}

# cdr_wait <n>: waits (5 s at most) until the tenant lists n records.
cdr_wait() {
	for _ in $(seq 50); do
		[ "$("$PBXCTL" cdr list $T 2>/dev/null | wc -l)" -ge "$1" ] &&
			return 0
		sleep 0.1
	done
	return 1
}

# --- provisioning ------------------------------------------------------------
sox -n -r 16000 -c 1 -b 16 "$TMP/menu.wav" synth 4 sine 520 2>/dev/null
sox -n -r 16000 -c 1 -b 16 "$TMP/hello.wav" synth 2 sine 700 2>/dev/null
# What the SIPp caller and phone send (people_caller.xml, people_callee.xml
# play them from $TMP).
sox -n -r 8000 -c 1 -e a-law "$TMP/caller.wav" synth 20 sine 400 2>/dev/null
sox -n -r 8000 -c 1 -e a-law "$TMP/callee.wav" synth 20 sine 600 2>/dev/null
sox -n -r 8000 -c 1 -e a-law "$TMP/dtmf2.wav" synth 0.25 sine 697 synth 0.25 \
	sine mix 1336 gain -6 pad 0 0.3 2>/dev/null
MENU='"menu":{"type":"ivr","options":{"prompt":"menu","timeout":5,"retries":1},"outputs":{"digit:2":"ring101","timeout":"bye","invalid":"bye"}},"ring101":{"type":"subscriber","options":{"kind":"internal","target":"101","timeout":15},"outputs":{"no_answer":"bye","busy":"busy","unavailable":"bye"}},"busy":{"type":"hangup","options":{"code":486}},"bye":{"type":"hangup"}'
PATHJ="{\"start\":\"vip\",\"nodes\":{\"vip\":{\"type\":\"list\",\"options\":{\"list\":\"important\"},\"outputs\":{\"in_list\":\"ring101\",\"not_in_list\":\"hours\"}},\"hours\":{\"type\":\"schedule\",\"options\":{\"schedule\":\"office\"},\"outputs\":{\"match\":\"menu\",\"no_match\":\"bye\"}},$MENU}}"
{
	for t in $T $T2; do "$PBXCTL" tenant delete $t; done
	"$PBXCTL" tenant create $T --domain $DOMAIN &&
		"$PBXCTL" tenant create $T2 &&
		"$PBXCTL" ext add $T 101 "$PASSWORD" &&
		"$PBXCTL" prompt upload $T menu "$TMP/menu.wav" &&
		"$PBXCTL" prompt upload $T hello "$TMP/hello.wav" &&
		echo '{"mode":"white","entries":["+79990000009"]}' |
		"$PBXCTL" object put $T list important - &&
		echo '{"timezone":"Europe/Moscow","windows":[{"days":"all","from":"00:00","to":"23:59"}],"override":"open"}' |
		"$PBXCTL" object put $T schedule office - &&
		number_with $T 15552001 path "$PATHJ" &&
		number_with $T 15552002 ring '{"start":"r","nodes":{"r":{"type":"subscriber","options":{"kind":"internal","target":"101","timeout":5},"outputs":{"no_answer":"gone","busy":"busy","unavailable":"gone"}},"busy":{"type":"hangup","options":{"code":486,"reason":"Busy Here"}},"gone":{"type":"hangup","options":{"code":410}}}}' &&
		number_with $T 15552003 closed '{"start":"x","nodes":{"x":{"type":"hangup","options":{"code":403,"reason":"Closed"}}}}' &&
		number_with $T 15552004 greet '{"start":"g","nodes":{"g":{"type":"greeting","options":{"prompt":"hello"},"outputs":{"next":"bye"}},"bye":{"type":"hangup"}}}' &&
		number_with $T2 15552010 other '{"start":"x","nodes":{"x":{"type":"hangup","options":{"code":403}}}}' &&
		"$PBXCTL" notify webhook $T "http://127.0.0.1:$HTTP_PORT/ok" $SECRET
} >"$TMP/provision.out" 2>&1
if [ $? = 0 ]; then pass provision_cdr_tenants; else
	fail provision_cdr_tenants "$(tail -2 "$TMP/provision.out" | tr '\n' ' ')"
fi

# --- before `cdr webhook on`: a refused call, recorded, not posted ------------
expect_code refused_call_gets_403 15552003 403 5071
cdr_wait 1
sleep 1
if [ "$(ls "$HOOKS"/*.json 2>/dev/null | wc -l)" = 0 ]; then
	pass no_webhook_post_before_cdr_webhook_on
else
	fail no_webhook_post_before_cdr_webhook_on "$(ls "$HOOKS")"
fi
out=$("$PBXCTL" cdr webhook $T on 2>&1)
if [ "$out" = "call records to the webhook: on" ]; then
	pass cdr_webhook_switched_on
else
	fail cdr_webhook_switched_on "$out"
fi

# --- the calls ---------------------------------------------------------------
# 1. list (not in it) -> schedule (open) -> menu, 2 -> 101 answers.
phone answer bridged
start_sink $PHONE_IP 32002 "$TMP/bridged.phone.sink"
sb=$SINK_PID
if caller 15552001 rfc4733 4000 5072; then pass menu_call_bridged_to_101
else fail menu_call_bridged_to_101 "caller sipp failed"; fi
phone_wait
wait $sb
b=$(sink_packets "$TMP/bridged.phone.sink")
if [ "${b:-0}" -ge 100 ]; then pass bridged_rtp_reached_the_phone
else fail bridged_rtp_reached_the_phone "phone got ${b:-0} packets"; fi

# 2. 101 is busy: the scenario's busy branch, 486.
phone busy busy
expect_code busy_extension_gives_486 15552002 486 5073
phone_wait

# 3. A greeting the PBX ends; 4. a caller who hangs up during it.
if sipp_call uac_greeting.xml 15552004 5074 -key rtp_port 31000; then
	pass greeting_answered_then_bye_from_pbx
else fail greeting_answered_then_bye_from_pbx "sipp failed"; fi
if sipp_call uac_hangup.xml 15552004 5075 -key rtp_port 31002 -d 700; then
	pass caller_hung_up_during_the_greeting
else fail caller_hung_up_during_the_greeting "sipp failed"; fi

# The other tenant's call (its own record).
expect_code other_tenant_call_gets_403 15552010 403 5076

# --- cdr list / show -----------------------------------------------------------
cdr_wait 5 || true
"$PBXCTL" cdr list $T >"$TMP/list.out" 2>&1
sed 's/^/info: cdr /' "$TMP/list.out"
line() { grep " -> $1 " "$TMP/list.out" | head -1; }
l1=$(line 15552001)
case "$l1" in
*" 79990000001 -> 15552001 answered 200 "*" by 101 path vip > hours > menu > ring101")
	pass menu_call_record_answered_by_101_with_its_path ;;
*) fail menu_call_record_answered_by_101_with_its_path "$l1" ;;
esac
l2=$(line 15552002)
case "$l2" in
*" -> 15552002 busy 486 "*" path r > busy") pass busy_call_record_486 ;;
*) fail busy_call_record_486 "$l2" ;;
esac
l3=$(line 15552003)
case "$l3" in
*" -> 15552003 rejected 403 "*" path x") pass refused_call_record_403 ;;
*) fail refused_call_record_403 "$l3" ;;
esac
# The hang-up node's default code (603 Decline) is what the call ended with.
if grep -q " -> 15552004 hangup 603 .* path g > bye$" "$TMP/list.out"; then
	pass greeting_call_record_ended_by_the_scenario
else
	fail greeting_call_record_ended_by_the_scenario "$(grep 15552004 "$TMP/list.out" | tr '\n' '|')"
fi
if grep -q " 79990000002 -> 15552004 caller_hangup 200 .* path g$" "$TMP/list.out"; then
	pass hung_up_caller_record
else
	fail hung_up_caller_record "$(grep 15552004 "$TMP/list.out" | tr '\n' '|')"
fi
if [ "$(wc -l <"$TMP/list.out")" = 5 ]; then pass one_record_per_call
else fail one_record_per_call "$(wc -l <"$TMP/list.out") records"; fi

id1=$(echo "$l1" | awk '{print $1}')
"$PBXCTL" cdr show $T "$id1" >"$TMP/show.out" 2>&1
sed 's/^/info: show /' "$TMP/show.out"
if grep -q "^disposition  answered$" "$TMP/show.out" &&
	grep -q "^sip          200 OK$" "$TMP/show.out" &&
	grep -q "^answered by  101$" "$TMP/show.out" &&
	grep -q "^worker       mw1$" "$TMP/show.out" &&
	grep -q "^scenario     path v1$" "$TMP/show.out" &&
	grep -q "| node vip (list): not_in_list -> not_in_list$" "$TMP/show.out" &&
	grep -q "| node hours (schedule): match -> match$" "$TMP/show.out" &&
	grep -q "DTMF *| node menu (ivr): digit:2 -> digit:2$" "$TMP/show.out" &&
	grep -q "RING_RESULT *| node ring101 (subscriber): answered" "$TMP/show.out"; then
	pass cdr_show_prints_the_path_node_by_node
else
	fail cdr_show_prints_the_path_node_by_node "see $TMP/show.out"
fi
# The path is the one the simulator prints for the same call.
"$PBXCTL" scenario simulate $T 15552001 --caller 79990000001 --dtmf 2 \
	>"$TMP/sim.out" 2>&1
sim=$(sed -n 's/.*| node \([^ ]*\) .*/\1/p' "$TMP/sim.out" | uniq | tr '\n' ' ')
rec=$(sed -n 's/.*| node \([^ ]*\) .*/\1/p' "$TMP/show.out" | uniq | tr '\n' ' ')
if [ -n "$sim" ] && [ "$sim" = "$rec" ]; then pass recorded_path_matches_simulate
else fail recorded_path_matches_simulate "simulate '$sim', record '$rec'"; fi

# Filters.
n=$("$PBXCTL" cdr list $T --disposition busy | wc -l)
n2=$("$PBXCTL" cdr list $T --number 15552004 | wc -l)
n3=$("$PBXCTL" cdr list $T --caller 79990000002 | wc -l)
n4=$("$PBXCTL" cdr list $T --limit 2 | wc -l)
n5=$("$PBXCTL" cdr list $T --since 2099-01-01T00:00:00Z | wc -l)
n6=$("$PBXCTL" cdr list $T --until 2000-01-01T00:00:00Z | wc -l)
if [ "$n $n2 $n3 $n4 $n5 $n6" = "1 2 1 2 0 0" ]; then pass cdr_list_filters
else fail cdr_list_filters "busy $n, number $n2, caller $n3, limit $n4, since $n5, until $n6"; fi
if ! out=$("$PBXCTL" cdr list $T --disposition maybe 2>&1) &&
	echo "$out" | grep -q "disposition must be one of"; then
	pass bad_disposition_is_refused
else fail bad_disposition_is_refused "$out"; fi
if ! out=$("$PBXCTL" cdr show $T 1-0 2>&1) && echo "$out" | grep -q "no call record"; then
	pass unknown_record_not_found
else fail unknown_record_not_found "$out"; fi
js=$("$PBXCTL" cdr list $T --number 15552001 --format json)
if echo "$js" | python3 -c 'import json,sys; r=json.loads(sys.stdin.readline()); assert r["answered_by"]=="101" and [h["node"] for h in r["path"]][:3]==["vip","hours","menu"]'; then
	pass cdr_list_json_export
else fail cdr_list_json_export "$js"; fi

# --- tenant scope ---------------------------------------------------------------
K1=$("$STACK" key tenant-$T)
K2=$("$STACK" key tenant-$T2)
own=$("$PBXCTL" --key "$K1" cdr list $T | wc -l)
if ! out=$("$PBXCTL" --key "$K2" cdr list $T 2>&1) &&
	echo "$out" | grep -q "may only manage tenant $T2" &&
	! "$PBXCTL" --key "$K2" cdr show $T "$id1" >/dev/null 2>&1 &&
	[ "$own" = 5 ]; then
	pass another_tenants_key_sees_no_record
else fail another_tenants_key_sees_no_record "own $own; $out"; fi
o2=$("$PBXCTL" --key "$K2" cdr list $T2)
if [ "$(echo "$o2" | wc -l)" = 1 ] && echo "$o2" | grep -q " -> 15552010 rejected 403 " &&
	! "$PBXCTL" --key "$K2" cdr show $T2 "$id1" >/dev/null 2>&1; then
	pass other_tenant_lists_only_its_own_call
else fail other_tenant_lists_only_its_own_call "$o2"; fi

# --- the webhook: every call after `cdr webhook on`, signed ---------------------
for _ in $(seq 100); do [ -e "$HOOKS/4.json" ] && break; sleep 0.1; done
sleep 0.5
hooks=$(python3 - "$HOOKS" $SECRET "$id1" $T <<'PY' 2>&1
import glob, hashlib, hmac, json, os, sys, time
d, secret, id1, tenant = sys.argv[1:5]
for f in sorted(glob.glob(os.path.join(d, "*.json")),
                key=lambda p: int(os.path.basename(p).split(".")[0])):
    r = json.load(open(f))
    h = {k.lower(): v for k, v in r["headers"].items()}
    sig = dict(kv.split("=", 1) for kv in h["x-pbx-signature"].split(","))
    want = hmac.new(secret.encode(), (sig["t"] + "." + r["body"]).encode(),
                    hashlib.sha256).hexdigest()
    b = json.loads(r["body"])
    print(r["path"], "valid" if hmac.compare_digest(want, sig["v1"]) else "BAD",
          h.get("x-pbx-event"), b["event"], b["tenant"], b["number"],
          b["disposition"], b["sip_code"], b["answered_by"] or "-",
          ">".join(n for i, n in enumerate(x["node"] for x in b["path"])
                   if i == 0 or n != b["path"][i - 1]["node"]) or "-",
          "id1" if b["id"] == id1 else "other")
PY
)
echo "$hooks" | sed 's/^/info: webhook /'
if [ "$(echo "$hooks" | wc -l)" = 4 ] &&
	echo "$hooks" | grep -qx "/ok valid call.ended call.ended $T 15552001 answered 200 101 vip>hours>menu>ring101 id1" &&
	echo "$hooks" | grep -q "^/ok valid call.ended call.ended $T 15552002 busy 486 " &&
	echo "$hooks" | grep -q "^/ok valid call.ended call.ended $T 15552004 hangup 603 " &&
	! echo "$hooks" | grep -q "BAD\|15552003\|15552010"; then
	pass webhook_receives_each_record_signed
else
	fail webhook_receives_each_record_signed "$(echo "$hooks" | tr '\n' '|')"
fi

e2e_finish $T $T2
