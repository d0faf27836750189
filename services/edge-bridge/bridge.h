/* Bridge: correlates Kamailio's parked INVITEs with the router's decisions.
 * Owns the pending table (message_id -> tindex/tlabel/Call-ID/deadline) and
 * the router deadline timer; translates evapi JSON <-> pbx.v1 envelopes.
 * It does no I/O itself: main wires the two send hooks to the bus and the
 * evapi connection, which keeps the bridge testable with fakes. */
#ifndef BRIDGE_H
#define BRIDGE_H
#include <stddef.h>

#include "pbx/v1/envelope.pb-c.h"

struct bridge;
struct event_base;

/* Sends env to a router (message_id already set). 0 or a negative errno;
 * -EAGAIN means no router is connected. It may deliver decisions to
 * bridge_router_message() before returning, env's own included (the bus
 * processes its socket after each send); the bridge copes. */
typedef int(bridge_router_send_h)(Pbx__V1__Envelope *env, void *arg);
/* Sends one JSON document to Kamailio as a frame. 0 or a negative errno. */
typedef int(bridge_kamailio_send_h)(const char *json, size_t len,
				    void *arg);

struct bridge_conf {
	const char *edge_id;   /* copied */
	unsigned timeout_ms;   /* router deadline per request */
	bridge_router_send_h *router_sendh;
	bridge_kamailio_send_h *kamailio_sendh;
	void *arg;             /* for both hooks */
};

/* Sets *bp only on success. */
int bridge_alloc(struct bridge **bp, struct event_base *base,
		 const struct bridge_conf *conf);
/* Drops pending entries without answering them (Kamailio's own 2 s timer
 * answers those callers). NULL-safe. */
void bridge_free(struct bridge *b);

/* One frame from Kamailio (call.new, call.canceled). Malformed JSON and
 * unknown events are logged and dropped. */
void bridge_kamailio_frame(struct bridge *b, const char *data, size_t len);
/* The evapi connection went down: the parked transactions' tindex/tlabel
 * mean nothing to a restarted Kamailio, so every pending entry is dropped
 * (a late decision for them is then logged at debug and ignored). */
void bridge_kamailio_down(struct bridge *b);

/* One envelope from a router. Anything but a RouteDecision answering a
 * pending request is logged and dropped. */
void bridge_router_message(struct bridge *b, const Pbx__V1__Envelope *env);

size_t bridge_pending_count(const struct bridge *b);

struct pbx_metrics;
/* The bridge's counters into m (docs/services/edge-bridge.md). */
int bridge_metrics_add(struct bridge *b, struct pbx_metrics *m);

#endif
