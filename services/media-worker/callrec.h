/* Call recording: both sides of a bridged call, mixed to mono 8 kHz
 * 16-bit WAV in the media store (recorder.h, kind PBX_MEDIA_RECORDING),
 * or, with a two-channel recorder, the caller on the left channel and the
 * callee on the right. Each side's G.711 packets are decoded into its own
 * small FIFO as they arrive; every 20 ms (its own pacer entry) 160
 * samples of each side are taken (silence for a side that sent nothing)
 * and summed with clipping (mono) or interleaved (stereo), then
 * appended. Writing stops at max_ms. Owned by the call (mwcall.c) until
 * the worker takes the recorder to store it (worker_rec.c). */
#ifndef CALLREC_H
#define CALLREC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "offer_codec.h"

struct callrec;
struct pacer;
struct recorder;

enum callrec_side { CALLREC_CALLER, CALLREC_CALLEE };

/* Takes rec (freed with the callrec unless taken); its channel count
 * (recorder_channels) chooses mixed or two-channel. max_ms 0: 4 h. */
int callrec_alloc(struct callrec **crp, struct recorder *rec,
		  struct pacer *pacer, uint32_t max_ms);
/* The bridge is up: mixing starts (idempotent). */
int callrec_start(struct callrec *cr, uint64_t now_wall_ms);
bool callrec_started(const struct callrec *cr);
/* Wall-clock ms when mixing started (0: not yet). */
uint64_t callrec_start_ms(const struct callrec *cr);
/* One audio packet of a side (RTP path). */
void callrec_audio(struct callrec *cr, enum callrec_side side,
		   const uint8_t *payload, size_t len, enum offer_law law);
/* Mixes n 20 ms periods now (the pacer's handler calls it; tests too). */
void callrec_mix(struct callrec *cr, uint64_t periods);
/* Stops mixing and returns the recorder (the caller owns it), or NULL
 * when the bridge never came up (the recorder is then discarded). Frees
 * cr. */
struct recorder *callrec_finish(struct callrec *cr);
/* Frees; a recorder not taken is discarded. NULL-safe. */
void callrec_free(struct callrec *cr);

#endif
