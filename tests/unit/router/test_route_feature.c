/* Feature codes through a real router in-process (route_feature.c and
 * its callers in route_call.c, route_ctx.c, route_media.c): a fake edge
 * sends CallNew for "*NN" from an extension (or a trunk), a fake worker
 * and a fake queue-manager get what the router sends, the call state is
 * in a real redis-server. Asserts the SIP answers (unknown code, not an
 * extension), the VmAccess command at INCOMING (own box named like the
 * extension for *97, none for *98), the agent state the queue-manager
 * gets for *45 / *46 and their confirmation prompt and hang-up. The
 * parsing of the dialled user is tested without the router. The setting
 * codes (*78 do-not-disturb, forwarding) store the caller's fields and
 * play their confirmation. */
#include <criterion/criterion.h>
#include <string.h>

#include "pbx_keys.h"
#include "pbx_test.h"
#include "route_ctx.h"
#include "router_harness.h"

#define EXT "201"

static struct router_harness h;

static void setup(void)
{
	cr_assert_eq(router_harness_start(&h), 0, "router harness");
	cr_assert_eq(router_harness_seed_tenant(&h), 0);
	cr_assert_eq(router_harness_heartbeat(&h, 10, 0, false), 0);
}

static void teardown(void)
{
	router_harness_stop(&h);
	pbx_test_fini();
}

TestSuite(route_feature, .init = setup, .fini = teardown, .timeout = 10);

Test(route_feature_code, star_codes_and_their_escaped_form)
{
	char code[24];

	static const struct {
		const char *user, *code;
	} codes[] = {
		{"*97", "97"},
		{"%2A98", "98"},
		{"%2a45", "45"},
		/* A star, but no well-formed code: a code, and unknown. */
		{"*", ""},
		{"*9a", ""},
		{"*7289161234567", "7289161234567"},
		{"*12345678901234567890123", ""},
	};

	for (size_t i = 0; i < sizeof(codes) / sizeof(*codes); i++) {
		cr_assert(route_feature_code(codes[i].user, code, sizeof(code)),
			  "%s", codes[i].user);
		cr_assert_str_eq(code, codes[i].code, "%s", codes[i].user);
	}
	/* Numbers are no codes. */
	cr_assert_not(route_feature_code("97", code, sizeof(code)));
	cr_assert_not(route_feature_code("+74951234567", code, sizeof(code)));
	cr_assert_not(route_feature_code(NULL, code, sizeof(code)));
	cr_assert(route_feature_known("97"));
	cr_assert(route_feature_known("46"));
	cr_assert_not(route_feature_known("99"));
	cr_assert_not(route_feature_known(""));
}

static const Pbx__V1__RouteDecision *dial(const char *call_id,
					  const char *to)
{
	const Pbx__V1__RouteDecision *d =
		router_harness_call_new_ext(&h, call_id, EXT, to,
					    HARNESS_TENANT);

	cr_assert_not_null(d, "no RouteDecision");
	return d;
}

static void assert_reject(const Pbx__V1__RouteDecision *d, unsigned code,
			  const char *reason)
{
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_REJECT,
		     "action %d", d->action);
	cr_assert_eq(d->sip_code, code, "code %u", d->sip_code);
	cr_assert_str_eq(d->reason, reason);
}

#define KIND(k) PBX__V1__MEDIA_EVENT__KIND__KIND_##k

/* The fake worker reports kind (of command seq) for call_id. */
static void event(const char *call_id, Pbx__V1__MediaEvent__Kind kind,
		  uint64_t seq)
{
	struct harness_event ev = {.kind = kind, .seq = seq};

	cr_assert_eq(router_harness_event(&h, call_id, &ev), 0);
}

/* The last MediaCommand for call_id (waits for the n-th message). */
static const Pbx__V1__MediaCommand *worker_cmd(size_t n, const char *call_id)
{
	const Pbx__V1__Envelope *env;

	cr_assert_geq(fake_peer_wait(h.worker, n, 2000), n,
		      "worker got no command %zu", n);
	env = fake_peer_msg(h.worker, n - 1);
	cr_assert_eq(env->body_case, PBX__V1__ENVELOPE__BODY_MEDIA_COMMAND);
	cr_assert_str_eq(env->tenant_id, HARNESS_TENANT);
	cr_assert_str_eq(env->call_id, call_id);
	return env->media_command;
}

Test(route_feature, unknown_codes_and_callers_that_are_no_extension)
{
	const Pbx__V1__RouteDecision *d;

	assert_reject(dial("c-1", "*99"), 404, "Unknown feature code");
	assert_reject(dial("c-2", "*9x"), 404, "Unknown feature code");
	assert_reject(dial("c-3", "*"), 404, "Unknown feature code");
	/* From a trunk a star code is no number at all. */
	d = router_harness_call_new(&h, "c-4", "79031112233", "*97");
	cr_assert_not_null(d);
	assert_reject(d, 404, "Not Found");
	cr_assert_eq(router_harness_call_count(&h), 0);
	cr_assert_eq(fake_peer_count(h.worker), 0);
}

Test(route_feature, own_voicemail_starts_vm_access_on_the_worker)
{
	const Pbx__V1__RouteDecision *d = dial("c-1", "*97");
	const Pbx__V1__MediaCommand *c;
	char v[64];

	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA,
		     "action %d (%u %s)", d->action, d->sip_code, d->reason);
	cr_assert_str_eq(d->worker_id, HARNESS_WORKER);
	cr_assert_eq(router_harness_call_field(&h, "c-1", "scenario", v,
					       sizeof(v)),
		     0);
	cr_assert_str_eq(v, "@fc:97");
	event("c-1", KIND(INCOMING), 0);
	c = worker_cmd(1, "c-1");
	cr_assert_eq(c->cmd_case, PBX__V1__MEDIA_COMMAND__CMD_VM_ACCESS,
		     "case %d", c->cmd_case);
	/* The box named like the extension, as MWI has it. */
	cr_assert_str_eq(c->vm_access->box, EXT);
	cr_assert(c->vm_access->own);

	/* The worker's ANSWERED is its own business: no command. */
	event("c-1", KIND(ANSWERED), 0);
	cr_assert_eq(router_harness_barrier(&h, 8), 0);
	cr_assert_eq(fake_peer_count(h.worker), 1);
	/* The worker ends it: the state goes. */
	event("c-1", KIND(ENDED), 0);
	cr_assert(router_harness_call_gone(&h, "c-1", 2000));
}

Test(route_feature, any_box_asks_for_the_number_and_a_failure_ends_it)
{
	const Pbx__V1__RouteDecision *d = dial("c-1", "%2A98");
	const Pbx__V1__MediaCommand *c;

	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA);
	event("c-1", KIND(INCOMING), 0);
	c = worker_cmd(1, "c-1");
	cr_assert_eq(c->cmd_case, PBX__V1__MEDIA_COMMAND__CMD_VM_ACCESS);
	cr_assert_str_eq(c->vm_access->box, "");
	cr_assert_not(c->vm_access->own);
	/* The worker could not start it: hung up, nobody left in silence. */
	event("c-1", KIND(FAILED), 0);
	c = worker_cmd(2, "c-1");
	cr_assert_eq(c->cmd_case, PBX__V1__MEDIA_COMMAND__CMD_HANGUP);
}

static void agent_code(const char *code, int action, const char *prompt)
{
	const Pbx__V1__RouteDecision *d;
	const Pbx__V1__MediaCommand *c;
	const Pbx__V1__Envelope *env;
	size_t n;

	cr_assert_eq(router_harness_qm_heartbeat(&h), 0);
	d = dial("c-1", code);
	cr_assert_eq(d->action, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA,
		     "action %d (%u %s)", d->action, d->sip_code, d->reason);
	cr_assert_geq(fake_peer_wait(h.qm, 1, 2000), 1, "no agent command");
	env = fake_peer_msg(h.qm, 0);
	cr_assert_eq(env->body_case, PBX__V1__ENVELOPE__BODY_QUEUE_COMMAND);
	cr_assert_str_eq(env->tenant_id, HARNESS_TENANT);
	cr_assert_eq(env->queue_command->cmd_case,
		     PBX__V1__QUEUE_COMMAND__CMD_AGENT_STATE);
	cr_assert_str_eq(env->queue_command->agent_state->agent, EXT);
	cr_assert_eq((int)env->queue_command->agent_state->action, action);

	/* The confirmation: answer, the prompt, the hang-up. */
	event("c-1", KIND(INCOMING), 0);
	c = worker_cmd(1, "c-1");
	cr_assert_eq(c->cmd_case, PBX__V1__MEDIA_COMMAND__CMD_ANSWER);
	event("c-1", KIND(ANSWERED), 0);
	c = worker_cmd(2, "c-1");
	cr_assert_eq(c->cmd_case, PBX__V1__MEDIA_COMMAND__CMD_PLAY);
	cr_assert_str_eq(c->play->prompt, prompt);
	event("c-1", KIND(PLAY_DONE), c->seq);
	c = worker_cmd(3, "c-1");
	cr_assert_eq(c->cmd_case, PBX__V1__MEDIA_COMMAND__CMD_HANGUP);
	n = fake_peer_count(h.qm);
	cr_assert_eq(n, 1, "queue-manager got %zu commands", n);
}

Test(route_feature, agent_login_reaches_the_queue_manager_then_a_prompt)
{
	agent_code("*45",
		   PBX__V1__QUEUE_COMMAND__AGENT_STATE__ACTION__ACTION_LOGIN,
		   "fc_agent_login");
}

Test(route_feature, agent_logout_reaches_the_queue_manager_then_a_prompt)
{
	agent_code("*46",
		   PBX__V1__QUEUE_COMMAND__AGENT_STATE__ACTION__ACTION_LOGOUT,
		   "fc_agent_logout");
}

Test(route_feature, agent_code_without_a_queue_manager_is_refused)
{
	assert_reject(dial("c-1", "*45"), 503, "No Queue Manager");
	cr_assert_eq(router_harness_call_count(&h), 0);
}

/* The caller's field <name> of the tenant's settings ("" unset). */
static void ext_field(const char *name, char *out, size_t size)
{
	char key[PBX_KEY_MAX];
	redisReply *r;

	cr_assert_eq(pbx_key_of(key, sizeof(key), HARNESS_TENANT,
				PBX_K_OUTBOUND),
		     0);
	r = redis_fixture_cmd(&h.rf, "HGET %s ext:" EXT ":%s", key, name);
	cr_assert_not_null(r);
	snprintf(out, size, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
	freeReplyObject(r);
}

/* call_id is placed with scenario want and plays prompt. */
static void confirms(const char *call_id, const char *want,
		     const char *prompt, size_t n0)
{
	const Pbx__V1__MediaCommand *c;
	char v[64];

	cr_assert_eq(router_harness_call_field(&h, call_id, "scenario", v,
					       sizeof(v)),
		     0);
	cr_assert_str_eq(v, want);
	event(call_id, KIND(INCOMING), 0);
	c = worker_cmd(n0 + 1, call_id);
	cr_assert_eq(c->cmd_case, PBX__V1__MEDIA_COMMAND__CMD_ANSWER);
	event(call_id, KIND(ANSWERED), 0);
	c = worker_cmd(n0 + 2, call_id);
	cr_assert_eq(c->cmd_case, PBX__V1__MEDIA_COMMAND__CMD_PLAY);
	cr_assert_str_eq(c->play->prompt, prompt);
}

/* call_id dials code: placed, the caller's field is want afterwards. */
static void sets(const char *call_id, const char *code, const char *field,
		 const char *want)
{
	char v[40];

	cr_assert_eq(dial(call_id, code)->action,
		     PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA);
	ext_field(field, v, sizeof(v));
	cr_assert_str_eq(v, want, "%s: %s", code, field);
}

Test(route_feature, star78_toggles_do_not_disturb_with_its_prompt)
{
	sets("c-1", "*78", "dnd", "1");
	confirms("c-1", "@fc:78:1", "fc_dnd_on", 0);
	sets("c-2", "*78", "dnd", "0");
	confirms("c-2", "@fc:78:0", "fc_dnd_off", 2);
}

Test(route_feature, forwarding_codes_store_the_canonical_number)
{
	char v[40];

	sets("c-1", "*9289161234567", "fwd_noanswer", "79161234567");
	confirms("c-1", "@fc:92", "fc_fwd_on", 0);
	sets("c-2", "*93", "fwd_noanswer", "");
	/* No number, or the extension itself: refused, nothing stored. */
	assert_reject(dial("c-3", "*72"), 484,
		      "Address Incomplete (number missing)");
	assert_reject(dial("c-4", "*72" EXT), 403,
		      "Forbidden (forwarding to itself)");
	ext_field("fwd_always", v, sizeof(v));
	cr_assert_str_eq(v, "");
}
