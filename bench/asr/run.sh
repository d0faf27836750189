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
PHRASES="sales=sales|buy something;support=support|technical help;operator=operator|talk to a person;yes=yes|correct;no=no|wrong"
# file stem (the phrase expected, or none) and the text spoken
SAY=(
	"sales.1:sales" "sales.2:buy something" "sales.3:I want to buy something"
	"support.1:support" "support.2:technical help"
	"operator.1:operator" "operator.2:talk to a person"
	"yes.1:yes" "yes.2:correct" "no.1:no" "no.2:wrong"
	"none.1:the weather is nice today in paris"
	"none.2:my cat likes to sleep on the sofa"
	"none.3:please send the invoice by email"
	"none.4:how much is the train ticket to london"
)
files=()
for v in en-us en-us+f3 en-us+m3 en; do
	for s in 140 170; do
		for item in "${SAY[@]}"; do
			stem=${item%%:*} text=${item#*:}
			f="$TMP/$stem.$v.$s"
			espeak-ng -v "$v" -s "$s" -w "$f.wav" "$text"
			sox -q "$f.wav" -r 8000 -c 1 -e mu-law "$f.ul.wav"
			sox -q "$f.ul.wav" -e signed -b 16 -t raw "$f.raw"
			files+=("$f.raw")
		done
	done
done
stdbuf -oL "$BUILD/bench/asr/asr_bench" -f "$FILLER" -c "$CONF" "$PHRASES" "${files[@]}"
