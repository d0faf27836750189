/* Test support: the libre loop until a condition or a deadline. */
#include <re.h>

#include "pbx_clock.h"
#include "test_loop.h"

struct waiter {
	struct tmr tmr;
	test_loop_cond_h *cond;
	void *arg;
	uint64_t deadline;
};

static void waiter_check(void *arg)
{
	struct waiter *wt = arg;

	if ((wt->cond && wt->cond(wt->arg)) ||
	    pbx_clock_mono_ms() >= wt->deadline) {
		re_cancel();
		return;
	}
	tmr_start(&wt->tmr, 2, waiter_check, wt);
}

bool test_loop_until(test_loop_cond_h *cond, void *arg, uint32_t ms)
{
	struct waiter wt = {.cond = cond, .arg = arg};

	wt.deadline = pbx_clock_mono_ms() + ms;
	tmr_init(&wt.tmr);
	tmr_start(&wt.tmr, 0, waiter_check, &wt);
	re_main(NULL);
	tmr_cancel(&wt.tmr);
	return cond ? cond(arg) : true;
}

void test_loop_for(uint32_t ms)
{
	test_loop_until(NULL, NULL, ms);
}

static bool flag_set(void *arg)
{
	return *(const bool *)arg;
}

bool test_loop_flag(const bool *flag, uint32_t ms)
{
	return test_loop_until(flag_set, (void *)flag, ms);
}

struct at_least {
	const unsigned *ctr;
	unsigned n;
};

static bool ctr_reached(void *arg)
{
	const struct at_least *a = arg;

	return *a->ctr >= a->n;
}

bool test_loop_count(const unsigned *ctr, unsigned n, uint32_t ms)
{
	struct at_least a = {ctr, n};

	return test_loop_until(ctr_reached, &a, ms);
}
