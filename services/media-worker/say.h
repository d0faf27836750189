/* Spoken numbers and queue announcements as sequences of prompt names
 * (the system sound set of queue_prompts.cmake, or the tenant's own
 * recordings of the same names). Pure: no audio, no I/O; one table of
 * word names per language, so a new language is a table and a sound set.
 *
 * Names: num_0 .. num_19, num_20 .. num_90 (tens), num_100 .. num_900
 * (hundreds), num_1000 (and in Russian num_1000_2 "тысячи", num_1000_5
 * "тысяч", num_1f "одна" and num_2f "две" for feminine nouns), min_1 /
 * min_2 / min_5 (the forms of "minute" after 1, 2-4 and 5+ in Russian; 1
 * and the rest in English), q_position, q_wait. */
#ifndef SAY_H
#define SAY_H
#include <stddef.h>
#include <stdint.h>

enum say_lang { SAY_EN, SAY_RU };
enum say_gender { SAY_MASC, SAY_FEM };

/* Numbers above this are said as this. */
#define SAY_MAX 9999
/* Names one announcement uses at most (q_wait, 4 number words, minutes;
 * q_position, 5 number words). */
#define SAY_WORDS_MAX 16

/* "" or "en": English, "ru": Russian; 0, or -EINVAL for anything else. */
int say_lang_parse(const char *s, enum say_lang *lang);
const char *say_lang_name(enum say_lang lang);

/* Appends the words of n (clamped to SAY_MAX) to out[*n_out], at most max
 * in all. 0, or -ENOSPC (nothing appended). */
int say_number(enum say_lang lang, unsigned n, enum say_gender g,
	       const char **out, size_t *n_out, size_t max);
/* The form of "minute" that follows the number n. */
const char *say_minutes_word(enum say_lang lang, unsigned n);
/* "Your position in the queue is <pos>". */
int say_position(enum say_lang lang, unsigned pos, const char **out,
		 size_t *n_out, size_t max);
/* "The estimated waiting time is <m> minute(s)", m = wait_s rounded up to
 * whole minutes, at least 1. */
int say_wait(enum say_lang lang, unsigned wait_s, const char **out,
	     size_t *n_out, size_t max);

/* Names of "message received <when>, from <number>" at most: the
 * sentence, the day (weekday, month, two words of the day), "at", the time
 * (Russian: two words of the hour, its noun, two of the minutes, theirs),
 * "from" and SAY_CALLER_DIGITS digits. */
#define SAY_CALLER_DIGITS 20
#define SAY_RECEIVED_MAX (13 + SAY_CALLER_DIGITS)
/* Voicemail's announcement before a message (vm_date_prompts.cmake has the
 * words): "Message received on Monday, December seventh, at 2:05 p.m.,
 * from 7 9 9 ..." / "Сообщение получено в понедельник, седьмого декабря,
 * 14 часов 5 минут, с номера 7 9 9 ...". utc_s is said as the local time
 * of zone (an IANA name; unknown or NULL: UTC); caller is said digit by
 * digit (others skipped; none: no "from"). Appends to out[*n_out], at most
 * max in all: 0, or -ENOSPC (nothing appended). Names: vm_received,
 * wd_0 (Sunday) .. wd_6, mon_1 .. mon_12, ord_1 .. ord_19, ord_20,
 * ord_30 (ordinals; Russian genitive), t_from, t_at, t_oclock, t_oh, t_am,
 * t_pm (English only), h_1 / h_2 / h_5 (Russian "час" forms), and num_*, min_*
 * above. */
int say_received(enum say_lang lang, const char *zone, int64_t utc_s,
		 const char *caller, const char **out, size_t *n_out,
		 size_t max);

#endif
