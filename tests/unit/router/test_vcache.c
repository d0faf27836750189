/* Versioned cache: versions are separate keys, tenants never share. */
#include <criterion/criterion.h>

#include "pbx_test.h"
#include "vcache.h"
#include "scenario.h"

TestSuite(vcache, .fini = pbx_test_fini);

static void free_sc(void *val)
{
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

Test(vcache, hit_only_for_same_tenant_name_and_version)
{
	struct vcache *c;
	const struct scenario *sc;

	cr_assert_eq(vcache_alloc(&c, 4, free_sc), 0);
	sc = vcache_put(c, "acme", "main", 1, mk());
	cr_assert_eq(vcache_get(c, "acme", "main", 1), sc);
	cr_assert_null(vcache_get(c, "acme", "main", 2));
	cr_assert_null(vcache_get(c, "other", "main", 1));
	vcache_free(c);
}

Test(vcache, oldest_entry_is_evicted_when_full)
{
	struct vcache *c;

	cr_assert_eq(vcache_alloc(&c, 2, free_sc), 0);
	vcache_put(c, "t", "a", 1, mk());
	vcache_put(c, "t", "b", 1, mk());
	vcache_put(c, "t", "c", 1, mk());
	cr_assert_null(vcache_get(c, "t", "a", 1));
	cr_assert_not_null(vcache_get(c, "t", "c", 1));
	vcache_free(c);
}
