/* Tests for tmr_wheel.c, libre's timer API on a timing wheel, on a real
 * libre loop: that libre's own calls reach it (a SIP client transaction's
 * timers land on it and go with it), the order timers run in (expiry,
 * then start), never before their time, cancel and restart, a handler
 * starting a due timer, a timer beyond the wheel's span, re_main()'s
 * timeout contract (0 = none, 1 = due), and thousands of random timers. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include <re.h>

#include "pbx_test.h"
#include "tmr_wheel.h"

TestSuite(tmr_wheel, .fini = pbx_test_fini);

enum { MANY = 5000 };

struct fired {
	struct tmr tmr;
	int id;
	uint64_t due;     /* its expiry (jiffies) */
	uint64_t at;      /* tmr_jiffies() when it ran */
};

static int order[MANY];
static size_t norder;

static void record(void *arg)
{
	struct fired *f = arg;

	f->at = tmr_jiffies();
	if (norder < MANY)
		order[norder++] = f->id;
}

static void stop(void *arg)
{
	(void)arg;
	re_cancel();
}

static void setup(void)
{
	cr_assert_eq(libre_init(), 0);
	norder = 0;
}

static void teardown(void)
{
	libre_close();
}

static void run_for(uint64_t ms)
{
	struct tmr end;

	tmr_init(&end);
	tmr_start(&end, ms, stop, NULL);
	cr_assert_eq(re_main(NULL), 0);
	tmr_cancel(&end);
}

static void start(struct fired *f, int id, uint64_t delay)
{
	f->id = id;
	f->at = 0;
	tmr_start(&f->tmr, delay, record, f);
	f->due = f->tmr.jfs;
}

Test(tmr_wheel, libre_binds_to_the_wheel)
{
	cr_assert(tmr_wheel_bound());
}

/* A SIP request (libre's client transaction: Timer F 32 s, Timer E
 * 500 ms over UDP) puts its timers here, and takes them away when it
 * goes: libre's own code calls these functions, not its list. */
Test(tmr_wheel, libre_sip_transaction_timers_land_on_the_wheel,
     .init = setup, .fini = teardown)
{
	struct sip *sip = NULL;
	struct sip_request *req = NULL;
	struct sa laddr;
	size_t before;

	cr_assert_eq(sa_set_str(&laddr, "127.0.0.1", 0), 0);
	cr_assert_eq(sip_alloc(&sip, NULL, 16, 16, 16, "t", NULL, NULL), 0);
	cr_assert_eq(sip_transp_add(sip, SIP_TRANSP_UDP, &laddr), 0);
	before = tmr_wheel_count();
	/* Port 9 (discard): nobody answers; the request stays pending. */
	cr_assert_eq(sip_requestf(&req, sip, true, "OPTIONS",
				  "sip:x@127.0.0.1:9", NULL, NULL, NULL, NULL,
				  NULL,
				  "To: <sip:x@127.0.0.1>\r\n"
				  "From: <sip:t@127.0.0.1>;tag=1\r\n"
				  "Call-ID: tmr-wheel-1\r\n"
				  "CSeq: 1 OPTIONS\r\n"
				  "Content-Length: 0\r\n\r\n"),
		     0);
	run_for(20);
	cr_assert_geq(tmr_wheel_count(), before + 2,
		      "libre's transaction timers: %zu before, %zu after",
		      before, tmr_wheel_count());
	mem_deref(req);
	sip_close(sip, true);
	mem_deref(sip);
	cr_assert_leq(tmr_wheel_count(), before);
}

Test(tmr_wheel, timers_run_by_expiry_then_start_never_early,
     .init = setup, .fini = teardown)
{
	static struct fired f[6];
	const uint64_t delay[6] = {30, 10, 20, 10, 0, 10};
	const int want[6] = {4, 1, 3, 5, 2, 0};

	for (int i = 0; i < 6; i++)
		start(&f[i], i, delay[i]);
	cr_assert_eq(tmr_wheel_count(), 6 + 0u);
	run_for(60);
	cr_assert_eq(norder, 6u);
	for (int i = 0; i < 6; i++) {
		cr_assert_eq(order[i], want[i], "position %d: %d, want %d", i,
			     order[i], want[i]);
		cr_assert_geq(f[i].at, f[i].due, "timer %d ran early", i);
		cr_assert(!tmr_isrunning(&f[i].tmr));
	}
}

Test(tmr_wheel, cancel_and_restart, .init = setup, .fini = teardown)
{
	static struct fired a, b, c;

	start(&a, 1, 10);
	start(&b, 2, 15);
	start(&c, 3, 5);
	tmr_cancel(&b.tmr);
	cr_assert(!tmr_isrunning(&b.tmr));
	cr_assert_eq(tmr_get_expire(&b.tmr), 0u);
	/* Restarting a running timer moves it: c now runs after a. */
	start(&c, 3, 25);
	cr_assert_eq(tmr_wheel_count(), 2u);
	cr_assert_leq(tmr_get_expire(&c.tmr), 25u);
	cr_assert_geq(tmr_get_expire(&c.tmr), 20u);
	run_for(50);
	cr_assert_eq(norder, 2u);
	cr_assert_eq(order[0], 1);
	cr_assert_eq(order[1], 3);
	cr_assert_eq(b.at, 0u);
	cr_assert_eq(tmr_wheel_count(), 0u);
}

struct chain {
	struct tmr tmr;
	int left;
	uint64_t first;
	uint64_t last;
};

static void chain_step(void *arg)
{
	struct chain *c = arg;

	if (!c->first)
		c->first = tmr_jiffies();
	c->last = tmr_jiffies();
	if (--c->left > 0)
		tmr_start(&c->tmr, 0, chain_step, c);
}

/* A handler that starts a due timer (delay 0) has it run at once, in the
 * same pass or the next, never a wheel turn (65 s) later. */
Test(tmr_wheel, handler_starting_a_due_timer, .init = setup,
     .fini = teardown)
{
	struct chain c = {.left = 100};

	tmr_init(&c.tmr);
	tmr_start(&c.tmr, 1, chain_step, &c);
	run_for(200);
	cr_assert_eq(c.left, 0);
	cr_assert_leq(c.last - c.first, 150u);
}

/* Beyond the wheel's 65.5 s: kept aside, counted, reported by
 * tmr_next_timeout() and tmr_get_expire(), not run early, cancelled. */
Test(tmr_wheel, timer_beyond_the_wheel, .init = setup, .fini = teardown)
{
	static struct fired far, near;
	uint64_t to;

	start(&far, 1, 100000);
	cr_assert_eq(tmr_wheel_count(), 1u);
	to = tmr_next_timeout(NULL);
	cr_assert(to > 99000 && to <= 100000, "next timeout %llu",
		  (unsigned long long)to);
	start(&near, 2, 5);
	cr_assert_leq(tmr_next_timeout(NULL), 5u);
	run_for(30);
	cr_assert_eq(norder, 1u);
	cr_assert_eq(order[0], 2);
	cr_assert(tmr_isrunning(&far.tmr));
	cr_assert_geq(tmr_get_expire(&far.tmr), 99000u);
	tmr_cancel(&far.tmr);
	cr_assert_eq(tmr_wheel_count(), 0u);
}

/* re_main() waits for I/O only when tmr_next_timeout() says 0: that must
 * mean "no timer", and a due timer must give 1. */
Test(tmr_wheel, next_timeout_contract, .init = setup, .fini = teardown)
{
	static struct fired f;

	cr_assert_eq(tmr_next_timeout(NULL), 0u);
	start(&f, 1, 0);
	cr_assert_eq(tmr_next_timeout(NULL), 1u);
	tmr_cancel(&f.tmr);
	cr_assert_eq(tmr_next_timeout(NULL), 0u);
}

static int by_due_then_id(const void *a, const void *b)
{
	const struct fired *x = *(struct fired *const *)a;
	const struct fired *y = *(struct fired *const *)b;

	if (x->due != y->due)
		return x->due < y->due ? -1 : 1;
	return x->id - y->id;
}

/* Thousands of timers with random delays, a third cancelled: each of the
 * others runs once, not before its time, in the order of its expiry
 * (the start order among those started for one ms). */
Test(tmr_wheel, thousands_of_random_timers, .init = setup,
     .fini = teardown)
{
	static struct fired f[MANY];
	static struct fired *want[MANY];
	size_t nwant = 0;

	srand(17);
	for (int i = 0; i < MANY; i++)
		start(&f[i], i, (uint64_t)(rand() % 300));
	for (int i = 0; i < MANY; i += 3)
		tmr_cancel(&f[i].tmr);
	for (int i = 0; i < MANY; i++)
		if (i % 3)
			want[nwant++] = &f[i];
	qsort(want, nwant, sizeof(want[0]), by_due_then_id);
	run_for(400);
	cr_assert_eq(norder, nwant);
	for (size_t i = 0; i < nwant; i++) {
		cr_assert_eq(order[i], want[i]->id, "position %zu", i);
		cr_assert_geq(want[i]->at, want[i]->due);
	}
	for (int i = 0; i < MANY; i += 3)
		cr_assert_eq(f[i].at, 0u);
	cr_assert_eq(tmr_wheel_count(), 0u);
}
