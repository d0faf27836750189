/* Live calls through a real router in-process (route_media.c, route_exec.c,
 * route_ctx.c): a fake media worker on the router's worker socket reports
 * INCOMING, ANSWERED, PLAY_DONE, DTMF, TIMER, RING_RESULT, FAILED, HANGUP
 * and ENDED, and the test asserts the MediaCommands it gets back (kind,
 * fields, seq, and that each event yields exactly the commands of one
 * walk step) and the call state in a real redis-server. Other routers:
 * a racing one is played by writing the call record between this router's
 * read and its compare-and-set (the save is intercepted at link time: see
 * before_save), and a second real router shares the call in
 * two_routers_*. Tests marked .disabled show bugs, named in their
 * comments. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pbx_cdr.h"
#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_redis.h"
#include "pbx_test.h"
#include "router_harness.h"

#define NUMBER "+74951234567"
#define CALLER "79031112233"

static struct router_harness h;
static size_t seen; /* worker messages already asserted */
static struct fake_peer *other; /* a second worker, when a test needs it */
static struct router *second;   /* a second router, when a test needs it */
static struct router_config second_cfg; /* outlives `second` */

static const char greeting_json[] =
	"{\"start\":\"g\",\"nodes\":{"
	"\"g\":{\"type\":\"greeting\",\"options\":{\"prompt\":\"hello\"},"
	"\"outputs\":{\"next\":\"bye\"}},"
	"\"bye\":{\"type\":\"hangup\",\"options\":{\"code\":486,"
	"\"reason\":\"Busy Here\"}}}}";

static const char menu_json[] =
	"{\"start\":\"m\",\"nodes\":{"
	"\"m\":{\"type\":\"ivr\",\"options\":{\"prompt\":\"menu\","
	"\"timeout\":5,\"retries\":0},"
	"\"outputs\":{\"digit:1\":\"sales\",\"digit:2\":\"support\","
	"\"timeout\":\"to\"}},"
	"\"sales\":{\"type\":\"greeting\",\"options\":{\"prompt\":\"sales\"}},"
	"\"support\":{\"type\":\"subscriber\",\"options\":{\"kind\":"
	"\"internal\",\"target\":\"200\",\"timeout\":20},"
	"\"outputs\":{\"next\":\"to\"}},"
	"\"to\":{\"type\":\"hangup\",\"options\":{\"code\":480,"
	"\"reason\":\"Nobody Chose\"}}}}";

static const char sub_json[] =
	"{\"start\":\"ring\",\"nodes\":{"
	"\"ring\":{\"type\":\"subscriber\",\"options\":{\"kind\":\"internal\","
	"\"target\":\"100\",\"timeout\":20},"
	"\"outputs\":{\"no_answer\":\"na\",\"busy\":\"bz\","
	"\"unavailable\":\"un\"}},"
	"\"na\":{\"type\":\"hangup\",\"options\":{\"code\":480,"
	"\"reason\":\"No Answer Here\"}},"
	"\"bz\":{\"type\":\"greeting\",\"options\":{\"prompt\":\"busy-prompt\"}},"
	"\"un\":{\"type\":\"hangup\",\"options\":{\"code\":404,"
	"\"reason\":\"Gone\"}}}}";

/* ---- another router, racing this one ----------------------------------- */

/* Called with the call key just before this router sends its
 * compare-and-set save; what it writes lands between the router's read
 * and its save, exactly as another router's save would. */
typedef void(before_save_h)(const char *key);
static before_save_h *before_save;
static int saves; /* compare-and-set scripts sent */
static const redisAsyncContext *second_ac; /* a second router's Redis */
static int second_saves; /* ...and the saves it sent */

int __real_redisAsyncCommandArgv(redisAsyncContext *ac, redisCallbackFn *fn,
				 void *privdata, int argc, const char **argv,
				 const size_t *argvlen);
int __wrap_redisAsyncCommandArgv(redisAsyncContext *ac, redisCallbackFn *fn,
				 void *privdata, int argc, const char **argv,
				 const size_t *argvlen);

int __wrap_redisAsyncCommandArgv(redisAsyncContext *ac, redisCallbackFn *fn,
				 void *privdata, int argc, const char **argv,
				 const size_t *argvlen)
{
	/* EVAL <script> 1 <key> ...: the call state's save (the other
	 * argv EVAL adds a call record, route_cdr.c). */
	if (argc > 3 && !strcasecmp(argv[0], "EVAL") &&
	    strstr(argv[3], ":call:")) {
		saves++;
		if (ac == second_ac)
			second_saves++;
		if (before_save)
			before_save(argv[3]);
	}
	return __real_redisAsyncCommandArgv(ac, fn, privdata, argc, argv,
					    argvlen);
}

static void redis_do(const char *fmt, const char *key, const char *arg)
{
	redisReply *r = redis_fixture_cmd(&h.rf, fmt, key, arg);

	cr_assert(r && r->type != REDIS_REPLY_ERROR, "%s", fmt);
	freeReplyObject(r);
}

/* ---- set-up and helpers ------------------------------------------------ */

static void setup(void)
{
	seen = 0;
	saves = 0;
	second_saves = 0;
	second_ac = NULL;
	before_save = NULL;
	cr_assert_eq(router_harness_start(&h), 0, "router harness");
}

static void teardown(void)
{
	before_save = NULL;
	/* Before the zmq context ends: it waits for every socket. */
	router_free(second);
	second = NULL;
	fake_peer_free(other);
	other = NULL;
	router_harness_stop(&h);
	pbx_test_fini();
}

TestSuite(route_media, .init = setup, .fini = teardown, .timeout = 5);

/* Seeds the tenant with json on NUMBER, heartbeats, places call_id. */
static void start_call(const char *call_id, const char *json)
{
	const Pbx__V1__RouteDecision *d;

	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main", json), 0);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);
	d = router_harness_call_new(&h, call_id, CALLER, NUMBER);
	cr_assert_not_null(d, "no RouteDecision");
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA,
		     "action %d (%u %s)", d->action, d->sip_code, d->reason);
}

static void event(const char *call_id, Pbx__V1__MediaEvent__Kind kind,
		  uint64_t seq)
{
	struct harness_event ev = {.kind = kind, .seq = seq};

	cr_assert_eq(router_harness_event(&h, call_id, &ev), 0);
}

static void event_ex(const char *call_id, const struct harness_event *ev)
{
	cr_assert_eq(router_harness_event(&h, call_id, ev), 0);
}

/* Waits for n new commands, then for every event sent so far to be
 * handled to its end (router_harness_barrier), and checks no more came:
 * one event, one step's commands. Returns the index of the first new
 * one. */
static size_t expect_cmds(size_t n)
{
	size_t first = seen;

	fake_peer_wait(h.worker, first + n, 2000);
	cr_assert_eq(router_harness_barrier(&h, 8), 0, "barrier");
	cr_assert_eq(fake_peer_count(h.worker), first + n,
		     "worker got %zu command(s), want %zu",
		     fake_peer_count(h.worker) - first, n);
	seen = first + n;
	return first;
}

/* With Redis frozen no chain can finish, and no barrier either: give the
 * router time to read the event and send its commands to Redis. */
static void expect_nothing_while_frozen(void)
{
	router_harness_settle(&h, 100);
	cr_assert_eq(fake_peer_count(h.worker), seen,
		     "worker got a command with Redis frozen");
}

/* Command i, checked to be a MediaCommand of kind for call_id. */
static const Pbx__V1__MediaCommand *
cmd_at(size_t i, const char *call_id, Pbx__V1__MediaCommand__CmdCase kind)
{
	const Pbx__V1__Envelope *env = fake_peer_msg(h.worker, i);

	cr_assert_not_null(env);
	cr_assert_eq(env->body_case, PBX__V1__ENVELOPE__BODY_MEDIA_COMMAND);
	cr_assert_str_eq(env->tenant_id, HARNESS_TENANT);
	cr_assert_str_eq(env->call_id, call_id);
	cr_assert_str_eq(env->media_command->worker_id, HARNESS_WORKER);
	cr_assert_eq(env->media_command->cmd_case, kind,
		     "command %zu is case %d, want %d", i,
		     env->media_command->cmd_case, kind);
	return env->media_command;
}

static void assert_hangup(const Pbx__V1__MediaCommand *c, unsigned code,
			  const char *reason)
{
	cr_assert_eq(c->hangup->sip_code, code, "hangup %u, want %u",
		     c->hangup->sip_code, code);
	cr_assert_str_eq(c->hangup->reason, reason);
}

static void assert_field(const char *call_id, const char *name,
			 const char *want)
{
	char v[512];

	cr_assert_eq(router_harness_call_field(&h, call_id, name, v,
					       sizeof(v)),
		     0, "call %s has no %s", call_id, name);
	cr_assert_str_eq(v, want, "%s", name);
}

static long field_long(const char *call_id, const char *name)
{
	char v[64];

	cr_assert_eq(router_harness_call_field(&h, call_id, name, v,
					       sizeof(v)),
		     0, "call %s has no %s", call_id, name);
	return strtol(v, NULL, 10);
}

/* INCOMING -> Answer, ANSWERED -> Play prompt; returns the Play's seq. */
static uint64_t answer_and_play(const char *call_id, const char *prompt,
				bool barge_in)
{
	const Pbx__V1__MediaCommand *c;

	event(call_id, PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING, 0);
	c = cmd_at(expect_cmds(1), call_id,
		   PBX__V1__MEDIA_COMMAND__CMD_ANSWER);
	cr_assert_eq(c->seq, 1);
	event(call_id, PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED, c->seq);
	c = cmd_at(expect_cmds(1), call_id, PBX__V1__MEDIA_COMMAND__CMD_PLAY);
	cr_assert_str_eq(c->play->prompt, prompt);
	cr_assert_eq(c->play->barge_in, barge_in);
	cr_assert_eq(c->seq, 2);
	return c->seq;
}

/* ---- greeting ---------------------------------------------------------- */

Test(route_media, greeting_answers_plays_then_hangs_up)
{
	const Pbx__V1__MediaCommand *c;
	uint64_t seq;

	start_call("c-1", greeting_json);
	seq = answer_and_play("c-1", "hello", false);
	assert_field("c-1", "seq", "2");

	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_PLAY_DONE, seq);
	c = cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_HANGUP);
	assert_hangup(c, 486, "Busy Here");
	/* (A Hangup carries no seq: nothing answers it but ENDED.) */
	assert_field("c-1", "seq", "3");
}

Test(route_media, stale_play_done_changes_nothing)
{
	char walk[512], rev[16];
	uint64_t seq;

	start_call("c-1", greeting_json);
	seq = answer_and_play("c-1", "hello", false);
	router_harness_call_field(&h, "c-1", "walk", walk, sizeof(walk));
	router_harness_call_field(&h, "c-1", "rev", rev, sizeof(rev));

	/* The PLAY_DONE of an older step (and one from the future). */
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_PLAY_DONE, seq - 1);
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_PLAY_DONE, seq + 5);
	expect_cmds(0);
	assert_field("c-1", "walk", walk);
	assert_field("c-1", "rev", rev);
	assert_field("c-1", "seq", "2");

	/* The real one still moves the call, once. */
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_PLAY_DONE, seq);
	assert_hangup(cmd_at(expect_cmds(1), "c-1",
			     PBX__V1__MEDIA_COMMAND__CMD_HANGUP),
		      486, "Busy Here");
}

Test(route_media, state_ttl_is_refreshed_by_each_step)
{
	char key[PBX_KEY_MAX];
	redisReply *r;
	long long ttl;

	start_call("c-1", greeting_json);
	cr_assert_eq(pbx_key(key, sizeof(key), HARNESS_TENANT, "call:c-1"),
		     0);
	r = redis_fixture_cmd(&h.rf, "EXPIRE %s 5", key);
	cr_assert_not_null(r);
	freeReplyObject(r);

	answer_and_play("c-1", "hello", false);
	ttl = router_harness_call_ttl(&h, "c-1");
	cr_assert(ttl > 5 && ttl <= h.cfg.call_ttl_s, "ttl %lld", ttl);
}

Test(route_media, media_failure_ends_the_call_500)
{
	start_call("c-1", greeting_json);
	answer_and_play("c-1", "hello", false);

	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_FAILED, 2);
	assert_hangup(cmd_at(expect_cmds(1), "c-1",
			     PBX__V1__MEDIA_COMMAND__CMD_HANGUP),
		      500, "Media Failed");
}

/* ---- menu -------------------------------------------------------------- */

/* Plays the menu to its end: the walk arms the input timer. Returns the
 * timer id. */
static uint32_t menu_waiting(const char *call_id)
{
	const Pbx__V1__MediaCommand *c;
	uint64_t seq;

	start_call(call_id, menu_json);
	seq = answer_and_play(call_id, "menu", true);
	event(call_id, PBX__V1__MEDIA_EVENT__KIND__KIND_PLAY_DONE, seq);
	c = cmd_at(expect_cmds(1), call_id, PBX__V1__MEDIA_COMMAND__CMD_TIMER);
	cr_assert_eq(c->timer->ms, 5000, "menu timeout %u ms", c->timer->ms);
	cr_assert_neq(c->timer->id, 0);
	return c->timer->id;
}

Test(route_media, menu_digit_takes_its_branch)
{
	struct harness_event ev = {
		.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_DTMF, .digit = "1"};
	const Pbx__V1__MediaCommand *c;
	uint32_t timer = menu_waiting("c-1");
	size_t i;

	event_ex("c-1", &ev);
	/* The input timer is cancelled, then the branch's greeting plays. */
	i = expect_cmds(2);
	c = cmd_at(i, "c-1", PBX__V1__MEDIA_COMMAND__CMD_TIMER);
	cr_assert_eq(c->timer->id, timer);
	cr_assert_eq(c->timer->ms, 0);
	c = cmd_at(i + 1, "c-1", PBX__V1__MEDIA_COMMAND__CMD_PLAY);
	cr_assert_str_eq(c->play->prompt, "sales");
	cr_assert_eq(c->seq, 4);
}

Test(route_media, menu_digit_during_the_prompt_barges_in)
{
	struct harness_event ev = {
		.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_DTMF, .digit = "2"};
	const Pbx__V1__MediaCommand *c;

	start_call("c-1", menu_json);
	answer_and_play("c-1", "menu", true);

	event_ex("c-1", &ev);
	c = cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_RING);
	cr_assert_str_eq(c->ring->target_uri, "sip:200@" HARNESS_DOMAIN);
	cr_assert_str_eq(c->ring->dest_kind, "extension");
	cr_assert_eq(c->ring->timeout_ms, 20000);
	cr_assert_str_eq(c->ring->caller_id, CALLER);
}

Test(route_media, menu_timer_takes_the_timeout_branch)
{
	struct harness_event ev = {
		.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_TIMER};
	uint32_t timer = menu_waiting("c-1");
	char rev[16];

	/* A timer this call never armed (cancelled or replaced): nothing. */
	router_harness_call_field(&h, "c-1", "rev", rev, sizeof(rev));
	ev.timer_id = timer + 7;
	event_ex("c-1", &ev);
	expect_cmds(0);

	ev.timer_id = timer;
	event_ex("c-1", &ev);
	assert_hangup(cmd_at(expect_cmds(1), "c-1",
			     PBX__V1__MEDIA_COMMAND__CMD_HANGUP),
		      480, "Nobody Chose");
}

Test(route_media, menu_ignores_a_digit_with_no_choice_state)
{
	struct harness_event ev = {
		.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_DTMF, .digit = "1"};

	/* A greeting does not listen to keys. */
	start_call("c-1", greeting_json);
	answer_and_play("c-1", "hello", false);
	event_ex("c-1", &ev);
	expect_cmds(0);
	assert_field("c-1", "seq", "2");
}

static void ring_result(const char *call_id,
			Pbx__V1__MediaEvent__RingResult res);

static const char ext_menu_json[] =
	"{\"start\":\"m\",\"nodes\":{"
	"\"m\":{\"type\":\"ivr\",\"options\":{\"prompt\":\"menu\","
	"\"timeout\":5,\"retries\":0,\"extension_dialing\":true,"
	"\"extension_digits\":\"12\",\"extension_min_len\":3,"
	"\"extension_max_len\":3,\"inter_digit_ms\":2000},"
	"\"outputs\":{\"digit:1\":\"sales\",\"timeout\":\"to\","
	"\"extension\":\"nobody\"}},"
	"\"sales\":{\"type\":\"greeting\",\"options\":{\"prompt\":\"sales\"}},"
	"\"nobody\":{\"type\":\"greeting\",\"options\":{\"prompt\":"
	"\"nobody-there\"}},"
	"\"to\":{\"type\":\"hangup\",\"options\":{\"code\":480,"
	"\"reason\":\"Nobody Chose\"}}}}";

/* The menu of ext_menu_json played to its end; returns its timer id. */
static uint32_t ext_menu_waiting(const char *call_id)
{
	const Pbx__V1__MediaCommand *c;
	uint64_t seq;

	start_call(call_id, ext_menu_json);
	seq = answer_and_play(call_id, "menu", true);
	event(call_id, PBX__V1__MEDIA_EVENT__KIND__KIND_PLAY_DONE, seq);
	c = cmd_at(expect_cmds(1), call_id, PBX__V1__MEDIA_COMMAND__CMD_TIMER);
	return c->timer->id;
}

static void dtmf(const char *call_id, const char *digit)
{
	struct harness_event ev = {
		.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_DTMF, .digit = digit};

	event_ex(call_id, &ev);
}

/* A digit followed by the inter-digit timer: Timer(old, 0), Timer(new,
 * inter_digit_ms) at i; returns the new id. */
static uint32_t timer_rearmed(size_t i, const char *call_id, uint32_t old)
{
	const Pbx__V1__MediaCommand *c;

	c = cmd_at(i, call_id, PBX__V1__MEDIA_COMMAND__CMD_TIMER);
	cr_assert_eq(c->timer->id, old);
	cr_assert_eq(c->timer->ms, 0);
	c = cmd_at(i + 1, call_id, PBX__V1__MEDIA_COMMAND__CMD_TIMER);
	cr_assert_neq(c->timer->id, old);
	cr_assert_eq(c->timer->ms, 2000);
	return c->timer->id;
}

Test(route_media, menu_choice_that_starts_an_extension_waits_for_a_pause)
{
	struct harness_event ev = {
		.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_TIMER};
	const Pbx__V1__MediaCommand *c;
	uint32_t t = ext_menu_waiting("c-1");

	/* "1" is sales and the start of 1xx: the walk waits. */
	dtmf("c-1", "1");
	t = timer_rearmed(expect_cmds(2), "c-1", t);
	/* The pause: the choice is taken. */
	ev.timer_id = t;
	event_ex("c-1", &ev);
	c = cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_PLAY);
	cr_assert_str_eq(c->play->prompt, "sales");
}

Test(route_media, extension_digits_across_events_ring_the_extension)
{
	const Pbx__V1__MediaCommand *c;
	uint32_t t = ext_menu_waiting("c-1");
	size_t i;

	/* Each digit is its own event: the digits so far live in the walk
	 * state in Redis between them. */
	dtmf("c-1", "2");
	t = timer_rearmed(expect_cmds(2), "c-1", t);
	dtmf("c-1", "0");
	t = timer_rearmed(expect_cmds(2), "c-1", t);
	dtmf("c-1", "1");
	i = expect_cmds(2);
	c = cmd_at(i, "c-1", PBX__V1__MEDIA_COMMAND__CMD_TIMER);
	cr_assert_eq(c->timer->id, t);
	cr_assert_eq(c->timer->ms, 0);
	c = cmd_at(i + 1, "c-1", PBX__V1__MEDIA_COMMAND__CMD_RING);
	cr_assert_str_eq(c->ring->target_uri, "sip:201@" HARNESS_DOMAIN);
	cr_assert_str_eq(c->ring->dest_kind, "extension");
	cr_assert_eq(c->ring->timeout_ms, 30000);

	/* 201 does not answer: the menu's "extension" output. */
	ring_result("c-1", PBX__V1__MEDIA_EVENT__RING_RESULT__RING_NO_ANSWER);
	c = cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_PLAY);
	cr_assert_str_eq(c->play->prompt, "nobody-there");
}

/* ---- subscriber -------------------------------------------------------- */

/* INCOMING on a subscriber scenario rings the extension. */
static void ringing(const char *call_id)
{
	const Pbx__V1__MediaCommand *c;

	start_call(call_id, sub_json);
	event(call_id, PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING, 0);
	c = cmd_at(expect_cmds(1), call_id, PBX__V1__MEDIA_COMMAND__CMD_RING);
	cr_assert_str_eq(c->ring->target_uri, "sip:100@" HARNESS_DOMAIN);
	cr_assert_str_eq(c->ring->dest_kind, "extension");
	cr_assert_eq(c->ring->timeout_ms, 20000);
	cr_assert_str_eq(c->ring->caller_id, CALLER);
	cr_assert_eq(c->seq, 1);
}

static void ring_result(const char *call_id,
			Pbx__V1__MediaEvent__RingResult res)
{
	struct harness_event ev = {
		.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_RING_RESULT,
		.seq = 1,
		.ring = res};

	event_ex(call_id, &ev);
}

Test(route_media, ring_answered_bridges_with_no_further_command)
{
	long rev;

	ringing("c-1");
	rev = field_long("c-1", "rev");
	ring_result("c-1", PBX__V1__MEDIA_EVENT__RING_RESULT__RING_ANSWERED);
	expect_cmds(0);
	/* The walk recorded that the call is bridged. */
	cr_assert_eq(field_long("c-1", "rev"), rev + 1);
	/* Bridged: later events do nothing either. */
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED, 1);
	expect_cmds(0);
}

Test(route_media, ring_no_answer_takes_the_no_answer_branch)
{
	ringing("c-1");
	ring_result("c-1", PBX__V1__MEDIA_EVENT__RING_RESULT__RING_NO_ANSWER);
	assert_hangup(cmd_at(expect_cmds(1), "c-1",
			     PBX__V1__MEDIA_COMMAND__CMD_HANGUP),
		      480, "No Answer Here");
}

Test(route_media, ring_busy_takes_the_busy_branch)
{
	const Pbx__V1__MediaCommand *c;

	ringing("c-1");
	ring_result("c-1", PBX__V1__MEDIA_EVENT__RING_RESULT__RING_BUSY);
	/* The busy branch is a greeting: answer first, then its prompt. */
	c = cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_ANSWER);
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED, c->seq);
	c = cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_PLAY);
	cr_assert_str_eq(c->play->prompt, "busy-prompt");
}

Test(route_media, ring_unavailable_takes_the_unavailable_branch)
{
	ringing("c-1");
	ring_result("c-1",
		    PBX__V1__MEDIA_EVENT__RING_RESULT__RING_UNAVAILABLE);
	assert_hangup(cmd_at(expect_cmds(1), "c-1",
			     PBX__V1__MEDIA_COMMAND__CMD_HANGUP),
		      404, "Gone");
}

Test(route_media, ring_result_without_a_result_counts_as_unavailable)
{
	ringing("c-1");
	ring_result("c-1",
		    PBX__V1__MEDIA_EVENT__RING_RESULT__RING_UNSPECIFIED);
	assert_hangup(cmd_at(expect_cmds(1), "c-1",
			     PBX__V1__MEDIA_COMMAND__CMD_HANGUP),
		      404, "Gone");
}

/* A subscriber ringing a number (kind mobile, target and caller_id as
 * given), on INCOMING; returns the Ring. */
static const Pbx__V1__MediaCommand *ring_number(const char *target,
						 const char *caller_id)
{
	char json[512];

	snprintf(json, sizeof(json),
		 "{\"start\":\"out\",\"nodes\":{"
		 "\"out\":{\"type\":\"subscriber\",\"options\":{\"kind\":"
		 "\"mobile\",\"target\":\"%s\",\"timeout\":30,"
		 "\"caller_id\":\"%s\"},\"outputs\":{\"next\":\"bye\"}},"
		 "\"bye\":{\"type\":\"hangup\"}}}",
		 target, caller_id);
	start_call("c-1", json);
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING, 0);
	return cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_RING);
}

Test(route_media, ring_number_goes_out_as_user_phone)
{
	const Pbx__V1__MediaCommand *c =
		ring_number("79161234567", "74950000000");

	/* A number goes to a carrier: Kamailio picks the trunk. */
	cr_assert_str_eq(c->ring->target_uri,
			 "sip:79161234567@" HARNESS_DOMAIN ";user=phone");
	cr_assert_str_eq(c->ring->dest_kind, "mobile");
	cr_assert_eq(c->ring->timeout_ms, 30000);
	cr_assert_str_eq(c->ring->caller_id, "74950000000");
}

/* Was a bug, fixed (route_exec.c ring(), line 76; the walk copies the option as
 * written): docs/scenario.md lets a subscriber's target and caller_id be
 * "a phone number in any form" and the compiler accepts "+7 916 123-45-67"
 * (scenario_compile.c is_number), but the router puts it in the Ring
 * as written: target_uri "sip:+7 916 123-45-67@acme.pbx.test;user=phone"
 * and caller_id "+7 (495) 000-00-00". The media worker refuses both
 * (mwcall_ring.c uri_ok: no spaces; token_ok: caller_id), so the leg is
 * never placed and the call takes "unavailable". Fixed: numbers with
 * separators go out in E.164 form ("+" and the canonical digits). */
Test(route_media, ring_number_written_with_separators_goes_out_canonical)
{
	const Pbx__V1__MediaCommand *c =
		ring_number("+7 916 123-45-67", "+7 (495) 000-00-00");

	cr_assert_str_eq(c->ring->target_uri,
			 "sip:+79161234567@" HARNESS_DOMAIN ";user=phone");
	cr_assert_str_eq(c->ring->caller_id, "+74950000000");
}

Test(route_media, extension_dialling_a_colleague_rings_it)
{
	const Pbx__V1__RouteDecision *d;
	const Pbx__V1__MediaCommand *c;
	char key[PBX_KEY_MAX];

	cr_assert_eq(router_harness_seed_tenant(&h), 0);
	cr_assert_eq(pbx_key(key, sizeof(key), HARNESS_TENANT, "exts"), 0);
	redis_do("SADD %s %s", key, "101");
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);

	d = router_harness_call_new_ext(&h, "c-1", "100", "101",
					HARNESS_TENANT);
	cr_assert_not_null(d);
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA,
		     "action %d (%u %s)", d->action, d->sip_code, d->reason);
	assert_field("c-1", "scenario", "@ext:101");

	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING, 0);
	c = cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_RING);
	cr_assert_str_eq(c->ring->target_uri, "sip:101@" HARNESS_DOMAIN);
	cr_assert_str_eq(c->ring->dest_kind, "extension");
	cr_assert_str_eq(c->ring->caller_id, "100");
}

static const char greeting_then_voicemail_json[] =
	"{\"start\":\"g\",\"nodes\":{"
	"\"g\":{\"type\":\"greeting\",\"options\":{\"prompt\":\"hello\"},"
	"\"outputs\":{\"next\":\"v\"}},"
	"\"v\":{\"type\":\"voicemail\",\"options\":{\"box\":\"main\","
	"\"max_length\":30,\"greeting\":\"vm-hello\"}}}}";

static const char greeting_then_assistant_json[] =
	"{\"start\":\"g\",\"nodes\":{"
	"\"g\":{\"type\":\"greeting\",\"options\":{\"prompt\":\"hello\"},"
	"\"outputs\":{\"next\":\"c\"}},"
	"\"c\":{\"type\":\"assistant\",\"options\":{\"prompt\":\"ask\","
	"\"phrases\":{\"sales\":[\"sales\"]}},"
	"\"outputs\":{\"phrase:sales\":\"h\",\"no_input\":\"h\"}},"
	"\"h\":{\"type\":\"hangup\"}}}";

/* The assistant (issue 13): its question is a Listen; the worker's
 * SPEECH is the walk's SPEECH event. */
static const Pbx__V1__MediaCommand *listen_after_greeting(uint64_t *seq)
{
	const Pbx__V1__MediaCommand *c;

	start_call("c-1", greeting_then_assistant_json);
	*seq = answer_and_play("c-1", "hello", false);
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_PLAY_DONE, *seq);
	c = cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_LISTEN);
	cr_assert_str_eq(c->listen->prompt, "ask");
	cr_assert_eq(c->listen->n_phrases, 1);
	cr_assert_str_eq(c->listen->phrases[0]->name, "sales");
	cr_assert_geq(c->listen->phrases[0]->n_synonyms, 1);
	cr_assert_str_eq(c->listen->phrases[0]->synonyms[0], "sales");
	cr_assert_float_eq(c->listen->confidence, 0.5, 1e-9);
	cr_assert_eq(c->listen->no_input_ms, 5000);
	*seq = c->seq;
	return c;
}

Test(route_media, assistant_listens_and_a_phrase_heard_takes_its_output)
{
	struct harness_event ev = {
		.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_SPEECH,
		.speech_phrase = "sales",
		.speech_confidence = 0.9,
	};

	listen_after_greeting(&ev.seq);
	event_ex("c-1", &ev);
	cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_HANGUP);
}

Test(route_media, speech_not_recognised_asks_again)
{
	struct harness_event ev = {
		.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_SPEECH,
		.speech_phrase = "",
	};
	const Pbx__V1__MediaCommand *c;
	uint64_t first;

	listen_after_greeting(&first);
	ev.seq = first;
	event_ex("c-1", &ev);
	/* retries 1 (the default): the question again. */
	c = cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_LISTEN);
	cr_assert_gt(c->seq, first);
}

/* The SPEECH answers the Listen: its seq is older than that of the step
 * that armed the no-input timer after PLAY_DONE, and it still counts. */
Test(route_media, speech_after_the_no_input_timer_was_armed_is_taken)
{
	struct harness_event ev = {
		.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_SPEECH,
		.speech_phrase = "sales",
		.speech_confidence = 0.9,
	};
	const Pbx__V1__MediaCommand *c;
	uint64_t seq;

	listen_after_greeting(&seq);
	ev.seq = seq;
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_PLAY_DONE, seq);
	c = cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_TIMER);
	cr_assert_eq(c->timer->ms, 5000);
	event_ex("c-1", &ev);
	/* The no-input timer cancelled, then the phrase's output. */
	seq = expect_cmds(2);
	c = cmd_at(seq, "c-1", PBX__V1__MEDIA_COMMAND__CMD_TIMER);
	cr_assert_eq(c->timer->ms, 0);
	cmd_at(seq + 1, "c-1", PBX__V1__MEDIA_COMMAND__CMD_HANGUP);
}

Test(route_media, voicemail_sends_record_and_ended_deletes_the_state)
{
	const Pbx__V1__MediaCommand *c;
	uint64_t seq;

	start_call("c-1", greeting_then_voicemail_json);
	seq = answer_and_play("c-1", "hello", false);
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_PLAY_DONE, seq);
	c = cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_RECORD);
	cr_assert_str_eq(c->record->box, "main");
	cr_assert_str_eq(c->record->greeting, "vm-hello");
	cr_assert_eq(c->record->max_ms, 30000);
	/* The worker ends the call itself once the message is stored. */
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_ENDED, c->seq);
	cr_assert(router_harness_call_gone(&h, "c-1", 2000),
		  "call record still in Redis");
	expect_cmds(0);
}

static const char fax_json[] =
	"{\"start\":\"f\",\"nodes\":{"
	"\"f\":{\"type\":\"fax\",\"options\":{\"box\":\"office\"}}}}";

/* A fax node (scenario json) with the tenant's fax feature on (or off:
 * 403). */
static const Pbx__V1__RouteDecision *fax_call_of(const char *json,
						 const char *on)
{
	char key[PBX_KEY_MAX];

	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main", json), 0);
	cr_assert_eq(pbx_key(key, sizeof(key), HARNESS_TENANT, "tenant"), 0);
	redis_do("HSET %s feature_fax %s", key, on);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);
	return router_harness_call_new(&h, "c-1", CALLER, NUMBER);
}

static const Pbx__V1__RouteDecision *fax_call(const char *on)
{
	return fax_call_of(fax_json, on);
}

Test(route_media, fax_answers_sends_fax_receive_and_ended_deletes_the_state)
{
	const Pbx__V1__RouteDecision *d = fax_call("1");
	const Pbx__V1__MediaCommand *c;

	cr_assert_not_null(d);
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA,
		     "action %d (%u %s)", d->action, d->sip_code, d->reason);
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING, 0);
	c = cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_ANSWER);
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED, c->seq);
	c = cmd_at(expect_cmds(1), "c-1",
		   PBX__V1__MEDIA_COMMAND__CMD_FAX_RECEIVE);
	/* No fax_box object: the box's defaults (ECM, PDF, T.38 allowed). */
	cr_assert_str_eq(c->fax_receive->box, "office");
	cr_assert(c->fax_receive->ecm);
	cr_assert(c->fax_receive->pdf);
	cr_assert(c->fax_receive->t38);
	cr_assert_str_eq(c->fax_receive->ident, "");
	cr_assert_not(c->fax_receive->keep_call);
	/* FAX_DONE is only logged; the worker's ENDED ends the call. */
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_FAX_DONE, c->seq);
	expect_cmds(0);
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_ENDED, c->seq);
	cr_assert(router_harness_call_gone(&h, "c-1", 2000),
		  "call record still in Redis");
	expect_cmds(0);
}

/* A fax node with outputs: FaxReceive keeps the call, and the worker's
 * FAX_DONE (fax_continues) steps the walk: "failed" -> hang-up 486. */
Test(route_media, fax_with_outputs_keeps_the_call_and_follows_failed)
{
	static const char json[] =
		"{\"start\":\"f\",\"nodes\":{"
		"\"f\":{\"type\":\"fax\",\"options\":{\"box\":\"office\"},"
		"\"outputs\":{\"next\":\"g\",\"failed\":\"bye\"}},"
		"\"g\":{\"type\":\"greeting\",\"options\":{\"prompt\":"
		"\"thanks\"}},"
		"\"bye\":{\"type\":\"hangup\",\"options\":{\"code\":486}}}}";
	struct harness_event done = {
		.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_FAX_DONE,
		.fax_result = 48,
		.fax_continues = true};
	const Pbx__V1__MediaCommand *c;

	cr_assert_not_null(fax_call_of(json, "1"));
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING, 0);
	c = cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_ANSWER);
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED, c->seq);
	c = cmd_at(expect_cmds(1), "c-1",
		   PBX__V1__MEDIA_COMMAND__CMD_FAX_RECEIVE);
	cr_assert(c->fax_receive->keep_call);
	done.seq = c->seq;
	event_ex("c-1", &done);
	c = cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_HANGUP);
	cr_assert_eq(c->hangup->sip_code, 486);
}

Test(route_media, fax_with_the_feature_off_is_refused_403)
{
	const Pbx__V1__RouteDecision *d = fax_call("0");

	cr_assert_not_null(d);
	cr_assert_eq(d->action,
		     PBX__V1__ROUTE_DECISION__ACTION__ACTION_REJECT);
	cr_assert_eq(d->sip_code, 403);
	cr_assert_str_eq(d->reason, "Fax Not Enabled");
}

/* ---- end of call ------------------------------------------------------- */

Test(route_media, caller_hangup_deletes_the_call_state)
{
	start_call("c-1", greeting_json);
	answer_and_play("c-1", "hello", false);

	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_HANGUP, 0);
	cr_assert(router_harness_call_gone(&h, "c-1", 2000),
		  "call record still in Redis");
	expect_cmds(0);
}

Test(route_media, ended_after_our_hangup_deletes_the_call_state)
{
	start_call("c-1", greeting_json);
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING, 0);
	cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_ANSWER);

	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_ENDED, 0);
	cr_assert(router_harness_call_gone(&h, "c-1", 2000),
		  "call record still in Redis");
}

Test(route_media, event_for_a_call_without_state_hangs_it_up_480)
{
	cr_assert_eq(router_harness_seed_tenant(&h), 0);
	event("c-ghost", PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED, 1);
	assert_hangup(cmd_at(expect_cmds(1), "c-ghost",
			     PBX__V1__MEDIA_COMMAND__CMD_HANGUP),
		      480, "Temporarily Unavailable");
	cr_assert_eq(router_harness_call_count(&h), 0,
		     "a hang-up must not create state");
}

Test(route_media, event_without_a_valid_tenant_is_dropped)
{
	static const char *const bad[] = {"", "sys", "a b", "../acme"};
	struct harness_event ev = {
		.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED, .seq = 1};
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__MediaEvent me = PBX__V1__MEDIA_EVENT__INIT;

	start_call("c-1", greeting_json);
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING, 0);
	cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_ANSWER);

	me.kind = ev.kind;
	me.seq = ev.seq;
	env.call_id = "c-1";
	env.body_case = PBX__V1__ENVELOPE__BODY_MEDIA_EVENT;
	env.media_event = &me;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		env.tenant_id = (char *)bad[i];
		cr_assert_eq(fake_peer_send(h.worker, &env, 2000), 0);
	}
	/* Nothing answered, nothing moved: not even a hang-up. */
	expect_cmds(0);
	assert_field("c-1", "seq", "1");
	/* The real one still works. */
	event_ex("c-1", &ev);
	cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_PLAY);
}

/* ---- other routers ------------------------------------------------------ */

Test(route_media, state_written_by_another_router_is_followed)
{
	char key[PBX_KEY_MAX];

	start_call("c-1", greeting_json);
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING, 0);
	cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_ANSWER);

	/* Between events another router saved the call (same walk). */
	cr_assert_eq(pbx_key(key, sizeof(key), HARNESS_TENANT, "call:c-1"),
		     0);
	redis_do("HSET %s rev %s", key, "41");

	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED, 1);
	cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_PLAY);
	assert_field("c-1", "rev", "42");
	cr_assert_eq(saves, 3, "one save per step (%d)", saves);
}

static int meddled;

static void bump_rev_once(const char *key)
{
	if (meddled++ == 0)
		redis_do("HINCRBY %s rev %s", key, "1");
}

Test(route_media, cas_conflict_is_retried_into_one_command)
{
	const Pbx__V1__MediaCommand *c;

	meddled = 0;
	start_call("c-1", greeting_json);
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING, 0);
	cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_ANSWER);
	saves = 0;

	before_save = bump_rev_once;
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED, 1);
	/* Lost the race once, re-read, walked again: still one Play. */
	c = cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_PLAY);
	cr_assert_str_eq(c->play->prompt, "hello");
	cr_assert_eq(c->seq, 2);
	cr_assert_eq(saves, 2, "saves %d", saves);
	assert_field("c-1", "seq", "2");
	assert_field("c-1", "rev", "4");
}

/* Another router handled the same PLAY_DONE first: it moved the call one
 * step on (and commanded the worker itself). */
static void other_router_took_the_step(const char *key)
{
	if (meddled++ == 0) {
		redis_do("HINCRBY %s seq %s", key, "1");
		redis_do("HINCRBY %s rev %s", key, "1");
	}
}

Test(route_media, event_another_router_already_handled_sends_nothing)
{
	uint64_t seq;

	meddled = 0;
	start_call("c-1", greeting_json);
	seq = answer_and_play("c-1", "hello", false);

	before_save = other_router_took_the_step;
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_PLAY_DONE, seq);
	/* Re-read: the PLAY_DONE is now stale; no second Hangup. */
	expect_cmds(0);
	cr_assert_eq(meddled, 1);
	assert_field("c-1", "seq", "3");
	assert_field("c-1", "rev", "4");
}

static void always_conflict(const char *key)
{
	meddled++;
	redis_do("HINCRBY %s rev %s", key, "1");
}

Test(route_media, endless_conflict_ends_the_call_503)
{
	meddled = 0;
	start_call("c-1", greeting_json);
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING, 0);
	cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_ANSWER);

	before_save = always_conflict;
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED, 1);
	assert_hangup(cmd_at(expect_cmds(1), "c-1",
			     PBX__V1__MEDIA_COMMAND__CMD_HANGUP),
		      503, "Service Unavailable");
	cr_assert_eq(meddled, 3, "tries %d", meddled);
}

/* "mw-other" (connected now) reports ANSWERED on c-1, claiming in the
 * body to be its owner. */
static void other_worker_answers_c1(void)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__MediaEvent me = PBX__V1__MEDIA_EVENT__INIT;

	cr_assert_eq(fake_peer_alloc(&other, h.base, h.zctx,
				     h.cfg.worker_listen, "mw-other"),
		     0);
	me.worker_id = HARNESS_WORKER;
	me.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED;
	me.seq = 1;
	env.tenant_id = HARNESS_TENANT;
	env.call_id = "c-1";
	env.body_case = PBX__V1__ENVELOPE__BODY_MEDIA_EVENT;
	env.media_event = &me;
	cr_assert_eq(fake_peer_send(other, &env, 2000), 0);
	/* Another connection: the barrier's order does not cover it. */
	router_harness_settle(&h, 150);
}

Test(route_media, event_from_another_worker_leaves_the_call_alone)
{
	char walk[512], rev[16];

	start_call("c-1", greeting_json);
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING, 0);
	cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_ANSWER);
	router_harness_call_field(&h, "c-1", "walk", walk, sizeof(walk));
	router_harness_call_field(&h, "c-1", "rev", rev, sizeof(rev));

	other_worker_answers_c1();
	/* The owner gets nothing and the walk did not move. */
	expect_cmds(0);
	assert_field("c-1", "walk", walk);
	assert_field("c-1", "rev", rev);
}

/* Was a minor bug, fixed (route_media.c got_state() line ~158 with state_done() line
 * ~201): an event from a worker that does not anchor the call is logged
 * "event from worker mw-other for a call on mw-test ignored", but
 * got_state() reports it with c->err before reading rev and scenario, so
 * state_done() takes it for "Redis lost before anything was read" and
 * sends that worker a Hangup 503 for the call. Harmless for the owner
 * (see event_from_another_worker_leaves_the_call_alone), but it is not
 * "ignored": a separate flag for the mismatch would make it so. */
Test(route_media, event_from_another_worker_gets_no_answer)
{
	start_call("c-1", greeting_json);
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING, 0);
	cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_ANSWER);

	other_worker_answers_c1();
	expect_cmds(0);
	cr_assert_eq(fake_peer_count(other), 0, "mw-other got %zu command(s)",
		     fake_peer_count(other));
}

/* Waits until `other` holds n messages; returns message n - 1 as a
 * MediaCommand of kind for c-1. */
static const Pbx__V1__MediaCommand *
other_cmd(size_t n, Pbx__V1__MediaCommand__CmdCase kind)
{
	const Pbx__V1__Envelope *env;

	cr_assert_eq(fake_peer_wait(other, n, 2000), n, "mw-two got %zu",
		     fake_peer_count(other));
	env = fake_peer_msg(other, n - 1);
	cr_assert_eq(env->body_case, PBX__V1__ENVELOPE__BODY_MEDIA_COMMAND);
	cr_assert_str_eq(env->call_id, "c-1");
	cr_assert_eq(env->media_command->cmd_case, kind, "case %d, want %d",
		     env->media_command->cmd_case, kind);
	return env->media_command;
}

static void other_event(Pbx__V1__MediaEvent__Kind kind, uint64_t seq)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__MediaEvent me = PBX__V1__MEDIA_EVENT__INIT;

	me.worker_id = "mw-two";
	me.kind = kind;
	me.seq = seq;
	env.tenant_id = HARNESS_TENANT;
	env.call_id = "c-1";
	env.body_case = PBX__V1__ENVELOPE__BODY_MEDIA_EVENT;
	env.media_event = &me;
	cr_assert_eq(fake_peer_send(other, &env, 2000), 0);
}

/* Two real routers on one Redis; the worker connects to both and its
 * events alternate between them (DEALER round robin), as in production:
 * each step is taken by whichever router gets the event, from the state
 * the other one saved. */
/* A second real router on the same Redis, and a worker "mw-two" (in
 * `other`) connected to both, whose events alternate between them (DEALER
 * round robin), as in production; c-1 is placed on it with json. */
static void two_routers(const char *json)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__WorkerHeartbeat hb = PBX__V1__WORKER_HEARTBEAT__INIT;
	const Pbx__V1__RouteDecision *d;
	char eps[2 * PBX_CFG_STRLEN + 2];

	second_cfg = h.cfg;
	snprintf(second_cfg.router_id, sizeof(second_cfg.router_id),
		 "rtest2");
	snprintf(second_cfg.edge_listen, sizeof(second_cfg.edge_listen),
		 "tcp://127.0.0.1:%d", redis_fixture_free_port());
	snprintf(second_cfg.worker_listen, sizeof(second_cfg.worker_listen),
		 "tcp://127.0.0.1:%d", redis_fixture_free_port());
	snprintf(second_cfg.queue_listen, sizeof(second_cfg.queue_listen),
		 "tcp://127.0.0.1:%d", redis_fixture_free_port());
	snprintf(second_cfg.crm_listen, sizeof(second_cfg.crm_listen),
		 "tcp://127.0.0.1:%d", redis_fixture_free_port());
	cr_assert_eq(router_alloc(&second, h.base, h.zctx, &second_cfg), 0);
	for (int i = 0; i < 300 && !pbx_redis_ctx(second->redis); i++)
		router_harness_settle(&h, 10);
	second_ac = pbx_redis_ctx(second->redis);
	cr_assert_not_null(second_ac);

	snprintf(eps, sizeof(eps), "%s,%s", h.cfg.worker_listen,
		 second_cfg.worker_listen);
	cr_assert_eq(fake_peer_alloc(&other, h.base, h.zctx, eps, "mw-two"),
		     0);
	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main", json), 0);
	hb.worker_id = "mw-two";
	hb.sip_uri = "sip:10.0.0.8:5080";
	hb.capacity = 10;
	env.body_case = PBX__V1__ENVELOPE__BODY_WORKER_HEARTBEAT;
	env.worker_heartbeat = &hb;
	cr_assert_eq(fake_peer_send(other, &env, 2000), 0);
	/* Whichever router got it wrote it to Redis; the other's registry
	 * refresh (500 ms) reads it there. Both sockets are up by then. */
	router_harness_settle(&h, 700);

	d = router_harness_call_new(&h, "c-1", CALLER, NUMBER);
	cr_assert_not_null(d);
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA,
		     "action %d (%u %s)", d->action, d->sip_code, d->reason);
	cr_assert_str_eq(d->worker_id, "mw-two");
	cr_assert_str_eq(d->media_uri, "sip:10.0.0.8:5080");
}

Test(route_media, two_routers_take_turns_on_one_call)
{
	const Pbx__V1__MediaCommand *c;

	two_routers(greeting_json);
	other_event(PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING, 0);
	c = other_cmd(1, PBX__V1__MEDIA_COMMAND__CMD_ANSWER);
	other_event(PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED, c->seq);
	c = other_cmd(2, PBX__V1__MEDIA_COMMAND__CMD_PLAY);
	cr_assert_str_eq(c->play->prompt, "hello");
	other_event(PBX__V1__MEDIA_EVENT__KIND__KIND_PLAY_DONE, c->seq);
	c = other_cmd(3, PBX__V1__MEDIA_COMMAND__CMD_HANGUP);
	assert_hangup(c, 486, "Busy Here");
	router_harness_settle(&h, 100);
	cr_assert_eq(fake_peer_count(other), 3, "one command per event");

	/* Both took steps: three events, one state, no lost update. */
	cr_assert(second_saves >= 1 && saves - second_saves >= 2,
		  "saves: %d here, %d on the second router",
		  saves - second_saves, second_saves);
	assert_field("c-1", "rev", "4");
	assert_field("c-1", "seq", "3");
	cr_assert_eq(fake_peer_count(h.worker), 0);
}

/* The caller presses 1 just as the menu's input timer fires: the two
 * events reach the two routers at once and race. Whichever saves first
 * decides; the loser re-reads and finds its event stale. One outcome,
 * never both. */
Test(route_media, two_routers_racing_on_one_call_send_one_outcome)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__MediaEvent dt = PBX__V1__MEDIA_EVENT__INIT;
	const Pbx__V1__MediaCommand *c;
	uint32_t timer;
	size_t n;

	two_routers(menu_json);
	other_event(PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING, 0);
	c = other_cmd(1, PBX__V1__MEDIA_COMMAND__CMD_ANSWER);
	other_event(PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED, c->seq);
	c = other_cmd(2, PBX__V1__MEDIA_COMMAND__CMD_PLAY);
	other_event(PBX__V1__MEDIA_EVENT__KIND__KIND_PLAY_DONE, c->seq);
	c = other_cmd(3, PBX__V1__MEDIA_COMMAND__CMD_TIMER);
	timer = c->timer->id;

	/* Back to back: one goes to each router. */
	dt.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_DTMF;
	dt.digit = "1";
	env.tenant_id = HARNESS_TENANT;
	env.call_id = "c-1";
	env.body_case = PBX__V1__ENVELOPE__BODY_MEDIA_EVENT;
	env.media_event = &dt;
	cr_assert_eq(fake_peer_send(other, &env, 2000), 0);
	dt.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_TIMER;
	dt.digit = "";
	dt.timer_id = timer;
	cr_assert_eq(fake_peer_send(other, &env, 2000), 0);

	cr_assert_geq(fake_peer_wait(other, 4, 2000), 4);
	router_harness_settle(&h, 200);
	n = fake_peer_count(other);
	c = fake_peer_msg(other, 3)->media_command;
	if (c->cmd_case == PBX__V1__MEDIA_COMMAND__CMD_HANGUP) {
		/* The timer won: no choice after it. */
		assert_hangup(c, 480, "Nobody Chose");
		cr_assert_eq(n, 4, "%zu commands after the timeout", n - 3);
	} else {
		/* The digit won: cancel the timer, play the branch. */
		cr_assert_eq(n, 5, "%zu commands after the digit", n - 3);
		cr_assert_eq(c->cmd_case, PBX__V1__MEDIA_COMMAND__CMD_TIMER);
		cr_assert_eq(c->timer->ms, 0);
		c = other_cmd(5, PBX__V1__MEDIA_COMMAND__CMD_PLAY);
		cr_assert_str_eq(c->play->prompt, "sales");
	}
	assert_field("c-1", "seq", "4");
}

/* ---- Redis outages ------------------------------------------------------ */

Test(route_media, redis_down_hangs_up_a_live_call_503)
{
	start_call("c-1", greeting_json);
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING, 0);
	cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_ANSWER);

	redis_fixture_stop(&h.rf);
	for (int i = 0; i < 100 && pbx_redis_ctx(h.rt->redis); i++)
		router_harness_settle(&h, 10);
	cr_assert_null(pbx_redis_ctx(h.rt->redis));

	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED, 1);
	assert_hangup(cmd_at(expect_cmds(1), "c-1",
			     PBX__V1__MEDIA_COMMAND__CMD_HANGUP),
		      503, "Service Unavailable");
}

Test(route_media, redis_lost_with_the_state_read_in_flight_hangs_up_503)
{
	start_call("c-1", greeting_json);
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING, 0);
	cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_ANSWER);

	cr_assert_eq(kill(h.rf.pid, SIGSTOP), 0);
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED, 1);
	expect_nothing_while_frozen();
	redis_fixture_stop(&h.rf);
	assert_hangup(cmd_at(expect_cmds(1), "c-1",
			     PBX__V1__MEDIA_COMMAND__CMD_HANGUP),
		      503, "Service Unavailable");
}

/* The caller hangs up (another router deletes the state) while this router
 * is between its read and its save: the save must not bring the call
 * back. */
static void caller_hung_up_meanwhile(const char *key)
{
	if (meddled++ == 0)
		redis_do("DEL %s", key, NULL);
}

Test(route_media, hangup_during_a_step_does_not_resurrect_the_call)
{
	const Pbx__V1__MediaCommand *c;

	meddled = 0;
	start_call("c-1", greeting_json);
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING, 0);
	cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_ANSWER);

	before_save = caller_hung_up_meanwhile;
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED, 1);
	/* The re-read finds no call: hang up, never play. */
	c = cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_HANGUP);
	assert_hangup(c, 480, "Temporarily Unavailable");
	cr_assert_eq(router_harness_call_count(&h), 0,
		     "the call record came back");
}

/* Leaves an ANSWERED step of c-1 waiting on a frozen Redis. */
static void step_in_flight(void)
{
	start_call("c-1", greeting_json);
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING, 0);
	cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_ANSWER);
	cr_assert_eq(kill(h.rf.pid, SIGSTOP), 0);
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED, 1);
	expect_nothing_while_frozen();
}

Test(route_media, router_freed_with_a_step_in_flight_frees_it)
{
	step_in_flight();
	/* Shutdown runs the waiting chain with no reply; it must free itself
	 * and its pins without touching freed memory (ASan, and the leak
	 * check in .fini). */
	router_free(h.rt);
	h.rt = NULL;
	router_harness_settle(&h, 50);
}

/* KNOWN BUG, not fixed yet (router.c router_free()): router_free()
 * frees Redis first so that "pending callbacks ... hang up or reject
 * through the buses", but the buses are closed right after with linger 0,
 * which drops every frame ZeroMQ's I/O thread has not written yet: the
 * Hangup (and a CallNew's 503) was lost in 6 of 20 runs of this test
 * alone, leaving the call up on the worker until the caller hangs up.
 * A 200 ms linger on close was tried: the hang-up was still missing
 * about one run in five, and a linger on a CURVE socket closed during a
 * handshake once hung zmq_ctx_term(); reverted. Not fixed yet. A race by
 * nature: enable it and run it ~15 times to see it fail. */
Test(route_media, router_freed_with_a_step_in_flight_still_hangs_up,
     .disabled = true)
{
	size_t first;

	step_in_flight();
	first = seen;
	router_free(h.rt);
	h.rt = NULL;
	/* No barrier without a router: wait for the one command itself. */
	cr_assert_geq(fake_peer_wait(h.worker, first + 1, 2000), first + 1,
		      "the worker never got the shutdown's hang-up");
	assert_hangup(cmd_at(first, "c-1", PBX__V1__MEDIA_COMMAND__CMD_HANGUP),
		      503, "Service Unavailable");
}

/* ---- queues (route_queue.c) -------------------------------------------- */

static const char queue_json[] =
	"{\"start\":\"q\",\"nodes\":{"
	"\"q\":{\"type\":\"queue\",\"options\":{\"queue\":\"sales\","
	"\"max_wait\":30,\"announce_position\":true,"
	"\"periodic_interval\":20,\"entry_prompt\":\"welcome\"},"
	"\"outputs\":{\"timeout\":\"bye\",\"exit_key:5\":\"five\"}},"
	"\"five\":{\"type\":\"greeting\",\"options\":{\"prompt\":\"five\"}},"
	"\"bye\":{\"type\":\"hangup\",\"options\":{\"code\":480,"
	"\"reason\":\"Nobody Free\"}}}}";

/* The fake queue-manager's i-th command, checked to be of kind. */
static const Pbx__V1__QueueCommand *
qm_cmd(size_t i, Pbx__V1__QueueCommand__CmdCase kind)
{
	const Pbx__V1__Envelope *env;

	cr_assert_gt(fake_peer_wait(h.qm, i + 1, 2000), i,
		     "queue-manager: no command %zu", i);
	env = fake_peer_msg(h.qm, i);
	cr_assert_eq(env->body_case, PBX__V1__ENVELOPE__BODY_QUEUE_COMMAND);
	cr_assert_str_eq(env->tenant_id, HARNESS_TENANT);
	cr_assert_eq(env->queue_command->cmd_case, kind, "qm command %d",
		     env->queue_command->cmd_case);
	return env->queue_command;
}

/* INCOMING -> Answer; ANSWERED -> music and the deadline (and Enqueue
 * when a queue-manager is alive). Returns the deadline's ms. */
static uint32_t queue_joined(const char *call_id)
{
	const Pbx__V1__MediaCommand *c;
	size_t i;

	start_call(call_id, queue_json);
	event(call_id, PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING, 0);
	c = cmd_at(expect_cmds(1), call_id,
		   PBX__V1__MEDIA_COMMAND__CMD_ANSWER);
	event(call_id, PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED, c->seq);
	i = expect_cmds(2);
	/* Music, the entry prompt, the periodic announcement of the
	 * position in the tenant's language. */
	c = cmd_at(i, call_id, PBX__V1__MEDIA_COMMAND__CMD_QUEUE_HOLD);
	cr_assert_str_eq(c->queue_hold->moh, "");
	cr_assert_str_eq(c->queue_hold->entry_prompt, "welcome");
	cr_assert_str_eq(c->queue_hold->periodic_prompt, "");
	cr_assert_eq(c->queue_hold->periodic_ms, 20000);
	cr_assert_str_eq(c->queue_hold->language, "ru");
	cr_assert(c->queue_hold->announce_position);
	cr_assert_not(c->queue_hold->announce_wait);
	c = cmd_at(i + 1, call_id, PBX__V1__MEDIA_COMMAND__CMD_TIMER);
	cr_assert_eq(c->timer->id, 0xffffff01u);
	return c->timer->ms;
}

/* The commands that take a caller out of its queue, from index i. */
static void assert_left_queue(size_t i, const char *call_id)
{
	const Pbx__V1__MediaCommand *c;

	c = cmd_at(i, call_id, PBX__V1__MEDIA_COMMAND__CMD_CANCEL_RING);
	cr_assert_str_eq(c->cancel_ring->leg, "");
	c = cmd_at(i + 1, call_id, PBX__V1__MEDIA_COMMAND__CMD_TIMER);
	cr_assert_eq(c->timer->ms, 0);
	cmd_at(i + 2, call_id, PBX__V1__MEDIA_COMMAND__CMD_STOP_PLAY);
}

Test(route_media, queue_joins_with_music_enqueue_and_a_deadline)
{
	const Pbx__V1__QueueCommand *q;

	cr_assert_eq(router_harness_qm_heartbeat(&h), 0);
	cr_assert_eq(queue_joined("c-1"), (30 + 2) * 1000);
	q = qm_cmd(0, PBX__V1__QUEUE_COMMAND__CMD_ENQUEUE);
	cr_assert_str_eq(q->enqueue->queue, "sales");
	cr_assert_eq(q->enqueue->max_wait_s, 30);
	cr_assert_str_eq(q->enqueue->caller, CALLER);
	cr_assert_eq(q->enqueue->announce_ms, 20000);
	assert_field("c-1", "queue", "sales");
	assert_field("c-1", "qwait", "1");
	assert_field("c-1", "qkeys", "5");
}

Test(route_media, queue_offer_rings_agents_and_their_results_reach_the_qm)
{
	Pbx__V1__QueueEvent qe = PBX__V1__QUEUE_EVENT__INIT;
	Pbx__V1__QueueEvent__Offer of = PBX__V1__QUEUE_EVENT__OFFER__INIT;
	char *agents[] = {(char *)"101", (char *)"102"};
	const Pbx__V1__MediaCommand *c;
	const Pbx__V1__QueueCommand *q;
	size_t i;

	cr_assert_eq(router_harness_qm_heartbeat(&h), 0);
	queue_joined("c-1");
	of.queue = (char *)"sales";
	of.agents = agents;
	of.n_agents = 2;
	of.offer = 7;
	of.timeout_ms = 15000;
	qe.ev_case = PBX__V1__QUEUE_EVENT__EV_OFFER;
	qe.offer = &of;
	cr_assert_eq(router_harness_qm_event(&h, "c-1", &qe), 0);
	i = expect_cmds(2);
	for (size_t k = 0; k < 2; k++) {
		char leg[32], uri[64];

		c = cmd_at(i + k, "c-1", PBX__V1__MEDIA_COMMAND__CMD_RING);
		snprintf(leg, sizeof(leg), "7:%s", agents[k]);
		snprintf(uri, sizeof(uri), "sip:%s@" HARNESS_DOMAIN,
			 agents[k]);
		cr_assert_str_eq(c->ring->leg, leg);
		cr_assert_str_eq(c->ring->target_uri, uri);
		cr_assert_eq(c->ring->timeout_ms, 15000);
	}

	/* 102 does not answer: a miss for the queue-manager, nothing for
	 * the walk. */
	event_ex("c-1", &(struct harness_event){
				.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_RING_RESULT,
				.ring = PBX__V1__MEDIA_EVENT__RING_RESULT__RING_NO_ANSWER,
				.leg = "7:102"});
	q = qm_cmd(1, PBX__V1__QUEUE_COMMAND__CMD_AGENT_RESULT);
	cr_assert_str_eq(q->agent_result->agent, "102");
	cr_assert_eq(q->agent_result->offer, 7);
	cr_assert_eq(q->agent_result->result,
		     PBX__V1__QUEUE_COMMAND__AGENT_RESULT__RESULT__RESULT_NO_ANSWER);
	expect_cmds(0);

	/* 101 answers: bridged; the exit keys are gone. */
	event_ex("c-1", &(struct harness_event){
				.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_RING_RESULT,
				.ring = PBX__V1__MEDIA_EVENT__RING_RESULT__RING_ANSWERED,
				.leg = "7:101"});
	q = qm_cmd(2, PBX__V1__QUEUE_COMMAND__CMD_AGENT_RESULT);
	cr_assert_eq(q->agent_result->result,
		     PBX__V1__QUEUE_COMMAND__AGENT_RESULT__RESULT__RESULT_ANSWERED);
	expect_cmds(0);
	assert_field("c-1", "qwait", "0");
	assert_field("c-1", "queue", "sales");
	assert_field("c-1", "qkeys", "");

	/* The call ends: the queue-manager hears it (the agent's wrap-up). */
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_HANGUP, 0);
	q = qm_cmd(3, PBX__V1__QUEUE_COMMAND__CMD_LEAVE);
	cr_assert_eq(q->leave->reason,
		     PBX__V1__QUEUE_COMMAND__LEAVE__REASON__REASON_HANGUP);
	cr_assert(router_harness_call_gone(&h, "c-1", 2000));
}

/* Agents that are numbers ring through the tenant's trunk, each with its
 * kind; an agent of a kind the router does not know is not rung. */
Test(route_media, queue_offer_rings_number_agents_through_the_trunk)
{
	Pbx__V1__QueueEvent qe = PBX__V1__QUEUE_EVENT__INIT;
	Pbx__V1__QueueEvent__Offer of = PBX__V1__QUEUE_EVENT__OFFER__INIT;
	char *agents[] = {(char *)"101", (char *)"+79161234567",
			  (char *)"+74951234567", (char *)"+74950000000"};
	char *kinds[] = {(char *)"extension", (char *)"mobile",
			 (char *)"external", (char *)"fax"};
	static const char *const uri[] = {
		"sip:101@" HARNESS_DOMAIN,
		"sip:+79161234567@" HARNESS_DOMAIN ";user=phone",
		"sip:+74951234567@" HARNESS_DOMAIN ";user=phone"};
	const Pbx__V1__MediaCommand *c;
	size_t i;

	cr_assert_eq(router_harness_qm_heartbeat(&h), 0);
	queue_joined("c-1");
	of.queue = (char *)"sales";
	of.agents = agents;
	of.n_agents = 4;
	of.agent_kinds = kinds;
	of.n_agent_kinds = 4;
	of.dest_kind = (char *)"";
	of.offer = 2;
	of.timeout_ms = 20000;
	qe.ev_case = PBX__V1__QUEUE_EVENT__EV_OFFER;
	qe.offer = &of;
	cr_assert_eq(router_harness_qm_event(&h, "c-1", &qe), 0);
	i = expect_cmds(3);
	for (size_t k = 0; k < 3; k++) {
		char leg[32];

		c = cmd_at(i + k, "c-1", PBX__V1__MEDIA_COMMAND__CMD_RING);
		snprintf(leg, sizeof(leg), "2:%s", agents[k]);
		cr_assert_str_eq(c->ring->leg, leg);
		cr_assert_str_eq(c->ring->target_uri, uri[k]);
		cr_assert_str_eq(c->ring->dest_kind, kinds[k]);
		/* The caller's number, as a forwarded call shows it. */
		cr_assert_str_eq(c->ring->caller_id, CALLER);
	}
}

Test(route_media, queue_cancel_stops_that_agents_leg)
{
	Pbx__V1__QueueEvent qe = PBX__V1__QUEUE_EVENT__INIT;
	Pbx__V1__QueueEvent__Cancel cn = PBX__V1__QUEUE_EVENT__CANCEL__INIT;
	char *agents[] = {(char *)"101"};
	const Pbx__V1__MediaCommand *c;

	cr_assert_eq(router_harness_qm_heartbeat(&h), 0);
	queue_joined("c-1");
	cn.agents = agents;
	cn.n_agents = 1;
	cn.offer = 3;
	qe.ev_case = PBX__V1__QUEUE_EVENT__EV_CANCEL;
	qe.cancel = &cn;
	cr_assert_eq(router_harness_qm_event(&h, "c-1", &qe), 0);
	c = cmd_at(expect_cmds(1), "c-1",
		   PBX__V1__MEDIA_COMMAND__CMD_CANCEL_RING);
	cr_assert_str_eq(c->cancel_ring->leg, "3:101");
}

Test(route_media, queue_result_timeout_takes_the_exit_route)
{
	Pbx__V1__QueueEvent qe = PBX__V1__QUEUE_EVENT__INIT;
	Pbx__V1__QueueEvent__Result res = PBX__V1__QUEUE_EVENT__RESULT__INIT;
	size_t i;

	cr_assert_eq(router_harness_qm_heartbeat(&h), 0);
	queue_joined("c-1");
	/* A Result of another queue is not about this wait. */
	res.queue = (char *)"other";
	res.kind = PBX__V1__QUEUE_EVENT__RESULT__KIND__KIND_TIMEOUT;
	qe.ev_case = PBX__V1__QUEUE_EVENT__EV_RESULT;
	qe.result = &res;
	cr_assert_eq(router_harness_qm_event(&h, "c-1", &qe), 0);
	router_harness_settle(&h, 100);
	expect_cmds(0);

	res.queue = (char *)"sales";
	cr_assert_eq(router_harness_qm_event(&h, "c-1", &qe), 0);
	i = expect_cmds(4);
	assert_left_queue(i, "c-1");
	assert_hangup(cmd_at(i + 3, "c-1", PBX__V1__MEDIA_COMMAND__CMD_HANGUP),
		      480, "Nobody Free");
	assert_field("c-1", "queue", "");
}

Test(route_media, queue_news_of_the_place_reaches_the_worker)
{
	Pbx__V1__QueueEvent qe = PBX__V1__QUEUE_EVENT__INIT;
	Pbx__V1__QueueEvent__Result res = PBX__V1__QUEUE_EVENT__RESULT__INIT;
	const Pbx__V1__MediaCommand *c;

	cr_assert_eq(router_harness_qm_heartbeat(&h), 0);
	queue_joined("c-1");
	res.queue = (char *)"sales";
	res.kind = PBX__V1__QUEUE_EVENT__RESULT__KIND__KIND_QUEUED;
	res.position = 3;
	res.wait_s = 95;
	qe.ev_case = PBX__V1__QUEUE_EVENT__EV_RESULT;
	qe.result = &res;
	cr_assert_eq(router_harness_qm_event(&h, "c-1", &qe), 0);
	c = cmd_at(expect_cmds(1), "c-1",
		   PBX__V1__MEDIA_COMMAND__CMD_QUEUE_ANNOUNCE);
	cr_assert_eq(c->queue_announce->position, 3);
	cr_assert_eq(c->queue_announce->wait_s, 95);
	/* News of another queue, or of a call that is not waiting, is
	 * not said. */
	res.queue = (char *)"other";
	cr_assert_eq(router_harness_qm_event(&h, "c-1", &qe), 0);
	res.queue = (char *)"sales";
	cr_assert_eq(router_harness_qm_event(&h, "c-9", &qe), 0);
	router_harness_settle(&h, 100);
	expect_cmds(0);
}

Test(route_media, queue_without_a_queue_manager_takes_the_exit_route)
{
	const Pbx__V1__MediaCommand *c;
	size_t i;

	/* No heartbeat: nobody to enqueue with; the deadline fires at
	 * once. */
	cr_assert_eq(queue_joined("c-1"), 1);
	event_ex("c-1", &(struct harness_event){
				.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_TIMER,
				.timer_id = 0xffffff01u});
	i = expect_cmds(4);
	assert_left_queue(i, "c-1");
	c = cmd_at(i + 3, "c-1", PBX__V1__MEDIA_COMMAND__CMD_HANGUP);
	assert_hangup(c, 480, "Nobody Free");
	cr_assert_eq(fake_peer_count(h.qm), 0);
}

Test(route_media, queue_exit_key_leaves_along_its_output)
{
	const Pbx__V1__MediaCommand *c;
	const Pbx__V1__QueueCommand *q;
	size_t i;

	cr_assert_eq(router_harness_qm_heartbeat(&h), 0);
	queue_joined("c-1");
	/* Not an exit key: nothing. */
	event_ex("c-1", &(struct harness_event){
				.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_DTMF,
				.digit = "4"});
	expect_cmds(0);
	event_ex("c-1", &(struct harness_event){
				.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_DTMF,
				.digit = "5"});
	i = expect_cmds(4);
	assert_left_queue(i, "c-1");
	c = cmd_at(i + 3, "c-1", PBX__V1__MEDIA_COMMAND__CMD_PLAY);
	cr_assert_str_eq(c->play->prompt, "five");
	q = qm_cmd(1, PBX__V1__QUEUE_COMMAND__CMD_LEAVE);
	cr_assert_eq(q->leave->reason,
		     PBX__V1__QUEUE_COMMAND__LEAVE__REASON__REASON_EXIT_KEY);
	cr_assert_str_eq(q->leave->digit, "5");
}

/* ---- conference (route_conf.c) ----------------------------------------- */

static const char conf_json[] =
	"{\"start\":\"c\",\"nodes\":{"
	"\"c\":{\"type\":\"conference\",\"options\":{\"room\":\"room1\"}}}}";

static const char room1_json[] =
	"{\"pin\":\"1234\",\"moderator_pin\":\"9999\",\"pin_retries\":3,"
	"\"max_members\":3,\"join_muted\":true,\"end_with_moderator\":true}";

#define MC(k) PBX__V1__MEDIA_COMMAND__CMD_##k
#define MEV(k) PBX__V1__MEDIA_EVENT__KIND__KIND_##k

/* The call reaches the room: answered, asked for its PIN (conf_pin with
 * barge-in and the PIN timer). */
static void conf_asked(const char *call_id)
{
	const Pbx__V1__MediaCommand *c;
	size_t i;

	cr_assert_eq(router_harness_seed_object(&h, "conference", "room1",
						room1_json),
		     0);
	start_call(call_id, conf_json);
	event(call_id, MEV(INCOMING), 0);
	c = cmd_at(expect_cmds(1), call_id, MC(ANSWER));
	event(call_id, MEV(ANSWERED), c->seq);
	i = expect_cmds(2);
	c = cmd_at(i, call_id, MC(PLAY));
	cr_assert_str_eq(c->play->prompt, "conf_pin");
	cr_assert(c->play->barge_in);
	c = cmd_at(i + 1, call_id, MC(TIMER));
	cr_assert_gt(c->timer->ms, 0);
	assert_field(call_id, "conf", "room1");
	assert_field(call_id, "cst", "p");
}

/* Digits as DTMF events; the last one's commands are returned from i. */
static void conf_digits(const char *call_id, const char *digits)
{
	for (const char *d = digits; *d; d++) {
		char one[2] = {*d, '\0'};

		dtmf(call_id, one);
		if (d[1])
			expect_cmds(0);
	}
}

static void conf_redis_field(const char *key_room, enum pbx_tkey k,
			     const char *field, char *out, size_t size)
{
	char key[PBX_KEY_MAX];
	redisReply *r;

	cr_assert_eq(pbx_key_sub_of(key, sizeof(key), HARNESS_TENANT, k,
				    key_room),
		     0);
	r = field ? redis_fixture_cmd(&h.rf, "HGET %s %s", key, field)
		  : redis_fixture_cmd(&h.rf, "GET %s", key);
	cr_assert_not_null(r);
	snprintf(out, size, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
	freeReplyObject(r);
}

Test(route_media, conf_right_pin_joins_muted_and_records_the_member)
{
	const Pbx__V1__MediaCommand *c;
	struct harness_event ev = {.kind = MEV(CONF_JOINED),
				   .conf_members = 2,
				   .conf_muted = true};
	char v[256], joined[256];
	size_t i;

	conf_asked("c-1");
	conf_digits("c-1", "1234#");
	i = expect_cmds(2);
	c = cmd_at(i, "c-1", MC(TIMER));
	cr_assert_eq(c->timer->ms, 0, "the PIN timer is cancelled");
	c = cmd_at(i + 1, "c-1", MC(CONF_JOIN));
	cr_assert_str_eq(c->conf_join->room, "room1");
	cr_assert(c->conf_join->muted, "join_muted");
	cr_assert_not(c->conf_join->moderator);
	cr_assert_eq(c->conf_join->max_members, 3);
	cr_assert(c->conf_join->end_with_moderator);
	assert_field("c-1", "cst", "j");

	ev.seq = c->seq;
	event_ex("c-1", &ev);
	expect_cmds(0);
	conf_redis_field("room1", PBX_K_CONF_ROOM, NULL, v, sizeof(v));
	cr_assert_str_eq(v, HARNESS_WORKER);
	conf_redis_field("room1", PBX_K_CONF_MEMBERS, "c-1", v, sizeof(v));
	cr_assert(!strncmp(v, HARNESS_WORKER " 0 1 ", 12), "member %s", v);
	snprintf(joined, sizeof(joined), "%s", v + 12);
	/* Unmuted (pbxctl, or its *6): the flag changes, nothing else. */
	ev.kind = MEV(CONF_MUTED);
	ev.conf_muted = false;
	event_ex("c-1", &ev);
	expect_cmds(0);
	conf_redis_field("room1", PBX_K_CONF_MEMBERS, "c-1", v, sizeof(v));
	cr_assert(!strncmp(v, HARNESS_WORKER " 0 0 ", 12), "member %s", v);
	cr_assert_str_eq(v + 12, joined);

	/* The caller leaves: it is no member any more. */
	event("c-1", MEV(HANGUP), 0);
	cr_assert(router_harness_call_gone(&h, "c-1", 2000));
	router_harness_settle(&h, 100);
	conf_redis_field("room1", PBX_K_CONF_MEMBERS, "c-1", v, sizeof(v));
	cr_assert_str_eq(v, "");
}

Test(route_media, conf_moderator_pin_joins_unmuted_as_moderator)
{
	const Pbx__V1__MediaCommand *c;
	size_t i;

	conf_asked("c-1");
	conf_digits("c-1", "9999#");
	i = expect_cmds(2);
	c = cmd_at(i + 1, "c-1", MC(CONF_JOIN));
	cr_assert(c->conf_join->moderator);
	cr_assert_not(c->conf_join->muted);
	assert_field("c-1", "cmod", "1");
}

Test(route_media, conf_three_wrong_pins_play_denied_then_hang_up)
{
	const Pbx__V1__MediaCommand *c;
	size_t i;

	conf_asked("c-1");
	for (int k = 1; k <= 2; k++) {
		conf_digits("c-1", "1111#");
		i = expect_cmds(2);
		c = cmd_at(i, "c-1", MC(PLAY));
		cr_assert_str_eq(c->play->prompt, "conf_bad_pin");
		cmd_at(i + 1, "c-1", MC(TIMER));
		cr_assert_eq(field_long("c-1", "ctry"), k);
	}
	conf_digits("c-1", "12345#"); /* too long is wrong too */
	i = expect_cmds(2);
	c = cmd_at(i, "c-1", MC(TIMER));
	cr_assert_eq(c->timer->ms, 0);
	c = cmd_at(i + 1, "c-1", MC(PLAY));
	cr_assert_str_eq(c->play->prompt, "conf_denied");
	cr_assert_not(c->play->barge_in);
	/* A digit now changes nothing; the prompt's end hangs up. */
	dtmf("c-1", "1");
	expect_cmds(0);
	event("c-1", MEV(PLAY_DONE), c->seq);
	assert_hangup(cmd_at(expect_cmds(1), "c-1", MC(HANGUP)), 480,
		      "Conference Ended");
}

Test(route_media, conf_silence_counts_as_a_wrong_pin)
{
	const Pbx__V1__MediaCommand *c;
	struct harness_event ev = {.kind = MEV(TIMER),
				   .timer_id = 0xffffff02u};
	size_t i;

	conf_asked("c-1");
	conf_digits("c-1", "12");
	event_ex("c-1", &ev);
	i = expect_cmds(2);
	c = cmd_at(i, "c-1", MC(PLAY));
	cr_assert_str_eq(c->play->prompt, "conf_bad_pin");
	cr_assert_eq(field_long("c-1", "ctry"), 1);
	/* The half-typed digits are gone: 1234 is right now. */
	conf_digits("c-1", "1234#");
	cmd_at(expect_cmds(2) + 1, "c-1", MC(CONF_JOIN));
}

Test(route_media, conf_full_room_plays_room_full_then_hangs_up)
{
	const Pbx__V1__MediaCommand *c;
	struct harness_event ev = {.kind = MEV(CONF_FULL), .conf_members = 3};
	char v[64];

	conf_asked("c-1");
	conf_digits("c-1", "1234#");
	c = cmd_at(expect_cmds(2) + 1, "c-1", MC(CONF_JOIN));
	ev.seq = c->seq;
	event_ex("c-1", &ev);
	c = cmd_at(expect_cmds(1), "c-1", MC(PLAY));
	cr_assert_str_eq(c->play->prompt, "conf_full");
	event("c-1", MEV(PLAY_DONE), c->seq);
	assert_hangup(cmd_at(expect_cmds(1), "c-1", MC(HANGUP)), 480,
		      "Conference Ended");
	/* A refused caller was never a member. */
	conf_redis_field("room1", PBX_K_CONF_MEMBERS, "c-1", v, sizeof(v));
	cr_assert_str_eq(v, "");
}

static const char open_conf_json[] =
	"{\"start\":\"c\",\"nodes\":{"
	"\"c\":{\"type\":\"conference\",\"options\":{\"room\":\"open\"}}}}";

/* A second live worker, busier than the harness's, in the registry. */
static void conf_second_worker(void)
{
	char key[PBX_KEY_MAX], val[128];

	cr_assert_eq(pbx_key_sys(key, sizeof(key), "workers"), 0);
	snprintf(val, sizeof(val), "%llu 5 10 0 sip:10.0.0.8:5080",
		 (unsigned long long)pbx_clock_now_ms());
	redis_do("HSET %s mw-two %s", key, val);
	router_harness_settle(&h, 700); /* the registry's refresh */
}

static void conf_room_on(const char *worker)
{
	char key[PBX_KEY_MAX];

	cr_assert_eq(pbx_key_sub_of(key, sizeof(key), HARNESS_TENANT,
				    PBX_K_CONF_ROOM, "open"),
		     0);
	redis_do("SET %s %s", key, worker);
}

Test(route_media, conf_call_into_a_room_goes_to_the_rooms_worker)
{
	const Pbx__V1__RouteDecision *d;
	const Pbx__V1__MediaCommand *c;

	cr_assert_eq(router_harness_seed_object(&h, "conference", "open",
						"{\"max_members\":0}"),
		     0);
	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main",
					      open_conf_json),
		     0);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);
	conf_second_worker();
	conf_room_on("mw-two");
	d = router_harness_call_new(&h, "c-1", CALLER, NUMBER);
	cr_assert_not_null(d);
	cr_assert_str_eq(d->media_uri, "sip:10.0.0.8:5080",
			 "not the room's worker: %s", d->media_uri);
	/* A room whose worker is gone starts again on the least loaded. */
	conf_room_on("mw-dead");
	d = router_harness_call_new(&h, "c-2", CALLER, NUMBER);
	cr_assert_not_null(d);
	cr_assert_str_eq(d->media_uri, HARNESS_WORKER_URI);
	/* Without a PIN the call joins at once once answered. */
	event("c-2", MEV(INCOMING), 0);
	c = cmd_at(expect_cmds(1), "c-2", MC(ANSWER));
	event("c-2", MEV(ANSWERED), c->seq);
	c = cmd_at(expect_cmds(1), "c-2", MC(CONF_JOIN));
	cr_assert_str_eq(c->conf_join->room, "open");
	cr_assert_eq(c->conf_join->max_members, 0);
}

static const Pbx__V1__RouteDecision *d_menu;

static const char menu_conf_json[] =
	"{\"start\":\"m\",\"nodes\":{"
	"\"m\":{\"type\":\"ivr\",\"options\":{\"prompt\":\"menu\","
	"\"timeout\":5,\"retries\":0},"
	"\"outputs\":{\"digit:1\":\"c\",\"timeout\":\"c\"}},"
	"\"c\":{\"type\":\"conference\",\"options\":{\"room\":\"open\"}}}}";

/* The first command of kind among those that came since seen. */
static const Pbx__V1__MediaCommand *
conf_wait_cmd(const char *call_id, Pbx__V1__MediaCommand__CmdCase kind)
{
	for (int t = 0; t < 100; t++) {
		for (size_t i = seen; i < fake_peer_count(h.worker); i++) {
			const Pbx__V1__Envelope *env = fake_peer_msg(h.worker,
								     i);

			if (env->body_case ==
				    PBX__V1__ENVELOPE__BODY_MEDIA_COMMAND &&
			    !strcmp(env->call_id, call_id) &&
			    env->media_command->cmd_case == kind)
				return env->media_command;
		}
		router_harness_settle(&h, 20);
	}
	cr_assert_fail("no command %d for %s", kind, call_id);
	return NULL;
}

/* A menu caller on mw-test chooses the room: it joins when the room is
 * empty or on its worker, and is refused (not split off) when the room's
 * members are on another live worker. */
static void conf_menu_call(const char *call_id)
{
	const Pbx__V1__MediaCommand *c;

	d_menu = router_harness_call_new(&h, call_id, CALLER, NUMBER);
	cr_assert_not_null(d_menu);
	cr_assert_str_eq(d_menu->media_uri, HARNESS_WORKER_URI);
	event(call_id, MEV(INCOMING), 0);
	c = cmd_at(expect_cmds(1), call_id, MC(ANSWER));
	event(call_id, MEV(ANSWERED), c->seq);
	conf_wait_cmd(call_id, MC(PLAY));
	seen = fake_peer_count(h.worker);
	dtmf(call_id, "1");
}

/* An open room, a menu into it on NUMBER, this worker and mw-two; the
 * room's key names mw-two. */
static void conf_menu_room_on_two(void)
{
	cr_assert_eq(router_harness_seed_object(&h, "conference", "open",
						"{\"max_members\":0}"),
		     0);
	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main",
					      menu_conf_json),
		     0);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);
	conf_second_worker();
	conf_room_on("mw-two");
}

/* The cascade token a Ring names: sip:conf-<token>@<host>. */
static void ring_token(const Pbx__V1__MediaCommand *c, char *tok, size_t n)
{
	const char *u = c->ring->target_uri;

	cr_assert(!strncmp(u, "sip:conf-", 9), "target %s", u);
	cr_assert_eq(strcspn(u + 9, "@"), 32, "target %s", u);
	snprintf(tok, n, "conf-%.32s", u + 9);
}

Test(route_media, conf_menu_caller_joins_on_its_worker_or_through_a_leg)
{
	const Pbx__V1__RouteDecision *d;
	const Pbx__V1__MediaCommand *c;
	struct harness_event ev = {.kind = MEV(RING_RESULT),
				   .ring = PBX__V1__MEDIA_EVENT__RING_RESULT__RING_ANSWERED};
	char key[PBX_KEY_MAX], tok[48], v[64];

	/* The room's key names mw-two but nobody is in it: joins here. */
	conf_menu_room_on_two();
	conf_menu_call("c-1");
	cr_assert_str_eq(conf_wait_cmd("c-1", MC(CONF_JOIN))->conf_join->room,
			 "open");
	/* Members on mw-two: this worker rings a leg into the room. */
	cr_assert_eq(pbx_key_sub_of(key, sizeof(key), HARNESS_TENANT,
				    PBX_K_CONF_MEMBERS, "open"),
		     0);
	redis_do("HSET %s x1 %s", key, "mw-two 0 0 1 caller");
	seen = fake_peer_count(h.worker);
	conf_menu_call("c-2");
	c = conf_wait_cmd("c-2", MC(RING));
	cr_assert_str_eq(c->ring->dest_kind, "conference");
	cr_assert_str_eq(c->ring->caller_id, CALLER);
	cr_assert_gt(c->ring->timeout_ms, 0);
	ring_token(c, tok, sizeof(tok));

	/* The leg arrives from the edge: placed on the room's worker. A
	 * trunk call to the same user is no leg; the token is good once. */
	d = router_harness_call_new(&h, "x-trunk", CALLER, tok);
	cr_assert_not_null(d);
	cr_assert_eq(d->sip_code, 404);
	d = router_harness_call_new_src(&h, "c-2-leg", "x", tok, "worker");
	cr_assert_not_null(d);
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA);
	cr_assert_str_eq(d->media_uri, "sip:10.0.0.8:5080",
			 "not the room's worker: %s", d->media_uri);
	d = router_harness_call_new_src(&h, "c-3-leg", "x", tok, "worker");
	cr_assert_not_null(d);
	cr_assert_eq(d->sip_code, 403, "a used token: %u", d->sip_code);
	d = router_harness_call_new_src(&h, "c-4-leg", "x",
					"conf-0123456789abcdef0123456789abcdef",
					"worker");
	cr_assert_not_null(d);
	cr_assert_eq(d->sip_code, 403);
	assert_field("c-2-leg", "scenario", "@conf:open");
	assert_field("c-2-leg", "caller", CALLER);
	assert_field("c-2-leg", "worker", "mw-two");

	/* The caller's leg answered: it is in through it, not a member. */
	seen = fake_peer_count(h.worker);
	ev.seq = c->seq;
	router_harness_event(&h, "c-2", &ev);
	router_harness_settle(&h, 200);
	assert_field("c-2", "cst", "c");
	conf_redis_field("open", PBX_K_CONF_MEMBERS, "c-2", v, sizeof(v));
	cr_assert_str_eq(v, "");
}

Test(route_media, conf_failed_cascade_leg_ends_the_call)
{
	struct harness_event ev = {.kind = MEV(RING_RESULT),
				   .ring = PBX__V1__MEDIA_EVENT__RING_RESULT__RING_UNAVAILABLE};
	const Pbx__V1__MediaCommand *c;
	char key[PBX_KEY_MAX];

	conf_menu_room_on_two();
	cr_assert_eq(pbx_key_sub_of(key, sizeof(key), HARNESS_TENANT,
				    PBX_K_CONF_MEMBERS, "open"),
		     0);
	redis_do("HSET %s x1 %s", key, "mw-two 0 0 1 caller");
	conf_menu_call("c-1");
	c = conf_wait_cmd("c-1", MC(RING));
	seen = fake_peer_count(h.worker);
	ev.seq = c->seq;
	router_harness_event(&h, "c-1", &ev);
	assert_hangup(conf_wait_cmd("c-1", MC(HANGUP)), 480,
		      "Conference Ended");
}

/* Issue 11: a cascade leg into a room on a live worker carries a call of
 * another worker; that worker lost, the leg ends at once (a Hangup to
 * the room's worker), not after the leg's RTP timeout. */
Test(route_media, conf_leg_ends_when_its_callers_worker_is_lost)
{
	static const char tok[] = "0123456789abcdef0123456789abcdef";
	const Pbx__V1__RouteDecision *d;
	char key[PBX_KEY_MAX], member[PBX_KEY_MAX];

	conf_menu_room_on_two();
	conf_room_on(HARNESS_WORKER);
	cr_assert_eq(pbx_key_sys_sub_of(key, sizeof(key), PBX_KS_CONF_CASCADE,
					tok),
		     0);
	redis_do("SET %s %s", key,
		 HARNESS_TENANT " open 0 c-9 mw-two " CALLER);
	d = router_harness_call_new_src(&h, "leg-1", "x",
					"conf-0123456789abcdef0123456789abcdef",
					"worker");
	cr_assert_not_null(d);
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA,
		     "%u %s", d->sip_code, d->reason);
	cr_assert_str_eq(d->media_uri, HARNESS_WORKER_URI);
	cr_assert_str_eq(d->alt_media_uri, "", "a leg has no fallback");
	assert_field("leg-1", "cof", "mw-two");
	router_harness_settle(&h, 100);
	cr_assert_eq(pbx_key_sys(key, sizeof(key), "wcalls:%s", "mw-two"), 0);
	snprintf(member, sizeof(member), "%s leg-1", HARNESS_TENANT);
	{
		redisReply *r = redis_fixture_cmd(&h.rf, "SISMEMBER %s %s",
						  key, member);

		cr_assert(r && r->type == REDIS_REPLY_INTEGER &&
				  r->integer == 1,
			  "not indexed under its caller's worker");
		freeReplyObject(r);
	}

	seen = fake_peer_count(h.worker);
	route_reap_worker("mw-two", pbx_clock_now_ms(), h.rt);
	assert_hangup(conf_wait_cmd("leg-1", MC(HANGUP)), 480,
		      "Conference Caller Lost");
}

Test(route_media, conf_last_member_leaving_frees_the_rooms_worker)
{
	struct harness_event ev = {.kind = MEV(CONF_JOINED),
				   .conf_members = 1};
	const Pbx__V1__MediaCommand *c;
	char v[64];

	cr_assert_eq(router_harness_seed_object(&h, "conference", "open",
						"{\"max_members\":0}"),
		     0);
	start_call("c-1", open_conf_json);
	event("c-1", MEV(INCOMING), 0);
	c = cmd_at(expect_cmds(1), "c-1", MC(ANSWER));
	event("c-1", MEV(ANSWERED), c->seq);
	c = cmd_at(expect_cmds(1), "c-1", MC(CONF_JOIN));
	ev.seq = c->seq;
	event_ex("c-1", &ev);
	expect_cmds(0);
	conf_redis_field("open", PBX_K_CONF_ROOM, NULL, v, sizeof(v));
	cr_assert_str_eq(v, HARNESS_WORKER);
	event("c-1", MEV(HANGUP), 0);
	cr_assert(router_harness_call_gone(&h, "c-1", 2000));
	router_harness_settle(&h, 100);
	conf_redis_field("open", PBX_K_CONF_ROOM, NULL, v, sizeof(v));
	cr_assert_str_eq(v, "", "the empty room still names %s", v);
}

/* ---- crm (route_crm.c) --------------------------------------------------- */

static const char crm_json[] =
	"{\"start\":\"c\",\"nodes\":{"
	"\"c\":{\"type\":\"crm\",\"options\":{\"crm\":\"bitrix24\","
	"\"lookup_timeout\":2000,\"timeout\":15},"
	"\"outputs\":{\"not_found\":\"nf\",\"crm_error\":\"err\","
	"\"no_answer\":\"na\"}},"
	"\"nf\":{\"type\":\"hangup\",\"options\":{\"code\":404,"
	"\"reason\":\"Unknown Client\"}},"
	"\"err\":{\"type\":\"hangup\",\"options\":{\"code\":503,"
	"\"reason\":\"CRM Down\"}},"
	"\"na\":{\"type\":\"hangup\",\"options\":{\"code\":480,"
	"\"reason\":\"Owner Away\"}}}}";

/* Message i the fake crm-connector got, of body case kind. */
static const Pbx__V1__Envelope *crm_msg(size_t i,
					Pbx__V1__Envelope__BodyCase kind)
{
	const Pbx__V1__Envelope *env;

	cr_assert_gt(fake_peer_wait(h.crm, i + 1, 2000), i,
		     "crm-connector: no message %zu", i);
	env = fake_peer_msg(h.crm, i);
	cr_assert_eq(env->body_case, kind, "crm message %d", env->body_case);
	cr_assert_str_eq(env->tenant_id, HARNESS_TENANT);
	return env;
}

/* INCOMING of a crm call: the lookup goes out, the walk's own deadline
 * timer is armed on the worker; returns the timer's command. */
static const Pbx__V1__MediaCommand *crm_started(const char *call_id)
{
	const Pbx__V1__Envelope *env;
	const Pbx__V1__MediaCommand *c;

	start_call(call_id, crm_json);
	event(call_id, PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING, 0);
	c = cmd_at(expect_cmds(1), call_id, PBX__V1__MEDIA_COMMAND__CMD_TIMER);
	env = crm_msg(0, PBX__V1__ENVELOPE__BODY_CRM_LOOKUP);
	cr_assert_str_eq(env->call_id, call_id);
	cr_assert_str_eq(env->crm_lookup->crm, "bitrix24");
	cr_assert_str_eq(env->crm_lookup->caller, CALLER);
	cr_assert_eq(env->crm_lookup->timeout_ms, 2000);
	cr_assert_str_eq(env->crm_lookup->node, "c");
	return c;
}

static void crm_answer(const char *call_id, int kind, const char *ext,
		       const char *node)
{
	Pbx__V1__CrmResult res = PBX__V1__CRM_RESULT__INIT;

	res.kind = kind;
	res.extension = (char *)ext;
	res.crm_user = (char *)"17";
	res.node = (char *)node;
	cr_assert_eq(router_harness_crm_result(&h, call_id, &res), 0);
}

/* The owner rung answers, the caller hangs up: the call log that reaches
 * the connector (its second message, after the lookup). */
static const Pbx__V1__Envelope *
crm_owner_answered_then_hangup(const char *call_id)
{
	const Pbx__V1__Envelope *env;

	event_ex(call_id,
		 &(struct harness_event){
			 .kind = PBX__V1__MEDIA_EVENT__KIND__KIND_RING_RESULT,
			 .ring = PBX__V1__MEDIA_EVENT__RING_RESULT__RING_ANSWERED});
	expect_cmds(0);
	event(call_id, PBX__V1__MEDIA_EVENT__KIND__KIND_HANGUP, 0);
	env = crm_msg(1, PBX__V1__ENVELOPE__BODY_CRM_CALL_LOG);
	cr_assert_str_eq(env->call_id, call_id);
	return env;
}

Test(route_media, crm_owner_is_rung_and_the_call_logged_after_hangup)
{
	const Pbx__V1__MediaCommand *c;
	const Pbx__V1__Envelope *env;
	size_t i;

	cr_assert_eq(router_harness_crm_heartbeat(&h), 0);
	c = crm_started("c-1");
	cr_assert_eq(c->timer->ms, 2000);
	crm_answer("c-1", PBX__V1__CRM_RESULT__KIND__KIND_OWNER, "101", "c");
	/* The lookup timer goes, the owner rings (no answer of the caller
	 * first: early media, as a subscriber node). */
	i = expect_cmds(2);
	c = cmd_at(i, "c-1", PBX__V1__MEDIA_COMMAND__CMD_TIMER);
	cr_assert_eq(c->timer->ms, 0);
	c = cmd_at(i + 1, "c-1", PBX__V1__MEDIA_COMMAND__CMD_RING);
	cr_assert_str_eq(c->ring->target_uri, "sip:101@" HARNESS_DOMAIN);
	cr_assert_eq(c->ring->timeout_ms, 15000);
	env = crm_owner_answered_then_hangup("c-1");
	cr_assert_str_eq(env->crm_call_log->crm, "bitrix24");
	cr_assert_str_eq(env->crm_call_log->extension, "101");
	cr_assert_str_eq(env->crm_call_log->crm_user, "17");
	cr_assert_str_eq(env->crm_call_log->caller, CALLER);
	cr_assert(env->crm_call_log->answered);
	cr_assert_gt(env->crm_call_log->started_ms, 0);
	cr_assert(router_harness_call_gone(&h, "c-1", 2000));
}

/* The API's owner may be a phone number: rung through the tenant's trunk
 * as a subscriber node's external number, logged back as a number. */
Test(route_media, crm_owner_number_rings_external_and_is_logged)
{
	Pbx__V1__CrmResult res = PBX__V1__CRM_RESULT__INIT;
	const Pbx__V1__MediaCommand *c;
	const Pbx__V1__Envelope *env;
	size_t i;

	cr_assert_eq(router_harness_crm_heartbeat(&h), 0);
	crm_started("c-1");
	res.kind = PBX__V1__CRM_RESULT__KIND__KIND_OWNER;
	res.extension = (char *)"";
	res.number = (char *)"79035550000";
	res.node = (char *)"c";
	cr_assert_eq(router_harness_crm_result(&h, "c-1", &res), 0);
	i = expect_cmds(2);
	c = cmd_at(i + 1, "c-1", PBX__V1__MEDIA_COMMAND__CMD_RING);
	cr_assert_str_eq(c->ring->dest_kind, "external");
	cr_assert_str_eq(c->ring->target_uri,
			 "sip:+79035550000@" HARNESS_DOMAIN ";user=phone");
	cr_assert_str_eq(c->ring->caller_id, CALLER);
	cr_assert_eq(c->ring->timeout_ms, 15000);
	env = crm_owner_answered_then_hangup("c-1");
	cr_assert_str_eq(env->crm_call_log->number, "79035550000");
	cr_assert_str_eq(env->crm_call_log->extension, "");
	cr_assert(env->crm_call_log->answered);
	cr_assert(router_harness_call_gone(&h, "c-1", 2000));
	/* No phone number: no owner, the node's not_found. */
	fake_peer_clear(h.crm);
	crm_started("c-2");
	res.number = (char *)"12ab";
	cr_assert_eq(router_harness_crm_result(&h, "c-2", &res), 0);
	c = cmd_at(expect_cmds(2) + 1, "c-2", PBX__V1__MEDIA_COMMAND__CMD_HANGUP);
	assert_hangup(c, 404, "Unknown Client");
}

Test(route_media, crm_not_found_and_error_take_their_outputs)
{
	const Pbx__V1__MediaCommand *c;

	cr_assert_eq(router_harness_crm_heartbeat(&h), 0);
	crm_started("c-1");
	crm_answer("c-1", PBX__V1__CRM_RESULT__KIND__KIND_NOT_FOUND, "", "c");
	c = cmd_at(expect_cmds(2) + 1, "c-1",
		   PBX__V1__MEDIA_COMMAND__CMD_HANGUP);
	assert_hangup(c, 404, "Unknown Client");

	fake_peer_clear(h.crm);
	crm_started("c-2");
	crm_answer("c-2", PBX__V1__CRM_RESULT__KIND__KIND_ERROR, "", "c");
	c = cmd_at(expect_cmds(2) + 1, "c-2",
		   PBX__V1__MEDIA_COMMAND__CMD_HANGUP);
	assert_hangup(c, 503, "CRM Down");
}

Test(route_media, crm_deadline_timer_takes_crm_error_and_a_late_answer_is_ignored)
{
	const Pbx__V1__MediaCommand *c;
	uint32_t id;

	cr_assert_eq(router_harness_crm_heartbeat(&h), 0);
	c = crm_started("c-1");
	id = c->timer->id;
	/* The connector never answers: the worker's timer fires. */
	event_ex("c-1", &(struct harness_event){
				.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_TIMER,
				.timer_id = id});
	assert_hangup(cmd_at(expect_cmds(1), "c-1",
			     PBX__V1__MEDIA_COMMAND__CMD_HANGUP),
		      503, "CRM Down");
	/* Its answer after all: the call is past the node. */
	crm_answer("c-1", PBX__V1__CRM_RESULT__KIND__KIND_OWNER, "101", "c");
	router_harness_settle(&h, 100);
	expect_cmds(0);
}

Test(route_media, crm_without_a_live_connector_takes_crm_error_at_once)
{
	const Pbx__V1__MediaCommand *c;

	/* No heartbeat: no connector. The lookup timer is cut to 1 ms. */
	start_call("c-1", crm_json);
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING, 0);
	c = cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_TIMER);
	cr_assert_eq(c->timer->ms, 1);
	cr_assert_eq(fake_peer_count(h.crm), 0);
}

/* ---- call recording ---------------------------------------------------- */

/* A subscriber with record: RecordCall (the extension, the prompt) goes to
 * the worker before the Ring it is about. */
Test(route_media, subscriber_with_record_sends_record_call_before_the_ring)
{
	const Pbx__V1__MediaCommand *c;
	size_t i;

	start_call("c-1",
		   "{\"start\":\"r\",\"nodes\":{\"r\":{\"type\":\"subscriber\","
		   "\"options\":{\"kind\":\"internal\",\"target\":\"100\","
		   "\"record\":true,\"record_prompt\":\"recorded\"}}}}");
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING, 0);
	i = expect_cmds(2);
	c = cmd_at(i, "c-1", PBX__V1__MEDIA_COMMAND__CMD_RECORD_CALL);
	cr_assert_str_eq(c->record_call->extension, "100");
	cr_assert_str_eq(c->record_call->prompt, "recorded");
	c = cmd_at(i + 1, "c-1", PBX__V1__MEDIA_COMMAND__CMD_RING);
	cr_assert_str_eq(c->ring->target_uri, "sip:100@" HARNESS_DOMAIN);
}

/* Without record, a Ring alone (no recording). */
Test(route_media, subscriber_without_record_sends_no_record_call)
{
	ringing("c-1");
}

/* The scenario's own "record" with two channels: the subscriber's ring is
 * recorded in stereo with the document's announcement. */
Test(route_media, scenario_record_sends_a_two_channel_record_call)
{
	const Pbx__V1__MediaCommand *c;
	size_t i;

	start_call("c-1",
		   "{\"start\":\"r\",\"record\":true,\"record_channels\":2,"
		   "\"record_prompt\":\"recorded\",\"nodes\":{\"r\":{"
		   "\"type\":\"subscriber\",\"options\":{\"kind\":"
		   "\"internal\",\"target\":\"100\"}}}}");
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING, 0);
	i = expect_cmds(2);
	c = cmd_at(i, "c-1", PBX__V1__MEDIA_COMMAND__CMD_RECORD_CALL);
	cr_assert_str_eq(c->record_call->extension, "100");
	cr_assert_str_eq(c->record_call->queue, "");
	cr_assert_eq(c->record_call->channels, 2);
	cr_assert_str_eq(c->record_call->prompt, "recorded");
	cmd_at(i + 1, "c-1", PBX__V1__MEDIA_COMMAND__CMD_RING);
}

/* A queue node with record: RecordCall names the queue (the worker takes
 * the agent from the leg that answers) before the music. */
Test(route_media, queue_with_record_sends_record_call_before_the_music)
{
	const Pbx__V1__MediaCommand *c;
	size_t i;

	start_call("c-1", "{\"start\":\"q\",\"nodes\":{\"q\":{\"type\":"
			  "\"queue\",\"options\":{\"queue\":\"sales\","
			  "\"record\":true},\"outputs\":{\"timeout\":\"bye\"}},"
			  "\"bye\":{\"type\":\"hangup\"}}}");
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING, 0);
	c = cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_ANSWER);
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED, c->seq);
	i = expect_cmds(3);
	c = cmd_at(i, "c-1", PBX__V1__MEDIA_COMMAND__CMD_RECORD_CALL);
	cr_assert_str_eq(c->record_call->queue, "sales");
	cr_assert_str_eq(c->record_call->extension, "");
	cr_assert_eq(c->record_call->channels, 1);
	cmd_at(i + 1, "c-1", PBX__V1__MEDIA_COMMAND__CMD_QUEUE_HOLD);
	cmd_at(i + 2, "c-1", PBX__V1__MEDIA_COMMAND__CMD_TIMER);
}

/* ---- call records (route_cdr.c) ----------------------------------------- */

/* The newest call record of the tenant, once there are n of them (the
 * write follows the call's end asynchronously); the reply's entry array
 * [id, [field, value...]] (caller frees rr). */
static const redisReply *cdr_wait(redisReply **rr, size_t n)
{
	for (int i = 0; i < 200; i++) {
		*rr = redis_fixture_cmd(&h.rf, "XREVRANGE pbx:{acme}:cdr + -");
		cr_assert_not_null(*rr);
		if ((*rr)->type == REDIS_REPLY_ARRAY && (*rr)->elements >= n)
			break;
		freeReplyObject(*rr);
		*rr = NULL;
		router_harness_settle(&h, 10);
	}
	cr_assert_not_null(*rr, "no call record");
	cr_assert_eq((*rr)->elements, n, "%zu call records, want %zu",
		     (*rr)->elements, n);
	return (*rr)->element[0];
}

static const char *cdr_field(const redisReply *e, const char *name)
{
	const redisReply *f = e->element[1];

	for (size_t i = 0; i + 1 < f->elements; i += 2)
		if (!strcmp(f->element[i]->str, name))
			return f->element[i + 1]->str;
	cr_assert_fail("record has no %s", name);
	return NULL;
}

Test(route_media, cdr_of_a_menu_call_answered_by_an_extension)
{
	struct harness_event ev = {
		.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_DTMF, .digit = "2"};
	redisReply *rr;
	const redisReply *e;
	const char *tr;

	menu_waiting("c-1");
	event_ex("c-1", &ev);
	cmd_at(expect_cmds(2) + 1, "c-1", PBX__V1__MEDIA_COMMAND__CMD_RING);
	ring_result("c-1", PBX__V1__MEDIA_EVENT__RING_RESULT__RING_ANSWERED);
	expect_cmds(0);
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_HANGUP, 0);
	e = cdr_wait(&rr, 1);
	cr_assert_str_eq(cdr_field(e, "disposition"), "answered");
	cr_assert_str_eq(cdr_field(e, "answered_by"), "200");
	cr_assert_str_eq(cdr_field(e, "sip_code"), "200");
	cr_assert_str_eq(cdr_field(e, "caller"), CALLER);
	cr_assert_str_eq(cdr_field(e, "worker"), HARNESS_WORKER);
	cr_assert_str_eq(cdr_field(e, "call_id"), "c-1");
	cr_assert_str_eq(cdr_field(e, "scenario"), "main");
	cr_assert_str_eq(cdr_field(e, "truncated"), "0");
	cr_assert_neq(strtoull(cdr_field(e, "answer_ms"), NULL, 10), 0);
	cr_assert_neq(strtoull(cdr_field(e, "bridge_ms"), NULL, 10), 0);
	/* The path: the menu, the digit it took, the extension it rang. */
	tr = cdr_field(e, "trace");
	cr_assert(strstr(tr, " START m ivr "), "%s", tr);
	cr_assert(strstr(tr, " DTMF m ivr digit:2 digit:2\n"), "%s", tr);
	cr_assert(strstr(tr, " DTMF support subscriber "), "%s", tr);
	cr_assert(strstr(tr, " RING_RESULT support subscriber "), "%s", tr);
	cr_assert_lt(strstr(tr, "START"), strstr(tr, "DTMF"), "in order");
	freeReplyObject(rr);
}

Test(route_media, cdr_of_a_ring_nobody_answers_keeps_the_hangup_code)
{
	redisReply *rr;
	const redisReply *e;

	ringing("c-1");
	ring_result("c-1", PBX__V1__MEDIA_EVENT__RING_RESULT__RING_NO_ANSWER);
	expect_cmds(1);
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_ENDED, 0);
	e = cdr_wait(&rr, 1);
	cr_assert_str_eq(cdr_field(e, "disposition"), "no_answer");
	cr_assert_str_eq(cdr_field(e, "sip_code"), "480");
	cr_assert_str_eq(cdr_field(e, "reason"), "No Answer Here");
	cr_assert_str_eq(cdr_field(e, "answered_by"), "");
	cr_assert(strstr(cdr_field(e, "trace"),
			 " RING_RESULT ring subscriber no_answer"),
		  "%s", cdr_field(e, "trace"));
	freeReplyObject(rr);
	/* A second end of the same call (a late HANGUP) finds no record:
	 * still one CDR. */
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_HANGUP, 0);
	router_harness_settle(&h, 100);
	cr_assert_eq(router_harness_barrier(&h, 8), 0);
	cdr_wait(&rr, 1);
	freeReplyObject(rr);
}

Test(route_media, cdr_of_a_call_refused_at_once_has_its_path)
{
	static const char closed_json[] =
		"{\"start\":\"x\",\"nodes\":{\"x\":{\"type\":\"hangup\","
		"\"options\":{\"code\":403,\"reason\":\"Closed\"}}}}";
	const Pbx__V1__RouteDecision *d;
	redisReply *rr;
	const redisReply *e;

	cr_assert_eq(router_harness_seed_call(&h, NUMBER, "main", closed_json),
		     0);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);
	d = router_harness_call_new(&h, "c-1", CALLER, NUMBER);
	cr_assert_not_null(d);
	cr_assert_eq(d->sip_code, 403);
	e = cdr_wait(&rr, 1);
	cr_assert_str_eq(cdr_field(e, "disposition"), "rejected");
	cr_assert_str_eq(cdr_field(e, "sip_code"), "403");
	cr_assert_str_eq(cdr_field(e, "reason"), "Closed");
	cr_assert_str_eq(cdr_field(e, "worker"), "");
	cr_assert_str_eq(cdr_field(e, "number"), NUMBER + 1); /* canonical */
	cr_assert(strstr(cdr_field(e, "trace"), "0 START x hangup "), "%s",
		  cdr_field(e, "trace"));
	freeReplyObject(rr);
}

Test(route_media, cdr_of_a_caller_who_hangs_up_during_the_greeting)
{
	redisReply *rr;
	const redisReply *e;

	start_call("c-1", greeting_json);
	answer_and_play("c-1", "hello", false);
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_HANGUP, 0);
	e = cdr_wait(&rr, 1);
	cr_assert_str_eq(cdr_field(e, "disposition"), "caller_hangup");
	cr_assert_str_eq(cdr_field(e, "sip_code"), "200");
	cr_assert_str_eq(cdr_field(e, "outcome"), "");
	freeReplyObject(rr);
}

Test(route_media, cdr_of_a_long_call_keeps_the_start_of_its_path_and_says_so,
     .timeout = 20)
{
	static const char loop_json[] =
		"{\"start\":\"m\",\"nodes\":{"
		"\"m\":{\"type\":\"ivr\",\"options\":{\"prompt\":\"menu\","
		"\"timeout\":5,\"retries\":0},"
		"\"outputs\":{\"digit:1\":\"m\",\"timeout\":\"to\"}},"
		"\"to\":{\"type\":\"hangup\"}}}";
	struct harness_event ev = {
		.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_DTMF, .digit = "1"};
	redisReply *rr;
	const redisReply *e;
	const char *tr;
	size_t steps = 0;

	start_call("c-1", loop_json);
	answer_and_play("c-1", "menu", true);
	/* A caller going round the menu for a long time: more hops than
	 * a record keeps. */
	for (int i = 0; i < 120; i++) {
		event_ex("c-1", &ev);
		cr_assert_eq(router_harness_barrier(&h, 8), 0);
		/* The worker stays alive (a slow run must not reap it). */
		if (i % 10 == 9)
			cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false),
				     0);
	}
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_HANGUP, 0);
	e = cdr_wait(&rr, 1);
	tr = cdr_field(e, "trace");
	cr_assert_str_eq(cdr_field(e, "truncated"), "1");
	cr_assert_lt(strlen(tr), PBX_CDR_TRACE_MAX);
	cr_assert_eq(strstr(tr, " START m ivr "), strchr(tr, ' '),
		     "the path starts at the start: %.80s", tr);
	for (const char *p = tr; (p = strchr(p, '\n')); p++)
		steps++;
	cr_assert_gt(steps, 40, "%zu hops kept", steps);
	cr_assert_eq(tr[strlen(tr) - 1], '\n', "whole lines only");
	cr_assert_str_eq(cdr_field(e, "disposition"), "caller_hangup",
			 "%s %s %s", cdr_field(e, "sip_code"),
			 cdr_field(e, "reason"), cdr_field(e, "outcome"));
	freeReplyObject(rr);
}

/* ---- the call-back exit ---------------------------------------------- */

static const char cb_queue[] =
	"{\"agents\":[\"101\"],\"callback_key\":\"3\",\"callback_window\":600,"
	"\"callback_retries\":1,\"callback_retry_interval\":10}";

/* The callback key: the confirmation (the caller stays queued), its end
 * hangs up, and the end of the call keeps the caller's place as a
 * call-back (Leave CALLBACK with its number, the number it dialled and
 * the queue's settings). An exit key stays an exit key. */
Test(route_media, queue_callback_key_confirms_then_the_place_is_kept)
{
	const Pbx__V1__MediaCommand *c;
	const Pbx__V1__QueueCommand *q;
	size_t i;

	cr_assert_eq(router_harness_qm_heartbeat(&h), 0);
	cr_assert_eq(router_harness_seed_object(&h, "queue", "sales", cb_queue),
		     0);
	queue_joined("c-1");
	assert_field("c-1", "qcb", "3,600,1,10,");
	event_ex("c-1", &(struct harness_event){
				.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_DTMF,
				.digit = "3"});
	c = cmd_at(expect_cmds(1), "c-1", PBX__V1__MEDIA_COMMAND__CMD_PLAY);
	cr_assert_str_eq(c->play->prompt, "q_callback_ok");
	cr_assert_not(c->play->barge_in);
	assert_field("c-1", "qcbon", "1");
	assert_field("c-1", "qwait", "1");
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_PLAY_DONE, c->seq);
	i = expect_cmds(1);
	assert_hangup(cmd_at(i, "c-1", PBX__V1__MEDIA_COMMAND__CMD_HANGUP), 200,
		      "call-back asked");
	event("c-1", PBX__V1__MEDIA_EVENT__KIND__KIND_ENDED, 0);
	q = qm_cmd(1, PBX__V1__QUEUE_COMMAND__CMD_LEAVE);
	cr_assert_eq(q->leave->reason,
		     PBX__V1__QUEUE_COMMAND__LEAVE__REASON__REASON_CALLBACK);
	cr_assert_str_eq(q->leave->digit, "3");
	cr_assert_str_eq(q->leave->callback_number, CALLER);
	cr_assert_str_eq(q->leave->callback_caller_id, "74951234567");
	cr_assert_eq(q->leave->callback_window_s, 600);
	cr_assert_eq(q->leave->callback_retries, 1);
	cr_assert_eq(q->leave->callback_retry_s, 10);
}

/* A call-back's Offer: the agent is called first (Originate), from the
 * caller's number; its answer rings the caller through the trunk; the
 * caller's answer and the end reach the queue-manager for the queued
 * call; a caller who is busy is a failed call-back and the agent is
 * hung up. */
static void callback_offer(uint32_t offer)
{
	Pbx__V1__QueueEvent qe = PBX__V1__QUEUE_EVENT__INIT;
	Pbx__V1__QueueEvent__Offer of = PBX__V1__QUEUE_EVENT__OFFER__INIT;
	char *agents[] = {(char *)"101"};
	char *kinds[] = {(char *)"extension"};

	of.queue = (char *)"sales";
	of.agents = agents;
	of.n_agents = 1;
	of.agent_kinds = kinds;
	of.n_agent_kinds = 1;
	of.offer = offer;
	of.timeout_ms = 15000;
	of.callback_number = (char *)CALLER;
	of.callback_caller_id = (char *)"74951234567";
	qe.ev_case = PBX__V1__QUEUE_EVENT__EV_OFFER;
	qe.offer = &of;
	cr_assert_eq(router_harness_qm_event(&h, "c-9", &qe), 0);
}

Test(route_media, queue_callback_calls_the_agent_then_the_caller)
{
	const Pbx__V1__MediaCommand *c;
	const Pbx__V1__QueueCommand *q;
	size_t i;

	cr_assert_eq(router_harness_seed_tenant(&h), 0);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);
	cr_assert_eq(router_harness_qm_heartbeat(&h), 0);
	callback_offer(4);
	c = cmd_at(expect_cmds(1), "cb4-c-9",
		   PBX__V1__MEDIA_COMMAND__CMD_ORIGINATE);
	cr_assert_str_eq(c->originate->target_uri, "sip:101@" HARNESS_DOMAIN);
	cr_assert_str_eq(c->originate->dest_kind, "extension");
	cr_assert_str_eq(c->originate->caller_id, CALLER);
	cr_assert_eq(c->originate->timeout_ms, 15000);
	assert_field("cb4-c-9", "qcall", "c-9");
	/* The agent answers: the caller's number through the trunk. */
	event("cb4-c-9", PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED, c->seq);
	c = cmd_at(expect_cmds(1), "cb4-c-9", PBX__V1__MEDIA_COMMAND__CMD_RING);
	cr_assert_str_eq(c->ring->target_uri,
			 "sip:+" CALLER "@" HARNESS_DOMAIN ";user=phone");
	cr_assert_str_eq(c->ring->dest_kind, "mobile");
	cr_assert_str_eq(c->ring->caller_id, "+74951234567");
	cr_assert_eq(c->ring->timeout_ms, 30000);
	event_ex("cb4-c-9", &(struct harness_event){
				    .kind = PBX__V1__MEDIA_EVENT__KIND__KIND_RING_RESULT,
				    .ring = PBX__V1__MEDIA_EVENT__RING_RESULT__RING_ANSWERED,
				    .seq = c->seq});
	q = qm_cmd(0, PBX__V1__QUEUE_COMMAND__CMD_AGENT_RESULT);
	cr_assert_str_eq(q->agent_result->agent, "101");
	cr_assert_eq(q->agent_result->offer, 4);
	cr_assert_eq(q->agent_result->result,
		     PBX__V1__QUEUE_COMMAND__AGENT_RESULT__RESULT__RESULT_ANSWERED);
	cr_assert_str_eq(fake_peer_msg(h.qm, 0)->call_id, "c-9");
	event("cb4-c-9", PBX__V1__MEDIA_EVENT__KIND__KIND_HANGUP, 0);
	q = qm_cmd(1, PBX__V1__QUEUE_COMMAND__CMD_AGENT_RESULT);
	cr_assert_eq(q->agent_result->result,
		     PBX__V1__QUEUE_COMMAND__AGENT_RESULT__RESULT__RESULT_HUNG_UP);
	cr_assert(router_harness_call_gone(&h, "cb4-c-9", 2000));

	/* The next try: the caller is busy. */
	callback_offer(5);
	c = cmd_at(expect_cmds(1), "cb5-c-9",
		   PBX__V1__MEDIA_COMMAND__CMD_ORIGINATE);
	event("cb5-c-9", PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED, c->seq);
	c = cmd_at(expect_cmds(1), "cb5-c-9", PBX__V1__MEDIA_COMMAND__CMD_RING);
	event_ex("cb5-c-9", &(struct harness_event){
				    .kind = PBX__V1__MEDIA_EVENT__KIND__KIND_RING_RESULT,
				    .ring = PBX__V1__MEDIA_EVENT__RING_RESULT__RING_BUSY,
				    .seq = c->seq});
	q = qm_cmd(2, PBX__V1__QUEUE_COMMAND__CMD_AGENT_RESULT);
	cr_assert_eq(q->agent_result->result,
		     PBX__V1__QUEUE_COMMAND__AGENT_RESULT__RESULT__RESULT_CALLBACK_FAILED);
	i = expect_cmds(1);
	cmd_at(i, "cb5-c-9", PBX__V1__MEDIA_COMMAND__CMD_HANGUP);
	event("cb5-c-9", PBX__V1__MEDIA_EVENT__KIND__KIND_ENDED, 0);
	cr_assert(router_harness_call_gone(&h, "cb5-c-9", 2000));
	router_harness_settle(&h, 100);
	cr_assert_eq(fake_peer_count(h.qm), 3, "nothing more for the qm");

	/* The agent does not answer: its miss. */
	callback_offer(6);
	cmd_at(expect_cmds(1), "cb6-c-9", PBX__V1__MEDIA_COMMAND__CMD_ORIGINATE);
	event_ex("cb6-c-9", &(struct harness_event){
				    .kind = PBX__V1__MEDIA_EVENT__KIND__KIND_HANGUP,
				    .ring = PBX__V1__MEDIA_EVENT__RING_RESULT__RING_NO_ANSWER});
	q = qm_cmd(3, PBX__V1__QUEUE_COMMAND__CMD_AGENT_RESULT);
	cr_assert_eq(q->agent_result->result,
		     PBX__V1__QUEUE_COMMAND__AGENT_RESULT__RESULT__RESULT_NO_ANSWER);
	cr_assert_eq(q->agent_result->offer, 6);
}
