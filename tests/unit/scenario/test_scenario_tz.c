/* Time zones: the library's TZif reader agrees with glibc (TZ= +
 * localtime_r, the reference that `TZ=<zone> date` uses) second by second
 * across years of DST changes, past the last stored transition (the
 * POSIX footer rule), and local -> UTC handles gaps and repeats. */
#include <errno.h>

#include "scen_test.h"

TestSuite(scenario_tz, .fini = pbx_test_fini);

static const char *const zones[] = {
	"Europe/Moscow",     "Europe/Berlin",	 "America/New_York",
	"Asia/Vladivostok",  "Australia/Sydney", "Asia/Kolkata",
	"America/Sao_Paulo", "Pacific/Chatham",	 "UTC"};

static void same_as_glibc(const char *zone, int64_t from, int64_t to,
			  int64_t stepsec)
{
	setenv("TZ", zone, 1);
	tzset();
	for (int64_t t = from; t < to; t += stepsec) {
		struct tm ref, got;
		time_t tt = (time_t)t;

		cr_assert_not_null(localtime_r(&tt, &ref));
		cr_assert_eq(scenario_tz_local(zone, t, &got), 0, "%s", zone);
		cr_assert(got.tm_year == ref.tm_year &&
				  got.tm_mon == ref.tm_mon &&
				  got.tm_mday == ref.tm_mday &&
				  got.tm_hour == ref.tm_hour &&
				  got.tm_min == ref.tm_min &&
				  got.tm_sec == ref.tm_sec &&
				  got.tm_wday == ref.tm_wday &&
				  got.tm_yday == ref.tm_yday &&
				  got.tm_isdst == ref.tm_isdst &&
				  got.tm_gmtoff == ref.tm_gmtoff,
			  "%s at %lld: got %04d-%02d-%02d %02d:%02d off %ld "
			  "dst %d, glibc %04d-%02d-%02d %02d:%02d off %ld "
			  "dst %d",
			  zone, (long long)t, got.tm_year + 1900,
			  got.tm_mon + 1, got.tm_mday, got.tm_hour, got.tm_min,
			  got.tm_gmtoff, got.tm_isdst, ref.tm_year + 1900,
			  ref.tm_mon + 1, ref.tm_mday, ref.tm_hour, ref.tm_min,
			  ref.tm_gmtoff, ref.tm_isdst);
	}
}

Test(scenario_tz, agrees_with_glibc_over_a_decade_in_many_zones)
{
	/* 2018..2028 every 1 h 37 min 17 s (drifts over every minute). */
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
		same_as_glibc(zones[i], 1514764800, 1830297600, 5837);
}

Test(scenario_tz, agrees_with_glibc_around_each_2026_change)
{
	/* Every minute of the days around the changes. */
	static const int64_t days[] = {
		1774656000, /* 2026-03-28: Berlin 03-29 */
		1772841600, /* 2026-03-07: New York 03-08 */
		1793318400, /* 2026-10-31: New York 11-01 */
		1775260800, /* 2026-04-04: Sydney 04-05 */
		1791244800, /* 2026-10-03: Sydney 10-04 */
		1792540800, /* 2026-10-24: Berlin 10-25 */
	};

	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
		for (size_t d = 0; d < sizeof(days) / sizeof(days[0]); d++)
			same_as_glibc(zones[i], days[d], days[d] + 3 * 86400,
				      60);
}

Test(scenario_tz, agrees_with_glibc_past_the_last_stored_transition)
{
	/* 2036..2046: beyond 2037 only the footer rule decides. */
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
		same_as_glibc(zones[i], 2082758400, 2398291200, 7211);
}

Test(scenario_tz, agrees_with_glibc_before_the_first_transition)
{
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
		same_as_glibc(zones[i], -2500000000LL, -2300000000LL, 86399);
}

static int64_t utc_of(const char *zone, int y, int mo, int d, int h, int mi)
{
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mo - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = mi};
	int64_t u = 0;

	cr_assert_eq(scenario_tz_utc(zone, &tm, &u), 0);
	return u;
}

Test(scenario_tz, local_to_utc_round_trips_and_handles_gaps_and_repeats)
{
	/* Plain: Moscow 2026-12-31 19:00 = 16:00 UTC. */
	cr_assert_eq(utc_of("Europe/Moscow", 2026, 12, 31, 19, 0),
		     scen_utc(2026, 12, 31, 16, 0) / 1000);
	/* Berlin 2026-03-29 02:30 does not exist: moved forward to 03:30
	 * CEST = 01:30 UTC. */
	cr_assert_eq(utc_of("Europe/Berlin", 2026, 3, 29, 2, 30),
		     scen_utc(2026, 3, 29, 1, 30) / 1000);
	/* Berlin 2026-10-25 02:30 happens twice: the first (CEST). */
	cr_assert_eq(utc_of("Europe/Berlin", 2026, 10, 25, 2, 30),
		     scen_utc(2026, 10, 25, 0, 30) / 1000);
	/* New York summer and winter. */
	cr_assert_eq(utc_of("America/New_York", 2026, 7, 1, 9, 0),
		     scen_utc(2026, 7, 1, 13, 0) / 1000);
	cr_assert_eq(utc_of("America/New_York", 2026, 1, 5, 9, 0),
		     scen_utc(2026, 1, 5, 14, 0) / 1000);
}

Test(scenario_tz, unknown_or_hostile_zone_names_are_refused)
{
	struct tm tm;

	cr_assert_not(scenario_tz_valid("Mars/Olympus"));
	cr_assert_not(scenario_tz_valid("../../etc/passwd"));
	cr_assert_not(scenario_tz_valid("/etc/localtime"));
	cr_assert_not(scenario_tz_valid(""));
	cr_assert_not(scenario_tz_valid("Europe"));
	cr_assert_not(scenario_tz_valid(NULL));
	cr_assert(scenario_tz_valid("Europe/Moscow"));
	cr_assert_eq(scenario_tz_local("Mars/Olympus", 0, &tm), -ENOENT);
}
