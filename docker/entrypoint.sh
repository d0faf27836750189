#!/bin/bash
# Entry point of every PBX image: turns the compose environment into each
# service's settings and execs it (PID 1, so `docker stop` reaches it).
#
#   pbx-entrypoint init | redis | kamailio | router | provision |
#                  edge-bridge | media-worker | queue-manager | notifier |
#                  crm-connector | asr-bridge |
#                  pbxctl ARGS... | <any command>
#
# Keys and Redis passwords live in the keys volume at $PBX_DIR (/pbx):
# keys/ and keys/allow/<list>/ as scripts/stack.sh lays them out, and
# secrets/redis-<user>.pass plus the ACL file. "init" (a one-shot
# container, the only one that mounts the volume writable) makes them once
# and rewrites the ACL file; every other service reads them. Services take
# their other settings as PBX_<KEY> variables (each prints them with
# --print-config).
set -eu
DIR=${PBX_DIR:-/pbx}
KEYS=$DIR/keys
SECRETS=$DIR/secrets
ACL=$SECRETS/redis-users.acl

log() { echo "pbx-entrypoint: $*" >&2; }

# own_ip: this container's address on the PBX network.
own_ip() { hostname -i | awk '{print $1}'; }

# need <file>: a key or password the init step should have made.
need() {
	[ -r "$1" ] || { log "$1 is missing: run the init service first"; exit 1; }
}

# ensure_key <name> [allow list]: keys/<name>.key and .pub once, the .pub
# in keys/allow/<list>/ (as stack.sh's ensure_key).
ensure_key() {
	[ -f "$KEYS/$1.key" ] || pbxctl keygen "$1" --dir "$KEYS" >/dev/null
	if [ -n "${2:-}" ]; then
		mkdir -p "$KEYS/allow/$2"
		cp "$KEYS/$1.pub" "$KEYS/allow/$2/$1.pub"
	fi
}

# ensure_pass <user>: a random password for that Redis user, once.
ensure_pass() {
	local f="$SECRETS/redis-$1.pass"
	[ -s "$f" ] && return 0
	head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$f.tmp"
	echo >>"$f.tmp"
	mv "$f.tmp" "$f"
}
pass_hash() { tr -d '\n' <"$SECRETS/redis-$1.pass" | sha256sum | cut -c1-64; }

# The ACL: deploy/redis/users.acl.in (the same users and rights as
# scripts/stack.sh's), each password's SHA-256 filled in.
write_acl() {
	local u args=()
	for u in kamailio router provision worker queue notifier crm admin; do
		args+=(-e "s/@${u^^}@/$(pass_hash "$u")/")
	done
	grep -v '^#' /usr/local/share/pbx/users.acl.in | sed "${args[@]}" \
		>"$ACL.tmp"
	mv "$ACL.tmp" "$ACL"
}

init() {
	local i
	umask 077
	mkdir -p "$KEYS" "$SECRETS"
	ensure_key router
	mkdir -p "$KEYS/allow/edge" "$KEYS/allow/worker"
	ensure_key provision
	ensure_key operator provision
	ensure_key edge1 edge
	ensure_key qm1 queue
	ensure_key crm1 crm
	ensure_key asr1
	# One key per worker slot: --scale media-worker=N needs N <= this.
	for i in $(seq "${PBX_MAX_WORKERS:-16}"); do ensure_key "mw$i" worker; done
	for i in kamailio router provision worker admin queue notifier crm; do
		ensure_pass "$i"
	done
	write_acl
	log "keys and Redis passwords ready in the keys volume"
}

redis() {
	need "$ACL"
	# Append-only file fsynced before every reply, as stack.sh runs it
	# (docs/security.md): an acknowledged write survives kill -9.
	exec redis-server --port 6379 --bind 0.0.0.0 --protected-mode no \
		--dir /data --appendonly yes --appenddirname appendonly \
		--appendfsync "${PBX_REDIS_FSYNC:-always}" --save '' \
		--aclfile "$ACL"
}

kamailio() {
	local ip pw cfg=/run/pbx/kamailio.cfg
	need "$SECRETS/redis-kamailio.pass"
	ip=$(own_ip)
	pw=$(cat "$SECRETS/redis-kamailio.pass")
	# The password as a substdef in a 0600 file, never on a command line
	# (stack.sh's kam_cfg); Redis's host and port the same way.
	(umask 077 && {
		printf '#!KAMAILIO\n'
		printf '#!substdef "!PBX_REDIS_PASS!%s!g"\n' "$pw"
		printf '#!substdef "!PBX_REDIS_HOST!%s!g"\n' "${PBX_REDIS_HOST:?}"
		printf '#!substdef "!PBX_REDIS_PORT!%s!g"\n' "${PBX_REDIS_PORT:-6379}"
		# Our own SIP address, in the busy lamp field's module strings.
		printf '#!substdef "!PBX_SELF_ADDR!%s:%s!g"\n' "$ip" \
			"${PBX_SIP_PORT:-5060}"
		printf 'include_file "/etc/pbx/kamailio.cfg"\n'
	} >"$cfg")
	exec /usr/sbin/kamailio -DD -E -m "${PBX_KAM_SHM_MB:-256}" \
		-M "${PBX_KAM_PKG_MB:-16}" -x tlsf -X tlsf -f "$cfg" \
		-Y /run/pbx -P /run/pbx/kamailio.pid \
		-A "PBX_LISTEN_IP=$ip" -A "PBX_SIP_PORT=${PBX_SIP_PORT:-5060}" \
		-A "PBX_EVAPI_BIND=\"$ip:8448\"" \
		-A "PBX_BRIDGE_IP=\"${PBX_BRIDGE_IP:?}\"" \
		-A "PBX_INTERNAL_NETS=\"${PBX_INTERNAL_NETS:?}\"" \
		-A "PBX_WORKER_NETS=\"${PBX_WORKER_NETS:?}\"" \
		-A "PBX_NOTIFIER_URI=\"sip:${PBX_NOTIFIER_IP:?}:5070\"" \
		-A "PBX_NOTIFIER_IP=\"$PBX_NOTIFIER_IP\"" \
		-A "PBX_NEW_REQ_RATE=${PBX_KAM_RATE:-2200}" \
		-A "PBX_ANON_REQ_RATE=${PBX_KAM_ANON_RATE:-400}" \
		${PBX_PIKE_DENSITY:+-A "PBX_PIKE_DENSITY=$PBX_PIKE_DENSITY"} \
		${PBX_TCP_IDLE:+-A "PBX_TCP_IDLE=$PBX_TCP_IDLE"}
}

# redis_user <user>: the service authenticates as that ACL user.
redis_user() {
	need "$SECRETS/redis-$1.pass"
	export PBX_REDIS_USER=$1 PBX_REDIS_PASSWORD_FILE=$SECRETS/redis-$1.pass
}

# worker_index: this replica's number, from the container name compose
# gave it (<project>_media-worker_<N>, or -<N> with compose v2), which
# Docker's DNS returns for the container's address; PBX_WORKER_INDEX
# overrides it.
worker_index() {
	[ -n "${PBX_WORKER_INDEX:-}" ] && { echo "$PBX_WORKER_INDEX"; return; }
	getent -s dns hosts "$(own_ip)" |
		sed -n 's/^[^ ]* *[^ ]*[_-]\([0-9][0-9]*\)\..*/\1/p' | head -1
}

media_worker() {
	local ip n span=${PBX_RTP_SPAN:-2000} base=${PBX_RTP_BASE:-20000} lo
	ip=$(own_ip)
	n=$(worker_index)
	[[ $n =~ ^[1-9][0-9]*$ ]] || { log "media-worker: no replica number (set PBX_WORKER_INDEX)"; exit 1; }
	need "$KEYS/mw$n.key"
	# Replica N owns RTP ports base+span*(N-1) .. +span-2 and SIP port
	# 5080 on its own address: no two replicas' ranges overlap, so the
	# same layout works behind one host address (docker/README.md).
	lo=$((base + span * (n - 1)))
	[ $((lo + span - 2)) -le 65535 ] || { log "media-worker: slot $n is past port 65535 (PBX_RTP_SPAN)"; exit 1; }
	redis_user worker
	export PBX_WORKER_ID=mw$n PBX_CURVE_SECRET_FILE=$KEYS/mw$n.key \
		PBX_CURVE_SERVER_PUBLIC_FILE=$KEYS/router.pub \
		PBX_ASR_PUBLIC_DIR=$KEYS \
		PBX_SIP_LISTEN=$ip:${PBX_WORKER_SIP_PORT:-5080} PBX_RTP_IP=$ip \
		PBX_RTP_PORT_MIN=$lo PBX_RTP_PORT_MAX=$((lo + span - 2))
	log "media-worker mw$n: sip $PBX_SIP_LISTEN rtp $ip:$PBX_RTP_PORT_MIN-$PBX_RTP_PORT_MAX"
	exec media-worker
}

case ${1:-} in
init) init ;;
redis) redis ;;
kamailio) kamailio ;;
router)
	redis_user router
	export PBX_CURVE_SECRET_FILE=$KEYS/router.key \
		PBX_CURVE_EDGE_ALLOW_DIR=$KEYS/allow/edge \
		PBX_CURVE_WORKER_ALLOW_DIR=$KEYS/allow/worker \
		PBX_CURVE_QUEUE_ALLOW_DIR=$KEYS/allow/queue \
		PBX_CURVE_CRM_ALLOW_DIR=$KEYS/allow/crm
	exec router
	;;
provision)
	redis_user provision
	export PBX_CURVE_SECRET_FILE=$KEYS/provision.key \
		PBX_CURVE_ALLOW_DIR=$KEYS/allow/provision
	exec provision
	;;
edge-bridge)
	export PBX_CURVE_SECRET_FILE=$KEYS/${PBX_EDGE_ID:-edge1}.key \
		PBX_CURVE_SERVER_PUBLIC_FILE=$KEYS/router.pub
	exec edge-bridge
	;;
media-worker) media_worker ;;
queue-manager)
	redis_user queue
	export PBX_CURVE_SECRET_FILE=$KEYS/${PBX_QM_ID:-qm1}.key \
		PBX_CURVE_SERVER_PUBLIC_FILE=$KEYS/router.pub
	exec queue-manager
	;;
crm-connector)
	redis_user crm
	export PBX_CURVE_SECRET_FILE=$KEYS/${PBX_CRM_ID:-crm1}.key \
		PBX_CURVE_SERVER_PUBLIC_FILE=$KEYS/router.pub
	exec crm-connector
	;;
asr-bridge)
	# No Redis; the workers' keys are its allow list.
	export PBX_CURVE_SECRET_FILE=$KEYS/${PBX_BRIDGE_ID:-asr1}.key \
		PBX_CURVE_ALLOW_DIR=$KEYS/allow/worker
	exec asr-bridge
	;;
notifier)
	redis_user notifier
	# The SMTP password, when the operator put one in the keys volume.
	[ -r "$SECRETS/smtp.pass" ] &&
		export PBX_SMTP_PASSWORD_FILE=$SECRETS/smtp.pass
	exec notifier
	;;
pbxctl)
	shift
	# The operator's key, and the server's next to it (pbxctl's rule).
	exec pbxctl --key "$KEYS/operator.key" "$@"
	;;
*) exec "$@" ;;
esac
