/* Test support: a fake bus peer (an edge-bridge or a media worker) for
 * in-process tests: a real ZeroMQ DEALER driven by the test's libevent
 * loop that keeps a copy of every envelope it receives, in order, so a test
 * can run the loop and then assert what a service sent it. */
#ifndef FAKE_PEER_H
#define FAKE_PEER_H
#include <stddef.h>

#include "pbx_bus.h"

struct event_base;
struct fake_peer;

/* Connects a DEALER to endpoint (identity: its routing id, e.g. the worker
 * id; NULL for random). Sets *pp only on success; negative errno. */
int fake_peer_alloc(struct fake_peer **pp, struct event_base *base,
		    void *zctx, const char *endpoint, const char *identity);
/* The same with bus options (opts may be NULL): a CURVE client as a media
 * worker is (secret_file, server_public_file). */
int fake_peer_alloc_opts(struct fake_peer **pp, struct event_base *base,
			 void *zctx, const char *endpoint,
			 const char *identity,
			 const struct pbx_bus_opts *opts);
/* Called with each envelope as it is kept (the copy, valid as the ones
 * fake_peer_msg gives), from the loop, as soon as it arrives: a bench
 * times arrivals with it. NULL: none. */
typedef void fake_peer_recv_h(const Pbx__V1__Envelope *env, void *arg);
void fake_peer_set_recv(struct fake_peer *p, fake_peer_recv_h *h, void *arg);
/* Closes the socket and frees every kept envelope. NULL-safe. */
void fake_peer_free(struct fake_peer *p);

/* Sends env, retrying while the connection is not up yet (the bus sets
 * ZMQ_IMMEDIATE, so the first sends fail with -EAGAIN): runs the loop
 * 10 ms between tries, up to timeout_ms. 0 or the last negative errno. */
int fake_peer_send(struct fake_peer *p, Pbx__V1__Envelope *env,
		   int timeout_ms);

/* Envelopes received so far, oldest first; i < fake_peer_count(). The
 * pointers stay valid until fake_peer_clear() or fake_peer_free(). */
size_t fake_peer_count(const struct fake_peer *p);
const Pbx__V1__Envelope *fake_peer_msg(const struct fake_peer *p, size_t i);
void fake_peer_clear(struct fake_peer *p);
/* Drops the envelopes of call_id (keeping the others in order); returns
 * how many were dropped. */
size_t fake_peer_drop_call(struct fake_peer *p, const char *call_id);
/* Index of the first envelope of call_id at or after `from`, or -1. */
long fake_peer_find_call(const struct fake_peer *p, const char *call_id,
			 size_t from);

/* Runs the loop until the peer holds at least n envelopes or timeout_ms
 * passed; returns the count. */
size_t fake_peer_wait(struct fake_peer *p, size_t n, int timeout_ms);
/* Runs the loop until an envelope of call_id arrives at or after index
 * `from`, or timeout_ms passed; returns its index or -1. */
long fake_peer_wait_call(struct fake_peer *p, const char *call_id,
			 size_t from, int timeout_ms);

#endif
