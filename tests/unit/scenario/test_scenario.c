/* Scenario documents: parsing and every lint rule, each with a document
 * that breaks it and one that does not. */
#include <errno.h>

#include "scen_test.h"

TestSuite(scenario, .fini = pbx_test_fini);

static const char good[] =
	"{'start':'greet','nodes':{"
	"'greet':{'type':'greeting','options':{'prompt':'welcome'},"
	"'outputs':{'next':'bye'}},"
	"'bye':{'type':'hangup','options':{'code':486}}}}";

static int parse(const char *sq, struct scenario_report *rep)
{
	return scen_try(sq, NULL, NULL, NULL, rep);
}

static bool has(const struct scenario_report *rep, const char *s)
{
	return strstr(rep->text, s) != NULL;
}

/* A tenant with prompt "welcome", extension 100, queue "sales", list
 * "vip", schedule "office", boxes "main", room "board", and fax enabled
 * unless arg says otherwise. */
static bool tenant(enum scenario_ref kind, const char *name, void *arg)
{
	bool fax_off = arg != NULL;

	switch (kind) {
	case SCENARIO_REF_PROMPT:
		return !strcmp(name, "welcome");
	case SCENARIO_REF_EXTENSION:
		return !strcmp(name, "100");
	case SCENARIO_REF_QUEUE:
		return !strcmp(name, "sales");
	case SCENARIO_REF_LIST:
		return !strcmp(name, "vip");
	case SCENARIO_REF_SCHEDULE:
		return !strcmp(name, "office");
	case SCENARIO_REF_FAX_BOX:
	case SCENARIO_REF_VOICEMAIL_BOX:
		return !strcmp(name, "main");
	case SCENARIO_REF_CONFERENCE:
		return !strcmp(name, "board");
	case SCENARIO_REF_FEATURE:
		return !strcmp(name, "fax") && !fax_off;
	default:
		return false;
	}
}

Test(scenario, greeting_then_hangup_parses)
{
	struct scenario_report rep;

	cr_assert_eq(parse(good, &rep), 0, "%s", rep.text);
	cr_assert_eq(rep.errors, 0);
}

Test(scenario, invalid_json_names_line_and_column)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{'start': 'a',", &rep), -EINVAL);
	cr_assert(has(&rep, "invalid JSON at line 1"), "%s", rep.text);
}

Test(scenario, non_object_document_is_rejected)
{
	struct scenario_report rep;

	cr_assert_eq(parse("[1,2]", &rep), -EINVAL);
	cr_assert_eq(parse("{'nodes':{}}", &rep), -EINVAL);
	cr_assert(has(&rep, "at least one node"));
}

Test(scenario, unknown_document_field_is_an_error)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{'start':'h','colour':1,'nodes':{'h':{'type':"
			   "'hangup'}}}",
			   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "document: unknown field \"colour\""));
}

Test(scenario, unknown_type_is_named_with_node)
{
	struct scenario_report rep;

	cr_assert_eq(
		parse("{'start':'a','nodes':{'a':{'type':'teleport'}}}", &rep),
		-EINVAL);
	cr_assert(has(&rep, "node a: unknown type \"teleport\""), "%s",
		  rep.text);
}

Test(scenario, missing_start_node_is_an_error)
{
	struct scenario_report rep;

	cr_assert_eq(
		parse("{'start':'x','nodes':{'a':{'type':'hangup'}}}", &rep),
		-EINVAL);
	cr_assert(has(&rep, "start node \"x\" does not exist"));
}

Test(scenario, arrow_to_missing_node_is_an_error)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{'start':'g','nodes':{'g':{'type':'greeting',"
			   "'options':{'prompt':'p'},'outputs':{'next':"
			   "'nowhere'}}}}",
			   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "node g: output \"next\" points to missing "
			    "node \"nowhere\""),
		  "%s", rep.text);
}

Test(scenario, missing_required_option_is_an_error)
{
	struct scenario_report rep;

	cr_assert_eq(
		parse("{'start':'g','nodes':{'g':{'type':'greeting'}}}", &rep),
		-EINVAL);
	cr_assert(has(&rep, "node g: greeting needs option \"prompt\""), "%s",
		  rep.text);
}

Test(scenario, unknown_option_and_wrong_type_are_both_reported)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{'start':'h','nodes':{'h':{'type':'hangup',"
			   "'options':{'code':'busy','colour':1}}}}",
			   &rep),
		     -EINVAL);
	cr_assert_eq(rep.errors, 2, "%s", rep.text);
	cr_assert(has(&rep, "option \"code\" must be an integer"));
	cr_assert(has(&rep, "hangup has no option \"colour\""));
}

Test(scenario, option_value_outside_its_set_is_an_error)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{'start':'s','nodes':{'s':{'type':'subscriber',"
			   "'options':{'kind':'pager','target':'100'}}}}",
			   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "option \"kind\" must be one of internal,"
			    "external,mobile"),
		  "%s", rep.text);
}

Test(scenario, hangup_code_out_of_range_is_an_error)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{'start':'h','nodes':{'h':{'type':'hangup',"
			   "'options':{'code':200}}}}",
			   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "between 400 and 699"));
}

Test(scenario, end_point_with_outputs_is_an_error)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{'start':'h','nodes':{'h':{'type':'hangup',"
			   "'outputs':{'next':'h'}}}}",
			   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "hangup ends the call"));
}

Test(scenario, answered_is_not_an_output)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{'start':'s','nodes':{'s':{'type':'subscriber',"
			   "'options':{'kind':'internal','target':'100'},"
			   "'outputs':{'answered':'h'}},'h':{'type':"
			   "'hangup'}}}",
			   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "node s: \"answered\" is not an output"), "%s",
		  rep.text);
}

Test(scenario, digit_output_must_name_one_key)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{'start':'m','nodes':{'m':{'type':'ivr','options':"
			   "{'prompt':'p'},'outputs':{'digit:12':'h',"
			   "'timeout':'h'}},'h':{'type':'hangup'}}}",
			   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "output \"digit:12\" must name one key"), "%s",
		  rep.text);
}

Test(scenario, unreachable_node_is_an_error)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{'start':'a','nodes':{'a':{'type':'hangup'},"
			   "'b':{'type':'hangup'}}}",
			   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "node b: is not reachable"));
}

Test(scenario, subscriber_timeout_without_output_is_an_error)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{'start':'s','nodes':{'s':{'type':'subscriber',"
			   "'options':{'kind':'internal','target':'100',"
			   "'timeout':20}}}}",
			   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "node s: has a timeout of 20 s but no output "
			    "\"no_answer\" or \"next\""),
		  "%s", rep.text);
	/* With "next" it is fine; without a timeout it is an end point. */
	cr_assert_eq(parse("{'start':'s','nodes':{'s':{'type':'subscriber',"
			   "'options':{'kind':'internal','target':'100',"
			   "'timeout':20},'outputs':{'next':'h'}},"
			   "'h':{'type':'hangup'}}}",
			   &rep),
		     0, "%s", rep.text);
	cr_assert_eq(parse("{'start':'s','nodes':{'s':{'type':'subscriber',"
			   "'options':{'kind':'internal','target':'100'}}}}",
			   &rep),
		     0, "%s", rep.text);
}

Test(scenario, no_answer_output_without_timeout_is_a_warning)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{'start':'s','nodes':{'s':{'type':'subscriber',"
			   "'options':{'kind':'internal','target':'100'},"
			   "'outputs':{'no_answer':'h'}},'h':{'type':"
			   "'hangup'}}}",
			   &rep),
		     0, "%s", rep.text);
	cr_assert(has(&rep, "warning: node s: output \"no_answer\" is never "
			    "taken"),
		  "%s", rep.text);
}

Test(scenario, external_target_must_be_a_number)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{'start':'s','nodes':{'s':{'type':'subscriber',"
			   "'options':{'kind':'external','target':'bob'}}}}",
			   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "target \"bob\" is not a phone number"));
	cr_assert_eq(parse("{'start':'s','nodes':{'s':{'type':'subscriber',"
			   "'options':{'kind':'mobile','target':"
			   "'+7 916 123-45-67'}}}}",
			   &rep),
		     0, "%s", rep.text);
}

Test(scenario, ivr_without_timeout_output_is_an_error)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{'start':'m','nodes':{'m':{'type':'ivr','options':"
			   "{'prompt':'p','timeout':7},'outputs':{'digit:1':"
			   "'h'}},'h':{'type':'hangup'}}}",
			   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "node m: waits 7 s for input but has no output "
			    "\"timeout\""),
		  "%s", rep.text);
	cr_assert_eq(parse("{'start':'m','nodes':{'m':{'type':'ivr','options':"
			   "{'prompt':'p'},'outputs':{'digit:1':'h',"
			   "'timeout':'h'}},'h':{'type':'hangup'}}}",
			   &rep),
		     0, "%s", rep.text);
}

Test(scenario, crm_and_assistant_need_outputs_for_their_timeouts)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{'start':'c','nodes':{'c':{'type':'crm','options':"
			   "{'crm':'bitrix24'},'outputs':{'not_found':'h'}},"
			   "'h':{'type':'hangup'}}}",
			   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "node c: has a timeout of 20 s"), "%s", rep.text);
	cr_assert_eq(parse("{'start':'a','nodes':{'a':{'type':'assistant',"
			   "'options':{'prompt':'p','phrases':{'sales':[]}},"
			   "'outputs':{'phrase:sales':'h'}},'h':{'type':"
			   "'hangup'}}}",
			   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "node a: waits 5 s for speech"), "%s", rep.text);
	cr_assert_eq(parse("{'start':'a','nodes':{'a':{'type':'assistant',"
			   "'options':{'prompt':'p','phrases':{'sales':[]}},"
			   "'outputs':{'phrase:sales':'h','no_input':'h'}},"
			   "'h':{'type':'hangup'}}}",
			   &rep),
		     0, "%s", rep.text);
}

Test(scenario, queue_without_exit_route_is_an_error)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{'start':'q','nodes':{'q':{'type':'queue',"
			   "'options':{'queue':'sales'}}}}",
			   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "node q: a queue needs an exit route"));
	cr_assert_eq(parse(scenario_default_json(), &rep), 0, "%s", rep.text);
}

Test(scenario, loop_without_waiting_node_is_an_error)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{'start':'a','nodes':{"
			   "'a':{'type':'list','options':{'entries':['101']},"
			   "'outputs':{'in_list':'b','not_in_list':'b'}},"
			   "'b':{'type':'schedule','options':{'timezone':"
			   "'UTC','windows':[{'days':'all','from':'09:00',"
			   "'to':'18:00'}]},'outputs':{'match':'a',"
			   "'no_match':'h'}},'h':{'type':'hangup'}}}",
			   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "is in a loop (a, b) where no node waits"), "%s",
		  rep.text);
}

Test(scenario, loop_through_a_menu_is_legal)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{'start':'m','nodes':{"
			   "'m':{'type':'ivr','options':{'prompt':'p'},"
			   "'outputs':{'digit:0':'s','timeout':'h'}},"
			   "'s':{'type':'schedule','options':{'timezone':"
			   "'UTC','windows':[{'days':'all','from':'09:00',"
			   "'to':'18:00'}]},'outputs':{'match':'m',"
			   "'no_match':'h'}},'h':{'type':'hangup'}}}",
			   &rep),
		     0, "%s", rep.text);
}

Test(scenario, self_loop_of_a_pure_node_is_an_error)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{'start':'a','nodes':{'a':{'type':'list',"
			   "'options':{'entries':['1']},'outputs':{'in_list':"
			   "'a','not_in_list':'h'}},'h':{'type':'hangup'}}}",
			   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "node a: is in a loop (a)"), "%s", rep.text);
}

Test(scenario, ivr_choice_that_starts_an_extension_is_a_warning)
{
	struct scenario_report rep;

	/* "Press 1 for sales" beside 1xx extensions: legal, time decides. */
	cr_assert_eq(parse("{'start':'m','nodes':{'m':{'type':'ivr','options':"
			   "{'prompt':'p','extension_dialing':true,"
			   "'extension_digits':'123','inter_digit_ms':1500},"
			   "'outputs':{'digit:1':'h','timeout':'h'}},"
			   "'h':{'type':'hangup'}}}",
			   &rep),
		     0, "%s", rep.text);
	cr_assert_eq(rep.errors, 0);
	cr_assert_eq(rep.warnings, 1, "%s", rep.text);
	cr_assert(has(&rep, "warning: node m: digit 1 is a menu choice and "
			    "also starts direct extension dialing: after 1 "
			    "the menu waits inter_digit_ms (1500 ms)"),
		  "%s", rep.text);
	cr_assert_eq(parse("{'start':'m','nodes':{'m':{'type':'ivr','options':"
			   "{'prompt':'p','extension_dialing':true,"
			   "'extension_digits':'23'},'outputs':{'digit:1':"
			   "'h','timeout':'h'}},'h':{'type':'hangup'}}}",
			   &rep),
		     0, "%s", rep.text);
	cr_assert_eq(rep.warnings, 0, "%s", rep.text);
	cr_assert_eq(parse("{'start':'m','nodes':{'m':{'type':'ivr','options':"
			   "{'prompt':'p','extension_dialing':true,"
			   "'extension_digits':'1','extension_min_len':1,"
			   "'extension_max_len':1},'outputs':{'digit:1':"
			   "'h','timeout':'h'}},'h':{'type':'hangup'}}}",
			   &rep),
		     0, "%s", rep.text);
	cr_assert(has(&rep, "warning: node m: digit 1 is a menu choice and a "
			    "one-digit extension"),
		  "%s", rep.text);
}

Test(scenario, schedule_that_can_never_match_is_an_error)
{
	struct scenario_report rep;

	cr_assert_eq(
		parse("{'start':'s','nodes':{'s':{'type':'schedule',"
		      "'options':{'timezone':'Europe/Moscow','holidays':"
		      "['01-01']},'outputs':{'match':'h','no_match':'h'}},"
		      "'h':{'type':'hangup'}}}",
		      &rep),
		-EINVAL);
	cr_assert(has(&rep, "node s: the schedule can never match"), "%s",
		  rep.text);
}

Test(scenario, referenced_schedule_that_can_never_match_is_an_error)
{
	struct scenario_objects *objs;
	struct scenario_report rep;
	const char *doc = "{'start':'s','nodes':{'s':{'type':'schedule',"
			  "'options':{'schedule':'office'},'outputs':{"
			  "'match':'h','no_match':'h'}},'h':{'type':"
			  "'hangup'}}}";

	cr_assert_eq(scenario_objects_alloc(&objs), 0);
	/* An object that can never match is refused on its own put... */
	cr_assert_eq(scenario_object_check("schedule",
					   J("{'timezone':'UTC','windows':"
					     "[]}"),
					   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "can never match"), "%s", rep.text);
	/* ... a working one passes with the scenario. */
	scen_obj(objs, "schedule", "office",
		 "{'timezone':'UTC','windows':[{'days':'mon-fri','from':"
		 "'09:00','to':'18:00'}]}");
	cr_assert_eq(scen_try(doc, objs, NULL, NULL, &rep), 0, "%s", rep.text);
	scenario_objects_free(objs);
}

Test(scenario, unknown_time_zone_is_an_error)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{'start':'s','nodes':{'s':{'type':'schedule',"
			   "'options':{'timezone':'Mars/Olympus','windows':"
			   "[{'days':'all','from':'09:00','to':'18:00'}]},"
			   "'outputs':{'match':'h','no_match':'h'}},'h':{"
			   "'type':'hangup'}}}",
			   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "unknown time zone \"Mars/Olympus\""), "%s",
		  rep.text);
	cr_assert_eq(parse("{'start':'h','timezone':'Nowhere/City','nodes':{"
			   "'h':{'type':'hangup'}}}",
			   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "\"timezone\" must be an IANA time zone"));
}

Test(scenario, schedule_needs_a_reference_or_inline_rules_not_both)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{'start':'s','nodes':{'s':{'type':'schedule',"
			   "'outputs':{'match':'h','no_match':'h'}},'h':{"
			   "'type':'hangup'}}}",
			   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "schedule needs option \"schedule\""), "%s",
		  rep.text);
	cr_assert_eq(parse("{'start':'s','nodes':{'s':{'type':'schedule',"
			   "'options':{'schedule':'x','timezone':'UTC'},"
			   "'outputs':{'match':'h','no_match':'h'}},'h':{"
			   "'type':'hangup'}}}",
			   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "not both"), "%s", rep.text);
}

Test(scenario, references_to_missing_tenant_things_are_errors)
{
	struct scenario_report rep;
	const char *bad =
		"{'start':'l','nodes':{"
		"'l':{'type':'list','options':{'list':'nope'},'outputs':{"
		"'in_list':'s','not_in_list':'t'}},"
		"'t':{'type':'schedule','options':{'schedule':'nope'},"
		"'outputs':{'match':'q','no_match':'v'}},"
		"'q':{'type':'queue','options':{'queue':'nope','moh':'nope'},"
		"'outputs':{'timeout':'v'}},"
		"'s':{'type':'subscriber','options':{'kind':'internal',"
		"'target':'999'}},"
		"'v':{'type':'voicemail','options':{'box':'nope'}}}}";
	const char *good_refs =
		"{'start':'l','nodes':{"
		"'l':{'type':'list','options':{'list':'vip'},'outputs':{"
		"'in_list':'s','not_in_list':'t'}},"
		"'t':{'type':'schedule','options':{'schedule':'office'},"
		"'outputs':{'match':'q','no_match':'c'}},"
		"'q':{'type':'queue','options':{'queue':'sales','moh':"
		"'welcome'},'outputs':{'timeout':'v'}},"
		"'s':{'type':'subscriber','options':{'kind':'internal',"
		"'target':'100'}},"
		"'c':{'type':'conference','options':{'room':'board'}},"
		"'v':{'type':'voicemail','options':{'box':'main'}}}}";

	cr_assert_eq(scen_try(bad, NULL, tenant, NULL, &rep), -EINVAL);
	cr_assert(has(&rep, "node l: list \"nope\" does not exist"), "%s",
		  rep.text);
	cr_assert(has(&rep, "node t: schedule \"nope\" does not exist"));
	cr_assert(has(&rep, "node q: queue \"nope\" does not exist"));
	cr_assert(has(&rep, "node q: prompt \"nope\" does not exist"));
	cr_assert(has(&rep, "node s: extension \"999\" does not exist"));
	cr_assert(has(&rep, "node v: voicemail box \"nope\" does not exist"));
	cr_assert_eq(scen_try(good_refs, NULL, tenant, NULL, &rep), 0, "%s",
		     rep.text);
}

Test(scenario, object_references_are_checked_against_objects_alone)
{
	struct scenario_objects *objs;
	struct scenario_report rep;
	const char *doc = "{'start':'c','nodes':{'c':{'type':'conference',"
			  "'options':{'room':'board'}}}}";

	cr_assert_eq(scenario_objects_alloc(&objs), 0);
	cr_assert_eq(scen_try(doc, objs, NULL, NULL, &rep), -EINVAL);
	cr_assert(has(&rep, "conference room \"board\" does not exist"));
	scen_obj(objs, "conference", "board", "{'pin':'1234'}");
	cr_assert_eq(scen_try(doc, objs, NULL, NULL, &rep), 0, "%s", rep.text);
	scenario_objects_free(objs);
}

Test(scenario, fax_without_the_paid_option_is_an_error)
{
	struct scenario_report rep;
	const char *doc = "{'start':'f','nodes':{'f':{'type':'fax',"
			  "'options':{'box':'main'}}}}";

	cr_assert_eq(scen_try(doc, NULL, tenant, (void *)1, &rep), -EINVAL);
	cr_assert(has(&rep, "node f: the tenant has not enabled the paid "
			    "\"fax\" option"),
		  "%s", rep.text);
	cr_assert_eq(scen_try(doc, NULL, tenant, NULL, &rep), 0, "%s",
		     rep.text);
}

Test(scenario, synonym_shared_by_two_phrases_is_an_error)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{'start':'a','nodes':{'a':{'type':'assistant',"
			   "'options':{'prompt':'p','phrases':{"
			   "'sales':['buy','Order'],'support':['help',"
			   "'order']}},'outputs':{'phrase:sales':'h',"
			   "'phrase:support':'h','no_input':'h'}},'h':{"
			   "'type':'hangup'}}}",
			   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "node a: \"Order\" is a synonym of both phrase "
			    "\"sales\" and phrase \"support\""),
		  "%s", rep.text);
	cr_assert_eq(parse("{'start':'a','nodes':{'a':{'type':'assistant',"
			   "'options':{'prompt':'p','phrases':{"
			   "'sales':['buy'],'support':['help']}},'outputs':{"
			   "'phrase:sales':'h','phrase:support':'h',"
			   "'no_input':'h'}},'h':{'type':'hangup'}}}",
			   &rep),
		     0, "%s", rep.text);
}

Test(scenario, phrase_without_output_and_output_without_phrase_are_errors)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{'start':'a','nodes':{'a':{'type':'assistant',"
			   "'options':{'prompt':'p','phrases':{'sales':[]}},"
			   "'outputs':{'phrase:support':'h','no_input':'h'}},"
			   "'h':{'type':'hangup'}}}",
			   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "phrase \"sales\" has no output"), "%s", rep.text);
	cr_assert(has(&rep, "output \"phrase:support\" names no phrase"));
}

Test(scenario, unknown_prompt_is_an_error_known_is_not)
{
	struct scenario_report rep;

	cr_assert_eq(scen_try(good, NULL, tenant, NULL, &rep), 0, "%s",
		     rep.text);
	cr_assert_eq(scen_try("{'start':'g','nodes':{'g':{'type':'greeting',"
			      "'options':{'prompt':'nope'}}}}",
			      NULL, tenant, NULL, &rep),
		     -EINVAL);
	cr_assert(has(&rep, "node g: prompt \"nope\" does not exist"));
}

Test(scenario, missing_branch_output_is_a_warning)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{'start':'l','nodes':{'l':{'type':'list',"
			   "'options':{'entries':['101']},'outputs':{"
			   "'in_list':'h'}},'h':{'type':'hangup'}}}",
			   &rep),
		     0, "%s", rep.text);
	cr_assert(has(&rep, "warning: node l: no output \"not_in_list\""),
		  "%s", rep.text);
}

Test(scenario, conference_is_live_and_stored_without_a_warning)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{'start':'c','nodes':{'c':{'type':'conference',"
			   "'options':{'room':'main'}}}}",
			   &rep),
		     0);
	cr_assert_eq(rep.warnings, 0, "%s", rep.text);
}

Test(scenario, assistant_is_live_and_stored_without_a_warning)
{
	struct scenario_report rep;

	/* The assistant runs on the asr-bridges (issue 13). */
	cr_assert_eq(parse("{'start':'c','nodes':{'c':{'type':'assistant',"
			   "'options':{'prompt':'ask','phrases':{'sales':"
			   "['sales']}},'outputs':{'phrase:sales':'h',"
			   "'no_input':'h','not_recognized':'h'}},"
			   "'h':{'type':'hangup'}}}",
			   &rep),
		     0, "%s", rep.text);
	cr_assert_eq(rep.warnings, 0, "%s", rep.text);
}

/* What the asr-bridge takes: 32 phrases, 16 synonyms with the name, 128
 * bytes a synonym. */
Test(scenario, assistant_phrases_beyond_the_bridges_bounds_are_refused)
{
	char doc[8192], *p = doc;
	struct scenario_report rep;

	p += sprintf(p, "{'start':'c','nodes':{'c':{'type':'assistant',"
			"'options':{'prompt':'ask','phrases':{");
	for (int i = 0; i < 33; i++)
		p += sprintf(p, "%s'p%d':[]", i ? "," : "", i);
	p += sprintf(p, ",'many':['a','b','c','d','e','f','g','h','i','j','k',"
			"'l','m','n','o','p'],'long':['%0129d']}},"
			"'outputs':{'no_input':'h'",
		     0);
	for (int i = 0; i < 33; i++)
		p += sprintf(p, ",'phrase:p%d':'h'", i);
	sprintf(p, ",'phrase:many':'h','phrase:long':'h'}},"
		   "'h':{'type':'hangup'}}}");
	cr_assert_neq(parse(doc, &rep), 0);
	cr_assert(has(&rep, "35 phrases (at most 32)"), "%s", rep.text);
	cr_assert(has(&rep, "phrase \"many\" has 17 synonyms with its name "
			    "(at most 16)"),
		  "%s", rep.text);
	cr_assert(has(&rep, "a synonym of phrase \"long\" is longer than 128 "
			    "bytes"),
		  "%s", rep.text);
}

Test(scenario, every_problem_is_reported_at_once)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{'start':'a','nodes':{"
			   "'a':{'type':'greeting','outputs':{'next':'zz'}},"
			   "'b':{'type':'teleport'},"
			   "'c':{'type':'hangup','options':{'code':1}}}}",
			   &rep),
		     -EINVAL);
	cr_assert_geq(rep.errors, 4, "%s", rep.text);
}

Test(scenario, a_missing_node_hides_no_other_class_of_error)
{
	struct scenario_report rep;

	/* An arrow to a missing node, an unreachable node, a loop of pure
	 * nodes and a queue without its exit route: all four, at once. */
	cr_assert_eq(parse("{'start':'a','nodes':{"
			   "'a':{'type':'list','options':{'entries':['1']},"
			   "'outputs':{'in_list':'b','not_in_list':"
			   "'nowhere'}},"
			   "'b':{'type':'schedule','options':{'timezone':"
			   "'UTC','windows':[{'days':'all','from':'09:00',"
			   "'to':'18:00'}]},'outputs':{'match':'a',"
			   "'no_match':'q'}},"
			   "'q':{'type':'queue','options':{'queue':'sales'}},"
			   "'u':{'type':'hangup'}}}",
			   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "node a: output \"not_in_list\" points to "
			    "missing node \"nowhere\""),
		  "%s", rep.text);
	cr_assert(has(&rep, "node u: is not reachable from the start node"),
		  "%s", rep.text);
	cr_assert(has(&rep, "is in a loop (a, b) where no node waits"), "%s",
		  rep.text);
	cr_assert(has(&rep, "node q: a queue needs an exit route"), "%s",
		  rep.text);
	cr_assert_eq(rep.errors, 4, "%s", rep.text);
}

Test(scenario, option_errors_hide_no_graph_errors)
{
	struct scenario_report rep;

	/* A window that is no time (found when options are compiled) and
	 * an ivr without its timeout output, beside an unreachable node. */
	cr_assert_eq(parse("{'start':'s','nodes':{"
			   "'s':{'type':'schedule','options':{'timezone':"
			   "'UTC','windows':[{'days':'all','from':'25:00',"
			   "'to':'18:00'}]},'outputs':{'match':'m',"
			   "'no_match':'m'}},"
			   "'m':{'type':'ivr','options':{'prompt':'p'},"
			   "'outputs':{'digit:1':'h'}},"
			   "'h':{'type':'hangup'},'u':{'type':'hangup'}}}",
			   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "node s: "), "%s", rep.text);
	cr_assert(has(&rep, "node m: waits 10 s for input but has no output "
			    "\"timeout\""),
		  "%s", rep.text);
	cr_assert(has(&rep, "node u: is not reachable"), "%s", rep.text);
	cr_assert_eq(rep.errors, 3, "%s", rep.text);
}

Test(scenario, structure_errors_add_no_guesses_of_the_graph_rules)
{
	struct scenario_report rep;

	/* No start node: the nodes are not all "unreachable" too. */
	cr_assert_eq(parse("{'start':'x','nodes':{'a':{'type':'hangup'},"
			   "'b':{'type':'hangup'}}}",
			   &rep),
		     -EINVAL);
	cr_assert_eq(rep.errors, 1, "%s", rep.text);
	/* An unknown type may wait: no loop is guessed through it. Bad
	 * options are reported once, not again by the compiled rules. */
	cr_assert_eq(parse("{'start':'a','nodes':{"
			   "'a':{'type':'list','options':{'entries':['1']},"
			   "'outputs':{'in_list':'t','not_in_list':'t'}},"
			   "'t':{'type':'teleport','outputs':{'next':'a'}},"
			   "'s':{'type':'subscriber','options':{'kind':"
			   "'internal','target':5,'timeout':'x'}}}}",
			   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "node t: unknown type \"teleport\""), "%s",
		  rep.text);
	cr_assert(!has(&rep, "loop"), "%s", rep.text);
	cr_assert(has(&rep, "node s: option \"target\" must be"), "%s",
		  rep.text);
	cr_assert(has(&rep, "node s: option \"timeout\" must be"), "%s",
		  rep.text);
	cr_assert(has(&rep, "node s: is not reachable"), "%s", rep.text);
	cr_assert_eq(rep.errors, 4, "%s", rep.text);
}

/* n schedules in a row (s00 -> s01 -> ...), the last one to hangup h. */
static char *schedule_chain(int n)
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
			"'18:00'}]},'outputs':{'match':'%s','no_match':'%s'}},",
			i, next, next);
	}
	snprintf(doc + len, 65536 - len,
		 "'h':{'type':'hangup','options':{'code':486}}}}");
	return doc;
}

Test(scenario, chain_of_pure_nodes_longer_than_the_walk_follows_is_an_error)
{
	struct scenario_report rep;
	char *doc;

	/* 64 schedules and the hangup: 65 nodes in one step, one more than
	 * WALK_MAX_HOPS. */
	doc = schedule_chain(64);
	cr_assert_eq(parse(doc, &rep), -EINVAL);
	free(doc);
	cr_assert_eq(rep.errors, 1, "%s", rep.text);
	cr_assert(has(&rep, "node s00: a call passes 65 nodes in one step "
			    "here without waiting for the caller (s00 -> "
			    "s01 -> ... -> s63 -> h), more than the 64 the "
			    "walk follows: every such call would end with "
			    "500 \"Scenario Loop\""),
		  "%s", rep.text);
	doc = schedule_chain(65);
	cr_assert_eq(parse(doc, &rep), -EINVAL);
	free(doc);
	cr_assert(has(&rep, "node s00: a call passes 66 nodes"), "%s",
		  rep.text);
	/* 63 schedules and the hangup: exactly the limit. */
	doc = schedule_chain(63);
	cr_assert_eq(parse(doc, &rep), 0, "%s", rep.text);
	free(doc);
	doc = schedule_chain(60);
	cr_assert_eq(parse(doc, &rep), 0, "%s", rep.text);
	free(doc);
}

Test(scenario, long_chain_is_named_once_at_its_head)
{
	struct scenario_report rep;

	/* A greeting (it waits) then 66 lists, the last without outputs
	 * (it ends the call): the chain starts after the greeting and is
	 * reported once, not once per list. */
	char *doc = malloc(65536);
	size_t len = 0;

	len += (size_t)snprintf(doc, 65536,
				"{'start':'g','nodes':{'g':{'type':"
				"'greeting','options':{'prompt':'p'},"
				"'outputs':{'next':'l00'}},");
	for (int i = 0; i < 65; i++)
		len += (size_t)snprintf(doc + len, 65536 - len,
					"'l%02d':{'type':'list','options':{"
					"'entries':['1']},'outputs':{"
					"'in_list':'l%02d','not_in_list':"
					"'l%02d'}},",
					i, i + 1, i + 1);
	snprintf(doc + len, 65536 - len,
		 "'l65':{'type':'list','options':{'entries':['1']}}}}");
	cr_assert_eq(parse(doc, &rep), -EINVAL);
	free(doc);
	cr_assert_eq(rep.errors, 1, "%s", rep.text);
	cr_assert(has(&rep, "node l00: a call passes 66 nodes"), "%s",
		  rep.text);
	cr_assert(has(&rep, "(l00 -> l01 -> ... -> l64 -> l65)"), "%s",
		  rep.text);
}

Test(scenario, long_reports_are_cut_at_a_line_boundary)
{
	struct scenario_report rep;
	char *doc = malloc(200000);
	size_t n = 0;

	n += (size_t)sprintf(doc, "{'start':'n0','nodes':{");
	for (int i = 0; i < 400; i++)
		n += (size_t)sprintf(doc + n,
				     "%s'n%d':{'type':'hangup','options':{"
				     "'code':1,'reason_%d':2}}",
				     i ? "," : "", i, i);
	sprintf(doc + n, "}}");
	cr_assert_eq(parse(doc, &rep), -EINVAL);
	cr_assert_gt(rep.errors, 400);
	cr_assert_lt(rep.len, sizeof(rep.text));
	cr_assert_eq(strlen(rep.text), rep.len);
	cr_assert(rep.len > 4 && !strcmp(rep.text + rep.len - 4, "...\n"),
		  "%s", rep.text + rep.len - 40);
	free(doc);
}

Test(scenario, default_scenario_is_valid)
{
	struct scenario_report rep;

	cr_assert_eq(parse(scenario_default_json(), &rep), 0, "%s", rep.text);
}

static void count_ref(enum scenario_ref kind, const char *name,
		      const char *node, void *arg)
{
	int *n = arg;

	(void)node;
	if (kind == SCENARIO_REF_FEATURE)
		cr_assert_str_eq(name, "fax");
	(*n)++;
}

Test(scenario, refs_lists_every_reference_with_its_node)
{
	struct scenario *sc = scen_load(
		"{'start':'f','nodes':{'f':{'type':'fax','options':{'box':"
		"'main'}}}}",
		NULL);
	int n = 0;

	scenario_refs(sc, count_ref, &n);
	cr_assert_eq(n, 2); /* feature fax + fax box */
	scenario_free(sc);
}

Test(scenario, timezone_comes_from_document_or_first_schedule)
{
	struct scenario *sc = scen_load(
		"{'start':'s','nodes':{'s':{'type':'schedule','options':{"
		"'timezone':'Asia/Vladivostok','windows':[{'days':'all',"
		"'from':'09:00','to':'18:00'}]},'outputs':{'match':'h',"
		"'no_match':'h'}},'h':{'type':'hangup'}}}",
		NULL);

	cr_assert_str_eq(scenario_timezone(sc, NULL), "Asia/Vladivostok");
	scenario_free(sc);
	sc = scen_load("{'start':'h','timezone':'Europe/Berlin','nodes':{"
		       "'h':{'type':'hangup'}}}",
		       NULL);
	cr_assert_str_eq(scenario_timezone(sc, NULL), "Europe/Berlin");
	cr_assert_str_eq(scenario_start(sc), "h");
	scenario_free(sc);
}

Test(scenario, type_and_ref_names_round_trip)
{
	for (int t = 0; t < NODE_TYPE_COUNT; t++) {
		enum node_type back;

		cr_assert_eq(
			scenario_type_find(
				scenario_type_name((enum node_type)t), &back),
			0);
		cr_assert_eq((int)back, t);
	}
	for (int k = 0; k < SCENARIO_REF_COUNT; k++) {
		enum scenario_ref back;

		cr_assert_eq(scenario_ref_find(
				     scenario_ref_name((enum scenario_ref)k),
				     &back),
			     0);
		cr_assert_eq((int)back, k);
	}
	cr_assert(scenario_ref_is_object(SCENARIO_REF_SCHEDULE));
	cr_assert_not(scenario_ref_is_object(SCENARIO_REF_PROMPT));
}

/* Call recording options of the subscriber node: record is a boolean,
 * record_prompt a prompt of the tenant. */
Test(scenario, subscriber_record_options_are_checked)
{
	struct scenario_report rep;

	cr_assert_eq(scen_try("{'start':'s','nodes':{'s':{'type':'subscriber',"
			      "'options':{'kind':'internal','target':'100',"
			      "'record':true,'record_prompt':'welcome'}}}}",
			      NULL, tenant, NULL, &rep),
		     0, "%s", rep.text);
	cr_assert_eq(scen_try("{'start':'s','nodes':{'s':{'type':'subscriber',"
			      "'options':{'kind':'internal','target':'100',"
			      "'record':'yes'}}}}",
			      NULL, tenant, NULL, &rep),
		     -EINVAL);
	cr_assert(has(&rep, "record"), "%s", rep.text);
	cr_assert_eq(scen_try("{'start':'s','nodes':{'s':{'type':'subscriber',"
			      "'options':{'kind':'internal','target':'100',"
			      "'record':true,'record_prompt':'nope'}}}}",
			      NULL, tenant, NULL, &rep),
		     -EINVAL);
	cr_assert(has(&rep, "node s: prompt \"nope\" does not exist"), "%s",
		  rep.text);
}

/* The scenario-wide recording fields: "record" a boolean,
 * "record_channels" 1 or 2, "record_prompt" a prompt that exists (named
 * by the nodes that would play it); a misspelt field is named. The same
 * three on queue and crm nodes. */
Test(scenario, document_record_options_are_checked)
{
	static const char nodes[] =
		"'nodes':{'s':{'type':'subscriber','options':{"
		"'kind':'internal','target':'100','timeout':10},"
		"'outputs':{'no_answer':'q'}},"
		"'q':{'type':'queue','options':{'queue':'sales'},"
		"'outputs':{'timeout':'bye'}},'bye':{'type':'hangup'}}}";
	struct scenario_report rep;
	char doc[1024];

#define DOC(top) (snprintf(doc, sizeof(doc), "{'start':'s',%s,%s", top, \
			   nodes),                                      \
		  doc)
	cr_assert_eq(scen_try(DOC("'record':true,'record_channels':2,"
				  "'record_prompt':'welcome'"),
			      NULL, tenant, NULL, &rep),
		     0, "%s", rep.text);
	cr_assert_eq(scen_try(DOC("'record':'yes'"), NULL, tenant, NULL, &rep),
		     -EINVAL);
	cr_assert(has(&rep, "document: option \"record\" must be true or "
			    "false"),
		  "%s", rep.text);
	cr_assert_eq(scen_try(DOC("'record':true,'record_channels':3"), NULL,
			      tenant, NULL, &rep),
		     -EINVAL);
	cr_assert(has(&rep, "document: option \"record_channels\" must be "
			    "between 1 and 2"),
		  "%s", rep.text);
	cr_assert_eq(scen_try(DOC("'record_chanels':2"), NULL, tenant, NULL,
			      &rep),
		     -EINVAL);
	cr_assert(has(&rep, "document: the scenario has no option "
			    "\"record_chanels\""),
		  "%s", rep.text);
	cr_assert_eq(scen_try(DOC("'record':true,'record_prompt':'nope'"),
			      NULL, tenant, NULL, &rep),
		     -EINVAL);
	cr_assert(has(&rep, "node s: prompt \"nope\" does not exist"), "%s",
		  rep.text);
	cr_assert(has(&rep, "node q: prompt \"nope\" does not exist"), "%s",
		  rep.text);
	/* Not recorded anywhere: the announcement is never played. */
	cr_assert_eq(scen_try(DOC("'record_prompt':'nope'"), NULL, tenant,
			      NULL, &rep),
		     0, "%s", rep.text);
#undef DOC
	cr_assert_eq(scen_try("{'start':'q','nodes':{'q':{'type':'queue',"
			      "'options':{'queue':'sales','record':true,"
			      "'record_channels':0}}}}",
			      NULL, tenant, NULL, &rep),
		     -EINVAL);
	cr_assert(has(&rep, "node q: option \"record_channels\" must be "
			    "between 1 and 2"),
		  "%s", rep.text);
	cr_assert_eq(scen_try("{'start':'c','nodes':{'c':{'type':'crm',"
			      "'options':{'crm':'api','record':true,"
			      "'record_prompt':'welcome'},'outputs':{"
			      "'next':'bye'}},'bye':{'type':'hangup'}}}",
			      NULL, tenant, NULL, &rep),
		     0, "%s", rep.text);
}
