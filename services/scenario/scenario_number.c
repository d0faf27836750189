/* Phone number normalisation: one digits-only international form per
 * number, so a caller who sends "+7 495 ...", "8 495 ..." or "7495..."
 * matches the same list entry (rules in scenario.h and docs/scenario.md).
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "scenario.h"

#define NUM_MAX 32

int scenario_number_normalise(const char *in, char *out, size_t size)
{
	char d[NUM_MAX + 1];
	const char *p = in, *src;
	bool plus = false, intl = false;
	size_t n = 0, len;

	if (!in || !out || !size)
		return -EINVAL;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '+')
		plus = true;
	for (; *p; p++) {
		if (*p >= '0' && *p <= '9') {
			if (n >= NUM_MAX)
				return -ENOSPC;
			d[n++] = *p;
		}
	}
	d[n] = '\0';
	src = d;
	len = n;
	if (plus) {
		intl = true;
	} else if (len >= 10 && !strncmp(d, "00", 2)) {
		src += 2;
		len -= 2;
		intl = true;
	} else if (len >= 12 && !strncmp(d, "810", 3)) {
		src += 3;
		len -= 3;
		intl = true;
	}
	if (!intl && len == 11 && d[0] == '8') {
		if (size < 12)
			return -ENOSPC;
		out[0] = '7';
		memcpy(out + 1, d + 1, 10);
		out[11] = '\0';
		return 11;
	}
	if (!intl && len == 10) {
		if (size < 12)
			return -ENOSPC;
		out[0] = '7';
		memcpy(out + 1, d, 10);
		out[11] = '\0';
		return 11;
	}
	if (len + 1 > size)
		return -ENOSPC;
	memcpy(out, src, len);
	out[len] = '\0';
	return (int)len;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = (char)tolower((unsigned char)ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

int scenario_number_canon(const char *in, char *out, size_t size)
{
	char buf[NUM_MAX * 4 + 2];
	size_t n = 0, digits = 0;
	int len;

	if (!in || !out || !size)
		return -EINVAL;
	for (const char *p = in; *p; p++) {
		char ch = *p;

		if (ch == '%') {
			int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);

			if (lo < 0)
				return -EINVAL;
			ch = (char)(hi * 16 + lo);
			p += 2;
		}
		if (ch >= '0' && ch <= '9') {
			digits++;
		} else if (ch == '+') {
			/* Only as the first thing written. */
			for (size_t i = 0; i < n; i++)
				if (!strchr(" \t", buf[i]))
					return -EINVAL;
		} else if (!strchr(" \t-.()", ch) || ch == '\0') {
			return -EINVAL;
		}
		if (n + 1 >= sizeof(buf))
			return -ENOSPC;
		buf[n++] = ch;
	}
	buf[n] = '\0';
	if (digits == 0)
		return -EINVAL;
	len = scenario_number_normalise(buf, out, size);
	if (len <= 0)
		return len == 0 ? -EINVAL : len;
	/* The form must be a fixed point (a stored key canonicalised again
	 * is itself): international digits that would read as a national
	 * number without their "+" (10 digits, or 11 starting with 8) keep
	 * it: "+1 555 214 402" is "+1555214402", never "71555214402".
	 * (The normaliser turns national input into 11 digits starting with
	 * 7, so these lengths come from international input only.) */
	if (len == 10 || (len == 11 && out[0] == '8')) {
		if ((size_t)len + 2 > size)
			return -ENOSPC;
		memmove(out + 1, out, (size_t)len + 1);
		out[0] = '+';
		len++;
	}
	return len;
}

int scenario_agent_number(const char *in, char *out, size_t size)
{
	char buf[NUM_MAX + 3];
	int len = scenario_number_canon(in, buf + 1, sizeof(buf) - 1);
	const char *id = buf + 1;

	if (len < 0)
		return len == -ENOSPC ? -EINVAL : len;
	if (buf[1] != '+') {
		buf[0] = '+';
		id = buf;
		len++;
	}
	if (len < 11 || len > 16)
		return -EINVAL;
	if ((size_t)len + 1 > size)
		return -ENOSPC;
	memcpy(out, id, (size_t)len + 1);
	return len;
}
