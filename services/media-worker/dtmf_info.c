/* SIP INFO DTMF body parsing (application/dtmf-relay, application/dtmf). */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "dtmf_info.h"

static bool eq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && !strncasecmp(s, lit, n);
}

enum dtmf_info_type dtmf_info_type_of(const char *type, size_t tlen,
				      const char *subtype, size_t slen)
{
	if (!type || !subtype || !eq(type, tlen, "application"))
		return DTMF_INFO_NONE;
	if (eq(subtype, slen, "dtmf-relay"))
		return DTMF_INFO_RELAY;
	if (eq(subtype, slen, "dtmf"))
		return DTMF_INFO_PLAIN;
	return DTMF_INFO_NONE;
}

char dtmf_info_code2digit(int code)
{
	static const char map[] = "0123456789*#ABCD";

	return code >= 0 && code <= 15 ? map[code] : 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* A value (already trimmed) to a digit: one symbol, or an event code. */
static int value_digit(const char *v, size_t n, char *digit)
{
	char c;

	if (n == 1) {
		c = (char)toupper((unsigned char)v[0]);
		if ((c >= '0' && c <= '9') || c == '*' || c == '#' ||
		    (c >= 'A' && c <= 'D')) {
			*digit = c;
			return 0;
		}
		return -EINVAL;
	}
	if (n == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5') {
		*digit = dtmf_info_code2digit(10 + (v[1] - '0'));
		return 0;
	}
	return -EINVAL;
}

static void trim(const char **s, size_t *n)
{
	while (*n && (is_blank(**s) || **s == '\r' || **s == '\n')) {
		(*s)++;
		(*n)--;
	}
	while (*n && (is_blank((*s)[*n - 1]) || (*s)[*n - 1] == '\r' ||
		      (*s)[*n - 1] == '\n'))
		(*n)--;
}

/* "Signal=5" on any line; other lines (Duration=...) are ignored. */
static int parse_relay(const char *body, size_t len, char *digit)
{
	const char *p = body, *end = body + len;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *line = p, *eqs;
		size_t n = (size_t)((eol ? eol : end) - p);

		p = eol ? eol + 1 : end;
		trim(&line, &n);
		eqs = memchr(line, '=', n);
		if (eqs) {
			const char *k = line, *v = eqs + 1;
			size_t kn = (size_t)(eqs - line);
			size_t vn = n - kn - 1;

			trim(&k, &kn);
			trim(&v, &vn);
			if (eq(k, kn, "Signal"))
				return value_digit(v, vn, digit);
		}
	}
	return -EINVAL;
}

int dtmf_info_parse(enum dtmf_info_type type, const char *body, size_t len,
		    char *digit)
{
	if (!digit || (!body && len))
		return -EINVAL;
	switch (type) {
	case DTMF_INFO_RELAY:
		return parse_relay(body, len, digit);
	case DTMF_INFO_PLAIN:
		trim(&body, &len);
		return value_digit(body, len, digit);
	default:
		return -ENOTSUP;
	}
}
