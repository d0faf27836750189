/* Scenario cache: versions are separate keys, tenants never share. */
#include <criterion/criterion.h>

#include "pbx_test.h"
#include "scache.h"
#include "scenario.h"

TestSuite(scache, .fini = pbx_test_fini);

static struct scenario *mk(void)
{
	struct scenario *sc = NULL;

	cr_assert_eq(scenario_parse(&sc, scenario_default_json(), NULL, NULL,
				    NULL),
		     0);
	return sc;
}

Test(scache, hit_only_for_same_tenant_name_and_version)
{
	struct scache *c;
	const struct scenario *sc;

	cr_assert_eq(scache_alloc(&c, 4), 0);
	sc = scache_put(c, "acme", "main", 1, mk());
	cr_assert_eq(scache_get(c, "acme", "main", 1), sc);
	cr_assert_null(scache_get(c, "acme", "main", 2));
	cr_assert_null(scache_get(c, "other", "main", 1));
	scache_free(c);
}

Test(scache, oldest_entry_is_evicted_when_full)
{
	struct scache *c;

	cr_assert_eq(scache_alloc(&c, 2), 0);
	scache_put(c, "t", "a", 1, mk());
	scache_put(c, "t", "b", 1, mk());
	scache_put(c, "t", "c", 1, mk());
	cr_assert_null(scache_get(c, "t", "a", 1));
	cr_assert_not_null(scache_get(c, "t", "c", 1));
	scache_free(c);
}
