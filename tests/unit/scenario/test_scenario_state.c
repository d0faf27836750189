/* Walk state codec: what the router stores in one Redis field comes back
 * equal, and anything else is refused. */
#include <errno.h>

#include "scen_test.h"

TestSuite(scenario_state, .fini = pbx_test_fini);

static void round_trip(const struct walk_state *st)
{
	char buf[WALK_STATE_TEXT_MAX];
	struct walk_state back;
	int n = scenario_walk_state_encode(st, buf, sizeof(buf));

	cr_assert_gt(n, 0);
	cr_assert_eq((size_t)n, strlen(buf));
	for (const char *p = buf; *p; p++)
		cr_assert(*p > ' ' && *p < 0x7f, "unprintable in %s", buf);
	memset(&back, 0x55, sizeof(back));
	cr_assert_eq(scenario_walk_state_decode(&back, buf), 0, "%s", buf);
	cr_assert_str_eq(back.node, st->node);
	cr_assert_eq(back.phase, st->phase);
	cr_assert_eq(back.answered, st->answered);
	cr_assert_eq(back.ended, st->ended);
	cr_assert_eq(back.tries, st->tries);
	cr_assert_eq(back.timer, st->timer);
	cr_assert_eq(back.timer_seq, st->timer_seq);
	cr_assert_eq(back.steps, st->steps);
	cr_assert_str_eq(back.digits, st->digits);
	cr_assert_str_eq(back.target, st->target);
}

Test(scenario_state, states_round_trip)
{
	struct walk_state st;

	scenario_walk_init(&st);
	round_trip(&st);
	strcpy(st.node, "menu");
	st.phase = 5;
	st.answered = true;
	st.tries = 2;
	st.timer = 7;
	st.timer_seq = 7;
	st.steps = 4000000000u;
	strcpy(st.digits, "10#*");
	strcpy(st.target, "+7 916 123-45-67");
	round_trip(&st);
	/* Node ids may hold any printable character, also the separator. */
	strcpy(st.node, "a|b %c\"d'/ё");
	st.ended = true;
	round_trip(&st);
	memset(st.node, 'x', WALK_NODE_MAX - 1);
	st.node[WALK_NODE_MAX - 1] = '\0';
	memset(st.target, '|', WALK_TARGET_MAX - 1);
	st.target[WALK_TARGET_MAX - 1] = '\0';
	round_trip(&st);
}

Test(scenario_state, walked_states_round_trip_mid_call)
{
	struct scenario *sc = scen_load(
		"{'start':'m','nodes':{'m':{'type':'ivr','options':{"
		"'prompt':'p','extension_dialing':true},'outputs':{"
		"'digit:1':'h','timeout':'h'}},'h':{'type':'hangup'}}}",
		NULL);
	struct walk_event e = {.kind = WALK_EV_START};
	struct walk_actions out;
	struct walk_state st;
	char buf[WALK_STATE_TEXT_MAX];

	scenario_walk_init(&st);
	cr_assert_eq(scenario_walk_step(sc, NULL, &st, &e, &out), 0);
	e.kind = WALK_EV_ANSWERED;
	scenario_walk_step(sc, NULL, &st, &e, &out);
	e.kind = WALK_EV_DTMF;
	e.digit = '2';
	scenario_walk_step(sc, NULL, &st, &e, &out);
	round_trip(&st);
	/* Decoded, the call goes on exactly as it would have. */
	cr_assert_gt(scenario_walk_state_encode(&st, buf, sizeof(buf)), 0);
	scenario_walk_init(&st);
	cr_assert_eq(scenario_walk_state_decode(&st, buf), 0);
	e.digit = '0';
	scenario_walk_step(sc, NULL, &st, &e, &out);
	cr_assert_str_eq(st.digits, "20");
	scenario_free(sc);
}

Test(scenario_state, garbage_is_refused_and_leaves_the_state_alone)
{
	static const char *const bad[] = {
		"",
		"w1",
		"w2|a|0|0|0|0|0|0||",
		"w1|a|0|0|0|0|0|0|",	/* missing target field */
		"w1|a|0|0|0|0|0|0|||",	/* one field too many */
		"w1|a|99|0|0|0|0|0||",	/* phase out of range */
		"w1|a|0|4|0|0|0|0||",	/* unknown flag */
		"w1|a|0|0|256|0|0|0||", /* tries overflow */
		"w1|a|0|0|0|0|0|4294967296||",
		"w1|a|0|0|0|01|1|0||", /* leading zero */
		"w1|a|0|0|0|5|4|0||",  /* timer ahead of its counter */
		"w1|a|0|0|0|-1|0|0||",
		"w1|a|0|0|0|0|0|0|12x|", /* not a DTMF digit */
		"w1|a%zz|0|0|0|0|0|0||", /* bad escape */
		"w1|a%41|0|0|0|0|0|0||", /* escape of a plain character */
		"w1|a%00|0|0|0|0|0|0||",
		"w1|a b|0|0|0|0|0|0||", /* raw space */
		"w1||3|0|0|0|0|0||",	/* no node but a phase */
		"w1|a|0|0|0|0|0|0|11111111111111111111||",
		"w1|a|0|0|0|0|0|0||x y",
		"w1|"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaa|0|0|0|0|0|0||",
		"\xff\xfe",
	};
	struct walk_state st;

	scenario_walk_init(&st);
	strcpy(st.node, "keep");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(scenario_walk_state_decode(&st, bad[i]), -EINVAL,
			     "accepted \"%s\"", bad[i]);
		cr_assert_str_eq(st.node, "keep");
	}
	cr_assert_eq(scenario_walk_state_decode(NULL, "w1"), -EINVAL);
	cr_assert_eq(scenario_walk_state_decode(&st, NULL), -EINVAL);
}

Test(scenario_state, small_buffer_is_reported_not_overrun)
{
	struct walk_state st;
	char buf[8];

	scenario_walk_init(&st);
	strcpy(st.node, "a-rather-long-node-id");
	cr_assert_eq(scenario_walk_state_encode(&st, buf, sizeof(buf)),
		     -ENOSPC);
	cr_assert_str_eq(buf, "");
}

Test(scenario_state, random_text_never_decodes_into_a_broken_state)
{
	unsigned seed = 7;
	char buf[64], again[WALK_STATE_TEXT_MAX];
	struct walk_state st;

	for (int i = 0; i < 200000; i++) {
		size_t n = 3 + (seed = seed * 1103515245u + 12345u) % 40;

		memcpy(buf, "w1|", 3);
		for (size_t k = 3; k < n; k++) {
			seed = seed * 1103515245u + 12345u;
			buf[k] = "|0123456789a%%#*AFz "[(seed >> 8) % 20];
		}
		buf[n] = '\0';
		if (scenario_walk_state_decode(&st, buf))
			continue;
		/* Whatever decoded must encode back to the same text. */
		cr_assert_gt(
			scenario_walk_state_encode(&st, again, sizeof(again)),
			0);
		cr_assert_str_eq(again, buf);
	}
}
