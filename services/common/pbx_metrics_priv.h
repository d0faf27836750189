/* pbx_metrics internals shared by pbx_metrics.c (registry, exposition)
 * and pbx_metrics_http.c (the evhttp transport). Not for services. */
#ifndef PBX_METRICS_PRIV_H
#define PBX_METRICS_PRIV_H
#include "pbx_metrics.h"

#define PBX_METRICS_TABLES 16

struct evhttp;

struct pbx_metrics_table {
	const struct pbx_metric *tab;
	size_t n;
	const void *obj;
};

/* Owned by the service's main(); owns its HTTP server. */
struct pbx_metrics {
	char service[32];
	char token[256]; /* "" none; wiped on free */
	double started_s;
	struct pbx_metrics_table tables[PBX_METRICS_TABLES];
	size_t ntables;
	pbx_metrics_health_h *health;
	const void *health_obj;
	struct evhttp *http;
};

void pbx_metrics_http_stop(struct pbx_metrics *m);

#endif
