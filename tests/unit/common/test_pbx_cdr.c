/* Tests for pbx_cdr.c: the trace is bounded and stays a prefix of the
 * path (a cut record says so), hops read back as written whatever the
 * scenario's words hold, every field round-trips through its text, and
 * the disposition rule gives each way of ending its name and code. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "pbx_cdr.h"
#include "pbx_test.h"

TestSuite(pbx_cdr, .fini = pbx_test_fini);

Test(pbx_cdr, trace_reads_back_hop_by_hop)
{
	char trace[PBX_CDR_TRACE_MAX] = "", buf[512];
	struct pbx_cdr_hop h;
	bool cut = false;
	size_t pos = 0;

	cr_assert_eq(pbx_cdr_trace_add(trace, sizeof(trace), &cut, 0, "START",
				       "hours", "schedule", "open", "open"),
		     0);
	cr_assert_eq(pbx_cdr_trace_add(trace, sizeof(trace), &cut, 2500,
				       "DTMF", "menu", "menu", "digit:2",
				       NULL),
		     0);
	cr_assert_eq(pbx_cdr_trace_next(trace, &pos, &h, buf, sizeof(buf)),
		     1);
	cr_assert_eq(h.at_ms, 0);
	cr_assert_str_eq(h.event, "START");
	cr_assert_str_eq(h.node, "hours");
	cr_assert_str_eq(h.type, "schedule");
	cr_assert_str_eq(h.what, "open");
	cr_assert_str_eq(h.output, "open");
	cr_assert_eq(pbx_cdr_trace_next(trace, &pos, &h, buf, sizeof(buf)),
		     1);
	cr_assert_eq(h.at_ms, 2500);
	cr_assert_str_eq(h.what, "digit:2");
	cr_assert_str_eq(h.output, "", "no output reads as empty");
	cr_assert_eq(pbx_cdr_trace_next(trace, &pos, &h, buf, sizeof(buf)),
		     0);
	cr_assert_not(cut);
}

Test(pbx_cdr, trace_words_never_break_the_line_format)
{
	char trace[PBX_CDR_TRACE_MAX] = "", buf[512];
	struct pbx_cdr_hop h;
	bool cut = false;
	size_t pos = 0;

	pbx_cdr_trace_add(trace, sizeof(trace), &cut, 1, "SPEECH",
			  "ask", "assistant", "phrase:two words\nX", "");
	cr_assert_eq(strchr(trace, '\n'), trace + strlen(trace) - 1,
		     "one line per hop");
	cr_assert_eq(pbx_cdr_trace_next(trace, &pos, &h, buf, sizeof(buf)),
		     1);
	cr_assert_str_eq(h.what, "phrase:two_words_X");
	cr_assert_str_eq(h.output, "");
}

Test(pbx_cdr, trace_is_cut_at_its_bound_and_says_so)
{
	char trace[PBX_CDR_TRACE_MAX] = "", buf[512];
	struct pbx_cdr_hop h;
	bool cut = false;
	size_t pos = 0;
	int added = 0, n;

	for (int i = 0; i < 1000; i++) {
		if (pbx_cdr_trace_add(trace, sizeof(trace), &cut, i * 1000,
				      "DTMF", "menu", "menu", "retry",
				      "menu") == 0)
			added++;
	}
	cr_assert(cut);
	cr_assert(added > 40 && added < 1000, "added %d", added);
	cr_assert_lt(strlen(trace), sizeof(trace));
	/* Once cut, nothing more: a later short hop must not fill the
	 * gap (the trace is a prefix of the path). */
	n = (int)strlen(trace);
	cr_assert_eq(pbx_cdr_trace_add(trace, sizeof(trace), &cut, 1, "A",
				       "b", "c", "d", "e"),
		     -ENOSPC);
	cr_assert_eq((int)strlen(trace), n);
	n = 0;
	while (pbx_cdr_trace_next(trace, &pos, &h, buf, sizeof(buf)) == 1) {
		cr_assert_eq(h.at_ms, n * 1000);
		n++;
	}
	cr_assert_eq(n, added);
}

Test(pbx_cdr, a_bad_trace_line_is_skipped_not_fatal)
{
	const char *trace = "junk\n5 HANGUP m menu play -\n";
	char buf[512];
	struct pbx_cdr_hop h;
	size_t pos = 0;

	cr_assert_eq(pbx_cdr_trace_next(trace, &pos, &h, buf, sizeof(buf)),
		     -EINVAL);
	cr_assert_eq(pbx_cdr_trace_next(trace, &pos, &h, buf, sizeof(buf)),
		     1);
	cr_assert_str_eq(h.node, "m");
	cr_assert_eq(pbx_cdr_trace_next(trace, &pos, &h, buf, sizeof(buf)),
		     0);
}

Test(pbx_cdr, every_field_round_trips_through_its_text)
{
	static struct pbx_cdr a, b;
	char buf[32];

	snprintf(a.tenant, sizeof(a.tenant), "acme");
	snprintf(a.call_id, sizeof(a.call_id), "abc@host");
	snprintf(a.number, sizeof(a.number), "74950000001");
	snprintf(a.caller, sizeof(a.caller), "79001234567");
	a.start_ms = 1765000000000ULL;
	a.answer_ms = a.start_ms + 100;
	a.bridge_ms = a.start_ms + 5000;
	a.end_ms = a.start_ms + 65000;
	snprintf(a.answered_by, sizeof(a.answered_by), "101");
	snprintf(a.scenario, sizeof(a.scenario), "main");
	a.version = 7;
	a.sip_code = 0;
	a.truncated = true;
	pbx_cdr_trace_add(a.trace, sizeof(a.trace), &a.truncated, 0, "START",
			  "m", "menu", "play", NULL);
	a.truncated = true;
	a.end = PBX_CDR_END_CALLER;
	pbx_cdr_finish(&a);
	for (size_t i = 0; i < PBX_CDR_NFIELDS; i++) {
		const struct pbx_cdr_field *f = &pbx_cdr_fields[i];

		cr_assert_eq(pbx_cdr_set(&b, f->name,
					 pbx_cdr_get(&a, f, buf, sizeof(buf))),
			     0, "%s", f->name);
	}
	cr_assert_str_eq(b.disposition, "answered");
	cr_assert_eq(b.sip_code, 200);
	cr_assert_eq(b.duration_ms, 65000);
	cr_assert_eq(b.talk_ms, 60000);
	cr_assert_eq(b.version, 7);
	cr_assert(b.truncated);
	cr_assert_str_eq(b.trace, a.trace);
	cr_assert_str_eq(b.answered_by, "101");
}

Test(pbx_cdr, set_refuses_bad_numbers_and_cleans_strings)
{
	static struct pbx_cdr c;
	char big[400];

	cr_assert_eq(pbx_cdr_set(&c, "nope", "1"), -ENOENT);
	cr_assert_eq(pbx_cdr_set(&c, "start_ms", "12x"), -EINVAL);
	cr_assert_eq(pbx_cdr_set(&c, "start_ms", ""), -EINVAL);
	cr_assert_eq(pbx_cdr_set(&c, "start_ms", "-1"), -EINVAL);
	cr_assert_eq(pbx_cdr_set(&c, "sip_code", "1000"), -EINVAL);
	cr_assert_eq(pbx_cdr_set(&c, "truncated", "2"), -EINVAL);
	cr_assert_eq(pbx_cdr_set(&c, "caller", "a\r\nb"), 0);
	cr_assert_str_eq(c.caller, "a  b");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(pbx_cdr_set(&c, "caller", big), 0);
	cr_assert_eq(strlen(c.caller), sizeof(c.caller) - 1);
}

static void ends(enum pbx_cdr_end end, const char *outcome, const char *ring,
		 unsigned code, bool answered, const char *who,
		 const char *disp, unsigned want_code)
{
	static struct pbx_cdr c;

	memset(&c, 0, sizeof(c));
	c.start_ms = 1000;
	c.end_ms = 9000;
	c.answer_ms = answered ? 2000 : 0;
	c.bridge_ms = who[0] ? 3000 : 0;
	c.end = end;
	c.sip_code = code;
	snprintf(c.outcome, sizeof(c.outcome), "%s", outcome);
	snprintf(c.ring, sizeof(c.ring), "%s", ring);
	snprintf(c.answered_by, sizeof(c.answered_by), "%s", who);
	pbx_cdr_finish(&c);
	cr_assert_str_eq(c.disposition, disp, "%s/%s/%s/%u", outcome, ring,
			 who, code);
	cr_assert_eq(c.sip_code, want_code, "%s: code %u", disp, c.sip_code);
	cr_assert(pbx_cdr_disposition_valid(c.disposition));
}

Test(pbx_cdr, each_way_of_ending_has_its_disposition)
{
	ends(PBX_CDR_END_CALLER, "answered", "", 0, true, "101", "answered",
	     200);
	ends(PBX_CDR_END_US, "", "", 0, false, "", "hangup", 200);
	ends(PBX_CDR_END_REJECT, "rejected", "", 486, false, "", "busy", 486);
	ends(PBX_CDR_END_REJECT, "rejected", "", 403, false, "", "rejected",
	     403);
	ends(PBX_CDR_END_REJECT, "", "", 503, false, "", "failed", 503);
	ends(PBX_CDR_END_CALLER, "", "", 0, false, "", "caller_hangup", 487);
	ends(PBX_CDR_END_CALLER, "", "", 0, true, "", "caller_hangup", 200);
	ends(PBX_CDR_END_US, "hangup", "no_answer", 0, true, "", "no_answer",
	     480);
	ends(PBX_CDR_END_US, "hangup", "busy", 0, true, "", "busy", 486);
	ends(PBX_CDR_END_US, "hangup", "unavailable", 0, true, "",
	     "unavailable", 480);
	ends(PBX_CDR_END_US, "voicemail", "no_answer", 0, true, "",
	     "voicemail", 200);
	ends(PBX_CDR_END_LOST, "answered", "", 0, true, "101", "failed", 503);
	ends(PBX_CDR_END_US, "loop", "", 500, true, "", "failed", 500);
	ends(PBX_CDR_END_US, "hangup", "", 503, true, "", "failed", 503);
	/* A hang-up node's default code is the scenario's answer. */
	ends(PBX_CDR_END_US, "hangup", "", 603, true, "", "hangup", 603);
	ends(PBX_CDR_END_REJECT, "rejected", "", 600, false, "", "busy", 600);
}

Test(pbx_cdr, times_are_never_negative)
{
	static struct pbx_cdr c;

	c.start_ms = 5000;
	c.answer_ms = 7000;
	c.end_ms = 4000; /* clocks of two routers apart */
	c.end = PBX_CDR_END_US;
	pbx_cdr_finish(&c);
	cr_assert_eq(c.duration_ms, 0);
	cr_assert_eq(c.answer_ms, 4000);
}

Test(pbx_cdr, stream_ids)
{
	cr_assert(pbx_cdr_id_valid("1765000000000-0"));
	cr_assert_not(pbx_cdr_id_valid("1765000000000"));
	cr_assert_not(pbx_cdr_id_valid("1-2-3"));
	cr_assert_not(pbx_cdr_id_valid("+"));
	cr_assert_not(pbx_cdr_id_valid(NULL));
}

Test(pbx_cdr, json_has_every_field_and_the_path_node_by_node)
{
	static struct pbx_cdr c;
	json_t *o, *p;
	json_error_t e;
	char *s;

	snprintf(c.id, sizeof(c.id), "1765000000000-3");
	snprintf(c.caller, sizeof(c.caller), "say \"hi\"\\");
	c.sip_code = 486;
	pbx_cdr_trace_add(c.trace, sizeof(c.trace), &c.truncated, 0, "START",
			  "h", "schedule", "open", "open");
	pbx_cdr_trace_add(c.trace, sizeof(c.trace), &c.truncated, 1200,
			  "DTMF", "m", "ivr", "digit:1", "digit:1");
	s = pbx_cdr_json(&c, NULL);
	cr_assert_not_null(s);
	cr_assert_null(strchr(s, '\n'), "one line");
	o = json_loads(s, 0, &e);
	cr_assert_not_null(o, "%s: %s", e.text, s);
	cr_assert_str_eq(json_string_value(json_object_get(o, "id")),
			 "1765000000000-3");
	cr_assert_str_eq(json_string_value(json_object_get(o, "caller")),
			 "say \"hi\"\\");
	cr_assert_eq(json_integer_value(json_object_get(o, "sip_code")), 486);
	cr_assert(json_is_false(json_object_get(o, "truncated")));
	cr_assert_null(json_object_get(o, "trace"));
	for (size_t i = 0; i < PBX_CDR_NFIELDS; i++)
		cr_assert(!strcmp(pbx_cdr_fields[i].name, "trace") ||
				  json_object_get(o, pbx_cdr_fields[i].name),
			  "%s", pbx_cdr_fields[i].name);
	p = json_object_get(o, "path");
	cr_assert_eq(json_array_size(p), 2);
	cr_assert_str_eq(
		json_string_value(json_object_get(json_array_get(p, 1), "node")),
		"m");
	cr_assert_eq(json_integer_value(
			     json_object_get(json_array_get(p, 1), "at_ms")),
		     1200);
	json_decref(o);
	free(s);
}
