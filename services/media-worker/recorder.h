/* Recorder: one message being recorded, as 8 kHz 16-bit WAV (mono; a
 * recorded call may be stereo)
 * (libsndfile) in the media store's temporary file, made durable and
 * visible only by recorder_commit() (pbx_media_store.h). Fed G.711
 * payloads from the caller's RTP; says which packets carry voice, so its
 * owner can stop on trailing silence. Owned by the call recording it,
 * then by whoever saves the message. */
#ifndef RECORDER_H
#define RECORDER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "offer_codec.h"

struct recorder;

/* Opens the temporary file of message `id` of `tenant` (voicemail), owned
 * by `owner` (the worker id, for the start-up sweep). 0, -EINVAL, -ENOMEM,
 * -EIO (libsndfile could not create it), or the store's error. */
int recorder_open(struct recorder **rp, const char *root, const char *tenant,
		  const char *id, const char *owner);
/* The same for a file of another kind (PBX_MEDIA_RECORDING: a recorded
 * call) with 1 or 2 channels (a stereo WAV: frames of two interleaved
 * samples). */
int recorder_open_kind(struct recorder **rp, const char *root,
		       const char *tenant, int kind, const char *id,
		       const char *owner, unsigned channels);

/* Appends n linear frames (a mix made by the caller): n samples, or n
 * interleaved pairs (left, right) in a stereo file. */
void recorder_pcm(struct recorder *r, const int16_t *pcm, size_t n);
unsigned recorder_channels(const struct recorder *r);

/* Appends one packet of `law` samples (at most 8000 per call, the rest is
 * dropped). Returns true when it is voice: its mean absolute level is
 * above the silence threshold (about -40 dBm0). */
bool recorder_audio(struct recorder *r, const uint8_t *payload, size_t len,
		    enum offer_law law);

/* Samples written so far, in ms. */
uint32_t recorder_ms(const struct recorder *r);
const char *recorder_id(const struct recorder *r);
/* Size of the finished file in bytes (after recorder_commit). */
uint64_t recorder_bytes(const struct recorder *r);

/* Closes the WAV and makes it the message's final file (fsync, rename,
 * fsync the directory). 0 or a negative errno (the temporary file is then
 * gone). Call once; recorder_free() afterwards. */
int recorder_commit(struct recorder *r);

/* Frees; a message not committed is discarded (its temporary file is
 * removed). NULL-safe. */
void recorder_free(struct recorder *r);

#endif
