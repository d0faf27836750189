/* What every service's main() does alike: the Redis items of its config
 * table, the start-up checks (log level, Redis credentials) and the loop
 * that runs until SIGINT or SIGTERM. (The queue-manager uses it; the older
 * services still spell the same steps out.) */
#ifndef PBX_SERVICE_H
#define PBX_SERVICE_H
#include "pbx_config.h"
#include "pbx_metrics.h"
#include "pbx_redis.h"

struct event_base;
struct pbx_bus;

/* A service's Redis settings, filled by PBX_SERVICE_REDIS_ITEMS; cred by
 * pbx_service_start(). */
struct pbx_service_redis {
	char host[PBX_CFG_STRLEN];
	long port;
	char user[PBX_CFG_STRLEN];
	char password[PBX_CFG_STRLEN];
	char password_file[PBX_CFG_STRLEN];
	struct pbx_redis_cred cred;
};

/* The five config items (docs/security.md, "Redis") and the Sentinel
 * ones (docs/operations.md, "Redis Sentinel"), for a table. */
#define PBX_SERVICE_REDIS_ITEMS(r)                                            \
	{"redis_host", PBX_CFG_STR, (r).host, "127.0.0.1", 0, 0,              \
	 "Redis host"},                                                       \
		{"redis_port", PBX_CFG_INT, &(r).port, "6390", 1, 65535,      \
		 "Redis port"},                                               \
		{"redis_user", PBX_CFG_STR, (r).user, "", 0, 0,               \
		 "Redis ACL user (empty: default)"},                          \
		{"redis_password", PBX_CFG_SECRET, (r).password, "", 0, 0,    \
		 "Redis password (prefer redis_password_file)"},              \
		{"redis_password_file", PBX_CFG_STR, (r).password_file, "",   \
		 0, 0, "file whose first line is the Redis password"},        \
		PBX_REDIS_SENTINEL_ITEMS

/* Once the table is loaded: logging as `service` at log_level, the Redis
 * credentials loaded (the password item wiped) and checked against Redis
 * (an unreachable Redis is not an error: services reconnect). Returns 0,
 * or the exit code main() returns: 2 for a bad setting (printed), 1 for
 * credentials Redis refused (logged with its reason). */
int pbx_service_start(const char *service, const char *log_level,
		      struct pbx_service_redis *r);

/* The start-up of a bus client of the routers (queue-manager,
 * crm-connector): its id (config item id_key, also the name of its CURVE
 * key) must be an id, a secret key needs the routers' public key; then
 * pbx_service_start, and a warning for a plaintext bus. Returns 0 or the
 * exit code main() returns (2 bad setting, 1 refused credentials). */
int pbx_service_client_start(const char *service, const char *id_key,
			     const char *id, const char *secret_file,
			     const char *server_public_file,
			     const char *log_level,
			     struct pbx_service_redis *r);

/* A bus client's object (queue-manager, crm-connector): made on the
 * loop and zmq context pbx_service_client_run() creates, freed before
 * them. */
struct pbx_service_obj {
	int (*alloc)(void **objp, struct event_base *base, void *zctx,
		     const void *cfg);
	void (*free)(void *obj);
	/* Its metrics endpoint: the service's name, mc's settings, and
	 * metrics() adding its tables and health to m. */
	const char *service;
	const struct pbx_metrics_config *mc;
	int (*metrics)(void *obj, struct pbx_metrics *m);
};

/* After pbx_service_client_start(): the loop and the zmq context, the
 * object (an error is logged), its metrics endpoint, `banner` logged, the
 * loop until SIGINT or SIGTERM, then everything freed in reverse. Returns
 * main()'s exit code (0; 1 when nothing could start; 2 for a bad metrics
 * setting). */
int pbx_service_client_run(const struct pbx_service_obj *ops, const void *cfg,
			   const char *banner);

/* The service's metrics endpoint on base (pbx_metrics.h): the registry
 * with mc's token, served at mc->listen. Returns 0 with *mp set, or the
 * exit code main() returns (2: a bad setting, printed; 1: cannot listen,
 * logged). */
int pbx_service_metrics(struct pbx_metrics **mp, const char *service,
			const struct pbx_metrics_config *mc,
			struct event_base *base);

/* The health rule of a service on the async Redis connection and a bus
 * to the routers (bus NULL: none): 0, or -ENOTCONN with *why "redis not
 * connected" / "no router connected" (pbx_metrics_health_h's contract). */
int pbx_service_health(struct pbx_redis *redis, struct pbx_bus *bus,
		       const char **why);

/* Runs base until SIGINT or SIGTERM. */
void pbx_service_run(struct event_base *base);

#endif
