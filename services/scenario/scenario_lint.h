/* Scenario lint: every rule a document must pass before it is stored
 * (internal to the scenario library; rules listed in docs/scenario.md). */
#ifndef SCENARIO_LINT_H
#define SCENARIO_LINT_H
#include <jansson.h>

#include "scenario_internal.h"

/* Document shape, types, options and output names. Returns the number
 * of errors found, or -EINVAL when there is no graph to index at all
 * (not an object, no nodes): only then do the later passes not run, so
 * one document gets every problem reported at once. */
int scenario_lint_structure(json_t *root, struct scenario_report *rep);
/* Did node `id` pass the structure rules its compiled options rely on
 * (id, type, options)? Reports nothing. */
bool scenario_lint_node_sound(const char *id, json_t *nd);
/* Graph rules on a built, compiled index (reachability, exits, timeouts,
 * cycles, menu digits that are also extensions, references, object
 * contents). Returns the number of errors found. */
unsigned scenario_lint_graph(const struct scenario *sc,
			     const struct scenario_objects *objs,
			     scenario_ref_h *refh, void *arg,
			     struct scenario_report *rep);

#endif
