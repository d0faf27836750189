#!/usr/bin/env bash
# The embedded recogniser on telephone audio (docs/performance.md "Voice
# assistant"): phrases and synonyms spoken by espeak-ng in 4 voices at 2
# speeds, through 8 kHz µ-law (as a caller's RTP carries them), decoded
# 8 kHz → 16 kHz by asr_bench with the bridge's grammar; plus
# out-of-grammar sentences. Prints asr_bench's lines and summary.
#
#   bench/asr/run.sh [build dir] [confidence] [filler weight ppm]
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
CONF=${2:-0.5}
FILLER=${3:-0}
TMP=$(mktemp -d /tmp/asr-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
. "$ROOT/bench/asr/phrases.sh"
make_utterances "$TMP" "en-us en-us+f3 en-us+m3 en" "140 170"
stdbuf -oL "$BUILD/bench/asr/asr_bench" -f "$FILLER" -c "$CONF" "$PHRASES" "${FILES[@]}"
