/* Message-waiting indication (RFC 3842): phones subscribed to
 * `message-summary` get NOTIFYs with their box's new and old message
 * counts. A SIP notifier (libre's sipevent) in a thread of its own, with
 * its own libre loop and Redis connection: the notifier's libevent loop
 * only tells it which box changed (a thread-safe queue). Kamailio relays
 * to it only SUBSCRIBEs of authenticated extensions, with X-Pbx-Tenant
 * and X-Pbx-Ext (docs/voicemail.md, *MWI*); the box a phone watches is
 * the one named like its extension, in its own tenant. */
#ifndef NOTIFY_MWI_H
#define NOTIFY_MWI_H
#include <stddef.h>

struct notify_mwi;
struct notifier_conf;

/* Starts the thread and returns once it listens on conf->mwi_listen:
 * 0, or a negative errno (nothing left running). */
int notify_mwi_alloc(struct notify_mwi **mp, const struct notifier_conf *conf);
/* Ends the subscriptions' thread (NOTIFYs in flight are dropped) and
 * joins it. NULL-safe. */
void notify_mwi_free(struct notify_mwi *m);

/* The box's messages changed: its subscribers get fresh counts. Safe from
 * any thread; copies its arguments. */
void notify_mwi_changed(struct notify_mwi *m, const char *tenant,
			const char *box);

/* The body of a NOTIFY (RFC 3842) for `account` ("sip:<ext>@<domain>"
 * or ""), into buf. 0 or -ENOSPC. Pure: tested. */
int notify_mwi_body(char *buf, size_t size, unsigned new_msgs,
		    unsigned old_msgs, const char *account);

#endif
