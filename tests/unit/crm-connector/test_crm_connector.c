/* services/crm-connector in one process: a real redis-server
 * (redis_fixture.h), a fake router (a ZeroMQ ROUTER on loopback, the
 * socket a router binds for connectors) sending CrmLookup / CrmCallLog,
 * and fakes of Bitrix24 and amoCRM on the same libevent loop (evhttp),
 * answering as the vendors document it: owners, empty results, error
 * bodies, expired tokens, or no answer at all. Asserts what the router
 * got back (kind, extension, in time), what reached the fake CRM, and
 * what is left in Redis (refreshed tokens). */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "crm.h"
#include "pbx_clock.h"
#include "pbx_log.h"
#include "pbx_test.h"
#include "redis_fixture.h"

#define MAX_MSGS 32
#define MAX_REQS 32
#define KIND(x) PBX__V1__CRM_RESULT__KIND__KIND_##x

static struct {
	struct event_base *base;
	void *zctx;
	struct redis_fixture redis;
	struct evhttp *http;
	int port;
	struct pbx_bus *router; /* the fake router */
	char endpoint[64];
	Pbx__V1__Envelope *msg[MAX_MSGS];
	size_t nmsg;
	char path[MAX_REQS][128];
	char body[MAX_REQS][512];
	char auth[MAX_REQS][128];
	size_t nreq;
	int notes_fail; /* amoCRM notes: answer 503 this many times */
	struct crm_config cfg;
	struct crm *crm;
} fx;

/* ---- the fake router ------------------------------------------------------ */

static void router_recv(struct pbx_bus *bus, const struct pbx_bus_peer *peer,
			const Pbx__V1__Envelope *env, int err, void *arg)
{
	uint8_t *buf;
	size_t len;

	(void)bus;
	(void)peer;
	(void)arg;
	if (err || !env || fx.nmsg == MAX_MSGS)
		return;
	cr_assert_eq(pbx_envelope_encode(env, &buf, &len), 0);
	fx.msg[fx.nmsg++] = pbx_envelope_decode(buf, len);
	free(buf);
}

static void run_ms(int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	event_base_loopexit(fx.base, &tv);
	event_base_dispatch(fx.base);
}

/* The first CrmResult at or after message `from`, waiting up to ms. */
static const Pbx__V1__CrmResult *result_after(size_t from, int ms)
{
	uint64_t end = pbx_clock_mono_ms() + (uint64_t)ms;

	do {
		for (size_t i = from; i < fx.nmsg; i++) {
			if (fx.msg[i]->body_case ==
			    PBX__V1__ENVELOPE__BODY_CRM_RESULT)
				return fx.msg[i]->crm_result;
		}
		run_ms(5);
	} while (pbx_clock_mono_ms() < end);
	return NULL;
}

static void send_env(Pbx__V1__Envelope *env)
{
	struct pbx_bus_peer peer = {.len = 4};

	memcpy(peer.id, "crm1", 4);
	env->tenant_id = (char *)"t1";
	cr_assert_eq(pbx_bus_send(fx.router, &peer, env), 0);
}

/* Sends a lookup; returns the index its answer will come after. */
static size_t lookup(const char *crm, const char *caller, uint32_t timeout_ms)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__CrmLookup q = PBX__V1__CRM_LOOKUP__INIT;
	size_t from = fx.nmsg;

	q.crm = (char *)crm;
	q.caller = (char *)caller;
	q.called = (char *)"+7 495 123-45-67";
	q.timeout_ms = timeout_ms;
	q.node = (char *)"owner";
	env.call_id = (char *)"call-1";
	env.body_case = PBX__V1__ENVELOPE__BODY_CRM_LOOKUP;
	env.crm_lookup = &q;
	send_env(&env);
	return from;
}

static const Pbx__V1__CrmResult *ask(const char *crm, const char *caller)
{
	const Pbx__V1__CrmResult *r = result_after(lookup(crm, caller, 3000),
						   3000);

	cr_assert_not_null(r, "no CrmResult");
	cr_assert_str_eq(r->node, "owner");
	return r;
}

/* ---- the vendors' fakes ------------------------------------------------- */

static void reply(struct evhttp_request *req, int code, const char *json)
{
	struct evbuffer *b = evbuffer_new();

	if (json)
		evbuffer_add_printf(b, "%s", json);
	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "Content-Type", "application/json");
	evhttp_send_reply(req, code, "fake", b);
	evbuffer_free(b);
}

static const char *phone_of(const char *body)
{
	static char phone[32];
	json_t *j = json_loads(body, 0, NULL);

	snprintf(phone, sizeof(phone), "%s",
		 json_string_value(json_object_get(j, "PHONE_NUMBER"))
			 ?: "");
	json_decref(j);
	return phone;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	const char *uri = evhttp_request_get_uri(req);
	const char *auth = evhttp_find_header(
		evhttp_request_get_input_headers(req), "Authorization");
	size_t i = fx.nreq, len = evbuffer_get_length(in);
	char body[512];
	const char *phone;

	(void)arg;
	if (len >= sizeof(body))
		len = sizeof(body) - 1;
	evbuffer_remove(in, body, len);
	body[len] = '\0';
	if (i < MAX_REQS) {
		snprintf(fx.path[i], sizeof(fx.path[i]), "%s", uri);
		snprintf(fx.body[i], sizeof(fx.body[i]), "%s", body);
		snprintf(fx.auth[i], sizeof(fx.auth[i]), "%s", auth ?: "");
		fx.nreq++;
	}
	/* The Bitrix24 application: its REST methods take the access token
	 * as the auth parameter; an old one is expired_token (HTTP 401). */
	if (!strncmp(uri, "/app/rest/", 10) && !strstr(uri, "?auth=b24-new")) {
		reply(req, 401,
		      "{\"error\":\"expired_token\",\"error_description\":"
		      "\"The access token provided has expired.\"}");
		return;
	}
	if (!strncmp(uri, "/oauth/token/?grant_type=refresh_token&", 39)) {
		if (strstr(uri, "&client_secret=b24cs&refresh_token="
				"b24-rt-old"))
			reply(req, 200,
			      "{\"access_token\":\"b24-new\",\"expires\":"
			      "1800003600,\"expires_in\":3600,\"scope\":"
			      "\"app\",\"domain\":\"oauth.bitrix.info\","
			      "\"status\":\"L\",\"member_id\":\"m1\","
			      "\"user_id\":1,\"refresh_token\":"
			      "\"b24-rt-new\"}");
		else
			reply(req, 400,
			      "{\"error\":\"invalid_grant\","
			      "\"error_description\":\"Invalid refresh "
			      "token\"}");
		return;
	}
	if (strstr(uri, "searchCrmEntities")) {
		phone = phone_of(body);
		if (!strcmp(phone, "79160000001"))
			reply(req, 200,
			      "{\"result\":[{\"CRM_ENTITY_TYPE\":\"CONTACT\","
			      "\"CRM_ENTITY_ID\":5,\"ASSIGNED_BY_ID\":\"17\","
			      "\"NAME\":\"Ivan\",\"ASSIGNED_BY\":{\"ID\":"
			      "\"17\",\"USER_PHONE_INNER\":\"555\"}}]}");
		else if (!strcmp(phone, "79160000005"))
			reply(req, 200,
			      "{\"result\":[{\"ASSIGNED_BY_ID\":\"99\","
			      "\"ASSIGNED_BY\":{\"ID\":\"99\","
			      "\"USER_PHONE_INNER\":\"303\"}}]}");
		else if (!strcmp(phone, "79160000003"))
			return; /* sleeps: never answers */
		else if (!strcmp(phone, "79160000004"))
			reply(req, 500,
			      "{\"error\":\"INTERNAL_SERVER_ERROR\","
			      "\"error_description\":\"Internal error\"}");
		else
			reply(req, 200, "{\"result\":[]}");
	} else if (strstr(uri, "externalcall.register")) {
		reply(req, 200,
		      "{\"result\":{\"CALL_ID\":\"externalCall.fake.1\"}}");
	} else if (strstr(uri, "externalcall.finish")) {
		reply(req, 200, "{\"result\":{\"ID\":1}}");
	} else if (!strcmp(uri, "/api/v4/calls")) {
		reply(req, 200,
		      "{\"_embedded\":{\"calls\":[{\"id\":9001,"
		      "\"entity_id\":1,\"entity_type\":\"contacts\"}]}}");
	} else if (!strcmp(uri, "/api/v4/contacts/notes")) {
		if (fx.notes_fail > 0) {
			fx.notes_fail--;
			reply(req, 503,
			      "{\"title\":\"Service Unavailable\","
			      "\"status\":503}");
		} else if (!auth || strcmp(auth, "Bearer AT-new")) {
			reply(req, 401,
			      "{\"title\":\"Unauthorized\",\"status\":401}");
		} else {
			reply(req, 200,
			      "{\"_embedded\":{\"notes\":[{\"id\":7001,"
			      "\"entity_id\":1,\"request_id\":\"0\"}]}}");
		}
	} else if (strstr(uri, "/api/v4/contacts")) {
		if (!auth || strcmp(auth, "Bearer AT-new"))
			reply(req, 401,
			      "{\"title\":\"Unauthorized\",\"status\":401}");
		else
			reply(req, 200,
			      "{\"_embedded\":{\"contacts\":[{\"id\":1,"
			      "\"responsible_user_id\":42}]}}");
	} else if (strstr(uri, "/oauth2/access_token")) {
		if (strstr(body, "\"RT-old\""))
			reply(req, 200,
			      "{\"token_type\":\"Bearer\",\"expires_in\":"
			      "86400,\"access_token\":\"AT-new\","
			      "\"refresh_token\":\"RT-new\"}");
		else
			reply(req, 400, "{\"title\":\"Bad Request\"}");
	} else {
		reply(req, 404, NULL);
	}
}

/* ---- set-up ------------------------------------------------------------- */

/* A set-up command (the reply is the caller's). */
static redisReply *checked(redisReply *r)
{
	cr_assert(r && r->type != REDIS_REPLY_ERROR, "redis set-up");
	return r;
}
#define cmd(...) checked(redis_fixture_cmd(&fx.redis, __VA_ARGS__))

static void crm_start(void)
{
	size_t from = fx.nmsg;

	cr_assert_eq(crm_alloc(&fx.crm, fx.base, fx.zctx, &fx.cfg), 0);
	/* Its (first) heartbeat gives the fake router its route. */
	for (int i = 0; i < 200; i++) {
		for (size_t k = from; k < fx.nmsg; k++) {
			if (fx.msg[k]->body_case ==
			    PBX__V1__ENVELOPE__BODY_CRM_HEARTBEAT)
				return;
		}
		run_ms(10);
	}
	cr_assert_fail("no heartbeat from the connector");
}

static void setup(void)
{
	struct crm_config *c = &fx.cfg;

	memset(&fx, 0, sizeof(fx));
	pbx_log_init("crmtest", PBX_LOG_WARN);
	cr_assert_eq(curl_global_init(CURL_GLOBAL_DEFAULT), 0);
	cr_assert_eq(redis_fixture_start(&fx.redis), 0, "no redis-server");
	fx.base = event_base_new();
	fx.zctx = pbx_zmq_ctx_new();
	fx.http = evhttp_new(fx.base);
	cr_assert(fx.base && fx.zctx && fx.http);
	fx.port = redis_fixture_free_port();
	cr_assert_eq(evhttp_bind_socket(fx.http, "127.0.0.1",
					(uint16_t)fx.port),
		     0);
	evhttp_set_gencb(fx.http, on_request, NULL);
	snprintf(fx.endpoint, sizeof(fx.endpoint), "tcp://127.0.0.1:%d",
		 redis_fixture_free_port());
	cr_assert_eq(pbx_bus_alloc(&fx.router, fx.zctx, PBX_BUS_ROUTER,
				   fx.endpoint, NULL, router_recv, NULL),
		     0);
	cr_assert_eq(pbx_bus_attach(fx.router, fx.base), 0);

	snprintf(c->crm_id, sizeof(c->crm_id), "crm1");
	snprintf(c->router_endpoints, sizeof(c->router_endpoints), "%s",
		 fx.endpoint);
	snprintf(c->redis.host, sizeof(c->redis.host), "127.0.0.1");
	c->redis.port = fx.redis.port;
	c->heartbeat_ms = 200;
	c->cache_ttl_s = 30;
	c->cache_slots = 1024;
	c->breaker_failures = 3;
	c->breaker_open_ms = 60000;
	c->log_timeout_ms = 3000;
	c->refresh_margin_s = 300;
	c->crm_private = 1; /* the fakes are on loopback */
	c->answer_margin_ms = 100;
	freeReplyObject(cmd("HSET pbx:{t1}:crm:bitrix24 webhook_url "
			    "http://127.0.0.1:%d/rest/1/abc/",
			    fx.port));
	freeReplyObject(cmd("HSET pbx:{t1}:crm:map:bitrix24 17 101"));
}

static void teardown(void)
{
	crm_free(fx.crm);
	pbx_bus_free(fx.router);
	for (size_t i = 0; i < fx.nmsg; i++)
		pbx_envelope_free(fx.msg[i]);
	if (fx.http)
		evhttp_free(fx.http);
	if (fx.zctx)
		zmq_ctx_term(fx.zctx);
	if (fx.base)
		event_base_free(fx.base);
	redis_fixture_stop(&fx.redis);
	curl_global_cleanup();
	pbx_test_fini();
}

TestSuite(crm_connector, .init = setup, .fini = teardown, .timeout = 20);

/* ---- tests -------------------------------------------------------------- */

Test(crm_connector, bitrix_owner_is_mapped_and_a_repeat_is_cached)
{
	const Pbx__V1__CrmResult *r;

	crm_start();
	r = ask("bitrix24", "+7 (916) 000-00-01");
	cr_assert_eq(r->kind, KIND(OWNER), "kind %d: %s", r->kind, r->detail);
	cr_assert_str_eq(r->extension, "101"); /* the map, not the inner 555 */
	cr_assert_str_eq(r->crm_user, "17");
	cr_assert_str_eq(r->display_name, "Ivan");
	cr_assert_not(r->cached);
	cr_assert_eq(fx.nreq, 1);
	cr_assert(strstr(fx.path[0], "/rest/1/abc/telephony.externalCall."
				     "searchCrmEntities.json"));
	cr_assert(strstr(fx.body[0], "\"PHONE_NUMBER\":\"79160000001\""));

	/* The same client again, in another form: one CRM request. */
	r = ask("bitrix24", "89160000001");
	cr_assert_eq(r->kind, KIND(OWNER));
	cr_assert_str_eq(r->extension, "101");
	cr_assert(r->cached);
	cr_assert_eq(fx.nreq, 1);
}

Test(crm_connector, bitrix_user_without_mapping_rings_the_inner_phone)
{
	const Pbx__V1__CrmResult *r;

	crm_start();
	r = ask("bitrix24", "79160000005");
	cr_assert_eq(r->kind, KIND(OWNER));
	cr_assert_str_eq(r->extension, "303");
}

Test(crm_connector, unknown_caller_and_anonymous_are_not_found)
{
	const Pbx__V1__CrmResult *r;

	crm_start();
	r = ask("bitrix24", "79160000002");
	cr_assert_eq(r->kind, KIND(NOT_FOUND));
	r = ask("bitrix24", "anonymous");
	cr_assert_eq(r->kind, KIND(NOT_FOUND));
	cr_assert_eq(fx.nreq, 1, "an anonymous caller costs no request");
}

Test(crm_connector, a_crm_sleeping_past_the_deadline_is_crm_error_in_time)
{
	const Pbx__V1__CrmResult *r;
	uint64_t t0;
	size_t from;

	crm_start();
	t0 = pbx_clock_mono_ms();
	from = lookup("bitrix24", "79160000003", 600);
	r = result_after(from, 3000);
	cr_assert_not_null(r);
	cr_assert_eq(r->kind, KIND(ERROR));
	cr_assert_str_eq(r->detail, "no answer within the lookup timeout");
	/* 600 ms less the 100 ms margin; never after the timeout. */
	cr_assert_geq(pbx_clock_mono_ms() - t0, 450);
	cr_assert_lt(pbx_clock_mono_ms() - t0, 600);
}

Test(crm_connector, errors_open_the_breaker_and_then_cost_no_request)
{
	const Pbx__V1__CrmResult *r;
	uint64_t t0;

	crm_start();
	for (int i = 0; i < 3; i++) {
		r = ask("bitrix24", "79160000004");
		cr_assert_eq(r->kind, KIND(ERROR));
		cr_assert_str_eq(r->detail,
				 "bitrix24: HTTP 500 INTERNAL_SERVER_ERROR: "
				 "Internal error");
	}
	cr_assert_eq(fx.nreq, 3);
	t0 = pbx_clock_mono_ms();
	r = ask("bitrix24", "79160000001");
	cr_assert_eq(r->kind, KIND(ERROR));
	cr_assert_str_eq(r->detail, "circuit open");
	cr_assert_lt(pbx_clock_mono_ms() - t0, 200);
	cr_assert_eq(fx.nreq, 3);
	/* Another tenant is not affected: it has no settings, and says
	 * so. */
}

Test(crm_connector, refused_connection_and_our_own_network_are_errors)
{
	const Pbx__V1__CrmResult *r;

	freeReplyObject(cmd("HSET pbx:{t1}:crm:bitrix24 webhook_url "
			    "http://127.0.0.1:1/rest/1/abc/"));
	crm_start();
	r = ask("bitrix24", "79160000001");
	cr_assert_eq(r->kind, KIND(ERROR));
	cr_assert(strstr(r->detail, "bitrix24: "), "%s", r->detail);
	cr_assert_null(strstr(r->detail, "/rest/"), "the URL is a secret");

	/* With crm_private 0 a loopback URL is refused before connecting. */
	crm_free(fx.crm);
	fx.crm = NULL;
	fx.cfg.crm_private = 0;
	freeReplyObject(cmd("HSET pbx:{t1}:crm:bitrix24 webhook_url "
			    "http://127.0.0.1:%d/rest/1/abc/",
			    fx.port));
	crm_start();
	r = ask("bitrix24", "79160000001");
	cr_assert_eq(r->kind, KIND(ERROR));
	cr_assert_str_eq(r->detail, "bitrix24: 127.0.0.1 is an address of "
				    "our own network (crm_private 0)");
	cr_assert_eq(fx.nreq, 0);
}

Test(crm_connector, a_tenant_without_settings_gets_crm_error)
{
	const Pbx__V1__CrmResult *r;

	crm_start();
	r = ask("amocrm", "79160000001");
	cr_assert_eq(r->kind, KIND(ERROR));
	cr_assert_str_eq(r->detail,
			 "the tenant has no settings for this CRM");
	r = ask("salesforce", "79160000001");
	cr_assert_eq(r->kind, KIND(ERROR));
}

Test(crm_connector, amo_expired_token_is_refreshed_stored_and_retried)
{
	const Pbx__V1__CrmResult *r;
	redisReply *rr;

	freeReplyObject(cmd("HSET pbx:{t1}:crm:amocrm base_url "
			    "http://127.0.0.1:%d client_id cid client_secret "
			    "cs redirect_uri https://pbx.example/cb "
			    "access_token AT-old refresh_token RT-old "
			    "expires_at 99999999999",
			    fx.port));
	freeReplyObject(cmd("HSET pbx:{t1}:crm:map:amocrm 42 202"));
	crm_start();
	r = ask("amocrm", "79160000001");
	cr_assert_eq(r->kind, KIND(OWNER), "%d %s", r->kind, r->detail);
	cr_assert_str_eq(r->extension, "202");
	/* 401, the refresh, the retry with the new token. */
	cr_assert_eq(fx.nreq, 3);
	cr_assert_str_eq(fx.path[0], "/api/v4/contacts?query=79160000001");
	cr_assert_str_eq(fx.auth[0], "Bearer AT-old");
	cr_assert_str_eq(fx.path[1], "/oauth2/access_token");
	cr_assert(strstr(fx.body[1], "\"grant_type\":\"refresh_token\""));
	cr_assert_str_eq(fx.auth[2], "Bearer AT-new");
	run_ms(50);
	rr = cmd("HMGET pbx:{t1}:crm:amocrm access_token refresh_token");
	cr_assert_str_eq(rr->element[0]->str, "AT-new");
	cr_assert_str_eq(rr->element[1]->str, "RT-new");
	freeReplyObject(rr);
}

Test(crm_connector, amo_token_near_expiry_is_refreshed_before_the_lookup)
{
	const Pbx__V1__CrmResult *r;

	freeReplyObject(cmd("HSET pbx:{t1}:crm:amocrm base_url "
			    "http://127.0.0.1:%d client_id cid client_secret "
			    "cs redirect_uri https://pbx.example/cb "
			    "access_token AT-old refresh_token RT-old "
			    "expires_at %llu",
			    fx.port,
			    (unsigned long long)(pbx_clock_now_ms() / 1000 +
						 60)));
	freeReplyObject(cmd("HSET pbx:{t1}:crm:map:amocrm 42 202"));
	crm_start();
	r = ask("amocrm", "79160000001");
	cr_assert_eq(r->kind, KIND(OWNER));
	cr_assert_eq(fx.nreq, 2, "refresh, then one lookup");
	cr_assert_str_eq(fx.path[0], "/oauth2/access_token");
	cr_assert_str_eq(fx.auth[1], "Bearer AT-new");
}

static void amo_settings(const char *call_log_mode)
{
	freeReplyObject(cmd("HSET pbx:{t1}:crm:amocrm base_url "
			    "http://127.0.0.1:%d client_id cid client_secret "
			    "cs redirect_uri https://pbx.example/cb "
			    "access_token AT-new refresh_token RT-new "
			    "expires_at 99999999999 call_log %s",
			    fx.port, call_log_mode));
}

static void call_log(const char *crm, const char *call_id)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__CrmCallLog log = PBX__V1__CRM_CALL_LOG__INIT;

	log.crm = (char *)crm;
	log.caller = (char *)"+7 916 000-00-01";
	log.called = (char *)"74951234567";
	log.extension = (char *)"101";
	log.crm_user = (char *)"17";
	log.answered = true;
	log.started_ms = 1800000000000ull;
	log.duration_s = 12;
	env.call_id = (char *)call_id;
	env.body_case = PBX__V1__ENVELOPE__BODY_CRM_CALL_LOG;
	env.crm_call_log = &log;
	send_env(&env);
}

static void wait_logs(unsigned long done, unsigned long failed, int ms)
{
	for (int i = 0; i < ms / 10 && (fx.crm->n.logs_done < done ||
					fx.crm->n.logs_failed < failed);
	     i++)
		run_ms(10);
}

Test(crm_connector, bitrix_call_log_registers_and_finishes_the_call)
{
	crm_start();
	call_log("bitrix24", "call-9");
	wait_logs(1, 0, 2000);
	cr_assert_eq(fx.crm->n.logs_done, 1);
	cr_assert_eq(fx.nreq, 2);
	cr_assert(strstr(fx.path[0], "telephony.externalcall.register.json"));
	cr_assert(strstr(fx.body[0], "\"USER_ID\":\"17\""));
	cr_assert(strstr(fx.body[0], "\"TYPE\":2"));
	cr_assert(strstr(fx.path[1], "telephony.externalcall.finish.json"));
	cr_assert(strstr(fx.body[1], "\"CALL_ID\":\"externalCall.fake.1\""));
	cr_assert(strstr(fx.body[1], "\"DURATION\":12"));
	cr_assert(strstr(fx.body[1], "\"STATUS_CODE\":200"));
}

/* The tenant's Bitrix24 as the OAuth application (no webhook). */
static void b24_app(const char *refresh_token, unsigned long long expires_at)
{
	freeReplyObject(cmd("DEL pbx:{t1}:crm:bitrix24"));
	freeReplyObject(cmd("HSET pbx:{t1}:crm:bitrix24 portal_url "
			    "http://127.0.0.1:%d/app/rest/ oauth_url "
			    "http://127.0.0.1:%d client_id local.app1 "
			    "client_secret b24cs access_token b24-old "
			    "refresh_token %s expires_at %llu",
			    fx.port, fx.port, refresh_token, expires_at));
}

Test(crm_connector, bitrix_app_expired_token_is_refreshed_stored_and_retried)
{
	const Pbx__V1__CrmResult *r;
	redisReply *rr;

	b24_app("b24-rt-old", 99999999999ull);
	crm_start();
	r = ask("bitrix24", "79160000001");
	cr_assert_eq(r->kind, KIND(OWNER), "%d %s", r->kind, r->detail);
	cr_assert_str_eq(r->extension, "101");
	/* expired_token, the refresh GET, the search again. */
	cr_assert_eq(fx.nreq, 3);
	cr_assert_str_eq(fx.path[0], "/app/rest/telephony.externalCall."
				     "searchCrmEntities.json?auth=b24-old");
	cr_assert_str_eq(fx.path[1], "/oauth/token/?grant_type=refresh_token"
				     "&client_id=local.app1&client_secret="
				     "b24cs&refresh_token=b24-rt-old");
	cr_assert_str_eq(fx.path[2], "/app/rest/telephony.externalCall."
				     "searchCrmEntities.json?auth=b24-new");
	cr_assert(strstr(fx.body[2], "\"PHONE_NUMBER\":\"79160000001\""));
	run_ms(50);
	rr = cmd("HMGET pbx:{t1}:crm:bitrix24 access_token refresh_token "
		 "expires_at");
	cr_assert_str_eq(rr->element[0]->str, "b24-new");
	cr_assert_str_eq(rr->element[1]->str, "b24-rt-new");
	cr_assert_gt(strtoll(rr->element[2]->str, NULL, 10),
		     (long long)(pbx_clock_now_ms() / 1000 + 3000));
	freeReplyObject(rr);

	/* The call log goes the same way, with the stored token. */
	call_log("bitrix24", "call-7");
	wait_logs(1, 0, 2000);
	cr_assert_eq(fx.crm->n.logs_done, 1);
	cr_assert_eq(fx.nreq, 5);
	cr_assert_str_eq(fx.path[3], "/app/rest/telephony.externalcall."
				     "register.json?auth=b24-new");
	cr_assert_str_eq(fx.path[4], "/app/rest/telephony.externalcall."
				     "finish.json?auth=b24-new");
	cr_assert(strstr(fx.body[4], "\"CALL_ID\":\"externalCall.fake.1\""));
}

Test(crm_connector, bitrix_app_refused_refresh_is_crm_error)
{
	const Pbx__V1__CrmResult *r;
	redisReply *rr;

	/* Due within the margin: refreshed first, with a spent token. */
	b24_app("b24-rt-spent", pbx_clock_now_ms() / 1000 + 60);
	crm_start();
	r = ask("bitrix24", "79160000001");
	cr_assert_eq(r->kind, KIND(ERROR));
	cr_assert_str_eq(r->detail, "bitrix24: token refresh refused (HTTP "
				    "400 invalid_grant)");
	cr_assert_eq(fx.nreq, 1);
	cr_assert(!strncmp(fx.path[0], "/oauth/token/", 13));
	rr = cmd("HGET pbx:{t1}:crm:bitrix24 refresh_token");
	cr_assert_str_eq(rr->str, "b24-rt-spent", "nothing overwritten");
	freeReplyObject(rr);
}

Test(crm_connector, amo_call_note_on_the_contact_retried_after_503s)
{
	amo_settings("notes");
	fx.cfg.log_backoff_ms = 100;
	fx.cfg.log_retries = 3;
	fx.notes_fail = 2;
	crm_start();
	call_log("amocrm", "call-8");
	wait_logs(1, 0, 3000);
	cr_assert_eq(fx.crm->n.logs_done, 1);
	cr_assert_eq(fx.crm->n.log_retries, 2);
	/* The contact by phone, then the note three times (503, 503, 200);
	 * no call event in "notes" mode. */
	cr_assert_eq(fx.nreq, 4);
	cr_assert_str_eq(fx.path[0], "/api/v4/contacts?query=79160000001");
	for (int i = 1; i < 4; i++) {
		json_t *j = json_loads(fx.body[i], 0, NULL), *n, *p;

		cr_assert_str_eq(fx.path[i], "/api/v4/contacts/notes");
		cr_assert_str_eq(fx.auth[i], "Bearer AT-new");
		n = json_array_get(j, 0);
		p = json_object_get(n, "params");
		cr_assert_eq(json_integer_value(json_object_get(n, "entity_id")),
			     1);
		cr_assert_str_eq(
			json_string_value(json_object_get(n, "note_type")),
			"call_in");
		cr_assert_str_eq(json_string_value(json_object_get(p, "uniq")),
				 "call-8");
		cr_assert_eq(json_integer_value(json_object_get(p, "duration")),
			     12);
		cr_assert_eq(
			json_integer_value(json_object_get(p, "call_status")),
			4);
		json_decref(j);
	}
}

Test(crm_connector, amo_call_log_both_and_retries_bounded)
{
	uint64_t t0;

	amo_settings("both");
	fx.cfg.log_backoff_ms = 100;
	fx.cfg.log_retries = 2;
	fx.notes_fail = 100; /* the note never goes through */
	crm_start();
	t0 = pbx_clock_mono_ms();
	call_log("amocrm", "call-9");
	wait_logs(0, 1, 3000);
	cr_assert_eq(fx.crm->n.logs_failed, 1);
	cr_assert_eq(fx.crm->n.logs_done, 0);
	cr_assert_eq(fx.crm->n.log_retries, 2);
	/* 100 + 200 ms of backoff, no more. */
	cr_assert_geq(pbx_clock_mono_ms() - t0, 300);
	/* The event, the contact, the note three times (1 + 2 retries). */
	cr_assert_eq(fx.nreq, 5);
	cr_assert_str_eq(fx.path[0], "/api/v4/calls");
	cr_assert(strstr(fx.body[0], "\"uniq\":\"call-9\""));
	cr_assert_str_eq(fx.path[1], "/api/v4/contacts?query=79160000001");
	cr_assert_str_eq(fx.path[4], "/api/v4/contacts/notes");
	run_ms(500);
	cr_assert_eq(fx.nreq, 5, "no retry after the last");
}
