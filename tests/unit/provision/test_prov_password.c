/* Tests of services/provision/prov_password.c: the extension password
 * rule refuses what online guessing tries first, with a sentence that
 * says why and never quotes the password. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "pbx_test.h"
#include "prov_password.h"

TestSuite(prov_password, .fini = pbx_test_fini);

static char why[128];

static int check(const char *pw)
{
	return prov_password_check(pw, "101", "acme", "Acme Inc", why,
				   sizeof(why));
}

Test(prov_password, a_reasonable_password_passes)
{
	cr_expect_eq(check("correct horse"), 0, "%s", why);
	cr_expect_eq(check("Tr0ub4dor&3"), 0, "%s", why);
	cr_expect_eq(prov_password_check("correct horse", "101", "acme", NULL,
					 why, sizeof(why)),
		     0);
}

Test(prov_password, length_is_8_to_64)
{
	char long_pw[66];

	cr_expect_eq(check("short"), -EINVAL);
	cr_expect_str_eq(why, "password must be 8 to 64 characters");
	memset(long_pw, 'x', sizeof(long_pw) - 1);
	long_pw[sizeof(long_pw) - 1] = '\0';
	long_pw[7] = 'y';
	cr_expect_eq(check(long_pw), -EINVAL);
	cr_expect_eq(check(""), -EINVAL);
	cr_expect_eq(check(NULL), -EINVAL);
}

Test(prov_password, blank_and_uniform_passwords_are_refused)
{
	cr_expect_eq(check("        "), -EINVAL);
	cr_expect_str_eq(why, "password must not be only spaces");
	cr_expect_eq(check(" \t \t    "), -EINVAL);
	cr_expect_str_eq(why, "password must not be only spaces");
	cr_expect_eq(check("aaaaaaaa"), -EINVAL);
	cr_expect_str_eq(why, "password must not be one character repeated");
	cr_expect_eq(check("0000000000"), -EINVAL);
}

Test(prov_password, the_extension_number_inside_is_refused)
{
	cr_expect_eq(check("x101-phone"), -EINVAL);
	cr_expect_str_eq(why, "password must not contain the extension "
			      "number");
	cr_expect_eq(prov_password_check("12345678", "12345678", "acme", NULL,
					 why, sizeof(why)),
		     -EINVAL);
	cr_expect(strstr(why, "extension number"), "%s", why);
}

Test(prov_password, the_tenant_id_or_name_inside_is_refused)
{
	cr_expect_eq(check("my-ACME-phone"), -EINVAL);
	cr_expect_str_eq(why, "password must not contain the tenant's name");
	cr_expect_eq(check("acme inc rocks"), -EINVAL);
	/* Too short to search for: "ab" would refuse ordinary words. */
	cr_expect_eq(prov_password_check("table lamp", "101", "ab", "ab",
					 why, sizeof(why)),
		     0, "%s", why);
}

Test(prov_password, common_passwords_are_refused_in_any_case)
{
	cr_expect_eq(check("password"), -EINVAL);
	cr_expect(strstr(why, "most common passwords"), "%s", why);
	cr_expect_eq(check("PassWord1"), -EINVAL);
	cr_expect_eq(check("qwerty123"), -EINVAL);
	cr_expect_eq(check("iloveyou"), -EINVAL);
	cr_expect_null(strstr(why, "iloveyou"), "%s", why);
}
