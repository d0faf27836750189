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
 *     created_at}] logs the call on the contact's card.
 * Errors are application/problem+json: {title, status, detail}. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm_adapter.h"

enum { CALL_TALKED = 4, CALL_NOT_REACHED = 6 };

static const struct crm_field fields[] = {
	{"base_url", false, true, true},
	{"client_id", false, true, false},
	{"client_secret", true, true, false},
	{"redirect_uri", false, true, true},
	{"access_token", true, true, false},
	{"refresh_token", true, true, false},
	{"expires_at", false, false, false},
	{"cache_ttl_s", false, false, false},
};

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
		first = json_array_get(
			json_object_get(json_object_get(root, "_embedded"),
					"contacts"),
			0);
		crm_json_id(a->user, sizeof(a->user),
			    json_object_get(first, "responsible_user_id"));
		crm_json_id(a->name, sizeof(a->name),
			    json_object_get(first, "name"));
		a->v = a->user[0] ? CRM_V_OWNER : CRM_V_NOT_FOUND;
	}
	json_decref(root);
}

int crm_amo_refresh_build(const struct crm_settings *s, struct crm_req *r)
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

int crm_amo_refresh_parse(long status, const char *body, size_t len,
			  uint64_t now_s, struct crm_settings *s, char *why,
			  size_t whysize)
{
	json_t *root = body && len ? json_loadb(body, len, 0, NULL) : NULL;
	const char *at, *rt;
	json_int_t in;
	int err = 0;

	at = json_string_value(json_object_get(root, "access_token"));
	rt = json_string_value(json_object_get(root, "refresh_token"));
	in = json_integer_value(json_object_get(root, "expires_in"));
	if (status == 400 || status == 401) {
		snprintf(why, whysize, "amocrm: token refresh refused (HTTP "
			 "%ld)", status);
		err = -EACCES;
	} else if (status != 200 || !at || !rt || in <= 0 ||
		   strlen(at) >= sizeof(s->access_token) ||
		   strlen(rt) >= sizeof(s->refresh_token)) {
		snprintf(why, whysize, "amocrm: token refresh failed (HTTP "
			 "%ld)", status);
		err = -EPROTO;
	} else {
		snprintf(s->access_token, sizeof(s->access_token), "%s", at);
		snprintf(s->refresh_token, sizeof(s->refresh_token), "%s", rt);
		s->expires_at = (int64_t)now_s + (int64_t)in;
	}
	json_decref(root);
	return err;
}

bool crm_amo_token_due(const struct crm_settings *s, uint64_t now_s,
		       long margin_s)
{
	return s->expires_at > 0 &&
	       s->expires_at - margin_s <= (int64_t)now_s;
}

static int log_build(const struct crm_settings *s, const struct crm_call *c,
		     unsigned step, const struct crm_answer *prev,
		     struct crm_req *r)
{
	json_t *call, *arr;
	int err;

	(void)prev;
	if (step > 0)
		return 1;
	err = url_of(s, "/api/v4/calls", NULL, r);
	if (!err)
		err = bearer(s, r);
	if (!err)
		err = crm_req_header(r, "%s", "Content-Type: application/json");
	if (err)
		return err;
	call = json_pack("{s:s, s:s, s:i, s:s, s:s, s:i, s:I}", "direction",
			 "inbound", "uniq", c->call_id, "duration",
			 (int)c->duration_s, "source", "pbx", "phone",
			 c->caller, "call_status",
			 c->answered ? CALL_TALKED : CALL_NOT_REACHED,
			 "created_at", (json_int_t)(c->started_ms / 1000));
	if (call && c->user[0] && digits(c->user))
		json_object_set_new(call, "responsible_user_id",
				    json_integer(strtoll(c->user, NULL, 10)));
	arr = json_array();
	if (!call || !arr || json_array_append_new(arr, call)) {
		json_decref(arr);
		return -ENOMEM;
	}
	r->body = json_dumps(arr, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(arr);
	return r->body ? 0 : -ENOMEM;
}

static void log_parse(unsigned step, long status, const char *body,
		      size_t len, struct crm_answer *a)
{
	json_t *root = body && len ? json_loadb(body, len, 0, NULL) : NULL;

	(void)step;
	memset(a, 0, sizeof(*a));
	if (status == 200)
		a->v = CRM_V_OWNER;
	else
		error_of(status, root, a);
	if (status == 401)
		a->v = CRM_V_AUTH;
	json_decref(root);
}

const struct crm_adapter crm_amocrm = {
	.name = "amocrm",
	.fields = fields,
	.nfields = sizeof(fields) / sizeof(fields[0]),
	.oauth = true,
	.lookup_build = lookup_build,
	.lookup_parse = lookup_parse,
	.log_build = log_build,
	.log_parse = log_parse,
};
