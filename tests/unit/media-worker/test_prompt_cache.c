/* Tests for prompt_cache.c with a table standing in for Redis: hits with
 * a confirmed version, reload on a version change, a deleted prompt, no
 * version (never cached), eviction by total bytes in LRU order, buffers
 * held by a playing call surviving eviction and replacement, store
 * failures and bad names, the recheck window (no version read for a
 * prompt confirmed a moment ago). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include <re.h>

#include "pbx_clock.h"
#include "pbx_test.h"
#include "prompt_cache.h"

TestSuite(prompt_cache, .fini = pbx_test_fini);

/* The fake store: a few prompts, each law filled with one byte value. */
struct fake_prompt {
	const char *tenant;
	const char *name;
	char version[PROMPT_VERSION_MAX]; /* "" : no uploaded_ms field */
	size_t len[2];			  /* 0: no audio in that law */
	uint8_t fill[2];
	bool gone;
};

struct fake_store {
	struct fake_prompt p[8];
	size_t n;
	int fail; /* every call returns this when set */
	unsigned version_calls;
	unsigned load_calls;
};

static struct fake_prompt *fake_find(struct fake_store *fs, const char *t,
				     const char *n)
{
	for (size_t i = 0; i < fs->n; i++)
		if (!strcmp(fs->p[i].tenant, t) && !strcmp(fs->p[i].name, n) &&
		    !fs->p[i].gone)
			return &fs->p[i];
	return NULL;
}

static int fake_version(const char *tenant, const char *name, char *version,
			size_t size, void *arg)
{
	struct fake_store *fs = arg;
	struct fake_prompt *p;

	fs->version_calls++;
	if (fs->fail)
		return fs->fail;
	p = fake_find(fs, tenant, name);
	if (!p || !p->version[0])
		return -ENOENT;
	snprintf(version, size, "%s", p->version);
	return 0;
}

static int fake_load(const char *tenant, const char *name,
		     struct prompt_data *pd, void *arg)
{
	struct fake_store *fs = arg;
	struct fake_prompt *p;

	fs->load_calls++;
	if (fs->fail)
		return fs->fail;
	p = fake_find(fs, tenant, name);
	if (!p)
		return -ENOENT;
	for (int i = 0; i < 2; i++) {
		if (!p->len[i])
			continue;
		pd->audio[i] = mem_alloc(p->len[i], NULL);
		cr_assert_not_null(pd->audio[i]);
		memset(pd->audio[i], p->fill[i], p->len[i]);
		pd->len[i] = p->len[i];
	}
	snprintf(pd->version, sizeof(pd->version), "%s", p->version);
	return 0;
}

static struct fake_prompt *add(struct fake_store *fs, const char *tenant,
			       const char *name, const char *version,
			       size_t len, uint8_t fill)
{
	struct fake_prompt *p = &fs->p[fs->n++];

	cr_assert_leq(fs->n, 8);
	p->tenant = tenant;
	p->name = name;
	snprintf(p->version, sizeof(p->version), "%s", version);
	p->len[OFFER_ULAW] = len;
	p->len[OFFER_ALAW] = len;
	p->fill[OFFER_ULAW] = fill;
	p->fill[OFFER_ALAW] = (uint8_t)(fill + 1);
	return p;
}

static struct prompt_cache *cache(struct fake_store *fs, size_t max)
{
	struct prompt_cache *pc = NULL;

	cr_assert_eq(prompt_cache_alloc(&pc, max, fake_version, fake_load, fs),
		     0);
	return pc;
}

/* Gets and checks the bytes; returns the buffer (still referenced). */
static uint8_t *get_ok(struct prompt_cache *pc, const char *t, const char *n,
		       enum offer_law law, size_t want_len, uint8_t want_fill)
{
	uint8_t *a = NULL;
	size_t len = 0;
	int err = prompt_cache_get(pc, t, n, law, &a, &len);

	cr_assert_eq(err, 0, "get %s/%s: %d", t, n, err);
	cr_assert_eq(len, want_len);
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(a[i], want_fill, "byte %zu", i);
	return a;
}

static void get_drop(struct prompt_cache *pc, const char *t, const char *n,
		     size_t want_len, uint8_t want_fill)
{
	mem_deref(get_ok(pc, t, n, OFFER_ULAW, want_len, want_fill));
}

static struct prompt_cache_stats stats(const struct prompt_cache *pc)
{
	struct prompt_cache_stats st;

	prompt_cache_stats(pc, &st);
	return st;
}

Test(prompt_cache, second_play_is_served_from_memory_after_a_version_check)
{
	struct fake_store fs = {0};
	struct prompt_cache *pc;
	uint8_t *a, *b;

	add(&fs, "acme", "welcome", "1700000000000", 800, 0x11);
	pc = cache(&fs, 1 << 20);
	a = get_ok(pc, "acme", "welcome", OFFER_ULAW, 800, 0x11);
	cr_assert_eq(fs.load_calls, 1);
	cr_assert_eq(fs.version_calls, 0, "a miss needs no version check");
	b = get_ok(pc, "acme", "welcome", OFFER_ULAW, 800, 0x11);
	cr_assert_eq(fs.load_calls, 1);
	cr_assert_eq(fs.version_calls, 1);
	cr_assert_eq(a, b, "the same shared buffer");
	cr_assert_eq(mem_nrefs(a), 3, "cache + two plays");
	cr_assert_eq(stats(pc).hits, 1);
	cr_assert_eq(stats(pc).entries, 1);
	cr_assert_eq(stats(pc).bytes, 1600, "both laws count");
	mem_deref(a);
	mem_deref(b);
	prompt_cache_free(pc);
}

Test(prompt_cache, recently_confirmed_prompt_is_served_without_a_read)
{
	struct fake_store fs = {0};
	struct fake_prompt *p;
	struct prompt_cache *pc;

	pbx_clock_fake(1000000);
	p = add(&fs, "acme", "welcome", "1", 160, 0x40);
	pc = cache(&fs, 1 << 20);
	prompt_cache_set_recheck(pc, 1000);
	get_drop(pc, "acme", "welcome", 160, 0x40); /* loaded at 1000000 */
	pbx_clock_fake(1000999);
	for (int i = 0; i < 100; i++)
		get_drop(pc, "acme", "welcome", 160, 0x40);
	cr_assert_eq(fs.version_calls, 0, "within the window: no read");
	cr_assert_eq(stats(pc).fresh, 100);
	/* A re-upload inside the window is not seen yet... */
	snprintf(p->version, sizeof(p->version), "2");
	p->fill[OFFER_ULAW] = 0x41;
	get_drop(pc, "acme", "welcome", 160, 0x40);
	/* ... and is from the first get once the window passed. */
	pbx_clock_fake(1001000);
	get_drop(pc, "acme", "welcome", 160, 0x41);
	cr_assert_eq(fs.version_calls, 1);
	cr_assert_eq(fs.load_calls, 2);
	/* A confirmed version opens a new window. */
	pbx_clock_fake(1002500);
	get_drop(pc, "acme", "welcome", 160, 0x41);
	pbx_clock_fake(1003000);
	get_drop(pc, "acme", "welcome", 160, 0x41);
	cr_assert_eq(fs.version_calls, 2);
	/* The clock stepped back: asked again. */
	pbx_clock_fake(5000);
	get_drop(pc, "acme", "welcome", 160, 0x41);
	cr_assert_eq(fs.version_calls, 3);
	pbx_clock_fake(0);
	prompt_cache_free(pc);
}

Test(prompt_cache, both_laws_come_from_one_load)
{
	struct fake_store fs = {0};
	struct prompt_cache *pc;

	add(&fs, "acme", "welcome", "1", 320, 0x20);
	pc = cache(&fs, 1 << 20);
	get_drop(pc, "acme", "welcome", 320, 0x20);
	mem_deref(get_ok(pc, "acme", "welcome", OFFER_ALAW, 320, 0x21));
	cr_assert_eq(fs.load_calls, 1);
	prompt_cache_free(pc);
}

Test(prompt_cache, new_upload_is_picked_up_and_old_bytes_live_on)
{
	struct fake_store fs = {0};
	struct fake_prompt *p;
	struct prompt_cache *pc;
	uint8_t *playing;

	p = add(&fs, "acme", "welcome", "1000", 480, 0x30);
	pc = cache(&fs, 1 << 20);
	playing = get_ok(pc, "acme", "welcome", OFFER_ULAW, 480, 0x30);

	/* Re-upload: new bytes, new uploaded_ms. */
	snprintf(p->version, sizeof(p->version), "2000");
	p->len[OFFER_ULAW] = 640;
	p->fill[OFFER_ULAW] = 0x31;
	get_drop(pc, "acme", "welcome", 640, 0x31);
	cr_assert_eq(fs.load_calls, 2);
	cr_assert_eq(stats(pc).entries, 1);
	cr_assert_eq(stats(pc).bytes, 640 + 480);

	/* The call that started before the upload still plays the old. */
	cr_assert_eq(mem_nrefs(playing), 1);
	for (size_t i = 0; i < 480; i++)
		cr_assert_eq(playing[i], 0x30);
	mem_deref(playing);

	get_drop(pc, "acme", "welcome", 640, 0x31);
	cr_assert_eq(fs.load_calls, 2, "the new version is cached");
	prompt_cache_free(pc);
}

Test(prompt_cache, deleted_prompt_drops_the_entry)
{
	struct fake_store fs = {0};
	struct fake_prompt *p;
	struct prompt_cache *pc;
	uint8_t *a = NULL;
	size_t len = 0;

	p = add(&fs, "acme", "welcome", "1", 160, 0x40);
	pc = cache(&fs, 1 << 20);
	get_drop(pc, "acme", "welcome", 160, 0x40);
	p->gone = true;
	cr_assert_eq(
		prompt_cache_get(pc, "acme", "welcome", OFFER_ULAW, &a, &len),
		-ENOENT);
	cr_assert_null(a);
	cr_assert_eq(stats(pc).entries, 0);
	cr_assert_eq(stats(pc).bytes, 0);
	prompt_cache_free(pc);
}

Test(prompt_cache, unknown_prompt_is_enoent)
{
	struct fake_store fs = {0};
	struct prompt_cache *pc = cache(&fs, 1 << 20);
	uint8_t *a = NULL;
	size_t len = 0;

	cr_assert_eq(
		prompt_cache_get(pc, "acme", "nope", OFFER_ULAW, &a, &len),
		-ENOENT);
	cr_assert_eq(stats(pc).entries, 0);
	prompt_cache_free(pc);
}

Test(prompt_cache, prompt_without_version_is_played_but_never_cached)
{
	struct fake_store fs = {0};
	struct prompt_cache *pc;

	/* Written by hand without uploaded_ms: nothing to compare. */
	add(&fs, "acme", "welcome", "", 160, 0x50);
	pc = cache(&fs, 1 << 20);
	get_drop(pc, "acme", "welcome", 160, 0x50);
	get_drop(pc, "acme", "welcome", 160, 0x50);
	cr_assert_eq(fs.load_calls, 2);
	cr_assert_eq(stats(pc).entries, 0);
	prompt_cache_free(pc);
}

Test(prompt_cache, missing_law_is_enoent_other_law_plays)
{
	struct fake_store fs = {0};
	struct fake_prompt *p;
	struct prompt_cache *pc;
	uint8_t *a = NULL;
	size_t len = 0;

	p = add(&fs, "acme", "welcome", "1", 160, 0x60);
	p->len[OFFER_ALAW] = 0;
	pc = cache(&fs, 1 << 20);
	cr_assert_eq(
		prompt_cache_get(pc, "acme", "welcome", OFFER_ALAW, &a, &len),
		-ENOENT);
	cr_assert_null(a);
	get_drop(pc, "acme", "welcome", 160, 0x60);
	cr_assert_eq(fs.load_calls, 1, "cached by the first get");
	cr_assert_eq(
		prompt_cache_get(pc, "acme", "welcome", OFFER_ALAW, &a, &len),
		-ENOENT);
	prompt_cache_free(pc);
}

Test(prompt_cache, eviction_by_size_drops_least_recently_used)
{
	struct fake_store fs = {0};
	struct prompt_cache *pc;

	/* 1000 bytes per prompt (500 per law), room for three. */
	add(&fs, "acme", "a", "1", 500, 0xa0);
	add(&fs, "acme", "b", "1", 500, 0xb0);
	add(&fs, "acme", "c", "1", 500, 0xc0);
	add(&fs, "acme", "d", "1", 500, 0xd0);
	pc = cache(&fs, 3000);
	get_drop(pc, "acme", "a", 500, 0xa0);
	get_drop(pc, "acme", "b", 500, 0xb0);
	get_drop(pc, "acme", "c", 500, 0xc0);
	cr_assert_eq(stats(pc).bytes, 3000);
	get_drop(pc, "acme", "a", 500, 0xa0); /* a is now the most recent */
	cr_assert_eq(fs.load_calls, 3);

	get_drop(pc, "acme", "d", 500, 0xd0); /* evicts b */
	cr_assert_eq(fs.load_calls, 4);
	cr_assert_eq(stats(pc).evictions, 1);
	cr_assert_eq(stats(pc).entries, 3);
	cr_assert_leq(stats(pc).bytes, 3000);

	get_drop(pc, "acme", "a", 500, 0xa0);
	get_drop(pc, "acme", "c", 500, 0xc0);
	get_drop(pc, "acme", "d", 500, 0xd0);
	cr_assert_eq(fs.load_calls, 4, "a, c, d stayed");
	get_drop(pc, "acme", "b", 500, 0xb0);
	cr_assert_eq(fs.load_calls, 5, "b was the one evicted");
	prompt_cache_free(pc);
}

Test(prompt_cache, buffer_in_use_survives_eviction_and_cache_free)
{
	struct fake_store fs = {0};
	struct prompt_cache *pc;
	uint8_t *playing;

	add(&fs, "acme", "a", "1", 1000, 0xa1);
	add(&fs, "acme", "b", "1", 1000, 0xb1);
	pc = cache(&fs, 2000); /* one prompt at a time */
	playing = get_ok(pc, "acme", "a", OFFER_ULAW, 1000, 0xa1);
	get_drop(pc, "acme", "b", 1000, 0xb1);
	cr_assert_eq(stats(pc).evictions, 1);
	cr_assert_eq(stats(pc).entries, 1);
	cr_assert_eq(mem_nrefs(playing), 1, "only the call holds it now");
	prompt_cache_free(pc);
	/* ASan would report a use after free here. */
	for (size_t i = 0; i < 1000; i++)
		cr_assert_eq(playing[i], 0xa1);
	mem_deref(playing);
}

Test(prompt_cache, prompt_bigger_than_the_budget_is_played_uncached)
{
	struct fake_store fs = {0};
	struct prompt_cache *pc;

	add(&fs, "acme", "small", "1", 100, 0x70);
	add(&fs, "acme", "huge", "1", 5000, 0x71);
	pc = cache(&fs, 1000);
	get_drop(pc, "acme", "small", 100, 0x70);
	get_drop(pc, "acme", "huge", 5000, 0x71);
	cr_assert_eq(stats(pc).entries, 1, "small was not evicted for it");
	get_drop(pc, "acme", "huge", 5000, 0x71);
	cr_assert_eq(fs.load_calls, 3);
	prompt_cache_free(pc);
}

Test(prompt_cache, zero_budget_reads_every_time)
{
	struct fake_store fs = {0};
	struct prompt_cache *pc;

	add(&fs, "acme", "welcome", "1", 160, 0x80);
	pc = cache(&fs, 0);
	get_drop(pc, "acme", "welcome", 160, 0x80);
	get_drop(pc, "acme", "welcome", 160, 0x80);
	cr_assert_eq(fs.load_calls, 2);
	cr_assert_eq(fs.version_calls, 0);
	prompt_cache_free(pc);
}

Test(prompt_cache, entries_are_per_tenant)
{
	struct fake_store fs = {0};
	struct prompt_cache *pc;

	add(&fs, "acme", "welcome", "1", 160, 0x90);
	add(&fs, "globex", "welcome", "1", 160, 0x91);
	pc = cache(&fs, 1 << 20);
	get_drop(pc, "acme", "welcome", 160, 0x90);
	get_drop(pc, "globex", "welcome", 160, 0x91);
	get_drop(pc, "acme", "welcome", 160, 0x90);
	get_drop(pc, "globex", "welcome", 160, 0x91);
	cr_assert_eq(fs.load_calls, 2);
	cr_assert_eq(stats(pc).entries, 2);
	prompt_cache_free(pc);
}

Test(prompt_cache, store_down_plays_cached_copy_or_fails_uncached)
{
	struct fake_store fs = {0};
	struct prompt_cache *pc;
	uint8_t *a = NULL;
	size_t len = 0;

	add(&fs, "acme", "welcome", "1", 160, 0xe0);
	add(&fs, "acme", "other", "1", 160, 0xe1);
	pc = cache(&fs, 1 << 20);
	get_drop(pc, "acme", "welcome", 160, 0xe0);
	fs.fail = -ECONNREFUSED;
	get_drop(pc, "acme", "welcome", 160, 0xe0);
	cr_assert_eq(stats(pc).stale, 1);
	cr_assert_eq(
		prompt_cache_get(pc, "acme", "other", OFFER_ULAW, &a, &len),
		-ECONNREFUSED);
	cr_assert_null(a);
	fs.fail = 0;
	get_drop(pc, "acme", "other", 160, 0xe1);
	prompt_cache_free(pc);
}

/* Version check says "changed", then the reload fails. */
static int flaky_load(const char *tenant, const char *name,
		      struct prompt_data *pd, void *arg)
{
	struct fake_store *fs = arg;

	if (fs->load_calls >= 1) {
		/* Half a prompt read before the failure is released. */
		pd->audio[OFFER_ULAW] = mem_alloc(10, NULL);
		fs->load_calls++;
		return -ETIMEDOUT;
	}
	return fake_load(tenant, name, pd, arg);
}

Test(prompt_cache, failed_reload_plays_the_cached_copy)
{
	struct fake_store fs = {0};
	struct fake_prompt *p;
	struct prompt_cache *pc = NULL;

	p = add(&fs, "acme", "welcome", "1", 160, 0xf0);
	cr_assert_eq(prompt_cache_alloc(&pc, 1 << 20, fake_version, flaky_load,
					&fs),
		     0);
	get_drop(pc, "acme", "welcome", 160, 0xf0);
	snprintf(p->version, sizeof(p->version), "2");
	get_drop(pc, "acme", "welcome", 160, 0xf0);
	cr_assert_eq(fs.load_calls, 2);
	cr_assert_eq(stats(pc).stale, 1);
	cr_assert_eq(stats(pc).entries, 1);
	prompt_cache_free(pc);
}

Test(prompt_cache, invalid_names_never_reach_the_store)
{
	struct fake_store fs = {0};
	struct prompt_cache *pc = cache(&fs, 1 << 20);
	uint8_t *a = NULL;
	size_t len = 0;

	cr_assert_eq(
		prompt_cache_get(pc, "acme", "../x", OFFER_ULAW, &a, &len),
		-EINVAL);
	cr_assert_eq(prompt_cache_get(pc, "acme", "", OFFER_ULAW, &a, &len),
		     -EINVAL);
	cr_assert_eq(prompt_cache_get(pc, "a c", "x", OFFER_ULAW, &a, &len),
		     -EINVAL);
	cr_assert_eq(
		prompt_cache_get(pc, "acme", "x", (enum offer_law)7, &a, &len),
		-EINVAL);
	cr_assert_eq(fs.load_calls + fs.version_calls, 0);
	cr_assert_null(a);
	prompt_cache_free(pc);
}

Test(prompt_cache, alloc_checks_arguments)
{
	struct prompt_cache *pc = NULL;

	cr_assert_eq(prompt_cache_alloc(&pc, 0, NULL, fake_load, NULL),
		     -EINVAL);
	cr_assert_eq(
		prompt_cache_alloc(NULL, 0, fake_version, fake_load, NULL),
		-EINVAL);
	prompt_cache_free(NULL);
}
