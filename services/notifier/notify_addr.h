/* The guard on a libcurl transfer to a tenant's URL (the address check
 * itself: pbx_addr.h). */
#ifndef NOTIFY_ADDR_H
#define NOTIFY_ADDR_H
#include <stdbool.h>
#include <sys/socket.h>

/* The guard on one libcurl transfer to a tenant's URL: its socket opens
 * only to a public address, checked on the address curl resolved and is
 * about to connect to (so no DNS answer, rebinding included, leads it
 * into our own network). A refused address is written, numeric, into
 * refused (NOTIFY_ADDR_REFUSED_MAX bytes, set to "" here), which must
 * live until the transfer ends; the transfer then fails to connect.
 * Shared by the notifier's webhooks and the crm-connector's CRM URLs. */
#define NOTIFY_ADDR_REFUSED_MAX 64
void notify_addr_guard(void *easy, char *refused);

#endif
