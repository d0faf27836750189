/* Scenario element and object catalogue (internal to the scenario
 * library): option tables the linter checks documents against. */
#ifndef SCENARIO_TYPES_H
#define SCENARIO_TYPES_H
#include <jansson.h>
#include <stdbool.h>

#include "scenario.h"

enum opt_type {
	OPT_STRING,
	OPT_INT,
	OPT_BOOL,
	OPT_NUMBER,
	OPT_ARRAY,
	OPT_OBJECT
};

struct opt_spec {
	const char *name;
	enum opt_type type;
	bool required;
	long min, max;	    /* bounds for OPT_INT / OPT_NUMBER (min == max:
			     * none) */
	const char *values; /* OPT_STRING: "a|b|c" allowed values, or NULL */
};

struct type_spec {
	const char *name;
	const struct opt_spec *opts; /* NULL-name terminated */
	const char *const *outputs;  /* NULL terminated; "x:*" = prefix */
	bool supported;		     /* executable on live calls */
	bool waits;		     /* waits for the caller or the world
				      * (prompt, input, ring): a cycle
				      * through it cannot spin */
};

const struct type_spec *scenario_types_get(enum node_type t);
bool scenario_types_output_allowed(const struct type_spec *ts,
				   const char *out);

/* The options of object kind `kind` (an object kind of enum scenario_ref),
 * or NULL. */
const struct opt_spec *scenario_types_object(enum scenario_ref kind);

/* The document's top-level recording fields ("record",
 * "record_channels", "record_prompt"), checked like a node's options. */
const struct opt_spec *scenario_types_document_rec(void);

/* Checks the fields of obj against specs: unknown fields, JSON types,
 * bounds, allowed values, required fields; each problem one line
 * "<who>: <sentence>" (what names the thing: "scenario option", "field").
 * Returns the number of errors. */
unsigned scenario_types_check(const struct opt_spec *specs, json_t *obj,
			      const char *who, const char *owner,
			      struct scenario_report *rep);

#endif
