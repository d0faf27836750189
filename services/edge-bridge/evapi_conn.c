/* evapi connection: a libevent bufferevent to Kamailio with netstring
 * framing, connect timeout and reconnect backoff. Kamailio's evapi
 * dispatcher writes to clients with blocking sockets, so we read whenever
 * the socket is readable and never apply a read watermark: a stalled
 * reader here would stall Kamailio's SIP workers (GH #4603). */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "evapi_conn.h"
#include "netstring.h"
#include "pbx_clock.h"
#include "pbx_log.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
#define CONNECT_TIMEOUT_MS 2000
/* Replies are ~150 bytes; 4 MiB means Kamailio has not read for a long
 * time, and queueing more would only grow our memory. */
#define SEND_BACKLOG_MAX (4u * 1024 * 1024)

/* Owned by main; the bufferevent and timer are owned by this object. */
struct evapi_conn {
	struct event_base *base;
	struct sockaddr_storage ss;
	int sslen;
	char addr[128];
	struct bufferevent *bev; /* NULL while waiting to reconnect */
	struct event *retry;     /* reconnect timer */
	struct netstring *ns;
	bool up;
	unsigned backoff_ms;     /* delay before the next attempt */
	uint64_t up_since_ms;
	evapi_conn_frame_h *frameh;
	evapi_conn_state_h *stateh;
	void *arg;
};

static void conn_start(struct evapi_conn *c);

static void schedule_retry(struct evapi_conn *c)
{
	struct timeval tv = {
		.tv_sec = c->backoff_ms / 1000,
		.tv_usec = (c->backoff_ms % 1000) * 1000,
	};

	PLOG_DEBUG("evapi: reconnecting to %s in %u ms", c->addr,
		   c->backoff_ms);
	evtimer_add(c->retry, &tv);
	c->backoff_ms *= 2;
	if (c->backoff_ms > BACKOFF_MAX_MS)
		c->backoff_ms = BACKOFF_MAX_MS;
}

/* Drops the socket and arranges the next attempt. */
static void conn_drop(struct evapi_conn *c, const char *why)
{
	bool was_up = c->up;

	if (c->bev) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	c->up = false;
	netstring_reset(c->ns);
	if (was_up) {
		/* A connection that lived is a fresh start for the backoff;
		 * one that Kamailio closes at once (evapi_close(),
		 * max_clients) keeps doubling, so we do not spin. */
		if (pbx_clock_mono_ms() - c->up_since_ms >= BACKOFF_MAX_MS)
			c->backoff_ms = BACKOFF_MIN_MS;
		PLOG_WARN("evapi: connection to %s lost: %s; reconnecting",
			  c->addr, why);
	} else {
		PLOG_DEBUG("evapi: cannot connect to %s: %s", c->addr, why);
	}
	schedule_retry(c);
	if (was_up && c->stateh)
		c->stateh(false, c->arg);
}

static int frame_cb(const char *data, size_t len, void *arg)
{
	struct evapi_conn *c = arg;

	c->frameh(data, len, c->arg);
	return 0;
}

/* Acknowledge what Kamailio sent at once. Kamailio's evapi sockets keep
 * Nagle's algorithm on, so its next event waits until the previous one
 * is acknowledged; with our delayed ACKs that was up to 40 ms whenever
 * two calls arrived close together (issue 17: p50 setup 1.3-4 ms above
 * 200 calls/s on an idle core). Linux leaves quick-ACK mode on its own,
 * so this is re-armed after every read. */
static void quickack(struct bufferevent *bev)
{
	int on = 1;

	(void)setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_QUICKACK,
			 &on, sizeof(on));
}

/* Our replies leave at once, not after Kamailio's ACK of the previous
 * one (Nagle). */
static void nodelay(struct bufferevent *bev)
{
	int on = 1;

	if (setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &on,
		       sizeof(on)))
		PLOG_WARN("evapi: TCP_NODELAY: %s", strerror(errno));
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct evapi_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char buf[16384];
	int n, err = 0;

	quickack(bev);

	/* Drain everything: frames after a bad one are lost anyway. */
	while ((n = evbuffer_remove(in, buf, sizeof(buf))) > 0) {
		if (!err)
			err = netstring_feed(c->ns, buf, (size_t)n, frame_cb,
					     c);
	}
	if (err) {
		char why[64];

		snprintf(why, sizeof(why), "bad netstring (%s)",
			 strerror(-err));
		conn_drop(c, why);
	}
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct evapi_conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		/* Connected: no timeouts any more, an idle evapi socket is
		 * normal when no calls arrive. */
		bufferevent_set_timeouts(c->bev, NULL, NULL);
		nodelay(c->bev);
		quickack(c->bev);
		c->up = true;
		c->up_since_ms = pbx_clock_mono_ms();
		PLOG_INFO("evapi: connected to %s", c->addr);
		if (c->stateh)
			c->stateh(true, c->arg);
		return;
	}
	if (what & BEV_EVENT_EOF)
		conn_drop(c, "closed by Kamailio");
	else if (what & BEV_EVENT_TIMEOUT)
		conn_drop(c, "connect timeout");
	else if (what & BEV_EVENT_ERROR)
		conn_drop(c, evutil_socket_error_to_string(
				     EVUTIL_SOCKET_ERROR()));
}

static void conn_start(struct evapi_conn *c)
{
	struct timeval tmo = {.tv_sec = CONNECT_TIMEOUT_MS / 1000,
			      .tv_usec = (CONNECT_TIMEOUT_MS % 1000) * 1000};

	/* DEFER_CALLBACKS: libevent reports an immediate connect failure
	 * from inside bufferevent_socket_connect(); deferring it means our
	 * event_cb never frees the bufferevent under that call. */
	c->bev = bufferevent_socket_new(c->base, -1,
					BEV_OPT_CLOSE_ON_FREE |
						BEV_OPT_DEFER_CALLBACKS);
	if (!c->bev) {
		PLOG_ERR("evapi: cannot create a socket for %s", c->addr);
		schedule_retry(c);
		return;
	}
	bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
	bufferevent_set_timeouts(c->bev, NULL, &tmo);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&c->ss,
				       c->sslen) < 0) {
		bufferevent_free(c->bev);
		c->bev = NULL;
		PLOG_DEBUG("evapi: connect to %s failed at once", c->addr);
		schedule_retry(c);
	}
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_start(arg);
}

int evapi_conn_alloc(struct evapi_conn **cp, struct event_base *base,
		     const char *addr, evapi_conn_frame_h *frameh,
		     evapi_conn_state_h *stateh, void *arg)
{
	struct evapi_conn *c;
	int err;

	if (!cp || !base || !addr || !frameh)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->base = base;
	c->frameh = frameh;
	c->stateh = stateh;
	c->arg = arg;
	c->backoff_ms = BACKOFF_MIN_MS;
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	c->sslen = sizeof(c->ss);
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&c->ss,
				       &c->sslen) < 0) {
		PLOG_ERR("evapi: bad address '%s' (want ip:port)", addr);
		free(c);
		return -EINVAL;
	}
	err = netstring_alloc(&c->ns, NETSTRING_MAX_LEN);
	if (err) {
		free(c);
		return err;
	}
	c->retry = evtimer_new(base, retry_cb, c);
	if (!c->retry) {
		netstring_free(c->ns);
		free(c);
		return -ENOMEM;
	}
	conn_start(c);
	*cp = c;
	return 0;
}

void evapi_conn_free(struct evapi_conn *c)
{
	if (!c)
		return;
	if (c->bev)
		bufferevent_free(c->bev);
	event_free(c->retry);
	netstring_free(c->ns);
	free(c);
}

int evapi_conn_send(struct evapi_conn *c, const char *data, size_t len)
{
	struct evbuffer *out;
	char *frame;
	size_t flen;
	int err;

	if (!c || !data)
		return -EINVAL;
	if (!c->up || !c->bev)
		return -ENOTCONN;
	out = bufferevent_get_output(c->bev);
	if (evbuffer_get_length(out) > SEND_BACKLOG_MAX)
		return -ENOBUFS;
	err = netstring_encode(&frame, &flen, data, len);
	if (err)
		return err;
	err = bufferevent_write(c->bev, frame, flen) ? -ENOMEM : 0;
	free(frame);
	return err;
}

bool evapi_conn_is_up(const struct evapi_conn *c)
{
	return c && c->up;
}
