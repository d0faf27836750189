/* What of a caller's identity may go into the From header of a leg we
 * originate: the user part of the URI (caller_id) and the display name.
 * Both are cleaned, never refused: a ring must not fail because a number
 * was written for humans ("+7(916)000-00-02"), and nothing that could
 * end the URI, the quoted name or the header ('<', '>', '@', ';', '"',
 * '\', CR, LF, ...) can pass. Pure. */
#ifndef CALLER_ID_H
#define CALLER_ID_H
#include <stddef.h>

enum {
	CALLER_ID_MAX = 64,		    /* characters of a cleaned id */
	CALLER_ID_SIZE = CALLER_ID_MAX + 1, /* the buffer it needs */
};

#define CALLER_ID_ANONYMOUS "anonymous"

/* Writes the URI user part for src (NULL or "" included) into dst:
 * - a phone number as people write it (digits, an optional leading '+',
 *   and the separators space - . ( ) /) becomes '+'? digits:
 *   "+7 (916) 000-00-02" -> "+79160000002";
 * - anything else (a SIP user such as "alice.smith" or "*100") keeps only
 *   letters, digits and + - _ . * (the rest is dropped);
 * - if nothing is left, or more than CALLER_ID_MAX characters, it is
 *   "anonymous".
 * Returns the length written, or -EINVAL (NULL dst, size below
 * CALLER_ID_SIZE). */
int caller_id_clean(char *dst, size_t size, const char *src);

/* The user part for a caller from outside (a trunk or an unknown
 * caller): only a phone number as caller_id_clean() reads one ("+"? and
 * digits); anything else, a SIP user name included, is "anonymous".
 * Same returns as caller_id_clean(). */
int caller_id_external(char *dst, size_t size, const char *src);

/* The display name (libre prints it inside quotes): drops quotes,
 * backslashes and control characters (CR, LF, DEL, ...), cuts at size - 1
 * bytes without splitting a UTF-8 character. dst is always terminated
 * (size > 0); NULL src gives "". */
void caller_name_clean(char *dst, size_t size, const char *src);

#endif
