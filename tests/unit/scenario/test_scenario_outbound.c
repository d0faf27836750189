/* Outbound calls of extensions: every written form of a number reaches
 * the right destination class, and the tenant's policy answers each
 * class, permission and caller ID as documented (docs/employees.md). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "pbx_test.h"
#include "scenario.h"
#include "scenario_outbound.h"

TestSuite(outbound, .fini = pbx_test_fini);

/* The class of a number as an extension dials it: canonical first, as
 * the router does. */
static enum scenario_dest class_of(const char *dialled)
{
	char canon[40];

	cr_assert_gt(scenario_number_canon(dialled, canon, sizeof(canon)), 0,
		     "'%s' refused", dialled);
	return scenario_dest_class(canon);
}

Test(outbound, every_form_of_a_mobile_number_is_mobile)
{
	const char *forms[] = {"89161234567", "+79161234567", "9161234567",
			       "79161234567", "+7 (916) 123-45-67",
			       "0079161234567"};

	for (size_t i = 0; i < sizeof(forms) / sizeof(*forms); i++)
		cr_assert_eq(class_of(forms[i]), SCENARIO_DEST_MOBILE, "%s",
			     forms[i]);
}

Test(outbound, fixed_and_toll_free_numbers_are_national)
{
	cr_assert_eq(class_of("84951234567"), SCENARIO_DEST_NATIONAL);
	cr_assert_eq(class_of("+7 812 123 45 67"), SCENARIO_DEST_NATIONAL);
	cr_assert_eq(class_of("88001234567"), SCENARIO_DEST_NATIONAL);
	cr_assert_eq(class_of("3432123456"), SCENARIO_DEST_NATIONAL);
}

Test(outbound, other_countries_are_international_however_written)
{
	const char *forms[] = {"+442079460958", "810442079460958",
			       "00442079460958", "442079460958",
			       "+1 555 214 402", "+77012345678",
			       "87012345678"};

	for (size_t i = 0; i < sizeof(forms) / sizeof(*forms); i++)
		cr_assert_eq(class_of(forms[i]), SCENARIO_DEST_INTERNATIONAL,
			     "%s", forms[i]);
}

Test(outbound, emergency_short_and_invalid)
{
	cr_assert_eq(class_of("112"), SCENARIO_DEST_EMERGENCY);
	cr_assert_eq(class_of("911"), SCENARIO_DEST_EMERGENCY);
	/* Numbered like extensions: a missing extension is no emergency. */
	cr_assert_eq(class_of("103"), SCENARIO_DEST_SHORT);
	cr_assert_eq(class_of("01"), SCENARIO_DEST_SHORT);
	cr_assert_eq(class_of("105"), SCENARIO_DEST_SHORT);
	cr_assert_eq(class_of("0611"), SCENARIO_DEST_SHORT);
	cr_assert_eq(class_of("749512345678"), SCENARIO_DEST_INVALID);
	cr_assert_eq(class_of("+7 (123) 456-78-90"), SCENARIO_DEST_INVALID);
	cr_assert_eq(class_of("4420794609581234"), SCENARIO_DEST_INVALID);
	cr_assert_eq(scenario_dest_class(""), SCENARIO_DEST_INVALID);
	cr_assert_eq(scenario_dest_class(NULL), SCENARIO_DEST_INVALID);
	cr_assert_eq(scenario_dest_class("12a"), SCENARIO_DEST_INVALID);
}

static struct scenario_outbound with_cid(void)
{
	struct scenario_outbound p;

	scenario_outbound_init(&p);
	scenario_outbound_apply(&p, 6, "74951230000");
	return p;
}

Test(outbound, defaults_allow_national_and_mobile_only)
{
	struct scenario_outbound p = with_cid();
	struct scenario_out_verdict v;

	cr_assert_eq(p.max_legs, 10);
	cr_assert_eq(p.cpm, 30);
	scenario_outbound_decide(&p, SCENARIO_DEST_NATIONAL, &v);
	cr_assert_eq(v.code, 0);
	cr_assert_str_eq(v.kind, "external");
	cr_assert_str_eq(v.caller_id, "74951230000");
	scenario_outbound_decide(&p, SCENARIO_DEST_MOBILE, &v);
	cr_assert_eq(v.code, 0);
	cr_assert_str_eq(v.kind, "mobile");
	scenario_outbound_decide(&p, SCENARIO_DEST_INTERNATIONAL, &v);
	cr_assert_eq(v.code, 403);
	cr_assert_str_eq(v.reason,
			 "Forbidden (international calls not allowed)");
	scenario_outbound_decide(&p, SCENARIO_DEST_EMERGENCY, &v);
	cr_assert_eq(v.code, 403);
	cr_assert(strstr(v.reason, "emergency"));
	scenario_outbound_decide(&p, SCENARIO_DEST_SHORT, &v);
	cr_assert_eq(v.code, 404);
	scenario_outbound_decide(&p, SCENARIO_DEST_INVALID, &v);
	cr_assert_eq(v.code, 484);
}

Test(outbound, stored_fields_change_the_answer)
{
	struct scenario_outbound p = with_cid();
	struct scenario_out_verdict v;

	scenario_outbound_apply(&p, 2, "1");
	scenario_outbound_apply(&p, 1, "0");
	scenario_outbound_apply(&p, 4, "3");
	scenario_outbound_apply(&p, 5, "7");
	scenario_outbound_decide(&p, SCENARIO_DEST_INTERNATIONAL, &v);
	cr_assert_eq(v.code, 0);
	scenario_outbound_decide(&p, SCENARIO_DEST_MOBILE, &v);
	cr_assert_eq(v.code, 403);
	cr_assert_str_eq(v.reason, "Forbidden (mobile calls not allowed)");
	cr_assert_eq(p.max_legs, 3);
	cr_assert_eq(p.cpm, 7);
	/* Unset (NULL) keeps what is there. */
	scenario_outbound_apply(&p, 2, NULL);
	cr_assert(p.allow[SCENARIO_DEST_INTERNATIONAL]);
}

Test(outbound, extension_permission_and_its_own_caller_id)
{
	struct scenario_outbound p = with_cid();
	struct scenario_out_verdict v;
	size_t n = scenario_out_nfields;

	scenario_outbound_apply(&p, n + 1, "74951230001");
	scenario_outbound_decide(&p, SCENARIO_DEST_NATIONAL, &v);
	cr_assert_eq(v.code, 0);
	cr_assert_str_eq(v.caller_id, "74951230001");
	scenario_outbound_apply(&p, n, "0");
	scenario_outbound_decide(&p, SCENARIO_DEST_NATIONAL, &v);
	cr_assert_eq(v.code, 403);
	cr_assert(strstr(v.reason, "this extension"));
	/* An emergency call the tenant routes is every extension's. */
	scenario_outbound_apply(&p, 3, "1");
	scenario_outbound_decide(&p, SCENARIO_DEST_EMERGENCY, &v);
	cr_assert_eq(v.code, 0);
	cr_assert(v.exempt);
}

Test(outbound, no_caller_id_refuses)
{
	struct scenario_outbound p;
	struct scenario_out_verdict v;

	scenario_outbound_init(&p);
	scenario_outbound_decide(&p, SCENARIO_DEST_NATIONAL, &v);
	cr_assert_eq(v.code, 403);
	cr_assert_str_eq(v.reason, "Forbidden (no outbound caller ID set)");
	/* Garbage in the hash counts as none. */
	scenario_outbound_apply(&p, 6, "7495; DROP");
	scenario_outbound_decide(&p, SCENARIO_DEST_NATIONAL, &v);
	cr_assert_eq(v.code, 403);
}

Test(outbound, operator_input_is_parsed_and_bounded)
{
	char out[16];
	const struct scenario_out_field *f = scenario_out_fields;

	cr_assert_eq(scenario_outbound_parse(&f[2], "on", out, sizeof(out)),
		     0);
	cr_assert_str_eq(out, "1");
	cr_assert_eq(scenario_outbound_parse(&f[2], "off", out, sizeof(out)),
		     0);
	cr_assert_str_eq(out, "0");
	cr_assert_lt(scenario_outbound_parse(&f[2], "yes", out, sizeof(out)),
		     0);
	cr_assert_eq(scenario_outbound_parse(&f[4], "25", out, sizeof(out)),
		     0);
	cr_assert_str_eq(out, "25");
	cr_assert_lt(scenario_outbound_parse(&f[4], "-1", out, sizeof(out)),
		     0);
	cr_assert_lt(scenario_outbound_parse(&f[4], "100001", out,
					     sizeof(out)),
		     0);
	cr_assert_lt(scenario_outbound_parse(&f[4], "", out, sizeof(out)), 0);
	cr_assert_lt(scenario_outbound_parse(&f[4], "5x", out, sizeof(out)),
		     0);
	cr_assert_lt(scenario_outbound_parse(&f[6], "7495", out, sizeof(out)),
		     0);
}

Test(outbound, extension_field_names)
{
	char buf[32];

	cr_assert_eq(scenario_outbound_ext_field(buf, sizeof(buf), "101",
						 "outbound"),
		     0);
	cr_assert_str_eq(buf, "ext:101:outbound");
	cr_assert_lt(scenario_outbound_ext_field(buf, 8, "101", "caller_id"),
		     0);
}

Test(outbound, pickup_group_names_are_bounded_ids)
{
	const struct scenario_out_field grp = {"pickup_group",
					       SCENARIO_OUT_NAME, "none"};
	char out[40];

	cr_assert_eq(scenario_outbound_parse(&grp, "sales-1.b_2", out,
					     sizeof(out)),
		     0);
	cr_assert_str_eq(out, "sales-1.b_2");
	cr_assert_eq(scenario_outbound_parse(
			     &grp, "abcdefghijabcdefghijabcdefghij12", out,
			     sizeof(out)),
		     0);
	/* 33 characters, a space, a separator of the stored note, empty. */
	cr_assert_lt(scenario_outbound_parse(
			     &grp, "abcdefghijabcdefghijabcdefghij123", out,
			     sizeof(out)),
		     0);
	cr_assert_lt(scenario_outbound_parse(&grp, "no spaces", out,
					     sizeof(out)),
		     0);
	cr_assert_lt(scenario_outbound_parse(&grp, "a*b", out, sizeof(out)),
		     0);
	cr_assert_lt(scenario_outbound_parse(&grp, "", out, sizeof(out)), 0);
}

Test(outbound, forwarding_targets_and_ring_time)
{
	const struct scenario_out_field target = {"fwd_busy",
						  SCENARIO_OUT_TARGET, "none"};
	const struct scenario_out_field secs = {"fwd_timeout",
						SCENARIO_OUT_SECONDS, "20"};
	char out[40];

	/* Any form of a number, stored as the one canonical form. */
	cr_assert_eq(scenario_outbound_parse(&target, "8 (916) 123-45-67", out,
					     sizeof(out)),
		     0);
	cr_assert_str_eq(out, "79161234567");
	cr_assert_eq(scenario_outbound_parse(&target, "102", out, sizeof(out)),
		     0);
	cr_assert_str_eq(out, "102");
	cr_assert_lt(scenario_outbound_parse(&target, "12ab", out, sizeof(out)),
		     0);
	cr_assert_eq(scenario_outbound_parse(&secs, "5", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "5");
	cr_assert_lt(scenario_outbound_parse(&secs, "4", out, sizeof(out)), 0);
	cr_assert_lt(scenario_outbound_parse(&secs, "121", out, sizeof(out)),
		     0);
	cr_assert_lt(scenario_outbound_parse(&secs, "", out, sizeof(out)), 0);
}
