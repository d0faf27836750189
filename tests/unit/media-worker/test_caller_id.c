/* Tests for caller_id.c: the caller id and display name of a callee
 * leg's From header — numbers as people write them, SIP users, injection
 * attempts, limits. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "caller_id.h"
#include "pbx_test.h"

TestSuite(caller_id, .fini = pbx_test_fini);

static const char *clean(const char *src)
{
	static char out[CALLER_ID_SIZE];
	int n = caller_id_clean(out, sizeof(out), src);

	cr_assert_eq(n, (int)strlen(out), "'%s'", src ? src : "(null)");
	return out;
}

/* Issue 7 item 2: this number matched a list, then the ring was refused
 * ("bad caller_id") and the call ended with 603. */
Test(caller_id, number_with_parentheses_keeps_plus_and_digits)
{
	cr_assert_str_eq(clean("+7(916)000-00-02"), "+79160000002");
}

Test(caller_id, separators_are_dropped)
{
	cr_assert_str_eq(clean("+7 916 000 00 02"), "+79160000002");
	cr_assert_str_eq(clean("8 (916) 000.00.02"), "89160000002");
	cr_assert_str_eq(clean("(+7) 495/123-45-67"), "+74951234567");
	cr_assert_str_eq(clean("101"), "101");
	cr_assert_str_eq(clean("+79160000002"), "+79160000002");
}

Test(caller_id, sip_users_keep_their_token_characters)
{
	cr_assert_str_eq(clean("alice"), "alice");
	cr_assert_str_eq(clean("alice.smith-2_x"), "alice.smith-2_x");
	cr_assert_str_eq(clean("*100"), "*100");
	cr_assert_str_eq(clean("anonymous"), "anonymous");
	/* a '+' inside is not a phone number's: the token rules apply */
	cr_assert_str_eq(clean("7+916"), "7+916");
}

Test(caller_id, nothing_usable_is_anonymous)
{
	cr_assert_str_eq(clean(NULL), CALLER_ID_ANONYMOUS);
	cr_assert_str_eq(clean(""), CALLER_ID_ANONYMOUS);
	cr_assert_str_eq(clean("+"), CALLER_ID_ANONYMOUS);
	cr_assert_str_eq(clean(" ( ) - "), CALLER_ID_ANONYMOUS);
	cr_assert_str_eq(clean("<>@;\"\r\n"), CALLER_ID_ANONYMOUS);
	cr_assert_str_eq(clean("+-."), CALLER_ID_ANONYMOUS);
}

Test(caller_id, injection_never_reaches_the_header)
{
	static const char *const evil[] = {
		"1001>;tag=x",
		"\"Boss\" <sip:boss@evil.example>",
		"1001\r\nX-Pbx-Tenant: other",
		"1001@evil.example;transport=tcp",
		"+7(916)000-00-02\r\nVia: x",
		"a\\b%0d%0a?c=d&e",
		"1001\t1002",
	};

	for (size_t i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
		const char *out = clean(evil[i]);

		cr_assert_gt(strlen(out), 0);
		cr_assert_eq(strpbrk(out, "<>@;:\"\\\r\n \t%?&=,()/"), NULL,
			     "'%s' gave '%s'", evil[i], out);
	}
	cr_assert_str_eq(clean("1001\r\nX-Pbx-Tenant: other"),
			 "1001X-Pbx-Tenantother");
	cr_assert_str_eq(clean("1001>;tag=x"), "1001tagx");
}

Test(caller_id, too_long_is_anonymous)
{
	char in[200];

	memset(in, '5', CALLER_ID_MAX);
	in[CALLER_ID_MAX] = '\0';
	cr_assert_eq(strlen(clean(in)), CALLER_ID_MAX);
	in[0] = '+'; /* '+' and 63 digits still fit */
	cr_assert_eq(strlen(clean(in)), CALLER_ID_MAX);
	memset(in, '5', 100);
	in[100] = '\0';
	cr_assert_str_eq(clean(in), CALLER_ID_ANONYMOUS);
	memset(in, 'a', 100);
	cr_assert_str_eq(clean(in), CALLER_ID_ANONYMOUS);
	/* Separators do not count: a long written-out number fits. */
	cr_assert_str_eq(clean("+7 (916) 000 - 00 - 02 . . . . . . . . . . "
			       ". . . . . . . . . . . ."),
			 "+79160000002");
}

Test(caller_id, small_buffer_is_refused)
{
	char out[CALLER_ID_SIZE - 1];

	cr_assert_eq(caller_id_clean(out, sizeof(out), "1"), -EINVAL);
	cr_assert_eq(caller_id_clean(NULL, CALLER_ID_SIZE, "1"), -EINVAL);
}

static const char *external(const char *src)
{
	static char out[CALLER_ID_SIZE];
	int n = caller_id_external(out, sizeof(out), src);

	cr_assert_eq(n, (int)strlen(out), "'%s'", src ? src : "(null)");
	return out;
}

/* Issue 8 item 7: an outsider's From user reaches a phone only as a
 * number; a name is anonymous (it could be an extension's alias). */
Test(caller_id, external_caller_is_a_number_or_anonymous)
{
	cr_assert_str_eq(external("+7 (916) 000-00-02"), "+79160000002");
	cr_assert_str_eq(external("201"), "201");
	cr_assert_str_eq(external("alice"), "anonymous");
	cr_assert_str_eq(external("201x"), "anonymous");
	cr_assert_str_eq(external("*100"), "anonymous");
	cr_assert_str_eq(external(""), "anonymous");
	cr_assert_str_eq(external(NULL), "anonymous");
	cr_assert_str_eq(external("1001\r\nX-Pbx-Tenant: other"),
			 "anonymous");
}

Test(caller_id, external_too_long_is_anonymous_and_small_buffer_refused)
{
	char big[CALLER_ID_MAX + 2], out[CALLER_ID_SIZE];

	memset(big, '7', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_str_eq(external(big), "anonymous");
	cr_assert_eq(caller_id_external(out, CALLER_ID_SIZE - 1, "1"),
		     -EINVAL);
}

Test(caller_name, quotes_backslashes_and_controls_are_dropped)
{
	char out[65];

	caller_name_clean(out, sizeof(out), "Ivan \"The\" \\Boss\\\r\nVia: x");
	cr_assert_str_eq(out, "Ivan The BossVia: x");
	caller_name_clean(out, sizeof(out), NULL);
	cr_assert_str_eq(out, "");
	caller_name_clean(out, sizeof(out), "Иван Петров");
	cr_assert_str_eq(out, "Иван Петров");
}

Test(caller_name, cut_does_not_split_a_utf8_character)
{
	char out[6]; /* 5 bytes: "ab" + one 2-byte letter, not half of one */

	caller_name_clean(out, sizeof(out), "abЖЖЖ");
	cr_assert_str_eq(out, "abЖ");
	caller_name_clean(out, sizeof(out), "aЖЖЖ"); /* 1 + 2 + 2 = 5 */
	cr_assert_str_eq(out, "aЖЖ");
	caller_name_clean(out, sizeof(out), "abcdefgh");
	cr_assert_str_eq(out, "abcde");
}
