/* Versioned cache: versions are separate keys, tenants never share, and a
 * value a caller holds outlives its eviction. */
#include <criterion/criterion.h>

#include "pbx_test.h"
#include "vcache.h"
#include "scenario.h"

TestSuite(vcache, .fini = pbx_test_fini);

static int freed;

static void free_sc(void *val)
{
	freed++;
	scenario_free(val);
}

static struct scenario *mk(void)
{
	struct scenario *sc = NULL;

	cr_assert_eq(scenario_parse(&sc, scenario_default_json(), NULL, NULL,
				    NULL),
		     0);
	return sc;
}

/* Puts a fresh scenario and drops the caller's reference at once. */
static const void *put(struct vcache *c, const char *t, const char *n,
		       long v)
{
	struct vcache_ref *ref = NULL;
	const void *val = vcache_put(c, t, n, v, mk(), &ref);

	cr_assert_not_null(ref);
	vcache_ref_drop(ref);
	return val;
}

static const void *get(struct vcache *c, const char *t, const char *n,
		       long v)
{
	struct vcache_ref *ref = NULL;
	const void *val = vcache_get(c, t, n, v, &ref);

	vcache_ref_drop(ref);
	return val;
}

Test(vcache, hit_only_for_same_tenant_name_and_version)
{
	struct vcache *c;
	const void *sc;

	cr_assert_eq(vcache_alloc(&c, 4, free_sc), 0);
	sc = put(c, "acme", "main", 1);
	cr_assert_eq(get(c, "acme", "main", 1), sc);
	cr_assert_null(get(c, "acme", "main", 2));
	cr_assert_null(get(c, "other", "main", 1));
	vcache_free(c);
}

Test(vcache, oldest_entry_is_evicted_when_full)
{
	struct vcache *c;

	freed = 0;
	cr_assert_eq(vcache_alloc(&c, 2, free_sc), 0);
	put(c, "t", "a", 1);
	put(c, "t", "b", 1);
	put(c, "t", "c", 1);
	cr_assert_eq(freed, 1, "the evicted value is freed at once");
	cr_assert_null(get(c, "t", "a", 1));
	cr_assert_not_null(get(c, "t", "c", 1));
	vcache_free(c);
	cr_assert_eq(freed, 3);
}

Test(vcache, held_value_outlives_eviction_and_the_cache)
{
	struct vcache *c;
	struct vcache_ref *ref = NULL;
	const struct scenario *held;

	freed = 0;
	cr_assert_eq(vcache_alloc(&c, 2, free_sc), 0);
	put(c, "t", "a", 1);
	held = vcache_get(c, "t", "a", 1, &ref);
	cr_assert_not_null(held);
	put(c, "t", "b", 1);
	put(c, "t", "c", 1); /* evicts a */
	cr_assert_null(get(c, "t", "a", 1));
	cr_assert_eq(freed, 0, "a held value is not freed by eviction");
	vcache_free(c);
	cr_assert_eq(freed, 2, "the cache frees what only it held");
	/* Still usable: the default scenario has a start node. */
	cr_assert_not_null(scenario_start(held));
	vcache_ref_drop(ref);
	cr_assert_eq(freed, 3, "the last reference frees the value");
}
