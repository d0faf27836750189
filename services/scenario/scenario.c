/* Scenario documents: parses the JSON graph into an indexed, immutable
 * object, running every check of scenario_lint.c before accepting it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario_internal.h"
#include "scenario_lint.h"
#include "scenario_types.h"

void scenario_report_add(struct scenario_report *rep, bool error,
			 const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!rep)
		return;
	if (error)
		rep->errors++;
	else
		rep->warnings++;
	if (rep->len >= sizeof(rep->text) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(rep->text + rep->len, sizeof(rep->text) - rep->len, fmt,
		      ap);
	va_end(ap);
	if (n < 0)
		return;
	rep->len += (size_t)n;
	if (rep->len >= sizeof(rep->text) - 1) {
		rep->len = sizeof(rep->text) - 1;
		return;
	}
	rep->text[rep->len++] = '\n';
	rep->text[rep->len] = '\0';
}

static int node_cmp(const void *a, const void *b)
{
	const struct scenario_node *x = a, *y = b;

	return strcmp(x->id, y->id);
}

int scenario_node_index(const struct scenario *sc, const char *id)
{
	struct scenario_node key = {.id = id};
	struct scenario_node *nd;

	if (!id)
		return -1;
	nd = bsearch(&key, sc->nodes, sc->n, sizeof(*nd), node_cmp);
	return nd ? (int)(nd - sc->nodes) : -1;
}

int scenario_node_out(const struct scenario_node *nd, const char *name)
{
	for (size_t i = 0; i < nd->nouts; i++) {
		if (!strcmp(nd->outs[i].name, name))
			return nd->outs[i].target;
	}
	return -1;
}

const char *scenario_opt_str(const struct scenario_node *nd,
			     const char *name, const char *def)
{
	json_t *v = nd->opts ? json_object_get(nd->opts, name) : NULL;

	return json_is_string(v) ? json_string_value(v) : def;
}

long scenario_opt_int(const struct scenario_node *nd, const char *name,
		      long def)
{
	json_t *v = nd->opts ? json_object_get(nd->opts, name) : NULL;

	return json_is_integer(v) ? (long)json_integer_value(v) : def;
}

void scenario_free(struct scenario *sc)
{
	if (!sc)
		return;
	for (size_t i = 0; i < sc->n; i++)
		free(sc->nodes[i].outs);
	free(sc->nodes);
	json_decref(sc->root);
	free(sc);
}

/* Builds the node index; structural problems go to rep. */
static int build(struct scenario *sc, struct scenario_report *rep)
{
	json_t *nodes = json_object_get(sc->root, "nodes");
	const char *id;
	json_t *nd;
	size_t i = 0;
	int err = 0;

	sc->n = json_object_size(nodes);
	sc->nodes = calloc(sc->n ? sc->n : 1, sizeof(*sc->nodes));
	if (!sc->nodes)
		return -ENOMEM;
	json_object_foreach(nodes, id, nd)
	{
		struct scenario_node *n = &sc->nodes[i++];
		const char *tname = json_string_value(
			json_object_get(nd, "type"));

		n->id = id;
		n->opts = json_object_get(nd, "options");
		if (!tname || scenario_types_find(tname, &n->type)) {
			/* lint reports it; keep a harmless type */
			n->type = NODE_HANGUP;
			err = -EINVAL;
		}
	}
	qsort(sc->nodes, sc->n, sizeof(*sc->nodes), node_cmp);

	for (i = 0; i < sc->n; i++) {
		struct scenario_node *n = &sc->nodes[i];
		json_t *outs = json_object_get(
			json_object_get(nodes, n->id), "outputs");
		const char *oname;
		json_t *target;
		size_t k = 0;

		if (!json_is_object(outs))
			continue;
		n->outs = calloc(json_object_size(outs) + 1,
				 sizeof(*n->outs));
		if (!n->outs)
			return -ENOMEM;
		json_object_foreach(outs, oname, target)
		{
			int t = scenario_node_index(
				sc, json_string_value(target));

			if (t < 0) {
				err = -EINVAL;
				continue;
			}
			n->outs[k].name = oname;
			n->outs[k].target = t;
			k++;
		}
		n->nouts = k;
	}
	sc->start = scenario_node_index(
		sc, json_string_value(json_object_get(sc->root, "start")));
	(void)rep;
	return err;
}

int scenario_parse(struct scenario **scp, const char *json,
		   scenario_ref_h *refh, void *arg,
		   struct scenario_report *rep)
{
	struct scenario *sc;
	json_error_t jerr;
	int err;

	if (!scp || !json)
		return -EINVAL;
	if (rep)
		memset(rep, 0, sizeof(*rep));
	sc = calloc(1, sizeof(*sc));
	if (!sc)
		return -ENOMEM;
	sc->root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	if (!sc->root) {
		scenario_report_add(rep, true,
				    "document: invalid JSON at line %d "
				    "column %d: %s",
				    jerr.line, jerr.column, jerr.text);
		free(sc);
		return -EINVAL;
	}
	/* Structure first: the index is only built over a sane skeleton. */
	err = scenario_lint_structure(sc->root, rep);
	if (!err)
		err = build(sc, rep);
	if (err == -ENOMEM) {
		scenario_free(sc);
		return err;
	}
	if (!err && scenario_lint_graph(sc, refh, arg, rep))
		err = -EINVAL;
	if (err) {
		scenario_free(sc);
		return -EINVAL;
	}
	*scp = sc;
	return 0;
}

const char *scenario_default_json(void)
{
	return "{\"start\":\"queue\",\"nodes\":{"
	       "\"queue\":{\"type\":\"queue\",\"options\":{\"queue\":"
	       "\"default\",\"max_wait\":600},\"outputs\":{\"timeout\":"
	       "\"hangup\"}},"
	       "\"hangup\":{\"type\":\"hangup\",\"options\":{\"code\":480,"
	       "\"reason\":\"Temporarily Unavailable\"}}}}";
}

size_t scenario_node_count(const struct scenario *sc)
{
	return sc->n;
}
