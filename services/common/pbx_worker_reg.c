/* The media worker registry's value (pbx_worker_reg.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pbx_worker_reg.h"

int pbx_worker_reg_parse(const char *val, struct pbx_worker_reg *r)
{
	unsigned long long seen;
	unsigned lo, hi;
	int draining, ex, n = 0, m = 0;

	memset(r, 0, sizeof(*r));
	if (!val || sscanf(val, "%llu %u %u %d %127s%n", &seen, &r->load,
			   &r->capacity, &draining, r->sip_uri, &n) != 5 ||
	    strncmp(r->sip_uri, "sip:", 4))
		return -EINVAL;
	if (val[n]) {
		if (sscanf(val + n, " %63s %u-%u %d%n", r->rtp_ip, &lo, &hi,
			   &ex, &m) != 4 ||
		    val[n + m] || lo > hi || hi > 65535)
			return -EINVAL;
		r->rtp_min = lo;
		r->rtp_max = hi;
		r->drain_exit = ex != 0;
	}
	r->seen_ms = seen;
	r->draining = draining != 0;
	return 0;
}

int pbx_worker_reg_format(char *buf, size_t size,
			  const struct pbx_worker_reg *r)
{
	int n;

	if (strncmp(r->sip_uri, "sip:", 4) || strpbrk(r->sip_uri, " \t\r\n") ||
	    strpbrk(r->rtp_ip, " \t\r\n"))
		return -EINVAL;
	n = snprintf(buf, size, "%" PRIu64 " %u %u %d %s", r->seen_ms,
		     r->load, r->capacity, r->draining ? 1 : 0, r->sip_uri);
	if (n >= 0 && (size_t)n < size && r->rtp_ip[0])
		n += snprintf(buf + n, size - (size_t)n, " %s %u-%u %d",
			      r->rtp_ip, r->rtp_min, r->rtp_max,
			      r->drain_exit ? 1 : 0);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}
