/* Tests of services/pbxctl/pbxctl_cmd.c: every command line becomes the
 * right ProvRequest, bad ones are usage errors, and every kind of answer
 * maps to the documented output and exit code. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pbx_test.h"
#include "pbxctl_cmd.h"

TestSuite(pbxctl_cmd, .fini = pbx_test_fini);

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static char err[512];

static int parse(struct pbxctl_cmd *cmd, int argc, char **argv)
{
	err[0] = '\0';
	return pbxctl_cmd_parse(cmd, argc, argv, NULL, err, sizeof(err));
}

Test(pbxctl_cmd, tenant_create_takes_name_and_domain)
{
	char *argv[] = {"pbxctl", "tenant", "create", "acme", "--name",
			"Acme Inc", "--domain=sip.acme.example"};
	struct pbxctl_cmd c;

	cr_assert_eq(parse(&c, ARGC(argv), argv), 0, "%s", err);
	cr_assert_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_TENANT_CREATE);
	cr_expect_str_eq(c.req.tenant_create->tenant, "acme");
	cr_expect_str_eq(c.req.tenant_create->name, "Acme Inc");
	cr_expect_str_eq(c.req.tenant_create->domain, "sip.acme.example");
	cr_expect_eq(c.print, PBXCTL_PRINT_OK);
	cr_expect_str_eq(c.server, PBXCTL_SERVER_DEFAULT);
	cr_expect_eq(c.timeout_ms, 3000);
}

Test(pbxctl_cmd, tenant_create_without_options_leaves_them_empty)
{
	char *argv[] = {"pbxctl", "tenant", "create", "acme"};
	struct pbxctl_cmd c;

	cr_assert_eq(parse(&c, ARGC(argv), argv), 0);
	cr_expect_str_eq(c.req.tenant_create->name, "");
	cr_expect_str_eq(c.req.tenant_create->domain, "");
}

Test(pbxctl_cmd, tenant_list_and_delete)
{
	char *a1[] = {"pbxctl", "tenant", "list"};
	char *a2[] = {"pbxctl", "tenant", "delete", "acme"};
	struct pbxctl_cmd c;

	cr_assert_eq(parse(&c, ARGC(a1), a1), 0);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_TENANT_LIST);
	cr_expect_not_null(c.req.tenant_list);
	cr_expect_eq(c.print, PBXCTL_PRINT_ITEMS);
	cr_assert_eq(parse(&c, ARGC(a2), a2), 0);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_TENANT_DELETE);
	cr_expect_str_eq(c.req.tenant_delete->tenant, "acme");
}

Test(pbxctl_cmd, number_commands)
{
	char *a1[] = {"pbxctl", "number", "connect", "acme", "+74951234567"};
	char *a2[] = {"pbxctl", "number", "disconnect", "acme", "100"};
	char *a3[] = {"pbxctl", "number", "list", "acme"};
	struct pbxctl_cmd c;

	cr_assert_eq(parse(&c, ARGC(a1), a1), 0);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_NUMBER_CONNECT);
	cr_expect_str_eq(c.req.number_connect->tenant, "acme");
	cr_expect_str_eq(c.req.number_connect->number, "+74951234567");
	cr_assert_eq(parse(&c, ARGC(a2), a2), 0);
	cr_expect_eq(c.req.op_case,
		     PBX__V1__PROV_REQUEST__OP_NUMBER_DISCONNECT);
	cr_expect_str_eq(c.req.number_disconnect->number, "100");
	cr_assert_eq(parse(&c, ARGC(a3), a3), 0);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_NUMBER_LIST);
	cr_expect_str_eq(c.req.number_list->tenant, "acme");
	cr_expect_eq(c.print, PBXCTL_PRINT_ITEMS);
}

Test(pbxctl_cmd, ext_commands)
{
	char *a1[] = {"pbxctl", "ext", "add", "acme", "101", "secret123"};
	char *a2[] = {"pbxctl", "ext", "remove", "acme", "101"};
	char *a3[] = {"pbxctl", "extension", "list", "acme"};
	struct pbxctl_cmd c;

	cr_assert_eq(parse(&c, ARGC(a1), a1), 0);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_EXTENSION_ADD);
	cr_expect_str_eq(c.req.extension_add->ext, "101");
	cr_expect_str_eq(c.req.extension_add->password, "secret123");
	cr_expect_not(c.password_stdin);
	cr_assert_eq(parse(&c, ARGC(a2), a2), 0);
	cr_expect_eq(c.req.op_case,
		     PBX__V1__PROV_REQUEST__OP_EXTENSION_REMOVE);
	cr_expect_str_eq(c.req.extension_remove->ext, "101");
	cr_assert_eq(parse(&c, ARGC(a3), a3), 0);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_EXTENSION_LIST);
}

Test(pbxctl_cmd, ext_add_dash_reads_the_password_from_stdin)
{
	char *argv[] = {"pbxctl", "ext", "add", "acme", "101", "-"};
	struct pbxctl_cmd c;

	cr_assert_eq(parse(&c, ARGC(argv), argv), 0);
	cr_expect(c.password_stdin);
}

Test(pbxctl_cmd, prompt_commands)
{
	char *a1[] = {"pbxctl", "prompt", "upload", "acme", "welcome",
		      "w.wav"};
	char *a2[] = {"pbxctl", "prompt", "list", "acme"};
	char *a3[] = {"pbxctl", "prompt", "delete", "acme", "welcome"};
	struct pbxctl_cmd c;

	cr_assert_eq(parse(&c, ARGC(a1), a1), 0);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_PROMPT_UPLOAD);
	cr_expect_str_eq(c.req.prompt_upload->name, "welcome");
	cr_expect_str_eq(c.file, "w.wav");
	cr_assert_eq(parse(&c, ARGC(a2), a2), 0);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_PROMPT_LIST);
	cr_assert_eq(parse(&c, ARGC(a3), a3), 0);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_PROMPT_DELETE);
	cr_expect_str_eq(c.req.prompt_delete->name, "welcome");
}

Test(pbxctl_cmd, scenario_commands)
{
	char *a1[] = {"pbxctl", "scenario", "put", "acme", "main", "-"};
	char *a2[] = {"pbxctl", "scenario", "get", "acme", "main"};
	char *a3[] = {"pbxctl", "scenario", "list", "acme"};
	char *a4[] = {"pbxctl", "scenario", "activate", "acme", "100",
		      "main"};
	struct pbxctl_cmd c;

	cr_assert_eq(parse(&c, ARGC(a1), a1), 0);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_SCENARIO_PUT);
	cr_expect_str_eq(c.req.scenario_put->name, "main");
	cr_expect_str_eq(c.file, "-");
	cr_assert_eq(parse(&c, ARGC(a2), a2), 0);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_SCENARIO_GET);
	cr_expect_eq(c.print, PBXCTL_PRINT_BODY);
	cr_assert_eq(parse(&c, ARGC(a3), a3), 0);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_SCENARIO_LIST);
	cr_assert_eq(parse(&c, ARGC(a4), a4), 0);
	cr_expect_eq(c.req.op_case,
		     PBX__V1__PROV_REQUEST__OP_SCENARIO_ACTIVATE);
	cr_expect_str_eq(c.req.scenario_activate->number, "100");
	cr_expect_str_eq(c.req.scenario_activate->name, "main");
}

Test(pbxctl_cmd, scenario_get_sends_the_version_field)
{
	char *a1[] = {"pbxctl", "scenario", "get", "acme", "main",
		      "--version", "3"};
	char *a2[] = {"pbxctl", "scenario", "get", "acme", "main",
		      "--version=v12"};
	char *a3[] = {"pbxctl", "scenario", "get", "acme", "main",
		      "--version", "0"};
	char *a4[] = {"pbxctl", "scenario", "get", "acme", "main",
		      "--version", "x"};
	struct pbxctl_cmd c;

	cr_assert_eq(parse(&c, ARGC(a1), a1), 0, "%s", err);
	cr_expect_str_eq(c.req.scenario_get->name, "main");
	cr_expect_eq(c.req.scenario_get->version, 3);
	cr_assert_eq(parse(&c, ARGC(a2), a2), 0, "%s", err);
	cr_expect_eq(c.req.scenario_get->version, 12);
	cr_expect_eq(parse(&c, ARGC(a3), a3), -EINVAL);
	cr_expect(strstr(err, "--version") != NULL, "%s", err);
	cr_expect_eq(parse(&c, ARGC(a4), a4), -EINVAL);
}

Test(pbxctl_cmd, scenario_history_diff_rollback)
{
	char *a1[] = {"pbxctl", "scenario", "history", "acme", "main"};
	char *a2[] = {"pbxctl", "scenario", "diff", "acme", "main", "1",
		      "v2"};
	char *a3[] = {"pbxctl", "scenario", "diff", "acme", "main", "2",
		      "latest"};
	char *a4[] = {"pbxctl", "scenario", "diff", "acme", "main", "one",
		      "2"};
	char *a5[] = {"pbxctl", "scenario", "rollback", "acme", "+7495"};
	struct pbxctl_cmd c;

	cr_assert_eq(parse(&c, ARGC(a1), a1), 0, "%s", err);
	cr_expect_eq(c.req.op_case,
		     PBX__V1__PROV_REQUEST__OP_SCENARIO_HISTORY);
	cr_expect_str_eq(c.req.scenario_history->tenant, "acme");
	cr_expect_str_eq(c.req.scenario_history->name, "main");
	cr_expect_eq(c.print, PBXCTL_PRINT_ITEMS);
	cr_assert_eq(parse(&c, ARGC(a2), a2), 0, "%s", err);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_SCENARIO_DIFF);
	cr_expect_eq(c.req.scenario_diff->from_version, 1);
	cr_expect_eq(c.req.scenario_diff->to_version, 2);
	cr_expect_eq(c.print, PBXCTL_PRINT_BODY);
	cr_assert_eq(parse(&c, ARGC(a3), a3), 0, "%s", err);
	cr_expect_eq(c.req.scenario_diff->to_version, 0);
	cr_expect_eq(parse(&c, ARGC(a4), a4), -EINVAL);
	cr_expect(strstr(err, "versions are numbers") != NULL, "%s", err);
	cr_assert_eq(parse(&c, ARGC(a5), a5), 0, "%s", err);
	cr_expect_eq(c.req.op_case,
		     PBX__V1__PROV_REQUEST__OP_SCENARIO_ROLLBACK);
	cr_expect_str_eq(c.req.scenario_rollback->number, "+7495");
}

Test(pbxctl_cmd, scenario_activate_version_and_time)
{
	char *a1[] = {"pbxctl", "scenario", "activate", "acme", "100", "main",
		      "--version", "2", "--at", "2026-12-31T18:00:00Z"};
	char *a2[] = {"pbxctl", "scenario", "activate", "acme", "100", "main",
		      "--at=1798740000000"};
	char *a3[] = {"pbxctl", "scenario", "activate", "acme", "100", "main",
		      "--at", "2026-12-31T18:00"};
	char *a4[] = {"pbxctl", "scenario", "activate", "acme", "100",
		      "main"};
	struct pbxctl_cmd c;

	cr_assert_eq(parse(&c, ARGC(a1), a1), 0, "%s", err);
	cr_expect_eq(c.req.scenario_activate->version, 2);
	cr_expect_eq(c.req.scenario_activate->at_ms, 1798740000000ULL);
	cr_assert_eq(parse(&c, ARGC(a2), a2), 0, "%s", err);
	cr_expect_eq(c.req.scenario_activate->version, 0);
	cr_expect_eq(c.req.scenario_activate->at_ms, 1798740000000ULL);
	/* No zone: refused rather than guessed. */
	cr_expect_eq(parse(&c, ARGC(a3), a3), -EINVAL);
	cr_expect(strstr(err, "zone") != NULL, "%s", err);
	cr_assert_eq(parse(&c, ARGC(a4), a4), 0, "%s", err);
	cr_expect_eq(c.req.scenario_activate->version, 0);
	cr_expect_eq(c.req.scenario_activate->at_ms, 0);
}

Test(pbxctl_cmd, time_parse_forms)
{
	uint64_t ms = 0;

	cr_assert_eq(pbxctl_time_parse("2026-12-31T18:00:00Z", &ms), 0);
	cr_expect_eq(ms, 1798740000000ULL);
	cr_assert_eq(pbxctl_time_parse("2026-12-31T21:00+03:00", &ms), 0);
	cr_expect_eq(ms, 1798740000000ULL);
	cr_assert_eq(pbxctl_time_parse("2026-12-31T13:00:00-0500", &ms), 0);
	cr_expect_eq(ms, 1798740000000ULL);
	cr_assert_eq(pbxctl_time_parse("2026-12-31 18:00:00.25Z", &ms), 0);
	cr_expect_eq(ms, 1798740000250ULL);
	cr_assert_eq(pbxctl_time_parse("1798740000000", &ms), 0);
	cr_expect_eq(ms, 1798740000000ULL);
	cr_assert_eq(pbxctl_time_parse("2028-02-29T00:00:00Z", &ms), 0);
	cr_expect_eq(pbxctl_time_parse("2027-02-29T00:00:00Z", &ms), -EINVAL);
	cr_expect_eq(pbxctl_time_parse("2026-13-01T00:00Z", &ms), -EINVAL);
	cr_expect_eq(pbxctl_time_parse("2026-12-31T24:00Z", &ms), -EINVAL);
	cr_expect_eq(pbxctl_time_parse("2026-12-31T18:00:00Zjunk", &ms),
		     -EINVAL);
	cr_expect_eq(pbxctl_time_parse("0", &ms), -EINVAL);
	cr_expect_eq(pbxctl_time_parse("", &ms), -EINVAL);
	cr_expect_eq(pbxctl_time_parse("tomorrow", &ms), -EINVAL);
}

Test(pbxctl_cmd, scenario_simulate_collects_every_option)
{
	char *argv[] = {"pbxctl",      "scenario",   "simulate",
			"acme",        "+74951234567", "--caller",
			"+79161234567", "--at",        "2026-12-31T19:00",
			"--dtmf",      "2",           "--dtmf=5",
			"--say",       "sales",       "--agents",
			"busy",        "--no-answer", "101",
			"--no-answer", "102",         "--busy",
			"103",         "--unavailable", "104",
			"--crm-owner", "none"};
	struct pbxctl_cmd c;
	const Pbx__V1__ProvRequest__ScenarioSimulate *s;

	cr_assert_eq(parse(&c, ARGC(argv), argv), 0, "%s", err);
	cr_assert_eq(c.req.op_case,
		     PBX__V1__PROV_REQUEST__OP_SCENARIO_SIMULATE);
	s = c.req.scenario_simulate;
	cr_expect_str_eq(s->tenant, "acme");
	cr_expect_str_eq(s->number, "+74951234567");
	cr_expect_str_eq(s->caller, "+79161234567");
	cr_expect_str_eq(s->at, "2026-12-31T19:00");
	cr_assert_eq(s->n_dtmf, 2);
	cr_expect_str_eq(s->dtmf[0], "2");
	cr_expect_str_eq(s->dtmf[1], "5");
	cr_assert_eq(s->n_say, 1);
	cr_expect_str_eq(s->say[0], "sales");
	cr_expect_str_eq(s->agents, "busy");
	cr_assert_eq(s->n_no_answer, 2);
	cr_expect_str_eq(s->no_answer[1], "102");
	cr_assert_eq(s->n_busy, 1);
	cr_expect_str_eq(s->busy[0], "103");
	cr_assert_eq(s->n_unavailable, 1);
	cr_expect_str_eq(s->unavailable[0], "104");
	cr_expect_str_eq(s->crm_owner, "");
	cr_expect_eq(c.print, PBXCTL_PRINT_BODY);
}

Test(pbxctl_cmd, scenario_simulate_defaults_and_refusals)
{
	char *a1[] = {"pbxctl", "scenario", "simulate", "acme", "100",
		      "--caller", "anonymous"};
	char *a2[] = {"pbxctl", "scenario", "simulate", "acme", "100"};
	char *a3[] = {"pbxctl", "scenario", "simulate", "acme", "100",
		      "--caller", "1", "--agents", "sleepy"};
	char *a4[] = {"pbxctl", "scenario", "simulate", "acme", "100",
		      "--caller", "1", "--crm-owner", "error"};
	char *a5[] = {"pbxctl", "scenario", "simulate", "acme", "100",
		      "--caller", "1", "--caller", "2"};
	struct pbxctl_cmd c;

	cr_assert_eq(parse(&c, ARGC(a1), a1), 0, "%s", err);
	cr_expect_str_eq(c.req.scenario_simulate->caller, "anonymous");
	cr_expect_str_eq(c.req.scenario_simulate->at, "");
	cr_expect_str_eq(c.req.scenario_simulate->agents, "");
	cr_expect_eq(c.req.scenario_simulate->n_dtmf, 0);
	cr_expect_eq(parse(&c, ARGC(a2), a2), -EINVAL);
	cr_expect(strstr(err, "--caller") != NULL, "%s", err);
	cr_expect_eq(parse(&c, ARGC(a3), a3), -EINVAL);
	cr_expect(strstr(err, "--agents") != NULL, "%s", err);
	cr_assert_eq(parse(&c, ARGC(a4), a4), 0, "%s", err);
	cr_expect_str_eq(c.req.scenario_simulate->crm_owner, "error");
	cr_expect_eq(parse(&c, ARGC(a5), a5), -EINVAL);
	cr_expect(strstr(err, "twice") != NULL, "%s", err);
	/* "full" is documented (a full queue takes its "full" output). */
	a3[8] = "full";
	cr_assert_eq(parse(&c, ARGC(a3), a3), 0, "%s", err);
	cr_expect_str_eq(c.req.scenario_simulate->agents, "full");
}

Test(pbxctl_cmd, repeated_options_have_a_limit)
{
	char *argv[2 * PBXCTL_REPEAT_MAX + 10];
	int n = 0;
	struct pbxctl_cmd c;

	argv[n++] = "pbxctl";
	argv[n++] = "scenario";
	argv[n++] = "simulate";
	argv[n++] = "acme";
	argv[n++] = "100";
	argv[n++] = "--caller=1";
	for (int i = 0; i <= PBXCTL_REPEAT_MAX; i++) {
		argv[n++] = "--dtmf";
		argv[n++] = "1";
	}
	cr_expect_eq(parse(&c, n, argv), -EINVAL);
	cr_expect(strstr(err, "more than") != NULL, "%s", err);
}

Test(pbxctl_cmd, object_commands)
{
	char *a1[] = {"pbxctl", "object", "put", "acme", "queue", "sales",
		      "-"};
	char *a2[] = {"pbxctl", "object", "get", "acme", "queue", "sales"};
	char *a3[] = {"pbxctl", "object", "list", "acme"};
	char *a4[] = {"pbxctl", "object", "list", "acme", "schedule"};
	char *a5[] = {"pbxctl", "object", "delete", "acme", "list", "vip"};
	char *a6[] = {"pbxctl", "object", "list", "acme", "a", "b"};
	struct pbxctl_cmd c;

	cr_assert_eq(parse(&c, ARGC(a1), a1), 0, "%s", err);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_OBJECT_PUT);
	cr_expect_str_eq(c.req.object_put->kind, "queue");
	cr_expect_str_eq(c.req.object_put->name, "sales");
	cr_expect_str_eq(c.file, "-");
	cr_assert_eq(parse(&c, ARGC(a2), a2), 0, "%s", err);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_OBJECT_GET);
	cr_expect_str_eq(c.req.object_get->name, "sales");
	cr_expect_eq(c.print, PBXCTL_PRINT_BODY);
	cr_assert_eq(parse(&c, ARGC(a3), a3), 0, "%s", err);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_OBJECT_LIST);
	cr_expect_str_eq(c.req.object_list->kind, "");
	cr_expect_eq(c.print, PBXCTL_PRINT_ITEMS);
	cr_assert_eq(parse(&c, ARGC(a4), a4), 0, "%s", err);
	cr_expect_str_eq(c.req.object_list->kind, "schedule");
	cr_assert_eq(parse(&c, ARGC(a5), a5), 0, "%s", err);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_OBJECT_DELETE);
	cr_expect_str_eq(c.req.object_delete->kind, "list");
	cr_expect_str_eq(c.req.object_delete->name, "vip");
	cr_expect_eq(parse(&c, ARGC(a6), a6), -EINVAL);
	cr_expect(strstr(err, "too many") != NULL, "%s", err);
}

Test(pbxctl_cmd, load_reads_the_object_file)
{
	char path[] = "/tmp/test_pbxctl_XXXXXX";
	int fd = mkstemp(path);
	char *argv[] = {"pbxctl", "object", "put", "acme", "queue", "q",
			path};
	struct pbxctl_cmd c;

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, "{\"max_wait\":60}", 15), 15);
	close(fd);
	cr_assert_eq(parse(&c, ARGC(argv), argv), 0);
	cr_assert_eq(pbxctl_cmd_load(&c, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(c.req.object_put->json, "{\"max_wait\":60}");
	pbxctl_cmd_reset(&c);
	unlink(path);
}

Test(pbxctl_cmd, trunk_commands)
{
	char *a1[] = {"pbxctl", "trunk", "add", "carrier1",
		      "sip.carrier.example:5070", "--username", "u1",
		      "--password", "p@ss", "--format", "national",
		      "--realm", "carrier.example"};
	char *a2[] = {"pbxctl", "trunk", "add", "c2", "192.0.2.1"};
	char *a3[] = {"pbxctl", "trunk", "add", "c2", "192.0.2.1",
		      "--username", "u1"};
	char *a4[] = {"pbxctl", "trunk", "add", "c2", "192.0.2.1",
		      "--username", "u1", "--password", "-"};
	char *a5[] = {"pbxctl", "trunk", "remove", "c2"};
	char *a6[] = {"pbxctl", "trunk", "list"};
	struct pbxctl_cmd c;

	cr_assert_eq(parse(&c, ARGC(a1), a1), 0, "%s", err);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_TRUNK_ADD);
	cr_expect_str_eq(c.req.trunk_add->name, "carrier1");
	cr_expect_str_eq(c.req.trunk_add->address,
			 "sip.carrier.example:5070");
	cr_expect_str_eq(c.req.trunk_add->username, "u1");
	cr_expect_str_eq(c.req.trunk_add->password, "p@ss");
	cr_expect_str_eq(c.req.trunk_add->number_format, "national");
	cr_expect_str_eq(c.req.trunk_add->realm, "carrier.example");
	cr_expect_not(c.password_stdin);
	cr_assert_eq(parse(&c, ARGC(a2), a2), 0, "%s", err);
	cr_expect_str_eq(c.req.trunk_add->username, "");
	cr_expect_str_eq(c.req.trunk_add->number_format, "");
	cr_expect_eq(parse(&c, ARGC(a3), a3), -EINVAL);
	cr_expect(strstr(err, "go together") != NULL, "%s", err);
	cr_assert_eq(parse(&c, ARGC(a4), a4), 0, "%s", err);
	cr_expect(c.password_stdin);
	cr_expect_eq(c.password_dst, &c.op.trunk_add.password);
	cr_assert_eq(parse(&c, ARGC(a5), a5), 0, "%s", err);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_TRUNK_REMOVE);
	cr_expect_str_eq(c.req.trunk_remove->name, "c2");
	cr_assert_eq(parse(&c, ARGC(a6), a6), 0, "%s", err);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_TRUNK_LIST);
	cr_expect_not_null(c.req.trunk_list);
	cr_expect_eq(c.print, PBXCTL_PRINT_ITEMS);
}

Test(pbxctl_cmd, trunk_assign_show_and_default)
{
	char *a1[] = {"pbxctl", "trunk", "assign", "acme", "mts", "rt"};
	char *a2[] = {"pbxctl", "trunk", "assign", "acme", "default"};
	char *a3[] = {"pbxctl", "trunk", "show", "acme"};
	char *a4[] = {"pbxctl", "trunk", "assign", "acme"};
	struct pbxctl_cmd c;

	cr_assert_eq(parse(&c, ARGC(a1), a1), 0, "%s", err);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_TRUNK_ASSIGN);
	cr_expect_str_eq(c.req.trunk_assign->tenant, "acme");
	cr_assert_eq(c.req.trunk_assign->n_trunks, 2);
	/* In the order given: the first takes the calls. */
	cr_expect_str_eq(c.req.trunk_assign->trunks[0], "mts");
	cr_expect_str_eq(c.req.trunk_assign->trunks[1], "rt");
	cr_expect_not(c.req.trunk_assign->clear);
	cr_assert_eq(parse(&c, ARGC(a2), a2), 0, "%s", err);
	cr_expect(c.req.trunk_assign->clear);
	cr_expect_eq(c.req.trunk_assign->n_trunks, 0);
	cr_assert_eq(parse(&c, ARGC(a3), a3), 0, "%s", err);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_TRUNK_ASSIGN);
	cr_expect_eq(c.req.trunk_assign->n_trunks, 0);
	cr_expect_not(c.req.trunk_assign->clear);
	cr_expect_eq(c.print, PBXCTL_PRINT_ITEMS);
	/* Without a trunk name it is a usage error, not a "show". */
	cr_expect_eq(parse(&c, ARGC(a4), a4), -EINVAL);
}

Test(pbxctl_cmd, tenant_feature_on_off)
{
	char *a1[] = {"pbxctl", "tenant", "feature", "acme", "fax", "on"};
	char *a2[] = {"pbxctl", "tenant", "feature", "acme", "fax", "off"};
	char *a3[] = {"pbxctl", "tenant", "feature", "acme", "fax", "yes"};
	struct pbxctl_cmd c;

	cr_assert_eq(parse(&c, ARGC(a1), a1), 0, "%s", err);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_TENANT_FEATURE);
	cr_expect_str_eq(c.req.tenant_feature->tenant, "acme");
	cr_expect_str_eq(c.req.tenant_feature->feature, "fax");
	cr_expect(c.req.tenant_feature->enabled);
	cr_assert_eq(parse(&c, ARGC(a2), a2), 0, "%s", err);
	cr_expect_not(c.req.tenant_feature->enabled);
	cr_expect_eq(parse(&c, ARGC(a3), a3), -EINVAL);
	cr_expect(strstr(err, "\"on\" or \"off\"") != NULL, "%s", err);
}

Test(pbxctl_cmd, tenant_language_set_or_show)
{
	char *a1[] = {"pbxctl", "tenant", "language", "acme", "ru"};
	char *a2[] = {"pbxctl", "tenant", "language", "acme"};
	char *a3[] = {"pbxctl", "tenant", "language"};
	struct pbxctl_cmd c;

	cr_assert_eq(parse(&c, ARGC(a1), a1), 0, "%s", err);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_TENANT_LANGUAGE);
	cr_expect_str_eq(c.req.tenant_language->tenant, "acme");
	cr_expect_str_eq(c.req.tenant_language->language, "ru");
	cr_expect_eq(c.print, PBXCTL_PRINT_ITEMS);
	cr_assert_eq(parse(&c, ARGC(a2), a2), 0, "%s", err);
	cr_expect_str_eq(c.req.tenant_language->language, "");
	cr_expect_eq(parse(&c, ARGC(a3), a3), -EINVAL);
}

Test(pbxctl_cmd, queue_agent_and_stats)
{
	char *a1[] = {"pbxctl", "queue", "agent", "pause", "acme", "101",
		      "lunch break"};
	char *a2[] = {"pbxctl", "queue", "agent", "login", "acme", "101"};
	char *a3[] = {"pbxctl", "queue", "agent", "resume", "acme", "101",
		      "why"};
	char *a4[] = {"pbxctl", "queue", "agent", "dance", "acme", "101"};
	char *a5[] = {"pbxctl", "queue", "stats", "acme"};
	char *a6[] = {"pbxctl", "queue", "stats", "acme", "sales"};
	struct pbxctl_cmd c;

	cr_assert_eq(parse(&c, ARGC(a1), a1), 0, "%s", err);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_QUEUE_AGENT);
	cr_expect_str_eq(c.req.queue_agent->tenant, "acme");
	cr_expect_str_eq(c.req.queue_agent->agent, "101");
	cr_expect_str_eq(c.req.queue_agent->action, "pause");
	cr_expect_str_eq(c.req.queue_agent->reason, "lunch break");
	cr_expect_eq(c.print, PBXCTL_PRINT_OK);
	cr_assert_eq(parse(&c, ARGC(a2), a2), 0, "%s", err);
	cr_expect_str_eq(c.req.queue_agent->action, "login");
	cr_expect_str_eq(c.req.queue_agent->reason, "");
	cr_expect_eq(parse(&c, ARGC(a3), a3), -EINVAL);
	cr_expect(strstr(err, "only a pause has a reason") != NULL, "%s",
		  err);
	cr_expect_eq(parse(&c, ARGC(a4), a4), -EINVAL);
	cr_expect(strstr(err, "login, logout, pause or resume") != NULL,
		  "%s", err);
	cr_assert_eq(parse(&c, ARGC(a5), a5), 0, "%s", err);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_QUEUE_STATS);
	cr_expect_str_eq(c.req.queue_stats->tenant, "acme");
	cr_expect_str_eq(c.req.queue_stats->queue, "");
	cr_expect_eq(c.print, PBXCTL_PRINT_ITEMS);
	cr_assert_eq(parse(&c, ARGC(a6), a6), 0, "%s", err);
	cr_expect_str_eq(c.req.queue_stats->queue, "sales");
}

Test(pbxctl_cmd, options_of_other_commands_are_refused)
{
	char *a1[] = {"pbxctl", "scenario", "put", "acme", "m", "-",
		      "--version", "2"};
	char *a2[] = {"pbxctl", "trunk", "list", "--dtmf", "1"};
	char *a3[] = {"pbxctl", "scenario", "rollback", "acme", "1",
		      "--at", "1"};
	struct pbxctl_cmd c;

	cr_expect_eq(parse(&c, ARGC(a1), a1), -EINVAL);
	cr_expect(strstr(err, "--version does not belong to scenario put") !=
			  NULL,
		  "%s", err);
	cr_expect_eq(parse(&c, ARGC(a2), a2), -EINVAL);
	cr_expect(strstr(err, "--dtmf") != NULL, "%s", err);
	cr_expect_eq(parse(&c, ARGC(a3), a3), -EINVAL);
}

Test(pbxctl_cmd, worker_commands_name_the_worker_and_exit_flag)
{
	char *a1[] = {"pbxctl", "worker", "list"};
	char *a2[] = {"pbxctl", "worker", "drain", "mw1"};
	char *a3[] = {"pbxctl", "worker", "drain", "mw1", "--exit"};
	char *a4[] = {"pbxctl", "worker", "undrain", "mw2"};
	char *a5[] = {"pbxctl", "worker", "drain", "mw1", "--exit", "--exit"};
	char *a6[] = {"pbxctl", "worker", "undrain", "mw2", "--exit"};
	char *a7[] = {"pbxctl", "worker", "drain"};
	struct pbxctl_cmd c;

	cr_assert_eq(parse(&c, ARGC(a1), a1), 0, "%s", err);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_WORKER_LIST);
	cr_expect_not_null(c.req.worker_list);
	cr_expect_eq(c.print, PBXCTL_PRINT_ITEMS);
	cr_assert_eq(parse(&c, ARGC(a2), a2), 0, "%s", err);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_WORKER_DRAIN);
	cr_expect_str_eq(c.req.worker_drain->worker, "mw1");
	cr_expect_not(c.req.worker_drain->exit);
	cr_assert_eq(parse(&c, ARGC(a3), a3), 0, "%s", err);
	cr_expect(c.req.worker_drain->exit);
	cr_assert_eq(parse(&c, ARGC(a4), a4), 0, "%s", err);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_WORKER_UNDRAIN);
	cr_expect_str_eq(c.req.worker_undrain->worker, "mw2");
	cr_expect_eq(parse(&c, ARGC(a5), a5), -EINVAL);
	cr_expect(strstr(err, "--exit is given twice") != NULL, "%s", err);
	cr_expect_eq(parse(&c, ARGC(a6), a6), -EINVAL);
	cr_expect(strstr(err, "does not belong") != NULL, "%s", err);
	cr_expect_eq(parse(&c, ARGC(a7), a7), -EINVAL);
	cr_expect(strstr(err, "worker drain <worker>") != NULL, "%s", err);
}

Test(pbxctl_cmd, usage_lists_every_command)
{
	static const char *const cmds[] = {
		"tenant create",     "tenant list",       "tenant delete",
		"tenant feature",    "number connect",    "number disconnect",
		"number list",       "ext add",           "ext remove",
		"ext list",          "prompt upload",     "prompt list",
		"prompt delete",     "scenario put",      "scenario get",
		"scenario list",     "scenario history",  "scenario diff",
		"scenario activate", "scenario rollback", "scenario simulate",
		"object put",        "object get",        "object list",
		"object delete",     "trunk add",         "trunk remove",
		"trunk list",        "trunk assign",      "trunk show",
		"queue agent",       "queue stats",
		"worker list",       "worker drain",      "worker undrain"};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		cr_expect(strstr(pbxctl_usage, cmds[i]) != NULL, "%s",
			  cmds[i]);
}

Test(pbxctl_cmd, missing_arguments_are_usage_errors)
{
	char *cases[][6] = {
		{"pbxctl", "tenant", "create"},
		{"pbxctl", "number", "connect", "acme"},
		{"pbxctl", "ext", "add", "acme", "101"},
		{"pbxctl", "prompt", "upload", "acme", "welcome"},
		{"pbxctl", "scenario", "activate", "acme", "100"},
	};
	int argcs[] = {3, 4, 5, 5, 5};
	struct pbxctl_cmd c;

	for (size_t i = 0; i < sizeof(argcs) / sizeof(argcs[0]); i++) {
		cr_expect_eq(parse(&c, argcs[i], cases[i]), -EINVAL,
			     "case %zu", i);
		cr_expect(strstr(err, "missing arguments") != NULL, "%s",
			  err);
		cr_expect(strstr(err, "usage: pbxctl") != NULL, "%s", err);
	}
}

Test(pbxctl_cmd, other_bad_command_lines_are_usage_errors)
{
	char *a1[] = {"pbxctl"};
	char *a2[] = {"pbxctl", "tenant"};
	char *a3[] = {"pbxctl", "tenant", "rename", "a"};
	char *a4[] = {"pbxctl", "tenant", "list", "extra"};
	char *a5[] = {"pbxctl", "--bogus", "tenant", "list"};
	char *a6[] = {"pbxctl", "tenant", "list", "--server"};
	char *a7[] = {"pbxctl", "--timeout-ms", "0", "tenant", "list"};
	char *a8[] = {"pbxctl", "number", "list", "acme", "--name", "x"};
	struct pbxctl_cmd c;

	cr_expect_eq(parse(&c, ARGC(a1), a1), -EINVAL);
	cr_expect_eq(parse(&c, ARGC(a2), a2), -EINVAL);
	cr_expect_eq(parse(&c, ARGC(a3), a3), -EINVAL);
	cr_expect(strstr(err, "unknown command") != NULL, "%s", err);
	cr_expect_eq(parse(&c, ARGC(a4), a4), -EINVAL);
	cr_expect(strstr(err, "too many") != NULL, "%s", err);
	cr_expect_eq(parse(&c, ARGC(a5), a5), -EINVAL);
	cr_expect(strstr(err, "--bogus") != NULL, "%s", err);
	cr_expect_eq(parse(&c, ARGC(a6), a6), -EINVAL);
	cr_expect_eq(parse(&c, ARGC(a7), a7), -EINVAL);
	cr_expect_eq(parse(&c, ARGC(a8), a8), -EINVAL);
}

Test(pbxctl_cmd, help_is_not_an_error)
{
	char *argv[] = {"pbxctl", "--help"};
	struct pbxctl_cmd c;

	cr_expect_eq(parse(&c, ARGC(argv), argv), 1);
}

Test(pbxctl_cmd, version_without_a_command_asks_for_pbxctls_version)
{
	char *a1[] = {"pbxctl", "--version"};
	char *a2[] = {"pbxctl", "--server", "tcp://10.0.0.1:1", "--version"};
	char *a3[] = {"pbxctl", "--version", "--timeout-ms", "10"};
	char *a4[] = {"pbxctl", "scenario", "get", "acme", "main",
		      "--version"};
	char *a5[] = {"pbxctl", "--version", "3", "scenario", "get", "acme",
		      "main"};
	struct pbxctl_cmd c;

	cr_expect_eq(parse(&c, ARGC(a1), a1), PBXCTL_PARSE_VERSION, "%s",
		     err);
	cr_expect_eq(parse(&c, ARGC(a2), a2), PBXCTL_PARSE_VERSION, "%s",
		     err);
	cr_expect_eq(parse(&c, ARGC(a3), a3), PBXCTL_PARSE_VERSION, "%s",
		     err);
	/* With a command it is that command's option, still needing N. */
	cr_expect_eq(parse(&c, ARGC(a4), a4), -EINVAL);
	cr_expect(strstr(err, "--version needs a value"), "%s", err);
	cr_assert_eq(parse(&c, ARGC(a5), a5), 0, "%s", err);
	cr_expect_eq(c.req.scenario_get->version, 3);
	cr_expect(strstr(PBXCTL_VERSION, "pbxctl "));
}

Test(pbxctl_cmd, server_option_beats_environment)
{
	char *a1[] = {"pbxctl", "tenant", "list"};
	char *a2[] = {"pbxctl", "--server", "tcp://10.0.0.1:1", "tenant",
		      "list", "--timeout-ms=250"};
	struct pbxctl_cmd c;

	cr_assert_eq(pbxctl_cmd_parse(&c, ARGC(a1), a1, "tcp://env:1", err,
				      sizeof(err)),
		     0);
	cr_expect_str_eq(c.server, "tcp://env:1");
	cr_assert_eq(pbxctl_cmd_parse(&c, ARGC(a2), a2, "tcp://env:1", err,
				      sizeof(err)),
		     0);
	cr_expect_str_eq(c.server, "tcp://10.0.0.1:1");
	cr_expect_eq(c.timeout_ms, 250);
}

Test(pbxctl_cmd, double_dash_ends_options)
{
	char *argv[] = {"pbxctl", "ext", "add", "--", "acme", "101",
			"--not-an-option"};
	struct pbxctl_cmd c;

	cr_assert_eq(parse(&c, ARGC(argv), argv), 0, "%s", err);
	cr_expect_str_eq(c.req.extension_add->password, "--not-an-option");
}

Test(pbxctl_cmd, load_reads_the_scenario_file)
{
	char path[] = "/tmp/test_pbxctl_XXXXXX";
	int fd = mkstemp(path);
	char *argv[] = {"pbxctl", "scenario", "put", "acme", "main", path};
	struct pbxctl_cmd c;

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, "{\"a\":1}", 7), 7);
	close(fd);
	cr_assert_eq(parse(&c, ARGC(argv), argv), 0);
	cr_assert_eq(pbxctl_cmd_load(&c, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(c.req.scenario_put->json, "{\"a\":1}");
	pbxctl_cmd_reset(&c);
	unlink(path);
}

Test(pbxctl_cmd, load_refuses_a_scenario_with_a_nul_byte)
{
	char path[] = "/tmp/test_pbxctl_XXXXXX";
	int fd = mkstemp(path);
	char *argv[] = {"pbxctl", "scenario", "put", "acme", "main", path};
	struct pbxctl_cmd c;

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, "{}\0{}", 5), 5);
	close(fd);
	cr_assert_eq(parse(&c, ARGC(argv), argv), 0);
	cr_expect_eq(pbxctl_cmd_load(&c, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "NUL") != NULL, "%s", err);
	pbxctl_cmd_reset(&c);
	unlink(path);
}

Test(pbxctl_cmd, load_names_an_unreadable_file)
{
	char *argv[] = {"pbxctl", "prompt", "upload", "acme", "w",
			"/nonexistent/w.wav"};
	struct pbxctl_cmd c;

	cr_assert_eq(parse(&c, ARGC(argv), argv), 0);
	cr_expect_eq(pbxctl_cmd_load(&c, err, sizeof(err)), -ENOENT);
	cr_expect(strstr(err, "/nonexistent/w.wav") != NULL, "%s", err);
	pbxctl_cmd_reset(&c);
}

/* Runs pbxctl_cmd_output into two strings. */
static enum pbxctl_exit output(const struct pbxctl_cmd *c,
			       const Pbx__V1__Envelope *env, char **out,
			       char **errs)
{
	size_t n1, n2;
	FILE *o = open_memstream(out, &n1);
	FILE *e = open_memstream(errs, &n2);
	enum pbxctl_exit rc;

	cr_assert(o && e);
	rc = pbxctl_cmd_output(c, env, o, e);
	fclose(o);
	fclose(e);
	return rc;
}

Test(pbxctl_cmd, items_print_one_per_line)
{
	char *argv[] = {"pbxctl", "number", "list", "acme"};
	char *items[] = {"100 default", "200 main"};
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__ProvResponse resp = PBX__V1__PROV_RESPONSE__INIT;
	struct pbxctl_cmd c;
	char *out, *errs;

	cr_assert_eq(parse(&c, ARGC(argv), argv), 0);
	resp.n_items = 2;
	resp.items = items;
	env.body_case = PBX__V1__ENVELOPE__BODY_PROV_RESPONSE;
	env.prov_response = &resp;
	cr_expect_eq(output(&c, &env, &out, &errs), PBXCTL_EXIT_OK);
	cr_expect_str_eq(out, "100 default\n200 main\n");
	cr_expect_str_eq(errs, "");
	free(out);
	free(errs);
}

Test(pbxctl_cmd, writes_print_ok_and_warnings)
{
	char *argv[] = {"pbxctl", "scenario", "put", "acme", "main", "-"};
	char *warnings[] = {"node q: queue has no agents"};
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__ProvResponse resp = PBX__V1__PROV_RESPONSE__INIT;
	struct pbxctl_cmd c;
	char *out, *errs;

	cr_assert_eq(parse(&c, ARGC(argv), argv), 0);
	resp.n_warnings = 1;
	resp.warnings = warnings;
	env.body_case = PBX__V1__ENVELOPE__BODY_PROV_RESPONSE;
	env.prov_response = &resp;
	cr_expect_eq(output(&c, &env, &out, &errs), PBXCTL_EXIT_OK);
	cr_expect_str_eq(out, "ok\n");
	cr_expect_str_eq(errs,
			 "pbxctl: warning: node q: queue has no agents\n");
	free(out);
	free(errs);
}

Test(pbxctl_cmd, writes_print_what_the_server_says_they_did)
{
	char *argv[] = {"pbxctl", "scenario", "activate", "acme", "100",
			"main"};
	char *items[] = {"100 main v3"};
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__ProvResponse resp = PBX__V1__PROV_RESPONSE__INIT;
	struct pbxctl_cmd c;
	char *out, *errs;

	cr_assert_eq(parse(&c, ARGC(argv), argv), 0);
	resp.n_items = 1;
	resp.items = items;
	env.body_case = PBX__V1__ENVELOPE__BODY_PROV_RESPONSE;
	env.prov_response = &resp;
	cr_expect_eq(output(&c, &env, &out, &errs), PBXCTL_EXIT_OK);
	cr_expect_str_eq(out, "100 main v3\n");
	cr_expect_str_eq(errs, "");
	free(out);
	free(errs);
}

Test(pbxctl_cmd, refusals_exit_1_with_each_problem_on_stderr)
{
	char *argv[] = {"pbxctl", "scenario", "put", "acme", "main", "-"};
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__ProvResponse resp = PBX__V1__PROV_RESPONSE__INIT;
	struct pbxctl_cmd c;
	char *out, *errs;

	cr_assert_eq(parse(&c, ARGC(argv), argv), 0);
	resp.status = PBX__V1__PROV_RESPONSE__STATUS__STATUS_INVALID;
	resp.error = "node a: no such prompt x\nnode b: no exit\n";
	env.body_case = PBX__V1__ENVELOPE__BODY_PROV_RESPONSE;
	env.prov_response = &resp;
	cr_expect_eq(output(&c, &env, &out, &errs), PBXCTL_EXIT_REFUSED);
	cr_expect_str_eq(out, "");
	cr_expect_str_eq(errs, "pbxctl: node a: no such prompt x\n"
			       "pbxctl: node b: no exit\n");
	free(out);
	free(errs);
}

Test(pbxctl_cmd, bus_error_exits_1)
{
	char *argv[] = {"pbxctl", "tenant", "list"};
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__BusError be = PBX__V1__BUS_ERROR__INIT;
	struct pbxctl_cmd c;
	char *out, *errs;

	cr_assert_eq(parse(&c, ARGC(argv), argv), 0);
	be.code = -EPROTO;
	be.text = "over the 16 MiB frame limit";
	env.body_case = PBX__V1__ENVELOPE__BODY_ERROR;
	env.error = &be;
	cr_expect_eq(output(&c, &env, &out, &errs), PBXCTL_EXIT_REFUSED);
	cr_expect_str_eq(errs, "pbxctl: over the 16 MiB frame limit\n");
	free(out);
	free(errs);
}

Test(pbxctl_cmd, no_answer_exits_3_naming_server_and_timeout)
{
	char *argv[] = {"pbxctl", "tenant", "list"};
	struct pbxctl_cmd c;
	char *out, *errs;

	cr_assert_eq(parse(&c, ARGC(argv), argv), 0);
	cr_expect_eq(output(&c, NULL, &out, &errs), PBXCTL_EXIT_UNREACHABLE);
	cr_expect_str_eq(errs, "pbxctl: no answer from tcp://127.0.0.1:7010 "
			       "within 3000 ms\n");
	free(out);
	free(errs);
}

Test(pbxctl_cmd, vm_commands_name_tenant_box_and_id)
{
	char *list[] = {"pbxctl", "vm", "list", "acme", "general"};
	char *get[] = {"pbxctl", "vm", "get", "acme", "general", "17-ab"};
	char *del[] = {"pbxctl", "vm", "delete", "acme", "general", "17-ab"};
	char *short_[] = {"pbxctl", "vm", "heard", "acme", "general"};
	struct pbxctl_cmd c;

	cr_assert_eq(parse(&c, ARGC(list), list), 0, "%s", err);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_VM_LIST);
	cr_expect_str_eq(c.req.vm_list->box, "general");
	cr_expect_eq(c.print, PBXCTL_PRINT_ITEMS);
	cr_assert_eq(parse(&c, ARGC(get), get), 0, "%s", err);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_VM_GET);
	cr_expect_str_eq(c.req.vm_get->tenant, "acme");
	cr_expect_str_eq(c.req.vm_get->id, "17-ab");
	cr_expect_eq(c.print, PBXCTL_PRINT_DATA);
	cr_assert_eq(parse(&c, ARGC(del), del), 0, "%s", err);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_VM_DELETE);
	cr_expect_neq(parse(&c, ARGC(short_), short_), 0);
}

Test(pbxctl_cmd, conf_commands_name_tenant_room_and_call)
{
	static char *argv[][6] = {
		{"pbxctl", "conf", "list", "acme", NULL, NULL},
		{"pbxctl", "conf", "members", "acme", "open", NULL},
		{"pbxctl", "conf", "mute", "acme", "open", "c1@h"},
		{"pbxctl", "conf", "unmute", "acme", "open", "c1@h"},
		{"pbxctl", "conf", "kick", "acme", "open", "c1@h"},
	};
	static const struct {
		int argc, op;
		enum pbxctl_print print;
	} want[] = {
		{4, PBX__V1__PROV_REQUEST__OP_CONF_LIST, PBXCTL_PRINT_ITEMS},
		{5, PBX__V1__PROV_REQUEST__OP_CONF_MEMBERS, PBXCTL_PRINT_ITEMS},
		{6, PBX__V1__PROV_REQUEST__OP_CONF_MUTE, PBXCTL_PRINT_OK},
		{6, PBX__V1__PROV_REQUEST__OP_CONF_UNMUTE, PBXCTL_PRINT_OK},
		{6, PBX__V1__PROV_REQUEST__OP_CONF_KICK, PBXCTL_PRINT_OK},
	};
	struct pbxctl_cmd c;

	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++) {
		cr_assert_eq(parse(&c, want[i].argc, argv[i]), 0, "%s", err);
		cr_expect_eq(c.req.op_case, want[i].op, "%s", argv[i][2]);
		cr_expect_eq(c.print, want[i].print, "%s", argv[i][2]);
		/* Every Conference member of the oneof is one pointer. */
		cr_expect_str_eq(c.req.conf_list->tenant, "acme");
		if (want[i].argc > 4)
			cr_expect_str_eq(c.req.conf_list->room, "open");
		if (want[i].argc > 5)
			cr_expect_str_eq(c.req.conf_list->call, "c1@h");
		/* One argument short is a usage error. */
		if (want[i].argc > 4)
			cr_expect_neq(parse(&c, want[i].argc - 1, argv[i]), 0,
				      "%s", argv[i][2]);
	}
}

Test(pbxctl_cmd, fax_commands_name_tenant_box_id_and_format)
{
	char *list[] = {"pbxctl", "fax", "list", "acme", "office"};
	char *get[] = {"pbxctl", "fax", "get", "acme", "office", "17-ab"};
	char *tif[] = {"pbxctl", "fax", "get", "acme", "office", "17-ab",
		       "tif"};
	char *del[] = {"pbxctl", "fax", "delete", "acme", "office", "17-ab"};
	char *extra[] = {"pbxctl", "fax", "delete", "acme", "office", "1",
			 "tif"};
	struct pbxctl_cmd c;

	cr_assert_eq(parse(&c, ARGC(list), list), 0, "%s", err);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_FAX_LIST);
	cr_expect_str_eq(c.req.fax_list->tenant, "acme");
	cr_expect_str_eq(c.req.fax_list->box, "office");
	cr_expect_eq(c.print, PBXCTL_PRINT_ITEMS);
	cr_assert_eq(parse(&c, ARGC(get), get), 0, "%s", err);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_FAX_GET);
	cr_expect_str_eq(c.req.fax_get->id, "17-ab");
	cr_expect_str_eq(c.req.fax_get->format, "");
	cr_expect_eq(c.print, PBXCTL_PRINT_DATA);
	cr_assert_eq(parse(&c, ARGC(tif), tif), 0, "%s", err);
	cr_expect_str_eq(c.req.fax_get->format, "tif");
	cr_assert_eq(parse(&c, ARGC(del), del), 0, "%s", err);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_FAX_DELETE);
	cr_expect_neq(parse(&c, ARGC(extra), extra), 0);
}

Test(pbxctl_cmd, vm_get_writes_the_data_as_is)
{
	char *argv[] = {"pbxctl", "vm", "get", "acme", "general", "17-ab"};
	uint8_t wav[] = {'R', 'I', 'F', 'F', 0, 1, 2, 0xff};
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__ProvResponse resp = PBX__V1__PROV_RESPONSE__INIT;
	struct pbxctl_cmd c;
	char *out, *errs;
	size_t n;
	FILE *o, *e;

	cr_assert_eq(parse(&c, ARGC(argv), argv), 0);
	resp.data.data = wav;
	resp.data.len = sizeof(wav);
	env.body_case = PBX__V1__ENVELOPE__BODY_PROV_RESPONSE;
	env.prov_response = &resp;
	o = open_memstream(&out, &n);
	e = open_memstream(&errs, &(size_t){0});
	cr_assert(o && e);
	cr_expect_eq(pbxctl_cmd_output(&c, &env, o, e), PBXCTL_EXIT_OK);
	fclose(o);
	fclose(e);
	cr_expect_eq(n, sizeof(wav));
	cr_expect_eq(memcmp(out, wav, sizeof(wav)), 0);
	free(out);
	free(errs);
}

Test(pbxctl_cmd, outbound_set_turns_options_into_settings)
{
	char *a1[] = {"pbxctl",	  "outbound",	     "set",	   "acme",
		      "--international", "on",	     "--max-legs", "3",
		      "--cpm=20",	  "--caller-id", "none"};
	char *a2[] = {"pbxctl", "outbound", "show", "acme"};
	char *a3[] = {"pbxctl", "outbound", "set", "acme", "--outbound", "on"};
	struct pbxctl_cmd c;
	Pbx__V1__ProvRequest__OutboundSet *o;

	cr_assert_eq(parse(&c, ARGC(a1), a1), 0, "%s", err);
	cr_assert_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_OUTBOUND_SET);
	o = c.req.outbound_set;
	cr_expect_str_eq(o->tenant, "acme");
	cr_assert_eq(o->n_settings, 4);
	cr_expect_str_eq(o->settings[0], "international=on");
	cr_expect_str_eq(o->settings[1], "max_legs=3");
	cr_expect_str_eq(o->settings[2], "cpm=20");
	cr_expect_str_eq(o->settings[3], "caller_id=");
	cr_expect_eq(c.print, PBXCTL_PRINT_ITEMS);
	cr_assert_eq(parse(&c, ARGC(a2), a2), 0, "%s", err);
	cr_expect_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_OUTBOUND_SET);
	cr_expect_eq(c.req.outbound_set->n_settings, 0);
	/* --outbound belongs to ext set. */
	cr_expect_eq(parse(&c, ARGC(a3), a3), -EINVAL);
}

Test(pbxctl_cmd, ext_set_permission_and_caller_id)
{
	char *a1[] = {"pbxctl",	 "ext",	 "set",		"acme",	      "101",
		      "--outbound", "off", "--caller-id", "+74951230000"};
	char *a2[] = {"pbxctl", "ext", "set", "acme", "101", "--cpm", "3"};
	struct pbxctl_cmd c;
	Pbx__V1__ProvRequest__ExtensionSet *e;

	cr_assert_eq(parse(&c, ARGC(a1), a1), 0, "%s", err);
	cr_assert_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_EXTENSION_SET);
	e = c.req.extension_set;
	cr_expect_str_eq(e->tenant, "acme");
	cr_expect_str_eq(e->ext, "101");
	cr_assert_eq(e->n_settings, 2);
	cr_expect_str_eq(e->settings[0], "caller_id=+74951230000");
	cr_expect_str_eq(e->settings[1], "outbound=off");
	cr_expect_eq(parse(&c, ARGC(a2), a2), -EINVAL);
}

Test(pbxctl_cmd, ext_set_dnd_and_forwarding)
{
	char *a1[] = {"pbxctl",		 "ext",	       "set",
		      "acme",		 "101",	       "--dnd",
		      "on",		 "--fwd-busy", "102",
		      "--fwd-noanswer", "89161234567", "--fwd-timeout",
		      "15",		 "--fwd-always", "none"};
	struct pbxctl_cmd c;
	Pbx__V1__ProvRequest__ExtensionSet *e;

	cr_assert_eq(parse(&c, ARGC(a1), a1), 0, "%s", err);
	e = c.req.extension_set;
	/* In the table's order; the server checks and normalises. */
	cr_assert_eq(e->n_settings, 5);
	cr_expect_str_eq(e->settings[0], "dnd=on");
	cr_expect_str_eq(e->settings[1], "fwd_always=none");
	cr_expect_str_eq(e->settings[2], "fwd_busy=102");
	cr_expect_str_eq(e->settings[3], "fwd_noanswer=89161234567");
	cr_expect_str_eq(e->settings[4], "fwd_timeout=15");
}

Test(pbxctl_cmd, ext_set_pickup_group)
{
	char *a1[] = {"pbxctl", "ext", "set", "acme", "101", "--pickup-group",
		      "sales"};
	char *a2[] = {"pbxctl", "outbound", "set", "acme", "--pickup-group",
		      "sales"};
	struct pbxctl_cmd c;

	cr_assert_eq(parse(&c, ARGC(a1), a1), 0, "%s", err);
	cr_assert_eq(c.req.extension_set->n_settings, 1);
	cr_expect_str_eq(c.req.extension_set->settings[0],
			 "pickup_group=sales");
	/* An extension's setting, not the tenant's policy. */
	cr_expect_eq(parse(&c, ARGC(a2), a2), -EINVAL);
}

Test(pbxctl_cmd, cdr_list_collects_its_filters)
{
	char *argv[] = {"pbxctl", "cdr", "list", "acme", "--since",
			"2026-12-07T00:00:00Z", "--until", "1796670000000",
			"--number", "+7 495 555-00-02", "--caller", "79990000001",
			"--disposition", "busy", "--limit", "20"};
	struct pbxctl_cmd c;

	cr_assert_eq(parse(&c, ARGC(argv), argv), 0, "%s", err);
	cr_assert_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_CDR_LIST);
	cr_expect_str_eq(c.req.cdr_list->tenant, "acme");
	cr_expect_eq(c.req.cdr_list->since_ms, 1796601600000ULL);
	cr_expect_eq(c.req.cdr_list->until_ms, 1796670000000ULL);
	cr_expect_str_eq(c.req.cdr_list->number, "+7 495 555-00-02");
	cr_expect_str_eq(c.req.cdr_list->caller, "79990000001");
	cr_expect_str_eq(c.req.cdr_list->disposition, "busy");
	cr_expect_eq(c.req.cdr_list->limit, 20);
	cr_expect_eq(c.print, PBXCTL_PRINT_ITEMS);
}

Test(pbxctl_cmd, cdr_show_json_and_webhook)
{
	char *show[] = {"pbxctl", "cdr", "show", "acme", "1796670000000-0",
			"--format", "json"};
	char *hook[] = {"pbxctl", "cdr", "webhook", "acme", "on"};
	struct pbxctl_cmd c;

	cr_assert_eq(parse(&c, ARGC(show), show), 0, "%s", err);
	cr_assert_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_CDR_SHOW);
	cr_expect_str_eq(c.req.cdr_show->id, "1796670000000-0");
	cr_expect_str_eq(c.req.cdr_show->format, "json");
	cr_expect_eq(c.print, PBXCTL_PRINT_BODY);
	cr_assert_eq(parse(&c, ARGC(hook), hook), 0, "%s", err);
	cr_assert_eq(c.req.op_case, PBX__V1__PROV_REQUEST__OP_CDR_WEBHOOK);
	cr_expect(c.req.cdr_webhook->enabled);
}

Test(pbxctl_cmd, cdr_refusals)
{
	char *limit0[] = {"pbxctl", "cdr", "list", "acme", "--limit", "0"};
	char *limit[] = {"pbxctl", "cdr", "list", "acme", "--limit", "1001"};
	char *since[] = {"pbxctl", "cdr", "list", "acme", "--since", "today"};
	char *fmt[] = {"pbxctl", "cdr", "list", "acme", "--format", "csv"};
	char *hook[] = {"pbxctl", "cdr", "webhook", "acme", "yes"};
	char *opt[] = {"pbxctl", "cdr", "show", "acme", "1-0", "--limit", "2"};
	struct pbxctl_cmd c;

	cr_expect_neq(parse(&c, ARGC(limit0), limit0), 0);
	cr_expect_neq(parse(&c, ARGC(limit), limit), 0);
	cr_expect(strstr(err, "--limit is 1 to 1000"), "%s", err);
	cr_expect_neq(parse(&c, ARGC(since), since), 0);
	cr_expect(strstr(err, "--since"), "%s", err);
	cr_expect_neq(parse(&c, ARGC(fmt), fmt), 0);
	cr_expect_neq(parse(&c, ARGC(hook), hook), 0);
	cr_expect_neq(parse(&c, ARGC(opt), opt), 0, "show takes no --limit");
}
