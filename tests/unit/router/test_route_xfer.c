/* Transfer through a real router in-process (route_xfer.c, with
 * route_outbound.c for outside targets): a fake worker sends the
 * MediaEvent TRANSFER a worker sends when an extension's REFER was
 * accepted, and gets the router's answer; the tenant's extensions,
 * domains and outbound policy are in a real redis-server under the keys
 * provisioning writes. Asserts the target (an extension in the tenant's
 * domain, an outside number in E.164 as the tenant's number) and every
 * refusal's code and reason. */
#include <criterion/criterion.h>
#include <string.h>

#include "pbx_keys.h"
#include "pbx_test.h"
#include "route_ctx.h"
#include "router_harness.h"

#define OWN "74951230000" /* the tenant's number */
#define KIND(k) PBX__V1__MEDIA_EVENT__KIND__KIND_##k

static struct router_harness h;

static void redis_ok(redisReply *r)
{
	cr_assert(r && r->type != REDIS_REPLY_ERROR);
	freeReplyObject(r);
}

static void setup(void)
{
	char key[PBX_KEY_MAX];

	cr_assert_eq(router_harness_start(&h), 0, "router harness");
	cr_assert_eq(router_harness_seed_tenant(&h), 0);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);
	cr_assert_eq(pbx_key(key, sizeof(key), HARNESS_TENANT, "exts"), 0);
	redis_ok(redis_fixture_cmd(&h.rf, "SADD %s 101 102", key));
	redis_ok(redis_fixture_cmd(&h.rf, "SET pbx:{sys}:did:" OWN " %s",
				   HARNESS_TENANT));
	redis_ok(redis_fixture_cmd(&h.rf, "SET pbx:{sys}:domain:%s %s",
				   HARNESS_DOMAIN, HARNESS_TENANT));
	redis_ok(redis_fixture_cmd(&h.rf,
				   "SET pbx:{sys}:domain:other.pbx.test other"));
	cr_assert_eq(pbx_key_of(key, sizeof(key), HARNESS_TENANT,
				PBX_K_OUTBOUND),
		     0);
	redis_ok(redis_fixture_cmd(&h.rf, "HSET %s caller_id " OWN, key));
}

static void teardown(void)
{
	router_harness_stop(&h);
}

TestSuite(route_xfer, .init = setup, .fini = teardown, .timeout = 10);

/* TRANSFER of call_id from the fake worker; the router's answer. */
static const Pbx__V1__MediaCommand *xfer(const char *call_id, const char *by,
					 const char *to, const char *host)
{
	struct harness_event ev = {
		.kind = KIND(TRANSFER),
		.caller = by,
		.dialed = to,
		.transfer_host = host,
	};
	size_t n = fake_peer_count(h.worker);
	const Pbx__V1__Envelope *env;

	cr_assert_eq(router_harness_event(&h, call_id, &ev), 0);
	cr_assert_geq(fake_peer_wait(h.worker, n + 1, 2000), n + 1,
		      "no answer to TRANSFER");
	env = fake_peer_msg(h.worker, n);
	cr_assert_eq(env->body_case, PBX__V1__ENVELOPE__BODY_MEDIA_COMMAND);
	cr_assert_str_eq(env->call_id, call_id);
	cr_assert_str_eq(env->tenant_id, HARNESS_TENANT);
	return env->media_command;
}

static void assert_refused(const Pbx__V1__MediaCommand *mc, unsigned code,
			   const char *reason)
{
	cr_assert_eq(mc->cmd_case,
		     PBX__V1__MEDIA_COMMAND__CMD_TRANSFER_REFUSE);
	cr_assert_eq(mc->transfer_refuse->sip_code, code, "%u %s",
		     mc->transfer_refuse->sip_code,
		     mc->transfer_refuse->reason);
	cr_assert(strstr(mc->transfer_refuse->reason, reason), "%s",
		  mc->transfer_refuse->reason);
}

static const Pbx__V1__MediaCommand__Ring *
assert_rings(const Pbx__V1__MediaCommand *mc)
{
	cr_assert_eq(mc->cmd_case, PBX__V1__MEDIA_COMMAND__CMD_TRANSFER,
		     "case %d", mc->cmd_case);
	cr_assert_eq(mc->worker_id[0] ? strcmp(mc->worker_id, HARNESS_WORKER)
				      : 0,
		     0);
	return mc->transfer;
}

Test(route_xfer, an_extension_rings_in_the_tenants_domain)
{
	const Pbx__V1__MediaCommand__Ring *rg;

	rg = assert_rings(xfer("x-1", "101", "102", HARNESS_DOMAIN));
	cr_assert_str_eq(rg->target_uri, "sip:102@" HARNESS_DOMAIN);
	cr_assert_str_eq(rg->dest_kind, "extension");
	cr_assert_str_eq(rg->caller_id, "");
	cr_assert_gt(rg->timeout_ms, 0);
	/* A phone writing Kamailio's address (no tenant's domain) too. */
	rg = assert_rings(xfer("x-2", "101", "102", "127.0.0.1"));
	cr_assert_str_eq(rg->target_uri, "sip:102@" HARNESS_DOMAIN);
}

Test(route_xfer, another_tenants_domain_is_refused)
{
	assert_refused(xfer("x-3", "101", "102", "other.pbx.test"), 403,
		       "another tenant's domain");
	assert_refused(xfer("x-4", "101", "102", "Other.PBX.test."), 403,
		       "another tenant's domain");
}

Test(route_xfer, only_an_extension_of_the_tenant_may_transfer)
{
	assert_refused(xfer("x-5", "999", "102", HARNESS_DOMAIN), 403,
		       "not an extension");
	assert_refused(xfer("x-6", "", "102", HARNESS_DOMAIN), 403,
		       "not an extension");
}

Test(route_xfer, bad_targets_and_hosts_are_refused)
{
	assert_refused(xfer("x-7", "101", "abc", HARNESS_DOMAIN), 404,
		       "Not Found");
	assert_refused(xfer("x-8", "101", "102", "a b"), 400, "host");
	assert_refused(xfer("x-9", "101", "105", HARNESS_DOMAIN), 404,
		       "Not Found"); /* a short number, no extension */
}

Test(route_xfer, an_outside_number_goes_under_the_outbound_policy)
{
	const Pbx__V1__MediaCommand__Ring *rg;

	rg = assert_rings(
		xfer("x-10", "101", "8%20(916)%20123-45-67", HARNESS_DOMAIN));
	cr_assert_str_eq(rg->target_uri,
			 "sip:+79161234567@" HARNESS_DOMAIN ";user=phone");
	cr_assert_str_eq(rg->dest_kind, "mobile");
	cr_assert_str_eq(rg->caller_id, "+" OWN);
	/* International is off by default. */
	assert_refused(xfer("x-11", "101", "+442079460958", HARNESS_DOMAIN),
		       403, "international");
}
