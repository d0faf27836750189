/* Logging: formats every line on stderr as text,
 * "<UTC time> <LEVEL> <service> [<tenant>/<call>] <message>", or as one
 * JSON object with the same fields (log_format = json). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "pbx_log.h"

char pbx_log_format_value[256] = "text";
static int log_json;
static char log_service[32] = "pbx";
static enum pbx_log_level log_level = PBX_LOG_INFO;
static _Thread_local char ctx_tenant[65];
static _Thread_local char ctx_call[129];

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

void pbx_log_init(const char *service, enum pbx_log_level level)
{
	snprintf(log_service, sizeof(log_service), "%s", service);
	log_level = level;
	log_json = pbx_log_format_parse(pbx_log_format_value) == 1;
}

int pbx_log_format_parse(const char *s)
{
	if (!strcmp(s, "text"))
		return 0;
	if (!strcmp(s, "json"))
		return 1;
	return -1;
}

/* Appends to a buffer that keeps `reserve` bytes for the closing of the
 * object: what does not fit is dropped at a character boundary. */
struct jbuf {
	char *b;
	int size, len, reserve;
};

static int jput(struct jbuf *j, const char *s, int n)
{
	if (j->len + n > j->size - j->reserve)
		return -1;
	memcpy(j->b + j->len, s, (size_t)n);
	j->len += n;
	return 0;
}

/* Length of the valid UTF-8 sequence at s, 0 if it is not one. */
static int utf8_len(const unsigned char *s)
{
	int n = s[0] >= 0xf0 && s[0] <= 0xf4   ? 4
		: s[0] >= 0xe0                 ? 3
		: s[0] >= 0xc2 && s[0] <= 0xdf ? 2
					       : 0;

	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	}
	return n;
}

/* A JSON string: quotes, backslashes and controls escaped, bytes that are
 * not UTF-8 (a caller name from SIP may hold any) as U+FFFD. */
static void jstr(struct jbuf *j, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char esc[8];

	jput(j, "\"", 1);
	for (int n = 1, err = 0; *p && !err; p += n) {
		n = 1;
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			err = jput(j, esc, 2);
		} else if (*p < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			err = jput(j, esc, 6);
		} else if (*p < 0x80) {
			err = jput(j, (const char *)p, 1);
		} else if ((n = utf8_len(p)) > 0) {
			err = jput(j, (const char *)p, n);
		} else {
			n = 1;
			err = jput(j, "\\ufffd", 6);
		}
	}
	j->reserve -= 1;
	jput(j, "\"", 1);
}

int pbx_log_json(char *buf, int size, const char *time, const char *level,
		 const char *service, const char *tenant, const char *call,
		 const char *msg)
{
	/* Kept free while a string is written: its closing quote, the
	 * object's "}" and the NUL. */
	struct jbuf j = {buf, size, 0, 3};
	const char *keys[] = {"time", "level", "service", "tenant", "call",
			      "msg"};
	const char *vals[] = {time, level, service, tenant, call, msg};

	if (size < 16)
		return size > 0 ? (buf[0] = '\0', 0) : 0;
	jput(&j, "{", 1);
	for (size_t i = 0; i < 6; i++) {
		int kl = (int)strlen(keys[i]);

		/* A field goes in whole or not at all, keeping it valid. */
		if (j.len + kl + 6 > j.size - j.reserve)
			break;
		if (i)
			jput(&j, ",", 1);
		jput(&j, "\"", 1);
		jput(&j, keys[i], kl);
		jput(&j, "\":", 2);
		jstr(&j, vals[i] ? vals[i] : "");
		j.reserve = 3;
	}
	j.reserve = 1;
	jput(&j, "}", 1);
	buf[j.len] = '\0';
	return j.len;
}

int pbx_log_level_parse(const char *s, enum pbx_log_level *lvl)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]);
	     i++) {
		if (!strcasecmp(s, level_names[i])) {
			*lvl = (enum pbx_log_level)i;
			return 0;
		}
	}
	return -1;
}

void pbx_log_ctx(const char *tenant, const char *call)
{
	snprintf(ctx_tenant, sizeof(ctx_tenant), "%s", tenant ? tenant : "");
	snprintf(ctx_call, sizeof(ctx_call), "%s", call ? call : "");
}

void pbx_log(enum pbx_log_level lvl, const char *fmt, ...)
{
	if (lvl > log_level)
		return;

	struct timeval tv;
	struct tm tm;
	char ts[32];
	char msg[1024];
	va_list ap;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	/* One fprintf per line keeps lines whole when threads log. */
	if (log_json) {
		char line[2048], t[64];

		snprintf(t, sizeof(t), "%s.%03dZ", ts,
			 (int)(tv.tv_usec / 1000) % 1000);
		pbx_log_json(line, sizeof(line), t, level_names[lvl],
			     log_service, ctx_tenant, ctx_call, msg);
		fprintf(stderr, "%s\n", line);
		return;
	}
	fprintf(stderr, "%s.%03ldZ %-5s %s [%s/%s] %s\n", ts,
		(long)(tv.tv_usec / 1000), level_names[lvl], log_service,
		ctx_tenant[0] ? ctx_tenant : "-", ctx_call[0] ? ctx_call : "-",
		msg);
}
