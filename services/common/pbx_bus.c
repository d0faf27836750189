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
#include "pbx_curve.h"
#include "pbx_log.h"

/* Frames above this are treated as malformed. It is above the largest
 * legitimate payload (a 16 MiB prompt upload) so that the receiver, not the
 * bus, can answer "too large" for those; ZeroMQ itself drops peers that send
 * more than BUS_HARD_LIMIT before buffering it all. */
#define BUS_MAX_FRAME (24 * 1024 * 1024)
#define BUS_HARD_LIMIT (64LL * 1024 * 1024)
/* CURVE handshakes on loopback take milliseconds. */
#define BUS_HANDSHAKE_MS 3000

struct pbx_bus {
	void *sock;
	enum pbx_bus_kind kind;
	pbx_bus_recv_h *recvh;
	void *arg;
	struct event *ev;
	bool processing;
	/* CURVE ROUTER: User-Id -> routing id of that name's latest frame. */
	bool by_user;
	struct bus_route *routes;
	size_t nroutes, caproutes;
};

struct bus_route {
	char user[64];
	uint8_t rid[256];
	size_t rlen;
};

static struct bus_route *route_find(struct pbx_bus *bus, const char *user)
{
	for (size_t i = 0; i < bus->nroutes; i++) {
		if (!strcmp(bus->routes[i].user, user))
			return &bus->routes[i];
	}
	return NULL;
}

/* Remembers where user's latest frame came from: replies and commands to
 * that name go to its newest connection (a restarted peer's). */
static void route_learn(struct pbx_bus *bus, const char *user,
			const uint8_t *rid, size_t rlen)
{
	struct bus_route *rt = route_find(bus, user);

	if (!rt) {
		if (bus->nroutes == bus->caproutes) {
			size_t cap = bus->caproutes ? bus->caproutes * 2 : 8;
			struct bus_route *v =
				realloc(bus->routes, cap * sizeof(*v));

			if (!v)
				return; /* unreachable until its next frame */
			bus->routes = v;
			bus->caproutes = cap;
		}
		rt = &bus->routes[bus->nroutes++];
		snprintf(rt->user, sizeof(rt->user), "%s", user);
	}
	memcpy(rt->rid, rid, rlen);
	rt->rlen = rlen;
}

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

/* Applies the CURVE half of opts before the socket binds or connects. */
static int set_curve(struct pbx_bus *bus, const struct pbx_bus_opts *opts)
{
	struct pbx_curve_keypair kp;
	char server[PBX_CURVE_Z85];
	int err, zero = 0;

	err = pbx_curve_load_secret(opts->secret_file, &kp);
	if (err) {
		PLOG_ERR("bus: key %s: %s", opts->secret_file, strerror(-err));
		return err;
	}
	if (bus->kind == PBX_BUS_ROUTER) {
		const char *dom = opts->zap_domain ? opts->zap_domain : "";
		int one = 1;

		if (zmq_setsockopt(bus->sock, ZMQ_CURVE_SERVER, &one,
				   sizeof(one)) ||
		    zmq_setsockopt(bus->sock, ZMQ_CURVE_SECRETKEY, kp.sec,
				   strlen(kp.sec)) ||
		    zmq_setsockopt(bus->sock, ZMQ_ZAP_DOMAIN, dom, strlen(dom)))
			err = -EINVAL;
		/* Names, not routing ids, select peers: a connection that
		 * brings a routing id already in use is ignored by libzmq
		 * instead of taking the route over. */
		zmq_setsockopt(bus->sock, ZMQ_ROUTER_HANDOVER, &zero,
			       sizeof(zero));
		/* A connection that does not authenticate soon is dropped:
		 * it holds a slot of the ZAP handler's connection cap. */
		set_int_opt(bus->sock, ZMQ_HANDSHAKE_IVL, BUS_HANDSHAKE_MS);
		bus->by_user = true;
	} else {
		err = pbx_curve_load_public(opts->server_public_file, server);
		if (err) {
			PLOG_ERR("bus: server key %s: %s",
				 opts->server_public_file ? opts->server_public_file
							  : "(none)",
				 strerror(-err));
		} else if (zmq_setsockopt(bus->sock, ZMQ_CURVE_SERVERKEY,
					  server, strlen(server)) ||
			   zmq_setsockopt(bus->sock, ZMQ_CURVE_PUBLICKEY,
					  kp.pub, strlen(kp.pub)) ||
			   zmq_setsockopt(bus->sock, ZMQ_CURVE_SECRETKEY,
					  kp.sec, strlen(kp.sec))) {
			err = -EINVAL;
		}
	}
	memset(&kp, 0, sizeof(kp));
	return err;
}

int pbx_bus_alloc(struct pbx_bus **busp, void *zctx, enum pbx_bus_kind kind,
		  const char *endpoints, const char *identity,
		  pbx_bus_recv_h *recvh, void *arg)
{
	return pbx_bus_alloc_opts(busp, zctx, kind, endpoints, identity, NULL,
				  recvh, arg);
}

int pbx_bus_alloc_opts(struct pbx_bus **busp, void *zctx,
		       enum pbx_bus_kind kind, const char *endpoints,
		       const char *identity, const struct pbx_bus_opts *opts,
		       pbx_bus_recv_h *recvh, void *arg)
{
	bool curve = opts && opts->secret_file && opts->secret_file[0];
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
		int64_t maxsz = opts && opts->max_frame ? opts->max_frame
							: BUS_HARD_LIMIT;

		if (opts && opts->rcvhwm)
			set_int_opt(bus->sock, ZMQ_RCVHWM, opts->rcvhwm);

		zmq_setsockopt(bus->sock, ZMQ_MAXMSGSIZE, &maxsz,
			       sizeof(maxsz));
		set_int_opt(bus->sock, ZMQ_ROUTER_MANDATORY, 1);
		/* A restarted DEALER with the same id takes over its route. */
		set_int_opt(bus->sock, ZMQ_ROUTER_HANDOVER, 1);
	} else {
		set_int_opt(bus->sock, ZMQ_IMMEDIATE, 1);
		if (identity && !curve)
			zmq_setsockopt(bus->sock, ZMQ_ROUTING_ID, identity,
				       strlen(identity));
	}

	if (curve) {
		err = set_curve(bus, opts);
		if (err)
			goto out;
	}
	if (kind == PBX_BUS_ROUTER && opts && opts->monitor &&
	    opts->monitor[0] &&
	    zmq_socket_monitor(bus->sock, opts->monitor,
			       ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED)) {
		err = -errno;
		goto out;
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

void *pbx_zmq_ctx_new(void)
{
	void *ctx = zmq_ctx_new();

	if (ctx && zmq_ctx_set(ctx, ZMQ_BLOCKY, 0)) {
		zmq_ctx_term(ctx);
		return NULL;
	}
	return ctx;
}

void pbx_bus_free(struct pbx_bus *bus)
{
	if (!bus)
		return;
	if (bus->ev)
		event_free(bus->ev);
	zmq_close(bus->sock);
	free(bus->routes);
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
		const uint8_t *rid = peer->id;
		size_t rlen = peer->len;

		if (bus->by_user) {
			char user[64];
			struct bus_route *rt;

			snprintf(user, sizeof(user), "%.*s",
				 (int)(peer->len < 63 ? peer->len : 63),
				 (const char *)peer->id);
			rt = route_find(bus, user);
			if (!rt) {
				err = -EHOSTUNREACH;
				goto out;
			}
			rid = rt->rid;
			rlen = rt->rlen;
		}
		if (zmq_send(bus->sock, rid, rlen,
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
	struct pbx_bus_peer peer = {.len = 0, .fd = -1};
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

	/* Deprecated in libzmq but kept: the only way to tie a frame to its
	 * TCP connection without the draft API (ZMQ_ROUTER_NOTIFY). */
	peer.fd = zmq_msg_get(&payload, ZMQ_SRCFD);
	if (peer.fd < 0)
		peer.fd = -1;

	if (bus->by_user) {
		const char *user = zmq_msg_gets(&payload, "User-Id");

		/* The routing id a peer chose must be its key's name (peers
		 * of a CURVE ROUTER choose none, and get one from libzmq
		 * starting with a zero byte). */
		if (!user || !pbx_curve_name_valid(user) ||
		    (peer.len && peer.id[0] != 0 &&
		     (peer.len != strlen(user) ||
		      memcmp(peer.id, user, peer.len)))) {
			char claimed[65];
			size_t i;

			for (i = 0; i < peer.len && i < 64; i++)
				claimed[i] = peer.id[i] >= 0x20 &&
							     peer.id[i] < 0x7f
						     ? (char)peer.id[i]
						     : '?';
			claimed[i] = '\0';
			PLOG_WARN("bus: dropped a frame from key '%s' that "
				  "claims routing id '%s'",
				  user ? user : "?", claimed);
			zmq_msg_close(&payload);
			return true;
		}
		route_learn(bus, user, peer.id, peer.len);
		snprintf(peer.user, sizeof(peer.user), "%s", user);
		peer.len = strlen(user);
		memcpy(peer.id, user, peer.len);
	}

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

int pbx_bus_conn_get(struct pbx_bus_conn *conn, int fd)
{
	conn->fd = -1;
	if (fd < 0)
		return -EINVAL;
	conn->llen = sizeof(conn->local);
	conn->plen = sizeof(conn->peer);
	if (getsockname(fd, (struct sockaddr *)&conn->local, &conn->llen))
		return -errno;
	if (getpeername(fd, (struct sockaddr *)&conn->peer, &conn->plen))
		return -errno;
	conn->fd = fd;
	return 0;
}

bool pbx_bus_conn_open(const struct pbx_bus_conn *conn)
{
	struct pbx_bus_conn now;

	if (conn->fd < 0 || pbx_bus_conn_get(&now, conn->fd))
		return false;
	return now.llen == conn->llen && now.plen == conn->plen &&
	       !memcmp(&now.local, &conn->local, conn->llen) &&
	       !memcmp(&now.peer, &conn->peer, conn->plen);
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

bool pbx_bus_connected(struct pbx_bus *bus)
{
	int events = 0;
	size_t sz = sizeof(events);

	if (bus->kind == PBX_BUS_ROUTER)
		return true;
	if (zmq_getsockopt(bus->sock, ZMQ_EVENTS, &events, &sz))
		return false;
	if ((events & ZMQ_POLLIN) && bus->ev)
		event_active(bus->ev, EV_READ, 0);
	return (events & ZMQ_POLLOUT) != 0;
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
