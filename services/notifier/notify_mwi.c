/* MWI (notify_mwi.h): libre's SIP stack and sipevent notifier on their
 * own thread and loop. Subscriptions live only here, in memory: a phone
 * refreshes its subscription (at most every mwi_expires_max seconds), so
 * after a notifier restart every phone is back within that time, and a
 * SUBSCRIBE always starts with a NOTIFY of the current counts. */
#include <errno.h>
#include <pthread.h>
#include <re.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notifier.h"
#include "notify_mwi.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "pbx_redis.h"

#define CTYPE "application/simple-message-summary"
#define BOX_MAX 1000 /* messages counted per box */

enum { MQ_CHANGED, MQ_QUIT };

struct notify_mwi {
	const struct notifier_conf *conf;
	pthread_t thread;
	bool started;
	/* Set up by the thread, then used only there (but mq, which any
	 * thread may push to). */
	struct sip *sip;
	struct sipevent_sock *sock;
	struct mqueue *mq;
	struct list subs;
	redisContext *rc;
	struct sa edge;
	/* Start-up handshake. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool ready;
	int err;
};

/* One phone's subscription; owned by the list, freed on close. */
struct sub {
	struct le le;
	struct notify_mwi *m;
	struct sipnot *not;
	char tenant[PBX_ID_MAX + 1];
	char box[PBX_ID_MAX + 1];
	char account[160];
};

/* A change, pushed from the notifier's thread. */
struct change {
	char tenant[PBX_ID_MAX + 1];
	char box[PBX_ID_MAX + 1];
};

static void sub_destructor(void *arg)
{
	struct sub *s = arg;

	list_unlink(&s->le);
	mem_deref(s->not);
}

/* New and heard messages of the box: its ids, then each one's status. */
static int count(struct notify_mwi *m, const char *tenant, const char *box,
		 unsigned *nnew, unsigned *nold)
{
	const struct notifier_conf *c = m->conf;
	char bkey[PBX_KEY_MAX], mkey[PBX_KEY_MAX];
	redisReply *ids, *st;
	int err = 0;

	*nnew = *nold = 0;
	if (pbx_key_sub_of(bkey, sizeof(bkey), tenant, PBX_K_VM_BOX, box))
		return -EINVAL;
	if (!m->rc)
		m->rc = pbx_redis_connect(c->redis.host, (int)c->redis.port,
					  &c->redis.cred, 1000);
	if (!m->rc)
		return -EIO;
	ids = pbx_redis_cmd(m->rc, "ZRANGE %s 0 %d", bkey, BOX_MAX - 1);
	if (!ids || ids->type != REDIS_REPLY_ARRAY) {
		err = -EIO;
		goto out;
	}
	for (size_t i = 0; i < ids->elements && !err; i++) {
		if (pbx_key_sub_of(mkey, sizeof(mkey), tenant, PBX_K_VM_MSG,
				   ids->element[i]->str))
			continue;
		st = pbx_redis_cmd(m->rc, "HGET %s status", mkey);
		if (!st) {
			err = -EIO;
			break;
		}
		if (st->type == REDIS_REPLY_STRING && !strcmp(st->str, "new"))
			(*nnew)++;
		else if (st->type == REDIS_REPLY_STRING)
			(*nold)++;
		freeReplyObject(st);
	}
out:
	if (ids)
		freeReplyObject(ids);
	if (err == -EIO || !ids) {
		PLOG_WARN("mwi: redis: %s", m->rc->errstr[0] ? m->rc->errstr
							      : "bad reply");
		pbx_redis_close(m->rc);
		m->rc = NULL;
		err = -EIO;
	}
	return err;
}

static void notify_sub(struct sub *s, unsigned nnew, unsigned nold)
{
	char body[256];
	struct mbuf *mb;
	int err;

	pbx_log_ctx(s->tenant, NULL);
	if (notify_mwi_body(body, sizeof(body), nnew, nold, s->account))
		return;
	mb = mbuf_alloc(sizeof(body));
	if (!mb)
		return;
	mbuf_write_str(mb, body);
	mb->pos = 0;
	err = sipevent_notify(s->not, mb, SIPEVENT_ACTIVE, 0, 0);
	mem_deref(mb);
	if (err)
		PLOG_WARN("mwi: NOTIFY to %s/%s: %s", s->tenant, s->box,
			  strerror(err));
	else
		PLOG_INFO("mwi: %s/%s: %u new, %u old", s->tenant, s->box,
			  nnew, nold);
}

static void on_close(int err, const struct sip_msg *msg, void *arg)
{
	struct sub *s = arg;

	(void)msg;
	PLOG_INFO("mwi: subscription of %s/%s ended (%s)", s->tenant, s->box,
		  err ? strerror(err) : "expired or unsubscribed");
	mem_deref(s);
}

/* A header's value into buf, or "" when absent or too long. */
static void xhdr(const struct sip_msg *msg, const char *name, char *buf,
		 size_t size)
{
	const struct sip_hdr *h = sip_msg_xhdr(msg, name);

	buf[0] = '\0';
	if (h && h->val.l < size)
		pl_strcpy(&h->val, buf, size);
}

/* A new SUBSCRIBE (outside any dialog): only Kamailio's, only for
 * message-summary, only with the extension it authenticated. */
static bool on_subscribe(const struct sip_msg *msg, void *arg)
{
	struct notify_mwi *m = arg;
	const struct sip_hdr *ev = sip_msg_hdr(msg, SIP_HDR_EVENT);
	struct sipevent_event se;
	char tenant[PBX_ID_MAX + 1], ext[PBX_ID_MAX + 1];
	unsigned nnew, nold;
	struct sub *s;
	int err;

	if (!sa_cmp(&msg->src, &m->edge, SA_ADDR)) {
		(void)sip_reply(m->sip, msg, 403, "Forbidden");
		return true;
	}
	if (!ev || sipevent_event_decode(&se, &ev->val) ||
	    pl_strcasecmp(&se.event, "message-summary")) {
		(void)sip_reply(m->sip, msg, 489, "Bad Event");
		return true;
	}
	xhdr(msg, "X-Pbx-Tenant", tenant, sizeof(tenant));
	xhdr(msg, "X-Pbx-Ext", ext, sizeof(ext));
	if (!pbx_tenant_valid(tenant) || !pbx_id_valid(ext)) {
		PLOG_WARN("mwi: SUBSCRIBE without a valid tenant / "
			  "extension: 403");
		(void)sip_reply(m->sip, msg, 403, "Forbidden");
		return true;
	}
	s = mem_zalloc(sizeof(*s), sub_destructor);
	if (!s) {
		(void)sip_reply(m->sip, msg, 500, "Out of memory");
		return true;
	}
	s->m = m;
	pbx_log_ctx(tenant, NULL);
	snprintf(s->tenant, sizeof(s->tenant), "%s", tenant);
	snprintf(s->box, sizeof(s->box), "%s", ext);
	re_snprintf(s->account, sizeof(s->account), "sip:%s@%r", ext,
		    &msg->to.uri.host);
	err = sipevent_accept(&s->not, m->sock, msg, NULL, &se, 200, "OK", 60,
			      600, (uint32_t)m->conf->mwi_expires_max, "mwi",
			      CTYPE, NULL, NULL, false, on_close, s, NULL);
	if (err) {
		PLOG_WARN("mwi: cannot accept a SUBSCRIBE: %s", strerror(err));
		mem_deref(s);
		(void)sip_reply(m->sip, msg, 500, "Server Error");
		return true;
	}
	list_append(&m->subs, &s->le, s);
	PLOG_INFO("mwi: extension %s subscribed to its box", ext);
	if (!count(m, tenant, ext, &nnew, &nold))
		notify_sub(s, nnew, nold);
	else
		notify_sub(s, 0, 0);
	return true;
}

static void on_mq(int id, void *data, void *arg)
{
	struct notify_mwi *m = arg;
	struct change *c = data;
	unsigned nnew, nold;
	bool counted = false;
	struct le *le;

	if (id == MQ_QUIT) {
		re_cancel();
		return;
	}
	for (le = m->subs.head; le; le = le->next) {
		struct sub *s = le->data;

		if (strcmp(s->tenant, c->tenant) || strcmp(s->box, c->box))
			continue;
		if (!counted && count(m, c->tenant, c->box, &nnew, &nold))
			break;
		counted = true;
		notify_sub(s, nnew, nold);
	}
	free(c);
}

static int setup(struct notify_mwi *m)
{
	const struct notifier_conf *c = m->conf;
	struct sa laddr;
	int err;

	err = sa_decode(&laddr, c->mwi_listen, strlen(c->mwi_listen));
	if (!err)
		err = sa_set_str(&m->edge, c->mwi_edge_ip, 0);
	if (err)
		return EINVAL;
	err = sip_alloc(&m->sip, NULL, 16, 16, 16, "pbx-notifier", NULL, NULL);
	if (!err)
		err = sip_transp_add(m->sip, SIP_TRANSP_UDP, &laddr);
	if (!err)
		err = sipevent_listen(&m->sock, m->sip, 64, 64, on_subscribe,
				      m);
	if (!err)
		err = mqueue_alloc(&m->mq, on_mq, m);
	return err;
}

static void teardown(struct notify_mwi *m)
{
	list_flush(&m->subs);
	m->sock = mem_deref(m->sock);
	if (m->sip)
		sip_close(m->sip, true);
	m->sip = mem_deref(m->sip);
	m->mq = mem_deref(m->mq);
	if (m->rc)
		pbx_redis_close(m->rc);
	m->rc = NULL;
}

static void *thread_main(void *arg)
{
	struct notify_mwi *m = arg;
	int err;

	err = re_thread_init();
	if (!err)
		err = setup(m);
	pthread_mutex_lock(&m->lock);
	m->ready = true;
	m->err = err;
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->lock);
	if (!err)
		(void)re_main(NULL);
	teardown(m);
	re_thread_close();
	return NULL;
}

int notify_mwi_alloc(struct notify_mwi **mp, const struct notifier_conf *conf)
{
	struct notify_mwi *m = calloc(1, sizeof(*m));
	int err;

	if (!m)
		return -ENOMEM;
	m->conf = conf;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	err = pthread_create(&m->thread, NULL, thread_main, m);
	if (err) {
		notify_mwi_free(m);
		return -err;
	}
	m->started = true;
	pthread_mutex_lock(&m->lock);
	while (!m->ready)
		pthread_cond_wait(&m->cond, &m->lock);
	err = m->err;
	pthread_mutex_unlock(&m->lock);
	if (err) {
		PLOG_ERR("mwi: cannot listen on %s: %s", conf->mwi_listen,
			 strerror(err));
		notify_mwi_free(m);
		return -err;
	}
	PLOG_INFO("mwi: SIP on %s, SUBSCRIBEs from %s", conf->mwi_listen,
		  conf->mwi_edge_ip);
	*mp = m;
	return 0;
}

void notify_mwi_free(struct notify_mwi *m)
{
	if (!m)
		return;
	if (m->started) {
		if (m->mq && !m->err)
			(void)mqueue_push(m->mq, MQ_QUIT, NULL);
		pthread_join(m->thread, NULL);
	}
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void notify_mwi_changed(struct notify_mwi *m, const char *tenant,
			const char *box)
{
	struct change *c;

	if (!m)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	snprintf(c->tenant, sizeof(c->tenant), "%s", tenant);
	snprintf(c->box, sizeof(c->box), "%s", box);
	if (mqueue_push(m->mq, MQ_CHANGED, c))
		free(c);
}
