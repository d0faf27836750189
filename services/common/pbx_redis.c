/* Redis connections: blocking with timeouts, and async on libevent with
 * automatic reconnect. Owns the async context and the reconnect timer. */
#include <errno.h>
#include <stdbool.h>
#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "pbx_log.h"
#include "pbx_redis.h"

struct pbx_redis {
	struct event_base *base;
	char host[256];
	int port;
	redisAsyncContext *ac;   /* NULL while down */
	bool connected;
	struct event *retry;
};

redisContext *pbx_redis_connect(const char *host, int port, int timeout_ms)
{
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	redisContext *c = redisConnectWithTimeout(host, port, tv);

	if (!c || c->err) {
		PLOG_ERR("redis %s:%d: %s", host, port,
			 c ? c->errstr : "out of memory");
		if (c)
			redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, tv);
	return c;
}

static void schedule_retry(struct pbx_redis *r)
{
	struct timeval tv = {0, 500000};

	evtimer_add(r->retry, &tv);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct pbx_redis *r = ac->data;

	if (status != REDIS_OK) {
		/* hiredis frees the context after this callback. */
		PLOG_WARN("redis %s:%d: connect failed: %s", r->host, r->port,
			  ac->errstr);
		r->ac = NULL;
		schedule_retry(r);
		return;
	}
	r->connected = true;
	PLOG_INFO("redis %s:%d: connected", r->host, r->port);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct pbx_redis *r = ac->data;

	if (!r)
		return; /* freed on purpose */
	PLOG_WARN("redis %s:%d: disconnected (%s)", r->host, r->port,
		  status == REDIS_OK ? "closed" : ac->errstr);
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
		redisAsyncFree(ac);
		return -ECONNREFUSED;
	}
	ac->data = r;
	redisLibeventAttach(ac, r->base);
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	r->ac = ac;
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
		    const char *host, int port)
{
	struct pbx_redis *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->base = base;
	snprintf(r->host, sizeof(r->host), "%s", host);
	r->port = port;
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
	free(r);
}

redisAsyncContext *pbx_redis_ctx(struct pbx_redis *r)
{
	return r && r->connected ? r->ac : NULL;
}
