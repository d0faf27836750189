/* Call pickup through a real router in-process (route_pickup.c and its
 * callers: route_exec.c notes an extension's ring, route_feature.c takes
 * "*8", route_call.c places the picker on the ringing call's worker,
 * route_media.c forgets the note): a fake edge sends the CallNews, the
 * fake worker reports INCOMING and ring results and gets the commands,
 * the notes are in a real redis-server. Asserts who may take which call
 * (the group, the tenant, a directed pickup), that of two pickers one
 * wins and the other gets 404, that a ring answered meanwhile cannot be
 * picked up, and the call record's answer by the picker. */
#include <criterion/criterion.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_test.h"
#include "route_ctx.h"
#include "router_harness.h"

static struct router_harness h;

#define KIND(k) PBX__V1__MEDIA_EVENT__KIND__KIND_##k
#define OTHER "other-co"

static void group(const char *tenant, const char *ext, const char *g)
{
	char key[PBX_KEY_MAX];

	cr_assert_eq(pbx_key_of(key, sizeof(key), tenant, PBX_K_OUTBOUND), 0);
	cr_assert_eq(redis_fixture_ok(redis_fixture_cmd(
			     &h.rf, "HSET %s ext:%s:pickup_group %s", key, ext,
			     g)),
		     0);
}

static void setup(void)
{
	cr_assert_eq(router_harness_start(&h), 0, "router harness");
	cr_assert_eq(router_harness_seed_tenant(&h), 0);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);
	for (int e = 201; e <= 206; e++) {
		char ext[8];

		snprintf(ext, sizeof(ext), "%d", e);
		cr_assert_eq(router_harness_seed_ext(&h, ext), 0);
	}
	group(HARNESS_TENANT, "201", "sales");
	group(HARNESS_TENANT, "202", "sales");
	group(HARNESS_TENANT, "203", "sales");
	group(HARNESS_TENANT, "204", "support");
	/* Another tenant with a group of the same name. */
	group(OTHER, "202", "sales");
}

static void teardown(void)
{
	router_harness_stop(&h);
	pbx_test_fini();
}

TestSuite(route_pickup, .init = setup, .fini = teardown, .timeout = 15);

static void event(const char *call_id, const struct harness_event *ev)
{
	cr_assert_eq(router_harness_event(&h, call_id, ev), 0);
}

/* The first command of kind `k` for call_id among the worker's first
 * `upto` messages (waits for them). */
static const Pbx__V1__MediaCommand *find_cmd(const char *call_id,
					     Pbx__V1__MediaCommand__CmdCase k,
					     size_t upto)
{
	fake_peer_wait(h.worker, upto, 2000);
	for (size_t i = 0; i < fake_peer_count(h.worker); i++) {
		const Pbx__V1__Envelope *env = fake_peer_msg(h.worker, i);

		if (env->body_case == PBX__V1__ENVELOPE__BODY_MEDIA_COMMAND &&
		    !strcmp(env->call_id, call_id) &&
		    env->media_command->cmd_case == k)
			return env->media_command;
	}
	return NULL;
}

/* 206 dials ext; the worker takes it and the router rings ext; returns
 * the Ring's seq. */
static uint64_t ringing(const char *call_id, const char *ext)
{
	struct harness_event ev = {.kind = KIND(INCOMING)};
	const Pbx__V1__RouteDecision *d =
		router_harness_call_new_ext(&h, call_id, "206", ext,
					    HARNESS_TENANT);
	const Pbx__V1__MediaCommand *c;
	size_t n = fake_peer_count(h.worker);

	cr_assert_not_null(d);
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA,
		     "%u %s", d->sip_code, d->reason);
	event(call_id, &ev);
	c = find_cmd(call_id, PBX__V1__MEDIA_COMMAND__CMD_RING, n + 1);
	cr_assert_not_null(c, "no Ring for %s", call_id);
	/* The note is written beside the Ring: let it land. */
	cr_assert_eq(router_harness_barrier(&h, 8), 0);
	return c->seq;
}

static const Pbx__V1__RouteDecision *pick(const char *call_id,
					  const char *ext, const char *tenant,
					  const char *code)
{
	const Pbx__V1__RouteDecision *d =
		router_harness_call_new_ext(&h, call_id, ext, code, tenant);

	cr_assert_not_null(d, "no RouteDecision");
	return d;
}

static void assert_nothing(const Pbx__V1__RouteDecision *d)
{
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_REJECT,
		     "action %d", d->action);
	cr_assert_eq(d->sip_code, 404, "code %u", d->sip_code);
	cr_assert(strstr(d->reason, "nothing to pick up"), "%s", d->reason);
}

/* The picker's call was placed on the ringing call's worker and, at its
 * INCOMING, the worker is told to take `rung`. */
static void takes(const Pbx__V1__RouteDecision *d, const char *call_id,
		  const char *rung, const char *by)
{
	struct harness_event ev = {.kind = KIND(INCOMING)};
	const Pbx__V1__MediaCommand *c;
	size_t n = fake_peer_count(h.worker);

	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA,
		     "%u %s", d->sip_code, d->reason);
	cr_assert_str_eq(d->worker_id, HARNESS_WORKER);
	/* No fallback: anywhere else the ringing call is not. */
	cr_assert_str_eq(d->alt_worker_id, "");
	event(call_id, &ev);
	c = find_cmd(call_id, PBX__V1__MEDIA_COMMAND__CMD_PICKUP, n + 1);
	cr_assert_not_null(c, "no Pickup for %s", call_id);
	cr_assert_str_eq(c->pickup->call, rung);
	cr_assert_str_eq(c->pickup->by, by);
}

static long long notes(void)
{
	char key[PBX_KEY_MAX];
	redisReply *r;
	long long n;

	cr_assert_eq(pbx_key_of(key, sizeof(key), HARNESS_TENANT,
				PBX_K_PICKUP_RING),
		     0);
	r = redis_fixture_cmd(&h.rf, "ZCARD %s", key);
	cr_assert_not_null(r);
	n = r->integer;
	freeReplyObject(r);
	return n;
}

Test(route_pickup, the_groups_oldest_ringing_call_and_only_once)
{
	ringing("ring-1", "201");
	ringing("ring-2", "203");
	cr_assert_eq(notes(), 2);
	/* The oldest first. */
	takes(pick("pk-1", "202", HARNESS_TENANT, "*8"), "pk-1", "ring-1",
	      "202");
	takes(pick("pk-2", "202", HARNESS_TENANT, "%2A8"), "pk-2", "ring-2",
	      "202");
	/* Both taken: a third picker finds nothing. */
	assert_nothing(pick("pk-3", "201", HARNESS_TENANT, "*8"));
	cr_assert_eq(notes(), 0);
}

Test(route_pickup, another_group_or_tenant_or_no_group_gets_404)
{
	ringing("ring-1", "201");
	/* support, another tenant's "sales", no group at all. */
	assert_nothing(pick("pk-1", "204", HARNESS_TENANT, "*8"));
	assert_nothing(pick("pk-2", "202", OTHER, "*8"));
	assert_nothing(pick("pk-3", "205", HARNESS_TENANT, "*8"));
	/* Still there for its own group. */
	takes(pick("pk-4", "203", HARNESS_TENANT, "*8"), "pk-4", "ring-1",
	      "203");
}

Test(route_pickup, a_ringing_extension_never_picks_up_its_own_call)
{
	ringing("ring-1", "201");
	assert_nothing(pick("pk-1", "201", HARNESS_TENANT, "*8"));
}

Test(route_pickup, directed_pickup_takes_that_extension_whatever_the_group)
{
	ringing("ring-1", "201");
	ringing("ring-2", "205"); /* no group: only a directed pickup */
	assert_nothing(pick("pk-1", "204", HARNESS_TENANT, "*8202"));
	takes(pick("pk-2", "204", HARNESS_TENANT, "*8205"), "pk-2", "ring-2",
	      "204");
	/* Another tenant's 201 is no extension of that tenant's. */
	assert_nothing(pick("pk-3", "202", OTHER, "*8201"));
	cr_assert_eq(notes(), 1);
}

Test(route_pickup, two_pickers_at_once_one_wins)
{
	const Pbx__V1__RouteDecision *a, *b;
	char v[16];

	ringing("ring-1", "201");
	a = pick("pk-1", "202", HARNESS_TENANT, "*8");
	b = pick("pk-2", "203", HARNESS_TENANT, "*8");
	cr_assert_eq(a->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA);
	assert_nothing(b);
	cr_assert_eq(router_harness_call_field(&h, "pk-1", "pkc", v,
					       sizeof(v)),
		     0);
	cr_assert_str_eq(v, "ring-1");
}

Test(route_pickup, a_ring_that_ended_is_no_longer_there)
{
	struct harness_event ev = {
		.kind = KIND(RING_RESULT),
		.ring = PBX__V1__MEDIA_EVENT__RING_RESULT__RING_ANSWERED,
	};

	ev.seq = ringing("ring-1", "201");
	/* The colleague answered: the note goes with the ring's result. */
	event("ring-1", &ev);
	cr_assert_eq(router_harness_barrier(&h, 8), 0);
	cr_assert_eq(notes(), 0);
	assert_nothing(pick("pk-1", "202", HARNESS_TENANT, "*8"));
	/* A call that ends while ringing takes its note along. */
	ringing("ring-2", "203");
	cr_assert_eq(notes(), 1);
	ev.kind = KIND(HANGUP);
	event("ring-2", &ev);
	cr_assert(router_harness_call_gone(&h, "ring-2", 2000));
	cr_assert_eq(router_harness_barrier(&h, 8), 0);
	cr_assert_eq(notes(), 0);
}

Test(route_pickup, worker_finds_nothing_the_picker_gets_404)
{
	struct harness_event ev = {.kind = KIND(FAILED)};
	const Pbx__V1__MediaCommand *c;
	size_t n;

	ringing("ring-1", "201");
	takes(pick("pk-1", "202", HARNESS_TENANT, "*8"), "pk-1", "ring-1",
	      "202");
	/* The colleague answered between the claim and the Pickup. */
	n = fake_peer_count(h.worker);
	event("pk-1", &ev);
	c = find_cmd("pk-1", PBX__V1__MEDIA_COMMAND__CMD_HANGUP, n + 1);
	cr_assert_not_null(c);
	cr_assert_eq(c->hangup->sip_code, 404);
}

Test(route_pickup, the_call_record_says_answered_by_the_picker)
{
	struct harness_event ev = {
		.kind = KIND(RING_RESULT),
		.ring = PBX__V1__MEDIA_EVENT__RING_RESULT__RING_ANSWERED,
		.picked_by = "202",
	};
	char v[16];

	ev.seq = ringing("ring-1", "201");
	takes(pick("pk-1", "202", HARNESS_TENANT, "*8"), "pk-1", "ring-1",
	      "202");
	event("ring-1", &ev);
	cr_assert_eq(router_harness_barrier(&h, 8), 0);
	for (int i = 0; i < 100; i++) {
		if (!router_harness_call_field(&h, "ring-1", "who", v,
					       sizeof(v)) &&
		    v[0])
			break;
		router_harness_settle(&h, 10);
	}
	cr_assert_str_eq(v, "202");
}

/* ---- an extension's calls on one worker (PBX_K_EXT_WORKER) ------------- */

static void ext_worker_is(const char *ext, const char *worker)
{
	char key[PBX_KEY_MAX];
	redisReply *rr;

	cr_assert_eq(pbx_key_sub_of(key, sizeof(key), HARNESS_TENANT,
				    PBX_K_EXT_WORKER, ext),
		     0);
	rr = redis_fixture_cmd(&h.rf, "GET %s", key);
	cr_assert_not_null(rr);
	if (worker)
		cr_assert(rr->type == REDIS_REPLY_STRING &&
				  !strcmp(rr->str, worker),
			  "extw:%s is not %s", ext, worker);
	else
		cr_assert_eq(rr->type, REDIS_REPLY_NIL);
	freeReplyObject(rr);
}

/* A second, less loaded-looking worker "mw-two" (5 calls of 10; the
 * harness's own has none, so it is the least loaded). */
static void second_worker(void)
{
	char key[PBX_KEY_MAX], val[128];

	cr_assert_eq(pbx_key_sys(key, sizeof(key), "workers"), 0);
	snprintf(val, sizeof(val), "%llu 5 10 0 sip:10.0.0.8:5080",
		 (unsigned long long)pbx_clock_now_ms());
	cr_assert_eq(redis_fixture_ok(redis_fixture_cmd(
			     &h.rf, "HSET %s mw-two %s", key, val)),
		     0);
	router_harness_settle(&h, 700); /* the registry's refresh */
}

/* An attended transfer joins two calls of the transferor on its worker:
 * so an extension's next call goes where its latest one is (the one it
 * made, or the one that rang it), not to the least loaded worker. */
Test(route_pickup, an_extensions_next_call_goes_beside_its_other_call)
{
	const Pbx__V1__RouteDecision *d;
	char key[PBX_KEY_MAX];

	second_worker();
	/* No call yet: the least loaded; the caller's worker noted. */
	d = pick("x-1", "201", HARNESS_TENANT, "202");
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA);
	cr_assert_str_eq(d->media_uri, HARNESS_WORKER_URI);
	cr_assert_eq(router_harness_barrier(&h, 8), 0);
	ext_worker_is("201", HARNESS_WORKER);
	/* 203's latest call is on mw-two: its next one goes there, though
	 * mw-two is the busier worker. */
	cr_assert_eq(pbx_key_sub_of(key, sizeof(key), HARNESS_TENANT,
				    PBX_K_EXT_WORKER, "203"),
		     0);
	cr_assert_eq(redis_fixture_ok(redis_fixture_cmd(&h.rf, "SET %s mw-two",
							key)),
		     0);
	d = pick("x-2", "203", HARNESS_TENANT, "204");
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA);
	cr_assert_str_eq(d->media_uri, "sip:10.0.0.8:5080");
	/* A worker that is gone is no preference. */
	cr_assert_eq(redis_fixture_ok(redis_fixture_cmd(&h.rf, "SET %s mw-gone",
							key)),
		     0);
	d = pick("x-3", "203", HARNESS_TENANT, "205");
	cr_assert_str_eq(d->media_uri, HARNESS_WORKER_URI);
	cr_assert_eq(router_harness_barrier(&h, 8), 0);
	ext_worker_is("203", HARNESS_WORKER);
	/* A rung extension's latest call is the one that rang it. */
	ringing("x-4", "204");
	ext_worker_is("204", HARNESS_WORKER);
	/* Another tenant's extension of the same name is another key: its
	 * note does not move ours. */
	cr_assert_eq(pbx_key_sub_of(key, sizeof(key), OTHER, PBX_K_EXT_WORKER,
				    "201"),
		     0);
	cr_assert_eq(redis_fixture_ok(redis_fixture_cmd(&h.rf, "SET %s mw-two",
							key)),
		     0);
	d = pick("x-5", "201", HARNESS_TENANT, "205");
	cr_assert_str_eq(d->media_uri, HARNESS_WORKER_URI);
}
