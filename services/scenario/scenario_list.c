/* Black / white lists: compiles entries (exact numbers, prefixes, masks
 * with # and *, ranges A..B, region prefix groups) into sorted arrays and
 * answers "is this caller in the list?" without allocating. Every entry
 * and every caller is normalised (scenario_number_normalise) first. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scenario_internal.h"

#define ENTRY_MAX 32

struct nrange {
	char a[ENTRY_MAX + 1], b[ENTRY_MAX + 1];
	size_t len;
};

struct nlist {
	char **exact; /* sorted */
	size_t nexact;
	char **prefix; /* sorted */
	size_t nprefix;
	char **mask;
	size_t nmask;
	struct nrange *range;
	size_t nrange;
	bool anon_in; /* anonymous callers count as in the list */
};

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void scenario_list_free(struct nlist *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->nexact; i++)
		free(l->exact[i]);
	for (size_t i = 0; i < l->nprefix; i++)
		free(l->prefix[i]);
	for (size_t i = 0; i < l->nmask; i++)
		free(l->mask[i]);
	free(l->exact);
	free(l->prefix);
	free(l->mask);
	free(l->range);
	free(l);
}

size_t scenario_list_size(const struct nlist *l)
{
	return l->nexact + l->nprefix + l->nmask + l->nrange;
}

/* Normalises a mask ("+7 495 ###-45-*") by the number rules: separators
 * go, a leading 8 (no "+") is the Russian trunk prefix and becomes 7 when
 * the mask is open-ended or 11 long, ten fixed positions get a 7.
 * Returns the length, or -EINVAL. */
static int mask_normalise(const char *in, char *out, size_t size)
{
	char m[ENTRY_MAX + 1];
	bool plus = false, star = false;
	const char *p = in;
	size_t n = 0;

	while (*p == ' ')
		p++;
	if (*p == '+')
		plus = true;
	for (; *p; p++) {
		if ((*p >= '0' && *p <= '9') || *p == '#' || *p == '*') {
			if (n >= ENTRY_MAX - 1)
				return -EINVAL;
			if (*p == '*') {
				if (n && m[n - 1] == '*')
					continue;
				star = true;
			}
			m[n++] = *p;
		} else if (!strchr(" ()-.+", *p)) {
			return -EINVAL;
		}
	}
	m[n] = '\0';
	if (!n || (n == 1 && star))
		return -EINVAL;
	if (!plus && m[0] == '8' && (star || n == 11))
		m[0] = '7';
	else if (!plus && !star && n == 10) {
		if (size < 12)
			return -EINVAL;
		out[0] = '7';
		memcpy(out + 1, m, 11);
		return 11;
	}
	if (n + 1 > size)
		return -EINVAL;
	memcpy(out, m, n + 1);
	return (int)n;
}

/* Glob: '#' one digit, '*' any run of digits (also none). */
static bool mask_match(const char *m, const char *s)
{
	const char *star = NULL, *back = NULL;

	while (*s) {
		if (*m == '*') {
			star = m++;
			back = s;
		} else if (*m && (*m == *s ||
				  (*m == '#' && *s >= '0' && *s <= '9'))) {
			m++;
			s++;
		} else if (star) {
			m = star + 1;
			s = ++back;
		} else {
			return false;
		}
	}
	while (*m == '*')
		m++;
	return !*m;
}

static int push(char ***arr, size_t *n, size_t *cap, const char *s)
{
	char *dup;

	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		char **na = realloc(*arr, nc * sizeof(*na));

		if (!na)
			return -ENOMEM;
		*arr = na;
		*cap = nc;
	}
	dup = strdup(s);
	if (!dup)
		return -ENOMEM;
	(*arr)[(*n)++] = dup;
	return 0;
}

struct list_build {
	struct nlist *l;
	size_t cexact, cprefix, cmask, crange;
	const char *who;
	struct scenario_report *rep;
	unsigned errs;
};

static int add_range(struct list_build *b, const char *s, const char *dots,
		     const char *where)
{
	char a[ENTRY_MAX + 1], z[ENTRY_MAX + 1], left[ENTRY_MAX * 2];
	size_t ll = (size_t)(dots - s);
	int na, nz;

	if (ll >= sizeof(left))
		goto bad;
	memcpy(left, s, ll);
	left[ll] = '\0';
	if (strpbrk(left, "#*") || strpbrk(dots + 2, "#*"))
		goto bad;
	na = scenario_number_normalise(left, a, sizeof(a));
	nz = scenario_number_normalise(dots + 2, z, sizeof(z));
	if (na <= 0 || nz <= 0 || na != nz || strcmp(a, z) > 0)
		goto bad;
	if (b->l->nrange == b->crange) {
		size_t nc = b->crange ? b->crange * 2 : 4;
		struct nrange *nr = realloc(b->l->range, nc * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		b->l->range = nr;
		b->crange = nc;
	}
	memcpy(b->l->range[b->l->nrange].a, a, (size_t)na + 1);
	memcpy(b->l->range[b->l->nrange].b, z, (size_t)nz + 1);
	b->l->range[b->l->nrange++].len = (size_t)na;
	return 0;
bad:
	scenario_report_add(b->rep, true,
			    "%s: %s \"%s\" is not a range of two numbers of "
			    "the same length, lower first (A..B)",
			    b->who, where, s);
	b->errs++;
	return 0;
}

static int add_entry(struct list_build *b, const char *s, bool prefix_only,
		     const char *where)
{
	char norm[ENTRY_MAX + 1];
	const char *dots = strstr(s, "..");
	int n;

	if (dots && !prefix_only)
		return add_range(b, s, dots, where);
	if (prefix_only && !strpbrk(s, "#*")) {
		/* A region prefix is open-ended: normalise it as "<p>*" so
		 * "8499" becomes "7499" like any other open mask. */
		char open[ENTRY_MAX * 2 + 2];

		if (strlen(s) > ENTRY_MAX * 2)
			n = -EINVAL;
		else {
			snprintf(open, sizeof(open), "%s*", s);
			n = mask_normalise(open, norm, sizeof(norm));
		}
	} else {
		n = mask_normalise(s, norm, sizeof(norm));
	}
	if (n <= 0) {
		scenario_report_add(b->rep, true,
				    "%s: %s \"%s\" is not a number, prefix, "
				    "mask (# one digit, * any digits) or "
				    "range",
				    b->who, where, s);
		b->errs++;
		return 0;
	}
	if (norm[n - 1] == '*' && !strpbrk(norm, "#") &&
	    strchr(norm, '*') == norm + n - 1) {
		norm[n - 1] = '\0';
		return push(&b->l->prefix, &b->l->nprefix, &b->cprefix, norm);
	}
	if (strpbrk(norm, "#*"))
		return push(&b->l->mask, &b->l->nmask, &b->cmask, norm);
	/* Exact: the number rules on the original text, so "+49..." keeps
	 * its country code. */
	n = scenario_number_normalise(s, norm, sizeof(norm));
	if (n <= 0)
		return -EINVAL;
	return push(&b->l->exact, &b->l->nexact, &b->cexact, norm);
}

int scenario_list_compile(struct nlist **lp, json_t *obj, const char *who,
			  struct scenario_report *rep)
{
	struct list_build b = {.who = who, .rep = rep};
	json_t *entries = json_object_get(obj, "entries");
	json_t *regions = json_object_get(obj, "regions");
	json_t *anon = json_object_get(obj, "anonymous");
	const char *rname;
	json_t *v;
	size_t i;
	int err = 0;

	b.l = calloc(1, sizeof(*b.l));
	if (!b.l)
		return -ENOMEM;
	b.l->anon_in = json_is_string(anon) &&
		       !strcmp(json_string_value(anon), "in_list");
	if (entries && !json_is_array(entries)) {
		scenario_report_add(rep, true,
				    "%s: \"entries\" must be a list of "
				    "numbers",
				    who);
		b.errs++;
	}
	json_array_foreach(entries, i, v)
	{
		char where[32];

		snprintf(where, sizeof(where), "entry %zu", i + 1);
		if (!json_is_string(v)) {
			scenario_report_add(rep, true,
					    "%s: %s must be a string", who,
					    where);
			b.errs++;
			continue;
		}
		err = add_entry(&b, json_string_value(v), false, where);
		if (err)
			goto fail;
	}
	if (regions && !json_is_object(regions)) {
		scenario_report_add(rep, true,
				    "%s: \"regions\" must map region names to "
				    "lists of number prefixes",
				    who);
		b.errs++;
	}
	json_object_foreach(regions, rname, v)
	{
		json_t *pfx;
		size_t k;

		if (!json_is_array(v) || !json_array_size(v)) {
			scenario_report_add(rep, true,
					    "%s: region \"%s\" must be a "
					    "non-empty list of number "
					    "prefixes",
					    who, rname);
			b.errs++;
			continue;
		}
		json_array_foreach(v, k, pfx)
		{
			char where[96];

			snprintf(where, sizeof(where),
				 "region \"%.40s\" prefix %zu", rname, k + 1);
			if (!json_is_string(pfx)) {
				scenario_report_add(rep, true,
						    "%s: %s must be a string",
						    who, where);
				b.errs++;
				continue;
			}
			err = add_entry(&b, json_string_value(pfx), true,
					where);
			if (err)
				goto fail;
		}
	}
	if (b.errs) {
		scenario_list_free(b.l);
		return -EINVAL;
	}
	if (b.l->nexact)
		qsort(b.l->exact, b.l->nexact, sizeof(char *), str_cmp);
	if (b.l->nprefix)
		qsort(b.l->prefix, b.l->nprefix, sizeof(char *), str_cmp);
	*lp = b.l;
	return 0;
fail:
	scenario_list_free(b.l);
	return err;
}

static bool in_sorted(char *const *arr, size_t n, const char *key)
{
	return n && bsearch(&key, arr, n, sizeof(char *), str_cmp) != NULL;
}

bool scenario_list_match(const struct nlist *l, const char *caller)
{
	char num[ENTRY_MAX + 1], pre[ENTRY_MAX + 1];
	int n = caller ? scenario_number_normalise(caller, num, sizeof(num))
		       : 0;

	if (n < 0)
		return false; /* longer than any entry: cannot match */
	if (n == 0)
		return l->anon_in;
	if (in_sorted(l->exact, l->nexact, num))
		return true;
	for (int k = 1; k <= n && l->nprefix; k++) {
		memcpy(pre, num, (size_t)k);
		pre[k] = '\0';
		if (in_sorted(l->prefix, l->nprefix, pre))
			return true;
	}
	for (size_t i = 0; i < l->nmask; i++) {
		if (mask_match(l->mask[i], num))
			return true;
	}
	for (size_t i = 0; i < l->nrange; i++) {
		const struct nrange *r = &l->range[i];

		if (r->len == (size_t)n && strcmp(num, r->a) >= 0 &&
		    strcmp(num, r->b) <= 0)
			return true;
	}
	return false;
}
