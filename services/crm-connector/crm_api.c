/* The generic JSON webhook (the tenant's own API; docs/services/
 * crm-connector.md "Generic API"): a POST of
 *   {"event":"lookup","tenant","call_id","caller","called"}
 * or after the call
 *   {"event":"call_end","tenant","call_id","caller","called","extension",
 *    "number","user","answered","started_ms","duration_s"}
 * signed like the notifier's webhooks (X-Pbx-Signature: t=<unix s>,
 * v1=<HMAC-SHA256 hex of "<t>.<body>">). A lookup is answered 200 with
 * {"extension":"101"}, {"user":"<crm user id>"} (mapped by the tenant's
 * table) or {"number":"+7 916 123-45-67"} (an external owner, rung through
 * the tenant's trunk when no extension is known), optional "name"; 404,
 * or 200 with none of them, is not found; a "number" that is no phone
 * number is an error. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm_adapter.h"
#include "notify_sign.h"
#include "scenario.h"

static const struct crm_field fields[] = {
	{"url", false, true, true, NULL},
	{"secret", true, true, false, NULL},
	{"cache_ttl_s", false, false, false, NULL},
};

static int signed_post(const struct crm_settings *s, json_t *o,
		       uint64_t now_s, struct crm_req *r)
{
	char sig[NOTIFY_SIGN_MAX];
	int err;

	if (!o)
		return -ENOMEM;
	r->body = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (!r->body)
		return -ENOMEM;
	if (!s->url[0] || !s->secret[0] ||
	    (size_t)snprintf(r->url, sizeof(r->url), "%s", s->url) >=
		    sizeof(r->url))
		return -EINVAL;
	err = notify_sign(sig, sizeof(sig), s->secret, now_s, r->body,
			  strlen(r->body));
	if (!err)
		err = crm_req_header(r, "%s", "Content-Type: application/json");
	if (!err)
		err = crm_req_header(r, NOTIFY_SIGN_HEADER ": %s", sig);
	return err;
}

static int lookup_build(const struct crm_settings *s,
			const struct crm_query *q, struct crm_req *r)
{
	return signed_post(s,
			   json_pack("{s:s, s:s, s:s, s:s, s:s}", "event",
				     "lookup", "tenant", q->tenant, "call_id",
				     q->call_id, "caller", q->caller, "called",
				     q->called),
			   q->now_s, r);
}

/* The answer's "number" as canonical digits in a->number (the project's
 * normaliser, E.164: 10 to 15 digits); false when it is no such number. */
static bool owner_number(json_t *v, struct crm_answer *a)
{
	char in[64], num[SCENARIO_AGENT_NUMBER_MAX];

	crm_json_id(in, sizeof(in), v);
	if (!in[0])
		return v == NULL || json_is_null(v) ||
		       (json_is_string(v) && json_string_length(v) == 0);
	if (scenario_agent_number(in, num, sizeof(num)) <= 0)
		return false;
	snprintf(a->number, sizeof(a->number), "%s", num + 1);
	return true;
}

static void lookup_parse(long status, const char *body, size_t len,
			 struct crm_answer *a)
{
	json_t *root = body && len ? json_loadb(body, len, 0, NULL) : NULL;

	memset(a, 0, sizeof(*a));
	if (status == 404) {
		a->v = CRM_V_NOT_FOUND;
	} else if (status != 200) {
		crm_answer_error(a, "api: HTTP %ld", status);
	} else if (!json_is_object(root)) {
		crm_answer_error(a, "api: the answer is not a JSON object");
	} else {
		crm_json_id(a->ext, sizeof(a->ext),
			    json_object_get(root, "extension"));
		crm_json_id(a->user, sizeof(a->user),
			    json_object_get(root, "user"));
		crm_json_id(a->name, sizeof(a->name),
			    json_object_get(root, "name"));
		if (!owner_number(json_object_get(root, "number"), a))
			crm_answer_error(a, "api: the answer's number is not "
					    "a phone number (E.164, 10 to 15 "
					    "digits)");
		else
			a->v = a->ext[0] || a->user[0] || a->number[0]
				       ? CRM_V_OWNER
				       : CRM_V_NOT_FOUND;
	}
	json_decref(root);
}

static int log_build(const struct crm_settings *s, const struct crm_call *c,
		     unsigned step, const struct crm_answer *prev,
		     struct crm_req *r)
{
	(void)prev;
	if (step > 0)
		return 1;
	return signed_post(
		s,
		json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:I, "
			  "s:i}",
			  "event", "call_end", "tenant", c->tenant, "call_id",
			  c->call_id, "caller", c->caller, "called", c->called,
			  "extension", c->ext, "number",
			  c->number ? c->number : "", "user", c->user,
			  "answered",
			  c->answered, "started_ms",
			  (json_int_t)c->started_ms, "duration_s",
			  (int)c->duration_s),
		c->now_s, r);
}

static void log_parse(const struct crm_settings *s, unsigned step,
		      long status, const char *body, size_t len,
		      struct crm_answer *a)
{
	(void)s;
	(void)step;
	(void)body;
	(void)len;
	memset(a, 0, sizeof(*a));
	if (status >= 200 && status < 300)
		a->v = CRM_V_OWNER;
	else
		crm_answer_error(a, "api: HTTP %ld", status);
}

const struct crm_adapter crm_api = {
	.name = "api",
	.fields = fields,
	.nfields = sizeof(fields) / sizeof(fields[0]),
	.lookup_build = lookup_build,
	.lookup_parse = lookup_parse,
	.log_build = log_build,
	.log_parse = log_parse,
};
