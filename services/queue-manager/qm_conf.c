/* Tenant queue configuration: the tenant's queue objects compiled by the
 * scenario library, one per tenant at its objects revision. The cache
 * holds one reference per tenant; each command holds its own. */
#include <errno.h>
#include <hiredis/async.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_log.h"
#include "qm.h"
#include "qm_conf.h"

#define CONF_BUCKETS 256
#define QUEUE_PREFIX "queue:"

/* Owner: the cache entry and every command holding a reference. */
struct qm_conf {
	unsigned refs;
	long long rev;
	struct scenario_objects *objs;
	char **queues; /* names of the queue objects */
	size_t nqueues;
};

struct conf_entry {
	char tenant[PBX_ID_MAX + 1];
	struct qm_conf *conf;
	struct conf_entry *next;
};

struct qm_confs {
	struct conf_entry *bucket[CONF_BUCKETS];
};

/* One qm_conf_get in flight. */
struct conf_get {
	struct qm *qm;
	char tenant[PBX_ID_MAX + 1];
	long long rev;
	qm_conf_h *h;
	void *arg;
};

static unsigned tenant_hash(const char *t)
{
	unsigned h = 2166136261u;

	for (; *t; t++)
		h = (h ^ (unsigned char)*t) * 16777619u;
	return h % CONF_BUCKETS;
}

int qm_confs_alloc(struct qm_confs **cp)
{
	struct qm_confs *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	*cp = c;
	return 0;
}

void qm_confs_free(struct qm_confs *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < CONF_BUCKETS; i++) {
		struct conf_entry *e = c->bucket[i], *next;

		for (; e; e = next) {
			next = e->next;
			qm_conf_drop(e->conf);
			free(e);
		}
	}
	free(c);
}

struct qm_conf *qm_conf_ref(struct qm_conf *conf)
{
	conf->refs++;
	return conf;
}

void qm_conf_drop(struct qm_conf *conf)
{
	if (!conf || --conf->refs)
		return;
	for (size_t i = 0; i < conf->nqueues; i++)
		free(conf->queues[i]);
	free(conf->queues);
	scenario_objects_free(conf->objs);
	free(conf);
}

static struct conf_entry *entry_find(struct qm_confs *c, const char *tenant)
{
	struct conf_entry *e = c->bucket[tenant_hash(tenant)];

	for (; e; e = e->next) {
		if (!strcmp(e->tenant, tenant))
			return e;
	}
	return NULL;
}

/* Makes conf the cached one for the tenant (the cache takes a
 * reference). */
static void entry_set(struct qm_confs *c, const char *tenant,
		      struct qm_conf *conf)
{
	struct conf_entry *e = entry_find(c, tenant);

	if (!e) {
		unsigned b = tenant_hash(tenant);

		e = calloc(1, sizeof(*e));
		if (!e)
			return; /* not cached: read again next time */
		snprintf(e->tenant, sizeof(e->tenant), "%s", tenant);
		e->next = c->bucket[b];
		c->bucket[b] = e;
	}
	qm_conf_drop(e->conf);
	e->conf = qm_conf_ref(conf);
}

/* Compiles the queue objects among the fields of pbx:{t}:objects. An
 * object the library refuses (stored by an older release) is left out,
 * logged: its callers wait for their max wait. */
static struct qm_conf *conf_build(const redisReply *rr, long long rev)
{
	struct qm_conf *conf = calloc(1, sizeof(*conf));
	size_t plen = strlen(QUEUE_PREFIX);

	if (!conf || scenario_objects_alloc(&conf->objs))
		goto fail;
	conf->refs = 1;
	conf->rev = rev;
	conf->queues = calloc(rr->elements / 2 + 1, sizeof(*conf->queues));
	if (!conf->queues)
		goto fail;
	for (size_t i = 0; i + 1 < rr->elements; i += 2) {
		const char *field = rr->element[i]->str;
		struct scenario_report rep;
		int err;

		if (!field || strncmp(field, QUEUE_PREFIX, plen) ||
		    !rr->element[i + 1]->str)
			continue;
		err = scenario_objects_add(conf->objs, "queue", field + plen,
					   rr->element[i + 1]->str, &rep);
		if (err == -ENOMEM)
			goto fail;
		if (err) {
			PLOG_ERR("queue %s is not usable: %s", field + plen,
				 rep.text);
			continue;
		}
		conf->queues[conf->nqueues] = strdup(field + plen);
		if (!conf->queues[conf->nqueues])
			goto fail;
		conf->nqueues++;
	}
	return conf;
fail:
	if (conf && !conf->refs)
		conf->refs = 1;
	qm_conf_drop(conf);
	return NULL;
}

static void finish(struct conf_get *g, struct qm_conf *conf)
{
	g->h(g->qm, conf, g->arg);
	free(g);
}

static void objects_cb(redisAsyncContext *ac, void *reply, void *arg)
{
	struct conf_get *g = arg;
	redisReply *rr = reply;
	struct qm_conf *conf = NULL;

	if (ac->data && rr && rr->type == REDIS_REPLY_ARRAY) {
		conf = conf_build(rr, g->rev);
		if (conf)
			entry_set(g->qm->confs, g->tenant, conf);
	} else if (ac->data) {
		pbx_log_ctx(g->tenant, NULL);
		PLOG_ERR("cannot read the queue objects: %s",
			 rr && rr->type == REDIS_REPLY_ERROR ? rr->str
							     : "no reply");
	}
	finish(g, conf);
}

static void rev_cb(redisAsyncContext *ac, void *reply, void *arg)
{
	struct conf_get *g = arg;
	redisReply *rr = reply;
	struct conf_entry *e;
	char key[PBX_KEY_MAX];

	if (!ac->data || !rr || rr->type == REDIS_REPLY_ERROR) {
		if (ac->data) {
			pbx_log_ctx(g->tenant, NULL);
			PLOG_ERR("cannot read the objects revision: %s",
				 rr ? rr->str : "no reply");
		}
		finish(g, NULL);
		return;
	}
	g->rev = rr->type == REDIS_REPLY_STRING ? atoll(rr->str) : 0;
	e = entry_find(g->qm->confs, g->tenant);
	if (e && e->conf->rev == g->rev) {
		finish(g, qm_conf_ref(e->conf));
		return;
	}
	if (pbx_key_of(key, sizeof(key), g->tenant, PBX_K_OBJECTS) ||
	    pbx_redis_acmd(ac, objects_cb, g, "HGETALL %s", key) !=
		    REDIS_OK)
		finish(g, NULL);
}

int qm_conf_get(struct qm *qm, const char *tenant, qm_conf_h *h, void *arg)
{
	redisAsyncContext *ac = pbx_redis_ctx(qm->redis);
	struct conf_get *g;
	char key[PBX_KEY_MAX];

	if (!ac)
		return -ENOTCONN;
	if (pbx_key_of(key, sizeof(key), tenant, PBX_K_OBJECTS_REV))
		return -EINVAL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->qm = qm;
	g->h = h;
	g->arg = arg;
	snprintf(g->tenant, sizeof(g->tenant), "%s", tenant);
	if (pbx_redis_acmd(ac, rev_cb, g, "GET %s", key) != REDIS_OK) {
		free(g);
		return -ENOTCONN;
	}
	return 0;
}

int qm_conf_queue(const struct qm_conf *conf, const char *name,
		  struct scenario_queue *q)
{
	return scenario_objects_queue(conf->objs, name, q);
}

size_t qm_conf_agent_queues(const struct qm_conf *conf, const char *agent,
			    const char **names, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < conf->nqueues; i++) {
		struct scenario_queue q;

		if (qm_conf_queue(conf, conf->queues[i], &q))
			continue;
		for (size_t j = 0; j < q.nagents; j++) {
			if (strcmp(q.agents[j], agent))
				continue;
			if (n < max)
				names[n] = conf->queues[i];
			n++;
			break;
		}
	}
	return n;
}
