/* The reply under construction: the string lists a handler fills and the
 * refusal (status and one sentence) it sets; shared by every handler and
 * by the dispatcher (provision.c). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prov.h"

static char *vformat(const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

int prov_strv_add(struct prov_strv *sv, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (sv->n == sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 16;
		char **v = realloc(sv->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		sv->v = v;
		sv->cap = cap;
	}
	va_start(ap, fmt);
	s = vformat(fmt, ap);
	va_end(ap);
	if (!s)
		return -ENOMEM;
	sv->v[sv->n++] = s;
	return 0;
}

/* Digit strings (extensions, numbers) sort numerically, the rest by
 * bytes, so lists read the way an operator expects. */
static int strv_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	size_t lx = strlen(x), ly = strlen(y);

	if (lx != ly && strspn(x, "0123456789") == lx &&
	    strspn(y, "0123456789") == ly)
		return lx < ly ? -1 : 1;
	return strcmp(x, y);
}

void prov_strv_sort(struct prov_strv *sv)
{
	if (sv->n > 1)
		qsort(sv->v, sv->n, sizeof(*sv->v), strv_cmp);
}

void prov_strv_reset(struct prov_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	memset(sv, 0, sizeof(*sv));
}

static Pbx__V1__ProvResponse__Status status_of(int err)
{
	switch (err) {
	case -EINVAL:
		return PBX__V1__PROV_RESPONSE__STATUS__STATUS_INVALID;
	case -ENOENT:
		return PBX__V1__PROV_RESPONSE__STATUS__STATUS_NOT_FOUND;
	case -EEXIST:
		return PBX__V1__PROV_RESPONSE__STATUS__STATUS_CONFLICT;
	case -EFBIG:
		return PBX__V1__PROV_RESPONSE__STATUS__STATUS_TOO_LARGE;
	case -EACCES:
		return PBX__V1__PROV_RESPONSE__STATUS__STATUS_PERMISSION_DENIED;
	default:
		return PBX__V1__PROV_RESPONSE__STATUS__STATUS_INTERNAL;
	}
}

int prov_already_absent(struct prov_reply *r)
{
	return prov_strv_add(&r->items, "ok (already absent)");
}

int prov_fail(struct prov_reply *r, int err, const char *fmt, ...)
{
	va_list ap;

	if (err >= 0)
		err = -EIO;
	r->status = status_of(err);
	free(r->error);
	va_start(ap, fmt);
	r->error = vformat(fmt, ap);
	va_end(ap);
	return err;
}

void prov_reply_reset(struct prov_reply *r)
{
	free(r->error);
	free(r->body);
	free(r->data);
	prov_strv_reset(&r->items);
	prov_strv_reset(&r->warnings);
	memset(r, 0, sizeof(*r));
}

