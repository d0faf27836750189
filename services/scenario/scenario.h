/* Scenario: the tenant's routing graph, parsed from its JSON document
 * (docs/scenario.md) into an immutable object that the walker and the
 * linter read. One parsed scenario serves many calls concurrently. */
#ifndef SCENARIO_H
#define SCENARIO_H
#include <stdbool.h>
#include <stddef.h>

/* Every element of the product. */
enum node_type {
	NODE_SUBSCRIBER,
	NODE_FAX,
	NODE_QUEUE,
	NODE_SCHEDULE,
	NODE_LIST,
	NODE_IVR,
	NODE_ASSISTANT,
	NODE_CONFERENCE,
	NODE_GREETING,
	NODE_VOICEMAIL,
	NODE_CRM,
	NODE_HANGUP,
	NODE_TYPE_COUNT
};

/* What a reference in a scenario points at (for the linter's resolver). */
enum scenario_ref { SCENARIO_REF_PROMPT, SCENARIO_REF_QUEUE,
		    SCENARIO_REF_EXTENSION };

struct scenario;

/* Problems found in a document, one line each: "node <id>: <sentence>". */
struct scenario_report {
	char text[4096];
	size_t len;
	unsigned errors;
	unsigned warnings;
};

/* Answers "does <name> of <kind> exist in this tenant?"; NULL skips the
 * reference checks. */
typedef bool(scenario_ref_h)(enum scenario_ref kind, const char *name,
			     void *arg);

/* Parses and lints json. Returns 0 and sets *scp (owned by the caller, free
 * with scenario_free) when there is no error; -EINVAL with every problem in
 * rep otherwise (rep may be NULL). Warnings do not fail. */
int scenario_parse(struct scenario **scp, const char *json,
		   scenario_ref_h *refh, void *arg,
		   struct scenario_report *rep);
void scenario_free(struct scenario *sc);

size_t scenario_node_count(const struct scenario *sc);

const char *scenario_type_name(enum node_type t);
/* True when this build can execute the element on a live call. */
bool scenario_type_supported(enum node_type t);

/* The document a newly connected number gets: its calls go to the tenant's
 * default queue, and a queue timeout hangs up (the exit route). */
const char *scenario_default_json(void);

#endif
