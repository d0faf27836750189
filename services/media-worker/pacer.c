/* Pacer: the timer wheel (1 ms slots over the 20 ms period) on one timerfd,
 * and the entries in its slots. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "pacer.h"
#include "pbx_log.h"

#define NS_PER_MS 1000000ull

struct pacer_slot {
	struct list entries;
	uint32_t n;
};

/* Time is an index on one grid: index k is due at origin + k ms and
 * belongs to slot k % nslots. Every entry keeps the index of its next
 * call (e->due, always in its own slot), so a late wake-up knows how many
 * of each entry's periods passed. */
struct pacer {
	int fd;
	uint32_t nslots;
	uint64_t origin;   /* ns, CLOCK_MONOTONIC */
	uint64_t next;	   /* first index not run yet */
	uint64_t armed_ns; /* absolute expiry set on fd; 0: disarmed */
	uint32_t count;
	bool running;	 /* inside pacer_run() */
	uint64_t run_ns; /* ... at this time */
	/* Next entry of the slot walk in progress, so that a handler may
	 * remove any entry (itself or another) without breaking the walk. */
	struct le *cursor;
	struct pacer_slot *slots;
};

uint64_t pacer_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t index_of(const struct pacer *p, uint64_t ns)
{
	return ns > p->origin ? (ns - p->origin) / (PACER_SLOT_MS * NS_PER_MS)
			      : 0;
}

static uint64_t time_of(const struct pacer *p, uint64_t idx)
{
	return p->origin + idx * PACER_SLOT_MS * NS_PER_MS;
}

static void set_timer(struct pacer *p, uint64_t abs_ns)
{
	struct itimerspec its;

	if (abs_ns == p->armed_ns)
		return; /* one system call less per wake-up at steady load */
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(abs_ns / 1000000000ull);
	its.it_value.tv_nsec = (long)(abs_ns % 1000000000ull);
	/* A one-shot at an absolute time: no drift, and a time already
	 * past fires at once (the loop was late: slots are waiting). */
	if (timerfd_settime(p->fd, TFD_TIMER_ABSTIME, &its, NULL)) {
		PLOG_ERR("pacer: timerfd_settime: %s", strerror(errno));
		return;
	}
	p->armed_ns = abs_ns;
}

/* Arms the timer for the first occupied slot from p->next on, or disarms
 * it when nothing is registered. */
static void rearm(struct pacer *p)
{
	if (!p->count) {
		if (p->armed_ns) {
			struct itimerspec off;

			memset(&off, 0, sizeof(off));
			timerfd_settime(p->fd, 0, &off, NULL);
			p->armed_ns = 0;
		}
		return;
	}
	for (uint32_t i = 0; i < p->nslots; i++) {
		uint64_t k = p->next + i;

		if (p->slots[k % p->nslots].n) {
			set_timer(p, time_of(p, k));
			return;
		}
	}
}

static void run_slot(struct pacer *p, struct pacer_slot *s, uint64_t last,
		     uint64_t now_ms)
{
	for (struct le *le = list_head(&s->entries); le; le = p->cursor) {
		struct pacer_entry *e = le->data;
		uint64_t periods;

		p->cursor = le->next;
		/* Added (or moved) after this wake-up's time. */
		if (e->due > last)
			continue;
		periods = 1 + (last - e->due) / p->nslots;
		e->due += periods * p->nslots;
		e->tickh(periods, now_ms, e->arg);
	}
	p->cursor = NULL;
}

void pacer_run(struct pacer *p, uint64_t now_ns)
{
	uint64_t last = index_of(p, now_ns), end;

	if (p->running)
		return;
	if (p->count && p->next <= last) {
		if (last - p->next >= p->nslots)
			PLOG_DEBUG("pacer: woke %llu ms late, catching up",
				   (unsigned long long)(last - p->next));
		p->running = true;
		p->run_ns = now_ns;
		/* Each slot once, in the order its first missed time came;
		 * every entry in it gets all of its periods that passed. */
		end = last - p->next >= p->nslots ? p->next + p->nslots - 1
						  : last;
		for (uint64_t k = p->next; k <= end; k++) {
			struct pacer_slot *s = &p->slots[k % p->nslots];

			if (s->n)
				run_slot(p, s, last, now_ns / NS_PER_MS);
		}
		p->running = false;
	}
	if (p->next <= last)
		p->next = last + 1;
	rearm(p);
}

void pacer_poll(struct pacer *p)
{
	uint64_t now;

	if (!p || !p->armed_ns || p->running)
		return;
	now = pacer_now_ns();
	if (now >= p->armed_ns)
		pacer_run(p, now);
}

static void fd_handler(int flags, void *arg)
{
	struct pacer *p = arg;
	uint64_t expirations;

	(void)flags;
	/* Clears the readable state; the count is not used (one-shot). */
	if (read(p->fd, &expirations, sizeof(expirations)) < 0 &&
	    errno != EAGAIN)
		PLOG_WARN("pacer: timerfd read: %s", strerror(errno));
	/* The expiry this fd was armed for is spent. */
	p->armed_ns = 0;
	pacer_run(p, pacer_now_ns());
}

int pacer_alloc(struct pacer **pp, uint32_t period_ms)
{
	struct pacer *p;
	int err;

	if (!pp || !period_ms || period_ms % PACER_SLOT_MS ||
	    period_ms / PACER_SLOT_MS > PACER_SLOTS_MAX)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->nslots = period_ms / PACER_SLOT_MS;
	p->slots = calloc(p->nslots, sizeof(*p->slots));
	if (!p->slots) {
		free(p);
		return -ENOMEM;
	}
	p->origin = pacer_now_ns();
	p->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (p->fd < 0) {
		err = -errno;
		free(p->slots);
		free(p);
		return err;
	}
	err = fd_listen(p->fd, FD_READ, fd_handler, p);
	if (err) {
		close(p->fd);
		free(p->slots);
		free(p);
		return -err; /* libre returns positive errno */
	}
	*pp = p;
	return 0;
}

void pacer_free(struct pacer *p)
{
	if (!p)
		return;
	/* Entries belong to their owners; just forget them. */
	for (uint32_t i = 0; i < p->nslots; i++)
		while (list_head(&p->slots[i].entries))
			list_unlink(list_head(&p->slots[i].entries));
	fd_close(p->fd);
	close(p->fd);
	free(p->slots);
	free(p);
}

void pacer_entry_init(struct pacer_entry *e, pacer_tick_h *tickh, void *arg)
{
	memset(e, 0, sizeof(*e));
	e->tickh = tickh;
	e->arg = arg;
}

bool pacer_has(const struct pacer_entry *e)
{
	return e->le.list != NULL;
}

int pacer_add_at(struct pacer *p, struct pacer_entry *e, uint64_t now_ns)
{
	uint64_t start, now_idx = index_of(p, now_ns);
	uint32_t best = 0;

	if (!p || !e || !e->tickh)
		return -EINVAL;
	if (pacer_has(e))
		return 0;
	/* An idle wheel has nothing to catch up: it restarts from now. */
	if (!p->count && !p->running)
		p->next = now_idx + 1;
	/* Never due before now: a new entry starts with one period, not
	 * with a catch-up of a wake-up that is running late. */
	start = p->next > now_idx + 1 ? p->next : now_idx + 1;
	/* The least loaded slot; of those, the first due from start. */
	for (uint32_t i = 1; i < p->nslots; i++) {
		uint32_t s = (uint32_t)((start + i) % p->nslots);
		uint32_t b = (uint32_t)((start + best) % p->nslots);

		if (p->slots[s].n < p->slots[b].n)
			best = i;
	}
	e->slot = (uint32_t)((start + best) % p->nslots);
	e->due = start + best;
	list_append(&p->slots[e->slot].entries, &e->le, e);
	p->slots[e->slot].n++;
	p->count++;
	if (!p->running)
		rearm(p);
	return 0;
}

int pacer_add(struct pacer *p, struct pacer_entry *e)
{
	if (!p)
		return -EINVAL;
	return pacer_add_at(p, e, p->running ? p->run_ns : pacer_now_ns());
}

void pacer_remove(struct pacer *p, struct pacer_entry *e)
{
	if (!p || !e || !pacer_has(e))
		return;
	if (p->cursor == &e->le)
		p->cursor = e->le.next;
	list_unlink(&e->le);
	p->slots[e->slot].n--;
	p->count--;
	/* No wake-ups while nothing plays. An emptied slot may still have
	 * the timer: one wake-up finds nothing and re-arms. */
	if (!p->count && !p->running)
		rearm(p);
}

uint32_t pacer_count(const struct pacer *p)
{
	return p ? p->count : 0;
}

uint32_t pacer_slots(const struct pacer *p)
{
	return p->nslots;
}

uint32_t pacer_slot_load(const struct pacer *p, uint32_t slot)
{
	return slot < p->nslots ? p->slots[slot].n : 0;
}

uint32_t pacer_entry_slot(const struct pacer_entry *e)
{
	return e->slot;
}

uint64_t pacer_origin_ns(const struct pacer *p)
{
	return p->origin;
}

uint64_t pacer_next_ns(const struct pacer *p)
{
	return p->armed_ns;
}
