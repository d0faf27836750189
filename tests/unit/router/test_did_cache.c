/* did_cache.c: the router's number -> tenant memory. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "did_cache.h"

Test(did_cache, a_put_number_is_known_for_its_ttl_only)
{
	struct did_cache *c;

	cr_assert_eq(did_cache_alloc(&c, 16, 2000), 0);
	cr_assert_not_null(c);
	cr_assert_null(did_cache_get(c, "74951234567", 1000));
	did_cache_put(c, "74951234567", "acme", 1000);
	cr_assert_str_eq(did_cache_get(c, "74951234567", 1000), "acme");
	cr_assert_str_eq(did_cache_get(c, "74951234567", 2999), "acme");
	cr_assert_null(did_cache_get(c, "74951234567", 3000), "expired");
	cr_assert_null(did_cache_get(c, "74951234568", 1500), "another");
	did_cache_free(c);
}

Test(did_cache, a_colliding_number_replaces_the_slot_and_is_told_apart)
{
	struct did_cache *c;
	char num[16];
	unsigned found = 0;

	cr_assert_eq(did_cache_alloc(&c, 1, 5000), 0); /* one slot */
	did_cache_put(c, "100", "a", 0);
	did_cache_put(c, "200", "b", 0);
	cr_assert_null(did_cache_get(c, "100", 1), "evicted, never b's");
	cr_assert_str_eq(did_cache_get(c, "200", 1), "b");
	did_cache_free(c);
	/* Many numbers in 64 slots: each answer is its own tenant. */
	cr_assert_eq(did_cache_alloc(&c, 64, 5000), 0);
	for (int i = 0; i < 500; i++) {
		snprintf(num, sizeof(num), "7495%07d", i);
		did_cache_put(c, num, i % 2 ? "odd" : "even", 0);
	}
	for (int i = 0; i < 500; i++) {
		const char *t;

		snprintf(num, sizeof(num), "7495%07d", i);
		t = did_cache_get(c, num, 1);
		if (!t)
			continue;
		found++;
		cr_assert_str_eq(t, i % 2 ? "odd" : "even", "%s", num);
	}
	cr_assert(found > 0 && found <= 64, "%u remembered", found);
	did_cache_free(c);
}

Test(did_cache, ttl_zero_is_no_cache_and_bounds_are_kept)
{
	struct did_cache *c;
	char longnum[64];

	cr_assert_eq(did_cache_alloc(&c, 16, 0), 0);
	cr_assert_null(c);
	did_cache_put(c, "1", "t", 0); /* NULL-safe */
	cr_assert_null(did_cache_get(c, "1", 0));
	cr_assert_eq(did_cache_alloc(&c, 16, 1000), 0);
	memset(longnum, '7', sizeof(longnum) - 1);
	longnum[sizeof(longnum) - 1] = '\0';
	did_cache_put(c, longnum, "t", 0);
	cr_assert_null(did_cache_get(c, longnum, 1), "too long: not kept");
	did_cache_free(c);
}
