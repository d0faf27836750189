#!/usr/bin/env bash
# Fax success rate over a lossy, jittery network (issue 12): starts the
# stack (scripts/stack.sh, one media worker), provisions a tenant whose
# number is a fax box with ECM, and sends N two-page faxes with
# tests/support/fax_send, PARALLEL at a time, each losing LOSS_PERMILLE of
# its packets both ways and delaying each packet to the PBX by a random
# 0..JITTER_MS (netem is not available in every kernel, so the sender
# does it). A fax counts as a success when the sender's T.30 ended OK
# with both pages and the PBX listed it with result 0 and 2 pages (and,
# with T38, over T.38).
#
# Environment: PBX_BUILD (required); N (20), PARALLEL (4), LOSS_PERMILLE
# (5 = 0.5 %), JITTER_MS (20), ECM (1), T38 (off: audio; invite: the
# sender re-INVITEs to T.38; accept: the box has t38 and the worker
# re-INVITEs after CNG, the sender takes it). Loss and jitter apply to the
# UDPTL packets as to RTP. Run it in a network namespace of your own.
# Prints one line per fax and a summary line.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/tests/e2e/lib.sh"
e2e_env fax-loss
N=${N:-20}
PARALLEL=${PARALLEL:-4}
LOSS_PERMILLE=${LOSS_PERMILLE:-5}
JITTER_MS=${JITTER_MS:-20}
ECM=${ECM:-1}
T38=${T38:-off}
FAXSEND=$PBX_BUILD/tests/support/fax_send
T=faxloss
NUM=15550499
CALLER_IP=127.0.0.2

trap '"$STACK" stop >/dev/null 2>&1' EXIT
stack_up >/dev/null
{
	"$PBXCTL" tenant delete $T
	"$PBXCTL" tenant create $T &&
		"$PBXCTL" tenant feature $T fax on &&
		echo "{\"format\":\"tiff\",\"ecm\":$([ "$ECM" = 1 ] && echo true || echo false),\"t38\":$([ "$T38" = accept ] && echo true || echo false)}" |
		"$PBXCTL" object put $T fax_box loss - &&
		number_with $T $NUM fax \
			'{"start":"f","nodes":{"f":{"type":"fax","options":{"box":"loss"}}}}'
} >"$TMP/provision.out" 2>&1 || { echo "provisioning failed"; exit 1; }
"$FAXSEND" maketiff "$TMP/sent.tif" 2 || exit 1 # one TIFF for all

start=$(date +%s)
i=0
while [ $i -lt "$N" ]; do
	for j in $(seq 0 $((PARALLEL - 1))); do
		[ $((i + j)) -lt "$N" ] || break
		"$FAXSEND" $CALLER_IP $((5100 + j)) 127.0.0.1:5060 $NUM \
			"$TMP/sent.tif" "$ECM" 150 "$LOSS_PERMILLE" 0 \
			"$JITTER_MS" "$T38" >"$TMP/fax.$((i + j)).out" 2>&1 &
	done
	wait
	i=$((i + PARALLEL))
done
secs=$(( $(date +%s) - start ))
sleep 1
ok_sender=0
for k in $(seq 0 $((N - 1))); do
	line=$(tail -1 "$TMP/fax.$k.out")
	echo "fax $k: $line"
	want=audio
	[ "$T38" != off ] && want=t38
	echo "$line" | grep -q "result=0 pages=2 .* transport=$want " &&
		ok_sender=$((ok_sender + 1))
done
ok_pbx=0 total=0
for id in $(rcli ZRANGE "pbx:{$T}:fax:box:loss" 0 -1); do
	total=$((total + 1))
	r=$(rcli HGET "pbx:{$T}:fax:msg:$id" result)
	p=$(rcli HGET "pbx:{$T}:fax:msg:$id" pages)
	tr=$(rcli HGET "pbx:{$T}:fax:msg:$id" transport)
	[ "$r" = 0 ] && [ "$p" = 2 ] && [ "$tr" = "$want" ] &&
		ok_pbx=$((ok_pbx + 1))
done
echo "summary: loss ${LOSS_PERMILLE}/1000 both ways, jitter 0-${JITTER_MS} ms," \
	"ecm $ECM, t38 $T38: sender OK $ok_sender/$N, PBX stored OK $ok_pbx/$total," \
	"$secs s"
"$PBXCTL" tenant delete $T >/dev/null 2>&1
