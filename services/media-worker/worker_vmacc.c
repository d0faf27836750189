/* Voicemail from a phone (MediaCommand.VmAccess, feature codes *97 and
 * *98): the worker runs the whole session of one call by itself: the box
 * number (*98), the box's PIN, "you have N new messages", then new and
 * saved messages with their keys, and the hang-up. Why here and not in
 * the router's walk: the messages are files of this worker's media store,
 * each key must act on the message playing now, and the session keeps
 * nothing that outlives the call (docs/voicemail.md, *Listening from a
 * phone*). Marking heard and deleting go through pbx_vm_box.c, the same
 * rules as provisioning's (box scoped, quota bytes, MWI job, Redis before
 * the file).
 *
 * Events of the call (its digits, the end of a prompt) arrive from the
 * RTP path or the pacer, which must not free the call: they are queued
 * here and handled from the session's own timer. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mwlaw.h"
#include "pbx_log.h"
#include "pbx_vm_box.h"
#include "prompt_store.h"
#include "worker_priv.h"

enum {
	ACC_WAIT_MS = 10000,  /* no key for this long after a prompt */
	ACC_TRIES = 3,	      /* wrong PINs before the hang-up */
	ACC_LOCK_AFTER = 10,  /* wrong PINs of a box, over any number of
			       * calls within ACC_LOCK_S: the box is locked */
	ACC_LOCK_S = 900,     /* the lock window from the first wrong PIN */
	ACC_DIGITS_MAX = 16,  /* a box number or a PIN */
	ACC_MSGS_MAX = 200,   /* messages one session walks through */
	ACC_QUEUE_MAX = 32,   /* digits not handled yet */
	ACC_PIECES_MAX = 3,   /* audio pieces played as one prompt */
};
/* 8 kHz 16-bit: an hour of message (the longest) and its header. */
#define ACC_WAV_MAX (3600u * 16000u + 4096u)

enum acc_state {
	ACC_BOX,  /* entering the box number */
	ACC_PIN,  /* entering the PIN */
	ACC_LIST, /* hearing the count, then a message and the menu */
	ACC_BYE,  /* hearing a last prompt: the hang-up follows */
};

struct vmacc {
	struct worker *w;
	struct worker_call *wc;
	struct tmr run;	 /* handles what was queued */
	struct tmr wait; /* no key after a prompt */
	enum acc_state st;
	char box[PBX_ID_MAX + 1];
	bool own;
	bool has_pin;
	bool locked; /* ACC_LOCK_AFTER wrong PINs in the window */
	char pin[ACC_DIGITS_MAX + 1];
	char dig[ACC_DIGITS_MAX + 2]; /* typed so far (one more: too long) */
	size_t ndig;
	int tries;
	char ids[ACC_MSGS_MAX][PBX_MEDIA_ID_MAX];
	size_t n, cur;
	size_t nnew;
	char queue[ACC_QUEUE_MAX];
	size_t nq;
	bool play_done;
	bool timed_out;
	const char *end_why; /* ACC_BYE: why, for the ENDED event */
};

/* ---- audio ------------------------------------------------------------- */

/* A system prompt (or the tenant's upload of that name). */
static int prompt(struct vmacc *a, const char *name, uint8_t **audio,
		  size_t *len)
{
	return worker_prompt_audio(a->w, a->wc, name, audio, len);
}

/* The data chunk of a RIFF/WAVE file of 16-bit mono PCM (what the
 * recorder writes): its samples, or NULL. */
static const uint8_t *wav_samples(const uint8_t *b, size_t len, size_t *n)
{
	size_t off = 12;

	if (len < 12 || memcmp(b, "RIFF", 4) || memcmp(b + 8, "WAVE", 4))
		return NULL;
	while (off + 8 <= len) {
		uint32_t sz = (uint32_t)b[off + 4] | (uint32_t)b[off + 5] << 8 |
			      (uint32_t)b[off + 6] << 16 |
			      (uint32_t)b[off + 7] << 24;

		if (!memcmp(b + off, "data", 4)) {
			size_t avail = len - off - 8;

			*n = (sz < avail ? sz : avail) / 2;
			return b + off + 8;
		}
		if (sz > len - off - 8)
			return NULL;
		off += 8 + sz + (sz & 1);
	}
	return NULL;
}

/* Message `id` in the call's law, as a libre mem object. */
static int message_audio(struct vmacc *a, const char *id, uint8_t **audio,
			 size_t *len)
{
	enum offer_law law = mwcall_law(a->wc->call);
	const uint8_t *pcm;
	uint8_t *wav = NULL, *out;
	size_t wlen = 0, n = 0;
	int err;

	err = pbx_media_store_read(a->w->cfg->media_root,
				   mwcall_tenant(a->wc->call),
				   PBX_MEDIA_VOICEMAIL, id, &wav, &wlen,
				   ACC_WAV_MAX);
	if (err)
		return err;
	pcm = wav_samples(wav, wlen, &n);
	if (!pcm || !n) {
		free(wav);
		return -EPROTO;
	}
	out = mem_alloc(n, NULL);
	if (!out) {
		free(wav);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = mwlaw_encode(
			(int16_t)(pcm[2 * i] | (uint16_t)pcm[2 * i + 1] << 8),
			law);
	free(wav);
	*audio = out;
	*len = n;
	return 0;
}

static void kick(struct vmacc *a);
static void wait_handler(void *arg);

/* Plays pieces one after the other as one prompt (a key stops it when
 * barge_in); a missing piece is left out (logged). */
static void play(struct vmacc *a, bool barge_in, uint8_t *piece[],
		 size_t plen[], size_t np)
{
	size_t total = 0, off = 0;
	uint8_t *buf;
	int err = -ENOENT;

	tmr_cancel(&a->wait);
	for (size_t i = 0; i < np; i++)
		total += piece[i] ? plen[i] : 0;
	buf = total ? mem_alloc(total, NULL) : NULL;
	for (size_t i = 0; buf && i < np; i++) {
		if (piece[i])
			memcpy(buf + off, piece[i], plen[i]);
		off += piece[i] ? plen[i] : 0;
	}
	for (size_t i = 0; i < np; i++)
		mem_deref(piece[i]);
	if (buf)
		err = mwcall_play(a->wc->call, buf, total, 1, barge_in, 0);
	mem_deref(buf);
	if (err) {
		/* Nothing to hear: as if it had been heard. */
		PLOG_WARN("voicemail access: nothing played: %s",
			  strerror(-err));
		a->play_done = true;
		kick(a);
	}
}

/* Named prompts, then (if id) a message and the menu. */
static void say(struct vmacc *a, bool barge_in, const char *p1,
		const char *p2, const char *id)
{
	uint8_t *piece[ACC_PIECES_MAX] = {NULL};
	size_t plen[ACC_PIECES_MAX] = {0}, np = 0;
	const char *names[2] = {p1, p2};
	int err;

	for (size_t i = 0; i < 2; i++) {
		if (!names[i])
			continue;
		err = prompt(a, names[i], &piece[np], &plen[np]);
		if (err)
			PLOG_WARN("voicemail access: prompt %s: %s", names[i],
				  strerror(-err));
		np++;
	}
	if (id) {
		err = message_audio(a, id, &piece[np], &plen[np]);
		if (err)
			PLOG_WARN("voicemail access: message %s not "
				  "readable: %s",
				  id, strerror(-err));
		np++;
		/* The menu follows the message in the same prompt. */
		if (np < ACC_PIECES_MAX &&
		    !prompt(a, "vm_menu", &piece[np], &plen[np]))
			np++;
	}
	play(a, barge_in, piece, plen, np);
}

/* ---- Redis ------------------------------------------------------------- */

static int store_cmd(void *arg, redisReply **rp, const char *fmt,
		     va_list ap)
{
	return prompt_store_vcommand(arg, rp, fmt, ap);
}

static struct pbx_vm_store vm_store(struct vmacc *a)
{
	return (struct pbx_vm_store){store_cmd, a->w->store,
				     a->w->cfg->media_root};
}

/* Wrong PINs across calls (brute force over many calls, three tries
 * each): the count of the box's wrong PINs lives in Redis for ACC_LOCK_S
 * from the first one; at ACC_LOCK_AFTER the box is locked until the
 * window ends, and the right PIN clears the count. Only boxes with a PIN
 * count (a box that does not exist has nothing to guess). */
/* verb on the box's count; with ttl: "EXPIRE <key> <ttl> NX". */
static void pinfail_cmd(struct vmacc *a, redisReply **rp, const char *verb,
			const char *ttl)
{
	char key[PBX_KEY_MAX];
	int err;

	*rp = NULL;
	err = pbx_key_sub_of(key, sizeof(key), mwcall_tenant(a->wc->call),
			     PBX_K_VM_PINFAIL, a->box);
	if (!err)
		err = ttl ? prompt_store_command(a->w->store, rp,
						 "%s %s %s NX", verb, key, ttl)
			  : prompt_store_command(a->w->store, rp, "%s %s",
						 verb, key);
	if (err)
		PLOG_WARN("voicemail access: box %s: wrong-PIN count not "
			  "reachable",
			  a->box);
}

static void pinfail_check(struct vmacc *a)
{
	redisReply *r;

	pinfail_cmd(a, &r, "GET", NULL);
	a->locked = r && r->type == REDIS_REPLY_STRING &&
		    atoi(r->str) >= ACC_LOCK_AFTER;
	if (r)
		freeReplyObject(r);
}

static void pinfail_count(struct vmacc *a)
{
	char ttl[16];
	redisReply *r;

	pinfail_cmd(a, &r, "INCR", NULL);
	if (r && r->type == REDIS_REPLY_INTEGER &&
	    r->integer >= ACC_LOCK_AFTER && !a->locked) {
		a->locked = true;
		PLOG_WARN("voicemail access: box %s locked: %lld wrong PINs "
			  "within %d s",
			  a->box, r->integer, ACC_LOCK_S);
	}
	if (r)
		freeReplyObject(r);
	snprintf(ttl, sizeof(ttl), "%d", ACC_LOCK_S);
	pinfail_cmd(a, &r, "EXPIRE", ttl);
	if (r)
		freeReplyObject(r);
}

static void pinfail_clear(struct vmacc *a)
{
	redisReply *r;

	pinfail_cmd(a, &r, "DEL", NULL);
	if (r)
		freeReplyObject(r);
}

/* The box's PIN from its voicemail_box object; a box without an object
 * or a pin has none. -EIO when Redis could not tell: then no box opens. */
static int load_pin(struct vmacc *a)
{
	char key[PBX_KEY_MAX];
	redisReply *r = NULL;
	struct odict *o = NULL;
	const char *pin;
	uint64_t num;

	a->has_pin = false;
	a->pin[0] = '\0';
	if (pbx_key_of(key, sizeof(key), mwcall_tenant(a->wc->call),
		       PBX_K_OBJECTS) ||
	    prompt_store_command(a->w->store, &r, "HGET %s voicemail_box:%s",
				 key, a->box)) {
		PLOG_WARN("voicemail access: box %s not readable", a->box);
		return -EIO;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		PLOG_ERR("voicemail access: box %s: %s", a->box, r->str);
		freeReplyObject(r);
		return -EIO;
	}
	/* libre's JSON (the worker's library); provisioning checked the
	 * object, the pin is 4-8 digits. */
	if (r->type == REDIS_REPLY_STRING &&
	    json_decode_odict(&o, 8, r->str, r->len, 4))
		PLOG_WARN("voicemail access: box %s: object not JSON", a->box);
	freeReplyObject(r);
	pin = o ? odict_string(o, "pin") : NULL;
	if (pin && pin[0] && strlen(pin) <= ACC_DIGITS_MAX) {
		snprintf(a->pin, sizeof(a->pin), "%s", pin);
		a->has_pin = true;
	} else if (o && odict_get_number(o, &num, "pin")) {
		snprintf(a->pin, sizeof(a->pin), "%llu",
			 (unsigned long long)num);
		a->has_pin = true;
	}
	mem_deref(o);
	if (a->has_pin)
		pinfail_check(a);
	return 0;
}

/* The box's messages: new ones first, then the saved (heard) ones, each
 * oldest first. */
static int load_list(struct vmacc *a)
{
	const char *tenant = mwcall_tenant(a->wc->call);
	char bkey[PBX_KEY_MAX], mkey[PBX_KEY_MAX];
	char saved[ACC_MSGS_MAX][PBX_MEDIA_ID_MAX];
	size_t nsaved = 0;
	redisReply *r = NULL, *s;
	int err;

	a->n = a->nnew = a->cur = 0;
	err = pbx_key_sub_of(bkey, sizeof(bkey), tenant, PBX_K_VM_BOX, a->box);
	if (!err)
		err = prompt_store_command(a->w->store, &r, "ZRANGE %s 0 %d",
					   bkey, ACC_MSGS_MAX - 1);
	if (err)
		return err;
	if (r->type != REDIS_REPLY_ARRAY) {
		PLOG_ERR("voicemail access: box %s: %s", a->box,
			 r->type == REDIS_REPLY_ERROR ? r->str : "not a list");
		freeReplyObject(r);
		return -EIO;
	}
	for (size_t i = 0; i < r->elements;
	     i++) {
		const char *id = r->element[i]->str;
		bool heard;

		if (r->element[i]->type != REDIS_REPLY_STRING ||
		    !pbx_media_id_valid(id) ||
		    pbx_key_sub_of(mkey, sizeof(mkey), tenant, PBX_K_VM_MSG,
				   id) ||
		    prompt_store_command(a->w->store, &s, "HGET %s status",
					 mkey))
			continue;
		heard = s->type == REDIS_REPLY_STRING &&
			!strcmp(s->str, "heard");
		freeReplyObject(s);
		if (heard)
			snprintf(saved[nsaved++], PBX_MEDIA_ID_MAX, "%s", id);
		else
			snprintf(a->ids[a->n++], PBX_MEDIA_ID_MAX, "%s", id);
	}
	freeReplyObject(r);
	a->nnew = a->n;
	for (size_t i = 0; i < nsaved; i++)
		memcpy(a->ids[a->n++], saved[i], sizeof(saved[i]));
	return 0;
}

/* ---- the session ------------------------------------------------------- */

static void bye(struct vmacc *a, const char *p1, const char *p2,
		const char *why)
{
	a->st = ACC_BYE;
	a->end_why = why;
	say(a, false, p1, p2, NULL);
}

static void open_box(struct vmacc *a)
{
	char count[24];

	if (load_list(a)) {
		PLOG_ERR("voicemail access: box %s not readable", a->box);
		bye(a, "vm_unavailable", NULL, "voicemail access: storage down");
		return;
	}
	PLOG_INFO("voicemail access: box %s open, %zu new, %zu saved", a->box,
		  a->nnew, a->n - a->nnew);
	if (a->nnew <= 10)
		snprintf(count, sizeof(count), "vm_new_%zu", a->nnew);
	else
		snprintf(count, sizeof(count), "vm_new_many");
	if (!a->n) {
		bye(a, count, "vm_no_more", "voicemail access: no messages");
		return;
	}
	a->st = ACC_LIST;
	say(a, true, count, NULL, a->ids[0]);
}

static void ask_pin(struct vmacc *a, const char *p)
{
	a->st = ACC_PIN;
	a->ndig = 0;
	say(a, true, p, NULL, NULL);
}

/* '#' (or the wait) ends the number or the PIN typed so far. */
static void entered(struct vmacc *a)
{
	a->dig[a->ndig < sizeof(a->dig) ? a->ndig : sizeof(a->dig) - 1] =
		'\0';
	if (a->st == ACC_BOX) {
		/* Whatever was typed, the PIN is asked: a box that does not
		 * exist is not told apart from a wrong PIN. */
		snprintf(a->box, sizeof(a->box), "%s",
			 a->ndig <= ACC_DIGITS_MAX ? a->dig : "");
		if (a->box[0] && pbx_id_valid(a->box))
			(void)load_pin(a); /* unreadable: no PIN matches */
		ask_pin(a, "vm_pin");
		return;
	}
	/* A box without a PIN opens only for its own extension (*97), and
	 * then without asking: no PIN typed here ever opens it. A locked
	 * box opens for no PIN, the right one neither. */
	if (a->locked) {
		PLOG_WARN("voicemail access: box %s is locked (too many wrong "
			  "PINs): refused",
			  a->box);
		bye(a, "vm_locked", NULL, "voicemail access: box locked");
		return;
	}
	if (a->has_pin && a->ndig <= ACC_DIGITS_MAX &&
	    !strcmp(a->dig, a->pin)) {
		pinfail_clear(a);
		open_box(a);
		return;
	}
	a->tries++;
	PLOG_INFO("voicemail access: box %s, wrong PIN (%d of %d)",
		  a->box[0] ? a->box : "(none)", a->tries, ACC_TRIES);
	if (a->has_pin)
		pinfail_count(a);
	if (a->locked)
		bye(a, "vm_locked", NULL, "voicemail access: box locked");
	else if (a->tries >= ACC_TRIES)
		bye(a, "vm_denied", NULL, "voicemail access: wrong PIN");
	else
		ask_pin(a, "vm_bad_pin");
}

/* After a message was deleted or saved: the next one, or the end. */
static void next(struct vmacc *a, const char *p)
{
	if (a->cur >= a->n) {
		bye(a, p, "vm_no_more", "voicemail access: all heard");
		return;
	}
	say(a, true, p, NULL, a->ids[a->cur]);
}

static void message_key(struct vmacc *a, char d)
{
	struct pbx_vm_store st = vm_store(a);
	const char *id = a->ids[a->cur];
	int err;

	switch (d) {
	case '1': /* repeat */
		say(a, true, NULL, NULL, id);
		break;
	case '2':
	case '#': /* next */
		a->cur++;
		next(a, NULL);
		break;
	case '*': /* previous */
		if (a->cur > 0)
			a->cur--;
		say(a, true, NULL, NULL, a->ids[a->cur]);
		break;
	case '7': /* delete */
		err = pbx_vm_delete(&st, mwcall_tenant(a->wc->call), a->box,
				    id);
		if (err && err != -ENOENT) {
			PLOG_ERR("voicemail access: %s not deleted: %s", id,
				 strerror(-err));
			say(a, true, NULL, NULL, id);
			break;
		}
		PLOG_INFO("voicemail access: message %s deleted", id);
		memmove(a->ids[a->cur], a->ids[a->cur + 1],
			(a->n - a->cur - 1) * sizeof(a->ids[0]));
		a->n--;
		next(a, "vm_deleted");
		break;
	case '9': /* save: heard */
		err = pbx_vm_heard(&st, mwcall_tenant(a->wc->call), a->box,
				   id);
		if (err)
			PLOG_WARN("voicemail access: %s not marked heard: %s",
				  id, strerror(-err));
		else
			PLOG_INFO("voicemail access: message %s saved", id);
		a->cur++;
		next(a, "vm_saved");
		break;
	default: /* another key stopped the message: the menu again */
		say(a, true, "vm_menu", NULL, NULL);
		break;
	}
}

static void digit(struct vmacc *a, char d)
{
	switch (a->st) {
	case ACC_BOX:
	case ACC_PIN:
		if (d == '#') {
			entered(a);
		} else if (d >= '0' && d <= '9') {
			tmr_cancel(&a->wait);
			if (a->ndig < ACC_DIGITS_MAX + 1)
				a->dig[a->ndig++] = d;
			/* more than the longest is kept as "too long" */
			tmr_start(&a->wait, ACC_WAIT_MS, wait_handler, a);
		}
		break;
	case ACC_LIST:
		message_key(a, d);
		break;
	case ACC_BYE:
		break;
	}
}

static void end_session(struct vmacc *a)
{
	struct worker *w = a->w;
	struct worker_call *wc = a->wc;
	struct worker_event ev = {
		.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_ENDED,
		.tenant = mwcall_tenant(wc->call),
		.callid = mwcall_callid(wc->call),
	};

	snprintf(wc->vm_result, sizeof(wc->vm_result), "%s",
		 a->end_why ? a->end_why : "voicemail access: ended");
	ev.detail = wc->vm_result;
	PLOG_INFO("%s: hanging up", wc->vm_result);
	worker_event_send(w, wc->home, &ev);
	worker_call_end(w, wc); /* frees a: BYE */
}

/* Everything queued since the last run, in order; may end the call. */
static void run_handler(void *arg)
{
	struct vmacc *a = arg;

	pbx_log_ctx(mwcall_tenant(a->wc->call), mwcall_callid(a->wc->call));
	while (a->nq) {
		char d = a->queue[0];

		memmove(a->queue, a->queue + 1, --a->nq);
		digit(a, d);
	}
	if (a->timed_out) {
		a->timed_out = false;
		if (a->st == ACC_BOX || a->st == ACC_PIN)
			entered(a);
		else if (a->st == ACC_LIST)
			message_key(a, '2');
	}
	if (a->play_done) {
		a->play_done = false;
		if (a->st == ACC_BYE) {
			end_session(a); /* frees a */
			pbx_log_ctx(NULL, NULL);
			return;
		}
		tmr_start(&a->wait, ACC_WAIT_MS, wait_handler, a);
	}
	pbx_log_ctx(NULL, NULL);
}

static void kick(struct vmacc *a)
{
	tmr_start(&a->run, 0, run_handler, a);
}

static void wait_handler(void *arg)
{
	struct vmacc *a = arg;

	a->timed_out = true;
	kick(a);
}

void worker_vmacc_event(struct worker_call *wc, const struct mwcall_event *ev)
{
	struct vmacc *a = wc->acc;

	if (ev->kind == MWCALL_EV_DTMF) {
		if (a->nq < ACC_QUEUE_MAX)
			a->queue[a->nq++] = ev->digit;
		if (a->st == ACC_BOX || a->st == ACC_PIN)
			tmr_cancel(&a->wait);
	} else if (ev->kind == MWCALL_EV_PLAY_DONE) {
		a->play_done = true;
	}
	kick(a);
}

int worker_vmacc_start(struct worker *w, struct worker_call *wc,
		       const char *box, bool own, const char **why)
{
	struct vmacc *a;

	*why = NULL;
	if (wc->acc || mwcall_bridged(wc->call) || mwcall_in_conf(wc->call)) {
		*why = "the call is busy";
		return -EBUSY;
	}
	if (box[0] && !pbx_id_valid(box)) {
		*why = "invalid voicemail box";
		return -EINVAL;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->w = w;
	a->wc = wc;
	tmr_init(&a->run);
	tmr_init(&a->wait);
	a->own = own && box[0];
	wc->acc = a;
	if (!box[0]) {
		PLOG_INFO("voicemail access: asking for the box");
		a->st = ACC_BOX;
		say(a, true, "vm_box", NULL, NULL);
		return 0;
	}
	snprintf(a->box, sizeof(a->box), "%s", box);
	if (load_pin(a)) {
		bye(a, "vm_unavailable", NULL,
		    "voicemail access: storage down");
		return 0;
	}
	PLOG_INFO("voicemail access: box %s%s", box,
		  a->has_pin ? ", PIN asked" : "");
	if (!a->has_pin && a->own)
		open_box(a);
	else
		ask_pin(a, "vm_pin");
	return 0;
}

void worker_vmacc_free(struct worker_call *wc)
{
	if (!wc->acc)
		return;
	tmr_cancel(&wc->acc->run);
	tmr_cancel(&wc->acc->wait);
	free(wc->acc);
	wc->acc = NULL;
}
