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
