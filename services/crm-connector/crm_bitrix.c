/* Bitrix24 (REST, JSON bodies), through an incoming webhook
 * (<webhook>/<method>.json: the URL carries the secret code) or an OAuth 2
 * application (<portal REST endpoint>/<method>.json?auth=<access token>;
 * the token refreshed at <oauth server>/oauth/token/?grant_type=
 * refresh_token&client_id&client_secret&refresh_token -> {access_token,
 * refresh_token, expires_in, ...}; an expired or revoked token is HTTP 401
 * {"error":"expired_token"} or "invalid_token"). The methods:
 *   telephony.externalCall.searchCrmEntities {PHONE_NUMBER} -> result: the
 *     CRM objects that have the number, the first one the one to use;
 *     each carries ASSIGNED_BY_ID and ASSIGNED_BY (the responsible user,
 *     with USER_PHONE_INNER, the user's inner phone number);
 *   telephony.externalcall.register {USER_ID | USER_PHONE_INNER,
 *     PHONE_NUMBER, TYPE 2 (incoming), CALL_START_DATE, CRM_CREATE 0,
 *     SHOW 0} -> result.CALL_ID;
 *   telephony.externalcall.finish {CALL_ID, USER_ID, DURATION,
 *     STATUS_CODE (200 answered, 304 missed)}.
 * Errors come as HTTP 4xx/5xx with {"error", "error_description"}. The
 * tenant's settings choose the mode: webhook_url set -> the webhook, else
 * the application (portal_url, client_id, client_secret, tokens). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm_adapter.h"

#define OAUTH_SERVER "https://oauth.bitrix.info"

/* webhook_url, or the application's settings: none is required alone
 * (crm show says "(default)" for the unused mode's). */
static const struct crm_field fields[] = {
	{"webhook_url", true, false, true, NULL},
	{"portal_url", false, false, true, NULL},
	{"client_id", false, false, false, NULL},
	{"client_secret", true, false, false, NULL},
	{"access_token", true, false, false, NULL},
	{"refresh_token", true, false, false, NULL},
	{"expires_at", false, false, false, NULL},
	{"oauth_url", false, false, true, NULL},
	{"cache_ttl_s", false, false, false, NULL},
};

static bool oauth(const struct crm_settings *s)
{
	return !s->url[0] && s->portal_url[0];
}

/* "<webhook>/<method>.json" (the webhook URL carries its secret code, so
 * the whole URL is a secret), or "<portal>/<method>.json?auth=<token>". */
static int method_url(const struct crm_settings *s, const char *method,
		      struct crm_req *r)
{
	const char *base = oauth(s) ? s->portal_url : s->url;
	size_t n = strlen(base);
	int k;

	if (!n || (oauth(s) && !s->access_token[0]))
		return -EINVAL;
	k = snprintf(r->url, sizeof(r->url), "%s%s%s.json", base,
		     base[n - 1] == '/' ? "" : "/", method);
	if (k < 0 || (size_t)k >= sizeof(r->url))
		return -EINVAL;
	if (oauth(s) && crm_query_add(r->url, sizeof(r->url), '?', "auth",
				      s->access_token))
		return -EINVAL;
	return crm_req_header(r, "%s", "Content-Type: application/json");
}

static int refresh_build(const struct crm_settings *s, struct crm_req *r)
{
	const char *base = s->oauth_url[0] ? s->oauth_url : OAUTH_SERVER;
	size_t n = strlen(base);
	int k;

	if (!s->client_id[0] || !s->client_secret[0] || !s->refresh_token[0])
		return -EINVAL;
	k = snprintf(r->url, sizeof(r->url), "%.*s/oauth/token/",
		     (int)n - (base[n - 1] == '/'), base);
	if (k < 0 || (size_t)k >= sizeof(r->url) ||
	    crm_query_add(r->url, sizeof(r->url), '?', "grant_type",
			  "refresh_token") ||
	    crm_query_add(r->url, sizeof(r->url), '&', "client_id",
			  s->client_id) ||
	    crm_query_add(r->url, sizeof(r->url), '&', "client_secret",
			  s->client_secret) ||
	    crm_query_add(r->url, sizeof(r->url), '&', "refresh_token",
			  s->refresh_token))
		return -EINVAL;
	return 0; /* a GET */
}

static int set_body(struct crm_req *r, json_t *o)
{
	if (!o)
		return -ENOMEM;
	r->body = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return r->body ? 0 : -ENOMEM;
}

static int lookup_build(const struct crm_settings *s,
			const struct crm_query *q, struct crm_req *r)
{
	int err = method_url(s, "telephony.externalCall.searchCrmEntities", r);

	if (err)
		return err;
	return set_body(r, json_pack("{s:s}", "PHONE_NUMBER", q->caller));
}

/* A Bitrix24 error body, or the bare status. */
static void error_of(long status, json_t *root, struct crm_answer *a)
{
	const char *e = json_string_value(json_object_get(root, "error"));
	const char *d = json_string_value(
		json_object_get(root, "error_description"));

	if (e)
		crm_answer_error(a, "bitrix24: HTTP %ld %s%s%s", status, e,
				 d ? ": " : "", d ? d : "");
	else
		crm_answer_error(a, "bitrix24: HTTP %ld", status);
	/* The application's token: refresh, then ask again. */
	if (e && (!strcmp(e, "expired_token") || !strcmp(e, "invalid_token")))
		a->v = CRM_V_AUTH;
}

static json_t *load(const char *body, size_t len)
{
	return body ? json_loadb(body, len, 0, NULL) : NULL;
}

static void lookup_parse(long status, const char *body, size_t len,
			 struct crm_answer *a)
{
	json_t *root = load(body, len), *res, *first, *by;

	memset(a, 0, sizeof(*a));
	if (status != 200 || !root) {
		if (status == 200)
			crm_answer_error(a, "bitrix24: the answer is not "
					    "JSON");
		else
			error_of(status, root, a);
		json_decref(root);
		return;
	}
	if (json_object_get(root, "error")) {
		error_of(status, root, a);
		json_decref(root);
		return;
	}
	res = json_object_get(root, "result");
	if (!json_is_array(res)) {
		crm_answer_error(a, "bitrix24: no result list in the answer");
		json_decref(root);
		return;
	}
	first = json_array_get(res, 0);
	if (!first) {
		a->v = CRM_V_NOT_FOUND;
		json_decref(root);
		return;
	}
	by = json_object_get(first, "ASSIGNED_BY");
	crm_json_id(a->user, sizeof(a->user),
		    json_object_get(first, "ASSIGNED_BY_ID"));
	if (!a->user[0])
		crm_json_id(a->user, sizeof(a->user), json_object_get(by, "ID"));
	crm_json_id(a->ext, sizeof(a->ext),
		    json_object_get(by, "USER_PHONE_INNER"));
	crm_json_id(a->name, sizeof(a->name), json_object_get(first, "NAME"));
	a->v = a->user[0] || a->ext[0] ? CRM_V_OWNER : CRM_V_NOT_FOUND;
	json_decref(root);
}

static int log_build(const struct crm_settings *s, const struct crm_call *c,
		     unsigned step, const struct crm_answer *prev,
		     struct crm_req *r)
{
	char start[40];
	json_t *o;
	int err;

	if (step == 0) {
		err = method_url(s, "telephony.externalcall.register", r);
		if (err)
			return err;
		crm_iso_time(start, sizeof(start), c->started_ms);
		o = json_pack("{s:s, s:i, s:s, s:i, s:i}", "PHONE_NUMBER",
			      c->caller, "TYPE", 2, "CALL_START_DATE", start,
			      "CRM_CREATE", 0, "SHOW", 0);
		if (o && c->user[0])
			json_object_set_new(o, "USER_ID",
					    json_string(c->user));
		else if (o && c->ext[0])
			json_object_set_new(o, "USER_PHONE_INNER",
					    json_string(c->ext));
		return set_body(r, o);
	}
	if (step > 1 || !prev->call_ref[0])
		return 1;
	err = method_url(s, "telephony.externalcall.finish", r);
	if (err)
		return err;
	o = json_pack("{s:s, s:i, s:i}", "CALL_ID", prev->call_ref,
		      "DURATION", (int)c->duration_s, "STATUS_CODE",
		      c->answered ? 200 : 304);
	if (o && c->user[0])
		json_object_set_new(o, "USER_ID", json_string(c->user));
	return set_body(r, o);
}

static void log_parse(const struct crm_settings *s, unsigned step,
		      long status, const char *body, size_t len,
		      struct crm_answer *a)
{
	json_t *root = load(body, len);

	(void)s;
	memset(a, 0, sizeof(*a));
	if (status != 200 || !root || json_object_get(root, "error")) {
		error_of(status, root, a);
		json_decref(root);
		return;
	}
	if (step == 0) {
		crm_json_id(a->call_ref, sizeof(a->call_ref),
			    json_object_get(json_object_get(root, "result"),
					    "CALL_ID"));
		if (!a->call_ref[0]) {
			crm_answer_error(a, "bitrix24: register gave no "
					    "CALL_ID");
			json_decref(root);
			return;
		}
	}
	a->v = CRM_V_OWNER; /* done */
	json_decref(root);
}

const struct crm_adapter crm_bitrix24 = {
	.name = "bitrix24",
	.fields = fields,
	.nfields = sizeof(fields) / sizeof(fields[0]),
	.oauth = oauth,
	.refresh_build = refresh_build,
	.lookup_build = lookup_build,
	.lookup_parse = lookup_parse,
	.log_build = log_build,
	.log_parse = log_parse,
};
