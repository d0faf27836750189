/* Tests for services/edge-bridge/bridge.c: the pending table driven by a
 * real libevent loop, with fake router and Kamailio hooks that record what
 * the bridge sends. */
#include <criterion/criterion.h>
#include <errno.h>
#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "pbx_clock.h"
#include "pbx_test.h"

#define MAX_SENT 8

/* What the fakes saw. */
static struct {
	int router_err; /* what the fake router send returns */
	bool sync_decision; /* answer inside the send, like a fast router */
	int nrouter;
	char msgid[MAX_SENT][64];
	char callid[MAX_SENT][128];
	unsigned tindex[MAX_SENT];
	char source[MAX_SENT][32];
	char caller[MAX_SENT][64]; /* caller_tenant or source_trunk */
	char tenant_id[MAX_SENT][64];
	int nkam;
	char kam[MAX_SENT][512];
} seen;

static struct event_base *base;
static struct bridge *bridge;

static void decide(const char *reply_to, int action, unsigned code,
		   const char *uri);

static int fake_router_send(Pbx__V1__Envelope *env, void *arg)
{
	(void)arg;
	cr_assert_lt(seen.nrouter, MAX_SENT);
	cr_assert_eq(env->body_case, PBX__V1__ENVELOPE__BODY_CALL_NEW);
	snprintf(seen.msgid[seen.nrouter], 64, "%s", env->message_id);
	snprintf(seen.callid[seen.nrouter], 128, "%s", env->call_id);
	seen.tindex[seen.nrouter] = env->call_new->tindex;
	snprintf(seen.source[seen.nrouter], 32, "%s", env->call_new->source);
	snprintf(seen.caller[seen.nrouter], 64, "%s%s",
		 env->call_new->caller_tenant, env->call_new->source_trunk);
	snprintf(seen.tenant_id[seen.nrouter], 64, "%s", env->tenant_id);
	seen.nrouter++;
	if (seen.sync_decision)
		decide(env->message_id,
		       PBX__V1__ROUTE_DECISION__ACTION__ACTION_REJECT, 404,
		       NULL);
	return seen.router_err;
}

static int fake_kamailio_send(const char *json, size_t len, void *arg)
{
	(void)arg;
	cr_assert_lt(seen.nkam, MAX_SENT);
	cr_assert_lt(len, sizeof(seen.kam[0]));
	memcpy(seen.kam[seen.nkam], json, len);
	seen.kam[seen.nkam][len] = '\0';
	seen.nkam++;
	return 0;
}

static void start(unsigned timeout_ms)
{
	memset(&seen, 0, sizeof(seen));
	base = event_base_new();
	cr_assert_not_null(base);
	cr_assert_eq(bridge_alloc(&bridge, base,
				  &(struct bridge_conf){
					  .edge_id = "edge1",
					  .timeout_ms = timeout_ms,
					  .router_sendh = fake_router_send,
					  .kamailio_sendh = fake_kamailio_send,
				  }),
		     0);
}

static void setup(void)
{
	start(1500);
}

static void teardown(void)
{
	bridge_free(bridge);
	bridge = NULL;
	event_base_free(base);
	base = NULL;
	pbx_test_fini();
}

TestSuite(bridge, .init = setup, .fini = teardown);

static void call_new(unsigned tindex, const char *callid)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf),
			 "{\"event\":\"call.new\",\"tindex\":%u,\"tlabel\":77,"
			 "\"callid\":\"%s\",\"from_user\":\"100\","
			 "\"from_uri\":\"sip:100@h\",\"to_user\":\"200\","
			 "\"to_uri\":\"sip:200@h\",\"src_ip\":\"127.0.0.2\","
			 "\"src_port\":5070,\"transport\":\"udp\"}",
			 tindex, callid);

	bridge_kamailio_frame(bridge, buf, (size_t)n);
}

static void decide(const char *reply_to, int action, unsigned code,
		   const char *uri)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__RouteDecision d = PBX__V1__ROUTE_DECISION__INIT;

	env.message_id = "router-1";
	env.reply_to = (char *)reply_to;
	env.tenant_id = "acme";
	env.body_case = PBX__V1__ENVELOPE__BODY_ROUTE_DECISION;
	env.route_decision = &d;
	d.action = action;
	d.sip_code = code;
	d.reason = "Busy Here";
	d.media_uri = (char *)(uri ? uri : "");
	d.worker_id = "mw1";
	bridge_router_message(bridge, &env);
}

static json_t *kam_reply(int i)
{
	json_t *r = json_loads(seen.kam[i], 0, NULL);

	cr_assert_not_null(r, "reply %d is JSON: %s", i, seen.kam[i]);
	return r;
}

static void run_for_ms(unsigned ms)
{
	struct timeval tv = {.tv_sec = ms / 1000,
			     .tv_usec = (ms % 1000) * 1000};

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

Test(bridge, call_new_goes_to_the_router_and_waits)
{
	call_new(11, "c1@h");
	cr_assert_eq(seen.nrouter, 1);
	cr_assert_str_neq(seen.msgid[0], "", "the bridge sets message_id");
	cr_assert_str_eq(seen.callid[0], "c1@h");
	cr_assert_eq(seen.tindex[0], 11);
	cr_assert_eq(seen.nkam, 0);
	cr_assert_eq(bridge_pending_count(bridge), 1);
}

Test(bridge, caller_identity_reaches_the_router)
{
	static const char ext[] =
		"{\"event\":\"call.new\",\"tindex\":31,\"tlabel\":77,"
		"\"callid\":\"e1@h\",\"from_user\":\"101\","
		"\"from_uri\":\"sip:101@acme.pbx.local\","
		"\"to_user\":\"102\",\"to_uri\":\"sip:102@acme.pbx.local\","
		"\"src_ip\":\"127.0.0.4\",\"src_port\":5094,"
		"\"transport\":\"udp\",\"source\":\"extension\","
		"\"caller_domain\":\"acme.pbx.local\","
		"\"caller_tenant\":\"acme\"}";
	static const char trunk[] =
		"{\"event\":\"call.new\",\"tindex\":32,\"tlabel\":77,"
		"\"callid\":\"t1@h\",\"from_uri\":\"sip:x@h\","
		"\"to_uri\":\"sip:y@h\",\"src_ip\":\"127.0.0.7\","
		"\"src_port\":5060,\"transport\":\"udp\","
		"\"source\":\"trunk\",\"source_trunk\":\"carrier1\"}";

	bridge_kamailio_frame(bridge, ext, strlen(ext));
	bridge_kamailio_frame(bridge, trunk, strlen(trunk));
	call_new(33, "u1@h");
	cr_assert_eq(seen.nrouter, 3);
	cr_assert_str_eq(seen.source[0], "extension");
	cr_assert_str_eq(seen.caller[0], "acme");
	cr_assert_str_eq(seen.source[1], "trunk");
	cr_assert_str_eq(seen.caller[1], "carrier1");
	cr_assert_str_eq(seen.source[2], "unknown");
	cr_assert_str_eq(seen.caller[2], "");
	/* The envelope's tenant stays the router's to decide: a caller's
	 * tenant is not the callee's. */
	cr_assert_str_eq(seen.tenant_id[0], "");
}

Test(bridge, call_new_with_an_inconsistent_source_is_dropped)
{
	static const char bad[] =
		"{\"event\":\"call.new\",\"tindex\":34,\"tlabel\":77,"
		"\"callid\":\"b1@h\",\"from_uri\":\"sip:x@h\","
		"\"to_uri\":\"sip:y@h\",\"src_ip\":\"127.0.0.4\","
		"\"src_port\":5060,\"transport\":\"udp\","
		"\"source\":\"extension\"}";

	bridge_kamailio_frame(bridge, bad, strlen(bad));
	cr_assert_eq(seen.nrouter, 0);
	cr_assert_eq(bridge_pending_count(bridge), 0);
}

Test(bridge, no_router_answers_503_at_once)
{
	json_t *r;

	seen.router_err = -EAGAIN;
	call_new(12, "c2@h");
	cr_assert_eq(seen.nkam, 1);
	r = kam_reply(0);
	cr_assert_eq(json_integer_value(json_object_get(r, "tindex")), 12);
	cr_assert_eq(json_integer_value(json_object_get(r, "code")), 503);
	cr_assert_str_eq(json_string_value(json_object_get(r, "reason")),
			 "Router unavailable");
	json_decref(r);
	cr_assert_eq(bridge_pending_count(bridge), 0);
}

Test(bridge, media_decision_is_relayed_with_the_requests_ids)
{
	json_t *r;

	call_new(13, "c3@h");
	decide(seen.msgid[0], PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA, 0,
	       "sip:127.0.0.3:5080");
	cr_assert_eq(seen.nkam, 1);
	r = kam_reply(0);
	cr_assert_eq(json_integer_value(json_object_get(r, "tindex")), 13);
	cr_assert_eq(json_integer_value(json_object_get(r, "tlabel")), 77);
	cr_assert_str_eq(json_string_value(json_object_get(r, "action")),
			 "media");
	cr_assert_str_eq(json_string_value(json_object_get(r, "uri")),
			 "sip:127.0.0.3:5080");
	cr_assert_str_eq(json_string_value(json_object_get(r, "tenant")),
			 "acme");
	json_decref(r);
	cr_assert_eq(bridge_pending_count(bridge), 0);
}

Test(bridge, decision_is_used_once)
{
	call_new(14, "c4@h");
	decide(seen.msgid[0], PBX__V1__ROUTE_DECISION__ACTION__ACTION_REJECT,
	       486, NULL);
	decide(seen.msgid[0], PBX__V1__ROUTE_DECISION__ACTION__ACTION_REJECT,
	       486, NULL);
	cr_assert_eq(seen.nkam, 1);
}

Test(bridge, no_decision_in_time_answers_503_router_timeout)
{
	uint64_t t0;
	json_t *r;

	bridge_free(bridge);
	event_base_free(base);
	start(100);
	t0 = pbx_clock_mono_ms();
	call_new(15, "c5@h");
	call_new(16, "c6@h");
	run_for_ms(60);
	cr_assert_eq(seen.nkam, 0, "nothing before the deadline");
	run_for_ms(150);
	cr_assert_eq(seen.nkam, 2, "both expired");
	cr_assert_geq(pbx_clock_mono_ms() - t0, 100);
	r = kam_reply(0);
	cr_assert_eq(json_integer_value(json_object_get(r, "tindex")), 15,
		     "oldest first");
	cr_assert_eq(json_integer_value(json_object_get(r, "code")), 503);
	cr_assert_str_eq(json_string_value(json_object_get(r, "reason")),
			 "Router timeout");
	json_decref(r);
	cr_assert_eq(bridge_pending_count(bridge), 0);

	/* A late decision changes nothing. */
	decide(seen.msgid[0], PBX__V1__ROUTE_DECISION__ACTION__ACTION_REJECT,
	       404, NULL);
	cr_assert_eq(seen.nkam, 2);
}

Test(bridge, answered_head_does_not_expire_the_next_early)
{
	bridge_free(bridge);
	event_base_free(base);
	start(100);
	call_new(17, "c7@h");
	run_for_ms(50);
	call_new(18, "c8@h");
	decide(seen.msgid[0], PBX__V1__ROUTE_DECISION__ACTION__ACTION_REJECT,
	       404, NULL);
	run_for_ms(70); /* the timer armed for call 17 fires: 18 not due */
	cr_assert_eq(seen.nkam, 1);
	cr_assert_eq(bridge_pending_count(bridge), 1);
	run_for_ms(100);
	cr_assert_eq(seen.nkam, 2);
	cr_assert_eq(bridge_pending_count(bridge), 0);
}

Test(bridge, cancel_drops_the_pending_entry)
{
	static const char cancel[] =
		"{\"event\":\"call.canceled\",\"callid\":\"c9@h\"}";

	call_new(19, "c9@h");
	call_new(20, "c10@h");
	bridge_kamailio_frame(bridge, cancel, strlen(cancel));
	cr_assert_eq(bridge_pending_count(bridge), 1);
	decide(seen.msgid[0], PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA, 0,
	       "sip:127.0.0.3:5080");
	cr_assert_eq(seen.nkam, 0, "decision for a cancelled call dropped");
}

Test(bridge, kamailio_down_drops_everything)
{
	call_new(21, "c11@h");
	call_new(22, "c12@h");
	bridge_kamailio_down(bridge);
	cr_assert_eq(bridge_pending_count(bridge), 0);
	decide(seen.msgid[1], PBX__V1__ROUTE_DECISION__ACTION__ACTION_REJECT,
	       404, NULL);
	cr_assert_eq(seen.nkam, 0);
}

Test(bridge, garbage_from_kamailio_is_dropped)
{
	static const char *const frames[] = {
		"not json", "{\"event\":\"call.ringing\"}",
		"{\"event\":\"call.new\",\"tindex\":1}",
	};

	for (size_t i = 0; i < 3; i++)
		bridge_kamailio_frame(bridge, frames[i], strlen(frames[i]));
	cr_assert_eq(seen.nrouter, 0);
	cr_assert_eq(seen.nkam, 0);
	cr_assert_eq(bridge_pending_count(bridge), 0);
}

Test(bridge, bus_messages_that_are_not_decisions_are_dropped)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__BusError e = PBX__V1__BUS_ERROR__INIT;

	call_new(23, "c13@h");
	env.reply_to = seen.msgid[0];
	env.body_case = PBX__V1__ENVELOPE__BODY_ERROR;
	env.error = &e;
	bridge_router_message(bridge, &env);
	bridge_router_message(bridge, NULL);
	decide("someone-else-1",
	       PBX__V1__ROUTE_DECISION__ACTION__ACTION_REJECT, 404, NULL);
	cr_assert_eq(seen.nkam, 0);
	cr_assert_eq(bridge_pending_count(bridge), 1);
}

Test(bridge, unusable_decision_answers_500_at_once)
{
	json_t *r;

	call_new(24, "c14@h");
	decide(seen.msgid[0], PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA, 0,
	       "not-a-uri");
	cr_assert_eq(seen.nkam, 1);
	r = kam_reply(0);
	cr_assert_eq(json_integer_value(json_object_get(r, "code")), 500);
	json_decref(r);
	cr_assert_eq(bridge_pending_count(bridge), 0);
}

Test(bridge, decision_delivered_inside_the_send_is_handled)
{
	json_t *r;

	/* pbx_bus_send() processes the socket after sending, so a fast
	 * router's answer can arrive before the send returns. */
	seen.sync_decision = true;
	call_new(25, "c15@h");
	cr_assert_eq(seen.nkam, 1);
	r = kam_reply(0);
	cr_assert_eq(json_integer_value(json_object_get(r, "code")), 404);
	json_decref(r);
	cr_assert_eq(bridge_pending_count(bridge), 0);
}
