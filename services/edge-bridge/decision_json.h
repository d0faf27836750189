/* Translation between the JSON Kamailio speaks on evapi and the pbx.v1
 * messages: Kamailio events in, route decisions out. Pure (no I/O, no
 * globals) so the unit tests can pin every shape. JSON is always built
 * with jansson, never by string interpolation: callers control From/To. */
#ifndef DECISION_JSON_H
#define DECISION_JSON_H
#include <jansson.h>
#include <stdint.h>

#include "pbx/v1/call.pb-c.h"

enum decision_json_event {
	DECISION_JSON_UNKNOWN = 0, /* valid JSON, but not an event we know */
	DECISION_JSON_CALL_NEW,    /* Kamailio parked an INVITE */
	DECISION_JSON_CALL_CANCELED /* the caller cancelled a parked INVITE */
};

/* A call.new event. Every string points into the json_t it came from and
 * lives as long as that object; msg is ready to go into an Envelope. */
struct decision_json_call {
	Pbx__V1__CallNew msg;
	const char *call_id;
};

/* Parses one evapi frame into *rootp (caller json_decref()s it) and tells
 * which event it is. -EINVAL: not JSON, not an object, or no string
 * "event". Sets *rootp only on success. */
int decision_json_parse(json_t **rootp, enum decision_json_event *evp,
			const char *data, size_t len);

/* Fills call from a call.new object; msg.edge_id is set to edge_id (not
 * copied). Required: tindex, tlabel (integers 0..2^32-1), callid,
 * from_uri, to_uri, src_ip, transport (non-empty strings), src_port
 * (0..65535). Optional strings default to "": from_user, to_user (a URI
 * need not have a user part). source is "trunk", "extension" or "unknown"
 * (missing: "unknown"); "trunk" requires source_trunk, "extension"
 * requires caller_domain and caller_tenant, and the fields that do not
 * belong to the source are left "" whatever the frame says. -EINVAL names
 * the first bad field in *badp (if badp is not NULL). */
int decision_json_call_new(struct decision_json_call *call,
			   const char **badp, const json_t *root,
			   const char *edge_id);

/* The Call-ID of a call.canceled event (borrowed from root); -EINVAL when
 * it is missing or empty. */
int decision_json_canceled(const char **callidp, const json_t *root);

/* Reply frames for Kamailio (ROUTER_DECISION in kamailio.cfg). tindex and
 * tlabel are JSON integers: t_continue() rejects strings. Set *jsonp to a
 * malloc'ed NUL-terminated string (free()) only on success. -EINVAL: code
 * outside 400..699, uri not sip:/sips:, control characters in any string
 * (they would end up in a SIP status line or header), spaces in uri,
 * tenant or worker. NULL tenant/worker/reason become ""/"Rejected". */
/* cache_ms: how long Kamailio may repeat this reject to calls to the same
 * number from the same source without asking (RouteDecision.edge_cache_ms;
 * 0: never); sent as "cache_ms", and never for a 503. */
int decision_json_reject(char **jsonp, uint32_t tindex, uint32_t tlabel,
			 unsigned code, const char *reason,
			 const char *tenant, uint32_t cache_ms);
/* alt_uri: the fallback worker Kamailio tries when uri fails ("" or NULL:
 * none; otherwise checked like uri). */
int decision_json_media(char **jsonp, uint32_t tindex, uint32_t tlabel,
			const char *uri, const char *tenant,
			const char *worker, const char *alt_uri);

/* A RouteDecision as a reply frame. tindex/tlabel come from the bridge's
 * pending entry, not from the decision (the router may not echo them).
 * -EINVAL: action unspecified/unknown, or any check above failed. */
int decision_json_from_decision(char **jsonp, uint32_t tindex,
				uint32_t tlabel,
				const Pbx__V1__RouteDecision *d,
				const char *tenant);

/* A router's CallEnd as the evapi event Kamailio acts on:
 * {"event":"call.end","callid":...,"reason":...}. -EINVAL for an empty
 * Call-ID or control characters in either string. */
int decision_json_call_end(char **jsonp, const char *call_id,
			   const char *reason);

#endif
