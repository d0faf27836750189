/* Tests of services/provision/prompt_convert.c: real recordings made with
 * libsndfile in the test, converted, and the G.711 output decoded back. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pbx_test.h"
#include "prompt_convert.h"

TestSuite(prompt_convert, .fini = pbx_test_fini);

/* Writes a sine of freq Hz, amplitude amp, to an in-memory file of the
 * given format, through a temporary file (libsndfile's plain API). */
static uint8_t *make_audio(int format, int rate, int channels, double secs,
			   double freq, double amp, size_t *lenp)
{
	char path[] = "/tmp/test_prompt_XXXXXX";
	int fd = mkstemp(path);
	SF_INFO info = {.samplerate = rate, .channels = channels,
			.format = format};
	sf_count_t frames = (sf_count_t)(secs * rate);
	float *pcm = calloc((size_t)(frames ? frames : 1) * (size_t)channels,
			    sizeof(float));
	uint8_t *buf;
	SNDFILE *sf;
	FILE *f;
	long n;

	cr_assert(fd >= 0);
	cr_assert_not_null(pcm);
	for (sf_count_t i = 0; i < frames; i++) {
		for (int c = 0; c < channels; c++)
			pcm[i * channels + c] =
				(float)(amp * sin(2 * M_PI * freq * (double)i /
						  rate));
	}
	sf = sf_open_fd(fd, SFM_WRITE, &info, 1);
	cr_assert_not_null(sf, "sf_open_fd: %s", sf_strerror(NULL));
	cr_assert_eq(sf_writef_float(sf, pcm, frames), frames);
	sf_close(sf);
	free(pcm);

	f = fopen(path, "rb");
	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	unlink(path);
	*lenp = (size_t)n;
	return buf;
}

static int ulaw_decode(uint8_t u)
{
	int t;

	u = (uint8_t)~u;
	t = ((u & 0x0f) << 3) + 0x84;
	t <<= (u & 0x70) >> 4;
	return (u & 0x80) ? (0x84 - t) : (t - 0x84);
}

static int alaw_decode(uint8_t a)
{
	int t, seg;

	a ^= 0x55;
	t = (a & 0x0f) << 4;
	seg = (a & 0x70) >> 4;
	if (seg == 0)
		t += 8;
	else
		t = (t + 0x108) << (seg - 1);
	return (a & 0x80) ? t : -t;
}

/* Sign changes, ignoring exact zeros (G.711 has a +0 and a -0). */
static unsigned zero_crossings(const uint8_t *g711, size_t n,
			       int (*decode)(uint8_t), int *peak)
{
	unsigned crossings = 0;
	int last = 0;

	*peak = 0;
	for (size_t i = 0; i < n; i++) {
		int v = decode(g711[i]);
		int s = (v > 0) - (v < 0);

		if (abs(v) > *peak)
			*peak = abs(v);
		if (s && last && s != last)
			crossings++;
		if (s)
			last = s;
	}
	return crossings;
}

Test(prompt_convert, stereo_16k_second_becomes_8000_samples_per_law)
{
	size_t len;
	uint8_t *wav = make_audio(SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 2,
				  1.0, 440, 0.5, &len);
	struct prompt_audio *pa = NULL;
	char why[256] = "";

	cr_assert_eq(prompt_convert(&pa, wav, len, why, sizeof(why)), 0,
		     "%s", why);
	cr_assert_eq(pa->len, 8000);
	cr_assert_eq(pa->ms, 1000);
	cr_assert_not_null(pa->ulaw);
	cr_assert_not_null(pa->alaw);
	prompt_audio_free(pa);
	free(wav);
}

Test(prompt_convert, ulaw_and_alaw_decode_to_the_440hz_tone)
{
	size_t len;
	uint8_t *wav = make_audio(SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 2,
				  1.0, 440, 0.5, &len);
	struct prompt_audio *pa = NULL;
	unsigned zc;
	int peak;

	cr_assert_eq(prompt_convert(&pa, wav, len, NULL, 0), 0);
	zc = zero_crossings(pa->ulaw, pa->len, ulaw_decode, &peak);
	cr_expect(zc >= 836 && zc <= 924, "mu-law: %u zero crossings", zc);
	/* Both channels carry the tone at 0.5: the mono mix keeps 0.5. */
	cr_expect(peak > 14000 && peak < 18500, "mu-law peak %d", peak);
	zc = zero_crossings(pa->alaw, pa->len, alaw_decode, &peak);
	cr_expect(zc >= 836 && zc <= 924, "A-law: %u zero crossings", zc);
	cr_expect(peak > 14000 && peak < 18500, "A-law peak %d", peak);
	prompt_audio_free(pa);
	free(wav);
}

Test(prompt_convert, mono_8k_input_keeps_its_length)
{
	size_t len;
	uint8_t *wav = make_audio(SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1,
				  0.25, 1000, 0.3, &len);
	struct prompt_audio *pa = NULL;

	cr_assert_eq(prompt_convert(&pa, wav, len, NULL, 0), 0);
	cr_expect_eq(pa->len, 2000);
	cr_expect_eq(pa->ms, 250);
	prompt_audio_free(pa);
	free(wav);
}

Test(prompt_convert, full_scale_48k_float_does_not_wrap)
{
	size_t len;
	uint8_t *wav = make_audio(SF_FORMAT_WAV | SF_FORMAT_FLOAT, 48000, 1,
				  0.5, 300, 1.0, &len);
	struct prompt_audio *pa = NULL;
	unsigned zc;
	int peak;

	cr_assert_eq(prompt_convert(&pa, wav, len, NULL, 0), 0);
	cr_expect_eq(pa->len, 4000);
	zc = zero_crossings(pa->ulaw, pa->len, ulaw_decode, &peak);
	/* A wrapped sample would add crossings at every peak. */
	cr_expect(zc >= 285 && zc <= 315, "%u zero crossings", zc);
	prompt_audio_free(pa);
	free(wav);
}

Test(prompt_convert, garbage_bytes_are_not_audio)
{
	uint8_t junk[4096];
	struct prompt_audio *pa = NULL;
	char why[256] = "";

	srand(42);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)rand();
	cr_assert_eq(prompt_convert(&pa, junk, sizeof(junk), why, sizeof(why)),
		     -EINVAL);
	cr_expect_null(pa);
	cr_expect(strstr(why, "not a WAV/audio file") != NULL, "%s", why);
}

Test(prompt_convert, empty_upload_is_invalid)
{
	struct prompt_audio *pa = NULL;
	char why[256] = "";

	cr_assert_eq(prompt_convert(&pa, "", 0, why, sizeof(why)), -EINVAL);
	cr_expect_null(pa);
	cr_expect(why[0] != '\0');
}

Test(prompt_convert, wav_without_samples_is_invalid)
{
	size_t len;
	uint8_t *wav = make_audio(SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1,
				  0, 440, 0.5, &len);
	struct prompt_audio *pa = NULL;
	char why[256] = "";

	cr_assert_eq(prompt_convert(&pa, wav, len, why, sizeof(why)),
		     -EINVAL);
	cr_expect_null(pa);
	cr_expect(strstr(why, "zero length") != NULL, "%s", why);
	free(wav);
}

Test(prompt_convert, over_ten_minutes_is_invalid)
{
	size_t len;
	/* 601 s at the lowest accepted rate keeps the test file small. */
	uint8_t *wav = make_audio(SF_FORMAT_WAV | SF_FORMAT_PCM_U8, 1000, 1,
				  601, 100, 0.5, &len);
	struct prompt_audio *pa = NULL;
	char why[256] = "";

	cr_assert_eq(prompt_convert(&pa, wav, len, why, sizeof(why)),
		     -EINVAL);
	cr_expect_null(pa);
	cr_expect(strstr(why, "10 minutes") != NULL, "%s", why);
	free(wav);
}

Test(prompt_convert, over_16_mib_is_refused_before_reading)
{
	static const uint8_t one[1];
	struct prompt_audio *pa = NULL;
	char why[256] = "";

	/* The length is checked first; the bytes behind it are never read. */
	cr_assert_eq(prompt_convert(&pa, one, PROMPT_MAX_INPUT + 1, why,
				    sizeof(why)),
		     -EFBIG);
	cr_expect_str_eq(why, "upload is 16777217 bytes; the limit is 16 MiB");
}
