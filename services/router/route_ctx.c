/* Shared steps of the routing chains: context lifetime, pipelined Redis
 * reads, scenario and object loading through the caches, and the
 * compare-and-set save of call state that lets any router instance handle
 * any event of any call. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "pbx_redis.h"
#include "route_ctx.h"
#include "router.h"
#include "vcache.h"
#include "scenario.h"

/* Writes the fields only if the revision is unchanged, bumps it and
 * refreshes the TTL. A missing key has revision 0, so the first save
 * creates the state and a second router racing it loses cleanly. */
static const char cas_lua[] =
	"local rev = redis.call('HGET', KEYS[1], 'rev') or '0' "
	"if rev ~= ARGV[1] then return 0 end "
	"redis.call('HSET', KEYS[1], 'rev', tostring(tonumber(ARGV[1]) + 1), "
	"unpack(ARGV, 3)) "
	"redis.call('EXPIRE', KEYS[1], ARGV[2]) "
	"return 1";

struct route_ctx *route_ctx_alloc(struct router *r,
				  const struct pbx_bus_peer *peer,
				  const Pbx__V1__Envelope *env)
{
	struct route_ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->r = r;
	c->t0_us = pbx_metrics_now_us();
	if (peer)
		c->peer = *peer;
	snprintf(c->msg_id, sizeof(c->msg_id), "%s",
		 env->message_id ? env->message_id : "");
	snprintf(c->tenant, sizeof(c->tenant), "%s",
		 env->tenant_id ? env->tenant_id : "");
	snprintf(c->call_id, sizeof(c->call_id), "%s",
		 env->call_id ? env->call_id : "");
	scenario_walk_init(&c->st);
	return c;
}

static void unpin(struct route_ctx *c)
{
	vcache_ref_drop(c->sc_ref);
	vcache_ref_drop(c->objs_ref);
	c->sc_ref = c->objs_ref = NULL;
	c->sc = NULL;
	c->objs = NULL;
}

void route_ctx_free(struct route_ctx *c)
{
	if (!c)
		return;
	unpin(c);
	pbx_hist_observe(&c->r->step_hist,
			 (double)(pbx_metrics_now_us() - c->t0_us) / 1000.0);
	free(c);
}

static void pipe_cb(redisAsyncContext *ac, void *reply, void *arg)
{
	struct route_pipe_item *it = arg;
	struct route_ctx *c = it->c;

	(void)ac;
	pbx_log_ctx(c->tenant, c->call_id);
	if (!reply)
		c->err = true;
	it->h(c, reply);
	if (--c->waiting == 0 && c->next) {
		route_next_h *next = c->next;

		c->next = NULL;
		next(c);
	}
}

/* The next pipeline slot for handler h, or NULL (c->err set). */
static struct route_pipe_item *pipe_slot(struct route_ctx *c,
					 route_pipe_h *h)
{
	struct route_pipe_item *it;

	if (!pbx_redis_ctx(c->r->redis) || c->waiting >= ROUTE_PIPE_MAX) {
		c->err = true;
		return NULL;
	}
	it = &c->pipe[c->waiting];
	it->c = c;
	it->h = h;
	return it;
}

static void pipe_sent(struct route_ctx *c, int rc)
{
	if (rc != REDIS_OK)
		c->err = true;
	else
		c->waiting++;
}

void route_pipe_cmd(struct route_ctx *c, route_pipe_h *h, const char *fmt,
		    ...)
{
	struct route_pipe_item *it = pipe_slot(c, h);
	va_list ap;
	int rc;

	if (!it)
		return;
	va_start(ap, fmt);
	rc = pbx_redis_vacmd(pbx_redis_ctx(c->r->redis), pipe_cb, it, fmt,
				ap);
	va_end(ap);
	pipe_sent(c, rc);
}

void route_pipe_argv(struct route_ctx *c, route_pipe_h *h, size_t argc,
		     const char **argv)
{
	struct route_pipe_item *it = pipe_slot(c, h);

	if (it)
		pipe_sent(c, pbx_redis_acmd_argv(pbx_redis_ctx(c->r->redis),
						   pipe_cb, it, (int)argc,
						   argv, NULL));
}

void route_pipe_run(struct route_ctx *c, route_next_h *next)
{
	if (c->waiting == 0) {
		next(c);
		return;
	}
	c->next = next;
}

/* ---- scenario and objects ---------------------------------------------- */

static void got_json(struct route_ctx *c, redisReply *rr)
{
	struct scenario *sc = NULL;
	struct scenario_report rep;

	if (!rr || rr->type != REDIS_REPLY_STRING) {
		PLOG_ERR("scenario %s v%ld: %s", c->scen, c->version,
			 rr ? "not found" : "storage unavailable");
		return;
	}
	if (scenario_parse(&sc, rr->str, NULL, NULL, &rep)) {
		/* Provisioning lints before storing, so this is corruption
		 * or an older format: say so, end the call cleanly. */
		PLOG_ERR("scenario %s v%ld does not parse: %s", c->scen,
			 c->version, rep.text);
		return;
	}
	c->sc = vcache_put(c->r->scache, c->tenant, c->scen, c->version, sc,
			   &c->sc_ref);
}

static void got_objects(struct route_ctx *c, redisReply *rr)
{
	struct scenario_objects *objs = NULL;

	if (!rr || rr->type != REDIS_REPLY_ARRAY ||
	    scenario_objects_alloc(&objs)) {
		c->err = true;
		return;
	}
	for (size_t i = 0; i + 1 < rr->elements; i += 2) {
		redisReply *f = rr->element[i], *v = rr->element[i + 1];
		struct scenario_report rep;
		char kind[32];
		const char *colon;

		if (f->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING)
			continue;
		colon = strchr(f->str, ':');
		if (!colon || (size_t)(colon - f->str) >= sizeof(kind))
			continue;
		memcpy(kind, f->str, (size_t)(colon - f->str));
		kind[colon - f->str] = '\0';
		/* One bad object must not take the tenant's calls down:
		 * skip it (nodes using it then take their error path). */
		if (scenario_objects_add(objs, kind, colon + 1, v->str, &rep))
			PLOG_ERR("object %s skipped: %s", f->str, rep.text);
	}
	c->objs = vcache_put(c->r->ocache, c->tenant, "", c->objects_rev,
			     objs, &c->objs_ref);
}

/* Built-in one-node scenarios (pinned in c->sc_ref like any other): an
 * internal call to an extension ("@ext:<ext>"), a cascade leg into a
 * room ("@conf:<room>", route_conf.c), a feature code ("@fc:<code>",
 * route_feature.c), an outbound call ("@out:<number>:<caller id>",
 * route_outbound.c), a forwarded one ("@fwd:...", "@out:fwd:...",
 * route_forward.c) and a queue's call-back ("@cb:<number>:<caller id>",
 * route_callback.c). The name part is an id (checked where the name is
 * made), so it needs no JSON escaping. */
static const struct scenario *internal_scenario(struct route_ctx *c)
{
	const struct scenario *sc;
	struct scenario *nsc = NULL;
	char json[768];
	/* Numbers' scenarios (many, each used once) in their own cache. */
	struct vcache *cache =
		strncmp(c->scen, ROUTE_OUT_SCEN, strlen(ROUTE_OUT_SCEN)) &&
				strncmp(c->scen, ROUTE_CB_SCEN,
					strlen(ROUTE_CB_SCEN))
			? c->r->scache
			: c->r->outcache;

	sc = vcache_get(cache, c->tenant, c->scen, 0, &c->sc_ref);
	if (sc)
		return sc;
	if (!strncmp(c->scen, "@fc:", 4)) {
		if (route_feature_json(c->scen + 4, json, sizeof(json)))
			return NULL;
	} else if (!strncmp(c->scen, ROUTE_OUT_SCEN,
			    strlen(ROUTE_OUT_SCEN))) {
		if (route_outbound_json(c->scen, json, sizeof(json)))
			return NULL;
	} else if (!strncmp(c->scen, ROUTE_FWD_SCEN,
			    strlen(ROUTE_FWD_SCEN))) {
		if (route_forward_json(c->scen, json, sizeof(json)))
			return NULL;
	} else if (!strncmp(c->scen, ROUTE_CB_SCEN, strlen(ROUTE_CB_SCEN))) {
		if (route_callback_json(c->scen, json, sizeof(json)))
			return NULL;
	} else if (route_conf_is_leg(c)) {
		snprintf(json, sizeof(json),
			 "{\"start\":\"c\",\"nodes\":{\"c\":{\"type\":"
			 "\"conference\",\"options\":{\"room\":\"%s\"}}}}",
			 c->scen + strlen(ROUTE_CONF_LEG_SCEN));
	} else {
		snprintf(json, sizeof(json),
			 "{\"start\":\"ring\",\"nodes\":{\"ring\":{\"type\":"
			 "\"subscriber\",\"options\":{\"kind\":\"internal\","
			 "\"target\":\"%s\"}}}}",
			 c->scen + strlen("@ext:"));
	}
	if (scenario_parse(&nsc, json, NULL, NULL, NULL))
		return NULL;
	return vcache_put(cache, c->tenant, c->scen, 0, nsc, &c->sc_ref);
}

void route_load(struct route_ctx *c, route_next_h *next)
{
	char key[PBX_KEY_MAX];

	c->err = false;
	unpin(c);
	if (c->scen[0] == '@')
		c->sc = internal_scenario(c);
	else
		c->sc = vcache_get(c->r->scache, c->tenant, c->scen,
				   c->version, &c->sc_ref);
	c->objs = vcache_get(c->r->ocache, c->tenant, "", c->objects_rev,
			     &c->objs_ref);
	if (!c->sc && c->scen[0] != '@' &&
	    !pbx_key(key, sizeof(key), c->tenant, "scenario:%s:v%ld",
		     c->scen, c->version))
		route_pipe_cmd(c, got_json, "HGET %s json", key);
	if (!c->objs && !pbx_key(key, sizeof(key), c->tenant, "objects"))
		route_pipe_cmd(c, got_objects, "HGETALL %s", key);
	route_pipe_run(c, next);
}

/* ---- call state ---------------------------------------------------------- */

struct save_step {
	struct route_ctx *c;
	route_save_h *h;
};

static void save_cb(redisAsyncContext *ac, void *reply, void *arg)
{
	struct save_step *ss = arg;
	struct route_ctx *c = ss->c;
	route_save_h *h = ss->h;
	redisReply *rr = reply;

	(void)ac;
	free(ss);
	pbx_log_ctx(c->tenant, c->call_id);
	if (!rr || rr->type != REDIS_REPLY_INTEGER) {
		PLOG_ERR("call state save failed: %s",
			 rr && rr->type == REDIS_REPLY_ERROR ? rr->str
							     : "no reply");
		h(c, -1);
		return;
	}
	h(c, rr->integer == 1 ? 1 : 0);
}

void route_state_save(struct route_ctx *c, route_save_h *h)
{
	redisAsyncContext *ac = pbx_redis_ctx(c->r->redis);
	struct save_step *ss;
	char key[PBX_KEY_MAX], rev[24], ttl[24], seq[24], ver[24];
	char walk[WALK_STATE_TEXT_MAX];
	char cst[2] = {c->cstate, '\0'}, ctry[12], cdr[3][24], tx[24];
	char qcbst[2] = {c->qcbst, '\0'}, qoff[12];
	/* Sized for the fields below and the record's (NULL-padded). */
	const char *argv[72 + ROUTE_CDR_NARGS] = {"EVAL",     cas_lua,      "1",
			      key,        rev,          ttl,
			      "walk",     walk,         "worker",
			      c->worker_id, "seq",      seq,
			      "scenario", c->scen,      "version",
			      ver,        "caller",     c->caller,
			      "dialed",   c->number,    "domain",
			      c->domain,  "fax",        c->fax_enabled ? "1"
								       : "0",
			      "alt",      c->alt_id,    "edge",
			      c->edge,    "queue",      c->queue,
			      "qwait",    c->qwait ? "1" : "0",
			      "qkeys",    c->qkeys,     "lang",
			      c->lang,    "conf",
			      c->conf,    "cst",        cst,
			      "ctry",     ctry,         "cdig",
			      c->cdig,    "cmod",       c->cmod ? "1" : "0",
			      "crm",      c->crm,       "cof",
			      c->cof,     "qcb",        c->qcb,
			      "qcbon",    c->qcb_on ? "1" : "0",
			      "qcall",    c->qcall,     "qag",
			      c->qag,     "qoff",       qoff,
			      "qcbst",    qcbst,        "pkc",
			      c->pk_call};
	size_t argc = 0;

	if (!ac || pbx_key(key, sizeof(key), c->tenant, "call:%s",
			   c->call_id) ||
	    scenario_walk_state_encode(&c->st, walk, sizeof(walk)) < 0) {
		h(c, -1);
		return;
	}
	while (argc < sizeof(argv) / sizeof(argv[0]) && argv[argc])
		argc++;
	route_cdr_save_args(c, argv, &argc, cdr);
	/* The first save: the INVITE transaction that asked, so the same
	 * question asked again through another edge-bridge (its first one
	 * died before answering) gets the same answer (route_call.c). */
	if (c->rev == 0 && argc + 2 <= sizeof(argv) / sizeof(argv[0])) {
		snprintf(tx, sizeof(tx), "%" PRIu32 ":%" PRIu32, c->tindex,
			 c->tlabel);
		argv[argc++] = "tx";
		argv[argc++] = tx;
	}
	snprintf(rev, sizeof(rev), "%ld", c->rev);
	snprintf(ctry, sizeof(ctry), "%d", c->ctries);
	snprintf(qoff, sizeof(qoff), "%u", c->qoff);
	/* Until the worker reports INCOMING the call may never start (the
	 * edge answered 503 first, the caller cancelled): such a record
	 * must not outlive it by more than a minute. */
	snprintf(ttl, sizeof(ttl), "%ld",
		 c->rev == 0 ? ROUTE_SETUP_TTL_S : c->r->cfg->call_ttl_s);
	snprintf(seq, sizeof(seq), "%" PRIu64, c->seq);
	snprintf(ver, sizeof(ver), "%ld", c->version);
	ss = malloc(sizeof(*ss));
	if (!ss) {
		h(c, -1);
		return;
	}
	ss->c = c;
	ss->h = h;
	if (pbx_redis_acmd_argv(ac, save_cb, ss, (int)argc, argv, NULL) !=
	    REDIS_OK) {
		free(ss);
		h(c, -1);
	}
}

const char *route_field(const redisReply *rr, const char *name)
{
	for (size_t i = 0; rr && rr->type == REDIS_REPLY_ARRAY &&
			   i + 1 < rr->elements;
	     i += 2) {
		if (rr->element[i]->type == REDIS_REPLY_STRING &&
		    !strcmp(rr->element[i]->str, name) &&
		    rr->element[i + 1]->type == REDIS_REPLY_STRING)
			return rr->element[i + 1]->str;
	}
	return NULL;
}

void route_walk_ctx(const struct route_ctx *c, struct walk_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->now_ms = (int64_t)pbx_clock_now_ms();
	ctx->caller = c->caller;
	ctx->objs = c->objs;
	ctx->fax_disabled = !c->fax_enabled;
}
