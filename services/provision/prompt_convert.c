/* Prompt conversion: upload bytes -> mono 8000 Hz -> G.711 mu-law and A-law.
 * libsndfile reads and writes through in-memory virtual files, so nothing
 * touches the disk; libsamplerate runs streaming so memory is bounded by the
 * 10-minute output, not by the input rate or channel count. */
#include <errno.h>
#include <samplerate.h>
#include <sndfile.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prompt_convert.h"

#define CHUNK_FRAMES 4096
#define RATE_MIN 1000 /* libsamplerate takes ratios up to 256 */
#define RATE_MAX 192000
#define CHANNELS_MAX 256

/* A virtual file for libsndfile: read-only over the upload (rd) or a
 * growing write buffer (wr, owned by whoever opened it). */
struct membuf {
	const uint8_t *rd;
	uint8_t *wr;
	sf_count_t len, cap, pos;
};

/* Samples at PROMPT_RATE under construction; owned by prompt_convert(). */
struct fbuf {
	float *v;
	size_t len, cap;
};

static sf_count_t mb_filelen(void *u)
{
	return ((struct membuf *)u)->len;
}

static sf_count_t mb_seek(sf_count_t off, int whence, void *u)
{
	struct membuf *m = u;
	sf_count_t base;

	switch (whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = m->pos;
		break;
	case SEEK_END:
		base = m->len;
		break;
	default:
		return -1;
	}
	/* A header can claim any offset: refuse what would overflow or go
	 * far past the end instead of trusting it. */
	if (off < -base || off > (sf_count_t)PROMPT_MAX_INPUT * 64)
		return -1;
	m->pos = base + off;
	return m->pos;
}

static sf_count_t mb_read(void *ptr, sf_count_t count, void *u)
{
	struct membuf *m = u;
	const uint8_t *src = m->rd ? m->rd : m->wr;
	sf_count_t n;

	if (!src || count <= 0 || m->pos >= m->len)
		return 0;
	n = m->len - m->pos;
	if (n > count)
		n = count;
	memcpy(ptr, src + m->pos, (size_t)n);
	m->pos += n;
	return n;
}

static sf_count_t mb_write(const void *ptr, sf_count_t count, void *u)
{
	struct membuf *m = u;
	sf_count_t end;

	if (m->rd || count <= 0)
		return 0;
	end = m->pos + count;
	if (end > m->cap) {
		sf_count_t cap = m->cap ? m->cap : 4096;
		uint8_t *p;

		while (cap < end)
			cap *= 2;
		p = realloc(m->wr, (size_t)cap);
		if (!p)
			return 0; /* libsndfile sees a short write */
		m->wr = p;
		m->cap = cap;
	}
	if (m->pos > m->len)
		memset(m->wr + m->len, 0, (size_t)(m->pos - m->len));
	memcpy(m->wr + m->pos, ptr, (size_t)count);
	m->pos = end;
	if (end > m->len)
		m->len = end;
	return count;
}

static sf_count_t mb_tell(void *u)
{
	return ((struct membuf *)u)->pos;
}

static SF_VIRTUAL_IO membuf_io = {
	.get_filelen = mb_filelen,
	.seek = mb_seek,
	.read = mb_read,
	.write = mb_write,
	.tell = mb_tell,
};

static int why_set(char *why, size_t whysz, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int why_set(char *why, size_t whysz, int err, const char *fmt, ...)
{
	va_list ap;

	if (why && whysz) {
		va_start(ap, fmt);
		vsnprintf(why, whysz, fmt, ap);
		va_end(ap);
	}
	return err;
}

/* libsndfile's messages end with a period; ours add their own context. */
static void strip_period(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '.' || s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
}

static int fbuf_reserve(struct fbuf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 8192;
	float *v;

	if (b->len + more <= b->cap)
		return 0;
	while (cap < b->len + more)
		cap *= 2;
	v = realloc(b->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	b->v = v;
	b->cap = cap;
	return 0;
}

/* Pushes n mono frames through the resampler (or copies them when the input
 * is already at PROMPT_RATE). eof flushes the filter tail. */
static int feed(SRC_STATE *src, double ratio, const float *in, long n,
		bool eof, struct fbuf *out)
{
	SRC_DATA d = {
		.data_in = in,
		.input_frames = n,
		.src_ratio = ratio,
		.end_of_input = eof,
	};
	int err;

	if (!src) {
		if (!n)
			return 0;
		err = fbuf_reserve(out, (size_t)n);
		if (err)
			return err;
		memcpy(out->v + out->len, in, (size_t)n * sizeof(float));
		out->len += (size_t)n;
		return 0;
	}
	for (;;) {
		size_t room = (size_t)((double)d.input_frames * ratio) + 1024;

		err = fbuf_reserve(out, room);
		if (err)
			return err;
		d.data_out = out->v + out->len;
		d.output_frames = (long)(out->cap - out->len);
		if (src_process(src, &d))
			return -EIO;
		out->len += (size_t)d.output_frames_gen;
		d.data_in += d.input_frames_used;
		d.input_frames -= d.input_frames_used;
		if (d.input_frames > 0)
			continue;
		/* Once input is used up, only a flush can still produce. */
		if (!eof || d.output_frames_gen == 0)
			return 0;
	}
}

/* Reads every frame of sf, mixed to mono, into out at PROMPT_RATE. */
static int decode_resample(SNDFILE *sf, const SF_INFO *info,
			   struct fbuf *out, sf_count_t *framesp, char *why,
			   size_t whysz)
{
	const sf_count_t max_frames =
		(sf_count_t)info->samplerate * (PROMPT_MAX_MS / 1000);
	const double ratio = (double)PROMPT_RATE / info->samplerate;
	const int ch = info->channels;
	SRC_STATE *src = NULL;
	float *ibuf, *mono;
	sf_count_t frames = 0;
	int err = 0, serr = 0;

	ibuf = malloc((size_t)CHUNK_FRAMES * (size_t)ch * sizeof(float));
	mono = malloc(CHUNK_FRAMES * sizeof(float));
	if (!ibuf || !mono) {
		err = -ENOMEM;
		goto out;
	}
	if (info->samplerate != PROMPT_RATE) {
		src = src_new(SRC_SINC_MEDIUM_QUALITY, 1, &serr);
		if (!src) {
			err = -ENOMEM;
			goto out;
		}
	}
	for (;;) {
		sf_count_t n = sf_readf_float(sf, ibuf, CHUNK_FRAMES);
		bool eof;

		if (n < 0)
			n = 0;
		eof = n < CHUNK_FRAMES;
		if (eof && sf_error(sf)) {
			char msg[256];

			snprintf(msg, sizeof(msg), "%s", sf_strerror(sf));
			strip_period(msg);
			err = why_set(why, whysz, -EINVAL,
				      "the recording could not be decoded: %s",
				      msg);
			goto out;
		}
		frames += n;
		if (frames > max_frames) {
			err = why_set(why, whysz, -EINVAL,
				      "the recording is longer than the limit "
				      "of %u minutes",
				      PROMPT_MAX_MS / 60000);
			goto out;
		}
		for (sf_count_t i = 0; i < n; i++) {
			float sum = 0;

			for (int c = 0; c < ch; c++)
				sum += ibuf[i * ch + c];
			mono[i] = sum / (float)ch;
		}
		err = feed(src, ratio, mono, (long)n, eof, out);
		if (err)
			goto out;
		if (eof)
			break;
	}
	*framesp = frames;
out:
	if (src)
		src_delete(src);
	free(ibuf);
	free(mono);
	return err;
}

static int encode(const float *pcm, size_t n, int subformat, uint8_t **outp)
{
	SF_INFO info = {
		.samplerate = PROMPT_RATE,
		.channels = 1,
		.format = SF_FORMAT_RAW | subformat,
	};
	struct membuf mb = {.rd = NULL};
	SNDFILE *sf;
	sf_count_t w;

	sf = sf_open_virtual(&membuf_io, SFM_WRITE, &info, &mb);
	if (!sf) {
		free(mb.wr);
		return -EIO;
	}
	w = sf_writef_float(sf, pcm, (sf_count_t)n);
	sf_close(sf);
	if (w != (sf_count_t)n || mb.len != (sf_count_t)n) {
		free(mb.wr);
		return mb.wr ? -EIO : -ENOMEM;
	}
	*outp = mb.wr;
	return 0;
}

void prompt_audio_free(struct prompt_audio *pa)
{
	if (!pa)
		return;
	free(pa->ulaw);
	free(pa->alaw);
	free(pa);
}

int prompt_convert(struct prompt_audio **pap, const void *buf, size_t len,
		   char *why, size_t whysz)
{
	struct membuf in = {.rd = buf, .len = (sf_count_t)len};
	struct fbuf out = {.v = NULL};
	struct prompt_audio *pa = NULL;
	SF_INFO info = {.format = 0};
	sf_count_t frames = 0;
	uint64_t nout, rate;
	SNDFILE *sf;
	int err;

	if (!pap || (!buf && len))
		return -EINVAL;
	if (len > PROMPT_MAX_INPUT)
		return why_set(why, whysz, -EFBIG,
			       "upload is %zu bytes; the limit is 16 MiB",
			       len);
	if (!len)
		return why_set(why, whysz, -EINVAL, "the upload is empty");

	sf = sf_open_virtual(&membuf_io, SFM_READ, &info, &in);
	if (!sf) {
		char msg[256];

		snprintf(msg, sizeof(msg), "%s", sf_strerror(NULL));
		strip_period(msg);
		return why_set(why, whysz, -EINVAL,
			       "not a WAV/audio file: %s", msg);
	}
	if (info.samplerate < RATE_MIN || info.samplerate > RATE_MAX) {
		err = why_set(why, whysz, -EINVAL,
			      "the sample rate %d Hz is not supported; use "
			      "%d to %d Hz",
			      info.samplerate, RATE_MIN, RATE_MAX);
		goto out;
	}
	if (info.channels < 1 || info.channels > CHANNELS_MAX) {
		err = why_set(why, whysz, -EINVAL,
			      "the recording has %d channels; the limit is %d",
			      info.channels, CHANNELS_MAX);
		goto out;
	}
	err = decode_resample(sf, &info, &out, &frames, why, whysz);
	if (err)
		goto out;

	/* Pin the length to the exact duration: the filter's delay and flush
	 * leave a few samples more or less, and players count on 8 per ms. */
	rate = (uint64_t)info.samplerate;
	nout = ((uint64_t)frames * PROMPT_RATE + rate / 2) / rate;
	if (nout == 0) {
		err = why_set(why, whysz, -EINVAL,
			      "the recording has no sound (zero length)");
		goto out;
	}
	err = fbuf_reserve(&out, nout > out.len ? nout - out.len : 0);
	if (err)
		goto out;
	if (out.len < nout)
		memset(out.v + out.len, 0, (nout - out.len) * sizeof(float));
	out.len = nout;
	/* The resampler overshoots near full scale; G.711 must not wrap. */
	for (size_t i = 0; i < out.len; i++) {
		if (out.v[i] > 1.0f)
			out.v[i] = 1.0f;
		else if (out.v[i] < -1.0f)
			out.v[i] = -1.0f;
	}

	pa = calloc(1, sizeof(*pa));
	if (!pa) {
		err = -ENOMEM;
		goto out;
	}
	pa->len = out.len;
	pa->ms = (uint32_t)(((uint64_t)frames * 1000 + rate / 2) / rate);
	err = encode(out.v, out.len, SF_FORMAT_ULAW, &pa->ulaw);
	if (!err)
		err = encode(out.v, out.len, SF_FORMAT_ALAW, &pa->alaw);
	if (err) {
		why_set(why, whysz, err, "the recording could not be encoded");
		goto out;
	}
	*pap = pa;
	pa = NULL;
out:
	sf_close(sf);
	free(out.v);
	prompt_audio_free(pa);
	return err;
}
