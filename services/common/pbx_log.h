/* Logging: one line shape for every service; each line carries the service
 * name and the current tenant / call context. Never log credentials.
 * Two formats with the same fields: text (default) and JSON lines
 * (log_format = json): {"time","level","service","tenant","call","msg"}. */
#ifndef PBX_LOG_H
#define PBX_LOG_H

enum pbx_log_level { PBX_LOG_ERROR = 0, PBX_LOG_WARN, PBX_LOG_INFO, PBX_LOG_DEBUG };

/* The config item log_format of every service (PBX_LOG_FORMAT_ITEM in its
 * table): "text" or "json" (pbx_config refuses anything else), applied by
 * pbx_log_init(). */
extern char pbx_log_format_value[256];
#define PBX_LOG_FORMAT_ITEM                                                   \
	{"log_format", PBX_CFG_STR, pbx_log_format_value, "text", 0, 0,       \
	 "log lines as text or json (one JSON object a line)"}
/* 0 text, 1 json, -1 neither. */
int pbx_log_format_parse(const char *s);

/* Set once in main(): service name and threshold (and the format of
 * log_format). */
void pbx_log_init(const char *service, enum pbx_log_level level);
int pbx_log_level_parse(const char *s, enum pbx_log_level *lvl);

/* Per-callback context: set it when a callback starts handling a call,
 * clear it (NULLs) when it returns. Thread-local, strings are copied. */
void pbx_log_ctx(const char *tenant, const char *call);

void pbx_log(enum pbx_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The JSON form of one line, written into buf (exposed for tests):
 * returns its length (it is cut short, still valid JSON, when it does
 * not fit). */
int pbx_log_json(char *buf, int size, const char *time, const char *level,
		 const char *service, const char *tenant, const char *call,
		 const char *msg);

#define PLOG_ERR(...) pbx_log(PBX_LOG_ERROR, __VA_ARGS__)
#define PLOG_WARN(...) pbx_log(PBX_LOG_WARN, __VA_ARGS__)
#define PLOG_INFO(...) pbx_log(PBX_LOG_INFO, __VA_ARGS__)
#define PLOG_DEBUG(...) pbx_log(PBX_LOG_DEBUG, __VA_ARGS__)

#endif
