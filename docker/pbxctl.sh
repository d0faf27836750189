#!/bin/sh
# pbxctl against the compose stack, from the host: runs the provision
# container's pbxctl with the operator key of the keys volume. Standard
# input is passed on, so files go as "-":
#
#   docker/pbxctl.sh prompt upload acme hello - <hello.wav
#
# PBX_COMPOSE_PROJECT names the stack (default pbx, as make compose-up).
exec docker-compose -p "${PBX_COMPOSE_PROJECT:-pbx}" \
	-f "$(dirname "$0")/compose.yaml" exec -T provision \
	pbxctl --key /pbx/keys/operator.key "$@"
