/* Circuit breakers (crm_breaker.h): a fixed open-addressed table keyed by
 * "<tenant>\x1f<crm>". A closed breaker with no failures holds no state
 * worth keeping, so its slot is reused first. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm_breaker.h"

#define PROBE 16
#define KEY_MAX (65 + 16)

struct bslot {
	char key[KEY_MAX];
	unsigned fails;	     /* in a row */
	uint64_t open_until; /* 0: closed */
	bool trial;	     /* half-open: the trial request is out */
	uint64_t trial_at;
};

struct crm_breaker {
	struct bslot *slot;
	size_t n;
	unsigned failures;
	uint64_t open_ms;
};

static size_t hash_of(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)h;
}

int crm_breaker_alloc(struct crm_breaker **bp, size_t slots,
		      unsigned failures, uint64_t open_ms)
{
	struct crm_breaker *b = calloc(1, sizeof(*b));

	if (!b || !slots || !failures)
		goto fail;
	b->slot = calloc(slots, sizeof(*b->slot));
	if (!b->slot)
		goto fail;
	b->n = slots;
	b->failures = failures;
	b->open_ms = open_ms;
	*bp = b;
	return 0;
fail:
	free(b);
	return -ENOMEM;
}

void crm_breaker_free(struct crm_breaker *b)
{
	if (!b)
		return;
	free(b->slot);
	free(b);
}

static bool idle(const struct bslot *s)
{
	return !s->key[0] || (!s->fails && !s->open_until && !s->trial);
}

/* The slot of the key; with create, a free or idle one. */
static struct bslot *find(struct crm_breaker *b, const char *tenant,
			  const char *crm, bool create)
{
	struct bslot *spare = NULL;
	char key[KEY_MAX];
	size_t h;
	int n = snprintf(key, sizeof(key), "%s\x1f%s", tenant, crm);

	if (n < 0 || n >= KEY_MAX)
		return NULL;
	h = hash_of(key);
	for (size_t i = 0; i < PROBE && i < b->n; i++) {
		struct bslot *s = &b->slot[(h + i) % b->n];

		if (s->key[0] && !strcmp(s->key, key))
			return s;
		if (!spare && idle(s))
			spare = s;
	}
	if (!create || !spare)
		return NULL;
	memset(spare, 0, sizeof(*spare));
	memcpy(spare->key, key, sizeof(key));
	return spare;
}

bool crm_breaker_allow(struct crm_breaker *b, const char *tenant,
		       const char *crm, uint64_t now_ms)
{
	struct bslot *s = find(b, tenant, crm, false);

	if (!s || !s->open_until)
		return true;
	if (now_ms < s->open_until)
		return false;
	/* Half-open: one trial; a trial whose report never came (its
	 * request vanished) is replaced after another open period. */
	if (s->trial && now_ms < s->trial_at + b->open_ms)
		return false;
	s->trial = true;
	s->trial_at = now_ms;
	return true;
}

void crm_breaker_report(struct crm_breaker *b, const char *tenant,
			const char *crm, bool ok, uint64_t now_ms)
{
	struct bslot *s = find(b, tenant, crm, !ok);

	if (!s)
		return;
	s->trial = false;
	if (ok) {
		s->fails = 0;
		s->open_until = 0;
		return;
	}
	if (s->fails < b->failures)
		s->fails++;
	if (s->fails >= b->failures)
		s->open_until = now_ms + b->open_ms;
}

bool crm_breaker_open(struct crm_breaker *b, const char *tenant,
		      const char *crm, uint64_t now_ms)
{
	struct bslot *s = find(b, tenant, crm, false);

	return s && s->open_until && now_ms < s->open_until;
}
