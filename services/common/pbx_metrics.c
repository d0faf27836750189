/* Metrics registry, histogram, Prometheus text exposition and the
 * request policy of the operator's endpoint (pbx_metrics.h). The evhttp
 * transport is in pbx_metrics_http.c. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pbx_metrics.h"
#include "pbx_metrics_priv.h"
#include "pbx_redis.h"

/* 1 ms .. 10 s: a router step is a few ms, a bus round trip under load
 * tens, a CRM lookup hundreds, a deadline seconds. */
const double pbx_hist_bounds_ms[PBX_HIST_BUCKETS] = {
	1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 3000, 5000, 10000};

static double bound(const struct pbx_hist *h, size_t i)
{
	return pbx_hist_bounds_ms[i] * (h->scale > 0 ? h->scale : 1);
}

void pbx_hist_observe(struct pbx_hist *h, double ms)
{
	size_t i = 0;

	if (!(ms >= 0)) /* NaN too */
		ms = 0;
	while (i < PBX_HIST_BUCKETS && ms > bound(h, i))
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum_ms += ms;
}

double pbx_hist_quantile(const struct pbx_hist *h, double q)
{
	uint64_t rank, seen = 0;

	if (!h->count)
		return 0;
	if (q <= 0)
		q = 1e-9;
	if (q > 1)
		q = 1;
	rank = (uint64_t)ceil(q * (double)h->count);
	for (size_t i = 0; i < PBX_HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= rank)
			return bound(h, i);
	}
	return INFINITY;
}

uint64_t pbx_metrics_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The token file's first line without its line end. */
static int token_load(const char *file, char *tok, size_t size)
{
	FILE *f = fopen(file, "r");
	size_t len;

	if (!f) {
		int err = -errno;

		fprintf(stderr, "config: metrics_token_file: %s: %s\n", file,
			strerror(-err));
		return err;
	}
	if (!fgets(tok, (int)size, f))
		tok[0] = '\0';
	fclose(f);
	len = strcspn(tok, "\r\n");
	tok[len] = '\0';
	if (!len) {
		fprintf(stderr, "config: metrics_token_file: %s: no token on "
				"its first line\n",
			file);
		return -EINVAL;
	}
	return 0;
}

int pbx_metrics_alloc(struct pbx_metrics **mp, const char *service,
		      const char *token_file)
{
	struct pbx_metrics *m = calloc(1, sizeof(*m));
	int err;

	if (!m)
		return -ENOMEM;
	snprintf(m->service, sizeof(m->service), "%s", service);
	m->started_s = (double)time(NULL);
	if (token_file && token_file[0]) {
		err = token_load(token_file, m->token, sizeof(m->token));
		if (err) {
			free(m);
			return err;
		}
	}
	*mp = m;
	return 0;
}

void pbx_metrics_free(struct pbx_metrics *m)
{
	if (!m)
		return;
	pbx_metrics_http_stop(m);
	memset(m->token, 0, sizeof(m->token));
	free(m);
}

int pbx_metrics_add(struct pbx_metrics *m, const struct pbx_metric *tab,
		    size_t n, const void *obj)
{
	if (m->ntables >= PBX_METRICS_TABLES)
		return -ENOSPC;
	m->tables[m->ntables++] =
		(struct pbx_metrics_table){.tab = tab, .n = n, .obj = obj};
	return 0;
}

void pbx_metrics_health(struct pbx_metrics *m, pbx_metrics_health_h *h,
			const void *obj)
{
	m->health = h;
	m->health_obj = obj;
}

static const char *const type_names[] = {
	[PBX_METRIC_COUNTER] = "counter",
	[PBX_METRIC_GAUGE] = "gauge",
	[PBX_METRIC_HISTOGRAM] = "histogram",
};

static void put_double(FILE *f, double v)
{
	if (isnan(v))
		fputs("NaN", f);
	else if (isinf(v))
		fputs(v > 0 ? "+Inf" : "-Inf", f);
	else
		fprintf(f, "%.17g", v);
}

/* name{labels[,extra]} */
static void put_name(FILE *f, const char *name, const char *suffix,
		     const char *labels, const char *extra)
{
	bool l = labels && labels[0], e = extra && extra[0];

	fprintf(f, "%s%s", name, suffix);
	if (l || e)
		fprintf(f, "{%s%s%s}", l ? labels : "", l && e ? "," : "",
			e ? extra : "");
	fputc(' ', f);
}

static void put_hist(FILE *f, const struct pbx_metric *d,
		     const struct pbx_hist *h)
{
	uint64_t cum = 0;
	char le[40];

	for (size_t i = 0; i < PBX_HIST_BUCKETS; i++) {
		cum += h->bucket[i];
		snprintf(le, sizeof(le), "le=\"%g\"", bound(h, i) / 1000.0);
		put_name(f, d->name, "_bucket", d->labels, le);
		fprintf(f, "%llu\n", (unsigned long long)cum);
	}
	put_name(f, d->name, "_bucket", d->labels, "le=\"+Inf\"");
	fprintf(f, "%llu\n", (unsigned long long)h->count);
	put_name(f, d->name, "_sum", d->labels, NULL);
	put_double(f, h->sum_ms / 1000.0);
	fputc('\n', f);
	put_name(f, d->name, "_count", d->labels, NULL);
	fprintf(f, "%llu\n", (unsigned long long)h->count);
}

static void put_value(FILE *f, const struct pbx_metric *d, const void *obj)
{
	const char *p = (const char *)obj + d->off;

	put_name(f, d->name, "", d->labels, NULL);
	switch (d->val) {
	case PBX_MV_ULONG:
		fprintf(f, "%lu", *(const unsigned long *)p);
		break;
	case PBX_MV_ULLONG:
		fprintf(f, "%llu", *(const unsigned long long *)p);
		break;
	case PBX_MV_UINT:
		fprintf(f, "%u", *(const unsigned *)p);
		break;
	case PBX_MV_USHORT:
		fprintf(f, "%u", (unsigned)*(const unsigned short *)p);
		break;
	case PBX_MV_LONG:
		fprintf(f, "%ld", *(const long *)p);
		break;
	case PBX_MV_LLONG:
		fprintf(f, "%lld", *(const long long *)p);
		break;
	case PBX_MV_INT:
		fprintf(f, "%d", *(const int *)p);
		break;
	case PBX_MV_BOOL:
		fputc(*(const bool *)p ? '1' : '0', f);
		break;
	case PBX_MV_DOUBLE:
		put_double(f, *(const double *)p);
		break;
	case PBX_MV_FN:
		put_double(f, d->fn(obj));
		break;
	case PBX_MV_HIST:
		break;
	}
	fputc('\n', f);
}

static void put_table(FILE *f, const struct pbx_metrics_table *t)
{
	const char *last = "";

	for (size_t i = 0; i < t->n; i++) {
		const struct pbx_metric *d = &t->tab[i];

		if (strcmp(d->name, last)) {
			fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", d->name,
				d->help, d->name, type_names[d->type]);
			last = d->name;
		}
		if (d->val == PBX_MV_HIST)
			put_hist(f, d,
				 (const struct pbx_hist *)((const char *)t->obj +
							   d->off));
		else
			put_value(f, d, t->obj);
	}
}

char *pbx_metrics_render(const struct pbx_metrics *m, size_t *lenp)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fprintf(f,
		"# HELP pbx_up 1 while the service answers\n"
		"# TYPE pbx_up gauge\npbx_up{service=\"%s\"} 1\n"
		"# HELP pbx_start_time_seconds Unix time the service "
		"started\n# TYPE pbx_start_time_seconds gauge\n"
		"pbx_start_time_seconds %.0f\n"
		"# HELP pbx_redis_errors_total Redis connection failures, "
		"refused AUTHs and lost connections\n"
		"# TYPE pbx_redis_errors_total counter\n"
		"pbx_redis_errors_total %lu\n",
		m->service, m->started_s, pbx_redis_errors);
	for (size_t i = 0; i < m->ntables; i++)
		put_table(f, &m->tables[i]);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	*lenp = len;
	return buf;
}

/* Constant time in the length of what was sent: the token is not
 * guessable byte by byte from response times. */
static bool token_ok(const char *want, const char *auth)
{
	static const char scheme[] = "Bearer ";
	size_t wl = strlen(want), gl;
	unsigned char diff = 0;

	if (!auth || strncasecmp(auth, scheme, sizeof(scheme) - 1))
		return false;
	auth += sizeof(scheme) - 1;
	gl = strlen(auth);
	for (size_t i = 0; i < gl; i++)
		diff |= (unsigned char)auth[i] ^
			(unsigned char)(i < wl ? want[i] : 0);
	return !diff && gl == wl;
}

static int text(char **body, size_t *lenp, const char *fmt, const char *a)
{
	int n = asprintf(body, fmt, a);

	if (n < 0) {
		*body = NULL;
		*lenp = 0;
		return 500;
	}
	*lenp = (size_t)n;
	return 0;
}

int pbx_metrics_request(const struct pbx_metrics *m, const char *method,
			const char *path, const char *authorization,
			char **body, size_t *lenp, const char **ctype)
{
	size_t plen = strcspn(path, "?#");
	const char *why = "";
	int err;

	*ctype = "text/plain; charset=utf-8";
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return text(body, lenp, "%s", "method not allowed\n") ?: 405;
	if (plen == 8 && !strncmp(path, "/metrics", plen)) {
		if (m->token[0] && !token_ok(m->token, authorization))
			return text(body, lenp, "%s",
				    "bearer token required\n") ?: 401;
		*body = pbx_metrics_render(m, lenp);
		if (!*body)
			return 500;
		*ctype = "text/plain; version=0.0.4; charset=utf-8";
		return 200;
	}
	if (plen == 7 && !strncmp(path, "/health", plen)) {
		err = m->health ? m->health(m->health_obj, &why) : 0;
		if (err)
			return text(body, lenp, "unhealthy: %s\n", why) ?: 503;
		return text(body, lenp, "%s", "ok\n") ?: 200;
	}
	return text(body, lenp, "%s", "not found\n") ?: 404;
}

int pbx_metrics_listen_parse(const char *listen, char *host, size_t hsize,
			     uint16_t *port)
{
	const char *colon, *h = listen;
	size_t hl;
	char *end;
	long p;

	if (!listen[0] || !strcmp(listen, "0"))
		return 1;
	if (listen[0] == '[') {
		const char *rb = strchr(listen, ']');

		if (!rb || rb[1] != ':')
			goto bad;
		h = listen + 1;
		hl = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon || strchr(listen, ':') != colon)
			goto bad;
		hl = (size_t)(colon - listen);
	}
	if (!hl || hl >= hsize)
		goto bad;
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || p < 1 || p > 65535)
		goto bad;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (uint16_t)p;
	return 0;
bad:
	fprintf(stderr, "config: metrics_listen: '%s' is not host:port, "
			"[v6]:port, \"\" or 0\n",
		listen);
	return -EINVAL;
}
