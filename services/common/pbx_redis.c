/* Redis connections: blocking with timeouts, and async on libevent with
 * automatic reconnect; both authenticate as the service's ACL user. Owns
 * the async context and the reconnect timer. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "pbx_log.h"
#include "pbx_redis.h"

/* A refused AUTH is a configuration error, not an outage: retried, but
 * slowly, so the log says it every 5 s instead of twice a second. */
#define RETRY_MS 500
#define RETRY_AUTH_MS 5000

struct pbx_redis {
	struct event_base *base;
	char host[256];
	int port;
	struct pbx_redis_cred cred;
	redisAsyncContext *ac;   /* NULL while down */
	bool connected;          /* connected and authenticated */
	bool auth_refused;       /* the last AUTH failed: retry slowly */
	struct event *retry;
};

int pbx_redis_cred_load(struct pbx_redis_cred *cred, const char *user,
			const char *password, const char *password_file)
{
	char line[sizeof(cred->password) + 2];
	size_t len;
	FILE *f;

	memset(cred, 0, sizeof(*cred));
	if (strlen(user) >= sizeof(cred->user)) {
		fprintf(stderr, "config: redis_user: too long\n");
		return -EINVAL;
	}
	snprintf(cred->user, sizeof(cred->user), "%s", user);
	if (*password || !*password_file) {
		if (strlen(password) >= sizeof(cred->password)) {
			fprintf(stderr, "config: redis_password: too long\n");
			return -EINVAL;
		}
		snprintf(cred->password, sizeof(cred->password), "%s",
			 password);
		return 0;
	}
	f = fopen(password_file, "r");
	if (!f) {
		int err = errno;

		fprintf(stderr, "config: redis_password_file: cannot open "
				"%s: %s\n",
			password_file, strerror(err));
		return err == ENOENT ? -ENOENT : -EACCES;
	}
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	len = strlen(line);
	while (len && isspace((unsigned char)line[len - 1]))
		line[--len] = '\0';
	if (!len || len >= sizeof(cred->password)) {
		fprintf(stderr, "config: redis_password_file: %s: %s\n",
			password_file,
			len ? "first line too long" : "empty first line");
		memset(line, 0, sizeof(line));
		return -EINVAL;
	}
	memcpy(cred->password, line, len + 1);
	memset(line, 0, sizeof(line));
	return 0;
}

static const char *cred_user(const struct pbx_redis_cred *cred)
{
	return cred->user[0] ? cred->user : "default";
}

unsigned long pbx_redis_errors;

/* AUTH on a fresh blocking connection. Returns 0, -EACCES (refused,
 * logged with Redis's reason) or -EIO (no answer, logged). */
static int auth_sync(redisContext *c, const char *host, int port,
		     const struct pbx_redis_cred *cred)
{
	redisReply *reply;
	int err = 0;

	if (!cred || !cred->password[0])
		return 0;
	if (cred->user[0])
		reply = redisCommand(c, "AUTH %s %s", cred->user,
				     cred->password);
	else
		reply = redisCommand(c, "AUTH %s", cred->password);
	if (!reply) {
		PLOG_ERR("redis %s:%d: AUTH as '%s': %s", host, port,
			 cred_user(cred), c->errstr);
		return -EIO;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		PLOG_ERR("redis %s:%d: Redis refused user '%s': %s (check "
			 "redis_user and redis_password_file)",
			 host, port, cred_user(cred), reply->str);
		err = -EACCES;
	}
	freeReplyObject(reply);
	return err;
}

static redisContext *connect_sync(const char *host, int port,
				  const struct pbx_redis_cred *cred,
				  int timeout_ms, int *errp)
{
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	redisContext *c = redisConnectWithTimeout(host, port, tv);

	if (!c || c->err) {
		PLOG_ERR("redis %s:%d: %s", host, port,
			 c ? c->errstr : "out of memory");
		if (c)
			redisFree(c);
		pbx_redis_errors++;
		*errp = -ECONNREFUSED;
		return NULL;
	}
	redisSetTimeout(c, tv);
	*errp = auth_sync(c, host, port, cred);
	if (*errp) {
		pbx_redis_errors++;
		redisFree(c);
		return NULL;
	}
	return c;
}

redisContext *pbx_redis_connect(const char *host, int port,
				const struct pbx_redis_cred *cred,
				int timeout_ms)
{
	int err;

	return connect_sync(host, port, cred, timeout_ms, &err);
}

int pbx_redis_check(const char *host, int port,
		    const struct pbx_redis_cred *cred)
{
	int err;
	redisContext *c = connect_sync(host, port, cred, 1000, &err);

	if (c)
		redisFree(c);
	return err == -EACCES ? -EACCES : 0;
}

static void schedule_retry(struct pbx_redis *r)
{
	int ms = r->auth_refused ? RETRY_AUTH_MS : RETRY_MS;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	evtimer_add(r->retry, &tv);
}

static void on_auth(redisAsyncContext *ac, void *reply, void *arg)
{
	struct pbx_redis *r = arg;
	redisReply *rep = reply;

	if (!ac->data)
		return; /* freed on purpose */
	if (!rep) /* the link went: on_disconnect retries */
		return;
	if (rep->type == REDIS_REPLY_ERROR) {
		PLOG_ERR("redis %s:%d: Redis refused user '%s': %s (check "
			 "redis_user and redis_password_file); retrying in "
			 "%d s",
			 r->host, r->port, cred_user(&r->cred), rep->str,
			 RETRY_AUTH_MS / 1000);
		r->auth_refused = true;
		pbx_redis_errors++;
		/* on_disconnect schedules the retry. */
		redisAsyncDisconnect(r->ac);
		return;
	}
	r->auth_refused = false;
	r->connected = true;
	PLOG_INFO("redis %s:%d: connected as '%s'", r->host, r->port,
		  cred_user(&r->cred));
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct pbx_redis *r = ac->data;

	if (status != REDIS_OK) {
		/* hiredis frees the context after this callback. */
		PLOG_WARN("redis %s:%d: connect failed: %s", r->host, r->port,
			  ac->errstr);
		pbx_redis_errors++;
		r->ac = NULL;
		schedule_retry(r);
		return;
	}
	if (!r->cred.password[0]) {
		r->connected = true;
		PLOG_INFO("redis %s:%d: connected", r->host, r->port);
	}
	/* Else connected once on_auth sees AUTH accepted. */
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct pbx_redis *r = ac->data;

	if (!r)
		return; /* freed on purpose */
	PLOG_WARN("redis %s:%d: disconnected (%s)", r->host, r->port,
		  status == REDIS_OK ? "closed" : ac->errstr);
	if (status != REDIS_OK) /* not our own disconnect */
		pbx_redis_errors++;
	r->ac = NULL;
	r->connected = false;
	schedule_retry(r);
}

static int start_connect(struct pbx_redis *r)
{
	redisAsyncContext *ac = redisAsyncConnect(r->host, r->port);

	if (!ac)
		return -ENOMEM;
	if (ac->err) {
		PLOG_WARN("redis %s:%d: %s", r->host, r->port, ac->errstr);
		pbx_redis_errors++;
		redisAsyncFree(ac);
		return -ECONNREFUSED;
	}
	ac->data = r;
	redisLibeventAttach(ac, r->base);
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	r->ac = ac;
	/* Queued before anything else, so no command of ours can run
	 * unauthenticated. */
	if (r->cred.password[0]) {
		int rc;

		if (r->cred.user[0])
			rc = redisAsyncCommand(ac, on_auth, r, "AUTH %s %s",
					       r->cred.user,
					       r->cred.password);
		else
			rc = redisAsyncCommand(ac, on_auth, r, "AUTH %s",
					       r->cred.password);
		if (rc != REDIS_OK) {
			r->ac = NULL;
			ac->data = NULL;
			redisAsyncFree(ac);
			return -ENOMEM;
		}
	}
	return 0;
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pbx_redis *r = arg;

	(void)fd;
	(void)what;
	if (!r->ac && start_connect(r))
		schedule_retry(r);
}

int pbx_redis_alloc(struct pbx_redis **rp, struct event_base *base,
		    const char *host, int port,
		    const struct pbx_redis_cred *cred)
{
	struct pbx_redis *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->base = base;
	snprintf(r->host, sizeof(r->host), "%s", host);
	r->port = port;
	if (cred)
		r->cred = *cred;
	r->retry = evtimer_new(base, retry_cb, r);
	if (!r->retry) {
		free(r);
		return -ENOMEM;
	}
	if (start_connect(r))
		schedule_retry(r);
	*rp = r;
	return 0;
}

void pbx_redis_free(struct pbx_redis *r)
{
	if (!r)
		return;
	if (r->ac) {
		redisAsyncContext *ac = r->ac;

		/* Pending callbacks run inside redisAsyncFree with NULL
		 * replies; they must see the connection as down. */
		r->ac = NULL;
		r->connected = false;
		ac->data = NULL;
		redisAsyncFree(ac);
	}
	event_free(r->retry);
	memset(&r->cred, 0, sizeof(r->cred));
	free(r);
}

redisAsyncContext *pbx_redis_ctx(struct pbx_redis *r)
{
	return r && r->connected ? r->ac : NULL;
}
