/* Scenario cache: a small FIFO of parsed scenarios keyed by tenant, name
 * and version; a new version is a new key, so nothing is ever stale. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scache.h"
#include "scenario.h"

struct scache_entry {
	char tenant[65];
	char name[65];
	long version;
	struct scenario *sc;
};

struct scache {
	struct scache_entry *v;
	unsigned max, next;
};

int scache_alloc(struct scache **cp, unsigned max_entries)
{
	struct scache *c = calloc(1, sizeof(*c));

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

void scache_free(struct scache *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->max; i++)
		scenario_free(c->v[i].sc);
	free(c->v);
	free(c);
}

const struct scenario *scache_get(struct scache *c, const char *tenant,
				  const char *name, long version)
{
	for (unsigned i = 0; i < c->max; i++) {
		struct scache_entry *e = &c->v[i];

		if (e->sc && e->version == version &&
		    !strcmp(e->tenant, tenant) && !strcmp(e->name, name))
			return e->sc;
	}
	return NULL;
}

const struct scenario *scache_put(struct scache *c, const char *tenant,
				  const char *name, long version,
				  struct scenario *sc)
{
	struct scache_entry *e = &c->v[c->next];

	c->next = (c->next + 1) % c->max;
	scenario_free(e->sc);
	snprintf(e->tenant, sizeof(e->tenant), "%s", tenant);
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->version = version;
	e->sc = sc;
	return sc;
}
