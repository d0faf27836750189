/* evapi connection: the TCP client to Kamailio's evapi listener. Owns the
 * socket, the netstring parser and the reconnect timer; Kamailio only
 * listens, so reconnecting (100 ms doubling to 2 s) is our job. */
#ifndef EVAPI_CONN_H
#define EVAPI_CONN_H
#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct evapi_conn;

/* One complete frame from Kamailio; data is valid during the call only and
 * NUL-terminated. The handler may call evapi_conn_send() but not free the
 * connection. */
typedef void(evapi_conn_frame_h)(const char *data, size_t len, void *arg);
/* up == true once connected; up == false when an established connection is
 * lost (EOF, error, framing error). Failed attempts are not reported. */
typedef void(evapi_conn_state_h)(bool up, void *arg);

/* addr: "ip:port" (IPv6 as "[ip]:port"). Starts connecting at once; sets
 * *cp only on success (-EINVAL for a bad address). */
int evapi_conn_alloc(struct evapi_conn **cp, struct event_base *base,
		     const char *addr, evapi_conn_frame_h *frameh,
		     evapi_conn_state_h *stateh, void *arg);
/* Closes the socket without calling the state handler. NULL-safe. */
void evapi_conn_free(struct evapi_conn *c);

/* Queues data as one netstring frame. -ENOTCONN when not connected,
 * -ENOBUFS when Kamailio has stopped reading (backlog above 4 MiB). */
int evapi_conn_send(struct evapi_conn *c, const char *data, size_t len);
bool evapi_conn_is_up(const struct evapi_conn *c);

#endif
