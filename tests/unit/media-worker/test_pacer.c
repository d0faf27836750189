/* Tests for pacer.c, the timer wheel. Most drive the wheel with explicit
 * times (pacer_add_at, pacer_run): how entries spread over the slots, that
 * each fires every period on its own slot, removal during a slot's walk,
 * catch-up after a late wake-up, thousands of entries, the poll from the
 * receive path. The rest run it on a real libre loop and assert what the
 * loop measured: the period, that no entry is ever called before its
 * time, one slot per wake-up, a busy loop reported as several periods,
 * the timer disarmed when idle. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <re.h>

#include "pacer.h"
#include "pbx_clock.h"
#include "pbx_test.h"

TestSuite(pacer, .fini = pbx_test_fini);

#define MS 1000000ull
enum { PERIOD = 20, MANY = 64 };

struct rec {
	struct pacer *pacer;
	struct pacer_entry e;
	unsigned calls;
	uint64_t periods;
	uint64_t max_periods;
	uint64_t first_ns, last_ns; /* time of the first / last call */
	uint64_t off_slot;	    /* calls not at a time of its slot */
	uint64_t early;		    /* calls before the entry was due */
	uint64_t gap_bad;	    /* consecutive calls not a period apart */
	uint64_t stop_after;	    /* periods: remove itself, stop the loop */
	unsigned block_on_call;	    /* sleep 100 ms on this call (1-based) */
	struct pacer_entry *victim; /* removed on its first call */
	struct pacer_entry *add;    /* added on its first call */
	unsigned order;		    /* call order stamp of the last call */
};

/* The time the test says it is (explicit-time tests), or 0: the clock. */
static uint64_t fake_ns;
static unsigned call_seq;

static uint64_t now(void)
{
	return fake_ns ? fake_ns : pacer_now_ns();
}

static void rec_tick(uint64_t periods, uint64_t now_ms, void *arg)
{
	struct rec *r = arg;
	uint64_t t = now(), idx;
	struct pacer *p = r->pacer;

	(void)now_ms;
	idx = (t - pacer_origin_ns(p)) / MS;
	/* Explicit time, on schedule: at a time of its own slot, one period
	 * after its last call. (A real wake-up may come a little late.) */
	if (fake_ns && periods == 1 &&
	    idx % pacer_slots(p) != pacer_entry_slot(&r->e))
		r->off_slot++;
	if (fake_ns && r->calls && periods == 1 &&
	    t - r->last_ns != PERIOD * MS)
		r->gap_bad++;
	/* e.due has moved on: the last time it was due is one period
	 * before. Never called before that. */
	if (t < pacer_origin_ns(p) + (r->e.due - pacer_slots(p)) * MS)
		r->early++;
	if (!r->calls)
		r->first_ns = t;
	r->last_ns = t;
	r->calls++;
	r->order = ++call_seq;
	r->periods += periods;
	if (periods > r->max_periods)
		r->max_periods = periods;
	if (r->victim) {
		pacer_remove(p, r->victim);
		r->victim = NULL;
	}
	if (r->add) {
		cr_assert_eq(pacer_add(p, r->add), 0);
		r->add = NULL;
	}
	if (r->calls == r->block_on_call)
		usleep(100 * 1000);
	if (r->stop_after && r->periods >= r->stop_after) {
		pacer_remove(p, &r->e);
		re_cancel();
	}
}

static void rec_init(struct rec *r, struct pacer *p)
{
	pacer_entry_init(&r->e, rec_tick, r);
	r->pacer = p;
}

static struct pacer *wheel(void)
{
	struct pacer *p = NULL;

	cr_assert_eq(libre_init(), 0);
	cr_assert_eq(pacer_alloc(&p, PERIOD), 0);
	cr_assert_eq(pacer_slots(p), PERIOD);
	fake_ns = 0;
	call_seq = 0;
	return p;
}

static void wheel_free(struct pacer *p)
{
	pacer_free(p);
	fake_ns = 0;
	libre_close();
}

/* Explicit time: runs the wheel at every millisecond (plus 0.3 ms, as a
 * real wake-up is a little after its time) from index `from` to `to`. */
static void run_ms(struct pacer *p, uint64_t from, uint64_t to)
{
	for (uint64_t k = from; k <= to; k++) {
		fake_ns = pacer_origin_ns(p) + k * MS + 300000;
		pacer_run(p, fake_ns);
	}
}

static uint64_t at(struct pacer *p, uint64_t k)
{
	return pacer_origin_ns(p) + k * MS + 300000;
}

/* No entry was called before its time, nor (explicit time, on schedule)
 * at a time that is not its slot's. */
static void check_on_time(const struct rec *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(r[i].early, 0, "entry %zu called early", i);
		cr_assert_eq(r[i].off_slot, 0, "entry %zu off its slot", i);
	}
}

/* Adds n entries at explicit time index k. */
static void add_all(struct pacer *p, struct rec *r, size_t n, uint64_t k)
{
	for (size_t i = 0; i < n; i++) {
		rec_init(&r[i], p);
		cr_assert_eq(pacer_add_at(p, &r[i].e, at(p, k)), 0);
	}
}

static void loads(struct pacer *p, uint32_t *lo, uint32_t *hi)
{
	*lo = UINT32_MAX;
	*hi = 0;
	for (uint32_t s = 0; s < pacer_slots(p); s++) {
		uint32_t n = pacer_slot_load(p, s);

		*lo = n < *lo ? n : *lo;
		*hi = n > *hi ? n : *hi;
	}
}

Test(pacer, entries_spread_evenly_over_the_slots)
{
	struct pacer *p = wheel();
	static struct rec r[PERIOD * 5 + 7] = {{0}};
	uint32_t lo, hi;
	size_t n = sizeof(r) / sizeof(r[0]);

	for (size_t i = 0; i < n; i++) {
		rec_init(&r[i], p);
		cr_assert_eq(pacer_add_at(p, &r[i].e, at(p, 10)), 0);
		loads(p, &lo, &hi);
		cr_assert_leq(hi - lo, 1, "after %zu adds: %u..%u", i + 1, lo,
			      hi);
	}
	loads(p, &lo, &hi);
	cr_assert_eq(lo, 5);
	cr_assert_eq(hi, 6);
	/* Holes left by removals (one slot emptied of 4) are filled
	 * first. */
	for (size_t i = 0, gone = 0; i < n && gone < 4; i++)
		if (pacer_entry_slot(&r[i].e) == 7) {
			pacer_remove(p, &r[i].e);
			gone++;
		}
	cr_assert_leq(pacer_slot_load(p, 7), 2);
	for (size_t i = 0; i < n; i++)
		if (!pacer_has(&r[i].e)) {
			cr_assert_eq(pacer_add_at(p, &r[i].e, at(p, 11)), 0);
			cr_assert_eq(pacer_entry_slot(&r[i].e), 7);
		}
	loads(p, &lo, &hi);
	cr_assert_leq(hi - lo, 1);
	cr_assert_eq(pacer_count(p), n);
	wheel_free(p);
}

Test(pacer, first_call_within_one_period_of_the_add)
{
	struct pacer *p = wheel();
	struct rec r[PERIOD * 2] = {{0}};

	add_all(p, r, PERIOD * 2, 100);
	/* The first entries take the slots due soonest. */
	cr_assert_eq(pacer_entry_slot(&r[0].e), 101 % PERIOD);
	cr_assert_eq(pacer_entry_slot(&r[1].e), 102 % PERIOD);
	cr_assert_eq(pacer_next_ns(p), pacer_origin_ns(p) + 101 * MS,
		     "armed for the first occupied slot");
	run_ms(p, 100, 100 + PERIOD);
	for (size_t i = 0; i < PERIOD * 2; i++) {
		cr_assert_eq(r[i].calls, 1, "entry %zu: %u calls", i,
			     r[i].calls);
		cr_assert_gt(r[i].first_ns, at(p, 100));
		cr_assert_leq(r[i].first_ns, at(p, 100 + PERIOD));
		cr_assert_eq(r[i].max_periods, 1);
	}
	wheel_free(p);
}

Test(pacer, each_entry_fires_every_period_on_its_own_slot)
{
	struct pacer *p = wheel();
	static struct rec r[MANY] = {{0}};
	unsigned busiest = 0;

	add_all(p, r, MANY, 0);
	/* One wake-up per millisecond, each running one slot: at most
	 * ceil(64 / 20) = 4 entries at a time. */
	for (uint64_t k = 1; k <= 10 * PERIOD; k++) {
		unsigned before = call_seq;

		fake_ns = at(p, k);
		pacer_run(p, fake_ns);
		if (call_seq - before > busiest)
			busiest = call_seq - before;
		cr_assert_eq(call_seq - before, pacer_slot_load(p, k % PERIOD),
			     "ms %llu ran its own slot only",
			     (unsigned long long)k);
		cr_assert_eq(pacer_next_ns(p),
			     pacer_origin_ns(p) + (k + 1) * MS);
	}
	cr_assert_eq(busiest, 4);
	for (size_t i = 0; i < MANY; i++) {
		cr_assert_eq(r[i].calls, 10, "entry %zu", i);
		cr_assert_eq(r[i].periods, 10);
		cr_assert_eq(r[i].gap_bad, 0, "each 20 ms after the last");
	}
	check_on_time(r, MANY);
	wheel_free(p);
}

Test(pacer, idle_slots_are_skipped)
{
	struct pacer *p = wheel();
	struct rec a = {0};

	add_all(p, &a, 1, 40);
	cr_assert_eq(pacer_entry_slot(&a.e), 41 % PERIOD);
	fake_ns = at(p, 41);
	pacer_run(p, fake_ns);
	cr_assert_eq(a.calls, 1);
	/* One entry: the next wake-up is a whole period later. */
	cr_assert_eq(pacer_next_ns(p), pacer_origin_ns(p) + 61 * MS);
	pacer_remove(p, &a.e);
	cr_assert_eq(pacer_next_ns(p), 0, "disarmed with nothing to play");
	wheel_free(p);
}

/* Removes the entry in `victim` or itself, on its first call. */
Test(pacer, entry_removes_itself_or_others_during_a_walk)
{
	struct pacer *p = wheel();
	struct rec r[3 * PERIOD] = {{0}};

	add_all(p, r, 3 * PERIOD, 0);
	/* Slot 1 holds r[0], r[20], r[40] in that order. */
	cr_assert_eq(pacer_entry_slot(&r[20].e), pacer_entry_slot(&r[0].e));
	cr_assert_eq(pacer_entry_slot(&r[40].e), pacer_entry_slot(&r[0].e));
	r[0].victim = &r[20].e;	 /* the next one in the walk */
	r[40].victim = &r[40].e; /* itself, the last one */
	r[1].victim = &r[5].e;	 /* another slot, due later */
	r[2].victim = &r[0].e;	 /* another slot, already run */
	run_ms(p, 1, 3 * PERIOD);
	cr_assert_eq(r[20].calls, 0, "removed before its turn in the walk");
	cr_assert_eq(r[40].calls, 1);
	cr_assert_eq(r[5].calls, 0);
	cr_assert_eq(r[0].calls, 1);
	cr_assert_eq(r[1].calls, 3);
	cr_assert_eq(r[39].calls, 3, "the walk went on");
	cr_assert_eq(pacer_count(p), 3 * PERIOD - 4);
	for (uint32_t s = 0; s < PERIOD; s++)
		cr_assert_leq(pacer_slot_load(p, s), 3);
	wheel_free(p);
}

Test(pacer, entry_added_during_a_walk_starts_with_one_period)
{
	struct pacer *p = wheel();
	struct rec a = {0}, b = {0};

	rec_init(&a, p);
	rec_init(&b, p);
	a.add = &b.e;
	cr_assert_eq(pacer_add_at(p, &a.e, at(p, 0)), 0);
	/* a's first call comes 45 ms late: a catches up, b (added then)
	 * does not. */
	fake_ns = at(p, 46);
	pacer_run(p, fake_ns);
	cr_assert_eq(a.calls, 1);
	cr_assert_eq(a.max_periods, 3);
	cr_assert_eq(b.calls, 0);
	cr_assert(pacer_has(&b.e));
	run_ms(p, 47, 47 + PERIOD - 1);
	cr_assert_eq(b.calls, 1);
	cr_assert_eq(b.max_periods, 1);
	wheel_free(p);
}

Test(pacer, late_wake_up_catches_up_every_slot_in_order)
{
	struct pacer *p = wheel();
	static struct rec r[2 * PERIOD] = {{0}};
	unsigned prev = 0;

	add_all(p, r, 2 * PERIOD, 0);
	run_ms(p, 1, 2 * PERIOD); /* two periods on time */
	/* The loop stalls 45 ms: the next wake-up is at 85. */
	fake_ns = at(p, 85);
	pacer_run(p, fake_ns);
	for (size_t i = 0; i < 2 * PERIOD; i++) {
		uint64_t slot = pacer_entry_slot(&r[i].e);
		/* Due at 41..60 (first missed), then every 20 ms up to 85. */
		uint64_t first = slot ? 40 + slot : 60;
		uint64_t missed = 1 + (85 - first) / PERIOD;

		cr_assert_eq(r[i].calls, 3, "one call for the catch-up");
		cr_assert_eq(r[i].periods, 2 + missed, "entry %zu", i);
	}
	/* Slots ran in the order their first missed time came: 41 first,
	 * 60 (slot 0) last. */
	for (uint32_t s = 1; s <= PERIOD; s++) {
		for (size_t i = 0; i < 2 * PERIOD; i++) {
			if (pacer_entry_slot(&r[i].e) != s % PERIOD)
				continue;
			cr_assert_gt(r[i].order, prev, "slot %u out of order",
				     s % PERIOD);
			prev = r[i].order;
		}
	}
	/* Then the schedule goes on from the wake-up: nothing lost,
	 * nothing twice. */
	run_ms(p, 86, 200);
	for (size_t i = 0; i < 2 * PERIOD; i++) {
		uint64_t slot = pacer_entry_slot(&r[i].e);
		uint64_t due = 0;

		/* Every time of its slot in 1..200. */
		for (uint64_t k = 1; k <= 200; k++)
			due += k % PERIOD == slot;
		cr_assert_eq(r[i].periods, due, "entry %zu: %llu of %llu", i,
			     (unsigned long long)r[i].periods,
			     (unsigned long long)due);
	}
	check_on_time(r, 2 * PERIOD);
	wheel_free(p);
}

Test(pacer, a_late_wake_up_of_many_periods_is_one_call)
{
	struct pacer *p = wheel();
	struct rec a = {0};

	add_all(p, &a, 1, 0);
	fake_ns = at(p, 1 + 1000); /* a one-second stall */
	pacer_run(p, fake_ns);
	cr_assert_eq(a.calls, 1);
	cr_assert_eq(a.periods, 51);
	cr_assert_eq(pacer_next_ns(p), pacer_origin_ns(p) + 1021 * MS);
	wheel_free(p);
}

Test(pacer, thousands_of_entries_added_and_removed)
{
	enum { N = 6000 };
	struct pacer *p = wheel();
	struct rec *r = calloc(N, sizeof(*r));
	uint64_t total = 0;
	uint32_t lo, hi;

	cr_assert_not_null(r);
	srand(17);
	for (size_t i = 0; i < N; i++) {
		rec_init(&r[i], p);
		cr_assert_eq(pacer_add_at(p, &r[i].e, at(p, i / 200)), 0);
	}
	cr_assert_eq(pacer_count(p), N);
	loads(p, &lo, &hi);
	cr_assert_eq(lo, N / PERIOD);
	cr_assert_eq(hi, N / PERIOD);
	run_ms(p, 0, 100);
	/* Churn: a third leaves at random, as many come back. */
	for (int round = 0; round < 5; round++) {
		for (size_t i = 0; i < N / 3; i++)
			pacer_remove(p, &r[(size_t)rand() % N].e);
		for (size_t i = 0; i < N; i++)
			if (!pacer_has(&r[i].e))
				cr_assert_eq(pacer_add_at(p, &r[i].e,
							  at(p, 100 + round)),
					     0);
		loads(p, &lo, &hi);
		cr_assert_leq(hi - lo, N / PERIOD / 2,
			      "round %d: %u..%u", round, lo, hi);
	}
	run_ms(p, 101, 300);
	check_on_time(r, N);
	for (size_t i = 0; i < N; i++)
		total += r[i].calls;
	cr_assert_geq(total, (uint64_t)N * 10);
	for (size_t i = 0; i < N; i++)
		pacer_remove(p, &r[i].e);
	cr_assert_eq(pacer_count(p), 0);
	cr_assert_eq(pacer_next_ns(p), 0);
	for (uint32_t s = 0; s < PERIOD; s++)
		cr_assert_eq(pacer_slot_load(p, s), 0);
	free(r);
	wheel_free(p);
}

Test(pacer, poll_runs_the_due_slots_without_the_loop)
{
	struct pacer *p = wheel();
	struct rec a = {0};
	uint64_t due;

	rec_init(&a, p);
	cr_assert_eq(pacer_add(p, &a.e), 0);
	due = pacer_next_ns(p);
	while (pacer_now_ns() < due)
		; /* at most one slot */
	pacer_poll(p);
	cr_assert_eq(a.calls, 1);
	cr_assert_eq(a.early, 0);
	cr_assert_eq(pacer_next_ns(p), due + PERIOD * MS, "re-armed");
	pacer_remove(p, &a.e);
	pacer_poll(p); /* disarmed: nothing to do */
	cr_assert_eq(a.calls, 1);
	wheel_free(p);
}

/* ---- on a real libre loop ---- */

static void safety(void *arg)
{
	(void)arg;
	re_cancel();
}

/* Runs the loop until one of the entries removes itself or ms passed. */
static uint64_t loop_for(unsigned ms)
{
	struct tmr t;
	uint64_t t0 = pbx_clock_mono_ms();

	tmr_init(&t);
	tmr_start(&t, ms, safety, NULL);
	cr_assert_eq(re_main(NULL), 0);
	tmr_cancel(&t);
	return pbx_clock_mono_ms() - t0;
}

Test(pacer, ticks_every_20_ms)
{
	struct pacer *p = wheel();
	struct rec c = {.stop_after = 10};
	uint64_t ms;

	rec_init(&c, p);
	cr_assert_eq(pacer_add(p, &c.e), 0);
	ms = loop_for(2000);
	cr_assert_eq(c.periods, 10);
	cr_assert_geq(ms, 180);
	cr_assert_lt(ms, 400, "10 periods took %llu ms",
		     (unsigned long long)ms);
	cr_assert_eq(c.early, 0, "never called before its time");
	cr_assert_eq(pacer_count(p), 0);
	wheel_free(p);
}

static unsigned wakeups;
static uint64_t last_wake_ms;

static void wake_count_tick(uint64_t periods, uint64_t now_ms, void *arg)
{
	if (now_ms != last_wake_ms) {
		wakeups++;
		last_wake_ms = now_ms;
	}
	rec_tick(periods, now_ms, arg);
}

Test(pacer, real_loop_spreads_the_calls_over_the_period)
{
	struct pacer *p = wheel();
	static struct rec r[MANY] = {{0}};
	uint64_t ms, periods = 0;

	wakeups = 0;
	last_wake_ms = 0;
	for (size_t i = 0; i < MANY; i++) {
		pacer_entry_init(&r[i].e, wake_count_tick, &r[i]);
		r[i].pacer = p;
		cr_assert_eq(pacer_add(p, &r[i].e), 0);
	}
	ms = loop_for(300);
	check_on_time(r, MANY);
	for (size_t i = 0; i < MANY; i++) {
		periods += r[i].periods;
		/* Its schedule is the clock's, whatever the wake-ups did. */
		cr_assert_geq(r[i].periods + 1, ms / PERIOD - 1);
		cr_assert_leq(r[i].periods, ms / PERIOD + 1);
	}
	/* 64 entries over 20 slots: about one wake-up per millisecond,
	 * not one per period (a loaded test machine merges some). */
	cr_assert_gt(wakeups, ms * 2 / 5, "%u wake-ups in %llu ms", wakeups,
		     (unsigned long long)ms);
	cr_assert_gt(periods, 0);
	for (size_t i = 0; i < MANY; i++)
		pacer_remove(p, &r[i].e);
	wheel_free(p);
}

Test(pacer, busy_loop_is_reported_as_several_periods)
{
	struct pacer *p = wheel();
	struct rec c = {.stop_after = 15, .block_on_call = 2};
	uint64_t ms;

	rec_init(&c, p);
	cr_assert_eq(pacer_add(p, &c.e), 0);
	ms = loop_for(2000);
	cr_assert_geq(c.max_periods, 4, "max %llu",
		      (unsigned long long)c.max_periods);
	cr_assert_lt(c.calls, 15, "fewer calls than periods");
	cr_assert_geq(c.periods, 15);
	/* No period lost: the periods reported span the time between the
	 * first and the last call. */
	cr_assert_leq(llabs((long long)c.periods -
			    (long long)(1 + (c.last_ns - c.first_ns) /
						    (PERIOD * MS))),
		      1, "%llu periods in %llu ms",
		      (unsigned long long)c.periods,
		      (unsigned long long)((c.last_ns - c.first_ns) / MS));
	cr_assert_lt(ms, 500);
	wheel_free(p);
}

Test(pacer, removing_last_entry_disarms_timer)
{
	struct pacer *p = wheel();
	struct rec c = {.stop_after = 1};

	rec_init(&c, p);
	cr_assert_eq(pacer_add(p, &c.e), 0);
	loop_for(2000);
	cr_assert_eq(pacer_count(p), 0);
	cr_assert_eq(pacer_next_ns(p), 0);
	usleep(100 * 1000);
	/* Disarmed: nothing accumulated while idle. */
	c.stop_after = 2;
	c.periods = 0;
	c.max_periods = 0;
	c.calls = 0;
	cr_assert_eq(pacer_add(p, &c.e), 0);
	loop_for(2000);
	cr_assert_eq(c.max_periods, 1, "no backlog after idling");
	wheel_free(p);
}
