/* DTMF carried in SIP INFO bodies: "application/dtmf-relay" (lines such
 * as "Signal=5" and "Duration=160") and "application/dtmf" (the body is
 * the digit). Pure parsing, so every device's dialect can be unit tested. */
#ifndef DTMF_INFO_H
#define DTMF_INFO_H
#include <stddef.h>

/* Content types we take DTMF from (the type/subtype, case-blind). */
enum dtmf_info_type {
	DTMF_INFO_NONE,	 /* another content type: not DTMF */
	DTMF_INFO_RELAY, /* application/dtmf-relay */
	DTMF_INFO_PLAIN, /* application/dtmf */
};

enum dtmf_info_type dtmf_info_type_of(const char *type, size_t tlen,
				      const char *subtype, size_t slen);

/* Parses a body of the given type into one of 0-9 * # A-D (A-D upper
 * case). Event codes as some phones send them ("10" = *, "11" = #,
 * "12".."15" = A..D) are accepted too. Returns 0, or -EINVAL for a body
 * without a valid digit, -ENOTSUP for DTMF_INFO_NONE. */
int dtmf_info_parse(enum dtmf_info_type type, const char *body, size_t len,
		    char *digit);

/* The digit for an RFC 4733 event code 0..15, or 0 for other codes. */
char dtmf_info_code2digit(int code);

#endif
