/* Provisioning storage: the one blocking hiredis connection and the typed
 * command helpers. Blocking is deliberate: provisioning is a low-rate admin
 * API, each request is a handful of commands with a 2 s timeout, and
 * straight-line code keeps every multi-step write easy to make idempotent.
 * Any failure drops the connection; the next command reconnects. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pbx_log.h"
#include "pbx_redis.h"
#include "prov.h"

#define STORE_TIMEOUT_MS 2000

/* Compare-and-delete in one step, so an index entry that another tenant
 * claimed in between is never removed. One key: Cluster-safe. */
static const char del_if_lua[] =
	"if redis.call('GET', KEYS[1]) == ARGV[1] then "
	"return redis.call('DEL', KEYS[1]) end return 0";

/* Commands provisioning sends that write nothing: after only these a
 * request needs no WAIT. Anything not listed counts as a write. */
static const char *const read_cmds[] = {
	"EXISTS", "GET", "HEXISTS", "HGET", "HGETALL", "HKEYS", "HLEN",
	"HMGET", "LRANGE", "SCAN", "SCARD", "SISMEMBER", "SMEMBERS",
	"XRANGE", "XREVRANGE", "ZCARD", "ZRANGE", "ZSCORE", "TTL", "TYPE",
};

/* Marks the connection written unless the command (its first len bytes,
 * any case) is a read. */
static void note_write(struct provision *pv, const char *cmd, size_t len)
{
	for (size_t i = 0; i < sizeof(read_cmds) / sizeof(*read_cmds); i++)
		if (strlen(read_cmds[i]) == len &&
		    !strncasecmp(read_cmds[i], cmd, len))
			return;
	pv->wrote = true;
}

int prov_store_connect(struct provision *pv)
{
	if (pv->rc)
		return 0;
	pv->rc = pbx_redis_connect(pv->redis_host, pv->redis_port, &pv->cred,
				   STORE_TIMEOUT_MS);
	if (!pv->rc)
		return -EIO;
	/* Where it went: with Sentinels, not redis_host. */
	snprintf(pv->at, sizeof(pv->at), "%s:%d",
		 pv->rc->tcp.host ? pv->rc->tcp.host : pv->redis_host,
		 pv->rc->tcp.host ? pv->rc->tcp.port : pv->redis_port);
	PLOG_INFO("redis %s: connected", pv->at);
	/* Migrations before the first request is served; a failed one is
	 * tried again on the next connection. */
	if (!pv->migrated && !pv->migrating) {
		pv->migrating = true;
		if (!prov_migrate_numbers(pv))
			pv->migrated = true;
		else
			PLOG_ERR("number migration did not finish; retried "
				 "on the next connection");
		pv->migrating = false;
	}
	return 0;
}

static void drop(struct provision *pv, const char *why)
{
	PLOG_ERR("redis %s: %s; reconnecting on the next request", pv->at,
		 why);
	pbx_redis_close(pv->rc);
	pv->rc = NULL;
}

/* Takes ownership of the reply hiredis returned for one command. */
static int check_reply(struct provision *pv, redisReply *reply,
		       redisReply **rp)
{
	if (!reply) {
		drop(pv, pv->rc->errstr[0] ? pv->rc->errstr : "no reply");
		return -EIO;
	}
	if (pbx_redis_reply_stale(reply)) {
		/* A primary demoted by a failover: ask the Sentinels again. */
		drop(pv, reply->str);
		freeReplyObject(reply);
		return -EIO;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		/* A server-side error (OOM, LOADING, WRONGTYPE) is not a
		 * dead link: keep the connection. */
		PLOG_ERR("redis %s: %s", pv->at,
			 reply->str ? reply->str : "error");
		freeReplyObject(reply);
		return -EIO;
	}
	if (rp)
		*rp = reply;
	else
		freeReplyObject(reply);
	return 0;
}

int prov_store_wait(struct provision *pv)
{
	redisReply *reply = NULL;
	int err;

	if (!pv->wait_replicas || !pv->wrote)
		return 0;
	pv->wrote = false;
	if (!pv->rc)
		return -EAGAIN; /* the link went after the write */
	err = check_reply(pv, pbx_redis_cmd(pv->rc, "WAIT %d %d",
					   pv->wait_replicas,
					   pv->wait_timeout_ms),
			  &reply);
	if (err)
		return -EAGAIN;
	if (reply->type != REDIS_REPLY_INTEGER ||
	    reply->integer < pv->wait_replicas) {
		PLOG_ERR("redis %s: a write reached %lld of %d replicas "
			 "within %d ms: not acknowledged",
			 pv->at,
			 reply->type == REDIS_REPLY_INTEGER ? reply->integer
							     : -1LL,
			 pv->wait_replicas, pv->wait_timeout_ms);
		err = -EAGAIN;
	}
	freeReplyObject(reply);
	return err;
}

int prov_store_vcmd(struct provision *pv, redisReply **rp, const char *fmt,
		    va_list ap)
{
	int err = prov_store_connect(pv);

	if (err)
		return err;
	note_write(pv, fmt, strcspn(fmt, " "));
	return check_reply(pv, pbx_redis_vcmd(pv->rc, fmt, ap), rp);
}

int prov_store_cmd(struct provision *pv, redisReply **rp, const char *fmt,
		   ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = prov_store_vcmd(pv, rp, fmt, ap);
	va_end(ap);
	return err;
}

int prov_store_argv(struct provision *pv, redisReply **rp, int argc,
		    const char **argv, const size_t *argvlen)
{
	int err = prov_store_connect(pv);

	if (err)
		return err;
	if (argc > 0)
		note_write(pv, argv[0],
			   argvlen ? argvlen[0] : strlen(argv[0]));
	return check_reply(pv, pbx_redis_cmd_argv(pv->rc, argc, argv, argvlen),
			   rp);
}

int prov_store_do(struct provision *pv, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = prov_store_vcmd(pv, NULL, fmt, ap);
	va_end(ap);
	return err;
}

int prov_store_int(struct provision *pv, long long *v, const char *fmt, ...)
{
	redisReply *reply = NULL;
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = prov_store_vcmd(pv, &reply, fmt, ap);
	va_end(ap);
	if (err)
		return err;
	switch (reply->type) {
	case REDIS_REPLY_INTEGER:
		*v = reply->integer;
		break;
	case REDIS_REPLY_NIL:
		*v = 0;
		break;
	case REDIS_REPLY_STRING:
		*v = strtoll(reply->str, NULL, 10);
		break;
	default:
		err = -EIO;
	}
	freeReplyObject(reply);
	return err;
}

int prov_store_str(struct provision *pv, char **sp, const char *fmt, ...)
{
	redisReply *reply = NULL;
	va_list ap;
	int err;

	*sp = NULL;
	va_start(ap, fmt);
	err = prov_store_vcmd(pv, &reply, fmt, ap);
	va_end(ap);
	if (err)
		return err;
	if (reply->type == REDIS_REPLY_STRING ||
	    reply->type == REDIS_REPLY_STATUS) {
		*sp = strndup(reply->str, reply->len);
		if (!*sp)
			err = -ENOMEM;
	} else if (reply->type != REDIS_REPLY_NIL) {
		err = -EIO;
	}
	freeReplyObject(reply);
	return err;
}

int prov_store_list(struct provision *pv, struct prov_strv *sv,
		    const char *fmt, ...)
{
	redisReply *reply = NULL;
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = prov_store_vcmd(pv, &reply, fmt, ap);
	va_end(ap);
	if (err)
		return err;
	if (reply->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(reply);
		return -EIO;
	}
	for (size_t i = 0; i < reply->elements && !err; i++) {
		const redisReply *e = reply->element[i];

		if (e->type == REDIS_REPLY_STRING)
			err = prov_strv_add(sv, "%.*s", (int)e->len, e->str);
	}
	freeReplyObject(reply);
	prov_strv_sort(sv);
	return err;
}

int prov_store_del_if(struct provision *pv, const char *key,
		      const char *value)
{
	return prov_store_do(pv, "EVAL %s 1 %s %s", del_if_lua, key, value);
}

int prov_store_set_nx(struct provision *pv, const char *key,
		      const char *value, bool *set)
{
	char *ok = NULL;
	int err = prov_store_str(pv, &ok, "SET %s %s NX", key, value);

	*set = !err && ok != NULL; /* nil when the key existed */
	free(ok);
	return err;
}

int prov_store_scan(struct provision *pv, const char *match, int batch,
		    prov_scan_h *h, void *arg)
{
	char cursor[32] = "0";
	int err = 0;

	do {
		redisReply *rep = NULL;

		err = prov_store_cmd(pv, &rep, "SCAN %s MATCH %s COUNT %d",
				     cursor, match, batch);
		if (err)
			return err;
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    rep->element[0]->type != REDIS_REPLY_STRING ||
		    rep->element[1]->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(rep);
			return -EIO;
		}
		snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
		if (rep->element[1]->elements)
			err = h(pv, rep->element[1], arg);
		freeReplyObject(rep);
	} while (!err && strcmp(cursor, "0"));
	return err;
}
