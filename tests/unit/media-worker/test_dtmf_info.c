/* Tests for dtmf_info.c: DTMF in SIP INFO bodies of both content types,
 * the dialects phones send, and garbage. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "dtmf_info.h"
#include "pbx_test.h"

TestSuite(dtmf_info, .fini = pbx_test_fini);

static enum dtmf_info_type type_of(const char *t, const char *s)
{
	return dtmf_info_type_of(t, strlen(t), s, strlen(s));
}

static int parse(enum dtmf_info_type t, const char *body, char *d)
{
	*d = 0;
	return dtmf_info_parse(t, body, strlen(body), d);
}

Test(dtmf_info, content_types_are_recognised_case_blind)
{
	cr_assert_eq(type_of("application", "dtmf-relay"), DTMF_INFO_RELAY);
	cr_assert_eq(type_of("Application", "DTMF-Relay"), DTMF_INFO_RELAY);
	cr_assert_eq(type_of("application", "dtmf"), DTMF_INFO_PLAIN);
	cr_assert_eq(type_of("application", "sdp"), DTMF_INFO_NONE);
	cr_assert_eq(type_of("text", "dtmf"), DTMF_INFO_NONE);
	cr_assert_eq(type_of("application", "dtmf-relayx"), DTMF_INFO_NONE);
	cr_assert_eq(dtmf_info_type_of(NULL, 0, NULL, 0), DTMF_INFO_NONE);
}

Test(dtmf_info, relay_signal_with_duration)
{
	char d;

	cr_assert_eq(
		parse(DTMF_INFO_RELAY, "Signal=5\r\nDuration=160\r\n", &d), 0);
	cr_assert_eq(d, '5');
	cr_assert_eq(parse(DTMF_INFO_RELAY, "Duration=250\nSignal= #\n", &d),
		     0);
	cr_assert_eq(d, '#');
	cr_assert_eq(parse(DTMF_INFO_RELAY, "signal = *", &d), 0);
	cr_assert_eq(d, '*');
	cr_assert_eq(parse(DTMF_INFO_RELAY, "Signal=d\r\n", &d), 0);
	cr_assert_eq(d, 'D');
	/* Event codes some phones send for * and #. */
	cr_assert_eq(parse(DTMF_INFO_RELAY, "Signal=11\r\n", &d), 0);
	cr_assert_eq(d, '#');
	cr_assert_eq(parse(DTMF_INFO_RELAY, "Signal=10", &d), 0);
	cr_assert_eq(d, '*');
}

Test(dtmf_info, plain_body_is_the_digit)
{
	char d;

	cr_assert_eq(parse(DTMF_INFO_PLAIN, "5", &d), 0);
	cr_assert_eq(d, '5');
	cr_assert_eq(parse(DTMF_INFO_PLAIN, " 9\r\n", &d), 0);
	cr_assert_eq(d, '9');
	cr_assert_eq(parse(DTMF_INFO_PLAIN, "a", &d), 0);
	cr_assert_eq(d, 'A');
	cr_assert_eq(parse(DTMF_INFO_PLAIN, "11", &d), 0);
	cr_assert_eq(d, '#');
}

Test(dtmf_info, garbage_is_refused)
{
	static const char *relay_bad[] = {
		"",	     "Signal=",	     "Signal=55", "Signal=E",
		"Signal=16", "Duration=160", "Signal",	  "Signal=5x",
		"\r\n\r\n",  "=5",	     "Signal=-1", "Signal=\x01",
	};
	static const char *plain_bad[] = {
		"", "55", "x", "Signal=5", "#5", "16", "\r\n",
	};
	char d;

	for (size_t i = 0; i < sizeof(relay_bad) / sizeof(*relay_bad); i++)
		cr_assert_eq(parse(DTMF_INFO_RELAY, relay_bad[i], &d), -EINVAL,
			     "relay '%s'", relay_bad[i]);
	for (size_t i = 0; i < sizeof(plain_bad) / sizeof(*plain_bad); i++)
		cr_assert_eq(parse(DTMF_INFO_PLAIN, plain_bad[i], &d), -EINVAL,
			     "plain '%s'", plain_bad[i]);
	cr_assert_eq(parse(DTMF_INFO_NONE, "5", &d), -ENOTSUP);
	cr_assert_eq(dtmf_info_parse(DTMF_INFO_PLAIN, NULL, 3, &d), -EINVAL);
}

Test(dtmf_info, body_is_not_read_past_its_length)
{
	char d;

	/* "Signal=5" cut before the digit: the 5 is outside the body. */
	cr_assert_eq(dtmf_info_parse(DTMF_INFO_RELAY, "Signal=5", 7, &d),
		     -EINVAL);
	cr_assert_eq(dtmf_info_parse(DTMF_INFO_PLAIN, "7", 0, &d), -EINVAL);
}
