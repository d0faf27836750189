/* Caller id and display name for the From header of a callee leg. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "caller_id.h"

/* ASCII only, whatever the locale: these go on the wire. */
static bool is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}

static bool is_sep(char c)
{
	return c && strchr(" -.()/", c);
}

/* "+7 (916) 000-00-02": digits, separators, at most one '+' before the
 * first digit. Writes "+"? digits to dst (size >= CALLER_ID_SIZE);
 * returns the length, 0 if src is not such a number, -1 if too long. */
static int clean_number(char *dst, const char *src)
{
	size_t j = 0;
	bool plus = false, digit = false;

	for (const char *p = src; *p; p++) {
		if ((*p >= '0' && *p <= '9')) {
			if (j == CALLER_ID_MAX)
				return -1;
			dst[j++] = *p;
			digit = true;
		} else if (*p == '+' && !plus && !digit) {
			plus = true;
			dst[j++] = '+';
		} else if (!is_sep(*p)) {
			return 0;
		}
	}
	if (!digit)
		return 0;
	dst[j] = '\0';
	return (int)j;
}

/* Any other user part: only characters that need no escaping in a URI
 * user part and mean nothing to a SIP parser around it; 0 without a
 * letter or digit. */
static int clean_token(char *dst, const char *src)
{
	size_t j = 0;
	bool alnum = false;

	for (const char *p = src; *p; p++) {
		if (is_alnum(*p))
			alnum = true;
		else if (!strchr("+-_.*", *p))
			continue;
		if (j == CALLER_ID_MAX)
			return -1;
		dst[j++] = *p;
	}
	dst[j] = '\0';
	return alnum ? (int)j : 0; /* "+", "-.-" say nothing */
}

int caller_id_clean(char *dst, size_t size, const char *src)
{
	int n;

	if (!dst || size < CALLER_ID_SIZE)
		return -EINVAL;
	src = src ? src : "";
	n = clean_number(dst, src);
	if (n == 0)
		n = clean_token(dst, src);
	if (n <= 0) {
		strcpy(dst, CALLER_ID_ANONYMOUS);
		n = (int)strlen(CALLER_ID_ANONYMOUS);
	}
	return n;
}

int caller_id_external(char *dst, size_t size, const char *src)
{
	int n;

	if (!dst || size < CALLER_ID_SIZE)
		return -EINVAL;
	n = clean_number(dst, src ? src : "");
	if (n <= 0) {
		strcpy(dst, CALLER_ID_ANONYMOUS);
		n = (int)strlen(CALLER_ID_ANONYMOUS);
	}
	return n;
}

void caller_name_clean(char *dst, size_t size, const char *src)
{
	size_t j = 0;

	if (!dst || !size)
		return;
	for (size_t i = 0; src && src[i]; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
			continue;
		if (j + 1 >= size) {
			/* Full in the middle of a UTF-8 character: drop its
			 * first bytes too. */
			if ((c & 0xc0) == 0x80) {
				while (j && ((unsigned char)dst[j - 1] &
					     0xc0) == 0x80)
					j--;
				if (j && ((unsigned char)dst[j - 1] & 0xc0) ==
						 0xc0)
					j--;
			}
			break;
		}
		dst[j++] = (char)c;
	}
	dst[j] = '\0';
}
