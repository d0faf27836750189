/* Object cache: each tenant's compiled objects (queues, lists, schedules,
 * boxes, rooms) by (tenant, objects_rev). Provisioning bumps the revision
 * on every object write, so an entry is never stale. Owns what it holds. */
#ifndef OCACHE_H
#define OCACHE_H

struct ocache;
struct scenario_objects;

int ocache_alloc(struct ocache **cp, unsigned max_entries);
void ocache_free(struct ocache *c);
const struct scenario_objects *ocache_get(struct ocache *c,
					  const char *tenant, long rev);
/* Takes ownership of objs and returns it. */
const struct scenario_objects *ocache_put(struct ocache *c,
					  const char *tenant, long rev,
					  struct scenario_objects *objs);

#endif
