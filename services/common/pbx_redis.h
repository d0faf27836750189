/* Redis connections: a blocking one with timeouts (tools, provisioning) and
 * an asynchronous one on libevent that reconnects by itself (routers). */
#ifndef PBX_REDIS_H
#define PBX_REDIS_H
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

struct event_base;
struct pbx_redis;

/* Blocking connection; every command times out after timeout_ms. Returns
 * NULL (logged) when Redis cannot be reached. Free with redisFree(). */
redisContext *pbx_redis_connect(const char *host, int port, int timeout_ms);

/* Asynchronous connection owned by *rp; reconnects every 500 ms while down.
 * Sets *rp only on success (the first connect may still be in progress). */
int pbx_redis_alloc(struct pbx_redis **rp, struct event_base *base,
		    const char *host, int port);
void pbx_redis_free(struct pbx_redis *r);

/* The live context, or NULL while disconnected: callers fail the call
 * step at once instead of queueing work for a dead server. */
redisAsyncContext *pbx_redis_ctx(struct pbx_redis *r);

#endif
