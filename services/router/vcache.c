/* Versioned cache: a small FIFO keyed by tenant, name and version, whose
 * values are reference counted. A linear scan is fine at this size (a few
 * hundred entries); a router serving thousands of tenants would want a
 * hash here. The router is single-threaded, so the counts are plain. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcache.h"

/* Shared by the cache entry and every caller holding the value; the last
 * vcache_ref_drop() frees both. */
struct vcache_ref {
	unsigned refs;
	void *val;
	vcache_free_h *freeh;
};

struct vcache_entry {
	char tenant[65];
	char name[80];
	long version;
	struct vcache_ref *ref; /* the cache's reference; NULL: empty */
};

struct vcache {
	struct vcache_entry *v;
	unsigned max, next;
	vcache_free_h *freeh;
};

int vcache_alloc(struct vcache **cp, unsigned max_entries,
		 vcache_free_h *freeh)
{
	struct vcache *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->max = max_entries ? max_entries : 1;
	c->freeh = freeh;
	c->v = calloc(c->max, sizeof(*c->v));
	if (!c->v) {
		free(c);
		return -ENOMEM;
	}
	*cp = c;
	return 0;
}

void vcache_ref_drop(struct vcache_ref *ref)
{
	if (!ref || --ref->refs > 0)
		return;
	ref->freeh(ref->val);
	free(ref);
}

void vcache_free(struct vcache *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->max; i++)
		vcache_ref_drop(c->v[i].ref);
	free(c->v);
	free(c);
}

const void *vcache_get(struct vcache *c, const char *tenant,
		       const char *name, long version,
		       struct vcache_ref **refp)
{
	for (unsigned i = 0; i < c->max; i++) {
		struct vcache_entry *e = &c->v[i];

		if (e->ref && e->version == version &&
		    !strcmp(e->tenant, tenant) && !strcmp(e->name, name)) {
			e->ref->refs++;
			*refp = e->ref;
			return e->ref->val;
		}
	}
	return NULL;
}

const void *vcache_put(struct vcache *c, const char *tenant,
		       const char *name, long version, void *val,
		       struct vcache_ref **refp)
{
	struct vcache_entry *e = &c->v[c->next];
	struct vcache_ref *ref = malloc(sizeof(*ref));

	if (!ref) {
		c->freeh(val);
		return NULL;
	}
	ref->refs = 2; /* the cache's and the caller's */
	ref->val = val;
	ref->freeh = c->freeh;
	c->next = (c->next + 1) % c->max;
	vcache_ref_drop(e->ref);
	snprintf(e->tenant, sizeof(e->tenant), "%s", tenant);
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->version = version;
	e->ref = ref;
	*refp = ref;
	return val;
}
