/* Prompt store: blocking hiredis reads of prompt audio, with reconnect. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "pbx_redis.h"
#include "prompt_store.h"

enum {
	/* 8 MiB is 17 minutes of G.711: anything bigger is a mistake. */
	PROMPT_MAX_BYTES = 8 * 1024 * 1024,
	RECONNECT_MS = 1000,
};

struct prompt_store {
	char host[256];
	int port;
	int timeout_ms;
	redisContext *c;      /* NULL while down */
	uint64_t next_try_ms; /* no reconnect before this (monotonic) */
};

int prompt_store_alloc(struct prompt_store **psp, const char *host, int port,
		       int timeout_ms)
{
	struct prompt_store *ps;

	if (!psp || !host)
		return -EINVAL;
	ps = calloc(1, sizeof(*ps));
	if (!ps)
		return -ENOMEM;
	snprintf(ps->host, sizeof(ps->host), "%s", host);
	ps->port = port;
	ps->timeout_ms = timeout_ms;
	*psp = ps;
	return 0;
}

void prompt_store_free(struct prompt_store *ps)
{
	if (!ps)
		return;
	if (ps->c)
		redisFree(ps->c);
	free(ps);
}

static int connect_store(struct prompt_store *ps)
{
	uint64_t now = pbx_clock_mono_ms();

	if (ps->c)
		return 0;
	/* Each attempt can block for timeout_ms; do not pay that on every
	 * play while Redis is down. */
	if (now < ps->next_try_ms)
		return -ECONNREFUSED;
	ps->c = pbx_redis_connect(ps->host, ps->port, ps->timeout_ms);
	if (!ps->c) {
		ps->next_try_ms = now + RECONNECT_MS;
		return -ECONNREFUSED;
	}
	PLOG_INFO("prompt store: connected to redis %s:%d", ps->host,
		  ps->port);
	return 0;
}

static int drop_connection(struct prompt_store *ps)
{
	int err = ps->c->err == REDIS_ERR_IO && errno == EAGAIN ? -ETIMEDOUT
								: -EIO;

	PLOG_WARN("prompt store: redis %s:%d: %s", ps->host, ps->port,
		  ps->c->errstr);
	redisFree(ps->c);
	ps->c = NULL;
	return err;
}

int prompt_store_get(struct prompt_store *ps, const char *tenant,
		     const char *name, enum offer_law law, uint8_t **audiop,
		     size_t *lenp)
{
	const char *field = law == OFFER_ALAW ? "alaw" : "ulaw";
	char key[PBX_KEY_MAX];
	redisReply *r;
	int err;

	if (!pbx_id_valid(name))
		return -EINVAL;
	err = pbx_key(key, sizeof(key), tenant, "prompt:%s", name);
	if (err)
		return err;
	for (int attempt = 0;; attempt++) {
		bool fresh = !ps->c;

		err = connect_store(ps);
		if (err)
			return err;
		r = redisCommand(ps->c, "HGET %s %s", key, field);
		if (r)
			break;
		err = drop_connection(ps);
		/* A connection idle since the last play may have been closed
		 * by a Redis restart: one retry on a new one tells that
		 * apart from Redis being down. */
		if (fresh || attempt)
			return err;
	}

	switch (r->type) {
	case REDIS_REPLY_NIL:
		err = -ENOENT;
		break;
	case REDIS_REPLY_STRING:
		if (!r->len) {
			err = -ENOENT;
		} else if (r->len > PROMPT_MAX_BYTES) {
			err = -EFBIG;
		} else {
			*audiop = malloc(r->len);
			if (!*audiop) {
				err = -ENOMEM;
				break;
			}
			memcpy(*audiop, r->str, r->len);
			*lenp = r->len;
		}
		break;
	default:
		/* WRONGTYPE and friends: the store is corrupt, not down. */
		PLOG_WARN("prompt store: HGET %s %s: unexpected reply type "
			  "%d%s%s",
			  key, field, r->type,
			  r->type == REDIS_REPLY_ERROR ? ": " : "",
			  r->type == REDIS_REPLY_ERROR ? r->str : "");
		err = -EPROTO;
		break;
	}
	freeReplyObject(r);
	return err;
}
