/* Spoken numbers and queue announcements (say.c): the words of numbers in
 * English and Russian (feminine one/two, thousands' forms), the forms of
 * "minute", the position and wait sentences, the date and caller said
 * before a voicemail message (in the tenant's zone), bounds and clamping. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "say.h"

/* The words joined by spaces. */
static const char *joined(const char **w, size_t n)
{
	static char buf[512];

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(buf, " ");
		strcat(buf, w[i]);
	}
	return buf;
}

static const char *num(enum say_lang l, unsigned n, enum say_gender g)
{
	const char *w[SAY_WORDS_MAX];
	size_t k = 0;

	cr_assert_eq(say_number(l, n, g, w, &k, SAY_WORDS_MAX), 0);
	return joined(w, k);
}

Test(say, english_numbers)
{
	cr_assert_str_eq(num(SAY_EN, 0, SAY_MASC), "num_0");
	cr_assert_str_eq(num(SAY_EN, 7, SAY_MASC), "num_7");
	cr_assert_str_eq(num(SAY_EN, 13, SAY_MASC), "num_13");
	cr_assert_str_eq(num(SAY_EN, 20, SAY_MASC), "num_20");
	cr_assert_str_eq(num(SAY_EN, 42, SAY_MASC), "num_40 num_2");
	cr_assert_str_eq(num(SAY_EN, 100, SAY_MASC), "num_100");
	cr_assert_str_eq(num(SAY_EN, 305, SAY_MASC), "num_300 num_5");
	cr_assert_str_eq(num(SAY_EN, 999, SAY_MASC), "num_900 num_90 num_9");
	cr_assert_str_eq(num(SAY_EN, 1000, SAY_MASC), "num_1 num_1000");
	cr_assert_str_eq(num(SAY_EN, 2017, SAY_MASC),
			 "num_2 num_1000 num_17");
	/* English has no feminine numbers. */
	cr_assert_str_eq(num(SAY_EN, 2, SAY_FEM), "num_2");
}

Test(say, russian_numbers_and_gender)
{
	cr_assert_str_eq(num(SAY_RU, 1, SAY_MASC), "num_1");
	cr_assert_str_eq(num(SAY_RU, 1, SAY_FEM), "num_1f");
	cr_assert_str_eq(num(SAY_RU, 2, SAY_FEM), "num_2f");
	cr_assert_str_eq(num(SAY_RU, 3, SAY_FEM), "num_3");
	cr_assert_str_eq(num(SAY_RU, 12, SAY_FEM), "num_12");
	cr_assert_str_eq(num(SAY_RU, 21, SAY_FEM), "num_20 num_1f");
	cr_assert_str_eq(num(SAY_RU, 22, SAY_MASC), "num_20 num_2");
	cr_assert_str_eq(num(SAY_RU, 1000, SAY_MASC), "num_1000");
	cr_assert_str_eq(num(SAY_RU, 1001, SAY_MASC), "num_1000 num_1");
	cr_assert_str_eq(num(SAY_RU, 2000, SAY_MASC), "num_2f num_1000_2");
	cr_assert_str_eq(num(SAY_RU, 5000, SAY_MASC), "num_5 num_1000_5");
	cr_assert_str_eq(num(SAY_RU, 4321, SAY_FEM),
			 "num_4 num_1000_2 num_300 num_20 num_1f");
	cr_assert_str_eq(num(SAY_RU, 9999, SAY_MASC),
			 "num_9 num_1000_5 num_900 num_90 num_9");
}

Test(say, minutes_forms)
{
	static const struct {
		unsigned n;
		const char *ru, *en;
	} t[] = {
		{1, "min_1", "min_1"},	 {2, "min_2", "min_2"},
		{4, "min_2", "min_2"},	 {5, "min_5", "min_2"},
		{11, "min_5", "min_2"}, {12, "min_5", "min_2"},
		{14, "min_5", "min_2"}, {21, "min_1", "min_2"},
		{22, "min_2", "min_2"}, {25, "min_5", "min_2"},
		{101, "min_1", "min_2"}, {111, "min_5", "min_2"},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_assert_str_eq(say_minutes_word(SAY_RU, t[i].n), t[i].ru,
				 "ru %u", t[i].n);
		cr_assert_str_eq(say_minutes_word(SAY_EN, t[i].n), t[i].en,
				 "en %u", t[i].n);
	}
}

Test(say, sentences)
{
	const char *w[SAY_WORDS_MAX];
	size_t k = 0;

	cr_assert_eq(say_position(SAY_RU, 3, w, &k, SAY_WORDS_MAX), 0);
	cr_assert_str_eq(joined(w, k), "q_position num_3");
	k = 0;
	/* 61 s rounds up to 2 minutes; 0 s is said as 1 minute. */
	cr_assert_eq(say_wait(SAY_RU, 61, w, &k, SAY_WORDS_MAX), 0);
	cr_assert_str_eq(joined(w, k), "q_wait num_2f min_2");
	k = 0;
	cr_assert_eq(say_wait(SAY_EN, 0, w, &k, SAY_WORDS_MAX), 0);
	cr_assert_str_eq(joined(w, k), "q_wait num_1 min_1");
	k = 0;
	cr_assert_eq(say_wait(SAY_RU, 21 * 60, w, &k, SAY_WORDS_MAX), 0);
	cr_assert_str_eq(joined(w, k), "q_wait num_20 num_1f min_1");
	/* Appended after what is there. */
	cr_assert_eq(say_position(SAY_EN, 1, w, &k, SAY_WORDS_MAX), 0);
	cr_assert_str_eq(joined(w, k),
			 "q_wait num_20 num_1f min_1 q_position num_1");
}

Test(say, bounds)
{
	const char *w[4];
	size_t k = 0;

	/* Clamped to SAY_MAX. */
	cr_assert_str_eq(num(SAY_EN, 123456, SAY_MASC),
			 "num_9 num_1000 num_900 num_90 num_9");
	/* No room: nothing appended. */
	cr_assert_eq(say_position(SAY_EN, 9999, w, &k, 4), -ENOSPC);
	cr_assert_eq(k, 0);
	cr_assert_eq(say_wait(SAY_RU, 9999 * 60, w, &k, 4), -ENOSPC);
	cr_assert_eq(k, 0);
}

Test(say, languages)
{
	enum say_lang l;

	cr_assert_eq(say_lang_parse("", &l), 0);
	cr_assert_eq(l, SAY_EN);
	cr_assert_eq(say_lang_parse("ru", &l), 0);
	cr_assert_eq(l, SAY_RU);
	cr_assert_str_eq(say_lang_name(l), "ru");
	cr_assert_eq(say_lang_parse("de", &l), -EINVAL);
	cr_assert_eq(say_lang_parse("RU", &l), -EINVAL);
}

/* say_received at a fixed instant: 2026-12-07 11:05:00 UTC, a Monday. */
#define T_MON_1105_UTC 1796641500LL

static const char *received(enum say_lang l, const char *zone, int64_t t,
			    const char *caller)
{
	const char *w[SAY_RECEIVED_MAX];
	size_t k = 0;

	cr_assert_eq(say_received(l, zone, t, caller, w, &k,
				  SAY_RECEIVED_MAX),
		     0);
	return joined(w, k);
}

Test(say, received_in_english_with_the_caller_digit_by_digit)
{
	cr_assert_str_eq(received(SAY_EN, "UTC", T_MON_1105_UTC, "+7999"),
			 "vm_received wd_1 mon_12 ord_7 t_at num_11 t_oh "
			 "num_5 t_am t_from num_7 num_9 num_9 num_9");
}

Test(say, received_is_said_in_the_tenants_zone)
{
	/* Kamchatka is UTC+12 all year: 23:05 the same Monday. */
	cr_assert_str_eq(received(SAY_EN, "Asia/Kamchatka", T_MON_1105_UTC,
				  ""),
			 "vm_received wd_1 mon_12 ord_7 t_at num_11 t_oh "
			 "num_5 t_pm");
	/* Honolulu is UTC-10: 01:05 on Monday the 7th. */
	cr_assert_str_eq(received(SAY_EN, "Pacific/Honolulu",
				  T_MON_1105_UTC, NULL),
			 "vm_received wd_1 mon_12 ord_7 t_at num_1 t_oh "
			 "num_5 t_am");
	/* 14:00 UTC is the next day, Tuesday the 8th, 02:00 in
	 * Kamchatka: "o'clock". */
	cr_assert_str_eq(received(SAY_EN, "Asia/Kamchatka",
				  T_MON_1105_UTC + 3 * 3600 - 5 * 60, "x"),
			 "vm_received wd_2 mon_12 ord_8 t_at num_2 t_oclock "
			 "t_am");
	/* An unknown zone: UTC. */
	cr_assert_str_eq(received(SAY_EN, "Mars/Olympus", T_MON_1105_UTC,
				  ""),
			 received(SAY_EN, "UTC", T_MON_1105_UTC, ""));
}

Test(say, received_in_russian_genitive_day_and_forms_of_hours_and_minutes)
{
	/* Moscow is UTC+3: 14:05 on Monday, 7 December. */
	cr_assert_str_eq(received(SAY_RU, "Europe/Moscow", T_MON_1105_UTC,
				  "201"),
			 "vm_received wd_1 ord_7 mon_12 num_14 h_5 "
			 "num_5 min_5 t_from num_2 num_0 num_1");
	/* 21 December 2026 at 01:01 UTC (a Monday): "двадцать первого",
	 * "один час одна минута"; 22:22: "двадцать два часа двадцать две
	 * минуты". */
	cr_assert_str_eq(received(SAY_RU, "UTC", 1797814860LL, ""),
			 "vm_received wd_1 num_20 ord_1 mon_12 num_1 h_1 "
			 "num_1f min_1");
	cr_assert_str_eq(received(SAY_RU, "UTC", 1797814860LL + 21 * 3600 +
						 21 * 60,
				  ""),
			 "vm_received wd_1 num_20 ord_1 mon_12 num_20 num_2 "
			 "h_2 num_20 num_2f min_2");
	/* 30 November: its own ordinal, o'clock is the hour alone. */
	cr_assert_str_eq(received(SAY_RU, "UTC", 1795996800LL, ""),
			 "vm_received wd_1 ord_30 mon_11 num_0 h_5");
}

Test(say, received_bounds_the_caller_and_refuses_a_short_buffer)
{
	const char *w[SAY_RECEIVED_MAX];
	size_t k = 0, digits = 0, from = 0;

	cr_assert_eq(say_received(SAY_RU, "Europe/Moscow", T_MON_1105_UTC,
				  "1234567890123456789012345678901234567890",
				  w, &k, SAY_RECEIVED_MAX),
		     0);
	for (size_t i = 0; i < k; i++) {
		if (!strcmp(w[i], "t_from"))
			from = i;
		digits += from && i > from;
	}
	cr_assert_gt(from, 0);
	cr_assert_eq(digits, SAY_CALLER_DIGITS);
	k = 0;
	cr_assert_eq(say_received(SAY_EN, "UTC", T_MON_1105_UTC, "1", w, &k,
				  4),
		     -ENOSPC);
	cr_assert_eq(k, 0);
}
