/* Logging: one line shape for every service; each line carries the service
 * name and the current tenant / call context. Never log credentials. */
#ifndef PBX_LOG_H
#define PBX_LOG_H

enum pbx_log_level { PBX_LOG_ERROR = 0, PBX_LOG_WARN, PBX_LOG_INFO, PBX_LOG_DEBUG };

/* Set once in main(): service name and threshold. */
void pbx_log_init(const char *service, enum pbx_log_level level);
int pbx_log_level_parse(const char *s, enum pbx_log_level *lvl);

/* Per-callback context: set it when a callback starts handling a call,
 * clear it (NULLs) when it returns. Thread-local, strings are copied. */
void pbx_log_ctx(const char *tenant, const char *call);

void pbx_log(enum pbx_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define PLOG_ERR(...) pbx_log(PBX_LOG_ERROR, __VA_ARGS__)
#define PLOG_WARN(...) pbx_log(PBX_LOG_WARN, __VA_ARGS__)
#define PLOG_INFO(...) pbx_log(PBX_LOG_INFO, __VA_ARGS__)
#define PLOG_DEBUG(...) pbx_log(PBX_LOG_DEBUG, __VA_ARGS__)

#endif
