#!/bin/bash
# Provisions the demo tenant on a running stack (idempotent) and prints how
# to call it: number 1000 plays a greeting, then hangs up.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${PBX_BUILD:-$ROOT/build}
RUN=${PBX_RUN:-$ROOT/.run}
# pbxctl authenticates with the operator key stack.sh made there.
export PBX_RUN=$RUN
# PBXCTL: another pbxctl (docker/pbxctl.sh for the compose stack); files
# go on standard input, so one in a container works too.
PBXCTL=${PBXCTL:-$BUILD/services/pbxctl/pbxctl}
NUMBER=${PBX_DEMO_NUMBER:-1000}
# Where the stack's SIP edge is and a caller address, for the text below.
SIP=${PBX_DEMO_SIP:-127.0.0.1:5060}
CALLER=${PBX_DEMO_CALLER_IP:-127.0.0.2}   # an address of this host it reaches

wav="$RUN/demo-welcome.wav"
if [ ! -s "$wav" ]; then
	# A short chime and a tone pattern: recognisable without a TTS voice.
	sox -n -r 16000 -c 1 -b 16 "$wav" \
		synth 0.4 sine 660 synth 0.4 sine 880 : \
		synth 0.4 sine 990 : synth 1.5 sine 440 fade 0 1.5 0.3 \
		2>/dev/null ||
		sox -n -r 16000 -c 1 -b 16 "$wav" synth 3 sine 440
fi

"$PBXCTL" tenant create demo --name "Demo company" \
	--domain demo.pbx.local >/dev/null
"$PBXCTL" prompt upload demo welcome - <"$wav" >/dev/null
"$PBXCTL" scenario put demo greeting - >/dev/null <<'JSON'
{
  "description": "Play the welcome prompt, then hang up",
  "start": "welcome",
  "nodes": {
    "welcome": {"type": "greeting", "options": {"prompt": "welcome"},
                "outputs": {"next": "bye"}},
    "bye": {"type": "hangup"}
  }
}
JSON
"$PBXCTL" number connect demo "$NUMBER" >/dev/null
"$PBXCTL" scenario activate demo "$NUMBER" greeting >/dev/null

cat <<EOF

Demo PBX is up (${PBX_DEMO_STOP:-logs in $RUN, stop with: make stop}).

  Call the demo number $NUMBER at sip:$NUMBER@$SIP (UDP or TCP):
    softphone: account-less "IP call" to $NUMBER@${SIP%:*} (PCMU/PCMA)
    SIPp:      $BUILD/tests/support/rtp_sink $CALLER 31000 10 1000 &
               sipp -sf tests/sipp/uac_greeting.xml -s $NUMBER -i $CALLER \\
                    -key rtp_port 31000 -m 1 $SIP
  You hear a chime and a tone, then the PBX hangs up.
  Employees: pbxctl ext add demo 101 <password>, then register
  101@demo.pbx.local via $SIP (docs/softphone.md).

  Provision more with $PBXCTL (see docs/pbxctl.md).
EOF
