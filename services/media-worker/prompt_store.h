/* Prompt store: reads a tenant's prompt audio from Redis, hash
 * "pbx:{<tenant>}:prompt:<name>" with fields ulaw / alaw (raw 8 kHz G.711,
 * headerless) and ms. The connection is BLOCKING (hiredis, 200 ms timeout)
 * on the control thread: a slow Redis stalls SIP and RTP for up to that
 * long. Acceptable for this slice; an async or cached store replaces it
 * later (docs/services/media-worker.md). */
#ifndef PROMPT_STORE_H
#define PROMPT_STORE_H
#include <stddef.h>
#include <stdint.h>

#include "offer_codec.h"

struct prompt_store;

/* Connects lazily: a Redis that is down at start is not an error. */
int prompt_store_alloc(struct prompt_store **psp, const char *host, int port,
		       int timeout_ms);
void prompt_store_free(struct prompt_store *ps);

/* Reads the prompt in the given law into *audiop (malloc'd, caller frees)
 * and its length into *lenp. Returns 0; -EINVAL bad tenant or name;
 * -ENOENT no such prompt or no audio in that law; -EFBIG too large;
 * -ECONNREFUSED Redis unreachable (retried at most once a second);
 * -EIO / -ETIMEDOUT the command failed (the next call reconnects);
 * -EPROTO an unexpected reply (e.g. the key is not a hash). */
int prompt_store_get(struct prompt_store *ps, const char *tenant,
		     const char *name, enum offer_law law, uint8_t **audiop,
		     size_t *lenp);

#endif
