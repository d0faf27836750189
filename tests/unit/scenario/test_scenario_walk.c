/* Scenario walk: what a call does at each event, for the elements this
 * slice executes, and the clean end for the ones it does not. */
#include <criterion/criterion.h>
#include <string.h>

#include "pbx_test.h"
#include "scenario.h"
#include "scenario_walk.h"

static struct scenario *sc;

static void load(const char *json)
{
	struct scenario_report rep;

	cr_assert_eq(scenario_parse(&sc, json, NULL, NULL, &rep), 0, "%s",
		     rep.text);
}

static void done(void)
{
	scenario_free(sc);
	sc = NULL;
	pbx_test_fini();
}

TestSuite(scenario_walk, .fini = done);

Test(scenario_walk, greeting_answers_plays_then_follows_next_to_hangup)
{
	struct walk_state st;
	struct walk_action act;

	load("{\"start\":\"greet\",\"nodes\":{"
	     "\"greet\":{\"type\":\"greeting\",\"options\":{\"prompt\":"
	     "\"welcome\"},\"outputs\":{\"next\":\"bye\"}},"
	     "\"bye\":{\"type\":\"hangup\",\"options\":{\"code\":486}}}}");
	cr_assert_eq(scenario_walk(sc, &st, WALK_EV_START, &act), 0);
	cr_assert_eq(act.kind, WALK_ACT_ANSWER);
	cr_assert_str_eq(st.node, "greet");

	cr_assert_eq(scenario_walk(sc, &st, WALK_EV_ANSWERED, &act), 0);
	cr_assert_eq(act.kind, WALK_ACT_PLAY);
	cr_assert_str_eq(act.prompt, "welcome");

	cr_assert_eq(scenario_walk(sc, &st, WALK_EV_PLAY_DONE, &act), 0);
	cr_assert_eq(act.kind, WALK_ACT_HANGUP);
	cr_assert_str_eq(st.node, "bye");
}

Test(scenario_walk, hangup_first_rejects_with_its_code)
{
	struct walk_state st;
	struct walk_action act;

	load("{\"start\":\"h\",\"nodes\":{\"h\":{\"type\":\"hangup\","
	     "\"options\":{\"code\":486,\"reason\":\"Busy Here\"}}}}");
	scenario_walk(sc, &st, WALK_EV_START, &act);
	cr_assert_eq(act.kind, WALK_ACT_REJECT);
	cr_assert_eq(act.sip_code, 486);
	cr_assert_str_eq(act.reason, "Busy Here");
}

Test(scenario_walk, hangup_without_code_declines_with_603)
{
	struct walk_state st;
	struct walk_action act;

	load("{\"start\":\"h\",\"nodes\":{\"h\":{\"type\":\"hangup\"}}}");
	scenario_walk(sc, &st, WALK_EV_START, &act);
	cr_assert_eq(act.sip_code, 603);
}

Test(scenario_walk, greeting_without_next_ends_answered_call)
{
	struct walk_state st;
	struct walk_action act;

	load("{\"start\":\"g\",\"nodes\":{\"g\":{\"type\":\"greeting\","
	     "\"options\":{\"prompt\":\"p\"}}}}");
	scenario_walk(sc, &st, WALK_EV_START, &act);
	scenario_walk(sc, &st, WALK_EV_ANSWERED, &act);
	scenario_walk(sc, &st, WALK_EV_PLAY_DONE, &act);
	cr_assert_eq(act.kind, WALK_ACT_HANGUP);
}

Test(scenario_walk, unsupported_element_rejects_501_not_supported_yet)
{
	struct walk_state st;
	struct walk_action act;

	load(scenario_default_json());
	scenario_walk(sc, &st, WALK_EV_START, &act);
	cr_assert_eq(act.kind, WALK_ACT_REJECT);
	cr_assert_eq(act.sip_code, 501);
	cr_assert(strstr(act.reason, "queue not supported yet"), "%s",
		  act.reason);
}

Test(scenario_walk, unsupported_element_after_answer_hangs_up)
{
	struct walk_state st;
	struct walk_action act;

	load("{\"start\":\"g\",\"nodes\":{\"g\":{\"type\":\"greeting\","
	     "\"options\":{\"prompt\":\"p\"},\"outputs\":{\"next\":\"v\"}},"
	     "\"v\":{\"type\":\"voicemail\",\"options\":{\"box\":\"b\"}}}}");
	scenario_walk(sc, &st, WALK_EV_START, &act);
	scenario_walk(sc, &st, WALK_EV_ANSWERED, &act);
	scenario_walk(sc, &st, WALK_EV_PLAY_DONE, &act);
	cr_assert_eq(act.kind, WALK_ACT_HANGUP);
	cr_assert_eq(act.sip_code, 501);
}

Test(scenario_walk, state_of_a_vanished_node_ends_the_call)
{
	struct walk_state st = {.node = "gone", .answered = true};
	struct walk_action act;

	load("{\"start\":\"h\",\"nodes\":{\"h\":{\"type\":\"hangup\"}}}");
	cr_assert_neq(scenario_walk(sc, &st, WALK_EV_PLAY_DONE, &act), 0);
	cr_assert_eq(act.kind, WALK_ACT_HANGUP);
}

Test(scenario_walk, media_failure_hangs_up)
{
	struct walk_state st;
	struct walk_action act;

	load("{\"start\":\"g\",\"nodes\":{\"g\":{\"type\":\"greeting\","
	     "\"options\":{\"prompt\":\"p\"}}}}");
	scenario_walk(sc, &st, WALK_EV_START, &act);
	scenario_walk(sc, &st, WALK_EV_ANSWERED, &act);
	scenario_walk(sc, &st, WALK_EV_FAILED, &act);
	cr_assert_eq(act.kind, WALK_ACT_HANGUP);
	cr_assert_eq(act.sip_code, 500);
}
