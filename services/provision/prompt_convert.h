/* Prompt conversion: turns an uploaded recording (any container libsndfile
 * reads) into the two headerless G.711 streams, 8000 Hz mono, that media
 * workers play frame by frame. Done once, at upload, so no call ever
 * decodes, resamples or transcodes a prompt. Pure: bytes in, buffers out. */
#ifndef PROMPT_CONVERT_H
#define PROMPT_CONVERT_H
#include <stddef.h>
#include <stdint.h>

#define PROMPT_MAX_INPUT (16u * 1024 * 1024) /* upload bytes */
#define PROMPT_MAX_MS (10u * 60 * 1000)      /* 10 minutes */
#define PROMPT_RATE 8000                     /* output samples per second */

/* A converted prompt. Owned by whoever prompt_convert() gave it to; free
 * with prompt_audio_free(). */
struct prompt_audio {
	uint8_t *ulaw; /* len bytes, one per sample, G.711 mu-law */
	uint8_t *alaw; /* len bytes, G.711 A-law */
	size_t len;    /* samples at PROMPT_RATE: round(ms * 8) */
	uint32_t ms;   /* duration of the recording */
};

/* Decodes buf (len bytes), mixes it to mono, resamples it to 8000 Hz and
 * encodes it both ways. Sets *pap only on success. Errors, with one plain
 * sentence in why (may be NULL):
 *   -EFBIG  len is over PROMPT_MAX_INPUT
 *   -EINVAL not audio, no samples, or longer than PROMPT_MAX_MS
 *   -ENOMEM out of memory
 *   -EIO    the resampler or the encoder failed */
int prompt_convert(struct prompt_audio **pap, const void *buf, size_t len,
		   char *why, size_t whysz);
void prompt_audio_free(struct prompt_audio *pa);

#endif
