/* A queued caller's audio (issue 9): the QueueHold command's music, entry
 * prompt and periodic prompt, and the position and estimated-wait
 * announcements the queue-manager's news (QueueAnnounce) brings. Words
 * come from say.c; each is the tenant's prompt of that name, else the
 * system sound set in the tenant's language (queue_prompts.cmake). An
 * announcement is one buffer of its words, played between music
 * (mwcall_hold_say); the hold ends by itself once something else plays
 * (an agent answered, a StopPlay, a Play). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_log.h"
#include "prompt_cache.h"
#include "queue_sounds.h"
#include "say.h"
#include "worker_priv.h"

#include "pbx/v1/envelope.pb-c.h"

/* The words of one announcement: the periodic prompt and two sentences. */
enum { PIECES_MAX = 1 + 2 * SAY_WORDS_MAX, SAY_RETRY_MS = 500 };
/* No announcement is longer than this (8 kHz G.711: 1 byte a sample). */
#define ANNOUNCE_BYTES_MAX (120u * 8000u)

struct worker_queue {
	struct worker_call *wc;
	struct tmr tmr_period;
	struct tmr tmr_say; /* news waiting for the current announcement */
	char moh[PBX_ID_MAX + 1];
	char periodic[PBX_ID_MAX + 1];
	uint32_t period_ms;
	enum say_lang lang;
	bool say_pos, say_wait;
	char cb_num[8];	      /* "num_<d>": the call-back key, "" none */
	uint32_t pos, wait_s; /* the latest news (0: none) */
	uint32_t said_pos;    /* the position said last */
};

/* The system sound `name` in lang (English when lang has none). */
static const struct sys_sound *sound_of(enum say_lang lang,
					  const char *name)
{
	const struct sys_sound *en = NULL;

	for (size_t i = 0; i < queue_sounds_n; i++) {
		const struct sys_sound *s = &queue_sounds[i];

		if (strcmp(s->name, name))
			continue;
		if (!strcmp(s->lang, say_lang_name(lang)))
			return s;
		if (!strcmp(s->lang, "en"))
			en = s;
	}
	return en;
}

struct piece {
	uint8_t *ref; /* a prompt's audio (libre mem) or NULL */
	const uint8_t *audio;
	size_t len;
};

/* One word: the tenant's prompt of that name, else the system's. */
static int piece_get(struct worker *w, struct worker_queue *q,
		     const char *name, struct piece *p)
{
	const char *tenant = mwcall_tenant(q->wc->call);
	enum offer_law law = mwcall_law(q->wc->call);
	const struct sys_sound *s;
	int err;

	memset(p, 0, sizeof(*p));
	err = prompt_cache_get(w->prompts, tenant, name, law, &p->ref,
			       &p->len);
	if (!err) {
		p->audio = p->ref;
		return 0;
	}
	s = sound_of(q->lang, name);
	if (s) {
		p->audio = law == OFFER_ALAW ? s->alaw : s->ulaw;
		p->len = law == OFFER_ALAW ? *s->alaw_len : *s->ulaw_len;
		return 0;
	}
	/* A tenant's own prompt only (entry, periodic): the other system
	 * sounds stand in while the store is down. */
	err = worker_prompt_audio(w, q->wc, name, &p->ref, &p->len);
	p->audio = p->ref;
	return err;
}

/* The words' audio joined into one libre mem buffer. */
static int join(struct worker *w, struct worker_queue *q,
		const char **names, size_t n, uint8_t **audio, size_t *len)
{
	struct piece p[PIECES_MAX];
	size_t total = 0, k = 0;
	int err = 0;

	for (size_t i = 0; i < n && i < PIECES_MAX; i++) {
		if (piece_get(w, q, names[i], &p[k])) {
			PLOG_WARN("queue announcement: no prompt %s",
				  names[i]);
			continue;
		}
		if (total + p[k].len > ANNOUNCE_BYTES_MAX) {
			mem_deref(p[k].ref);
			break;
		}
		total += p[k++].len;
	}
	*audio = total ? mem_alloc(total, NULL) : NULL;
	if (!*audio)
		err = total ? -ENOMEM : -ENOENT;
	*len = 0;
	for (size_t i = 0; i < k; i++) {
		if (*audio)
			memcpy(*audio + *len, p[i].audio, p[i].len);
		*len += p[i].len;
		mem_deref(p[i].ref);
	}
	return err;
}

/* Plays the words, then the music again. */
static int say(struct worker *w, struct worker_queue *q, const char **names,
	       size_t n, const char *what)
{
	enum offer_law law = mwcall_law(q->wc->call);
	uint8_t *audio = NULL, *moh = NULL;
	size_t len = 0, moh_len = 0;
	int err;

	err = join(w, q, names, n, &audio, &len);
	if (!err)
		err = worker_moh_audio(w, mwcall_tenant(q->wc->call), q->moh,
				       law, &moh, &moh_len);
	if (!err)
		err = mwcall_hold_say(q->wc->call, audio, len, moh, moh_len,
				      0);
	if (err)
		PLOG_WARN("queue %s announcement: %s", what, strerror(-err));
	else
		PLOG_INFO("queue %s announcement: %zu words, %zu ms (%s)",
			  what, n, len / 8, say_lang_name(q->lang));
	mem_deref(audio);
	mem_deref(moh);
	return err;
}

int worker_queue_sound(struct worker_call *wc, const char *name,
		       uint8_t **audio, size_t *len)
{
	const char *names[1] = {name};

	if (!wc->queue)
		return -ENOENT;
	return join(wc->w, wc->queue, names, 1, audio, len);
}

/* The caller's place as the last news gave it, appended to names. */
static void place_words(struct worker_queue *q, const char **names,
			size_t *n)
{
	if (q->say_pos && q->pos)
		(void)say_position(q->lang, q->pos, names, n, PIECES_MAX);
	if (q->say_wait && q->wait_s)
		(void)say_wait(q->lang, q->wait_s, names, n, PIECES_MAX);
	/* The call-back exit, offered after the place. */
	if (q->cb_num[0] && *n && *n + 2 <= PIECES_MAX) {
		names[(*n)++] = "q_callback";
		names[(*n)++] = q->cb_num;
	}
}

static void period_handler(void *arg);
static void say_news(void *arg);

/* The periodic announcement (and the next period's timer), or the news
 * of a new position (after an announcement that plays now). */
static void announce(struct worker_queue *q, bool periodic)
{
	struct worker_call *wc = q->wc;
	const char *names[PIECES_MAX];
	size_t n = 0;

	pbx_log_ctx(mwcall_tenant(wc->call), mwcall_callid(wc->call));
	if (!mwcall_holding(wc->call)) {
		PLOG_DEBUG("queue hold over: nothing said");
		goto out;
	}
	if (!periodic && q->pos == q->said_pos)
		goto out;
	if (!periodic && mwcall_playing_hold(wc->call)) {
		tmr_start(&q->tmr_say, SAY_RETRY_MS, say_news, q);
		goto out;
	}
	if (periodic && q->periodic[0])
		names[n++] = q->periodic;
	place_words(q, names, &n);
	if (n && !say(wc->w, q, names, n, periodic ? "periodic" : "position"))
		q->said_pos = q->pos;
	if (periodic)
		tmr_start(&q->tmr_period, q->period_ms, period_handler, q);
out:
	pbx_log_ctx(NULL, NULL);
}

static void period_handler(void *arg)
{
	announce(arg, true);
}

static void say_news(void *arg)
{
	announce(arg, false);
}

static void queue_free(struct worker_queue *q)
{
	if (!q)
		return;
	tmr_cancel(&q->tmr_period);
	tmr_cancel(&q->tmr_say);
	free(q);
}

void worker_queue_end(struct worker_call *wc)
{
	queue_free(wc->queue);
	wc->queue = NULL;
}

int worker_queue_hold(struct worker *w, struct worker_call *wc,
		      const Pbx__V1__MediaCommand__QueueHold *h, uint64_t seq,
		      const char **why)
{
	const char *tenant = mwcall_tenant(wc->call);
	enum offer_law law = mwcall_law(wc->call);
	struct worker_queue *q;
	uint8_t *moh = NULL;
	size_t moh_len = 0;
	int err;

	if ((h->moh[0] && !pbx_id_valid(h->moh)) ||
	    (h->entry_prompt[0] && !pbx_id_valid(h->entry_prompt)) ||
	    (h->periodic_prompt[0] && !pbx_id_valid(h->periodic_prompt))) {
		*why = "invalid prompt name";
		return -EINVAL;
	}
	if (h->periodic_ms && h->periodic_ms < 5000) {
		*why = "periodic_ms below 5000";
		return -EINVAL;
	}
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	if (say_lang_parse(h->language, &q->lang)) {
		PLOG_WARN("queue hold: language '%.16s' unknown; English",
			  h->language);
		q->lang = SAY_EN;
	}
	q->wc = wc;
	tmr_init(&q->tmr_period);
	tmr_init(&q->tmr_say);
	snprintf(q->moh, sizeof(q->moh), "%s", h->moh);
	snprintf(q->periodic, sizeof(q->periodic), "%s", h->periodic_prompt);
	q->period_ms = h->periodic_ms;
	q->say_pos = h->announce_position;
	q->say_wait = h->announce_wait;
	if (strlen(h->callback_key) == 1 && h->callback_key[0] >= '0' &&
	    h->callback_key[0] <= '9')
		snprintf(q->cb_num, sizeof(q->cb_num), "num_%c",
			 h->callback_key[0]);
	worker_queue_end(wc);
	wc->queue = q;

	err = worker_moh_audio(w, tenant, q->moh, law, &moh, &moh_len);
	if (err) {
		*why = "no music on hold";
		return err;
	}
	if (h->entry_prompt[0]) {
		const char *names[1] = {h->entry_prompt};
		uint8_t *audio = NULL;
		size_t len = 0;

		err = join(w, q, names, 1, &audio, &len);
		if (!err)
			err = mwcall_hold_say(wc->call, audio, len, moh,
					      moh_len, seq);
		mem_deref(audio);
		if (err)
			PLOG_WARN("queue entry prompt %s: %s; music",
				  h->entry_prompt, strerror(-err));
	} else {
		err = -ENOENT;
	}
	if (err)
		err = mwcall_moh(wc->call, moh, moh_len, seq);
	mem_deref(moh);
	if (err) {
		*why = "music on hold";
		return err;
	}
	if (q->period_ms &&
	    (q->periodic[0] || q->say_pos || q->say_wait))
		tmr_start(&q->tmr_period, q->period_ms, period_handler, q);
	PLOG_INFO("queue hold: music %s, entry %s, every %u ms %s%s%s (%s)",
		  q->moh[0] ? q->moh : "built-in",
		  h->entry_prompt[0] ? h->entry_prompt : "-", q->period_ms,
		  q->periodic[0] ? q->periodic : "-",
		  q->say_pos ? " +position" : "", q->say_wait ? " +wait" : "",
		  say_lang_name(q->lang));
	return 0;
}

int worker_queue_announce(struct worker_call *wc,
			  const Pbx__V1__MediaCommand__QueueAnnounce *a)
{
	struct worker_queue *q = wc->queue;

	if (!q || !mwcall_holding(wc->call))
		return -ENOENT;
	q->pos = a->position;
	q->wait_s = a->wait_s;
	PLOG_INFO("queue news: position %u, estimated wait %u s", q->pos,
		  q->wait_s);
	if (q->pos && q->pos != q->said_pos && (q->say_pos || q->say_wait))
		say_news(q);
	return 0;
}
