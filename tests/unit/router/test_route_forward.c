/* Call forwarding through a real router in-process (route_forward.c and
 * its callers in route_call.c, route_ctx.c, route_outbound.c): a fake
 * edge sends CallNew from extension 101 to a colleague, a fake worker
 * gets what the router sends, the extensions' settings are in a real
 * redis-server under the fields provisioning and the feature codes
 * write. Asserts the scenario each setting gives the call, the Ring
 * commands a busy forward sends (the extension with its timeout, then
 * the target), loops refused with 482, outside targets under the
 * outbound policy; the built-in scenario's JSON parses. */
#include <criterion/criterion.h>
#include <string.h>

#include "pbx_keys.h"
#include "pbx_test.h"
#include "route_ctx.h"
#include "router_harness.h"
#include "scenario.h"

#define OWN "74951230000" /* the tenant's number */

static struct router_harness h;

/* An extension's setting (or the policy's field), as provisioning and
 * the feature codes write it. */
static void setting(const char *field, const char *value)
{
	cr_assert_eq(router_harness_seed_outbound(&h, field, value), 0);
}

static void setup(void)
{
	static const char *const exts[] = {"101", "102", "103", "104"};

	cr_assert_eq(router_harness_start(&h), 0, "router harness");
	cr_assert_eq(router_harness_seed_tenant(&h), 0);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);
	for (size_t i = 0; i < sizeof(exts) / sizeof(*exts); i++)
		cr_assert_eq(router_harness_seed_ext(&h, exts[i]), 0);
	/* The tenant's number, its caller ID. */
	cr_assert(redis_fixture_ok(redis_fixture_cmd(
			  &h.rf, "SET pbx:{sys}:did:" OWN " %s",
			  HARNESS_TENANT)) == 0);
	setting("caller_id", OWN);
}

static void teardown(void)
{
	router_harness_stop(&h);
	pbx_test_fini();
}

TestSuite(route_forward, .init = setup, .fini = teardown, .timeout = 10);

#define KIND(k) PBX__V1__MEDIA_EVENT__KIND__KIND_##k

/* 101 dials to; the decision. */
static const Pbx__V1__RouteDecision *dial(const char *call_id, const char *to)
{
	const Pbx__V1__RouteDecision *d = router_harness_call_new_ext(
		&h, call_id, "101", to, HARNESS_TENANT);

	cr_assert_not_null(d, "no RouteDecision");
	return d;
}

/* 101 dials to: placed, with scenario want. */
static void placed_as(const char *call_id, const char *to, const char *want)
{
	const Pbx__V1__RouteDecision *d = dial(call_id, to);
	char scen[96];

	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA,
		     "action %d (%u %s)", d->action, d->sip_code, d->reason);
	cr_assert_eq(router_harness_call_field(&h, call_id, "scenario", scen,
					       sizeof(scen)),
		     0);
	cr_assert_str_eq(scen, want);
}

/* The n-th command the worker got is a Ring; returns it. */
static const Pbx__V1__MediaCommand__Ring *ring_cmd(size_t n)
{
	const Pbx__V1__Envelope *env;

	cr_assert_geq(fake_peer_wait(h.worker, n, 2000), n, "no command %zu",
		      n);
	env = fake_peer_msg(h.worker, n - 1);
	cr_assert_eq(env->body_case, PBX__V1__ENVELOPE__BODY_MEDIA_COMMAND);
	cr_assert_eq(env->media_command->cmd_case,
		     PBX__V1__MEDIA_COMMAND__CMD_RING, "case %d",
		     env->media_command->cmd_case);
	return env->media_command->ring;
}

Test(route_forward, no_forwarding_rings_the_extension)
{
	placed_as("c-1", "102", "@ext:102");
}

Test(route_forward, busy_rings_the_target_after_the_extension)
{
	struct harness_event ev = {.kind = KIND(INCOMING)};
	const Pbx__V1__MediaCommand__Ring *rg;

	setting("ext:102:fwd_busy", "103");
	setting("ext:102:fwd_noanswer", "104");
	setting("ext:102:fwd_timeout", "7");
	placed_as("c-1", "102", "@fwd:102:7:103:104");
	cr_assert_eq(router_harness_event(&h, "c-1", &ev), 0);
	rg = ring_cmd(1);
	cr_assert(strstr(rg->target_uri, "sip:102@") == rg->target_uri, "%s",
		  rg->target_uri);
	cr_assert_eq(rg->timeout_ms, 7000);
	ev.kind = KIND(RING_RESULT);
	ev.ring = PBX__V1__MEDIA_EVENT__RING_RESULT__RING_BUSY;
	ev.seq = 0;
	cr_assert_eq(router_harness_event(&h, "c-1", &ev), 0);
	rg = ring_cmd(2);
	cr_assert(strstr(rg->target_uri, "sip:103@") == rg->target_uri, "%s",
		  rg->target_uri);
	cr_assert_str_eq(rg->dest_kind, "extension");
	/* The colleague sees the original caller. */
	cr_assert_str_eq(rg->caller_id, "101");
}

Test(route_forward, always_is_followed_to_the_last_extension)
{
	setting("ext:102:fwd_always", "103");
	setting("ext:103:fwd_always", "104");
	placed_as("c-1", "102", "@ext:104");
}

Test(route_forward, a_loop_is_refused_with_482)
{
	const Pbx__V1__RouteDecision *d;

	setting("ext:102:fwd_always", "103");
	setting("ext:103:fwd_always", "102");
	d = dial("c-1", "102");
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_REJECT);
	cr_assert_eq(d->sip_code, 482);
	cr_assert_str_eq(d->reason, "Loop Detected (call forwarding)");
	cr_assert_eq(router_harness_call_count(&h), 0);
}

Test(route_forward, always_outside_is_an_outbound_call_of_the_extension)
{
	const Pbx__V1__RouteDecision *d;

	setting("ext:102:fwd_always", "79161234567");
	placed_as("c-1", "102", "@out:79161234567:" OWN);
	/* Its permission is the forwarding extension's. */
	setting("ext:102:outbound", "0");
	d = dial("c-2", "102");
	cr_assert_eq(d->sip_code, 403);
	cr_assert_str_eq(d->reason, "Forbidden (outbound calls not allowed "
				    "for this extension)");
}

Test(route_forward, outside_no_answer_target_under_the_policy)
{
	setting("ext:102:fwd_noanswer", "79161234567");
	placed_as("c-1", "102", "@out:fwd:102:20::+79161234567:" OWN);
	/* International is off by default: that target is dropped, the
	 * extension rings alone. */
	setting("ext:103:fwd_busy", "442079460958");
	placed_as("c-2", "103", "@ext:103");
}

Test(route_forward_json, both_forms_parse)
{
	static const char *const names[] = {
		"@fwd:102:7:103:104",
		"@fwd:102:0:103:",
		"@fwd:102:20::104",
		"@out:fwd:102:20::+79161234567:" OWN,
		"@out:fwd:102:20:+442079460958:103:" OWN,
	};
	char json[768];

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		struct scenario *sc = NULL;

		cr_assert_eq(route_forward_json(names[i], json, sizeof(json)),
			     0, "%s", names[i]);
		cr_assert_eq(scenario_parse(&sc, json, NULL, NULL, NULL), 0,
			     "%s: %s", names[i], json);
		scenario_free(sc);
	}
	/* An outside target without a caller ID, a bad id: refused. */
	cr_assert_neq(route_forward_json("@fwd:102:7:+79161234567:", json,
					 sizeof(json)),
		      0);
	cr_assert_neq(route_forward_json("@fwd:1\"2:7::", json, sizeof(json)),
		      0);
}
