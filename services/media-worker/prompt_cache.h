/* Prompt cache: per (tenant, prompt name) the µ-law and A-law audio and
 * the version (the prompt's uploaded_ms) they were read at, shared by all
 * calls of the worker. Bounded by total bytes, least recently used
 * evicted first. Audio is handed out as referenced libre mem objects, so a
 * call keeps playing bytes the cache has since dropped or replaced. The
 * store behind it is two callbacks: Redis in the worker (prompt_store.c),
 * a table in the unit tests. Single-threaded (the control loop). */
#ifndef PROMPT_CACHE_H
#define PROMPT_CACHE_H
#include <stddef.h>
#include <stdint.h>

#include "offer_codec.h"

enum { PROMPT_VERSION_MAX = 32 };

/* One prompt as the store returned it. audio[law] is a libre mem object
 * (mem_alloc) or NULL when the store has no audio in that law. */
struct prompt_data {
	uint8_t *audio[2]; /* index enum offer_law */
	size_t len[2];
	char version[PROMPT_VERSION_MAX]; /* "" : none, not cacheable */
};

/* The prompt's current version into version (NUL-terminated). 0; -ENOENT
 * no such prompt, or it has no version; another negative errno when the
 * store failed (the cached copy is then played). */
typedef int(prompt_version_h)(const char *tenant, const char *name,
			      char *version, size_t size, void *arg);
/* Reads the whole prompt into *pd (zeroed by the cache; the cache takes
 * the audio references whatever it returns). 0; -ENOENT the prompt is
 * gone (no audio in either law); another negative errno (store failure,
 * -EFBIG). */
typedef int(prompt_load_h)(const char *tenant, const char *name,
			   struct prompt_data *pd, void *arg);

struct prompt_cache;

struct prompt_cache_stats {
	size_t entries;
	size_t bytes;	    /* audio held by entries (both laws) */
	uint64_t hits;	    /* served from memory, version confirmed */
	uint64_t fresh;	    /* ... of those, without asking the store */
	uint64_t stale;	    /* served from memory, the store failed */
	uint64_t loads;	    /* prompts read in full */
	uint64_t evictions; /* entries dropped to make room */
};

/* max_bytes 0: nothing is kept (every get reads the whole prompt). */
int prompt_cache_alloc(struct prompt_cache **pcp, size_t max_bytes,
		       prompt_version_h *verh, prompt_load_h *loadh,
		       void *arg);
/* Drops every entry; buffers still referenced by calls live on. */
void prompt_cache_free(struct prompt_cache *pc);

/* The prompt's audio in `law`. A cached entry whose version the store
 * confirms is used as is; a different or absent version reloads it (and
 * a prompt that is gone drops its entry). On 0, *audiop is a new
 * reference (mem_deref it when done) to *lenp bytes. When the store
 * fails (version check or reload) a cached entry is played as it is.
 * Errors: -EINVAL tenant or name is not an id; -ENOENT no such prompt, or
 * no audio in that law; the store's errors when nothing is cached. */
int prompt_cache_get(struct prompt_cache *pc, const char *tenant,
		     const char *name, enum offer_law law, uint8_t **audiop,
		     size_t *lenp);

/* An entry whose version the store confirmed (or that was read) less than
 * ms ago (wall clock, pbx_clock_now_ms) is served without asking the store
 * again: one version read per prompt per ms instead of one per Play, each
 * a blocking round trip on the worker's loop. A re-upload is then played
 * from the first get more than ms after it. 0 (the default): ask on every
 * get. */
void prompt_cache_set_recheck(struct prompt_cache *pc, uint32_t ms);

void prompt_cache_stats(const struct prompt_cache *pc,
			struct prompt_cache_stats *st);

#endif
