/* Versioned cache: parsed scenarios by (tenant, name, version) and compiled
 * tenant objects by (tenant, "", objects revision). Keys are immutable
 * versions, so an entry is never stale: a new version is a new key.
 * Bounded FIFO. Values are reference counted: the cache holds one
 * reference per entry, and a caller that keeps a value across an
 * asynchronous round trip holds its own (vcache_get / vcache_put hand one
 * out), so evicting an entry never frees a value a call is still using. */
#ifndef VCACHE_H
#define VCACHE_H

struct vcache;
/* One reference to a cached value; dropped with vcache_ref_drop(). */
struct vcache_ref;

typedef void(vcache_free_h)(void *val);

int vcache_alloc(struct vcache **cp, unsigned max_entries,
		 vcache_free_h *freeh);
/* Drops the cache's references; values still referenced by callers live
 * on until their last vcache_ref_drop(). */
void vcache_free(struct vcache *c);

/* The value for the key, or NULL. On a hit *refp gets a new reference
 * that keeps the value alive; the caller drops it. */
const void *vcache_get(struct vcache *c, const char *tenant,
		       const char *name, long version,
		       struct vcache_ref **refp);
/* Takes ownership of val (freed with the free handler once the cache and
 * every caller have dropped it) and returns it with a reference for the
 * caller in *refp. The oldest entry may be evicted. Returns NULL (val
 * freed) when out of memory. */
const void *vcache_put(struct vcache *c, const char *tenant,
		       const char *name, long version, void *val,
		       struct vcache_ref **refp);
/* NULL-safe. Frees the value when this was its last reference. */
void vcache_ref_drop(struct vcache_ref *ref);

#endif
