/* Which addresses a tenant-given URL may not reach (pbx_addr.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "pbx_addr.h"

/* One IPv4 range: address and prefix length. */
static const struct {
	uint32_t net;
	unsigned bits;
} private4[] = {
	{0x00000000u, 8},  /* 0/8: "this network" */
	{0x0a000000u, 8},  /* 10/8 */
	{0x64400000u, 10}, /* 100.64/10: carrier-grade NAT */
	{0x7f000000u, 8},  /* loopback */
	{0xa9fe0000u, 16}, /* link-local, cloud metadata */
	{0xac100000u, 12}, /* 172.16/12 */
	{0xc0000000u, 24}, /* 192.0.0/24: protocol assignments */
	{0xc0a80000u, 16}, /* 192.168/16 */
	{0xc6120000u, 15}, /* 198.18/15: benchmarking */
	{0xe0000000u, 3},  /* multicast, reserved, broadcast */
};

static bool private_v4(uint32_t a)
{
	for (size_t i = 0; i < sizeof(private4) / sizeof(private4[0]); i++) {
		uint32_t mask = ~0u << (32 - private4[i].bits);

		if ((a & mask) == private4[i].net)
			return true;
	}
	return false;
}

static bool private_v6(const struct in6_addr *a)
{
	const uint8_t *b = a->s6_addr;
	uint32_t v4;

	if (IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_LOOPBACK(a) ||
	    IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_SITELOCAL(a) ||
	    IN6_IS_ADDR_MULTICAST(a) || (b[0] & 0xfe) == 0xfc)
		return true;
	/* ::ffff:a.b.c.d and the old ::a.b.c.d reach an IPv4 host. */
	if (IN6_IS_ADDR_V4MAPPED(a) || IN6_IS_ADDR_V4COMPAT(a)) {
		memcpy(&v4, b + 12, sizeof(v4));
		return private_v4(ntohl(v4));
	}
	return false;
}

bool pbx_addr_private(const struct sockaddr *sa)
{
	if (!sa)
		return true;
	if (sa->sa_family == AF_INET)
		return private_v4(ntohl(
			((const struct sockaddr_in *)(const void *)sa)
				->sin_addr.s_addr));
	if (sa->sa_family == AF_INET6)
		return private_v6(
			&((const struct sockaddr_in6 *)(const void *)sa)
				 ->sin6_addr);
	return true;
}

