/* Redis Cluster for the shared connections: the slot of a key, the slot
 * map (CLUSTER SLOTS), one connection per primary (asynchronous and
 * blocking), routing of each command by its first key, MOVED / ASK /
 * TRYAGAIN. Debian 12's hiredis 0.14 has no Cluster client, and every
 * key of this project is hash-tagged by tenant, so every command (and
 * every script and transaction) touches one slot and plain per-node
 * connections are enough. */
#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "pbx_log.h"
#include "pbx_redis_priv.h"

#define SLOTS 16384
#define NODES_MAX 32
#define NO_NODE 0xff
/* Redirections one command follows (a reshard moves a slot once; a
 * second MOVED in a row means the map is changing under us). */
#define TRIES 4
#define RETRY_MS 500
#define TRYAGAIN_MS 20
/* TRYAGAIN: a multi-key command while its slot's keys are half
 * migrated; redis-cli moves them in batches of a few ms each. */
#define TRYAGAIN_TRIES 10
#define SEEDS_MAX 8
#define HOST_MAX 64

bool pbx_redis_cluster_value;
char pbx_redis_nodes_value[256];

/* CRC16-CCITT (XMODEM: polynomial 0x1021, initial 0, no reflection), the
 * checksum Redis Cluster specifies for key slots. */
static uint16_t crc16(const char *p, size_t len)
{
	uint16_t crc = 0;

	for (size_t i = 0; i < len; i++) {
		crc ^= (uint16_t)((uint8_t)p[i] << 8);
		for (int b = 0; b < 8; b++)
			crc = crc & 0x8000 ? (uint16_t)(crc << 1 ^ 0x1021)
					   : (uint16_t)(crc << 1);
	}
	return crc;
}

unsigned pbx_redis_key_slot(const char *key, size_t len)
{
	const char *open = memchr(key, '{', len), *close;

	if (open) {
		size_t rest = len - (size_t)(open - key) - 1;

		close = memchr(open + 1, '}', rest);
		if (close && close > open + 1)
			return crc16(open + 1, (size_t)(close - open - 1)) &
			       (SLOTS - 1);
	}
	return crc16(key, len) & (SLOTS - 1);
}

/* The seed list (redis_nodes), parsed once. */
static pthread_mutex_t seed_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	bool parsed;
	int err;
	int n;
	struct {
		char host[HOST_MAX];
		int port;
	} s[SEEDS_MAX];
} seeds;

int pbx_redis_cluster_setup(void)
{
	const char *p = pbx_redis_nodes_value;

	pthread_mutex_lock(&seed_lock);
	if (seeds.parsed)
		goto out;
	seeds.parsed = true;
	if (pbx_redis_cluster_value && pbx_redis_sentinels_value[0]) {
		fprintf(stderr, "config: redis_cluster and redis_sentinels "
				"exclude each other\n");
		seeds.err = -EINVAL;
		goto out;
	}
	while (*p) {
		size_t len = strcspn(p, ",");

		if (seeds.n == SEEDS_MAX ||
		    pbx_redis_addr_parse(p, len, seeds.s[seeds.n].host,
					 HOST_MAX, &seeds.s[seeds.n].port)) {
			fprintf(stderr, "config: redis_nodes: '%.*s' is not "
					"host:port (at most %d, "
					"comma-separated)\n",
				(int)len, p, SEEDS_MAX);
			seeds.err = -EINVAL;
			goto out;
		}
		seeds.n++;
		p += len;
		if (*p)
			p++;
	}
out:
	pthread_mutex_unlock(&seed_lock);
	return seeds.err;
}

/* ---- Commands: which key, which verb ---------------------------------- */

enum verb { V_KEYED, V_KEYLESS, V_SCRIPT, V_MULTI, V_EXEC, V_WAIT };

/* The arguments of a formatted (RESP) command, one after the other. */
struct resp_it {
	const char *p, *end;
	long left;
};

static int resp_num(struct resp_it *it, char type, long *v)
{
	char *e;

	if (it->p >= it->end || *it->p != type)
		return -EPROTO;
	*v = strtol(it->p + 1, &e, 10);
	if (e + 2 > it->end || e[0] != '\r' || e[1] != '\n' || *v < 0)
		return -EPROTO;
	it->p = e + 2;
	return 0;
}

static int resp_next(struct resp_it *it, const char **a, size_t *al)
{
	long l;

	if (!it->left || resp_num(it, '$', &l) || it->end - it->p < l + 2)
		return -1;
	*a = it->p;
	*al = (size_t)l;
	it->p += l + 2;
	it->left--;
	return 0;
}

static bool arg_is(const char *a, size_t al, const char *word)
{
	return al == strlen(word) && !strncasecmp(a, word, al);
}

/* The verb and the first key of a formatted command (*key NULL when it
 * has none). */
static enum verb cmd_key(const char *cmd, size_t len, const char **key,
			 size_t *klen)
{
	static const char *const keyless[] = {
		"PING", "ROLE", "INFO", "CLUSTER", "TIME", "ECHO", "CLIENT",
		"CONFIG", "DBSIZE", "PUBLISH", "HELLO", "COMMAND",
		"KEYS", "FLUSHALL", "FLUSHDB", "ACL", "DISCARD", "AUTH",
		"ASKING", "SELECT", "LASTSAVE", "BGSAVE"};
	struct resp_it it = {cmd, cmd + len, 0};
	const char *v, *a;
	size_t vl, al;
	long nkeys;

	*key = NULL;
	*klen = 0;
	if (resp_num(&it, '*', &it.left) || resp_next(&it, &v, &vl))
		return V_KEYLESS;
	if (arg_is(v, vl, "MULTI"))
		return V_MULTI;
	if (arg_is(v, vl, "EXEC"))
		return V_EXEC;
	if (arg_is(v, vl, "WAIT"))
		return V_WAIT;
	if (arg_is(v, vl, "SCRIPT"))
		return V_SCRIPT;
	for (size_t i = 0; i < sizeof(keyless) / sizeof(keyless[0]); i++)
		if (arg_is(v, vl, keyless[i]))
			return V_KEYLESS;
	if (arg_is(v, vl, "EVAL") || arg_is(v, vl, "EVALSHA") ||
	    arg_is(v, vl, "EVAL_RO") || arg_is(v, vl, "EVALSHA_RO") ||
	    arg_is(v, vl, "FCALL")) {
		if (resp_next(&it, &a, &al) || resp_next(&it, &a, &al))
			return V_KEYLESS;
		nkeys = al < 12 ? strtol(a, NULL, 10) : 0;
		if (nkeys < 1 || resp_next(&it, key, klen))
			return V_KEYLESS;
		return V_KEYED;
	}
	if (arg_is(v, vl, "SCAN")) {
		/* SCAN ... MATCH pbx:{t}:*: the tenant's keys are all on
		 * its slot's node, so its pattern routes as a key does. */
		while (!resp_next(&it, &a, &al))
			if (arg_is(a, al, "MATCH") &&
			    !resp_next(&it, key, klen)) {
				if (memchr(*key, '{', *klen))
					return V_KEYED;
				*key = NULL;
				return V_KEYLESS;
			}
		return V_KEYLESS;
	}
	if (arg_is(v, vl, "XREAD") || arg_is(v, vl, "XREADGROUP")) {
		while (!resp_next(&it, &a, &al))
			if (arg_is(a, al, "STREAMS"))
				return resp_next(&it, key, klen) ? V_KEYLESS
								 : V_KEYED;
		return V_KEYLESS;
	}
	if ((arg_is(v, vl, "XGROUP") || arg_is(v, vl, "XINFO") ||
	     arg_is(v, vl, "OBJECT") || arg_is(v, vl, "MEMORY")) &&
	    resp_next(&it, &a, &al))
		return V_KEYLESS;
	return resp_next(&it, key, klen) ? V_KEYLESS : V_KEYED;
}

/* "MOVED 3999 127.0.0.1:6381" / "ASK ..." into slot, host, port. */
static int redirect_parse(const char *s, unsigned *slot, char *host,
			  int *port)
{
	const char *sp = strchr(s, ' '), *addr;
	char *e;
	long v;

	if (!sp)
		return -EPROTO;
	v = strtol(sp + 1, &e, 10);
	if (*e != ' ' || v < 0 || v >= SLOTS)
		return -EPROTO;
	addr = e + 1;
	*slot = (unsigned)v;
	return pbx_redis_addr_parse(addr, strlen(addr), host, HOST_MAX, port);
}

/* One CLUSTER SLOTS range: start, end, host, port of its primary. */
static int range_parse(const redisReply *e, long *lo, long *hi,
		       const char **host, int *port)
{
	const redisReply *m;

	if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
	    e->element[0]->type != REDIS_REPLY_INTEGER ||
	    e->element[1]->type != REDIS_REPLY_INTEGER)
		return -EPROTO;
	m = e->element[2];
	if (m->type != REDIS_REPLY_ARRAY || m->elements < 2 ||
	    m->element[0]->type != REDIS_REPLY_STRING ||
	    m->element[1]->type != REDIS_REPLY_INTEGER ||
	    m->element[0]->len >= HOST_MAX)
		return -EPROTO;
	*lo = e->element[0]->integer;
	*hi = e->element[1]->integer;
	*host = m->element[0]->str;
	*port = (int)m->element[1]->integer;
	if (*lo < 0 || *hi >= SLOTS || *lo > *hi || *port < 1 ||
	    *port > 65535)
		return -EPROTO;
	return 0;
}

/* ---- Asynchronous: struct pbx_redis in Cluster mode ------------------- */

struct rcl_node {
	int kind;                   /* PBX_REDIS_KIND_NODE: ac->data */
	struct pbx_redis_cluster *cl;
	char host[HOST_MAX];
	int port;
	redisAsyncContext *ac;      /* NULL while down */
	bool up;                    /* connected and authenticated */
	struct event *retry;
};

/* Owned by its struct pbx_redis; owns the nodes. */
struct pbx_redis_cluster {
	struct pbx_redis *r;
	struct rcl_node *node[NODES_MAX];
	int n;
	uint8_t slot[SLOTS];        /* node index, NO_NODE: not known */
	bool mapped;                /* one CLUSTER SLOTS answered */
	bool asking;                /* a CLUSTER SLOTS is out */
	struct event *refresh;
	struct rcl_req *waiting;    /* TRYAGAIN: resent by again_ev */
	struct event *again_ev;
};

/* One command in flight; the last callback frees it. */
struct rcl_req {
	redisCallbackFn *fn;
	void *priv;
	char *cmd;
	size_t len;
	int tries;                  /* redirections followed */
	int again;                  /* TRYAGAIN retries */
	struct rcl_req *next;       /* in the cluster's waiting list */
};

static void node_connect(struct rcl_node *nd);
static void again_cb(evutil_socket_t fd, short what, void *arg);
static void waiting_fail(struct pbx_redis_cluster *cl,
			 redisAsyncContext *ac);
static void req_free(struct rcl_req *q);

static void refresh_soon(struct pbx_redis_cluster *cl, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	if (!evtimer_pending(cl->refresh, NULL))
		evtimer_add(cl->refresh, &tv);
}

static void node_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rcl_node *nd = arg;

	(void)fd;
	(void)what;
	if (!nd->ac)
		node_connect(nd);
}

static void node_on_auth(redisAsyncContext *ac, void *reply, void *arg)
{
	struct rcl_node *nd = arg;
	redisReply *rr = reply;

	if (!ac->data || !rr)
		return; /* freed, or the link went: on_disconnect retries */
	if (rr->type == REDIS_REPLY_ERROR) {
		PLOG_ERR("redis %s:%d: Redis refused user '%s': %s", nd->host,
			 nd->port,
			 nd->cl->r->cred.user[0] ? nd->cl->r->cred.user
						 : "default",
			 rr->str);
		pbx_redis_errors++;
		redisAsyncDisconnect(ac);
		return;
	}
	nd->up = true;
	PLOG_INFO("redis cluster node %s:%d: connected", nd->host, nd->port);
}

static void node_on_connect(const redisAsyncContext *ac, int status)
{
	struct rcl_node *nd = ac->data;
	struct timeval tv = {0, RETRY_MS * 1000};

	if (!nd)
		return;
	if (status != REDIS_OK) {
		PLOG_WARN("redis cluster node %s:%d: connect failed: %s",
			  nd->host, nd->port, ac->errstr);
		pbx_redis_errors++;
		nd->ac = NULL;
		nd->up = false;
		evtimer_add(nd->retry, &tv);
		refresh_soon(nd->cl, RETRY_MS);
		return;
	}
	if (!nd->cl->r->cred.password[0]) {
		nd->up = true;
		PLOG_INFO("redis cluster node %s:%d: connected", nd->host,
			  nd->port);
	}
}

static void node_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct rcl_node *nd = ac->data;
	struct timeval tv = {0, RETRY_MS * 1000};

	if (!nd)
		return; /* freed on purpose */
	PLOG_WARN("redis cluster node %s:%d: disconnected (%s)", nd->host,
		  nd->port, status == REDIS_OK ? "closed" : ac->errstr);
	pbx_redis_errors++;
	nd->ac = NULL;
	nd->up = false;
	evtimer_add(nd->retry, &tv);
	/* Its slots may have a new primary now. */
	refresh_soon(nd->cl, RETRY_MS);
}

static void node_connect(struct rcl_node *nd)
{
	const struct pbx_redis_cred *cred = &nd->cl->r->cred;
	struct timeval tv = {0, RETRY_MS * 1000};
	redisAsyncContext *ac = redisAsyncConnect(nd->host, nd->port);
	int rc = REDIS_OK;

	if (!ac || ac->err) {
		PLOG_WARN("redis cluster node %s:%d: %s", nd->host, nd->port,
			  ac ? ac->errstr : "out of memory");
		pbx_redis_errors++;
		if (ac)
			redisAsyncFree(ac);
		evtimer_add(nd->retry, &tv);
		return;
	}
	ac->data = nd;
	redisLibeventAttach(ac, nd->cl->r->base);
	redisAsyncSetConnectCallback(ac, node_on_connect);
	redisAsyncSetDisconnectCallback(ac, node_on_disconnect);
	nd->ac = ac;
	/* First in the queue: nothing of ours runs unauthenticated. */
	if (cred->password[0] && cred->user[0])
		rc = redisAsyncCommand(ac, node_on_auth, nd, "AUTH %s %s",
				       cred->user, cred->password);
	else if (cred->password[0])
		rc = redisAsyncCommand(ac, node_on_auth, nd, "AUTH %s",
				       cred->password);
	if (rc != REDIS_OK) {
		nd->ac = NULL;
		ac->data = NULL;
		redisAsyncFree(ac);
		evtimer_add(nd->retry, &tv);
	}
}

/* The node at host:port, added (and connecting) when new; NULL when the
 * table is full. */
static struct rcl_node *node_get(struct pbx_redis_cluster *cl,
				 const char *host, int port, int *idx)
{
	struct rcl_node *nd;

	for (int i = 0; i < cl->n; i++)
		if (cl->node[i]->port == port &&
		    !strcmp(cl->node[i]->host, host)) {
			*idx = i;
			return cl->node[i];
		}
	if (cl->n == NODES_MAX || strlen(host) >= HOST_MAX)
		return NULL;
	nd = calloc(1, sizeof(*nd));
	if (!nd)
		return NULL;
	nd->retry = evtimer_new(cl->r->base, node_retry_cb, nd);
	if (!nd->retry) {
		free(nd);
		return NULL;
	}
	nd->kind = PBX_REDIS_KIND_NODE;
	nd->cl = cl;
	snprintf(nd->host, sizeof(nd->host), "%s", host);
	nd->port = port;
	*idx = cl->n;
	cl->node[cl->n++] = nd;
	node_connect(nd);
	return nd;
}

static void slots_cb(redisAsyncContext *ac, void *reply, void *arg)
{
	struct pbx_redis_cluster *cl = arg;
	struct rcl_node *from = ac->data;
	redisReply *rr = reply;
	uint8_t map[SLOTS];

	if (!from)
		return; /* freed with cl: do not touch it */
	cl->asking = false;
	if (!rr || rr->type != REDIS_REPLY_ARRAY || !rr->elements) {
		PLOG_WARN("redis cluster node %s:%d: CLUSTER SLOTS: %s",
			  from->host, from->port,
			  rr && rr->type == REDIS_REPLY_ERROR ? rr->str
							      : "no map");
		pbx_redis_errors++;
		refresh_soon(cl, RETRY_MS);
		return;
	}
	memset(map, NO_NODE, sizeof(map));
	for (size_t i = 0; i < rr->elements; i++) {
		const char *host;
		long lo, hi;
		int port, idx;

		if (range_parse(rr->element[i], &lo, &hi, &host, &port))
			continue;
		/* A node that does not know its address answers "". */
		if (!node_get(cl, host[0] ? host : from->host, port, &idx))
			continue;
		memset(map + lo, idx, (size_t)(hi - lo + 1));
	}
	memcpy(cl->slot, map, sizeof(map));
	if (!cl->mapped)
		PLOG_INFO("redis cluster: slot map from %s:%d, %d nodes",
			  from->host, from->port, cl->n);
	cl->mapped = true;
}

static void refresh_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pbx_redis_cluster *cl = arg;

	(void)fd;
	(void)what;
	if (cl->asking)
		return;
	/* Any node that is up knows the whole map; before the first map
	 * the seeds may still be connecting (the command waits). */
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < cl->n; i++) {
			struct rcl_node *nd = cl->node[i];

			if (!nd->ac || (k == 0 && !nd->up))
				continue;
			if (redisAsyncCommand(nd->ac, slots_cb, cl,
					      "CLUSTER SLOTS") == REDIS_OK) {
				cl->asking = true;
				return;
			}
		}
	refresh_soon(cl, RETRY_MS);
}

int pbx_redis_cluster_alloc(struct pbx_redis *r)
{
	struct pbx_redis_cluster *cl;
	int idx;

	if (pbx_redis_cluster_setup())
		return -EINVAL;
	cl = calloc(1, sizeof(*cl));
	if (!cl)
		return -ENOMEM;
	cl->r = r;
	memset(cl->slot, NO_NODE, sizeof(cl->slot));
	cl->refresh = evtimer_new(r->base, refresh_cb, cl);
	cl->again_ev = evtimer_new(r->base, again_cb, cl);
	if (!cl->refresh || !cl->again_ev) {
		if (cl->refresh)
			event_free(cl->refresh);
		free(cl);
		return -ENOMEM;
	}
	r->cl = cl;
	if (!seeds.n)
		node_get(cl, r->host, r->port, &idx);
	for (int i = 0; i < seeds.n; i++)
		node_get(cl, seeds.s[i].host, seeds.s[i].port, &idx);
	refresh_cb(-1, 0, cl);
	return 0;
}

void pbx_redis_cluster_free(struct pbx_redis *r)
{
	struct pbx_redis_cluster *cl = r->cl;
	redisAsyncContext *ac[NODES_MAX];

	if (!cl)
		return;
	/* Pending callbacks run inside redisAsyncFree with NULL replies:
	 * every node must look gone (and pbx_redis_ctx() say down) before
	 * the first one is freed, and no node freed while they run. */
	cl->mapped = false;
	for (int i = 0; i < cl->n; i++) {
		ac[i] = cl->node[i]->ac;
		cl->node[i]->ac = NULL;
		cl->node[i]->up = false;
		if (ac[i])
			ac[i]->data = NULL;
	}
	/* Waiting after TRYAGAIN: answered as the pending ones are. */
	for (int i = 0; i < cl->n && cl->waiting; i++)
		if (ac[i])
			waiting_fail(cl, ac[i]);
	for (struct rcl_req *q = cl->waiting, *next; q; q = next) {
		next = q->next; /* no context left to answer on */
		req_free(q);
	}
	for (int i = 0; i < cl->n; i++)
		if (ac[i])
			redisAsyncFree(ac[i]);
	for (int i = 0; i < cl->n; i++) {
		event_free(cl->node[i]->retry);
		free(cl->node[i]);
	}
	event_free(cl->refresh);
	event_free(cl->again_ev);
	free(cl);
	r->cl = NULL;
}

redisAsyncContext *pbx_redis_cluster_ctx(struct pbx_redis *r)
{
	struct pbx_redis_cluster *cl = r->cl;

	if (!cl->mapped)
		return NULL;
	for (int i = 0; i < cl->n; i++)
		if (cl->node[i]->up)
			return cl->node[i]->ac;
	return NULL;
}

void pbx_redis_cluster_flush(struct pbx_redis *r)
{
	for (int i = 0; i < r->cl->n; i++)
		if (r->cl->node[i]->up)
			redisAsyncHandleWrite(r->cl->node[i]->ac);
}

static void req_free(struct rcl_req *q)
{
	free(q->cmd);
	free(q);
}

/* The primary of q's key's slot now (q's keyless: any with a context). */
static struct rcl_node *node_of(struct pbx_redis_cluster *cl,
				const struct rcl_req *q)
{
	const char *key;
	size_t klen;
	uint8_t i;

	cmd_key(q->cmd, q->len, &key, &klen);
	if (key) {
		i = cl->slot[pbx_redis_key_slot(key, klen)];
		return i == NO_NODE ? NULL : cl->node[i];
	}
	for (int k = 0; k < cl->n; k++)
		if (cl->node[k]->ac)
			return cl->node[k];
	return NULL;
}

/* The commands waiting after TRYAGAIN get a NULL reply on ac. */
static void waiting_fail(struct pbx_redis_cluster *cl,
			 redisAsyncContext *ac)
{
	struct rcl_req *q = cl->waiting, *next;

	cl->waiting = NULL;
	for (; q; q = next) {
		next = q->next;
		if (q->fn)
			q->fn(ac, NULL, q->priv);
		req_free(q);
	}
}

static void req_reply(redisAsyncContext *ac, void *reply, void *arg);

static int req_send(struct rcl_req *q, struct rcl_node *nd, bool asking)
{
	if (!nd || !nd->ac)
		return REDIS_ERR;
	if (asking &&
	    redisAsyncCommand(nd->ac, NULL, NULL, "ASKING") != REDIS_OK)
		return REDIS_ERR;
	return redisAsyncFormattedCommand(nd->ac, req_reply, q, q->cmd,
					  q->len);
}

/* MOVED: the map learns the slot's new primary (and asks for the whole
 * map again: a reshard moves more than one slot); ASK: this command
 * only, preceded by ASKING. Anything else reaches the caller. */
static void req_reply(redisAsyncContext *ac, void *reply, void *arg)
{
	struct rcl_req *q = arg;
	struct rcl_node *from = ac->data, *to;
	redisReply *rr = reply;
	char host[HOST_MAX];
	unsigned slot;
	int port, idx;

	if (from && rr && rr->type == REDIS_REPLY_ERROR &&
	    q->tries < TRIES) {
		bool ask = !strncmp(rr->str, "ASK ", 4);

		if ((ask || !strncmp(rr->str, "MOVED ", 6)) &&
		    !redirect_parse(rr->str, &slot, host, &port) &&
		    (to = node_get(from->cl, host, port, &idx))) {
			if (ask) {
				PLOG_DEBUG("redis cluster: %s", rr->str);
			} else {
				/* Once per slot moved: the map has it
				 * after this. */
				PLOG_INFO("redis cluster: %s", rr->str);
				from->cl->slot[slot] = (uint8_t)idx;
				refresh_soon(from->cl, 100);
			}
			q->tries++;
			if (req_send(q, to, ask) == REDIS_OK)
				return;
		}
	}
	if (from && rr && rr->type == REDIS_REPLY_ERROR &&
	    !strncmp(rr->str, "TRYAGAIN", 8) && q->again < TRYAGAIN_TRIES) {
		struct timeval tv = {0, TRYAGAIN_MS * 1000};

		q->again++;
		q->next = from->cl->waiting;
		from->cl->waiting = q;
		if (!evtimer_pending(from->cl->again_ev, NULL))
			evtimer_add(from->cl->again_ev, &tv);
		return;
	}
	if (q->fn)
		q->fn(ac, reply, q->priv);
	req_free(q);
}

/* Resends the commands that got TRYAGAIN, each to its slot's primary
 * now; one whose node has no connection fails as on a lost link. */
static void again_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pbx_redis_cluster *cl = arg;
	struct rcl_req *q = cl->waiting, *next;

	(void)fd;
	(void)what;
	cl->waiting = NULL;
	for (; q; q = next) {
		struct rcl_node *nd = node_of(cl, q);

		next = q->next;
		if (req_send(q, nd, false) == REDIS_OK)
			continue;
		if (nd && nd->ac) { /* hiredis refused: the link is going */
			if (q->fn)
				q->fn(nd->ac, NULL, q->priv);
			req_free(q);
			continue;
		}
		q->next = cl->waiting; /* no context to answer on yet */
		cl->waiting = q;
	}
	if (cl->waiting) {
		struct timeval tv = {0, RETRY_MS * 1000};

		evtimer_add(cl->again_ev, &tv);
	}
}

int pbx_redis_cluster_send(redisAsyncContext *ac, redisCallbackFn *fn,
			   void *priv, char *cmd, size_t len)
{
	struct rcl_node *nd = ac->data;
	struct pbx_redis_cluster *cl = nd->cl;
	struct rcl_req *q;
	const char *key;
	size_t klen;
	enum verb v = cmd_key(cmd, len, &key, &klen);
	int rc;

	if (v == V_SCRIPT) /* SCRIPT LOAD: every primary needs it */
		for (int i = 0; i < cl->n; i++)
			if (cl->node[i]->ac && cl->node[i] != nd)
				redisAsyncFormattedCommand(cl->node[i]->ac,
							   NULL, NULL, cmd,
							   len);
	if (key) {
		uint8_t i = cl->slot[pbx_redis_key_slot(key, klen)];

		nd = i == NO_NODE ? NULL : cl->node[i];
	}
	q = calloc(1, sizeof(*q));
	if (!q || !nd || !nd->ac) {
		free(q);
		free(cmd);
		return REDIS_ERR;
	}
	q->fn = fn;
	q->priv = priv;
	q->cmd = cmd;
	q->len = len;
	rc = req_send(q, nd, false);
	if (rc != REDIS_OK)
		req_free(q);
	return rc;
}

/* ---- Blocking: handles ------------------------------------------------ */

/* One blocking handle's nodes and map; used by one thread at a time
 * (its owner's), found by the handle under scl_lock. */
struct scl {
	redisContext *h;            /* the handle (a seed's connection) */
	struct pbx_redis_cred cred;
	int timeout_ms;
	int n;
	struct {
		char host[HOST_MAX];
		int port;
		redisContext *c;    /* NULL until used, or after an error */
	} node[NODES_MAX];
	uint8_t slot[SLOTS];
	int multi;                  /* -2: none, -1: MULTI not sent yet */
	int last;                   /* node of the last keyed command */
	struct scl *next;
};

static pthread_mutex_t scl_lock = PTHREAD_MUTEX_INITIALIZER;
static struct scl *scl_list;

static struct scl *scl_find(redisContext *c)
{
	struct scl *s;

	pthread_mutex_lock(&scl_lock);
	for (s = scl_list; s && s->h != c; s = s->next)
		;
	pthread_mutex_unlock(&scl_lock);
	return s;
}

static int scl_node(struct scl *s, const char *host, int port)
{
	for (int i = 0; i < s->n; i++)
		if (s->node[i].port == port && !strcmp(s->node[i].host, host))
			return i;
	if (s->n == NODES_MAX || strlen(host) >= HOST_MAX)
		return -1;
	snprintf(s->node[s->n].host, HOST_MAX, "%s", host);
	s->node[s->n].port = port;
	s->node[s->n].c = NULL;
	return s->n++;
}

static int scl_map(struct scl *s, const char *seed)
{
	redisReply *rr = redisCommand(s->h, "CLUSTER SLOTS");
	int err = 0;

	memset(s->slot, NO_NODE, sizeof(s->slot));
	if (!rr || rr->type != REDIS_REPLY_ARRAY || !rr->elements) {
		PLOG_ERR("redis cluster: CLUSTER SLOTS from %s: %s", seed,
			 rr && rr->type == REDIS_REPLY_ERROR ? rr->str
			 : rr				     ? "no map"
							     : s->h->errstr);
		err = -EAGAIN;
	} else {
		for (size_t i = 0; i < rr->elements; i++) {
			const char *host;
			long lo, hi;
			int port, idx;

			if (range_parse(rr->element[i], &lo, &hi, &host,
					&port))
				continue;
			idx = scl_node(s, host[0] ? host : s->h->tcp.host,
				       port);
			if (idx >= 0)
				memset(s->slot + lo, idx,
				       (size_t)(hi - lo + 1));
		}
	}
	if (rr)
		freeReplyObject(rr);
	return err;
}

redisContext *pbx_redis_cluster_connect(const char *host, int port,
					const struct pbx_redis_cred *cred,
					int timeout_ms, int *errp)
{
	struct scl *s;
	char seed[HOST_MAX + 8];

	*errp = pbx_redis_cluster_setup();
	if (*errp)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		*errp = -ENOMEM;
		return NULL;
	}
	for (int i = 0; !s->h && i < (seeds.n ? seeds.n : 1); i++) {
		const char *h = seeds.n ? seeds.s[i].host : host;
		int p = seeds.n ? seeds.s[i].port : port;

		snprintf(seed, sizeof(seed), "%s:%d", h, p);
		s->h = pbx_redis_connect_one(h, p, cred, timeout_ms, errp);
		if (s->h && scl_map(s, seed)) {
			redisFree(s->h);
			s->h = NULL;
			*errp = -EAGAIN;
		}
	}
	if (!s->h) {
		free(s);
		return NULL;
	}
	if (cred)
		s->cred = *cred;
	s->timeout_ms = timeout_ms;
	s->multi = -2;
	s->last = -1;
	pthread_mutex_lock(&scl_lock);
	s->next = scl_list;
	scl_list = s;
	pthread_mutex_unlock(&scl_lock);
	return s->h;
}

bool pbx_redis_cluster_handle(redisContext *c)
{
	return scl_find(c) != NULL;
}

void pbx_redis_cluster_close(redisContext *c)
{
	struct scl *s, **pp;

	pthread_mutex_lock(&scl_lock);
	for (pp = &scl_list; *pp && (*pp)->h != c; pp = &(*pp)->next)
		;
	s = *pp;
	if (s)
		*pp = s->next;
	pthread_mutex_unlock(&scl_lock);
	if (!s)
		return;
	for (int i = 0; i < s->n; i++)
		if (s->node[i].c)
			redisFree(s->node[i].c);
	memset(&s->cred, 0, sizeof(s->cred));
	free(s);
}

/* A reply made here (MULTI before its node is known): +OK. */
static void *canned(const char *text)
{
	redisReader *rd = redisReaderCreate();
	void *reply = NULL;

	if (!rd)
		return NULL;
	if (redisReaderFeed(rd, text, strlen(text)) != REDIS_OK ||
	    redisReaderGetReply(rd, &reply) != REDIS_OK)
		reply = NULL;
	redisReaderFree(rd);
	return reply;
}

/* One command to node i (connected on first use). NULL: the node's
 * error is copied into the handle, whose owner reconnects. */
static redisReply *scl_send(struct scl *s, int i, bool asking,
			    const char *cmd, size_t len)
{
	redisContext *c;
	void *reply = NULL;
	int err;

	if (!s->node[i].c) {
		s->node[i].c = pbx_redis_connect_one(s->node[i].host,
						     s->node[i].port,
						     &s->cred, s->timeout_ms,
						     &err);
		if (!s->node[i].c) {
			s->h->err = REDIS_ERR_IO;
			snprintf(s->h->errstr, sizeof(s->h->errstr),
				 "cluster node %s:%d unreachable",
				 s->node[i].host, s->node[i].port);
			return NULL;
		}
	}
	c = s->node[i].c;
	if ((asking && redisAppendCommand(c, "ASKING") != REDIS_OK) ||
	    redisAppendFormattedCommand(c, cmd, len) != REDIS_OK)
		goto fail;
	if (asking) {
		if (redisGetReply(c, &reply) != REDIS_OK)
			goto fail;
		freeReplyObject(reply);
		reply = NULL;
	}
	if (redisGetReply(c, &reply) == REDIS_OK)
		return reply;
fail:
	s->h->err = c->err ? c->err : REDIS_ERR_OTHER;
	/* The node's own message; which node is in the log. */
	memcpy(s->h->errstr, c->errstr, sizeof(s->h->errstr));
	PLOG_WARN("redis cluster node %s:%d: %s", s->node[i].host,
		  s->node[i].port, c->errstr);
	redisFree(c);
	s->node[i].c = NULL;
	return NULL;
}

void *pbx_redis_cluster_cmd(redisContext *hc, const char *cmd, size_t len)
{
	struct scl *s = scl_find(hc);
	const char *key;
	size_t klen;
	enum verb v = cmd_key(cmd, len, &key, &klen);
	redisReply *rr;
	char host[HOST_MAX];
	unsigned slot;
	bool ask = false;
	int i, port;

	if (!s)
		return NULL;
	if (v == V_MULTI) { /* sent with the first keyed command */
		s->multi = -1;
		return canned("+OK\r\n");
	}
	if (v == V_EXEC && s->multi == -1) {
		s->multi = -2;
		return canned("*0\r\n");
	}
	if (v == V_EXEC) {
		i = s->multi;
		s->multi = -2;
		return scl_send(s, i, false, cmd, len);
	}
	if (!key) {
		/* WAIT asks the node the last write went to. */
		if (v == V_WAIT && s->last >= 0)
			return scl_send(s, s->last, false, cmd, len);
		if (redisAppendFormattedCommand(s->h, cmd, len) != REDIS_OK ||
		    redisGetReply(s->h, (void **)&rr) != REDIS_OK)
			return NULL;
		return rr;
	}
	slot = pbx_redis_key_slot(key, klen);
	i = s->slot[slot];
	if (i == NO_NODE)
		i = 0; /* not in the map: its MOVED tells */
	if (s->multi >= 0) {
		i = s->multi; /* a transaction stays on its node */
	} else if (s->multi == -1) {
		rr = scl_send(s, i, false, "*1\r\n$5\r\nMULTI\r\n", 15);
		if (!rr)
			return NULL;
		freeReplyObject(rr);
		s->multi = i;
	}
	for (int tries = 0;; tries++) {
		rr = scl_send(s, i, ask, cmd, len);
		if (!rr)
			return NULL;
		s->last = i;
		if (rr->type != REDIS_REPLY_ERROR || tries == TRIES)
			return rr;
		if (!strncmp(rr->str, "TRYAGAIN", 8) && s->multi == -2) {
			struct timespec ts = {0, TRYAGAIN_MS * 1000000L};

			nanosleep(&ts, NULL);
			ask = false;
		} else if ((ask = !strncmp(rr->str, "ASK ", 4)) ||
			   !strncmp(rr->str, "MOVED ", 6)) {
			int to;

			if (redirect_parse(rr->str, &slot, host, &port) ||
			    (to = scl_node(s, host, port)) < 0)
				return rr;
			if (!ask)
				s->slot[slot] = (uint8_t)to;
			/* Inside MULTI the error queues into EXEC's
			 * abort: the caller repeats the transaction, on
			 * the right node now. */
			if (s->multi >= 0)
				return rr;
			i = to;
		} else {
			return rr;
		}
		freeReplyObject(rr);
	}
}
