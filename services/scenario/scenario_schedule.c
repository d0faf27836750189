/* Schedules: compiles weekly windows (several per day, crossing midnight
 * allowed), dated exceptions and holidays (one-off and yearly) and the
 * manual override into per-day interval tables, and evaluates them at a
 * given instant in the schedule's own IANA zone (DST-correct through
 * scenario_tz). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario_internal.h"

static const char *const wday_names[7] = {"sun", "mon", "tue", "wed",
					  "thu", "fri", "sat"};

struct sched_build {
	const char *who;
	struct scenario_report *rep;
	unsigned errs;
};

static void bad(struct sched_build *b, const char *fmt, const char *what,
		const char *detail)
{
	char line[256];

	snprintf(line, sizeof(line), fmt, what, detail ? detail : "");
	scenario_report_add(b->rep, true, "%s: %s", b->who, line);
	b->errs++;
}

/* "HH:MM" (00:00..24:00) -> minutes, or -1. */
static int parse_hhmm(const char *s)
{
	int h, m;

	if (!s || strlen(s) != 5 || s[2] != ':' || s[0] < '0' || s[0] > '9' ||
	    s[1] < '0' || s[1] > '9' || s[3] < '0' || s[3] > '9' ||
	    s[4] < '0' || s[4] > '9')
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && m))
		return -1;
	return h * 60 + m;
}

static int wday_find(const char *s, size_t n)
{
	for (int i = 0; i < 7; i++) {
		if (n == 3 && !strncmp(s, wday_names[i], 3))
			return i;
	}
	return -1;
}

/* "mon", "mon-fri", "fri-mon", "all" -> bit mask (bit 0 = Sunday). */
static int parse_days(const char *s)
{
	const char *dash = strchr(s, '-');
	int a, z, mask = 0;

	if (!strcmp(s, "all") || !strcmp(s, "daily"))
		return 0x7f;
	if (!dash) {
		a = wday_find(s, strlen(s));
		return a < 0 ? -1 : 1 << a;
	}
	a = wday_find(s, (size_t)(dash - s));
	z = wday_find(dash + 1, strlen(dash + 1));
	if (a < 0 || z < 0)
		return -1;
	for (int i = a;; i = (i + 1) % 7) {
		mask |= 1 << i;
		if (i == z)
			break;
	}
	return mask;
}

/* "YYYY-MM-DD" -> yyyymmdd (yearly false) or "MM-DD" -> mmdd (yearly
 * true); -1 if neither or not a real date. */
static int32_t parse_date(const char *s, bool *yearly)
{
	int y = 0, m, d;
	size_t n = s ? strlen(s) : 0;

	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return -1;
	}
	if (n == 10 && s[4] == '-' && s[7] == '-') {
		y = atoi(s);
		m = atoi(s + 5);
		d = atoi(s + 8);
		*yearly = false;
		if (y < 1970 || y > 9999)
			return -1;
	} else if (n == 5 && s[2] == '-') {
		m = atoi(s);
		d = atoi(s + 3);
		*yearly = true;
	} else {
		return -1;
	}
	if (m < 1 || m > 12 || d < 1)
		return -1;
	{
		static const int md[] = {31, 29, 31, 30, 31, 30,
					 31, 31, 30, 31, 30, 31};
		int max = md[m - 1];

		if (!*yearly && m == 2 &&
		    !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
			max = 28;
		if (d > max)
			return -1;
	}
	return *yearly ? m * 100 + d : y * 10000 + m * 100 + d;
}

static int day_add(struct sched_day *day, int from, int to)
{
	struct sched_ival *n = realloc(day->iv, (day->n + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	day->iv = n;
	day->iv[day->n].from = (uint16_t)from;
	day->iv[day->n].to = (uint16_t)to;
	day->n++;
	return 0;
}

/* Parses {"from","to"} into an interval; -1 on a bad one (reported). */
static int parse_ival(struct sched_build *b, json_t *w, const char *where,
		      int *from, int *to)
{
	json_t *f = json_object_get(w, "from"), *t = json_object_get(w, "to");

	*from = parse_hhmm(json_string_value(f));
	*to = parse_hhmm(json_string_value(t));
	if (*from < 0 || *to < 0) {
		bad(b,
		    "%s needs \"from\" and \"to\" as HH:MM (00:00 to 24:00)",
		    where, NULL);
		return -1;
	}
	if (*from == *to || (*from == 1440 && *to == 0)) {
		bad(b, "%s is empty (from equals to)", where, NULL);
		return -1;
	}
	if (*from == 1440)
		*from = 0;
	return 0;
}

static int compile_windows(struct sched_build *b, struct sched *s,
			   json_t *windows)
{
	json_t *w;
	size_t i;

	if (windows && !json_is_array(windows)) {
		bad(b, "\"windows\" must be a list%s", "", NULL);
		return 0;
	}
	json_array_foreach(windows, i, w)
	{
		json_t *days = json_object_get(w, "days");
		char where[32];
		int mask = 0, from, to, err;
		const char *key;
		json_t *v;

		snprintf(where, sizeof(where), "window %zu", i + 1);
		if (!json_is_object(w)) {
			bad(b, "%s must be an object", where, NULL);
			continue;
		}
		json_object_foreach(w, key, v)
		{
			if (strcmp(key, "days") && strcmp(key, "from") &&
			    strcmp(key, "to") && strcmp(key, "name")) {
				bad(b, "%s has no field \"%s\"", where, key);
			}
		}
		if (json_is_string(days)) {
			mask = parse_days(json_string_value(days));
			if (mask < 0)
				bad(b,
				    "%s: \"%s\" is not a day (mon..sun, "
				    "mon-fri, all)",
				    where, json_string_value(days));
		} else if (json_is_array(days) && json_array_size(days)) {
			json_t *d;
			size_t k;

			json_array_foreach(days, k, d)
			{
				int m = parse_days(
					json_is_string(d)
						? json_string_value(d)
						: "");

				if (m < 0) {
					bad(b,
					    "%s: \"%s\" is not a day "
					    "(mon..sun, "
					    "mon-fri, all)",
					    where,
					    json_is_string(d)
						    ? json_string_value(d)
						    : "?");
					mask = -1;
					break;
				}
				mask |= m;
			}
		} else {
			bad(b, "%s needs \"days\" (e.g. [\"mon-fri\"])", where,
			    NULL);
			mask = -1;
		}
		if (parse_ival(b, w, where, &from, &to) || mask <= 0)
			continue;
		for (int d = 0; d < 7; d++) {
			if (!(mask & (1 << d)))
				continue;
			err = day_add(&s->week[d], from, to);
			if (err)
				return err;
		}
	}
	return 0;
}

static int exc_push(struct sched *s, size_t *cap, const struct sched_exc *e)
{
	if (s->nexc == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		struct sched_exc *n = realloc(s->exc, nc * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->exc = n;
		*cap = nc;
	}
	s->exc[s->nexc++] = *e;
	return 0;
}

/* date ("2026-12-31" / "12-31") and optional end (same form). */
static int exc_dates(struct sched_build *b, const char *date, const char *to,
		     const char *where, struct sched_exc *e)
{
	bool y1, y2;

	e->from = parse_date(date, &y1);
	if (e->from < 0) {
		bad(b,
		    "%s: \"%s\" is not a date (YYYY-MM-DD, or MM-DD for "
		    "every year)",
		    where, date ? date : "");
		return -1;
	}
	e->yearly = y1;
	e->to = e->from;
	if (to) {
		e->to = parse_date(to, &y2);
		if (e->to < 0 || y1 != y2) {
			bad(b,
			    "%s: end date \"%s\" must have the form of "
			    "its start date",
			    where, to);
			return -1;
		}
		if (!y1 && e->to < e->from) {
			bad(b, "%s ends before it starts%s", where, "");
			return -1;
		}
	}
	return 0;
}

static int compile_exceptions(struct sched_build *b, struct sched *s,
			      json_t *exc, json_t *hol)
{
	size_t cap = 0, i;
	json_t *v;
	int err;

	if (exc && !json_is_array(exc))
		bad(b, "\"exceptions\" must be a list%s", "", NULL);
	if (hol && !json_is_array(hol))
		bad(b, "\"holidays\" must be a list of dates%s", "", NULL);
	json_array_foreach(exc, i, v)
	{
		struct sched_exc e = {0};
		json_t *hours = json_object_get(v, "hours"), *h;
		char where[32];
		const char *key;
		json_t *f;
		size_t k;

		snprintf(where, sizeof(where), "exception %zu", i + 1);
		if (!json_is_object(v)) {
			bad(b, "%s must be an object", where, NULL);
			continue;
		}
		json_object_foreach(v, key, f)
		{
			if (strcmp(key, "date") && strcmp(key, "to") &&
			    strcmp(key, "hours") && strcmp(key, "name"))
				bad(b, "%s has no field \"%s\"", where, key);
		}
		if (exc_dates(b, json_string_value(json_object_get(v, "date")),
			      json_string_value(json_object_get(v, "to")),
			      where, &e))
			continue;
		if (hours && !json_is_array(hours)) {
			bad(b, "%s: \"hours\" must be a list of {from, to}",
			    where, NULL);
			continue;
		}
		json_array_foreach(hours, k, h)
		{
			char hw[64];
			int from, to;

			snprintf(hw, sizeof(hw), "%s hours %zu", where, k + 1);
			if (parse_ival(b, h, hw, &from, &to))
				continue;
			err = day_add(&e.day, from, to);
			if (err) {
				free(e.day.iv);
				return err;
			}
		}
		err = exc_push(s, &cap, &e);
		if (err) {
			free(e.day.iv);
			return err;
		}
	}
	json_array_foreach(hol, i, v)
	{
		struct sched_exc e = {0};
		const char *str = json_string_value(v), *dots;
		char where[32], first[16];

		snprintf(where, sizeof(where), "holiday %zu", i + 1);
		if (!str) {
			bad(b, "%s must be a date string", where, NULL);
			continue;
		}
		dots = strstr(str, "..");
		if (dots && (size_t)(dots - str) < sizeof(first)) {
			memcpy(first, str, (size_t)(dots - str));
			first[dots - str] = '\0';
			if (exc_dates(b, first, dots + 2, where, &e))
				continue;
		} else if (exc_dates(b, str, NULL, where, &e)) {
			continue;
		}
		err = exc_push(s, &cap, &e);
		if (err)
			return err;
	}
	return 0;
}

/* One-off dates win over yearly ones (this year's working 1 January beats
 * the yearly holiday); within each class the first listed wins. A stable
 * partition keeps the list order. */
static int exc_partition(struct sched *s)
{
	struct sched_exc *tmp;
	size_t k = 0;

	if (s->nexc < 2)
		return 0;
	tmp = malloc(s->nexc * sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	for (size_t i = 0; i < s->nexc; i++) {
		if (!s->exc[i].yearly)
			tmp[k++] = s->exc[i];
	}
	for (size_t i = 0; i < s->nexc; i++) {
		if (s->exc[i].yearly)
			tmp[k++] = s->exc[i];
	}
	memcpy(s->exc, tmp, s->nexc * sizeof(*tmp));
	free(tmp);
	return 0;
}

void scenario_sched_free(struct sched *s)
{
	if (!s)
		return;
	for (int d = 0; d < 7; d++)
		free(s->week[d].iv);
	for (size_t i = 0; i < s->nexc; i++)
		free(s->exc[i].day.iv);
	free(s->exc);
	free(s);
}

int scenario_sched_compile(struct sched **sp, json_t *obj, const char *who,
			   struct scenario_report *rep)
{
	struct sched_build b = {.who = who, .rep = rep};
	json_t *tzj = json_object_get(obj, "timezone");
	json_t *ovr = json_object_get(obj, "override");
	struct sched *s;
	bool any = false;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (!json_is_string(tzj)) {
		bad(&b,
		    "a schedule needs \"timezone\" (an IANA zone such as "
		    "Europe/Moscow)%s",
		    "", NULL);
	} else {
		s->zone = json_string_value(tzj);
		s->tz = scenario_tz_get(s->zone);
		if (!s->tz)
			bad(&b, "unknown time zone \"%s\"%s", s->zone, NULL);
	}
	if (json_is_string(ovr)) {
		const char *o = json_string_value(ovr);

		if (!strcmp(o, "open"))
			s->override = SCHED_OPEN;
		else if (!strcmp(o, "closed"))
			s->override = SCHED_CLOSED;
		else if (strcmp(o, "auto") && strcmp(o, "none"))
			bad(&b,
			    "override \"%s\" must be open, closed or "
			    "auto%s",
			    o, NULL);
	} else if (ovr) {
		bad(&b, "override must be open, closed or auto%s", "", NULL);
	}
	err = compile_windows(&b, s, json_object_get(obj, "windows"));
	if (!err)
		err = compile_exceptions(&b, s,
					 json_object_get(obj, "exceptions"),
					 json_object_get(obj, "holidays"));
	if (!err)
		err = exc_partition(s);
	if (err || b.errs) {
		scenario_sched_free(s);
		return err ? err : -EINVAL;
	}
	for (int d = 0; d < 7; d++)
		any |= s->week[d].n > 0;
	for (size_t i = 0; i < s->nexc; i++)
		any |= s->exc[i].day.n > 0;
	s->never = !any;
	*sp = s;
	return 0;
}

/* The plan of one local date: its exception, or its weekday. */
static const struct sched_day *plan(const struct sched *s, int64_t days)
{
	int64_t y;
	unsigned m, d;
	int32_t ymd, md;

	scenario_civil_from_days(days, &y, &m, &d);
	md = (int32_t)(m * 100 + d);
	ymd = (int32_t)(y * 10000) + md;
	for (size_t i = 0; i < s->nexc; i++) {
		const struct sched_exc *e = &s->exc[i];

		if (!e->yearly) {
			if (ymd >= e->from && ymd <= e->to)
				return &e->day;
		} else if (e->from <= e->to ? (md >= e->from && md <= e->to)
					    : (md >= e->from || md <= e->to)) {
			return &e->day;
		}
	}
	return &s->week[((days % 7) + 11) % 7];
}

bool scenario_sched_open(const struct sched *s, int64_t now_ms)
{
	int64_t utc, local, days;
	const struct sched_day *today, *prev;
	int min;

	if (s->override != SCHED_AUTO)
		return s->override == SCHED_OPEN;
	if (s->never)
		return false;
	utc = now_ms >= 0 ? now_ms / 1000 : -((-now_ms + 999) / 1000);
	local = utc + scenario_tz_offset(s->tz, utc, NULL);
	days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
	min = (int)((local - days * 86400) / 60);
	today = plan(s, days);
	for (size_t i = 0; i < today->n; i++) {
		const struct sched_ival *iv = &today->iv[i];

		if (iv->to > iv->from ? (min >= iv->from && min < iv->to)
				      : min >= iv->from)
			return true;
	}
	/* Yesterday's windows that run past midnight. */
	prev = plan(s, days - 1);
	for (size_t i = 0; i < prev->n; i++) {
		const struct sched_ival *iv = &prev->iv[i];

		if (iv->to <= iv->from && min < iv->to)
			return true;
	}
	return false;
}
