#!/usr/bin/env bash
# bench/cdr_list.sh BUILD_DIR [N]: what `pbxctl cdr list` costs over a
# tenant's stream of call records (docs/operations.md "Call records").
# Starts a redis-server (port 6395) and provision (7095, plaintext) of
# its own, writes N (25000) synthetic records with a 40-hop path (about
# 1.5 KB of trace each) straight into pbx:{bench}:cdr, prints Redis's
# memory, then times a first page, the largest page, a filter that
# matches nothing (the whole bounded scan) and a JSON export page. Run it
# in a network namespace of its own (ports).
set -u
B=${1:?usage: cdr_list.sh BUILD_DIR [N]}; N=${2:-25000}
redis-server --port 6395 --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --pidfile /tmp/cdrb-redis.pid --logfile /tmp/cdrb-redis.log
for _ in $(seq 50); do redis-cli -p 6395 ping >/dev/null 2>&1 && break; sleep 0.1; done
$B/services/provision/provision --set metrics_listen=0 --set listen=tcp://127.0.0.1:7095 --set redis_port=6395 --set log_level=warn > /tmp/cdrb-prov.log 2>&1 &
PP=$!
sleep 0.5
P="$B/services/pbxctl/pbxctl --server tcp://127.0.0.1:7095 --timeout-ms 30000"
$P tenant create bench >/dev/null
TR=$(python3 -c 'print("".join("%d DTMF menu%d ivr digit:2 digit:2\\n" % (i*1000, i) for i in range(40)))')
python3 - "$N" "$TR" <<'PY' | redis-cli -p 6395 --pipe >/dev/null
import sys
n, tr = int(sys.argv[1]), sys.argv[2]
def cmd(*a):
    out = "*%d\r\n" % len(a)
    for x in a:
        x = str(x).encode()
        out += "$%d\r\n%s\r\n" % (len(x), x.decode())
    sys.stdout.write(out)
for i in range(n):
    cmd("XADD", "pbx:{bench}:cdr", "*", "tenant", "bench", "call_id", "c%d@h" % i,
        "number", "15550001", "caller", "7999%07d" % i, "start_ms", 1796670000000 + i,
        "end_ms", 1796670005000 + i, "disposition", "answered", "sip_code", 200,
        "trace", tr, "truncated", 0)
PY
echo "records: $(redis-cli -p 6395 XLEN 'pbx:{bench}:cdr'), trace bytes: ${#TR}, memory: $(redis-cli -p 6395 info memory | grep used_memory_human)"
for args in "--limit 50" "--limit 1000" "--disposition fax" "--limit 1000 --format json"; do
	t0=$(date +%s%3N); n=$($P cdr list bench $args 2>/dev/null | wc -l); t1=$(date +%s%3N)
	echo "cdr list $args: $n lines in $((t1 - t0)) ms"
done
kill $PP; redis-cli -p 6395 shutdown nosave >/dev/null 2>&1
