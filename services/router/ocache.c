/* Object cache: a small FIFO of compiled tenant object sets keyed by
 * tenant and objects revision. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocache.h"
#include "scenario.h"

struct ocache_entry {
	char tenant[65];
	long rev;
	struct scenario_objects *objs;
};

struct ocache {
	struct ocache_entry *v;
	unsigned max, next;
};

int ocache_alloc(struct ocache **cp, unsigned max_entries)
{
	struct ocache *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->max = max_entries ? max_entries : 1;
	c->v = calloc(c->max, sizeof(*c->v));
	if (!c->v) {
		free(c);
		return -ENOMEM;
	}
	*cp = c;
	return 0;
}

void ocache_free(struct ocache *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->max; i++)
		scenario_objects_free(c->v[i].objs);
	free(c->v);
	free(c);
}

const struct scenario_objects *ocache_get(struct ocache *c,
					  const char *tenant, long rev)
{
	for (unsigned i = 0; i < c->max; i++) {
		struct ocache_entry *e = &c->v[i];

		if (e->objs && e->rev == rev && !strcmp(e->tenant, tenant))
			return e->objs;
	}
	return NULL;
}

const struct scenario_objects *ocache_put(struct ocache *c,
					  const char *tenant, long rev,
					  struct scenario_objects *objs)
{
	struct ocache_entry *e = &c->v[c->next];

	c->next = (c->next + 1) % c->max;
	scenario_objects_free(e->objs);
	snprintf(e->tenant, sizeof(e->tenant), "%s", tenant);
	e->rev = rev;
	e->objs = objs;
	return objs;
}
