/* amoCRM (API v4, OAuth 2):
 *   GET <base>/api/v4/contacts?query=<phone> with "Authorization: Bearer
 *     <access token>" -> 200 {"_embedded":{"contacts":[{id, name,
 *     responsible_user_id, ...}]}}, or 204 (no content) when nothing
 *     matches; 401 when the access token expired or was revoked;
 *   POST <base>/oauth2/access_token {client_id, client_secret, grant_type
 *     "refresh_token", refresh_token, redirect_uri} -> {token_type,
 *     expires_in, access_token, refresh_token}: a refresh token is spent
 *     by its use, so the new pair is stored at once;
 *   POST <base>/api/v4/calls [{direction "inbound", uniq, duration, source,
 *     phone, call_status (4 talked, 6 not reached), responsible_user_id,
 *     created_at}] logs the call on the contact's card (an event);
 *   POST <base>/api/v4/contacts/notes [{entity_id <contact id>, note_type
 *     "call_in", params {uniq, duration, source, phone, call_result,
 *     call_status}}] -> 200 {"_embedded":{"notes":[{id, entity_id}]}}:
 *     a call note on the contact (found first by the phone).
 * The tenant's call_log setting chooses events, notes or both.
 * Errors are application/problem+json: {title, status, detail}. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm_adapter.h"

enum { CALL_TALKED = 4, CALL_NOT_REACHED = 6 };

static const struct crm_field fields[] = {
	{"base_url", false, true, true, NULL},
	{"client_id", false, true, false, NULL},
	{"client_secret", true, true, false, NULL},
	{"redirect_uri", false, true, true, NULL},
	{"access_token", true, true, false, NULL},
	{"refresh_token", true, true, false, NULL},
	{"expires_at", false, false, false, NULL},
	{"cache_ttl_s", false, false, false, NULL},
	{"call_log", false, false, false, crm_log_modes},
};

/* What each call_log mode does, step by step (crm_log_mode order). */
enum act { A_END = 0, A_EVENT, A_FIND, A_NOTE };
static const enum act steps[][4] = {
	[CRM_LOG_EVENTS] = {A_EVENT},
	[CRM_LOG_NOTES] = {A_FIND, A_NOTE},
	[CRM_LOG_BOTH] = {A_EVENT, A_FIND, A_NOTE},
};

static enum act act_of(const struct crm_settings *s, unsigned step)
{
	return step < 4 && (unsigned)s->log_mode < 3 ? steps[s->log_mode][step]
						     : A_END;
}

static int url_of(const struct crm_settings *s, const char *path,
		  const char *query, struct crm_req *r)
{
	size_t n = strlen(s->url);
	int k;

	if (!n)
		return -EINVAL;
	k = snprintf(r->url, sizeof(r->url), "%.*s%s%s", (int)n -
		     (s->url[n - 1] == '/'), s->url, path, query ? query : "");
	return k < 0 || (size_t)k >= sizeof(r->url) ? -EINVAL : 0;
}

static int bearer(const struct crm_settings *s, struct crm_req *r)
{
	if (!s->access_token[0])
		return -EINVAL;
	return crm_req_header(r, "Authorization: Bearer %s", s->access_token);
}

static bool digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
	}
	return true;
}

static int lookup_build(const struct crm_settings *s,
			const struct crm_query *q, struct crm_req *r)
{
	char query[64];
	int err;

	/* Normalised digits: nothing to escape in the query string. */
	if (!digits(q->caller) || strlen(q->caller) > 32)
		return -EINVAL;
	snprintf(query, sizeof(query), "?query=%s", q->caller);
	err = url_of(s, "/api/v4/contacts", query, r);
	if (!err)
		err = bearer(s, r);
	return err;
}

static void error_of(long status, json_t *root, struct crm_answer *a)
{
	const char *t = json_string_value(json_object_get(root, "title"));
	const char *d = json_string_value(json_object_get(root, "detail"));

	crm_answer_error(a, "amocrm: HTTP %ld%s%s%s%s", status, t ? " " : "",
			 t ? t : "", d ? ": " : "", d ? d : "");
}

/* The first contact of a contacts answer (NULL: none). */
static json_t *first_contact(json_t *root)
{
	return json_array_get(
		json_object_get(json_object_get(root, "_embedded"), "contacts"),
		0);
}

static void lookup_parse(long status, const char *body, size_t len,
			 struct crm_answer *a)
{
	json_t *root = body && len ? json_loadb(body, len, 0, NULL) : NULL;
	json_t *first;

	memset(a, 0, sizeof(*a));
	if (status == 204) {
		a->v = CRM_V_NOT_FOUND;
	} else if (status == 401) {
		error_of(status, root, a);
		a->v = CRM_V_AUTH;
	} else if (status != 200) {
		error_of(status, root, a);
	} else if (!root) {
		crm_answer_error(a, "amocrm: the answer is not JSON");
	} else {
		first = first_contact(root);
		crm_json_id(a->user, sizeof(a->user),
			    json_object_get(first, "responsible_user_id"));
		crm_json_id(a->name, sizeof(a->name),
			    json_object_get(first, "name"));
		a->v = a->user[0] ? CRM_V_OWNER : CRM_V_NOT_FOUND;
	}
	json_decref(root);
}

static int refresh_build(const struct crm_settings *s, struct crm_req *r)
{
	json_t *o;
	int err;

	if (!s->client_id[0] || !s->client_secret[0] ||
	    !s->refresh_token[0] || !s->redirect_uri[0])
		return -EINVAL;
	err = url_of(s, "/oauth2/access_token", NULL, r);
	if (!err)
		err = crm_req_header(r, "%s", "Content-Type: application/json");
	if (err)
		return err;
	o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "client_id", s->client_id,
		      "client_secret", s->client_secret, "grant_type",
		      "refresh_token", "refresh_token", s->refresh_token,
		      "redirect_uri", s->redirect_uri);
	if (!o)
		return -ENOMEM;
	r->body = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return r->body ? 0 : -ENOMEM;
}

static int set_array(struct crm_req *r, json_t *item)
{
	json_t *arr = json_array();

	if (!item || !arr || json_array_append_new(arr, item)) {
		json_decref(arr);
		return -ENOMEM;
	}
	r->body = json_dumps(arr, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(arr);
	return r->body ? 0 : -ENOMEM;
}

static int log_build(const struct crm_settings *s, const struct crm_call *c,
		     unsigned step, const struct crm_answer *prev,
		     struct crm_req *r)
{
	enum act act = act_of(s, step);
	int status = c->answered ? CALL_TALKED : CALL_NOT_REACHED;
	char query[64], result[96];
	json_t *o;
	int err;

	if (act == A_END || (act == A_NOTE && !prev->call_ref[0]))
		return 1; /* done (no contact: nothing to note) */
	if (act == A_FIND) {
		if (!digits(c->caller) || strlen(c->caller) > 32)
			return 1;
		snprintf(query, sizeof(query), "?query=%s", c->caller);
		err = url_of(s, "/api/v4/contacts", query, r);
		return err ? err : bearer(s, r);
	}
	err = url_of(s, act == A_EVENT ? "/api/v4/calls"
				       : "/api/v4/contacts/notes",
		     NULL, r);
	if (!err)
		err = bearer(s, r);
	if (!err)
		err = crm_req_header(r, "%s", "Content-Type: application/json");
	if (err)
		return err;
	if (act == A_NOTE) {
		if (c->answered)
			snprintf(result, sizeof(result), "answered%s%s",
				 c->ext && c->ext[0] ? " by " : "",
				 c->ext ? c->ext : "");
		else
			snprintf(result, sizeof(result), "missed");
		/* No recording link: the PBX keeps none for these. */
		o = json_pack("{s:I, s:s, s:{s:s, s:i, s:s, s:s, s:s, s:i}}",
			      "entity_id",
			      (json_int_t)strtoll(prev->call_ref, NULL, 10),
			      "note_type", "call_in", "params", "uniq",
			      c->call_id, "duration", (int)c->duration_s,
			      "source", "pbx", "phone", c->caller,
			      "call_result", result, "call_status", status);
		return set_array(r, o);
	}
	o = json_pack("{s:s, s:s, s:i, s:s, s:s, s:i, s:I}", "direction",
		      "inbound", "uniq", c->call_id, "duration",
		      (int)c->duration_s, "source", "pbx", "phone", c->caller,
		      "call_status", status, "created_at",
		      (json_int_t)(c->started_ms / 1000));
	if (o && c->user && digits(c->user))
		json_object_set_new(o, "responsible_user_id",
				    json_integer(strtoll(c->user, NULL, 10)));
	return set_array(r, o);
}

static void log_parse(const struct crm_settings *s, unsigned step,
		      long status, const char *body, size_t len,
		      struct crm_answer *a)
{
	json_t *root = body && len ? json_loadb(body, len, 0, NULL) : NULL;
	json_t *first;

	memset(a, 0, sizeof(*a));
	if (act_of(s, step) == A_FIND && status == 204) {
		a->v = CRM_V_OWNER; /* no contact: no note */
	} else if (status == 200 && act_of(s, step) == A_FIND) {
		first = first_contact(root);
		crm_json_id(a->call_ref, sizeof(a->call_ref),
			    json_object_get(first, "id"));
		if (!first || (a->call_ref[0] && digits(a->call_ref)))
			a->v = CRM_V_OWNER; /* the contact, or none */
		else
			crm_answer_error(a, "amocrm: the contact search gave "
					    "no contact id");
	} else if (status == 200) {
		a->v = CRM_V_OWNER;
	} else {
		error_of(status, root, a);
		if (status == 401)
			a->v = CRM_V_AUTH;
	}
	json_decref(root);
}

static bool oauth(const struct crm_settings *s)
{
	(void)s;
	return true;
}

const struct crm_adapter crm_amocrm = {
	.name = "amocrm",
	.fields = fields,
	.nfields = sizeof(fields) / sizeof(fields[0]),
	.oauth = oauth,
	.refresh_build = refresh_build,
	.lookup_build = lookup_build,
	.lookup_parse = lookup_parse,
	.log_build = log_build,
	.log_parse = log_parse,
};
