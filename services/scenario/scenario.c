/* Scenario documents: parses the JSON graph into an indexed, immutable
 * object (nodes sorted by id, outputs resolved to node indexes, options
 * compiled), running every check of scenario_lint.c before accepting it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario_internal.h"
#include "scenario_lint.h"
#include "scenario_types.h"

const char *const scenario_out_words[O_WORDS] = {
	[O_NEXT] = SCENARIO_OUT_NEXT,
	[O_NO_ANSWER] = SCENARIO_OUT_NO_ANSWER,
	[O_BUSY] = SCENARIO_OUT_BUSY,
	[O_UNAVAILABLE] = SCENARIO_OUT_UNAVAILABLE,
	[O_TIMEOUT] = SCENARIO_OUT_TIMEOUT,
	[O_INVALID] = SCENARIO_OUT_INVALID,
	[O_EXTENSION] = SCENARIO_OUT_EXTENSION,
	[O_FULL] = SCENARIO_OUT_FULL,
	[O_NO_AGENTS] = SCENARIO_OUT_NO_AGENTS,
	[O_MATCH] = SCENARIO_OUT_MATCH,
	[O_NO_MATCH] = SCENARIO_OUT_NO_MATCH,
	[O_IN_LIST] = SCENARIO_OUT_IN_LIST,
	[O_NOT_IN_LIST] = SCENARIO_OUT_NOT_IN_LIST,
	[O_NOT_RECOGNIZED] = SCENARIO_OUT_NOT_RECOGNIZED,
	[O_NO_INPUT] = SCENARIO_OUT_NO_INPUT,
	[O_NOT_FOUND] = SCENARIO_OUT_NOT_FOUND,
	[O_CRM_ERROR] = SCENARIO_OUT_CRM_ERROR,
	[O_FAILED] = SCENARIO_OUT_FAILED,
};

const char scenario_key_chars[KEY_COUNT + 1] = "0123456789*#";

int scenario_key_index(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c == '*')
		return 10;
	if (c == '#')
		return 11;
	return -1;
}

void scenario_report_add(struct scenario_report *rep, bool error,
			 const char *fmt, ...)
{
	static const char more[] = "...\n";
	char line[512];
	size_t room, n, pre;
	va_list ap;
	int r;

	if (!rep)
		return;
	if (error)
		rep->errors++;
	else
		rep->warnings++;
	pre = error ? 0 : strlen("warning: ");
	if (!error)
		memcpy(line, "warning: ", pre);
	va_start(ap, fmt);
	r = vsnprintf(line + pre, sizeof(line) - pre, fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	n = strlen(line);
	/* Cut already: the text ends with the marker (no sentence of ours
	 * ends with "..."). */
	if (rep->len >= 4 && !memcmp(rep->text + rep->len - 4, more, 4))
		return;
	room = sizeof(rep->text) - sizeof(more) - rep->len;
	if (n + 1 > room) {
		/* Cut at a line boundary so no half sentence is shown; the
		 * marker always fits (its room is reserved). */
		memcpy(rep->text + rep->len, more, sizeof(more));
		rep->len += sizeof(more) - 1;
		return;
	}
	memcpy(rep->text + rep->len, line, n);
	rep->len += n;
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
	size_t lo = 0, hi = sc->n;

	if (!id)
		return -1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(id, sc->nodes[mid].id);

		if (!c)
			return (int)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

int scenario_node_out(const struct scenario_node *nd, const char *name)
{
	for (size_t i = 0; i < nd->nouts; i++) {
		if (!strcmp(nd->outs[i].name, name))
			return nd->outs[i].target;
	}
	return -1;
}

void scenario_free(struct scenario *sc)
{
	if (!sc)
		return;
	for (size_t i = 0; i < sc->n; i++) {
		scenario_compile_free(&sc->nodes[i]);
		free(sc->nodes[i].outs);
	}
	free(sc->nodes);
	json_decref(sc->root);
	free(sc);
}

/* Fills the outcome-word and key tables of one node from its outputs. */
static void index_outputs(struct scenario_node *n)
{
	for (int w = 0; w < O_WORDS; w++)
		n->out[w] = -1;
	for (int k = 0; k < KEY_COUNT; k++)
		n->key[k] = -1;
	for (size_t i = 0; i < n->nouts; i++) {
		const char *name = n->outs[i].name, *colon;
		int k;

		colon = strchr(name, ':');
		if (colon && colon[1] && !colon[2] &&
		    (!strncmp(name, "digit:", 6) ||
		     !strncmp(name, "exit_key:", 9))) {
			k = scenario_key_index(colon[1]);
			if (k >= 0)
				n->key[k] = n->outs[i].target;
			continue;
		}
		for (int w = 0; w < O_WORDS; w++) {
			if (!strcmp(name, scenario_out_words[w])) {
				n->out[w] = n->outs[i].target;
				break;
			}
		}
	}
}

/* Builds the node index over any document with a "nodes" object, also
 * one the structure lint refused, so the graph rules can still report:
 * arrows to missing nodes are left out, unsound nodes are flagged. */
static int build(struct scenario *sc)
{
	json_t *nodes = json_object_get(sc->root, "nodes");
	const char *id;
	json_t *nd;
	size_t i = 0;

	sc->n = json_object_size(nodes);
	sc->nodes = calloc(sc->n ? sc->n : 1, sizeof(*sc->nodes));
	if (!sc->nodes)
		return -ENOMEM;
	json_object_foreach(nodes, id, nd)
	{
		struct scenario_node *n = &sc->nodes[i++];

		n->id = id;
		n->opts = json_object_get(nd, "options");
		if (!json_is_object(n->opts))
			n->opts = NULL;
		if (scenario_type_find(
			    json_string_value(json_object_get(nd, "type")),
			    &n->type)) {
			n->type = NODE_HANGUP; /* lint refused it already */
			n->untyped = true;
		}
		n->malformed = !scenario_lint_node_sound(id, nd);
	}
	qsort(sc->nodes, sc->n, sizeof(*sc->nodes), node_cmp);

	for (i = 0; i < sc->n; i++) {
		struct scenario_node *n = &sc->nodes[i];
		json_t *outs = json_object_get(json_object_get(nodes, n->id),
					       "outputs");
		const char *oname;
		json_t *target;
		size_t k = 0;

		if (json_object_size(outs)) {
			n->outs = calloc(json_object_size(outs),
					 sizeof(*n->outs));
			if (!n->outs)
				return -ENOMEM;
		}
		json_object_foreach(outs, oname, target)
		{
			int t = scenario_node_index(sc,
						    json_string_value(target));

			if (t < 0)
				continue;
			n->outs[k].name = oname;
			n->outs[k].target = t;
			k++;
		}
		n->nouts = k;
		index_outputs(n);
	}
	sc->start = scenario_node_index(
		sc, json_string_value(json_object_get(sc->root, "start")));
	sc->timezone =
		json_string_value(json_object_get(sc->root, "timezone"));
	return 0;
}

int scenario_parse_objs(struct scenario **scp, const char *json,
			const struct scenario_objects *objs,
			scenario_ref_h *refh, void *arg,
			struct scenario_report *rep)
{
	struct scenario *sc;
	json_error_t jerr;
	unsigned errs = 0;
	int err, n;

	if (rep)
		memset(rep, 0, sizeof(*rep));
	if (!scp || !json)
		return -EINVAL;
	sc = calloc(1, sizeof(*sc));
	if (!sc)
		return -ENOMEM;
	sc->start = -1;
	sc->root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	if (!sc->root) {
		scenario_report_add(rep, true,
				    "document: invalid JSON at line %d "
				    "column %d: %s",
				    jerr.line, jerr.column, jerr.text);
		free(sc);
		return -EINVAL;
	}
	/* Every pass runs whatever the earlier ones found (a missing node
	 * must not hide an unreachable one); only a document without a
	 * graph stops here. */
	n = scenario_lint_structure(sc->root, rep);
	if (n < 0) {
		err = n;
	} else {
		errs = (unsigned)n;
		err = build(sc);
	}
	if (!err) {
		n = scenario_compile(sc, rep);
		if (n < 0)
			err = n;
		else
			errs += (unsigned)n;
	}
	if (!err)
		errs += scenario_lint_graph(sc, objs, refh, arg, rep);
	if (!err && errs)
		err = -EINVAL;
	if (err) {
		scenario_free(sc);
		return err == -ENOMEM ? -ENOMEM : -EINVAL;
	}
	*scp = sc;
	return 0;
}

int scenario_parse(struct scenario **scp, const char *json,
		   scenario_ref_h *refh, void *arg,
		   struct scenario_report *rep)
{
	return scenario_parse_objs(scp, json, NULL, refh, arg, rep);
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
	return sc ? sc->n : 0;
}

const char *scenario_start(const struct scenario *sc)
{
	return sc && sc->start >= 0 ? sc->nodes[sc->start].id : NULL;
}

bool scenario_start_is_constant(const struct scenario *sc)
{
	const struct scenario_node *nd;

	if (!sc || sc->start < 0)
		return false;
	nd = &sc->nodes[sc->start];
	return nd->type == NODE_HANGUP && !nd->untyped && !nd->malformed;
}

static const char *sched_zone(const struct scenario_node *nd,
			      const struct scenario_objects *objs)
{
	const struct scenario_object *o;

	if (!nd->ref.name)
		return nd->ref.inl ? ((struct sched *)nd->ref.inl)->zone
				   : NULL;
	o = scenario_objects_find(objs, SCENARIO_REF_SCHEDULE, nd->ref.name);
	return o ? o->sched->zone : NULL;
}

const char *scenario_timezone(const struct scenario *sc,
			      const struct scenario_objects *objs)
{
	const char *zone = NULL;
	size_t head = 0, tail = 0;
	bool *seen;
	int *q;

	if (!sc)
		return "UTC";
	if (sc->timezone)
		return sc->timezone;
	if (sc->start < 0)
		return "UTC";
	seen = calloc(sc->n, sizeof(*seen));
	q = malloc(sc->n * sizeof(*q));
	if (!seen || !q)
		goto out;
	q[tail++] = sc->start;
	seen[sc->start] = true;
	while (head < tail && !zone) {
		const struct scenario_node *nd = &sc->nodes[q[head++]];

		if (nd->type == NODE_SCHEDULE)
			zone = sched_zone(nd, objs);
		for (size_t k = 0; k < nd->nouts; k++) {
			int t = nd->outs[k].target;

			if (!seen[t]) {
				seen[t] = true;
				q[tail++] = t;
			}
		}
	}
out:
	free(seen);
	free(q);
	return zone ? zone : "UTC";
}
