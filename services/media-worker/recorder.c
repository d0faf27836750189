/* Recorder: G.711 packets -> 16-bit linear WAV in the media store's
 * temporary file; commit or discard. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sndfile.h>

#include "mwlaw.h"
#include "pbx_media_store.h"
#include "recorder.h"

enum {
	REC_RATE = 8000,
	/* Mean absolute 16-bit level below which a packet is silence:
	 * about -40 dBm0, above G.711's idle noise and comfort noise. */
	SILENCE_LEVEL = 250,
};

struct recorder {
	SNDFILE *sf;
	char tmp[PBX_MEDIA_PATH_MAX];
	char root[PBX_MEDIA_PATH_MAX];
	char tenant[65];
	char id[PBX_MEDIA_ID_MAX];
	uint64_t frames;
	uint64_t bytes;
	enum pbx_media_kind kind;
	unsigned channels;
	bool committed;
};

int recorder_open(struct recorder **rp, const char *root, const char *tenant,
		  const char *id, const char *owner)
{
	return recorder_open_kind(rp, root, tenant, PBX_MEDIA_VOICEMAIL, id,
				  owner, 1);
}

int recorder_open_kind(struct recorder **rp, const char *root,
		       const char *tenant, int kind, const char *id,
		       const char *owner, unsigned channels)
{
	SF_INFO info = {.samplerate = REC_RATE,
			.channels = (int)channels,
			.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
	struct recorder *r;
	int err;

	if (!rp || !root || !tenant || !id || strlen(tenant) >= 65 ||
	    (channels != 1 && channels != 2) ||
	    strlen(root) >= PBX_MEDIA_PATH_MAX || kind < 0 ||
	    kind >= PBX_MEDIA_KIND_COUNT)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->kind = (enum pbx_media_kind)kind;
	r->channels = channels;
	err = pbx_media_store_tmp(r->tmp, sizeof(r->tmp), root, tenant,
				  r->kind, id, owner);
	if (err) {
		free(r);
		return err;
	}
	snprintf(r->root, sizeof(r->root), "%s", root);
	snprintf(r->tenant, sizeof(r->tenant), "%s", tenant);
	snprintf(r->id, sizeof(r->id), "%s", id);
	r->sf = sf_open(r->tmp, SFM_WRITE, &info);
	if (!r->sf) {
		free(r);
		return -EIO;
	}
	*rp = r;
	return 0;
}

bool recorder_audio(struct recorder *r, const uint8_t *payload, size_t len,
		    enum offer_law law)
{
	int16_t pcm[REC_RATE];
	uint64_t sum = 0;

	if (!r || !r->sf || !len || r->channels != 1)
		return false;
	if (len > REC_RATE)
		len = REC_RATE;
	for (size_t i = 0; i < len; i++) {
		pcm[i] = mwlaw_decode(payload[i], law);
		sum += (uint64_t)(pcm[i] < 0 ? -(int32_t)pcm[i] : pcm[i]);
	}
	/* A failed write (disk full) loses audio, not the call: the
	 * message keeps what was written. */
	r->frames += (uint64_t)sf_write_short(r->sf, pcm, (sf_count_t)len);
	return sum / len > SILENCE_LEVEL;
}

void recorder_pcm(struct recorder *r, const int16_t *pcm, size_t n)
{
	if (r && r->sf && n)
		r->frames += (uint64_t)sf_writef_short(r->sf, pcm,
						       (sf_count_t)n);
}

unsigned recorder_channels(const struct recorder *r)
{
	return r ? r->channels : 0;
}

uint32_t recorder_ms(const struct recorder *r)
{
	return r ? (uint32_t)(r->frames * 1000 / REC_RATE) : 0;
}

const char *recorder_id(const struct recorder *r)
{
	return r ? r->id : "";
}

uint64_t recorder_bytes(const struct recorder *r)
{
	return r ? r->bytes : 0;
}

int recorder_commit(struct recorder *r)
{
	struct stat st;
	int err;

	if (!r || !r->sf || r->committed)
		return -EINVAL;
	/* sf_close writes the header's sizes: only now is the WAV whole. */
	err = sf_close(r->sf) ? -EIO : 0;
	r->sf = NULL;
	if (!err && !stat(r->tmp, &st))
		r->bytes = (uint64_t)st.st_size;
	if (!err)
		err = pbx_media_store_commit(r->tmp, r->root, r->tenant,
					     r->kind, r->id);
	else
		unlink(r->tmp);
	if (!err)
		r->committed = true;
	return err;
}

void recorder_free(struct recorder *r)
{
	if (!r)
		return;
	if (r->sf)
		sf_close(r->sf);
	if (!r->committed)
		unlink(r->tmp);
	free(r);
}
