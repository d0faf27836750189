/* Redis connections: a blocking one with timeouts (tools, provisioning) and
 * an asynchronous one on libevent that reconnects by itself (routers);
 * both find the primary through Redis Sentinel when the process is
 * configured with sentinels (docs/operations.md, "Redis Sentinel"). */
#ifndef PBX_REDIS_H
#define PBX_REDIS_H
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
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
		 "file whose first line is the Sentinels' requirepass"},      \
		{"redis_cluster", PBX_CFG_BOOL, &pbx_redis_cluster_value,     \
		 "false", 0, 0,                                               \
		 "Redis Cluster: route each command to its slot's primary"}, \
		{"redis_nodes", PBX_CFG_STR, pbx_redis_nodes_value, "", 0, 0, \
		 "Cluster seed nodes host:port,... (empty: redis_host)"}

/* Redis Cluster (items redis_cluster, redis_nodes; the same table
 * macro): every connection keeps one connection per primary, learns the
 * slot map with CLUSTER SLOTS from a seed (redis_nodes, else the host
 * and port given below), sends each command to the primary of its
 * key's slot (CRC16 of the hash tag), follows MOVED and ASK and
 * refreshes the map when a node goes. Off: one connection, as without. */
extern bool pbx_redis_cluster_value;
extern char pbx_redis_nodes_value[256];

/* The slot of a key as Redis Cluster computes it: CRC16 (XMODEM) of the
 * hash tag (the bytes between the first '{' and the next '}' when not
 * empty), else of the whole key, modulo 16384. */
unsigned pbx_redis_key_slot(const char *key, size_t len);

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
 * step at once instead of queueing work for a dead server. In Cluster
 * mode: a context of a connected primary once the slot map is known
 * (the commands below route by key whichever context they are given). */
redisAsyncContext *pbx_redis_ctx(struct pbx_redis *r);

/* Every command of a service goes through these instead of hiredis's
 * redisAsyncCommand / redisvAsyncCommand / redisAsyncCommandArgv /
 * redisAsyncFormattedCommand, with the same arguments and results. ac is
 * a context of a struct pbx_redis (from pbx_redis_ctx(), or the one a
 * callback got). Without Cluster they are hiredis's call (one check);
 * with it the command goes to the primary of its first key's slot (a
 * keyless one to any primary, SCRIPT to all), MOVED and ASK are
 * followed (at most 4 times) and the callback gets the final reply and
 * that node's context. A transaction (MULTI/EXEC) is not supported on
 * the asynchronous connection (no service sends one). */
int pbx_redis_acmd(redisAsyncContext *ac, redisCallbackFn *fn, void *priv,
		   const char *fmt, ...);
int pbx_redis_vacmd(redisAsyncContext *ac, redisCallbackFn *fn, void *priv,
		    const char *fmt, va_list ap);
int pbx_redis_acmd_argv(redisAsyncContext *ac, redisCallbackFn *fn,
			void *priv, int argc, const char **argv,
			const size_t *argvlen);
int pbx_redis_acmd_formatted(redisAsyncContext *ac, redisCallbackFn *fn,
			     void *priv, const char *cmd, size_t len);

/* Writes what every connection of r has buffered (after a batch). */
void pbx_redis_flush(struct pbx_redis *r);

/* The blocking connection's commands, in place of redisCommand,
 * redisvCommand and redisCommandArgv, and pbx_redis_close in place of
 * redisFree. In Cluster mode the context from pbx_redis_connect() is a
 * handle: each command goes to its slot's primary (over a connection of
 * the handle's own), MULTI waits for the first command's key to pick
 * the node EXEC then goes to, WAIT goes where the last write went;
 * a node's I/O error is copied into the handle's err/errstr (the caller
 * drops the handle and reconnects: the map is learnt again). */
void *pbx_redis_cmd(redisContext *c, const char *fmt, ...);
void *pbx_redis_vcmd(redisContext *c, const char *fmt, va_list ap);
void *pbx_redis_cmd_argv(redisContext *c, int argc, const char **argv,
			 const size_t *argvlen);
void pbx_redis_close(redisContext *c);

/* Connection failures, refused AUTHs and lost connections of every
 * connection of this process, blocking or asynchronous (a metric of every
 * service). */
extern unsigned long pbx_redis_errors;

#endif
