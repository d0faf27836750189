#!/bin/bash
# Healthchecks of the PBX images (HEALTHCHECK in docker/Dockerfile):
# exit 0 when the service in this container does its job's first step.
# Sockets are read from /proc, so the images need no ss or netcat.
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

svc=${1:-$(cat /proc/1/comm)}
case $svc in
redis | redis-server)
	REDISCLI_AUTH=$(cat /pbx/secrets/redis-admin.pass) redis-cli -p 6379 \
		--user admin --no-auth-warning ping | grep -q PONG
	;;
kamailio) sock udp "${PBX_SIP_PORT:-5060}" - 07 && sock tcp 8448 - 0A ;;
router) sock tcp 7001 - 0A && sock tcp 7002 - 0A ;;
provision) sock tcp 7010 - 0A ;;
edge-bridge) sock tcp - 8448 01 ;;
media-worker) sock udp "${PBX_WORKER_SIP_PORT:-5080}" - 07 && sock tcp - 7002 01 ;;
queue-manager | notifier) sock tcp - "${PBX_REDIS_PORT:-6379}" 01 ;;
# Connected to a router (its lookups come that way) and to Redis.
crm-connector) sock tcp - 7004 01 && sock tcp - "${PBX_REDIS_PORT:-6379}" 01 ;;
# Its workers' socket bound (its first step; it needs nothing else).
asr-bridge) sock tcp "${PBX_LISTEN_PORT:-7005}" - 0A ;;
*) echo "usage: pbx-health SERVICE" >&2; exit 2 ;;
esac
