/* Tests of services/provision/prov_diff.c: the node-level difference of
 * two scenario documents, exactly as pbxctl scenario diff prints it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_test.h"
#include "prov_diff.h"

TestSuite(prov_diff, .fini = pbx_test_fini);

/* greeting -> ivr (digit 1 -> sales, digit 2 -> bye) */
static const char v1[] =
	"{\"start\":\"g\",\"description\":\"main line\",\"nodes\":{"
	"\"g\":{\"type\":\"greeting\",\"options\":{\"prompt\":\"welcome\"},"
	"\"outputs\":{\"next\":\"menu\"}},"
	"\"menu\":{\"type\":\"ivr\",\"options\":{\"prompt\":\"menu\"},"
	"\"outputs\":{\"digit:1\":\"sales\",\"digit:2\":\"bye\"}},"
	"\"sales\":{\"type\":\"queue\",\"options\":{\"queue\":\"sales\"},"
	"\"outputs\":{\"timeout\":\"bye\"}},"
	"\"bye\":{\"type\":\"hangup\"}}}";

/* Same graph, keys reordered and reindented: no change. */
static const char v1_reordered[] =
	"{\n  \"nodes\": {\n"
	"    \"bye\": {\"type\": \"hangup\"},\n"
	"    \"sales\": {\"outputs\": {\"timeout\": \"bye\"},"
	" \"type\": \"queue\", \"options\": {\"queue\": \"sales\"}},\n"
	"    \"menu\": {\"outputs\": {\"digit:2\": \"bye\", \"digit:1\":"
	" \"sales\"}, \"type\": \"ivr\", \"options\": {\"prompt\": "
	"\"menu\"}},\n"
	"    \"g\": {\"type\": \"greeting\", \"outputs\": {\"next\": "
	"\"menu\"}, \"options\": {\"prompt\": \"welcome\"}}\n"
	"  },\n  \"description\": \"main line\",\n  \"start\": \"g\"\n}\n";

/* Starts at the menu, the greeting is gone, digit 2 goes to a new
 * voicemail node, the queue node is untouched, description changed. */
static const char v2[] =
	"{\"start\":\"menu\",\"description\":\"holiday\",\"nodes\":{"
	"\"menu\":{\"type\":\"ivr\",\"options\":{\"prompt\":\"menu\"},"
	"\"outputs\":{\"digit:1\":\"sales\",\"digit:2\":\"vm\"}},"
	"\"sales\":{\"type\":\"queue\",\"options\":{\"queue\":\"sales\"},"
	"\"outputs\":{\"timeout\":\"bye\"}},"
	"\"vm\":{\"type\":\"voicemail\",\"options\":{\"box\":\"main\"}},"
	"\"bye\":{\"type\":\"hangup\",\"options\":{\"code\":486}}}}";

Test(prov_diff, names_every_change_in_a_fixed_order)
{
	char *text = NULL;

	cr_assert_eq(prov_diff_text(&text, v1, v2, "main v1", "main v2"), 0);
	cr_expect_str_eq(
		text,
		"--- main v1\n"
		"+++ main v2\n"
		"start: \"g\" -> \"menu\"\n"
		"description: \"main line\" -> \"holiday\"\n"
		"- node g {\"options\":{\"prompt\":\"welcome\"},\"outputs\":"
		"{\"next\":\"menu\"},\"type\":\"greeting\"}\n"
		"+ node vm {\"options\":{\"box\":\"main\"},\"type\":"
		"\"voicemail\"}\n"
		"~ node bye: options changed\n"
		"  - {\"type\":\"hangup\"}\n"
		"  + {\"options\":{\"code\":486},\"type\":\"hangup\"}\n"
		"~ node menu: outputs changed\n"
		"  - {\"options\":{\"prompt\":\"menu\"},\"outputs\":"
		"{\"digit:1\":\"sales\",\"digit:2\":\"bye\"},\"type\":"
		"\"ivr\"}\n"
		"  + {\"options\":{\"prompt\":\"menu\"},\"outputs\":"
		"{\"digit:1\":\"sales\",\"digit:2\":\"vm\"},\"type\":"
		"\"ivr\"}\n"
		"1 added, 1 removed, 2 changed\n");
	free(text);
}

Test(prov_diff, reordering_keys_is_no_change)
{
	char *text = NULL;

	cr_assert_eq(prov_diff_text(&text, v1, v1_reordered, "a", "b"), 0);
	cr_expect_str_eq(text, "--- a\n+++ b\nno changes\n");
	free(text);
}

Test(prov_diff, the_reverse_swaps_added_and_removed)
{
	char *text = NULL;

	cr_assert_eq(prov_diff_text(&text, v2, v1, "v2", "v1"), 0);
	cr_expect(strstr(text, "start: \"menu\" -> \"g\"\n") != NULL, "%s",
		  text);
	cr_expect(strstr(text, "+ node g ") != NULL, "%s", text);
	cr_expect(strstr(text, "- node vm ") != NULL, "%s", text);
	cr_expect(strstr(text, "1 added, 1 removed, 2 changed\n") != NULL,
		  "%s", text);
	free(text);
}

Test(prov_diff, is_deterministic)
{
	char *a = NULL, *b = NULL;

	cr_assert_eq(prov_diff_text(&a, v1, v2, "x", "y"), 0);
	cr_assert_eq(prov_diff_text(&b, v1_reordered, v2, "x", "y"), 0);
	cr_expect_str_eq(a, b);
	free(a);
	free(b);
}

Test(prov_diff, a_type_change_names_the_type)
{
	const char *a = "{\"start\":\"x\",\"nodes\":{\"x\":{\"type\":"
			"\"hangup\"}}}";
	const char *b = "{\"start\":\"x\",\"nodes\":{\"x\":{\"type\":"
			"\"voicemail\",\"options\":{\"box\":\"m\"}}}}";
	char *text = NULL;

	cr_assert_eq(prov_diff_text(&text, a, b, "a", "b"), 0);
	cr_expect(strstr(text, "~ node x: options, type changed\n") != NULL,
		  "%s", text);
	cr_expect(strstr(text, "0 added, 0 removed, 1 changed\n") != NULL,
		  "%s", text);
	free(text);
}

Test(prov_diff, refuses_what_is_not_a_json_object)
{
	char *text = (char *)"untouched";

	cr_expect_eq(prov_diff_text(&text, "[1]", v1, "a", "b"), -EINVAL);
	cr_expect_eq(prov_diff_text(&text, v1, "{broken", "a", "b"),
		     -EINVAL);
	cr_expect_eq(prov_diff_text(&text, NULL, v1, "a", "b"), -EINVAL);
	cr_expect_str_eq(text, "untouched");
}
