/* Webhook signatures: HMAC-SHA256 with the tenant's secret over
 * "<unix seconds>.<body>", sent as the header
 *   X-Pbx-Signature: t=<unix seconds>,v1=<64 hex>
 * The timestamp inside the signed text lets a receiver refuse a replayed
 * request; docs/services/notifier.md shows how to check it. */
#ifndef NOTIFY_SIGN_H
#define NOTIFY_SIGN_H
#include <stddef.h>
#include <stdint.h>

#define NOTIFY_SIGN_HEADER "X-Pbx-Signature"
#define NOTIFY_SIGN_MAX 96 /* "t=" + 20 digits + ",v1=" + 64 hex + NUL */

/* Lower-case hex HMAC-SHA256 of data under key into out (65 bytes).
 * 0 or -EINVAL. */
int notify_sign_hmac_hex(char out[65], const char *key, size_t keylen,
			 const void *data, size_t len);

/* The header value for body sent at unix time t. 0, -EINVAL (no secret),
 * -ENOMEM. */
int notify_sign(char *out, size_t size, const char *secret, uint64_t t,
		const char *body, size_t len);

#endif
