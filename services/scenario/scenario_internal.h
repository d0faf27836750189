/* Parsed scenario layout, shared by the parser, linter and walker. */
#ifndef SCENARIO_INTERNAL_H
#define SCENARIO_INTERNAL_H
#include <jansson.h>
#include <stddef.h>

#include "scenario.h"

struct scenario_out {
	const char *name;   /* points into the JSON document */
	int target;         /* node index */
};

struct scenario_node {
	const char *id;     /* points into the JSON document */
	enum node_type type;
	json_t *opts;       /* borrowed from root; may be NULL */
	struct scenario_out *outs;
	size_t nouts;
};

struct scenario {
	json_t *root;       /* owns every string above */
	struct scenario_node *nodes; /* sorted by id */
	size_t n;
	int start;
};

int scenario_node_index(const struct scenario *sc, const char *id);
/* The target node index of output `name`, or -1. */
int scenario_node_out(const struct scenario_node *nd, const char *name);
const char *scenario_opt_str(const struct scenario_node *nd,
			     const char *name, const char *def);
long scenario_opt_int(const struct scenario_node *nd, const char *name,
		      long def);

void scenario_report_add(struct scenario_report *rep, bool error,
			 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
