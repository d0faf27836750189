/* Spoken numbers and queue announcements as prompt names (say.h): the
 * composition rules of each language, in one place. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "say.h"
#include "scenario.h"

static const char *const units[20] = {
	"num_0",  "num_1",  "num_2",  "num_3",  "num_4",
	"num_5",  "num_6",  "num_7",  "num_8",  "num_9",
	"num_10", "num_11", "num_12", "num_13", "num_14",
	"num_15", "num_16", "num_17", "num_18", "num_19"};
static const char *const tens[10] = {NULL,     NULL,	 "num_20",
				     "num_30", "num_40", "num_50",
				     "num_60", "num_70", "num_80",
				     "num_90"};
static const char *const hundreds[10] = {
	NULL,	   "num_100", "num_200", "num_300", "num_400",
	"num_500", "num_600", "num_700", "num_800", "num_900"};

static const struct lang_def {
	const char *name;
	/* Feminine forms of 1 and 2 (NULL: the same as masculine). */
	const char *one_f, *two_f;
	/* "minute" / "thousand" after 1, 2-4, 5-20 (Russian), or after 1
	 * and the rest (English: the third is unused). */
	const char *minute[3];
	const char *thousand[3];
	/* English says "one thousand"; Russian "тысяча" alone for 1000. */
	int say_one_thousand;
} langs[] = {
	[SAY_EN] = {"en", NULL, NULL, {"min_1", "min_2", "min_2"},
		    {"num_1000", "num_1000", "num_1000"}, 1},
	[SAY_RU] = {"ru", "num_1f", "num_2f", {"min_1", "min_2", "min_5"},
		    {"num_1000", "num_1000_2", "num_1000_5"}, 0},
};

int say_lang_parse(const char *s, enum say_lang *lang)
{
	if (!s || !s[0]) {
		*lang = SAY_EN;
		return 0;
	}
	for (size_t i = 0; i < sizeof(langs) / sizeof(langs[0]); i++) {
		if (!strcmp(s, langs[i].name)) {
			*lang = (enum say_lang)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *say_lang_name(enum say_lang lang)
{
	return langs[lang].name;
}

/* 0: after 1 (21, 31...), 1: after 2-4, 2: the rest (and 11-14). */
static int form_of(enum say_lang lang, unsigned n)
{
	if (lang == SAY_EN)
		return n == 1 ? 0 : 1;
	if (n % 100 >= 11 && n % 100 <= 14)
		return 2;
	if (n % 10 == 1)
		return 0;
	if (n % 10 >= 2 && n % 10 <= 4)
		return 1;
	return 2;
}

/* Below 1000; n > 0 or alone. */
static void below_1000(const struct lang_def *ld, unsigned n,
		       enum say_gender g, const char **w, size_t *k)
{
	unsigned h = n / 100, r = n % 100;

	if (h)
		w[(*k)++] = hundreds[h];
	if (r >= 20) {
		w[(*k)++] = tens[r / 10];
		r %= 10;
		if (!r)
			return;
	} else if (!r && h) {
		return;
	}
	if (g == SAY_FEM && r == 1 && ld->one_f)
		w[(*k)++] = ld->one_f;
	else if (g == SAY_FEM && r == 2 && ld->two_f)
		w[(*k)++] = ld->two_f;
	else
		w[(*k)++] = units[r];
}

int say_number(enum say_lang lang, unsigned n, enum say_gender g,
	       const char **out, size_t *n_out, size_t max)
{
	const struct lang_def *ld = &langs[lang];
	const char *w[8];
	size_t k = 0;

	if (n > SAY_MAX)
		n = SAY_MAX;
	if (n >= 1000) {
		unsigned t = n / 1000;

		/* Russian "тысяча" is feminine: одна, две тысячи. */
		if (t > 1 || ld->say_one_thousand)
			below_1000(ld, t, SAY_FEM, w, &k);
		w[k++] = ld->thousand[form_of(lang, t)];
		n %= 1000;
		if (n)
			below_1000(ld, n, g, w, &k);
	} else {
		below_1000(ld, n, g, w, &k);
	}
	if (*n_out + k > max)
		return -ENOSPC;
	memcpy(out + *n_out, w, k * sizeof(*w));
	*n_out += k;
	return 0;
}

const char *say_minutes_word(enum say_lang lang, unsigned n)
{
	return langs[lang].minute[form_of(lang, n > SAY_MAX ? SAY_MAX : n)];
}

int say_position(enum say_lang lang, unsigned pos, const char **out,
		 size_t *n_out, size_t max)
{
	size_t k = *n_out;
	int err;

	if (k + 1 > max)
		return -ENOSPC;
	out[k++] = "q_position";
	err = say_number(lang, pos, SAY_MASC, out, &k, max);
	if (!err)
		*n_out = k;
	return err;
}

int say_wait(enum say_lang lang, unsigned wait_s, const char **out,
	     size_t *n_out, size_t max)
{
	unsigned m = wait_s / 60 + (wait_s % 60 != 0);
	size_t k = *n_out;
	int err;

	if (m < 1)
		m = 1;
	if (m > SAY_MAX)
		m = SAY_MAX;
	if (k + 1 > max)
		return -ENOSPC;
	out[k++] = "q_wait";
	/* Russian "минута" is feminine: одна минута, две минуты. */
	err = say_number(lang, m, SAY_FEM, out, &k, max);
	if (err)
		return err;
	if (k + 1 > max)
		return -ENOSPC;
	out[k++] = say_minutes_word(lang, m);
	*n_out = k;
	return 0;
}

static const char *const ordinals[20] = {
	NULL,	  "ord_1",  "ord_2",  "ord_3",	"ord_4",  "ord_5",  "ord_6",
	"ord_7",  "ord_8",  "ord_9",  "ord_10", "ord_11", "ord_12", "ord_13",
	"ord_14", "ord_15", "ord_16", "ord_17", "ord_18", "ord_19"};
static const char *const weekdays[7] = {"wd_0", "wd_1", "wd_2", "wd_3",
					"wd_4", "wd_5", "wd_6"};
static const char *const months[12] = {
	"mon_1", "mon_2", "mon_3", "mon_4",  "mon_5",  "mon_6",
	"mon_7", "mon_8", "mon_9", "mon_10", "mon_11", "mon_12"};
/* Russian "час" after 1, 2-4 and the rest (as minutes' forms). */
static const char *const hour_ru[3] = {"h_1", "h_2", "h_5"};

/* The day of the month as an ordinal: 1-19, 20 and 30 have their own
 * word, the others are the tens' cardinal and the unit's ordinal
 * ("twenty first", "двадцать первого"). */
static void day_words(unsigned d, const char **w, size_t *k)
{
	if (d < 20) {
		w[(*k)++] = ordinals[d ? d : 1];
	} else if (d % 10 == 0) {
		w[(*k)++] = d == 20 ? "ord_20" : "ord_30";
	} else {
		w[(*k)++] = tens[d / 10];
		w[(*k)++] = ordinals[d % 10];
	}
}

/* English: "2:05 p.m." as "two oh five p m", "2:00 p.m." as "two o'clock
 * p m". Russian: "14 часов 5 минут", "14 часов" (24 hours, minutes
 * feminine: "одна минута"). */
static int time_words(enum say_lang lang, unsigned h, unsigned m,
		      const char **w, size_t *k, size_t max)
{
	if (lang == SAY_EN) {
		unsigned h12 = h % 12 ? h % 12 : 12;
		int err = say_number(lang, h12, SAY_MASC, w, k, max);

		if (!err && m == 0)
			w[(*k)++] = "t_oclock";
		else if (!err && m < 10)
			w[(*k)++] = "t_oh";
		if (!err && m)
			err = say_number(lang, m, SAY_MASC, w, k, max);
		if (!err)
			w[(*k)++] = h < 12 ? "t_am" : "t_pm";
		return err;
	}
	if (say_number(lang, h, SAY_MASC, w, k, max))
		return -ENOSPC;
	w[(*k)++] = hour_ru[form_of(lang, h)];
	if (!m)
		return 0;
	if (say_number(lang, m, SAY_FEM, w, k, max))
		return -ENOSPC;
	w[(*k)++] = say_minutes_word(lang, m);
	return 0;
}

int say_received(enum say_lang lang, const char *zone, int64_t utc_s,
		 const char *caller, const char **out, size_t *n_out,
		 size_t max)
{
	const char *w[SAY_RECEIVED_MAX];
	size_t k = 0, digits = 0;
	struct tm lt;

	if (scenario_tz_local(zone && zone[0] ? zone : "UTC", utc_s, &lt) &&
	    scenario_tz_local("UTC", utc_s, &lt)) {
		/* No tzdata at all: the system's own UTC conversion. */
		time_t t = (time_t)utc_s;

		if (!gmtime_r(&t, &lt))
			return -EINVAL;
	}
	w[k++] = "vm_received";
	w[k++] = weekdays[lt.tm_wday % 7];
	if (lang == SAY_EN) {
		w[k++] = months[lt.tm_mon % 12];
		day_words((unsigned)lt.tm_mday, w, &k);
	} else {
		day_words((unsigned)lt.tm_mday, w, &k);
		w[k++] = months[lt.tm_mon % 12];
	}
	if (lang == SAY_EN)
		w[k++] = "t_at";
	if (time_words(lang, (unsigned)lt.tm_hour, (unsigned)lt.tm_min, w,
		       &k, SAY_RECEIVED_MAX))
		return -ENOSPC;
	for (const char *p = caller; p && *p && digits < SAY_CALLER_DIGITS;
	     p++) {
		if (*p < '0' || *p > '9')
			continue;
		if (!digits++)
			w[k++] = "t_from";
		w[k++] = units[*p - '0'];
	}
	if (*n_out + k > max)
		return -ENOSPC;
	memcpy(out + *n_out, w, k * sizeof(*w));
	*n_out += k;
	return 0;
}
