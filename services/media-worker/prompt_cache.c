/* Prompt cache: entries by (tenant, name), version check, LRU by bytes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <re.h>

#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "prompt_cache.h"

enum { CACHE_HASH_SIZE = 64 };

/* Owned by the cache (in its hash and LRU list); owns one reference to
 * each audio buffer. */
struct prompt_entry {
	struct le he;
	struct le lru;
	char tenant[PBX_ID_MAX + 1];
	char name[PBX_ID_MAX + 1];
	char version[PROMPT_VERSION_MAX];
	uint64_t checked_ms; /* the store last confirmed version (wall) */
	uint8_t *audio[2];
	size_t len[2];
	size_t bytes;
};

struct prompt_cache {
	struct hash *ht;
	struct list lru; /* head: least recently used */
	size_t max_bytes;
	size_t bytes;
	size_t entries;
	uint64_t hits, fresh, stale, loads, evictions;
	uint32_t recheck_ms;
	prompt_version_h *verh;
	prompt_load_h *loadh;
	void *arg;
};

static uint32_t key_of(const char *tenant, const char *name)
{
	return hash_joaat_str(tenant) * 33 ^ hash_joaat_str(name);
}

struct find {
	const char *tenant;
	const char *name;
};

static bool entry_cmp(struct le *le, void *arg)
{
	const struct prompt_entry *e = le->data;
	const struct find *f = arg;

	return !strcmp(e->tenant, f->tenant) && !strcmp(e->name, f->name);
}

static void data_release(struct prompt_data *pd)
{
	for (int i = 0; i < 2; i++)
		pd->audio[i] = mem_deref(pd->audio[i]);
}

static void entry_drop(struct prompt_cache *pc, struct prompt_entry *e)
{
	hash_unlink(&e->he);
	list_unlink(&e->lru);
	pc->bytes -= e->bytes;
	pc->entries--;
	/* Calls playing it hold their own references. */
	for (int i = 0; i < 2; i++)
		mem_deref(e->audio[i]);
	free(e);
}

int prompt_cache_alloc(struct prompt_cache **pcp, size_t max_bytes,
		       prompt_version_h *verh, prompt_load_h *loadh, void *arg)
{
	struct prompt_cache *pc;
	int err;

	if (!pcp || !verh || !loadh)
		return -EINVAL;
	pc = calloc(1, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	err = hash_alloc(&pc->ht, CACHE_HASH_SIZE);
	if (err) {
		free(pc);
		return -err;
	}
	list_init(&pc->lru);
	pc->max_bytes = max_bytes;
	pc->verh = verh;
	pc->loadh = loadh;
	pc->arg = arg;
	*pcp = pc;
	return 0;
}

void prompt_cache_free(struct prompt_cache *pc)
{
	if (!pc)
		return;
	while (pc->lru.head)
		entry_drop(pc, pc->lru.head->data);
	mem_deref(pc->ht);
	free(pc);
}

/* Keeps pd as the entry of (tenant, name) if it has a version and fits,
 * evicting the least recently used entries to make room. Takes pd's
 * references either way (NULLs them when the entry took them). */
static void insert(struct prompt_cache *pc, const char *tenant,
		   const char *name, struct prompt_data *pd)
{
	size_t bytes = pd->len[0] + pd->len[1];
	struct prompt_entry *e;

	if (!pd->version[0] || bytes > pc->max_bytes)
		return;
	e = calloc(1, sizeof(*e));
	if (!e)
		return; /* served uncached */
	while (pc->bytes + bytes > pc->max_bytes && pc->lru.head) {
		struct prompt_entry *old = pc->lru.head->data;

		PLOG_DEBUG("prompt cache: evicting %s/%s (%zu bytes)",
			   old->tenant, old->name, old->bytes);
		entry_drop(pc, old);
		pc->evictions++;
	}
	snprintf(e->tenant, sizeof(e->tenant), "%s", tenant);
	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(e->version, sizeof(e->version), "%s", pd->version);
	e->checked_ms = pbx_clock_now_ms();
	for (int i = 0; i < 2; i++) {
		e->audio[i] = pd->audio[i];
		e->len[i] = pd->len[i];
		pd->audio[i] = NULL;
	}
	e->bytes = bytes;
	hash_append(pc->ht, key_of(tenant, name), &e->he, e);
	list_append(&pc->lru, &e->lru, e);
	pc->bytes += bytes;
	pc->entries++;
}

static int hand_out(uint8_t *audio, size_t len, uint8_t **audiop, size_t *lenp)
{
	if (!audio || !len)
		return -ENOENT;
	*audiop = mem_ref(audio);
	*lenp = len;
	return 0;
}

static int from_entry(struct prompt_cache *pc, struct prompt_entry *e,
		      enum offer_law law, uint8_t **audiop, size_t *lenp)
{
	/* Most recently used goes to the tail. */
	list_unlink(&e->lru);
	list_append(&pc->lru, &e->lru, e);
	return hand_out(e->audio[law], e->len[law], audiop, lenp);
}

int prompt_cache_get(struct prompt_cache *pc, const char *tenant,
		     const char *name, enum offer_law law, uint8_t **audiop,
		     size_t *lenp)
{
	struct find f = {.tenant = tenant, .name = name};
	struct prompt_data pd;
	struct prompt_entry *e = NULL;
	char version[PROMPT_VERSION_MAX];
	struct le *le;
	int err;

	if (!pc || !tenant || !name || !audiop || !lenp ||
	    (law != OFFER_ULAW && law != OFFER_ALAW))
		return -EINVAL;
	if (!pbx_id_valid(tenant) || !pbx_id_valid(name))
		return -EINVAL;
	le = hash_lookup(pc->ht, key_of(tenant, name), entry_cmp, &f);
	if (le) {
		uint64_t now = pbx_clock_now_ms();

		e = le->data;
		/* Checked a moment ago: no round trip (a clock stepped back
		 * counts as not recent). */
		if (now >= e->checked_ms &&
		    now - e->checked_ms < pc->recheck_ms) {
			pc->hits++;
			pc->fresh++;
			return from_entry(pc, e, law, audiop, lenp);
		}
		err = pc->verh(tenant, name, version, sizeof(version),
			       pc->arg);
		if (!err && !strcmp(version, e->version)) {
			e->checked_ms = now;
			pc->hits++;
			return from_entry(pc, e, law, audiop, lenp);
		}
		if (err && err != -ENOENT) {
			PLOG_WARN("prompt %s: version check failed (%s): "
				  "playing the cached copy",
				  name, strerror(-err));
			pc->stale++;
			return from_entry(pc, e, law, audiop, lenp);
		}
	}

	memset(&pd, 0, sizeof(pd));
	err = pc->loadh(tenant, name, &pd, pc->arg);
	if (!err && !pd.audio[OFFER_ULAW] && !pd.audio[OFFER_ALAW])
		err = -ENOENT;
	if (err && err != -ENOENT && e) {
		data_release(&pd);
		PLOG_WARN("prompt %s: reload failed (%s): playing the cached "
			  "copy",
			  name, strerror(-err));
		pc->stale++;
		return from_entry(pc, e, law, audiop, lenp);
	}
	/* Gone, or replaced: the old bytes live on in the calls only. */
	if (e)
		entry_drop(pc, e);
	if (err) {
		data_release(&pd);
		return err;
	}
	pc->loads++;
	if (!pd.audio[OFFER_ULAW])
		pd.len[OFFER_ULAW] = 0;
	if (!pd.audio[OFFER_ALAW])
		pd.len[OFFER_ALAW] = 0;
	/* The reference handed out first: insert() may take pd's. */
	err = hand_out(pd.audio[law], pd.len[law], audiop, lenp);
	insert(pc, tenant, name, &pd);
	data_release(&pd);
	PLOG_DEBUG("prompt cache: %s/%s loaded (version '%s'); %zu entries, "
		   "%zu bytes",
		   tenant, name, pd.version, pc->entries, pc->bytes);
	return err;
}

void prompt_cache_set_recheck(struct prompt_cache *pc, uint32_t ms)
{
	if (pc)
		pc->recheck_ms = ms;
}

void prompt_cache_stats(const struct prompt_cache *pc,
			struct prompt_cache_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!pc)
		return;
	st->entries = pc->entries;
	st->bytes = pc->bytes;
	st->hits = pc->hits;
	st->fresh = pc->fresh;
	st->stale = pc->stale;
	st->loads = pc->loads;
	st->evictions = pc->evictions;
}
