/* The bus to the routers on CURVE, as the stack runs it: an instance with
 * an allowed key is heard under its key's name and served; one whose key
 * the router does not list is never heard. */
#include "qm_test.h"

static void curve_setup(void)
{
	h.deny = 1u << 1; /* qm1's key is not in the allow list */
	cr_assert_eq(qmh_start_curve(&h), 0, "harness");
}

TestSuite(qm_curve, .init = curve_setup, .fini = qm_teardown,
	  .timeout = 60);

Test(qm_curve, an_allowed_key_is_heard_and_served)
{
	cr_assert_eq(qmh_add(&h, 0, false), 0);
	queue_put("q", "{'agents':['101']}");
	join("c1", "q", 0);
	offered_to("c1", "101");
}

Test(qm_curve, a_key_the_router_does_not_list_is_never_heard)
{
	cr_assert_eq(qmh_add(&h, 1, false), -ETIMEDOUT);
	cr_assert_eq(h.heartbeats[1], 0);
}
