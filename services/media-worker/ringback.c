/* Ringback cadence parsing and rendering (spandsp tone_gen). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <spandsp.h>

#include "mwlaw.h"
#include "ringback.h"

static int num(const char **p, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (**p < '0' || **p > '9')
		return -EINVAL;
	v = strtol(*p, &end, 10);
	if (end == *p || v < lo || v > hi)
		return -EINVAL;
	*p = end;
	*out = v;
	return 0;
}

int ringback_parse(struct ringback_spec *rs, const char *str)
{
	const char *p = str;
	long f1, f2 = 0, on, off, level = 13;

	if (!rs || !str)
		return -EINVAL;
	if (num(&p, 50, 3900, &f1))
		return -EINVAL;
	if (*p == '+' && (p++, num(&p, 50, 3900, &f2)))
		return -EINVAL;
	if (*p++ != '/' || num(&p, 20, 10000, &on))
		return -EINVAL;
	if (*p++ != '/' || num(&p, 0, 20000, &off))
		return -EINVAL;
	if (*p == '/') {
		p++;
		if (*p++ != '-' || num(&p, 3, 40, &level))
			return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	rs->f1 = (int)f1;
	rs->f2 = (int)f2;
	rs->level = -(int)level;
	rs->on_ms = (uint32_t)on;
	rs->off_ms = (uint32_t)off;
	return 0;
}

int ringback_render(const struct ringback_spec *rs, enum offer_law law,
		    uint8_t **bufp, size_t *lenp)
{
	tone_gen_descriptor_t *desc;
	tone_gen_state_t *gen;
	int16_t amp[160];
	uint8_t *buf;
	size_t on, n, pos = 0;

	if (!rs || !bufp || !lenp || !rs->on_ms)
		return -EINVAL;
	on = (size_t)rs->on_ms * 8;
	n = on + (size_t)rs->off_ms * 8;
	/* Only the tone part is generated: the pause is exact silence, not
	 * whatever tone_gen's cadence rounding would leave there. */
	desc = tone_gen_descriptor_init(NULL, rs->f1, rs->level, rs->f2,
					rs->level, (int)rs->on_ms, 0, 0, 0, 0);
	gen = desc ? tone_gen_init(NULL, desc) : NULL;
	buf = gen ? malloc(n) : NULL;
	if (!buf) {
		if (gen)
			tone_gen_free(gen);
		if (desc)
			tone_gen_descriptor_free(desc);
		return -ENOMEM;
	}
	while (pos < on) {
		size_t k = on - pos < 160 ? on - pos : 160;
		int got = tone_gen(gen, amp, (int)k);

		for (int i = 0; i < got; i++)
			buf[pos + (size_t)i] = mwlaw_encode(amp[i], law);
		for (size_t i = (size_t)(got > 0 ? got : 0); i < k; i++)
			buf[pos + i] = mwlaw_encode(0, law);
		pos += k;
	}
	tone_gen_free(gen);
	tone_gen_descriptor_free(desc);
	memset(buf + on, mwlaw_encode(0, law), n - on);
	*bufp = buf;
	*lenp = n;
	return 0;
}
