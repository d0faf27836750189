/* Scenario walk: moves one call through a parsed scenario, one event at a
 * time. Pure nodes (schedule, list) are decided on the spot and their
 * arrows followed; the walk stops at the first node that needs the world
 * (a prompt, input, a ring, a queue, the CRM) and returns what to do.
 * No clock, no I/O, no allocation: everything comes from the scenario,
 * the context and the state. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "scenario_internal.h"
#include "scenario_walk.h"

/* Reasons sent with REJECT / HANGUP when the scenario gives none. */
#define R_UNAVAILABLE "Temporarily Unavailable"

/* Default queue, voicemail and conference values when neither the node
 * nor the object sets them (docs/scenario.md). */
#define QUEUE_MAX_WAIT_S 600
#define QUEUE_AGENT_TIMEOUT_S 15
#define QUEUE_PERIODIC_S 60
#define VM_MAX_S 120
#define CONF_PIN_RETRIES 3

static const char *const digit_outs[KEY_COUNT] = {
	"digit:0", "digit:1", "digit:2", "digit:3", "digit:4", "digit:5",
	"digit:6", "digit:7", "digit:8", "digit:9", "digit:*", "digit:#"};
static const char *const exit_outs[KEY_COUNT] = {
	"exit_key:0", "exit_key:1", "exit_key:2", "exit_key:3",
	"exit_key:4", "exit_key:5", "exit_key:6", "exit_key:7",
	"exit_key:8", "exit_key:9", "exit_key:*", "exit_key:#"};

struct walk {
	const struct scenario *sc;
	const struct walk_ctx *ctx;
	struct walk_state *st;
	struct walk_actions *out;
	int hops;
	int err;
	bool overflow;
	struct walk_action sink; /* written instead when the list is full */
};

/* ---- actions and hops ---- */

static struct walk_action *push(struct walk *w, enum walk_act_kind kind)
{
	struct walk_action *a;

	if (w->out->n >= WALK_ACTIONS_MAX) {
		w->overflow = true;
		return &w->sink;
	}
	a = &w->out->act[w->out->n++];
	a->kind = kind;
	return a;
}

static void hop(struct walk *w, const struct scenario_node *nd,
		const char *what, const char *output)
{
	struct walk_hop *h;

	if (w->out->nhops > WALK_MAX_HOPS)
		return;
	h = &w->out->hop[w->out->nhops++];
	h->node = nd->id;
	h->type = nd->type;
	h->what = what;
	h->output = output;
}

static void set_node(struct walk *w, const struct scenario_node *nd)
{
	struct walk_state *st = w->st;
	size_t n = strlen(nd->id);

	memcpy(st->node, nd->id, n + 1);
	st->phase = PH_NONE;
	st->tries = 0;
	st->digits[0] = '\0';
	st->target[0] = '\0';
}

static void end_call(struct walk *w, unsigned code, const char *reason)
{
	struct walk_action *a =
		push(w, w->st->answered ? WALK_ACT_HANGUP : WALK_ACT_REJECT);

	a->end.code = code;
	a->end.reason = reason;
	w->st->ended = true;
	w->st->phase = PH_ENDED;
	w->st->timer = 0;
	w->out->outcome = w->st->answered ? "hangup" : "rejected";
}

static void disarm(struct walk *w)
{
	struct walk_action *a;

	if (!w->st->timer)
		return;
	a = push(w, WALK_ACT_TIMER);
	a->timer.id = w->st->timer;
	a->timer.ms = 0;
	w->st->timer = 0;
}

static void arm(struct walk *w, uint32_t ms)
{
	struct walk_action *a;

	disarm(w);
	if (++w->st->timer_seq == 0)
		w->st->timer_seq = 1;
	w->st->timer = w->st->timer_seq;
	a = push(w, WALK_ACT_TIMER);
	a->timer.id = w->st->timer;
	a->timer.ms = ms ? ms : 1;
}

static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= size)
		n = size - 1;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

static struct walk_action *ring(struct walk *w, enum walk_dest dest,
				const char *target, uint32_t timeout_ms,
				const char *caller_id)
{
	struct walk_action *a = push(w, WALK_ACT_RING);

	a->ring.dest = dest;
	copy_str(a->ring.target, sizeof(a->ring.target), target);
	a->ring.timeout_ms = timeout_ms;
	copy_str(a->ring.caller_id, sizeof(a->ring.caller_id), caller_id);
	a->ring.record = false;
	a->ring.record_channels = 1;
	a->ring.record_prompt = NULL;
	copy_str(w->st->target, sizeof(w->st->target), target);
	return a;
}

/* The ring of a node that records its bridge (subscriber, crm). */
static void rec_set(struct walk_action *ra, const struct scenario_node *nd)
{
	ra->ring.record = nd->rec.on;
	ra->ring.record_channels = nd->rec.channels == 2 ? 2 : 1;
	ra->ring.record_prompt = nd->rec.prompt;
}

/* ---- entering nodes ---- */

static void enter(struct walk *w, int idx);

/* Leaves nd through the first output of chain that exists; without one
 * the call ends with code/reason. */
static void take(struct walk *w, const struct scenario_node *nd,
		 const char *what, const enum out_word *chain, size_t n,
		 unsigned code, const char *reason)
{
	disarm(w);
	for (size_t i = 0; i < n; i++) {
		int t = nd->out[chain[i]];

		if (t >= 0) {
			hop(w, nd, what, scenario_out_words[chain[i]]);
			enter(w, t);
			return;
		}
	}
	hop(w, nd, what, NULL);
	end_call(w, code, reason);
}

static void take_target(struct walk *w, const struct scenario_node *nd,
			const char *what, int target, const char *output)
{
	disarm(w);
	hop(w, nd, what, output);
	enter(w, target);
}

static bool need_answer(struct walk *w, const struct scenario_node *nd)
{
	if (w->st->answered)
		return false;
	push(w, WALK_ACT_ANSWER);
	w->st->phase = PH_ANSWER;
	hop(w, nd, "answer", NULL);
	return true;
}

static void menu_play(struct walk *w, const struct scenario_node *nd)
{
	struct walk_action *a = push(w, WALK_ACT_PLAY);

	a->play.prompt = nd->ivr.prompt;
	a->play.barge_in = nd->ivr.barge_in;
	w->st->phase = PH_MENU;
	w->st->digits[0] = '\0';
}

static void recognize(struct walk *w, const struct scenario_node *nd,
		      bool retry)
{
	struct walk_action *a = push(w, WALK_ACT_RECOGNIZE);

	a->recognize.prompt = retry && nd->as.retry_prompt
				      ? nd->as.retry_prompt
				      : nd->as.prompt;
	a->recognize.phrases = nd->as.phrases;
	a->recognize.nphrases = nd->as.nphrases;
	a->recognize.confidence = nd->as.confidence;
	a->recognize.timeout_ms = nd->as.timeout_ms;
	w->st->phase = PH_LISTEN;
}

static const struct scenario_object *
object(struct walk *w, enum scenario_ref kind, const char *name)
{
	return w->ctx ? scenario_objects_find(w->ctx->objs, kind, name) : NULL;
}

static void queue_join(struct walk *w, const struct scenario_node *nd)
{
	const struct n_queue *q = &nd->queue;
	const struct scenario_object *o =
		object(w, SCENARIO_REF_QUEUE, q->queue);
	const struct obj_queue *oq = o ? &o->queue : NULL;
	struct walk_action *a = push(w, WALK_ACT_QUEUE);

	a->queue.name = q->queue;
	a->queue.max_wait_s = q->max_wait_s ? q->max_wait_s
			      : oq	    ? oq->max_wait_s
					    : QUEUE_MAX_WAIT_S;
	a->queue.max_len = oq ? oq->max_len : 0;
	a->queue.strategy = oq ? oq->strategy : "ring_all";
	a->queue.agent_timeout_s =
		oq ? oq->agent_timeout_s : QUEUE_AGENT_TIMEOUT_S;
	a->queue.wrapup_s = oq ? oq->wrapup_s : 0;
	a->queue.moh = q->moh ? q->moh : oq ? oq->moh : NULL;
	a->queue.announce_position = q->announce_position >= 0
					     ? q->announce_position
				     : oq ? oq->announce_position
					  : false;
	a->queue.announce_wait = q->announce_wait >= 0 ? q->announce_wait
				 : oq		       ? oq->announce_wait
						       : false;
	a->queue.periodic_prompt = q->periodic_prompt ? q->periodic_prompt
				   : oq		      ? oq->periodic_prompt
						      : NULL;
	a->queue.entry_prompt = q->entry_prompt ? q->entry_prompt
				: oq		? oq->entry_prompt
						: NULL;
	a->queue.periodic_s = q->periodic_s ? q->periodic_s
			      : oq	    ? oq->periodic_s
					    : QUEUE_PERIODIC_S;
	a->queue.join_empty = oq ? oq->join_empty : true;
	a->queue.priority = q->priority;
	memcpy(a->queue.exit_keys, q->exit_keys, sizeof(q->exit_keys));
	a->queue.callback_key = '\0';
	if (oq && oq->cb_key && !strchr(q->exit_keys, oq->cb_key)) {
		a->queue.callback_key = oq->cb_key;
		a->queue.callback_prompt = oq->cb_prompt;
		a->queue.callback_window_s = oq->cb_window_s;
		a->queue.callback_retries = oq->cb_retries;
		a->queue.callback_retry_s = oq->cb_retry_s;
	}
	a->queue.record = nd->rec.on;
	a->queue.record_channels = nd->rec.channels == 2 ? 2 : 1;
	a->queue.record_prompt = nd->rec.prompt;
	w->st->phase = PH_QUEUE;
	hop(w, nd, "queue", NULL);
}

static void media_end(struct walk *w, const struct scenario_node *nd,
		      const char *outcome)
{
	w->st->phase = PH_MEDIA;
	w->out->outcome = outcome;
	hop(w, nd, outcome, NULL);
}

/* Into room `room` (its object o, NULL when the walk has no objects):
 * the CONFERENCE action, and the walk is done with the call. */
static void conference(struct walk *w, const struct scenario_node *nd,
		       const char *room, const struct scenario_object *o,
		       uint32_t node_retries)
{
	struct walk_action *a = push(w, WALK_ACT_CONFERENCE);

	a->conference.room = room;
	a->conference.pin = o ? o->conf.pin : NULL;
	a->conference.moderator_pin = o ? o->conf.moderator_pin : NULL;
	a->conference.pin_retries = node_retries ? node_retries
				    : o	 ? o->conf.pin_retries
					 : CONF_PIN_RETRIES;
	a->conference.max_members = o ? o->conf.max_members : 0;
	a->conference.join_muted = o ? o->conf.join_muted : false;
	media_end(w, nd, "conference");
}

/* The call arrives at a node that needs the world; sets up its state. */
static void arrive(struct walk *w, int idx)
{
	const struct scenario_node *nd = &w->sc->nodes[idx];
	struct walk_action *a;

	set_node(w, nd);
	switch (nd->type) {
	case NODE_HANGUP:
		hop(w, nd, "hangup", NULL);
		end_call(w, nd->end.code, nd->end.reason);
		return;
	case NODE_GREETING:
		if (need_answer(w, nd))
			return;
		a = push(w, WALK_ACT_PLAY);
		a->play.prompt = nd->box.box;
		a->play.barge_in = false;
		w->st->phase = PH_PLAY;
		hop(w, nd, "play", NULL);
		return;
	case NODE_IVR:
		if (need_answer(w, nd))
			return;
		menu_play(w, nd);
		hop(w, nd, "menu", NULL);
		return;
	case NODE_ASSISTANT:
		if (need_answer(w, nd))
			return;
		recognize(w, nd, false);
		hop(w, nd, "listen", NULL);
		return;
	case NODE_SUBSCRIBER: {
		struct walk_action *ra =
			ring(w, nd->sub.dest, nd->sub.target,
			     nd->sub.timeout_s * 1000, nd->sub.caller_id);

		rec_set(ra, nd);
		w->st->phase = PH_RING;
		hop(w, nd, "ring", NULL);
		return;
	}
	case NODE_QUEUE:
		if (need_answer(w, nd))
			return;
		queue_join(w, nd);
		return;
	case NODE_CRM:
		a = push(w, WALK_ACT_CRM_LOOKUP);
		a->crm.crm = nd->crm.crm;
		a->crm.timeout_ms = nd->crm.lookup_ms;
		arm(w, nd->crm.lookup_ms);
		w->st->phase = PH_CRM_LOOKUP;
		hop(w, nd, "crm_lookup", NULL);
		return;
	case NODE_VOICEMAIL: {
		const struct scenario_object *o =
			object(w, SCENARIO_REF_VOICEMAIL_BOX, nd->box.box);

		if (need_answer(w, nd))
			return;
		a = push(w, WALK_ACT_RECORD);
		a->record.box = nd->box.box;
		a->record.max_s = nd->box.max_s ? nd->box.max_s
				  : o		? o->vm.max_s
						: VM_MAX_S;
		a->record.greeting = nd->box.greeting ? nd->box.greeting
				     : o	      ? o->vm.greeting
						      : NULL;
		media_end(w, nd, "voicemail");
		return;
	}
	case NODE_FAX: {
		const struct scenario_object *o =
			object(w, SCENARIO_REF_FAX_BOX, nd->box.box);

		if (w->ctx && w->ctx->fax_disabled) {
			hop(w, nd, "fax_disabled", NULL);
			end_call(w, 403, "Fax Not Enabled");
			return;
		}
		if (need_answer(w, nd))
			return;
		a = push(w, WALK_ACT_FAX);
		a->fax.box = nd->box.box;
		a->fax.t38 = o ? o->fax.t38 : true;
		a->fax.ecm = o ? o->fax.ecm : true;
		a->fax.pdf = o ? o->fax.pdf : true;
		a->fax.ident = o ? o->fax.ident : NULL;
		a->fax.header = o ? o->fax.header : NULL;
		a->fax.max_faxes = o ? o->fax.max_faxes : 0;
		a->fax.max_bytes = o ? o->fax.max_bytes : 0;
		a->fax.keep_call =
			nd->out[O_NEXT] >= 0 || nd->out[O_FAILED] >= 0;
		if (!a->fax.keep_call) {
			media_end(w, nd, "fax");
			return;
		}
		/* The scenario goes on after the fax (FAX_RESULT). */
		w->st->phase = PH_FAX;
		hop(w, nd, "fax", NULL);
		return;
	}
	case NODE_CONFERENCE: {
		const struct scenario_object *o =
			object(w, SCENARIO_REF_CONFERENCE, nd->box.box);

		if (w->ctx && w->ctx->objs && !o) {
			/* The room was deleted since the scenario was saved:
			 * never let a caller into a room whose PIN we no
			 * longer know. */
			hop(w, nd, "room_missing", NULL);
			end_call(w, 404, "Conference Not Found");
			return;
		}
		if (need_answer(w, nd))
			return;
		conference(w, nd, nd->box.box, o, nd->box.pin_retries);
		return;
	}
	default:
		hop(w, nd, "unknown", NULL);
		end_call(w, 500, "Broken Scenario");
		return;
	}
}

static bool eval_schedule(struct walk *w, const struct scenario_node *nd,
			  const char **what)
{
	const struct sched *s = nd->ref.inl;

	if (nd->ref.name) {
		const struct scenario_object *o =
			object(w, SCENARIO_REF_SCHEDULE, nd->ref.name);

		s = o ? o->sched : NULL;
	}
	if (!s) {
		/* Deleted since the scenario was saved: closed is the safe
		 * reading (the no_match route usually plays "we are
		 * closed"), and the hop says why. */
		*what = "no_match (schedule missing)";
		return false;
	}
	if (scenario_sched_open(s, w->ctx ? w->ctx->now_ms : 0)) {
		*what = SCENARIO_OUT_MATCH;
		return true;
	}
	*what = SCENARIO_OUT_NO_MATCH;
	return false;
}

static bool eval_list(struct walk *w, const struct scenario_node *nd,
		      const char **what)
{
	const struct nlist *l = nd->ref.inl;

	if (nd->ref.name) {
		const struct scenario_object *o =
			object(w, SCENARIO_REF_LIST, nd->ref.name);

		l = o ? o->list : NULL;
	}
	if (!l) {
		*what = "not_in_list (list missing)";
		return false;
	}
	if (scenario_list_match(l, w->ctx ? w->ctx->caller : NULL)) {
		*what = SCENARIO_OUT_IN_LIST;
		return true;
	}
	*what = SCENARIO_OUT_NOT_IN_LIST;
	return false;
}

/* Follows pure nodes from idx until one needs the world. */
static void enter(struct walk *w, int idx)
{
	for (;;) {
		const struct scenario_node *nd = &w->sc->nodes[idx];
		const char *what = NULL;
		enum out_word ow;

		/* Lint refuses graphs that can trip this (loops and chains
		 * of pure nodes, scenario_lint.c); it stays as the guard. */
		if (++w->hops > WALK_MAX_HOPS) {
			set_node(w, nd);
			hop(w, nd, "loop", NULL);
			end_call(w, 500, "Scenario Loop");
			w->out->outcome = "loop";
			w->err = -ELOOP;
			return;
		}
		if (!scenario_node_pure(nd)) {
			arrive(w, idx);
			return;
		}
		if (nd->type == NODE_SCHEDULE)
			ow = eval_schedule(w, nd, &what) ? O_MATCH
							 : O_NO_MATCH;
		else
			ow = eval_list(w, nd, &what) ? O_IN_LIST
						     : O_NOT_IN_LIST;
		if (nd->out[ow] < 0) {
			set_node(w, nd);
			hop(w, nd, what, NULL);
			end_call(w, 480, R_UNAVAILABLE);
			return;
		}
		hop(w, nd, what, scenario_out_words[ow]);
		idx = nd->out[ow];
	}
}

/* ---- events ---- */

static const enum out_word ch_no_answer[] = {O_NO_ANSWER, O_NEXT};
static const enum out_word ch_busy[] = {O_BUSY, O_NEXT};
static const enum out_word ch_unavail[] = {O_UNAVAILABLE, O_NEXT};
static const enum out_word ch_crm_busy[] = {O_BUSY, O_NO_ANSWER, O_NEXT};
static const enum out_word ch_crm_unavail[] = {O_UNAVAILABLE, O_NO_ANSWER,
					       O_NEXT};
static const enum out_word ch_not_found[] = {O_NOT_FOUND, O_NEXT};
static const enum out_word ch_crm_error[] = {O_CRM_ERROR, O_NEXT};
static const enum out_word ch_timeout[] = {O_TIMEOUT};
static const enum out_word ch_full[] = {O_FULL, O_TIMEOUT};
static const enum out_word ch_no_agents[] = {O_NO_AGENTS, O_TIMEOUT};
static const enum out_word ch_invalid[] = {O_INVALID, O_TIMEOUT};
static const enum out_word ch_extension[] = {O_EXTENSION, O_TIMEOUT};
static const enum out_word ch_not_rec[] = {O_NOT_RECOGNIZED};
static const enum out_word ch_no_input[] = {O_NO_INPUT, O_NOT_RECOGNIZED};

#define CHAIN(c) c, sizeof(c) / sizeof(c[0])

static void bridged(struct walk *w, const struct scenario_node *nd)
{
	disarm(w);
	w->st->answered = true;
	w->st->phase = PH_BRIDGED;
	w->out->outcome = SCENARIO_OUT_ANSWERED;
	hop(w, nd, SCENARIO_OUT_ANSWERED, NULL);
}

static void ring_result(struct walk *w, const struct scenario_node *nd,
			enum walk_ring_result r)
{
	uint8_t ph = w->st->phase;
	const char *what;

	if (r == WALK_RING_ANSWERED) {
		bridged(w, nd);
		return;
	}
	if (r != WALK_RING_NO_ANSWER && r != WALK_RING_BUSY)
		r = WALK_RING_UNAVAILABLE;
	what = scenario_walk_ring_name(r);
	if (ph == PH_EXT_RING) {
		take(w, nd, what, CHAIN(ch_extension), 480, R_UNAVAILABLE);
		return;
	}
	switch (r) {
	case WALK_RING_NO_ANSWER:
		take(w, nd, what, CHAIN(ch_no_answer), 480, "No Answer");
		return;
	case WALK_RING_BUSY:
		if (ph == PH_CRM_RING)
			take(w, nd, what, CHAIN(ch_crm_busy), 486,
			     "Busy Here");
		else
			take(w, nd, what, CHAIN(ch_busy), 486, "Busy Here");
		return;
	default:
		if (ph == PH_CRM_RING)
			take(w, nd, what, CHAIN(ch_crm_unavail), 480,
			     R_UNAVAILABLE);
		else
			take(w, nd, what, CHAIN(ch_unavail), 480,
			     R_UNAVAILABLE);
		return;
	}
}

static void ivr_retry(struct walk *w, const struct scenario_node *nd,
		      const char *what, bool invalid)
{
	struct walk_state *st = w->st;

	disarm(w);
	if (st->tries >= nd->ivr.retries) {
		if (invalid)
			take(w, nd, what, CHAIN(ch_invalid), 480,
			     R_UNAVAILABLE);
		else
			take(w, nd, what, CHAIN(ch_timeout), 480,
			     R_UNAVAILABLE);
		return;
	}
	st->tries++;
	hop(w, nd, what, NULL);
	if (invalid && nd->ivr.invalid_prompt) {
		struct walk_action *a = push(w, WALK_ACT_PLAY);

		a->play.prompt = nd->ivr.invalid_prompt;
		a->play.barge_in = false;
		st->phase = PH_INVALID;
		st->digits[0] = '\0';
		return;
	}
	menu_play(w, nd);
}

static void ivr_dial(struct walk *w, const struct scenario_node *nd)
{
	char digits[WALK_DIGITS_MAX];

	disarm(w);
	if (strlen(w->st->digits) < nd->ivr.ext_min) {
		ivr_retry(w, nd, SCENARIO_OUT_INVALID, true);
		return;
	}
	memcpy(digits, w->st->digits, sizeof(digits));
	/* A room's number first (room_dialing), then an extension. */
	if (nd->ivr.room_dialing) {
		const struct scenario_object *o =
			scenario_objects_room_by_number(
				w->ctx ? w->ctx->objs : NULL, digits);

		if (o) {
			hop(w, nd, "dial_room", NULL);
			conference(w, nd, o->name, o, 0);
			return;
		}
		if (!nd->ivr.ext_dialing) {
			ivr_retry(w, nd, SCENARIO_OUT_INVALID, true);
			return;
		}
	}
	ring(w, WALK_DEST_EXTENSION, digits, nd->ivr.ext_timeout_s * 1000,
	     NULL);
	w->st->phase = PH_EXT_RING;
	hop(w, nd, "dial_extension", NULL);
}

/* The menu choice held back while the walk waits to see whether the
 * caller dials an extension: the lone first digit collected, when it is
 * also a choice. -1 when there is none. */
static int ivr_held_choice(const struct scenario_node *nd,
			   const struct walk_state *st)
{
	int k;

	if (!st->digits[0] || st->digits[1])
		return -1;
	k = scenario_key_index(st->digits[0]);
	return k >= 0 && nd->key[k] >= 0 ? k : -1;
}

static void ivr_choice(struct walk *w, const struct scenario_node *nd, int k)
{
	take_target(w, nd, digit_outs[k], nd->key[k], digit_outs[k]);
}

/* The caller's input ended (inter-digit pause or #): a held choice is
 * taken, anything else is the extension. */
static void ivr_input_end(struct walk *w, const struct scenario_node *nd)
{
	int k = ivr_held_choice(nd, w->st);

	if (k >= 0)
		ivr_choice(w, nd, k);
	else
		ivr_dial(w, nd);
}

static void ivr_digit(struct walk *w, const struct scenario_node *nd, char d)
{
	struct walk_state *st = w->st;
	int k = scenario_key_index(d);
	size_t len = strlen(st->digits);

	if (st->phase == PH_MENU && !nd->ivr.barge_in)
		return; /* the prompt must be heard out */
	if (st->phase == PH_DIGITS) {
		if (d == '#') {
			ivr_input_end(w, nd);
			return;
		}
		if (d < '0' || d > '9') {
			ivr_retry(w, nd, SCENARIO_OUT_INVALID, true);
			return;
		}
		st->digits[len++] = d;
		st->digits[len] = '\0';
		if (len >= nd->ivr.ext_max || len >= WALK_DIGITS_MAX - 1) {
			ivr_dial(w, nd);
			return;
		}
		arm(w, nd->ivr.inter_digit_ms);
		hop(w, nd, "digit", NULL);
		return;
	}
	/* First digit. One that starts an extension starts collecting it.
	 * When it is also a menu choice ("press 1 for sales" beside 1xx
	 * extensions) time decides, as on every PBX: the walk waits
	 * inter_digit_ms as between extension digits; a further digit makes
	 * it an extension, a pause or # takes the choice (ivr_input_end). A
	 * digit that is only a choice is taken at once. */
	if ((nd->ivr.ext_dialing || nd->ivr.room_dialing) && d >= '0' &&
	    d <= '9' &&
	    (nd->ivr.ext_keys & (1u << (d - '0')))) {
		bool choice = nd->key[k] >= 0;

		disarm(w);
		st->digits[0] = d;
		st->digits[1] = '\0';
		if (nd->ivr.ext_max <= 1) {
			/* No second digit can come to make it an
			 * extension: the choice wins (lint warns). */
			if (choice)
				ivr_choice(w, nd, k);
			else
				ivr_dial(w, nd);
			return;
		}
		st->phase = PH_DIGITS;
		arm(w, nd->ivr.inter_digit_ms);
		hop(w, nd, choice ? "choice_or_extension" : "digit", NULL);
		return;
	}
	if (k >= 0 && nd->key[k] >= 0) {
		ivr_choice(w, nd, k);
		return;
	}
	ivr_retry(w, nd, SCENARIO_OUT_INVALID, true);
}

static void speech(struct walk *w, const struct scenario_node *nd,
		   const struct walk_event *ev)
{
	const struct n_assistant *as = &nd->as;

	if (ev->phrase && ev->phrase[0] && ev->confidence >= as->confidence) {
		for (size_t i = 0; i < as->nphrases; i++) {
			if (strcmp(as->phrases[i].name, ev->phrase) ||
			    as->phrase_out[i] < 0)
				continue;
			take_target(w, nd, as->phrase_oname[i],
				    as->phrase_out[i], as->phrase_oname[i]);
			return;
		}
	}
	disarm(w);
	if (w->st->tries < as->retries) {
		w->st->tries++;
		hop(w, nd, SCENARIO_OUT_NOT_RECOGNIZED, NULL);
		recognize(w, nd, true);
		return;
	}
	take(w, nd, SCENARIO_OUT_NOT_RECOGNIZED, CHAIN(ch_not_rec), 480,
	     R_UNAVAILABLE);
}

static void no_input(struct walk *w, const struct scenario_node *nd)
{
	if (w->st->tries < nd->as.retries) {
		w->st->tries++;
		hop(w, nd, SCENARIO_OUT_NO_INPUT, NULL);
		recognize(w, nd, true);
		return;
	}
	take(w, nd, SCENARIO_OUT_NO_INPUT, CHAIN(ch_no_input), 480,
	     R_UNAVAILABLE);
}

static void crm_result(struct walk *w, const struct scenario_node *nd,
		       const struct walk_event *ev)
{
	switch (ev->crm) {
	case WALK_CRM_OWNER:
		if (ev->owner && ev->owner[0] &&
		    strlen(ev->owner) < WALK_TARGET_MAX) {
			disarm(w);
			/* A number rings through the tenant's trunk, as a
			 * subscriber node's external number does. */
			rec_set(ring(w,
				     ev->owner_number ? WALK_DEST_EXTERNAL
						      : WALK_DEST_EXTENSION,
				     ev->owner, nd->crm.timeout_s * 1000,
				     nd->crm.caller_id),
				nd);
			w->st->phase = PH_CRM_RING;
			hop(w, nd, "ring_owner", NULL);
			return;
		}
		/* An owner we cannot ring is no owner. */
		__attribute__((fallthrough));
	case WALK_CRM_NOT_FOUND:
		take(w, nd, SCENARIO_OUT_NOT_FOUND, CHAIN(ch_not_found), 480,
		     R_UNAVAILABLE);
		return;
	default:
		take(w, nd, SCENARIO_OUT_CRM_ERROR, CHAIN(ch_crm_error), 480,
		     R_UNAVAILABLE);
		return;
	}
}

static void queue_result(struct walk *w, const struct scenario_node *nd,
			 const struct walk_event *ev)
{
	int k;

	switch (ev->queue) {
	case WALK_QUEUE_ANSWERED:
		bridged(w, nd);
		return;
	case WALK_QUEUE_FULL:
		take(w, nd, SCENARIO_OUT_FULL, CHAIN(ch_full), 480,
		     R_UNAVAILABLE);
		return;
	case WALK_QUEUE_NO_AGENTS:
		take(w, nd, SCENARIO_OUT_NO_AGENTS, CHAIN(ch_no_agents), 480,
		     R_UNAVAILABLE);
		return;
	case WALK_QUEUE_EXIT_KEY:
		k = scenario_key_index(ev->digit);
		if (k >= 0 && nd->key[k] >= 0) {
			take_target(w, nd, exit_outs[k], nd->key[k],
				    exit_outs[k]);
			return;
		}
		/* An unknown key leaves by the exit route. */
		__attribute__((fallthrough));
	default:
		take(w, nd, SCENARIO_OUT_TIMEOUT, CHAIN(ch_timeout), 480,
		     R_UNAVAILABLE);
		return;
	}
}

static const enum out_word ch_fax_ok[] = {O_NEXT};
static const enum out_word ch_fax_failed[] = {O_FAILED, O_NEXT};

/* The fax of a node with outputs ended; the call is still up. */
static void fax_result(struct walk *w, const struct scenario_node *nd,
		       bool ok)
{
	if (ok)
		take(w, nd, "received", CHAIN(ch_fax_ok), 200, "Done");
	else
		take(w, nd, SCENARIO_OUT_FAILED, CHAIN(ch_fax_failed), 200,
		     "Done");
}

static void on_play_done(struct walk *w, const struct scenario_node *nd)
{
	switch (w->st->phase) {
	case PH_PLAY:
		if (nd->out[O_NEXT] >= 0) {
			take_target(w, nd, "played", nd->out[O_NEXT],
				    SCENARIO_OUT_NEXT);
			return;
		}
		/* A greeting without "next" ends the call normally. */
		hop(w, nd, "played", NULL);
		end_call(w, 200, "Done");
		return;
	case PH_MENU:
		arm(w, nd->ivr.timeout_ms);
		w->st->phase = PH_MENU_WAIT;
		hop(w, nd, "wait_input", NULL);
		return;
	case PH_INVALID:
		menu_play(w, nd);
		hop(w, nd, "menu", NULL);
		return;
	case PH_LISTEN:
		if (!w->st->timer) {
			arm(w, nd->as.timeout_ms);
			hop(w, nd, "wait_speech", NULL);
		}
		return;
	default:
		return;
	}
}

static void on_timer(struct walk *w, const struct scenario_node *nd,
		     uint32_t id)
{
	if (!id || id != w->st->timer)
		return; /* stale: a timer we cancelled or replaced */
	w->st->timer = 0;
	switch (w->st->phase) {
	case PH_MENU_WAIT:
		ivr_retry(w, nd, SCENARIO_OUT_TIMEOUT, false);
		return;
	case PH_DIGITS:
		ivr_input_end(w, nd);
		return;
	case PH_CRM_LOOKUP:
		take(w, nd, SCENARIO_OUT_CRM_ERROR, CHAIN(ch_crm_error), 480,
		     R_UNAVAILABLE);
		return;
	case PH_LISTEN:
		no_input(w, nd);
		return;
	default:
		return;
	}
}

static void on_failed(struct walk *w, const struct scenario_node *nd)
{
	switch (w->st->phase) {
	case PH_RING:
	case PH_EXT_RING:
	case PH_CRM_RING:
		/* A leg that could not even be placed is unreachable. */
		ring_result(w, nd, WALK_RING_UNAVAILABLE);
		return;
	case PH_QUEUE:
		/* The queue side failed: the exit route, never a lost
		 * call. */
		take(w, nd, "failed", CHAIN(ch_timeout), 480, R_UNAVAILABLE);
		return;
	case PH_CRM_LOOKUP:
		take(w, nd, SCENARIO_OUT_CRM_ERROR, CHAIN(ch_crm_error), 480,
		     R_UNAVAILABLE);
		return;
	default:
		hop(w, nd, "failed", NULL);
		end_call(w, 500, "Media Failed");
		w->out->outcome = "failed";
		return;
	}
}

/* Which phases each node type may be in; a state that breaks this does
 * not fit the scenario (decoded garbage, or a new version). */
static bool phase_fits(enum node_type t, uint8_t ph)
{
	static const uint32_t ok[NODE_TYPE_COUNT] = {
		[NODE_SUBSCRIBER] = 1u << PH_RING | 1u << PH_BRIDGED,
		[NODE_FAX] = 1u << PH_ANSWER | 1u << PH_MEDIA | 1u << PH_FAX,
		[NODE_QUEUE] =
			1u << PH_ANSWER | 1u << PH_QUEUE | 1u << PH_BRIDGED,
		[NODE_SCHEDULE] = 0,
		[NODE_LIST] = 0,
		[NODE_IVR] = 1u << PH_ANSWER | 1u << PH_MENU |
			     1u << PH_MENU_WAIT | 1u << PH_DIGITS |
			     1u << PH_INVALID | 1u << PH_EXT_RING |
			     1u << PH_BRIDGED,
		[NODE_ASSISTANT] = 1u << PH_ANSWER | 1u << PH_LISTEN,
		[NODE_CONFERENCE] = 1u << PH_ANSWER | 1u << PH_MEDIA,
		[NODE_GREETING] = 1u << PH_ANSWER | 1u << PH_PLAY,
		[NODE_VOICEMAIL] = 1u << PH_ANSWER | 1u << PH_MEDIA,
		[NODE_CRM] = 1u << PH_CRM_LOOKUP | 1u << PH_CRM_RING |
			     1u << PH_BRIDGED,
		[NODE_HANGUP] = 0,
	};

	return ph < PH_COUNT && (ok[t] & (1u << ph));
}

static void finish(struct walk *w)
{
	struct walk_state *st = w->st;
	struct walk_actions *out = w->out;

	if (w->overflow) {
		/* Cannot happen with the node set above; if it ever does,
		 * end the call rather than send half a decision. */
		out->n = 0;
		w->overflow = false;
		end_call(w, 500, "Scenario Error");
		w->err = -EOVERFLOW;
	}
	out->ended =
		st->ended || st->phase == PH_BRIDGED || st->phase == PH_MEDIA;
	if (st->phase == PH_MENU || st->phase == PH_MENU_WAIT ||
	    st->phase == PH_DIGITS)
		out->listen = WALK_LISTEN_DTMF;
	else if (st->phase == PH_LISTEN)
		out->listen = WALK_LISTEN_SPEECH;
	if (st->steps != UINT32_MAX)
		st->steps++;
}

void scenario_walk_init(struct walk_state *st)
{
	if (st)
		memset(st, 0, sizeof(*st));
}

int scenario_walk_step(const struct scenario *sc, const struct walk_ctx *ctx,
		       struct walk_state *st, const struct walk_event *ev,
		       struct walk_actions *out)
{
	struct walk w = {.sc = sc, .ctx = ctx, .st = st, .out = out};
	const struct scenario_node *nd;
	int idx;

	if (!out)
		return -EINVAL;
	out->n = 0;
	out->nhops = 0;
	out->listen = 0;
	out->ended = false;
	out->outcome = NULL;
	if (!sc || !st || !ev) {
		if (st) {
			end_call(&w, 500, "Broken Scenario");
			finish(&w);
		}
		return -EINVAL;
	}
	if (ev->kind == WALK_EV_START) {
		uint32_t seq = st->timer_seq;

		memset(st, 0, sizeof(*st));
		st->timer_seq = seq;
		if (sc->start < 0) {
			end_call(&w, 500, "Broken Scenario");
			finish(&w);
			return -EINVAL;
		}
		enter(&w, sc->start);
		finish(&w);
		return w.err;
	}
	if (st->ended) {
		out->ended = true;
		return 0;
	}
	idx = scenario_node_index(sc, st->node);
	if (idx < 0 || !phase_fits(sc->nodes[idx].type, st->phase)) {
		if (ev->kind == WALK_EV_HANGUP) {
			st->ended = true;
			st->phase = PH_ENDED;
			out->ended = true;
			out->outcome = "caller_hangup";
			return 0;
		}
		if (ev->kind == WALK_EV_ANSWERED)
			st->answered = true;
		end_call(&w, 500, "Scenario Changed");
		finish(&w);
		return -EINVAL;
	}
	nd = &sc->nodes[idx];
	switch (ev->kind) {
	case WALK_EV_HANGUP:
		st->ended = true;
		st->phase = PH_ENDED;
		st->timer = 0;
		out->outcome = "caller_hangup";
		hop(&w, nd, "caller_hangup", NULL);
		break;
	case WALK_EV_ANSWERED:
		st->answered = true;
		if (st->phase == PH_ANSWER)
			arrive(&w, idx);
		break;
	case WALK_EV_PLAY_DONE:
		on_play_done(&w, nd);
		break;
	case WALK_EV_DTMF:
		if (st->phase == PH_MENU || st->phase == PH_MENU_WAIT ||
		    st->phase == PH_DIGITS)
			ivr_digit(&w, nd, ev->digit);
		break;
	case WALK_EV_TIMER:
		on_timer(&w, nd, ev->timer_id);
		break;
	case WALK_EV_RING_RESULT:
		if (st->phase == PH_RING || st->phase == PH_EXT_RING ||
		    st->phase == PH_CRM_RING)
			ring_result(&w, nd, ev->ring);
		break;
	case WALK_EV_SPEECH:
		if (st->phase == PH_LISTEN)
			speech(&w, nd, ev);
		break;
	case WALK_EV_CRM_RESULT:
		if (st->phase == PH_CRM_LOOKUP)
			crm_result(&w, nd, ev);
		break;
	case WALK_EV_QUEUE_RESULT:
		if (st->phase == PH_QUEUE)
			queue_result(&w, nd, ev);
		break;
	case WALK_EV_FAX_RESULT:
		if (st->phase == PH_FAX)
			fax_result(&w, nd, ev->fax_ok);
		break;
	case WALK_EV_FAILED:
		on_failed(&w, nd);
		break;
	default:
		finish(&w);
		return -EINVAL;
	}
	finish(&w);
	return w.err;
}

const char *scenario_walk_event_name(enum walk_event_kind kind)
{
	static const char *const names[WALK_EV_COUNT] = {
		"START",	"ANSWERED",    "PLAY_DONE", "DTMF",
		"TIMER",	"RING_RESULT", "SPEECH",    "CRM_RESULT",
		"QUEUE_RESULT", "FAILED",      "HANGUP",    "FAX_RESULT"};

	return (unsigned)kind < WALK_EV_COUNT ? names[kind] : "?";
}

const char *scenario_walk_act_name(enum walk_act_kind kind)
{
	static const char *const names[WALK_ACT_COUNT] = {
		"REJECT",    "ANSWER",	   "PLAY",   "STOP_PLAY", "TIMER",
		"RING",	     "QUEUE",	   "RECORD", "FAX",	  "CONFERENCE",
		"RECOGNIZE", "CRM_LOOKUP", "HANGUP"};

	return (unsigned)kind < WALK_ACT_COUNT ? names[kind] : "?";
}

const char *scenario_walk_ring_name(enum walk_ring_result r)
{
	switch (r) {
	case WALK_RING_ANSWERED:
		return SCENARIO_OUT_ANSWERED;
	case WALK_RING_NO_ANSWER:
		return SCENARIO_OUT_NO_ANSWER;
	case WALK_RING_BUSY:
		return SCENARIO_OUT_BUSY;
	case WALK_RING_UNAVAILABLE:
		return SCENARIO_OUT_UNAVAILABLE;
	default:
		return "?";
	}
}
