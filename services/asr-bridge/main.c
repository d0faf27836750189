/* asr-bridge: wiring only — configuration, the recogniser, the bus, the
 * event loop, teardown (docs/services/asr-bridge.md). */
#include <errno.h>
#include <event2/event.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "asr_backend.h"
#include "bridge.h"
#include "pbx_bus.h"
#include "pbx_config.h"
#include "pbx_curve.h"
#include "pbx_log.h"
#include "pbx_metrics.h"
#include "pbx_service.h"

static struct bridge_config cfg;
static struct pbx_metrics_config mcfg;

#define INT(n, def, lo, hi, help)                                             \
	{#n, PBX_CFG_INT, &cfg.n, def, lo, hi, help}
#define STR(n, def, help) {#n, PBX_CFG_STR, cfg.n, def, 0, 0, help}

static const struct pbx_config_item items[] = {
	STR(bridge_id, "asr1", "name of this instance (its CURVE key name)"),
	STR(listen, "tcp://127.0.0.1:7005",
	    "the bus socket the media workers connect to"),
	INT(capacity, "32", 1, 1024, "most streams open at once"),
	INT(stream_idle_ms, "3000", 200, 60000,
	    "a stream without audio this long is dropped (its worker is "
	    "gone)"),
	INT(end_silence_ms, "700", 100, 5000,
	    "silence after speech that ends the utterance"),
	INT(max_utterance_ms, "8000", 500, 30000,
	    "longest utterance (a stream may ask for less)"),
	INT(threshold_db, "-40", -90, -5,
	    "a 20 ms frame louder than this (dBFS) is speech"),
	INT(filler_weight_ppm, "0", 0, 1000000,
	    "weight of the grammar's filler path (out-of-grammar speech), "
	    "per million; 0: no filler path (measured: any filler path "
	    "swallows in-grammar speech too, docs/services/asr-bridge.md)"),
	INT(score_floor, "-45", -1000, 0,
	    "pocketsphinx acoustic score per frame that is confidence 0"),
	INT(score_ceil, "-25", -1000, 0,
	    "... and confidence 1 (linear between, clamped)"),
	INT(decode_threads, "0", 0, 64,
	    "pocketsphinx decode threads, each with its own decoder (~28 MB); "
	    "0: one per core the process may run on (the loop thread needs "
	    "little CPU)"),
	INT(decode_queue, "32", 1, 1024,
	    "utterances that may wait for a decode thread; more are "
	    "answered not recognised (\"recogniser busy\")"),
	STR(model_dir, "/usr/share/pocketsphinx/model/en-us/en-us",
	    "pocketsphinx acoustic model (16 kHz)"),
	STR(dict, "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict",
	    "pocketsphinx pronunciation dictionary"),
	INT(vosk_timeout_ms, "3000", 200, 30000,
	    "a Vosk server's whole answer to one utterance (connect, "
	    "audio, result) within this, else not recognised"),
	INT(vosk_private, "0", 0, 1,
	    "1: Vosk servers may be on loopback, private and link-local "
	    "addresses (the URL is the tenant's: 0 refuses them)"),
	STR(vosk_private_allow, "",
	    "host:port,... of Vosk servers that may be on such addresses "
	    "with vosk_private 0 (the operator's own; as the URLs name "
	    "them)"),
	INT(vosk_grammar, "1", 0, 1,
	    "1: the turn's phrases go to the Vosk server as its "
	    "phrase_list (a grammar, for models that take one)"),
	STR(vosk_ca_file, "",
	    "CA certificates for wss:// Vosk servers; empty: the system's"),
	STR(log_level, "info", "error, warn, info or debug"),
	PBX_METRICS_ITEMS(mcfg, "127.0.0.1:9207"),
	STR(curve_secret_file, "",
	    "CURVE key (.key) of this instance; empty: plaintext"),
	STR(curve_allow_dir, "",
	    "directory of the media workers' <worker_id>.pub keys"),
};

/* The cores this process may run on (taskset, a container's cpuset). */
static size_t cores(void)
{
	cpu_set_t set;
	long n;

	if (!sched_getaffinity(0, sizeof(set), &set) && CPU_COUNT(&set) > 0)
		return (size_t)CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (size_t)n : 1;
}

int main(int argc, char **argv)
{
	size_t n = sizeof(items) / sizeof(items[0]);
	struct asr_sphinx_cfg sc = {0};
	struct asr_backend *be[2] = {NULL, NULL};
	enum pbx_log_level lvl;
	struct event_base *base = NULL;
	struct pbx_zap *zap = NULL;
	struct pbx_metrics *metrics = NULL;
	struct bridge *b = NULL;
	void *zctx = NULL;
	int err, rc = 1;

	err = pbx_config_main(items, n, "asr-bridge", argc, argv);
	if (err)
		return err > 0 ? 0 : 2;
	if (pbx_log_level_parse(cfg.log_level, &lvl)) {
		fprintf(stderr, "config: log_level: '%s' is not a level\n",
			cfg.log_level);
		return 2;
	}
	if (!pbx_curve_name_valid(cfg.bridge_id)) {
		fprintf(stderr, "config: bridge_id: '%s' is not a key name\n",
			cfg.bridge_id);
		return 2;
	}
	if (cfg.curve_secret_file[0] && !cfg.curve_allow_dir[0]) {
		fprintf(stderr, "config: curve_allow_dir is required with "
				"curve_secret_file\n");
		return 2;
	}
	pbx_log_init("asr-bridge", lvl);
	signal(SIGPIPE, SIG_IGN);
	if (!cfg.curve_secret_file[0])
		PLOG_WARN("no curve_secret_file: the bus is plaintext and "
			  "unauthenticated");
	sc.hmm = cfg.model_dir;
	sc.dict = cfg.dict;
	sc.filler_weight = (double)cfg.filler_weight_ppm / 1e6;
	sc.threads = (size_t)cfg.decode_threads;
	if (!sc.threads)
		sc.threads = cores();
	sc.queue_max = (size_t)cfg.decode_queue;
	base = event_base_new();
	zctx = pbx_zmq_ctx_new();
	if (!base || !zctx) {
		PLOG_ERR("cannot create the event loop");
		goto out;
	}
	err = asr_sphinx_alloc(&be[0], base, &sc);
	if (err) {
		PLOG_ERR("pocketsphinx with %s and %s (%zu threads): %s",
			 cfg.model_dir, cfg.dict, sc.threads, strerror(-err));
		goto out;
	}
	err = asr_vosk_alloc(&be[1], base,
			     &(struct asr_vosk_cfg){
				     .timeout_ms = cfg.vosk_timeout_ms,
				     .allow_private = cfg.vosk_private,
				     .private_allow = cfg.vosk_private_allow,
				     .grammar = cfg.vosk_grammar,
				     .ca_file = cfg.vosk_ca_file,
			     });
	if (err) {
		PLOG_ERR("vosk adapter (vosk_ca_file '%s'): %s",
			 cfg.vosk_ca_file, strerror(-err));
		goto out;
	}
	/* The ZAP handler first: libzmq lets every client in while none is
	 * bound. */
	if (cfg.curve_secret_file[0]) {
		struct pbx_zap_domain dom = {.domain = "asr",
					     .allow_dir = cfg.curve_allow_dir};

		err = pbx_zap_start(&zap, zctx, &dom, 1);
		if (err) {
			PLOG_ERR("ZAP handler: %s", strerror(-err));
			goto out;
		}
	}
	err = bridge_alloc(&b, base, zctx, &cfg, be, 2);
	if (err) {
		PLOG_ERR("bus on %s: %s", cfg.listen, strerror(-err));
		goto out;
	}
	be[0] = be[1] = NULL;
	err = pbx_service_metrics(&metrics, "asr-bridge", &mcfg, base);
	if (err) {
		rc = err;
		goto out;
	}
	if (metrics)
		bridge_metrics_add(b, metrics);
	PLOG_INFO("%s: listening on %s, capacity %ld, pocketsphinx %s "
		  "(%zu decode threads, queue %zu), vosk "
		  "(timeout %ld ms, private servers %s%s%s)",
		  cfg.bridge_id, cfg.listen, cfg.capacity, cfg.model_dir,
		  sc.threads, sc.queue_max,
		  cfg.vosk_timeout_ms,
		  cfg.vosk_private ? "allowed" : "refused",
		  !cfg.vosk_private && cfg.vosk_private_allow[0] ? " but " : "",
		  cfg.vosk_private ? "" : cfg.vosk_private_allow);
	pbx_service_run(base);
	rc = 0;
out:
	pbx_metrics_free(metrics);
	bridge_free(b);
	asr_backend_free(be[1]);
	asr_backend_free(be[0]);
	pbx_zap_stop(zap);
	if (zctx)
		zmq_ctx_term(zctx);
	if (base)
		event_base_free(base);
	return rc;
}
