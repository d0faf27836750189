#!/bin/sh
# Installs the Debian 12 packages the PBX builds and runs with (idempotent:
# does nothing when everything is present). Needs root (or sudo).
set -e
PKGS="build-essential cmake pkg-config git
libzmq3-dev libprotobuf-c-dev protobuf-c-compiler libevent-dev libhiredis-dev
libcriterion-dev libre-dev libjansson-dev libsndfile1-dev libsamplerate0-dev
libssl-dev libspandsp-dev libcurl4-openssl-dev libtiff-dev libhpdf-dev
libfreetype-dev fonts-dejavu-core
libpocketsphinx-dev pocketsphinx-en-us
redis-server redis-tools
kamailio kamailio-extra-modules kamailio-json-modules kamailio-redis-modules
kamailio-utils-modules kamailio-presence-modules
sip-tester sox espeak-ng iproute2 procps nftables python3-aiosmtpd
python3-websockets"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Debian's redis-server and kamailio packages try to start system services;
# we run our own instances, so keep the package scripts from starting them.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod +x /usr/sbin/policy-rc.d
	trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends $missing
