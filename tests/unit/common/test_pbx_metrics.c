/* Tests for pbx_metrics.c and pbx_metrics_http.c: the Prometheus text
 * exposition of a table over a struct (every field type, labels, HELP and
 * TYPE once per name, a histogram's cumulative buckets and its p99), and
 * the HTTP endpoint over a real loopback socket on a real libevent loop:
 * /metrics and /health answered, other paths 404, a wrong or missing
 * bearer token 401, an oversized request refused, other methods 405, an
 * unhealthy service 503, a metrics_listen that cannot bind or parse. */
#include <criterion/criterion.h>
#include <errno.h>
#include <event2/event.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pbx_metrics.h"
#include "pbx_test.h"
#include "test_port.h"

struct svc {
	unsigned long calls;
	uint64_t packets;
	unsigned load;
	int delta;
	bool draining;
	struct {
		unsigned long ok, bad;
	} n;
	struct pbx_hist step;
};

static double twice_load(const void *obj)
{
	return 2.0 * ((const struct svc *)obj)->load;
}

static const struct pbx_metric tab[] = {
	PBX_COUNTER(struct svc, calls, "pbx_t_calls_total", "calls"),
	PBX_COUNTER(struct svc, packets, "pbx_t_packets_total", "packets"),
	PBX_GAUGE(struct svc, load, "pbx_t_load", "load"),
	PBX_GAUGE(struct svc, delta, "pbx_t_delta", "a signed gauge"),
	PBX_GAUGE(struct svc, draining, "pbx_t_draining", "1 draining"),
	PBX_COUNTER_L(struct svc, n.ok, "pbx_t_requests_total",
		      "status=\"ok\"", "requests by status"),
	PBX_COUNTER_L(struct svc, n.bad, "pbx_t_requests_total",
		      "status=\"bad\"", "requests by status"),
	PBX_HISTOGRAM(struct svc, step, "pbx_t_step_seconds", "step"),
	PBX_GAUGE_FN(twice_load, "pbx_t_twice", "computed"),
};

static struct svc s;
static struct pbx_metrics *m;
static char tokdir[64];

static void setup(void)
{
	memset(&s, 0, sizeof(s));
	cr_assert_eq(pbx_metrics_alloc(&m, "test", ""), 0);
	cr_assert_eq(pbx_metrics_add(m, tab, sizeof(tab) / sizeof(tab[0]),
				     &s),
		     0);
	tokdir[0] = '\0';
}

static void teardown(void)
{
	char p[128];

	pbx_metrics_free(m);
	if (tokdir[0]) {
		snprintf(p, sizeof(p), "%s/token", tokdir);
		unlink(p);
		rmdir(tokdir);
	}
	pbx_test_fini();
}

TestSuite(pbx_metrics, .init = setup, .fini = teardown);

static char *render(void)
{
	size_t len;
	char *t = pbx_metrics_render(m, &len);

	cr_assert_not_null(t);
	cr_assert_eq(strlen(t), len);
	return t;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

Test(pbx_metrics, exposition_reads_the_fields_where_they_are)
{
	char *t;

	s.calls = 7;
	s.packets = 12345678901ull;
	s.load = 3;
	s.delta = -2;
	s.draining = true;
	s.n.ok = 5;
	s.n.bad = 1;
	t = render();
	cr_expect(strstr(t, "\npbx_t_calls_total 7\n"), "%s", t);
	cr_expect(strstr(t, "\npbx_t_packets_total 12345678901\n"));
	cr_expect(strstr(t, "\npbx_t_load 3\n"));
	cr_expect(strstr(t, "\npbx_t_delta -2\n"));
	cr_expect(strstr(t, "\npbx_t_draining 1\n"));
	cr_expect(strstr(t, "\npbx_t_requests_total{status=\"ok\"} 5\n"));
	cr_expect(strstr(t, "\npbx_t_requests_total{status=\"bad\"} 1\n"));
	cr_expect(strstr(t, "\npbx_t_twice 6\n"));
	cr_expect(strstr(t, "# TYPE pbx_t_calls_total counter\n"));
	cr_expect(strstr(t, "# TYPE pbx_t_load gauge\n"));
	cr_expect(strstr(t, "# HELP pbx_t_load load\n"));
	/* Two label sets, one HELP and one TYPE. */
	cr_expect_eq(count(t, "# TYPE pbx_t_requests_total counter"), 1);
	cr_expect_eq(count(t, "# HELP pbx_t_requests_total"), 1);
	cr_expect(strstr(t, "pbx_up{service=\"test\"} 1\n"));
	cr_expect(strstr(t, "# TYPE pbx_redis_errors_total counter\n"));
	/* A live value, not a copy taken at registration. */
	s.calls = 8;
	free(t);
	t = render();
	cr_expect(strstr(t, "\npbx_t_calls_total 8\n"));
	free(t);
}

Test(pbx_metrics, every_line_is_a_comment_or_name_value)
{
	char *t, *save = NULL;

	pbx_hist_observe(&s.step, 3);
	t = render();
	for (char *l = strtok_r(t, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		char name[128], val[64];

		if (l[0] == '#') {
			cr_expect(!strncmp(l, "# HELP ", 7) ||
					  !strncmp(l, "# TYPE ", 7),
				  "%s", l);
			continue;
		}
		cr_expect_eq(sscanf(l, "%127s %63s", name, val), 2, "%s", l);
		cr_expect(strspn(name, "abcdefghijklmnopqrstuvwxyz_") > 4,
			  "%s", l);
		cr_expect(!strcmp(val, "+Inf") || strtod(val, NULL) >= -2,
			  "%s", l);
	}
	free(t);
}

Test(pbx_metrics, histogram_buckets_are_cumulative_in_seconds)
{
	char *t;

	pbx_hist_observe(&s.step, 0.5);  /* <= 1 ms */
	pbx_hist_observe(&s.step, 1);    /* <= 1 ms (bounds inclusive) */
	pbx_hist_observe(&s.step, 7);    /* <= 10 ms */
	pbx_hist_observe(&s.step, 60000); /* above every bound */
	t = render();
	cr_expect(strstr(t, "# TYPE pbx_t_step_seconds histogram\n"));
	cr_expect(strstr(t, "pbx_t_step_seconds_bucket{le=\"0.001\"} 2\n"),
		  "%s", t);
	cr_expect(strstr(t, "pbx_t_step_seconds_bucket{le=\"0.005\"} 2\n"));
	cr_expect(strstr(t, "pbx_t_step_seconds_bucket{le=\"0.01\"} 3\n"));
	cr_expect(strstr(t, "pbx_t_step_seconds_bucket{le=\"10\"} 3\n"));
	cr_expect(strstr(t, "pbx_t_step_seconds_bucket{le=\"+Inf\"} 4\n"));
	cr_expect(strstr(t, "pbx_t_step_seconds_count 4\n"));
	cr_expect(strstr(t, "pbx_t_step_seconds_sum 60.008499999999998\n") ||
			  strstr(t, "pbx_t_step_seconds_sum 60.0085\n"),
		  "%s", t);
	free(t);
}

Test(pbx_metrics, p99_is_the_bucket_bound_that_holds_it)
{
	struct pbx_hist h = {0};

	cr_expect_eq(pbx_hist_quantile(&h, 0.99), 0);
	for (int i = 0; i < 990; i++)
		pbx_hist_observe(&h, 3); /* <= 5 ms */
	for (int i = 0; i < 10; i++)
		pbx_hist_observe(&h, 150); /* <= 200 ms */
	cr_expect_eq(pbx_hist_quantile(&h, 0.99), 5);
	cr_expect_eq(pbx_hist_quantile(&h, 0.5), 5);
	pbx_hist_observe(&h, 150);
	cr_expect_eq(pbx_hist_quantile(&h, 0.99), 200);
	pbx_hist_observe(&h, -1); /* a clock step back counts as 0 */
	cr_expect_eq(h.bucket[0], 1);
	for (int i = 0; i < 100; i++)
		pbx_hist_observe(&h, 1e9);
	cr_expect(isinf(pbx_hist_quantile(&h, 0.99)));
}

Test(pbx_metrics, scaled_histogram_for_queue_waits)
{
	char *t;

	s.step.scale = 60; /* 60 ms .. 10 min */
	pbx_hist_observe(&s.step, 45000);  /* 45 s: <= 60 s */
	pbx_hist_observe(&s.step, 500000); /* 500 s: <= 600 s */
	cr_expect_eq(pbx_hist_quantile(&s.step, 0.5), 60000);
	cr_expect_eq(pbx_hist_quantile(&s.step, 1), 600000);
	t = render();
	cr_expect(strstr(t, "pbx_t_step_seconds_bucket{le=\"0.06\"} 0\n"),
		  "%s", t);
	cr_expect(strstr(t, "pbx_t_step_seconds_bucket{le=\"30\"} 0\n"));
	cr_expect(strstr(t, "pbx_t_step_seconds_bucket{le=\"60\"} 1\n"));
	cr_expect(strstr(t, "pbx_t_step_seconds_bucket{le=\"600\"} 2\n"));
	free(t);
}

Test(pbx_metrics, listen_parse)
{
	static const char *const bad[] = {"127.0.0.1", "h:0", "h:70000",
					  ":9000", "::1:9000", "[::1]9000",
					  "h:90x"};
	char host[64];
	uint16_t port = 0;

	cr_expect_eq(pbx_metrics_listen_parse("127.0.0.1:9201", host,
					      sizeof(host), &port),
		     0);
	cr_expect_str_eq(host, "127.0.0.1");
	cr_expect_eq(port, 9201);
	cr_expect_eq(pbx_metrics_listen_parse("[::1]:9300", host,
					      sizeof(host), &port),
		     0);
	cr_expect_str_eq(host, "::1");
	cr_expect_eq(port, 9300);
	cr_expect_eq(pbx_metrics_listen_parse("", host, sizeof(host), &port),
		     1);
	cr_expect_eq(pbx_metrics_listen_parse("0", host, sizeof(host), &port),
		     1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(pbx_metrics_listen_parse(bad[i], host,
						      sizeof(host), &port),
			     -EINVAL, "%s", bad[i]);
}

/* --- the endpoint over a real socket ------------------------------- */

struct http {
	struct event_base *base;
	uint16_t port;
};

static void http_start(struct http *h, struct pbx_metrics *mm)
{
	char listen[64];

	h->base = event_base_new();
	cr_assert_not_null(h->base);
	h->port = test_free_port();
	cr_assert(h->port);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", h->port);
	cr_assert_eq(pbx_metrics_http_start(mm, h->base, listen), 0);
}

/* Sends req raw and runs the loop until the server closed the connection
 * (HTTP/1.0) or 5 s passed; returns what came back (malloc'd). */
static char *http_raw(struct http *h, const char *req, size_t reqlen)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(h->port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t cap = 1 << 16, len = 0, off = 0;
	char *out = calloc(1, cap + 1);

	cr_assert(fd >= 0 && out);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	for (int i = 0; i < 500; i++) {
		struct pollfd p = {.fd = fd,
				   .events = POLLIN |
					     (off < reqlen ? POLLOUT : 0)};
		ssize_t n;

		event_base_loop(h->base, EVLOOP_NONBLOCK);
		if (poll(&p, 1, 10) <= 0)
			continue;
		if ((p.revents & POLLOUT) && off < reqlen) {
			n = send(fd, req + off, reqlen - off, MSG_NOSIGNAL);
			if (n > 0)
				off += (size_t)n;
			else
				off = reqlen; /* server closed on us */
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = recv(fd, out + len, cap - len, 0);
			if (n <= 0)
				break;
			len += (size_t)n;
		}
	}
	close(fd);
	event_base_loop(h->base, EVLOOP_NONBLOCK);
	out[len] = '\0';
	return out;
}

static char *http_get(struct http *h, const char *path, const char *hdr)
{
	char req[512];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n%s\r\n", path,
			 hdr ? hdr : "");

	return http_raw(h, req, (size_t)n);
}

/* method /metrics with rest after the request line (headers, body). */
static char *http_get_m(struct http *h, const char *method, const char *rest)
{
	char req[512];
	int n = snprintf(req, sizeof(req), "%s /metrics HTTP/1.0\r\n%s%s",
			 method, rest, rest[0] ? "" : "\r\n");

	return http_raw(h, req, (size_t)n);
}

static void http_stop(struct http *h)
{
	pbx_metrics_free(m);
	m = NULL;
	event_base_free(h->base);
}

static int status_of(const char *resp)
{
	int st = 0;

	sscanf(resp, "HTTP/1.%*d %d", &st);
	return st;
}

static int healthy;

static int health(const void *obj, const char **why)
{
	(void)obj;
	*why = "redis down";
	return healthy ? 0 : -ENOTCONN;
}

Test(pbx_metrics, http_serves_metrics_and_health)
{
	struct http h;
	char *r;

	http_start(&h, m);
	s.calls = 42;
	r = http_get(&h, "/metrics", NULL);
	cr_expect_eq(status_of(r), 200, "%s", r);
	cr_expect(strstr(r, "Content-Type: text/plain; version=0.0.4"));
	cr_expect(strstr(r, "\npbx_t_calls_total 42\n"), "%s", r);
	free(r);
	r = http_get(&h, "/metrics?x=1", NULL);
	cr_expect_eq(status_of(r), 200);
	free(r);

	pbx_metrics_health(m, health, NULL);
	healthy = 1;
	r = http_get(&h, "/health", NULL);
	cr_expect_eq(status_of(r), 200, "%s", r);
	cr_expect(strstr(r, "\r\n\r\nok\n"));
	free(r);
	healthy = 0;
	r = http_get(&h, "/health", NULL);
	cr_expect_eq(status_of(r), 503, "%s", r);
	cr_expect(strstr(r, "unhealthy: redis down"));
	free(r);
	http_stop(&h);
}

Test(pbx_metrics, http_refuses_other_paths_methods_and_big_requests)
{
	struct http h;
	char *r, *big;
	size_t n = 16384;
	int len;

	http_start(&h, m);
	r = http_get(&h, "/", NULL);
	cr_expect_eq(status_of(r), 404, "%s", r);
	cr_expect_null(strstr(r, "pbx_t_calls_total"));
	free(r);
	r = http_get(&h, "/metricsx", NULL);
	cr_expect_eq(status_of(r), 404);
	free(r);
	r = http_get(&h, "/../metrics", NULL);
	cr_expect_eq(status_of(r), 404);
	free(r);

	r = http_get_m(&h, "POST", "");
	cr_expect_eq(status_of(r), 405, "%s", r);
	cr_expect_null(strstr(r, "pbx_t_calls_total"));
	free(r);
	/* A scrape carries no body. */
	r = http_get_m(&h, "GET", "Content-Length: 2\r\n\r\nxx");
	cr_expect_eq(status_of(r), 413, "%s", r);
	cr_expect_null(strstr(r, "pbx_t_calls_total"));
	free(r);

	/* 16 KiB of headers: refused (a 4xx or closed), never served. */
	big = malloc(n + 128);
	cr_assert_not_null(big);
	len = snprintf(big, n + 128, "GET /metrics HTTP/1.0\r\nX-Pad: ");
	memset(big + len, 'a', n);
	len += (int)n;
	len += snprintf(big + len, 128, "\r\n\r\n");
	r = http_raw(&h, big, (size_t)len);
	cr_expect(status_of(r) == 400 || status_of(r) == 0, "%.200s", r);
	cr_expect_null(strstr(r, "pbx_t_calls_total"));
	free(r);
	free(big);

	/* And it still serves afterwards. */
	r = http_get(&h, "/metrics", NULL);
	cr_expect_eq(status_of(r), 200);
	free(r);
	http_stop(&h);
}

/* m made again with a token file holding tok: alloc's result. */
static int with_token(const char *tok)
{
	int err;

	char p[128];
	FILE *f;

	snprintf(tokdir, sizeof(tokdir), "/tmp/pbx-metrics-test.XXXXXX");
	cr_assert_not_null(mkdtemp(tokdir));
	snprintf(p, sizeof(p), "%s/token", tokdir);
	f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs(tok, f);
	fclose(f);
	pbx_metrics_free(m);
	m = NULL;
	err = pbx_metrics_alloc(&m, "test", p);
	if (!err)
		cr_assert_eq(pbx_metrics_add(m, tab,
					     sizeof(tab) / sizeof(tab[0]), &s),
			     0);
	return err;
}

Test(pbx_metrics, http_token_required_when_configured)
{
	struct http h;
	char *r;

	cr_assert_eq(with_token("s3cret-token\n"), 0);
	http_start(&h, m);
	r = http_get(&h, "/metrics", NULL);
	cr_expect_eq(status_of(r), 401, "%s", r);
	cr_expect(strstr(r, "WWW-Authenticate: Bearer"));
	cr_expect_null(strstr(r, "pbx_t_calls_total"));
	free(r);
	r = http_get(&h, "/metrics", "Authorization: Bearer wrong\r\n");
	cr_expect_eq(status_of(r), 401);
	free(r);
	r = http_get(&h, "/metrics", "Authorization: Bearer s3cret-toke\r\n");
	cr_expect_eq(status_of(r), 401);
	free(r);
	r = http_get(&h, "/metrics",
		     "Authorization: Bearer s3cret-token-and-more\r\n");
	cr_expect_eq(status_of(r), 401);
	free(r);
	r = http_get(&h, "/metrics", "Authorization: Basic s3cret-token\r\n");
	cr_expect_eq(status_of(r), 401);
	free(r);
	r = http_get(&h, "/metrics", "Authorization: Bearer s3cret-token\r\n");
	cr_expect_eq(status_of(r), 200, "%s", r);
	cr_expect(strstr(r, "pbx_t_calls_total"));
	free(r);
	/* /health needs no token: a healthcheck carries none. */
	r = http_get(&h, "/health", NULL);
	cr_expect_eq(status_of(r), 200);
	free(r);
	http_stop(&h);
}

Test(pbx_metrics, bad_token_file_and_busy_port_fail_start)
{
	struct pbx_metrics *m2 = NULL;
	struct event_base *base = event_base_new();
	struct http h;
	char listen[64];

	cr_expect_eq(pbx_metrics_alloc(&m2, "t", "/nonexistent/token"),
		     -ENOENT);
	cr_expect_null(m2);
	cr_expect_eq(with_token("\n"), -EINVAL);
	cr_expect_null(m);
	cr_assert_eq(pbx_metrics_alloc(&m, "test", ""), 0);
	http_start(&h, m);
	cr_assert_eq(pbx_metrics_alloc(&m2, "t", ""), 0);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", h.port);
	cr_expect_eq(pbx_metrics_http_start(m2, base, listen), -EADDRINUSE);
	cr_expect_eq(pbx_metrics_http_start(m2, base, "nonsense"), -EINVAL);
	cr_expect_eq(pbx_metrics_http_start(m2, base, "0"), 0);
	pbx_metrics_free(m2);
	event_base_free(base);
	http_stop(&h);
}
