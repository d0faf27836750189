/* Fax receiver: spandsp's T.30 answerer behind a small jitter queue, one
 * 20 ms frame in and one out per tick. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <spandsp.h>

#include "fax_recv.h"
#include "mwlaw.h"

struct fax_recv {
	fax_state_t *fax;
	t30_state_t *t30;

	/* The jitter queue: samples and, per sample, whether it stands for
	 * lost audio (fed as a fill-in). A ring of QUEUE_MAX. */
	int16_t q[FAX_RECV_QUEUE_MAX];
	bool lost[FAX_RECV_QUEUE_MAX];
	size_t head, n;
	bool priming;
	size_t debt; /* samples owed to the receiver, not arrived yet */
	bool have_seq;
	uint16_t next_seq;
	size_t last_len; /* samples of the last packet queued */

	bool done;
	struct fax_recv_result res; /* filled at phase E */
	struct fax_recv_stats st;
};

static void stats_fill(struct fax_recv *f, struct fax_recv_result *r)
{
	t30_stats_t t;
	const char *id;

	memset(&t, 0, sizeof(t));
	t30_get_transfer_statistics(f->t30, &t);
	r->pages = t.pages_rx > 0 ? (unsigned)t.pages_rx : 0;
	/* spandsp counts resolution in pels per metre. */
	r->x_dpi = t.x_resolution > 0
			   ? (unsigned)((t.x_resolution * 254 + 5000) / 10000)
			   : 0;
	r->y_dpi = t.y_resolution > 0
			   ? (unsigned)((t.y_resolution * 254 + 5000) / 10000)
			   : 0;
	r->width = t.width > 0 ? (unsigned)t.width : 0;
	r->bit_rate = t.bit_rate > 0 ? (unsigned)t.bit_rate : 0;
	r->ecm = t.error_correcting_mode != 0;
	r->bad_rows = t.bad_rows > 0 ? (unsigned)t.bad_rows : 0;
	id = t30_get_rx_ident(f->t30);
	/* The sender's TSI is free text from the line: printable only. */
	memset(r->remote_id, 0, sizeof(r->remote_id));
	for (size_t i = 0, o = 0; id && id[i] && o < FAX_RECV_IDENT_MAX; i++)
		if (id[i] >= 0x20 && id[i] < 0x7f)
			r->remote_id[o++] = id[i];
	/* T.30 pads the id with spaces on the left. */
	while (r->remote_id[0] == ' ')
		memmove(r->remote_id, r->remote_id + 1, strlen(r->remote_id));
}

static void phase_e(t30_state_t *s, void *arg, int code)
{
	struct fax_recv *f = arg;

	(void)s;
	if (f->done)
		return;
	f->done = true;
	stats_fill(f, &f->res);
	f->res.code = code;
	f->res.text = t30_completion_code_to_str(code);
}

int fax_recv_alloc(struct fax_recv **fp, const struct fax_recv_opts *o)
{
	struct fax_recv *f;
	int comp = T30_SUPPORT_T4_1D_COMPRESSION |
		   T30_SUPPORT_T4_2D_COMPRESSION;

	if (!fp || !o || !o->tiff_path || !o->tiff_path[0])
		return -EINVAL;
	if (o->ident && strlen(o->ident) > FAX_RECV_IDENT_MAX)
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->fax = fax_init(NULL, false); /* the answering side: CED, DIS */
	if (!f->fax) {
		free(f);
		return -ENOMEM;
	}
	f->t30 = fax_get_t30_state(f->fax);
	/* Every frame carries audio, silence when idle: the RTP stream
	 * never pauses, so the sender's jitter buffer never resets. */
	fax_set_transmit_on_idle(f->fax, true);
	t30_set_supported_modems(f->t30, T30_SUPPORT_V27TER | T30_SUPPORT_V29 |
						 T30_SUPPORT_V17);
	/* T.6 only with ECM (T.30 requires it). */
	if (o->ecm)
		comp |= T30_SUPPORT_T6_COMPRESSION;
	t30_set_supported_compressions(f->t30, comp);
	t30_set_ecm_capability(f->t30, o->ecm);
	if (o->ident && o->ident[0])
		t30_set_tx_ident(f->t30, o->ident);
	t30_set_rx_file(f->t30, o->tiff_path, -1);
	t30_set_phase_e_handler(f->t30, phase_e, f);
	f->priming = true;
	*fp = f;
	return 0;
}

void fax_recv_free(struct fax_recv *f)
{
	if (!f)
		return;
	fax_free(f->fax);
	free(f);
}

static void push(struct fax_recv *f, int16_t s, bool lost)
{
	size_t tail;

	if (f->n == FAX_RECV_QUEUE_MAX) {
		/* Full: the oldest sample goes. */
		f->head = (f->head + 1) % FAX_RECV_QUEUE_MAX;
		f->n--;
		f->st.dropped++;
	}
	tail = (f->head + f->n) % FAX_RECV_QUEUE_MAX;
	f->q[tail] = s;
	f->lost[tail] = lost;
	f->n++;
}

/* A packet older than the newest: if the gap it left is still queued
 * (filled as lost), its audio takes that place; otherwise its time has
 * passed (or it is a repeat). */
static void late_packet(struct fax_recv *f, uint16_t back,
			const uint8_t *payload, size_t len, enum offer_law law)
{
	size_t off = (size_t)back * len, start;

	if (len != f->last_len || off > f->n) {
		f->st.late++;
		return;
	}
	start = (f->head + f->n - off) % FAX_RECV_QUEUE_MAX;
	for (size_t i = 0; i < len; i++) {
		if (!f->lost[(start + i) % FAX_RECV_QUEUE_MAX]) {
			f->st.late++; /* a repeat: that audio is here */
			return;
		}
	}
	for (size_t i = 0; i < len; i++) {
		size_t k = (start + i) % FAX_RECV_QUEUE_MAX;

		f->q[k] = mwlaw_decode(payload[i], law);
		f->lost[k] = false;
	}
	f->st.lost--;
	f->st.reordered++;
}

void fax_recv_packet(struct fax_recv *f, uint16_t seq, const uint8_t *payload,
		     size_t len, enum offer_law law)
{
	uint16_t gap;

	if (!f || !payload || !len)
		return;
	if (len > 8000)
		len = 8000;
	if (f->have_seq) {
		gap = (uint16_t)(seq - f->next_seq);
		if (gap >= 0x8000) {
			late_packet(f, (uint16_t)(f->next_seq - seq), payload,
				    len, law);
			return;
		}
		if (gap && gap <= FAX_RECV_MAX_GAP) {
			f->st.lost += gap;
			for (size_t i = 0; i < gap * len; i++)
				push(f, 0, true);
		}
	}
	f->have_seq = true;
	f->next_seq = (uint16_t)(seq + 1);
	f->last_len = len;
	for (size_t i = 0; i < len; i++)
		push(f, mwlaw_decode(payload[i], law), false);
}

/* Feeds n queued samples: runs of audio to fax_rx, runs of loss to
 * fax_rx_fillin. */
static void feed(struct fax_recv *f, size_t n)
{
	int16_t buf[FAX_RECV_FRAME];

	while (n) {
		bool lost = f->lost[f->head];
		size_t k = 0;

		while (k < n && k < FAX_RECV_FRAME &&
		       f->lost[(f->head + k) % FAX_RECV_QUEUE_MAX] == lost) {
			buf[k] = f->q[(f->head + k) % FAX_RECV_QUEUE_MAX];
			k++;
		}
		if (lost) {
			fax_rx_fillin(f->fax, (int)k);
			f->st.filled += k;
		} else {
			fax_rx(f->fax, buf, (int)k);
			f->st.fed += k;
		}
		f->head = (f->head + k) % FAX_RECV_QUEUE_MAX;
		f->n -= k;
		n -= k;
	}
}

void fax_recv_tick(struct fax_recv *f, uint8_t out[FAX_RECV_FRAME],
		   enum offer_law law)
{
	int16_t amp[FAX_RECV_FRAME];
	size_t take;
	int got;

	if (f->priming && f->n >= FAX_RECV_PRIME)
		f->priming = false;
	if (f->priming) {
		/* Nothing to play yet: the T.30 timers still run. */
		fax_rx_fillin(f->fax, FAX_RECV_FRAME);
		f->st.filled += FAX_RECV_FRAME;
	} else {
		/* Each tick owes the receiver 20 ms; what has not arrived
		 * yet (jitter, or packets still in the socket after a late
		 * wake-up) is fed on a later tick instead of being filled
		 * in: a fill-in during training costs the fax. Only a
		 * stream that stays dry beyond the slack is filled in, and
		 * the queue primes again. */
		f->debt += FAX_RECV_FRAME;
		take = f->n < f->debt ? f->n : f->debt;
		if (take)
			feed(f, take);
		f->debt -= take;
		if (f->debt > FAX_RECV_SLACK) {
			fax_rx_fillin(f->fax, (int)f->debt);
			f->st.filled += f->debt;
			f->debt = 0;
			f->priming = true;
		}
	}
	got = fax_tx(f->fax, amp, FAX_RECV_FRAME);
	if (got < 0)
		got = 0;
	memset(amp + got, 0, (FAX_RECV_FRAME - (size_t)got) * sizeof(*amp));
	for (size_t i = 0; i < FAX_RECV_FRAME; i++)
		out[i] = mwlaw_encode(amp[i], law);
}

void fax_recv_hangup(struct fax_recv *f)
{
	if (f && !f->done)
		t30_terminate(f->t30); /* phase E fires from inside */
}

bool fax_recv_done(const struct fax_recv *f)
{
	return f && f->done;
}

void fax_recv_result(const struct fax_recv *f, struct fax_recv_result *r)
{
	if (f->done) {
		*r = f->res;
		return;
	}
	memset(r, 0, sizeof(*r));
	stats_fill((struct fax_recv *)f, r);
	r->code = -1;
	r->text = "in progress";
}

void fax_recv_stats(const struct fax_recv *f, struct fax_recv_stats *s)
{
	*s = f->st;
}
