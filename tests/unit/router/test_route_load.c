/* Router scenario loading against a real redis-server: a scenario and the
 * tenant's objects come from Redis through the caches, and a scenario a
 * call holds stays valid while that call waits for Redis even when other
 * calls' loads evict its cache entry (the router once kept a bare pointer
 * here: 256 loads during one round trip freed the scenario under it). */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <zmq.h>

#include "pbx_keys.h"
#include "pbx_redis.h"
#include "pbx_test.h"
#include "redis_fixture.h"
#include "route_ctx.h"
#include "router.h"
#include "scenario.h"
#include "vcache.h"

static struct redis_fixture rf;
static struct event_base *base;
static void *zctx;
static struct router *rt;
static struct router_config cfg = {
	.router_id = "rtest",
	.edge_listen = "tcp://127.0.0.1:*",
	.worker_listen = "tcp://127.0.0.1:*",
	.redis_host = "127.0.0.1",
	.worker_ttl_ms = 3000,
	.worker_reap_ms = 3000,
	.call_ttl_s = 60,
	.log_level = "warn",
};

static const char greeting_json[] =
	"{\"start\":\"g\",\"nodes\":{\"g\":{\"type\":\"greeting\","
	"\"options\":{\"prompt\":\"hello\"},\"outputs\":{\"next\":\"h\"}},"
	"\"h\":{\"type\":\"hangup\"}}}";

/* Runs the loop until *flag or 3 s. */
static void run_until(const int *flag)
{
	for (int i = 0; i < 300 && !*flag; i++) {
		struct timeval tv = {0, 10000};

		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
}

static void setup(void)
{
	char key[PBX_KEY_MAX];
	redisReply *rr;
	int connected = 0;

	cr_assert_eq(redis_fixture_start(&rf), 0, "redis-server did not start");
	cfg.redis_port = rf.port;
	base = event_base_new();
	zctx = pbx_zmq_ctx_new();
	cr_assert(base && zctx);
	cr_assert_eq(router_alloc(&rt, base, zctx, &cfg), 0);
	for (int i = 0; i < 300 && !connected; i++) {
		struct timeval tv = {0, 10000};

		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
		connected = pbx_redis_ctx(rt->redis) != NULL;
	}
	cr_assert(connected, "router never connected to redis");
	cr_assert_eq(pbx_key(key, sizeof(key), "acme", "scenario:main:v1"), 0);
	rr = redis_fixture_cmd(&rf, "HSET %s json %s", key, greeting_json);
	cr_assert_not_null(rr);
	freeReplyObject(rr);
}

static void teardown(void)
{
	router_free(rt);
	rt = NULL;
	zmq_ctx_term(zctx);
	event_base_free(base);
	redis_fixture_stop(&rf);
	pbx_test_fini();
}

TestSuite(route_load, .init = setup, .fini = teardown);

static struct route_ctx *new_ctx(const char *call_id, long objects_rev)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	struct route_ctx *c;

	env.tenant_id = "acme";
	env.call_id = (char *)call_id;
	c = route_ctx_alloc(rt, NULL, &env);
	cr_assert_not_null(c);
	snprintf(c->scen, sizeof(c->scen), "main");
	c->version = 1;
	c->objects_rev = objects_rev;
	return c;
}

static int loaded;
static int first_action;

/* Walks the first step of the loaded scenario: touches every byte of
 * the walk's view of it, so a freed scenario trips AddressSanitizer. */
static void walk_first(struct route_ctx *c)
{
	struct walk_event ev = {.kind = WALK_EV_START};
	struct walk_ctx ctx;
	struct walk_state st;

	loaded++;
	first_action = -1;
	if (c->sc && c->objs) {
		route_walk_ctx(c, &ctx);
		scenario_walk_init(&st);
		scenario_walk_step(c->sc, &ctx, &st, &ev, &c->out);
		if (c->out.n > 0)
			first_action = (int)c->out.act[0].kind;
	}
	route_ctx_free(c);
}

Test(route_load, scenario_and_objects_come_from_redis)
{
	struct route_ctx *c = new_ctx("call-1", 1);

	loaded = 0;
	route_load(c, walk_first);
	run_until(&loaded);
	cr_assert_eq(loaded, 1);
	cr_assert_eq(first_action, WALK_ACT_ANSWER,
		     "a greeting answers first (got %d)", first_action);
}

Test(route_load, scenario_survives_eviction_during_a_round_trip)
{
	struct route_ctx *c = new_ctx("call-1", 1);

	loaded = 0;
	route_load(c, walk_first); /* caches acme/main v1 */
	run_until(&loaded);
	cr_assert_eq(loaded, 1);

	/* A second call finds the scenario in the cache but must wait for
	 * a new objects revision from Redis... */
	c = new_ctx("call-2", 2);
	loaded = 0;
	route_load(c, walk_first);
	cr_assert_not_null(c->sc, "the scenario should be a cache hit");
	/* ...while 256 other tenants' loads push it out of the cache. */
	for (int i = 0; i < 300; i++) {
		struct scenario *sc = NULL;
		struct vcache_ref *ref = NULL;
		char name[32];

		cr_assert_eq(scenario_parse(&sc, greeting_json, NULL, NULL,
					    NULL),
			     0);
		snprintf(name, sizeof(name), "s%d", i);
		cr_assert_not_null(
			vcache_put(rt->scache, "other", name, 1, sc, &ref));
		vcache_ref_drop(ref);
	}
	run_until(&loaded);
	cr_assert_eq(loaded, 1);
	cr_assert_eq(first_action, WALK_ACT_ANSWER,
		     "the evicted scenario still walks (got %d)", first_action);
}
