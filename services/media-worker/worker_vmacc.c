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
#include "pbx_clock.h"
#include "pbx_log.h"
#include "pbx_vm_box.h"
#include "prompt_store.h"
#include "say.h"
#include "scenario.h"
#include "worker_priv.h"

enum {
	ACC_WAIT_MS = 10000,  /* no key for this long after a prompt */
	ACC_TRIES = 3,	      /* wrong PINs before the hang-up */
	/* wrong PINs of a box, over any number of calls within ACC_LOCK_S:
	 * the box is locked (pbx_vm_box.h) */
	ACC_LOCK_AFTER = PBX_VM_PIN_LOCK_AFTER,
	ACC_LOCK_S = PBX_VM_PIN_LOCK_S, /* the window from the first one */
	ACC_DIGITS_MAX = 16,  /* a box number or a PIN */
	ACC_MSGS_MAX = 200,   /* messages one session walks through */
	ACC_QUEUE_MAX = 32,   /* digits not handled yet */
	/* audio pieces played as one prompt: two prompts, the date, the
	 * message, the menu */
	ACC_PIECES_MAX = 4 + SAY_RECEIVED_MAX,
	ACC_TZ_MAX = 64,      /* a zone name (scenario_tz.c) */
	ACC_GREET_MAX_S = 60, /* a greeting recorded from the phone */
	ACC_GREET_MIN_MS = 500, /* shorter: recorded again */
	ACC_GREET_CHECK_MS = 100,
	ACC_BEEP_MS = 400,
};
/* The name of the prompt a box's greeting from the phone is stored as:
 * "vmg-<box>" (an id, so the box may have at most 60 characters). The
 * worker's Redis user may write these prompts and no other
 * (deploy/redis/users.acl.in). */
#define ACC_GREET_PREFIX "vmg-"
/* A packet whose mean absolute level is below this is silence (about
 * -40 dBm0, as the voicemail recorder's). */
#define ACC_SILENCE_LEVEL 100
/* 8 kHz 16-bit: an hour of message (the longest) and its header. */
#define ACC_WAV_MAX (3600u * 16000u + 4096u)

enum acc_state {
	ACC_BOX,  /* entering the box number */
	ACC_PIN,  /* entering the PIN */
	ACC_LIST, /* hearing the count, then a message and the menu */
	ACC_OPTS, /* the options menu (0 in the box) */
	ACC_NEWPIN, /* entering a new PIN (newpin_step 1), then again (2) */
	ACC_GREET_ASK, /* "record after the tone" and the beep */
	ACC_GREET_REC, /* the caller's audio recorded (the call's tap) */
	ACC_GREET_REVIEW, /* the recording played back: 1 keep, 2 again */
	ACC_BYE,  /* hearing a last prompt: the hang-up follows */
};

/* One message of the box: what is said before it. */
struct acc_msg {
	char id[PBX_MEDIA_ID_MAX];
	int64_t at_s; /* received, Unix seconds (0: unknown, not said) */
	char from[SAY_CALLER_DIGITS + 1];
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
	struct acc_msg msgs[ACC_MSGS_MAX];
	size_t n, cur;
	bool opened; /* the PIN was right: the options menu is reachable */
	bool may_return; /* ACC_BYE: a goodbye that 0 may leave */
	char tz[ACC_TZ_MAX + 1]; /* the tenant's zone ("": UTC) */
	int newpin_step;
	int newpin_tries;
	char newpin[ACC_DIGITS_MAX + 1]; /* the first entry */
	/* The greeting being recorded: the caller's G.711 in the call's
	 * law, filled by the tap on the RTP path (it only appends and
	 * notes the time of the last voice; the check timer stops it). */
	uint8_t *greet;
	size_t glen;
	uint64_t greet_voice_ms;
	bool greet_full;
	struct tmr greet_tmr;
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

/* Named prompts, then (if m) the message's date, time and caller, the
 * message and the menu. */
static void say(struct vmacc *a, bool barge_in, const char *p1,
		const char *p2, const struct acc_msg *m)
{
	uint8_t *piece[ACC_PIECES_MAX] = {NULL};
	size_t plen[ACC_PIECES_MAX] = {0}, np = 0, nn = 0;
	const char *names[2 + SAY_RECEIVED_MAX] = {p1, p2};
	int err;

	nn = 2;
	/* "Message received <day> at <time>, from <number>" in the tenant's
	 * language and zone: word prompts the tenant may replace too. */
	if (m && m->at_s &&
	    say_received(a->wc->lang, a->tz, m->at_s, m->from, names, &nn,
			 2 + SAY_RECEIVED_MAX))
		PLOG_WARN("voicemail access: %s: no date said", m->id);
	for (size_t i = 0; i < nn; i++) {
		if (!names[i])
			continue;
		err = prompt(a, names[i], &piece[np], &plen[np]);
		if (err)
			PLOG_WARN("voicemail access: prompt %s: %s", names[i],
				  strerror(-err));
		np++;
	}
	if (m) {
		const char *id = m->id;

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
	struct acc_msg *saved;
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
	saved = calloc(ACC_MSGS_MAX, sizeof(*saved));
	if (!saved) {
		freeReplyObject(r);
		return -ENOMEM;
	}
	for (size_t i = 0; i < r->elements;
	     i++) {
		const char *id = r->element[i]->str;
		struct acc_msg *m;
		bool heard;

		if (r->element[i]->type != REDIS_REPLY_STRING ||
		    !pbx_media_id_valid(id) ||
		    pbx_key_sub_of(mkey, sizeof(mkey), tenant, PBX_K_VM_MSG,
				   id) ||
		    prompt_store_command(a->w->store, &s,
					 "HMGET %s status time_ms caller",
					 mkey))
			continue;
		if (s->type != REDIS_REPLY_ARRAY || s->elements != 3) {
			freeReplyObject(s);
			continue;
		}
		heard = s->element[0]->type == REDIS_REPLY_STRING &&
			!strcmp(s->element[0]->str, "heard");
		m = heard ? &saved[nsaved++] : &a->msgs[a->n++];
		snprintf(m->id, sizeof(m->id), "%s", id);
		m->at_s = s->element[1]->type == REDIS_REPLY_STRING
				  ? strtoll(s->element[1]->str, NULL, 10) / 1000
				  : 0;
		/* What say_received says: the digits (bounded there). */
		if (s->element[2]->type == REDIS_REPLY_STRING)
			snprintf(m->from, sizeof(m->from), "%s",
				 s->element[2]->str);
		freeReplyObject(s);
	}
	freeReplyObject(r);
	a->nnew = a->n;
	for (size_t i = 0; i < nsaved; i++)
		a->msgs[a->n++] = saved[i];
	free(saved);
	return 0;
}

/* The tenant's time zone (pbxctl tenant timezone): what "received at"
 * is said in; none or unreadable: UTC (say_received). */
static void load_tz(struct vmacc *a)
{
	char key[PBX_KEY_MAX];
	redisReply *r = NULL;

	a->tz[0] = '\0';
	if (pbx_key_of(key, sizeof(key), mwcall_tenant(a->wc->call),
		       PBX_K_TENANT) ||
	    prompt_store_command(a->w->store, &r, "HGET %s timezone", key)) {
		PLOG_WARN("voicemail access: the tenant's time zone not "
			  "readable; UTC");
		return;
	}
	if (r->type == REDIS_REPLY_STRING && r->len <= ACC_TZ_MAX)
		snprintf(a->tz, sizeof(a->tz), "%s", r->str);
	freeReplyObject(r);
}

/* ---- the session ------------------------------------------------------- */

static void bye(struct vmacc *a, const char *p1, const char *p2,
		const char *why)
{
	a->st = ACC_BYE;
	a->end_why = why;
	a->may_return = false;
	say(a, false, p1, p2, NULL);
}

/* The goodbye of an open box that has nothing (more) to play: 0 during
 * it still reaches the options. */
static void bye_open(struct vmacc *a, const char *p1, const char *p2,
		     const char *why)
{
	bye(a, p1, p2, why);
	a->may_return = true;
}

static void open_box(struct vmacc *a)
{
	char count[24];

	a->opened = true;
	load_tz(a);
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
		bye_open(a, count, "vm_no_more",
			 "voicemail access: no messages");
		return;
	}
	a->st = ACC_LIST;
	say(a, true, count, NULL, &a->msgs[0]);
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
		bye_open(a, p, "vm_no_more", "voicemail access: all heard");
		return;
	}
	say(a, true, p, NULL, &a->msgs[a->cur]);
}

/* ---- options: a new PIN ------------------------------------------------ */

static void options(struct vmacc *a, const char *p)
{
	a->st = ACC_OPTS;
	say(a, true, p, "vm_options", NULL);
}

/* Back from the options: the message where the box was left. */
static void options_back(struct vmacc *a)
{
	a->st = ACC_LIST;
	next(a, NULL);
}

static void ask_newpin(struct vmacc *a, const char *p1, const char *p2)
{
	a->st = ACC_NEWPIN;
	a->ndig = 0;
	say(a, true, p1, p2, NULL);
}

/* A box's document as provisioning's object put would check it. */
static int box_check(const char *json)
{
	struct scenario_report *rep = calloc(1, sizeof(*rep));
	int err;

	if (!rep)
		return -ENOMEM;
	err = scenario_object_check("voicemail_box", json, rep);
	if (err == -EINVAL)
		PLOG_INFO("voicemail access: new PIN refused: %.200s",
			  rep->text);
	free(rep);
	return err;
}

/* The PIN typed after "vm_newpin" (step 1) or "vm_newpin_again" (2). A
 * PIN the box's rules refuse (the object check: 4-8 digits) is asked
 * again, three times at most; two that differ start again; the same
 * twice is stored in the box's object, where provisioning keeps it. */
static void newpin_entered(struct vmacc *a)
{
	struct pbx_vm_store st = vm_store(a);
	char doc[64];
	int err;

	a->dig[a->ndig < sizeof(a->dig) ? a->ndig : sizeof(a->dig) - 1] =
		'\0';
	if (a->newpin_step == 1) {
		/* The box's rules, on a document with just the PIN: the
		 * same checker as the store below (no digits are logged). */
		snprintf(doc, sizeof(doc), "{\"pin\":\"%.*s\"}",
			 (int)(a->ndig <= ACC_DIGITS_MAX ? a->ndig : 0),
			 a->dig);
		if (a->ndig > ACC_DIGITS_MAX || box_check(doc)) {
			if (++a->newpin_tries >= ACC_TRIES) {
				options(a, "vm_newpin_bad");
				return;
			}
			ask_newpin(a, "vm_newpin_bad", "vm_newpin");
			return;
		}
		/* a->ndig <= ACC_DIGITS_MAX: it fits */
		snprintf(a->newpin, sizeof(a->newpin), "%.*s",
			 (int)a->ndig, a->dig);
		a->newpin_step = 2;
		ask_newpin(a, "vm_newpin_again", NULL);
		return;
	}
	if (strcmp(a->dig, a->newpin)) {
		PLOG_INFO("voicemail access: box %s: the new PINs differ",
			  a->box);
		a->newpin_step = 1;
		ask_newpin(a, "vm_newpin_differ", "vm_newpin");
		return;
	}
	err = pbx_vm_box_set(&st, mwcall_tenant(a->wc->call), a->box, "pin",
			     a->newpin, box_check);
	if (err) {
		PLOG_ERR("voicemail access: box %s: new PIN not stored: %s",
			 a->box, strerror(-err));
		bye(a, "vm_unavailable", NULL,
		    "voicemail access: PIN not changed");
		return;
	}
	PLOG_INFO("voicemail access: box %s: PIN changed from the phone",
		  a->box);
	snprintf(a->pin, sizeof(a->pin), "%s", a->newpin);
	a->has_pin = true;
	options(a, "vm_newpin_done");
}

/* ---- options: the box's greeting --------------------------------------- */

/* "Record your greeting after the tone ..." and a 1 kHz beep, one prompt
 * without barge-in: its end starts the recording. */
static void greet_ask(struct vmacc *a)
{
	enum offer_law law = mwcall_law(a->wc->call);
	uint8_t *piece[2] = {NULL};
	size_t plen[2] = {0};
	/* One period of 1 kHz at 8 kHz, about -12 dBm0 (the voicemail
	 * beep's level). */
	static const int16_t beep[8] = {0,     5657, 8000,	5657,
					0,     -5657, -8000, -5657};

	a->st = ACC_GREET_ASK;
	PLOG_INFO("voicemail access: box %s: recording a greeting", a->box);
	if (prompt(a, "vm_greet_rec", &piece[0], &plen[0]))
		PLOG_WARN("voicemail access: no prompt vm_greet_rec");
	piece[1] = mem_alloc(ACC_BEEP_MS * 8, NULL);
	if (piece[1]) {
		for (size_t i = 0; i < ACC_BEEP_MS * 8; i++)
			piece[1][i] = mwlaw_encode(beep[i % 8], law);
		plen[1] = ACC_BEEP_MS * 8;
	}
	play(a, false, piece, plen, 2);
}

/* The caller's audio while ACC_GREET_REC (the RTP path: appends only). */
static void greet_tap(const uint8_t *payload, size_t len, void *arg)
{
	struct vmacc *a = arg;
	enum offer_law law = mwcall_law(a->wc->call);
	size_t room = (size_t)ACC_GREET_MAX_S * 8000 - a->glen;
	unsigned long sum = 0;

	if (len > room)
		len = room;
	if (!len) {
		a->greet_full = true;
		return;
	}
	memcpy(a->greet + a->glen, payload, len);
	a->glen += len;
	for (size_t i = 0; i < len; i++) {
		int v = mwlaw_decode(payload[i], law);

		sum += (unsigned long)(v < 0 ? -v : v);
	}
	if (sum / len >= ACC_SILENCE_LEVEL)
		a->greet_voice_ms = pbx_clock_mono_ms();
}

static void greet_review(struct vmacc *a);

/* Recording cancelled: nothing kept. */
static void greet_stop_quiet(struct vmacc *a)
{
	tmr_cancel(&a->greet_tmr);
	mwcall_tap(a->wc->call, NULL, NULL);
	a->glen = 0;
}

static void greet_stop(struct vmacc *a, const char *why)
{
	tmr_cancel(&a->greet_tmr);
	mwcall_tap(a->wc->call, NULL, NULL);
	PLOG_INFO("voicemail access: box %s: greeting recorded, %zu ms (%s)",
		  a->box, a->glen / 8, why);
	if (a->glen < ACC_GREET_MIN_MS * 8) {
		greet_ask(a);
		return;
	}
	greet_review(a);
}

/* Stops at the maximum or after the worker's voicemail silence. */
static void greet_check(void *arg)
{
	struct vmacc *a = arg;
	uint64_t now = pbx_clock_mono_ms();
	long silence = a->w->cfg->vm_silence_ms;

	pbx_log_ctx(mwcall_tenant(a->wc->call), mwcall_callid(a->wc->call));
	if (a->greet_full)
		greet_stop(a, "max_length");
	else if (silence > 0 && now - a->greet_voice_ms >= (uint64_t)silence)
		greet_stop(a, "silence");
	else
		tmr_start(&a->greet_tmr, ACC_GREET_CHECK_MS, greet_check, a);
	pbx_log_ctx(NULL, NULL);
}

/* The beep was heard: the caller's audio from now on. */
static void greet_start(struct vmacc *a)
{
	if (!a->greet)
		a->greet = malloc((size_t)ACC_GREET_MAX_S * 8000);
	if (!a->greet) {
		options(a, "vm_unavailable");
		return;
	}
	a->glen = 0;
	a->greet_full = false;
	a->greet_voice_ms = pbx_clock_mono_ms();
	a->st = ACC_GREET_REC;
	PLOG_DEBUG("voicemail access: beep sent, recording");
	tmr_cancel(&a->wait);
	mwcall_tap(a->wc->call, greet_tap, a);
	tmr_start(&a->greet_tmr, ACC_GREET_CHECK_MS, greet_check, a);
}

/* The recording, then "1 to keep it, 2 to record it again, star to
 * cancel". */
static void greet_review(struct vmacc *a)
{
	uint8_t *piece[2] = {NULL};
	size_t plen[2] = {0};

	a->st = ACC_GREET_REVIEW;
	piece[0] = mem_alloc(a->glen, NULL);
	if (piece[0]) {
		memcpy(piece[0], a->greet, a->glen);
		plen[0] = a->glen;
	}
	if (prompt(a, "vm_greet_menu", &piece[1], &plen[1]))
		PLOG_WARN("voicemail access: no prompt vm_greet_menu");
	play(a, true, piece, plen, 2);
}

/* Within the tenant's bytes quota (pbxctl vm quota): the greeting as the
 * WAV it would be (16 bytes a ms and a header) must fit in what is left.
 * Unreadable: let it in, as a message is. */
static bool greet_fits(struct vmacc *a)
{
	const char *tenant = mwcall_tenant(a->wc->call);
	char qkey[PBX_KEY_MAX], ukey[PBX_KEY_MAX];
	redisReply *q = NULL, *u = NULL;
	long long quota = 0, used = 0;

	if (pbx_key_of(qkey, sizeof(qkey), tenant, PBX_K_VM_QUOTA) ||
	    pbx_key_of(ukey, sizeof(ukey), tenant, PBX_K_VM_BYTES) ||
	    prompt_store_command(a->w->store, &q, "HGET %s bytes", qkey))
		return true;
	if (q->type == REDIS_REPLY_STRING)
		quota = atoll(q->str);
	freeReplyObject(q);
	if (quota <= 0)
		return true;
	if (!prompt_store_command(a->w->store, &u, "GET %s", ukey)) {
		if (u->type == REDIS_REPLY_STRING)
			used = atoll(u->str);
		freeReplyObject(u);
	}
	return used + 44 + (long long)a->glen * 2 <= quota;
}

/* One write with binary arguments (hiredis's %b, which the printf
 * format check of prompt_store_write does not know). */
static int binary_cmd(struct vmacc *a, const char *fmt, ...)
{
	redisReply *r = NULL;
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = prompt_store_vcommand(a->w->store, &r, fmt, ap);
	va_end(ap);
	if (!err && r->type == REDIS_REPLY_ERROR) {
		PLOG_ERR("voicemail access: %s", r->str);
		err = -EIO;
	}
	if (r)
		freeReplyObject(r);
	return err;
}

/* Stored as the tenant's prompt "vmg-<box>" in both laws, in one HSET
 * as an upload is (docs/services/media-worker.md: the prompt hash), then
 * named in the box's object as its greeting: the next caller hears it. */
static int greet_store(struct vmacc *a)
{
	const char *tenant = mwcall_tenant(a->wc->call);
	enum offer_law law = mwcall_law(a->wc->call);
	struct pbx_vm_store st = vm_store(a);
	char name[PBX_ID_MAX + 1], key[PBX_KEY_MAX], set[PBX_KEY_MAX];
	uint8_t *ulaw, *alaw;
	int err;

	if (snprintf(name, sizeof(name), ACC_GREET_PREFIX "%s", a->box) >=
		    (int)sizeof(name) ||
	    !pbx_id_valid(name) ||
	    pbx_key_sub_of(key, sizeof(key), tenant, PBX_K_PROMPT, name) ||
	    pbx_key_of(set, sizeof(set), tenant, PBX_K_PROMPTS))
		return -EINVAL;
	ulaw = malloc(a->glen);
	alaw = malloc(a->glen);
	if (!ulaw || !alaw) {
		free(ulaw);
		free(alaw);
		return -ENOMEM;
	}
	for (size_t i = 0; i < a->glen; i++) {
		int16_t v = mwlaw_decode(a->greet[i], law);

		ulaw[i] = law == OFFER_ULAW ? a->greet[i]
					    : mwlaw_encode(v, OFFER_ULAW);
		alaw[i] = law == OFFER_ALAW ? a->greet[i]
					    : mwlaw_encode(v, OFFER_ALAW);
	}
	/* hiredis knows %b (pointer, size_t) and %llu, not %zu. */
	err = binary_cmd(a,
			 "HSET %s ulaw %b alaw %b ms %llu bytes %llu "
			 "uploaded_ms %llu",
			 key, ulaw, a->glen, alaw, a->glen,
			 (unsigned long long)(a->glen / 8),
			 (unsigned long long)a->glen,
			 (unsigned long long)pbx_clock_now_ms());
	free(ulaw);
	free(alaw);
	if (!err)
		err = prompt_store_write(a->w->store, "SADD %s %s", set, name);
	if (!err)
		err = pbx_vm_box_set(&st, tenant, a->box, "greeting", name,
				     box_check);
	return err;
}

static void greet_key(struct vmacc *a, char d)
{
	int err;

	switch (d) {
	case '1':
		if (!greet_fits(a)) {
			PLOG_WARN("voicemail access: box %s: greeting refused: "
				  "the tenant's storage quota is reached",
				  a->box);
			options(a, "vm_greet_full");
			break;
		}
		err = greet_store(a);
		if (err) {
			PLOG_ERR("voicemail access: box %s: greeting not "
				 "stored: %s",
				 a->box, strerror(-err));
			options(a, "vm_unavailable");
			break;
		}
		PLOG_INFO("voicemail access: box %s: greeting of %zu ms stored "
			  "as prompt " ACC_GREET_PREFIX "%s",
			  a->box, a->glen / 8, a->box);
		options(a, "vm_greet_saved");
		break;
	case '2':
		greet_ask(a);
		break;
	case '*':
		options(a, NULL);
		break;
	default:
		greet_review(a);
		break;
	}
}

static void options_key(struct vmacc *a, char d)
{
	switch (d) {
	case '1':
		greet_ask(a);
		break;
	case '2':
		a->newpin_step = 1;
		a->newpin_tries = 0;
		ask_newpin(a, "vm_newpin", NULL);
		break;
	case '*':
		options_back(a);
		break;
	default:
		options(a, NULL);
		break;
	}
}

static void message_key(struct vmacc *a, char d)
{
	struct pbx_vm_store st = vm_store(a);
	const char *id = a->msgs[a->cur].id;
	int err;

	switch (d) {
	case '0':
		options(a, NULL);
		break;
	case '1': /* repeat */
		say(a, true, NULL, NULL, &a->msgs[a->cur]);
		break;
	case '2':
	case '#': /* next */
		a->cur++;
		next(a, NULL);
		break;
	case '*': /* previous */
		if (a->cur > 0)
			a->cur--;
		say(a, true, NULL, NULL, &a->msgs[a->cur]);
		break;
	case '7': /* delete */
		err = pbx_vm_delete(&st, mwcall_tenant(a->wc->call), a->box,
				    id);
		if (err && err != -ENOENT) {
			PLOG_ERR("voicemail access: %s not deleted: %s", id,
				 strerror(-err));
			say(a, true, NULL, NULL, &a->msgs[a->cur]);
			break;
		}
		PLOG_INFO("voicemail access: message %s deleted", id);
		memmove(&a->msgs[a->cur], &a->msgs[a->cur + 1],
			(a->n - a->cur - 1) * sizeof(a->msgs[0]));
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
	case ACC_NEWPIN:
		if (d == '#' && a->st == ACC_NEWPIN) {
			newpin_entered(a);
		} else if (d == '*' && a->st == ACC_NEWPIN) {
			options(a, NULL); /* no new PIN after all */
		} else if (d == '#') {
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
	case ACC_OPTS:
		options_key(a, d);
		break;
	case ACC_GREET_ASK:
		break; /* the beep is not cut */
	case ACC_GREET_REC:
		if (d == '#')
			greet_stop(a, "#");
		else if (d == '*') {
			greet_stop_quiet(a);
			options(a, NULL);
		}
		break;
	case ACC_GREET_REVIEW:
		greet_key(a, d);
		break;
	case ACC_BYE:
		/* The goodbye of an open box: 0 still reaches the options
		 * (an empty box's owner changes the PIN). */
		if (d == '0' && a->opened && a->may_return)
			options(a, NULL);
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
		else if (a->st == ACC_NEWPIN)
			newpin_entered(a);
		else if (a->st == ACC_LIST)
			message_key(a, '2');
		else if (a->st == ACC_OPTS || a->st == ACC_GREET_REVIEW)
			options_back(a);
	}
	if (a->play_done) {
		a->play_done = false;
		if (a->st == ACC_BYE) {
			end_session(a); /* frees a */
			pbx_log_ctx(NULL, NULL);
			return;
		}
		if (a->st == ACC_GREET_ASK) {
			greet_start(a);
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
		if (a->st == ACC_BOX || a->st == ACC_PIN ||
		    a->st == ACC_NEWPIN)
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
	tmr_init(&a->greet_tmr);
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
	tmr_cancel(&wc->acc->greet_tmr);
	mwcall_tap(wc->call, NULL, NULL);
	free(wc->acc->greet);
	free(wc->acc);
	wc->acc = NULL;
}
