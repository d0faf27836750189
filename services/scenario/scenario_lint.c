/* Scenario lint: names every problem of a document with the node id and a
 * plain sentence, so an administrator can fix them all in one go. Errors
 * refuse the document; warnings (suspicious but legal graphs) are
 * reported and the document is stored. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario_lint.h"
#include "scenario_types.h"

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
			if (!strcmp(key, SCENARIO_OUT_ANSWERED))
				scenario_report_add(
					rep, true,
					"node %s: \"answered\" is not an "
					"output: an answered call ends there",
					id);
			else if (ts->outputs[0])
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
		if ((!strncmp(key, "digit:", 6) ||
		     !strncmp(key, "exit_key:", 9))) {
			const char *k = strchr(key, ':') + 1;

			if (k[1] || scenario_key_index(k[0]) < 0) {
				scenario_report_add(
					rep, true,
					"node %s: output \"%s\" "
					"must name one key: 0-9, * "
					"or #",
					id, key);
				errs++;
			}
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

static bool id_ok(const char *id)
{
	size_t n = strlen(id);

	if (!n || n >= WALK_NODE_MAX)
		return false;
	for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return false;
	}
	return true;
}

bool scenario_lint_node_sound(const char *id, json_t *nd)
{
	const struct type_spec *ts;
	enum node_type t;
	json_t *opts;

	if (!id_ok(id) || !json_is_object(nd) ||
	    scenario_type_find(
		    json_string_value(json_object_get(nd, "type")), &t))
		return false;
	ts = scenario_types_get(t);
	opts = json_object_get(nd, "options");
	if (!opts)
		return true;
	return json_is_object(opts) &&
	       !scenario_types_check(ts->opts, opts, "", ts->name, NULL);
}

/* The top-level recording fields (every "record*" key): checked against
 * their table like a node's options, so a typo ("record_chanels") or a
 * bad value is named. */
static unsigned lint_document_rec(json_t *root, struct scenario_report *rep)
{
	json_t *rec = json_object();
	const char *key;
	unsigned errs;
	json_t *v;

	if (!rec) {
		scenario_report_add(rep, true, "document: out of memory");
		return 1;
	}
	json_object_foreach(root, key, v)
	{
		if (!strncmp(key, "record", 6))
			json_object_set(rec, key, v);
	}
	errs = scenario_types_check(scenario_types_document_rec(), rec,
				    "document", "the scenario", rep);
	json_decref(rec);
	return errs;
}

int scenario_lint_structure(json_t *root, struct scenario_report *rep)
{
	json_t *nodes, *start, *nd, *tz;
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
		    strcmp(key, "name") && strcmp(key, "description") &&
		    strcmp(key, "timezone") && strncmp(key, "record", 6)) {
			scenario_report_add(rep, true,
					    "document: unknown field \"%s\"",
					    key);
			errs++;
		}
	}
	errs += lint_document_rec(root, rep);
	tz = json_object_get(root, "timezone");
	if (tz && (!json_is_string(tz) ||
		   !scenario_tz_valid(json_string_value(tz)))) {
		scenario_report_add(rep, true,
				    "document: \"timezone\" must be an IANA "
				    "time zone such as Europe/Moscow");
		errs++;
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
		char who[96];
		enum node_type t;
		json_t *type, *opts;

		if (!id_ok(id)) {
			scenario_report_add(rep, true,
					    "document: node ids must be 1 to "
					    "64 printable characters");
			errs++;
			continue;
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
			scenario_report_add(
				rep, true, "node %s: \"type\" is missing", id);
			errs++;
			continue;
		}
		if (scenario_type_find(json_string_value(type), &t)) {
			scenario_report_add(rep, true,
					    "node %s: unknown type \"%s\"", id,
					    json_string_value(type));
			errs++;
			continue;
		}
		ts = scenario_types_get(t);
		opts = json_object_get(nd, "options");
		snprintf(who, sizeof(who), "node %s", id);
		if (opts && !json_is_object(opts)) {
			scenario_report_add(rep, true,
					    "node %s: \"options\" must be an "
					    "object",
					    id);
			errs++;
		} else {
			json_t *empty = opts ? NULL : json_object();

			errs += scenario_types_check(ts->opts,
						     opts ? opts : empty, who,
						     ts->name, rep);
			json_decref(empty);
		}
		errs += lint_outputs(id, ts, json_object_get(nd, "outputs"),
				     nodes, rep);
	}
	return (int)errs;
}

/* ---- references ---- */

typedef void(ref_h)(enum scenario_ref kind, const char *name,
		    const struct scenario_node *nd, void *arg);

static void ref(ref_h *h, void *arg, const struct scenario_node *nd,
		enum scenario_ref kind, const char *name)
{
	if (name)
		h(kind, name, nd, arg);
}

static void foreach_ref(const struct scenario *sc, ref_h *h, void *arg)
{
	for (size_t i = 0; i < sc->n; i++) {
		const struct scenario_node *nd = &sc->nodes[i];

		/* The announcement a recorded bridge plays: the node's or
		 * the document's, named by every node that uses it. */
		if (nd->rec.on)
			ref(h, arg, nd, SCENARIO_REF_PROMPT, nd->rec.prompt);
		switch (nd->type) {
		case NODE_SUBSCRIBER:
			if (nd->sub.dest == WALK_DEST_EXTENSION)
				ref(h, arg, nd, SCENARIO_REF_EXTENSION,
				    nd->sub.target);
			break;
		case NODE_FAX:
			ref(h, arg, nd, SCENARIO_REF_FEATURE, "fax");
			ref(h, arg, nd, SCENARIO_REF_FAX_BOX, nd->box.box);
			break;
		case NODE_QUEUE:
			ref(h, arg, nd, SCENARIO_REF_QUEUE, nd->queue.queue);
			ref(h, arg, nd, SCENARIO_REF_PROMPT, nd->queue.moh);
			ref(h, arg, nd, SCENARIO_REF_PROMPT,
			    nd->queue.periodic_prompt);
			ref(h, arg, nd, SCENARIO_REF_PROMPT,
			    nd->queue.entry_prompt);
			break;
		case NODE_SCHEDULE:
			ref(h, arg, nd, SCENARIO_REF_SCHEDULE, nd->ref.name);
			break;
		case NODE_LIST:
			ref(h, arg, nd, SCENARIO_REF_LIST, nd->ref.name);
			break;
		case NODE_IVR:
			ref(h, arg, nd, SCENARIO_REF_PROMPT, nd->ivr.prompt);
			ref(h, arg, nd, SCENARIO_REF_PROMPT,
			    nd->ivr.invalid_prompt);
			break;
		case NODE_ASSISTANT:
			ref(h, arg, nd, SCENARIO_REF_PROMPT, nd->as.prompt);
			ref(h, arg, nd, SCENARIO_REF_PROMPT,
			    nd->as.retry_prompt);
			break;
		case NODE_CONFERENCE:
			ref(h, arg, nd, SCENARIO_REF_CONFERENCE, nd->box.box);
			break;
		case NODE_GREETING:
			ref(h, arg, nd, SCENARIO_REF_PROMPT, nd->box.box);
			break;
		case NODE_VOICEMAIL:
			ref(h, arg, nd, SCENARIO_REF_VOICEMAIL_BOX,
			    nd->box.box);
			ref(h, arg, nd, SCENARIO_REF_PROMPT, nd->box.greeting);
			break;
		case NODE_CRM:
		case NODE_HANGUP:
		default:
			break;
		}
	}
}

struct each_arg {
	scenario_ref_each_h *h;
	void *arg;
};

static void each_cb(enum scenario_ref kind, const char *name,
		    const struct scenario_node *nd, void *arg)
{
	struct each_arg *ea = arg;

	ea->h(kind, name, nd->id, ea->arg);
}

void scenario_refs(const struct scenario *sc, scenario_ref_each_h *h,
		   void *arg)
{
	struct each_arg ea = {h, arg};

	if (sc && h)
		foreach_ref(sc, each_cb, &ea);
}

struct check_arg {
	const struct scenario_objects *objs;
	scenario_ref_h *refh;
	void *arg;
	struct scenario_report *rep;
	unsigned errs;
};

static const char *ref_words(enum scenario_ref kind)
{
	switch (kind) {
	case SCENARIO_REF_FAX_BOX:
		return "fax box";
	case SCENARIO_REF_VOICEMAIL_BOX:
		return "voicemail box";
	case SCENARIO_REF_CONFERENCE:
		return "conference room";
	default:
		return scenario_ref_name(kind);
	}
}

static void check_cb(enum scenario_ref kind, const char *name,
		     const struct scenario_node *nd, void *arg)
{
	struct check_arg *ca = arg;
	bool ok;

	if (ca->refh)
		ok = ca->refh(kind, name, ca->arg);
	else if (ca->objs && scenario_ref_is_object(kind))
		ok = scenario_objects_has(ca->objs, kind, name);
	else
		return;
	if (ok)
		return;
	if (kind == SCENARIO_REF_FEATURE)
		scenario_report_add(ca->rep, true,
				    "node %s: the tenant has not enabled the "
				    "paid \"%s\" option",
				    nd->id, name);
	else
		scenario_report_add(ca->rep, true,
				    "node %s: %s \"%s\" does not exist",
				    nd->id, ref_words(kind), name);
	ca->errs++;
}

/* ---- graph ---- */

static void mark_reachable(const struct scenario *sc, int i, bool *seen,
			   int *stack)
{
	/* Iterative DFS: graphs of thousands of nodes must not blow the
	 * stack. */
	size_t top = 0;

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
}

/* An untyped node (unknown type, already an error) counts as waiting:
 * the loop rule must not guess what it would have been. */
static bool waits(const struct scenario_node *nd)
{
	return nd->untyped || scenario_types_get(nd->type)->waits;
}

/* Tarjan's strongly connected components over the nodes that do not
 * wait, iteratively. Every component with a cycle is a loop a call would
 * spin in without ever waiting for the caller. */
struct tarjan {
	const struct scenario *sc;
	int *index, *low, *stack, *cs_node;
	size_t *cs_edge;
	bool *on;
	int next;
	size_t top, ctop;
	struct scenario_report *rep;
	unsigned errs;
};

static void report_loop(struct tarjan *t, int root)
{
	char path[512];
	size_t len = 0, first = t->top;
	bool self = false;

	while (first > 0 && t->stack[first - 1] != root)
		first--;
	first--;
	if (t->top - first == 1) {
		const struct scenario_node *nd = &t->sc->nodes[root];

		for (size_t k = 0; k < nd->nouts; k++)
			self |= nd->outs[k].target == root;
		if (!self) {
			t->on[root] = false;
			t->top = first;
			return;
		}
	}
	path[0] = '\0';
	for (size_t i = first; i < t->top; i++) {
		int v = t->stack[i];

		t->on[v] = false;
		if (len < sizeof(path) - 80)
			len += (size_t)snprintf(path + len, sizeof(path) - len,
						"%s%s", i > first ? ", " : "",
						t->sc->nodes[v].id);
	}
	t->top = first;
	scenario_report_add(t->rep, true,
			    "node %s: is in a loop (%s) where no node waits "
			    "for the caller (no prompt, input or ring): a "
			    "call would spin",
			    t->sc->nodes[root].id, path);
	t->errs++;
}

static void tarjan_from(struct tarjan *t, int v0)
{
	t->ctop = 0;
	t->cs_node[t->ctop] = v0;
	t->cs_edge[t->ctop++] = 0;
	t->index[v0] = t->low[v0] = t->next++;
	t->stack[t->top++] = v0;
	t->on[v0] = true;
	while (t->ctop) {
		int v = t->cs_node[t->ctop - 1];
		const struct scenario_node *nd = &t->sc->nodes[v];
		size_t *e = &t->cs_edge[t->ctop - 1];

		if (*e < nd->nouts) {
			int w = nd->outs[(*e)++].target;

			if (waits(&t->sc->nodes[w]))
				continue;
			if (t->index[w] < 0) {
				t->index[w] = t->low[w] = t->next++;
				t->stack[t->top++] = w;
				t->on[w] = true;
				t->cs_node[t->ctop] = w;
				t->cs_edge[t->ctop++] = 0;
			} else if (t->on[w] && t->index[w] < t->low[v]) {
				t->low[v] = t->index[w];
			}
			continue;
		}
		if (t->low[v] == t->index[v])
			report_loop(t, v);
		t->ctop--;
		if (t->ctop) {
			int u = t->cs_node[t->ctop - 1];

			if (t->low[v] < t->low[u])
				t->low[u] = t->low[v];
		}
	}
}

static unsigned lint_loops(const struct scenario *sc,
			   struct scenario_report *rep)
{
	struct tarjan t = {.sc = sc, .rep = rep};
	size_t n = sc->n;
	unsigned errs;

	t.index = malloc(n * sizeof(int));
	t.low = malloc(n * sizeof(int));
	t.stack = malloc(n * sizeof(int));
	t.cs_node = malloc(n * sizeof(int));
	t.cs_edge = malloc(n * sizeof(size_t));
	t.on = calloc(n, sizeof(bool));
	if (!t.index || !t.low || !t.stack || !t.cs_node || !t.cs_edge ||
	    !t.on) {
		scenario_report_add(rep, true, "document: out of memory");
		errs = 1;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		t.index[i] = -1;
	for (size_t i = 0; i < n; i++) {
		if (t.index[i] < 0 && !waits(&sc->nodes[i]))
			tarjan_from(&t, (int)i);
	}
	errs = t.errs;
out:
	free(t.index);
	free(t.low);
	free(t.stack);
	free(t.cs_node);
	free(t.cs_edge);
	free(t.on);
	return errs;
}

/* ---- chains of pure nodes ---- */

/* The arrows the walk follows from a pure node (scenario_walk.c,
 * enter()): target node index, or -1. */
static int pure_next(const struct scenario_node *nd, int i)
{
	static const enum out_word sched[2] = {O_MATCH, O_NO_MATCH};
	static const enum out_word list[2] = {O_IN_LIST, O_NOT_IN_LIST};

	return nd->out[(nd->type == NODE_SCHEDULE ? sched : list)[i]];
}

/* A step follows pure nodes and stops at the first node that waits; it
 * may visit WALK_MAX_HOPS nodes, that one included, then ends the call
 * with 500 "Scenario Loop". Longest visits from each pure node, by an
 * iterative depth-first search over pure nodes (arrows back into the
 * path are loops, refused by lint_loops, and left out here). */
struct chains {
	const struct scenario *sc;
	unsigned *len; /* nodes one step visits from here; 0 not known */
	int *next;     /* the node after this one on the longest visit */
	uint8_t *mark; /* 0 new, 1 on the path, 2 done */
	int *stk;      /* the path ... */
	uint8_t *edge; /* ... and the arrow (0, 1) to follow next of each */
	struct scenario_report *rep;
	unsigned errs;
};

static void chains_from(struct chains *c, int v0)
{
	size_t top = 0;

	c->stk[top] = v0;
	c->edge[top++] = 0;
	c->mark[v0] = 1;
	c->len[v0] = 1;
	c->next[v0] = -1;
	while (top) {
		int v = c->stk[top - 1];
		const struct scenario_node *nd = &c->sc->nodes[v];
		uint8_t *e = &c->edge[top - 1];
		unsigned l;
		int w;

		if (*e == 2) {
			c->mark[v] = 2;
			top--;
			continue;
		}
		w = pure_next(nd, (*e)++);
		if (w < 0 || c->mark[w] == 1)
			continue;
		if (!scenario_node_pure(&c->sc->nodes[w])) {
			l = 2; /* this one, then the one the step stops at */
		} else if (!c->mark[w]) {
			/* Descend; this edge is looked at again once w is
			 * done. */
			(*e)--;
			c->stk[top] = w;
			c->edge[top++] = 0;
			c->mark[w] = 1;
			c->len[w] = 1;
			c->next[w] = -1;
			continue;
		} else {
			l = c->len[w] + 1;
		}
		if (l > c->len[v]) {
			c->len[v] = l;
			c->next[v] = w;
		}
	}
}

static void report_chain(struct chains *c, int head)
{
	const struct scenario *sc = c->sc;
	char path[160];
	size_t len = 0, k = 0, count = c->len[head];

	path[0] = '\0';
	for (int v = head; v >= 0 && k < count; v = c->next[v], k++) {
		/* First two and last two ids: enough to find the chain, and
		 * the line stays within one report line. */
		if (k >= 2 && k + 2 < count) {
			if (k == 2)
				len += (size_t)snprintf(path + len,
							sizeof(path) - len,
							" -> ...");
			continue;
		}
		len += (size_t)snprintf(path + len, sizeof(path) - len,
					"%s%.32s", k ? " -> " : "",
					sc->nodes[v].id);
		if (len >= sizeof(path))
			len = sizeof(path) - 1;
		if (!scenario_node_pure(&sc->nodes[v]))
			break;
	}
	scenario_report_add(c->rep, true,
			    "node %s: a call passes %zu nodes in one step "
			    "here without waiting for the caller (%s), more "
			    "than the %d the walk follows: every such call "
			    "would end with 500 \"Scenario Loop\" (shorten "
			    "the chain of schedules and lists, or put a "
			    "node that waits in it)",
			    sc->nodes[head].id, count, path, WALK_MAX_HOPS);
	c->errs++;
}

static unsigned lint_chains(const struct scenario *sc,
			    struct scenario_report *rep)
{
	struct chains c = {.sc = sc, .rep = rep};
	size_t n = sc->n;
	bool *fed; /* a pure node whose chain is too long leads here */

	c.len = calloc(n, sizeof(*c.len));
	c.next = malloc(n * sizeof(*c.next));
	c.mark = calloc(n, sizeof(*c.mark));
	c.stk = malloc(n * sizeof(*c.stk));
	c.edge = malloc(n * sizeof(*c.edge));
	fed = calloc(n, sizeof(*fed));
	if (!c.len || !c.next || !c.mark || !c.stk || !c.edge || !fed) {
		scenario_report_add(rep, true, "document: out of memory");
		c.errs = 1;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		c.next[i] = -1;
	for (size_t i = 0; i < n; i++) {
		if (!c.mark[i] && scenario_node_pure(&sc->nodes[i]))
			chains_from(&c, (int)i);
	}
	/* Report each too-long chain once, at its head: the nodes after
	 * the head are too long only because of it. */
	for (size_t i = 0; i < n; i++) {
		if (!scenario_node_pure(&sc->nodes[i]) ||
		    c.len[i] <= WALK_MAX_HOPS)
			continue;
		for (int e = 0; e < 2; e++) {
			int w = pure_next(&sc->nodes[i], e);

			if (w >= 0 && (size_t)w != i)
				fed[w] = true;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (scenario_node_pure(&sc->nodes[i]) &&
		    c.len[i] > WALK_MAX_HOPS && !fed[i])
			report_chain(&c, (int)i);
	}
out:
	free(c.len);
	free(c.next);
	free(c.mark);
	free(c.stk);
	free(c.edge);
	free(fed);
	return c.errs;
}

static unsigned lint_synonyms(const struct scenario_node *nd,
			      struct scenario_report *rep)
{
	const struct n_assistant *as = &nd->as;
	unsigned errs = 0;

	if (as->nphrases > SCENARIO_PHRASES_MAX) {
		scenario_report_add(rep, true,
				    "node %s: %zu phrases (at most %d)",
				    nd->id, as->nphrases,
				    SCENARIO_PHRASES_MAX);
		errs++;
	}
	for (size_t a = 0; a < as->nphrases; a++) {
		if (as->phrases[a].nsynonyms > SCENARIO_SYNONYMS_MAX) {
			scenario_report_add(
				rep, true,
				"node %s: phrase \"%s\" has %zu synonyms with "
				"its name (at most %d)",
				nd->id, as->phrases[a].name,
				as->phrases[a].nsynonyms,
				SCENARIO_SYNONYMS_MAX);
			errs++;
		}
		for (size_t i = 0; i < as->phrases[a].nsynonyms; i++) {
			if (strlen(as->phrases[a].synonyms[i]) >
			    SCENARIO_SYNONYM_LEN_MAX) {
				scenario_report_add(
					rep, true,
					"node %s: a synonym of phrase \"%s\" is "
					"longer than %d bytes",
					nd->id, as->phrases[a].name,
					SCENARIO_SYNONYM_LEN_MAX);
				errs++;
			}
		}
	}
	for (size_t a = 0; a < as->nphrases; a++) {
		for (size_t i = 0; i < as->phrases[a].nsynonyms; i++) {
			char x[256];

			scenario_text_fold(as->phrases[a].synonyms[i], x,
					   sizeof(x));
			for (size_t b = a + 1; b < as->nphrases; b++) {
				for (size_t j = 0;
				     j < as->phrases[b].nsynonyms; j++) {
					char y[256];

					scenario_text_fold(
						as->phrases[b].synonyms[j], y,
						sizeof(y));
					if (strcmp(x, y))
						continue;
					scenario_report_add(
						rep, true,
						"node %s: \"%s\" is a synonym "
						"of both phrase \"%s\" and "
						"phrase \"%s\"",
						nd->id,
						as->phrases[a].synonyms[i],
						as->phrases[a].name,
						as->phrases[b].name);
					errs++;
				}
			}
		}
	}
	return errs;
}

static void warn_missing(const struct scenario_node *nd, enum out_word w,
			 const char *what, struct scenario_report *rep)
{
	if (nd->out[w] < 0)
		scenario_report_add(rep, false,
				    "node %s: no output \"%s\": calls that %s "
				    "are hung up",
				    nd->id, scenario_out_words[w], what);
}

static unsigned lint_schedule(const struct scenario_node *nd,
			      const struct scenario_objects *objs,
			      struct scenario_report *rep)
{
	const struct sched *s = nd->ref.inl;
	char what[96];

	if (nd->ref.name) {
		const struct scenario_object *o = scenario_objects_find(
			objs, SCENARIO_REF_SCHEDULE, nd->ref.name);

		if (!o)
			return 0;
		s = o->sched;
		snprintf(what, sizeof(what), "schedule \"%.64s\"",
			 nd->ref.name);
	} else {
		snprintf(what, sizeof(what), "the schedule");
	}
	if (!s)
		return 0;
	if (s->override == SCHED_OPEN || s->override == SCHED_CLOSED) {
		scenario_report_add(rep, false,
				    "node %s: %s is forced %s by its manual "
				    "override",
				    nd->id, what,
				    s->override == SCHED_OPEN ? "open"
							      : "closed");
		return 0;
	}
	if (s->never) {
		scenario_report_add(rep, true,
				    "node %s: %s can never match: no window "
				    "or exception has working hours",
				    nd->id, what);
		return 1;
	}
	return 0;
}

static void lint_list(const struct scenario_node *nd,
		      const struct scenario_objects *objs,
		      struct scenario_report *rep)
{
	const struct nlist *l = nd->ref.inl;

	if (nd->ref.name) {
		const struct scenario_object *o = scenario_objects_find(
			objs, SCENARIO_REF_LIST, nd->ref.name);

		l = o ? o->list : NULL;
	}
	if (l && !scenario_list_size(l) && !scenario_list_match(l, ""))
		scenario_report_add(rep, false,
				    "node %s: the list is empty: every call "
				    "takes \"not_in_list\"",
				    nd->id);
}

static unsigned lint_node(const struct scenario_node *nd,
			  const struct scenario_objects *objs,
			  struct scenario_report *rep)
{
	unsigned errs = 0;

	switch (nd->type) {
	case NODE_SUBSCRIBER:
		if (nd->sub.timeout_s && nd->out[O_NO_ANSWER] < 0 &&
		    nd->out[O_NEXT] < 0) {
			scenario_report_add(
				rep, true,
				"node %s: has a timeout of %u s but "
				"no output \"no_answer\" or "
				"\"next\" for it",
				nd->id, nd->sub.timeout_s);
			errs++;
		}
		if (!nd->sub.timeout_s && nd->out[O_NO_ANSWER] >= 0)
			scenario_report_add(rep, false,
					    "node %s: output \"no_answer\" is "
					    "never taken: the node has no "
					    "timeout",
					    nd->id);
		break;
	case NODE_CRM:
		if (nd->out[O_NO_ANSWER] < 0 && nd->out[O_NEXT] < 0) {
			scenario_report_add(
				rep, true,
				"node %s: has a timeout of %u s but "
				"no output \"no_answer\" or "
				"\"next\" for it",
				nd->id, nd->crm.timeout_s);
			errs++;
		}
		if (nd->out[O_NOT_FOUND] < 0 && nd->out[O_NEXT] < 0)
			warn_missing(nd, O_NOT_FOUND,
				     "the CRM knows no owner for", rep);
		break;
	case NODE_QUEUE:
		if (nd->out[O_TIMEOUT] < 0) {
			scenario_report_add(rep, true,
					    "node %s: a queue needs an exit "
					    "route (output \"timeout\") so no "
					    "call is lost",
					    nd->id);
			errs++;
		}
		break;
	case NODE_IVR:
		if (nd->out[O_TIMEOUT] < 0) {
			scenario_report_add(
				rep, true,
				"node %s: waits %u s for input but "
				"has no output \"timeout\" for it",
				nd->id, nd->ivr.timeout_ms / 1000);
			errs++;
		}
		/* "Press 1 for sales" beside 1xx extensions is legal: the
		 * walk lets time decide (scenario_walk.c, ivr_digit), which
		 * delays the choice; say so. */
		for (int k = 0; k < 10 && (nd->ivr.ext_dialing ||
						 nd->ivr.room_dialing);
		     k++) {
			if (nd->key[k] < 0 || !(nd->ivr.ext_keys & (1u << k)))
				continue;
			if (nd->ivr.ext_max <= 1)
				scenario_report_add(
					rep, false,
					"node %s: digit %d is a menu choice "
					"and a one-digit extension: the "
					"choice is taken, extension %d can "
					"never be dialled",
					nd->id, k, k);
			else
				scenario_report_add(
					rep, false,
					"node %s: digit %d is a menu choice "
					"and also starts direct extension "
					"dialing: after %d the menu waits "
					"inter_digit_ms (%u ms) for another "
					"digit before it takes the choice",
					nd->id, k, k, nd->ivr.inter_digit_ms);
		}
		{
			bool any = nd->ivr.ext_dialing ||
				   nd->ivr.room_dialing;

			for (int k = 0; k < KEY_COUNT; k++)
				any |= nd->key[k] >= 0;
			if (!any)
				scenario_report_add(rep, false,
						    "node %s: the menu has no "
						    "choices: every call "
						    "times out",
						    nd->id);
		}
		break;
	case NODE_ASSISTANT:
		if (nd->out[O_NO_INPUT] < 0 && nd->out[O_NOT_RECOGNIZED] < 0) {
			scenario_report_add(
				rep, true,
				"node %s: waits %u s for speech but "
				"has no output \"no_input\" or "
				"\"not_recognized\" for it",
				nd->id, nd->as.timeout_ms / 1000);
			errs++;
		}
		errs += lint_synonyms(nd, rep);
		break;
	case NODE_SCHEDULE:
		errs += lint_schedule(nd, objs, rep);
		warn_missing(nd, O_MATCH, "arrive in working time", rep);
		warn_missing(nd, O_NO_MATCH, "arrive outside working time",
			     rep);
		break;
	case NODE_LIST:
		lint_list(nd, objs, rep);
		warn_missing(nd, O_IN_LIST, "are in the list", rep);
		warn_missing(nd, O_NOT_IN_LIST, "are not in the list", rep);
		break;
	default:
		break;
	}
	if (!scenario_type_supported(nd->type))
		scenario_report_add(rep, false,
				    "node %s: %s is stored but not supported "
				    "on live calls yet",
				    nd->id, scenario_type_name(nd->type));
	return errs;
}

unsigned scenario_lint_graph(const struct scenario *sc,
			     const struct scenario_objects *objs,
			     scenario_ref_h *refh, void *arg,
			     struct scenario_report *rep)
{
	struct check_arg ca = {objs, refh, arg, rep, 0};
	bool *seen = calloc(sc->n, sizeof(bool));
	int *stack = malloc(sc->n * sizeof(int));
	unsigned errs = 0;

	if (!seen || !stack) {
		free(seen);
		free(stack);
		scenario_report_add(rep, true, "document: out of memory");
		return 1;
	}
	/* Without a start node (already an error) every node would read
	 * as unreachable: say nothing more. */
	if (sc->start >= 0)
		mark_reachable(sc, sc->start, seen, stack);
	for (size_t i = 0; i < sc->n; i++) {
		if (!seen[i] && sc->start >= 0) {
			scenario_report_add(rep, true,
					    "node %s: is not reachable from "
					    "the start node",
					    sc->nodes[i].id);
			errs++;
		}
		if (!sc->nodes[i].malformed)
			errs += lint_node(&sc->nodes[i], objs, rep);
	}
	free(seen);
	free(stack);
	errs += lint_loops(sc, rep);
	errs += lint_chains(sc, rep);
	foreach_ref(sc, check_cb, &ca);
	return errs + ca.errs;
}
