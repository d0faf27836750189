/* Dry run: the product's example scenario replayed for many callers and
 * times through scenario_sim_run (which drives the live walk), with the
 * path and outcome asserted; and the driver always terminates. */
#include <errno.h>

#include "scen_test.h"

static struct scenario *sc;
static struct scenario_objects *objs;
static char out[16384];
static struct scenario_sim_result res;

/* 1. Important clients ring the head of the company (ext. 100).
 * 2. Otherwise outside working hours: "we are closed", hang up.
 * 3. In working hours: greeting, then a voice menu by digit. */
static const char example[] =
	"{'description':'product example','start':'vip','nodes':{"
	"'vip':{'type':'list','options':{'list':'important-clients'},"
	"'outputs':{'in_list':'head','not_in_list':'hours'}},"
	"'head':{'type':'subscriber','options':{'kind':'internal','target':"
	"'100','timeout':20},'outputs':{'next':'hours'}},"
	"'hours':{'type':'schedule','options':{'schedule':'office-hours'},"
	"'outputs':{'match':'welcome','no_match':'closed'}},"
	"'closed':{'type':'greeting','options':{'prompt':'we-are-closed'},"
	"'outputs':{'next':'bye'}},"
	"'bye':{'type':'hangup'},"
	"'welcome':{'type':'greeting','options':{'prompt':'welcome'},"
	"'outputs':{'next':'menu'}},"
	"'menu':{'type':'ivr','options':{'prompt':'menu','timeout':8,"
	"'retries':1,'extension_dialing':true,'extension_digits':'2'},"
	"'outputs':{'digit:1':'sales','digit:3':'support','timeout':"
	"'sales'}},"
	"'sales':{'type':'queue','options':{'queue':'sales'},'outputs':{"
	"'timeout':'vm','exit_key:0':'vm'}},"
	"'support':{'type':'subscriber','options':{'kind':'internal',"
	"'target':'300','timeout':30},'outputs':{'no_answer':'vm',"
	"'busy':'vm'}},"
	"'vm':{'type':'voicemail','options':{'box':'general'}}}}";

static void setup(void)
{
	cr_assert_eq(scenario_objects_alloc(&objs), 0);
	scen_obj(objs, "list", "important-clients",
		 "{'mode':'white','entries':['+7 916 123-45-67',"
		 "'7495777****']}");
	scen_obj(objs, "schedule", "office-hours",
		 "{'timezone':'Europe/Moscow','windows':[{'days':'mon-fri',"
		 "'from':'09:00','to':'18:00'}],'holidays':['01-01..01-08']}");
	scen_obj(objs, "queue", "sales", "{'max_wait':120}");
	scen_obj(objs, "voicemail_box", "general", "{'max_length':60}");
	sc = scen_load(example, objs);
	memset(&res, 0, sizeof(res));
}

static void done(void)
{
	scenario_free(sc);
	sc = NULL;
	scenario_objects_free(objs);
	objs = NULL;
	pbx_test_fini();
}

TestSuite(scenario_sim, .init = setup, .fini = done);

static int run(struct scenario_sim_input *in)
{
	int err = scenario_sim_run(sc, objs, in, out, sizeof(out), &res);

	cr_log_info("%s", out);
	return err;
}

static void expect(const char *path, const char *outcome)
{
	cr_assert_str_eq(res.path, path, "%s", out);
	cr_assert(strstr(res.outcome, outcome),
		  "outcome \"%s\", want "
		  "\"%s\"\n%s",
		  res.outcome, outcome, out);
	cr_assert(strstr(out, "outcome: "), "%s", out);
}

Test(scenario_sim, important_client_reaches_the_head_of_company)
{
	struct scenario_sim_input in = {.caller = "+7 916 123-45-67",
					.at = "2026-12-30T10:00"};

	cr_assert_eq(run(&in), 0);
	expect("vip > head", "answered by extension 100");
	cr_assert(res.ended);
}

Test(scenario_sim, important_client_in_8_form_at_night_still_reaches_head)
{
	struct scenario_sim_input in = {.caller = "8 916 123 45 67",
					.at = "2026-12-30T23:30"};

	cr_assert_eq(run(&in), 0);
	expect("vip > head", "answered by extension 100");
}

Test(scenario_sim, important_client_by_mask_whose_head_is_away_gets_menu)
{
	const char *no_answer[] = {"100"};
	const char *dtmf[] = {"3"};
	struct scenario_sim_input in = {.caller = "84957771234",
					.at = "2026-12-30T11:00",
					.no_answer = no_answer,
					.nno_answer = 1,
					.dtmf = dtmf,
					.ndtmf = 1};

	cr_assert_eq(run(&in), 0);
	expect("vip > head > hours > welcome > menu > support",
	       "answered by extension 300");
	cr_assert(strstr(out, "RING no_answer"), "%s", out);
	cr_assert(strstr(out, "[+20s]"), "%s", out);
}

Test(scenario_sim, caller_on_saturday_hears_we_are_closed_and_hangs_up)
{
	struct scenario_sim_input in = {.caller = "+7 903 000 00 01",
					.at = "2026-12-26T12:00"};

	cr_assert_eq(run(&in), 0);
	expect("vip > hours > closed > bye", "hung up with 603");
	cr_assert(strstr(out, "play prompt \"we-are-closed\""), "%s", out);
}

Test(scenario_sim, caller_in_the_evening_hears_we_are_closed)
{
	struct scenario_sim_input in = {.caller = "79030000001",
					.at = "2026-12-30T18:00"};

	cr_assert_eq(run(&in), 0);
	expect("vip > hours > closed > bye", "hung up with 603");
}

Test(scenario_sim, caller_on_a_new_year_holiday_hears_we_are_closed)
{
	struct scenario_sim_input in = {.caller = "79030000001",
					.at = "2027-01-05T11:00"};

	cr_assert_eq(run(&in), 0); /* a Tuesday, but a holiday */
	expect("vip > hours > closed > bye", "hung up with 603");
}

Test(scenario_sim, caller_pressing_1_goes_to_the_sales_queue)
{
	const char *dtmf[] = {"1"};
	struct scenario_sim_input in = {.caller = "79030000001",
					.at = "2026-12-30T09:00",
					.dtmf = dtmf,
					.ndtmf = 1};

	cr_assert_eq(run(&in), 0);
	expect("vip > hours > welcome > menu > sales",
	       "answered by an agent of queue \"sales\"");
	cr_assert(strstr(out, "play prompt \"welcome\""), "%s", out);
	cr_assert(strstr(out, "play prompt \"menu\" (a key stops it)"));
	cr_assert(strstr(out, "DTMF 1"));
}

Test(scenario_sim, caller_dialling_an_extension_reaches_it_directly)
{
	const char *dtmf[] = {"205"};
	struct scenario_sim_input in = {.caller = "79030000001",
					.at = "2026-12-30T09:00",
					.dtmf = dtmf,
					.ndtmf = 1};

	cr_assert_eq(run(&in), 0);
	expect("vip > hours > welcome > menu", "answered by extension 205");
	cr_assert(strstr(out, "ring extension 205"), "%s", out);
}

Test(scenario_sim, silent_caller_is_asked_twice_then_queued)
{
	struct scenario_sim_input in = {
		.caller = "", .at = "2026-12-30T09:00", .agents = "busy"};

	cr_assert_eq(run(&in), 0);
	expect("vip > hours > welcome > menu > sales > vm",
	       "voicemail \"general\"");
	cr_assert(strstr(out, "caller anonymous: not_in_list"), "%s", out);
	cr_assert(strstr(out, "TIMER #2"), "%s", out);
	cr_assert(strstr(out, "QUEUE timeout"), "%s", out);
	cr_assert(strstr(out, "max wait 120 s"), "%s", out);
}

Test(scenario_sim, queued_caller_leaves_with_the_exit_key)
{
	const char *dtmf[] = {"1", "0"};
	struct scenario_sim_input in = {.caller = "79030000001",
					.at = "2026-12-30T09:00",
					.dtmf = dtmf,
					.ndtmf = 2,
					.agents = "busy"};

	cr_assert_eq(run(&in), 0);
	expect("vip > hours > welcome > menu > sales > vm",
	       "voicemail \"general\"");
	cr_assert(strstr(out, "QUEUE exit key 0"), "%s", out);
}

Test(scenario_sim, busy_support_goes_to_voicemail)
{
	const char *dtmf[] = {"3"};
	const char *busy[] = {"300"};
	struct scenario_sim_input in = {.caller = "79030000001",
					.at = "2026-12-30T17:59",
					.dtmf = dtmf,
					.ndtmf = 1,
					.busy = busy,
					.nbusy = 1};

	cr_assert_eq(run(&in), 0);
	expect("vip > hours > welcome > menu > support > vm",
	       "voicemail \"general\"");
}

Test(scenario_sim, time_defaults_to_now_in_the_scenario_zone)
{
	struct scenario_sim_input in = {.caller = "79030000001",
					/* Sun 2026-06-21 12:00 UTC */
					.now_ms =
						scen_utc(2026, 6, 21, 12, 0)};

	cr_assert_eq(run(&in), 0);
	expect("vip > hours > closed > bye", "hung up with 603");
	cr_assert(strstr(out, "2026-06-21 15:00 Europe/Moscow"), "%s", out);
	cr_assert_eq(res.at_ms, in.now_ms);
}

Test(scenario_sim, at_is_read_in_the_given_zone)
{
	struct scenario_sim_input in = {.caller = "79030000001",
					.at = "2026-12-30 07:30",
					.timezone = "Europe/Berlin"};

	/* 07:30 Berlin = 09:30 Moscow: open. */
	cr_assert_eq(run(&in), 0);
	cr_assert(strstr(res.path, "welcome"), "%s", out);
	cr_assert_eq(res.at_ms, scen_utc(2026, 12, 30, 6, 30));
}

Test(scenario_sim, bad_input_is_one_plain_sentence)
{
	struct scenario_sim_input in = {.agents = "asleep"};

	cr_assert_eq(run(&in), -EINVAL);
	cr_assert(strstr(out, "agents must be free, busy, none or full"));
	in.agents = NULL;
	in.at = "tomorrow";
	cr_assert_eq(run(&in), -EINVAL);
	cr_assert(strstr(out, "\"tomorrow\" is not YYYY-MM-DDTHH:MM"));
	in.at = "2026-12-30T10:00";
	in.timezone = "Mars/Olympus";
	cr_assert_eq(run(&in), -EINVAL);
	cr_assert(strstr(out, "unknown time zone"));
}

Test(scenario_sim, endless_menu_loop_stops_at_the_step_limit)
{
	struct scenario *loop =
		scen_load("{'start':'m','nodes':{'m':{'type':'ivr','options':{"
			  "'prompt':'p','retries':0},'outputs':{'digit:1':'m',"
			  "'timeout':'m'}}}}",
			  NULL);
	struct scenario_sim_input in = {.at = "2026-12-30T10:00",
					.max_steps = 50};
	int err = scenario_sim_run(loop, NULL, &in, out, sizeof(out), &res);

	cr_assert_eq(err, 0);
	cr_assert_eq(res.steps, 50);
	cr_assert_not(res.ended);
	cr_assert(strstr(res.outcome, "stopped after 50 steps"), "%s",
		  res.outcome);
	scenario_free(loop);
}

Test(scenario_sim, small_output_buffer_keeps_the_outcome_line)
{
	struct scenario_sim_input in = {.caller = "79030000001",
					.at = "2026-12-30T18:00"};
	char small[200];
	int err = scenario_sim_run(sc, objs, &in, small, sizeof(small), &res);

	cr_assert_eq(err, 0);
	cr_assert(res.truncated);
	cr_assert(strstr(small, "...\noutcome: hung up with 603"), "%s",
		  small);
	cr_assert_lt(strlen(small), sizeof(small));
}

Test(scenario_sim, assistant_and_crm_are_simulated_from_the_script)
{
	struct scenario *s2 = scen_load(
		"{'start':'c','nodes':{"
		"'c':{'type':'crm','options':{'crm':'bitrix24'},'outputs':{"
		"'no_answer':'a','not_found':'a','crm_error':'a'}},"
		"'a':{'type':'assistant','options':{'prompt':'ask','phrases':{"
		"'sales':['продажи','buy'],'support':['help']}},'outputs':{"
		"'phrase:sales':'s','phrase:support':'h','no_input':'h'}},"
		"'s':{'type':'hangup','options':{'code':601}},"
		"'h':{'type':'hangup','options':{'code':602}}}}",
		NULL);
	const char *say[] = {"Мне нужны ПРОДАЖИ"};
	struct scenario_sim_input in = {.at = "2026-12-30T10:00",
					.crm_owner = "204",
					.say = say,
					.nsay = 1};
	const char *no_answer[] = {"204"};

	cr_assert_eq(scenario_sim_run(s2, NULL, &in, out, sizeof(out), &res),
		     0);
	cr_assert(strstr(res.outcome, "answered by extension 204"), "%s", out);
	in.no_answer = no_answer;
	in.nno_answer = 1;
	cr_assert_eq(scenario_sim_run(s2, NULL, &in, out, sizeof(out), &res),
		     0);
	cr_assert(strstr(res.outcome, "hung up with 601"), "%s", out);
	in.crm_owner = "error";
	in.say = NULL;
	in.nsay = 0;
	cr_assert_eq(scenario_sim_run(s2, NULL, &in, out, sizeof(out), &res),
		     0);
	cr_assert(strstr(out, "CRM error"), "%s", out);
	cr_assert(strstr(res.outcome, "hung up with 602"), "%s", out);
	in.crm_owner = "timeout";
	cr_assert_eq(scenario_sim_run(s2, NULL, &in, out, sizeof(out), &res),
		     0);
	cr_assert(strstr(out, "TIMER #1"), "%s", out);
	scenario_free(s2);
}

Test(scenario_sim, ring_to_an_extension_the_tenant_lacks_is_unavailable)
{
	const char *exts[] = {"100"};
	const char *dtmf[] = {"3"};
	struct scenario_sim_input in = {.caller = "79030000001",
					.at = "2026-12-30T11:00",
					.dtmf = dtmf,
					.ndtmf = 1,
					.extensions = exts,
					.nextensions = 1,
					.extensions_known = true};

	/* support rings 300, which does not exist: the live registrar
	 * answers 404, the walk takes "unavailable", never "answered". */
	cr_assert_eq(run(&in), 0);
	cr_assert(strstr(out, "RING unavailable (no extension 300)"), "%s",
		  out);
	cr_assert_null(strstr(res.outcome, "answered"), "%s", out);
	/* An extension that exists still answers by default. */
	in.caller = "+7 916 123-45-67";
	cr_assert_eq(run(&in), 0);
	expect("vip > head", "answered by extension 100");
}

Test(scenario_sim, direct_dialled_missing_extension_is_not_answered)
{
	const char *exts[] = {"100", "300"};
	const char *dtmf[] = {"245"};
	struct scenario_sim_input in = {.caller = "79030000001",
					.at = "2026-12-30T11:00",
					.dtmf = dtmf,
					.ndtmf = 1,
					.extensions = exts,
					.nextensions = 2,
					.extensions_known = true};

	cr_assert_eq(run(&in), 0);
	/* The menu's unavailable branch (here its timeout route to the
	 * sales queue) is taken, as on a live call. */
	cr_assert(strstr(out, "RING unavailable (no extension 245)"), "%s",
		  out);
	cr_assert_null(strstr(res.outcome, "extension 245"), "%s", out);
}

Test(scenario_sim, the_clock_runs_each_prompt_for_its_length)
{
	struct scenario *menu = scen_load(
		"{'start':'m','nodes':{'m':{'type':'ivr','options':{"
		"'prompt':'p','timeout':5,'retries':2},'outputs':{"
		"'timeout':'h'}},'h':{'type':'hangup'}}}",
		NULL);
	const struct scenario_sim_prompt prompts[] = {{"p", 4000}};
	struct scenario_sim_input in = {.at = "2026-12-30T10:00",
					.prompts = prompts,
					.nprompts = 1};

	/* Three plays of 4 s, each followed by 5 s of waiting: 27 s, as
	 * the live call takes (the menu timer starts when a play ends). */
	cr_assert_eq(scenario_sim_run(menu, NULL, &in, out, sizeof(out), &res),
		     0);
	cr_log_info("%s", out);
	cr_assert(strstr(out, "[+27s]"), "%s", out);
	cr_assert_null(strstr(out, "[+28s]"), "%s", out);
	scenario_free(menu);
}

Test(scenario_sim, a_date_or_time_that_does_not_exist_is_refused)
{
	struct scenario_sim_input in = {.caller = "79030000001",
					.at = "2026-02-30T10:00"};

	/* Not normalised to 2026-03-02: a typo must not simulate another
	 * day. */
	cr_assert_eq(run(&in), -EINVAL);
	cr_assert(strstr(out, "\"2026-02-30T10:00\" is not a date: 2026-02 "
			      "has 28 days"),
		  "%s", out);
	in.at = "2028-02-29T10:00";
	cr_assert_eq(run(&in), 0, "%s", out);
	in.at = "2026-04-31T10:00";
	cr_assert_eq(run(&in), -EINVAL);
	cr_assert(strstr(out, "2026-04 has 30 days"), "%s", out);
	in.at = "2026-13-01T10:00";
	cr_assert_eq(run(&in), -EINVAL);
	cr_assert(strstr(out, "no month 13"), "%s", out);
	in.at = "2026-12-30T24:00";
	cr_assert_eq(run(&in), -EINVAL);
	cr_assert(strstr(out, "is not a time of day"), "%s", out);
	/* 02:30 on the last Sunday of March does not happen in Berlin. */
	in.at = "2026-03-29T02:30";
	in.timezone = "Europe/Berlin";
	cr_assert_eq(run(&in), -EINVAL);
	cr_assert(strstr(out, "does not exist in Europe/Berlin"), "%s", out);
	in.at = "2026-03-29T03:30";
	cr_assert_eq(run(&in), 0, "%s", out);
}
