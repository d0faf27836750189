/* The table of CRM vendors and what their adapters share (crm_adapter.h). */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crm_adapter.h"

static const struct crm_adapter *const adapters[] = {
	&crm_bitrix24,
	&crm_amocrm,
	&crm_api,
};

const char *const crm_log_modes[] = {
	[CRM_LOG_EVENTS] = "events",
	[CRM_LOG_NOTES] = "notes",
	[CRM_LOG_BOTH] = "both",
	NULL,
};

const struct crm_adapter *crm_adapter_find(const char *name)
{
	for (size_t i = 0; name && i < sizeof(adapters) / sizeof(adapters[0]);
	     i++) {
		if (!strcmp(adapters[i]->name, name))
			return adapters[i];
	}
	return NULL;
}

const struct crm_adapter *const *crm_adapter_all(size_t *n)
{
	*n = sizeof(adapters) / sizeof(adapters[0]);
	return adapters;
}

const struct crm_field *crm_adapter_field(const struct crm_adapter *a,
					  const char *name)
{
	for (size_t i = 0; i < a->nfields; i++) {
		if (!strcmp(a->fields[i].name, name))
			return &a->fields[i];
	}
	return NULL;
}

void crm_req_clear(struct crm_req *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

int crm_req_header(struct crm_req *r, const char *fmt, const char *v)
{
	int n;

	if (r->nhdr == CRM_HDR_MAX)
		return -ENOSPC;
	n = snprintf(r->hdr[r->nhdr], sizeof(r->hdr[0]), fmt, v);
	if (n < 0 || (size_t)n >= sizeof(r->hdr[0]))
		return -ENAMETOOLONG;
	r->nhdr++;
	return 0;
}

void crm_answer_error(struct crm_answer *a, const char *fmt, ...)
{
	va_list ap;

	a->v = CRM_V_ERROR;
	va_start(ap, fmt);
	vsnprintf(a->detail, sizeof(a->detail), fmt, ap);
	va_end(ap);
	/* A vendor's text goes into our logs: printable ASCII only. */
	for (char *p = a->detail; *p; p++) {
		if ((unsigned char)*p < ' ' || (unsigned char)*p >= 0x7f)
			*p = '?';
	}
}

void crm_json_id(char *dst, size_t size, json_t *v)
{
	dst[0] = '\0';
	if (json_is_string(v) && strlen(json_string_value(v)) < size)
		snprintf(dst, size, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(dst, size, "%lld", (long long)json_integer_value(v));
}

void crm_iso_time(char *buf, size_t size, uint64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
}

int crm_token_parse(const char *vendor, long status, const char *body,
		    size_t len, uint64_t now_s, struct crm_settings *s,
		    char *why, size_t whysize)
{
	json_t *root = body && len ? json_loadb(body, len, 0, NULL) : NULL;
	const char *at, *rt, *e;
	json_int_t in;
	int err = 0;

	at = json_string_value(json_object_get(root, "access_token"));
	rt = json_string_value(json_object_get(root, "refresh_token"));
	in = json_integer_value(json_object_get(root, "expires_in"));
	/* Bitrix24: {"error":"invalid_grant", ...}; amoCRM: problem+json
	 * with "hint". The code only: a description may echo input. */
	e = json_string_value(json_object_get(root, "error"));
	if (status == 400 || status == 401 || (e && !at)) {
		char code[40] = "";

		for (size_t i = 0; e && e[i] && i + 1 < sizeof(code); i++)
			code[i] = e[i] > ' ' && e[i] < 0x7f ? e[i] : '?';
		snprintf(why, whysize, "%s: token refresh refused (HTTP %ld%s%s)",
			 vendor, status, code[0] ? " " : "", code);
		err = -EACCES;
	} else if (status != 200 || !at || !rt || in <= 0 || !at[0] ||
		   !rt[0] || strlen(at) >= sizeof(s->access_token) ||
		   strlen(rt) >= sizeof(s->refresh_token)) {
		snprintf(why, whysize, "%s: token refresh failed (HTTP %ld)",
			 vendor, status);
		err = -EPROTO;
	} else {
		snprintf(s->access_token, sizeof(s->access_token), "%s", at);
		snprintf(s->refresh_token, sizeof(s->refresh_token), "%s", rt);
		s->expires_at = (int64_t)now_s + (int64_t)in;
	}
	json_decref(root);
	return err;
}

bool crm_token_due(const struct crm_settings *s, uint64_t now_s,
		   long margin_s)
{
	return s->expires_at > 0 &&
	       s->expires_at - margin_s <= (int64_t)now_s;
}

bool crm_oauth(const struct crm_adapter *a, const struct crm_settings *s)
{
	return a->oauth && a->oauth(s);
}

int crm_query_add(char *buf, size_t size, char sep, const char *name,
		  const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(buf);
	int k = snprintf(buf + n, size - n, "%c%s=", sep, name);

	if (k < 0 || (size_t)k >= size - n)
		return -ENAMETOOLONG;
	n += (size_t)k;
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		bool plain = (*p >= 'a' && *p <= 'z') ||
			     (*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9') || strchr("-._~", *p);

		if (n + (plain ? 1 : 3) >= size)
			return -ENAMETOOLONG;
		if (plain) {
			buf[n++] = (char)*p;
		} else {
			buf[n++] = '%';
			buf[n++] = hex[*p >> 4];
			buf[n++] = hex[*p & 15];
		}
	}
	buf[n] = '\0';
	return 0;
}
