/* Scenario walk: what a call does at each event, node type by node type,
 * driven through the public step function exactly as the router and the
 * simulator drive it. */
#include <errno.h>

#include "scen_test.h"
#include "scenario_internal.h"

static struct scenario *sc;
static struct scenario_objects *objs;
static struct walk_state st;
static struct walk_actions out;
static struct walk_ctx ctx;

static void setup(void)
{
	cr_assert_eq(scenario_objects_alloc(&objs), 0);
	scenario_walk_init(&st);
	memset(&ctx, 0, sizeof(ctx));
	ctx.objs = objs;
	ctx.caller = "79161234567";
	ctx.now_ms = scen_utc(2026, 6, 17, 9, 0); /* Wed 12:00 Moscow */
}

static void done(void)
{
	scenario_free(sc);
	sc = NULL;
	scenario_objects_free(objs);
	objs = NULL;
	pbx_test_fini();
}

TestSuite(scenario_walk, .init = setup, .fini = done);

/* Objects take part in lint only once the test added some, so a test can
 * also walk a scenario whose objects were deleted after it was saved. */
static void load(const char *sq)
{
	sc = scen_load(sq, scenario_objects_count(objs) ? objs : NULL);
}

static int ev(enum walk_event_kind kind)
{
	struct walk_event e = {.kind = kind};

	return scenario_walk_step(sc, &ctx, &st, &e, &out);
}

static int dtmf(char d)
{
	struct walk_event e = {.kind = WALK_EV_DTMF, .digit = d};

	return scenario_walk_step(sc, &ctx, &st, &e, &out);
}

static int ring(enum walk_ring_result r)
{
	struct walk_event e = {.kind = WALK_EV_RING_RESULT, .ring = r};

	return scenario_walk_step(sc, &ctx, &st, &e, &out);
}

/* Fires the timer the last actions armed. */
static int fire(void)
{
	const struct walk_action *t = NULL;
	struct walk_event e = {.kind = WALK_EV_TIMER};

	for (size_t i = 0; i < out.n; i++) {
		if (out.act[i].kind == WALK_ACT_TIMER && out.act[i].timer.ms)
			t = &out.act[i];
	}
	cr_assert_not_null(t, "no timer armed");
	e.timer_id = t->timer.id;
	return scenario_walk_step(sc, &ctx, &st, &e, &out);
}

static const struct walk_action *act(enum walk_act_kind kind)
{
	const struct walk_action *a = scen_act(&out, kind);

	cr_assert_not_null(a, "no %s action (n=%zu, first %s)",
			   scenario_walk_act_name(kind), out.n,
			   out.n ? scenario_walk_act_name(out.act[0].kind)
				 : "-");
	return a;
}

/* ---- greeting / hangup ---- */

Test(scenario_walk, greeting_answers_plays_then_follows_next_to_hangup)
{
	load("{'start':'greet','nodes':{"
	     "'greet':{'type':'greeting','options':{'prompt':'welcome'},"
	     "'outputs':{'next':'bye'}},"
	     "'bye':{'type':'hangup','options':{'code':486}}}}");
	cr_assert_eq(ev(WALK_EV_START), 0);
	act(WALK_ACT_ANSWER);
	cr_assert_str_eq(st.node, "greet");
	cr_assert_eq(ev(WALK_EV_ANSWERED), 0);
	cr_assert_str_eq(act(WALK_ACT_PLAY)->play.prompt, "welcome");
	cr_assert_not(act(WALK_ACT_PLAY)->play.barge_in);
	cr_assert_eq(ev(WALK_EV_PLAY_DONE), 0);
	cr_assert_eq(act(WALK_ACT_HANGUP)->end.code, 486);
	cr_assert_str_eq(st.node, "bye");
	cr_assert(out.ended);
}

Test(scenario_walk, hangup_first_rejects_with_its_code_or_cause)
{
	load("{'start':'h','nodes':{'h':{'type':'hangup','options':{"
	     "'code':486,'reason':'Busy Here'}}}}");
	ev(WALK_EV_START);
	cr_assert_eq(act(WALK_ACT_REJECT)->end.code, 486);
	cr_assert_str_eq(act(WALK_ACT_REJECT)->end.reason, "Busy Here");
	cr_assert_str_eq(out.outcome, "rejected");
	scenario_free(sc);
	load("{'start':'h','nodes':{'h':{'type':'hangup','options':{"
	     "'cause':'unavailable'}}}}");
	ev(WALK_EV_START);
	cr_assert_eq(act(WALK_ACT_REJECT)->end.code, 480);
	cr_assert_str_eq(act(WALK_ACT_REJECT)->end.reason,
			 "Temporarily Unavailable");
}

Test(scenario_walk, hangup_without_code_declines_with_603)
{
	load("{'start':'h','nodes':{'h':{'type':'hangup'}}}");
	ev(WALK_EV_START);
	cr_assert_eq(act(WALK_ACT_REJECT)->end.code, 603);
}

Test(scenario_walk, greeting_without_next_ends_answered_call)
{
	load("{'start':'g','nodes':{'g':{'type':'greeting','options':{"
	     "'prompt':'p'}}}}");
	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
	ev(WALK_EV_PLAY_DONE);
	act(WALK_ACT_HANGUP);
	cr_assert(out.ended);
}

Test(scenario_walk, events_after_the_end_do_nothing)
{
	load("{'start':'h','nodes':{'h':{'type':'hangup'}}}");
	ev(WALK_EV_START);
	cr_assert_eq(ev(WALK_EV_PLAY_DONE), 0);
	cr_assert_eq(out.n, 0);
	cr_assert(out.ended);
}

/* ---- subscriber ---- */

static const char sub_doc[] =
	"{'start':'s','nodes':{"
	"'s':{'type':'subscriber','options':{'kind':'mobile','target':"
	"'8 916 000-11-22','timeout':20,'caller_id':'74950001122'},"
	"'outputs':{'busy':'b','next':'n'}},"
	"'b':{'type':'hangup','options':{'code':486}},"
	"'n':{'type':'hangup','options':{'code':480}}}}";

Test(scenario_walk, subscriber_rings_with_timeout_and_caller_id)
{
	const struct walk_action *r;

	load(sub_doc);
	ev(WALK_EV_START);
	r = act(WALK_ACT_RING);
	cr_assert_eq(r->ring.dest, WALK_DEST_MOBILE);
	cr_assert_str_eq(r->ring.target, "8 916 000-11-22");
	cr_assert_eq(r->ring.timeout_ms, 20000);
	cr_assert_str_eq(r->ring.caller_id, "74950001122");
	cr_assert_not(scen_act(&out, WALK_ACT_ANSWER));
}

Test(scenario_walk, subscriber_answered_ends_the_walk_there)
{
	load(sub_doc);
	ev(WALK_EV_START);
	ring(WALK_RING_ANSWERED);
	cr_assert_eq(out.n, 0);
	cr_assert(out.ended);
	cr_assert_str_eq(out.outcome, "answered");
	cr_assert(st.answered);
}

Test(scenario_walk, subscriber_busy_takes_busy_output)
{
	load(sub_doc);
	ev(WALK_EV_START);
	ring(WALK_RING_BUSY);
	cr_assert_eq(act(WALK_ACT_REJECT)->end.code, 486);
	cr_assert_str_eq(st.node, "b");
}

Test(scenario_walk, subscriber_no_answer_and_unavailable_fall_back_to_next)
{
	load(sub_doc);
	ev(WALK_EV_START);
	ring(WALK_RING_NO_ANSWER);
	cr_assert_str_eq(st.node, "n");
	cr_assert_str_eq(out.hop[0].what, "no_answer");
	cr_assert_str_eq(out.hop[0].output, "next");
	ev(WALK_EV_START);
	ring(WALK_RING_UNAVAILABLE);
	cr_assert_str_eq(st.node, "n");
}

Test(scenario_walk, subscriber_leg_that_fails_counts_as_unavailable)
{
	load(sub_doc);
	ev(WALK_EV_START);
	ev(WALK_EV_FAILED);
	cr_assert_str_eq(st.node, "n");
}

Test(scenario_walk, subscriber_without_timeout_or_outputs_is_an_end_point)
{
	const struct walk_action *r;

	load("{'start':'s','nodes':{'s':{'type':'subscriber','options':{"
	     "'kind':'internal','target':'101'}}}}");
	ev(WALK_EV_START);
	r = act(WALK_ACT_RING);
	cr_assert_eq(r->ring.timeout_ms, 0);
	cr_assert_eq(r->ring.dest, WALK_DEST_EXTENSION);
	ring(WALK_RING_BUSY);
	cr_assert_eq(act(WALK_ACT_REJECT)->end.code, 486);
	ev(WALK_EV_START);
	ring(WALK_RING_UNAVAILABLE);
	cr_assert_eq(act(WALK_ACT_REJECT)->end.code, 480);
}

Test(scenario_walk, ring_result_while_not_ringing_is_ignored)
{
	load("{'start':'g','nodes':{'g':{'type':'greeting','options':{"
	     "'prompt':'p'}}}}");
	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
	cr_assert_eq(ring(WALK_RING_BUSY), 0);
	cr_assert_eq(out.n, 0);
	cr_assert_str_eq(st.node, "g");
}

/* ---- ivr ---- */

static const char menu_doc[] =
	"{'start':'m','nodes':{"
	"'m':{'type':'ivr','options':{'prompt':'menu','timeout':5,"
	"'retries':1,'invalid_prompt':'bad','extension_dialing':true,"
	"'extension_digits':'5','extension_max_len':3,"
	"'inter_digit_ms':1500,'extension_timeout':25},"
	"'outputs':{'digit:1':'sales','digit:#':'op','timeout':'to',"
	"'invalid':'inv','extension':'ext'}},"
	"'sales':{'type':'hangup','options':{'code':601}},"
	"'op':{'type':'hangup','options':{'code':602}},"
	"'to':{'type':'hangup','options':{'code':603}},"
	"'inv':{'type':'hangup','options':{'code':604}},"
	"'ext':{'type':'hangup','options':{'code':605}}}}";

static void menu(void)
{
	load(menu_doc);
	ev(WALK_EV_START);
	act(WALK_ACT_ANSWER);
	ev(WALK_EV_ANSWERED);
	cr_assert(act(WALK_ACT_PLAY)->play.barge_in);
	cr_assert_str_eq(act(WALK_ACT_PLAY)->play.prompt, "menu");
	cr_assert_eq(out.listen, WALK_LISTEN_DTMF);
}

Test(scenario_walk, ivr_digit_during_prompt_takes_its_output)
{
	menu();
	dtmf('1');
	cr_assert_eq(act(WALK_ACT_HANGUP)->end.code, 601);
	cr_assert_str_eq(out.hop[0].output, "digit:1");
}

Test(scenario_walk, ivr_hash_can_be_a_choice)
{
	menu();
	ev(WALK_EV_PLAY_DONE);
	dtmf('#');
	cr_assert_eq(act(WALK_ACT_HANGUP)->end.code, 602);
	/* The input timer armed after the prompt is cancelled. */
	cr_assert_eq(act(WALK_ACT_TIMER)->timer.ms, 0);
}

Test(scenario_walk, ivr_input_timer_starts_when_prompt_ends)
{
	menu();
	cr_assert_null(scen_act(&out, WALK_ACT_TIMER));
	ev(WALK_EV_PLAY_DONE);
	cr_assert_eq(act(WALK_ACT_TIMER)->timer.ms, 5000);
}

Test(scenario_walk, ivr_timeout_replays_menu_then_takes_timeout)
{
	menu();
	ev(WALK_EV_PLAY_DONE);
	fire();
	cr_assert_str_eq(act(WALK_ACT_PLAY)->play.prompt, "menu");
	cr_assert_eq(st.tries, 1);
	ev(WALK_EV_PLAY_DONE);
	fire();
	cr_assert_eq(act(WALK_ACT_HANGUP)->end.code, 603);
}

Test(scenario_walk, ivr_invalid_plays_invalid_prompt_then_takes_invalid)
{
	menu();
	dtmf('7');
	cr_assert_str_eq(act(WALK_ACT_PLAY)->play.prompt, "bad");
	ev(WALK_EV_PLAY_DONE);
	cr_assert_str_eq(act(WALK_ACT_PLAY)->play.prompt, "menu");
	dtmf('9');
	cr_assert_eq(act(WALK_ACT_HANGUP)->end.code, 604);
}

Test(scenario_walk, ivr_stale_timer_is_ignored)
{
	uint32_t first;

	menu();
	ev(WALK_EV_PLAY_DONE);
	first = act(WALK_ACT_TIMER)->timer.id;
	fire(); /* replay: timer gone */
	{
		struct walk_event e = {.kind = WALK_EV_TIMER,
				       .timer_id = first};

		cr_assert_eq(scenario_walk_step(sc, &ctx, &st, &e, &out), 0);
	}
	cr_assert_eq(out.n, 0);
	cr_assert_eq(st.tries, 1);
}

Test(scenario_walk, ivr_extension_dialing_rings_at_max_length)
{
	const struct walk_action *r;

	menu();
	dtmf('5');
	cr_assert_eq(act(WALK_ACT_TIMER)->timer.ms, 1500);
	dtmf('0');
	dtmf('2');
	r = act(WALK_ACT_RING);
	cr_assert_str_eq(r->ring.target, "502");
	cr_assert_eq(r->ring.dest, WALK_DEST_EXTENSION);
	cr_assert_eq(r->ring.timeout_ms, 25000);
	ring(WALK_RING_ANSWERED);
	cr_assert(out.ended);
	cr_assert_str_eq(out.outcome, "answered");
}

Test(scenario_walk, ivr_extension_dialing_ends_on_inter_digit_timeout)
{
	menu();
	dtmf('5');
	dtmf('1');
	fire();
	cr_assert_str_eq(act(WALK_ACT_RING)->ring.target, "51");
}

Test(scenario_walk, ivr_extension_dialing_ends_on_hash)
{
	menu();
	dtmf('5');
	dtmf('3');
	dtmf('#');
	cr_assert_str_eq(act(WALK_ACT_RING)->ring.target, "53");
}

Test(scenario_walk, ivr_extension_too_short_is_invalid_input)
{
	menu();
	dtmf('5');
	fire(); /* one digit, minimum two */
	cr_assert_str_eq(act(WALK_ACT_PLAY)->play.prompt, "bad");
}

Test(scenario_walk, ivr_dialled_extension_not_answering_takes_extension)
{
	menu();
	dtmf('5');
	dtmf('0');
	dtmf('0');
	ring(WALK_RING_NO_ANSWER);
	cr_assert_eq(act(WALK_ACT_HANGUP)->end.code, 605);
}

Test(scenario_walk, ivr_without_barge_in_ignores_keys_during_prompt)
{
	load("{'start':'m','nodes':{'m':{'type':'ivr','options':{"
	     "'prompt':'p','barge_in':false},'outputs':{'digit:1':'h',"
	     "'timeout':'h'}},'h':{'type':'hangup'}}}");
	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
	dtmf('1');
	cr_assert_eq(out.n, 0);
	ev(WALK_EV_PLAY_DONE);
	dtmf('1');
	act(WALK_ACT_HANGUP);
}

/* "Press 1 for sales" beside extensions 1xx: digit 1 is a choice and
 * starts an extension; time decides. */
static const char sales_1xx_doc[] =
	"{'start':'m','nodes':{"
	"'m':{'type':'ivr','options':{'prompt':'menu','timeout':5,"
	"'retries':0,'extension_dialing':true,'extension_digits':'15',"
	"'extension_max_len':3,'inter_digit_ms':1500},"
	"'outputs':{'digit:1':'sales','digit:2':'support','timeout':'to',"
	"'extension':'ext'}},"
	"'sales':{'type':'hangup','options':{'code':601}},"
	"'support':{'type':'hangup','options':{'code':602}},"
	"'to':{'type':'hangup','options':{'code':603}},"
	"'ext':{'type':'hangup','options':{'code':605}}}}";

static void sales_menu(void)
{
	load(sales_1xx_doc);
	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
	act(WALK_ACT_PLAY);
}

Test(scenario_walk, ivr_choice_that_starts_an_extension_waits_then_is_taken)
{
	sales_menu();
	dtmf('1');
	/* Not taken yet: the inter-digit timer decides. */
	cr_assert_null(scen_act(&out, WALK_ACT_HANGUP));
	cr_assert_eq(act(WALK_ACT_TIMER)->timer.ms, 1500);
	cr_assert_eq(out.listen, WALK_LISTEN_DTMF);
	cr_assert_str_eq(out.hop[0].what, "choice_or_extension");
	fire();
	cr_assert_eq(act(WALK_ACT_HANGUP)->end.code, 601);
	cr_assert_str_eq(out.hop[0].what, "digit:1");
	cr_assert_str_eq(out.hop[0].output, "digit:1");
}

Test(scenario_walk, ivr_choice_that_starts_an_extension_then_more_digits_dials)
{
	sales_menu();
	dtmf('1');
	dtmf('0');
	cr_assert_null(scen_act(&out, WALK_ACT_HANGUP));
	cr_assert_eq(out.n, 2); /* the timer re-armed: cancel, start */
	cr_assert_eq(out.act[1].timer.ms, 1500);
	dtmf('1');
	cr_assert_str_eq(act(WALK_ACT_RING)->ring.target, "101");
	ring(WALK_RING_NO_ANSWER);
	cr_assert_eq(act(WALK_ACT_HANGUP)->end.code, 605);
}

Test(scenario_walk, ivr_choice_that_starts_an_extension_then_pause_dials_short)
{
	/* Two digits then a pause: an extension, never the choice. */
	sales_menu();
	dtmf('1');
	dtmf('2');
	fire();
	cr_assert_str_eq(act(WALK_ACT_RING)->ring.target, "12");
}

Test(scenario_walk, ivr_choice_that_starts_an_extension_then_hash_is_taken)
{
	sales_menu();
	dtmf('1');
	dtmf('#');
	cr_assert_eq(act(WALK_ACT_HANGUP)->end.code, 601);
	/* Its inter-digit timer is cancelled. */
	cr_assert_eq(act(WALK_ACT_TIMER)->timer.ms, 0);
}

Test(scenario_walk, ivr_choice_that_starts_no_extension_is_taken_at_once)
{
	sales_menu();
	ev(WALK_EV_PLAY_DONE);
	dtmf('2');
	cr_assert_eq(act(WALK_ACT_HANGUP)->end.code, 602);
	/* Only the cancel of the input timer: nothing new armed. */
	for (size_t i = 0; i < out.n; i++)
		cr_assert(out.act[i].kind != WALK_ACT_TIMER ||
			  out.act[i].timer.ms == 0);
}

/* The dry run drives the same walk: "--dtmf 1" ends on the choice once
 * the simulated clock fires the inter-digit timer, "--dtmf 101" on the
 * extension. */
Test(scenario_walk, ivr_choice_that_starts_an_extension_simulates_both_ways)
{
	static char text[8192];
	const char *one[] = {"1"}, *ext[] = {"101"};
	struct scenario_sim_input in = {.dtmf = one, .ndtmf = 1};
	struct scenario_sim_result res;

	load(sales_1xx_doc);
	cr_assert_eq(scenario_sim_run(sc, NULL, &in, text, sizeof(text), &res),
		     0);
	cr_assert_str_eq(res.path, "m > sales", "%s", text);
	cr_assert(strstr(res.outcome, "hung up with 601"), "%s", text);
	cr_assert(strstr(text, "choice_or_extension"), "%s", text);
	cr_assert(strstr(text, "[+1s] TIMER"), "%s", text);
	in.dtmf = ext;
	cr_assert_eq(scenario_sim_run(sc, NULL, &in, text, sizeof(text), &res),
		     0);
	cr_assert(strstr(res.outcome, "answered by extension 101"), "%s",
		  text);
}

Test(scenario_walk, ivr_choice_is_taken_at_once_when_dialing_is_off)
{
	load("{'start':'m','nodes':{'m':{'type':'ivr','options':{"
	     "'prompt':'p','extension_digits':'1'},'outputs':{'digit:1':"
	     "'h','timeout':'h'}},'h':{'type':'hangup','options':{"
	     "'code':601}}}}");
	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
	dtmf('1');
	cr_assert_eq(act(WALK_ACT_HANGUP)->end.code, 601);
}

Test(scenario_walk, ivr_choice_beats_a_one_digit_extension)
{
	load("{'start':'m','nodes':{'m':{'type':'ivr','options':{"
	     "'prompt':'p','extension_dialing':true,'extension_digits':"
	     "'1','extension_min_len':1,'extension_max_len':1},'outputs':{"
	     "'digit:1':'h','timeout':'h'}},'h':{'type':'hangup','options':"
	     "{'code':601}}}}");
	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
	dtmf('1');
	cr_assert_eq(act(WALK_ACT_HANGUP)->end.code, 601);
}

/* ---- schedule / list ---- */

static const char route_doc[] =
	"{'start':'vip','nodes':{"
	"'vip':{'type':'list','options':{'list':'vip'},'outputs':{"
	"'in_list':'boss','not_in_list':'hours'}},"
	"'hours':{'type':'schedule','options':{'schedule':'office'},"
	"'outputs':{'match':'open','no_match':'closed'}},"
	"'boss':{'type':'hangup','options':{'code':601}},"
	"'open':{'type':'hangup','options':{'code':602}},"
	"'closed':{'type':'hangup','options':{'code':603}}}}";

static void route_objects(void)
{
	scen_obj(objs, "list", "vip", "{'entries':['+7 916 123-45-67']}");
	scen_obj(objs, "schedule", "office",
		 "{'timezone':'Europe/Moscow','windows':[{'days':'mon-fri',"
		 "'from':'09:00','to':'18:00'}]}");
}

Test(scenario_walk, list_and_schedule_decide_without_waiting)
{
	route_objects();
	load(route_doc);
	ctx.caller = "89161234567";
	ev(WALK_EV_START);
	cr_assert_eq(act(WALK_ACT_REJECT)->end.code, 601);
	cr_assert_eq(out.nhops, 2);
	ctx.caller = "74951112233";
	ev(WALK_EV_START);
	cr_assert_eq(act(WALK_ACT_REJECT)->end.code, 602);
	ctx.now_ms = scen_utc(2026, 6, 17, 16, 0); /* 19:00 Moscow */
	ev(WALK_EV_START);
	cr_assert_eq(act(WALK_ACT_REJECT)->end.code, 603);
}

Test(scenario_walk, schedule_reads_the_clock_only_from_the_context)
{
	route_objects();
	load(route_doc);
	ctx.caller = "";
	ctx.now_ms = scen_utc(2026, 6, 20, 9, 0); /* Saturday */
	ev(WALK_EV_START);
	cr_assert_eq(act(WALK_ACT_REJECT)->end.code, 603);
}

Test(scenario_walk, deleted_objects_read_as_not_in_list_and_closed)
{
	load(route_doc); /* saved before the objects were deleted */
	ev(WALK_EV_START);
	cr_assert_eq(act(WALK_ACT_REJECT)->end.code, 603);
	cr_assert(strstr(out.hop[0].what, "list missing"));
	cr_assert(strstr(out.hop[1].what, "schedule missing"));
}

Test(scenario_walk, list_anonymous_policy_decides_for_hidden_callers)
{
	load("{'start':'l','nodes':{'l':{'type':'list','options':{"
	     "'entries':['101'],'anonymous':'in_list'},'outputs':{"
	     "'in_list':'a','not_in_list':'b'}},'a':{'type':'hangup',"
	     "'options':{'code':601}},'b':{'type':'hangup','options':{"
	     "'code':602}}}}");
	ctx.caller = "anonymous";
	ev(WALK_EV_START);
	cr_assert_eq(act(WALK_ACT_REJECT)->end.code, 601);
	ctx.caller = NULL;
	ev(WALK_EV_START);
	cr_assert_eq(act(WALK_ACT_REJECT)->end.code, 601);
	ctx.caller = "102";
	ev(WALK_EV_START);
	cr_assert_eq(act(WALK_ACT_REJECT)->end.code, 602);
}

Test(scenario_walk, missing_branch_ends_the_call_with_480)
{
	load("{'start':'l','nodes':{'l':{'type':'list','options':{"
	     "'entries':['101']},'outputs':{'in_list':'a'}},'a':{'type':"
	     "'hangup'}}}");
	ctx.caller = "555";
	ev(WALK_EV_START);
	cr_assert_eq(act(WALK_ACT_REJECT)->end.code, 480);
}

/* n schedules in a row (s00 -> s01 -> ...), the last one to hangup h;
 * open at the test's clock (09:00 UTC). */
static void load_chain(int n)
{
	char *doc = malloc(65536);
	size_t len = 0;

	cr_assert_not_null(doc);
	len += (size_t)snprintf(doc, 65536, "{'start':'s00','nodes':{");
	for (int i = 0; i < n; i++) {
		char next[16];

		if (i + 1 < n)
			snprintf(next, sizeof(next), "s%02d", i + 1);
		else
			snprintf(next, sizeof(next), "h");
		len += (size_t)snprintf(
			doc + len, 65536 - len,
			"'s%02d':{'type':'schedule','options':{'timezone':"
			"'UTC','windows':[{'days':'all','from':'09:00','to':"
			"'18:00'}]},'outputs':{'match':'%s','no_match':'h'}},",
			i, next);
	}
	snprintf(doc + len, 65536 - len,
		 "'h':{'type':'hangup','options':{'code':486}}}}");
	load(doc);
	free(doc);
}

Test(scenario_walk, chain_of_60_schedules_walks_to_its_end)
{
	/* 60 schedules, then the longest lint accepts: 63 and the hangup
	 * are the 64 nodes a step may visit. */
	load_chain(60);
	cr_assert_eq(ev(WALK_EV_START), 0);
	cr_assert_eq(act(WALK_ACT_REJECT)->end.code, 486);
	cr_assert_eq(out.nhops, 61);
	cr_assert_str_eq(out.hop[59].node, "s59");
	cr_assert_str_eq(out.hop[59].output, "match");
	cr_assert_str_eq(st.node, "h");
	scenario_free(sc);
	load_chain(63);
	cr_assert_eq(ev(WALK_EV_START), 0);
	cr_assert_eq(act(WALK_ACT_REJECT)->end.code, 486);
	cr_assert_eq(out.nhops, WALK_MAX_HOPS);
}

Test(scenario_walk, cycle_guard_ends_a_call_that_never_waits)
{
	struct scenario_node *l;

	/* Lint refuses every graph that can trip the guard, so make one
	 * behind its back: a list whose arrows lead to itself. */
	load("{'start':'l','nodes':{'l':{'type':'list','options':{"
	     "'entries':['1']},'outputs':{'in_list':'h','not_in_list':"
	     "'h'}},'h':{'type':'hangup'}}}");
	l = &sc->nodes[scenario_node_index(sc, "l")];
	l->out[O_IN_LIST] = l->out[O_NOT_IN_LIST] =
		scenario_node_index(sc, "l");
	cr_assert_eq(ev(WALK_EV_START), -ELOOP);
	cr_assert_eq(act(WALK_ACT_REJECT)->end.code, 500);
	cr_assert_str_eq(act(WALK_ACT_REJECT)->end.reason, "Scenario Loop");
	cr_assert(out.ended);
	cr_assert_leq(out.nhops, WALK_MAX_HOPS + 1);
}

/* ---- queue ---- */

static const char queue_doc[] =
	"{'start':'q','nodes':{"
	"'q':{'type':'queue','options':{'queue':'sales','announce_position':"
	"true},'outputs':{'timeout':'vm','exit_key:0':'op','no_agents':"
	"'na'}},"
	"'vm':{'type':'hangup','options':{'code':601}},"
	"'op':{'type':'hangup','options':{'code':602}},"
	"'na':{'type':'hangup','options':{'code':603}}}}";

static int qres(enum walk_queue_result r, char d)
{
	struct walk_event e = {
		.kind = WALK_EV_QUEUE_RESULT, .queue = r, .digit = d};

	return scenario_walk_step(sc, &ctx, &st, &e, &out);
}

Test(scenario_walk, queue_joins_with_object_options_merged)
{
	const struct walk_action *q;

	scen_obj(objs, "queue", "sales",
		 "{'strategy':'longest_idle','max_wait':300,'moh':'jazz',"
		 "'agents':['101','102']}");
	load(queue_doc);
	ev(WALK_EV_START);
	act(WALK_ACT_ANSWER);
	ev(WALK_EV_ANSWERED);
	q = act(WALK_ACT_QUEUE);
	cr_assert_str_eq(q->queue.name, "sales");
	cr_assert_eq(q->queue.max_wait_s, 300);
	cr_assert_str_eq(q->queue.strategy, "longest_idle");
	cr_assert_str_eq(q->queue.moh, "jazz");
	cr_assert(q->queue.announce_position);
	cr_assert_str_eq(q->queue.exit_keys, "0");
}

/* The queue object's call-back exit reaches the QUEUE action, with its
 * defaults; a key the node uses as an exit key is no call-back key. */
Test(scenario_walk, queue_carries_the_callback_exit_of_its_object)
{
	const struct walk_action *q;

	scen_obj(objs, "queue", "sales",
		 "{'agents':['101'],'callback_key':'3','callback_retries':1,"
		 "'callback_prompt':'cb-ok'}");
	load(queue_doc);
	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
	q = act(WALK_ACT_QUEUE);
	cr_assert_eq(q->queue.callback_key, '3');
	cr_assert_str_eq(q->queue.callback_prompt, "cb-ok");
	cr_assert_eq(q->queue.callback_window_s, 3600);
	cr_assert_eq(q->queue.callback_retries, 1);
	cr_assert_eq(q->queue.callback_retry_s, 60);

	scen_obj(objs, "queue", "sales",
		 "{'agents':['101'],'callback_key':'0'}");
	load(queue_doc);
	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
	cr_assert_eq(act(WALK_ACT_QUEUE)->queue.callback_key, '\0');
}

Test(scenario_walk, queue_defaults_max_wait_to_600_seconds)
{
	load(queue_doc);
	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
	cr_assert_eq(act(WALK_ACT_QUEUE)->queue.max_wait_s, 600);
}

Test(scenario_walk, queue_outcomes_take_their_outputs)
{
	load(queue_doc);
	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
	qres(WALK_QUEUE_TIMEOUT, 0);
	cr_assert_eq(act(WALK_ACT_HANGUP)->end.code, 601);
	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
	qres(WALK_QUEUE_EXIT_KEY, '0');
	cr_assert_eq(act(WALK_ACT_HANGUP)->end.code, 602);
	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
	qres(WALK_QUEUE_NO_AGENTS, 0);
	cr_assert_eq(act(WALK_ACT_HANGUP)->end.code, 603);
	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
	qres(WALK_QUEUE_ANSWERED, 0);
	cr_assert(out.ended);
	cr_assert_str_eq(out.outcome, "answered");
}

Test(scenario_walk, queue_full_and_failure_fall_back_to_the_exit_route)
{
	load(queue_doc);
	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
	qres(WALK_QUEUE_FULL, 0);
	cr_assert_eq(act(WALK_ACT_HANGUP)->end.code, 601);
	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
	ev(WALK_EV_FAILED);
	cr_assert_eq(act(WALK_ACT_HANGUP)->end.code, 601);
}

/* ---- assistant ---- */

static const char as_doc[] =
	"{'start':'a','nodes':{"
	"'a':{'type':'assistant','options':{'prompt':'ask','phrases':{"
	"'sales':['buy','Покупка'],'support':['help']},'confidence':0.6,"
	"'timeout':4,'retries':1,'retry_prompt':'again'},'outputs':{"
	"'phrase:sales':'s','phrase:support':'h','not_recognized':'nr',"
	"'no_input':'ni'}},"
	"'s':{'type':'hangup','options':{'code':601}},"
	"'h':{'type':'hangup','options':{'code':602}},"
	"'nr':{'type':'hangup','options':{'code':603}},"
	"'ni':{'type':'hangup','options':{'code':604}}}}";

static int say(const char *phrase, double conf)
{
	struct walk_event e = {
		.kind = WALK_EV_SPEECH, .phrase = phrase, .confidence = conf};

	return scenario_walk_step(sc, &ctx, &st, &e, &out);
}

Test(scenario_walk, assistant_recognised_phrase_takes_its_output)
{
	const struct walk_action *r;

	load(as_doc);
	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
	r = act(WALK_ACT_RECOGNIZE);
	cr_assert_str_eq(r->recognize.prompt, "ask");
	cr_assert_eq(r->recognize.nphrases, 2);
	cr_assert_eq(scenario_walk_phrase_match(r->recognize.phrases,
						r->recognize.nphrases,
						"I want to BUY a phone"),
		     0);
	cr_assert_eq(scenario_walk_phrase_match(r->recognize.phrases,
						r->recognize.nphrases,
						"покупка"),
		     0);
	cr_assert_eq(scenario_walk_phrase_match(r->recognize.phrases,
						r->recognize.nphrases,
						"helpful"),
		     -1);
	cr_assert_eq(out.listen, WALK_LISTEN_SPEECH);
	say("support", 0.9);
	cr_assert_eq(act(WALK_ACT_HANGUP)->end.code, 602);
}

Test(scenario_walk, assistant_low_confidence_retries_then_not_recognized)
{
	load(as_doc);
	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
	say("sales", 0.3);
	cr_assert_str_eq(act(WALK_ACT_RECOGNIZE)->recognize.prompt, "again");
	say(NULL, 0);
	cr_assert_eq(act(WALK_ACT_HANGUP)->end.code, 603);
}

Test(scenario_walk, assistant_silence_times_out_to_no_input)
{
	load(as_doc);
	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
	ev(WALK_EV_PLAY_DONE);
	cr_assert_eq(act(WALK_ACT_TIMER)->timer.ms, 4000);
	fire();
	act(WALK_ACT_RECOGNIZE);
	ev(WALK_EV_PLAY_DONE);
	fire();
	cr_assert_eq(act(WALK_ACT_HANGUP)->end.code, 604);
}

/* ---- crm ---- */

static const char crm_doc[] =
	"{'start':'c','nodes':{"
	"'c':{'type':'crm','options':{'crm':'amocrm','timeout':15,"
	"'lookup_timeout':2000},'outputs':{'no_answer':'na','not_found':"
	"'nf','crm_error':'err'}},"
	"'na':{'type':'hangup','options':{'code':601}},"
	"'nf':{'type':'hangup','options':{'code':602}},"
	"'err':{'type':'hangup','options':{'code':603}}}}";

static int crm(enum walk_crm_result r, const char *owner)
{
	struct walk_event e = {
		.kind = WALK_EV_CRM_RESULT, .crm = r, .owner = owner};

	return scenario_walk_step(sc, &ctx, &st, &e, &out);
}

Test(scenario_walk, crm_looks_up_then_rings_the_owner)
{
	const struct walk_action *r;

	load(crm_doc);
	ev(WALK_EV_START);
	cr_assert_str_eq(act(WALK_ACT_CRM_LOOKUP)->crm.crm, "amocrm");
	cr_assert_eq(act(WALK_ACT_TIMER)->timer.ms, 2000);
	crm(WALK_CRM_OWNER, "204");
	r = act(WALK_ACT_RING);
	cr_assert_str_eq(r->ring.target, "204");
	cr_assert_eq(r->ring.timeout_ms, 15000);
	cr_assert_eq(act(WALK_ACT_TIMER)->timer.ms, 0); /* lookup timer off */
	ring(WALK_RING_ANSWERED);
	cr_assert_str_eq(out.outcome, "answered");
}

Test(scenario_walk, crm_owner_not_answering_takes_no_answer)
{
	load(crm_doc);
	ev(WALK_EV_START);
	crm(WALK_CRM_OWNER, "204");
	ring(WALK_RING_BUSY); /* busy falls back to no_answer */
	cr_assert_eq(act(WALK_ACT_REJECT)->end.code, 601);
}

Test(scenario_walk, crm_not_found_error_and_lookup_timeout)
{
	load(crm_doc);
	ev(WALK_EV_START);
	crm(WALK_CRM_NOT_FOUND, NULL);
	cr_assert_eq(act(WALK_ACT_REJECT)->end.code, 602);
	ev(WALK_EV_START);
	crm(WALK_CRM_ERROR, NULL);
	cr_assert_eq(act(WALK_ACT_REJECT)->end.code, 603);
	ev(WALK_EV_START);
	fire();
	cr_assert_eq(act(WALK_ACT_REJECT)->end.code, 603);
}

static int crm_number(const char *number)
{
	struct walk_event e = {.kind = WALK_EV_CRM_RESULT,
			       .crm = WALK_CRM_OWNER,
			       .owner = number,
			       .owner_number = true};

	return scenario_walk_step(sc, &ctx, &st, &e, &out);
}

Test(scenario_walk, crm_owner_number_rings_external)
{
	static const char doc[] =
		"{'start':'c','nodes':{"
		"'c':{'type':'crm','options':{'crm':'api','timeout':20,"
		"'caller_id':'+7 495 111-22-33'},'outputs':{'no_answer':'na',"
		"'busy':'b','not_found':'nf','crm_error':'err'}},"
		"'na':{'type':'hangup','options':{'code':601}},"
		"'b':{'type':'hangup','options':{'code':604}},"
		"'nf':{'type':'hangup','options':{'code':602}},"
		"'err':{'type':'hangup','options':{'code':603}}}}";
	const struct walk_action *r;

	load(doc);
	ev(WALK_EV_START);
	crm_number("+79161234567");
	r = act(WALK_ACT_RING);
	cr_assert_eq(r->ring.dest, WALK_DEST_EXTERNAL);
	cr_assert_str_eq(r->ring.target, "+79161234567");
	cr_assert_eq(r->ring.timeout_ms, 20000);
	cr_assert_str_eq(r->ring.caller_id, "+7 495 111-22-33");
	ring(WALK_RING_ANSWERED);
	cr_assert_str_eq(out.outcome, "answered");
	/* Its outputs as for an extension owner. */
	ev(WALK_EV_START);
	crm_number("+79161234567");
	ring(WALK_RING_BUSY);
	cr_assert_eq(act(WALK_ACT_REJECT)->end.code, 604);
	ev(WALK_EV_START);
	crm_number("+79161234567");
	ring(WALK_RING_NO_ANSWER);
	cr_assert_eq(act(WALK_ACT_REJECT)->end.code, 601);
	/* An extension owner still rings as one. */
	ev(WALK_EV_START);
	crm(WALK_CRM_OWNER, "204");
	cr_assert_eq(act(WALK_ACT_RING)->ring.dest, WALK_DEST_EXTENSION);
}

/* ---- end points ---- */

Test(scenario_walk, voicemail_records_into_its_box)
{
	const struct walk_action *r;

	scen_obj(objs, "voicemail_box", "main",
		 "{'max_length':90,'greeting':'vm-hello'}");
	load("{'start':'v','nodes':{'v':{'type':'voicemail','options':{"
	     "'box':'main'}}}}");
	ev(WALK_EV_START);
	act(WALK_ACT_ANSWER);
	ev(WALK_EV_ANSWERED);
	r = act(WALK_ACT_RECORD);
	cr_assert_str_eq(r->record.box, "main");
	cr_assert_eq(r->record.max_s, 90);
	cr_assert_str_eq(r->record.greeting, "vm-hello");
	cr_assert(out.ended);
	cr_assert_str_eq(out.outcome, "voicemail");
	ev(WALK_EV_HANGUP);
	cr_assert_str_eq(out.outcome, "caller_hangup");
}

Test(scenario_walk, fax_is_refused_when_the_option_is_off)
{
	load("{'start':'f','nodes':{'f':{'type':'fax','options':{'box':"
	     "'main'}}}}");
	ctx.fax_disabled = true;
	ev(WALK_EV_START);
	cr_assert_eq(act(WALK_ACT_REJECT)->end.code, 403);
	ctx.fax_disabled = false;
	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
	cr_assert_str_eq(act(WALK_ACT_FAX)->fax.box, "main");
}

static int fax_done(bool ok)
{
	struct walk_event e = {.kind = WALK_EV_FAX_RESULT, .fax_ok = ok};

	return scenario_walk_step(sc, &ctx, &st, &e, &out);
}

/* Without outputs the fax is an end point: the worker hangs up and a
 * stray FAX_RESULT changes nothing. */
Test(scenario_walk, fax_without_outputs_ends_there)
{
	scen_obj(objs, "fax_box", "main",
		 "{'header':'ACME fax','max_faxes':2,'max_bytes':1000000}");
	load("{'start':'f','nodes':{'f':{'type':'fax','options':{'box':"
	     "'main'}}}}");
	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
	cr_assert_not(act(WALK_ACT_FAX)->fax.keep_call);
	cr_assert_str_eq(act(WALK_ACT_FAX)->fax.header, "ACME fax");
	cr_assert_eq(act(WALK_ACT_FAX)->fax.max_faxes, 2);
	cr_assert_eq(act(WALK_ACT_FAX)->fax.max_bytes, 1000000);
	cr_assert(out.ended);
	cr_assert_str_eq(out.outcome, "fax");
	cr_assert_eq(fax_done(true), 0);
	cr_assert_eq(out.n, 0);
}

/* "next" after any result, "failed" when T.30 failed; the state
 * survives encode / decode between the two events (as in Redis). */
Test(scenario_walk, fax_next_and_failed_continue_the_call)
{
	char buf[WALK_STATE_TEXT_MAX];

	load("{'start':'f','nodes':{"
	     "'f':{'type':'fax','options':{'box':'main'},"
	     "'outputs':{'next':'thanks','failed':'sorry'}},"
	     "'thanks':{'type':'greeting','options':{'prompt':'fax-ok'}},"
	     "'sorry':{'type':'hangup','options':{'code':486}}}}");
	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
	cr_assert(act(WALK_ACT_FAX)->fax.keep_call);
	cr_assert_not(out.ended);
	cr_assert_gt(scenario_walk_state_encode(&st, buf, sizeof(buf)), 0);
	scenario_walk_init(&st);
	cr_assert_eq(scenario_walk_state_decode(&st, buf), 0);
	/* Events that do not belong to a fax wait. */
	cr_assert_eq(ev(WALK_EV_PLAY_DONE), 0);
	cr_assert_eq(out.n, 0);
	cr_assert_eq(fax_done(true), 0);
	cr_assert_str_eq(act(WALK_ACT_PLAY)->play.prompt, "fax-ok");
	cr_assert_str_eq(st.node, "thanks");
	cr_assert_str_eq(out.hop[0].what, "received");
	cr_assert_str_eq(out.hop[0].output, "next");

	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
	cr_assert_eq(fax_done(false), 0);
	cr_assert_eq(act(WALK_ACT_HANGUP)->end.code, 486);
	cr_assert_str_eq(st.node, "sorry");
	cr_assert(out.ended);
}

/* Only "next": a failure takes it too; only "failed": a fax received
 * ends the call normally. A worker failure ends it with 500. */
Test(scenario_walk, fax_output_fallbacks)
{
	load("{'start':'f','nodes':{"
	     "'f':{'type':'fax','options':{'box':'main'},"
	     "'outputs':{'next':'bye'}},"
	     "'bye':{'type':'hangup','options':{'code':480}}}}");
	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
	fax_done(false);
	cr_assert_eq(act(WALK_ACT_HANGUP)->end.code, 480);

	scenario_free(sc);
	load("{'start':'f','nodes':{"
	     "'f':{'type':'fax','options':{'box':'main'},"
	     "'outputs':{'failed':'bye'}},"
	     "'bye':{'type':'hangup','options':{'code':480}}}}");
	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
	cr_assert(act(WALK_ACT_FAX)->fax.keep_call);
	fax_done(true);
	cr_assert_eq(act(WALK_ACT_HANGUP)->end.code, 200);
	cr_assert(out.ended);

	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
	ev(WALK_EV_FAILED);
	cr_assert_eq(act(WALK_ACT_HANGUP)->end.code, 500);
}

Test(scenario_walk, conference_joins_with_the_room_pin)
{
	const struct walk_action *c;

	scen_obj(objs, "conference", "board",
		 "{'pin':'4321','pin_retries':2}");
	load("{'start':'c','nodes':{'c':{'type':'conference','options':{"
	     "'room':'board'}}}}");
	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
	c = act(WALK_ACT_CONFERENCE);
	cr_assert_str_eq(c->conference.pin, "4321");
	cr_assert_eq(c->conference.pin_retries, 2);
	ev(WALK_EV_FAILED);
	cr_assert_eq(act(WALK_ACT_HANGUP)->end.code, 500);
}

/* A menu with room_dialing: "1" is a choice, two-digit numbers are
 * dialled; rooms "board" (number 55, PIN) and "club" (number 56). */
static void room_menu(bool extensions)
{
	if (!scenario_objects_count(objs)) {
		scen_obj(objs, "conference", "board",
			 "{'pin':'4321','number':'55','pin_retries':4}");
		scen_obj(objs, "conference", "club", "{'number':'56'}");
	}
	scenario_free(sc); /* the previous menu of the test */
	sc = NULL;
	load(extensions
		     ? "{'start':'m','nodes':{'m':{'type':'ivr','options':{"
		       "'prompt':'p','room_dialing':true,"
		       "'extension_dialing':true,'extension_max_len':2},"
		       "'outputs':{'digit:1':'h','timeout':'h','invalid':'h',"
		       "'extension':'h'}},'h':{'type':'hangup'}}}"
		     : "{'start':'m','nodes':{'m':{'type':'ivr','options':{"
		       "'prompt':'p','room_dialing':true,"
		       "'extension_max_len':2,'retries':1},"
		       "'outputs':{'digit:1':'h','timeout':'h','invalid':'h'}},"
		       "'h':{'type':'hangup'}}}");
	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
}

Test(scenario_walk, ivr_room_dialing_joins_the_room_of_that_number)
{
	const struct walk_action *c;

	room_menu(false);
	dtmf('5');
	dtmf('5');
	c = act(WALK_ACT_CONFERENCE);
	cr_assert_str_eq(c->conference.room, "board");
	cr_assert_str_eq(c->conference.pin, "4321");
	cr_assert_eq(c->conference.pin_retries, 4);
	cr_assert(out.ended);
	cr_assert_null(scen_act(&out, WALK_ACT_RING));
	room_menu(false);
	dtmf('5');
	dtmf('6');
	cr_assert_str_eq(act(WALK_ACT_CONFERENCE)->conference.room, "club");
}

Test(scenario_walk, ivr_room_dialing_of_no_room_is_invalid_or_an_extension)
{
	room_menu(false);
	dtmf('5');
	dtmf('7');
	cr_assert_null(scen_act(&out, WALK_ACT_CONFERENCE));
	cr_assert_null(scen_act(&out, WALK_ACT_RING));
	act(WALK_ACT_PLAY); /* the menu again (retries 1) */
	room_menu(true);
	dtmf('5');
	dtmf('7');
	cr_assert_str_eq(act(WALK_ACT_RING)->ring.target, "57");
	room_menu(true);
	dtmf('5');
	dtmf('5');
	cr_assert_str_eq(act(WALK_ACT_CONFERENCE)->conference.room, "board");
}

Test(scenario_walk, ivr_room_dialing_of_an_ambiguous_number_joins_nothing)
{
	room_menu(false);
	scen_obj(objs, "conference", "twin", "{'number':'56'}");
	dtmf('5');
	dtmf('6');
	cr_assert_null(scen_act(&out, WALK_ACT_CONFERENCE));
}

/* ---- state fit ---- */

Test(scenario_walk, state_of_a_vanished_node_ends_the_call)
{
	load("{'start':'h','nodes':{'h':{'type':'hangup'}}}");
	strcpy(st.node, "gone");
	st.answered = true;
	st.phase = 2;
	cr_assert_eq(ev(WALK_EV_PLAY_DONE), -EINVAL);
	cr_assert_eq(act(WALK_ACT_HANGUP)->end.code, 500);
}

Test(scenario_walk, media_failure_hangs_up)
{
	load("{'start':'g','nodes':{'g':{'type':'greeting','options':{"
	     "'prompt':'p'}}}}");
	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
	ev(WALK_EV_FAILED);
	cr_assert_eq(act(WALK_ACT_HANGUP)->end.code, 500);
	cr_assert_str_eq(out.outcome, "failed");
}

Test(scenario_walk, caller_hangup_ends_the_walk_without_actions)
{
	load(menu_doc);
	ev(WALK_EV_START);
	ev(WALK_EV_ANSWERED);
	ev(WALK_EV_HANGUP);
	cr_assert_eq(out.n, 0);
	cr_assert(out.ended);
	cr_assert(st.ended);
}

Test(scenario_walk, bad_arguments_are_refused)
{
	struct walk_event e = {.kind = WALK_EV_START};

	load("{'start':'h','nodes':{'h':{'type':'hangup'}}}");
	cr_assert_eq(scenario_walk_step(NULL, &ctx, &st, &e, &out), -EINVAL);
	cr_assert_eq(scenario_walk_step(sc, &ctx, &st, NULL, &out), -EINVAL);
	cr_assert_eq(scenario_walk_step(sc, &ctx, &st, &e, NULL), -EINVAL);
	/* A null context is an anonymous call at the epoch. */
	cr_assert_eq(scenario_walk_step(sc, NULL, &st, &e, &out), 0);
}

/* ---- robustness ---- */

static unsigned lcg(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

Test(scenario_walk, random_events_never_break_the_walk)
{
	static const char *const docs[] = {menu_doc, queue_doc, as_doc,
					   crm_doc, sub_doc};
	unsigned seed = 12345;

	for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
		load(docs[d]);
		for (int call = 0; call < 300; call++) {
			struct walk_event e = {.kind = WALK_EV_START};

			for (int i = 0; i < 40; i++) {
				int err = scenario_walk_step(sc, &ctx, &st, &e,
							     &out);

				cr_assert(err == 0 || err == -EINVAL, "err %d",
					  err);
				cr_assert_leq(out.n, WALK_ACTIONS_MAX);
				for (size_t k = 0; k < out.n; k++)
					cr_assert_lt(out.act[k].kind,
						     WALK_ACT_COUNT);
				memset(&e, 0, sizeof(e));
				e.kind = (enum walk_event_kind)(
					1 + lcg(&seed) % (WALK_EV_COUNT - 1));
				e.digit = "0123456789*#AX"[lcg(&seed) % 14];
				e.timer_id =
					lcg(&seed) % 4 ? st.timer : lcg(&seed);
				e.ring = (enum walk_ring_result)(lcg(&seed) %
								 6);
				e.queue = (enum walk_queue_result)(lcg(&seed) %
								   7);
				e.crm = (enum walk_crm_result)(lcg(&seed) % 5);
				e.owner = lcg(&seed) % 3 ? "204" : "";
				e.phrase = lcg(&seed) % 2 ? "sales" : "nope";
				e.confidence = (lcg(&seed) % 100) / 100.0;
			}
		}
		scenario_free(sc);
		sc = NULL;
	}
}

/* record on the subscriber node reaches the RING action (the router's
 * RecordCall); without it, a ring records nothing. */
Test(scenario_walk, subscriber_record_option_is_on_the_ring)
{
	const struct walk_action *r;

	load("{'start':'s','nodes':{'s':{'type':'subscriber','options':{"
	     "'kind':'internal','target':'100','record':true,"
	     "'record_prompt':'rec'}}}}");
	ev(WALK_EV_START);
	r = act(WALK_ACT_RING);
	cr_assert(r->ring.record);
	cr_assert_str_eq(r->ring.record_prompt, "rec");
	scenario_free(sc);
	load(sub_doc);
	ev(WALK_EV_START);
	r = act(WALK_ACT_RING);
	cr_assert_not(r->ring.record);
	cr_assert_null(r->ring.record_prompt);
}

/* The scenario's own "record" records every bridge it makes: a
 * subscriber's ring, a CRM owner's ring and a queue's agent, with the
 * document's channels and announcement, unless the node says "record":
 * false; a node's own record_channels / record_prompt win. */
static const char rec_doc[] =
	"{'start':'c','record':true,'record_channels':2,"
	"'record_prompt':'rec','nodes':{"
	"'c':{'type':'crm','options':{'crm':'api'},"
	"'outputs':{'not_found':'s','no_answer':'q'}},"
	"'s':{'type':'subscriber','options':{'kind':'internal',"
	"'target':'100','timeout':10},'outputs':{'no_answer':'off'}},"
	"'off':{'type':'subscriber','options':{'kind':'internal',"
	"'target':'101','record':false}},"
	"'q':{'type':'queue','options':{'queue':'sales',"
	"'record_channels':1,'record_prompt':'q-rec'},"
	"'outputs':{'timeout':'bye'}},"
	"'bye':{'type':'hangup'}}}";

Test(scenario_walk, scenario_record_reaches_every_bridge_but_record_false)
{
	const struct walk_action *r;

	load(rec_doc);
	ev(WALK_EV_START);
	crm(WALK_CRM_OWNER, "204");
	r = act(WALK_ACT_RING);
	cr_assert_str_eq(r->ring.target, "204");
	cr_assert(r->ring.record, "the CRM owner's ring is recorded");
	cr_assert_eq(r->ring.record_channels, 2);
	cr_assert_str_eq(r->ring.record_prompt, "rec");
	/* The owner does not answer: the queue, its own channels and
	 * announcement. */
	ring(WALK_RING_NO_ANSWER);
	act(WALK_ACT_ANSWER);
	ev(WALK_EV_ANSWERED);
	r = act(WALK_ACT_QUEUE);
	cr_assert(r->queue.record, "the queue's agent bridge is recorded");
	cr_assert_eq(r->queue.record_channels, 1);
	cr_assert_str_eq(r->queue.record_prompt, "q-rec");

	ev(WALK_EV_START);
	crm(WALK_CRM_NOT_FOUND, NULL);
	r = act(WALK_ACT_RING);
	cr_assert_str_eq(r->ring.target, "100");
	cr_assert(r->ring.record);
	cr_assert_eq(r->ring.record_channels, 2);
	ring(WALK_RING_NO_ANSWER);
	r = act(WALK_ACT_RING);
	cr_assert_str_eq(r->ring.target, "101");
	cr_assert_not(r->ring.record, "\"record\": false wins");
}

/* Without the scenario's "record", a queue node's own records, mixed by
 * default; nodes without it do not. */
Test(scenario_walk, queue_record_option_is_on_the_queue_action)
{
	const struct walk_action *q;

	load("{'start':'q','nodes':{'q':{'type':'queue','options':{"
	     "'queue':'sales','record':true},'outputs':{'timeout':'bye'}},"
	     "'bye':{'type':'hangup'}}}");
	ev(WALK_EV_START);
	act(WALK_ACT_ANSWER);
	ev(WALK_EV_ANSWERED);
	q = act(WALK_ACT_QUEUE);
	cr_assert(q->queue.record);
	cr_assert_eq(q->queue.record_channels, 1);
	cr_assert_null(q->queue.record_prompt);
	scenario_free(sc);
	load(queue_doc);
	ev(WALK_EV_START);
	act(WALK_ACT_ANSWER);
	ev(WALK_EV_ANSWERED);
	cr_assert_not(act(WALK_ACT_QUEUE)->queue.record);
}
