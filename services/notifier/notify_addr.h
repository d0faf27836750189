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

#endif
