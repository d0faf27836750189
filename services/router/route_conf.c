/* The conference's side of a live call (issue 11): the walk's CONFERENCE
 * action starts a PIN entry on the caller's worker (the system prompt
 * conf_pin, digits up to '#', a timer), the router checks the PIN and the
 * moderator PIN against the room object, and a right one sends ConfJoin
 * with the room's rules (join_muted, max_members, wait_moderator, moh);
 * pin_retries wrong PINs (or silences) play conf_denied and end the call,
 * a full room plays conf_full and ends it. The call record keeps where the
 * call is (conf, cst, ctry, cdig, cmod), so any router continues it. The
 * room's worker and its members are in Redis (PBX_K_CONF_ROOM,
 * PBX_K_CONF_MEMBERS): the next call into the room is placed on that
 * worker, and pbxctl lists them.
 *
 * A call already on another worker (a menu caller) reaches a room held by
 * a live worker B through a cascade leg: a one-time token in Redis
 * (PBX_KS_CONF_CASCADE) says which tenant, room and role the leg may
 * take, and the caller's worker rings sip:conf-<token>@... through the
 * edge (X-Pbx-Dest: conference), which asks us as for a new call
 * (source "worker"); route_call.c places that leg on B, where it joins
 * the room as a member (the built-in scenario "@conf:<room>", no PIN:
 * the caller gave it here) and the caller's worker bridges the caller to
 * it (docs/architecture.md, "Cross-worker conference"). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "pbx_redis.h"
#include "route_ctx.h"
#include "router.h"
#include "scenario.h"
#include "workers.h"

#define KIND(k) PBX__V1__MEDIA_EVENT__KIND__KIND_##k

enum {
	CONF_DIGIT_MS = 15000, /* no key for this long: a wrong PIN */
	CONF_PIN_MAX = 16,
	CASCADE_TTL_S = 30,     /* the token, from the Ring to the leg's
				 * arrival at the router */
	CASCADE_RING_MS = 10000 /* the leg answers within this or the
				 * caller's call ends */
};

/* What a step sends after its save. */
enum conf_do {
	DO_NONE,
	DO_ASK,	   /* conf_pin, timer */
	DO_RETRY,  /* conf_bad_pin, timer */
	DO_JOIN,   /* timer off, ConfJoin */
	DO_DENY,   /* timer off, conf_denied, then the hang-up */
	DO_FULL,   /* conf_full, then the hang-up */
	DO_HANGUP, /* the last prompt ended */
	DO_JOINED, /* the room's keys: worker, member */
	DO_MUTED,  /* the member's mute in the member list */
};

/* ---- to the worker ------------------------------------------------------ */

/* A ConfJoin on its way: what it needs once Redis has said where the
 * room is (the event's context is gone by then). Owned by the reply. */
struct join_req {
	struct router *r;
	char tenant[65], call_id[256], worker[65], room[65], moh[65];
	char caller[65], domain[256];
	uint64_t seq;
	bool moderator, muted, wait_moderator, end_with_moderator, announce;
	bool is_leg; /* a cascade leg itself: never cascades again */
	uint32_t max_members;
};

static int cmd_send(struct join_req *jr, Pbx__V1__MediaCommand *cmd)
{
	return route_media_send(jr->r, jr->worker, jr->tenant, jr->call_id,
				 jr->seq, cmd);
}

static void join_send(struct join_req *jr)
{
	Pbx__V1__MediaCommand cmd = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__ConfJoin j =
		PBX__V1__MEDIA_COMMAND__CONF_JOIN__INIT;

	j.room = jr->room;
	j.moderator = jr->moderator;
	j.muted = jr->muted;
	j.max_members = jr->max_members;
	j.wait_moderator = jr->wait_moderator;
	j.end_with_moderator = jr->end_with_moderator;
	j.announce = jr->announce;
	j.moh = jr->moh;
	cmd.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_CONF_JOIN;
	cmd.conf_join = &j;
	PLOG_INFO("conference %s: join%s%s (max %u)", jr->room,
		  j.moderator ? " as moderator" : "", j.muted ? " muted" : "",
		  j.max_members);
	if (cmd_send(jr, &cmd))
		PLOG_ERR("conference join to worker %s failed", jr->worker);
}

/* The worker whose members the room has now (nil: none). */
static const char room_lua[] =
	"if redis.call('HLEN', KEYS[1]) > 0 then "
	"return redis.call('GET', KEYS[2]) end return false";

/* ---- a room on another worker: the cascade leg -------------------------- */

/* The caller's worker rings the leg (the edge relays it to the router
 * like a new call); answered, it is bridged to the caller. */
static void cascade_ring(struct join_req *jr, const char *token)
{
	Pbx__V1__MediaCommand cmd = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Ring rg = PBX__V1__MEDIA_COMMAND__RING__INIT;
	char target[384];

	/* The host is not used for routing (the leg goes to the edge, which
	 * asks the router); the tenant's domain keeps it readable. */
	snprintf(target, sizeof(target), "sip:conf-%s@%s", token,
		 jr->domain[0] ? jr->domain : "conference.invalid");
	rg.target_uri = target;
	rg.timeout_ms = CASCADE_RING_MS;
	rg.caller_id = jr->caller;
	rg.dest_kind = (char *)"conference";
	cmd.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_RING;
	cmd.ring = &rg;
	if (cmd_send(jr, &cmd))
		PLOG_ERR("conference %s: cascade ring to worker %s failed",
			 jr->room, jr->worker);
}

struct cascade_req {
	struct join_req *jr;
	char token[33];
};

static void cascade_stored(redisAsyncContext *ac, void *reply, void *arg)
{
	struct cascade_req *cr = arg;
	struct join_req *jr = cr->jr;
	redisReply *rr = reply;

	(void)ac;
	pbx_log_ctx(jr->tenant, jr->call_id);
	if (rr && rr->type == REDIS_REPLY_STATUS) {
		cascade_ring(jr, cr->token);
	} else {
		PLOG_ERR("conference %s: cannot store the cascade token: %s",
			 jr->room,
			 rr && rr->type == REDIS_REPLY_ERROR ? rr->str
							     : "no reply");
		route_media_hangup(jr->r, jr->worker, jr->tenant, jr->call_id,
				   503, "Service Unavailable");
	}
	pbx_log_ctx(NULL, NULL);
	free(jr);
	free(cr);
}

/* The room mixes on live worker `holder`, the caller is on jr->worker:
 * a one-time token for a leg into the room, then the Ring. Takes jr. */
static void cascade_start(struct join_req *jr, const char *holder)
{
	redisAsyncContext *ac = pbx_redis_ctx(jr->r->redis);
	struct cascade_req *cr = calloc(1, sizeof(*cr));
	unsigned char rnd[16];
	char key[PBX_KEY_MAX], val[640], ttl[12];

	if (!cr || !ac ||
	    getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		free(cr);
		route_media_hangup(jr->r, jr->worker, jr->tenant, jr->call_id,
				   503, "Service Unavailable");
		free(jr);
		return;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(cr->token + 2 * i, 3, "%02x", rnd[i]);
	cr->jr = jr;
	/* The caller number last: the rest of the line, whatever it is.
	 * The caller's worker: the leg ends when that worker is lost. */
	snprintf(val, sizeof(val), "%s %s %d %s %s %s", jr->tenant, jr->room,
		 jr->moderator, jr->call_id, jr->worker,
		 jr->caller[0] ? jr->caller : "-");
	snprintf(ttl, sizeof(ttl), "%d", CASCADE_TTL_S);
	PLOG_INFO("conference %s: the room is on worker %s and this call on "
		  "%s: joining through a cascade leg",
		  jr->room, holder, jr->worker);
	if (pbx_key_sys_sub_of(key, sizeof(key), PBX_KS_CONF_CASCADE,
			       cr->token) ||
	    pbx_redis_acmd(ac, cascade_stored, cr, "SET %s %s EX %s", key,
			      val, ttl) != REDIS_OK) {
		free(cr);
		route_media_hangup(jr->r, jr->worker, jr->tenant, jr->call_id,
				   503, "Service Unavailable");
		free(jr);
	}
}

static void room_where(redisAsyncContext *ac, void *reply, void *arg)
{
	struct join_req *jr = arg;
	redisReply *rr = reply;

	(void)ac;
	pbx_log_ctx(jr->tenant, jr->call_id);
	/* A call already on a worker cannot move to another one: joining
	 * here would make a second half of the room that hears nobody of
	 * the first. It joins through a leg to the room's worker instead;
	 * such a leg itself (the room moved meanwhile) is refused. */
	if (rr && rr->type == REDIS_REPLY_STRING &&
	    strcmp(rr->str, jr->worker) &&
	    workers_live(jr->r->workers, rr->str)) {
		if (!jr->is_leg) {
			cascade_start(jr, rr->str);
			pbx_log_ctx(NULL, NULL);
			return;
		}
		PLOG_WARN("conference %s: the room moved to worker %s; this "
			  "cascade leg on %s is refused",
			  jr->room, rr->str, jr->worker);
		route_media_hangup(jr->r, jr->worker, jr->tenant, jr->call_id,
				   480, "Conference On Another Worker");
	} else {
		join_send(jr);
	}
	pbx_log_ctx(NULL, NULL);
	free(jr);
}

static void send_join(struct route_ctx *c)
{
	redisAsyncContext *ac = pbx_redis_ctx(c->r->redis);
	char members[PBX_KEY_MAX], room[PBX_KEY_MAX];
	struct scenario_conference cf;
	struct join_req *jr;

	if (scenario_objects_conference(c->objs, c->conf, &cf)) {
		/* Deleted between the PIN and now: no PIN-less join. */
		PLOG_WARN("conference %s: the room is gone; ending the call",
			  c->conf);
		route_media_hangup(c->r, c->worker_id, c->tenant, c->call_id,
				   404, "Conference Not Found");
		return;
	}
	jr = calloc(1, sizeof(*jr));
	if (!jr) {
		route_media_hangup(c->r, c->worker_id, c->tenant, c->call_id,
				   503, "Service Unavailable");
		return;
	}
	jr->r = c->r;
	snprintf(jr->tenant, sizeof(jr->tenant), "%s", c->tenant);
	snprintf(jr->call_id, sizeof(jr->call_id), "%s", c->call_id);
	snprintf(jr->worker, sizeof(jr->worker), "%s", c->worker_id);
	snprintf(jr->room, sizeof(jr->room), "%s", c->conf);
	snprintf(jr->moh, sizeof(jr->moh), "%s", cf.moh ? cf.moh : "");
	snprintf(jr->caller, sizeof(jr->caller), "%s", c->caller);
	snprintf(jr->domain, sizeof(jr->domain), "%s", c->domain);
	jr->is_leg = route_conf_is_leg(c);
	jr->seq = c->seq;
	jr->moderator = c->cmod;
	jr->muted = cf.join_muted && !c->cmod;
	jr->max_members = cf.max_members;
	/* Without a moderator PIN nobody could ever end the wait. */
	jr->wait_moderator = cf.wait_moderator && cf.moderator_pin;
	jr->end_with_moderator = cf.end_with_moderator;
	jr->announce = cf.announce;
	if (ac &&
	    !pbx_key_sub_of(members, sizeof(members), c->tenant,
			    PBX_K_CONF_MEMBERS, c->conf) &&
	    !pbx_key_sub_of(room, sizeof(room), c->tenant, PBX_K_CONF_ROOM,
			    c->conf) &&
	    pbx_redis_acmd(ac, room_where, jr, "EVAL %s 2 %s %s", room_lua,
			      members, room) == REDIS_OK)
		return;
	/* Without Redis the member list is lost anyway: join here. */
	join_send(jr);
	free(jr);
}

/* ---- the room's keys ---------------------------------------------------- */

static void reply_ignored(redisAsyncContext *ac, void *reply, void *arg)
{
	(void)ac;
	(void)arg;
	if (reply && ((redisReply *)reply)->type == REDIS_REPLY_ERROR)
		PLOG_WARN("conference key write: %s",
			  ((redisReply *)reply)->str);
}

/* The room lives on this call's worker (for the next member's placement)
 * and the call is one of its members (for pbxctl), both for as long as a
 * call may live. */
static void keys_joined(struct route_ctx *c)
{
	redisAsyncContext *ac = pbx_redis_ctx(c->r->redis);
	char room[PBX_KEY_MAX], members[PBX_KEY_MAX], val[256], ttl[24];

	if (!ac ||
	    pbx_key_sub_of(room, sizeof(room), c->tenant, PBX_K_CONF_ROOM,
			   c->conf) ||
	    pbx_key_sub_of(members, sizeof(members), c->tenant,
			   PBX_K_CONF_MEMBERS, c->conf))
		return;
	snprintf(ttl, sizeof(ttl), "%ld", c->r->cfg->call_ttl_s);
	snprintf(val, sizeof(val), "%s %d %d %" PRIu64 " %s", c->worker_id,
		 c->cmod, c->c_muted, pbx_clock_now_ms(),
		 c->caller[0] ? c->caller : "-");
	pbx_redis_acmd(ac, reply_ignored, NULL, "SET %s %s EX %s", room,
			  c->worker_id, ttl);
	pbx_redis_acmd(ac, reply_ignored, NULL, "HSET %s %s %s", members,
			  c->call_id, val);
	pbx_redis_acmd(ac, reply_ignored, NULL, "EXPIRE %s %s", members,
			  ttl);
}

static const char leave_lua[] =
	"redis.call('HDEL', KEYS[1], ARGV[1]) "
	"if redis.call('HLEN', KEYS[1]) == 0 then redis.call('DEL', KEYS[2]) "
	"end return 1";

/* A member's mute in its entry, the rest (worker, role, joined_ms,
 * caller) kept; nothing for a call that is no member. */
static const char mute_lua[] =
	"local v = redis.call('HGET', KEYS[1], ARGV[1]) "
	"if not v then return 0 end "
	"local a, b, rest = string.match(v, '^(%S+) (%S+) %S+ (.*)$') "
	"if not a then return 0 end "
	"redis.call('HSET', KEYS[1], ARGV[1], a .. ' ' .. b .. ' ' .. ARGV[2] "
	".. ' ' .. rest) return 1";

static void keys_muted(struct route_ctx *c)
{
	redisAsyncContext *ac = pbx_redis_ctx(c->r->redis);
	char members[PBX_KEY_MAX];

	if (!ac || pbx_key_sub_of(members, sizeof(members), c->tenant,
				  PBX_K_CONF_MEMBERS, c->conf))
		return;
	pbx_redis_acmd(ac, reply_ignored, NULL, "EVAL %s 1 %s %s %s",
			  mute_lua, members, c->call_id,
			  c->c_muted ? "1" : "0");
}

void route_conf_ended(struct route_ctx *c)
{
	redisAsyncContext *ac = pbx_redis_ctx(c->r->redis);
	char members[PBX_KEY_MAX], room[PBX_KEY_MAX];

	if (!c->conf[0] || c->cstate != ROUTE_CONF_IN || !ac ||
	    pbx_key_sub_of(members, sizeof(members), c->tenant,
			   PBX_K_CONF_MEMBERS, c->conf))
		return;
	if (pbx_key_sub_of(room, sizeof(room), c->tenant, PBX_K_CONF_ROOM,
			   c->conf))
		return;
	/* The last member gone: the room belongs to no worker any more,
	 * and its next caller may start it anywhere. */
	pbx_redis_acmd(ac, reply_ignored, NULL, "EVAL %s 2 %s %s %s",
			  leave_lua, members, room, c->call_id);
}

/* ---- the walk's side ---------------------------------------------------- */

static bool has_pin(const struct route_ctx *c)
{
	struct scenario_conference cf;

	return !scenario_objects_conference(c->objs, c->conf, &cf) &&
	       (cf.pin || cf.moderator_pin);
}

bool route_conf_is_leg(const struct route_ctx *c)
{
	return !strncmp(c->scen, ROUTE_CONF_LEG_SCEN,
			strlen(ROUTE_CONF_LEG_SCEN));
}

void route_conf_prepare(struct route_ctx *c)
{
	for (size_t i = 0; i < c->out.n; i++) {
		const struct walk_action *a = &c->out.act[i];

		if (a->kind != WALK_ACT_CONFERENCE)
			continue;
		snprintf(c->conf, sizeof(c->conf), "%s", a->conference.room);
		c->ctries = 0;
		c->cdig[0] = '\0';
		/* A cascade leg: the caller gave the PIN on its own worker,
		 * and its role came with the token (c->cmod, in the record
		 * since the leg was placed). */
		if (route_conf_is_leg(c)) {
			c->cstate = ROUTE_CONF_IN;
			continue;
		}
		c->cstate = has_pin(c) ? ROUTE_CONF_PIN : ROUTE_CONF_IN;
		c->cmod = false;
	}
}

void route_conf_start(struct route_ctx *c, const struct walk_action *a)
{
	(void)a;
	if (c->cstate == ROUTE_CONF_PIN) {
		PLOG_INFO("conference %s: asking for the PIN", c->conf);
		route_exec_play(c, "conf_pin", true);
		route_exec_timer(c, ROUTE_CONF_TIMER, CONF_DIGIT_MS);
		return;
	}
	send_join(c);
}

/* '#' (or the timer): the digits so far are the PIN attempt. */
static void pin_check(struct route_ctx *c)
{
	struct scenario_conference cf;
	uint32_t retries;

	if (scenario_objects_conference(c->objs, c->conf, &cf)) {
		c->cstate = ROUTE_CONF_BYE;
		c->c_do = DO_HANGUP;
		return;
	}
	if (cf.moderator_pin && !strcmp(c->cdig, cf.moderator_pin)) {
		c->cmod = true;
	} else if (!cf.pin || strcmp(c->cdig, cf.pin)) {
		/* The walk's pin_retries (node, else room, else 3) is not
		 * in the record: the room's, else 3. */
		retries = cf.pin_retries ? cf.pin_retries : 3;
		c->ctries++;
		c->cdig[0] = '\0';
		PLOG_INFO("conference %s: wrong PIN (%d of %u)", c->conf,
			  c->ctries, retries);
		if ((uint32_t)c->ctries >= retries) {
			c->cstate = ROUTE_CONF_BYE;
			c->c_do = DO_DENY;
		} else {
			c->c_do = DO_RETRY;
		}
		return;
	}
	c->cdig[0] = '\0';
	c->cstate = ROUTE_CONF_IN;
	c->c_do = DO_JOIN;
}

static void pin_digit(struct route_ctx *c, char d)
{
	size_t n = strlen(c->cdig);

	if (d == '#') {
		pin_check(c);
		return;
	}
	if (d < '0' || d > '9')
		return;
	/* A PIN is at most 16 digits: more is a wrong one at '#'. */
	if (n < CONF_PIN_MAX + 1) {
		c->cdig[n] = d;
		c->cdig[n + 1] = '\0';
	}
}

bool route_conf_event(struct route_ctx *c)
{
	c->c_do = DO_NONE;
	PLOG_DEBUG("conference %s: event %d in state '%c', digits '%s'",
		   c->conf, c->kind, c->cstate ? c->cstate : '-', c->cdig);
	switch (c->kind) {
	case KIND(DTMF):
		/* In the room the worker handles the member's keys (*6). */
		if (c->cstate != ROUTE_CONF_PIN)
			return false;
		pin_digit(c, c->digit);
		return true;
	case KIND(TIMER):
		if (c->cstate != ROUTE_CONF_PIN ||
		    c->timer_id != ROUTE_CONF_TIMER)
			return false;
		PLOG_INFO("conference %s: no PIN in %u ms", c->conf,
			  CONF_DIGIT_MS);
		pin_check(c);
		return true;
	case KIND(PLAY_DONE):
		if (c->cstate != ROUTE_CONF_BYE)
			return false;
		c->c_do = DO_HANGUP;
		return true;
	case KIND(CONF_JOINED):
		PLOG_INFO("conference %s: in, %u member(s)", c->conf,
			  c->c_members);
		c->c_do = DO_JOINED;
		return true;
	case KIND(CONF_MUTED):
		c->c_do = DO_MUTED;
		return true;
	case KIND(RING_RESULT):
		/* The cascade leg to the room's worker (a caller of ours
		 * joining a room held elsewhere). */
		if (c->cstate != ROUTE_CONF_IN)
			return false;
		if (c->ring_result ==
		    PBX__V1__MEDIA_EVENT__RING_RESULT__RING_ANSWERED) {
			PLOG_INFO("conference %s: in through the cascade leg",
				  c->conf);
			c->cstate = ROUTE_CONF_CASCADE;
			return true;
		}
		PLOG_WARN("conference %s: the cascade leg failed (%d); ending "
			  "the call",
			  c->conf, c->ring_result);
		c->cstate = ROUTE_CONF_BYE;
		c->c_do = DO_HANGUP;
		return true;
	case KIND(CONF_FULL):
		PLOG_INFO("conference %s: full (%u members): refused",
			  c->conf, c->c_members);
		c->cstate = ROUTE_CONF_BYE;
		c->c_do = DO_FULL;
		return true;
	case KIND(FAILED):
		/* A prompt of ours, or the join, failed: end it rather than
		 * leave the caller in silence. */
		c->cstate = ROUTE_CONF_BYE;
		c->c_do = DO_HANGUP;
		return true;
	default:
		return false;
	}
}

void route_conf_after_save(struct route_ctx *c)
{
	switch (c->c_do) {
	case DO_ASK:
		route_exec_play(c, "conf_pin", true);
		route_exec_timer(c, ROUTE_CONF_TIMER, CONF_DIGIT_MS);
		break;
	case DO_RETRY:
		route_exec_play(c, "conf_bad_pin", true);
		route_exec_timer(c, ROUTE_CONF_TIMER, CONF_DIGIT_MS);
		break;
	case DO_JOIN:
		route_exec_timer(c, ROUTE_CONF_TIMER, 0);
		send_join(c);
		break;
	case DO_DENY:
		PLOG_INFO("conference %s: PIN retries used up; ending the "
			  "call",
			  c->conf);
		route_exec_timer(c, ROUTE_CONF_TIMER, 0);
		route_exec_play(c, "conf_denied", false);
		break;
	case DO_FULL:
		route_exec_play(c, "conf_full", false);
		break;
	case DO_HANGUP:
		route_media_hangup(c->r, c->worker_id, c->tenant, c->call_id,
				   480, "Conference Ended");
		break;
	case DO_JOINED:
		keys_joined(c);
		break;
	case DO_MUTED:
		keys_muted(c);
		break;
	default:
		break;
	}
	c->c_do = DO_NONE;
}
