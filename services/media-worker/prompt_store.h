/* Prompt store: reads a tenant's prompts from Redis, hash
 * "pbx:{<tenant>}:prompt:<name>" with fields ulaw / alaw (raw 8 kHz G.711,
 * headerless), ms, bytes and uploaded_ms (written by provision on every
 * upload). Its two reads are the callbacks of the prompt cache
 * (prompt_cache.h): the version (HGET uploaded_ms, a few bytes) on every
 * Play, the whole prompt only when that changed. The connection is
 * BLOCKING (hiredis, 200 ms timeout) on the control thread: a slow Redis
 * stalls SIP and RTP for up to that long (docs/services/media-worker.md). */
#ifndef PROMPT_STORE_H
#define PROMPT_STORE_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "prompt_cache.h"

struct prompt_store;

/* Connects lazily: a Redis that is down at start is not an error. */
/* cred (may be NULL) is copied. */
struct pbx_redis_cred;
int prompt_store_alloc(struct prompt_store **psp, const char *host, int port,
		       const struct pbx_redis_cred *cred, int timeout_ms);
void prompt_store_free(struct prompt_store *ps);

/* prompt_version_h (arg: the store): HGET <key> uploaded_ms. 0; -EINVAL
 * bad tenant or name; -ENOENT no such prompt, or no (usable) uploaded_ms;
 * -ECONNREFUSED Redis unreachable (retried at most once a second); -EIO /
 * -ETIMEDOUT the command failed (the next call reconnects); -EPROTO an
 * unexpected reply (e.g. the key is not a hash). */
int prompt_store_version(const char *tenant, const char *name, char *version,
			 size_t size, void *arg);

/* prompt_load_h (arg: the store): HMGET <key> ulaw alaw uploaded_ms, one
 * read so the version matches the bytes. Errors as above, plus -ENOENT
 * neither law has audio, -EFBIG a law above 8 MiB, -ENOMEM. */
int prompt_store_load(const char *tenant, const char *name,
		      struct prompt_data *pd, void *arg);

/* Any other command on the same connection (the worker's voicemail
 * metadata writes), retried once on a fresh connection. *rp is the reply
 * (freeReplyObject) on 0; errors as above. */
struct redisReply;
int prompt_store_command(struct prompt_store *ps, struct redisReply **rp,
			 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int prompt_store_vcommand(struct prompt_store *ps, struct redisReply **rp,
			  const char *fmt, va_list ap);
/* A write (HSET, ZADD...) whose reply is not needed: 0, -EPROTO when
 * Redis answers with an error (logged), or the errors above. */
int prompt_store_write(struct prompt_store *ps, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
