/* Time zones for schedules: a small TZif (RFC 8536, v2+) reader over the
 * system tzdata with a per-process cache. glibc's TZ + localtime_r is
 * process-global and re-reads the zone on every switch, which a router
 * walking many tenants' schedules cannot afford; here a zone is loaded
 * once and a conversion is a binary search. Times past the last stored
 * transition follow the file's POSIX TZ footer rule. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "scenario_internal.h"

#define TZ_NAME_MAX 64
#define TZ_FILE_MAX (512 * 1024)

/* One POSIX rule date: Jn (1-365, no Feb 29), n (0-365), Mm.w.d. */
struct tz_rdate {
	char kind; /* 'J', 'N', 'M' */
	int m, w, d, n;
	int32_t secs; /* local time of day of the change */
};

struct tz_rule {
	bool valid;
	int32_t std_off, dst_off; /* seconds east of UTC */
	bool has_dst;
	struct tz_rdate start, end;
};

struct tz {
	char name[TZ_NAME_MAX + 1];
	int64_t *trans; /* transition times, ascending */
	uint8_t *idx;	/* type index per transition */
	size_t ntrans;
	int32_t *off; /* type offsets */
	bool *dst;
	size_t ntypes;
	struct tz_rule rule;
	struct tz *next;
};

static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tz *tz_cache;

int64_t scenario_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	/* Howard Hinnant's days_from_civil. */
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void scenario_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned month_days(int64_t y, unsigned m)
{
	static const unsigned md[] = {31, 28, 31, 30, 31, 30,
				      31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : md[m - 1];
}

/* ---- POSIX TZ footer ---- */

static const char *rule_name(const char *p)
{
	if (*p == '<') {
		const char *e = strchr(p, '>');

		return e ? e + 1 : NULL;
	}
	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
		p++;
	return p;
}

/* [+-]hh[:mm[:ss]] -> seconds; hours up to 167 (RFC 8536 extension). */
static const char *rule_time(const char *p, int32_t *secs)
{
	int sign = 1, h = 0, m = 0, s = 0;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if (*p < '0' || *p > '9')
		return NULL;
	while (*p >= '0' && *p <= '9' && h < 1000)
		h = h * 10 + (*p++ - '0');
	if (*p == ':') {
		p++;
		while (*p >= '0' && *p <= '9' && m < 100)
			m = m * 10 + (*p++ - '0');
		if (*p == ':') {
			p++;
			while (*p >= '0' && *p <= '9' && s < 100)
				s = s * 10 + (*p++ - '0');
		}
	}
	if (h > 167 || m > 59 || s > 59)
		return NULL;
	*secs = sign * (h * 3600 + m * 60 + s);
	return p;
}

static const char *rule_num(const char *p, int *v)
{
	int n = 0;

	if (*p < '0' || *p > '9')
		return NULL;
	while (*p >= '0' && *p <= '9' && n < 10000)
		n = n * 10 + (*p++ - '0');
	*v = n;
	return p;
}

static const char *rule_date(const char *p, struct tz_rdate *rd)
{
	rd->secs = 7200; /* default 02:00 */
	if (*p == 'J') {
		rd->kind = 'J';
		p = rule_num(p + 1, &rd->n);
		if (!p || rd->n < 1 || rd->n > 365)
			return NULL;
	} else if (*p == 'M') {
		rd->kind = 'M';
		p = rule_num(p + 1, &rd->m);
		if (!p || *p++ != '.')
			return NULL;
		p = rule_num(p, &rd->w);
		if (!p || *p++ != '.')
			return NULL;
		p = rule_num(p, &rd->d);
		if (!p || rd->m < 1 || rd->m > 12 || rd->w < 1 || rd->w > 5 ||
		    rd->d > 6)
			return NULL;
	} else {
		rd->kind = 'N';
		p = rule_num(p, &rd->n);
		if (!p || rd->n > 365)
			return NULL;
	}
	if (*p == '/')
		p = rule_time(p + 1, &rd->secs);
	return p;
}

static void rule_parse(struct tz_rule *r, const char *s)
{
	const char *p = rule_name(s);
	int32_t off;

	memset(r, 0, sizeof(*r));
	if (!p || p == s || !(p = rule_time(p, &off)))
		return;
	r->std_off = -off; /* POSIX offsets are west-positive */
	if (!*p) {
		r->valid = true;
		return;
	}
	s = p;
	p = rule_name(s);
	if (!p || p == s)
		return;
	r->has_dst = true;
	r->dst_off = r->std_off + 3600;
	if (*p && *p != ',') {
		if (!(p = rule_time(p, &off)))
			return;
		r->dst_off = -off;
	}
	if (*p != ',')
		return; /* no rule given: unsupported, fall back to table */
	p = rule_date(p + 1, &r->start);
	if (!p || *p != ',')
		return;
	p = rule_date(p + 1, &r->end);
	if (!p || *p)
		return;
	r->valid = true;
}

/* Local seconds since the epoch (in the zone's own time) of a rule date
 * in year y. */
static int64_t rdate_local(const struct tz_rdate *rd, int64_t y)
{
	int64_t days;

	if (rd->kind == 'J') {
		int n = rd->n;

		days = scenario_days_from_civil(y, 1, 1) + n - 1;
		if (is_leap(y) && n >= 60)
			days++;
	} else if (rd->kind == 'N') {
		days = scenario_days_from_civil(y, 1, 1) + rd->n;
	} else {
		int64_t first =
			scenario_days_from_civil(y, (unsigned)rd->m, 1);
		int wd1 = (int)(((first % 7) + 11) % 7); /* 0 = Sunday */
		int day = 1 + (rd->d - wd1 + 7) % 7 + (rd->w - 1) * 7;
		int md = (int)month_days(y, (unsigned)rd->m);

		while (day > md)
			day -= 7;
		days = first + day - 1;
	}
	return days * 86400 + rd->secs;
}

static int32_t rule_offset(const struct tz_rule *r, int64_t utc, bool *isdst)
{
	int64_t y, start, end;
	unsigned m, d;
	bool in;

	if (!r->has_dst) {
		*isdst = false;
		return r->std_off;
	}
	scenario_civil_from_days(
		(utc + r->std_off) >= 0
			? (utc + r->std_off) / 86400
			: -((-(utc + r->std_off) + 86399) / 86400),
		&y, &m, &d);
	start = rdate_local(&r->start, y) - r->std_off;
	end = rdate_local(&r->end, y) - r->dst_off;
	if (start < end)
		in = utc >= start && utc < end;
	else
		in = utc < end || utc >= start;
	*isdst = in;
	return in ? r->dst_off : r->std_off;
}

/* ---- TZif ---- */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static bool name_ok(const char *zone)
{
	size_t n = strlen(zone);

	if (!n || n > TZ_NAME_MAX || zone[0] == '/' || strstr(zone, ".."))
		return false;
	for (const char *p = zone; *p; p++) {
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '/' || *p == '_' ||
		      *p == '-' || *p == '+'))
			return false;
	}
	return true;
}

static unsigned char *read_file(const char *path, size_t *len)
{
	unsigned char *buf = NULL;
	struct stat stt;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &stt) || !S_ISREG(stt.st_mode) || stt.st_size < 44 ||
	    stt.st_size > TZ_FILE_MAX)
		goto out;
	buf = malloc((size_t)stt.st_size + 1);
	if (!buf)
		goto out;
	while (got < (size_t)stt.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)stt.st_size - got);

		if (r <= 0) {
			free(buf);
			buf = NULL;
			goto out;
		}
		got += (size_t)r;
	}
	buf[got] = '\0';
	*len = got;
out:
	close(fd);
	return buf;
}

static void tz_destroy(struct tz *tz)
{
	if (!tz)
		return;
	free(tz->trans);
	free(tz->idx);
	free(tz->off);
	free(tz->dst);
	free(tz);
}

/* Parses the v2 body (64-bit times) and the footer. */
static struct tz *tz_parse(const char *name, const unsigned char *b,
			   size_t len)
{
	uint32_t isut, isstd, leap, timecnt, typecnt, charcnt;
	const unsigned char *p = b, *end = b + len;
	struct tz *tz;
	size_t skip;

	if (len < 44 || memcmp(b, "TZif", 4) || b[4] < '2')
		return NULL;
	/* Skip the v1 block. */
	isut = be32(b + 20);
	isstd = be32(b + 24);
	leap = be32(b + 28);
	timecnt = be32(b + 32);
	typecnt = be32(b + 36);
	charcnt = be32(b + 40);
	skip = 44 + (size_t)timecnt * 5 + (size_t)typecnt * 6 + charcnt +
	       (size_t)leap * 8 + isstd + isut;
	if (skip + 44 > len)
		return NULL;
	p = b + skip;
	if (memcmp(p, "TZif", 4))
		return NULL;
	isut = be32(p + 20);
	isstd = be32(p + 24);
	leap = be32(p + 28);
	timecnt = be32(p + 32);
	typecnt = be32(p + 36);
	charcnt = be32(p + 40);
	p += 44;
	if (typecnt == 0 || typecnt > 256 || timecnt > 100000 ||
	    (size_t)(end - p) < (size_t)timecnt * 9 + (size_t)typecnt * 6 +
					charcnt + (size_t)leap * 12 + isstd +
					isut)
		return NULL;
	tz = calloc(1, sizeof(*tz));
	if (!tz)
		return NULL;
	snprintf(tz->name, sizeof(tz->name), "%s", name);
	tz->ntrans = timecnt;
	tz->ntypes = typecnt;
	tz->trans = calloc(timecnt ? timecnt : 1, sizeof(*tz->trans));
	tz->idx = calloc(timecnt ? timecnt : 1, 1);
	tz->off = calloc(typecnt, sizeof(*tz->off));
	tz->dst = calloc(typecnt, sizeof(*tz->dst));
	if (!tz->trans || !tz->idx || !tz->off || !tz->dst)
		goto fail;
	for (uint32_t i = 0; i < timecnt; i++)
		tz->trans[i] = be64(p + 8 * i);
	p += 8 * (size_t)timecnt;
	for (uint32_t i = 0; i < timecnt; i++) {
		if (p[i] >= typecnt)
			goto fail;
		tz->idx[i] = p[i];
	}
	p += timecnt;
	for (uint32_t i = 0; i < typecnt; i++) {
		tz->off[i] = (int32_t)be32(p + 6 * i);
		tz->dst[i] = p[6 * i + 4] != 0;
	}
	p += 6 * (size_t)typecnt + charcnt + (size_t)leap * 12 + isstd + isut;
	if (p < end && *p == '\n') {
		const unsigned char *e =
			memchr(p + 1, '\n', (size_t)(end - p - 1));
		char footer[128];

		if (e && (size_t)(e - p - 1) < sizeof(footer)) {
			memcpy(footer, p + 1, (size_t)(e - p - 1));
			footer[e - p - 1] = '\0';
			rule_parse(&tz->rule, footer);
		}
	}
	return tz;
fail:
	tz_destroy(tz);
	return NULL;
}

static struct tz *tz_load(const char *zone)
{
	const char *dir = getenv("TZDIR");
	unsigned char *buf;
	char path[512];
	struct tz *tz;
	size_t len = 0;

	if (!dir || !*dir)
		dir = "/usr/share/zoneinfo";
	if (snprintf(path, sizeof(path), "%s/%s", dir, zone) >=
	    (int)sizeof(path))
		return NULL;
	buf = read_file(path, &len);
	if (!buf)
		return NULL;
	tz = tz_parse(zone, buf, len);
	free(buf);
	return tz;
}

const struct tz *scenario_tz_get(const char *zone)
{
	struct tz *tz;

	if (!zone || !name_ok(zone))
		return NULL;
	pthread_mutex_lock(&tz_lock);
	for (tz = tz_cache; tz; tz = tz->next) {
		if (!strcmp(tz->name, zone))
			break;
	}
	if (!tz) {
		tz = tz_load(zone);
		if (tz) {
			tz->next = tz_cache;
			tz_cache = tz;
		}
	}
	pthread_mutex_unlock(&tz_lock);
	return tz;
}

const char *scenario_tz_name(const struct tz *tz)
{
	return tz->name;
}

int32_t scenario_tz_offset(const struct tz *tz, int64_t utc, bool *isdst)
{
	size_t lo = 0, hi = tz->ntrans;
	bool dst_dummy;

	if (!isdst)
		isdst = &dst_dummy;
	if (tz->ntrans && utc >= tz->trans[tz->ntrans - 1] && tz->rule.valid)
		return rule_offset(&tz->rule, utc, isdst);
	if (!tz->ntrans || utc < tz->trans[0]) {
		if (!tz->ntrans && tz->rule.valid)
			return rule_offset(&tz->rule, utc, isdst);
		*isdst = tz->dst[0];
		return tz->off[0];
	}
	/* Last transition <= utc. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (tz->trans[mid] <= utc)
			lo = mid;
		else
			hi = mid;
	}
	*isdst = tz->dst[tz->idx[lo]];
	return tz->off[tz->idx[lo]];
}

bool scenario_tz_valid(const char *zone)
{
	return scenario_tz_get(zone) != NULL;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

int scenario_tz_local(const char *zone, int64_t utc, struct tm *tm)
{
	const struct tz *tz;
	int64_t local, days, secs, y;
	unsigned m, d;
	bool isdst;
	int32_t off;

	if (!zone || !tm)
		return -EINVAL;
	tz = scenario_tz_get(zone);
	if (!tz)
		return -ENOENT;
	off = scenario_tz_offset(tz, utc, &isdst);
	local = utc + off;
	days = floor_div(local, 86400);
	secs = local - days * 86400;
	scenario_civil_from_days(days, &y, &m, &d);
	if (y - 1900 < -2147483647 || y - 1900 > 2147483647)
		return -EINVAL;
	memset(tm, 0, sizeof(*tm));
	tm->tm_year = (int)(y - 1900);
	tm->tm_mon = (int)m - 1;
	tm->tm_mday = (int)d;
	tm->tm_hour = (int)(secs / 3600);
	tm->tm_min = (int)(secs / 60 % 60);
	tm->tm_sec = (int)(secs % 60);
	tm->tm_wday = (int)(((days % 7) + 11) % 7);
	tm->tm_yday = (int)(days - scenario_days_from_civil(y, 1, 1));
	tm->tm_isdst = isdst;
	tm->tm_gmtoff = off;
	tm->tm_zone = NULL;
	return 0;
}

int scenario_tz_utc(const char *zone, const struct tm *lt, int64_t *utc)
{
	const struct tz *tz;
	int64_t local, u1, u2;
	int32_t o1, o2;

	if (!zone || !lt || !utc || lt->tm_mon < 0 || lt->tm_mon > 11 ||
	    lt->tm_mday < 1 || lt->tm_mday > 31 || lt->tm_hour < 0 ||
	    lt->tm_hour > 23 || lt->tm_min < 0 || lt->tm_min > 59 ||
	    lt->tm_sec < 0 || lt->tm_sec > 60)
		return -EINVAL;
	tz = scenario_tz_get(zone);
	if (!tz)
		return -ENOENT;
	local = scenario_days_from_civil((int64_t)lt->tm_year + 1900,
					 (unsigned)lt->tm_mon + 1,
					 (unsigned)lt->tm_mday) *
			86400 +
		lt->tm_hour * 3600 + lt->tm_min * 60 + lt->tm_sec;
	/* The offset before the nearest change decides first: of two
	 * readings of a repeated hour the earlier one wins. */
	o1 = scenario_tz_offset(tz, local - 86400, NULL);
	u1 = local - o1;
	if (scenario_tz_offset(tz, u1, NULL) == o1) {
		*utc = u1;
		return 0;
	}
	o2 = scenario_tz_offset(tz, u1, NULL);
	u2 = local - o2;
	if (scenario_tz_offset(tz, u2, NULL) == o2) {
		*utc = u2;
		return 0;
	}
	/* Skipped by a change: shift forward by the gap. */
	*utc = local - o1;
	return 0;
}
