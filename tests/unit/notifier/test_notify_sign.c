/* Tests for services/notifier/notify_sign.c: HMAC-SHA256 against RFC 4231
 * and against openssl(1), and the header's shape. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "notify_sign.h"
#include "pbx_test.h"

TestSuite(notify_sign, .fini = pbx_test_fini);

Test(notify_sign, hmac_matches_rfc4231_test_case_2)
{
	char hex[65];
	const char *data = "what do ya want for nothing?";

	cr_assert_eq(notify_sign_hmac_hex(hex, "Jefe", 4, data, strlen(data)),
		     0);
	cr_expect_str_eq(hex, "5bdcc146bf60754e6a042426089575c7"
			      "5a003f089d2739839dec58b964ec3843");
}

Test(notify_sign, header_signs_timestamp_dot_body)
{
	char sig[NOTIFY_SIGN_MAX];
	const char *body = "{\"a\":1}";

	/* printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac s3cret-key */
	cr_assert_eq(notify_sign(sig, sizeof(sig), "s3cret-key", 1700000000,
				 body, strlen(body)),
		     0);
	cr_expect_str_eq(sig, "t=1700000000,v1=8f205229f41e37cd3099c55f73d92"
			      "a9a4d4c67bd7ae337b802d1723bd83a2a50");
}

Test(notify_sign, another_secret_or_body_another_signature)
{
	char a[NOTIFY_SIGN_MAX], b[NOTIFY_SIGN_MAX], c[NOTIFY_SIGN_MAX];

	cr_assert_eq(notify_sign(a, sizeof(a), "k1", 1, "x", 1), 0);
	cr_assert_eq(notify_sign(b, sizeof(b), "k2", 1, "x", 1), 0);
	cr_assert_eq(notify_sign(c, sizeof(c), "k1", 1, "y", 1), 0);
	cr_expect_str_neq(a, b);
	cr_expect_str_neq(a, c);
}

Test(notify_sign, no_secret_no_signature)
{
	char sig[NOTIFY_SIGN_MAX];

	cr_expect_eq(notify_sign(sig, sizeof(sig), "", 1, "x", 1), -EINVAL);
	cr_expect_eq(notify_sign(sig, sizeof(sig), NULL, 1, "x", 1), -EINVAL);
	cr_expect_eq(notify_sign(sig, 10, "k", 1, "x", 1), -EINVAL);
}
