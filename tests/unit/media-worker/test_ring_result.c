/* Tests for ring_result.c: which branch of the scenario a callee's final
 * response leads to. */
#include <criterion/criterion.h>
#include <errno.h>

#include "pbx_test.h"
#include "ring_result.h"

TestSuite(ring_result, .fini = pbx_test_fini);

#define BUSY PBX__V1__MEDIA_EVENT__RING_RESULT__RING_BUSY
#define UNAVAILABLE PBX__V1__MEDIA_EVENT__RING_RESULT__RING_UNAVAILABLE

Test(ring_result, busy_codes_are_busy)
{
	uint16_t code = 0;

	cr_assert_eq(ring_result_of(486, 0, &code), BUSY);
	cr_assert_eq(code, 486);
	cr_assert_eq(ring_result_of(600, 0, &code), BUSY);
	cr_assert_eq(code, 600);
}

Test(ring_result, everything_else_is_unavailable)
{
	static const uint16_t codes[] = {
		404, 480, 408, 500, 502, 503, 504, 403, 410, 484,
		488, 603, 604, 606, 487, 400, 401, 407, 420, 699,
	};

	for (size_t i = 0; i < sizeof(codes) / sizeof(*codes); i++) {
		uint16_t code = 0;

		cr_assert_eq(ring_result_of(codes[i], 0, &code), UNAVAILABLE,
			     "%u", codes[i]);
		cr_assert_eq(code, codes[i]);
	}
}

Test(ring_result, failures_without_a_response_get_a_code)
{
	uint16_t code = 0;

	cr_assert_eq(ring_result_of(0, ETIMEDOUT, &code), UNAVAILABLE);
	cr_assert_eq(code, 408);
	cr_assert_eq(ring_result_of(0, ECONNREFUSED, &code), UNAVAILABLE);
	cr_assert_eq(code, 503);
	cr_assert_eq(ring_result_of(0, 0, NULL), UNAVAILABLE);
}
