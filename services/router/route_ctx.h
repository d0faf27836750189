/* Per-event context carried through the chain of asynchronous Redis
 * replies that handles one bus message. Owned by the chain: the last
 * callback (or the first error) frees it with route_ctx_free(). */
#ifndef ROUTE_CTX_H
#define ROUTE_CTX_H
#include <stdint.h>

#include "pbx_bus.h"
#include "scenario_walk.h"

struct router;
struct scenario;

struct route_ctx {
	struct router *r;
	struct pbx_bus_peer peer;   /* who sent the message */
	char msg_id[64];            /* for reply_to */
	char tenant[65];
	char call_id[256];
	/* new call */
	char edge_id[65];
	uint32_t tindex, tlabel;
	char number[33];
	char caller[65];
	/* scenario */
	char scen[65];
	long version;
	/* media event */
	char worker_id[65];
	char worker_uri[128];
	int kind;                   /* Pbx__V1__MediaEvent__Kind */
	uint64_t seq;
	long rev;                   /* call state revision read */
	int tries;
	struct walk_state st;
	struct walk_action act;     /* decided, sent after the save */
};

struct route_ctx *route_ctx_alloc(struct router *r,
				  const struct pbx_bus_peer *peer,
				  const Pbx__V1__Envelope *env);
void route_ctx_free(struct route_ctx *c);

/* Loads the tenant's scenario `c->scen` (current version, cached). */
typedef void(route_scenario_h)(struct route_ctx *c,
			       const struct scenario *sc);
void route_scenario_load(struct route_ctx *c, route_scenario_h *h);

/* Saves c->st (+ worker, seq) if the stored revision is still c->rev.
 * h gets 1 saved, 0 conflict, -1 storage error. */
typedef void(route_save_h)(struct route_ctx *c, int result);
void route_state_save(struct route_ctx *c, route_save_h *h);

#endif
