#!/bin/bash
# Makes the local Debian 12 base image every PBX image starts from
# (pbx-base:bookworm by default), once: no image registry is reachable, so
# the root file system comes from Debian's own packages (debootstrap) and
# is imported with `docker import`. Does nothing when the image exists.
#
# Needs root (debootstrap) and a Docker engine. The Debian mirror and the
# security mirror are the host's (/etc/apt/sources.list*), or
# PBX_DEBIAN_MIRROR / PBX_DEBIAN_SECURITY; an http(s)_proxy in the
# environment, or apt's Acquire::http::Proxy, is used by debootstrap too.
#
#   base-image.sh [image]      (default $PBX_BASE_IMAGE or pbx-base:bookworm)
set -eu
IMAGE=${1:-${PBX_BASE_IMAGE:-pbx-base:bookworm}}
SUITE=bookworm

log() { echo "base-image: $*" >&2; }

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
	log "$IMAGE exists"
	exit 0
fi
[ "$(id -u)" = 0 ] || { log "debootstrap needs root"; exit 1; }
command -v debootstrap >/dev/null || {
	log "installing debootstrap"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends debootstrap >/dev/null
}

# host_mirror <suite>: the first URI the host's apt uses for that suite
# (deb822 .sources files or one-line sources.list entries).
host_mirror() {
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v s="$1" '
		/^URIs:/ { uri = $2 }
		/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) { print uri; exit } }
		/^deb / { u = $2; if ($2 ~ /^\[/) { for (i = 2; i <= NF && $i !~ /\]$/; i++); u = $(i + 1); i++ } else i = 2
			if ($(i + 1) == s) { print u; exit } }'
}
MIRROR=${PBX_DEBIAN_MIRROR:-$(host_mirror $SUITE)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=${PBX_DEBIAN_SECURITY:-$(host_mirror $SUITE-security)}
SECURITY=${SECURITY:-http://deb.debian.org/debian-security}
if [ -z "${http_proxy:-}" ]; then
	proxy=$(apt-config dump 2>/dev/null |
		sed -n 's/^Acquire::http::Proxy "\(.*\)";/\1/p' | head -1)
	[ -n "$proxy" ] && export http_proxy=$proxy
fi

ROOTFS=$(mktemp -d /tmp/pbx-base.XXXXXX)
trap 'rm -rf "$ROOTFS"' EXIT
log "debootstrap $SUITE from $MIRROR (a few minutes)"
debootstrap --variant=minbase --include=ca-certificates $SUITE "$ROOTFS" \
	"$MIRROR" >"$ROOTFS.log" 2>&1 || {
	tail -20 "$ROOTFS.log" >&2
	log "debootstrap failed (log: $ROOTFS.log)"
	exit 1
}
rm -f "$ROOTFS.log"

# apt in the images: the same mirrors, no recommends, no caches left in
# layers, and no service starting at install time (the containers run
# their one process themselves).
cat >"$ROOTFS/etc/apt/sources.list" <<SRC
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY $SUITE-security main
SRC
cat >"$ROOTFS/etc/apt/apt.conf.d/90pbx" <<'APT'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
APT
printf '#!/bin/sh\nexit 101\n' >"$ROOTFS/usr/sbin/policy-rc.d"
chmod +x "$ROOTFS/usr/sbin/policy-rc.d"
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/archives/*.deb

tar -C "$ROOTFS" --numeric-owner -c . |
	docker import --change 'CMD ["/bin/bash"]' \
		--change 'ENV LANG=C.UTF-8' - "$IMAGE" >/dev/null
log "made $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%d MB", $1/1e6}'))"
