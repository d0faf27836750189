/* services/crm-connector/crm_cache.c: answers kept for their TTL, per
 * tenant, bounded. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "crm_cache.h"
#include "pbx_test.h"

static struct crm_cache *c;

static void setup(void)
{
	cr_assert_eq(crm_cache_alloc(&c, 64), 0);
}

static void teardown(void)
{
	crm_cache_free(c);
	pbx_test_fini();
}

TestSuite(crm_cache, .init = setup, .fini = teardown);

static struct crm_cached owner(const char *ext)
{
	struct crm_cached e = {.v = CRM_V_OWNER};

	snprintf(e.ext, sizeof(e.ext), "%s", ext);
	return e;
}

Test(crm_cache, an_answer_lives_for_its_ttl_only)
{
	struct crm_cached e = owner("101"), got;

	crm_cache_put(c, "t1", "bitrix24", "79160000001", &e, 1000, 5000);
	cr_assert(crm_cache_get(c, "t1", "bitrix24", "79160000001", 5999,
				&got));
	cr_assert_str_eq(got.ext, "101");
	cr_assert_not(crm_cache_get(c, "t1", "bitrix24", "79160000001", 6000,
				    &got));
	cr_assert_eq(crm_cache_count(c, 6000), 0);
}

Test(crm_cache, tenants_and_crms_never_share_an_answer)
{
	struct crm_cached a = owner("101"), b = owner("202"), got;

	crm_cache_put(c, "t1", "api", "7916", &a, 0, 10000);
	crm_cache_put(c, "t2", "api", "7916", &b, 0, 10000);
	cr_assert(crm_cache_get(c, "t1", "api", "7916", 1, &got));
	cr_assert_str_eq(got.ext, "101");
	cr_assert(crm_cache_get(c, "t2", "api", "7916", 1, &got));
	cr_assert_str_eq(got.ext, "202");
	cr_assert_not(crm_cache_get(c, "t1", "amocrm", "7916", 1, &got));
	cr_assert_not(crm_cache_get(c, "t3", "api", "7916", 1, &got));
	/* One tenant's settings changed: only its answers go. */
	crm_cache_forget(c, "t1");
	cr_assert_not(crm_cache_get(c, "t1", "api", "7916", 1, &got));
	cr_assert(crm_cache_get(c, "t2", "api", "7916", 1, &got));
}

Test(crm_cache, zero_ttl_keeps_nothing_and_a_full_table_stays_bounded)
{
	struct crm_cached e = owner("101"), got;
	char caller[32];

	crm_cache_put(c, "t1", "api", "1", &e, 0, 0);
	cr_assert_not(crm_cache_get(c, "t1", "api", "1", 0, &got));
	for (int i = 0; i < 1000; i++) {
		snprintf(caller, sizeof(caller), "7916%07d", i);
		crm_cache_put(c, "t1", "api", caller, &e, 0,
			      (uint64_t)(1000 + i));
	}
	cr_assert_leq(crm_cache_count(c, 0), 64);
	/* The latest ones are there (the table drops the closest to
	 * expiry). */
	cr_assert(crm_cache_get(c, "t1", "api", "79160000999", 0, &got));
}
