/* Call detail records: while a call lives its record (pbx:{t}:call:<id>)
 * carries what its CDR will say (t0 tans tbr who ring outc, and tr: the
 * hops every walk step visited, the same hops the simulator prints); when
 * the call ends (route_media.c, route_reap.c) or is refused at once
 * (route_call.c) one entry goes to the tenant's stream pbx:{t}:cdr (in
 * batches: one pipeline every few milliseconds),
 * trimmed by count and age, and, when the tenant has a webhook and asked
 * for call records on it, one notification job of kind "cdr" (the
 * notifier posts the entry). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "pbx_notify.h"
#include "pbx_redis.h"
#include "route_ctx.h"
#include "router.h"
#include "scenario.h"

/* The record's fields in the call hash and where they live in c. */
void route_cdr_save_args(struct route_ctx *c, const char **argv, size_t *n,
			 char bufs[3][24])
{
	snprintf(bufs[0], 24, "%" PRIu64, c->t0);
	snprintf(bufs[1], 24, "%" PRIu64, c->tans);
	snprintf(bufs[2], 24, "%" PRIu64, c->tbr);
	argv[(*n)++] = "t0";
	argv[(*n)++] = bufs[0];
	argv[(*n)++] = "tans";
	argv[(*n)++] = bufs[1];
	argv[(*n)++] = "tbr";
	argv[(*n)++] = bufs[2];
	argv[(*n)++] = "who";
	argv[(*n)++] = c->who;
	argv[(*n)++] = "ring";
	argv[(*n)++] = c->ring;
	argv[(*n)++] = "outc";
	argv[(*n)++] = c->outc;
	argv[(*n)++] = "tr";
	argv[(*n)++] = c->trace;
	argv[(*n)++] = "trn";
	argv[(*n)++] = c->trace_cut ? "1" : "0";
}


static uint64_t hnum(const redisReply *rr, const char *name)
{
	const char *v = route_field(rr, name);

	return v ? strtoull(v, NULL, 10) : 0;
}

#define HSTR(dst, rr, name)                                                    \
	snprintf(dst, sizeof(dst), "%s",                                       \
		 route_field(rr, name) ? route_field(rr, name) : "")

void route_cdr_load(struct route_ctx *c, const struct redisReply *rr)
{
	c->t0 = hnum(rr, "t0");
	c->tans = hnum(rr, "tans");
	c->tbr = hnum(rr, "tbr");
	HSTR(c->who, rr, "who");
	HSTR(c->ring, rr, "ring");
	HSTR(c->outc, rr, "outc");
	HSTR(c->trace, rr, "tr");
	c->trace_cut = hnum(rr, "trn") == 1;
}

/* A transfer of the call (route_xfer.c: the hash's "xf", "xfr") as the
 * last hop of the path: TRANSFER, node "transfer", the transferor as its
 * type, the target, the result. */
static void trace_transfer(struct pbx_cdr *cdr, const redisReply *rr)
{
	const char *xf = route_field(rr, "xf"), *xfr = route_field(rr, "xfr");
	unsigned long long at = 0, at2 = 0;
	char by[65], to[65], res[32] = "pending";

	if (!xf || sscanf(xf, "%llu %64s %64s", &at, by, to) != 3)
		return;
	if (xfr && sscanf(xfr, "%llu %31s", &at2, res) != 2)
		snprintf(res, sizeof(res), "pending");
	pbx_cdr_trace_add(cdr->trace, sizeof(cdr->trace), &cdr->truncated,
			  (int64_t)(at - cdr->start_ms), "TRANSFER", "transfer",
			  by, to, res);
}

void route_cdr_from_record(struct pbx_cdr *cdr, const struct redisReply *rr)
{
	const char *v;

	cdr->start_ms = hnum(rr, "t0");
	cdr->answer_ms = hnum(rr, "tans");
	cdr->bridge_ms = hnum(rr, "tbr");
	HSTR(cdr->number, rr, "dialed");
	HSTR(cdr->caller, rr, "caller");
	HSTR(cdr->worker, rr, "worker");
	HSTR(cdr->answered_by, rr, "who");
	HSTR(cdr->scenario, rr, "scenario");
	HSTR(cdr->outcome, rr, "outc");
	HSTR(cdr->ring, rr, "ring");
	HSTR(cdr->reason, rr, "ereason");
	cdr->version = (long)hnum(rr, "version");
	cdr->sip_code = (unsigned)hnum(rr, "ecode");
	if (cdr->sip_code > 699)
		cdr->sip_code = 0;
	v = route_field(rr, "tr");
	/* Through pbx_cdr_set: control characters out, cut at the bound. */
	pbx_cdr_set(cdr, "trace", v ? v : "");
	cdr->truncated = hnum(rr, "trn") == 1;
	trace_transfer(cdr, rr);
}

void route_cdr_before_step(struct route_ctx *c)
{
	uint64_t now = pbx_clock_now_ms();
	const char *agent;

	switch (c->kind) {
	case PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED:
		if (!c->tans)
			c->tans = now;
		break;
	case PBX__V1__MEDIA_EVENT__KIND__KIND_RING_RESULT:
		if (c->ring_result ==
		    PBX__V1__MEDIA_EVENT__RING_RESULT__RING_ANSWERED) {
			/* A queue's agent leg "<offer>:<agent>", else the
			 * walk's one ring (its target). */
			agent = strrchr(c->q_leg, ':');
			snprintf(c->who, sizeof(c->who), "%s",
				 c->q_leg[0]	   ? (agent ? agent + 1 : c->q_leg)
				 : c->picked_by[0] ? c->picked_by
						   : c->st.target);
			c->tbr = now;
			c->ring[0] = '\0';
		} else if (!c->q_leg[0]) {
			snprintf(c->ring, sizeof(c->ring), "%s",
				 c->ring_result ==
						 PBX__V1__MEDIA_EVENT__RING_RESULT__RING_NO_ANSWER
					 ? "no_answer"
				 : c->ring_result ==
						 PBX__V1__MEDIA_EVENT__RING_RESULT__RING_BUSY
					 ? "busy"
					 : "unavailable");
		}
		break;
	default:
		break;
	}
}

void route_cdr_after_step(struct route_ctx *c, const struct walk_event *ev)
{
	int64_t at = (int64_t)(pbx_clock_now_ms() - c->t0);

	if (!c->t0)
		at = 0;
	for (size_t i = 0; i < c->out.nhops; i++) {
		const struct walk_hop *h = &c->out.hop[i];

		pbx_cdr_trace_add(c->trace, sizeof(c->trace), &c->trace_cut,
				  at, scenario_walk_event_name(ev->kind),
				  h->node, scenario_type_name(h->type),
				  h->what, h->output);
	}
	if (c->out.ended && c->out.outcome)
		snprintf(c->outc, sizeof(c->outc), "%s", c->out.outcome);
}

void route_cdr_rejected(struct route_ctx *c, unsigned code,
			const char *reason)
{
	struct pbx_cdr *cdr;

	/* No tenant (an unknown number), or a second INVITE of a call
	 * that has its own record: nothing to record. */
	if (!pbx_tenant_valid(c->tenant) || code == 482)
		return;
	cdr = calloc(1, sizeof(*cdr));
	if (!cdr) {
		PLOG_ERR("out of memory for a call record");
		return;
	}
	snprintf(cdr->tenant, sizeof(cdr->tenant), "%s", c->tenant);
	snprintf(cdr->call_id, sizeof(cdr->call_id), "%s", c->call_id);
	snprintf(cdr->number, sizeof(cdr->number), "%s", c->number);
	snprintf(cdr->caller, sizeof(cdr->caller), "%s", c->caller);
	snprintf(cdr->scenario, sizeof(cdr->scenario), "%s", c->scen);
	snprintf(cdr->reason, sizeof(cdr->reason), "%s",
		 reason ? reason : "");
	cdr->version = c->version;
	cdr->sip_code = code;
	cdr->end = PBX_CDR_END_REJECT;
	cdr->start_ms = c->t0;
	for (size_t i = 0; i < c->out.nhops; i++) {
		const struct walk_hop *h = &c->out.hop[i];

		pbx_cdr_trace_add(cdr->trace, sizeof(cdr->trace),
				  &cdr->truncated, 0, "START", h->node,
				  scenario_type_name(h->type), h->what,
				  h->output);
	}
	if (c->out.ended && c->out.outcome)
		snprintf(cdr->outcome, sizeof(cdr->outcome), "%s",
			 c->out.outcome);
	route_cdr_write(c->r, cdr);
	free(cdr);
}

/* Records are written in batches: every record of the next
 * CDR_FLUSH_MS (or CDR_BATCH_MAX of them) goes to Redis in one pipeline.
 * Redis fsyncs its append-only file once per event-loop pass that wrote
 * (appendfsync always), so one XADD per call cost every rejected call an
 * fsync of its own (B1 fell from 2000 to 1500 calls/s, docs/performance.md);
 * a batch shares one. A record waits at most CDR_FLUSH_MS; the router's
 * shutdown flushes what is waiting. */
#define CDR_FLUSH_MS 10
#define CDR_BATCH_MAX 256

/* One record being stored: its XADD (formatted, waiting for the flush),
 * then the stream's answer (the id), then the notify hash's (the webhook),
 * in that order on one connection; the second callback frees it. */
struct cdr_job {
	struct cdr_job *next; /* in the batch */
	char tenant[PBX_ID_MAX + 1];
	char call_id[256];
	char *cmd; /* the XADD, redisFormatCommandArgv */
	long long len;
	char id[PBX_CDR_ID_MAX]; /* "" until stored */
	bool alone; /* the webhook read could not be queued: added frees */
};

struct route_cdr_batch {
	struct event *timer;
	struct cdr_job *head, **tail;
	unsigned n;
};

static void job_free(struct cdr_job *j)
{
	if (j->cmd)
		redisFreeCommand(j->cmd);
	free(j);
}

static void added(redisAsyncContext *ac, void *reply, void *arg)
{
	struct cdr_job *j = arg;
	redisReply *rr = reply;

	(void)ac;
	pbx_log_ctx(j->tenant, j->call_id);
	if (!rr || rr->type != REDIS_REPLY_STRING) {
		PLOG_ERR("call record not stored: %s",
			 rr && rr->type == REDIS_REPLY_ERROR ? rr->str
							     : "no reply");
	} else {
		snprintf(j->id, sizeof(j->id), "%s", rr->str);
		PLOG_DEBUG("call record %s stored", j->id);
	}
	if (j->alone)
		job_free(j);
}

static void hooked(redisAsyncContext *ac, void *reply, void *arg)
{
	struct cdr_job *j = arg;
	redisReply *rr = reply;
	char key[PBX_KEY_MAX];

	if (j->id[0] && rr && rr->type == REDIS_REPLY_ARRAY &&
	    rr->elements == 2 && rr->element[0]->type == REDIS_REPLY_STRING &&
	    rr->element[0]->str[0] &&
	    rr->element[1]->type == REDIS_REPLY_STRING &&
	    !strcmp(rr->element[1]->str, "1") &&
	    !pbx_key_sys_of(key, sizeof(key), PBX_KS_NOTIFY_JOBS))
		pbx_redis_acmd(ac, NULL, NULL, PBX_NOTIFY_XADD, key,
				  PBX_NOTIFY_KIND_CDR, j->tenant, "cdr", j->id);
	job_free(j);
}

/* Whether an earlier job of the batch (before j) has j's tenant. */
static bool tenant_seen(const struct route_cdr_batch *b,
			const struct cdr_job *j)
{
	for (const struct cdr_job *o = b->head; o != j; o = o->next)
		if (!strcmp(o->tenant, j->tenant))
			return true;
	return false;
}

/* The batch to Redis: every XADD with its webhook read, then one age trim
 * per tenant in the batch (XTRIM MINID ~ trims whole nodes: usually
 * nothing, then nothing is written). */
void route_cdr_flush(struct router *r)
{
	struct route_cdr_batch *b = r->cdrs;
	redisAsyncContext *ac = pbx_redis_ctx(r->redis);
	long age = r->cfg->cdr_max_age_s > 0 ? r->cfg->cdr_max_age_s
					     : PBX_CDR_MAX_AGE_S_DEFAULT;
	uint64_t now = pbx_clock_now_ms();
	char key[PBX_KEY_MAX], hook[PBX_KEY_MAX], minid[32];
	struct cdr_job *j, *next;

	if (!b || !b->head)
		return;
	evtimer_del(b->timer);
	snprintf(minid, sizeof(minid), "%" PRIu64,
		 now > (uint64_t)age * 1000 ? now - (uint64_t)age * 1000 : 0);
	for (j = b->head; j; j = j->next) {
		if (!ac || pbx_key_of(key, sizeof(key), j->tenant, PBX_K_CDR) ||
		    tenant_seen(b, j))
			continue;
		pbx_redis_acmd(ac, NULL, NULL, "XTRIM %s MINID ~ %s", key,
				  minid);
	}
	for (j = b->head; j; j = next) {
		next = j->next;
		pbx_log_ctx(j->tenant, j->call_id);
		if (!ac ||
		    pbx_key_of(hook, sizeof(hook), j->tenant, PBX_K_NOTIFY) ||
		    pbx_redis_acmd_formatted(ac, added, j, j->cmd,
					       (size_t)j->len) != REDIS_OK) {
			PLOG_ERR("call record not stored: redis unavailable");
			job_free(j);
			continue;
		}
		redisFreeCommand(j->cmd);
		j->cmd = NULL;
		/* Queued: added runs (with no reply if the connection
		 * drops). */
		if (pbx_redis_acmd(ac, hooked, j, "HMGET %s webhook_url cdr",
				      hook) != REDIS_OK)
			j->alone = true;
	}
	b->head = NULL;
	b->tail = &b->head;
	b->n = 0;
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	route_cdr_flush(arg);
}

int route_cdr_batch_alloc(struct router *r)
{
	struct route_cdr_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	b->tail = &b->head;
	b->timer = evtimer_new(r->base, flush_cb, r);
	if (!b->timer) {
		free(b);
		return -ENOMEM;
	}
	r->cdrs = b;
	return 0;
}

void route_cdr_batch_free(struct router *r)
{
	struct route_cdr_batch *b = r->cdrs;
	struct cdr_job *j, *next;

	if (!b)
		return;
	for (j = b->head; j; j = next) {
		next = j->next;
		pbx_log_ctx(j->tenant, j->call_id);
		PLOG_ERR("call record not stored: router stopping");
		job_free(j);
	}
	event_free(b->timer);
	free(b);
	r->cdrs = NULL;
}

void route_cdr_write(struct router *r, struct pbx_cdr *cdr)
{
	struct route_cdr_batch *b = r->cdrs;
	const char *argv[6 + 2 * PBX_CDR_NFIELDS];
	char nums[PBX_CDR_NFIELDS][24], key[PBX_KEY_MAX], maxlen[24];
	long max = r->cfg->cdr_max_entries > 0 ? r->cfg->cdr_max_entries
					       : PBX_CDR_MAX_ENTRIES_DEFAULT;
	struct timeval tv = {0, CDR_FLUSH_MS * 1000};
	struct cdr_job *j;
	int n = 0;

	if (!cdr->end_ms)
		cdr->end_ms = pbx_clock_now_ms();
	pbx_cdr_finish(cdr);
	PLOG_INFO("call record: %s %s -> %s, %u %s, %" PRIu64 " ms%s%s",
		  cdr->disposition, cdr->caller, cdr->number, cdr->sip_code,
		  cdr->reason, cdr->duration_ms,
		  cdr->answered_by[0] ? ", answered by " : "",
		  cdr->answered_by);
	if (!b || pbx_key_of(key, sizeof(key), cdr->tenant, PBX_K_CDR)) {
		PLOG_ERR("call record not stored: %s",
			 b ? "no tenant key" : "router stopping");
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		PLOG_ERR("call record not stored: out of memory");
		return;
	}
	snprintf(j->tenant, sizeof(j->tenant), "%s", cdr->tenant);
	snprintf(j->call_id, sizeof(j->call_id), "%s", cdr->call_id);
	snprintf(maxlen, sizeof(maxlen), "%ld", max);
	argv[n++] = "XADD";
	argv[n++] = key;
	argv[n++] = "MAXLEN";
	argv[n++] = "~";
	argv[n++] = maxlen;
	argv[n++] = "*";
	for (size_t i = 0; i < PBX_CDR_NFIELDS; i++) {
		argv[n++] = pbx_cdr_fields[i].name;
		argv[n++] = pbx_cdr_get(cdr, &pbx_cdr_fields[i], nums[i],
					sizeof(nums[i]));
	}
	j->len = redisFormatCommandArgv(&j->cmd, n, argv, NULL);
	if (j->len < 0) {
		PLOG_ERR("call record not stored: out of memory");
		free(j);
		return;
	}
	*b->tail = j;
	b->tail = &j->next;
	if (++b->n >= CDR_BATCH_MAX)
		route_cdr_flush(r);
	else if (!evtimer_pending(b->timer, NULL))
		evtimer_add(b->timer, &tv);
}
