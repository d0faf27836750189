/* The body of an MWI NOTIFY (RFC 3842, application/simple-message-summary):
 * pure, so its exact text is tested without a SIP stack. */
#include <errno.h>
#include <stdio.h>

#include "notify_mwi.h"

int notify_mwi_body(char *buf, size_t size, unsigned new_msgs,
		    unsigned old_msgs, const char *account)
{
	int n = snprintf(buf, size,
			 "Messages-Waiting: %s\r\n%s%s%s"
			 "Voice-Message: %u/%u (0/0)\r\n",
			 new_msgs ? "yes" : "no",
			 account && *account ? "Message-Account: " : "",
			 account && *account ? account : "",
			 account && *account ? "\r\n" : "", new_msgs,
			 old_msgs);

	return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}
