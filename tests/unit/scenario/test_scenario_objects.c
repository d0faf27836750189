/* Tenant objects: every kind's schema, black / white lists with number
 * normalisation, and schedules (weekly windows, midnight, exceptions,
 * holidays, override) across DST changes in several zones. */
#include <errno.h>

#include "scen_test.h"

static struct scenario_objects *objs;

static void setup(void)
{
	cr_assert_eq(scenario_objects_alloc(&objs), 0);
}

static void done(void)
{
	scenario_objects_free(objs);
	objs = NULL;
	pbx_test_fini();
}

TestSuite(scenario_objects, .init = setup, .fini = done);
TestSuite(scenario_number, .fini = pbx_test_fini);
TestSuite(scenario_schedule, .init = setup, .fini = done);

static bool has(const struct scenario_report *rep, const char *s)
{
	return strstr(rep->text, s) != NULL;
}

static int check(const char *kind, const char *sq, struct scenario_report *rep)
{
	return scenario_object_check(kind, J(sq), rep);
}

/* ---- numbers ---- */

static const char *norm(const char *in)
{
	static char out[64];

	cr_assert_geq(scenario_number_normalise(in, out, sizeof(out)), 0, "%s",
		      in);
	return out;
}

Test(scenario_number, russian_forms_of_one_number_are_equal)
{
	cr_assert_str_eq(norm("+7 (916) 123-45-67"), "79161234567");
	cr_assert_str_eq(norm("8 916 123 45 67"), "79161234567");
	cr_assert_str_eq(norm("79161234567"), "79161234567");
	cr_assert_str_eq(norm("9161234567"), "79161234567");
	cr_assert_str_eq(norm("8-495-123-45-67"), "74951234567");
}

Test(scenario_number, international_prefixes_are_dropped)
{
	cr_assert_str_eq(norm("+49 30 1234567"), "49301234567");
	cr_assert_str_eq(norm("0049 30 1234567"), "49301234567");
	cr_assert_str_eq(norm("810 49 30 1234567"), "49301234567");
	/* With "+", a 10-digit number keeps its own country code. */
	cr_assert_str_eq(norm("+4930123456"), "4930123456");
}

Test(scenario_number, short_numbers_and_anonymous_callers)
{
	cr_assert_str_eq(norm("101"), "101");
	cr_assert_str_eq(norm(""), "");
	cr_assert_str_eq(norm("anonymous"), "");
	cr_assert_str_eq(norm("Restricted"), "");
}

Test(scenario_number, too_long_or_too_small_buffer_is_refused)
{
	char out[8];

	cr_assert_eq(
		scenario_number_normalise("79161234567", out, sizeof(out)),
		-ENOSPC);
	cr_assert_eq(scenario_number_normalise(
			     "123456789012345678901234567890123456", out,
			     sizeof(out)),
		     -ENOSPC);
	cr_assert_eq(scenario_number_normalise(NULL, out, sizeof(out)),
		     -EINVAL);
}

/* ---- lists ---- */

static bool in_list(const char *name, const char *caller)
{
	bool in = false;

	cr_assert_eq(scenario_objects_list_match(objs, name, caller, &in), 0);
	return in;
}

Test(scenario_objects, list_matches_exact_numbers_in_any_form)
{
	scen_obj(objs, "list", "vip", "{'entries':['8 (916) 123-45-67']}");
	cr_assert(in_list("vip", "+79161234567"));
	cr_assert(in_list("vip", "79161234567"));
	cr_assert(in_list("vip", "89161234567"));
	cr_assert(in_list("vip", "9161234567"));
	cr_assert_not(in_list("vip", "79161234568"));
}

Test(scenario_objects, list_matches_prefixes_masks_and_ranges)
{
	scen_obj(objs, "list", "l",
		 "{'entries':['8495*','7812###45##','*0000',"
		 "'74950000100..74950000199']}");
	cr_assert(in_list("l", "+7 495 999 99 99"));
	cr_assert(in_list("l", "78121234567"));
	cr_assert_not(in_list("l", "78121234467"));
	cr_assert(in_list("l", "12340000"));
	cr_assert(in_list("l", "74950000150"));
	cr_assert(in_list("l", "84950000199")); /* also the 7495* prefix */
	cr_assert_not(in_list("l", "73430000200"));
}

Test(scenario_objects, range_is_inclusive_and_length_bound)
{
	scen_obj(objs, "list", "r", "{'entries':['100..199']}");
	cr_assert(in_list("r", "100"));
	cr_assert(in_list("r", "199"));
	cr_assert_not(in_list("r", "200"));
	cr_assert_not(in_list("r", "1500"));
}

Test(scenario_objects, region_prefixes_match_their_numbers)
{
	scen_obj(objs, "list", "moscow",
		 "{'regions':{'moscow':['+7495','8499'],'spb':['7812']}}");
	cr_assert(in_list("moscow", "84991234567"));
	cr_assert(in_list("moscow", "+7 812 123 45 67"));
	cr_assert_not(in_list("moscow", "+7 343 123 45 67"));
}

Test(scenario_objects, anonymous_policy_decides_for_hidden_numbers)
{
	scen_obj(objs, "list", "b",
		 "{'mode':'black','entries':['101'],'anonymous':'in_list'}");
	scen_obj(objs, "list", "w", "{'mode':'white','entries':['101']}");
	cr_assert(in_list("b", "anonymous"));
	cr_assert(in_list("b", ""));
	cr_assert_not(in_list("w", "anonymous"));
}

Test(scenario_objects, bad_list_entries_are_named)
{
	struct scenario_report rep;

	cr_assert_eq(check("list",
			   "{'entries':['abc','200..100','12..1234', 5],"
			   "'anonymous':'maybe'}",
			   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "option \"anonymous\" must be one of"), "%s",
		  rep.text);
	cr_assert_eq(check("list", "{'entries':['abc','200..100',5]}", &rep),
		     -EINVAL);
	cr_assert(has(&rep, "entry 1 \"abc\" is not a number"), "%s",
		  rep.text);
	cr_assert(has(&rep, "entry 2 \"200..100\" is not a range"));
	cr_assert(has(&rep, "entry 3 must be a string"));
}

Test(scenario_objects, empty_list_is_stored_with_a_warning)
{
	struct scenario_report rep;

	cr_assert_eq(check("list", "{}", &rep), 0);
	cr_assert(has(&rep, "warning: list: is empty"), "%s", rep.text);
}

/* ---- other kinds ---- */

Test(scenario_objects, every_kind_accepts_its_documented_fields)
{
	struct scenario_report rep;

	cr_assert_eq(check("queue",
			   "{'strategy':'round_robin','max_wait':600,"
			   "'max_len':10,'agents':['101','102'],"
			   "'agent_timeout':15,'wrapup':5,'moh':'music',"
			   "'announce_position':true,'announce_wait':true,"
			   "'periodic_prompt':'p','periodic_interval':30,"
			   "'join_empty':false,'callback_key':'#',"
			   "'callback_prompt':'cb','callback_window':600,"
			   "'callback_retries':3,'callback_retry_interval':30}",
			   &rep),
		     0, "%s", rep.text);
	cr_assert_eq(check("queue", "{'callback_key':'x'}", &rep), -EINVAL);
	cr_assert(has(&rep, "option \"callback_key\" must be one of"), "%s",
		  rep.text);
	cr_assert_eq(check("queue", "{'callback_retry_interval':1}", &rep),
		     -EINVAL);
	cr_assert_eq(check("fax_box",
			   "{'email':'fax@example.com','format':'pdf',"
			   "'t38':true,'ecm':false,'ident':'ACME',"
			   "'header':'ACME fax'}",
			   &rep),
		     0, "%s", rep.text);
	cr_assert_eq(check("voicemail_box",
			   "{'email':'a@b.ru','max_length':120,'greeting':"
			   "'g','pin':'1234','attach':true,'transcribe':"
			   "false}",
			   &rep),
		     0, "%s", rep.text);
	cr_assert_eq(check("conference",
			   "{'pin':'1234','moderator_pin':'9999',"
			   "'pin_retries':3,'max_members':20,'join_muted':"
			   "true,'moh':'m','number':'300'}",
			   &rep),
		     0, "%s", rep.text);
}

Test(scenario_objects, bad_fields_of_every_kind_are_named)
{
	struct scenario_report rep;

	cr_assert_eq(
		check("queue", "{'strategy':'fastest','max_wait':0}", &rep),
		-EINVAL);
	cr_assert(has(&rep, "option \"strategy\" must be one of"), "%s",
		  rep.text);
	cr_assert(has(&rep, "option \"max_wait\" must be between 1"));
	cr_assert_eq(check("fax_box", "{'email':'nobody'}", &rep), -EINVAL);
	cr_assert(has(&rep, "\"nobody\" is not an e-mail address"));
	cr_assert_eq(check("fax_box", "{'ident':'123456789012345678901'}",
			   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "ident must be at most 20 printable"), "%s",
		  rep.text);
	cr_assert_eq(check("voicemail_box", "{'pin':'12'}", &rep), -EINVAL);
	cr_assert(has(&rep, "pin must be 4 to 8 digits"));
	cr_assert_eq(
		check("conference", "{'pin':'1','moderator_pin':'1'}", &rep),
		-EINVAL);
	cr_assert(has(&rep, "pin and moderator_pin must differ"));
	cr_assert_eq(check("conference", "{'number':'30a'}", &rep), -EINVAL);
	cr_assert(has(&rep, "number must be 1 to 16 digits"), "%s", rep.text);
	cr_assert_eq(check("conference", "{'number':'12345678901234567'}",
			   &rep),
		     -EINVAL);
	cr_assert_eq(check("teleport", "{}", &rep), -EINVAL);
	cr_assert(has(&rep, "unknown kind \"teleport\""));
	cr_assert_eq(check("queue", "[1]", &rep), -EINVAL);
	cr_assert(has(&rep, "must be a JSON object"));
	cr_assert_eq(check("queue", "{", &rep), -EINVAL);
	cr_assert(has(&rep, "invalid JSON"));
}

Test(scenario_objects, queue_is_read_with_its_defaults_and_agents)
{
	struct scenario_queue q;

	scen_obj(objs, "queue", "sales",
		 "{'strategy':'linear','agents':['101','102','103'],"
		 "'wrapup':5}");
	scen_obj(objs, "queue", "empty", "{}");
	cr_assert_eq(scenario_objects_queue(objs, "sales", &q), 0);
	cr_assert_str_eq(q.strategy, "linear");
	cr_assert_eq(q.nagents, 3);
	cr_assert_str_eq(q.agents[0], "101");
	cr_assert_str_eq(q.agents[2], "103");
	cr_assert_eq(q.wrapup_s, 5);
	cr_assert_eq(q.agent_timeout_s, 15);
	cr_assert_eq(q.max_wait_s, 600);
	cr_assert_eq(q.max_len, 0);
	cr_assert(q.join_empty);
	cr_assert_eq(scenario_objects_queue(objs, "empty", &q), 0);
	cr_assert_str_eq(q.strategy, "ring_all");
	cr_assert_eq(q.nagents, 0);
	cr_assert_eq(scenario_objects_queue(objs, "nope", &q), -ENOENT);
	cr_assert_eq(scenario_objects_queue(objs, NULL, &q), -EINVAL);
}

/* External and mobile numbers as agents: each under its agent id, the
 * canonical "+<digits>" of the one number normaliser, with its kind. */
Test(scenario_objects, queue_agents_may_be_external_and_mobile_numbers)
{
	struct scenario_queue q;

	scen_obj(objs, "queue", "mixed",
		 "{'agents':['101',{'external':'8 (495) 123-45-67'},"
		 "{'mobile':'+7 916 123-45-67'},{'external':'+1 555 214 402'}]}");
	cr_assert_eq(scenario_objects_queue(objs, "mixed", &q), 0);
	cr_assert_eq(q.nagents, 4);
	cr_assert_str_eq(q.agents[0], "101");
	cr_assert_str_eq(q.kinds[0], "extension");
	cr_assert_str_eq(q.agents[1], "+74951234567");
	cr_assert_str_eq(q.kinds[1], "external");
	cr_assert_str_eq(q.agents[2], "+79161234567");
	cr_assert_str_eq(q.kinds[2], "mobile");
	cr_assert_str_eq(q.agents[3], "+1555214402");
	cr_assert_str_eq(q.kinds[3], "external");
}

Test(scenario_objects, bad_number_agents_are_named)
{
	static const struct {
		const char *agents, *why;
	} bad[] = {
		{"[{'external':'0611'}]", "agent 1: \"0611\" is not a phone "
					  "number with its country code"},
		{"[{'mobile':'+7 916 ABC'}]", "\"+7 916 ABC\" is not a phone"},
		{"[{'external':'+1234567890123456'}]", "(10 to 15 digits)"},
		{"['101',{'fax':'+74951234567'}]",
		 "agent 2 must be an extension, {\"external\": number} or "
		 "{\"mobile\": number}"},
		{"[{'external':'+74951234567','mobile':'+74951234567'}]",
		 "agent 1 must be"},
		{"[{'external':74951234567}]", "agent 1 must be"},
		{"['+74951234567']", "agent 1 must be"},
		{"['']", "agent 1 must be"},
		{"[{'external':'8 495 123-45-67'},{'mobile':'+74951234567'}]",
		 "agent +74951234567 is listed twice"},
		{"['101','101']", "agent 101 is listed twice"},
	};
	struct scenario_report rep;
	char doc[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		snprintf(doc, sizeof(doc), "{'agents':%s}", bad[i].agents);
		cr_assert_eq(check("queue", doc, &rep), -EINVAL, "%s", doc);
		cr_assert(has(&rep, bad[i].why), "%s: %s", doc, rep.text);
	}
}

Test(scenario_objects, agent_number_ids_are_canonical)
{
	char id[SCENARIO_AGENT_NUMBER_MAX];

	cr_assert_eq(scenario_agent_number("89161234567", id, sizeof(id)), 12);
	cr_assert_str_eq(id, "+79161234567");
	cr_assert_eq(scenario_agent_number("9161234567", id, sizeof(id)), 12);
	cr_assert_str_eq(id, "+79161234567");
	cr_assert_eq(scenario_agent_number("+79161234567", id, sizeof(id)),
		     12);
	cr_assert_str_eq(id, "+79161234567");
	cr_assert_eq(scenario_agent_number("101", id, sizeof(id)), -EINVAL);
	cr_assert_eq(scenario_agent_number("", id, sizeof(id)), -EINVAL);
	cr_assert_eq(scenario_agent_number("+7916", id, sizeof(id)), -EINVAL);
	cr_assert_eq(scenario_agent_number("+79161234567", id, 5), -ENOSPC);
}

Test(scenario_objects, add_replaces_and_remove_deletes)
{
	bool open;

	scen_obj(objs, "schedule", "s",
		 "{'timezone':'UTC','override':'closed','windows':[{'days':"
		 "'all','from':'00:00','to':'24:00'}]}");
	cr_assert_eq(scenario_objects_schedule_open(objs, "s", 0, &open), 0);
	cr_assert_not(open);
	scen_obj(objs, "schedule", "s",
		 "{'timezone':'UTC','override':'open','windows':[{'days':"
		 "'all','from':'00:00','to':'01:00'}]}");
	cr_assert_eq(scenario_objects_count(objs), 1);
	cr_assert_eq(scenario_objects_schedule_open(objs, "s", 0, &open), 0);
	cr_assert(open);
	cr_assert(scenario_objects_has(objs, SCENARIO_REF_SCHEDULE, "s"));
	cr_assert(scenario_objects_ref(SCENARIO_REF_SCHEDULE, "s", objs));
	cr_assert_not(scenario_objects_ref(SCENARIO_REF_LIST, "s", objs));
	cr_assert(scenario_objects_ref(SCENARIO_REF_PROMPT, "x", objs));
	cr_assert_eq(scenario_objects_remove(objs, "schedule", "s"), 0);
	cr_assert_eq(scenario_objects_remove(objs, "schedule", "s"), -ENOENT);
	cr_assert_eq(scenario_objects_schedule_open(objs, "s", 0, &open),
		     -ENOENT);
	cr_assert_eq(scenario_objects_count(objs), 0);
}

Test(scenario_objects, failed_add_leaves_the_old_object)
{
	struct scenario_report rep;

	scen_obj(objs, "list", "l", "{'entries':['101']}");
	cr_assert_eq(scenario_objects_add(objs, "list", "l",
					  J("{'entries':[1]}"), &rep),
		     -EINVAL);
	cr_assert(in_list("l", "101"));
}

/* ---- schedules ---- */

static bool open_at(const char *name, int64_t ms)
{
	bool open = false;

	cr_assert_eq(scenario_objects_schedule_open(objs, name, ms, &open), 0);
	return open;
}

static void office(const char *name, const char *zone)
{
	char doc[512];

	snprintf(doc, sizeof(doc),
		 "{'timezone':'%s','windows':[{'days':['mon-fri'],"
		 "'from':'09:00','to':'13:00'},{'days':['mon-fri'],'from':"
		 "'14:00','to':'18:00'}]}",
		 zone);
	scen_obj(objs, "schedule", name, doc);
}

Test(scenario_schedule, several_windows_a_day_leave_the_lunch_gap)
{
	office("o", "Europe/Moscow");
	/* Wed 2026-06-17, Moscow = UTC+3 all year. */
	cr_assert_not(open_at("o", scen_utc(2026, 6, 17, 5, 59)));
	cr_assert(open_at("o", scen_utc(2026, 6, 17, 6, 0)));
	cr_assert(open_at("o", scen_utc(2026, 6, 17, 9, 59)));
	cr_assert_not(open_at("o", scen_utc(2026, 6, 17, 10, 30)));
	cr_assert(open_at("o", scen_utc(2026, 6, 17, 11, 0)));
	cr_assert_not(open_at("o", scen_utc(2026, 6, 17, 15, 0)));
	cr_assert_not(open_at("o", scen_utc(2026, 6, 20, 8, 0))); /* Sat */
}

Test(scenario_schedule, berlin_opening_hour_follows_the_spring_change)
{
	office("b", "Europe/Berlin");
	/* Fri 2026-03-27 (CET, UTC+1): 09:00 local = 08:00 UTC. */
	cr_assert_not(open_at("b", scen_utc(2026, 3, 27, 7, 30)));
	cr_assert(open_at("b", scen_utc(2026, 3, 27, 8, 0)));
	/* Mon 2026-03-30 (CEST, UTC+2): 09:00 local = 07:00 UTC. */
	cr_assert(open_at("b", scen_utc(2026, 3, 30, 7, 0)));
	cr_assert_not(open_at("b", scen_utc(2026, 3, 30, 6, 59)));
	cr_assert(open_at("b", scen_utc(2026, 3, 30, 15, 59)));
	cr_assert_not(open_at("b", scen_utc(2026, 3, 30, 16, 0)));
}

Test(scenario_schedule, new_york_opening_hour_follows_the_autumn_change)
{
	office("ny", "America/New_York");
	/* Fri 2026-10-30 (EDT, UTC-4): 09:00 local = 13:00 UTC. */
	cr_assert(open_at("ny", scen_utc(2026, 10, 30, 13, 0)));
	/* Mon 2026-11-02 (EST, UTC-5): 09:00 local = 14:00 UTC. */
	cr_assert_not(open_at("ny", scen_utc(2026, 11, 2, 13, 30)));
	cr_assert(open_at("ny", scen_utc(2026, 11, 2, 14, 0)));
}

Test(scenario_schedule, sydney_opening_hour_follows_the_southern_change)
{
	office("syd", "Australia/Sydney");
	/* Fri 2026-04-03 (AEDT, UTC+11): 09:00 local = 22:00 UTC Thu. */
	cr_assert(open_at("syd", scen_utc(2026, 4, 2, 22, 0)));
	cr_assert_not(open_at("syd", scen_utc(2026, 4, 2, 21, 59)));
	/* Mon 2026-04-06 (AEST, UTC+10): 09:00 local = 23:00 UTC Sun. */
	cr_assert_not(open_at("syd", scen_utc(2026, 4, 5, 22, 30)));
	cr_assert(open_at("syd", scen_utc(2026, 4, 5, 23, 0)));
}

Test(scenario_schedule, night_window_runs_past_midnight_into_the_next_day)
{
	scen_obj(objs, "schedule", "night",
		 "{'timezone':'Asia/Vladivostok','windows':[{'days':'fri',"
		 "'from':'22:00','to':'06:00'}]}");
	/* Vladivostok = UTC+10. Fri 2026-06-19 22:30 = 12:30 UTC. */
	cr_assert(open_at("night", scen_utc(2026, 6, 19, 12, 30)));
	/* Sat 03:00 local = Fri 17:00 UTC: still Friday's window. */
	cr_assert(open_at("night", scen_utc(2026, 6, 19, 17, 0)));
	/* Sat 06:00 local = Fri 20:00 UTC: closed. */
	cr_assert_not(open_at("night", scen_utc(2026, 6, 19, 20, 0)));
	/* Thu 23:00 local: no window. */
	cr_assert_not(open_at("night", scen_utc(2026, 6, 18, 13, 0)));
}

Test(scenario_schedule, midnight_is_judged_in_the_zone_not_in_utc)
{
	scen_obj(objs, "schedule", "sat",
		 "{'timezone':'Asia/Vladivostok','windows':[{'days':'sat',"
		 "'from':'00:00','to':'24:00'}]}");
	/* Fri 2026-06-19 14:00 UTC is Sat 00:00 in Vladivostok. */
	cr_assert(open_at("sat", scen_utc(2026, 6, 19, 14, 0)));
	cr_assert_not(open_at("sat", scen_utc(2026, 6, 19, 13, 59)));
	cr_assert(open_at("sat", scen_utc(2026, 6, 20, 13, 59)));
	cr_assert_not(open_at("sat", scen_utc(2026, 6, 20, 14, 0)));
}

Test(scenario_schedule, yearly_holiday_closes_a_working_day)
{
	scen_obj(objs, "schedule", "h",
		 "{'timezone':'Europe/Moscow','windows':[{'days':'all',"
		 "'from':'09:00','to':'18:00'}],'holidays':['01-01',"
		 "'2026-05-01..2026-05-03']}");
	cr_assert_not(open_at("h", scen_utc(2026, 1, 1, 9, 0)));
	cr_assert_not(open_at("h", scen_utc(2027, 1, 1, 9, 0)));
	cr_assert(open_at("h", scen_utc(2026, 1, 2, 9, 0)));
	cr_assert_not(open_at("h", scen_utc(2026, 5, 2, 9, 0)));
	cr_assert(open_at("h", scen_utc(2026, 5, 4, 9, 0)));
}

Test(scenario_schedule, one_off_exception_beats_yearly_and_weekly_rules)
{
	scen_obj(objs, "schedule", "x",
		 "{'timezone':'Europe/Moscow','windows':[{'days':'mon-fri',"
		 "'from':'09:00','to':'18:00'}],'exceptions':["
		 "{'date':'12-31','hours':[{'from':'09:00','to':'15:00'}]},"
		 "{'date':'2026-12-31','name':'closed this year'},"
		 "{'date':'2026-11-07','hours':[{'from':'10:00','to':"
		 "'14:00'}],'name':'working Saturday'}]}");
	/* 2026-12-31 is Thursday: the one-off closure wins. */
	cr_assert_not(open_at("x", scen_utc(2026, 12, 31, 8, 0)));
	/* 2027-12-31 is Friday: the yearly short day applies. */
	cr_assert(open_at("x", scen_utc(2027, 12, 31, 8, 0)));
	cr_assert_not(open_at("x", scen_utc(2027, 12, 31, 13, 0)));
	/* A working Saturday. */
	cr_assert(open_at("x", scen_utc(2026, 11, 7, 8, 0)));
	cr_assert_not(open_at("x", scen_utc(2026, 11, 7, 12, 0)));
}

Test(scenario_schedule, manual_override_forces_open_or_closed)
{
	struct scenario_report rep;

	scen_obj(objs, "schedule", "o",
		 "{'timezone':'UTC','override':'open','windows':[{'days':"
		 "'mon','from':'09:00','to':'10:00'}]}");
	cr_assert(open_at("o", scen_utc(2026, 6, 20, 3, 0)));
	cr_assert_eq(check("schedule",
			   "{'timezone':'UTC','override':'closed','windows':"
			   "[{'days':'mon','from':'09:00','to':'10:00'}]}",
			   &rep),
		     0);
	cr_assert(has(&rep, "warning: schedule: is forced closed"), "%s",
		  rep.text);
}

Test(scenario_schedule, bad_windows_and_dates_are_named)
{
	struct scenario_report rep;

	cr_assert_eq(check("schedule",
			   "{'timezone':'UTC','windows':[{'days':'someday',"
			   "'from':'9','to':'18:00'},{'days':'mon','from':"
			   "'10:00','to':'10:00'}],'holidays':['2026-02-30'],"
			   "'exceptions':[{'date':'2026-01-05','to':"
			   "'2026-01-01'}]}",
			   &rep),
		     -EINVAL);
	cr_assert(has(&rep, "window 1: \"someday\" is not a day"), "%s",
		  rep.text);
	cr_assert(has(&rep, "window 1 needs \"from\" and \"to\" as HH:MM"));
	cr_assert(has(&rep, "window 2 is empty"));
	cr_assert(has(&rep, "holiday 1: \"2026-02-30\" is not a date"));
	cr_assert(has(&rep, "exception 1 ends before it starts"));
	cr_assert_eq(check("schedule", "{'windows':[]}", &rep), -EINVAL);
	cr_assert(has(&rep, "needs option \"timezone\""), "%s", rep.text);
}
