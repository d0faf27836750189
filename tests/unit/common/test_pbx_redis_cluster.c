/* pbx_redis in Cluster mode against three real redis-servers with
 * --cluster-enabled (the slots split in three, as redis-cli --cluster
 * create does): key slots equal CLUSTER KEYSLOT's, the blocking and the
 * asynchronous connections send each tenant's commands to the primary of
 * its slot (checked on each node directly), transactions stay on one
 * node, and both follow MOVED after a slot moved and ASK while it
 * moves. */
#include <criterion/criterion.h>
#include <errno.h>
#include <event2/event.h>

#include "pbx_redis.h"
#include "pbx_test.h"
#include "redis_fixture.h"

#define N 3
static struct redis_fixture rf[N];
static char id[N][64];

static redisReply *cmd_on(int i, const char *fmt, ...)
{
	redisReply *r;
	va_list ap;

	va_start(ap, fmt);
	r = redis_fixture_vcmd(&rf[i], fmt, ap);
	va_end(ap);
	cr_assert_not_null(r);
	return r;
}

static bool cluster_ok(void)
{
	for (int i = 0; i < N; i++) {
		redisReply *r = cmd_on(i, "CLUSTER INFO");
		bool ok = r->type == REDIS_REPLY_STRING &&
			  strstr(r->str, "cluster_state:ok");

		freeReplyObject(r);
		if (!ok)
			return false;
	}
	return true;
}

static void setup(void)
{
	static const int lo[N] = {0, 5461, 10923}, hi[N] = {5460, 10922,
							     16383};

	for (int i = 0; i < N; i++) {
		redisReply *r;

		rf[i].cluster = true;
		cr_assert_eq(redis_fixture_start(&rf[i]), 0, "redis-server");
		cr_assert_eq(redis_fixture_ok(redis_fixture_cmd(
				     &rf[i], "CLUSTER ADDSLOTSRANGE %d %d",
				     lo[i], hi[i])),
			     0);
		r = cmd_on(i, "CLUSTER MYID");
		cr_assert_eq(r->type, REDIS_REPLY_STRING);
		snprintf(id[i], sizeof(id[i]), "%s", r->str);
		freeReplyObject(r);
	}
	for (int i = 1; i < N; i++)
		cr_assert_eq(redis_fixture_ok(cmd_on(0, "CLUSTER MEET "
							"127.0.0.1 %d",
						     rf[i].port)),
			     0);
	for (int t = 0; t < 200 && !cluster_ok(); t++)
		usleep(50000);
	cr_assert(cluster_ok(), "cluster_state:ok");
	pbx_redis_cluster_value = true;
	snprintf(pbx_redis_nodes_value, sizeof(pbx_redis_nodes_value),
		 "127.0.0.1:%d", rf[1].port);
}

static void teardown(void)
{
	pbx_redis_cluster_value = false;
	for (int i = 0; i < N; i++)
		redis_fixture_stop(&rf[i]);
	pbx_test_fini();
}

TestSuite(pbx_redis_cluster, .init = setup, .fini = teardown);

/* The node (0..2) holding slot s in the fixture's split. */
static int node_of_slot(unsigned s)
{
	return s <= 5460 ? 0 : s <= 10922 ? 1 : 2;
}

/* A tenant name (t<k>) whose tag lands on node i. */
static void tenant_on(int i, char *out, size_t size)
{
	for (int k = 0;; k++) {
		char key[32];

		snprintf(out, size, "t%d", k);
		snprintf(key, sizeof(key), "{%s}", out);
		if (node_of_slot(pbx_redis_key_slot(key, strlen(key))) == i)
			return;
	}
}

static bool node_has(int i, const char *key, const char *value)
{
	redisReply *r = cmd_on(i, "GET %s", key);
	bool ok = r->type == REDIS_REPLY_STRING && !strcmp(r->str, value);

	freeReplyObject(r);
	return ok;
}

Test(pbx_redis_cluster, key_slots_equal_redis_keyslot)
{
	static const char *const keys[] = {
		"pbx:{acme}:call:abc", "pbx:{sys}:trunk_ip:10.0.0.1",
		"123456789", "{}x", "a{}{b}", "{a}{b}", "x{y", "}{z}", "",
		"pbx:{t7}:queue:sales", "user1000", "{user1000}.following"};

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		redisReply *r = cmd_on(0, "CLUSTER KEYSLOT %s", keys[k]);

		cr_assert_eq(r->type, REDIS_REPLY_INTEGER);
		cr_expect_eq(pbx_redis_key_slot(keys[k], strlen(keys[k])),
			     (unsigned)r->integer, "%s", keys[k]);
		freeReplyObject(r);
	}
	/* The value Redis's cluster spec gives for its test vector. */
	cr_expect_eq(pbx_redis_key_slot("123456789", 9), 0x31c3 & 16383);
}

Test(pbx_redis_cluster, blocking_commands_go_to_their_slots_primary)
{
	redisContext *c = pbx_redis_connect("127.0.0.1", rf[0].port, NULL,
					    1000);
	char t[N][16], key[N][64];
	redisReply *r;

	cr_assert_not_null(c);
	for (int i = 0; i < N; i++) {
		tenant_on(i, t[i], sizeof(t[i]));
		snprintf(key[i], sizeof(key[i]), "pbx:{%s}:k", t[i]);
		r = pbx_redis_cmd(c, "SET %s v%d", key[i], i);
		cr_assert(r && r->type == REDIS_REPLY_STATUS, "%s",
			  r ? r->str : c->errstr);
		freeReplyObject(r);
	}
	for (int i = 0; i < N; i++) {
		char v[8];

		snprintf(v, sizeof(v), "v%d", i);
		cr_expect(node_has(i, key[i], v), "%s on node %d", key[i], i);
	}
	/* A transaction: MULTI waits for its first key's node. */
	r = pbx_redis_cmd(c, "MULTI");
	cr_assert(r && r->type == REDIS_REPLY_STATUS);
	freeReplyObject(r);
	r = pbx_redis_cmd(c, "INCR pbx:{%s}:n", t[2]);
	cr_assert(r && r->type == REDIS_REPLY_STATUS, "QUEUED");
	freeReplyObject(r);
	r = pbx_redis_cmd(c, "INCR pbx:{%s}:n", t[2]);
	freeReplyObject(r);
	r = pbx_redis_cmd(c, "EXEC");
	cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2);
	cr_expect_eq(r->element[1]->integer, 2);
	freeReplyObject(r);
	/* SCAN of a tenant's pattern runs on the tenant's node. */
	r = pbx_redis_cmd(c, "SCAN 0 MATCH pbx:{%s}:* COUNT 100", t[1]);
	cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2);
	cr_expect_eq(r->element[1]->elements, 1);
	freeReplyObject(r);
	pbx_redis_close(c);
}

struct got {
	int n;
	char v[8][16];
};

static void got_cb(redisAsyncContext *ac, void *reply, void *arg)
{
	struct got *g = arg;
	redisReply *r = reply;

	(void)ac;
	snprintf(g->v[g->n++ & 7], sizeof(g->v[0]), "%s",
		 !r ? "(null)" : r->str ? r->str : "(int)");
}

static void loop_until(struct event_base *base, const int *n, int want)
{
	for (int t = 0; t < 150 && *n < want; t++) {
		struct timeval tv = {0, 20000};

		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
}

/* An asynchronous connection seeded with node 0, once it has the map. */
static struct pbx_redis *async_connected(struct event_base *base)
{
	struct pbx_redis *r = NULL;
	int none = 0;

	cr_assert_eq(pbx_redis_alloc(&r, base, "127.0.0.1", rf[0].port,
				     NULL),
		     0);
	for (int k = 0; k < 100 && !pbx_redis_ctx(r); k++)
		loop_until(base, &none, 1);
	cr_assert_not_null(pbx_redis_ctx(r), "cluster connected");
	return r;
}

/* Moves slot s from node a to node b (its keys first): the way
 * redis-cli --cluster reshard does it. with_ask: stop after the keys
 * moved, the slot still MIGRATING on a and IMPORTING on b. */
static void move_slot(unsigned s, int a, int b, const char *key,
		      bool with_ask)
{
	cr_assert_eq(redis_fixture_ok(cmd_on(b, "CLUSTER SETSLOT %u "
						"IMPORTING %s",
					     s, id[a])),
		     0);
	cr_assert_eq(redis_fixture_ok(cmd_on(a, "CLUSTER SETSLOT %u "
						"MIGRATING %s",
					     s, id[b])),
		     0);
	cr_assert_eq(redis_fixture_ok(cmd_on(a, "MIGRATE 127.0.0.1 %d %s 0 "
						"2000",
					     rf[b].port, key)),
		     0);
	if (with_ask)
		return;
	for (int i = 0; i < N; i++)
		cr_assert_eq(redis_fixture_ok(cmd_on(i, "CLUSTER SETSLOT %u "
							"NODE %s",
						     s, id[b])),
			     0);
}

Test(pbx_redis_cluster, async_commands_follow_the_map_moved_and_ask)
{
	struct event_base *base = event_base_new();
	struct pbx_redis *r = NULL;
	struct got g = {0};
	char t[N][16], key[N][64];
	unsigned s0;
	int n;

	r = async_connected(base);
	for (int i = 0; i < N; i++) {
		tenant_on(i, t[i], sizeof(t[i]));
		snprintf(key[i], sizeof(key[i]), "pbx:{%s}:a", t[i]);
		cr_assert_eq(pbx_redis_acmd(pbx_redis_ctx(r), got_cb, &g,
					    "SET %s a%d", key[i], i),
			     REDIS_OK);
	}
	loop_until(base, &g.n, N);
	cr_assert_eq(g.n, N);
	for (int i = 0; i < N; i++) {
		char v[8];

		snprintf(v, sizeof(v), "a%d", i);
		cr_expect_str_eq(g.v[i], "OK");
		cr_expect(node_has(i, key[i], v), "%s on node %d", key[i], i);
	}
	/* ASK: tenant 0's key is on node 1 already, its slot not yet. */
	s0 = pbx_redis_key_slot(key[0], strlen(key[0]));
	move_slot(s0, 0, 1, key[0], true);
	n = g.n;
	pbx_redis_acmd(pbx_redis_ctx(r), got_cb, &g, "GET %s", key[0]);
	loop_until(base, &g.n, n + 1);
	cr_expect_str_eq(g.v[n & 7], "a0", "ASK followed");
	/* MOVED: the slot is node 1's now. */
	for (int i = 0; i < N; i++)
		cr_assert_eq(redis_fixture_ok(cmd_on(i, "CLUSTER SETSLOT %u "
							"NODE %s",
						     s0, id[1])),
			     0);
	n = g.n;
	pbx_redis_acmd(pbx_redis_ctx(r), got_cb, &g, "EVAL %s 1 %s",
		       "return redis.call('GET', KEYS[1])", key[0]);
	loop_until(base, &g.n, n + 1);
	cr_expect_str_eq(g.v[n & 7], "a0", "MOVED followed");
	n = g.n;
	pbx_redis_acmd(pbx_redis_ctx(r), got_cb, &g, "SET %s b", key[0]);
	loop_until(base, &g.n, n + 1);
	cr_expect_str_eq(g.v[n & 7], "OK");
	cr_expect(node_has(1, key[0], "b"), "written where it moved");
	pbx_redis_free(r);
	event_base_free(base);
}

Test(pbx_redis_cluster, blocking_connection_follows_moved)
{
	redisContext *c = pbx_redis_connect("127.0.0.1", rf[0].port, NULL,
					    1000);
	char t[16], key[64];
	redisReply *r;

	cr_assert_not_null(c);
	tenant_on(2, t, sizeof(t));
	snprintf(key, sizeof(key), "pbx:{%s}:m", t);
	r = pbx_redis_cmd(c, "SET %s one", key);
	freeReplyObject(r);
	move_slot(pbx_redis_key_slot(key, strlen(key)), 2, 0, key, true);
	r = pbx_redis_cmd(c, "GET %s", key); /* ASK */
	cr_assert(r && r->type == REDIS_REPLY_STRING);
	cr_expect_str_eq(r->str, "one");
	freeReplyObject(r);
	for (int i = 0; i < N; i++)
		cr_assert_eq(redis_fixture_ok(cmd_on(i, "CLUSTER SETSLOT %u "
							"NODE %s",
						     pbx_redis_key_slot(
							     key, strlen(key)),
						     id[0])),
			     0);
	r = pbx_redis_cmd(c, "SET %s two", key); /* MOVED */
	cr_assert(r && r->type == REDIS_REPLY_STATUS, "%s",
		  r ? r->str : c->errstr);
	freeReplyObject(r);
	cr_expect(node_has(0, key, "two"));
	pbx_redis_close(c);
}

Test(pbx_redis_cluster, async_script_retries_tryagain_while_keys_migrate)
{
	struct event_base *base = event_base_new();
	struct pbx_redis *r = NULL;
	struct got g = {0};
	char t[16], k1[64], k2[64];
	unsigned s;

	r = async_connected(base);
	tenant_on(0, t, sizeof(t));
	snprintf(k1, sizeof(k1), "pbx:{%s}:k1", t);
	snprintf(k2, sizeof(k2), "pbx:{%s}:k2", t);
	cr_assert_eq(redis_fixture_ok(cmd_on(0, "SET %s one", k1)), 0);
	cr_assert_eq(redis_fixture_ok(cmd_on(0, "SET %s two", k2)), 0);
	/* One key of the slot moved, the other not yet: a script naming
	 * both gets TRYAGAIN at the source. */
	s = pbx_redis_key_slot(k1, strlen(k1));
	move_slot(s, 0, 1, k1, true);
	cr_assert_eq(pbx_redis_acmd(pbx_redis_ctx(r), got_cb, &g,
				    "EVAL %s 2 %s %s",
				    "return redis.call('GET', KEYS[2])", k1,
				    k2),
		     REDIS_OK);
	{
		struct timeval tv = {0, 5000};

		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	cr_expect_eq(g.n, 0, "still retrying: %s", g.v[0]);
	/* The rest of the slot's keys: the retry follows ASK. */
	cr_assert_eq(redis_fixture_ok(cmd_on(0, "MIGRATE 127.0.0.1 %d %s 0 "
						"2000",
					     rf[1].port, k2)),
		     0);
	loop_until(base, &g.n, 1);
	cr_assert_eq(g.n, 1);
	cr_expect_str_eq(g.v[0], "two");
	pbx_redis_free(r);
	event_base_free(base);
}
