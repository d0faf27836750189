/* Scenario dry run: drives scenario_walk_step (the live engine, nothing
 * else decides) in a loop, answering each action list with the event the
 * world would send, taken from the script of what the caller and the
 * world do, and prints the path node by node with prompts, timers, rings
 * and the final outcome. Bounded by max_steps whatever the graph. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scenario_internal.h"
#include "scenario_sim.h"

struct sim {
	const struct scenario *sc;
	const struct scenario_sim_input *in;
	const char *zone; /* for printing local times */
	int64_t start_ms, now_ms;
	char *out;
	size_t size, len;
	struct scenario_sim_result *res;
	/* script cursors */
	size_t dtmf_i, say_i;
	const char *pending; /* digits of the current entry still to
			      * press */
	bool playing;	     /* a prompt is playing */
	bool barge;	     /* ... and a digit stops it */
	bool entry_used;     /* the listening prompt had its entry */
	uint32_t timer_id, timer_ms;
	uint32_t play_ms;	  /* length of the prompt playing */
	enum walk_dest ring_dest; /* of the last RING */
	const char *queue;	  /* of the last QUEUE */
	char last_path_node[WALK_NODE_MAX];
	size_t path_len;
	bool cut; /* out is full: later lines dropped */
};

static void emit(struct sim *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void emit(struct sim *s, const char *fmt, ...)
{
	char line[768];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = strlen(line);
	if (s->cut)
		return;
	if (s->len + n + 2 > s->size) {
		s->cut = true;
		return;
	}
	memcpy(s->out + s->len, line, n);
	s->len += n;
	s->out[s->len++] = '\n';
	s->out[s->len] = '\0';
}

static bool in_set(const char *const *set, size_t n, const char *target)
{
	char a[40], b[40];

	if (scenario_number_normalise(target, a, sizeof(a)) < 0)
		snprintf(a, sizeof(a), "%s", target);
	for (size_t i = 0; i < n; i++) {
		if (!set[i])
			continue;
		if (!strcmp(set[i], target))
			return true;
		if (scenario_number_normalise(set[i], b, sizeof(b)) > 0 &&
		    a[0] && !strcmp(a, b))
			return true;
	}
	return false;
}

static uint32_t prompt_ms(const struct scenario_sim_input *in,
			  const char *name)
{
	for (size_t i = 0; name && i < in->nprompts; i++) {
		if (in->prompts[i].name && !strcmp(in->prompts[i].name, name))
			return in->prompts[i].ms;
	}
	return 0;
}

/* False only when the tenant's extensions are known and ext is not one. */
static bool extension_exists(const struct scenario_sim_input *in,
			     const char *ext)
{
	if (!in->extensions_known)
		return true;
	for (size_t i = 0; ext && i < in->nextensions; i++) {
		if (in->extensions[i] && !strcmp(in->extensions[i], ext))
			return true;
	}
	return false;
}

static bool silent(const char *e)
{
	return !e || !e[0] || !strcmp(e, "-");
}

static const char *dest_name(enum walk_dest d)
{
	switch (d) {
	case WALK_DEST_EXTERNAL:
		return "external number";
	case WALK_DEST_MOBILE:
		return "mobile";
	default:
		return "extension";
	}
}

static void path_add(struct sim *s, const char *node)
{
	struct scenario_sim_result *r = s->res;
	size_t n = strlen(node);

	if (!r || !strcmp(s->last_path_node, node))
		return;
	snprintf(s->last_path_node, sizeof(s->last_path_node), "%s", node);
	snprintf(r->last_node, sizeof(r->last_node), "%s", node);
	if (s->path_len + n + 4 >= sizeof(r->path))
		return;
	if (s->path_len) {
		memcpy(r->path + s->path_len, " > ", 3);
		s->path_len += 3;
	}
	memcpy(r->path + s->path_len, node, n + 1);
	s->path_len += n;
}

static void local_time(struct sim *s, char *buf, size_t size)
{
	struct tm tm;
	int64_t sec = s->now_ms / 1000;

	if (scenario_tz_local(s->zone, sec, &tm))
		snprintf(buf, size, "%lld (unix)", (long long)sec);
	else
		snprintf(buf, size, "%04d-%02d-%02d %02d:%02d %s",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, s->zone);
}

/* What the actions say, in words. */
static void describe(const struct walk_actions *acts, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < acts->n && len + 8 < size; i++) {
		const struct walk_action *a = &acts->act[i];
		char one[256];

		switch (a->kind) {
		case WALK_ACT_REJECT:
			snprintf(one, sizeof(one), "reject %u %s", a->end.code,
				 a->end.reason);
			break;
		case WALK_ACT_HANGUP:
			snprintf(one, sizeof(one), "hang up (%u %s)",
				 a->end.code, a->end.reason);
			break;
		case WALK_ACT_ANSWER:
			snprintf(one, sizeof(one), "answer");
			break;
		case WALK_ACT_PLAY:
			snprintf(one, sizeof(one), "play prompt \"%s\"%s",
				 a->play.prompt ? a->play.prompt : "?",
				 a->play.barge_in ? " (a key stops it)" : "");
			break;
		case WALK_ACT_STOP_PLAY:
			snprintf(one, sizeof(one), "stop the prompt");
			break;
		case WALK_ACT_TIMER:
			if (a->timer.ms)
				snprintf(one, sizeof(one),
					 "start timer #%u (%u ms)",
					 a->timer.id, a->timer.ms);
			else
				snprintf(one, sizeof(one), "cancel timer #%u",
					 a->timer.id);
			break;
		case WALK_ACT_RING:
			if (a->ring.timeout_ms)
				snprintf(one, sizeof(one),
					 "ring %s %s (answer timeout %u s)",
					 dest_name(a->ring.dest),
					 a->ring.target,
					 a->ring.timeout_ms / 1000);
			else
				snprintf(one, sizeof(one),
					 "ring %s %s (no timeout)",
					 dest_name(a->ring.dest),
					 a->ring.target);
			break;
		case WALK_ACT_QUEUE:
			snprintf(one, sizeof(one),
				 "queue \"%s\" (max wait %u s%s%s)",
				 a->queue.name, a->queue.max_wait_s,
				 a->queue.exit_keys[0] ? ", exit keys " : "",
				 a->queue.exit_keys);
			break;
		case WALK_ACT_RECORD:
			snprintf(one, sizeof(one),
				 "record voicemail into box \"%s\" (max %u s)",
				 a->record.box, a->record.max_s);
			break;
		case WALK_ACT_FAX:
			snprintf(one, sizeof(one),
				 "receive fax into box \"%s\"", a->fax.box);
			break;
		case WALK_ACT_CONFERENCE:
			snprintf(one, sizeof(one), "join conference \"%s\"%s",
				 a->conference.room,
				 a->conference.pin ? " (asks the PIN)" : "");
			break;
		case WALK_ACT_RECOGNIZE:
			snprintf(one, sizeof(one),
				 "ask \"%s\" and listen (%zu phrases, "
				 "confidence >= %.2f)",
				 a->recognize.prompt, a->recognize.nphrases,
				 a->recognize.confidence);
			break;
		case WALK_ACT_CRM_LOOKUP:
			snprintf(one, sizeof(one),
				 "ask %s for the caller's owner (%u ms)",
				 a->crm.crm, a->crm.timeout_ms);
			break;
		default:
			snprintf(one, sizeof(one), "?");
			break;
		}
		len += (size_t)snprintf(buf + len, size - len, "%s%s",
					len ? "; " : "", one);
		if (len >= size)
			len = size - 1;
	}
}

static void print_step(struct sim *s, unsigned step, const char *evdesc,
		       const struct walk_ctx *ctx,
		       const struct walk_actions *acts)
{
	char acts_txt[640], when[64];

	describe(acts, acts_txt, sizeof(acts_txt));
	for (size_t h = 0; h < acts->nhops; h++) {
		const struct walk_hop *hp = &acts->hop[h];
		char detail[256];
		bool last = h + 1 == acts->nhops;

		path_add(s, hp->node);
		if (hp->type == NODE_LIST) {
			snprintf(detail, sizeof(detail), "caller %s: %s",
				 ctx->caller && ctx->caller[0] ? ctx->caller
							       : "anonymous",
				 hp->what);
		} else if (hp->type == NODE_SCHEDULE) {
			local_time(s, when, sizeof(when));
			snprintf(detail, sizeof(detail), "at %s: %s", when,
				 hp->what);
		} else {
			snprintf(detail, sizeof(detail), "%s", hp->what);
		}
		emit(s, "%3u [+%llds] %-16s| node %s (%s): %s%s%s%s%s", step,
		     (long long)((s->now_ms - s->start_ms) / 1000),
		     h ? "" : evdesc, hp->node, scenario_type_name(hp->type),
		     detail, hp->output ? " -> " : "",
		     hp->output ? hp->output : "",
		     last && acts_txt[0] ? " => " : "", last ? acts_txt : "");
	}
	if (!acts->nhops)
		emit(s, "%3u [+%llds] %-16s| %s", step,
		     (long long)((s->now_ms - s->start_ms) / 1000), evdesc,
		     acts_txt[0] ? acts_txt : "(nothing to do)");
}

static const struct walk_action *find(const struct walk_actions *acts,
				      enum walk_act_kind kind)
{
	for (size_t i = 0; i < acts->n; i++) {
		if (acts->act[i].kind == kind)
			return &acts->act[i];
	}
	return NULL;
}

static void track(struct sim *s, const struct walk_actions *acts)
{
	for (size_t i = 0; i < acts->n; i++) {
		const struct walk_action *a = &acts->act[i];

		if (a->kind == WALK_ACT_TIMER) {
			if (a->timer.ms) {
				s->timer_id = a->timer.id;
				s->timer_ms = a->timer.ms;
			} else if (a->timer.id == s->timer_id) {
				s->timer_id = 0;
			}
		} else if (a->kind == WALK_ACT_PLAY) {
			s->play_ms = prompt_ms(s->in, a->play.prompt);
			s->playing = true;
			s->barge = a->play.barge_in;
			s->entry_used = false;
			s->pending = NULL;
		} else if (a->kind == WALK_ACT_RING) {
			s->ring_dest = a->ring.dest;
			s->queue = NULL;
		} else if (a->kind == WALK_ACT_QUEUE) {
			s->queue = a->queue.name;
		} else if (a->kind == WALK_ACT_RECOGNIZE) {
			s->play_ms = prompt_ms(s->in, a->recognize.prompt);
		} else if (a->kind == WALK_ACT_STOP_PLAY) {
			s->playing = false;
			s->play_ms = 0;
		}
	}
}

static void fire_timer(struct sim *s, struct walk_event *ev, char *desc,
		       size_t size)
{
	ev->kind = WALK_EV_TIMER;
	ev->timer_id = s->timer_id;
	s->now_ms += s->timer_ms;
	snprintf(desc, size, "TIMER #%u", s->timer_id);
	s->timer_id = 0;
}

/* Chooses the event the world sends next; false: nothing will come. */
static bool next_event(struct sim *s, const struct walk_actions *acts,
		       struct walk_event *ev, char *desc, size_t size)
{
	const struct scenario_sim_input *in = s->in;
	const struct walk_action *a;

	memset(ev, 0, sizeof(*ev));
	if ((a = find(acts, WALK_ACT_RING))) {
		const char *t = a->ring.target;

		ev->kind = WALK_EV_RING_RESULT;
		if (a->ring.dest == WALK_DEST_EXTENSION &&
		    !extension_exists(in, t)) {
			ev->ring = WALK_RING_UNAVAILABLE;
			snprintf(desc, size, "RING %s (no extension %.20s)",
				 scenario_walk_ring_name(ev->ring), t);
			return true;
		} else if (in_set(in->busy, in->nbusy, t)) {
			ev->ring = WALK_RING_BUSY;
		} else if (in_set(in->unavailable, in->nunavailable, t)) {
			ev->ring = WALK_RING_UNAVAILABLE;
		} else if (in_set(in->no_answer, in->nno_answer, t)) {
			if (!a->ring.timeout_ms) {
				/* Rings for ever: the caller gives up. */
				ev->kind = WALK_EV_HANGUP;
				s->now_ms += 60000;
				snprintf(desc, size, "HANGUP");
				return true;
			}
			ev->ring = WALK_RING_NO_ANSWER;
			s->now_ms += a->ring.timeout_ms;
		} else {
			ev->ring = WALK_RING_ANSWERED;
		}
		snprintf(desc, size, "RING %s",
			 scenario_walk_ring_name(ev->ring));
		return true;
	}
	if ((a = find(acts, WALK_ACT_QUEUE))) {
		const char *ag =
			in->agents && in->agents[0] ? in->agents : "free";
		const char *e =
			s->dtmf_i < in->ndtmf ? in->dtmf[s->dtmf_i] : NULL;

		ev->kind = WALK_EV_QUEUE_RESULT;
		if (!strcmp(ag, "none")) {
			ev->queue = WALK_QUEUE_NO_AGENTS;
		} else if (!strcmp(ag, "full")) {
			ev->queue = WALK_QUEUE_FULL;
		} else if (!strcmp(ag, "busy")) {
			if (!silent(e) && strchr(a->queue.exit_keys, e[0])) {
				ev->queue = WALK_QUEUE_EXIT_KEY;
				ev->digit = e[0];
				s->dtmf_i++;
				snprintf(desc, size, "QUEUE exit key %c",
					 e[0]);
				return true;
			}
			ev->queue = WALK_QUEUE_TIMEOUT;
			s->now_ms += (int64_t)a->queue.max_wait_s * 1000;
		} else {
			ev->queue = WALK_QUEUE_ANSWERED;
		}
		snprintf(desc, size, "QUEUE %s",
			 ev->queue == WALK_QUEUE_ANSWERED    ? "answered"
			 : ev->queue == WALK_QUEUE_NO_AGENTS ? "no_agents"
			 : ev->queue == WALK_QUEUE_FULL	     ? "full"
							     : "timeout");
		return true;
	}
	if (find(acts, WALK_ACT_CRM_LOOKUP)) {
		const char *o = in->crm_owner;

		if (o && !strcmp(o, "timeout") && s->timer_id) {
			fire_timer(s, ev, desc, size);
			return true;
		}
		ev->kind = WALK_EV_CRM_RESULT;
		if (!o || !o[0] || !strcmp(o, "none")) {
			ev->crm = WALK_CRM_NOT_FOUND;
			snprintf(desc, size, "CRM not found");
		} else if (!strcmp(o, "error")) {
			ev->crm = WALK_CRM_ERROR;
			snprintf(desc, size, "CRM error");
		} else {
			ev->crm = WALK_CRM_OWNER;
			ev->owner = o;
			snprintf(desc, size, "CRM owner %.20s", o);
		}
		return true;
	}
	if ((a = find(acts, WALK_ACT_RECOGNIZE))) {
		const char *e =
			s->say_i < in->nsay ? in->say[s->say_i++] : NULL;
		int i;

		/* The question plays before the caller answers it. */
		s->now_ms += s->play_ms;
		s->play_ms = 0;
		if (silent(e)) {
			ev->kind = WALK_EV_PLAY_DONE;
			snprintf(desc, size, "(silence)");
			return true;
		}
		ev->kind = WALK_EV_SPEECH;
		ev->confidence = 0.9;
		if (e[0] == '?') {
			e++;
			ev->confidence = a->recognize.confidence / 2;
		}
		i = scenario_walk_phrase_match(a->recognize.phrases,
					       a->recognize.nphrases, e);
		ev->phrase = i >= 0 ? a->recognize.phrases[i].name : NULL;
		snprintf(desc, size, "SAY \"%.40s\"", e);
		return true;
	}
	if ((a = find(acts, WALK_ACT_FAX)) && a->fax.keep_call) {
		/* The simulated sender's fax arrives whole. */
		ev->kind = WALK_EV_FAX_RESULT;
		ev->fax_ok = true;
		snprintf(desc, size, "FAX received");
		return true;
	}
	if (find(acts, WALK_ACT_ANSWER)) {
		ev->kind = WALK_EV_ANSWERED;
		snprintf(desc, size, "ANSWERED");
		return true;
	}
	if (acts->listen & WALK_LISTEN_DTMF) {
		if (s->pending && *s->pending) {
			ev->kind = WALK_EV_DTMF;
			ev->digit = *s->pending++;
			snprintf(desc, size, "DTMF %c", ev->digit);
			return true;
		}
		if (!s->entry_used && s->dtmf_i < in->ndtmf &&
		    (!s->playing || s->barge)) {
			const char *e = in->dtmf[s->dtmf_i++];

			s->entry_used = true;
			if (!silent(e)) {
				s->pending = e;
				s->playing = false;
				s->play_ms = 0;
				ev->kind = WALK_EV_DTMF;
				ev->digit = *s->pending++;
				snprintf(desc, size, "DTMF %c", ev->digit);
				return true;
			}
		}
	}
	if (s->playing) {
		s->playing = false;
		s->now_ms += s->play_ms;
		s->play_ms = 0;
		ev->kind = WALK_EV_PLAY_DONE;
		snprintf(desc, size, "PLAY_DONE");
		return true;
	}
	if (s->timer_id) {
		fire_timer(s, ev, desc, size);
		return true;
	}
	return false;
}

static int days_in_month(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30,
				31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : d[m - 1];
}

/* Reads `at` as local wall time. A date or time that does not exist is
 * refused with the reason in why rather than normalised (2026-02-30 is
 * not 2026-03-02: a typo must not simulate another day). */
static int parse_at(const char *at, struct tm *tm, char *why, size_t size)
{
	int y, mo, d, h, mi, sec = 0, n = 0;
	char sep;

	memset(tm, 0, sizeof(*tm));
	snprintf(why, size, "is not YYYY-MM-DDTHH:MM[:SS] local time");
	if (sscanf(at, "%4d-%2d-%2d%c%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi,
		   &n) != 6 ||
	    (sep != 'T' && sep != ' '))
		return -EINVAL;
	if (at[n] == ':') {
		int m2 = 0;

		if (sscanf(at + n, ":%2d%n", &sec, &m2) != 1)
			return -EINVAL;
		n += m2;
	}
	if (at[n] || y < 1970 || y > 9999)
		return -EINVAL;
	if (mo < 1 || mo > 12) {
		snprintf(why, size, "is not a date: there is no month %d", mo);
		return -EINVAL;
	}
	if (d < 1 || d > days_in_month(y, mo)) {
		snprintf(why, size, "is not a date: %04d-%02d has %d days", y,
			 mo, days_in_month(y, mo));
		return -EINVAL;
	}
	if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) {
		snprintf(why, size,
			 "is not a time of day (00:00:00 to 23:59:59)");
		return -EINVAL;
	}
	tm->tm_year = y - 1900;
	tm->tm_mon = mo - 1;
	tm->tm_mday = d;
	tm->tm_hour = h;
	tm->tm_min = mi;
	tm->tm_sec = sec;
	return 0;
}

/* The UTC second of local time tm in zone; -EINVAL (why set) for a time
 * the clocks skip (the spring-forward gap), which no call can have. */
static int local_to_utc(const char *zone, const struct tm *tm, int64_t *utc,
			char *why, size_t size)
{
	struct tm back;

	if (scenario_tz_utc(zone, tm, utc)) {
		snprintf(why, size, "cannot be read in zone %.64s", zone);
		return -EINVAL;
	}
	if (scenario_tz_local(zone, *utc, &back) ||
	    back.tm_hour != tm->tm_hour || back.tm_min != tm->tm_min ||
	    back.tm_mday != tm->tm_mday) {
		snprintf(why, size,
			 "does not exist in %.64s: the clocks skip it", zone);
		return -EINVAL;
	}
	return 0;
}

static void outcome(struct sim *s, const struct walk_state *st,
		    const struct walk_actions *acts, int err, bool stalled,
		    char *buf, size_t size)
{
	const struct walk_action *end = find(acts, WALK_ACT_REJECT);

	if (!end)
		end = find(acts, WALK_ACT_HANGUP);
	if (stalled) {
		snprintf(buf, size,
			 "stopped after %u steps; the call was still at "
			 "node %s",
			 s->res ? s->res->steps : 0, st->node);
	} else if (!acts->ended) {
		snprintf(buf, size,
			 "the call waits at node %s with nothing more to "
			 "happen",
			 st->node);
	} else if (err == -ELOOP) {
		snprintf(buf, size,
			 "scenario loop at node %s: the call ended with 500",
			 st->node);
	} else if (acts->outcome &&
		   !strcmp(acts->outcome, SCENARIO_OUT_ANSWERED)) {
		if (s->queue)
			snprintf(
				buf, size,
				"answered by an agent of queue \"%s\" at node "
				"%s",
				s->queue, st->node);
		else
			snprintf(buf, size, "answered by %s %s at node %s",
				 dest_name(s->ring_dest), st->target,
				 st->node);
	} else if (acts->outcome && (!strcmp(acts->outcome, "voicemail") ||
				     !strcmp(acts->outcome, "fax") ||
				     !strcmp(acts->outcome, "conference"))) {
		const struct walk_action *a = acts->n ? &acts->act[0] : NULL;
		const char *box = "";

		for (size_t i = 0; i < acts->n; i++) {
			a = &acts->act[i];
			if (a->kind == WALK_ACT_RECORD)
				box = a->record.box;
			else if (a->kind == WALK_ACT_FAX)
				box = a->fax.box;
			else if (a->kind == WALK_ACT_CONFERENCE)
				box = a->conference.room;
		}
		snprintf(buf, size, "%s \"%s\" at node %s", acts->outcome, box,
			 st->node);
	} else if (acts->outcome && !strcmp(acts->outcome, "caller_hangup")) {
		snprintf(buf, size, "the caller hung up at node %s", st->node);
	} else if (end) {
		snprintf(buf, size, "%s %u %s at node %s",
			 end->kind == WALK_ACT_REJECT ? "rejected with"
						      : "hung up with",
			 end->end.code, end->end.reason, st->node);
	} else {
		snprintf(buf, size, "%s at node %s",
			 acts->outcome ? acts->outcome : "ended", st->node);
	}
}

int scenario_sim_run(const struct scenario *sc,
		     const struct scenario_objects *objs,
		     const struct scenario_sim_input *in, char *out,
		     size_t size, struct scenario_sim_result *res)
{
	struct scenario_sim_result dummy;
	struct walk_actions acts;
	struct walk_state st;
	struct walk_event ev = {.kind = WALK_EV_START};
	struct walk_ctx ctx;
	struct sim s;
	char desc[96],
		final[sizeof(((struct scenario_sim_result *)0)->outcome)];
	unsigned max, step;
	bool stalled = false;
	int err = 0;

	if (!out || !size)
		return -EINVAL;
	out[0] = '\0';
	if (!res)
		res = &dummy;
	memset(res, 0, sizeof(*res));
	if (!sc || !in) {
		snprintf(out, size, "no scenario or no input to simulate\n");
		return -EINVAL;
	}
	memset(&s, 0, sizeof(s));
	s.sc = sc;
	s.in = in;
	s.out = out;
	s.size = size;
	s.res = res;
	if (in->agents && in->agents[0] && strcmp(in->agents, "free") &&
	    strcmp(in->agents, "busy") && strcmp(in->agents, "none") &&
	    strcmp(in->agents, "full")) {
		snprintf(out, size,
			 "agents must be free, busy, none or full, not "
			 "\"%.40s\"\n",
			 in->agents);
		return -EINVAL;
	}
	s.zone = in->timezone && in->timezone[0] ? in->timezone
						 : scenario_timezone(sc, objs);
	if (!scenario_tz_valid(s.zone)) {
		snprintf(out, size, "unknown time zone \"%.64s\"\n", s.zone);
		return -EINVAL;
	}
	if (in->at && in->at[0]) {
		struct tm tm;
		int64_t utc;
		char why[128];

		if (parse_at(in->at, &tm, why, sizeof(why)) ||
		    local_to_utc(s.zone, &tm, &utc, why, sizeof(why))) {
			snprintf(out, size, "time \"%.40s\" %s\n", in->at,
				 why);
			return -EINVAL;
		}
		s.now_ms = utc * 1000;
	} else {
		s.now_ms = in->now_ms;
	}
	s.start_ms = s.now_ms;
	res->at_ms = s.now_ms;
	max = in->max_steps ? in->max_steps : SCENARIO_SIM_STEPS;

	ctx.caller = in->caller;
	ctx.objs = objs;
	ctx.fax_disabled = in->fax_disabled;
	scenario_walk_init(&st);
	snprintf(desc, sizeof(desc), "START");
	{
		char when[64];

		local_time(&s, when, sizeof(when));
		emit(&s, "call from %s at %s",
		     in->caller && in->caller[0] ? in->caller : "anonymous",
		     when);
	}
	for (step = 1;; step++) {
		ctx.now_ms = s.now_ms;
		err = scenario_walk_step(sc, &ctx, &st, &ev, &acts);
		res->steps = step;
		track(&s, &acts);
		print_step(&s, step, desc, &ctx, &acts);
		if (acts.ended)
			break;
		if (step >= max) {
			stalled = true;
			break;
		}
		if (!next_event(&s, &acts, &ev, desc, sizeof(desc)))
			break;
	}
	res->ended = acts.ended;
	outcome(&s, &st, &acts, err, stalled, final, sizeof(final));
	snprintf(res->outcome, sizeof(res->outcome), "%s", final);
	if (!res->last_node[0])
		snprintf(res->last_node, sizeof(res->last_node), "%s",
			 st.node);
	/* The outcome line must survive a small buffer: drop whole lines
	 * from the end until it fits behind a "..." marker. */
	if (s.cut || s.len + strlen(final) + 12 > s.size) {
		size_t need = strlen(final) + 16;

		while (s.len && s.len + need > s.size) {
			char *nl;

			s.out[s.len - 1] = '\0';
			nl = strrchr(s.out, '\n');
			s.len = nl ? (size_t)(nl - s.out) + 1 : 0;
			s.out[s.len] = '\0';
		}
		s.cut = false;
		emit(&s, "...");
		res->truncated = true;
	}
	emit(&s, "outcome: %s", final);
	if (s.cut)
		res->truncated = true;
	return 0;
}
