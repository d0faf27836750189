/* Scenario decision bench: builds graphs of 10, 100 and 1000 nodes (a VIP
 * list, a schedule, a tree of voice menus, subscribers), drives simulated
 * calls through scenario_walk_step with random digits and ring results,
 * and reports decisions per second on one core and per-decision latency
 * (p50 / p99), with and without the state codec the router adds around
 * each step; then the raw cost of one Redis round trip (blocking PING and
 * GET with hiredis) against `--redis-port N`, measured in the same run.
 * Prints a markdown table (docs/performance.md). */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scenario.h"
#include "scenario_walk.h"

#define DOC_MAX (1024 * 1024)
#define LAT_SAMPLES 200000
#define THROUGHPUT_STEPS 2000000
#define REDIS_OPS 20000

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* xorshift: reproducible and cheap, so the driver costs little. */
static uint64_t rng = 88172645463325252ull;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

/* Builds a graph of exactly `nodes` nodes (>= 8): list -> schedule ->
 * menu tree (digits 1-9 to children, 0 back through the schedule) ->
 * subscribers that fall back to a hang-up. */
static int build_doc(char *doc, size_t size, int nodes)
{
	int fixed = 5, leaves = (nodes - fixed) / 4, menus;
	size_t n = 0;

	if (leaves < 1)
		leaves = 1;
	menus = nodes - fixed - leaves;
	if (menus < 1)
		return -EINVAL;
#define PUT(...)                                                              \
	do {                                                                  \
		n += (size_t)snprintf(doc + n, size - n, __VA_ARGS__);        \
		if (n >= size)                                                \
			return -ENOSPC;                                       \
	} while (0)
	PUT("{\"start\":\"vip\",\"nodes\":{");
	PUT("\"vip\":{\"type\":\"list\",\"options\":{\"list\":\"vip\"},"
	    "\"outputs\":{\"in_list\":\"boss\",\"not_in_list\":\"hours\"}},");
	PUT("\"boss\":{\"type\":\"subscriber\",\"options\":{\"kind\":"
	    "\"internal\",\"target\":\"100\",\"timeout\":20},\"outputs\":{"
	    "\"next\":\"hours\"}},");
	PUT("\"hours\":{\"type\":\"schedule\",\"options\":{\"schedule\":"
	    "\"office\"},\"outputs\":{\"match\":\"m0\",\"no_match\":"
	    "\"closed\"}},");
	PUT("\"closed\":{\"type\":\"greeting\",\"options\":{\"prompt\":"
	    "\"closed\"},\"outputs\":{\"next\":\"bye\"}},");
	PUT("\"bye\":{\"type\":\"hangup\",\"options\":{\"code\":480}}");
	for (int i = 0; i < menus; i++) {
		PUT(",\"m%d\":{\"type\":\"ivr\",\"options\":{\"prompt\":"
		    "\"menu%d\",\"retries\":1},\"outputs\":{\"digit:0\":"
		    "\"hours\",\"timeout\":\"s%d\"",
		    i, i, i % leaves);
		for (int k = 1; k <= 9; k++) {
			int c = i * 9 + k;

			if (c < menus)
				PUT(",\"digit:%d\":\"m%d\"", k, c);
			else
				PUT(",\"digit:%d\":\"s%d\"", k,
				    (c - menus) % leaves);
		}
		PUT("}}");
	}
	for (int i = 0; i < leaves; i++)
		PUT(",\"s%d\":{\"type\":\"subscriber\",\"options\":{\"kind\":"
		    "\"internal\",\"target\":\"%d\",\"timeout\":15},"
		    "\"outputs\":{\"next\":\"bye\"}}",
		    i, 200 + i % 700);
	PUT("}}");
#undef PUT
	return 0;
}

static int build_objects(struct scenario_objects *objs)
{
	char list[64 * 1024];
	struct scenario_report rep;
	size_t n = 0;
	int err;

	n += (size_t)snprintf(list, sizeof(list), "{\"entries\":[");
	for (int i = 0; i < 1000; i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n,
				      "%s\"+7916%07d\"", i ? "," : "", i * 7);
	snprintf(list + n, sizeof(list) - n, ",\"7495*\",\"7812###45##\"]}");
	err = scenario_objects_add(objs, "list", "vip", list, &rep);
	if (!err)
		err = scenario_objects_add(
			objs, "schedule", "office",
			"{\"timezone\":\"Europe/"
			"Moscow\",\"windows\":[{\"days\":"
			"\"mon-fri\",\"from\":\"09:00\",\"to\":\"13:00\"},{"
			"\"days\":\"mon-fri\",\"from\":\"14:00\",\"to\":"
			"\"19:00\"}],\"holidays\":[\"01-01..01-08\"]}",
			&rep);
	if (err)
		fprintf(stderr, "objects: %s\n", rep.text);
	return err;
}

struct driver {
	const struct scenario *sc;
	struct walk_ctx ctx;
	struct walk_state st;
	struct walk_actions out;
	struct walk_event ev;
	char caller[24];
	bool codec;
	char buf[WALK_STATE_TEXT_MAX];
};

static void new_call(struct driver *d)
{
	/* 10% important clients, the rest random; times spread over a
	 * week so both schedule outcomes happen. */
	if (rnd(10) == 0)
		snprintf(d->caller, sizeof(d->caller), "8916%07u",
			 rnd(1000) * 7);
	else
		snprintf(d->caller, sizeof(d->caller), "7903%07u",
			 rnd(10000000));
	d->ctx.caller = d->caller;
	d->ctx.now_ms = 1781600000000LL + (int64_t)rnd(7 * 24) * 3600000;
	memset(&d->ev, 0, sizeof(d->ev));
	d->ev.kind = WALK_EV_START;
}

/* The event the world answers the last actions with. */
static void next_event(struct driver *d)
{
	const struct walk_actions *o = &d->out;
	struct walk_event *ev = &d->ev;

	if (o->ended) {
		new_call(d);
		return;
	}
	memset(ev, 0, sizeof(*ev));
	for (size_t i = 0; i < o->n; i++) {
		const struct walk_action *a = &o->act[i];

		switch (a->kind) {
		case WALK_ACT_ANSWER:
			ev->kind = WALK_EV_ANSWERED;
			return;
		case WALK_ACT_RING:
			ev->kind = WALK_EV_RING_RESULT;
			ev->ring = rnd(3) ? WALK_RING_ANSWERED
					  : WALK_RING_NO_ANSWER;
			return;
		case WALK_ACT_PLAY:
			if (o->listen && rnd(5)) {
				ev->kind = WALK_EV_DTMF;
				ev->digit = (char)('0' + rnd(10));
			} else {
				ev->kind = WALK_EV_PLAY_DONE;
			}
			return;
		case WALK_ACT_TIMER:
			if (a->timer.ms && o->listen && rnd(2)) {
				ev->kind = WALK_EV_DTMF;
				ev->digit = (char)('1' + rnd(9));
				return;
			}
			if (a->timer.ms) {
				ev->kind = WALK_EV_TIMER;
				ev->timer_id = a->timer.id;
				return;
			}
			break;
		default:
			break;
		}
	}
	new_call(d); /* waiting with nothing to come: next call */
}

static void step(struct driver *d)
{
	if (d->codec) {
		/* What the router does around a step: the state comes from
		 * and goes back to one Redis field. */
		if (scenario_walk_state_decode(&d->st, d->buf) &&
		    d->ev.kind != WALK_EV_START)
			abort();
		scenario_walk_step(d->sc, &d->ctx, &d->st, &d->ev, &d->out);
		if (scenario_walk_state_encode(&d->st, d->buf,
					       sizeof(d->buf)) < 0)
			abort();
	} else {
		scenario_walk_step(d->sc, &d->ctx, &d->st, &d->ev, &d->out);
	}
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct result {
	double per_sec;
	uint64_t p50, p99;
};

static void measure(const struct scenario *sc,
		    const struct scenario_objects *objs, bool codec,
		    uint64_t *lat, struct result *r)
{
	struct driver d;
	uint64_t t0, t1;

	memset(&d, 0, sizeof(d));
	d.sc = sc;
	d.ctx.objs = objs;
	d.codec = codec;
	scenario_walk_init(&d.st);
	scenario_walk_state_encode(&d.st, d.buf, sizeof(d.buf));
	new_call(&d);
	/* Warm up caches and the zone cache. */
	for (int i = 0; i < 100000; i++) {
		step(&d);
		next_event(&d);
	}
	/* Throughput: no clock reads inside the loop. */
	t0 = now_ns();
	for (int i = 0; i < THROUGHPUT_STEPS; i++) {
		step(&d);
		next_event(&d);
	}
	t1 = now_ns();
	r->per_sec = THROUGHPUT_STEPS / ((double)(t1 - t0) / 1e9);
	/* Latency: the clock around each step only. */
	for (int i = 0; i < LAT_SAMPLES; i++) {
		uint64_t a = now_ns();

		step(&d);
		lat[i] = now_ns() - a;
		next_event(&d);
	}
	qsort(lat, LAT_SAMPLES, sizeof(*lat), u64_cmp);
	r->p50 = lat[LAT_SAMPLES / 2];
	r->p99 = lat[LAT_SAMPLES * 99 / 100];
}

static int redis_bench(int port, const char *cmd, uint64_t *lat,
		       struct result *r)
{
	struct timeval tv = {2, 0};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
	uint64_t t0, t1;

	if (!c || c->err) {
		fprintf(stderr, "redis on port %d: %s\n", port,
			c ? c->errstr : "out of memory");
		redisFree(c);
		return -1;
	}
	freeReplyObject(redisCommand(c, "SET pbx:{bench}:call:x "
					"w1|m12|3|1|0|4|4|7||"));
	for (int i = 0; i < 1000; i++)
		freeReplyObject(redisCommand(c, cmd));
	t0 = now_ns();
	for (int i = 0; i < REDIS_OPS; i++) {
		uint64_t a = now_ns();
		redisReply *rr = redisCommand(c, cmd);

		lat[i] = now_ns() - a;
		if (!rr) {
			fprintf(stderr, "redis: %s\n", c->errstr);
			redisFree(c);
			return -1;
		}
		freeReplyObject(rr);
	}
	t1 = now_ns();
	redisFree(c);
	r->per_sec = REDIS_OPS / ((double)(t1 - t0) / 1e9);
	qsort(lat, REDIS_OPS, sizeof(*lat), u64_cmp);
	r->p50 = lat[REDIS_OPS / 2];
	r->p99 = lat[REDIS_OPS * 99 / 100];
	return 0;
}

static void cpu_model(char *buf, size_t size)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];

	snprintf(buf, size, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && c) {
			snprintf(buf, size, "%s", c + 2);
			buf[strcspn(buf, "\n")] = '\0';
			break;
		}
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	static const int sizes[] = {10, 100, 1000};
	struct scenario_objects *objs = NULL;
	uint64_t *lat = malloc(LAT_SAMPLES * sizeof(*lat));
	char *doc = malloc(DOC_MAX), cpu[160];
	int port = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--redis-port") && i + 1 < argc) {
			port = atoi(argv[++i]);
		} else {
			fprintf(stderr, "usage: %s [--redis-port N]\n",
				argv[0]);
			return 2;
		}
	}
	if (!lat || !doc || scenario_objects_alloc(&objs) ||
	    build_objects(objs))
		return 1;
	cpu_model(cpu, sizeof(cpu));
	printf("Machine: %ld cores (nproc), %s; one core used.\n\n",
	       sysconf(_SC_NPROCESSORS_ONLN), cpu);
	printf("| what | nodes | decisions/s (1 core) | p50 | p99 |\n");
	printf("|---|---:|---:|---:|---:|\n");
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct scenario_report rep;
		struct scenario *sc = NULL;
		struct result r;

		if (build_doc(doc, DOC_MAX, sizes[s]) ||
		    scenario_parse_objs(&sc, doc, objs, NULL, NULL, &rep)) {
			fprintf(stderr, "graph %d: %s\n", sizes[s], rep.text);
			return 1;
		}
		measure(sc, objs, false, lat, &r);
		printf("| walk step | %zu | %.0f | %llu ns | %llu ns |\n",
		       scenario_node_count(sc), r.per_sec,
		       (unsigned long long)r.p50, (unsigned long long)r.p99);
		measure(sc, objs, true, lat, &r);
		printf("| decode + step + encode | %zu | %.0f | %llu ns | "
		       "%llu ns |\n",
		       scenario_node_count(sc), r.per_sec,
		       (unsigned long long)r.p50, (unsigned long long)r.p99);
		scenario_free(sc);
	}
	if (port > 0) {
		struct result r;

		if (!redis_bench(port, "PING", lat, &r))
			printf("| Redis PING round trip (hiredis, blocking) | "
			       "- | %.0f | %llu ns | %llu ns |\n",
			       r.per_sec, (unsigned long long)r.p50,
			       (unsigned long long)r.p99);
		if (!redis_bench(port, "GET pbx:{bench}:call:x", lat, &r))
			printf("| Redis GET of a call state (hiredis, "
			       "blocking) | - | %.0f | %llu ns | %llu ns |\n",
			       r.per_sec, (unsigned long long)r.p50,
			       (unsigned long long)r.p99);
	} else {
		printf("\n(Redis round trip not measured: no --redis-port "
		       "given.)\n");
	}
	scenario_objects_free(objs);
	free(lat);
	free(doc);
	return 0;
}
