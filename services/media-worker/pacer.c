/* Pacer: the shared 20 ms timerfd and the list of entries it drives. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "pacer.h"
#include "pbx_clock.h"
#include "pbx_log.h"

struct pacer {
	int fd;
	uint32_t period_ms;
	bool armed;
	struct list entries;
	/* Next entry of the walk in progress, so that a handler may remove
	 * any entry (itself or another) without breaking the walk. */
	struct le *cursor;
};

static int arm(struct pacer *p, bool on)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	if (on) {
		its.it_interval.tv_sec = p->period_ms / 1000;
		its.it_interval.tv_nsec =
			(long)(p->period_ms % 1000) * 1000000;
		its.it_value = its.it_interval;
	}
	if (timerfd_settime(p->fd, 0, &its, NULL))
		return -errno;
	p->armed = on;
	return 0;
}

static void fd_handler(int flags, void *arg)
{
	struct pacer *p = arg;
	uint64_t periods = 0, now;
	ssize_t n;

	(void)flags;
	n = read(p->fd, &periods, sizeof(periods));
	if (n != (ssize_t)sizeof(periods) || !periods)
		return; /* EAGAIN: spurious wake-up or disarmed meanwhile */
	if (periods > 1)
		PLOG_DEBUG("pacer: %llu periods in one tick, catching up",
			   (unsigned long long)periods);
	now = pbx_clock_mono_ms();
	for (struct le *le = list_head(&p->entries); le; le = p->cursor) {
		struct pacer_entry *e = le->data;

		p->cursor = le->next;
		e->tickh(periods, now, e->arg);
	}
	p->cursor = NULL;
	if (p->armed && !list_head(&p->entries))
		arm(p, false);
}

int pacer_alloc(struct pacer **pp, uint32_t period_ms)
{
	struct pacer *p;
	int err;

	if (!pp || !period_ms)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->period_ms = period_ms;
	p->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (p->fd < 0) {
		err = -errno;
		free(p);
		return err;
	}
	err = fd_listen(p->fd, FD_READ, fd_handler, p);
	if (err) {
		close(p->fd);
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
	while (list_head(&p->entries))
		list_unlink(list_head(&p->entries));
	fd_close(p->fd);
	close(p->fd);
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

int pacer_add(struct pacer *p, struct pacer_entry *e)
{
	if (pacer_has(e))
		return 0;
	list_append(&p->entries, &e->le, e);
	if (!p->armed) {
		int err = arm(p, true);

		if (err) {
			list_unlink(&e->le);
			return err;
		}
	}
	return 0;
}

void pacer_remove(struct pacer *p, struct pacer_entry *e)
{
	if (!pacer_has(e))
		return;
	if (p->cursor == &e->le)
		p->cursor = e->le.next;
	list_unlink(&e->le);
	/* No wake-ups while nothing plays. */
	if (!list_head(&p->entries) && p->armed)
		arm(p, false);
}

uint32_t pacer_count(const struct pacer *p)
{
	return list_count(&p->entries);
}
