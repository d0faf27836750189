/* New calls through a real router in-process (route_call.c): a fake edge
 * sends CallNew on the router's edge socket and gets the RouteDecision, a
 * fake media worker heartbeats on the worker socket, and tenant data sits
 * in a real redis-server under the keys provisioning writes. Asserts the
 * decision (action, SIP code, worker), that refused calls never reach a
 * worker or leave state behind, and what a Redis or worker outage does. */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_redis.h"
#include "pbx_test.h"
#include "router_harness.h"

#define NUMBER "+7 (495) 123-45-67"
#define NUMBER_CANON "74951234567"
#define CALLER "79031112233"

static struct router_harness h;

static const char greeting_json[] =
	"{\"start\":\"g\",\"nodes\":{"
	"\"g\":{\"type\":\"greeting\",\"options\":{\"prompt\":\"hello\"},"
	"\"outputs\":{\"next\":\"bye\"}},"
	"\"bye\":{\"type\":\"hangup\",\"options\":{\"code\":486,"
	"\"reason\":\"Busy Here\"}}}}";

static const char busy_json[] =
	"{\"start\":\"h\",\"nodes\":{"
	"\"h\":{\"type\":\"hangup\",\"options\":{\"code\":486,"
	"\"reason\":\"Busy Here\"}}}}";

static const char queue_json[] =
	"{\"start\":\"q\",\"nodes\":{"
	"\"q\":{\"type\":\"queue\",\"options\":{\"queue\":\"sales\"},"
	"\"outputs\":{\"timeout\":\"bye\"}},"
	"\"bye\":{\"type\":\"hangup\"}}}";

static void setup(void)
{
	cr_assert_eq(router_harness_start(&h), 0, "router harness");
}

static void teardown(void)
{
	router_harness_stop(&h);
	pbx_test_fini();
}

TestSuite(route_call, .init = setup, .fini = teardown, .timeout = 5);

/* The envelope that carried the last decision the edge got. */
static const Pbx__V1__Envelope *last_edge_env(void)
{
	size_t n = fake_peer_count(h.edge);

	cr_assert_gt(n, 0);
	return fake_peer_msg(h.edge, n - 1);
}

static void assert_reject(const Pbx__V1__RouteDecision *d, unsigned code,
			  const char *reason)
{
	cr_assert_not_null(d, "no RouteDecision within 3 s");
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_REJECT,
		     "action %d", d->action);
	cr_assert_eq(d->sip_code, code, "sip_code %u, want %u", d->sip_code,
		     code);
	cr_assert_str_eq(d->reason, reason);
	cr_assert_str_empty(d->worker_id);
	cr_assert_str_empty(d->media_uri);
	/* The edge matches the decision to its parked transaction. */
	cr_assert_str_eq(d->edge_id, "edge-test");
	cr_assert_eq(d->tindex, 11);
	cr_assert_eq(d->tlabel, 22);
}

/* Nothing reached the worker and no call state was left behind. */
static void assert_untouched(void)
{
	router_harness_settle(&h, 100);
	cr_assert_eq(fake_peer_count(h.worker), 0,
		     "the worker got %zu message(s)",
		     fake_peer_count(h.worker));
	cr_assert_eq(router_harness_call_count(&h), 0,
		     "a call record was left in Redis");
}

Test(route_call, unknown_number_is_rejected_404)
{
	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main",
					      greeting_json),
		     0);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);

	assert_reject(router_harness_call_new(&h, "c-unknown", CALLER,
					      "+74959999999"),
		      404, "Not Found");
	/* Not a number at all. */
	assert_reject(router_harness_call_new(&h, "c-bad", CALLER, "sales"),
		      404, "Not Found");
	assert_untouched();
}

Test(route_call, number_without_active_scenario_is_404)
{
	char key[PBX_KEY_MAX];
	redisReply *r;

	/* Owned (did index) but the number hash is gone. */
	cr_assert_eq(router_harness_seed_tenant(&h), 0);
	cr_assert_eq(pbx_key_sys(key, sizeof(key), "did:%s", NUMBER_CANON),
		     0);
	r = redis_fixture_cmd(&h.rf, "SET %s %s", key, HARNESS_TENANT);
	cr_assert_not_null(r);
	freeReplyObject(r);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);

	assert_reject(router_harness_call_new(&h, "c-1", CALLER, NUMBER), 404,
		      "Not Found");
	assert_untouched();
}

Test(route_call, hangup_scenario_rejects_with_its_code_without_a_worker)
{
	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main", busy_json),
		     0);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);

	assert_reject(router_harness_call_new(&h, "c-486", CALLER, NUMBER),
		      486, "Busy Here");
	cr_assert_str_eq(last_edge_env()->call_id, "c-486");
	assert_untouched();
}

Test(route_call, unsupported_element_is_refused_501_before_answer)
{
	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main", queue_json),
		     0);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);

	assert_reject(router_harness_call_new(&h, "c-q", CALLER, NUMBER), 501,
		      "Not Implemented (QUEUE not supported yet)");
	assert_untouched();
}

Test(route_call, greeting_call_is_relayed_to_the_live_worker)
{
	const Pbx__V1__RouteDecision *d;
	const Pbx__V1__Envelope *env;
	char v[128];
	long long ttl;

	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main",
					      greeting_json),
		     0);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);

	d = router_harness_call_new(&h, "c-media", CALLER, NUMBER);
	cr_assert_not_null(d, "no RouteDecision within 3 s");
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA,
		     "action %d (%u %s)", d->action, d->sip_code, d->reason);
	cr_assert_str_eq(d->worker_id, HARNESS_WORKER);
	cr_assert_str_eq(d->media_uri, HARNESS_WORKER_URI);
	cr_assert_eq(d->tindex, 11);
	cr_assert_eq(d->tlabel, 22);
	env = last_edge_env();
	/* The tenant comes from the router's number index. */
	cr_assert_str_eq(env->tenant_id, HARNESS_TENANT);
	cr_assert_str_eq(env->call_id, "c-media");

	/* The call state is stored before the decision goes out. */
	cr_assert_eq(router_harness_call_field(&h, "c-media", "worker", v,
					       sizeof(v)),
		     0, "no call record");
	cr_assert_str_eq(v, HARNESS_WORKER);
	router_harness_call_field(&h, "c-media", "scenario", v, sizeof(v));
	cr_assert_str_eq(v, "main");
	router_harness_call_field(&h, "c-media", "version", v, sizeof(v));
	cr_assert_str_eq(v, "1");
	router_harness_call_field(&h, "c-media", "rev", v, sizeof(v));
	cr_assert_str_eq(v, "1");
	router_harness_call_field(&h, "c-media", "seq", v, sizeof(v));
	cr_assert_str_eq(v, "0");
	router_harness_call_field(&h, "c-media", "caller", v, sizeof(v));
	cr_assert_str_eq(v, CALLER);
	router_harness_call_field(&h, "c-media", "dialed", v, sizeof(v));
	cr_assert_str_eq(v, NUMBER_CANON);
	router_harness_call_field(&h, "c-media", "domain", v, sizeof(v));
	cr_assert_str_eq(v, HARNESS_DOMAIN);
	ttl = router_harness_call_ttl(&h, "c-media");
	cr_assert(ttl > 0 && ttl <= h.cfg.call_ttl_s, "ttl %lld", ttl);

	/* The walk starts only when the worker reports INCOMING. */
	router_harness_settle(&h, 100);
	cr_assert_eq(fake_peer_count(h.worker), 0);
}

Test(route_call, scheduled_activation_that_is_due_wins)
{
	char key[PBX_KEY_MAX];
	redisReply *r;

	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main",
					      greeting_json),
		     0);
	cr_assert_eq(router_harness_seed_scenario(&h, "night", 1, busy_json),
		     0);
	cr_assert_eq(pbx_key(key, sizeof(key), HARNESS_TENANT, "number:%s",
			     NUMBER_CANON),
		     0);
	r = redis_fixture_cmd(&h.rf,
			      "HSET %s pending_scenario night pending_version 1 "
			      "pending_at_ms 1000",
			      key);
	cr_assert_not_null(r);
	freeReplyObject(r);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);

	assert_reject(router_harness_call_new(&h, "c-night", CALLER, NUMBER),
		      486, "Busy Here");
	assert_untouched();
}

Test(route_call, missing_scenario_version_is_503)
{
	cr_assert_eq(router_harness_seed_tenant(&h), 0);
	cr_assert_eq(router_harness_seed_number(&h, NUMBER, "main", 7), 0);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);

	assert_reject(router_harness_call_new(&h, "c-1", CALLER, NUMBER), 503,
		      "Service Unavailable");
	assert_untouched();
}

Test(route_call, second_invite_with_a_live_call_id_is_482)
{
	const Pbx__V1__RouteDecision *d;
	char rev[16];

	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main",
					      greeting_json),
		     0);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);
	d = router_harness_call_new(&h, "c-dup", CALLER, NUMBER);
	cr_assert_not_null(d);
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA);

	assert_reject(router_harness_call_new(&h, "c-dup", CALLER, NUMBER),
		      482, "Loop Detected");
	/* The live call's state is untouched. */
	router_harness_call_field(&h, "c-dup", "rev", rev, sizeof(rev));
	cr_assert_str_eq(rev, "1");
}

Test(route_call, no_heartbeat_means_503_no_media_worker)
{
	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main",
					      greeting_json),
		     0);

	assert_reject(router_harness_call_new(&h, "c-1", CALLER, NUMBER), 503,
		      "No Media Worker");
	assert_untouched();
}

Test(route_call, worker_silent_past_its_ttl_gets_no_calls)
{
	const uint64_t t0 = 1780000000000ULL;
	const Pbx__V1__RouteDecision *d;

	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main",
					      greeting_json),
		     0);
	pbx_clock_fake(t0);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);

	pbx_clock_fake(t0 + (uint64_t)h.cfg.worker_ttl_ms);
	d = router_harness_call_new(&h, "c-1", CALLER, NUMBER);
	cr_assert_not_null(d);
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA,
		     "still live at exactly its ttl");

	pbx_clock_fake(t0 + (uint64_t)h.cfg.worker_ttl_ms + 1);
	assert_reject(router_harness_call_new(&h, "c-2", CALLER, NUMBER), 503,
		      "No Media Worker");
	cr_assert_eq(router_harness_call_count(&h), 1, "only c-1 is live");
}

Test(route_call, draining_worker_gets_no_calls)
{
	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main",
					      greeting_json),
		     0);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, true), 0);

	assert_reject(router_harness_call_new(&h, "c-1", CALLER, NUMBER), 503,
		      "No Media Worker");
	assert_untouched();
}

Test(route_call, full_worker_gets_no_calls)
{
	const Pbx__V1__RouteDecision *d;

	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main",
					      greeting_json),
		     0);
	cr_assert_eq(router_harness_heartbeat(&h, 2, 1, false), 0);

	/* One slot left: the placement is counted before the next
	 * heartbeat, so the second call finds the worker full. */
	d = router_harness_call_new(&h, "c-1", CALLER, NUMBER);
	cr_assert_not_null(d);
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA);
	assert_reject(router_harness_call_new(&h, "c-2", CALLER, NUMBER), 503,
		      "No Media Worker");
}

Test(route_call, redis_down_gets_503)
{
	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main",
					      greeting_json),
		     0);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);

	redis_fixture_stop(&h.rf);
	for (int i = 0; i < 100 && pbx_redis_ctx(h.rt->redis); i++)
		router_harness_settle(&h, 10);
	cr_assert_null(pbx_redis_ctx(h.rt->redis),
		       "the router did not see Redis go");

	assert_reject(router_harness_call_new(&h, "c-1", CALLER, NUMBER), 503,
		      "Service Unavailable");
	router_harness_settle(&h, 100);
	cr_assert_eq(fake_peer_count(h.worker), 0);
}

Test(route_call, redis_lost_with_the_lookup_in_flight_gets_503)
{
	size_t n;

	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main",
					      greeting_json),
		     0);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);

	/* Redis freezes: the router's lookup is sent and waits... */
	cr_assert_eq(kill(h.rf.pid, SIGSTOP), 0);
	n = fake_peer_count(h.edge);
	{
		Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
		Pbx__V1__CallNew cn = PBX__V1__CALL_NEW__INIT;

		cn.edge_id = "edge-test";
		cn.tindex = 11;
		cn.tlabel = 22;
		cn.from_user = CALLER;
		cn.to_user = NUMBER;
		cn.source = "trunk";
		env.call_id = "c-1";
		env.body_case = PBX__V1__ENVELOPE__BODY_CALL_NEW;
		env.call_new = &cn;
		cr_assert_eq(fake_peer_send(h.edge, &env, 2000), 0);
	}
	router_harness_settle(&h, 150);
	cr_assert_eq(fake_peer_count(h.edge), n, "answered without Redis?");

	/* ...and dies: the lost reply becomes a 503, not silence. */
	redis_fixture_stop(&h.rf);
	cr_assert_eq(fake_peer_wait(h.edge, n + 1, 2000), n + 1,
		     "no decision after Redis died");
	assert_reject(fake_peer_msg(h.edge, n)->route_decision, 503,
		      "Service Unavailable");
}
