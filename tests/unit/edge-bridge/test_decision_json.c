/* Tests for services/edge-bridge/decision_json.c: Kamailio's call.new JSON
 * into CallNew, and RouteDecision into the reply frames Kamailio's
 * ROUTER_DECISION route reads (integer tindex/tlabel, no injection). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decision_json.h"
#include "pbx_test.h"

TestSuite(decision_json, .fini = pbx_test_fini);

/* What kamailio.cfg's ASK_ROUTER builds with jansson_set. */
static const char *const call_new_json =
	"{\"event\":\"call.new\",\"tindex\":46540,\"tlabel\":1882203187,"
	"\"callid\":\"abc@127.0.0.2\",\"from_user\":\"15550001\","
	"\"from_uri\":\"sip:15550001@127.0.0.2\",\"to_user\":\"404\","
	"\"to_uri\":\"sip:404@127.0.0.1\",\"src_ip\":\"127.0.0.2\","
	"\"src_port\":5070,\"transport\":\"udp\"}";

static json_t *parse_ok(const char *s, enum decision_json_event want)
{
	enum decision_json_event ev;
	json_t *root = NULL;

	cr_assert_eq(decision_json_parse(&root, &ev, s, strlen(s)), 0);
	cr_assert_eq(ev, want);
	return root;
}

/* Parses s as call.new and returns decision_json_call_new()'s result. */
static int call_new_of(const char *s, const char **badp)
{
	struct decision_json_call call;
	json_t *root = parse_ok(s, DECISION_JSON_CALL_NEW);
	int err = decision_json_call_new(&call, badp, root, "edge1");

	json_decref(root);
	return err;
}

/* call_new_json with one field removed or replaced ("key":value). */
static char *variant(const char *key, const char *replacement)
{
	json_t *root = json_loads(call_new_json, 0, NULL);
	char *s;

	cr_assert_not_null(root);
	if (replacement)
		json_object_set_new(root, key, json_loads(replacement,
							  JSON_DECODE_ANY,
							  NULL));
	else
		json_object_del(root, key);
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return s;
}

Test(decision_json, call_new_from_kamailio_json)
{
	struct decision_json_call call;
	json_t *root = parse_ok(call_new_json, DECISION_JSON_CALL_NEW);

	cr_assert_eq(decision_json_call_new(&call, NULL, root, "edge1"), 0);
	cr_assert_str_eq(call.msg.edge_id, "edge1");
	cr_assert_eq(call.msg.tindex, 46540);
	cr_assert_eq(call.msg.tlabel, 1882203187u);
	cr_assert_str_eq(call.call_id, "abc@127.0.0.2");
	cr_assert_str_eq(call.msg.from_user, "15550001");
	cr_assert_str_eq(call.msg.from_uri, "sip:15550001@127.0.0.2");
	cr_assert_str_eq(call.msg.to_user, "404");
	cr_assert_str_eq(call.msg.to_uri, "sip:404@127.0.0.1");
	cr_assert_str_eq(call.msg.src_ip, "127.0.0.2");
	cr_assert_eq(call.msg.src_port, 5070);
	cr_assert_str_eq(call.msg.transport, "udp");
	json_decref(root);
}

/* call_new_json with several fields set (a JSON object of them). */
static char *with_fields(const char *fields)
{
	json_t *root = json_loads(call_new_json, 0, NULL);
	json_t *add = json_loads(fields, 0, NULL);
	char *s;

	cr_assert_not_null(root);
	cr_assert_not_null(add, "valid test JSON: %s", fields);
	json_object_update(root, add);
	json_decref(add);
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return s;
}

/* Parses s (freed here) as call.new; the fields end up in *call, which
 * points into *rootp (json_decref() it). */
static void call_of(struct decision_json_call *call, json_t **rootp,
		    char *s)
{
	*rootp = parse_ok(s, DECISION_JSON_CALL_NEW);
	free(s);
	cr_assert_eq(decision_json_call_new(call, NULL, *rootp, "edge1"), 0);
}

Test(decision_json, call_new_without_source_is_unknown)
{
	struct decision_json_call call;
	json_t *root = parse_ok(call_new_json, DECISION_JSON_CALL_NEW);

	/* A Kamailio config older than the field: nothing established. */
	cr_assert_eq(decision_json_call_new(&call, NULL, root, "edge1"), 0);
	cr_assert_str_eq(call.msg.source, "unknown");
	cr_assert_str_eq(call.msg.source_trunk, "");
	cr_assert_str_eq(call.msg.caller_domain, "");
	cr_assert_str_eq(call.msg.caller_tenant, "");
	json_decref(root);
}

Test(decision_json, call_new_from_trunk_names_the_trunk)
{
	struct decision_json_call call;
	json_t *root;

	call_of(&call, &root,
		with_fields("{\"source\":\"trunk\","
			    "\"source_trunk\":\"carrier1\"}"));
	cr_assert_str_eq(call.msg.source, "trunk");
	cr_assert_str_eq(call.msg.source_trunk, "carrier1");
	cr_assert_str_eq(call.msg.caller_tenant, "");
	json_decref(root);
}

Test(decision_json, call_new_from_extension_names_domain_and_tenant)
{
	struct decision_json_call call;
	json_t *root;

	/* What ASK_ROUTER sends after a digest-authenticated INVITE. */
	call_of(&call, &root,
		with_fields("{\"source\":\"extension\","
			    "\"caller_domain\":\"acme.pbx.local\","
			    "\"caller_tenant\":\"acme\"}"));
	cr_assert_str_eq(call.msg.source, "extension");
	cr_assert_str_eq(call.msg.caller_domain, "acme.pbx.local");
	cr_assert_str_eq(call.msg.caller_tenant, "acme");
	cr_assert_str_eq(call.msg.source_trunk, "");
	json_decref(root);
}

Test(decision_json, call_new_explicit_unknown_source)
{
	struct decision_json_call call;
	json_t *root;

	call_of(&call, &root, with_fields("{\"source\":\"unknown\"}"));
	cr_assert_str_eq(call.msg.source, "unknown");
	json_decref(root);
}

Test(decision_json, call_new_worker_source_drops_caller_fields)
{
	struct decision_json_call call;
	json_t *root;

	/* A media worker's cascade leg into a conference (Kamailio's
	 * BLEG_CONF): no tenant of the caller's own comes with it. */
	call_of(&call, &root,
		with_fields("{\"source\":\"worker\","
			    "\"caller_tenant\":\"acme\"}"));
	cr_assert_str_eq(call.msg.source, "worker");
	cr_assert_str_eq(call.msg.caller_tenant, "");
	json_decref(root);
}

Test(decision_json, call_new_fields_of_another_source_are_dropped)
{
	struct decision_json_call call;
	json_t *root;

	/* The router must never see a caller tenant on a trunk call, nor a
	 * trunk on an unauthenticated one. */
	call_of(&call, &root,
		with_fields("{\"source\":\"trunk\","
			    "\"source_trunk\":\"carrier1\","
			    "\"caller_domain\":\"acme.pbx.local\","
			    "\"caller_tenant\":\"acme\"}"));
	cr_assert_str_eq(call.msg.caller_domain, "");
	cr_assert_str_eq(call.msg.caller_tenant, "");
	json_decref(root);
	call_of(&call, &root,
		with_fields("{\"source\":\"unknown\","
			    "\"source_trunk\":\"carrier1\","
			    "\"caller_tenant\":\"acme\"}"));
	cr_assert_str_eq(call.msg.source_trunk, "");
	cr_assert_str_eq(call.msg.caller_tenant, "");
	json_decref(root);
}

Test(decision_json, call_new_source_without_its_details_is_an_error)
{
	static const struct {
		const char *fields, *bad;
	} cases[] = {
		{"{\"source\":\"trunk\"}", "source_trunk"},
		{"{\"source\":\"trunk\",\"source_trunk\":\"\"}",
		 "source_trunk"},
		{"{\"source\":\"extension\",\"caller_tenant\":\"acme\"}",
		 "caller_domain"},
		{"{\"source\":\"extension\","
		 "\"caller_domain\":\"acme.pbx.local\"}",
		 "caller_tenant"},
		{"{\"source\":\"operator\"}", "source"},
		{"{\"source\":7}", "source"},
		{"{\"source\":\"trunk\",\"source_trunk\":[1]}",
		 "source_trunk"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = with_fields(cases[i].fields);
		const char *bad = NULL;

		cr_expect_eq(call_new_of(s, &bad), -EINVAL, "%s",
			     cases[i].fields);
		cr_expect_str_eq(bad ? bad : "(null)", cases[i].bad, "%s",
				 cases[i].fields);
		free(s);
	}
}

Test(decision_json, call_new_label_above_int32_is_kept)
{
	char *s = variant("tlabel", "4294967295");

	cr_assert_eq(call_new_of(s, NULL), 0);
	free(s);
}

Test(decision_json, call_new_missing_fields_are_errors)
{
	static const char *const required[] = {
		"tindex", "tlabel", "callid", "from_uri",
		"to_uri", "src_ip", "src_port", "transport",
	};

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		char *s = variant(required[i], NULL);
		const char *bad = NULL;

		cr_expect_eq(call_new_of(s, &bad), -EINVAL, "without %s",
			     required[i]);
		cr_expect_str_eq(bad ? bad : "(null)", required[i]);
		free(s);
	}
}

Test(decision_json, call_new_user_parts_are_optional)
{
	char *s = variant("from_user", NULL), *t;

	cr_assert_eq(call_new_of(s, NULL), 0);
	t = variant("to_user", "null");
	cr_assert_eq(call_new_of(t, NULL), 0);
	free(s);
	free(t);
}

Test(decision_json, call_new_string_tindex_is_an_error)
{
	/* Kamailio's t_continue() cannot use a string; neither do we. */
	char *s = variant("tindex", "\"46540\"");
	const char *bad;

	cr_assert_eq(call_new_of(s, &bad), -EINVAL);
	cr_assert_str_eq(bad, "tindex");
	free(s);
}

Test(decision_json, call_new_out_of_range_numbers_are_errors)
{
	char *a = variant("tindex", "-1"), *b = variant("tlabel",
							"4294967296"),
	     *c = variant("src_port", "65536");

	cr_assert_eq(call_new_of(a, NULL), -EINVAL);
	cr_assert_eq(call_new_of(b, NULL), -EINVAL);
	cr_assert_eq(call_new_of(c, NULL), -EINVAL);
	free(a);
	free(b);
	free(c);
}

Test(decision_json, call_new_empty_callid_is_an_error)
{
	char *s = variant("callid", "\"\"");

	cr_assert_eq(call_new_of(s, NULL), -EINVAL);
	free(s);
}

Test(decision_json, malformed_json_is_an_error)
{
	static const char *const bad[] = {
		"", "{", "[1,2]", "\"call.new\"", "{\"tindex\":1}",
		"{\"event\":7}",
		"{\"event\":\"call.new\",\"event\":\"call.new\"}",
	};
	enum decision_json_event ev;
	json_t *root;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(decision_json_parse(&root, &ev, bad[i],
						 strlen(bad[i])),
			     -EINVAL, "'%s'", bad[i]);
}

Test(decision_json, unknown_event_is_reported_as_unknown)
{
	json_t *root = parse_ok("{\"event\":\"call.ringing\"}",
				DECISION_JSON_UNKNOWN);

	json_decref(root);
}

Test(decision_json, canceled_event_gives_its_callid)
{
	json_t *root = parse_ok("{\"event\":\"call.canceled\","
				"\"callid\":\"c1@h\"}",
				DECISION_JSON_CALL_CANCELED);
	const char *cid;

	cr_assert_eq(decision_json_canceled(&cid, root), 0);
	cr_assert_str_eq(cid, "c1@h");
	json_decref(root);
	root = parse_ok("{\"event\":\"call.canceled\"}",
			DECISION_JSON_CALL_CANCELED);
	cr_assert_eq(decision_json_canceled(&cid, root), -EINVAL);
	json_decref(root);
}

/* Parses a reply frame and checks the fields every reply carries. */
static json_t *reply_of(const char *json, json_int_t tindex,
			json_int_t tlabel, const char *action)
{
	json_t *r = json_loads(json, 0, NULL);

	cr_assert_not_null(r, "valid JSON: %s", json);
	cr_assert(json_is_integer(json_object_get(r, "tindex")),
		  "tindex is an integer");
	cr_assert(json_is_integer(json_object_get(r, "tlabel")),
		  "tlabel is an integer");
	cr_assert_eq(json_integer_value(json_object_get(r, "tindex")), tindex);
	cr_assert_eq(json_integer_value(json_object_get(r, "tlabel")), tlabel);
	cr_assert_str_eq(json_string_value(json_object_get(r, "action")),
			 action);
	return r;
}

Test(decision_json, reject_decision_has_integer_ids_and_code)
{
	Pbx__V1__RouteDecision d = PBX__V1__ROUTE_DECISION__INIT;
	char *json;
	json_t *r;

	d.action = PBX__V1__ROUTE_DECISION__ACTION__ACTION_REJECT;
	d.sip_code = 486;
	d.reason = "Busy Here";
	cr_assert_eq(decision_json_from_decision(&json, 46540, 1882203187u, &d,
						 "acme"),
		     0);
	r = reply_of(json, 46540, 1882203187, "reject");
	cr_assert(json_is_integer(json_object_get(r, "code")));
	cr_assert_eq(json_integer_value(json_object_get(r, "code")), 486);
	cr_assert_str_eq(json_string_value(json_object_get(r, "reason")),
			 "Busy Here");
	cr_assert_str_eq(json_string_value(json_object_get(r, "tenant")),
			 "acme");
	json_decref(r);
	free(json);
}

Test(decision_json, media_decision_has_uri_tenant_and_worker)
{
	Pbx__V1__RouteDecision d = PBX__V1__ROUTE_DECISION__INIT;
	char *json;
	json_t *r;

	d.action = PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA;
	d.media_uri = "sip:127.0.0.3:5080";
	d.worker_id = "mw1";
	cr_assert_eq(decision_json_from_decision(&json, 1, 4294967295u, &d,
						 "acme"),
		     0);
	r = reply_of(json, 1, 4294967295LL, "media");
	cr_assert_str_eq(json_string_value(json_object_get(r, "uri")),
			 "sip:127.0.0.3:5080");
	cr_assert_str_eq(json_string_value(json_object_get(r, "tenant")),
			 "acme");
	cr_assert_str_eq(json_string_value(json_object_get(r, "worker")),
			 "mw1");
	cr_assert_str_eq(json_string_value(json_object_get(r, "alt_uri")), "",
			 "no fallback worker: empty, never null");
	json_decref(r);
	free(json);
}

Test(decision_json, media_decision_carries_the_fallback_worker)
{
	Pbx__V1__RouteDecision d = PBX__V1__ROUTE_DECISION__INIT;
	char *json;
	json_t *r;

	d.action = PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA;
	d.media_uri = "sip:127.0.0.3:5080";
	d.worker_id = "mw1";
	d.alt_media_uri = "sip:127.0.0.3:5082";
	d.alt_worker_id = "mw2";
	cr_assert_eq(decision_json_from_decision(&json, 1, 2, &d, "acme"), 0);
	r = reply_of(json, 1, 2, "media");
	cr_assert_str_eq(json_string_value(json_object_get(r, "alt_uri")),
			 "sip:127.0.0.3:5082");
	json_decref(r);
	free(json);
	d.alt_media_uri = "sip:127.0.0.3:5082\r\nX-Evil: 1";
	cr_assert_eq(decision_json_from_decision(&json, 1, 2, &d, "acme"),
		     -EINVAL, "a header injected through the fallback uri");
	d.alt_media_uri = "http://x";
	cr_assert_eq(decision_json_from_decision(&json, 1, 2, &d, "acme"),
		     -EINVAL);
}

Test(decision_json, call_end_names_the_call)
{
	char *json;
	json_t *r;

	cr_assert_eq(decision_json_call_end(&json, "abc@host",
					    "media worker mw1 lost"),
		     0);
	r = json_loads(json, 0, NULL);
	cr_assert_not_null(r);
	cr_assert_str_eq(json_string_value(json_object_get(r, "event")),
			 "call.end");
	cr_assert_str_eq(json_string_value(json_object_get(r, "callid")),
			 "abc@host");
	json_decref(r);
	free(json);
	cr_assert_eq(decision_json_call_end(&json, "", "x"), -EINVAL);
	cr_assert_eq(decision_json_call_end(&json, "a\nb", "x"), -EINVAL);
}

Test(decision_json, bridge_reject_without_tenant_sends_empty_tenant)
{
	char *json;
	json_t *r;

	cr_assert_eq(decision_json_reject(&json, 7, 8, 503, "Router timeout",
					  NULL, 0),
		     0);
	r = reply_of(json, 7, 8, "reject");
	cr_assert_str_eq(json_string_value(json_object_get(r, "tenant")), "");
	cr_assert_str_eq(json_string_value(json_object_get(r, "reason")),
			 "Router timeout");
	json_decref(r);
	free(json);
}

Test(decision_json, quotes_in_strings_are_escaped_not_interpolated)
{
	char *json;
	json_t *r;

	cr_assert_eq(decision_json_reject(&json, 1, 2, 404,
					  "No \"such\" user", "a\"b", 0),
		     0);
	r = reply_of(json, 1, 2, "reject");
	cr_assert_str_eq(json_string_value(json_object_get(r, "reason")),
			 "No \"such\" user");
	cr_assert_str_eq(json_string_value(json_object_get(r, "tenant")),
			 "a\"b");
	json_decref(r);
	free(json);
}

Test(decision_json, constant_reject_carries_its_cache_time_but_503_never)
{
	Pbx__V1__RouteDecision d = PBX__V1__ROUTE_DECISION__INIT;
	char *json;
	json_t *r;

	d.action = PBX__V1__ROUTE_DECISION__ACTION__ACTION_REJECT;
	d.sip_code = 486;
	d.reason = "Busy Here";
	d.edge_cache_ms = 2000;
	cr_assert_eq(decision_json_from_decision(&json, 1, 2, &d, "acme"), 0);
	r = reply_of(json, 1, 2, "reject");
	cr_assert_eq(json_integer_value(json_object_get(r, "cache_ms")), 2000);
	json_decref(r);
	free(json);

	d.sip_code = 503;
	d.reason = "Service Unavailable";
	cr_assert_eq(decision_json_from_decision(&json, 1, 2, &d, "acme"), 0);
	r = reply_of(json, 1, 2, "reject");
	cr_assert_eq(json_integer_value(json_object_get(r, "cache_ms")), 0,
		     "a transient refusal is never repeated by the edge");
	json_decref(r);
	free(json);

	d.sip_code = 404;
	d.edge_cache_ms = 3600000;
	cr_assert_eq(decision_json_from_decision(&json, 1, 2, &d, "acme"), 0);
	r = reply_of(json, 1, 2, "reject");
	cr_assert_eq(json_integer_value(json_object_get(r, "cache_ms")), 60000,
		     "capped at a minute");
	json_decref(r);
	free(json);
}

Test(decision_json, unusable_decisions_are_refused)
{
	Pbx__V1__RouteDecision d = PBX__V1__ROUTE_DECISION__INIT;
	char *json = NULL;

	cr_expect_eq(decision_json_from_decision(&json, 1, 2, &d, ""), -EINVAL,
		     "unspecified action");
	d.action = PBX__V1__ROUTE_DECISION__ACTION__ACTION_REJECT;
	d.sip_code = 200;
	cr_expect_eq(decision_json_from_decision(&json, 1, 2, &d, ""), -EINVAL,
		     "reject with 200");
	d.sip_code = 404;
	d.reason = "Not Found\r\nX-Evil: 1";
	cr_expect_eq(decision_json_from_decision(&json, 1, 2, &d, ""), -EINVAL,
		     "CRLF in reason");
	d.reason = "Not Found";
	cr_expect_eq(decision_json_from_decision(&json, 1, 2, &d, "a\r\nb"),
		     -EINVAL, "CRLF in tenant");
	d.action = PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA;
	d.media_uri = "http://127.0.0.3";
	cr_expect_eq(decision_json_from_decision(&json, 1, 2, &d, ""), -EINVAL,
		     "not a SIP URI");
	d.media_uri = "";
	cr_expect_eq(decision_json_from_decision(&json, 1, 2, &d, ""), -EINVAL,
		     "empty URI");
	cr_assert_null(json, "nothing allocated on failure");
}
