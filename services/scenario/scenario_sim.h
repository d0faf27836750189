/* Scenario dry run: replays one call offline through the live walk
 * (scenario_walk_step, nothing else decides), synthesising each next
 * event from a script of what the caller and the world do, and prints the
 * path node by node. Input mirrors pbx.v1 ProvRequest.ScenarioSimulate. */
#ifndef SCENARIO_SIM_H
#define SCENARIO_SIM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scenario.h"
#include "scenario_walk.h"

/* Steps simulated at most when the input gives none. */
#define SCENARIO_SIM_STEPS 200

/* How long one prompt plays (provisioning stores it with the audio). */
struct scenario_sim_prompt {
	const char *name;
	uint32_t ms;
};

struct scenario_sim_input {
	const char *caller; /* caller number, any form; NULL/"": anon */
	/* When the call happens: `at` is local wall time
	 * "YYYY-MM-DDTHH:MM[:SS]" (or with a space instead of T) in zone
	 * `timezone`, or in scenario_timezone() when that is NULL/""; NULL/""
	 * `at` means now_ms. */
	const char *at;
	const char *timezone;
	int64_t now_ms; /* Unix ms, used when at is empty */
	/* Digits the caller presses, one entry per prompt that listens, in
	 * order: "2" (a menu choice), "101" (an extension, pressed digit by
	 * digit), "" or "-" (presses nothing: the menu times out). */
	const char *const *dtmf;
	size_t ndtmf;
	/* What the caller says, one entry per recogniser turn: the text
	 * (matched against the phrases and synonyms), "" or "-" (silence),
	 * "?<text>" (heard but below the confidence threshold). */
	const char *const *say;
	size_t nsay;
	/* Queue agents: "free" (NULL/"": default, an agent answers), "busy"
	 * (nobody answers: exit key if the caller presses one, else
	 * timeout), "none" (no agents logged in), "full" (queue full). */
	const char *agents;
	/* Ring targets (extensions or numbers, any form) that do not answer,
	 * are busy, are unreachable; every other target answers. */
	const char *const *no_answer;
	size_t nno_answer;
	const char *const *busy;
	size_t nbusy;
	const char *const *unavailable;
	size_t nunavailable;
	/* CRM answer: owner extension; NULL, "" or "none": not found;
	 * "error": CRM error; "timeout": no reply (the lookup timer
	 * fires). */
	const char *crm_owner;
	bool fax_disabled;  /* the tenant's fax option is off */
	unsigned max_steps; /* 0: SCENARIO_SIM_STEPS */
	/* The tenant's extensions, when extensions_known: a ring to an
	 * extension that is not listed gets what a live call gets from the
	 * registrar, unavailable, whatever no_answer / busy say. Without
	 * extensions_known every extension exists. */
	const char *const *extensions;
	size_t nextensions;
	bool extensions_known;
	/* Prompt lengths: the simulated clock runs a prompt for its length
	 * before PLAY_DONE (a key that stops it stops the clock there too,
	 * at 0 ms); a prompt not listed plays for 0 ms. */
	const struct scenario_sim_prompt *prompts;
	size_t nprompts;
};

/* The summary of a run, for callers that assert on it (tests, UIs). */
struct scenario_sim_result {
	unsigned steps;	   /* walk steps taken */
	bool ended;	   /* the walk ended the call */
	bool truncated;	   /* out was too small for every line */
	int64_t at_ms;	   /* the simulated time of the call, Unix ms */
	char outcome[160]; /* the final outcome, as on the last line */
	char path[2048];   /* node ids visited in order, " > " apart
			    * (a node repeated when re-entered) */
	char last_node[WALK_NODE_MAX];
};

/* Runs the call. Writes one line per hop to out ("<step> <event> | node
 * <id> (<type>): <what happened>"), then a final "outcome: ..." line;
 * out is always NUL-terminated, cut at a line boundary when too small.
 * res may be NULL. Returns 0 (also when the call is left waiting or the
 * step limit is reached: the outcome line says so), or -EINVAL for bad
 * input (unknown agents value, unreadable `at`, unknown zone) with one
 * plain sentence in out. Bounded: never more than max_steps walk steps,
 * whatever the scenario. */
int scenario_sim_run(const struct scenario *sc,
		     const struct scenario_objects *objs,
		     const struct scenario_sim_input *in, char *out,
		     size_t size, struct scenario_sim_result *res);

#endif
/* API FROZEN */
