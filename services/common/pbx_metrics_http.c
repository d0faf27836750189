/* The operator's metrics endpoint over evhttp on a service's libevent
 * loop: bounded requests (4 KiB of headers: 400; a body: 413), and
 * pbx_metrics_request() decides the answer (GET/HEAD only: 405). */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_log.h"
#include "pbx_metrics.h"
#include "pbx_metrics_priv.h"

/* A scrape is one short GET: anything larger is not one of ours. */
#define MAX_HEADERS 4096
#define IDLE_S 10

static const char *method_name(enum evhttp_cmd_type cmd)
{
	return cmd == EVHTTP_REQ_GET ? "GET"
	       : cmd == EVHTTP_REQ_HEAD ? "HEAD"
					: "OTHER";
}

static void on_request(struct evhttp_request *req, void *arg)
{
	const struct pbx_metrics *m = arg;
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct evbuffer *buf = evbuffer_new();
	const char *ctype = "text/plain";
	char *body = NULL;
	size_t len = 0;
	int status;

	status = pbx_metrics_request(
		m, method_name(evhttp_request_get_command(req)),
		evhttp_request_get_uri(req),
		evhttp_find_header(in, "Authorization"), &body, &len, &ctype);
	evhttp_add_header(out, "Content-Type", ctype);
	if (status == 401)
		evhttp_add_header(out, "WWW-Authenticate", "Bearer");
	if (buf && body)
		evbuffer_add(buf, body, len);
	free(body);
	evhttp_send_reply(req, status,
			  status == 200   ? "OK"
			  : status == 401 ? "Unauthorized"
			  : status == 404 ? "Not Found"
			  : status == 405 ? "Method Not Allowed"
			  : status == 503 ? "Service Unavailable"
					  : "Error",
			  buf);
	if (buf)
		evbuffer_free(buf);
}

int pbx_metrics_http_start(struct pbx_metrics *m, struct event_base *base,
			   const char *listen)
{
	char host[PBX_CFG_STRLEN];
	uint16_t port;
	int err = pbx_metrics_listen_parse(listen, host, sizeof(host), &port);

	if (err)
		return err > 0 ? 0 : err;
	m->http = evhttp_new(base);
	if (!m->http)
		return -ENOMEM;
	evhttp_set_max_headers_size(m->http, MAX_HEADERS);
	evhttp_set_max_body_size(m->http, 0);
	evhttp_set_timeout(m->http, IDLE_S);
	evhttp_set_gencb(m->http, on_request, m);
	errno = 0;
	if (!evhttp_bind_socket_with_handle(m->http, host, port)) {
		err = errno ? -errno : -EADDRNOTAVAIL;
		PLOG_ERR("metrics_listen %s: cannot listen: %s", listen,
			 strerror(-err));
		evhttp_free(m->http);
		m->http = NULL;
		return err;
	}
	PLOG_INFO("metrics on http://%s/metrics and /health%s", listen,
		  m->token[0] ? " (bearer token)" : "");
	return 0;
}

void pbx_metrics_http_stop(struct pbx_metrics *m)
{
	if (m->http)
		evhttp_free(m->http);
	m->http = NULL;
}
