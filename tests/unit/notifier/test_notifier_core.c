/* Tests for services/notifier/notifier.c in one process: a real
 * redis-server (tests/support/redis_fixture.h), the notifier on a real
 * libevent loop, and the tenant's webhook receiver on the same loop
 * (evhttp), answering each POST as the test's plan says. Asserts what
 * reached the receiver (body, a valid signature, the number and spacing
 * of attempts) and what is left in Redis (nothing pending, dead letters). */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <re.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notifier.h"
#include "notify_sign.h"
#include "pbx_clock.h"
#include "pbx_log.h"
#include "pbx_test.h"
#include "redis_fixture.h"

#define SECRET "s3cret-0123456789abcdef"
#define MSG_ID "1796641840537-c1ef5382c3290790"
#define MAX_POSTS 8

/* The webhook receiver: what arrived, and the status of each answer. */
static struct {
	struct event_base *base;
	struct evhttp *http;
	int port;
	int plan[MAX_POSTS]; /* HTTP status per POST; 0: 200 */
	int n;
	char body[MAX_POSTS][1024];
	char sig[MAX_POSTS][NOTIFY_SIGN_MAX];
	uint64_t at_ms[MAX_POSTS];
	struct redis_fixture redis;
	struct notifier_conf conf;
	struct notifier *nt;
} fx;

static void on_post(struct evhttp_request *req, void *arg)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	const char *sig = evhttp_find_header(
		evhttp_request_get_input_headers(req), NOTIFY_SIGN_HEADER);
	size_t len = evbuffer_get_length(in);
	int i = fx.n;

	(void)arg;
	if (i < MAX_POSTS) {
		if (len >= sizeof(fx.body[i]))
			len = sizeof(fx.body[i]) - 1;
		evbuffer_remove(in, fx.body[i], len);
		fx.body[i][len] = '\0';
		snprintf(fx.sig[i], sizeof(fx.sig[i]), "%s", sig ? sig : "");
		fx.at_ms[i] = pbx_clock_now_ms();
	}
	fx.n++;
	evhttp_send_reply(req, i < MAX_POSTS && fx.plan[i] ? fx.plan[i] : 200,
			  "test", NULL);
}

static redisReply *cmd(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static redisReply *cmd(const char *fmt, ...)
{
	struct timeval tv = {2, 0};
	redisContext *rc =
		redisConnectWithTimeout("127.0.0.1", fx.redis.port, tv);
	redisReply *r;
	va_list ap;

	cr_assert(rc && !rc->err);
	va_start(ap, fmt);
	r = redisvCommand(rc, fmt, ap);
	va_end(ap);
	redisFree(rc);
	cr_assert_not_null(r);
	return r;
}

static long long cmd_int(const char *fmt, const char *key)
{
	redisReply *r = cmd(fmt, key);
	long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;

	freeReplyObject(r);
	return v;
}

static void run_until(bool (*done)(void), uint32_t ms)
{
	uint64_t end = pbx_clock_now_ms() + ms;

	while (!done() && pbx_clock_now_ms() < end)
		event_base_loop(fx.base, EVLOOP_ONCE);
}

static void notifier_start(void)
{
	cr_assert_eq(notifier_alloc(&fx.nt, fx.base, &fx.conf), 0);
}

static void setup(void)
{
	struct notifier_conf *c = &fx.conf;

	memset(&fx, 0, sizeof(fx));
	pbx_log_init("nttest", PBX_LOG_WARN);
	cr_assert_eq(curl_global_init(CURL_GLOBAL_DEFAULT), 0);
	cr_assert_eq(redis_fixture_start(&fx.redis), 0, "no redis-server");
	fx.base = event_base_new();
	fx.http = evhttp_new(fx.base);
	cr_assert(fx.base && fx.http);
	fx.port = redis_fixture_free_port();
	cr_assert_eq(evhttp_bind_socket(fx.http, "127.0.0.1",
					(uint16_t)fx.port),
		     0);
	evhttp_set_gencb(fx.http, on_post, NULL);

	snprintf(c->notifier_id, sizeof(c->notifier_id), "nt1");
	snprintf(c->redis.host, sizeof(c->redis.host), "127.0.0.1");
	c->redis.port = fx.redis.port;
	snprintf(c->media_root, sizeof(c->media_root), "/nonexistent");
	snprintf(c->smtp_url, sizeof(c->smtp_url), "smtp://127.0.0.1:1");
	snprintf(c->smtp_from, sizeof(c->smtp_from), "vm@pbx.test");
	snprintf(c->smtp_tls, sizeof(c->smtp_tls), "none");
	c->poll_ms = 20;
	c->retry_base_ms = 100;
	c->retry_max_ms = 1000;
	c->max_attempts = 3;
	c->timeout_ms = 2000;
	c->max_inflight = 8;
	c->attach_max_bytes = 1 << 20;
	c->webhook_private = 1; /* the receiver is on loopback */
	/* The tenant's webhook and one message (its box has no e-mail). */
	freeReplyObject(cmd("HSET pbx:{t1}:notify webhook_url "
			    "http://127.0.0.1:%d/hook webhook_secret " SECRET,
			    fx.port));
	freeReplyObject(cmd("HSET pbx:{t1}:vm:msg:" MSG_ID " box main caller "
			    "79990000001 called 15550301 time_ms 1000 "
			    "duration_ms 3000 status new"));
}

static void teardown(void)
{
	notifier_free(fx.nt);
	if (fx.http)
		evhttp_free(fx.http);
	if (fx.base)
		event_base_free(fx.base);
	redis_fixture_stop(&fx.redis);
	curl_global_cleanup();
	PBX_TEST_LEAK_CHECK();
}

TestSuite(notifier_core, .init = setup, .fini = teardown, .timeout = 20);

static void job(void)
{
	freeReplyObject(cmd("XADD pbx:{sys}:notify:jobs * kind voicemail "
			    "tenant t1 box main ref " MSG_ID));
}

static int want_posts;
static bool posts_done(void)
{
	return fx.n >= want_posts;
}

static bool stream_empty(void)
{
	return cmd_int("XLEN %s", "pbx:{sys}:notify:jobs") == 0;
}

static bool one_dead(void)
{
	return cmd_int("XLEN %s", "pbx:{sys}:notify:dead") == 1;
}

/* POST i carries a valid signature of its body under SECRET. */
static void assert_signed(int i)
{
	unsigned long long t = 0;
	char want[NOTIFY_SIGN_MAX];

	cr_assert_eq(sscanf(fx.sig[i], "t=%llu,", &t), 1, "%s", fx.sig[i]);
	cr_assert_eq(notify_sign(want, sizeof(want), SECRET, t, fx.body[i],
				 strlen(fx.body[i])),
		     0);
	cr_assert_str_eq(fx.sig[i], want);
}

Test(notifier_core, a_job_reaches_the_webhook_signed_and_is_acknowledged)
{
	notifier_start();
	job();
	want_posts = 1;
	run_until(posts_done, 5000);
	cr_assert_eq(fx.n, 1, "%d POSTs", fx.n);
	assert_signed(0);
	cr_expect_not_null(strstr(fx.body[0], "\"id\":\"" MSG_ID "\""));
	cr_expect_not_null(strstr(fx.body[0], "\"kind\":\"voicemail\""));
	cr_expect_not_null(strstr(fx.body[0], "\"caller\":\"79990000001\""));
	cr_expect_not_null(strstr(fx.body[0], "\"duration_ms\":3000"));
	run_until(stream_empty, 2000);
	cr_assert(stream_empty(), "jobs left in the stream");
	/* Nothing more comes: delivered once. */
	want_posts = 2;
	run_until(posts_done, 500);
	cr_assert_eq(fx.n, 1);
}

/* A fax job (kind fax) takes the same path: its own event name and the
 * fax's metadata from fax:msg, never the document. */
Test(notifier_core, a_fax_job_reaches_the_webhook_as_fax_received)
{
	freeReplyObject(cmd("HSET pbx:{t1}:fax:msg:" MSG_ID " box office "
			    "caller 79990000002 called 15550401 time_ms 2000 "
			    "duration_ms 41000 remote_id %s pages 3 result 0 "
			    "result_text OK resolution 204x196 bit_rate 14400 "
			    "ecm 1 transport t38 files tif,pdf status new",
			    "E2E SENDER"));
	notifier_start();
	freeReplyObject(cmd("XADD pbx:{sys}:notify:jobs * kind fax tenant t1 "
			    "box office ref " MSG_ID));
	want_posts = 1;
	run_until(posts_done, 5000);
	cr_assert_eq(fx.n, 1, "%d POSTs", fx.n);
	assert_signed(0);
	cr_expect_not_null(strstr(fx.body[0], "\"event\":\"fax.received\""),
			   "%s", fx.body[0]);
	cr_expect_not_null(strstr(fx.body[0], "\"kind\":\"fax\""));
	cr_expect_not_null(strstr(fx.body[0], "\"box\":\"office\""));
	cr_expect_not_null(strstr(fx.body[0], "\"pages\":3"));
	cr_expect_not_null(strstr(fx.body[0], "\"remote_id\":\"E2E SENDER\""));
	cr_expect_not_null(strstr(fx.body[0], "\"transport\":\"t38\""));
	cr_expect_not_null(strstr(fx.body[0], "\"ecm\":true"));
	cr_expect_not_null(strstr(fx.body[0], "\"result\":0"));
	cr_expect_null(strstr(fx.body[0], "JVBER"), "no document in it");
	run_until(stream_empty, 2000);
	cr_assert(stream_empty(), "jobs left in the stream");
}

/* A fax job never reads a voicemail hash: a fax id that is only a
 * voicemail message is not announced. */
Test(notifier_core, a_fax_job_for_a_voicemail_id_is_not_announced)
{
	notifier_start();
	freeReplyObject(cmd("XADD pbx:{sys}:notify:jobs * kind fax tenant t1 "
			    "box main ref " MSG_ID));
	run_until(stream_empty, 2000);
	cr_assert(stream_empty(), "jobs left in the stream");
	want_posts = 1;
	run_until(posts_done, 300);
	cr_assert_eq(fx.n, 0);
}

Test(notifier_core, failures_are_retried_with_doubling_backoff)
{
	fx.plan[0] = 500;
	fx.plan[1] = 503;
	notifier_start();
	job();
	want_posts = 3;
	run_until(posts_done, 5000);
	cr_assert_eq(fx.n, 3, "%d POSTs", fx.n);
	/* Due 100 ms after the first delivery, 200 ms after the second.
	 * The gaps are measured where the POSTs arrive: the idle time Redis
	 * counts starts at the delivery, and on a loaded machine a POST can
	 * arrive tens of ms after it (seen: 87 ms for a 100 ms wait), which
	 * shortens the gap before it and lengthens the next. So: each wait
	 * is there, and the second is clearly the longer. */
	{
		uint64_t g1 = fx.at_ms[1] - fx.at_ms[0];
		uint64_t g2 = fx.at_ms[2] - fx.at_ms[1];

		cr_expect_geq(g1, 60, "%llu ms", (unsigned long long)g1);
		cr_expect_geq(g2, 150, "%llu ms", (unsigned long long)g2);
		cr_expect_geq(g2, g1 + 30, "%llu then %llu ms",
			      (unsigned long long)g1, (unsigned long long)g2);
	}
	cr_expect_not_null(strstr(fx.body[2], "\"attempt\":3"));
	assert_signed(2);
	run_until(stream_empty, 2000);
	cr_assert(stream_empty());
	cr_assert_eq(cmd_int("XLEN %s", "pbx:{sys}:notify:dead"), 0);
	cr_assert_eq(cmd_int("HLEN %s", "pbx:{sys}:notify:errors"), 0);
}

Test(notifier_core, given_up_after_max_attempts_into_the_dead_letters)
{
	redisReply *r;

	for (int i = 0; i < MAX_POSTS; i++)
		fx.plan[i] = 500;
	notifier_start();
	job();
	run_until(one_dead, 5000);
	cr_assert(one_dead(), "no dead letter");
	cr_assert_eq(fx.n, 3, "%d POSTs", fx.n);
	r = cmd("XRANGE pbx:{sys}:notify:dead - +");
	cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
	cr_assert_eq(r->elements, 1);
	{
		redisReply *f = r->element[0]->element[1];
		char all[1024] = "";

		for (size_t i = 0; i < f->elements; i++) {
			strncat(all, f->element[i]->str,
				sizeof(all) - strlen(all) - 2);
			strcat(all, " ");
		}
		cr_expect_not_null(strstr(all, "attempts 3 "), "%s", all);
		cr_expect_not_null(
			strstr(all, "error webhook answered HTTP 500 "), "%s",
			all);
		cr_expect_not_null(strstr(all, "channel webhook "), "%s", all);
		cr_expect_not_null(strstr(all, "ref " MSG_ID " "), "%s", all);
	}
	freeReplyObject(r);
	run_until(stream_empty, 2000);
	cr_assert(stream_empty());
}

Test(notifier_core, a_restart_loses_neither_waiting_nor_failed_jobs)
{
	/* Written with no notifier running. */
	job();
	fx.plan[0] = 500;
	notifier_start();
	want_posts = 1;
	run_until(posts_done, 5000);
	cr_assert_eq(fx.n, 1);
	/* Stopped after the failure: the job is pending in Redis only. */
	notifier_free(fx.nt);
	fx.nt = NULL;
	cr_assert_eq(cmd_int("XLEN %s", "pbx:{sys}:notify:jobs"), 1);
	notifier_start();
	want_posts = 2;
	run_until(posts_done, 5000);
	cr_assert_eq(fx.n, 2, "%d POSTs", fx.n);
	cr_expect_not_null(strstr(fx.body[1], "\"attempt\":2"));
	run_until(stream_empty, 2000);
	cr_assert(stream_empty());
}

Test(notifier_core, a_deleted_message_is_not_announced)
{
	freeReplyObject(cmd("DEL pbx:{t1}:vm:msg:" MSG_ID));
	notifier_start();
	job();
	run_until(stream_empty, 3000);
	cr_assert(stream_empty());
	want_posts = 1;
	run_until(posts_done, 300);
	cr_assert_eq(fx.n, 0, "%d POSTs", fx.n);
}

Test(notifier_core, a_bad_job_goes_to_the_dead_letters_at_once)
{
	notifier_start();
	freeReplyObject(cmd("XADD pbx:{sys}:notify:jobs * kind voicemail "
			    "tenant ../x box main ref " MSG_ID));
	run_until(one_dead, 3000);
	cr_assert(one_dead());
	cr_assert(stream_empty());
	cr_assert_eq(fx.n, 0);
}

Test(notifier_core, webhook_to_our_own_network_is_refused_and_dead_lettered)
{
	redisReply *r, *f;
	char all[1024] = "";

	fx.conf.webhook_private = 0;
	notifier_start();
	job();
	run_until(one_dead, 10000);
	cr_assert(one_dead(), "no dead letter");
	cr_assert_eq(fx.n, 0, "%d POSTs reached the loopback receiver", fx.n);
	r = cmd("XRANGE pbx:{sys}:notify:dead - +");
	cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 1);
	f = r->element[0]->element[1];
	for (size_t i = 0; i < f->elements; i++) {
		strncat(all, f->element[i]->str, sizeof(all) - strlen(all) - 2);
		strcat(all, " ");
	}
	freeReplyObject(r);
	cr_expect_not_null(strstr(all, "127.0.0.1 is an address of our own "
				       "network"),
			   "%s", all);
}
