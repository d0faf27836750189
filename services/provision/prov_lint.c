/* Lint on save: runs the scenario library's parser and linter over a
 * document with every reference it makes answered from this tenant's
 * Redis data: prompts and extensions from their sets, queues, lists,
 * schedules, boxes and rooms from the objects hash (whose contents also
 * feed the rules that need them, e.g. a schedule that never matches), and
 * features from the tenant hash. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_keys.h"
#include "pbx_log.h"
#include "prov.h"
#include "scenario.h"

/* The resolver's view of one tenant; err keeps the first storage
 * failure, which is reported instead of a bogus lint finding. */
struct lint_ctx {
	struct provision *pv;
	const char *tenant;
	const struct scenario_objects *objs;
	int err;
};

static bool in_set(struct lint_ctx *c, const char *set, const char *name)
{
	char key[PBX_KEY_MAX];
	long long member = 0;

	if (pbx_key(key, sizeof(key), c->tenant, "%s", set))
		return false;
	c->err = prov_store_int(c->pv, &member, "SISMEMBER %s %s", key, name);
	return c->err || member;
}

static bool resolve(enum scenario_ref kind, const char *name, void *arg)
{
	struct lint_ctx *c = arg;
	bool on = false;

	/* After a storage failure the verdict is thrown away: stop asking. */
	if (c->err)
		return true;
	/* Every stored name is an id; anything else cannot exist. */
	if (!name || !pbx_id_valid(name))
		return false;
	switch (kind) {
	case SCENARIO_REF_PROMPT:
		return in_set(c, "prompts", name);
	case SCENARIO_REF_EXTENSION:
		return in_set(c, "exts", name);
	case SCENARIO_REF_FEATURE:
		c->err = prov_feature_enabled(c->pv, c->tenant, name, &on);
		return c->err || on;
	default:
		break;
	}
	if (scenario_ref_is_object(kind))
		return scenario_objects_has(c->objs, kind, name);
	/* A kind newer than this service: do not refuse documents for a
	 * check it cannot make. */
	PLOG_WARN("lint asked about reference kind %d, unknown here",
		  (int)kind);
	return true;
}

int prov_lint_warnings(struct prov_reply *r, const char *text)
{
	static const char pfx[] = "warning: ";
	const char *p = text;
	int err = 0;

	while (*p && !err) {
		size_t n = strcspn(p, "\n");

		if (n > sizeof(pfx) - 1 && !strncmp(p, pfx, sizeof(pfx) - 1))
			err = prov_strv_add(&r->warnings, "%.*s",
					    (int)(n - (sizeof(pfx) - 1)),
					    p + sizeof(pfx) - 1);
		else if (n)
			err = prov_strv_add(&r->warnings, "%.*s", (int)n, p);
		p += n;
		if (*p)
			p++;
	}
	return err;
}

static void trim_newlines(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

int prov_lint(struct provision *pv, const char *tenant, const char *json,
	      struct prov_reply *r)
{
	struct lint_ctx ctx = {.pv = pv, .tenant = tenant};
	struct scenario_objects *objs = NULL;
	struct scenario_report *rep;
	struct scenario *sc = NULL;
	int err;

	/* 8 KiB: too big for the stack of a bus callback. */
	rep = calloc(1, sizeof(*rep));
	if (!rep)
		return -ENOMEM;
	err = prov_object_load(pv, tenant, &objs);
	if (err)
		goto out;
	ctx.objs = objs;
	err = scenario_parse_objs(&sc, json, objs, resolve, &ctx, rep);
	scenario_free(sc);
	rep->text[sizeof(rep->text) - 1] = '\0';
	if (ctx.err) {
		err = ctx.err;
	} else if (err == -EINVAL) {
		trim_newlines(rep->text);
		err = prov_fail(r, -EINVAL, "%s",
				rep->text[0] ? rep->text
					     : "the scenario is not valid");
	} else if (!err) {
		err = prov_lint_warnings(r, rep->text);
	}
out:
	scenario_objects_free(objs);
	free(rep);
	return err;
}

/* What prov_lint_runnable collects: the references of one version that
 * no longer resolve. */
struct runnable_ctx {
	struct lint_ctx lint;
	char *list; /* "node g: prompt welcome, ..." (open_memstream) */
	size_t len;
	FILE *f;
	unsigned missing;
};

static void runnable_ref(enum scenario_ref kind, const char *name,
			 const char *node, void *arg)
{
	struct runnable_ctx *c = arg;

	/* A feature switched off is allowed to stay in a version (the
	 * walk refuses such calls, and switching it off warned). */
	if (kind == SCENARIO_REF_FEATURE || resolve(kind, name, &c->lint))
		return;
	if (c->missing++ < 5)
		fprintf(c->f, "%snode %s: %s %s", c->missing > 1 ? ", " : "",
			node ? node : "?", scenario_ref_name(kind), name);
}

/* Structure only: the references are checked one by one afterwards. */
static bool any_ref(enum scenario_ref kind, const char *name, void *arg)
{
	(void)kind;
	(void)name;
	(void)arg;
	return true;
}

int prov_lint_runnable(struct provision *pv, const char *tenant,
		       const char *name, long long version,
		       struct prov_reply *r)
{
	struct runnable_ctx c = {.lint = {.pv = pv, .tenant = tenant}};
	struct scenario_objects *objs = NULL;
	struct scenario *sc = NULL;
	char *json = NULL;
	int err;

	err = prov_scenario_load(pv, tenant, name, version, &json);
	/* No such version: the caller's own lookup says so. A document
	 * today's library cannot parse is the router's to report. */
	if (err || !json || scenario_parse(&sc, json, any_ref, NULL, NULL))
		goto out;
	err = prov_object_load(pv, tenant, &objs);
	if (err)
		goto out;
	c.lint.objs = objs;
	c.f = open_memstream(&c.list, &c.len);
	if (!c.f) {
		err = -ENOMEM;
		goto out;
	}
	scenario_refs(sc, runnable_ref, &c);
	if (c.missing > 5)
		fprintf(c.f, " and %u more", c.missing - 5);
	fclose(c.f);
	if (c.lint.err)
		err = c.lint.err;
	else if (c.missing)
		err = prov_fail(r, -EEXIST,
				"scenario %s v%lld uses what no longer exists "
				"(%s); put a version without it",
				name, version, c.list ? c.list : "?");
out:
	free(c.list);
	scenario_objects_free(objs);
	scenario_free(sc);
	free(json);
	return err;
}
