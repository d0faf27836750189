/* Which addresses a tenant's webhook may not reach. */
#ifndef NOTIFY_ADDR_H
#define NOTIFY_ADDR_H
#include <stdbool.h>
#include <sys/socket.h>

/* True for an address of our own network or of nobody's: loopback,
 * unspecified, private (10/8, 172.16/12, 192.168/16, 100.64/10 shared,
 * fc00::/7), link-local (169.254/16, fe80::/10), multicast, broadcast and
 * the IPv4-mapped forms of all of these. A webhook URL is the tenant's
 * input: without this it could make the notifier POST to Redis, Kamailio
 * or a cloud metadata service (169.254.169.254) on our side. Unknown
 * families count as private. */
bool notify_addr_private(const struct sockaddr *sa);

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
