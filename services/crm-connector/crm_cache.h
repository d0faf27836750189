/* The connector's answer cache: (tenant, CRM, caller) -> the last answer
 * (owner or not found; errors are never kept), for the tenant's
 * cache_ttl_s, so a burst of calls from one client costs one CRM
 * request. Bounded: a fixed number of slots, a full table drops the
 * entry closest to expiry. Keys compare whole: one tenant never reads
 * another's answer. Times are monotonic ms passed in. */
#ifndef CRM_CACHE_H
#define CRM_CACHE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crm_adapter.h"

struct crm_cache;

/* An answer as kept (and as a hit returns it). */
struct crm_cached {
	enum crm_verdict v; /* CRM_V_OWNER or CRM_V_NOT_FOUND */
	char ext[CRM_ID_MAX];
	char number[20]; /* an owner number (ext "") */
	char user[CRM_ID_MAX];
	char name[128];
};

int crm_cache_alloc(struct crm_cache **cp, size_t slots);
void crm_cache_free(struct crm_cache *c);
/* True and *out filled when a live entry exists. */
bool crm_cache_get(struct crm_cache *c, const char *tenant, const char *crm,
		   const char *caller, uint64_t now_ms, struct crm_cached *out);
/* Keeps e for ttl_ms (0: nothing kept). */
void crm_cache_put(struct crm_cache *c, const char *tenant, const char *crm,
		   const char *caller, const struct crm_cached *e,
		   uint64_t now_ms, uint64_t ttl_ms);
/* Drops every entry of the tenant (its settings or mapping changed). */
void crm_cache_forget(struct crm_cache *c, const char *tenant);
size_t crm_cache_count(const struct crm_cache *c, uint64_t now_ms);

#endif
