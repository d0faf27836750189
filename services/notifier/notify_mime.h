/* The e-mail a notification sends: an RFC 5322 message built in memory,
 * plain text, or multipart/mixed with one base64 attachment (the
 * voicemail's WAV). Pure functions: no I/O, so every byte is tested. */
#ifndef NOTIFY_MIME_H
#define NOTIFY_MIME_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NOTIFY_ADDR_MAX 254 /* RFC 5321's longest path */

/* What goes into one message; all strings are borrowed. */
struct notify_mail {
	const char *from;       /* envelope and header sender */
	const char *to;         /* one recipient */
	const char *subject;    /* printable ASCII (others become '?') */
	const char *text;       /* the body, UTF-8; LF or CRLF line ends */
	const char *message_id; /* unique, [A-Za-z0-9.-]: "<id@pbx>" */
	uint64_t date_ms;       /* the Date header */
	const char *attach_name; /* NULL or "": no attachment */
	const char *attach_type; /* e.g. "audio/wav" */
	const uint8_t *attach;
	size_t attach_len;
};

/* An address we put in a header and in the SMTP envelope: local@domain,
 * printable ASCII without spaces, quotes, angle brackets, commas or
 * control characters (no header or SMTP command injection), at most
 * NOTIFY_ADDR_MAX. */
bool notify_mime_addr_valid(const char *addr);

/* Base64 (RFC 4648) of in into out, lines of 76 characters ended by
 * CRLF; returns the length written. out must hold
 * notify_mime_b64_size(len) bytes (NUL included). */
size_t notify_mime_b64_size(size_t len);
size_t notify_mime_b64(char *out, const uint8_t *in, size_t len);

/* Builds the whole message (CRLF line ends, ready for SMTP DATA) into
 * *outp (malloc'd, NUL-terminated, the caller frees) and its length.
 * 0, -EINVAL (bad address, missing field), -ENOMEM. */
int notify_mime_build(const struct notify_mail *m, char **outp,
		      size_t *lenp);

#endif
