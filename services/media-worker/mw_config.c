/* media-worker configuration table and the checks across its items. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <re.h>

#include "mw_config.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "pbx_redis.h"
#include "ringback.h"

#define CFG_STR(n, def, help)                                                 \
	{#n, PBX_CFG_STR, cfg->n, def, 0, 0, help}
#define CFG_INT(n, def, lo, hi, help)                                         \
	{#n, PBX_CFG_INT, &cfg->n, def, lo, hi, help}

/* The route set libre puts in every ring's INVITE: a plain SIP URI with
 * an IP host (no DNS resolver is configured). */
static bool edge_uri_ok(const char *s)
{
	struct uri u;
	struct pl pl;
	struct sa sa;

	pl_set_str(&pl, s);
	if (uri_decode(&u, &pl) || pl_strcasecmp(&u.scheme, "sip"))
		return false;
	return !sa_set(&sa, &u.host, u.port ? u.port : 5060);
}

static int check(const struct mw_config *cfg)
{
	enum pbx_log_level lvl;
	struct ringback_spec rs;
	struct sa sa;

	if (!pbx_id_valid(cfg->worker_id)) {
		fprintf(stderr, "config: worker_id: '%s' is not an id "
				"(1..64 of A-Z a-z 0-9 _ . -)\n",
			cfg->worker_id);
		return -EINVAL;
	}
	if (sa_decode(&sa, cfg->sip_listen, strlen(cfg->sip_listen)) ||
	    !sa_port(&sa)) {
		fprintf(stderr, "config: sip_listen: '%s' is not ip:port\n",
			cfg->sip_listen);
		return -EINVAL;
	}
	if (sa_set_str(&sa, cfg->edge_addr, 0)) {
		fprintf(stderr, "config: edge_addr: '%s' is not an IP\n",
			cfg->edge_addr);
		return -EINVAL;
	}
	if (strcmp(cfg->edge_transport, "udp") &&
	    strcmp(cfg->edge_transport, "tcp")) {
		fprintf(stderr, "config: edge_transport: '%s' is not udp or "
				"tcp\n",
			cfg->edge_transport);
		return -EINVAL;
	}
	if (sa_set_str(&sa, cfg->rtp_ip, 0) || sa_is_any(&sa)) {
		fprintf(stderr, "config: rtp_ip: '%s' is not a unicast IP "
				"(it goes into the SDP answer)\n",
			cfg->rtp_ip);
		return -EINVAL;
	}
	/* libre's rtp_listen() takes a range (min < max): with one port
	 * every call would be refused (500). */
	if (cfg->rtp_port_min >= cfg->rtp_port_max) {
		fprintf(stderr, "config: rtp_port_min: %ld is not below "
				"rtp_port_max %ld\n",
			cfg->rtp_port_min, cfg->rtp_port_max);
		return -EINVAL;
	}
	if (cfg->rtp_port_block == 1 ||
	    cfg->rtp_port_block > cfg->rtp_port_max - cfg->rtp_port_min + 1) {
		fprintf(stderr, "config: rtp_port_block: %ld is not 0 or 2 "
				"to the pool's %ld ports\n",
			cfg->rtp_port_block,
			cfg->rtp_port_max - cfg->rtp_port_min + 1);
		return -EINVAL;
	}
	if (!edge_uri_ok(cfg->edge_uri)) {
		fprintf(stderr, "config: edge_uri: '%s' is not a SIP URI "
				"(e.g. sip:127.0.0.1:5060;lr)\n",
			cfg->edge_uri);
		return -EINVAL;
	}
	if (ringback_parse(&rs, cfg->ringback)) {
		fprintf(stderr, "config: ringback: '%s' is not "
				"<Hz>[+<Hz>]/<on ms>/<off ms>[/-<dBm0>] "
				"(e.g. 425/1000/4000)\n",
			cfg->ringback);
		return -EINVAL;
	}
	if (cfg->media_root[0] != '/') {
		fprintf(stderr, "config: media_root: '%s' is not an "
				"absolute path\n",
			cfg->media_root);
		return -EINVAL;
	}
	if (!cfg->router_endpoints[0]) {
		fprintf(stderr, "config: router_endpoints: empty\n");
		return -EINVAL;
	}
	if (pbx_log_level_parse(cfg->log_level, &lvl)) {
		fprintf(stderr, "config: log_level: '%s' is not one of error, "
				"warn, info, debug\n",
			cfg->log_level);
		return -EINVAL;
	}
	return 0;
}

int mw_config_load(struct mw_config *cfg, int argc, char **argv)
{
	const struct pbx_config_item items[] = {
		CFG_STR(worker_id, "mw1",
			"this worker's id: bus routing id and Contact user"),
		CFG_STR(sip_listen, "127.0.0.1:5080",
			"SIP ip:port, UDP and TCP (Kamailio relays INVITEs "
			"here)"),
		CFG_STR(edge_addr, "127.0.0.1",
			"the only source IP whose INVITEs are accepted "
			"(Kamailio)"),
		/* tcp: libre keeps no transaction 32 s after a BYE (Timer
		 * J), and a dead worker's refused connection sends the
		 * caller to the fallback worker at once (issue 17). Not
		 * the default yet: test_voicemail.sh's kill case stores
		 * 0 of 50 messages over TCP (20 over UDP), not understood
		 * (docs/performance.md). */
		CFG_STR(edge_transport, "udp",
			"transport Kamailio relays calls to this worker on "
			"(the URI in its heartbeats): udp or tcp"),
		CFG_STR(router_endpoints, "tcp://127.0.0.1:7002",
			"router worker sockets, comma-separated; connects to "
			"each"),
		CFG_STR(redis_host, "127.0.0.1", "Redis holding the prompts"),
		CFG_INT(redis_port, "6390", 1, 65535, "Redis port"),
		CFG_STR(redis_user, "", "Redis ACL user (empty: default)"),
		{"redis_password", PBX_CFG_SECRET, cfg->redis_password, "", 0,
		 0, "Redis password (prefer redis_password_file)"},
		CFG_STR(redis_password_file, "",
			"file whose first line is the Redis password"),
		CFG_STR(rtp_ip, "127.0.0.1",
			"IP the RTP sockets bind to and the SDP answer gives"),
		CFG_INT(rtp_port_min, "20000", 1024, 65535, "lowest RTP port"),
		CFG_INT(rtp_port_max, "29999", 1024, 65535,
			"highest RTP port"),
		CFG_INT(rtp_port_block, "0", 0, 64512,
			"0: rtp_port_min..max is this worker's range; N: "
			"take a free block of N ports from that pool"),
		/* From bench/run.sh on a 2-core VM (docs/performance.md):
		 * one core held about 1,400 bridged calls and 2,400 callers
		 * hearing a prompt; 1,000 leaves that core room for bursts
		 * of call setup, which runs on the same thread. */
		CFG_INT(capacity, "1000", 1, 20000,
			"most concurrent calls; more get 503"),
		CFG_INT(heartbeat_ms, "1000", 100, 60000,
			"heartbeat period to the routers"),
		CFG_STR(edge_uri, "sip:127.0.0.1:5060;lr",
			"outbound proxy for rings (Kamailio), put in the "
			"route set of every callee leg"),
		CFG_STR(ringback, "425/1000/4000",
			"ringback cadence <Hz>[+<Hz>]/<on ms>/<off ms>"
			"[/-<dBm0>]"),
		CFG_INT(ring_timeout_max_ms, "300000", 1000, 3600000,
			"longest ring; a Ring with timeout_ms 0 or above "
			"this rings this long"),
		CFG_INT(rtp_timeout_ms, "60000", 0, 3600000,
			"an answered leg (or bridged callee) that sends no "
			"RTP for this long, not on hold, is hung up; 0: "
			"never"),
		CFG_INT(prompt_cache_bytes, "67108864", 0, 17179869184L,
			"prompt audio kept in memory (both laws), least "
			"recently used evicted first; 0: read Redis on every "
			"Play"),
		CFG_INT(prompt_recheck_ms, "1000", 0, 60000,
			"a cached prompt whose version Redis confirmed less "
			"than this ago is played without asking again; 0: "
			"ask on every Play"),
		CFG_STR(media_root, "/var/lib/pbx/media",
			"durable media store root (absolute): voicemail "
			"messages go to <root>/<tenant>/vm/<id>.wav"),
		CFG_INT(vm_min_ms, "1000", 0, 60000,
			"a voicemail message shorter than this is discarded"),
		CFG_INT(vm_silence_ms, "5000", 0, 600000,
			"voicemail recording stops after this much trailing "
			"silence; 0: never"),
		CFG_INT(overload_lag_ms, "500", 0, 60000,
			"while the event loop runs this far behind, new "
			"calls get 503 and heartbeats report the worker "
			"full; 0: never"),
		CFG_STR(log_level, "info", "error, warn, info or debug"),
		PBX_LOG_FORMAT_ITEM,
		PBX_REDIS_SENTINEL_ITEMS,
		PBX_METRICS_ITEMS(cfg->metrics, "127.0.0.1:9210"),
		CFG_STR(curve_secret_file, "",
			"CURVE key (.key) named <worker_id>; empty: "
			"plaintext"),
		CFG_STR(curve_server_public_file, "",
			"the routers' CURVE public key (.pub)"),
		CFG_STR(asr_bridges, "",
			"asr-bridges for the voice assistant, comma-separated "
			"<bridge_id>@<endpoint>; empty: none (assistant "
			"nodes hear nothing: no_input)"),
		CFG_STR(asr_public_dir, "",
			"directory of the bridges' <bridge_id>.pub keys "
			"(with curve_secret_file)"),
		CFG_INT(asr_ping_ms, "1000", 100, 60000,
			"AsrPing to every bridge this often; a bridge whose "
			"heartbeat is 3 periods old is not used"),
		CFG_INT(asr_max_utterance_ms, "8000", 500, 30000,
			"longest utterance a Listen asks the bridge for"),
		CFG_INT(asr_grace_ms, "3000", 200, 60000,
			"time the bridge has for its answer beyond the "
			"utterance; then the worker answers not_recognized"),
	};
	size_t n = sizeof(items) / sizeof(items[0]);
	int err = pbx_config_main(items, n, "media-worker", argc, argv);

	if (err)
		return err;
	if (pbx_redis_cred_load(&cfg->redis_cred, cfg->redis_user,
				cfg->redis_password,
				cfg->redis_password_file))
		return -EINVAL;
	memset(cfg->redis_password, 0, sizeof(cfg->redis_password));
	return check(cfg);
}
