/* Scenario element catalogue (internal to the scenario library). */
#ifndef SCENARIO_TYPES_H
#define SCENARIO_TYPES_H
#include <stdbool.h>

#include "scenario.h"

enum opt_type { OPT_STRING, OPT_INT, OPT_BOOL, OPT_NUMBER, OPT_ARRAY,
		OPT_OBJECT };

struct opt_spec {
	const char *name;
	enum opt_type type;
	bool required;
	long min, max; /* bounds for OPT_INT / OPT_NUMBER (min == max: none) */
};

struct type_spec {
	const char *name;
	const struct opt_spec *opts;   /* NULL-name terminated */
	const char *const *outputs;    /* NULL terminated; "x:*" = prefix */
	bool supported;                /* executable on live calls */
};

const struct type_spec *scenario_types_get(enum node_type t);
int scenario_types_find(const char *name, enum node_type *t);
bool scenario_types_output_allowed(const struct type_spec *ts,
				   const char *out);

#endif
