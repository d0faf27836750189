/* Bus: ZeroMQ socket + pbx.v1.Envelope framing + event-loop integration.
 * Owns the zmq socket and the libevent event (if attached). */
#include <errno.h>
#include <event2/event.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "pbx_bus.h"
#include "pbx_clock.h"
#include "pbx_log.h"

/* Frames above this are treated as malformed. It is above the largest
 * legitimate payload (a 16 MiB prompt upload) so that the receiver, not the
 * bus, can answer "too large" for those; ZeroMQ itself drops peers that send
 * more than BUS_HARD_LIMIT before buffering it all. */
#define BUS_MAX_FRAME (24 * 1024 * 1024)
/* How long a closing socket may still deliver queued frames. */
#define BUS_CLOSE_LINGER_MS 200
#define BUS_HARD_LIMIT (64LL * 1024 * 1024)

struct pbx_bus {
	void *sock;
	enum pbx_bus_kind kind;
	pbx_bus_recv_h *recvh;
	void *arg;
	struct event *ev;
	bool processing;
};

void pbx_bus_msgid(char *buf, size_t size)
{
	static atomic_ulong counter;
	static char prefix[32];

	if (!prefix[0])
		snprintf(prefix, sizeof(prefix), "%d.%lx", (int)getpid(),
			 (unsigned long)(pbx_clock_now_ms() & 0xffffffff));
	snprintf(buf, size, "%s.%lu", prefix,
		 (unsigned long)atomic_fetch_add(&counter, 1) + 1);
}

int pbx_envelope_encode(const Pbx__V1__Envelope *env, uint8_t **bufp,
			size_t *lenp)
{
	size_t len = pbx__v1__envelope__get_packed_size(env);
	uint8_t *buf = malloc(len ? len : 1);

	if (!buf)
		return -ENOMEM;
	pbx__v1__envelope__pack(env, buf);
	*bufp = buf;
	*lenp = len;
	return 0;
}

Pbx__V1__Envelope *pbx_envelope_decode(const uint8_t *buf, size_t len)
{
	Pbx__V1__Envelope *env = pbx__v1__envelope__unpack(NULL, len, buf);

	/* An empty or unknown body is as useless as a broken one. */
	if (env && env->body_case == PBX__V1__ENVELOPE__BODY__NOT_SET) {
		pbx__v1__envelope__free_unpacked(env, NULL);
		return NULL;
	}
	return env;
}

void pbx_envelope_free(Pbx__V1__Envelope *env)
{
	if (env)
		pbx__v1__envelope__free_unpacked(env, NULL);
}

static int set_int_opt(void *sock, int opt, int v)
{
	return zmq_setsockopt(sock, opt, &v, sizeof(v));
}

int pbx_bus_alloc(struct pbx_bus **busp, void *zctx, enum pbx_bus_kind kind,
		  const char *endpoints, const char *identity,
		  pbx_bus_recv_h *recvh, void *arg)
{
	struct pbx_bus *bus;
	char *list, *save = NULL, *ep;
	int err = 0;

	if (!busp || !zctx || !endpoints || !recvh)
		return -EINVAL;
	bus = calloc(1, sizeof(*bus));
	if (!bus)
		return -ENOMEM;
	bus->kind = kind;
	bus->recvh = recvh;
	bus->arg = arg;
	bus->sock = zmq_socket(zctx, kind == PBX_BUS_ROUTER ? ZMQ_ROUTER
							   : ZMQ_DEALER);
	if (!bus->sock) {
		free(bus);
		return -errno;
	}
	/* Never linger on close; bounded queues; fail sends to unknown ROUTER
	 * peers instead of dropping them silently; a DEALER queues only on
	 * live connections, so a dead service is seen at once (-EAGAIN). */
	set_int_opt(bus->sock, ZMQ_LINGER, 0);
	set_int_opt(bus->sock, ZMQ_SNDHWM, 10000);
	set_int_opt(bus->sock, ZMQ_RCVHWM, 10000);
	/* A peer that restarts is back within 100 ms, not after a backoff
	 * grown during its outage (exponential backoff to 2 s once kept
	 * callers on 503 for seconds after a router came back). Peers are
	 * on the local network: a retry every 100 ms costs nothing. */
	set_int_opt(bus->sock, ZMQ_RECONNECT_IVL, 100);
	set_int_opt(bus->sock, ZMQ_RECONNECT_IVL_MAX, 0);
	if (kind == PBX_BUS_ROUTER) {
		int64_t maxsz = BUS_HARD_LIMIT;

		zmq_setsockopt(bus->sock, ZMQ_MAXMSGSIZE, &maxsz,
			       sizeof(maxsz));
		set_int_opt(bus->sock, ZMQ_ROUTER_MANDATORY, 1);
		/* A restarted DEALER with the same id takes over its route. */
		set_int_opt(bus->sock, ZMQ_ROUTER_HANDOVER, 1);
	} else {
		set_int_opt(bus->sock, ZMQ_IMMEDIATE, 1);
		if (identity)
			zmq_setsockopt(bus->sock, ZMQ_ROUTING_ID, identity,
				       strlen(identity));
	}

	list = strdup(endpoints);
	if (!list) {
		err = -ENOMEM;
		goto out;
	}
	for (ep = strtok_r(list, ",", &save); ep;
	     ep = strtok_r(NULL, ",", &save)) {
		int rc = kind == PBX_BUS_ROUTER ? zmq_bind(bus->sock, ep)
						: zmq_connect(bus->sock, ep);
		if (rc) {
			err = -errno;
			PLOG_ERR("bus: cannot %s %s: %s",
				 kind == PBX_BUS_ROUTER ? "bind" : "connect",
				 ep, zmq_strerror(errno));
			break;
		}
	}
	free(list);
out:
	if (err) {
		zmq_close(bus->sock);
		free(bus);
		return err;
	}
	*busp = bus;
	return 0;
}

void pbx_bus_free(struct pbx_bus *bus)
{
	if (!bus)
		return;
	if (bus->ev)
		event_free(bus->ev);
	/* What a service sends while it shuts down (a router's last
	 * hang-ups) must still leave: a short linger for this close only
	 * (zmq_ctx_term() then waits at most this long). */
	set_int_opt(bus->sock, ZMQ_LINGER, BUS_CLOSE_LINGER_MS);
	zmq_close(bus->sock);
	free(bus);
}

int pbx_bus_send(struct pbx_bus *bus, const struct pbx_bus_peer *peer,
		 Pbx__V1__Envelope *env)
{
	char msgid[64];
	uint8_t *buf;
	size_t len;
	int err;

	if (!bus || !env)
		return -EINVAL;
	if (bus->kind == PBX_BUS_ROUTER && !peer)
		return -EINVAL;
	if (!env->message_id || !env->message_id[0]) {
		pbx_bus_msgid(msgid, sizeof(msgid));
		env->message_id = msgid;
	}
	if (!env->timestamp_ms)
		env->timestamp_ms = pbx_clock_now_ms();

	err = pbx_envelope_encode(env, &buf, &len);
	if (env->message_id == msgid)
		env->message_id = NULL; /* do not leave a dangling pointer */
	if (err)
		return err;

	if (bus->kind == PBX_BUS_ROUTER) {
		if (zmq_send(bus->sock, peer->id, peer->len,
			     ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
			err = -errno;
			goto out;
		}
	}
	if (zmq_send(bus->sock, buf, len, ZMQ_DONTWAIT) < 0)
		err = -errno;
out:
	free(buf);
	/* The fd is edge-triggered: a send can consume the edge that announced
	 * queued input, so look again -- but from the loop, never inside this
	 * call, so no handler runs (and frees what the caller holds) before
	 * the caller regains control. */
	if (bus->ev)
		event_active(bus->ev, EV_READ, 0);
	return err;
}

int pbx_bus_fd(const struct pbx_bus *bus)
{
	int fd = -1;
	size_t sz = sizeof(fd);

	zmq_getsockopt(bus->sock, ZMQ_FD, &fd, &sz);
	return fd;
}

static bool readable(struct pbx_bus *bus)
{
	int events = 0;
	size_t sz = sizeof(events);

	if (zmq_getsockopt(bus->sock, ZMQ_EVENTS, &events, &sz))
		return false;
	return (events & ZMQ_POLLIN) != 0;
}

/* Reads one multipart message; returns false when nothing is queued. */
static bool recv_one(struct pbx_bus *bus)
{
	struct pbx_bus_peer peer = {.len = 0};
	bool have_peer = false, bad = false;
	zmq_msg_t part, payload;
	int more = 0, nparts = 0;
	size_t sz = sizeof(more);

	zmq_msg_init(&payload);
	do {
		zmq_msg_init(&part);
		if (zmq_msg_recv(&part, bus->sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&part);
			zmq_msg_close(&payload);
			return false;
		}
		nparts++;
		if (bus->kind == PBX_BUS_ROUTER && !have_peer) {
			size_t n = zmq_msg_size(&part);
			if (n > sizeof(peer.id))
				n = sizeof(peer.id);
			memcpy(peer.id, zmq_msg_data(&part), n);
			peer.len = n;
			have_peer = true;
			zmq_msg_close(&part);
		} else {
			/* Keep the last part as the payload; extra parts mean
			 * a sender that is not speaking our framing. */
			if (zmq_msg_size(&payload) || nparts > 2)
				bad = true;
			zmq_msg_close(&payload);
			zmq_msg_init(&payload);
			zmq_msg_move(&payload, &part);
			zmq_msg_close(&part);
		}
		zmq_getsockopt(bus->sock, ZMQ_RCVMORE, &more, &sz);
	} while (more);

	size_t len = zmq_msg_size(&payload);
	Pbx__V1__Envelope *env = NULL;

	if (len > BUS_MAX_FRAME)
		bad = true;
	if (!bad)
		env = pbx_envelope_decode(zmq_msg_data(&payload), len);
	zmq_msg_close(&payload);

	if (!env)
		PLOG_WARN("bus: dropped malformed frame (%zu bytes)", len);
	bus->recvh(bus, have_peer ? &peer : NULL, env, env ? 0 : -EPROTO,
		   bus->arg);
	pbx_envelope_free(env);
	return true;
}

void pbx_bus_process(struct pbx_bus *bus)
{
	if (bus->processing)
		return;
	bus->processing = true;
	while (readable(bus)) {
		if (!recv_one(bus))
			break;
	}
	bus->processing = false;
}

static void bus_event_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pbx_bus_process(arg);
}

int pbx_bus_attach(struct pbx_bus *bus, struct event_base *base)
{
	bus->ev = event_new(base, pbx_bus_fd(bus), EV_READ | EV_PERSIST,
			    bus_event_cb, bus);
	if (!bus->ev)
		return -ENOMEM;
	if (event_add(bus->ev, NULL)) {
		event_free(bus->ev);
		bus->ev = NULL;
		return -EIO;
	}
	/* Messages may already be queued (the edge happened before). */
	pbx_bus_process(bus);
	return 0;
}
