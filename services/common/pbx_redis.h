/* Redis connections: a blocking one with timeouts (tools, provisioning) and
 * an asynchronous one on libevent that reconnects by itself (routers);
 * both find the primary through Redis Sentinel when the process is
 * configured with sentinels (docs/operations.md, "Redis Sentinel"). */
#ifndef PBX_REDIS_H
#define PBX_REDIS_H
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>

struct event_base;
struct pbx_redis;

/* Sentinel (every service's config items redis_sentinels, redis_master,
 * redis_sentinel_password_file; PBX_REDIS_SENTINEL_ITEMS in its table).
 * With sentinels set, every connection of the process asks them for the
 * primary of redis_master at each (re)connect, and the host and port given
 * to the functions below are not used; a server that answers ROLE with
 * anything but "master" (a demoted primary) is not taken. Empty: the host
 * and port are used as they are. */
extern char pbx_redis_sentinels_value[256];
extern char pbx_redis_master_value[256];
extern char pbx_redis_sentinel_pass_file_value[256];
#define PBX_REDIS_SENTINEL_ITEMS                                              \
	{"redis_sentinels", PBX_CFG_STR, pbx_redis_sentinels_value, "", 0, 0, \
	 "Redis Sentinels host:port,... (empty: redis_host is the primary)"}, \
		{"redis_master", PBX_CFG_STR, pbx_redis_master_value, "pbx",  \
		 0, 0, "the Sentinels' name of the primary"},                 \
		{"redis_sentinel_password_file", PBX_CFG_STR,                 \
		 pbx_redis_sentinel_pass_file_value, "", 0, 0,                \
		 "file whose first line is the Sentinels' requirepass"}

/* True when sentinels are configured. */
bool pbx_redis_sentinel_on(void);

/* The error reply of a server that is no longer the primary (READONLY
 * from a demoted primary, MASTERDOWN): the caller drops the connection
 * so the next one asks the Sentinels again. */
bool pbx_redis_reply_stale(const redisReply *reply);

/* Who a service is to Redis (an ACL user, docs/security.md). An empty
 * password sends no AUTH; an empty user with a password authenticates as
 * Redis's "default" user. Owned by the caller, copied by the functions
 * below; never logged. */
struct pbx_redis_cred {
	char user[128];
	char password[256];
};

/* Fills *cred from a service's three config values: the password comes
 * from password, else from the first line of password_file (either may
 * be ""). Returns 0, or -ENOENT / -EACCES / -EINVAL with the file and the
 * reason printed to stderr (start-up stops there). */
int pbx_redis_cred_load(struct pbx_redis_cred *cred, const char *user,
			const char *password, const char *password_file);

/* Blocking connection; every command times out after timeout_ms; AUTH
 * with cred (may be NULL) before it is returned. Returns NULL (logged)
 * when Redis cannot be reached or refuses the credentials. Free with
 * redisFree(). */
redisContext *pbx_redis_connect(const char *host, int port,
				const struct pbx_redis_cred *cred,
				int timeout_ms);

/* Start-up check of the credentials: 0 when Redis accepted them or could
 * not be reached (services start without Redis), -EACCES (logged, with
 * Redis's reason) when it refused them, -EINVAL (printed) for a bad
 * Sentinel setting. */
int pbx_redis_check(const char *host, int port,
		    const struct pbx_redis_cred *cred);

/* Asynchronous connection owned by *rp; reconnects every 500 ms while down
 * (every 5 s while Redis refuses the credentials, logged each time). The
 * connection counts as up only once AUTH succeeded. Sets *rp only on
 * success (the first connect may still be in progress). */
int pbx_redis_alloc(struct pbx_redis **rp, struct event_base *base,
		    const char *host, int port,
		    const struct pbx_redis_cred *cred);
void pbx_redis_free(struct pbx_redis *r);

/* The live context, or NULL while disconnected: callers fail the call
 * step at once instead of queueing work for a dead server. */
redisAsyncContext *pbx_redis_ctx(struct pbx_redis *r);

/* Connection failures, refused AUTHs and lost connections of every
 * connection of this process, blocking or asynchronous (a metric of every
 * service). */
extern unsigned long pbx_redis_errors;

#endif
