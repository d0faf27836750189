# Sourced by bench/asr/run.sh and bench/asr/load.sh: the voice
# assistant benches' phrases (PHRASES, as asr_bench / asr_load take them)
# and utterances, spoken by espeak-ng and carried through 8 kHz µ-law as a
# caller's RTP carries them.
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

# make_utterances <dir> <voices> <speeds>: every text of SAY in each voice
# at each speed (words/min) as dir/<stem>.<voice>.<speed>.raw (8 kHz
# signed 16-bit, decoded from µ-law); their paths in the array FILES.
make_utterances() {
	local dir=$1 v s item stem text f
	FILES=()
	for v in $2; do
		for s in $3; do
			for item in "${SAY[@]}"; do
				stem=${item%%:*} text=${item#*:}
				f="$dir/$stem.$v.$s"
				espeak-ng -v "$v" -s "$s" -w "$f.wav" "$text" || return 1
				sox -q "$f.wav" -r 8000 -c 1 -e mu-law "$f.ul.wav" || return 1
				sox -q "$f.ul.wav" -e signed -b 16 -t raw "$f.raw" || return 1
				FILES+=("$f.raw")
			done
		done
	done
}
