/* Versioned cache: a small FIFO keyed by tenant, name and version. A
 * linear scan is fine at this size (a few hundred entries); a router
 * serving thousands of tenants would want a hash here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcache.h"

struct vcache_entry {
	char tenant[65];
	char name[80];
	long version;
	void *val;
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

void vcache_free(struct vcache *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->max; i++)
		if (c->v[i].val)
			c->freeh(c->v[i].val);
	free(c->v);
	free(c);
}

const void *vcache_get(const struct vcache *c, const char *tenant,
		       const char *name, long version)
{
	for (unsigned i = 0; i < c->max; i++) {
		const struct vcache_entry *e = &c->v[i];

		if (e->val && e->version == version &&
		    !strcmp(e->tenant, tenant) && !strcmp(e->name, name))
			return e->val;
	}
	return NULL;
}

const void *vcache_put(struct vcache *c, const char *tenant,
		       const char *name, long version, void *val)
{
	struct vcache_entry *e = &c->v[c->next];

	c->next = (c->next + 1) % c->max;
	if (e->val)
		c->freeh(e->val);
	snprintf(e->tenant, sizeof(e->tenant), "%s", tenant);
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->version = version;
	e->val = val;
	return val;
}
