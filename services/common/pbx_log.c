/* Logging: formats every line as
 * "<UTC time> <LEVEL> <service> [<tenant>/<call>] <message>" on stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "pbx_log.h"

static char log_service[32] = "pbx";
static enum pbx_log_level log_level = PBX_LOG_INFO;
static _Thread_local char ctx_tenant[65];
static _Thread_local char ctx_call[129];

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

void pbx_log_init(const char *service, enum pbx_log_level level)
{
	snprintf(log_service, sizeof(log_service), "%s", service);
	log_level = level;
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
	fprintf(stderr, "%s.%03ldZ %-5s %s [%s/%s] %s\n", ts,
		(long)(tv.tv_usec / 1000), level_names[lvl], log_service,
		ctx_tenant[0] ? ctx_tenant : "-", ctx_call[0] ? ctx_call : "-",
		msg);
}
