/* The router's short memory of the number index (pbx:{sys}:did:<number> ->
 * tenant): a new call to a number the router routed a moment ago skips
 * that Redis round trip (one of two per call). Direct-mapped, fixed size,
 * positive answers only, each kept ttl_ms: a number moved to another
 * tenant reaches the new one at most that late (docs/services/router.md
 * "Configuration", did_cache_ms). */
#ifndef DID_CACHE_H
#define DID_CACHE_H
#include <stdint.h>

struct did_cache;

/* ttl_ms 0: no cache (*cp NULL; get always misses, put does nothing).
 * slots: rounded up to a power of two. 0 or -ENOMEM. */
int did_cache_alloc(struct did_cache **cp, unsigned slots, uint64_t ttl_ms);
void did_cache_free(struct did_cache *c);
/* The tenant of number if it was put less than ttl_ms before now_ms, else
 * NULL. The string lives until the next put. */
const char *did_cache_get(const struct did_cache *c, const char *number,
			  uint64_t now_ms);
/* Remembers number -> tenant from now_ms (a number or tenant too long
 * for an entry is not kept). */
void did_cache_put(struct did_cache *c, const char *number,
		   const char *tenant, uint64_t now_ms);

#endif
