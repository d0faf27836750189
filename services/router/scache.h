/* Scenario cache: parsed scenarios by (tenant, name, version), so a call
 * costs no JSON parsing once its scenario is warm. Bounded; the oldest
 * entry goes first. Owns the scenarios it holds. */
#ifndef SCACHE_H
#define SCACHE_H

struct scache;
struct scenario;

int scache_alloc(struct scache **cp, unsigned max_entries);
void scache_free(struct scache *c);
const struct scenario *scache_get(struct scache *c, const char *tenant,
				  const char *name, long version);
/* Takes ownership of sc; returns it (or NULL after freeing it on OOM). */
const struct scenario *scache_put(struct scache *c, const char *tenant,
				  const char *name, long version,
				  struct scenario *sc);

#endif
