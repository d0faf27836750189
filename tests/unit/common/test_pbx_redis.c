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

Test(pbx_redis, blocking_connect_authenticates_as_the_user)
{
	struct pbx_redis_cred c = cred("right-pw");
	redisContext *rc = pbx_redis_connect("127.0.0.1", rf.port, &c, 1000);
	redisReply *r;

	cr_assert_not_null(rc);
	r = redisCommand(rc, "ACL WHOAMI");
	cr_assert(r && r->type == REDIS_REPLY_STRING);
	cr_expect_str_eq(r->str, "svc");
	freeReplyObject(r);
	redisFree(rc);
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
