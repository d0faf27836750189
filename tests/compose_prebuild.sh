#!/bin/bash
# Builds the docker compose images in the background while `make test`
# compiles the project, so the compose suite (tests/compose/test_compose.sh)
# finds them in Docker's build cache instead of spending its own minutes on
# debootstrap and apt-get downloads (on a fresh machine most of that time is
# the network, which the host's compile does not use).
#   compose_prebuild.sh start   background build; pid and log in .run/
#   compose_prebuild.sh wait    waits for it (at most 15 min); prints how it
#                               ended. The compose suite builds again either
#                               way: a failed prebuild only costs the time.
# Without a Docker engine and docker-compose both are no-ops.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$ROOT/.run/prebuild
PID=$DIR/pid
LOG=$DIR/build.log

have_docker() {
	command -v docker-compose >/dev/null && docker info >/dev/null 2>&1
}

case "${1:-}" in
start)
	have_docker || exit 0
	mkdir -p "$DIR"
	if [ -s "$PID" ] && kill -0 "$(cat "$PID")" 2>/dev/null; then
		exit 0 # one is running already
	fi
	(
		cd "$ROOT" &&
			nice -n 10 docker/base-image.sh &&
			nice -n 10 docker-compose -p pbx-prebuild \
				-f docker/compose.yaml build -q
		echo "exit $?"
	) >"$LOG" 2>&1 </dev/null &
	echo $! >"$PID"
	;;
wait)
	[ -s "$PID" ] || exit 0
	pid=$(cat "$PID")
	end=$((SECONDS + 900))
	while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $end ]; do
		sleep 2
	done
	echo "info: image prebuild: $(tail -1 "$LOG" 2>/dev/null)"
	rm -f "$PID"
	;;
*)
	echo "usage: compose_prebuild.sh start|wait" >&2
	exit 2
	;;
esac
