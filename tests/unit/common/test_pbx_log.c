/* Tests for pbx_log.c's JSON lines: the same fields as the text format,
 * every string escaped into valid JSON (quotes, backslashes, controls,
 * bytes that are not UTF-8), a message too long cut short and still one
 * valid object; log_format accepts text and json only. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "pbx_config.h"
#include "pbx_log.h"
#include "pbx_test.h"

TestSuite(pbx_log, .fini = pbx_test_fini);

static json_t *parse(const char *line)
{
	json_error_t e;
	json_t *j = json_loads(line, 0, &e);

	cr_assert_not_null(j, "not JSON (%s): %s", e.text, line);
	return j;
}

static const char *field(json_t *j, const char *k)
{
	json_t *v = json_object_get(j, k);

	cr_assert(json_is_string(v), "no %s", k);
	return json_string_value(v);
}

Test(pbx_log, json_line_has_every_field)
{
	char buf[1024];
	json_t *j;

	pbx_log_json(buf, sizeof(buf), "2026-12-07T18:00:00.123Z", "INFO",
		     "router", "acme", "abc@host", "call 1 -> 2: scenario main");
	j = parse(buf);
	cr_expect_str_eq(field(j, "time"), "2026-12-07T18:00:00.123Z");
	cr_expect_str_eq(field(j, "level"), "INFO");
	cr_expect_str_eq(field(j, "service"), "router");
	cr_expect_str_eq(field(j, "tenant"), "acme");
	cr_expect_str_eq(field(j, "call"), "abc@host");
	cr_expect_str_eq(field(j, "msg"), "call 1 -> 2: scenario main");
	cr_expect_eq(json_object_size(j), 6);
	json_decref(j);
}

Test(pbx_log, json_escapes_what_a_caller_can_send)
{
	char buf[1024];
	json_t *j;

	pbx_log_json(buf, sizeof(buf), "t", "WARN", "edge-bridge", "",
		     "a\"b\\c", "name \"x\"\n\ttab\x01 caf\xc3\xa9 bad\xff\xfe end");
	j = parse(buf);
	cr_expect_str_eq(field(j, "call"), "a\"b\\c");
	cr_expect_str_eq(field(j, "tenant"), "");
	cr_expect_str_eq(field(j, "msg"),
			 "name \"x\"\n\ttab\x01 caf\xc3\xa9 bad\xef\xbf\xbd"
			 "\xef\xbf\xbd end");
	cr_expect_null(strchr(buf, '\n'), "one line");
	json_decref(j);
}

Test(pbx_log, json_too_long_is_cut_and_stays_valid)
{
	char msg[5000], buf[512];
	json_t *j;
	int n;

	for (size_t i = 0; i < sizeof(msg) - 1; i++)
		msg[i] = (i % 7) ? 'x' : '"';
	msg[sizeof(msg) - 1] = '\0';
	for (int size = 16; size <= (int)sizeof(buf); size += 37) {
		n = pbx_log_json(buf, size, "2026-12-07T18:00:00.123Z",
				 "DEBUG", "media-worker", "tenant", "call-id",
				 msg);
		cr_assert_lt(n, size);
		cr_assert_eq((int)strlen(buf), n);
		j = parse(buf);
		json_decref(j);
	}
	j = parse(buf);
	cr_expect_str_eq(field(j, "call"), "call-id");
	cr_expect(strlen(field(j, "msg")) > 300);
	json_decref(j);
}

Test(pbx_log, log_format_item_takes_text_or_json_only)
{
	static const struct pbx_config_item items[] = {PBX_LOG_FORMAT_ITEM};

	cr_expect_eq(pbx_config_set(items, 1, "log_format", "json"), 0);
	cr_expect_str_eq(pbx_log_format_value, "json");
	cr_expect_eq(pbx_config_set(items, 1, "log_format", "xml"), -EINVAL);
	cr_expect_str_eq(pbx_log_format_value, "json");
	cr_expect_eq(pbx_config_set(items, 1, "log_format", "text"), 0);
	cr_expect_eq(pbx_log_format_parse("JSON"), -1);
}
