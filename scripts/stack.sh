#!/bin/bash
# Local PBX on loopback: starts and stops redis-server, kamailio, router,
# provision, queue-manager, crm-connector, notifier, edge-bridge and N
# media workers as
# plain processes. State,
# logs and pid files go to $PBX_RUN (default .run/).
#
#   stack.sh start | stop | status
#   stack.sh start-one <name> | stop-one <name>   (router, queue-manager,
#                                                crm-connector, notifier,
#                                                edge-bridge, edge2..edge9,
#                                                asr1..asr9, mw1..mw9)
#   stack.sh ports mwN                           (its SIP port and RTP range)
#   stack.sh key <name>       a provisioning client key: tenant-<t> (that
#                             tenant only) or any other name (operator)
#   stack.sh cli [redis-cli args...]             (redis-cli as user admin)
#
# Every bus is CURVE-authenticated (docs/security.md, "Buses"): keys are
# made on first use in $PBX_RUN/keys (0700; secret .key files 0600):
# router, provision (servers), edge1, mwN, qm1, crm1, operator (clients).
# A client is let in only when its .pub is in the allow list of the socket
# it uses: keys/allow/edge, keys/allow/worker, keys/allow/queue,
# keys/allow/crm (router), keys/allow/provision.
#
# Media worker mwN has its own ports whatever PBX_WORKERS says, so one
# added by hand (start-one mw2) never overlaps another: SIP 5080 + 2(N-1),
# RTP 20000 + 5000(N-1) .. +4998 (mw1 20000-24998, mw2 25000-29998, ...);
# with PBX_RTP_POOL=<lo>-<hi> a block of 4999 ports from that pool instead.
# Each worker claims its range in Redis at start (a range another live
# worker holds is refused: the worker exits naming it). Worker metrics
# 9210 + N-1. Every service serves /metrics and /health on
# loopback (docs/operations.md, "Metrics"): router 9201, edge-bridge 9202,
# provision 9203, queue-manager 9204, notifier 9205, crm-connector 9206,
# Kamailio 9220 (/metrics only). PBX_LOG_FORMAT=json: JSON log lines.
# stop stops every worker that has a pid file, then the other services,
# Redis last (the services still use it while they shut down).
#
# Redis keeps an append-only file in $PBX_RUN/appendonly, fsynced before
# every reply (appendfsync always): a write a service was told succeeded
# survives kill -9 of Redis (docs/security.md, docs/performance.md). Every
# client authenticates as its own ACL user; the passwords are generated at
# the first start into $PBX_RUN/secrets/redis-<user>.pass (0600) and the
# ACL file ($PBX_RUN/redis-users.acl, 0600) holds only their SHA-256.
#
# Environment: PBX_BUILD (build dir, default build), PBX_RUN, PBX_WORKERS
# (default 1), PBX_REDIS_PORT (6390), PBX_REDIS_SAVE (1: RDB snapshots as
# well), PBX_REDIS_FSYNC (always; everysec trades the last second of
# writes for throughput), PBX_SIP_IP / PBX_SIP_PORT (127.0.0.1 / 5060),
# PBX_LOG_LEVEL (info), PBX_KAM_SHM_MB / PBX_KAM_PKG_MB (Kamailio memory,
# 256 / 16 MiB), PBX_KAM_RATE (new INVITEs + REGISTERs per second from
# trunks, and from addresses where an extension authenticated: 2200
# each), PBX_KAM_ANON_RATE (the same from anybody else, 400),
# PBX_PIKE_DENSITY (requests per source per 2 s before a ban;
# kamailio.cfg's default), PBX_TCP_IDLE (seconds an unauthenticated TCP
# connection may stay idle, 10), PBX_FIREWALL / PBX_TCP_PER_SOURCE /
# PBX_INTERNAL_IPS (the per-address TCP connection cap, see firewall_on),
# PBX_SMTP_URL / PBX_SMTP_FROM (the notifier's mail server and sender,
# smtp://127.0.0.1:2525 / voicemail@pbx.invalid), PBX_NOTIFY_RETRY_MS /
# PBX_NOTIFY_ATTEMPTS (its retry_base_ms / max_attempts; its defaults),
# PBX_CRM_PRIVATE (the crm-connector's crm_private, 1 here: the CRM fakes
# of the tests are on loopback; 0 to try the refusal), PBX_ASR (asr-bridges
# asr1..asrN to start before the workers, 0 by default; asrN listens on
# 7004+N, its CURVE key asrN, the workers' keys its allow list; every
# worker then connects to all N), PBX_BRIDGES (edge-bridges: edge-bridge,
# whose edge_id is edge1, then edge2..edgeN, default 1; Kamailio spreads
# the calls over every connected one, docs/operations.md "Edge-bridges";
# edgeN's metrics on 9230+N, its CURVE key edgeN), PBX_REDIS_CLUSTER (1:
# Redis in Cluster mode, one node with every slot, so a command whose keys
# are not in one slot fails CROSSSLOT; docs/operations.md "Redis
# Cluster"), PBX_VOSK_PRIVATE (the asr-bridges' vosk_private, 1 here: the
# fake Vosk server of the tests is on loopback; 0 to try the refusal),
# PBX_VOSK_CA_FILE (their vosk_ca_file: the CA of a wss:// test server),
# PBX_VOSK_PRIVATE_ALLOW (their vosk_private_allow: host:port,...).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${PBX_BUILD:-$ROOT/build}
RUN=${PBX_RUN:-$ROOT/.run}
WORKERS=${PBX_WORKERS:-1}
REDIS_PORT=${PBX_REDIS_PORT:-6390}
SIP_IP=${PBX_SIP_IP:-127.0.0.1}
SIP_PORT=${PBX_SIP_PORT:-5060}
LOG_LEVEL=${PBX_LOG_LEVEL:-info}
REDIS_FSYNC=${PBX_REDIS_FSYNC:-always}
export PBX_REDIS_PORT=$REDIS_PORT
# A Cluster of PBX_REDIS_MASTERS primaries on REDIS_PORT and the next
# ports; the services get them as their seeds (the environment is their
# config: PBX_REDIS_CLUSTER, PBX_REDIS_NODES).
REDIS_MASTERS=${PBX_REDIS_MASTERS:-1}
KAM_REDIS_PORT=$((REDIS_PORT + REDIS_MASTERS))
if [ "${PBX_REDIS_CLUSTER:-0}" = 1 ]; then
	PBX_REDIS_NODES=""
	for _i in $(seq 0 $((REDIS_MASTERS - 1))); do
		PBX_REDIS_NODES="$PBX_REDIS_NODES${PBX_REDIS_NODES:+,}127.0.0.1:$((REDIS_PORT + _i))"
	done
	export PBX_REDIS_CLUSTER PBX_REDIS_NODES
fi
SECRETS=$RUN/secrets
ACL_FILE=$RUN/redis-users.acl

mkdir -p "$RUN"
KEYS=$RUN/keys

log() { echo "stack: $*" >&2; }

# wait_until <seconds> <what> <command...>
wait_until() {
	local t=$1 what=$2
	shift 2
	local end=$((SECONDS + t))
	until "$@" >/dev/null 2>&1; do
		if [ $SECONDS -ge $end ]; then
			log "$what did not come up within ${t}s"
			return 1
		fi
		sleep 0.1
	done
}

running() {
	local pidf="$RUN/$1.pid"
	[ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null
}

start_bg() {
	local name=$1
	shift
	"$@" >>"$RUN/$name.log" 2>&1 &
	echo $! >"$RUN/$name.pid"
}

KAM_SHM_MB=${PBX_KAM_SHM_MB:-256}
KAM_PKG_MB=${PBX_KAM_PKG_MB:-16}
# New INVITEs + REGISTERs per second the edge takes (deploy/kamailio).
KAM_RATE=${PBX_KAM_RATE:-2200}
# The same from unknown addresses (not a trunk, no extension authenticated).
KAM_ANON_RATE=${PBX_KAM_ANON_RATE:-400}

# ensure_key <name> [allow-list]: makes keys/<name>.key and .pub once, and
# puts the .pub in keys/allow/<allow-list>/.
ensure_key() {
	local name=$1 allow=${2:-}
	mkdir -p -m 0700 "$KEYS"
	chmod 0700 "$KEYS"
	if [ ! -f "$KEYS/$name.key" ]; then
		"$BUILD/services/pbxctl/pbxctl" keygen "$name" --dir "$KEYS" \
			>/dev/null || { log "cannot make key $name"; return 1; }
	fi
	if [ -n "$allow" ]; then
		mkdir -p -m 0700 "$KEYS/allow/$allow"
		cp "$KEYS/$name.pub" "$KEYS/allow/$allow/$name.pub"
	fi
}

# The operator's key is made with provision's, so pbxctl works as soon as
# provision is up (pbxctl finds $PBX_RUN/keys/operator.key by itself).
keys_for() {
	case $1 in
	router) ensure_key router && mkdir -p -m 0700 "$KEYS/allow/edge" "$KEYS/allow/worker" "$KEYS/allow/queue" "$KEYS/allow/crm" ;;
	queue-manager) ensure_key router && ensure_key qm1 queue ;;
	crm-connector) ensure_key router && ensure_key crm1 crm ;;
	provision) ensure_key provision && ensure_key operator provision ;;
	edge-bridge) ensure_key router && ensure_key edge1 edge ;;
	edge[2-9]) ensure_key router && ensure_key "$1" edge ;;
	mw*) ensure_key router && ensure_key "$1" worker ;;
	asr*) ensure_key "$1" && mkdir -p -m 0700 "$KEYS/allow/worker" ;;
	esac
}

BRIDGES=${PBX_BRIDGES:-1}
valid_bridge() { [[ $1 =~ ^edge[2-9]$ ]]; }
bridge_metrics_port() { echo $((9230 + ${1#edge})); }
# bridge_connected <name>: its evapi connection to Kamailio is up.
bridge_connected() {
	ss -tnp state established "( dport = :8448 )" |
		grep -q "pid=$(cat "$RUN/$1.pid"),"
}

ASR=${PBX_ASR:-0}
valid_asr() { [[ $1 =~ ^asr[1-9]$ ]]; }
asr_port() { echo $((7004 + ${1#asr})); }
asr_metrics_port() { echo $((9240 + ${1#asr})); }
# The workers' asr_bridges: every asr-bridge of PBX_ASR.
asr_list() {
	local i out=""
	for i in $(seq "$ASR"); do out="$out${out:+,}asr$i@tcp://127.0.0.1:$(asr_port "asr$i")"; done
	echo "$out"
}

worker_port() { echo $((5080 + 2 * ($1 - 1))); }
worker_metrics_port() { echo $((9210 + $1 - 1)); }
# worker_rtp <index>: "min max" of its RTP port range.
RTP_SPAN=5000
worker_rtp() {
	local lo=$((20000 + ($1 - 1) * RTP_SPAN))
	echo "$lo $((lo + RTP_SPAN - 2))"
}
valid_worker() { [[ $1 =~ ^mw[1-9]$ ]]; }
# Workers and asr-bridges with a pid file (started by start or start-one),
# sorted.
worker_pids() {
	local f
	for f in "$RUN"/mw*.pid "$RUN"/asr*.pid "$RUN"/edge[2-9].pid; do
		[ -e "$f" ] || continue
		f=${f##*/}
		echo "${f%.pid}"
	done | sort -V
}

# redis_pass_file <user>: its password file, created (random, 0600) on the
# first call. The passwords never leave $SECRETS but for Kamailio's (a
# substdef on its command line: ndb_redis and db_redis take no file).
redis_pass_file() {
	local f="$SECRETS/redis-$1.pass"
	if [ ! -s "$f" ]; then
		(umask 077 && mkdir -p "$SECRETS" &&
			openssl rand -hex 24 >"$f.tmp" && mv "$f.tmp" "$f") ||
			return 1
	fi
	echo "$f"
}
pass_hash() { tr -d '\n' <"$(redis_pass_file "$1")" | sha256sum | cut -c1-64; }

# The ACL file, rewritten at every Redis start from the password files:
# deploy/redis/users.acl.in (the users and their rights, and why) with
# each password's SHA-256 filled in. Comments are dropped: Redis's ACL
# file takes none.
write_acl() {
	local u args=()
	for u in kamailio router provision worker queue notifier crm admin; do
		redis_pass_file "$u" >/dev/null || return 1
		args+=(-e "s/@${u^^}@/$(pass_hash "$u")/")
	done
	(umask 077 && grep -v '^#' "$ROOT/deploy/redis/users.acl.in" |
		sed "${args[@]}" >"$ACL_FILE.tmp") || return 1
	mv "$ACL_FILE.tmp" "$ACL_FILE"
}

# kam_cfg: Kamailio's configuration for this run, on stdout: the Redis
# password (never on a command line, where ps shows it to every local
# user), then deploy/kamailio/kamailio.cfg. Written into $RUN/kamailio
# (0700), itself 0600.
kam_cfg() {
	local pw
	pw=$(cat "$(redis_pass_file kamailio)") || return 1
	printf '#!KAMAILIO\n#!substdef "!PBX_REDIS_PASS!%s!g"\n' "$pw"
	# topoh's key (what carriers see of our internal addresses is
	# encoded under it): new per start, like the digest secret.
	printf '#!define PBX_TOPOH_KEY "%s"\n' \
		"$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
	# A Cluster has only database 0: registrations go there too.
	# Several primaries: ndb_redis follows MOVED among them (it finds
	# each by its name "ip:port"), registrations go to Kamailio's own
	# Redis (redis_kam_start).
	if [ "${PBX_REDIS_CLUSTER:-0}" = 1 ]; then
		printf '#!substdef "!PBX_USRLOC_DB!0!g"\n'
	fi
	local multi=0 i
	[ "${PBX_REDIS_CLUSTER:-0}" = 1 ] && [ "$REDIS_MASTERS" -gt 1 ] && multi=1
	if [ $multi = 1 ]; then
		printf '#!define PBX_REDIS_CLUSTER\n'
		printf '#!substdef "!PBX_USRLOC_PORT!%s!g"\n' "$KAM_REDIS_PORT"
	fi
	printf 'include_file "%s"\n' "$ROOT/deploy/kamailio/kamailio.cfg"
	[ $multi = 1 ] || return 0
	for i in $(seq 0 $((REDIS_MASTERS - 1))); do
		printf 'modparam("ndb_redis", "server", "name=127.0.0.1:%s;addr=127.0.0.1;port=%s;db=0;pass=%s")\n' \
			$((REDIS_PORT + i)) $((REDIS_PORT + i)) "$pw"
	done
}

# The host firewall's share of the edge (docs/security.md, "TCP"): at
# most PBX_TCP_PER_SOURCE (64) TCP connections to the SIP port from one
# address (our own hosts, PBX_INTERNAL_IPS, excepted); the next ones are
# reset. An nftables table of its own, "pbx_edge", added at start and
# removed at stop. PBX_FIREWALL: auto (default: when run as root with nft
# installed), 1 (required: start fails without it), 0 (off: the
# operator's firewall does it).
FW_TABLE=pbx_edge
firewall_wanted() {
	case ${PBX_FIREWALL:-auto} in
	0) return 1 ;;
	1) return 0 ;;
	*) [ "$(id -u)" = 0 ] && command -v nft >/dev/null ;;
	esac
}
firewall_on() {
	local cap=${PBX_TCP_PER_SOURCE:-64} own=${PBX_INTERNAL_IPS:-127.0.0.1}
	firewall_wanted || return 0
	[[ $cap =~ ^[1-9][0-9]*$ ]] || { log "firewall: PBX_TCP_PER_SOURCE=$cap is no number"; return 1; }
	nft delete table inet $FW_TABLE 2>/dev/null
	if ! nft -f - <<NFT; then
table inet $FW_TABLE {
	set tcp_src4 { type ipv4_addr; size 65535; flags dynamic; }
	set tcp_src6 { type ipv6_addr; size 65535; flags dynamic; }
	chain input {
		type filter hook input priority filter; policy accept;
		tcp dport $SIP_PORT ct state new ip saddr { $own } accept
		tcp dport $SIP_PORT ct state new add @tcp_src4 { ip saddr ct count over $cap } reject with tcp reset
		tcp dport $SIP_PORT ct state new add @tcp_src6 { ip6 saddr ct count over $cap } reject with tcp reset
	}
}
NFT
		log "firewall: nft refused the $FW_TABLE table"
		[ "${PBX_FIREWALL:-auto}" != 1 ]
		return
	fi
	log "firewall: at most $cap TCP connections per address to port $SIP_PORT"
}
firewall_off() {
	firewall_wanted || return 0
	nft delete table inet $FW_TABLE 2>/dev/null
	return 0
}

# rcli [args...]: redis-cli as admin (the password through the
# environment, not the command line).
rcli() {
	local f
	f=$(redis_pass_file admin) || return 1
	# -c: in a Cluster, follow MOVED/ASK to the key's primary.
	REDISCLI_AUTH=$(cat "$f") redis-cli -p "$REDIS_PORT" --user admin \
		--no-auth-warning ${PBX_REDIS_NODES:+-c} "$@"
}

# svc_auth <user>: the --set flags that make a service that user.
svc_auth() {
	echo "--set redis_user=$1 --set redis_password_file=$(redis_pass_file "$1")"
}

# The AOF switched on at run time is complete (rewritten from the data).
aof_written() {
	local info
	info=$(rcli INFO persistence) || return 1
	grep -q '^aof_rewrite_in_progress:0' <<<"$info" &&
		grep -q '^aof_rewrite_scheduled:0' <<<"$info" &&
		[ -e "$RUN/appendonly/appendonly.aof.manifest" ]
}

listening_udp() { ss -lnu | grep -q "$1:$2 "; }
listening_tcp() { ss -lnt | grep -q "$1:$2 "; }
redis_cluster_ok() { rcli CLUSTER INFO | grep -q cluster_state:ok; }
# Every primary of a PBX_REDIS_MASTERS Cluster has its share of the slots.
redis_cluster_full() {
	redis_cluster_ok &&
		[ "$(rcli CLUSTER NODES | grep -c master)" -ge "$REDIS_MASTERS" ]
}

# PBX_REDIS_MASTERS > 1 (with PBX_REDIS_CLUSTER=1): the other primaries
# on the next ports, each in $RUN/redisN, the slots split between all
# by redis-cli --cluster create on the first start (nodes.conf keeps
# them after), and Kamailio's own Redis (below).
redis_nodes_start() {
	local i port dir addrs="127.0.0.1:$REDIS_PORT"
	for i in $(seq 2 "$REDIS_MASTERS"); do
		port=$((REDIS_PORT + i - 1)) dir="$RUN/redis$i"
		need_ports "redis$i" "tcp/$port" || return 1
		mkdir -p "$dir"
		redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" \
			--save '' --cluster-enabled yes \
			--cluster-config-file nodes.conf --appendonly yes \
			--appendfsync "$REDIS_FSYNC" --appenddirname appendonly \
			--aclfile "$ACL_FILE" --daemonize yes \
			--pidfile "$RUN/redis$i.pid" --logfile "$RUN/redis$i.log"
		wait_until 10 "redis$i" rcli -p "$port" ping || return 1
		addrs="$addrs 127.0.0.1:$port"
	done
	if ! redis_cluster_ok; then
		# shellcheck disable=SC2086
		rcli --cluster create $addrs --cluster-replicas 0 \
			--cluster-yes >"$RUN/redis-cluster-create.log" 2>&1 ||
			{ log "redis: cluster create failed; see $RUN/redis-cluster-create.log"; return 1; }
	fi
	wait_until 20 "redis cluster" redis_cluster_full || return 1
	redis_kam_start
}

# Kamailio's db_redis (registrations) has no Cluster client in Debian 12
# (it is built without hiredis-cluster): with several primaries it gets
# a plain Redis of its own on $KAM_REDIS_PORT (ndb_redis reads the
# Cluster: it follows MOVED).
redis_kam_start() {
	need_ports redis-kam "tcp/$KAM_REDIS_PORT" || return 1
	mkdir -p "$RUN/redis-kam"
	redis-server --port "$KAM_REDIS_PORT" --bind 127.0.0.1 \
		--dir "$RUN/redis-kam" --save '' --appendonly yes \
		--appendfsync "$REDIS_FSYNC" --appenddirname appendonly \
		--aclfile "$ACL_FILE" --daemonize yes \
		--pidfile "$RUN/redis-kam.pid" --logfile "$RUN/redis-kam.log"
	wait_until 10 redis-kam rcli -p "$KAM_REDIS_PORT" ping
}
evapi_connected() { ss -tn state established "( dport = :8448 )" | grep -q 8448; }
notifier_ready() {
	rcli XINFO GROUPS 'pbx:{sys}:notify:jobs' | grep -qx notifier
}
qm_connected() { ss -tn state established "( dport = :7003 )" | grep -q 7003; }
crm_connected() { ss -tn state established "( dport = :7004 )" | grep -q 7004; }
worker_alive() {
	local v
	v=$(rcli HGET 'pbx:{sys}:workers' "$1") || return 1
	[ -n "$v" ] || return 1
	local seen=${v%% *} now
	now=$(($(date +%s%3N)))
	[ $((now - seen)) -lt 3000 ]
}

# port_free <tcp|udp> <port>: nothing of another stack is listening there.
port_free() {
	if [ "$1" = udp ]; then ! ss -lnu | grep -q ":$2 "
	else ! ss -lnt | grep -q ":$2 "; fi
}

# Refuses to start over another instance: readiness probes would
# otherwise see the other one and report success.
need_ports() {
	local name=$1
	shift
	local p
	for p in "$@"; do
		if ! port_free "${p%/*}" "${p#*/}"; then
			log "$name: port ${p#*/}/${p%/*} is in use (another stack running? make stop)"
			return 1
		fi
	done
}

# alive <name>: the process we started is still there after its probe.
alive() {
	running "$1" || { log "$1 exited; see $RUN/$1.log"; return 1; }
}

start_one() {
	local name=$1
	running "$name" && { log "$name already running"; return 0; }
	case $name in
	redis) need_ports redis "tcp/$REDIS_PORT" || return 1 ;;
	kamailio) need_ports kamailio "udp/$SIP_PORT" tcp/8448 tcp/9220 || return 1 ;;
	router) need_ports router tcp/7001 tcp/7002 tcp/7003 tcp/7004 tcp/9201 || return 1 ;;
	provision) need_ports provision tcp/7010 tcp/9203 || return 1 ;;
	notifier) need_ports notifier udp/5070 tcp/9205 || return 1 ;;
	edge-bridge) need_ports edge-bridge tcp/9202 || return 1 ;;
	edge*)
		valid_bridge "$name" || { log "unknown service $name (edge2..edge9)"; return 2; }
		need_ports "$name" "tcp/$(bridge_metrics_port "$name")" || return 1
		;;
	queue-manager) need_ports queue-manager tcp/9204 || return 1 ;;
	crm-connector) need_ports crm-connector tcp/9206 || return 1 ;;
	mw*)
		valid_worker "$name" || { log "unknown service $name (mw1..mw9)"; return 2; }
		need_ports "$name" "udp/$(worker_port "${name#mw}")" \
			"tcp/$(worker_metrics_port "${name#mw}")" || return 1
		;;
	asr*)
		valid_asr "$name" || { log "unknown service $name (asr1..asr9)"; return 2; }
		need_ports "$name" "tcp/$(asr_port "$name")" \
			"tcp/$(asr_metrics_port "$name")" || return 1
		;;
	esac
	keys_for "$name" || return 1
	case $name in
	redis)
		local save="--save ''" aof=yes
		[ "${PBX_REDIS_SAVE:-0}" = 1 ] && save="--save 60 1"
		# A run dir from before the append-only file: Redis with
		# appendonly yes and no AOF yet would start empty and ignore
		# the RDB. Load the RDB, then switch the AOF on at run time
		# (Redis writes it from the loaded data).
		[ -s "$RUN/redis.rdb" ] && [ ! -d "$RUN/appendonly" ] && aof=no
		write_acl || { log "redis: cannot write $ACL_FILE"; return 1; }
		# PBX_REDIS_CLUSTER=1: Redis in Cluster mode, one node that
		# holds all 16384 slots (or PBX_REDIS_MASTERS primaries
		# sharing them): a multi-key command or script whose keys
		# are not in one slot fails CROSSSLOT, as on a real Cluster
		# (docs/operations.md, "Redis Cluster").
		local cluster=""
		[ "${PBX_REDIS_CLUSTER:-0}" = 1 ] &&
			cluster="--cluster-enabled yes --cluster-config-file nodes.conf"
		eval redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
			--dir "$RUN" --dbfilename redis.rdb $save $cluster \
			--appendonly $aof --appendfsync "$REDIS_FSYNC" \
			--appenddirname appendonly \
			--aclfile "$ACL_FILE" --daemonize yes \
			--pidfile "$RUN/redis.pid" --logfile "$RUN/redis.log"
		wait_until 10 redis rcli ping || return 1
		if [ -n "$cluster" ] && [ "$REDIS_MASTERS" -gt 1 ]; then
			redis_nodes_start || return 1
		elif [ -n "$cluster" ]; then
			rcli CLUSTER INFO | grep -q cluster_state:ok ||
				rcli CLUSTER ADDSLOTSRANGE 0 16383 >/dev/null
			wait_until 10 "redis cluster" redis_cluster_ok || return 1
		fi
		if [ $aof = no ]; then
			rcli CONFIG SET appendonly yes >/dev/null &&
				wait_until 60 "redis append-only file" aof_written ||
				return 1
			log "redis: $RUN/redis.rdb moved into $RUN/appendonly"
		fi
		;;
	kamailio)
		mkdir -p "$RUN/kamailio"
		# Shared memory holds every transaction and dialog: the
		# 64 MiB default ran out under a distributed INVITE flood
		# (issue 8); private memory per process is for scripts.
		(umask 077 && kam_cfg >"$RUN/kamailio/kamailio.cfg") &&
			chmod 0700 "$RUN/kamailio" && firewall_on || return 1
		# tlsf: Kamailio's default allocator (qm) was a quarter of
		# its CPU per call; tlsf cut that CPU by a third (issue 17).
		start_bg kamailio /usr/sbin/kamailio -DD -E \
			-m "$KAM_SHM_MB" -M "$KAM_PKG_MB" -x tlsf -X tlsf \
			-f "$RUN/kamailio/kamailio.cfg" \
			-Y "$RUN/kamailio" -P "$RUN/kamailio/kamailio.pid" \
			-A "PBX_LISTEN_IP=$SIP_IP" -A "PBX_SIP_PORT=$SIP_PORT" \
			-A "PBX_NEW_REQ_RATE=$KAM_RATE" \
			-A "PBX_ANON_REQ_RATE=$KAM_ANON_RATE" \
			${PBX_PIKE_DENSITY:+-A "PBX_PIKE_DENSITY=$PBX_PIKE_DENSITY"} \
			${PBX_TCP_IDLE:+-A "PBX_TCP_IDLE=$PBX_TCP_IDLE"} \
			--substdef "!PBX_REDIS_PORT!$REDIS_PORT!g" \
			--substdef "!PBX_SELF_ADDR!$SIP_IP:$SIP_PORT!g" \
			--substdef "!PBX_SELF_IP!$SIP_IP!g"
		wait_until 15 kamailio listening_udp "$SIP_IP" "$SIP_PORT" &&
			alive kamailio
		;;
	router)
		start_bg router "$BUILD/services/router/router" $(svc_auth router) \
			--set "curve_secret_file=$KEYS/router.key" \
			--set "curve_edge_allow_dir=$KEYS/allow/edge" \
			--set "curve_worker_allow_dir=$KEYS/allow/worker" \
			--set "curve_queue_allow_dir=$KEYS/allow/queue" \
			--set "curve_crm_allow_dir=$KEYS/allow/crm" \
			--set "redis_port=$REDIS_PORT" --set "log_level=$LOG_LEVEL"
		wait_until 10 router listening_tcp 127.0.0.1 7001 && alive router
		;;
	queue-manager)
		start_bg queue-manager \
			"$BUILD/services/queue-manager/queue-manager" \
			--set "qm_id=qm1" \
			--set "curve_secret_file=$KEYS/qm1.key" \
			--set "curve_server_public_file=$KEYS/router.pub" \
			--set "redis_port=$REDIS_PORT" $(svc_auth queue) \
			--set "log_level=$LOG_LEVEL"
		wait_until 10 "queue-manager connection" qm_connected &&
			alive queue-manager
		;;
	crm-connector)
		start_bg crm-connector \
			"$BUILD/services/crm-connector/crm-connector" \
			--set "crm_id=crm1" \
			--set "curve_secret_file=$KEYS/crm1.key" \
			--set "curve_server_public_file=$KEYS/router.pub" \
			--set "redis_port=$REDIS_PORT" $(svc_auth crm) \
			--set "crm_private=${PBX_CRM_PRIVATE:-1}" \
			--set "log_level=$LOG_LEVEL"
		wait_until 10 "crm-connector connection" crm_connected &&
			alive crm-connector
		;;
	notifier)
		start_bg notifier "$BUILD/services/notifier/notifier" \
			--set "notifier_id=nt1" \
			--set "redis_port=$REDIS_PORT" $(svc_auth notifier) \
			--set "media_root=$RUN/media" \
			--set "smtp_url=${PBX_SMTP_URL:-smtp://127.0.0.1:2525}" \
			--set "smtp_from=${PBX_SMTP_FROM:-voicemail@pbx.invalid}" \
			--set "webhook_private=${PBX_WEBHOOK_PRIVATE:-1}" \
			${PBX_NOTIFY_RETRY_MS:+--set "retry_base_ms=$PBX_NOTIFY_RETRY_MS"} \
			${PBX_NOTIFY_ATTEMPTS:+--set "max_attempts=$PBX_NOTIFY_ATTEMPTS"} \
			--set "log_level=$LOG_LEVEL"
		wait_until 10 "notifier consumer group" notifier_ready &&
			alive notifier
		;;
	provision)
		start_bg provision "$BUILD/services/provision/provision" \
			--set "curve_secret_file=$KEYS/provision.key" \
			--set "curve_allow_dir=$KEYS/allow/provision" \
			$(svc_auth provision) \
			--set "media_root=$RUN/media" \
			--set "redis_port=$REDIS_PORT" --set "log_level=$LOG_LEVEL"
		wait_until 10 provision "$BUILD/services/pbxctl/pbxctl" \
			--key "$KEYS/operator.key" tenant list && alive provision
		;;
	edge-bridge)
		start_bg edge-bridge "$BUILD/services/edge-bridge/edge-bridge" \
			--set "edge_id=edge1" \
			--set "curve_secret_file=$KEYS/edge1.key" \
			--set "curve_server_public_file=$KEYS/router.pub" \
			--set "log_level=$LOG_LEVEL"
		wait_until 10 "edge-bridge evapi connection" evapi_connected &&
			alive edge-bridge
		;;
	edge*)
		start_bg "$name" "$BUILD/services/edge-bridge/edge-bridge" \
			--set "edge_id=$name" \
			--set "metrics_listen=127.0.0.1:$(bridge_metrics_port "$name")" \
			--set "curve_secret_file=$KEYS/$name.key" \
			--set "curve_server_public_file=$KEYS/router.pub" \
			--set "log_level=$LOG_LEVEL"
		wait_until 10 "$name evapi connection" bridge_connected "$name" &&
			alive "$name"
		;;
	mw*)
		local i=${name#mw} port lo hi block=0
		port=$(worker_port "$i")
		read -r lo hi <<<"$(worker_rtp "$i")"
		# PBX_RTP_POOL=<lo>-<hi>: the worker takes the lowest free
		# block of the usual span from that pool instead (claimed in
		# Redis: docs/operations.md, "Scaling").
		if [ -n "${PBX_RTP_POOL:-}" ]; then
			lo=${PBX_RTP_POOL%-*} hi=${PBX_RTP_POOL#*-}
			block=$((RTP_SPAN - 1))
		fi
		start_bg "$name" "$BUILD/services/media-worker/media-worker" \
			--set "worker_id=$name" \
			--set "curve_secret_file=$KEYS/$name.key" \
			--set "curve_server_public_file=$KEYS/router.pub" \
			--set "sip_listen=127.0.0.1:$port" \
			--set "metrics_listen=127.0.0.1:$(worker_metrics_port "$i")" \
			--set "redis_port=$REDIS_PORT" $(svc_auth worker) \
			--set "rtp_port_min=$lo" \
			--set "rtp_port_max=$hi" \
			--set "rtp_port_block=$block" \
			--set "media_root=$RUN/media" \
			--set "asr_bridges=$(asr_list)" \
			--set "asr_public_dir=$KEYS" \
			--set "log_level=$LOG_LEVEL"
		wait_until 10 "$name heartbeat" worker_alive "$name" &&
			alive "$name"
		;;
	asr*)
		start_bg "$name" "$BUILD/services/asr-bridge/asr-bridge" \
			--set "bridge_id=$name" \
			--set "listen=tcp://127.0.0.1:$(asr_port "$name")" \
			--set "curve_secret_file=$KEYS/$name.key" \
			--set "curve_allow_dir=$KEYS/allow/worker" \
			--set "vosk_private=${PBX_VOSK_PRIVATE:-1}" \
			--set "vosk_ca_file=${PBX_VOSK_CA_FILE:-}" \
			--set "vosk_private_allow=${PBX_VOSK_PRIVATE_ALLOW:-}" \
			--set "metrics_listen=127.0.0.1:$(asr_metrics_port "$name")" \
			--set "log_level=$LOG_LEVEL"
		wait_until 10 "$name" listening_tcp 127.0.0.1 "$(asr_port "$name")" &&
			alive "$name"
		;;
	*)
		log "unknown service $name"
		return 2
		;;
	esac
}

stop_one() {
	local name=$1 pidf="$RUN/$1.pid" pid
	[ "$name" = kamailio ] && pidf="$RUN/kamailio.pid"
	[ -f "$pidf" ] || return 0
	pid=$(cat "$pidf")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
		# Kamailio forks children that may outlive a killed parent.
		[ "$name" = kamailio ] && pkill -KILL -f \
			"kamailio.*$RUN/kamailio" 2>/dev/null
	fi
	rm -f "$pidf"
	if [ "$name" = redis ]; then
		local i
		for i in $(seq 2 9) kam; do
			[ -f "$RUN/redis$i.pid" ] || [ -f "$RUN/redis-$i.pid" ] || continue
			[ "$i" = kam ] && stop_one redis-kam || stop_one "redis$i"
		done
	fi
}

# One name a line: stop reverses this list line by line (with all the
# names on one line, tac kept Redis first).
services() {
	printf '%s\n' redis kamailio router provision queue-manager \
		crm-connector notifier edge-bridge
	for i in $(seq 2 "$BRIDGES"); do echo "edge$i"; done
	for i in $(seq "$ASR"); do echo "asr$i"; done
	for i in $(seq "$WORKERS"); do echo "mw$i"; done
}

# What status and stop cover: the configured services plus every worker
# and asr-bridge with a pid file (one added by start-one, or by a start
# with another PBX_ASR), each once, in start order.
known() {
	{ services; worker_pids; } | awk '!seen[$0]++'
}

case ${1:-} in
start)
	for s in $(services); do
		start_one "$s" || {
			log "start failed; see $RUN/$s.log"
			exit 1
		}
	done
	log "up: SIP on $SIP_IP:$SIP_PORT, $WORKERS media worker(s), logs in $RUN"
	;;
stop)
	# Reverse start order: workers, edge-bridge, notifier, crm-connector,
	# queue-manager,
	# provision, router, kamailio, and Redis last.
	for s in $(known | grep '^mw' | tac) $(known | grep -v '^mw' | tac); do
		stop_one "$s"
	done
	firewall_off
	;;
status)
	for s in $(known); do
		if running "$s"; then echo "$s running"; else echo "$s stopped"; fi
	done
	;;
start-one) start_one "$2" ;;
ports)
	# ports mwN: its SIP port and RTP range (what start-one gives it).
	valid_worker "${2:-}" || { log "ports: mw1..mw9"; exit 2; }
	read -r lo hi <<<"$(worker_rtp "${2#mw}")"
	if [ -n "${PBX_RTP_POOL:-}" ]; then
		echo "$2 sip $(worker_port "${2#mw}") rtp a block of pool $PBX_RTP_POOL (pbxctl worker list) metrics $(worker_metrics_port "${2#mw}")"
	else echo "$2 sip $(worker_port "${2#mw}") rtp $lo-$hi metrics $(worker_metrics_port "${2#mw}")"; fi
	;;
stop-one) stop_one "$2" ;;
key)
	# key NAME: a provisioning client key, allowed at once (provision
	# reads its allow list at every handshake).
	[ -n "${2:-}" ] || { log "key: a name (tenant-<tenant> or an operator's)"; exit 2; }
	ensure_key "$2" provision || exit 1
	echo "$KEYS/$2.key"
	;;
cli)
	shift
	rcli "$@"
	;;
*)
	echo "usage: $0 start|stop|status|start-one NAME|stop-one NAME|ports mwN|key NAME|cli ARGS" >&2
	exit 2
	;;
esac
