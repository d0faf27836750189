/* Scenario lint: names every problem of a document with the node id and a
 * plain sentence, so an administrator can fix them all in one go. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scenario_lint.h"
#include "scenario_types.h"

static const char *opt_type_name(enum opt_type t)
{
	switch (t) {
	case OPT_STRING:
		return "a string";
	case OPT_INT:
		return "an integer";
	case OPT_BOOL:
		return "true or false";
	case OPT_NUMBER:
		return "a number";
	case OPT_ARRAY:
		return "a list";
	case OPT_OBJECT:
		return "an object";
	}
	return "?";
}

static bool opt_type_ok(enum opt_type t, json_t *v)
{
	switch (t) {
	case OPT_STRING:
		return json_is_string(v) && json_string_length(v) > 0;
	case OPT_INT:
		return json_is_integer(v);
	case OPT_BOOL:
		return json_is_boolean(v);
	case OPT_NUMBER:
		return json_is_number(v);
	case OPT_ARRAY:
		return json_is_array(v);
	case OPT_OBJECT:
		return json_is_object(v);
	}
	return false;
}

static const struct opt_spec *find_opt(const struct type_spec *ts,
				       const char *name)
{
	for (const struct opt_spec *o = ts->opts; o->name; o++) {
		if (!strcmp(o->name, name))
			return o;
	}
	return NULL;
}

static unsigned lint_options(const char *id, const struct type_spec *ts,
			     json_t *opts, struct scenario_report *rep)
{
	unsigned errs = 0;
	const char *key;
	json_t *v;

	if (opts && !json_is_object(opts)) {
		scenario_report_add(rep, true,
				    "node %s: \"options\" must be an object",
				    id);
		return 1;
	}
	json_object_foreach(opts, key, v)
	{
		const struct opt_spec *o = find_opt(ts, key);

		if (!o) {
			scenario_report_add(rep, true,
					    "node %s: %s has no option \"%s\"",
					    id, ts->name, key);
			errs++;
			continue;
		}
		if (!opt_type_ok(o->type, v)) {
			scenario_report_add(rep, true,
					    "node %s: option \"%s\" must be %s",
					    id, key, opt_type_name(o->type));
			errs++;
			continue;
		}
		if (o->min != o->max &&
		    (o->type == OPT_INT || o->type == OPT_NUMBER)) {
			double d = json_number_value(v);

			if (d < (double)o->min || d > (double)o->max) {
				scenario_report_add(
					rep, true,
					"node %s: option \"%s\" must be "
					"between %ld and %ld",
					id, key, o->min, o->max);
				errs++;
			}
		}
	}
	for (const struct opt_spec *o = ts->opts; o->name; o++) {
		if (o->required && !(opts && json_object_get(opts, o->name))) {
			scenario_report_add(rep, true,
					    "node %s: %s needs option \"%s\"",
					    id, ts->name, o->name);
			errs++;
		}
	}
	return errs;
}

static unsigned lint_outputs(const char *id, const struct type_spec *ts,
			     json_t *outs, json_t *nodes,
			     struct scenario_report *rep)
{
	unsigned errs = 0;
	const char *key;
	json_t *v;

	if (outs && !json_is_object(outs)) {
		scenario_report_add(rep, true,
				    "node %s: \"outputs\" must be an object",
				    id);
		return 1;
	}
	json_object_foreach(outs, key, v)
	{
		if (!scenario_types_output_allowed(ts, key)) {
			if (ts->outputs[0])
				scenario_report_add(
					rep, true,
					"node %s: %s has no output \"%s\"", id,
					ts->name, key);
			else
				scenario_report_add(
					rep, true,
					"node %s: %s ends the call and can "
					"have no outputs",
					id, ts->name);
			errs++;
			continue;
		}
		if (!json_is_string(v)) {
			scenario_report_add(rep, true,
					    "node %s: output \"%s\" must name "
					    "a node",
					    id, key);
			errs++;
		} else if (!json_object_get(nodes, json_string_value(v))) {
			scenario_report_add(rep, true,
					    "node %s: output \"%s\" points to "
					    "missing node \"%s\"",
					    id, key, json_string_value(v));
			errs++;
		}
	}
	return errs;
}

int scenario_lint_structure(json_t *root, struct scenario_report *rep)
{
	json_t *nodes, *start, *nd;
	unsigned errs = 0;
	const char *id, *key;
	json_t *v;

	if (!json_is_object(root)) {
		scenario_report_add(rep, true,
				    "document: must be a JSON object");
		return -EINVAL;
	}
	json_object_foreach(root, key, v)
	{
		if (strcmp(key, "start") && strcmp(key, "nodes") &&
		    strcmp(key, "name") && strcmp(key, "description")) {
			scenario_report_add(rep, true,
					    "document: unknown field \"%s\"",
					    key);
			errs++;
		}
	}
	nodes = json_object_get(root, "nodes");
	if (!json_is_object(nodes) || json_object_size(nodes) == 0) {
		scenario_report_add(rep, true,
				    "document: \"nodes\" must be an object "
				    "with at least one node");
		return -EINVAL;
	}
	start = json_object_get(root, "start");
	if (!json_is_string(start)) {
		scenario_report_add(rep, true,
				    "document: \"start\" must name the first "
				    "node");
		errs++;
	} else if (!json_object_get(nodes, json_string_value(start))) {
		scenario_report_add(rep, true,
				    "document: start node \"%s\" does not "
				    "exist",
				    json_string_value(start));
		errs++;
	}
	json_object_foreach(nodes, id, nd)
	{
		const struct type_spec *ts;
		enum node_type t;
		json_t *type;

		if (!*id || strlen(id) > 64) {
			scenario_report_add(rep, true,
					    "document: node ids must be 1 to "
					    "64 characters");
			errs++;
		}
		if (!json_is_object(nd)) {
			scenario_report_add(rep, true,
					    "node %s: must be an object", id);
			errs++;
			continue;
		}
		json_object_foreach(nd, key, v)
		{
			if (strcmp(key, "type") && strcmp(key, "options") &&
			    strcmp(key, "outputs") && strcmp(key, "label")) {
				scenario_report_add(rep, true,
						    "node %s: unknown field "
						    "\"%s\"",
						    id, key);
				errs++;
			}
		}
		type = json_object_get(nd, "type");
		if (!json_is_string(type)) {
			scenario_report_add(rep, true,
					    "node %s: \"type\" is missing", id);
			errs++;
			continue;
		}
		if (scenario_types_find(json_string_value(type), &t)) {
			scenario_report_add(rep, true,
					    "node %s: unknown type \"%s\"", id,
					    json_string_value(type));
			errs++;
			continue;
		}
		ts = scenario_types_get(t);
		errs += lint_options(id, ts, json_object_get(nd, "options"),
				     rep);
		errs += lint_outputs(id, ts, json_object_get(nd, "outputs"),
				     nodes, rep);
	}
	return errs ? -EINVAL : 0;
}

static void mark_reachable(const struct scenario *sc, int i, bool *seen)
{
	/* Iterative DFS: graphs of thousands of nodes must not blow the
	 * stack. */
	int *stack = malloc(sizeof(int) * (sc->n + 1));
	size_t top = 0;

	if (!stack)
		return;
	stack[top++] = i;
	seen[i] = true;
	while (top) {
		const struct scenario_node *nd = &sc->nodes[stack[--top]];

		for (size_t k = 0; k < nd->nouts; k++) {
			int t = nd->outs[k].target;

			if (!seen[t]) {
				seen[t] = true;
				stack[top++] = t;
			}
		}
	}
	free(stack);
}

static unsigned check_ref(const struct scenario_node *nd,
			  enum scenario_ref kind, const char *opt,
			  scenario_ref_h *refh, void *arg,
			  struct scenario_report *rep)
{
	const char *name = scenario_opt_str(nd, opt, NULL);
	static const char *const kinds[] = {"prompt", "queue", "extension"};

	if (!refh || !name || refh(kind, name, arg))
		return 0;
	scenario_report_add(rep, true, "node %s: %s \"%s\" does not exist",
			    nd->id, kinds[kind], name);
	return 1;
}

unsigned scenario_lint_graph(const struct scenario *sc, scenario_ref_h *refh,
			     void *arg, struct scenario_report *rep)
{
	bool *seen = calloc(sc->n ? sc->n : 1, sizeof(bool));
	unsigned errs = 0;

	if (!seen) {
		scenario_report_add(rep, true, "document: out of memory");
		return 1;
	}
	if (sc->start >= 0)
		mark_reachable(sc, sc->start, seen);
	for (size_t i = 0; i < sc->n; i++) {
		const struct scenario_node *nd = &sc->nodes[i];

		if (!seen[i]) {
			scenario_report_add(rep, true,
					    "node %s: is not reachable from "
					    "the start node",
					    nd->id);
			errs++;
		}
		switch (nd->type) {
		case NODE_QUEUE:
			if (scenario_node_out(nd, "timeout") < 0) {
				scenario_report_add(
					rep, true,
					"node %s: a queue needs an exit route "
					"(output \"timeout\") so no call is "
					"lost",
					nd->id);
				errs++;
			}
			errs += check_ref(nd, SCENARIO_REF_QUEUE, "queue",
					  refh, arg, rep);
			break;
		case NODE_GREETING:
		case NODE_IVR:
		case NODE_ASSISTANT:
			errs += check_ref(nd, SCENARIO_REF_PROMPT, "prompt",
					  refh, arg, rep);
			break;
		default:
			break;
		}
		if (!scenario_type_supported(nd->type))
			scenario_report_add(rep, false,
					    "node %s: %s is stored but not "
					    "supported on live calls yet",
					    nd->id,
					    scenario_type_name(nd->type));
	}
	free(seen);
	return errs;
}
