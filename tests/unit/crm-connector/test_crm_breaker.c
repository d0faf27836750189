/* services/crm-connector/crm_breaker.c: closed -> open after N failures
 * in a row -> one trial after the open period -> closed or open again. */
#include <criterion/criterion.h>

#include "crm_breaker.h"
#include "pbx_test.h"

static struct crm_breaker *b;

static void setup(void)
{
	cr_assert_eq(crm_breaker_alloc(&b, 64, 3, 1000), 0);
}

static void teardown(void)
{
	crm_breaker_free(b);
	pbx_test_fini();
}

TestSuite(crm_breaker, .init = setup, .fini = teardown);

Test(crm_breaker, opens_after_failures_in_a_row_only)
{
	cr_assert(crm_breaker_allow(b, "t1", "api", 0));
	crm_breaker_report(b, "t1", "api", false, 0);
	crm_breaker_report(b, "t1", "api", false, 1);
	crm_breaker_report(b, "t1", "api", true, 2); /* resets the run */
	crm_breaker_report(b, "t1", "api", false, 3);
	crm_breaker_report(b, "t1", "api", false, 4);
	cr_assert(crm_breaker_allow(b, "t1", "api", 5));
	crm_breaker_report(b, "t1", "api", false, 5);
	cr_assert(crm_breaker_open(b, "t1", "api", 6));
	cr_assert_not(crm_breaker_allow(b, "t1", "api", 6));
	cr_assert_not(crm_breaker_allow(b, "t1", "api", 1004));
	/* Another tenant's CRM, and this tenant's other CRM, are not
	 * affected. */
	cr_assert(crm_breaker_allow(b, "t2", "api", 6));
	cr_assert(crm_breaker_allow(b, "t1", "bitrix24", 6));
}

Test(crm_breaker, half_open_lets_one_trial_and_its_result_decides)
{
	for (int i = 0; i < 3; i++)
		crm_breaker_report(b, "t1", "api", false, 0);
	cr_assert_not(crm_breaker_allow(b, "t1", "api", 999));
	cr_assert(crm_breaker_allow(b, "t1", "api", 1000)); /* the trial */
	cr_assert_not(crm_breaker_allow(b, "t1", "api", 1001));
	crm_breaker_report(b, "t1", "api", false, 1100);
	cr_assert_not(crm_breaker_allow(b, "t1", "api", 1200));
	cr_assert(crm_breaker_allow(b, "t1", "api", 2100)); /* next trial */
	crm_breaker_report(b, "t1", "api", true, 2150);
	cr_assert_not(crm_breaker_open(b, "t1", "api", 2151));
	cr_assert(crm_breaker_allow(b, "t1", "api", 2151));
	cr_assert(crm_breaker_allow(b, "t1", "api", 2152));
}
