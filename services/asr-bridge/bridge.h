/* asr-bridge: the service's core. One CURVE ROUTER that media workers
 * connect to (one DEALER per worker); per worker ping an AsrHeartbeat back
 * (name, capacity, load); per AsrStart a stream (asr_stream.c endpoints
 * the audio that follows) whose utterance goes to the recogniser backend;
 * the AsrResults go back to the worker that opened it. A stream whose
 * worker falls silent for stream_idle_ms is dropped (the worker died or
 * gave up); a bridge at capacity answers KIND_ERROR "busy" at once. */
#ifndef BRIDGE_H
#define BRIDGE_H
#include <stddef.h>
#include <stdint.h>

#include "pbx_config.h"

struct event_base;
struct asr_backend;

struct bridge_config {
	char bridge_id[PBX_CFG_STRLEN];
	char listen[PBX_CFG_STRLEN];
	long capacity;
	long stream_idle_ms;
	long end_silence_ms;
	long max_utterance_ms;
	long threshold_db; /* dBFS, negative */
	long filler_weight_ppm; /* the grammar's filler path, per million */
	long score_floor;	/* acoustic score per frame: confidence 0 */
	long score_ceil;	/* ... confidence 1 */
	long decode_threads;	/* pocketsphinx threads; 0: one per core */
	long decode_queue;	/* utterances waiting for one, at most */
	char model_dir[PBX_CFG_STRLEN];
	char dict[PBX_CFG_STRLEN];
	char log_level[PBX_CFG_STRLEN];
	char curve_secret_file[PBX_CFG_STRLEN];
	char curve_allow_dir[PBX_CFG_STRLEN];
	/* the Vosk server adapter (asr_vosk.c) */
	long vosk_timeout_ms;
	long vosk_private;
	char vosk_private_allow[PBX_CFG_STRLEN];
	long vosk_grammar;
	char vosk_ca_file[PBX_CFG_STRLEN];
};

struct bridge;

/* backends (1..4, the first the default for English; by name for a turn
 * that names one): taken over, freed with the bridge, only on success
 * (sets *bp then). */
int bridge_alloc(struct bridge **bp, struct event_base *base, void *zctx,
		 const struct bridge_config *cfg,
		 struct asr_backend *const *backends, size_t nbackends);
void bridge_free(struct bridge *b);
/* Streams open now. */
unsigned bridge_load(const struct bridge *b);
/* Its metrics on m (docs/services/asr-bridge.md "Metrics"). */
struct pbx_metrics;
int bridge_metrics_add(struct bridge *b, struct pbx_metrics *m);

#endif
