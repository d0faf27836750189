/* Tests for services/notifier/notify_mwi_body.c: the NOTIFY body of RFC
 * 3842 for no, new and old messages, and a buffer too small. */
#include <criterion/criterion.h>
#include <errno.h>

#include "notify_mwi.h"
#include "pbx_test.h"

TestSuite(notify_mwi_body, .fini = pbx_test_fini);

Test(notify_mwi_body, new_messages_are_waiting)
{
	char b[256];

	cr_assert_eq(notify_mwi_body(b, sizeof(b), 2, 5, "sip:201@acme.pbx"), 0);
	cr_expect_str_eq(b, "Messages-Waiting: yes\r\n"
			    "Message-Account: sip:201@acme.pbx\r\n"
			    "Voice-Message: 2/5 (0/0)\r\n");
}

Test(notify_mwi_body, only_old_messages_wait_for_nobody)
{
	char b[256];

	cr_assert_eq(notify_mwi_body(b, sizeof(b), 0, 1, ""), 0);
	cr_expect_str_eq(b, "Messages-Waiting: no\r\n"
			    "Voice-Message: 0/1 (0/0)\r\n");
}

Test(notify_mwi_body, too_small_a_buffer_is_refused)
{
	char b[16];

	cr_expect_eq(notify_mwi_body(b, sizeof(b), 1, 0, "sip:a@b"), -ENOSPC);
}
