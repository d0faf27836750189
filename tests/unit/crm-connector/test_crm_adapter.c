/* services/crm-connector adapters: the request each vendor's adapter
 * builds (URL, headers, body as the vendor documents it) and how each
 * answer shape reads, error bodies included. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "crm_adapter.h"
#include "notify_sign.h"
#include "pbx_test.h"

static struct crm_settings s;
static struct crm_req r;
static struct crm_answer a;

static void setup(void)
{
	memset(&s, 0, sizeof(s));
	memset(&r, 0, sizeof(r));
	memset(&a, 0, sizeof(a));
}

static void teardown(void)
{
	crm_req_clear(&r);
	pbx_test_fini();
}

TestSuite(crm_adapter, .init = setup, .fini = teardown);

static const struct crm_query query = {
	.tenant = "t1",
	.call_id = "call-1",
	.caller = "79161234567",
	.called = "74951234567",
	.now_s = 1800000000,
};

static json_t *body(void)
{
	json_t *j = json_loads(r.body, 0, NULL);

	cr_assert_not_null(j, "body is not JSON: %s", r.body);
	return j;
}

static void parse(const struct crm_adapter *ad, long status, const char *b)
{
	ad->lookup_parse(status, b, b ? strlen(b) : 0, &a);
}

Test(crm_adapter, table_names_every_vendor)
{
	cr_assert_eq(crm_adapter_find("bitrix24"), &crm_bitrix24);
	cr_assert_eq(crm_adapter_find("amocrm"), &crm_amocrm);
	cr_assert_eq(crm_adapter_find("api"), &crm_api);
	cr_assert_null(crm_adapter_find("salesforce"));
	cr_assert(crm_adapter_field(&crm_api, "secret")->secret);
	cr_assert_null(crm_adapter_field(&crm_api, "access_token"));
}

/* ---- Bitrix24 ------------------------------------------------------------ */

Test(crm_adapter, bitrix_search_posts_the_phone_to_the_webhook_method)
{
	json_t *j;

	snprintf(s.url, sizeof(s.url), "https://b24.example/rest/1/abc/");
	cr_assert_eq(crm_bitrix24.lookup_build(&s, &query, &r), 0);
	cr_assert_str_eq(r.url, "https://b24.example/rest/1/abc/"
				"telephony.externalCall.searchCrmEntities.json");
	cr_assert_str_eq(r.hdr[0], "Content-Type: application/json");
	j = body();
	cr_assert_str_eq(json_string_value(json_object_get(j, "PHONE_NUMBER")),
			 "79161234567");
	json_decref(j);
	crm_req_clear(&r);
	s.url[0] = '\0';
	cr_assert_eq(crm_bitrix24.lookup_build(&s, &query, &r), -EINVAL);
}

Test(crm_adapter, bitrix_search_answer_names_the_first_entitys_owner)
{
	parse(&crm_bitrix24, 200,
	      "{\"result\":[{\"CRM_ENTITY_TYPE\":\"CONTACT\",\"CRM_ENTITY_ID\":"
	      "7,\"ASSIGNED_BY_ID\":\"17\",\"NAME\":\"Ivan Petrov\","
	      "\"ASSIGNED_BY\":{\"ID\":\"17\",\"USER_PHONE_INNER\":\"101\"}},"
	      "{\"CRM_ENTITY_TYPE\":\"COMPANY\",\"ASSIGNED_BY_ID\":\"9\"}],"
	      "\"time\":{\"start\":1}}");
	cr_assert_eq(a.v, CRM_V_OWNER);
	cr_assert_str_eq(a.user, "17");
	cr_assert_str_eq(a.ext, "101");
	cr_assert_str_eq(a.name, "Ivan Petrov");
	parse(&crm_bitrix24, 200, "{\"result\":[],\"time\":{}}");
	cr_assert_eq(a.v, CRM_V_NOT_FOUND);
}

Test(crm_adapter, bitrix_errors_carry_the_vendors_code_not_the_url)
{
	parse(&crm_bitrix24, 401,
	      "{\"error\":\"INVALID_CREDENTIALS\",\"error_description\":"
	      "\"Invalid request credentials\"}");
	cr_assert_eq(a.v, CRM_V_ERROR);
	cr_assert_str_eq(a.detail, "bitrix24: HTTP 401 INVALID_CREDENTIALS: "
				   "Invalid request credentials");
	parse(&crm_bitrix24, 503, "<html>busy</html>");
	cr_assert_eq(a.v, CRM_V_ERROR);
	cr_assert_str_eq(a.detail, "bitrix24: HTTP 503");
	parse(&crm_bitrix24, 200, "{\"result\":");
	cr_assert_eq(a.v, CRM_V_ERROR);
	parse(&crm_bitrix24, 200,
	      "{\"error\":\"QUERY_LIMIT_EXCEEDED\",\"error_description\":"
	      "\"Too many requests\"}");
	cr_assert_eq(a.v, CRM_V_ERROR);
}

Test(crm_adapter, bitrix_call_log_is_register_then_finish)
{
	struct crm_call c = {.tenant = "t1", .call_id = "call-1",
			     .caller = "79161234567", .called = "74951234567",
			     .ext = "101", .user = "17", .answered = true,
			     .started_ms = 1800000000000ull, .duration_s = 42};
	struct crm_answer prev = {0};
	json_t *j;

	snprintf(s.url, sizeof(s.url), "https://b24.example/rest/1/abc");
	cr_assert_eq(crm_bitrix24.log_build(&s, &c, 0, &prev, &r), 0);
	cr_assert_str_eq(r.url, "https://b24.example/rest/1/abc/"
				"telephony.externalcall.register.json");
	j = body();
	cr_assert_str_eq(json_string_value(json_object_get(j, "USER_ID")),
			 "17");
	cr_assert_str_eq(json_string_value(json_object_get(j, "PHONE_NUMBER")),
			 "79161234567");
	cr_assert_eq(json_integer_value(json_object_get(j, "TYPE")), 2);
	cr_assert_str_eq(
		json_string_value(json_object_get(j, "CALL_START_DATE")),
		"2027-01-15T08:00:00+00:00");
	json_decref(j);
	crm_req_clear(&r);

	{
		static const char reg[] =
			"{\"result\":{\"CALL_ID\":\"externalCall.9f.1\","
			"\"CRM_ENTITY_TYPE\":\"CONTACT\"}}";

		crm_bitrix24.log_parse(&s, 0, 200, reg, strlen(reg), &prev);
	}
	cr_assert_eq(prev.v, CRM_V_OWNER);
	cr_assert_str_eq(prev.call_ref, "externalCall.9f.1");
	cr_assert_eq(crm_bitrix24.log_build(&s, &c, 1, &prev, &r), 0);
	cr_assert_str_eq(r.url, "https://b24.example/rest/1/abc/"
				"telephony.externalcall.finish.json");
	j = body();
	cr_assert_str_eq(json_string_value(json_object_get(j, "CALL_ID")),
			 "externalCall.9f.1");
	cr_assert_eq(json_integer_value(json_object_get(j, "DURATION")), 42);
	cr_assert_eq(json_integer_value(json_object_get(j, "STATUS_CODE")),
		     200);
	json_decref(j);
	crm_req_clear(&r);
	cr_assert_eq(crm_bitrix24.log_build(&s, &c, 2, &prev, &r), 1);
	/* A missed call finishes as 304; a register without CALL_ID fails. */
	c.answered = false;
	cr_assert_eq(crm_bitrix24.log_build(&s, &c, 1, &prev, &r), 0);
	j = body();
	cr_assert_eq(json_integer_value(json_object_get(j, "STATUS_CODE")),
		     304);
	json_decref(j);
	crm_bitrix24.log_parse(&s, 0, 200, "{\"result\":{}}", 13, &prev);
	cr_assert_eq(prev.v, CRM_V_ERROR);
}

/* ---- amoCRM -------------------------------------------------------------- */

/* An OAuth application's settings, its token due in an hour. */
static void oauth_settings(const char *id, const char *secret, const char *at,
			   const char *rt)
{
	snprintf(s.client_id, sizeof(s.client_id), "%s", id);
	snprintf(s.client_secret, sizeof(s.client_secret), "%s", secret);
	snprintf(s.access_token, sizeof(s.access_token), "%s", at);
	snprintf(s.refresh_token, sizeof(s.refresh_token), "%s", rt);
	s.expires_at = 1800000000 + 3600;
}

static void amo_settings(void)
{
	snprintf(s.url, sizeof(s.url), "https://acme.amocrm.ru/");
	snprintf(s.redirect_uri, sizeof(s.redirect_uri), "https://pbx/cb");
	oauth_settings("cid", "csecret", "AT1", "RT1");
}

Test(crm_adapter, amo_contacts_query_with_the_bearer_token)
{
	amo_settings();
	cr_assert_eq(crm_amocrm.lookup_build(&s, &query, &r), 0);
	cr_assert_str_eq(r.url,
			 "https://acme.amocrm.ru/api/v4/contacts?query=79161234567");
	cr_assert_null(r.body);
	cr_assert_str_eq(r.hdr[0], "Authorization: Bearer AT1");
	crm_req_clear(&r);
	/* Only digits go into the query string. */
	cr_assert_eq(crm_amocrm.lookup_build(
			     &s,
			     &(struct crm_query){.caller = "7916&x=1",
						 .tenant = "t1"},
			     &r),
		     -EINVAL);
}

Test(crm_adapter, amo_answers_owner_204_not_found_and_401_refresh)
{
	parse(&crm_amocrm, 200,
	      "{\"_page\":1,\"_embedded\":{\"contacts\":[{\"id\":3,\"name\":"
	      "\"Anna\",\"responsible_user_id\":504141}]}}");
	cr_assert_eq(a.v, CRM_V_OWNER);
	cr_assert_str_eq(a.user, "504141");
	cr_assert_str_eq(a.name, "Anna");
	parse(&crm_amocrm, 204, NULL);
	cr_assert_eq(a.v, CRM_V_NOT_FOUND);
	parse(&crm_amocrm, 401,
	      "{\"title\":\"Unauthorized\",\"type\":\"https://httpstatus.es/"
	      "401\",\"status\":401,\"detail\":\"Unauthorized\"}");
	cr_assert_eq(a.v, CRM_V_AUTH);
	parse(&crm_amocrm, 500, "oops");
	cr_assert_eq(a.v, CRM_V_ERROR);
	cr_assert_str_eq(a.detail, "amocrm: HTTP 500");
}

Test(crm_adapter, amo_refresh_request_and_answer_store_the_new_pair)
{
	char why[160];
	json_t *j;

	amo_settings();
	cr_assert_not(crm_token_due(&s, 1800000000, 300));
	cr_assert(crm_token_due(&s, 1800000000 + 3300, 300));
	cr_assert_eq(crm_amocrm.refresh_build(&s, &r), 0);
	cr_assert_str_eq(r.url, "https://acme.amocrm.ru/oauth2/access_token");
	j = body();
	cr_assert_str_eq(json_string_value(json_object_get(j, "grant_type")),
			 "refresh_token");
	cr_assert_str_eq(
		json_string_value(json_object_get(j, "refresh_token")), "RT1");
	cr_assert_str_eq(json_string_value(json_object_get(j, "client_id")),
			 "cid");
	cr_assert_str_eq(json_string_value(json_object_get(j, "redirect_uri")),
			 "https://pbx/cb");
	json_decref(j);
	{
		static const char tok[] =
			"{\"token_type\":\"Bearer\",\"expires_in\":86400,"
			"\"access_token\":\"AT2\",\"refresh_token\":\"RT2\"}";

		cr_assert_eq(crm_token_parse("amocrm", 200, tok, strlen(tok),
					     1800000100, &s, why, sizeof(why)),
			     0);
	}
	cr_assert_str_eq(s.access_token, "AT2");
	cr_assert_str_eq(s.refresh_token, "RT2");
	cr_assert_eq(s.expires_at, 1800000100 + 86400);
	cr_assert_eq(crm_token_parse(
			     "amocrm", 400,
			     "{\"hint\":\"Token has been revoked\",\"title\":"
			     "\"Bad Request\",\"status\":400}",
			     70, 0, &s, why, sizeof(why)),
		     -EACCES);
	cr_assert_str_eq(s.access_token, "AT2", "a refusal keeps the tokens");
	cr_assert_eq(crm_token_parse("amocrm", 200, "{}", 2, 0, &s, why,
				     sizeof(why)),
		     -EPROTO);
}

Test(crm_adapter, amo_call_log_posts_an_inbound_call)
{
	struct crm_call c = {.tenant = "t1", .call_id = "call-1",
			     .caller = "79161234567", .ext = "101",
			     .user = "504141", .answered = false,
			     .started_ms = 1800000000000ull};
	struct crm_answer prev = {0};
	json_t *j, *call;

	amo_settings();
	cr_assert_eq(crm_amocrm.log_build(&s, &c, 0, &prev, &r), 0);
	cr_assert_str_eq(r.url, "https://acme.amocrm.ru/api/v4/calls");
	j = body();
	call = json_array_get(j, 0);
	cr_assert_str_eq(json_string_value(json_object_get(call, "direction")),
			 "inbound");
	cr_assert_str_eq(json_string_value(json_object_get(call, "uniq")),
			 "call-1");
	cr_assert_eq(json_integer_value(json_object_get(call, "call_status")),
		     6);
	cr_assert_eq(json_integer_value(
			     json_object_get(call, "responsible_user_id")),
		     504141);
	json_decref(j);
}

Test(crm_adapter, amo_call_notes_find_the_contact_then_post_call_in)
{
	struct crm_call c = {.tenant = "t1", .call_id = "call-1",
			     .caller = "79161234567", .ext = "101",
			     .user = "504141", .answered = true,
			     .started_ms = 1800000000000ull, .duration_s = 42};
	struct crm_answer prev = {0};
	static const char found[] =
		"{\"_embedded\":{\"contacts\":[{\"id\":3301,\"name\":\"Anna\","
		"\"responsible_user_id\":504141}]}}";
	json_t *j, *note, *p;

	amo_settings();
	s.log_mode = CRM_LOG_NOTES;
	cr_assert_eq(crm_amocrm.log_build(&s, &c, 0, &prev, &r), 0);
	cr_assert_str_eq(r.url, "https://acme.amocrm.ru/api/v4/contacts"
				"?query=79161234567");
	cr_assert_null(r.body);
	crm_req_clear(&r);
	crm_amocrm.log_parse(&s, 0, 200, found, strlen(found), &prev);
	cr_assert_eq(prev.v, CRM_V_OWNER);
	cr_assert_str_eq(prev.call_ref, "3301");
	cr_assert_eq(crm_amocrm.log_build(&s, &c, 1, &prev, &r), 0);
	cr_assert_str_eq(r.url, "https://acme.amocrm.ru/api/v4/contacts/notes");
	cr_assert_str_eq(r.hdr[0], "Authorization: Bearer AT1");
	j = body();
	note = json_array_get(j, 0);
	cr_assert_eq(json_integer_value(json_object_get(note, "entity_id")),
		     3301);
	cr_assert_str_eq(json_string_value(json_object_get(note, "note_type")),
			 "call_in");
	p = json_object_get(note, "params");
	cr_assert_str_eq(json_string_value(json_object_get(p, "uniq")),
			 "call-1");
	cr_assert_eq(json_integer_value(json_object_get(p, "duration")), 42);
	cr_assert_str_eq(json_string_value(json_object_get(p, "source")),
			 "pbx");
	cr_assert_str_eq(json_string_value(json_object_get(p, "phone")),
			 "79161234567");
	cr_assert_str_eq(json_string_value(json_object_get(p, "call_result")),
			 "answered by 101");
	cr_assert_eq(json_integer_value(json_object_get(p, "call_status")), 4);
	json_decref(j);
	crm_req_clear(&r);
	crm_amocrm.log_parse(&s, 1, 200, "{\"_embedded\":{\"notes\":[]}}", 27,
			     &prev);
	cr_assert_eq(prev.v, CRM_V_OWNER);
	cr_assert_eq(crm_amocrm.log_build(&s, &c, 2, &prev, &r), 1);
	/* An unknown caller (204): no contact, nothing to note. */
	crm_amocrm.log_parse(&s, 0, 204, NULL, 0, &prev);
	cr_assert_eq(prev.v, CRM_V_OWNER);
	cr_assert_eq(crm_amocrm.log_build(&s, &c, 1, &prev, &r), 1);
	/* The note refused: problem+json read, 401 asks for a refresh. */
	{
		static const char bad[] =
			"{\"title\":\"Bad Request\",\"status\":400,"
			"\"detail\":\"Request validation failed\"}";

		crm_amocrm.log_parse(&s, 1, 400, bad, strlen(bad), &prev);
	}
	cr_assert_eq(prev.v, CRM_V_ERROR);
	cr_assert_str_eq(prev.detail, "amocrm: HTTP 400 Bad Request: Request "
				      "validation failed");
	crm_amocrm.log_parse(&s, 1, 401, NULL, 0, &prev);
	cr_assert_eq(prev.v, CRM_V_AUTH);
}

Test(crm_adapter, amo_call_log_both_is_event_then_note)
{
	struct crm_call c = {.tenant = "t1", .call_id = "call-1",
			     .caller = "79161234567", .answered = false};
	struct crm_answer prev = {0};

	amo_settings();
	s.log_mode = CRM_LOG_BOTH;
	cr_assert_eq(crm_amocrm.log_build(&s, &c, 0, &prev, &r), 0);
	cr_assert_str_eq(r.url, "https://acme.amocrm.ru/api/v4/calls");
	crm_req_clear(&r);
	cr_assert_eq(crm_amocrm.log_build(&s, &c, 1, &prev, &r), 0);
	cr_assert_str_eq(r.url, "https://acme.amocrm.ru/api/v4/contacts"
				"?query=79161234567");
	crm_req_clear(&r);
	snprintf(prev.call_ref, sizeof(prev.call_ref), "77");
	cr_assert_eq(crm_amocrm.log_build(&s, &c, 2, &prev, &r), 0);
	cr_assert_str_eq(r.url, "https://acme.amocrm.ru/api/v4/contacts/notes");
	cr_assert(strstr(r.body, "\"call_result\":\"missed\""), "%s", r.body);
	cr_assert(strstr(r.body, "\"call_status\":6"), "%s", r.body);
	crm_req_clear(&r);
	cr_assert_eq(crm_amocrm.log_build(&s, &c, 3, &prev, &r), 1);
	cr_assert_str_eq(crm_log_modes[CRM_LOG_BOTH], "both");
	cr_assert_not_null(crm_adapter_field(&crm_amocrm, "call_log")->choices);
}

/* ---- Bitrix24 OAuth application ------------------------------------------- */

static void b24_app_settings(void)
{
	snprintf(s.portal_url, sizeof(s.portal_url),
		 "https://acme.bitrix24.ru/rest/");
	oauth_settings("local.65a1.7741", "cs+/=", "b24at1", "b24rt1");
}

Test(crm_adapter, bitrix_app_passes_the_token_as_auth)
{
	struct crm_call c = {.caller = "79161234567", .user = "17",
			     .answered = true};
	struct crm_answer prev = {0};

	b24_app_settings();
	cr_assert(crm_oauth(&crm_bitrix24, &s));
	cr_assert_eq(crm_bitrix24.lookup_build(&s, &query, &r), 0);
	cr_assert_str_eq(r.url, "https://acme.bitrix24.ru/rest/telephony."
				"externalCall.searchCrmEntities.json"
				"?auth=b24at1");
	cr_assert(strstr(r.body, "\"PHONE_NUMBER\":\"79161234567\""));
	crm_req_clear(&r);
	cr_assert_eq(crm_bitrix24.log_build(&s, &c, 0, &prev, &r), 0);
	cr_assert_str_eq(r.url, "https://acme.bitrix24.ru/rest/telephony."
				"externalcall.register.json?auth=b24at1");
	crm_req_clear(&r);
	/* No token: nothing to ask with. */
	s.access_token[0] = '\0';
	cr_assert_eq(crm_bitrix24.lookup_build(&s, &query, &r), -EINVAL);
	crm_req_clear(&r);
	/* A webhook wins over the application's settings. */
	snprintf(s.url, sizeof(s.url), "https://acme.bitrix24.ru/rest/1/c0de/");
	cr_assert_not(crm_oauth(&crm_bitrix24, &s));
	cr_assert_eq(crm_bitrix24.lookup_build(&s, &query, &r), 0);
	cr_assert_null(strstr(r.url, "auth="));
}

Test(crm_adapter, bitrix_expired_token_asks_for_a_refresh)
{
	parse(&crm_bitrix24, 401,
	      "{\"error\":\"expired_token\",\"error_description\":\"The "
	      "access token provided has expired.\"}");
	cr_assert_eq(a.v, CRM_V_AUTH);
	cr_assert_str_eq(a.detail, "bitrix24: HTTP 401 expired_token: The "
				   "access token provided has expired.");
	parse(&crm_bitrix24, 401, "{\"error\":\"invalid_token\"}");
	cr_assert_eq(a.v, CRM_V_AUTH);
	parse(&crm_bitrix24, 401, "{\"error\":\"NO_AUTH_FOUND\"}");
	cr_assert_eq(a.v, CRM_V_ERROR);
	crm_bitrix24.log_parse(&s, 1, 401, "{\"error\":\"expired_token\"}", 25,
			       &a);
	cr_assert_eq(a.v, CRM_V_AUTH);
}

Test(crm_adapter, bitrix_refresh_is_the_oauth_servers_token_get)
{
	static const char tok[] =
		"{\"access_token\":\"b24at2\",\"expires\":1800003700,"
		"\"expires_in\":3600,\"scope\":\"app\",\"domain\":"
		"\"oauth.bitrix.info\",\"server_endpoint\":\"https://oauth."
		"bitrix.info/rest/\",\"status\":\"L\",\"client_endpoint\":"
		"\"https://acme.bitrix24.ru/rest/\",\"member_id\":\"a1b2\","
		"\"user_id\":1,\"refresh_token\":\"b24rt2\"}";
	char why[160];

	b24_app_settings();
	cr_assert_eq(crm_bitrix24.refresh_build(&s, &r), 0);
	cr_assert_str_eq(r.url, "https://oauth.bitrix.info/oauth/token/"
				"?grant_type=refresh_token&client_id=local."
				"65a1.7741&client_secret=cs%2B%2F%3D"
				"&refresh_token=b24rt1");
	cr_assert_null(r.body, "a GET");
	crm_req_clear(&r);
	snprintf(s.oauth_url, sizeof(s.oauth_url), "http://127.0.0.1:9/");
	cr_assert_eq(crm_bitrix24.refresh_build(&s, &r), 0);
	cr_assert(!strncmp(r.url, "http://127.0.0.1:9/oauth/token/?", 32),
		  "%s", r.url);
	cr_assert_eq(crm_token_parse("bitrix24", 200, tok, strlen(tok),
				     1800000100, &s, why, sizeof(why)),
		     0);
	cr_assert_str_eq(s.access_token, "b24at2");
	cr_assert_str_eq(s.refresh_token, "b24rt2");
	cr_assert_eq(s.expires_at, 1800000100 + 3600);
	{
		static const char bad[] =
			"{\"error\":\"invalid_grant\","
			"\"error_description\":\"Invalid grant\"}";

		cr_assert_eq(crm_token_parse("bitrix24", 400, bad, strlen(bad),
					     0, &s, why, sizeof(why)),
			     -EACCES);
	}
	cr_assert_str_eq(why, "bitrix24: token refresh refused (HTTP 400 "
			      "invalid_grant)");
	cr_assert_str_eq(s.access_token, "b24at2");
	s.client_secret[0] = '\0';
	crm_req_clear(&r);
	cr_assert_eq(crm_bitrix24.refresh_build(&s, &r), -EINVAL);
}

/* ---- the generic API ------------------------------------------------------ */

Test(crm_adapter, api_lookup_is_a_signed_post)
{
	char want[NOTIFY_SIGN_MAX], hdr[NOTIFY_SIGN_MAX + 32];
	json_t *j;

	snprintf(s.url, sizeof(s.url), "https://crm.acme.example/pbx");
	snprintf(s.secret, sizeof(s.secret), "0123456789abcdef");
	cr_assert_eq(crm_api.lookup_build(&s, &query, &r), 0);
	cr_assert_str_eq(r.url, "https://crm.acme.example/pbx");
	j = body();
	cr_assert_str_eq(json_string_value(json_object_get(j, "event")),
			 "lookup");
	cr_assert_str_eq(json_string_value(json_object_get(j, "tenant")), "t1");
	cr_assert_str_eq(json_string_value(json_object_get(j, "caller")),
			 "79161234567");
	cr_assert_str_eq(json_string_value(json_object_get(j, "called")),
			 "74951234567");
	json_decref(j);
	cr_assert_eq(notify_sign(want, sizeof(want), "0123456789abcdef",
				 1800000000, r.body, strlen(r.body)),
		     0);
	snprintf(hdr, sizeof(hdr), NOTIFY_SIGN_HEADER ": %s", want);
	cr_assert_str_eq(r.hdr[1], hdr);
}

Test(crm_adapter, api_answers_extension_user_or_not_found)
{
	parse(&crm_api, 200, "{\"extension\":\"101\",\"name\":\"Ivan\"}");
	cr_assert_eq(a.v, CRM_V_OWNER);
	cr_assert_str_eq(a.ext, "101");
	cr_assert_str_eq(a.name, "Ivan");
	parse(&crm_api, 200, "{\"user\":77}");
	cr_assert_eq(a.v, CRM_V_OWNER);
	cr_assert_str_eq(a.user, "77");
	parse(&crm_api, 200, "{\"extension\":null}");
	cr_assert_eq(a.v, CRM_V_NOT_FOUND);
	parse(&crm_api, 404, "");
	cr_assert_eq(a.v, CRM_V_NOT_FOUND);
	parse(&crm_api, 200, "[1,2]");
	cr_assert_eq(a.v, CRM_V_ERROR);
	parse(&crm_api, 502, "bad gateway");
	cr_assert_eq(a.v, CRM_V_ERROR);
	cr_assert_str_eq(a.detail, "api: HTTP 502");
}

Test(crm_adapter, api_answers_an_owner_number)
{
	static const char bad_number[] = "api: the answer's number is not a "
					 "phone number (E.164, 10 to 15 "
					 "digits)";
	/* Any written form, normalised as the project's numbers are; an
	 * extension named too is kept (the connector rings it first); no
	 * phone number is an error with its cause, never a ring. */
	static const struct {
		const char *body;
		enum crm_verdict v;
		const char *number, *ext;
	} cases[] = {
		{"{\"number\":\"+7 (916) 123-45-67\",\"name\":\"Ivan\"}",
		 CRM_V_OWNER, "79161234567", ""},
		{"{\"number\":\"89161234567\"}", CRM_V_OWNER, "79161234567",
		 ""},
		{"{\"extension\":\"101\",\"number\":79161234567}",
		 CRM_V_OWNER, "79161234567", "101"},
		{"{\"number\":\"\"}", CRM_V_NOT_FOUND, "", ""},
		{"{\"number\":\"manager\"}", CRM_V_ERROR, NULL, NULL},
		{"{\"number\":\"123\"}", CRM_V_ERROR, NULL, NULL},
		{"{\"number\":\"+7916*1234567\"}", CRM_V_ERROR, NULL, NULL},
		{"{\"number\":true}", CRM_V_ERROR, NULL, NULL},
		{"{\"number\":\"12345678901234567890\"}", CRM_V_ERROR, NULL,
		 NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse(&crm_api, 200, cases[i].body);
		cr_assert_eq(a.v, cases[i].v, "%s", cases[i].body);
		if (cases[i].v == CRM_V_ERROR) {
			cr_assert_str_eq(a.detail, bad_number, "%s",
					 cases[i].body);
			continue;
		}
		cr_assert_str_eq(a.number, cases[i].number, "%s",
				 cases[i].body);
		cr_assert_str_eq(a.ext, cases[i].ext, "%s", cases[i].body);
	}
	parse(&crm_api, 200, cases[0].body);
	cr_assert_str_eq(a.name, "Ivan");
}

Test(crm_adapter, api_call_log_names_the_owner_number)
{
	struct crm_call c = {.tenant = "t1",
			     .call_id = "c1",
			     .caller = "79161234567",
			     .called = "74951112233",
			     .ext = "",
			     .user = "",
			     .number = "79035550000",
			     .answered = true,
			     .started_ms = 1000,
			     .duration_s = 7,
			     .now_s = 1700000000};

	snprintf(s.url, sizeof(s.url), "%s", "https://crm.example/hook");
	snprintf(s.secret, sizeof(s.secret), "%s", "0123456789abcdef");
	cr_assert_eq(crm_api.log_build(&s, &c, 0, NULL, &r), 0);
	cr_assert_not_null(strstr(r.body, "\"number\":\"79035550000\""),
			   "%s", r.body);
	cr_assert_not_null(strstr(r.body, "\"extension\":\"\""), "%s", r.body);
}
