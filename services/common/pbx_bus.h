/* Bus: one ZeroMQ socket carrying pbx.v1.Envelope frames, driven by any
 * event loop through its file descriptor (ZMQ_FD is edge-triggered, so
 * pbx_bus_process() drains until ZMQ_EVENTS has no POLLIN). Patterns:
 * services that many peers talk to bind a ROUTER; clients connect a DEALER
 * (to every instance of the service: ZeroMQ fair-queues and round-robins).
 * Frames: DEALER side [payload], ROUTER side [peer id][payload]. */
#ifndef PBX_BUS_H
#define PBX_BUS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "pbx/v1/envelope.pb-c.h"

struct event_base;
struct pbx_bus;

/* The ROUTER-side identity of a peer (opaque bytes). On a CURVE ROUTER
 * the id is the name of the key the peer authenticated with (its User-Id,
 * see pbx_curve.h), whatever routing id the peer's socket chose, and user
 * holds the same name as a string; user is "" without CURVE. */
struct pbx_bus_peer {
	uint8_t id[256];
	size_t len;
	char user[64];
	int fd; /* the TCP connection the frame came on (libzmq's, ZMQ_SRCFD);
		 * -1 when libzmq does not say (inproc, ipc) */
};

/* One TCP connection of a bus socket, remembered so that a later question
 * "is it still open?" has an answer without watching libzmq's events: the
 * fd with both its addresses. When the peer's process dies its kernel
 * closes the connection, libzmq closes the fd, and the fd (or its number,
 * reused by another connection with other addresses) no longer matches. */
struct pbx_bus_conn {
	int fd; /* -1: none known */
	socklen_t llen, plen;
	struct sockaddr_storage local, peer;
};

/* Records the connection behind fd; 0, or -EBADF / -ENOTCONN / -EINVAL
 * (conn->fd is then -1). */
int pbx_bus_conn_get(struct pbx_bus_conn *conn, int fd);
/* True while conn names a connection that is still open. */
bool pbx_bus_conn_open(const struct pbx_bus_conn *conn);

/* Called once per received frame. env is NULL and err is -EPROTO when the
 * frame did not decode (it has been logged); peer is NULL on DEALER
 * sockets. env is freed by the bus after the handler returns. */
typedef void(pbx_bus_recv_h)(struct pbx_bus *bus,
			     const struct pbx_bus_peer *peer,
			     const Pbx__V1__Envelope *env, int err, void *arg);

enum pbx_bus_kind { PBX_BUS_ROUTER, PBX_BUS_DEALER };

/* The process's zmq context: zmq_ctx_new() with ZMQ_BLOCKY off, so that
 * every socket in it, libzmq's own included (a socket monitor's PAIR),
 * lingers 0 by default and zmq_ctx_term() never waits for a frame that
 * has no reader any more (it hung at shutdown about one run in four with
 * a monitor on a CURVE ROUTER). NULL if libzmq cannot make one. */
void *pbx_zmq_ctx_new(void);

/* zctx: a zmq context shared by the process (pbx_zmq_ctx_new()).
 * endpoints: comma-separated list; bind for ROUTER, connect for DEALER.
 * identity: optional DEALER routing id (e.g. the worker id), NULL for
 * random. Sets *busp only on success. */
int pbx_bus_alloc(struct pbx_bus **busp, void *zctx, enum pbx_bus_kind kind,
		  const char *endpoints, const char *identity,
		  pbx_bus_recv_h *recvh, void *arg);
void pbx_bus_free(struct pbx_bus *bus);

/* Socket options beyond the defaults. CURVE (docs/security.md, "Buses"):
 * a ROUTER becomes a CURVE server with secret_file and asks the ZAP
 * handler (pbx_zap_start(), started first) of zap_domain; a DEALER
 * authenticates with secret_file to the server whose public key is in
 * server_public_file. A CURVE ROUTER keys its peers by User-Id: its peers
 * connect with no chosen routing id (a DEALER's identity is not used), the
 * bus remembers the routing id of each name's latest frame and sends to
 * that, so only a holder of a name's key can speak or be reached as that
 * name, and a second connection never takes over the first's route.
 * max_frame (ZMQ_MAXMSGSIZE: a larger frame drops the connection before
 * it is buffered) and rcvhwm (frames queued per peer) apply to a ROUTER
 * when non-zero. */
struct pbx_bus_opts {
	const char *secret_file;        /* NULL or "": plaintext */
	const char *server_public_file; /* DEALER only */
	const char *zap_domain;         /* ROUTER only */
	long long max_frame;
	int rcvhwm;
	/* ROUTER: inproc endpoint for ACCEPTED / DISCONNECTED events (the
	 * ZAP handler's connection cap, pbx_zap_domain.monitor). */
	const char *monitor;
};

/* pbx_bus_alloc() with options (opts may be NULL). -ENOENT / -EINVAL for
 * a missing or bad key file. */
int pbx_bus_alloc_opts(struct pbx_bus **busp, void *zctx,
		       enum pbx_bus_kind kind, const char *endpoints,
		       const char *identity, const struct pbx_bus_opts *opts,
		       pbx_bus_recv_h *recvh, void *arg);

/* Sends env (fills message_id and timestamp_ms when empty). peer is
 * required on ROUTER sockets and ignored on DEALER sockets. Never blocks:
 * returns -EAGAIN when no peer is connected or its queue is full,
 * -EHOSTUNREACH for an unknown ROUTER peer. */
int pbx_bus_send(struct pbx_bus *bus, const struct pbx_bus_peer *peer,
		 Pbx__V1__Envelope *env);

/* Loop integration: watch pbx_bus_fd() for readability and call
 * pbx_bus_process(). The fd is edge-triggered and a send can consume an
 * edge: with pbx_bus_attach() the bus schedules a pass after every send by
 * itself; other loops must call pbx_bus_process() soon after sending (from
 * the loop, e.g. a 0 ms timer). Handlers never run inside pbx_bus_send(). */
int pbx_bus_fd(const struct pbx_bus *bus);
void pbx_bus_process(struct pbx_bus *bus);
/* libevent glue: registers the fd on base and processes on each wake-up. */
int pbx_bus_attach(struct pbx_bus *bus, struct event_base *base);

/* Health (pbx_metrics): a ROUTER is bound, so true; a DEALER is true
 * while at least one connection to a server is up (its handshake done:
 * ZMQ_IMMEDIATE queues on nothing else). Asking reads ZMQ_EVENTS, which
 * can consume the fd's edge: an attached bus schedules a pass itself. */
bool pbx_bus_connected(struct pbx_bus *bus);

/* A process-unique message id ("<prefix>-<counter>"). */
void pbx_bus_msgid(char *buf, size_t size);

/* Encode / decode helpers shared with tools and tests. pbx_envelope_decode
 * returns NULL for a malformed buffer; free with pbx_envelope_free(). */
int pbx_envelope_encode(const Pbx__V1__Envelope *env, uint8_t **bufp,
			size_t *lenp);
Pbx__V1__Envelope *pbx_envelope_decode(const uint8_t *buf, size_t len);
void pbx_envelope_free(Pbx__V1__Envelope *env);

#endif
