/* Helpers for the scenario suites: documents written with single quotes
 * (turned into JSON here, so tests stay readable), loading, and one-line
 * walk steps. */
#ifndef SCEN_TEST_H
#define SCEN_TEST_H
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pbx_test.h"
#include "scenario.h"
#include "scenario_sim.h"
#include "scenario_walk.h"

/* 'x' -> "x". Four rotating buffers so a few may be live at once. */
static inline const char *J(const char *s)
{
	static char buf[4][65536];
	static int k;
	char *b = buf[k++ & 3];
	size_t n = strlen(s);

	cr_assert_lt(n, sizeof(buf[0]));
	for (size_t i = 0; i <= n; i++)
		b[i] = s[i] == '\'' ? '"' : s[i];
	return b;
}

/* Parses a single-quoted document that must be valid. */
static inline struct scenario *scen_load(const char *sq,
					 const struct scenario_objects *objs)
{
	struct scenario_report rep;
	struct scenario *sc = NULL;

	cr_assert_eq(scenario_parse_objs(&sc, J(sq), objs, NULL, NULL, &rep),
		     0, "%s", rep.text);
	return sc;
}

/* Parses a single-quoted document; returns the error, fills rep. */
static inline int scen_try(const char *sq, const struct scenario_objects *objs,
			   scenario_ref_h *refh, void *arg,
			   struct scenario_report *rep)
{
	struct scenario *sc = NULL;
	int err = scenario_parse_objs(&sc, J(sq), objs, refh, arg, rep);

	if (!err)
		cr_assert_not_null(sc);
	else
		cr_assert_null(sc);
	scenario_free(sc);
	return err;
}

static inline void scen_obj(struct scenario_objects *objs, const char *kind,
			    const char *name, const char *sq)
{
	struct scenario_report rep;

	cr_assert_eq(scenario_objects_add(objs, kind, name, J(sq), &rep), 0,
		     "%s", rep.text);
}

/* Does the action list hold an action of kind? Returns it or NULL. */
static inline const struct walk_action *scen_act(const struct walk_actions *a,
						 enum walk_act_kind kind)
{
	for (size_t i = 0; i < a->n; i++) {
		if (a->act[i].kind == kind)
			return &a->act[i];
	}
	return NULL;
}

/* Unix ms of a UTC wall time. */
static inline int64_t scen_utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mo - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = mi};

	return (int64_t)timegm(&tm) * 1000;
}

#endif
