/* Answer cache (crm_cache.h): open addressing over a fixed table, probed
 * a few slots from the key's hash; a key's slot is reused in place, an
 * expired or empty slot is taken first, else the one expiring first. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm_cache.h"

#define PROBE 8
#define KEY_MAX (65 + 16 + 40)

struct slot {
	char key[KEY_MAX]; /* "<tenant>\x1f<crm>\x1f<caller>"; "" free */
	size_t tlen;	   /* length of the tenant part */
	uint64_t expires;
	struct crm_cached val;
};

struct crm_cache {
	struct slot *slot;
	size_t n;
};

static int key_of(char *buf, const char *tenant, const char *crm,
		  const char *caller)
{
	int n = snprintf(buf, KEY_MAX, "%s\x1f%s\x1f%s", tenant, crm, caller);

	return n < 0 || n >= KEY_MAX ? -ENAMETOOLONG : 0;
}

/* FNV-1a. */
static size_t hash_of(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)h;
}

int crm_cache_alloc(struct crm_cache **cp, size_t slots)
{
	struct crm_cache *c = calloc(1, sizeof(*c));

	if (!c || slots == 0)
		goto fail;
	c->slot = calloc(slots, sizeof(*c->slot));
	if (!c->slot)
		goto fail;
	c->n = slots;
	*cp = c;
	return 0;
fail:
	free(c);
	return -ENOMEM;
}

void crm_cache_free(struct crm_cache *c)
{
	if (!c)
		return;
	free(c->slot);
	free(c);
}

bool crm_cache_get(struct crm_cache *c, const char *tenant, const char *crm,
		   const char *caller, uint64_t now_ms, struct crm_cached *out)
{
	char key[KEY_MAX];
	size_t h;

	if (key_of(key, tenant, crm, caller))
		return false;
	h = hash_of(key);
	for (size_t i = 0; i < PROBE && i < c->n; i++) {
		struct slot *s = &c->slot[(h + i) % c->n];

		if (s->key[0] && !strcmp(s->key, key)) {
			if (s->expires <= now_ms) {
				s->key[0] = '\0';
				return false;
			}
			*out = s->val;
			return true;
		}
	}
	return false;
}

void crm_cache_put(struct crm_cache *c, const char *tenant, const char *crm,
		   const char *caller, const struct crm_cached *e,
		   uint64_t now_ms, uint64_t ttl_ms)
{
	struct slot *pick = NULL;
	char key[KEY_MAX];
	size_t h;

	if (!ttl_ms || key_of(key, tenant, crm, caller))
		return;
	h = hash_of(key);
	for (size_t i = 0; i < PROBE && i < c->n; i++) {
		struct slot *s = &c->slot[(h + i) % c->n];

		if (s->key[0] && !strcmp(s->key, key)) {
			pick = s;
			break;
		}
		if (!s->key[0] || s->expires <= now_ms) {
			if (!pick || pick->key[0])
				pick = s;
		} else if (!pick || (pick->key[0] &&
				     s->expires < pick->expires)) {
			pick = s;
		}
	}
	if (!pick)
		return;
	memcpy(pick->key, key, sizeof(key));
	pick->tlen = strlen(tenant);
	pick->expires = now_ms + ttl_ms;
	pick->val = *e;
}

void crm_cache_forget(struct crm_cache *c, const char *tenant)
{
	size_t n = strlen(tenant);

	for (size_t i = 0; i < c->n; i++) {
		struct slot *s = &c->slot[i];

		if (s->key[0] && s->tlen == n && !strncmp(s->key, tenant, n))
			s->key[0] = '\0';
	}
}

size_t crm_cache_count(const struct crm_cache *c, uint64_t now_ms)
{
	size_t k = 0;

	for (size_t i = 0; i < c->n; i++)
		k += c->slot[i].key[0] && c->slot[i].expires > now_ms;
	return k;
}
