/* Versioned cache: parsed scenarios by (tenant, name, version) and compiled
 * tenant objects by (tenant, "", objects revision). Keys are immutable
 * versions, so an entry is never stale: a new version is a new key.
 * Bounded FIFO; owns the values it holds and frees them with its free
 * handler. */
#ifndef VCACHE_H
#define VCACHE_H

struct vcache;

typedef void(vcache_free_h)(void *val);

int vcache_alloc(struct vcache **cp, unsigned max_entries,
		 vcache_free_h *freeh);
void vcache_free(struct vcache *c);
const void *vcache_get(const struct vcache *c, const char *tenant,
		       const char *name, long version);
/* Takes ownership of val and returns it (the oldest entry may be freed). */
const void *vcache_put(struct vcache *c, const char *tenant,
		       const char *name, long version, void *val);

#endif
