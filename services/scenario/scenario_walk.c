/* Scenario walk: follows arrows from node to node until one needs the
 * outside world (media, an answer, a reply), and returns that action. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "scenario_internal.h"
#include "scenario_walk.h"

/* Arrows followed in one step without waiting for the caller; a graph that
 * exceeds it is spinning (lint will reject such cycles up front). */
#define WALK_MAX_HOPS 64

static void end_call(const struct walk_state *st, struct walk_action *act,
		     unsigned code, const char *reason)
{
	act->kind = st->answered ? WALK_ACT_HANGUP : WALK_ACT_REJECT;
	act->sip_code = code;
	snprintf(act->reason, sizeof(act->reason), "%s", reason);
}

/* Runs nodes from `idx` on; stops at the first one that needs an action. */
static int enter(const struct scenario *sc, struct walk_state *st, int idx,
		 struct walk_action *act)
{
	for (int hops = 0; hops < WALK_MAX_HOPS; hops++) {
		const struct scenario_node *nd = &sc->nodes[idx];

		snprintf(st->node, sizeof(st->node), "%s", nd->id);
		act->node_type = scenario_type_name(nd->type);
		switch (nd->type) {
		case NODE_HANGUP:
			end_call(st, act,
				 (unsigned)scenario_opt_int(nd, "code", 603),
				 scenario_opt_str(nd, "reason", "Decline"));
			return 0;
		case NODE_GREETING:
			if (!st->answered) {
				act->kind = WALK_ACT_ANSWER;
				return 0;
			}
			act->kind = WALK_ACT_PLAY;
			act->prompt = scenario_opt_str(nd, "prompt", NULL);
			return 0;
		default: {
			char reason[96];

			snprintf(reason, sizeof(reason),
				 "Not Implemented (%s not supported yet)",
				 scenario_type_name(nd->type));
			end_call(st, act, 501, reason);
			return 0;
		}
		}
	}
	end_call(st, act, 500, "Scenario Loop");
	return -ELOOP;
}

int scenario_walk(const struct scenario *sc, struct walk_state *st,
		  enum walk_event ev, struct walk_action *act)
{
	int idx;

	memset(act, 0, sizeof(*act));
	if (ev == WALK_EV_START) {
		st->answered = false;
		if (sc->start < 0) {
			end_call(st, act, 500, "Broken Scenario");
			return -EINVAL;
		}
		return enter(sc, st, sc->start, act);
	}

	idx = scenario_node_index(sc, st->node);
	if (idx < 0) {
		if (ev == WALK_EV_ANSWERED)
			st->answered = true;
		end_call(st, act, 500, "Scenario Changed");
		return -EINVAL;
	}
	switch (ev) {
	case WALK_EV_ANSWERED:
		st->answered = true;
		return enter(sc, st, idx, act);
	case WALK_EV_PLAY_DONE: {
		int next = scenario_node_out(&sc->nodes[idx], "next");

		if (next < 0) {
			/* A greeting without "next" ends the call normally. */
			end_call(st, act, 200, "Done");
			return 0;
		}
		return enter(sc, st, next, act);
	}
	case WALK_EV_FAILED:
	default:
		end_call(st, act, 500, "Media Failed");
		return 0;
	}
}
