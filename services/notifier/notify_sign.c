/* Webhook signatures (notify_sign.h): OpenSSL's one-shot HMAC. */
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify_sign.h"

int notify_sign_hmac_hex(char out[65], const char *key, size_t keylen,
			 const void *data, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!key || !keylen || keylen > 1024 || (!data && len))
		return -EINVAL;
	if (!HMAC(EVP_sha256(), key, (int)keylen, data, len, md, &mdlen) ||
	    mdlen != 32)
		return -EINVAL;
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int notify_sign(char *out, size_t size, const char *secret, uint64_t t,
		const char *body, size_t len)
{
	char ts[24], hex[65];
	size_t tl;
	char *msg;
	int err, n;

	if (!secret || !*secret || !out)
		return -EINVAL;
	tl = (size_t)snprintf(ts, sizeof(ts), "%" PRIu64 ".", t);
	msg = malloc(tl + len + 1);
	if (!msg)
		return -ENOMEM;
	memcpy(msg, ts, tl);
	if (len)
		memcpy(msg + tl, body, len);
	err = notify_sign_hmac_hex(hex, secret, strlen(secret), msg, tl + len);
	free(msg);
	if (err)
		return err;
	n = snprintf(out, size, "t=%" PRIu64 ",v1=%s", t, hex);
	return n < 0 || (size_t)n >= size ? -EINVAL : 0;
}
