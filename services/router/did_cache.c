/* Owns the number -> tenant cache of did_cache.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "did_cache.h"
#include "pbx_keys.h"

struct did_entry {
	char number[33]; /* canonical: at most 32 characters (pbx_keys.h) */
	char tenant[PBX_ID_MAX + 1];
	uint64_t until_ms;
};

struct did_cache {
	struct did_entry *e;
	unsigned mask;
	uint64_t ttl_ms;
};

int did_cache_alloc(struct did_cache **cp, unsigned slots, uint64_t ttl_ms)
{
	struct did_cache *c;
	unsigned n = 1;

	*cp = NULL;
	if (!ttl_ms)
		return 0;
	while (n < slots && n < (1u << 20))
		n <<= 1;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->e = calloc(n, sizeof(*c->e));
	if (!c->e) {
		free(c);
		return -ENOMEM;
	}
	c->mask = n - 1;
	c->ttl_ms = ttl_ms;
	*cp = c;
	return 0;
}

void did_cache_free(struct did_cache *c)
{
	if (!c)
		return;
	free(c->e);
	free(c);
}

/* FNV-1a. */
static unsigned slot(const struct did_cache *c, const char *number)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)number; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h & c->mask;
}

const char *did_cache_get(const struct did_cache *c, const char *number,
			  uint64_t now_ms)
{
	const struct did_entry *e;

	if (!c || !number)
		return NULL;
	e = &c->e[slot(c, number)];
	if (!e->tenant[0] || now_ms >= e->until_ms || strcmp(e->number, number))
		return NULL;
	return e->tenant;
}

void did_cache_put(struct did_cache *c, const char *number,
		   const char *tenant, uint64_t now_ms)
{
	struct did_entry *e;

	if (!c || !number || !tenant || strlen(number) >= sizeof(e->number) ||
	    strlen(tenant) >= sizeof(e->tenant))
		return;
	e = &c->e[slot(c, number)];
	strcpy(e->number, number);
	strcpy(e->tenant, tenant);
	e->until_ms = now_ms + c->ttl_ms;
}
