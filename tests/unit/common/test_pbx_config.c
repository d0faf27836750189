/* Tests for pbx_config.c: precedence (defaults < file < PBX_<KEY>
 * environment < --set), type and bound checks, and errors that name the
 * key (an unknown key or a bad value stops start-up). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pbx_config.h"
#include "pbx_redis.h"
#include "pbx_test.h"

static char s_name[PBX_CFG_STRLEN];
static long s_port;
static bool s_flag;

static const struct pbx_config_item items[] = {
	{"test_name", PBX_CFG_STR, s_name, "dflt", 0, 0, "a string"},
	{"test_port", PBX_CFG_INT, &s_port, "5080", 1, 65535, "an int"},
	{"test_flag", PBX_CFG_BOOL, &s_flag, "false", 0, 0, "a bool"},
};
#define N (sizeof(items) / sizeof(items[0]))

static char dir[64];

static void clear_env(void)
{
	unsetenv("PBX_TEST_NAME");
	unsetenv("PBX_TEST_PORT");
	unsetenv("PBX_TEST_FLAG");
}

static void setup(void)
{
	clear_env();
	snprintf(dir, sizeof(dir), "/tmp/pbx-config-test.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	clear_env();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
	pbx_test_fini();
}

TestSuite(pbx_config, .init = setup, .fini = teardown);

static const char *write_file(const char *text)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/test.conf", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* stderr of fn(...) into buf: the error message a user would see. */
struct capture {
	int saved;
	char path[128];
};

static void capture_begin(struct capture *c)
{
	int fd;

	snprintf(c->path, sizeof(c->path), "%s/stderr", dir);
	fflush(stderr);
	c->saved = dup(2);
	fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	dup2(fd, 2);
	close(fd);
}

static void capture_end(struct capture *c, char *buf, size_t size)
{
	FILE *f;
	size_t n;

	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	f = fopen(c->path, "r");
	cr_assert_not_null(f);
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static int run_main(char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return pbx_config_main(items, N, "test", argc, argv);
}

Test(pbx_config, defaults_apply)
{
	cr_assert_eq(pbx_config_load(items, N, NULL), 0);
	cr_assert_str_eq(s_name, "dflt");
	cr_assert_eq(s_port, 5080);
	cr_assert_eq(s_flag, false);
}

Test(pbx_config, file_overrides_defaults)
{
	const char *f = write_file("# comment\n\n  test_port = 6000  \n"
				   "test_name=from file\n");

	cr_assert_eq(pbx_config_load(items, N, f), 0);
	cr_assert_eq(s_port, 6000);
	cr_assert_str_eq(s_name, "from file");
	cr_assert_eq(s_flag, false); /* not in the file: default */
}

Test(pbx_config, env_overrides_file)
{
	const char *f = write_file("test_port = 6000\ntest_flag = yes\n");

	setenv("PBX_TEST_PORT", "7000", 1);
	cr_assert_eq(pbx_config_load(items, N, f), 0);
	cr_assert_eq(s_port, 7000);
	cr_assert_eq(s_flag, true); /* the file's, no env for it */
}

Test(pbx_config, set_overrides_env_and_file)
{
	const char *f = write_file("test_port = 6000\ntest_name = file\n");
	char conf[] = "--config", set[] = "--set", kv[] = "test_port=8000",
	     kv2[] = "test_flag=1", prog[] = "test";
	char *argv[] = {prog, set, kv, conf, (char *)f, set, kv2, NULL};

	setenv("PBX_TEST_PORT", "7000", 1);
	setenv("PBX_TEST_NAME", "env", 1);
	cr_assert_eq(run_main(argv), 0);
	cr_assert_eq(s_port, 8000); /* --set, wherever it stands */
	cr_assert_str_eq(s_name, "env");
	cr_assert_eq(s_flag, true);
}

Test(pbx_config, unknown_key_in_file_names_the_key)
{
	const char *f = write_file("test_port = 6000\nbogus_key = 1\n");
	struct capture c;
	char err[512];
	int rc;

	capture_begin(&c);
	rc = pbx_config_load(items, N, f);
	capture_end(&c, err, sizeof(err));
	cr_assert_eq(rc, -EINVAL);
	cr_assert_not_null(strstr(err, "bogus_key"), "stderr: %s", err);
}

Test(pbx_config, unknown_key_in_set_names_the_key)
{
	char set[] = "--set", kv[] = "nope=1", prog[] = "test";
	char *argv[] = {prog, set, kv, NULL};
	struct capture c;
	char err[512];
	int rc;

	capture_begin(&c);
	rc = run_main(argv);
	capture_end(&c, err, sizeof(err));
	cr_assert_eq(rc, -EINVAL);
	cr_assert_not_null(strstr(err, "'nope'"), "stderr: %s", err);
}

Test(pbx_config, bad_values_name_the_key)
{
	static const struct {
		const char *file;
		const char *needle;
	} cases[] = {
		{"test_port = 65536\n", "test_port"},	 /* above max */
		{"test_port = 0\n", "test_port"},	 /* below min */
		{"test_port = 80x\n", "test_port"},	 /* not a number */
		{"test_port =\n", "test_port"},		 /* empty */
		{"test_port = 99999999999999999999\n", "test_port"},
		{"test_flag = maybe\n", "test_flag"},
		{"test_port 6000\n", "expected key = value"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *f = write_file(cases[i].file);
		struct capture c;
		char err[512];
		int rc;

		capture_begin(&c);
		rc = pbx_config_load(items, N, f);
		capture_end(&c, err, sizeof(err));
		cr_assert_eq(rc, -EINVAL, "%s", cases[i].file);
		cr_assert_not_null(strstr(err, cases[i].needle),
				   "%s -> %s", cases[i].file, err);
	}
}

Test(pbx_config, bad_env_value_names_the_key)
{
	struct capture c;
	char err[512];
	int rc;

	setenv("PBX_TEST_PORT", "lots", 1);
	capture_begin(&c);
	rc = pbx_config_load(items, N, NULL);
	capture_end(&c, err, sizeof(err));
	cr_assert_eq(rc, -EINVAL);
	cr_assert_not_null(strstr(err, "test_port"), "stderr: %s", err);
}

Test(pbx_config, too_long_string_is_refused)
{
	char big[PBX_CFG_STRLEN + 16];
	struct capture c;
	char err[512];
	int rc;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	capture_begin(&c);
	rc = pbx_config_set(items, N, "test_name", big);
	capture_end(&c, err, sizeof(err));
	cr_assert_eq(rc, -EINVAL);
	cr_assert_not_null(strstr(err, "test_name"), "stderr: %s", err);
	big[PBX_CFG_STRLEN - 1] = '\0'; /* the longest that fits */
	cr_assert_eq(pbx_config_set(items, N, "test_name", big), 0);
	cr_assert_eq(strlen(s_name), PBX_CFG_STRLEN - 1);
}

Test(pbx_config, missing_file_is_an_error)
{
	char path[128];
	struct capture c;
	char err[512];
	int rc;

	snprintf(path, sizeof(path), "%s/none.conf", dir);
	capture_begin(&c);
	rc = pbx_config_load(items, N, path);
	capture_end(&c, err, sizeof(err));
	cr_assert_eq(rc, -ENOENT);
	cr_assert_not_null(strstr(err, "none.conf"), "stderr: %s", err);
}

Test(pbx_config, bad_arguments)
{
	char prog[] = "test", set[] = "--set", noeq[] = "test_port",
	     other[] = "--frobnicate", conf[] = "--config";
	char *a1[] = {prog, set, noeq, NULL};
	char *a2[] = {prog, other, NULL};
	char *a3[] = {prog, set, NULL};
	char *a4[] = {prog, conf, NULL};
	struct capture c;
	char err[1024];

	capture_begin(&c);
	cr_assert_eq(run_main(a1), -EINVAL);
	cr_assert_eq(run_main(a2), -EINVAL);
	cr_assert_eq(run_main(a3), -EINVAL);
	cr_assert_eq(run_main(a4), -EINVAL);
	capture_end(&c, err, sizeof(err));
	cr_assert_not_null(strstr(err, "key=value"), "stderr: %s", err);
	cr_assert_not_null(strstr(err, "--frobnicate"), "stderr: %s", err);
}

Test(pbx_config, print_config_shows_the_result_and_says_exit)
{
	char prog[] = "test", set[] = "--set", kv[] = "test_port=1234",
	     pr[] = "--print-config";
	char *argv[] = {prog, pr, set, kv, NULL};
	char path[128], out[512];
	FILE *f;
	size_t n;
	int saved, fd, rc;

	snprintf(path, sizeof(path), "%s/stdout", dir);
	fflush(stdout);
	saved = dup(1);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 1);
	close(fd);
	rc = run_main(argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	cr_assert_eq(rc, 1);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	fclose(f);
	cr_assert_str_eq(out, "test_name = dflt\ntest_port = 1234\n"
			      "test_flag = false\n");
}

Test(pbx_config, secret_is_never_printed)
{
	static char s_secret[PBX_CFG_STRLEN];
	const struct pbx_config_item sec[] = {
		{"test_password", PBX_CFG_SECRET, s_secret, "", 0, 0, "p"},
	};
	char path[128], buf[256] = "";
	FILE *f;
	size_t n;

	cr_assert_eq(pbx_config_load(sec, 1, NULL), 0);
	cr_assert_eq(pbx_config_set(sec, 1, "test_password", "hunter2-x"), 0);
	cr_expect_str_eq(s_secret, "hunter2-x");
	snprintf(path, sizeof(path), "%s/print", dir);
	f = fopen(path, "w+");
	cr_assert_not_null(f);
	pbx_config_print(sec, 1, f);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	cr_expect_str_eq(buf, "test_password = (set)\n");
}

Test(pbx_config, redis_password_file_first_line_trimmed)
{
	struct pbx_redis_cred cred;
	const char *path = write_file("0123abcd\n# not the password\n");

	cr_assert_eq(pbx_redis_cred_load(&cred, "router", "", path), 0);
	cr_expect_str_eq(cred.user, "router");
	cr_expect_str_eq(cred.password, "0123abcd");
	/* A password given directly wins over the file. */
	cr_assert_eq(pbx_redis_cred_load(&cred, "", "direct", path), 0);
	cr_expect_str_eq(cred.user, "");
	cr_expect_str_eq(cred.password, "direct");
}

Test(pbx_config, redis_password_file_missing_or_empty_names_the_key)
{
	struct capture cap;
	struct pbx_redis_cred cred;
	char path[128], err[512];

	snprintf(path, sizeof(path), "%s/none.pass", dir);
	capture_begin(&cap);
	cr_expect_eq(pbx_redis_cred_load(&cred, "router", "", path), -ENOENT);
	capture_end(&cap, err, sizeof(err));
	cr_expect(strstr(err, "redis_password_file: cannot open") != NULL,
		  "%s", err);
	capture_begin(&cap);
	cr_expect_eq(pbx_redis_cred_load(&cred, "router", "",
					 write_file("\n")),
		     -EINVAL);
	capture_end(&cap, err, sizeof(err));
	cr_expect(strstr(err, "empty first line") != NULL, "%s", err);
	cr_expect_str_eq(cred.password, "");
}
