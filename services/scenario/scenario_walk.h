/* Scenario walk: the one piece of code that moves a call through a
 * scenario. Pure: the live router and the simulator feed it events and
 * carry out the action it returns; the state is small and serialisable
 * so it can live in Redis between events. */
#ifndef SCENARIO_WALK_H
#define SCENARIO_WALK_H
#include <stdbool.h>

#include "scenario.h"

enum walk_event {
	WALK_EV_START,      /* a new call reached the scenario */
	WALK_EV_ANSWERED,   /* a media worker answered the call */
	WALK_EV_PLAY_DONE,  /* the prompt of the current node finished */
	WALK_EV_FAILED,     /* the media side could not do what was asked */
};

enum walk_action_kind {
	WALK_ACT_REJECT,    /* not answered: reply sip_code to the caller */
	WALK_ACT_ANSWER,    /* needs media: send the call to a worker */
	WALK_ACT_PLAY,      /* play prompt on the answered call */
	WALK_ACT_HANGUP,    /* answered: end the call (BYE) */
};

#define WALK_NODE_MAX 65

struct walk_state {
	char node[WALK_NODE_MAX]; /* current node id */
	bool answered;
};

struct walk_action {
	enum walk_action_kind kind;
	unsigned sip_code;
	char reason[96];
	const char *prompt;        /* borrowed from the scenario */
	const char *node_type;     /* type of the node that decided */
};

/* Applies ev to st and says what to do next. Returns 0, or -EINVAL when
 * st does not fit sc (node vanished): act then ends the call cleanly. */
int scenario_walk(const struct scenario *sc, struct walk_state *st,
		  enum walk_event ev, struct walk_action *act);

#endif
