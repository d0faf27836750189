/* tmr_wheel.c: libre's timer API (re_tmr.h: tmr_start, tmr_cancel,
 * tmr_poll, tmr_next_timeout, tmr_get_expire, tmr_status, tmr_debug) for
 * the media worker process, on a timing wheel instead of libre 1.1.0's
 * one sorted list per thread.
 *
 * Why (issue 17, docs/performance.md): libre inserts a timer by walking
 * its list backwards from the latest timer, so every short timer (the
 * 500 ms 2xx retransmission timer of each answered call) walks past
 * every 32 s timer (the INVITE server transaction libre keeps 32 s after
 * its 2xx: one per call; on UDP also each BYE's Timer J). At 500 calls/s
 * that is 16,000 list entries read per call set up: the cost grows with
 * the square of the setup rate and was 22-55 % of the worker's core.
 *
 * How: the worker's executable defines these functions, and libre.so
 * calls its own timer functions through its PLT (objdump: `call
 * tmr_start@plt`), so the dynamic linker binds libre's calls to these as
 * well; every timer of the process lives here. tmr_wheel_bound() checks
 * that at start: with libre's own tmr_poll() bound to re_main(), timers
 * started here would never run, so the worker refuses to start then.
 * tmr_init() and tmr_jiffies() stay libre's (no list involved).
 *
 * struct tmr is libre's: `th` non-NULL means running (tmr_isrunning() is
 * inline in re_tmr.h), `jfs` the expiry in ms, `le` links it into a slot.
 *
 * Wheel: 2^16 slots of 1 ms (65.5 s). A timer due at t sits in slot
 * t mod 2^16, or in the slot being run if it is due already; FIFO within
 * a slot, so timers run in the order of their expiry and, for one expiry,
 * of their start, as libre's do. Start, cancel and run are O(1). Timers
 * beyond the wheel's span (TCP idle timers of 15 min: a few per
 * connection) wait on a sorted list and move onto the wheel when they
 * come within it. A bitmap of non-empty slots, and one of non-empty
 * 64-slot words, finds the next timer in a few word reads. One wheel per
 * thread, as libre keeps one list per thread (only the main thread runs
 * libre here). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <re.h>

#include "tmr_wheel.h"

enum {
	WHEEL_BITS = 16,
	WHEEL_SLOTS = 1 << WHEEL_BITS,
	WHEEL_MASK = WHEEL_SLOTS - 1,
	WHEEL_WORDS = WHEEL_SLOTS / 64,
	WHEEL_SUMMARY = WHEEL_WORDS / 64,
};

struct wheel {
	struct list slot[WHEEL_SLOTS];
	uint64_t used[WHEEL_WORDS];	/* bit: slot non-empty */
	uint64_t summary[WHEEL_SUMMARY];	/* bit: used[] word non-zero */
	struct list far;	/* beyond base + WHEEL_SLOTS, by expiry */
	uint64_t base;		/* the ms of the slot being (last) run */
	size_t n;		/* timers on the wheel and the far list */
};

static __thread struct wheel *tw;

static struct wheel *wheel_get(void)
{
	if (tw)
		return tw;
	tw = calloc(1, sizeof(*tw));
	if (!tw) {
		/* libre's tmr_start() cannot fail: neither can this. */
		fputs("tmr_wheel: out of memory for the timer wheel\n",
		      stderr);
		abort();
	}
	tw->base = tmr_jiffies();
	return tw;
}

static void bit_set(struct wheel *w, size_t idx)
{
	w->used[idx / 64] |= 1ULL << (idx % 64);
	w->summary[idx / 4096] |= 1ULL << (idx / 64 % 64);
}

static void bit_clear(struct wheel *w, size_t idx)
{
	w->used[idx / 64] &= ~(1ULL << (idx % 64));
	if (!w->used[idx / 64])
		w->summary[idx / 4096] &= ~(1ULL << (idx / 64 % 64));
}

/* First non-empty slot index >= from (no wrap), or -1. */
static long first_from(const struct wheel *w, size_t from)
{
	size_t word = from / 64;
	uint64_t bits = w->used[word] & (~0ULL << (from % 64));

	if (bits)
		return (long)(word * 64 + (size_t)__builtin_ctzll(bits));
	/* The next non-zero word after `word`, by the summary. */
	word++;
	for (size_t s = word / 64; s < WHEEL_SUMMARY; s++) {
		uint64_t sb = w->summary[s];

		if (s == word / 64)
			sb &= word % 64 ? ~0ULL << (word % 64) : ~0ULL;
		if (sb) {
			size_t wd = s * 64 + (size_t)__builtin_ctzll(sb);

			return (long)(wd * 64 +
				      (size_t)__builtin_ctzll(w->used[wd]));
		}
	}
	return -1;
}

/* Expiry (ms) of the earliest timer on the wheel; false if none. Every
 * timer on it is due in [base, base + WHEEL_SLOTS), so the slots read
 * cyclically from base's are in time order. */
static bool wheel_first(const struct wheel *w, uint64_t *at)
{
	size_t b = (size_t)(w->base & WHEEL_MASK);
	long i = first_from(w, b);

	if (i < 0)
		i = first_from(w, 0);
	if (i < 0)
		return false;
	*at = w->base + (((size_t)i - b) & WHEEL_MASK);
	return true;
}

static void put(struct wheel *w, struct tmr *tmr)
{
	uint64_t at = tmr->jfs > w->base ? tmr->jfs : w->base;

	if (at - w->base >= WHEEL_SLOTS) {
		struct le *le = w->far.tail;

		/* Sorted, the latest last; few entries. */
		while (le && ((struct tmr *)le->data)->jfs > tmr->jfs)
			le = le->prev;
		if (le)
			list_insert_after(&w->far, le, &tmr->le, tmr);
		else
			list_prepend(&w->far, &tmr->le, tmr);
		return;
	}
	list_append(&w->slot[at & WHEEL_MASK], &tmr->le, tmr);
	bit_set(w, (size_t)(at & WHEEL_MASK));
}

static void unlink_tmr(struct wheel *w, struct tmr *tmr)
{
	struct list *l = tmr->le.list;

	list_unlink(&tmr->le);
	w->n--;
	if (l >= w->slot && l < w->slot + WHEEL_SLOTS && !l->head)
		bit_clear(w, (size_t)(l - w->slot));
}

/* Far timers that the wheel's span (from base) now covers move onto it. */
static void far_pull(struct wheel *w)
{
	struct le *le;

	while ((le = w->far.head) &&
	       ((struct tmr *)le->data)->jfs < w->base + WHEEL_SLOTS) {
		list_unlink(le);
		put(w, le->data);
	}
}

void tmr_start(struct tmr *tmr, uint64_t delay, tmr_h *th, void *arg)
{
	struct wheel *w;

	if (!tmr)
		return;
	w = wheel_get();
	if (tmr->th)
		unlink_tmr(w, tmr);
	tmr->th = th;
	tmr->arg = arg;
	if (!th)
		return;
	tmr->jfs = delay + tmr_jiffies();
	put(w, tmr);
	w->n++;
}

void tmr_cancel(struct tmr *tmr)
{
	tmr_start(tmr, 0, NULL, NULL);
}

uint64_t tmr_get_expire(const struct tmr *tmr)
{
	uint64_t now;

	if (!tmr || !tmr->th)
		return 0;
	now = tmr_jiffies();
	return tmr->jfs > now ? tmr->jfs - now : 0;
}

/* Runs every timer of slot `at` (all due: a slot holds one ms); those a
 * handler starts for this same ms join the slot's tail and run too, as
 * libre runs a timer started with delay 0 from a handler in the same
 * poll. */
static void run_slot(struct wheel *w, uint64_t at)
{
	struct list *l = &w->slot[at & WHEEL_MASK];
	struct le *le;

	while ((le = l->head)) {
		struct tmr *tmr = le->data;
		tmr_h *th = tmr->th;
		void *arg = tmr->arg;

		unlink_tmr(w, tmr);
		tmr->th = NULL;
		if (th)
			th(arg);
	}
}

void tmr_poll(struct list *tmrl)
{
	struct wheel *w = wheel_get();
	uint64_t now = tmr_jiffies();
	uint64_t at;

	(void)tmrl; /* libre's own list: always empty in this process */
	if (now < w->base)
		now = w->base; /* a clock step back: nothing runs early */
	for (;;) {
		if (!wheel_first(w, &at) || at > now) {
			if (w->base >= now)
				break;
			/* Nothing due on the wheel: its span moves to now,
			 * and far timers it now covers (some perhaps due)
			 * come on. */
			w->base = now;
			far_pull(w);
			continue;
		}
		w->base = at;
		far_pull(w);
		run_slot(w, at);
	}
}

uint64_t tmr_next_timeout(struct list *tmrl)
{
	struct wheel *w = wheel_get();
	uint64_t now = tmr_jiffies();
	uint64_t at;

	(void)tmrl;
	if (!wheel_first(w, &at)) {
		if (!w->far.head)
			return 0; /* libre: no timers, wait for I/O only */
		at = ((struct tmr *)w->far.head->data)->jfs;
	}
	/* 1, not 0, for a timer already due: 0 means "none" to re_main. */
	return at <= now ? 1 : at - now;
}

size_t tmr_wheel_count(void)
{
	return tw ? tw->n : 0;
}

int tmr_status(struct re_printf *pf, void *unused)
{
	uint64_t to = tmr_next_timeout(NULL);

	(void)unused;
	if (!tmr_wheel_count())
		return 0;
	return re_hprintf(pf, "Timers (%zu, wheel): next in %llu ms\n",
			  tmr_wheel_count(), (unsigned long long)to);
}

void tmr_debug(void)
{
	if (tmr_wheel_count())
		(void)re_fprintf(stderr, "%H", tmr_status, NULL);
}

bool tmr_wheel_bound(void)
{
	/* The lookup libre's PLT entries go through: the executable's
	 * definition comes first in the global scope when it exports one. */
	void *start = dlsym(RTLD_DEFAULT, "tmr_start");
	void *poll = dlsym(RTLD_DEFAULT, "tmr_poll");
	void *next = dlsym(RTLD_DEFAULT, "tmr_next_timeout");

	return start == (void *)tmr_start && poll == (void *)tmr_poll &&
	       next == (void *)tmr_next_timeout;
}
