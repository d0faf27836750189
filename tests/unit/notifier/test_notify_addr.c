/* pbx_addr: the addresses a tenant's webhook may not reach. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <string.h>

#include "pbx_addr.h"

static bool private_of(const char *ip)
{
	struct sockaddr_in a4 = {.sin_family = AF_INET};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};

	if (inet_pton(AF_INET, ip, &a4.sin_addr) == 1)
		return pbx_addr_private((struct sockaddr *)&a4);
	cr_assert_eq(inet_pton(AF_INET6, ip, &a6.sin6_addr), 1, "%s", ip);
	return pbx_addr_private((struct sockaddr *)&a6);
}

Test(notify_addr, our_own_networks_are_private)
{
	static const char *const ips[] = {
		"127.0.0.1",	   "127.255.0.9",  "10.1.2.3",	  "172.16.0.1",
		"172.31.255.255",  "192.168.1.10", "169.254.169.254",
		"100.64.0.1",	   "0.0.0.0",	   "224.0.0.1",	  "255.255.255.255",
		"198.18.0.1",	   "::1",	   "::",	  "fe80::1",
		"fd00::1",	   "fc00::2",	   "ff02::1",	  "::ffff:127.0.0.1",
		"::ffff:10.0.0.1", "::ffff:169.254.169.254",
	};

	for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++)
		cr_expect(private_of(ips[i]), "%s should be refused", ips[i]);
}

Test(notify_addr, public_addresses_are_reachable)
{
	static const char *const ips[] = {
		"8.8.8.8",     "1.1.1.1",	   "172.15.255.255", "172.32.0.1",
		"100.63.0.1",  "198.51.100.7",	   "203.0.113.9",    "2001:db8::1",
		"2a00:1450::1", "::ffff:93.184.216.34",
	};

	for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++)
		cr_expect_not(private_of(ips[i]), "%s should be reachable",
			      ips[i]);
}

Test(notify_addr, unknown_family_is_refused)
{
	struct sockaddr sa = {.sa_family = AF_UNIX};

	cr_assert(pbx_addr_private(&sa));
	cr_assert(pbx_addr_private(NULL));
}
