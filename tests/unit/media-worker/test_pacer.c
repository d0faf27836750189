/* Tests for pacer.c on a real libre loop: one timerfd, 20 ms ticks,
 * expiration counts after a busy loop, removal during a walk. */
#include <criterion/criterion.h>
#include <time.h>
#include <unistd.h>

#include <re.h>

#include "pacer.h"
#include "pbx_clock.h"
#include "pbx_test.h"

TestSuite(pacer, .fini = pbx_test_fini);

struct counter {
	struct pacer *pacer;
	struct pacer_entry e;
	uint64_t periods;
	unsigned ticks;
	uint64_t max_periods;
	uint64_t stop_after;	    /* periods */
	unsigned block_on_tick;	    /* sleep 100 ms on this tick (1-based) */
	struct pacer_entry *victim; /* removed on the first tick */
};

static void count_tick(uint64_t periods, uint64_t now_ms, void *arg)
{
	struct counter *c = arg;

	(void)now_ms;
	c->ticks++;
	c->periods += periods;
	if (periods > c->max_periods)
		c->max_periods = periods;
	if (c->victim) {
		pacer_remove(c->pacer, c->victim);
		c->victim = NULL;
	}
	if (c->ticks == c->block_on_tick)
		usleep(100 * 1000);
	if (c->periods >= c->stop_after) {
		pacer_remove(c->pacer, &c->e);
		re_cancel();
	}
}

static void safety(void *arg)
{
	(void)arg;
	re_cancel();
}

/* Runs the loop with c registered (then `then`, if any) until c has seen
 * stop_after periods or ms passed. */
static uint64_t run(struct pacer *p, struct counter *c, unsigned ms,
		    struct pacer_entry *then)
{
	struct tmr t;
	uint64_t t0 = pbx_clock_mono_ms();

	tmr_init(&t);
	tmr_start(&t, ms, safety, NULL);
	pacer_entry_init(&c->e, count_tick, c);
	c->pacer = p;
	cr_assert_eq(pacer_add(p, &c->e), 0);
	if (then)
		cr_assert_eq(pacer_add(p, then), 0);
	cr_assert_eq(re_main(NULL), 0);
	tmr_cancel(&t);
	return pbx_clock_mono_ms() - t0;
}

Test(pacer, ticks_every_20_ms)
{
	struct pacer *p = NULL;
	struct counter c = {.stop_after = 10};
	uint64_t ms;

	cr_assert_eq(libre_init(), 0);
	cr_assert_eq(pacer_alloc(&p, 20), 0);
	ms = run(p, &c, 2000, NULL);
	cr_assert_eq(c.periods, 10);
	cr_assert_geq(ms, 195);
	cr_assert_lt(ms, 400, "10 periods took %llu ms",
		     (unsigned long long)ms);
	cr_assert_eq(pacer_count(p), 0);
	pacer_free(p);
	libre_close();
}

Test(pacer, busy_loop_is_reported_as_several_periods)
{
	struct pacer *p = NULL;
	struct counter c = {.stop_after = 15, .block_on_tick = 2};
	uint64_t ms;

	cr_assert_eq(libre_init(), 0);
	cr_assert_eq(pacer_alloc(&p, 20), 0);
	ms = run(p, &c, 2000, NULL);
	cr_assert_geq(c.max_periods, 4, "max %llu",
		      (unsigned long long)c.max_periods);
	cr_assert_lt(c.ticks, 15, "fewer wake-ups than periods");
	cr_assert_lt(ms, 500);
	pacer_free(p);
	libre_close();
}

Test(pacer, entry_may_remove_the_next_one_during_the_walk)
{
	struct pacer *p = NULL;
	struct counter other = {.stop_after = 1000};
	struct counter c = {.stop_after = 3};

	cr_assert_eq(libre_init(), 0);
	cr_assert_eq(pacer_alloc(&p, 20), 0);
	pacer_entry_init(&other.e, count_tick, &other);
	other.pacer = p;
	c.victim = &other.e;
	/* other comes right after c, so c removes the entry the walk was
	 * about to visit: it must never tick. */
	run(p, &c, 2000, &other.e);
	cr_assert_eq(other.ticks, 0);
	cr_assert_eq(c.periods, 3);
	cr_assert_not(pacer_has(&other.e));
	pacer_free(p);
	libre_close();
}

Test(pacer, removing_last_entry_disarms_timer)
{
	struct pacer *p = NULL;
	struct counter c = {.stop_after = 1};
	uint64_t periods = 0;

	cr_assert_eq(libre_init(), 0);
	cr_assert_eq(pacer_alloc(&p, 20), 0);
	run(p, &c, 2000, NULL);
	usleep(100 * 1000);
	/* Disarmed: nothing accumulated while idle. */
	cr_assert_eq(pacer_count(p), 0);
	c.stop_after = 2;
	c.periods = 0;
	periods = c.max_periods;
	run(p, &c, 2000, NULL);
	cr_assert_eq(c.max_periods, periods, "no backlog after idling");
	pacer_free(p);
	libre_close();
}
