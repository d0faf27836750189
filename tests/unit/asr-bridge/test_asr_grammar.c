/* services/asr-bridge/asr_grammar.c: the JSGF text made from phrases and
 * synonyms, words the dictionary lacks, the filler path, and the mapping
 * of a hypothesis back to a phrase with its confidence. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "asr_grammar.h"
#include "pbx_test.h"

static const char *const yes_syn[] = {"yes", "Yeah", "that's right"};
static const char *const op_syn[] = {"operator", "talk to a human"};
static const struct scenario_phrase phrases[] = {
	{"yes", yes_syn, 3},
	{"operator", op_syn, 2},
};

/* A dictionary that lacks "zyx" and "human". */
static bool known(const char *w, void *arg)
{
	(void)arg;
	return strcmp(w, "zyx") && strcmp(w, "human");
}

static void fini(void)
{
	pbx_test_fini();
}
TestSuite(asr_grammar, .fini = fini);

Test(asr_grammar, phrases_become_rules_with_their_synonyms)
{
	char buf[ASR_GRAMMAR_MAX];
	struct asr_grammar_stats st;
	int n = asr_grammar_build(phrases, 2, 0, NULL, NULL, buf, sizeof(buf),
				  &st);

	cr_assert_gt(n, 0);
	cr_assert_str_eq(buf, "#JSGF V1.0;\ngrammar asr;\n"
			      "<p0> = yes | yeah | that's right;\n"
			      "<p1> = operator | talk to a human;\n"
			      "public <utt> = <p0> | <p1>;\n");
	cr_assert_eq(st.synonyms, 5);
	cr_assert_eq(st.dropped, 0);
}

Test(asr_grammar, unknown_words_drop_only_their_synonym)
{
	static const char *const odd[] = {"zyx"};
	const struct scenario_phrase ph[] = {phrases[0], phrases[1],
					     {"odd", odd, 1}};
	char buf[ASR_GRAMMAR_MAX];
	struct asr_grammar_stats st;

	cr_assert_gt(asr_grammar_build(ph, 3, 0, known, NULL, buf,
				       sizeof(buf), &st),
		     0);
	cr_assert_str_eq(buf, "#JSGF V1.0;\ngrammar asr;\n"
			      "<p0> = yes | yeah | that's right;\n"
			      "<p1> = operator;\n"
			      "public <utt> = <p0> | <p1>;\n");
	cr_assert_eq(st.dropped, 2);
}

Test(asr_grammar, filler_path_leaves_out_synonym_words)
{
	static const char *const to_syn[] = {"go to the city"};
	const struct scenario_phrase ph[] = {{"city", to_syn, 1}};
	char buf[ASR_GRAMMAR_MAX];

	cr_assert_gt(asr_grammar_build(ph, 1, 0.01, NULL, NULL, buf,
				       sizeof(buf), NULL),
		     0);
	cr_assert(strstr(buf, "<filler> = a | is | it | and"));
	cr_assert_null(strstr(buf, "| the |"));
	cr_assert_null(strstr(buf, "| city"));
	cr_assert(strstr(buf, "public <utt> = /1/ (<p0>) | /0.010000000/ <filler>+;"));
}

Test(asr_grammar, bad_input_is_refused)
{
	static const char *const none[] = {"!!!"};
	static const char *const only_unknown[] = {"zyx"};
	const struct scenario_phrase bad[] = {{"x", none, 1}};
	const struct scenario_phrase unk[] = {{"x", only_unknown, 1}};
	char buf[ASR_GRAMMAR_MAX], small[40];

	cr_assert_eq(asr_grammar_build(phrases, 0, 0, NULL, NULL, buf,
				       sizeof(buf), NULL),
		     -EINVAL);
	cr_assert_eq(asr_grammar_build(bad, 1, 0, NULL, NULL, buf,
				       sizeof(buf), NULL),
		     -EINVAL);
	cr_assert_eq(asr_grammar_build(unk, 1, 0, known, NULL, buf,
				       sizeof(buf), NULL),
		     -EINVAL);
	cr_assert_eq(asr_grammar_build(phrases, 2, 0, NULL, NULL, small,
				       sizeof(small), NULL),
		     -ENOSPC);
}

Test(asr_grammar, words_are_lowercased_and_split_on_punctuation)
{
	char w[4][ASR_WORD_MAX];

	cr_assert_eq(asr_grammar_words("  Yes, PLEASE! 'ok' it's", w, 4), 4);
	cr_assert_str_eq(w[0], "yes");
	cr_assert_str_eq(w[1], "please");
	cr_assert_str_eq(w[2], "ok");
	cr_assert_str_eq(w[3], "it's");
	cr_assert_eq(asr_grammar_words("a b c d e", w, 4), -E2BIG);
	cr_assert_eq(asr_grammar_words("Да, оператор", w, 4), 2);
	cr_assert_str_eq(w[1], "оператор");
}

Test(asr_grammar, hypothesis_maps_to_phrase_with_confidence)
{
	double conf;

	cr_assert_eq(asr_grammar_match(phrases, 2, "talk to a human", &conf),
		     1);
	cr_assert_float_eq(conf, 1.0, 1e-9);
	cr_assert_eq(asr_grammar_match(phrases, 2, "well yeah", &conf), 0);
	cr_assert_float_eq(conf, 0.5, 1e-9);
	cr_assert_eq(asr_grammar_match(phrases, 2, "the weather is nice",
				       &conf),
		     -1);
	cr_assert_float_eq(conf, 0.0, 1e-9);
	cr_assert_eq(asr_grammar_match(phrases, 2, "", &conf), -1);
}

Test(asr_grammar, acoustic_score_maps_linearly_and_clamps)
{
	cr_assert_float_eq(asr_grammar_acoustic(-35, -45, -25), 0.5, 1e-9);
	cr_assert_float_eq(asr_grammar_acoustic(-60, -45, -25), 0, 1e-9);
	cr_assert_float_eq(asr_grammar_acoustic(-10, -45, -25), 1, 1e-9);
	cr_assert_float_eq(asr_grammar_acoustic(-10, -25, -45), 1, 1e-9);
}

Test(asr_grammar, a_synonym_of_too_many_words_is_left_out)
{
	static const char *const syn[] = {
		"one two three four five six seven eight nine ten eleven twelve "
		"thirteen",
		"short one"};
	const struct scenario_phrase ph[] = {{"x", syn, 2}};
	char buf[ASR_GRAMMAR_MAX];
	struct asr_grammar_stats st;

	cr_assert_gt(asr_grammar_build(ph, 1, 0, NULL, NULL, buf, sizeof(buf),
				       &st),
		     0);
	cr_assert(strstr(buf, "<p0> = short one;"), "%s", buf);
	cr_assert_eq(st.dropped, 1);
}
