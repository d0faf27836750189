/* pbx_redis against a real redis-server with an ACL user: the blocking and
 * the async connection authenticate before they count as up, credentials
 * Redis refuses leave them down (and are reported by pbx_redis_check),
 * and the async one keeps retrying without crashing; failures are
 * counted for the metrics. */
#include <criterion/criterion.h>
#include <errno.h>
#include <event2/event.h>

#include "pbx_redis.h"
#include "pbx_test.h"
#include "redis_fixture.h"

static struct redis_fixture rf;

static void setup(void)
{
	redisReply *r;

	cr_assert_eq(redis_fixture_start(&rf), 0, "redis-server");
	r = redis_fixture_cmd(&rf, "ACL SETUSER svc on >right-pw ~svc:* "
				   "+@all");
	cr_assert(r && r->type == REDIS_REPLY_STATUS);
	freeReplyObject(r);
}

static void teardown(void)
{
	redis_fixture_stop(&rf);
	pbx_test_fini();
}

TestSuite(pbx_redis, .init = setup, .fini = teardown);

static struct pbx_redis_cred cred(const char *password)
{
	struct pbx_redis_cred c;

	memset(&c, 0, sizeof(c));
	snprintf(c.user, sizeof(c.user), "svc");
	snprintf(c.password, sizeof(c.password), "%s", password);
	return c;
}

/* rc is a connection authenticated as "svc"; frees it. */
static void expect_svc(redisContext *rc)
{
	redisReply *r;

	cr_assert_not_null(rc);
	r = redisCommand(rc, "ACL WHOAMI");
	cr_assert(r && r->type == REDIS_REPLY_STRING);
	cr_expect_str_eq(r->str, "svc");
	freeReplyObject(r);
	redisFree(rc);
}

Test(pbx_redis, blocking_connect_authenticates_as_the_user)
{
	struct pbx_redis_cred c = cred("right-pw");

	expect_svc(pbx_redis_connect("127.0.0.1", rf.port, &c, 1000));
	cr_expect_eq(pbx_redis_check("127.0.0.1", rf.port, &c), 0);
}

Test(pbx_redis, refused_credentials_fail_connect_and_check)
{
	struct pbx_redis_cred c = cred("wrong-pw");
	unsigned long errors = pbx_redis_errors;

	cr_expect_null(pbx_redis_connect("127.0.0.1", rf.port, &c, 1000));
	cr_expect_eq(pbx_redis_check("127.0.0.1", rf.port, &c), -EACCES);
	/* Unreachable is not a credentials problem: start-up goes on. */
	cr_expect_eq(pbx_redis_check("127.0.0.1", 1, &c), 0);
	/* Each one counted for the metrics (pbx_redis_errors_total). */
	cr_expect_eq(pbx_redis_errors, errors + 3);
}

/* Runs the loop for ms and returns whether the link was ever up. */
static bool async_up_within(const struct pbx_redis_cred *c, int ms)
{
	struct event_base *base = event_base_new();
	struct pbx_redis *r = NULL;
	bool up = false;

	cr_assert_not_null(base);
	cr_assert_eq(pbx_redis_alloc(&r, base, "127.0.0.1", rf.port, c), 0);
	for (int t = 0; t < ms && !up; t += 20) {
		struct timeval tv = {0, 20000};

		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
		up = pbx_redis_ctx(r) != NULL;
	}
	pbx_redis_free(r);
	event_base_free(base);
	return up;
}

Test(pbx_redis, async_link_is_up_only_after_auth)
{
	struct pbx_redis_cred good = cred("right-pw"), bad = cred("wrong-pw");

	cr_expect(async_up_within(&good, 2000));
	/* Refused: never up, retried (slowly) without a crash or a leak. */
	cr_expect_not(async_up_within(&bad, 1000));
}

/* --- Sentinel ------------------------------------------------------------ */

/* A redis-server --sentinel monitoring rf under the name "pbx" (quorum 1),
 * with requirepass "sent-pw"; *portp is its port. Killed with the test. */
static char conf[] = "/tmp/pbx-test-sentinel.XXXXXX";
static char pass[] = "/tmp/pbx-test-sentpw.XXXXXX";

static pid_t sentinel_start(int *portp)
{
	int fd = mkstemp(conf), port = redis_fixture_free_port();
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	pid_t pid;

	cr_assert_not_null(f);
	fprintf(f, "port %d\nbind 127.0.0.1\nrequirepass sent-pw\n"
		   "sentinel monitor pbx 127.0.0.1 %d 1\n",
		port, rf.port);
	fclose(f);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(null, 1);
		dup2(null, 2);
		execlp("redis-server", "redis-server", conf, "--sentinel",
		       (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		struct timeval tv = {1, 0};
		redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
		redisReply *r = c && !c->err ? redisCommand(c, "AUTH sent-pw")
					     : NULL;
		int ok = r && r->type == REDIS_REPLY_STATUS;

		if (r)
			freeReplyObject(r);
		if (c)
			redisFree(c);
		if (ok)
			break;
		usleep(50000);
	}
	*portp = port;
	return pid;
}

/* Also removes the files of the test's Sentinel setting. */
static void sentinel_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	unlink(conf);
	if (strcmp(pass + strlen(pass) - 6, "XXXXXX"))
		unlink(pass);
}

/* The process's Sentinel setting (pbx_redis.h): a down Sentinel first,
 * then the live one; the password file holds the Sentinels' password. */
static void use_sentinels(int port, const char *master)
{
	int fd = mkstemp(pass);

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, "sent-pw\n", 8), 8);
	close(fd);
	snprintf(pbx_redis_sentinels_value, sizeof(pbx_redis_sentinels_value),
		 "127.0.0.1:1,127.0.0.1:%d", port);
	snprintf(pbx_redis_master_value, sizeof(pbx_redis_master_value), "%s",
		 master);
	snprintf(pbx_redis_sentinel_pass_file_value,
		 sizeof(pbx_redis_sentinel_pass_file_value), "%s", pass);
}

Test(pbx_redis, sentinel_names_the_primary_for_both_connections)
{
	struct pbx_redis_cred c = cred("right-pw");
	int sport;
	pid_t s = sentinel_start(&sport);

	use_sentinels(sport, "pbx");
	cr_expect(pbx_redis_sentinel_on());
	/* host and port given are not used: the Sentinel says where. */
	expect_svc(pbx_redis_connect("127.0.0.1", 1, &c, 1000));
	cr_expect(async_up_within(&c, 2000));
	sentinel_stop(s);
}

Test(pbx_redis, a_server_that_is_not_the_primary_is_not_taken)
{
	struct pbx_redis_cred c = cred("right-pw");
	unsigned long errors = pbx_redis_errors;
	int sport;
	pid_t s = sentinel_start(&sport);
	redisReply *r;

	use_sentinels(sport, "pbx");
	/* A demoted primary: the Sentinel still names it until a failover,
	 * but ROLE says replica. */
	r = redis_fixture_cmd(&rf, "REPLICAOF 127.0.0.1 1");
	cr_assert(r && r->type == REDIS_REPLY_STATUS);
	freeReplyObject(r);
	cr_expect_null(pbx_redis_connect("127.0.0.1", 1, &c, 1000));
	cr_expect_not(async_up_within(&c, 1000));
	cr_expect_gt(pbx_redis_errors, errors);
	sentinel_stop(s);
}

Test(pbx_redis, unknown_master_name_is_unreachable_not_fatal)
{
	struct pbx_redis_cred c = cred("right-pw");
	int sport;
	pid_t s = sentinel_start(&sport);

	use_sentinels(sport, "other");
	cr_expect_null(pbx_redis_connect("127.0.0.1", rf.port, &c, 1000));
	/* Start-up goes on (services reconnect), as with Redis down. */
	cr_expect_eq(pbx_redis_check("127.0.0.1", rf.port, &c), 0);
	sentinel_stop(s);
}

Test(pbx_redis, bad_sentinel_settings_stop_startup)
{
	static const char *const bad[] = {
		"127.0.0.1",         "127.0.0.1:0",  "127.0.0.1:70000",
		":26379",            "::1:26379",    "[::1:26379",
		"127.0.0.1:26379x",  "h:1,,h:2",     "h:1,h:2,h:3,h:4,h:5,h:6,h:7,h:8,h:9",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		pid_t pid = fork();

		/* The setting is parsed once per process. */
		if (pid == 0) {
			snprintf(pbx_redis_sentinels_value,
				 sizeof(pbx_redis_sentinels_value), "%s",
				 bad[i]);
			snprintf(pbx_redis_master_value,
				 sizeof(pbx_redis_master_value), "pbx");
			_exit(pbx_redis_check("127.0.0.1", rf.port, NULL) ==
					      -EINVAL
				      ? 0
				      : 1);
		}
		int st;

		waitpid(pid, &st, 0);
		cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			  "'%s' accepted", bad[i]);
	}
	snprintf(pbx_redis_sentinels_value, sizeof(pbx_redis_sentinels_value),
		 "[::1]:26379,localhost:26380");
	snprintf(pbx_redis_master_value, sizeof(pbx_redis_master_value),
		 "bad name");
	cr_expect_eq(pbx_redis_check("127.0.0.1", rf.port, NULL), -EINVAL);
}

Test(pbx_redis, readonly_and_masterdown_replies_are_stale)
{
	redisReply ro = {.type = REDIS_REPLY_ERROR,
			 .str = "READONLY You can't write against a read "
				"only replica."};
	redisReply md = {.type = REDIS_REPLY_ERROR, .str = "MASTERDOWN x"};
	redisReply other = {.type = REDIS_REPLY_ERROR, .str = "WRONGTYPE x"};

	cr_expect(pbx_redis_reply_stale(&ro));
	cr_expect(pbx_redis_reply_stale(&md));
	cr_expect_not(pbx_redis_reply_stale(&other));
	cr_expect_not(pbx_redis_reply_stale(NULL));
}
