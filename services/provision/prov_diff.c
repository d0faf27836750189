/* Scenario diff: compares two scenario documents at the level a tenant
 * administrator thinks in (the start node, added, removed and changed
 * nodes) rather than as text, so reordering keys or reindenting a file
 * shows no change. Output order is fixed: sorted ids, sorted JSON keys. */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prov_diff.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of obj, sorted; *np gets the count. NULL with *np 0 for an
 * empty or non-object value; NULL with *np 1 on allocation failure. */
static const char **sorted_keys(const json_t *obj, size_t *np)
{
	const char **keys;
	const char *k;
	json_t *v;
	size_t n = 0;

	*np = json_is_object(obj) ? json_object_size(obj) : 0;
	if (!*np)
		return NULL;
	keys = calloc(*np, sizeof(*keys));
	if (!keys)
		return NULL;
	json_object_foreach((json_t *)obj, k, v)
	{
		(void)v;
		keys[n++] = k;
	}
	qsort(keys, n, sizeof(*keys), cmp_str);
	return keys;
}

/* Compact, sorted-key JSON of any value (jansson needs JSON_ENCODE_ANY
 * for scalars). */
static void put_json(FILE *f, const json_t *v)
{
	char *s;

	if (!v) {
		fputs("(none)", f);
		return;
	}
	s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	fputs(s ? s : "?", f);
	free(s);
}

/* Top-level fields other than nodes: start first, then the rest sorted. */
static int diff_top(FILE *f, const json_t *a, const json_t *b)
{
	const char **ka, **kb;
	size_t na, nb, i = 0, j = 0;
	int err = 0;

	if (!json_equal(json_object_get(a, "start"),
			json_object_get(b, "start"))) {
		fputs("start: ", f);
		put_json(f, json_object_get(a, "start"));
		fputs(" -> ", f);
		put_json(f, json_object_get(b, "start"));
		fputc('\n', f);
	}
	ka = sorted_keys(a, &na);
	kb = sorted_keys(b, &nb);
	if ((na && !ka) || (nb && !kb)) {
		err = -ENOMEM;
		goto out;
	}
	/* A merge of two sorted key lists visits every key once. */
	while (i < na || j < nb) {
		const char *k;
		int c = i == na ? 1 : j == nb ? -1 : strcmp(ka[i], kb[j]);

		k = c <= 0 ? ka[i] : kb[j];
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
		if (!strcmp(k, "start") || !strcmp(k, "nodes"))
			continue;
		if (json_equal(json_object_get(a, k), json_object_get(b, k)))
			continue;
		fprintf(f, "%s: ", k);
		put_json(f, json_object_get(a, k));
		fputs(" -> ", f);
		put_json(f, json_object_get(b, k));
		fputc('\n', f);
	}
out:
	free(ka);
	free(kb);
	return err;
}

/* "type, options" for the fields of a node that differ. */
static int changed_fields(FILE *f, const json_t *x, const json_t *y)
{
	const json_t *objs[2] = {x, y};
	const char **keys[2];
	size_t n[2], i = 0, j = 0;
	bool first = true;
	int err = 0;

	if (!json_is_object(x) || !json_is_object(y)) {
		fputs("node", f);
		return 0;
	}
	for (int s = 0; s < 2; s++)
		keys[s] = sorted_keys(objs[s], &n[s]);
	if ((n[0] && !keys[0]) || (n[1] && !keys[1])) {
		err = -ENOMEM;
		goto out;
	}
	while (i < n[0] || j < n[1]) {
		int c = i == n[0]   ? 1
			: j == n[1] ? -1
				    : strcmp(keys[0][i], keys[1][j]);
		const char *k = c <= 0 ? keys[0][i] : keys[1][j];

		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
		if (json_equal(json_object_get(x, k), json_object_get(y, k)))
			continue;
		fprintf(f, "%s%s", first ? "" : ", ", k);
		first = false;
	}
out:
	free(keys[0]);
	free(keys[1]);
	return err;
}

static int diff_nodes(FILE *f, const json_t *a, const json_t *b)
{
	const json_t *na = json_object_get(a, "nodes");
	const json_t *nb = json_object_get(b, "nodes");
	const char **ka, **kb;
	size_t ca, cb;
	unsigned added = 0, removed = 0, changed = 0;
	int err = 0;

	ka = sorted_keys(na, &ca);
	kb = sorted_keys(nb, &cb);
	if ((ca && !ka) || (cb && !kb)) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < ca; i++) {
		if (json_object_get(nb, ka[i]))
			continue;
		fprintf(f, "- node %s ", ka[i]);
		put_json(f, json_object_get(na, ka[i]));
		fputc('\n', f);
		removed++;
	}
	for (size_t i = 0; i < cb; i++) {
		if (json_object_get(na, kb[i]))
			continue;
		fprintf(f, "+ node %s ", kb[i]);
		put_json(f, json_object_get(nb, kb[i]));
		fputc('\n', f);
		added++;
	}
	for (size_t i = 0; i < ca && !err; i++) {
		const json_t *x = json_object_get(na, ka[i]);
		const json_t *y = json_object_get(nb, ka[i]);

		if (!y || json_equal(x, y))
			continue;
		fprintf(f, "~ node %s: ", ka[i]);
		err = changed_fields(f, x, y);
		fputs(" changed\n  - ", f);
		put_json(f, x);
		fputs("\n  + ", f);
		put_json(f, y);
		fputc('\n', f);
		changed++;
	}
	if (added || removed || changed)
		fprintf(f, "%u added, %u removed, %u changed\n", added,
			removed, changed);
out:
	free(ka);
	free(kb);
	return err;
}

int prov_diff_text(char **textp, const char *a, const char *b,
		   const char *a_label, const char *b_label)
{
	json_t *ja = json_loads(a ? a : "", 0, NULL);
	json_t *jb = json_loads(b ? b : "", 0, NULL);
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int err = 0;

	if (!json_is_object(ja) || !json_is_object(jb)) {
		err = -EINVAL;
		goto out;
	}
	f = open_memstream(&text, &len);
	if (!f) {
		err = -ENOMEM;
		goto out;
	}
	fprintf(f, "--- %s\n+++ %s\n", a_label ? a_label : "a",
		b_label ? b_label : "b");
	if (json_equal(ja, jb)) {
		fputs("no changes\n", f);
	} else {
		err = diff_top(f, ja, jb);
		if (!err)
			err = diff_nodes(f, ja, jb);
	}
	if (fclose(f) || !text)
		err = err ? err : -ENOMEM;
	if (err)
		free(text);
	else
		*textp = text;
out:
	json_decref(ja);
	json_decref(jb);
	return err;
}
