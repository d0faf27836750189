/* libcurl multi on libevent (notify_curl.h): curl tells us which sockets
 * to watch and when to wake it (socket and timer callbacks); libevent
 * tells curl when they are ready (curl_multi_socket_action); finished
 * transfers are read with curl_multi_info_read after every action. */
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "notify_curl.h"
#include "pbx_log.h"

struct notify_curl {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	struct xfer *xfers; /* running transfers, for notify_curl_free */
	unsigned running;
};

/* Per transfer; owned by the easy handle (CURLOPT_PRIVATE). */
struct xfer {
	CURL *easy;
	struct xfer *prev, *next;
	notify_curl_done_h *doneh;
	void *arg;
	char err[CURL_ERROR_SIZE];
};

static void xfer_unlink(struct notify_curl *c, struct xfer *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		c->xfers = x->next;
	if (x->next)
		x->next->prev = x->prev;
}

/* Per socket curl watches; owned by curl's socket pointer. */
struct sock {
	struct event *ev;
};

static void check_done(struct notify_curl *c)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(c->multi, &left))) {
		CURL *easy = msg->easy_handle;
		struct xfer *x = NULL;
		long code = 0;
		CURLcode res = msg->data.result;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
		curl_multi_remove_handle(c->multi, easy);
		curl_easy_cleanup(easy);
		c->running--;
		if (x) {
			xfer_unlink(c, x);
			x->doneh(res, code,
				 x->err[0] ? x->err : curl_easy_strerror(res),
				 x->arg);
			free(x);
		}
	}
}

static void on_event(evutil_socket_t fd, short what, void *arg)
{
	struct notify_curl *c = arg;
	int action = (what & EV_READ ? CURL_CSELECT_IN : 0) |
		     (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
	int still;

	curl_multi_socket_action(c->multi, fd, action, &still);
	check_done(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct notify_curl *c = arg;
	int still;

	(void)fd;
	(void)what;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &still);
	check_done(c);
}

static int sock_cb(CURL *easy, curl_socket_t s, int what, void *userp,
		   void *socketp)
{
	struct notify_curl *c = userp;
	struct sock *sk = socketp;
	short kind;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (sk) {
			event_free(sk->ev);
			free(sk);
		}
		curl_multi_assign(c->multi, s, NULL);
		return 0;
	}
	kind = EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) |
	       (what & CURL_POLL_OUT ? EV_WRITE : 0);
	if (!sk) {
		sk = calloc(1, sizeof(*sk));
		if (!sk)
			return -1;
		curl_multi_assign(c->multi, s, sk);
	} else {
		event_free(sk->ev);
	}
	sk->ev = event_new(c->base, s, kind, on_event, c);
	if (!sk->ev || event_add(sk->ev, NULL))
		return -1;
	return 0;
}

static int timer_cb(CURLM *multi, long ms, void *userp)
{
	struct notify_curl *c = userp;
	struct timeval tv = {.tv_sec = ms / 1000,
			     .tv_usec = (ms % 1000) * 1000};

	(void)multi;
	if (ms < 0)
		return evtimer_del(c->timer);
	return evtimer_add(c->timer, &tv);
}

int notify_curl_alloc(struct notify_curl **cp, struct event_base *base)
{
	struct notify_curl *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->base = base;
	c->multi = curl_multi_init();
	c->timer = evtimer_new(base, on_timer, c);
	if (!c->multi || !c->timer) {
		notify_curl_free(c);
		return -ENOMEM;
	}
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	*cp = c;
	return 0;
}

void notify_curl_free(struct notify_curl *c)
{
	if (!c)
		return;
	while (c->xfers) {
		struct xfer *x = c->xfers;

		c->xfers = x->next;
		curl_multi_remove_handle(c->multi, x->easy);
		curl_easy_cleanup(x->easy);
		free(x);
	}
	if (c->multi)
		curl_multi_cleanup(c->multi);
	if (c->timer)
		event_free(c->timer);
	free(c);
}

int notify_curl_start(struct notify_curl *c, CURL *easy,
		      notify_curl_done_h *doneh, void *arg)
{
	struct xfer *x = calloc(1, sizeof(*x));

	if (!x) {
		curl_easy_cleanup(easy);
		return -ENOMEM;
	}
	x->easy = easy;
	x->doneh = doneh;
	x->arg = arg;
	curl_easy_setopt(easy, CURLOPT_PRIVATE, x);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, x->err);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	if (curl_multi_add_handle(c->multi, easy) != CURLM_OK) {
		curl_easy_cleanup(easy);
		free(x);
		return -EIO;
	}
	x->next = c->xfers;
	if (c->xfers)
		c->xfers->prev = x;
	c->xfers = x;
	c->running++;
	return 0;
}

unsigned notify_curl_running(const struct notify_curl *c)
{
	return c->running;
}
