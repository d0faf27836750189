/* New calls through a real router in-process (route_call.c): a fake edge
 * sends CallNew on the router's edge socket and gets the RouteDecision, a
 * fake media worker heartbeats on the worker socket, and tenant data sits
 * in a real redis-server under the keys provisioning writes. Asserts the
 * decision (action, SIP code, worker), that refused calls never reach a
 * worker or leave state behind, and what a Redis or worker outage does
 * (Redis can be taken down at a chosen command: see before_cmd). Tests
 * marked .disabled show known bugs, named in their comments. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>

#include "did_cache.h"
#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_limits.h"
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

/* The assistant has no media side yet (asr-bridge). */
static const char assistant_json[] =
	"{\"start\":\"c\",\"nodes\":{"
	"\"c\":{\"type\":\"assistant\",\"options\":{\"prompt\":\"ask\","
	"\"phrases\":{\"sales\":[\"sales\"]}},"
	"\"outputs\":{\"phrase:sales\":\"h\",\"no_input\":\"h\"}},"
	"\"h\":{\"type\":\"hangup\"}}}";

static const char hours_json[] =
	"{\"start\":\"hours\",\"nodes\":{"
	"\"hours\":{\"type\":\"schedule\",\"options\":{\"schedule\":"
	"\"office\"},\"outputs\":{\"match\":\"g\",\"no_match\":\"closed\"}},"
	"\"g\":{\"type\":\"greeting\",\"options\":{\"prompt\":\"welcome\"}},"
	"\"closed\":{\"type\":\"hangup\",\"options\":{\"code\":403,"
	"\"reason\":\"Closed\"}}}}";

/* ---- Redis failing at a chosen command ---------------------------------- */

/* Called with each pipelined command the router sends (its format and
 * first argument, the key) before it goes out: lets a test take Redis
 * down exactly there. */
typedef void(before_cmd_h)(const char *fmt, const char *key);
static before_cmd_h *before_cmd;

int __real_redisvAsyncCommand(redisAsyncContext *ac, redisCallbackFn *fn,
			      void *privdata, const char *format, va_list ap);
int __wrap_redisvAsyncCommand(redisAsyncContext *ac, redisCallbackFn *fn,
			      void *privdata, const char *format, va_list ap);

int __wrap_redisvAsyncCommand(redisAsyncContext *ac, redisCallbackFn *fn,
			      void *privdata, const char *format, va_list ap)
{
	if (before_cmd && strstr(format, "%s")) {
		va_list cp;

		/* Every router command names its key first. */
		va_copy(cp, ap);
		before_cmd(format, va_arg(cp, const char *));
		va_end(cp);
	}
	return __real_redisvAsyncCommand(ac, fn, privdata, format, ap);
}

static void setup(void)
{
	before_cmd = NULL;
	cr_assert_eq(router_harness_start(&h), 0, "router harness");
}

static void teardown(void)
{
	before_cmd = NULL;
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
	cr_assert_eq(d->tlabel, h.tlabel ? h.tlabel : 22);
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

Test(route_call, constant_reject_may_be_repeated_by_the_edge)
{
	const Pbx__V1__RouteDecision *d;

	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main", busy_json),
		     0);
	d = router_harness_call_new(&h, "c-1", CALLER, NUMBER);
	assert_reject(d, 486, "Busy Here");
	cr_assert_eq(d->edge_cache_ms, 2000, "a hang-up start: %u ms",
		     d->edge_cache_ms);
}

static void put_schedule(const char *json);

Test(route_call, reject_that_depends_on_time_or_caller_is_never_repeated)
{
	const Pbx__V1__RouteDecision *d;

	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main", hours_json),
		     0);
	put_schedule("{\"timezone\":\"UTC\",\"override\":\"closed\"}");
	d = router_harness_call_new(&h, "c-1", CALLER, NUMBER);
	assert_reject(d, 403, "Closed");
	cr_assert_eq(d->edge_cache_ms, 0, "a schedule decided: %u ms",
		     d->edge_cache_ms);
	/* Not found is not the scenario's answer either. */
	d = router_harness_call_new(&h, "c-2", CALLER, "79990000000");
	assert_reject(d, 404, "Not Found");
	cr_assert_eq(d->edge_cache_ms, 0);
}

Test(route_call, assistant_call_is_relayed_to_a_worker)
{
	const Pbx__V1__RouteDecision *d;

	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main",
					      assistant_json),
		     0);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);

	d = router_harness_call_new(&h, "c-v", CALLER, NUMBER);
	cr_assert_not_null(d, "no RouteDecision within 3 s");
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA,
		     "action %d (%u %s)", d->action, d->sip_code, d->reason);
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

Test(route_call, scheduled_activation_not_yet_due_waits)
{
	const Pbx__V1__RouteDecision *d;
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
			      "pending_at_ms 4102444800000",
			      key);
	cr_assert_not_null(r);
	freeReplyObject(r);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);

	d = router_harness_call_new(&h, "c-day", CALLER, NUMBER);
	cr_assert_not_null(d);
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA);
}

Test(route_call, unparsable_scenario_is_503)
{
	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main",
					      "{\"start\":"),
		     0);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);

	assert_reject(router_harness_call_new(&h, "c-1", CALLER, NUMBER), 503,
		      "Service Unavailable");
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

	/* Another INVITE transaction (a loop), not the same one again. */
	h.tlabel = 23;
	assert_reject(router_harness_call_new(&h, "c-dup", CALLER, NUMBER),
		      482, "Loop Detected");
	/* The live call's state is untouched. */
	router_harness_call_field(&h, "c-dup", "rev", rev, sizeof(rev));
	cr_assert_str_eq(rev, "1");
}

/* Kamailio asks again through another edge-bridge when the first died
 * before answering: the same transaction gets the same decision. */
Test(route_call, same_transaction_asked_again_gets_the_same_decision)
{
	const Pbx__V1__RouteDecision *d;
	char rev[16], tx[32];

	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main",
					      greeting_json),
		     0);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);
	d = router_harness_call_new(&h, "c-again", CALLER, NUMBER);
	cr_assert_not_null(d);
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA);
	router_harness_call_field(&h, "c-again", "tx", tx, sizeof(tx));
	cr_expect_str_eq(tx, "11:22");

	d = router_harness_call_new(&h, "c-again", CALLER, NUMBER);
	cr_assert_not_null(d);
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA);
	cr_expect_str_eq(d->worker_id, HARNESS_WORKER);
	cr_expect_eq(d->tlabel, 22);
	router_harness_call_field(&h, "c-again", "rev", rev, sizeof(rev));
	cr_expect_str_eq(rev, "1");
}

Test(route_call, extensions_are_dialled_only_from_their_own_tenant)
{
	char key[PBX_KEY_MAX];
	redisReply *r;

	cr_assert_eq(router_harness_seed_tenant(&h), 0);
	cr_assert_eq(pbx_key(key, sizeof(key), HARNESS_TENANT, "exts"), 0);
	r = redis_fixture_cmd(&h.rf, "SADD %s 101", key);
	cr_assert_not_null(r);
	freeReplyObject(r);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);

	/* From a carrier, naming the tenant: not an extension call. */
	{
		Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
		Pbx__V1__CallNew cn = PBX__V1__CALL_NEW__INIT;
		size_t n = fake_peer_count(h.edge);

		cn.edge_id = "edge-test";
		cn.tindex = 11;
		cn.tlabel = 22;
		cn.from_user = CALLER;
		cn.to_user = "101";
		cn.source = "trunk";
		cn.caller_tenant = HARNESS_TENANT;
		env.call_id = "c-trunk";
		env.body_case = PBX__V1__ENVELOPE__BODY_CALL_NEW;
		env.call_new = &cn;
		cr_assert_eq(fake_peer_send(h.edge, &env, 2000), 0);
		cr_assert_eq(fake_peer_wait(h.edge, n + 1, 3000), n + 1);
		assert_reject(fake_peer_msg(h.edge, n)->route_decision, 404,
			      "Not Found");
	}
	/* From an extension of another tenant. */
	assert_reject(router_harness_call_new_ext(&h, "c-evil", "100", "101",
						  "evil"),
		      404, "Not Found");
	/* The reserved "sys" is no tenant. */
	assert_reject(router_harness_call_new_ext(&h, "c-sys", "100", "101",
						  "sys"),
		      404, "Not Found");
	assert_untouched();
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

/* did_cache_ms: the number's tenant (pbx:{sys}:did:<n>) is read once,
 * then remembered; after the window the index is read again. */
static unsigned did_reads;
static void count_did(const char *fmt, const char *key)
{
	if (!strncmp(fmt, "GET", 3) && strstr(key, "}:did:"))
		did_reads++;
}

Test(route_call, a_numbers_tenant_is_remembered_for_did_cache_ms)
{
	const uint64_t t0 = 1780000000000ULL;
	const Pbx__V1__RouteDecision *d;

	cr_assert_eq(did_cache_alloc(&h.rt->dids, 64, 2000), 0);
	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main",
					      greeting_json),
		     0);
	pbx_clock_fake(t0);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);
	did_reads = 0;
	before_cmd = count_did;
	for (int i = 0; i < 3; i++) {
		char id[8];

		snprintf(id, sizeof(id), "c-%d", i);
		pbx_clock_fake(t0 + (uint64_t)i * 999);
		d = router_harness_call_new(&h, id, CALLER, NUMBER);
		cr_assert_not_null(d);
		cr_assert_eq(d->action,
			     PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA);
	}
	cr_assert_eq(did_reads, 1, "%u reads of the number index", did_reads);
	pbx_clock_fake(t0 + 2000);
	d = router_harness_call_new(&h, "c-3", CALLER, NUMBER);
	cr_assert_not_null(d);
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA);
	cr_assert_eq(did_reads, 2, "read again after the window");
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

static void drain_mark(bool set)
{
	redisReply *r =
		set ? redis_fixture_cmd(&h.rf, "HSET pbx:{sys}:worker:drain "
					       "%s wait",
					HARNESS_WORKER)
		    : redis_fixture_cmd(&h.rf, "HDEL pbx:{sys}:worker:drain "
					       "%s",
					HARNESS_WORKER);

	cr_assert_not_null(r);
	cr_assert_neq(r->type, REDIS_REPLY_ERROR, "%s", r->str);
	freeReplyObject(r);
}

/* pbxctl worker drain: the mark in Redis holds on its own (a router
 * restarted while the worker has not yet read it, or a heartbeat that
 * still says "not draining"), and undrain lifts it. */
Test(route_call, operator_drain_mark_holds_whatever_the_heartbeat_says)
{
	const Pbx__V1__RouteDecision *d;

	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main",
					      greeting_json),
		     0);
	drain_mark(true);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);
	router_harness_settle(&h, 700); /* the registry refresh ran */
	assert_reject(router_harness_call_new(&h, "c-1", CALLER, NUMBER), 503,
		      "No Media Worker");
	/* A newer heartbeat that does not say draining changes nothing. */
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);
	assert_reject(router_harness_call_new(&h, "c-2", CALLER, NUMBER), 503,
		      "No Media Worker");

	drain_mark(false);
	router_harness_settle(&h, 700);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);
	d = router_harness_call_new(&h, "c-3", CALLER, NUMBER);
	cr_assert_not_null(d);
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA,
		     "undrained: placed again");
}

Test(route_call, full_worker_gets_no_calls)
{
	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main",
					      greeting_json),
		     0);
	/* Full by its own report. (Full by this router's placements since
	 * the heartbeat is placements_count_until_the_next_heartbeat: it
	 * races the registry refresh today.) */
	cr_assert_eq(router_harness_heartbeat(&h, 2, 2, false), 0);

	assert_reject(router_harness_call_new(&h, "c-1", CALLER, NUMBER), 503,
		      "No Media Worker");
	assert_untouched();
}

/* Was a bug, fixed (workers.c upsert(), line ~83, "if (cur->seen_ms <= wi->seen_ms)"):
 * the 500 ms refresh re-reads the same heartbeat from Redis (same
 * seen_ms) and, "<=" being true for equal times, overwrites the entry,
 * resetting `load` to the heartbeat's and forgetting the placements this
 * router counted since (workers.h: "counts the placement so calls in a
 * burst spread before the next heartbeat"). A worker with one free slot
 * takes a call, is full, and half a second later, with no new heartbeat,
 * takes another one beyond its capacity. Fix: replace only on a newer
 * report ("<"), or keep the local count when seen_ms is unchanged. */
Test(route_call, placements_count_until_the_next_heartbeat)
{
	const Pbx__V1__RouteDecision *d;

	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main",
					      greeting_json),
		     0);
	cr_assert_eq(router_harness_heartbeat(&h, 2, 1, false), 0);
	d = router_harness_call_new(&h, "c-1", CALLER, NUMBER);
	cr_assert_not_null(d);
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA);

	/* The registry refresh (every 500 ms) runs; no new heartbeat. */
	router_harness_settle(&h, 700);
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

Test(route_call, call_without_a_usable_call_id_is_400)
{
	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main",
					      greeting_json),
		     0);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);

	char longid[300];

	assert_reject(router_harness_call_new(&h, "", CALLER, NUMBER), 400,
		      "Bad Call-ID");
	/* Longer than the router keeps: never truncated into another's. */
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	assert_reject(router_harness_call_new(&h, longid, CALLER, NUMBER), 400,
		      "Bad Call-ID");
	assert_untouched();
}

static void put_schedule(const char *json)
{
	char key[PBX_KEY_MAX];
	redisReply *r;

	/* As provisioning's object put: the object, then the revision. */
	cr_assert_eq(pbx_key(key, sizeof(key), HARNESS_TENANT, "objects"), 0);
	r = redis_fixture_cmd(&h.rf, "HSET %s schedule:office %s", key, json);
	cr_assert(r && r->type == REDIS_REPLY_INTEGER);
	freeReplyObject(r);
	cr_assert_eq(pbx_key(key, sizeof(key), HARNESS_TENANT, "objects_rev"),
		     0);
	r = redis_fixture_cmd(&h.rf, "INCR %s", key);
	cr_assert(r && r->type == REDIS_REPLY_INTEGER);
	freeReplyObject(r);
}

Test(route_call, object_change_applies_to_the_next_call)
{
	const Pbx__V1__RouteDecision *d;

	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main", hours_json),
		     0);
	put_schedule("{\"timezone\":\"UTC\",\"override\":\"open\"}");
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);
	d = router_harness_call_new(&h, "c-1", CALLER, NUMBER);
	cr_assert_not_null(d);
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA,
		     "open: action %d (%u %s)", d->action, d->sip_code,
		     d->reason);

	/* Night switch: the cached objects of the old revision are not
	 * used. */
	put_schedule("{\"timezone\":\"UTC\",\"override\":\"closed\"}");
	assert_reject(router_harness_call_new(&h, "c-2", CALLER, NUMBER), 403,
		      "Closed");
}

static void kill_redis_at_objects_load(const char *fmt, const char *key)
{
	size_t n = strlen(key), m = strlen(":objects");

	if (!strncmp(fmt, "HGETALL", 7) && n > m &&
	    !strcmp(key + n - m, ":objects"))
		redis_fixture_stop(&h.rf);
}

/* Was a bug, fixed (route_call.c decide(), route_ctx.c got_objects()): when the tenant
 * objects cannot be loaded (reply lost with Redis, or an error reply),
 * got_objects() sets c->err and leaves c->objs NULL, but decide() checks
 * only c->sc: the first step is walked without the tenant's objects, so a
 * schedule reads as closed and a list as not_in_list. Here an open office
 * answers 403 "Closed" instead of 503 "Service Unavailable" (docs: "Redis
 * down -> 503"). route_media.c step() has the same gap (a later node is
 * walked without objects; the save that follows usually fails too). */
Test(route_call, objects_lost_with_redis_is_503_not_a_closed_schedule)
{
	const Pbx__V1__RouteDecision *d;

	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main", hours_json),
		     0);
	put_schedule("{\"timezone\":\"UTC\",\"override\":\"open\"}");
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);
	/* Caches the scenario. */
	d = router_harness_call_new(&h, "c-1", CALLER, NUMBER);
	cr_assert_not_null(d);
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA);

	/* An object changes; Redis dies as the router loads the new set. */
	put_schedule("{\"timezone\":\"UTC\",\"override\":\"open\"}");
	before_cmd = kill_redis_at_objects_load;
	assert_reject(router_harness_call_new(&h, "c-2", CALLER, NUMBER), 503,
		      "Service Unavailable");
}

Test(route_call, router_freed_with_a_lookup_in_flight_frees_it)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__CallNew cn = PBX__V1__CALL_NEW__INIT;

	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main",
					      greeting_json),
		     0);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);
	cr_assert_eq(kill(h.rf.pid, SIGSTOP), 0);
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
	router_harness_settle(&h, 150);
	cr_assert_eq(fake_peer_count(h.edge), 0);

	/* Shutdown runs the waiting chain with no reply; it must free itself
	 * and its pins without touching freed memory (ASan, and the leak
	 * check in .fini). Whether its 503 reaches the edge is racy: see
	 * route_media::router_freed_with_a_step_in_flight_still_hangs_up. */
	router_free(h.rt);
	h.rt = NULL;
	router_harness_settle(&h, 50);
}

Test(route_call, router_picks_redis_up_again_after_a_restart)
{
	const Pbx__V1__RouteDecision *d;

	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main",
					      greeting_json),
		     0);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);
	redis_fixture_stop(&h.rf);
	for (int i = 0; i < 100 && pbx_redis_ctx(h.rt->redis); i++)
		router_harness_settle(&h, 10);
	assert_reject(router_harness_call_new(&h, "c-1", CALLER, NUMBER), 503,
		      "Service Unavailable");

	/* A new server on the same address (empty: no persistence). */
	cr_assert_eq(redis_fixture_restart(&h.rf), 0);
	for (int i = 0; i < 150 && !pbx_redis_ctx(h.rt->redis); i++)
		router_harness_settle(&h, 10);
	cr_assert_not_null(pbx_redis_ctx(h.rt->redis), "no reconnect");
	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main",
					      greeting_json),
		     0);
	d = router_harness_call_new(&h, "c-2", CALLER, NUMBER);
	cr_assert_not_null(d);
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA,
		     "action %d (%u %s)", d->action, d->sip_code, d->reason);
}

Test(route_call, messages_on_the_wrong_socket_are_dropped)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__MediaEvent me = PBX__V1__MEDIA_EVENT__INIT;
	Pbx__V1__CallNew cn = PBX__V1__CALL_NEW__INIT;
	const Pbx__V1__RouteDecision *d;

	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main",
					      greeting_json),
		     0);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);
	/* A worker event on the edge socket... */
	me.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_HANGUP;
	env.tenant_id = HARNESS_TENANT;
	env.call_id = "c-x";
	env.body_case = PBX__V1__ENVELOPE__BODY_MEDIA_EVENT;
	env.media_event = &me;
	cr_assert_eq(fake_peer_send(h.edge, &env, 2000), 0);
	/* ...and a new call on the worker socket. */
	cn.to_user = NUMBER;
	env.body_case = PBX__V1__ENVELOPE__BODY_CALL_NEW;
	env.call_new = &cn;
	cr_assert_eq(fake_peer_send(h.worker, &env, 2000), 0);
	router_harness_settle(&h, 100);
	cr_assert_eq(fake_peer_count(h.edge), 0);
	cr_assert_eq(fake_peer_count(h.worker), 0);

	/* The router is none the worse. */
	d = router_harness_call_new(&h, "c-1", CALLER, NUMBER);
	cr_assert_not_null(d);
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA);
}

/* ---- per-tenant limits (pbx_limits.h) ----------------------------------- */

static void set_tenant_field(const char *field, const char *value)
{
	char key[PBX_KEY_MAX];
	redisReply *r;

	cr_assert_eq(pbx_key(key, sizeof(key), HARNESS_TENANT, "tenant"), 0);
	r = redis_fixture_cmd(&h.rf, "HSET %s %s %s", key, field, value);
	cr_assert_not_null(r);
	freeReplyObject(r);
}

static void assert_media(const Pbx__V1__RouteDecision *d)
{
	cr_assert_not_null(d, "no RouteDecision within 3 s");
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA,
		     "action %d (%u %s)", d->action, d->sip_code, d->reason);
}

Test(route_call, concurrent_call_limit_refuses_busy_until_a_call_ends)
{
	struct harness_event hup = {
		.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_HANGUP};

	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main",
					      greeting_json),
		     0);
	set_tenant_field(PBX_LIMIT_CALLS_FIELD, "2");
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);

	assert_media(router_harness_call_new(&h, "c-1", CALLER, NUMBER));
	assert_media(router_harness_call_new(&h, "c-2", CALLER, NUMBER));
	assert_reject(router_harness_call_new(&h, "c-3", CALLER, NUMBER), 486,
		      "Busy Here (Call Limit)");
	cr_assert_eq(router_harness_event(&h, "c-1", &hup), 0);
	cr_assert_eq(router_harness_barrier(&h, 4), 0);
	assert_media(router_harness_call_new(&h, "c-4", CALLER, NUMBER));
}

Test(route_call, calls_per_second_limit_answers_503)
{
	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main",
					      greeting_json),
		     0);
	set_tenant_field(PBX_LIMIT_CPS_FIELD, "0");
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);
	assert_reject(router_harness_call_new(&h, "c-1", CALLER, NUMBER), 503,
		      "Service Unavailable (Rate Limit)");
	assert_untouched();
}

Test(route_call, a_refused_call_does_not_count_against_the_limit)
{
	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main", busy_json),
		     0);
	set_tenant_field(PBX_LIMIT_CALLS_FIELD, "1");
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);
	/* Hung up at once by the scenario: never counted. */
	for (int i = 0; i < 3; i++)
		assert_reject(router_harness_call_new(&h, i == 0   ? "c-1"
							  : i == 1 ? "c-2"
								   : "c-3",
						      CALLER, NUMBER),
			      486, "Busy Here");
}
