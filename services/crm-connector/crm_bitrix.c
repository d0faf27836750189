/* Bitrix24 through an incoming webhook (REST, JSON bodies):
 *   telephony.externalCall.searchCrmEntities {PHONE_NUMBER} -> result: the
 *     CRM objects that have the number, the first one the one to use;
 *     each carries ASSIGNED_BY_ID and ASSIGNED_BY (the responsible user,
 *     with USER_PHONE_INNER, the user's inner phone number);
 *   telephony.externalcall.register {USER_ID | USER_PHONE_INNER,
 *     PHONE_NUMBER, TYPE 2 (incoming), CALL_START_DATE, CRM_CREATE 0,
 *     SHOW 0} -> result.CALL_ID;
 *   telephony.externalcall.finish {CALL_ID, USER_ID, DURATION,
 *     STATUS_CODE (200 answered, 304 missed)}.
 * Errors come as HTTP 4xx/5xx with {"error", "error_description"}. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm_adapter.h"

static const struct crm_field fields[] = {
	{"webhook_url", true, true, true},
	{"cache_ttl_s", false, false, false},
};

/* "<webhook>/<method>.json": the webhook URL carries its secret code, so
 * the whole URL is a secret. */
static int method_url(const struct crm_settings *s, const char *method,
		      struct crm_req *r)
{
	size_t n = strlen(s->url);
	int k;

	if (!n)
		return -EINVAL;
	k = snprintf(r->url, sizeof(r->url), "%s%s%s.json", s->url,
		     s->url[n - 1] == '/' ? "" : "/", method);
	if (k < 0 || (size_t)k >= sizeof(r->url))
		return -EINVAL;
	return crm_req_header(r, "%s", "Content-Type: application/json");
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

static void log_parse(unsigned step, long status, const char *body,
		      size_t len, struct crm_answer *a)
{
	json_t *root = load(body, len);

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
	.lookup_build = lookup_build,
	.lookup_parse = lookup_parse,
	.log_build = log_build,
	.log_parse = log_parse,
};
