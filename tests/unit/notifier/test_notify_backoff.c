/* Tests for services/notifier/notify_backoff.c: the doubling schedule,
 * its cap, when a job is due and when it is given up. */
#include <criterion/criterion.h>

#include "notify_backoff.h"
#include "pbx_test.h"

TestSuite(notify_backoff, .fini = pbx_test_fini);

static const struct notify_backoff b = {
	.base_ms = 1000, .max_ms = 60000, .max_attempts = 5};

Test(notify_backoff, doubles_from_base_up_to_the_cap)
{
	cr_expect_eq(notify_backoff_ms(&b, 0), 0);
	cr_expect_eq(notify_backoff_ms(&b, 1), 1000);
	cr_expect_eq(notify_backoff_ms(&b, 2), 2000);
	cr_expect_eq(notify_backoff_ms(&b, 3), 4000);
	cr_expect_eq(notify_backoff_ms(&b, 6), 32000);
	cr_expect_eq(notify_backoff_ms(&b, 7), 60000);
	cr_expect_eq(notify_backoff_ms(&b, 100), 60000);
	cr_expect_eq(notify_backoff_ms(&b, 4000000000u), 60000);
}

Test(notify_backoff, a_huge_cap_does_not_overflow)
{
	struct notify_backoff big = {
		.base_ms = 3000000000u, .max_ms = 4000000000u, .max_attempts = 3};

	cr_expect_eq(notify_backoff_ms(&big, 1), 3000000000u);
	cr_expect_eq(notify_backoff_ms(&big, 2), 4000000000u);
	cr_expect_eq(notify_backoff_ms(&big, 50), 4000000000u);
}

Test(notify_backoff, due_once_the_wait_has_passed)
{
	cr_expect_not(notify_backoff_due(&b, 1, 999));
	cr_expect(notify_backoff_due(&b, 1, 1000));
	cr_expect_not(notify_backoff_due(&b, 3, 3999));
	cr_expect(notify_backoff_due(&b, 3, 4000));
}

Test(notify_backoff, given_up_after_max_attempts)
{
	cr_expect_not(notify_backoff_exhausted(&b, 1));
	cr_expect_not(notify_backoff_exhausted(&b, 4));
	cr_expect(notify_backoff_exhausted(&b, 5));
	cr_expect(notify_backoff_exhausted(&b, 6));
}
