/* Redis key scheme: builds tenant-tagged and cluster-wide keys and checks the
 * identifiers that go into them, so no key can be forged across tenants. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pbx_keys.h"

bool pbx_id_valid(const char *id)
{
	size_t n;

	if (!id)
		return false;
	n = strlen(id);
	if (n == 0 || n > PBX_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)id[i];
		if (!isalnum(c) && c != '_' && c != '-' && c != '.')
			return false;
	}
	return true;
}

bool pbx_number_valid(const char *num)
{
	size_t n, i = 0;

	if (!num)
		return false;
	n = strlen(num);
	if (n > 0 && num[0] == '+')
		i = 1;
	if (n - i == 0 || n > 32)
		return false;
	for (; i < n; i++) {
		if (!isdigit((unsigned char)num[i]))
			return false;
	}
	return true;
}

bool pbx_tenant_valid(const char *tenant)
{
	return pbx_id_valid(tenant) && strcmp(tenant, "sys") != 0;
}

static int key_vformat(char *buf, size_t size, const char *tag,
		       const char *fmt, va_list ap)
{
	int n = snprintf(buf, size, "pbx:{%s}:", tag);

	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	int m = vsnprintf(buf + n, size - (size_t)n, fmt, ap);
	if (m < 0 || (size_t)m >= size - (size_t)n)
		return -ENAMETOOLONG;
	return 0;
}

int pbx_key(char *buf, size_t size, const char *tenant, const char *fmt, ...)
{
	va_list ap;
	int err;

	if (!pbx_tenant_valid(tenant))
		return -EINVAL;
	va_start(ap, fmt);
	err = key_vformat(buf, size, tenant, fmt, ap);
	va_end(ap);
	return err;
}

int pbx_key_sys(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = key_vformat(buf, size, "sys", fmt, ap);
	va_end(ap);
	return err;
}
