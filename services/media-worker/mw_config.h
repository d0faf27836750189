/* media-worker configuration: the one declarative table (mw_config.c) that
 * docs/services/media-worker.md mirrors. */
#ifndef MW_CONFIG_H
#define MW_CONFIG_H
#include "pbx_config.h"
#include "pbx_metrics.h"
#include "pbx_redis.h"

struct mw_config {
	struct pbx_metrics_config metrics;
	char worker_id[PBX_CFG_STRLEN];
	char sip_listen[PBX_CFG_STRLEN];
	char edge_addr[PBX_CFG_STRLEN];
	char edge_transport[PBX_CFG_STRLEN];
	char router_endpoints[PBX_CFG_STRLEN];
	char redis_host[PBX_CFG_STRLEN];
	long redis_port;
	char redis_user[PBX_CFG_STRLEN];
	char redis_password[PBX_CFG_STRLEN];
	char redis_password_file[PBX_CFG_STRLEN];
	struct pbx_redis_cred redis_cred; /* from the three above */
	char rtp_ip[PBX_CFG_STRLEN];
	long rtp_port_min;
	long rtp_port_max;
	long rtp_port_block; /* >0: a block of this many from the pool */
	long capacity;
	long heartbeat_ms;
	char edge_uri[PBX_CFG_STRLEN];
	char ringback[PBX_CFG_STRLEN];
	long ring_timeout_max_ms;
	long rtp_timeout_ms;
	long prompt_cache_bytes;
	long prompt_recheck_ms;
	char media_root[PBX_CFG_STRLEN];
	long vm_min_ms;
	long vm_silence_ms;
	long overload_lag_ms;
	char log_level[PBX_CFG_STRLEN];
	char curve_secret_file[PBX_CFG_STRLEN];
	char curve_server_public_file[PBX_CFG_STRLEN];
	/* Voice assistant (worker_asr.c): asr-bridges as name@endpoint. */
	char asr_bridges[PBX_CFG_STRLEN];
	char asr_public_dir[PBX_CFG_STRLEN];
	long asr_ping_ms;
	long asr_max_utterance_ms;
	long asr_grace_ms;
};

/* Fills cfg from defaults, --config file, PBX_* environment and --set, then
 * checks what one item's bounds cannot (worker_id is an id, ports are in
 * order, addresses parse, log_level is known). Returns 0 to run, 1 to exit
 * successfully (--help, --print-config), -EINVAL (printed) to fail. */
int mw_config_load(struct mw_config *cfg, int argc, char **argv);

#endif
