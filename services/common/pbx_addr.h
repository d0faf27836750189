/* Which network addresses a tenant-given URL may not reach (the notifier's
 * webhooks, the crm-connector's CRM URLs, the asr-bridge's Vosk servers;
 * docs/security.md, "Outbound connections"). */
#ifndef PBX_ADDR_H
#define PBX_ADDR_H
#include <stdbool.h>
#include <sys/socket.h>

/* True for an address of our own network or of nobody's: loopback,
 * unspecified, private (10/8, 172.16/12, 192.168/16, 100.64/10 shared,
 * fc00::/7), link-local (169.254/16, fe80::/10), multicast, broadcast and
 * the IPv4-mapped forms of all of these. A URL is the tenant's input:
 * without this check it could make a service connect to Redis, Kamailio
 * or a cloud metadata service (169.254.169.254) on our side. Checked on
 * the address about to be connected to (after DNS, so no rebinding gets
 * round it). Unknown families count as private. */
bool pbx_addr_private(const struct sockaddr *sa);

#endif
