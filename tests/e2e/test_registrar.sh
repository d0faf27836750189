#!/usr/bin/env bash
# The SIP edge as registrar, trunk gate and proxy for the media workers'
# outbound legs: starts its own redis-server (6396) and Kamailio
# (deploy/kamailio/kamailio.cfg on 127.0.0.1:5090, evapi 127.0.0.1:8458),
# writes the keys provisioning would write with redis-cli, and drives
# real SIP with SIPp: digest REGISTER, persistence across a restart, the
# extension's proxy-authenticated INVITE, tenant isolation, trunks by
# source address (pike exemption), and worker legs to a registered phone
# and to carriers (number format, digest towards the carrier, no X-Pbx-*
# leaving). Asserts what reached the other side.
#
# Environment: PBX_BUILD (optional build dir: with it, edge-bridge is run
# too and the caller identity it forwards is checked). Prints
# "PASS <name>" / "FAIL <name> <why>" per check and a last line
# "N passed, M failed"; exits non-zero on any failure.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SIPP_DIR=$ROOT/tests/sipp
CFG=$ROOT/deploy/kamailio/kamailio.cfg
BRIDGE=${PBX_BUILD:+$PBX_BUILD/services/edge-bridge/edge-bridge}
RUN=$(mktemp -d /tmp/pbx-registrar.XXXXXX)
REDIS_PORT=6396
SIP_PORT=5090
EVAPI=127.0.0.1:8458
EDGE=127.0.0.1:$SIP_PORT
CTL=unix:$RUN/kam/kamailio_ctl
# Phones, trunks and strangers each get a loopback address. Only
# 127.0.0.1 (the worker stand-in) is internal here, so pike and the
# failed-digest ban apply to everyone else.
PHONE=127.0.0.4
TRUNK1=127.0.0.7   # carrier1: national format, wants digest
TRUNK2=127.0.0.8   # plain2: e164, no credentials
TRUNK3=127.0.0.10  # loc3: local format
STRANGER=127.0.0.9
SILENT=127.0.0.11  # registers, then never answers
PW101=Acme-101-pass
PW102=Beta-102-pass
PWBETA101=Beta-101-pass
PW105=Acme-105-pass
TRUNK_PW=carrier-s3cret
PASSED=0
FAILED=0
PIDS=()

pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1 $2"; FAILED=$((FAILED + 1)); }
rcli() { redis-cli -p $REDIS_PORT "$@"; }
kam_pid() { cat "$RUN/kam/kamailio.pid" 2>/dev/null; }
kamcmd_() { kamcmd -s "$CTL" "$@"; }

stop_pid() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || return 0
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null
}

cleanup() {
	local p
	for p in "${PIDS[@]}"; do stop_pid "$p"; done
	stop_pid "$(kam_pid)"
	[ -f "$RUN/redis.pid" ] && stop_pid "$(cat "$RUN/redis.pid")"
	if [ "$FAILED" -eq 0 ]; then rm -rf "$RUN"
	else echo "info: logs kept in $RUN"; fi
}
trap cleanup EXIT

finish() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
	exit
}

for p in udp/$SIP_PORT tcp/$SIP_PORT tcp/${EVAPI#*:} tcp/$REDIS_PORT; do
	if ss -lnH --"${p%/*}" "sport = :${p#*/}" | grep -q .; then
		fail ports_free "port ${p#*/}/${p%/*} is in use"
		finish
	fi
done

# --- redis with the keys provisioning writes --------------------------------
redis-server --port $REDIS_PORT --bind 127.0.0.1 --save '' --appendonly no \
	--daemonize yes --dir "$RUN" --pidfile "$RUN/redis.pid" \
	--logfile "$RUN/redis.log"
for _ in $(seq 50); do rcli ping >/dev/null 2>&1 && break; sleep 0.1; done

md5() { printf '%s' "$1" | md5sum | cut -d' ' -f1; }
# add_ext <tenant> <domain> <ext> <password>: as prov_extension.c does.
add_ext() {
	rcli HSET "pbx:{$1}:ext:$3" ha1 "$(md5 "$3:$2:$4")" \
		ha1b "$(md5 "$3@$2:$2:$4")" >/dev/null
	rcli SADD "pbx:{$1}:exts" "$3" >/dev/null
}
# add_trunk <name> <address> <ip> <format> [user password realm]: with a
# realm, the credentials as provisioning stores them (HA1 only); without,
# a clear password as older releases did.
add_trunk() {
	rcli HSET "pbx:{sys}:trunk:$1" address "$2" ip "$3" format "$4" \
		>/dev/null
	if [ $# -ge 7 ]; then
		rcli HSET "pbx:{sys}:trunk:$1" username "$5" realm "$7" ha1 \
			"$(printf '%s' "$5:$7:$6" | md5sum | cut -c1-32)" >/dev/null
	elif [ $# -ge 6 ]; then
		rcli HSET "pbx:{sys}:trunk:$1" username "$5" \
			password "$6" >/dev/null
	fi
	rcli SET "pbx:{sys}:trunk_ip:$3" "$1" >/dev/null
	rcli SADD "pbx:{sys}:trunks" "$1" >/dev/null
}
for t in acme beta; do
	rcli SET "pbx:{sys}:domain:$t.pbx.local" $t >/dev/null
	rcli HSET "pbx:{$t}:tenant" name $t domain $t.pbx.local >/dev/null
	rcli SADD "pbx:{sys}:tenants" $t >/dev/null
done
add_ext acme acme.pbx.local 101 $PW101
add_ext acme acme.pbx.local 105 $PW105
add_ext beta beta.pbx.local 102 $PW102
add_ext beta beta.pbx.local 101 $PWBETA101
add_trunk carrier1 $TRUNK1:5197 $TRUNK1 national carrier1user $TRUNK_PW \
	carrier.test
add_trunk plain2 $TRUNK2:5198 $TRUNK2 e164
add_trunk loc3 $TRUNK3:5199 $TRUNK3 local
rcli SET 'pbx:{sys}:trunk_default' carrier1 >/dev/null

# --- kamailio ---------------------------------------------------------------
if kamailio -c -f "$CFG" >"$RUN/check.out" 2>&1; then
	pass config_check_passes
else
	fail config_check_passes \
		"$(grep -m1 -E 'ERROR|CRITICAL' "$RUN/check.out")"
fi

start_kamailio() {
	mkdir -p "$RUN/kam"
	kamailio -DD -E -f "$CFG" -Y "$RUN/kam" -P "$RUN/kam/kamailio.pid" \
		-A PBX_SIP_PORT=$SIP_PORT -A "PBX_EVAPI_BIND=\"$EVAPI\"" \
		-A 'PBX_INTERNAL_NETS="127.0.0.1/32"' \
		--substdef "!PBX_REDIS_PORT!$REDIS_PORT!g" \
		>>"$RUN/kamailio.log" 2>&1 &
	for _ in $(seq 100); do
		kamcmd_ core.uptime >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
if ! start_kamailio; then
	fail kamailio_starts "see $RUN/kamailio.log"
	finish
fi
pass kamailio_starts

# media_port <ip> <sip port>: a base for SIPp's RTP sockets (it binds the
# base and base+2), free on <ip> now. Below the ephemeral range (32768+);
# other suites' media workers may hold ports anywhere, so look.
media_port() {
	local used p i
	used=$(ss -lnuH | awk '{print $4}')
	p=$((31200 + ($2 - 5090) * 4))
	for i in $(seq 100); do
		if ! grep -qE "^($1|0\.0\.0\.0|\*):($p|$((p + 1))|$((p + 2))|$((p + 3)))\$" \
			<<<"$used"; then
			echo $p
			return
		fi
		p=$(((p - 20000 + 4 * 53) % 12700 + 20000))
	done
	echo $p
}
# media_ip <ip>: where SIPp binds RTP. Not 127.0.0.1, where other suites'
# media workers hold thousands of ports.
media_ip() { if [ "$1" = 127.0.0.1 ]; then echo 127.0.0.14; else echo "$1"; fi; }
# sipp_ <name> <scenario> <local ip> <local port> [sipp args...]: one call
# to the edge; log, message trace and errors in $RUN/<name>.*.
sipp_() {
	local name=$1 sf=$2 ip=$3 port=$4
	shift 4
	(cd "$RUN" && timeout 30 sipp -sf "$SIPP_DIR/$sf" -i "$ip" -p "$port" \
		-mi "$(media_ip "$ip")" \
		-mp "$(media_port "$(media_ip "$ip")" "$port")" -m 1 -nostdin \
		-timeout 20 -trace_logs \
		-log_file "$name.log" -trace_msg -message_file "$name.msg" \
		"$@" $EDGE >"$name.out" 2>&1)
}
# sipp_bg <name> <scenario> <ip> <port> [args...]: a UAS in the
# background; its pid in $BGPID.
sipp_bg() {
	local name=$1 sf=$2 ip=$3 port=$4
	shift 4
	(cd "$RUN" && exec timeout 30 sipp -sf "$SIPP_DIR/$sf" -i "$ip" \
		-p "$port" -mi "$(media_ip "$ip")" \
		-mp "$(media_port "$(media_ip "$ip")" "$port")" -m 1 \
		-nostdin -trace_logs \
		-log_file "$name.log" -trace_msg -message_file "$name.msg" \
		"$@" >"$name.out" 2>&1) &
	BGPID=$!
	PIDS+=("$BGPID")
	# SIPp binds at once; give it a moment to be there.
	for _ in $(seq 20); do
		ss -lnuH src "$ip:$port" | grep -q . && return 0
		sleep 0.05
	done
}
got() {
	grep -o 'got [0-9]*' "$RUN/$1.log" 2>/dev/null | tail -1 | tr -dc 0-9
}
# seen <name>: what a UAS logged, on one line.
seen() { tr '\n' ' ' <"$RUN/$1.log" 2>/dev/null; }
# expect_sipp <check> <name> <want>: the SIPp run <name> ended with <want>.
expect_sipp() {
	if [ "$(got "$2")" = "$3" ]; then pass "$1"
	else fail "$1" "got '$(got "$2")', want $3"; fi
}
# register <name> <ip> <port> <ext> <domain> <password> <expect> [expires]
register() {
	sipp_ "$1" reg_auth.xml "$2" "$3" -s "$4" -key domain "$5" \
		-key expect "$7" -key expires "${8:-3600}" -au "$4" -ap "$6"
}
# shape <name>: the last message SIPp received, without what differs per
# request (Via branch, tags, the extension asked for, Call-ID, CSeq
# number, nonce).
shape() {
	awk '/message received/ { buf = ""; on = 1; next }
	     /^-{20,}/ { on = 0 }
	     on { buf = buf $0 "\n" }
	     END { printf "%s", buf }' "$RUN/$1.msg" | tr -d '\r' |
		sed -E -e 's/branch=[^;,> ]*/branch=X/' -e 's/tag=[^;> ]*/tag=X/' \
			-e 's/sip:[0-9]+@/sip:N@/g' \
			-e 's/^(Call-ID:).*/\1 X/' -e 's/^(CSeq:) *[0-9]+/\1 N/' \
			-e 's/nonce="[^"]*"/nonce="X"/' -e '/^\s*$/d'
}

# --- registrar --------------------------------------------------------------
register reg_ok $PHONE 5094 101 acme.pbx.local $PW101 200
expect_sipp register_with_digest_gets_200 reg_ok 200

register reg_badpw 127.0.0.5 5095 101 acme.pbx.local wrong-password 401
expect_sipp register_wrong_password_gets_401 reg_badpw 401
register reg_nouser 127.0.0.5 5095 109 acme.pbx.local wrong-password 401
expect_sipp register_unknown_user_gets_401 reg_nouser 401
if [ -n "$(shape reg_badpw)" ] && diff <(shape reg_badpw) <(shape reg_nouser) \
	>"$RUN/shape.diff"; then
	pass unknown_user_and_wrong_password_get_the_same_401
else
	fail unknown_user_and_wrong_password_get_the_same_401 \
		"$(head -c 300 "$RUN/shape.diff")"
fi
want='WWW-Authenticate: Digest realm="acme.pbx.local", nonce="X", qop="auth"'
if shape reg_nouser | grep -qxF "$want"; then
	pass challenge_realm_is_the_tenant_domain
else
	fail challenge_realm_is_the_tenant_domain \
		"$(shape reg_nouser | grep -i authenticate)"
fi
# Again and again: still a fresh challenge, still nothing to tell apart.
same=1
for i in 1 2 3 4; do
	register reg_again$i 127.0.0.5 5095 $((100 + i * 2)) acme.pbx.local \
		"nope$i-password" 401
	[ "$(got reg_again$i)" = 401 ] &&
		diff -q <(shape reg_again$i) <(shape reg_badpw) >/dev/null || same=0
done
if [ $same = 1 ]; then pass repeated_failures_still_get_the_same_401
else fail repeated_failures_still_get_the_same_401 "a later 401 differs"; fi

# A UA that sends "ext@domain" as its digest username (HA1 "ha1b"); it
# only asks for its (absent) contacts to go, leaving none behind.
sipp_ reg_ha1b reg_auth.xml 127.0.0.5 5095 -s 101 -key domain acme.pbx.local \
	-key expect 200 -key expires 0 -au 101@acme.pbx.local -ap $PW101
expect_sipp register_with_user_at_domain_username_gets_200 reg_ha1b 200

# A domain that is no tenant's is challenged like a wrong password (no
# way to tell tenant domains from others), and never succeeds.
register reg_nodomain 127.0.0.5 5095 101 nowhere.pbx.local $PW101 401
expect_sipp register_unknown_domain_gets_401_like_a_wrong_password \
	reg_nodomain 401
register reg_cross 127.0.0.5 5095 101 beta.pbx.local $PW101 401
expect_sipp register_into_other_tenant_domain_gets_401 reg_cross 401
register reg_cross2 127.0.0.5 5095 102 acme.pbx.local $PW102 401
expect_sipp register_other_tenants_ext_into_own_domain_gets_401 reg_cross2 401

aor=$(kamcmd_ ul.lookup location 101@acme.pbx.local 2>&1)
if grep -q "sip:101@$PHONE:5094" <<<"$aor"; then pass aor_holds_the_contact
else fail aor_holds_the_contact "$(echo "$aor" | head -3)"; fi
if [ "$(rcli -n 1 EXISTS 'location:usrdom::101:acme.pbx.local')" = 1 ] &&
	[ -z "$(rcli -n 0 --scan --pattern 'location:*')" ]; then
	pass registration_stored_in_its_own_redis_db
else
	fail registration_stored_in_its_own_redis_db \
		"$(rcli -n 1 --scan | head -3)"
fi

# --- persistence ------------------------------------------------------------
pid=$(kam_pid)
stop_pid "$pid"
if kill -0 "$pid" 2>/dev/null || ! start_kamailio; then
	fail kamailio_restarts "see $RUN/kamailio.log"
	finish
fi
aor=$(kamcmd_ ul.lookup location 101@acme.pbx.local 2>&1)
if grep -q "sip:101@$PHONE:5094" <<<"$aor"; then
	pass registration_survives_restart
else
	fail registration_survives_restart "$(echo "$aor" | head -3)"
fi

# --- calls from extensions --------------------------------------------------
# call <name> <ip> <port> <from ext> <from domain> <to> <to domain>
#      <password> <expect>
call() {
	sipp_ "$1" uac_auth_call.xml "$2" "$3" -s "$6" \
		-key user "$4" -key domain "$5" -key rdomain "$7" \
		-au "$4" -ap "$8" -key expect "$9"
}
first_response() {
	awk '/message received/ { on = 1; next } /^-{20,}/ { if (on) exit }
	     on' "$RUN/$1.msg" | tr -d '\r'
}
call inv_ok $PHONE 5094 101 acme.pbx.local 102 acme.pbx.local $PW101 503
want='Proxy-Authenticate: Digest realm="acme.pbx.local"'
if first_response inv_ok | grep -q '^SIP/2.0 407' &&
	first_response inv_ok | grep -q "^$want"; then
	pass extension_invite_is_challenged_407
else
	fail extension_invite_is_challenged_407 \
		"$(first_response inv_ok | head -1)"
fi
# No bridge is connected: ASK_ROUTER answers 503 itself.
want='sip:101@acme.pbx.local -> sip:102@acme.pbx.local (extension): no edge'
if [ "$(got inv_ok)" = 503 ] &&
	grep -q '^SIP/2.0 503 Router unavailable' "$RUN/inv_ok.msg" &&
	grep -qF "$want" "$RUN/kamailio.log"; then
	pass authenticated_extension_invite_reaches_the_router
else
	fail authenticated_extension_invite_reaches_the_router \
		"got '$(got inv_ok)'"
fi
call inv_badpw $PHONE 5094 101 acme.pbx.local 102 acme.pbx.local \
	wrong-password 407
expect_sipp extension_invite_wrong_password_gets_407_again inv_badpw 407
call inv_cross $PHONE 5094 101 acme.pbx.local 102 beta.pbx.local $PW101 403
expect_sipp extension_cannot_call_other_tenants_extension inv_cross 403
call inv_cross2 $PHONE 5094 101 beta.pbx.local 102 beta.pbx.local $PW101 407
expect_sipp extension_cannot_pose_as_other_tenants_ext inv_cross2 407

# --- what edge-bridge forwards (needs a build) ------------------------------
if [ -n "$BRIDGE" ] && [ -x "$BRIDGE" ]; then
	# No router listens on 7396: the bridge answers 503 at once, after
	# logging what it would have sent.
	"$BRIDGE" --set "evapi_addr=$EVAPI" \
		--set router_endpoints=tcp://127.0.0.1:7396 \
		--set edge_id=regtest >"$RUN/edge-bridge.log" 2>&1 &
	PIDS+=("$!")
	for _ in $(seq 50); do
		n=$(kamcmd_ htable.get evapi conns 2>/dev/null | tr -dc 0-9)
		[ "$n" = 1 ] && break
		sleep 0.1
	done
	call br_ext $PHONE 5094 101 acme.pbx.local 102 acme.pbx.local \
		$PW101 503
	sipp_ br_trunk uac_expect.xml $TRUNK1 5097 -s 15550001 -key expect 503
	sipp_ br_unknown uac_expect.xml 127.0.0.2 5292 -s 15550001 \
		-key expect 503
	sleep 0.2
	# bridge_saw <check> <line part>: the bridge logged that call.new.
	bridge_saw() {
		if grep -qF "$2" "$RUN/edge-bridge.log"; then pass "$1"
		else fail "$1" "no '$2' in $RUN/edge-bridge.log"; fi
	}
	bridge_saw bridge_gets_extension_caller_with_tenant \
		"101 -> 102 from $PHONE:5094/udp source=extension tenant=acme as"
	bridge_saw bridge_gets_trunk_call_with_trunk_name \
		"from $TRUNK1:5097/udp source=trunk trunk=carrier1 as"
	bridge_saw bridge_gets_unknown_caller_as_unknown \
		"from 127.0.0.2:5292/udp source=unknown as"
	stop_pid "${PIDS[-1]}"
else
	echo "info: no PBX_BUILD or edge-bridge there: bridge checks skipped"
fi

# --- trunks and pike ------------------------------------------------------
# 300 OPTIONS at 200/s: five times what pike allows a source (60 per 2 s).
flood() {
	sipp_ "$1" options_ping.xml "$2" "$3" -m 300 -r 200 -recv_timeout 1000
}
flood flood_trunk $TRUNK1 5097
ok_trunk=$?
flood flood_stranger $STRANGER 5099
ok_stranger=$?
bans=$(kamcmd_ htable.dump ipban 2>&1 | grep -o '127[0-9.]*' | tr '\n' ' ')
if [ $ok_trunk = 0 ] && ! grep -qw "$TRUNK1" <<<"$bans"; then
	pass trunk_flood_never_banned
else
	fail trunk_flood_never_banned "sipp rc $ok_trunk; banned: $bans"
fi
if [ $ok_stranger != 0 ] && grep -qw "$STRANGER" <<<"$bans"; then
	pass stranger_flood_is_banned
else
	fail stranger_flood_is_banned "sipp rc $ok_stranger; banned: $bans"
fi
sipp_ trunk_after_flood options_ping.xml $TRUNK1 5097 -recv_timeout 1000
if [ $? = 0 ]; then pass trunk_still_answered_after_flood
else fail trunk_still_answered_after_flood "no 200"; fi

# --- worker legs ------------------------------------------------------------
# bleg <name> <number> <domain> <tenant> <dest> <trunk> <expect>
bleg() {
	sipp_ "$1" uac_bleg.xml "${BLEG_IP:-127.0.0.1}" 5096 -s "$2" \
		-key rdomain "$3" -key tenant "$4" -key dest "$5" \
		-key trunk "$6" -key expect "$7" -d 200
}
# uas_ok <pid>: the background UAS ended well; one that is still there
# after 3 s is stopped (and failed), so its port is free for the next.
uas_ok() {
	local i
	for i in $(seq 30); do
		kill -0 "$1" 2>/dev/null || { wait "$1"; return; }
		sleep 0.1
	done
	stop_pid "$1"
	wait "$1" 2>/dev/null
	return 1
}

sipp_bg phone_ext uas_callee.xml $PHONE 5094
uas=$BGPID
bleg bleg_ext 101 acme.pbx.local acme extension '' 200
uas_ok $uas
urc=$?
if [ "$(got bleg_ext)" = 200 ] && [ $urc = 0 ] &&
	grep -q '^ruri 101 cseq 1$' "$RUN/phone_ext.log" &&
	grep -q '^bye cseq 2$' "$RUN/phone_ext.log"; then
	pass worker_leg_rings_registered_extension_without_x_pbx
else
	fail worker_leg_rings_registered_extension_without_x_pbx \
		"worker got '$(got bleg_ext)'; phone: $(seen phone_ext)"
fi
sipp_bg phone_ring uas_ring.xml $PHONE 5094
uas=$BGPID
sipp_ bleg_cancel uac_bleg_cancel.xml 127.0.0.1 5096 -s 101 \
	-key rdomain acme.pbx.local -key tenant acme -key dest extension -d 500
rc=$?
uas_ok $uas
urc=$?
if [ $rc = 0 ] && [ $urc = 0 ] &&
	grep -q '^canceled$' "$RUN/phone_ring.log"; then
	pass worker_cancel_stops_the_ringing_phone
else
	fail worker_cancel_stops_the_ringing_phone \
		"worker rc $rc; phone: $(seen phone_ring)"
fi
# Registered, then gone without a word: 480 once the phone's 5 s are up.
register reg_silent $SILENT 5091 105 acme.pbx.local $PW105 200
t0=$(date +%s%3N)
bleg bleg_silent 105 acme.pbx.local acme extension '' 480
t1=$(date +%s%3N)
if [ "$(got bleg_silent)" = 480 ] && [ $((t1 - t0)) -ge 4500 ] &&
	[ $((t1 - t0)) -lt 8000 ]; then
	pass worker_leg_to_silent_phone_gets_480_after_5s
else
	fail worker_leg_to_silent_phone_gets_480_after_5s \
		"got '$(got bleg_silent)' after $((t1 - t0)) ms"
fi
bleg bleg_unreg 103 acme.pbx.local acme extension '' 480
expect_sipp worker_leg_to_unregistered_extension_gets_480 bleg_unreg 480
bleg bleg_wrongt 101 acme.pbx.local beta extension '' 403
expect_sipp worker_leg_for_other_tenants_domain_gets_403 bleg_wrongt 403
BLEG_IP=127.0.0.2 bleg bleg_spoof 101 acme.pbx.local acme extension '' 407
expect_sipp x_pbx_headers_from_outside_are_not_believed bleg_spoof 407

sipp_bg carrier_auth uas_trunk_auth.xml $TRUNK1 5197 \
	-key user carrier1user -key password $TRUNK_PW
uas=$BGPID
bleg bleg_national +79161234567 acme.pbx.local acme external '' 200
uas_ok $uas
urc=$?
if [ "$(got bleg_national)" = 200 ] && [ $urc = 0 ] &&
	grep -q '^auth ok cseq 2$' "$RUN/carrier_auth.log"; then
	pass worker_leg_answers_trunk_challenge_with_credentials
else
	fail worker_leg_answers_trunk_challenge_with_credentials \
		"worker got '$(got bleg_national)'; carrier: $(seen carrier_auth)"
fi
if grep -q '^ruri 89161234567 cseq 1$' "$RUN/carrier_auth.log"; then
	pass default_trunk_national_format_8xxx
else fail default_trunk_national_format_8xxx "$(seen carrier_auth)"; fi
# The worker's BYE was CSeq 2; Kamailio's authenticated retry took 2.
if grep -q '^bye cseq 3$' "$RUN/carrier_auth.log"; then
	pass cseq_shifted_after_trunk_auth
else fail cseq_shifted_after_trunk_auth "$(seen carrier_auth)"; fi

sipp_bg carrier_e164 uas_callee.xml $TRUNK2 5198
uas=$BGPID
bleg bleg_e164 +79161234567 acme.pbx.local acme mobile plain2 200
uas_ok $uas
urc=$?
if [ "$(got bleg_e164)" = 200 ] && [ $urc = 0 ] &&
	grep -q '^ruri +79161234567 cseq 1$' "$RUN/carrier_e164.log"; then
	pass named_trunk_e164_keeps_plus
else
	fail named_trunk_e164_keeps_plus \
		"worker got '$(got bleg_e164)'; carrier: $(seen carrier_e164)"
fi
sipp_bg carrier_local uas_callee.xml $TRUNK3 5199
uas=$BGPID
bleg bleg_local +74951234567 acme.pbx.local acme external loc3 200
uas_ok $uas
urc=$?
if [ "$(got bleg_local)" = 200 ] && [ $urc = 0 ] &&
	grep -q '^ruri 4951234567 cseq 1$' "$RUN/carrier_local.log"; then
	pass local_format_drops_country_code
else
	fail local_format_drops_country_code \
		"worker got '$(got bleg_local)'; carrier: $(seen carrier_local)"
fi
bleg bleg_notrunk +79161234567 acme.pbx.local acme external nosuch 503
expect_sipp worker_leg_unknown_trunk_gets_503 bleg_notrunk 503
rcli DEL 'pbx:{sys}:trunk_default' >/dev/null
bleg bleg_nodefault +79161234567 acme.pbx.local acme external '' 503
expect_sipp worker_leg_without_default_trunk_gets_503 bleg_nodefault 503

# --- unregister -----------------------------------------------------------
register unreg $PHONE 5094 101 acme.pbx.local $PW101 200 0
aor=$(kamcmd_ ul.lookup location 101@acme.pbx.local 2>&1)
if [ "$(got unreg)" = 200 ] && ! grep -q "sip:101@" <<<"$aor" &&
	[ "$(rcli -n 1 EXISTS 'location:usrdom::101:acme.pbx.local')" = 0 ]; then
	pass unregister_removes_contact_and_stored_copy
else
	fail unregister_removes_contact_and_stored_copy "got '$(got unreg)'"
fi
bleg bleg_gone 101 acme.pbx.local acme extension '' 480
expect_sipp worker_leg_after_unregister_gets_480 bleg_gone 480

# --- guessing passwords gets a source banned --------------------------------
# PBX_AUTH_FAIL_MAX (20) wrong answers in a minute are allowed; the 21st
# bans the source, which then hears nothing at all.
for i in $(seq 20); do
	register guess$i 127.0.0.6 5093 101 acme.pbx.local "guess-$i-pw" 401
done
n401=$(cat "$RUN"/guess*.log | grep -c 'got 401')
sipp_ guess_last reg_auth.xml 127.0.0.6 5093 -s 101 \
	-key domain acme.pbx.local -key expect 401 -key expires 60 -au 101 \
	-ap guess-x-pw -recv_timeout 1500
sipp_ guess_after reg_auth.xml 127.0.0.6 5093 -s 101 \
	-key domain acme.pbx.local -key expect 200 -key expires 60 -au 101 \
	-ap $PW101 -recv_timeout 1500
if [ "$n401" = 20 ] && [ -z "$(got guess_after)" ] &&
	grep -q 127.0.0.6 <<<"$(kamcmd_ htable.dump ipban 2>&1)"; then
	pass password_guessing_source_is_banned
else
	fail password_guessing_source_is_banned \
		"$n401 x 401, then '$(got guess_last)', '$(got guess_after)'"
fi

# Every password used above, the trunk's included, must be absent.
secrets="$PW101|$PW102|$PWBETA101|$PW105|$TRUNK_PW|wrong-password"
secrets="$secrets|nope[0-9]-password|guess-[0-9x]+-pw"
if grep -qE "$secrets" "$RUN/kamailio.log"; then
	fail no_password_in_logs "a password is in $RUN/kamailio.log"
else
	pass no_password_in_logs
fi
if kill -0 "$(kam_pid)" 2>/dev/null; then pass kamailio_alive_at_end
else fail kamailio_alive_at_end "kamailio exited"; fi
finish
