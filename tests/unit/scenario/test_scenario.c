/* Scenario documents: parsing and every lint rule of this slice, each with
 * a document that breaks it and one that does not. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "pbx_test.h"
#include "scenario.h"

TestSuite(scenario, .fini = pbx_test_fini);

static const char good[] =
	"{\"start\":\"greet\",\"nodes\":{"
	"\"greet\":{\"type\":\"greeting\",\"options\":{\"prompt\":"
	"\"welcome\"},\"outputs\":{\"next\":\"bye\"}},"
	"\"bye\":{\"type\":\"hangup\",\"options\":{\"code\":486}}}}";

static int parse(const char *json, struct scenario_report *rep)
{
	struct scenario *sc = NULL;
	int err = scenario_parse(&sc, json, NULL, NULL, rep);

	if (!err)
		cr_assert_not_null(sc);
	scenario_free(sc);
	return err;
}

static bool only_welcome(enum scenario_ref kind, const char *name, void *arg)
{
	(void)arg;
	return kind != SCENARIO_REF_PROMPT || !strcmp(name, "welcome");
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

	cr_assert_eq(parse("{\"start\": \"a\",", &rep), -EINVAL);
	cr_assert(strstr(rep.text, "invalid JSON at line 1"), "%s", rep.text);
}

Test(scenario, unknown_type_is_named_with_node)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{\"start\":\"a\",\"nodes\":{\"a\":{\"type\":"
			   "\"teleport\"}}}",
			   &rep),
		     -EINVAL);
	cr_assert(strstr(rep.text, "node a: unknown type \"teleport\""), "%s",
		  rep.text);
}

Test(scenario, missing_start_node_is_an_error)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{\"start\":\"x\",\"nodes\":{\"a\":{\"type\":"
			   "\"hangup\"}}}",
			   &rep),
		     -EINVAL);
	cr_assert(strstr(rep.text, "start node \"x\" does not exist"));
}

Test(scenario, arrow_to_missing_node_is_an_error)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{\"start\":\"g\",\"nodes\":{\"g\":{\"type\":"
			   "\"greeting\",\"options\":{\"prompt\":\"p\"},"
			   "\"outputs\":{\"next\":\"nowhere\"}}}}",
			   &rep),
		     -EINVAL);
	cr_assert(strstr(rep.text, "node g: output \"next\" points to "
				   "missing node \"nowhere\""),
		  "%s", rep.text);
}

Test(scenario, missing_required_option_is_an_error)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{\"start\":\"g\",\"nodes\":{\"g\":{\"type\":"
			   "\"greeting\"}}}",
			   &rep),
		     -EINVAL);
	cr_assert(strstr(rep.text, "node g: greeting needs option \"prompt\""));
}

Test(scenario, unknown_option_and_wrong_type_are_both_reported)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{\"start\":\"h\",\"nodes\":{\"h\":{\"type\":"
			   "\"hangup\",\"options\":{\"code\":\"busy\","
			   "\"colour\":1}}}}",
			   &rep),
		     -EINVAL);
	cr_assert_eq(rep.errors, 2, "%s", rep.text);
	cr_assert(strstr(rep.text, "option \"code\" must be an integer"));
	cr_assert(strstr(rep.text, "hangup has no option \"colour\""));
}

Test(scenario, hangup_code_out_of_range_is_an_error)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{\"start\":\"h\",\"nodes\":{\"h\":{\"type\":"
			   "\"hangup\",\"options\":{\"code\":200}}}}",
			   &rep),
		     -EINVAL);
	cr_assert(strstr(rep.text, "between 400 and 699"));
}

Test(scenario, end_point_with_outputs_is_an_error)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{\"start\":\"h\",\"nodes\":{\"h\":{\"type\":"
			   "\"hangup\",\"outputs\":{\"next\":\"h\"}}}}",
			   &rep),
		     -EINVAL);
	cr_assert(strstr(rep.text, "hangup ends the call"));
}

Test(scenario, unreachable_node_is_an_error)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{\"start\":\"a\",\"nodes\":{\"a\":{\"type\":"
			   "\"hangup\"},\"b\":{\"type\":\"hangup\"}}}",
			   &rep),
		     -EINVAL);
	cr_assert(strstr(rep.text, "node b: is not reachable"));
}

Test(scenario, queue_without_exit_route_is_an_error)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{\"start\":\"q\",\"nodes\":{\"q\":{\"type\":"
			   "\"queue\",\"options\":{\"queue\":\"sales\"}}}}",
			   &rep),
		     -EINVAL);
	cr_assert(strstr(rep.text, "node q: a queue needs an exit route"));
}

Test(scenario, unknown_prompt_is_an_error_known_is_not)
{
	struct scenario *sc = NULL;
	struct scenario_report rep;

	cr_assert_eq(scenario_parse(&sc, good, only_welcome, NULL, &rep), 0);
	scenario_free(sc);
	sc = NULL;
	cr_assert_eq(scenario_parse(&sc,
				    "{\"start\":\"g\",\"nodes\":{\"g\":{"
				    "\"type\":\"greeting\",\"options\":{"
				    "\"prompt\":\"nope\"}}}}",
				    only_welcome, NULL, &rep),
		     -EINVAL);
	cr_assert_null(sc);
	cr_assert(strstr(rep.text, "node g: prompt \"nope\" does not exist"));
}

Test(scenario, unsupported_element_is_stored_with_a_warning)
{
	struct scenario_report rep;

	cr_assert_eq(parse("{\"start\":\"v\",\"nodes\":{\"v\":{\"type\":"
			   "\"voicemail\",\"options\":{\"box\":\"main\"}}}}",
			   &rep),
		     0);
	cr_assert_eq(rep.warnings, 1);
	cr_assert(strstr(rep.text, "not supported on live calls yet"));
}

Test(scenario, default_scenario_is_valid)
{
	struct scenario_report rep;

	cr_assert_eq(parse(scenario_default_json(), &rep), 0, "%s", rep.text);
}

Test(scenario, non_object_document_is_rejected)
{
	struct scenario_report rep;

	cr_assert_eq(parse("[1,2]", &rep), -EINVAL);
	cr_assert_eq(parse("{\"nodes\":{}}", &rep), -EINVAL);
	cr_assert(strstr(rep.text, "at least one node"));
}
