/* Shared steps of the routing chains: context lifetime, scenario loading
 * through the cache, and the compare-and-set save of call state that lets
 * any router instance handle any event of any call. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_keys.h"
#include "pbx_log.h"
#include "pbx_redis.h"
#include "route_ctx.h"
#include "router.h"
#include "scache.h"
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
	if (peer)
		c->peer = *peer;
	snprintf(c->msg_id, sizeof(c->msg_id), "%s",
		 env->message_id ? env->message_id : "");
	snprintf(c->tenant, sizeof(c->tenant), "%s",
		 env->tenant_id ? env->tenant_id : "");
	snprintf(c->call_id, sizeof(c->call_id), "%s",
		 env->call_id ? env->call_id : "");
	return c;
}

void route_ctx_free(struct route_ctx *c)
{
	free(c);
}

struct load_step {
	struct route_ctx *c;
	route_scenario_h *h;
};

static void json_cb(redisAsyncContext *ac, void *reply, void *arg)
{
	struct load_step *ls = arg;
	struct route_ctx *c = ls->c;
	route_scenario_h *h = ls->h;
	redisReply *rr = reply;
	struct scenario *sc = NULL;
	struct scenario_report rep;

	(void)ac;
	free(ls);
	pbx_log_ctx(c->tenant, c->call_id);
	if (!rr || rr->type != REDIS_REPLY_STRING) {
		PLOG_ERR("scenario %s: document missing", c->scen);
		h(c, NULL);
		return;
	}
	if (scenario_parse(&sc, rr->str, NULL, NULL, &rep)) {
		/* Provisioning lints before storing, so this is corruption
		 * or an older format: say so, end the call cleanly. */
		PLOG_ERR("scenario %s v%ld does not parse: %s", c->scen,
			 c->version, rep.text);
		h(c, NULL);
		return;
	}
	h(c, scache_put(c->r->scache, c->tenant, c->scen, c->version, sc));
}

static void version_cb(redisAsyncContext *ac, void *reply, void *arg)
{
	struct load_step *ls = arg;
	struct route_ctx *c = ls->c;
	route_scenario_h *h = ls->h;
	redisReply *rr = reply;
	const struct scenario *sc;
	char key[PBX_KEY_MAX];

	pbx_log_ctx(c->tenant, c->call_id);
	if (!rr || rr->type != REDIS_REPLY_STRING) {
		PLOG_ERR("scenario %s: %s", c->scen,
			 rr ? "not found" : "storage unavailable");
		free(ls);
		h(c, NULL);
		return;
	}
	c->version = strtol(rr->str, NULL, 10);
	sc = scache_get(c->r->scache, c->tenant, c->scen, c->version);
	if (sc) {
		free(ls);
		h(c, sc);
		return;
	}
	if (pbx_key(key, sizeof(key), c->tenant, "scenario:%s", c->scen) ||
	    redisAsyncCommand(ac, json_cb, ls, "HGET %s json", key) !=
		    REDIS_OK) {
		free(ls);
		h(c, NULL);
	}
}

void route_scenario_load(struct route_ctx *c, route_scenario_h *h)
{
	redisAsyncContext *ac = pbx_redis_ctx(c->r->redis);
	struct load_step *ls;
	char key[PBX_KEY_MAX];

	if (!ac || pbx_key(key, sizeof(key), c->tenant, "scenario:%s",
			   c->scen)) {
		h(c, NULL);
		return;
	}
	ls = malloc(sizeof(*ls));
	if (!ls) {
		h(c, NULL);
		return;
	}
	ls->c = c;
	ls->h = h;
	if (redisAsyncCommand(ac, version_cb, ls, "HGET %s version", key) !=
	    REDIS_OK) {
		free(ls);
		h(c, NULL);
	}
}

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
	const char *argv[] = {"EVAL",     cas_lua,     "1",
			      key,        rev,         ttl,
			      "node",     c->st.node,  "answered",
			      c->st.answered ? "1" : "0",
			      "worker",   c->worker_id, "seq",
			      seq,        "scenario",  c->scen,
			      "version",  ver};
	size_t argc = sizeof(argv) / sizeof(argv[0]);

	if (!ac || pbx_key(key, sizeof(key), c->tenant, "call:%s",
			   c->call_id)) {
		h(c, -1);
		return;
	}
	snprintf(rev, sizeof(rev), "%ld", c->rev);
	snprintf(ttl, sizeof(ttl), "%ld", c->r->cfg->call_ttl_s);
	snprintf(seq, sizeof(seq), "%" PRIu64, c->seq);
	snprintf(ver, sizeof(ver), "%ld", c->version);
	ss = malloc(sizeof(*ss));
	if (!ss) {
		h(c, -1);
		return;
	}
	ss->c = c;
	ss->h = h;
	if (redisAsyncCommandArgv(ac, save_cb, ss, (int)argc, argv, NULL) !=
	    REDIS_OK) {
		free(ss);
		h(c, -1);
	}
}
