/* Call recording: two FIFOs of decoded samples, mixed (or interleaved
 * as two channels) every 20 ms. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "callrec.h"
#include "mwlaw.h"
#include "pacer.h"
#include "recorder.h"

enum {
	FRAME = 160,	      /* 20 ms at 8 kHz */
	FIFO_MAX = FRAME * 8, /* 160 ms of jitter; older samples dropped */
	MAX_MS_DEFAULT = 4 * 3600 * 1000,
	CATCHUP_MAX = 50, /* periods mixed at once after a late wake-up */
};

struct fifo {
	int16_t s[FIFO_MAX];
	size_t head, len;
};

struct callrec {
	struct recorder *rec;
	struct pacer *pacer;
	struct pacer_entry pe;
	struct fifo side[2];
	uint32_t max_ms;
	uint64_t start_ms;
	bool started;
	bool stereo; /* caller left, callee right */
};

static void fifo_push(struct fifo *f, int16_t v)
{
	if (f->len == FIFO_MAX) { /* full: the oldest goes */
		f->head = (f->head + 1) % FIFO_MAX;
		f->len--;
	}
	f->s[(f->head + f->len) % FIFO_MAX] = v;
	f->len++;
}

static int16_t fifo_pop(struct fifo *f)
{
	int16_t v;

	if (!f->len)
		return 0; /* nothing arrived: silence */
	v = f->s[f->head];
	f->head = (f->head + 1) % FIFO_MAX;
	f->len--;
	return v;
}

static void tick_handler(uint64_t periods, uint64_t now_ms, void *arg)
{
	(void)now_ms;
	callrec_mix(arg, periods);
}

int callrec_alloc(struct callrec **crp, struct recorder *rec,
		  struct pacer *pacer, uint32_t max_ms)
{
	struct callrec *cr;

	if (!crp || !rec)
		return -EINVAL;
	cr = calloc(1, sizeof(*cr));
	if (!cr)
		return -ENOMEM;
	cr->rec = rec;
	cr->pacer = pacer;
	cr->stereo = recorder_channels(rec) == 2;
	cr->max_ms = max_ms && max_ms <= MAX_MS_DEFAULT ? max_ms
							: MAX_MS_DEFAULT;
	pacer_entry_init(&cr->pe, tick_handler, cr);
	*crp = cr;
	return 0;
}

int callrec_start(struct callrec *cr, uint64_t now_wall_ms)
{
	int err = 0;

	if (!cr)
		return -EINVAL;
	if (cr->started)
		return 0;
	if (cr->pacer)
		err = pacer_add(cr->pacer, &cr->pe);
	if (err)
		return err;
	cr->started = true;
	cr->start_ms = now_wall_ms;
	return 0;
}

bool callrec_started(const struct callrec *cr)
{
	return cr && cr->started;
}

uint64_t callrec_start_ms(const struct callrec *cr)
{
	return cr ? cr->start_ms : 0;
}

void callrec_audio(struct callrec *cr, enum callrec_side side,
		   const uint8_t *payload, size_t len, enum offer_law law)
{
	struct fifo *f;

	if (!cr || !cr->started || (unsigned)side > CALLREC_CALLEE)
		return;
	f = &cr->side[side];
	if (len > FIFO_MAX)
		len = FIFO_MAX;
	for (size_t i = 0; i < len; i++)
		fifo_push(f, mwlaw_decode(payload[i], law));
}

void callrec_mix(struct callrec *cr, uint64_t periods)
{
	int16_t out[2 * FRAME];

	if (!cr || !cr->started)
		return;
	if (periods > CATCHUP_MAX)
		periods = CATCHUP_MAX;
	while (periods--) {
		if (recorder_ms(cr->rec) >= cr->max_ms)
			return; /* the rest of the call is not recorded */
		if (cr->stereo) {
			for (size_t i = 0; i < FRAME; i++) {
				out[2 * i] = fifo_pop(&cr->side[0]);
				out[2 * i + 1] = fifo_pop(&cr->side[1]);
			}
			recorder_pcm(cr->rec, out, FRAME);
			continue;
		}
		for (size_t i = 0; i < FRAME; i++) {
			int32_t v = (int32_t)fifo_pop(&cr->side[0]) +
				    fifo_pop(&cr->side[1]);

			out[i] = (int16_t)(v > 32767	? 32767
					   : v < -32768 ? -32768
							: v);
		}
		recorder_pcm(cr->rec, out, FRAME);
	}
}

struct recorder *callrec_finish(struct callrec *cr)
{
	struct recorder *rec = NULL;

	if (!cr)
		return NULL;
	if (cr->started) {
		rec = cr->rec;
		cr->rec = NULL;
	}
	callrec_free(cr);
	return rec;
}

void callrec_free(struct callrec *cr)
{
	if (!cr)
		return;
	if (cr->pacer)
		pacer_remove(cr->pacer, &cr->pe);
	recorder_free(cr->rec);
	free(cr);
}
