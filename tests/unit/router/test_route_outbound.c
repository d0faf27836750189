/* Outbound calls of extensions through a real router in-process
 * (route_outbound.c and its callers in route_call.c, route_ctx.c,
 * route_limits.c): a fake edge sends CallNew from an extension to an
 * outside number, a fake worker gets what the router sends, the tenant's
 * policy and counters are in a real redis-server under the keys
 * provisioning and the router write. Asserts the SIP answer of every
 * refusal (class, permission, caller ID, limits), that a refused call
 * leaves nothing behind, and that an allowed one rings the number in
 * E.164 as the tenant's number once the worker reports INCOMING. */
#include <criterion/criterion.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_test.h"
#include "route_ctx.h"
#include "router_harness.h"
#include "scenario.h"

#define EXT "101"
#define OWN "74951230000"     /* the tenant's number */
#define FOREIGN "74957770000" /* another tenant's */

static struct router_harness h;

static void redis_ok(redisReply *r)
{
	cr_assert(r && r->type != REDIS_REPLY_ERROR);
	freeReplyObject(r);
}

/* HSET pbx:{t}:outbound field value (as provisioning writes it). */
static void policy(const char *field, const char *value)
{
	char key[PBX_KEY_MAX];

	cr_assert_eq(pbx_key_of(key, sizeof(key), HARNESS_TENANT,
				PBX_K_OUTBOUND),
		     0);
	redis_ok(redis_fixture_cmd(&h.rf, "HSET %s %s %s", key, field, value));
}

static void setup(void)
{
	char key[PBX_KEY_MAX];

	cr_assert_eq(router_harness_start(&h), 0, "router harness");
	cr_assert_eq(router_harness_seed_tenant(&h), 0);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);
	cr_assert_eq(pbx_key(key, sizeof(key), HARNESS_TENANT, "exts"), 0);
	redis_ok(redis_fixture_cmd(&h.rf, "SADD %s " EXT " 102", key));
	redis_ok(redis_fixture_cmd(&h.rf, "SET pbx:{sys}:did:" OWN " %s",
				   HARNESS_TENANT));
	redis_ok(redis_fixture_cmd(&h.rf, "SET pbx:{sys}:did:" FOREIGN
					  " other"));
	policy("caller_id", OWN);
}

static void teardown(void)
{
	router_harness_stop(&h);
	pbx_test_fini();
}

TestSuite(route_outbound, .init = setup, .fini = teardown, .timeout = 10);

static const Pbx__V1__RouteDecision *dial_from(const char *call_id,
					       const char *ext,
					       const char *to)
{
	const Pbx__V1__RouteDecision *d =
		router_harness_call_new_ext(&h, call_id, ext, to,
					    HARNESS_TENANT);

	cr_assert_not_null(d, "no RouteDecision");
	return d;
}

static const Pbx__V1__RouteDecision *dial(const char *call_id,
					  const char *to)
{
	return dial_from(call_id, EXT, to);
}

static void assert_reject(const Pbx__V1__RouteDecision *d, unsigned code,
			  const char *reason)
{
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_REJECT,
		     "action %d", d->action);
	cr_assert_eq(d->sip_code, code, "code %u (%s)", d->sip_code,
		     d->reason);
	cr_assert_str_eq(d->reason, reason);
	/* The edge must never repeat a policy's answer by itself. */
	cr_assert_eq(d->edge_cache_ms, 0);
}

static void assert_media(const Pbx__V1__RouteDecision *d)
{
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA,
		     "action %d (%u %s)", d->action, d->sip_code, d->reason);
}

static long long out_legs(void)
{
	char key[PBX_KEY_MAX];
	redisReply *r;
	long long n;

	cr_assert_eq(pbx_key_of(key, sizeof(key), HARNESS_TENANT,
				PBX_K_OUT_LEGS),
		     0);
	r = redis_fixture_cmd(&h.rf, "ZCARD %s", key);
	cr_assert(r && r->type == REDIS_REPLY_INTEGER);
	n = r->integer;
	freeReplyObject(r);
	return n;
}

#define KIND(k) PBX__V1__MEDIA_EVENT__KIND__KIND_##k

Test(route_outbound, mobile_call_rings_the_number_as_the_tenant)
{
	struct harness_event inc = {.kind = KIND(INCOMING)};
	const Pbx__V1__Envelope *env;
	const Pbx__V1__MediaCommand__Ring *rg = NULL;
	char scen[80];

	assert_media(dial("c-1", "8 (916) 123-45-67"));
	cr_assert_eq(router_harness_call_field(&h, "c-1", "scenario", scen,
					       sizeof(scen)),
		     0);
	cr_assert_str_eq(scen, "@out:79161234567:" OWN);
	cr_assert_eq(out_legs(), 1);
	cr_assert_eq(router_harness_event(&h, "c-1", &inc), 0);
	for (size_t i = 1; i <= 3 && !rg; i++) {
		if (fake_peer_wait(h.worker, i, 2000) < i)
			break;
		env = fake_peer_msg(h.worker, i - 1);
		if (env->body_case == PBX__V1__ENVELOPE__BODY_MEDIA_COMMAND &&
		    env->media_command->cmd_case ==
			    PBX__V1__MEDIA_COMMAND__CMD_RING)
			rg = env->media_command->ring;
	}
	cr_assert_not_null(rg, "no Ring command");
	cr_assert(strstr(rg->target_uri, "sip:+79161234567@") == rg->target_uri,
		  "%s", rg->target_uri);
	cr_assert_str_eq(rg->dest_kind, "mobile");
	cr_assert_str_eq(rg->caller_id, "+" OWN);
}

Test(route_outbound, international_only_when_the_tenant_allows_it)
{
	assert_reject(dial("c-1", "810442079460958"), 403,
		      "Forbidden (international calls not allowed)");
	cr_assert_eq(router_harness_call_count(&h), 0);
	cr_assert_eq(out_legs(), 0);
	policy("international", "1");
	assert_media(dial("c-2", "+44 20 7946 0958"));
}

Test(route_outbound, short_emergency_and_invalid_numbers)
{
	assert_reject(dial("c-1", "105"), 404, "Not Found");
	assert_reject(dial("c-2", "112"), 403,
		      "Forbidden (emergency calls not routed)");
	assert_reject(dial("c-3", "+7 (123) 456-78-90"), 484,
		      "Address Incomplete (not a valid number)");
	/* Routed emergency calls ignore the permission and the limits. */
	policy("emergency", "1");
	policy("ext:" EXT ":outbound", "0");
	policy("cpm", "0");
	assert_media(dial("c-4", "112"));
	cr_assert_eq(out_legs(), 0);
}

Test(route_outbound, extension_without_permission_is_refused)
{
	policy("ext:102:outbound", "0");
	assert_reject(dial_from("c-1", "102", "89161234567"), 403,
		      "Forbidden (outbound calls not allowed for this "
		      "extension)");
	assert_media(dial_from("c-2", EXT, "89161234567"));
}

Test(route_outbound, caller_id_must_be_the_tenants_at_call_time)
{
	char scen[80];

	policy("caller_id", FOREIGN);
	assert_reject(dial("c-1", "84951112233"), 403,
		      "Forbidden (caller ID is not the tenant's number)");
	/* The extension's own number wins over the tenant's. */
	policy("caller_id", "");
	assert_reject(dial("c-2", "84951112233"), 403,
		      "Forbidden (no outbound caller ID set)");
	policy("ext:" EXT ":caller_id", OWN);
	assert_media(dial("c-3", "84951112233"));
	cr_assert_eq(router_harness_call_field(&h, "c-3", "scenario", scen,
					       sizeof(scen)),
		     0);
	cr_assert_str_eq(scen, "@out:74951112233:" OWN);
}

Test(route_outbound, leg_limit_refuses_busy_until_a_call_ends)
{
	struct harness_event hup = {.kind = KIND(HANGUP)};

	policy("max_legs", "1");
	assert_media(dial("c-1", "89161234567"));
	assert_reject(dial("c-2", "89161234568"), 486,
		      "Busy Here (Outbound Call Limit)");
	cr_assert_eq(router_harness_event(&h, "c-1", &hup), 0);
	cr_assert(router_harness_call_gone(&h, "c-1", 2000));
	cr_assert_eq(router_harness_barrier(&h, 4), 0);
	cr_assert_eq(out_legs(), 0);
	assert_media(dial("c-3", "89161234568"));
}

Test(route_outbound, calls_per_minute_limit_answers_503)
{
	policy("cpm", "1");
	assert_media(dial("c-1", "89161234567"));
	/* Unless the minute turned in between: then the new minute's
	 * first call passes, and the next one must not. */
	if (dial("c-2", "89161234568")->action ==
	    PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA)
		assert_reject(dial("c-3", "89161234569"), 503,
			      "Service Unavailable (Outbound Rate Limit)");
	else
		assert_reject(fake_peer_msg(h.edge, fake_peer_count(h.edge) -
							    1)
				      ->route_decision,
			      503, "Service Unavailable (Outbound Rate Limit)");
	/* The refused call is not up. */
	cr_assert_leq(out_legs(), 2);
}

Test(route_outbound, extensions_and_connected_numbers_are_not_outbound)
{
	char scen[80];

	/* Another extension of the tenant: an internal call. */
	assert_media(dial("c-1", "102"));
	cr_assert_eq(router_harness_call_field(&h, "c-1", "scenario", scen,
					       sizeof(scen)),
		     0);
	cr_assert_str_eq(scen, "@ext:102");
	cr_assert_eq(out_legs(), 0);
	/* A number connected on the platform runs its scenario, however
	 * it is dialled (on-net; here it has none: 404 as before). */
	policy("national", "0");
	assert_reject(dial("c-2", "8 (495) 777-00-00"), 404, "Not Found");
}

Test(route_outbound_json, builds_a_scenario_that_parses)
{
	char json[384];
	struct scenario *sc = NULL;
	struct scenario_report rep;

	cr_assert_eq(route_outbound_json("@out:79161234567:" OWN, json,
					 sizeof(json)),
		     0);
	cr_assert(strstr(json, "\"target\":\"+79161234567\""), "%s", json);
	cr_assert(strstr(json, "\"kind\":\"mobile\""), "%s", json);
	cr_assert(strstr(json, "\"caller_id\":\"+" OWN "\""), "%s", json);
	cr_assert_eq(scenario_parse(&sc, json, NULL, NULL, &rep), 0, "%s",
		     rep.text);
	scenario_free(sc);
	cr_assert_eq(route_outbound_json("@out:112:" OWN, json, sizeof(json)),
		     0);
	cr_assert(strstr(json, "\"target\":\"112\""), "%s", json);
	cr_assert(strstr(json, "\"kind\":\"external\""), "%s", json);
	/* Only what go() makes. */
	cr_assert_lt(route_outbound_json("@out:7916\"x:" OWN, json,
					 sizeof(json)),
		     0);
	cr_assert_lt(route_outbound_json("@out:79161234567", json,
					 sizeof(json)),
		     0);
}

/* A queue's call-back: the caller's number through the trunk, 30 s, the
 * number it dialled shown; a failure hangs up (the agent). */
Test(route_callback_json, builds_a_scenario_that_parses)
{
	char json[384];
	struct scenario *sc = NULL;
	struct scenario_report rep;

	cr_assert_eq(route_callback_json("@cb:79161234567:" OWN, json,
					 sizeof(json)),
		     0);
	cr_assert(strstr(json, "\"target\":\"+79161234567\""), "%s", json);
	cr_assert(strstr(json, "\"kind\":\"mobile\""), "%s", json);
	cr_assert(strstr(json, "\"caller_id\":\"+" OWN "\""), "%s", json);
	cr_assert(strstr(json, "\"timeout\":30"), "%s", json);
	cr_assert_eq(scenario_parse(&sc, json, NULL, NULL, &rep), 0, "%s",
		     rep.text);
	scenario_free(sc);
	/* No number to show: the caller's own stays. */
	cr_assert_eq(route_callback_json("@cb:74951234567:", json,
					 sizeof(json)),
		     0);
	cr_assert_null(strstr(json, "caller_id"), "%s", json);
	cr_assert(strstr(json, "\"kind\":\"external\""), "%s", json);
	cr_assert_eq(scenario_parse(&sc, json, NULL, NULL, &rep), 0, "%s",
		     rep.text);
	scenario_free(sc);
	cr_assert_lt(route_callback_json("@cb:7916\"x:" OWN, json,
					 sizeof(json)),
		     0);
	cr_assert_lt(route_callback_json("@cb:79161234567", json,
					 sizeof(json)),
		     0);
}
