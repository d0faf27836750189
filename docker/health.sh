#!/bin/bash
# Healthchecks of the PBX images (HEALTHCHECK in docker/Dockerfile):
# exit 0 when the service in this container does its job's first step.
# The PBX services answer GET /health themselves (200: loop running,
# Redis and bus connected; docs/operations.md "Metrics"), asked over
# bash's /dev/tcp at their metrics_listen (PBX_METRICS_LISTEN, else the
# service's default port). With metrics_listen off, and for Redis and
# Kamailio, sockets are read from /proc, so the images need no ss,
# netcat or curl.
#
#   pbx-health [redis | kamailio | router | provision | edge-bridge |
#               media-worker | queue-manager | notifier | crm-connector |
#               asr-bridge]
#
# Without an argument, the service is the container's PID 1 (the
# entrypoint execs it).
set -u

# sock <tcp|udp> <local port|-> <remote port|-> <state hex>: a socket of
# this container with those ports in that state (0A listen, 01
# established, 07 unconnected UDP).
sock() {
	local l=- r=-
	[ "$2" != - ] && l=$(printf ':%04X' "$2")
	[ "$3" != - ] && r=$(printf ':%04X' "$3")
	cat "/proc/net/$1" "/proc/net/${1}6" 2>/dev/null | awk -v l="$l" \
		-v r="$r" -v st="$4" 'NR > 1 && $4 == st &&
		(l == "-" || substr($2, length($2) - 4) == l) &&
		(r == "-" || substr($3, length($3) - 4) == r) { f = 1 }
		END { exit !f }'
}

# health <default port>: the service's /health answers 200. Returns 2
# when metrics_listen is off (the caller falls back to its sockets).
health() {
	local l=${PBX_METRICS_LISTEN-127.0.0.1:$1} host port line
	[ -z "$l" ] || [ "$l" = 0 ] && return 2
	port=${l##*:}
	host=${l%:*}
	host=${host#[}
	host=${host%]}
	case $host in 0.0.0.0 | "") host=127.0.0.1 ;; ::) host=::1 ;; esac
	exec 3<>"/dev/tcp/$host/$port" || return 1
	printf 'GET /health HTTP/1.0\r\n\r\n' >&3
	IFS= read -r -t 5 line <&3
	exec 3<&- 3>&-
	[[ $line == "HTTP/1."[01]" 200"* ]]
}

# health_or <default port> <fallback command...>
health_or() {
	local p=$1 rc
	shift
	health "$p"
	rc=$?
	[ $rc = 2 ] && { "$@"; return; }
	return $rc
}

svc=${1:-$(cat /proc/1/comm)}
case $svc in
redis | redis-server)
	REDISCLI_AUTH=$(cat /pbx/secrets/redis-admin.pass) redis-cli -p 6379 \
		--user admin --no-auth-warning ping | grep -q PONG
	;;
kamailio) sock udp "${PBX_SIP_PORT:-5060}" - 07 && sock tcp 8448 - 0A ;;
# /health: Redis connected; the buses are bound once it runs.
router) health_or 9201 eval 'sock tcp 7001 - 0A && sock tcp 7002 - 0A' ;;
# /health: Redis answers.
provision) health_or 9203 sock tcp 7010 - 0A ;;
# /health: Kamailio's evapi and a router connected.
edge-bridge) health_or 9202 sock tcp - 8448 01 ;;
# /health: a router takes its heartbeats; and its SIP socket is there.
media-worker) sock udp "${PBX_WORKER_SIP_PORT:-5080}" - 07 &&
	health_or 9210 sock tcp - 7002 01 ;;
# /health: Redis and (queue-manager, crm-connector) a router connected.
queue-manager) health_or 9204 sock tcp - "${PBX_REDIS_PORT:-6379}" 01 ;;
notifier) health_or 9205 sock tcp - "${PBX_REDIS_PORT:-6379}" 01 ;;
crm-connector) health_or 9206 eval 'sock tcp - 7004 01 && sock tcp - "${PBX_REDIS_PORT:-6379}" 01' ;;
# /health (its loop answers); without metrics, its workers' socket bound
# (its first step; it needs nothing else).
asr-bridge) health_or 9207 sock tcp "${PBX_LISTEN_PORT:-7005}" - 0A ;;
*) echo "usage: pbx-health SERVICE" >&2; exit 2 ;;
esac
