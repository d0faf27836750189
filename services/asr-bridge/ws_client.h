/* A WebSocket client (RFC 6455) on the bridge's libevent loop, for the
 * network recognisers (asr_vosk.c): ws:// or wss:// (OpenSSL through
 * libevent's bufferevent_openssl, the server's certificate and name
 * verified), names resolved with evdns (never blocking the loop), the
 * tenant's destination checked after resolution (pbx_addr_private unless
 * allowed), every message bounded. Not a library's because Debian 12's
 * libcurl is built without WebSocket support and its libwebsockets has
 * no libevent loop plugin (docs/services/asr-bridge.md, "Network
 * recognisers").
 *
 * Callbacks: open once the handshake is done; message per complete
 * (reassembled) text or binary message; closed once, when the
 * connection ends for any reason (err 0: the server closed it with a
 * close frame; negative errno otherwise, ws_client_why says why). No
 * callback runs inside ws_client_connect. ws_client_free may be called
 * from inside any callback. */
#ifndef WS_CLIENT_H
#define WS_CLIENT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evdns_base;
struct ws_client;

enum {
	WS_HOST_MAX = 256,
	WS_PATH_MAX = 512,
	WS_URL_MAX = 1024,
	WS_HANDSHAKE_MAX = 8192, /* the server's HTTP answer */
};

struct ws_url {
	bool tls;
	char host[WS_HOST_MAX]; /* without the brackets of an IPv6 literal */
	char port[8];
	char path[WS_PATH_MAX]; /* "/" at least, the query included */
};

/* ws://host[:port][/path] or wss://...; no credentials in it (user@),
 * printable ASCII only. 0 or -EINVAL. */
int ws_url_parse(const char *url, struct ws_url *u);

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key (out: 29 bytes at
 * least). */
void ws_accept_of(const char *key, char *out, size_t size);

struct ws_client_cbs {
	void (*open)(struct ws_client *ws, void *arg);
	void (*message)(struct ws_client *ws, bool text, const uint8_t *data,
			size_t len, void *arg);
	void (*closed)(struct ws_client *ws, int err, void *arg);
};

struct ws_client_cfg {
	const char *url;
	const char *bearer;   /* "" or NULL: no Authorization header */
	bool allow_private;   /* may connect to loopback, private, ... */
	size_t max_message;   /* bytes of one message from the server */
	struct evdns_base *dns;
	void *tls_ctx;	      /* SSL_CTX for wss://; NULL: wss refused */
};

/* Starts the connection. -EINVAL bad URL, -EPROTONOSUPPORT wss without
 * tls_ctx, -ENOMEM. */
int ws_client_connect(struct ws_client **wsp, struct event_base *base,
		      const struct ws_client_cfg *cfg,
		      const struct ws_client_cbs *cbs, void *arg);
/* One message, in one frame, masked. 0, -ENOTCONN before open or after
 * closed, -ENOMEM. */
int ws_client_send(struct ws_client *ws, bool text, const void *data,
		   size_t len);
/* Why the connection failed ("" none): for the log, without secrets. */
const char *ws_client_why(const struct ws_client *ws);
/* Closes (no close handshake) and frees; no callback after it. */
void ws_client_free(struct ws_client *ws);

/* A frame from the server (exposed for the unit tests): 0 and *used 0
 * when more bytes are needed; *used > 0 when a frame was read (its
 * payload at data + *off, *plen bytes); -EPROTO (masked, reserved bits,
 * a bad control frame) or -EMSGSIZE (payload above max). */
struct ws_frame {
	bool fin;
	unsigned opcode;
	size_t off, plen;
};
int ws_frame_parse(const uint8_t *data, size_t len, size_t max,
		   struct ws_frame *f, size_t *used);

#endif
