/* What pbx_redis.c and pbx_redis_cluster.c share: the asynchronous
 * connection object and the Cluster entry points. Not for services. */
#ifndef PBX_REDIS_PRIV_H
#define PBX_REDIS_PRIV_H
#include "pbx_redis.h"

/* The first member of what a context's data points at: a struct
 * pbx_redis (one server) or a Cluster node of one. */
#define PBX_REDIS_KIND_ONE 1
#define PBX_REDIS_KIND_NODE 2

struct pbx_redis_cluster;

struct pbx_redis {
	int kind;                /* PBX_REDIS_KIND_ONE */
	struct event_base *base;
	char host[256];
	int port;
	struct pbx_redis_cred cred;
	redisAsyncContext *ac;   /* NULL while down */
	bool connected;          /* connected and authenticated */
	bool auth_refused;       /* the last AUTH failed: retry slowly */
	struct event *retry;
	struct pbx_redis_cluster *cl; /* Cluster mode: owned; else NULL */
};

/* "host:port" or "[v6]:port" (len bytes of item) into host/port: 0 or
 * -EINVAL. */
int pbx_redis_addr_parse(const char *item, size_t len, char *host,
			 size_t hsize, int *port);

/* A blocking connection to one server, authenticated (Sentinel not
 * asked). NULL with *errp set (logged). */
redisContext *pbx_redis_connect_one(const char *host, int port,
				    const struct pbx_redis_cred *cred,
				    int timeout_ms, int *errp);

/* Cluster mode of struct pbx_redis (pbx_redis_cluster.c). */
int pbx_redis_cluster_alloc(struct pbx_redis *r);
void pbx_redis_cluster_free(struct pbx_redis *r);
redisAsyncContext *pbx_redis_cluster_ctx(struct pbx_redis *r);
void pbx_redis_cluster_flush(struct pbx_redis *r);
/* Sends a formatted command (taken over: freed here) by its key. */
int pbx_redis_cluster_send(redisAsyncContext *ac, redisCallbackFn *fn,
			   void *priv, char *cmd, size_t len);

/* Cluster mode of the blocking connection: a handle (see pbx_redis.h). */
redisContext *pbx_redis_cluster_connect(const char *host, int port,
					const struct pbx_redis_cred *cred,
					int timeout_ms, int *errp);
/* NULL when c is no Cluster handle (the caller sends it to c). */
bool pbx_redis_cluster_handle(redisContext *c);
void *pbx_redis_cluster_cmd(redisContext *c, const char *cmd, size_t len);
void pbx_redis_cluster_close(redisContext *c);
/* Parses redis_nodes once: 0 or -EINVAL (printed). */
int pbx_redis_cluster_setup(void);

#endif
