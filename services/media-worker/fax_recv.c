/* Fax receiver: spandsp's T.30 answerer behind a small jitter queue, one
 * 20 ms frame in and one out per tick; or, after a switch, spandsp's T.38
 * terminal behind our UDPTL. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spandsp.h>

#include "fax_recv.h"
#include "fax_t30fix.h"
#include "mwlaw.h"
#include "udptl.h"

/* An indicator spandsp asks to repeat goes at most this often. */
#define T38_COPIES_MAX 3

struct fax_recv {
	fax_state_t *fax;	     /* audio mode */
	t38_terminal_state_t *t38;   /* T.38 mode */
	t30_state_t *t30;	     /* of whichever runs */
	/* T.30's settings, to start it again on T.38. */
	char tiff_path[512];
	char ident[FAX_RECV_IDENT_MAX + 1];
	bool ecm, t30_as_is;
	int modems;
	enum fax_recv_fill fill;
	/* The last packet's audio, what a lost one is filled with (REPEAT);
	 * a longer packet repeats its first REPEAT_MAX samples. */
	int16_t last[FAX_RECV_PRIME];
	size_t last_n;
	struct udptl_tx utx;
	struct udptl_rx urx;
	fax_recv_send_h *sendh;
	void *send_arg;
	/* spandsp 0.0.6's answerer takes repeated DCS and PPS (audio mode;
	 * spandsp holds its address). */
	struct fax_t30fix fix;
	modem_connect_tones_rx_state_t *cng; /* audio mode, until heard */
	bool cng_heard;

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
	f->res.t38 = f->t38 != NULL;
}

/* T.30 as the box wants it, on either transport. */
static void t30_setup(struct fax_recv *f)
{
	int comp = T30_SUPPORT_T4_1D_COMPRESSION |
		   T30_SUPPORT_T4_2D_COMPRESSION;

	t30_set_supported_modems(
		f->t30, (f->modems & FAX_RECV_V27TER ? T30_SUPPORT_V27TER : 0) |
				(f->modems & FAX_RECV_V29 ? T30_SUPPORT_V29 : 0) |
				(f->modems & FAX_RECV_V17 ? T30_SUPPORT_V17 : 0));
	/* T.6 only with ECM (T.30 requires it). */
	if (f->ecm)
		comp |= T30_SUPPORT_T6_COMPRESSION;
	t30_set_supported_compressions(f->t30, comp);
	t30_set_ecm_capability(f->t30, f->ecm);
	if (f->ident[0])
		t30_set_tx_ident(f->t30, f->ident);
	t30_set_rx_file(f->t30, f->tiff_path, -1);
	t30_set_phase_e_handler(f->t30, phase_e, f);
}

int fax_recv_alloc(struct fax_recv **fp, const struct fax_recv_opts *o)
{
	struct fax_recv *f;

	if (!fp || !o || !o->tiff_path || !o->tiff_path[0])
		return -EINVAL;
	if (o->ident && strlen(o->ident) > FAX_RECV_IDENT_MAX)
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	if (snprintf(f->tiff_path, sizeof(f->tiff_path), "%s", o->tiff_path) >=
	    (int)sizeof(f->tiff_path)) {
		free(f);
		return -EINVAL;
	}
	snprintf(f->ident, sizeof(f->ident), "%s", o->ident ? o->ident : "");
	f->ecm = o->ecm;
	f->modems = o->modems ? o->modems : FAX_RECV_MODEMS;
	f->fill = o->fill;
	f->t30_as_is = o->t30_as_is;
	f->fax = fax_init(NULL, false); /* the answering side: CED, DIS */
	if (!f->fax) {
		free(f);
		return -ENOMEM;
	}
	f->t30 = fax_get_t30_state(f->fax);
	if (!f->t30_as_is)
		fax_t30fix_attach(&f->fix, f->fax);
	/* Every frame carries audio, silence when idle: the RTP stream
	 * never pauses, so the sender's jitter buffer never resets. */
	fax_set_transmit_on_idle(f->fax, true);
	t30_setup(f);
	f->cng = modem_connect_tones_rx_init(NULL, MODEM_CONNECT_TONES_FAX_CNG,
					     NULL, NULL);
	if (!f->cng) {
		fax_free(f->fax);
		free(f);
		return -ENOMEM;
	}
	f->priming = true;
	*fp = f;
	return 0;
}

void fax_recv_free(struct fax_recv *f)
{
	if (!f)
		return;
	if (f->fax)
		fax_free(f->fax);
	if (f->t38)
		t38_terminal_free(f->t38);
	if (f->cng)
		modem_connect_tones_rx_free(f->cng);
	free(f);
}

/* The terminal's IFPs, each in a UDPTL packet (with the previous ones as
 * redundancy); an indicator spandsp wants repeated goes `count` times. */
static int t38_tx(t38_core_state_t *s, void *arg, const uint8_t *buf, int len,
		  int count)
{
	struct fax_recv *f = arg;
	uint8_t pkt[UDPTL_IFP_MAX * 2];
	int n;

	(void)s;
	if (len <= 0)
		return -1;
	n = udptl_encode(&f->utx, buf, (size_t)len, pkt, sizeof(pkt));
	if (n < 0)
		return -1;
	if (count < 1)
		count = 1;
	if (count > T38_COPIES_MAX)
		count = T38_COPIES_MAX;
	for (int i = 0; i < count; i++) {
		f->sendh(pkt, (size_t)n, f->send_arg);
		f->st.t38_sent++;
	}
	return 0;
}

int fax_recv_t38(struct fax_recv *f, unsigned redundancy, size_t max_datagram,
		 fax_recv_send_h *sendh, void *arg)
{
	t30_stats_t st;

	if (!f || !sendh)
		return -EINVAL;
	if (f->t38 || f->done)
		return -EALREADY;
	memset(&st, 0, sizeof(st));
	t30_get_transfer_statistics(f->t30, &st);
	if (st.pages_rx > 0)
		return -EBUSY;
	udptl_tx_init(&f->utx, redundancy, max_datagram);
	udptl_rx_init(&f->urx);
	f->sendh = sendh;
	f->send_arg = arg;
	f->t38 = t38_terminal_init(NULL, false, t38_tx, f);
	if (!f->t38)
		return -ENOMEM;
	/* The audio T.30 goes without a phase E: it never got a page, and
	 * the fax is the T.38 one from here. Its TIFF was never opened. */
	t30_set_phase_e_handler(f->t30, NULL, NULL);
	fax_free(f->fax);
	f->fax = NULL;
	f->t30 = t38_terminal_get_t30_state(f->t38);
	if (max_datagram)
		t38_set_max_datagram_size(
			t38_terminal_get_t38_core_state(f->t38),
			(int)max_datagram);
	t30_setup(f);
	f->n = 0;
	f->debt = 0;
	return 0;
}

int fax_recv_audio(struct fax_recv *f)
{
	t30_stats_t st;
	fax_state_t *fax;

	if (!f)
		return -EINVAL;
	if (!f->t38 || f->done)
		return -EALREADY;
	memset(&st, 0, sizeof(st));
	t30_get_transfer_statistics(f->t30, &st);
	if (st.pages_rx > 0)
		return -EBUSY;
	fax = fax_init(NULL, false);
	if (!fax)
		return -ENOMEM;
	/* As in fax_recv_t38: the T.38 session goes without a phase E. */
	t30_set_phase_e_handler(f->t30, NULL, NULL);
	t38_terminal_free(f->t38);
	f->t38 = NULL;
	f->fax = fax;
	f->t30 = fax_get_t30_state(fax);
	if (!f->t30_as_is)
		fax_t30fix_attach(&f->fix, fax);
	fax_set_transmit_on_idle(fax, true);
	t30_setup(f);
	f->n = 0;
	f->debt = 0;
	f->priming = true;
	f->have_seq = false;
	return 0;
}

bool fax_recv_is_t38(const struct fax_recv *f)
{
	return f && f->t38;
}

bool fax_recv_cng_heard(const struct fax_recv *f)
{
	return f && f->cng_heard;
}

static void t38_ifp(const uint8_t *ifp, size_t len, uint16_t seq, void *arg)
{
	struct fax_recv *f = arg;

	t38_core_rx_ifp_packet(t38_terminal_get_t38_core_state(f->t38), ifp,
			       (int)len, seq);
}

void fax_recv_udptl(struct fax_recv *f, const uint8_t *pkt, size_t len)
{
	if (!f || !f->t38 || !pkt)
		return;
	if (udptl_decode(&f->urx, pkt, len, t38_ifp, f))
		f->st.t38_bad++;
	else
		f->st.t38_rx++;
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

	if (!f || !f->fax || !payload || !len)
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
				push(f,
				     f->fill == FAX_RECV_FILL_REPEAT && f->last_n
					     ? f->last[i % len % f->last_n]
					     : 0,
				     true);
		}
	}
	f->have_seq = true;
	f->next_seq = (uint16_t)(seq + 1);
	f->last_len = len;
	f->last_n = len < FAX_RECV_PRIME ? len : FAX_RECV_PRIME;
	for (size_t i = 0; i < len; i++) {
		int16_t v = mwlaw_decode(payload[i], law);

		if (i < f->last_n)
			f->last[i] = v;
		push(f, v, false);
	}
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
		if (lost && f->fill == FAX_RECV_FILL_FILLIN) {
			fax_rx_fillin(f->fax, (int)k);
			f->st.filled += k;
		} else if (lost) {
			/* The repeated (or silent) audio put in its place. */
			fax_rx(f->fax, buf, (int)k);
			f->st.filled += k;
		} else {
			fax_rx(f->fax, buf, (int)k);
			f->st.fed += k;
			if (!f->cng_heard) {
				modem_connect_tones_rx(f->cng, buf, (int)k);
				f->cng_heard =
					modem_connect_tones_rx_get(f->cng) != 0;
			}
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

	if (f->t38) {
		t38_terminal_send_timeout(f->t38, FAX_RECV_FRAME);
		memset(out, mwlaw_encode(0, law), FAX_RECV_FRAME);
		return;
	}
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
	r->t38 = f->t38 != NULL;
	r->code = -1;
	r->text = "in progress";
}

void fax_recv_stats(const struct fax_recv *f, struct fax_recv_stats *s)
{
	*s = f->st;
	s->t38_recovered = f->urx.recovered;
	s->t38_lost = f->urx.lost;
	s->dcs_again = f->fix.dcs_again;
	s->pps_again = f->fix.pps_again;
}
