/* Prompt store: blocking hiredis reads of prompt versions and audio, with
 * reconnect. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <re.h>

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
	struct pbx_redis_cred cred;
	int timeout_ms;
	redisContext *c;      /* NULL while down */
	uint64_t next_try_ms; /* no reconnect before this (monotonic) */
};

int prompt_store_alloc(struct prompt_store **psp, const char *host, int port,
		       const struct pbx_redis_cred *cred, int timeout_ms)
{
	struct prompt_store *ps;

	if (!psp || !host)
		return -EINVAL;
	ps = calloc(1, sizeof(*ps));
	if (!ps)
		return -ENOMEM;
	snprintf(ps->host, sizeof(ps->host), "%s", host);
	ps->port = port;
	if (cred)
		ps->cred = *cred;
	ps->timeout_ms = timeout_ms;
	*psp = ps;
	return 0;
}

void prompt_store_free(struct prompt_store *ps)
{
	if (!ps)
		return;
	if (ps->c)
		pbx_redis_close(ps->c);
	memset(&ps->cred, 0, sizeof(ps->cred));
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
	ps->c = pbx_redis_connect(ps->host, ps->port, &ps->cred,
				  ps->timeout_ms);
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
	pbx_redis_close(ps->c);
	ps->c = NULL;
	return err;
}

/* Runs one command, retrying once on a fresh connection. *rp is the
 * reply (freeReplyObject) on 0. */
int prompt_store_vcommand(struct prompt_store *ps, redisReply **rp,
			  const char *fmt, va_list ap0)
{
	va_list ap;
	int err;

	for (int attempt = 0;; attempt++) {
		bool fresh = !ps->c;

		err = connect_store(ps);
		if (err)
			return err;
		va_copy(ap, ap0);
		*rp = pbx_redis_vcmd(ps->c, fmt, ap);
		va_end(ap);
		if (*rp)
			return 0;
		err = drop_connection(ps);
		/* A connection idle since the last play may have been closed
		 * by a Redis restart: one retry on a new one tells that
		 * apart from Redis being down. */
		if (fresh || attempt)
			return err;
	}
}

int prompt_store_command(struct prompt_store *ps, redisReply **rp,
			 const char *fmt, ...)
{
	va_list ap;
	int err;

	if (!ps || !rp || !fmt)
		return -EINVAL;
	va_start(ap, fmt);
	err = prompt_store_vcommand(ps, rp, fmt, ap);
	va_end(ap);
	return err;
}

int prompt_store_write(struct prompt_store *ps, const char *fmt, ...)
{
	redisReply *r = NULL;
	va_list ap;
	int err;

	if (!ps || !fmt)
		return -EINVAL;
	va_start(ap, fmt);
	err = prompt_store_vcommand(ps, &r, fmt, ap);
	va_end(ap);
	if (!err && r->type == REDIS_REPLY_ERROR) {
		PLOG_ERR("redis: %s", r->str);
		err = -EPROTO;
	}
	if (r)
		freeReplyObject(r);
	return err;
}

static int unexpected(const char *what, const char *key, const redisReply *r)
{
	/* WRONGTYPE and friends: the store is corrupt, not down. */
	PLOG_WARN("prompt store: %s %s: unexpected reply type %d%s%s", what,
		  key, r->type, r->type == REDIS_REPLY_ERROR ? ": " : "",
		  r->type == REDIS_REPLY_ERROR ? r->str : "");
	return -EPROTO;
}

static int prompt_key(char *key, size_t size, const char *tenant,
		      const char *name)
{
	if (!tenant || !name || !pbx_id_valid(name))
		return -EINVAL;
	return pbx_key(key, size, tenant, "prompt:%s", name);
}

int prompt_store_version(const char *tenant, const char *name, char *version,
			 size_t size, void *arg)
{
	struct prompt_store *ps = arg;
	char key[PBX_KEY_MAX];
	redisReply *r;
	int err;

	err = prompt_key(key, sizeof(key), tenant, name);
	if (!err)
		err = prompt_store_command(ps, &r, "HGET %s uploaded_ms", key);
	if (err)
		return err;
	if (r->type == REDIS_REPLY_NIL) {
		err = -ENOENT;
	} else if (r->type != REDIS_REPLY_STRING) {
		err = unexpected("HGET uploaded_ms", key, r);
	} else if (!r->len || r->len >= size) {
		/* Not comparable: the cache reloads on every play. */
		err = -ENOENT;
	} else {
		memcpy(version, r->str, r->len);
		version[r->len] = '\0';
	}
	freeReplyObject(r);
	return err;
}

/* One law's field of the HMGET reply into *audiop (a libre mem object). */
static int take_audio(const redisReply *f, uint8_t **audiop, size_t *lenp)
{
	if (f->type == REDIS_REPLY_NIL ||
	    (f->type == REDIS_REPLY_STRING && !f->len))
		return 0; /* not in this law */
	if (f->type != REDIS_REPLY_STRING)
		return -EPROTO;
	if (f->len > PROMPT_MAX_BYTES)
		return -EFBIG;
	*audiop = mem_alloc(f->len, NULL);
	if (!*audiop)
		return -ENOMEM;
	memcpy(*audiop, f->str, f->len);
	*lenp = f->len;
	return 0;
}

int prompt_store_load(const char *tenant, const char *name,
		      struct prompt_data *pd, void *arg)
{
	struct prompt_store *ps = arg;
	char key[PBX_KEY_MAX];
	const redisReply *v;
	redisReply *r;
	int err;

	err = prompt_key(key, sizeof(key), tenant, name);
	if (!err)
		err = prompt_store_command(ps, &r, "HMGET %s ulaw alaw uploaded_ms",
				    key);
	if (err)
		return err;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
		err = unexpected("HMGET", key, r);
		freeReplyObject(r);
		return err;
	}
	err = take_audio(r->element[0], &pd->audio[OFFER_ULAW],
			 &pd->len[OFFER_ULAW]);
	if (!err)
		err = take_audio(r->element[1], &pd->audio[OFFER_ALAW],
				 &pd->len[OFFER_ALAW]);
	if (err == -EPROTO)
		PLOG_WARN("prompt store: HMGET %s: audio is not a string",
			  key);
	v = r->element[2];
	if (!err && v->type == REDIS_REPLY_STRING && v->len &&
	    v->len < sizeof(pd->version)) {
		memcpy(pd->version, v->str, v->len);
		pd->version[v->len] = '\0';
	}
	if (!err && !pd->audio[OFFER_ULAW] && !pd->audio[OFFER_ALAW])
		err = -ENOENT;
	freeReplyObject(r);
	return err; /* on error the cache releases what pd holds */
}
