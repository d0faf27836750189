/* The canonical number form: every way a person or a SIP/tel URI writes
 * one number gives the same key, and what is not a number is refused. */
#include <criterion/criterion.h>
#include <errno.h>

#include "pbx_test.h"
#include "scenario.h"

TestSuite(number_canon, .fini = pbx_test_fini);

static void canon_is(const char *in, const char *want)
{
	char out[40];
	int n = scenario_number_canon(in, out, sizeof(out));

	cr_assert_gt(n, 0, "'%s' refused (%d)", in, n);
	cr_assert_str_eq(out, want, "'%s' -> '%s', want '%s'", in, out, want);
}

static void refused(const char *in)
{
	char out[40];

	cr_assert_lt(scenario_number_canon(in, out, sizeof(out)), 0,
		     "'%s' should be refused", in);
}

Test(number_canon, every_form_of_a_russian_number_is_one_key)
{
	const char *forms[] = {
		"74951234567",       "+74951234567",     "84951234567",
		"4951234567",        "+7 495 123-45-67", "+7(495)123-45-67",
		"8 (495) 123.45.67", "+7%20495%201234567", "0074951234567",
		"  +74951234567",    "%2B74951234567",
	};

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		canon_is(forms[i], "74951234567");
}

Test(number_canon, international_numbers_that_read_national_keep_the_plus)
{
	canon_is("+1 555 214 402", "+1555214402");
	canon_is("001555214402", "+1555214402");
	canon_is("+81 3 1234 5678", "+81312345678");
}

Test(number_canon, the_canonical_form_is_a_fixed_point)
{
	const char *in[] = {"+1555214402", "+81312345678", "84951234567",
			    "4951234567", "+442079460958", "101",
			    "+7 (495) 123-45-67", "+15550100001"};

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		char a[40], b[40];

		cr_assert_gt(scenario_number_canon(in[i], a, sizeof(a)), 0);
		cr_assert_gt(scenario_number_canon(a, b, sizeof(b)), 0);
		cr_assert_str_eq(a, b, "'%s' -> '%s' -> '%s'", in[i], a, b);
	}
}

Test(number_canon, short_and_foreign_numbers_keep_their_digits)
{
	canon_is("1000", "1000");
	canon_is("101", "101");
	canon_is("+1 555 010 0001", "15550100001");
	canon_is("+44 20 7946 0958", "442079460958");
}

Test(number_canon, what_is_not_a_number_is_refused)
{
	refused("");
	refused("+");
	refused("alice");
	refused("7495abc");
	refused("*45");
	refused("12#");
	refused("7+4951234567");
	refused("%");
	refused("%4");
	refused("%zz12");
	refused("12%00");
	refused("1;user=phone");
	refused("123456789012345678901234567890123"); /* 33 digits */
}

Test(number_canon, small_buffer_is_enospc)
{
	char out[4];

	cr_assert_eq(scenario_number_canon("74951234567", out, sizeof(out)),
		     -ENOSPC);
}
