/* Metrics and health of a service: tables of metric descriptors that point
 * at the counters the service already keeps (where it keeps them), a
 * latency histogram type, the Prometheus text exposition of all of them,
 * and the policy of the operator's HTTP endpoint (/metrics, /health,
 * bearer token, 404 for anything else). The transport is separate:
 * pbx_metrics_http_start() serves it with evhttp on a libevent loop; the
 * media worker serves it with libre's HTTP server on its own loop.
 * docs/operations.md, "Metrics", lists every service's port and metrics. */
#ifndef PBX_METRICS_H
#define PBX_METRICS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pbx_config.h"

struct event_base;
struct pbx_metrics;

/* A latency histogram with fixed bucket bounds (pbx_hist_bounds_ms: 1 ms
 * to 10 s, times scale when it is set: 60 makes them 60 ms to 10 min, for
 * waits in a queue); exposed in seconds. Owned by whoever observes into
 * it; zeroed memory is an empty histogram of scale 1. */
#define PBX_HIST_BUCKETS 14
struct pbx_hist {
	uint64_t bucket[PBX_HIST_BUCKETS + 1]; /* last: above every bound */
	uint64_t count;
	double sum_ms;
	double scale; /* 0: 1 */
};
extern const double pbx_hist_bounds_ms[PBX_HIST_BUCKETS];

void pbx_hist_observe(struct pbx_hist *h, double ms);
/* The q quantile (0 < q <= 1) as the upper bound of the bucket that holds
 * it, in ms (what Prometheus's histogram_quantile approximates); 0 when
 * empty, +inf when it lies above the last bound. */
double pbx_hist_quantile(const struct pbx_hist *h, double q);

enum pbx_metric_type {
	PBX_METRIC_COUNTER,
	PBX_METRIC_GAUGE,
	PBX_METRIC_HISTOGRAM,
};

/* The C type of the field a descriptor reads (set by PBX_METRIC_VAL). */
enum pbx_metric_val {
	PBX_MV_ULONG,
	PBX_MV_ULLONG,
	PBX_MV_UINT,
	PBX_MV_USHORT,
	PBX_MV_LONG,
	PBX_MV_LLONG,
	PBX_MV_INT,
	PBX_MV_BOOL,
	PBX_MV_DOUBLE,
	PBX_MV_HIST,
	PBX_MV_FN, /* fn(obj) computes it */
};

#define PBX_METRIC_VAL(x)                                                     \
	_Generic((x), unsigned long: PBX_MV_ULONG,                            \
		 unsigned long long: PBX_MV_ULLONG,                            \
		 unsigned int: PBX_MV_UINT,                                   \
		 unsigned short: PBX_MV_USHORT,                               \
		 long: PBX_MV_LONG,                                           \
		 long long: PBX_MV_LLONG,                                     \
		 int: PBX_MV_INT,                                             \
		 bool: PBX_MV_BOOL,                                           \
		 double: PBX_MV_DOUBLE,                                       \
		 struct pbx_hist: PBX_MV_HIST)

/* One metric: a field at off in the table's object, or fn(obj). Several
 * descriptors may share a name with different labels; they must follow
 * each other in the table (HELP and TYPE are written once per name). */
struct pbx_metric {
	const char *name;   /* pbx_<service>_<what>[_total|_seconds] */
	const char *labels; /* NULL or 'status="ok",kind="x"' */
	enum pbx_metric_type type;
	enum pbx_metric_val val;
	size_t off;
	double (*fn)(const void *obj);
	const char *help;
};

/* Descriptors of field F of struct T (nested fields allowed: n.lookups). */
#define PBX_METRIC_FIELD(type_, T, F, name, labels, help)                    \
	{name, labels, type_, PBX_METRIC_VAL(((T *)0)->F), offsetof(T, F),    \
	 NULL, help}
#define PBX_COUNTER(T, F, name, help)                                         \
	PBX_METRIC_FIELD(PBX_METRIC_COUNTER, T, F, name, NULL, help)
#define PBX_COUNTER_L(T, F, name, labels, help)                               \
	PBX_METRIC_FIELD(PBX_METRIC_COUNTER, T, F, name, labels, help)
#define PBX_GAUGE(T, F, name, help)                                           \
	PBX_METRIC_FIELD(PBX_METRIC_GAUGE, T, F, name, NULL, help)
#define PBX_HISTOGRAM(T, F, name, help)                                       \
	PBX_METRIC_FIELD(PBX_METRIC_HISTOGRAM, T, F, name, NULL, help)
#define PBX_GAUGE_FN(fn_, name, help)                                         \
	{name, NULL, PBX_METRIC_GAUGE, PBX_MV_FN, 0, fn_, help}
#define PBX_COUNTER_FN(fn_, name, help)                                       \
	{name, NULL, PBX_METRIC_COUNTER, PBX_MV_FN, 0, fn_, help}

/* The health of a service: 0 when it does its job (its loop answers, so
 * it runs), else a negative errno with *why set to a short reason. */
typedef int(pbx_metrics_health_h)(const void *obj, const char **why);

/* Config items: metrics_listen ("host:port", "[v6]:port"; "" or "0":
 * off) and metrics_token_file (first line: the bearer token /metrics
 * requires; "": none). */
struct pbx_metrics_config {
	char listen[PBX_CFG_STRLEN];
	char token_file[PBX_CFG_STRLEN];
};
#define PBX_METRICS_ITEMS(mc, def_listen)                                     \
	{"metrics_listen", PBX_CFG_STR, (mc).listen, def_listen, 0, 0,        \
	 "Prometheus /metrics and /health on host:port (operator's "          \
	 "network only; \"\" or 0: off)"},                                    \
		{"metrics_token_file", PBX_CFG_STR, (mc).token_file, "", 0,   \
		 0, "file whose first line is the bearer token /metrics "     \
		    "requires (empty: none)"}

/* The service's registry: `service` names it in pbx_up{service=...}.
 * token_file as in the config ("" none); its token is read here (-ENOENT,
 * -EACCES, -EINVAL for an empty one, printed). Sets *mp only on
 * success. */
int pbx_metrics_alloc(struct pbx_metrics **mp, const char *service,
		      const char *token_file);
/* Stops the HTTP server too. NULL-safe. */
void pbx_metrics_free(struct pbx_metrics *m);

/* Adds a table read from obj (both must outlive m, or be removed first
 * by freeing m). At most 16 tables. 0 or -ENOSPC. */
int pbx_metrics_add(struct pbx_metrics *m, const struct pbx_metric *tab,
		    size_t n, const void *obj);
/* A static table of descriptors, its length counted. */
#define PBX_METRICS_ADD(m, tab, obj)                                          \
	pbx_metrics_add(m, tab, sizeof(tab) / sizeof((tab)[0]), obj)
/* The health check, with obj; without one the service is healthy while
 * its loop answers. */
void pbx_metrics_health(struct pbx_metrics *m, pbx_metrics_health_h *h,
			const void *obj);

/* The exposition of every table (text format 0.0.4) in a malloc'd string
 * (*lenp its length); NULL when out of memory. */
char *pbx_metrics_render(const struct pbx_metrics *m, size_t *lenp);

/* One HTTP request, whatever the transport: method, path (a query is
 * ignored), the Authorization header or NULL. Returns the status (200,
 * 401, 404, 405, 503, 500) with *body (malloc'd, caller frees) and
 * *ctype set. */
int pbx_metrics_request(const struct pbx_metrics *m, const char *method,
			const char *path, const char *authorization,
			char **body, size_t *lenp, const char **ctype);

/* Parses metrics_listen: 0 with host/port set, 1 when it says "off"
 * ("" or "0"), -EINVAL (printed, naming the key) when malformed. */
int pbx_metrics_listen_parse(const char *listen, char *host, size_t hsize,
			     uint16_t *port);

/* Serves m on base (evhttp) at listen; "" or "0": nothing. Requests are
 * bounded (4 KiB of headers: 400, a body: 413, 10 s idle).
 * 0, -EINVAL (bad listen, printed) or -EADDRINUSE etc. (logged). */
int pbx_metrics_http_start(struct pbx_metrics *m, struct event_base *base,
			   const char *listen);

/* Monotonic microseconds, for latency measures. */
uint64_t pbx_metrics_now_us(void);

#endif
