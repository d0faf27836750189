/* Netstring framing ("LEN:DATA,") used on the evapi socket: an incremental
 * parser that survives frames split across reads and several frames in one
 * read, and the encoder for outgoing frames. Pure: no I/O, no globals. */
#ifndef NETSTRING_H
#define NETSTRING_H
#include <stddef.h>

/* Kamailio's evapi frames are a few hundred bytes; anything above this is a
 * broken or hostile peer, not a bigger call. */
#define NETSTRING_MAX_LEN (64 * 1024)

struct netstring;

/* Called once per complete frame. data is valid only during the call and
 * is NUL-terminated (data[len] == '\0') for the convenience of parsers that
 * want C strings. A non-zero return stops netstring_feed(). */
typedef int(netstring_frame_h)(const char *data, size_t len, void *arg);

/* max_len: largest payload accepted (0 = NETSTRING_MAX_LEN). Sets *nsp
 * only on success. */
int netstring_alloc(struct netstring **nsp, size_t max_len);
void netstring_free(struct netstring *ns);

/* Forgets any partial frame and a previous error (new connection). */
void netstring_reset(struct netstring *ns);

/* Feeds len bytes; calls frameh for each frame completed by them, in order.
 * Returns 0, -EPROTO (a length that is not decimal, has a leading zero or
 * no ':', or a frame not closed by ','), -EMSGSIZE (announced length above
 * max_len), or the first non-zero value frameh returned. After any error
 * the rest of buf is ignored and the parser keeps failing until
 * netstring_reset(): a byte stream that lost its framing cannot be
 * resynchronised, so the caller must drop the connection. */
int netstring_feed(struct netstring *ns, const char *buf, size_t len,
		   netstring_frame_h *frameh, void *arg);

/* Encodes data as one netstring into a malloc'ed buffer (*outp, free()),
 * not NUL-terminated. Sets *outp only on success. */
int netstring_encode(char **outp, size_t *outlenp, const char *data,
		     size_t len);

#endif
