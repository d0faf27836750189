/* WebSocket client on libevent (ws_client.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "pbx_addr.h"
#include "ws_client.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum ws_state { WS_START, WS_DNS, WS_CONNECTING, WS_HANDSHAKE, WS_OPEN,
		WS_CLOSED };
enum { OP_CONT = 0, OP_TEXT = 1, OP_BIN = 2, OP_CLOSE = 8, OP_PING = 9,
       OP_PONG = 10 };

struct ws_client {
	struct event_base *base;
	struct evdns_base *dns;
	struct evdns_getaddrinfo_request *dnsreq;
	struct event *kick; /* starts the work off the caller's stack */
	struct bufferevent *bev;
	void *tls_ctx;
	struct ws_url u;
	char *bearer;
	bool allow_private;
	size_t max_message;
	enum ws_state state;
	char key[32];
	char why[128];
	/* the message being reassembled */
	uint8_t *msg;
	size_t msg_len;
	bool msg_text, in_msg;
	struct ws_client_cbs cbs;
	void *arg;
	int in_cb;
	bool dead; /* freed inside a callback: free when it returns */
};

int ws_url_parse(const char *url, struct ws_url *u)
{
	const char *p, *host, *end, *slash;
	size_t n = strlen(url), hl;

	memset(u, 0, sizeof(*u));
	if (n >= WS_URL_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)url[i] <= ' ' ||
		    (unsigned char)url[i] >= 0x7f)
			return -EINVAL;
	if (!strncmp(url, "ws://", 5))
		p = url + 5;
	else if (!strncmp(url, "wss://", 6))
		p = url + 6, u->tls = true;
	else
		return -EINVAL;
	slash = strchr(p, '/');
	end = slash ? slash : p + strlen(p);
	if (memchr(p, '@', (size_t)(end - p)))
		return -EINVAL; /* credentials go in the secret */
	host = p;
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));

		if (!rb)
			return -EINVAL;
		host = p + 1;
		hl = (size_t)(rb - host);
		p = rb + 1;
	} else {
		const char *colon = memchr(p, ':', (size_t)(end - p));

		hl = (size_t)((colon ? colon : end) - p);
		p = colon ? colon : end;
	}
	if (!hl || hl >= sizeof(u->host))
		return -EINVAL;
	memcpy(u->host, host, hl);
	if (*p == ':') {
		char *e;
		long port = strtol(p + 1, &e, 10);

		if (e != end || e == p + 1 || port < 1 || port > 65535)
			return -EINVAL;
		snprintf(u->port, sizeof(u->port), "%ld", port);
	} else if (p != end) {
		return -EINVAL;
	} else {
		snprintf(u->port, sizeof(u->port), "%s", u->tls ? "443" : "80");
	}
	if ((size_t)snprintf(u->path, sizeof(u->path), "%s",
			     slash ? slash : "/") >= sizeof(u->path))
		return -EINVAL;
	return 0;
}

void ws_accept_of(const char *key, char *out, size_t size)
{
	char buf[128];
	unsigned char md[SHA_DIGEST_LENGTH];
	unsigned char b64[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
	int n = snprintf(buf, sizeof(buf), "%s%s", key, WS_GUID);

	SHA1((const unsigned char *)buf, (size_t)n, md);
	EVP_EncodeBlock(b64, md, SHA_DIGEST_LENGTH);
	snprintf(out, size, "%s", (const char *)b64);
}

int ws_frame_parse(const uint8_t *d, size_t len, size_t max,
		   struct ws_frame *f, size_t *used)
{
	size_t hl = 2;
	uint64_t pl;

	*used = 0;
	if (len < 2)
		return 0;
	if (d[0] & 0x70 || d[1] & 0x80)
		return -EPROTO; /* reserved bits; a server never masks */
	f->fin = d[0] & 0x80;
	f->opcode = d[0] & 0x0f;
	pl = d[1] & 0x7f;
	if (pl == 126) {
		if (len < 4)
			return 0;
		pl = (uint64_t)d[2] << 8 | d[3];
		hl = 4;
	} else if (pl == 127) {
		if (len < 10)
			return 0;
		pl = 0;
		for (int i = 0; i < 8; i++)
			pl = pl << 8 | d[2 + i];
		hl = 10;
	}
	if (f->opcode >= OP_CLOSE && (pl > 125 || !f->fin))
		return -EPROTO;
	if ((f->opcode > OP_BIN && f->opcode < OP_CLOSE) || f->opcode > OP_PONG)
		return -EPROTO;
	if (pl > max)
		return -EMSGSIZE;
	if (len - hl < pl)
		return 0;
	f->off = hl;
	f->plen = (size_t)pl;
	*used = hl + (size_t)pl;
	return 0;
}

static void really_free(struct ws_client *ws)
{
	if (ws->dnsreq)
		evdns_getaddrinfo_cancel(ws->dnsreq);
	if (ws->bev)
		bufferevent_free(ws->bev);
	if (ws->kick)
		event_free(ws->kick);
	free(ws->msg);
	if (ws->bearer)
		explicit_bzero(ws->bearer, strlen(ws->bearer));
	free(ws->bearer);
	free(ws);
}

void ws_client_free(struct ws_client *ws)
{
	if (!ws)
		return;
	if (ws->in_cb) {
		ws->dead = true;
		ws->cbs = (struct ws_client_cbs){0};
		return;
	}
	really_free(ws);
}

const char *ws_client_why(const struct ws_client *ws)
{
	return ws->why;
}

/* Calls into the owner; false when the owner freed ws meanwhile. */
#define CALL(ws, cb, ...)                                                     \
	do {                                                                  \
		if ((ws)->cbs.cb) {                                           \
			(ws)->in_cb++;                                        \
			(ws)->cbs.cb((ws), __VA_ARGS__);                      \
			(ws)->in_cb--;                                        \
		}                                                             \
	} while (0)

static bool alive(struct ws_client *ws)
{
	if (ws->dead && !ws->in_cb) {
		really_free(ws);
		return false;
	}
	return !ws->dead;
}

/* The end: once, whatever the cause. False: ws is gone. */
static bool fail(struct ws_client *ws, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool fail(struct ws_client *ws, int err, const char *fmt, ...)
{
	va_list ap;

	if (ws->state == WS_CLOSED)
		return alive(ws);
	if (fmt && !ws->why[0]) {
		va_start(ap, fmt);
		vsnprintf(ws->why, sizeof(ws->why), fmt, ap);
		va_end(ap);
	}
	ws->state = WS_CLOSED;
	if (ws->bev)
		bufferevent_disable(ws->bev, EV_READ | EV_WRITE);
	CALL(ws, closed, err, ws->arg);
	return alive(ws);
}

static int send_frame(struct ws_client *ws, unsigned op, const void *data,
		      size_t len)
{
	struct evbuffer *out = bufferevent_get_output(ws->bev);
	uint8_t h[14], mask[4], chunk[512];
	const uint8_t *p = data;
	size_t hl = 2;

	h[0] = (uint8_t)(0x80 | op);
	if (len < 126) {
		h[1] = (uint8_t)(0x80 | len);
	} else if (len <= 0xffff) {
		h[1] = 0x80 | 126;
		h[2] = (uint8_t)(len >> 8);
		h[3] = (uint8_t)len;
		hl = 4;
	} else {
		h[1] = 0x80 | 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
		hl = 10;
	}
	evutil_secure_rng_get_bytes(mask, sizeof(mask));
	memcpy(h + hl, mask, 4);
	if (evbuffer_add(out, h, hl + 4))
		return -ENOMEM;
	for (size_t off = 0; off < len; off += sizeof(chunk)) {
		size_t n = len - off < sizeof(chunk) ? len - off : sizeof(chunk);

		for (size_t i = 0; i < n; i++)
			chunk[i] = p[off + i] ^ mask[(off + i) & 3];
		if (evbuffer_add(out, chunk, n))
			return -ENOMEM;
	}
	return 0;
}

int ws_client_send(struct ws_client *ws, bool text, const void *data,
		   size_t len)
{
	if (ws->state != WS_OPEN)
		return -ENOTCONN;
	return send_frame(ws, text ? OP_TEXT : OP_BIN, data, len);
}

/* The value of header name in the HTTP answer hdr ("" none). */
static void header_of(const char *hdr, const char *name, char *out,
		      size_t size)
{
	size_t nl = strlen(name);

	out[0] = '\0';
	for (const char *l = strstr(hdr, "\r\n"); l; l = strstr(l, "\r\n")) {
		const char *v, *e;

		l += 2;
		if (strncasecmp(l, name, nl) || l[nl] != ':')
			continue;
		for (v = l + nl + 1; *v == ' ' || *v == '\t'; v++)
			;
		e = strstr(v, "\r\n");
		if (!e)
			e = v + strlen(v);
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		snprintf(out, size, "%.*s", (int)(e - v), v);
		return;
	}
}

/* The server's answer to the upgrade: 0 done (state OPEN), 1 more
 * bytes needed, or ws is gone / failed (-1). */
static int read_handshake(struct ws_client *ws, struct evbuffer *in)
{
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	char hdr[WS_HANDSHAKE_MAX + 1], want[64], got[64];
	size_t n;

	if (end.pos < 0) {
		if (evbuffer_get_length(in) > WS_HANDSHAKE_MAX) {
			fail(ws, -EPROTO, "answer to the upgrade too long");
			return -1;
		}
		return 1;
	}
	n = (size_t)end.pos + 4;
	if (n > WS_HANDSHAKE_MAX) {
		fail(ws, -EPROTO, "answer to the upgrade too long");
		return -1;
	}
	evbuffer_remove(in, hdr, n);
	hdr[n] = '\0';
	if (strncmp(hdr, "HTTP/1.1 101", 12)) {
		char *eol = strstr(hdr, "\r\n");

		if (eol)
			*eol = '\0';
		fail(ws, -ECONNREFUSED, "upgrade refused: %.60s", hdr);
		return -1;
	}
	ws_accept_of(ws->key, want, sizeof(want));
	header_of(hdr, "Sec-WebSocket-Accept", got, sizeof(got));
	if (strcmp(want, got)) {
		fail(ws, -EPROTO, "bad Sec-WebSocket-Accept");
		return -1;
	}
	ws->state = WS_OPEN;
	CALL(ws, open, ws->arg);
	return alive(ws) ? 0 : -1;
}

/* fail(), for a frame handler: always false (stop reading). */
static bool stop(struct ws_client *ws, int err, const char *why)
{
	fail(ws, err, "%s", why);
	return false;
}

/* One frame read: false when ws is gone or failed. */
static bool on_frame(struct ws_client *ws, const struct ws_frame *f,
		     const uint8_t *pl)
{
	uint8_t *m;

	switch (f->opcode) {
	case OP_PING:
		send_frame(ws, OP_PONG, pl, f->plen);
		return true;
	case OP_PONG:
		return true;
	case OP_CLOSE:
		send_frame(ws, OP_CLOSE, pl, f->plen < 2 ? f->plen : 2);
		return stop(ws, 0, "closed by the server");
	case OP_CONT:
		if (!ws->in_msg)
			return stop(ws, -EPROTO, "continuation of nothing");
		break;
	default:
		if (ws->in_msg)
			return stop(ws, -EPROTO, "message inside a message");
		ws->in_msg = true;
		ws->msg_text = f->opcode == OP_TEXT;
		ws->msg_len = 0;
		break;
	}
	if (ws->msg_len + f->plen > ws->max_message)
		return stop(ws, -EMSGSIZE, "message above the bound");
	m = realloc(ws->msg, ws->msg_len + f->plen + 1);
	if (!m)
		return stop(ws, -ENOMEM, "out of memory");
	ws->msg = m;
	memcpy(m + ws->msg_len, pl, f->plen);
	ws->msg_len += f->plen;
	m[ws->msg_len] = '\0';
	if (!f->fin)
		return true;
	ws->in_msg = false;
	CALL(ws, message, ws->msg_text, ws->msg, ws->msg_len, ws->arg);
	return alive(ws);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct ws_client *ws = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (ws->state == WS_HANDSHAKE && read_handshake(ws, in))
		return;
	while (ws->state == WS_OPEN) {
		size_t len = evbuffer_get_length(in), used;
		/* header + the largest payload taken (a control frame's or
		 * the message's bound) */
		size_t want = len < ws->max_message + 14 ? len
							  : ws->max_message + 14;
		uint8_t *d = evbuffer_pullup(in, (ev_ssize_t)want);
		struct ws_frame f;
		int err;

		if (!d)
			return;
		err = ws_frame_parse(d, want, ws->max_message, &f, &used);
		if (err) {
			fail(ws, err, "%s", err == -EMSGSIZE
						    ? "frame above the bound"
						    : "bad frame");
			return;
		}
		if (!used)
			return;
		if (!on_frame(ws, &f, d + f.off))
			return;
		evbuffer_drain(in, used);
	}
}

static void send_upgrade(struct ws_client *ws)
{
	struct evbuffer *out = bufferevent_get_output(ws->bev);
	unsigned char raw[16], b64[32];
	bool v6 = strchr(ws->u.host, ':') != NULL;
	bool dflt = !strcmp(ws->u.port, ws->u.tls ? "443" : "80");

	evutil_secure_rng_get_bytes(raw, sizeof(raw));
	EVP_EncodeBlock(b64, raw, sizeof(raw));
	snprintf(ws->key, sizeof(ws->key), "%s", (const char *)b64);
	evbuffer_add_printf(out,
			    "GET %s HTTP/1.1\r\nHost: %s%s%s%s%s\r\n"
			    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
			    "Sec-WebSocket-Key: %s\r\n"
			    "Sec-WebSocket-Version: 13\r\n",
			    ws->u.path, v6 ? "[" : "", ws->u.host,
			    v6 ? "]" : "", dflt ? "" : ":",
			    dflt ? "" : ws->u.port, ws->key);
	if (ws->bearer)
		evbuffer_add_printf(out, "Authorization: Bearer %s\r\n",
				    ws->bearer);
	evbuffer_add(out, "\r\n", 2);
	ws->state = WS_HANDSHAKE;
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct ws_client *ws = arg;
	unsigned long e;

	if (what & BEV_EVENT_CONNECTED) {
		send_upgrade(ws);
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	e = ws->tls_ctx && ws->u.tls ? bufferevent_get_openssl_error(bev) : 0;
	if (e)
		fail(ws, -EPROTO, "TLS: %s", ERR_reason_error_string(e));
	else if (what & BEV_EVENT_EOF)
		fail(ws, -ECONNRESET, "connection closed by the server");
	else
		fail(ws, -ECONNREFUSED, "cannot connect: %s",
		     evutil_socket_error_to_string(
			     EVUTIL_SOCKET_ERROR()));
}

static int tls_bev(struct ws_client *ws)
{
	SSL *ssl = SSL_new(ws->tls_ctx);
	struct in6_addr a6;
	struct in_addr a4;

	if (!ssl)
		return -ENOMEM;
	SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	if (inet_pton(AF_INET, ws->u.host, &a4) == 1 ||
	    inet_pton(AF_INET6, ws->u.host, &a6) == 1) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ws->u.host);
	} else {
		SSL_set_tlsext_host_name(ssl, ws->u.host);
		SSL_set1_host(ssl, ws->u.host);
	}
	ws->bev = bufferevent_openssl_socket_new(
		ws->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
		BEV_OPT_CLOSE_ON_FREE);
	if (!ws->bev) {
		SSL_free(ssl);
		return -ENOMEM;
	}
	return 0;
}

static void dns_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct ws_client *ws = arg;
	struct evutil_addrinfo *ai, *pick = NULL;
	char refused[64] = "";

	ws->dnsreq = NULL;
	if (result) {
		if (result != EVUTIL_EAI_CANCEL)
			fail(ws, -EHOSTUNREACH, "cannot resolve %s: %s",
			     ws->u.host, evutil_gai_strerror(result));
		return;
	}
	for (ai = res; ai && !pick; ai = ai->ai_next) {
		if (ws->allow_private || !pbx_addr_private(ai->ai_addr))
			pick = ai;
		else if (!refused[0])
			getnameinfo(ai->ai_addr, ai->ai_addrlen, refused,
				    sizeof(refused), NULL, 0, NI_NUMERICHOST);
	}
	if (!pick) {
		evutil_freeaddrinfo(res);
		fail(ws, -EACCES,
		     "%s is a private address: refused (not allowed here)",
		     refused[0] ? refused : ws->u.host);
		return;
	}
	if (ws->u.tls ? tls_bev(ws) : !(ws->bev = bufferevent_socket_new(
					      ws->base, -1,
					      BEV_OPT_CLOSE_ON_FREE))) {
		evutil_freeaddrinfo(res);
		fail(ws, -ENOMEM, "out of memory");
		return;
	}
	bufferevent_setcb(ws->bev, read_cb, NULL, event_cb, ws);
	bufferevent_enable(ws->bev, EV_READ | EV_WRITE);
	ws->state = WS_CONNECTING;
	if (bufferevent_socket_connect(ws->bev, pick->ai_addr,
				       (int)pick->ai_addrlen)) {
		evutil_freeaddrinfo(res);
		fail(ws, -ECONNREFUSED, "cannot connect");
		return;
	}
	evutil_freeaddrinfo(res);
}

static void kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ws_client *ws = arg;
	struct evutil_addrinfo hints = {.ai_family = AF_UNSPEC,
					.ai_socktype = SOCK_STREAM,
					.ai_protocol = IPPROTO_TCP};
	struct evdns_getaddrinfo_request *r;

	(void)fd;
	(void)what;
	ws->state = WS_DNS;
	ws->in_cb++; /* dns_cb may run before evdns_getaddrinfo returns */
	r = evdns_getaddrinfo(ws->dns, ws->u.host, ws->u.port, &hints, dns_cb,
			      ws);
	ws->in_cb--;
	if (r && ws->state == WS_DNS)
		ws->dnsreq = r;
	alive(ws);
}

int ws_client_connect(struct ws_client **wsp, struct event_base *base,
		      const struct ws_client_cfg *cfg,
		      const struct ws_client_cbs *cbs, void *arg)
{
	struct ws_client *ws;
	struct timeval now = {0, 0};

	ws = calloc(1, sizeof(*ws));
	if (!ws)
		return -ENOMEM;
	if (ws_url_parse(cfg->url, &ws->u)) {
		free(ws);
		return -EINVAL;
	}
	if (ws->u.tls && !cfg->tls_ctx) {
		free(ws);
		return -EPROTONOSUPPORT;
	}
	ws->base = base;
	ws->dns = cfg->dns;
	ws->tls_ctx = cfg->tls_ctx;
	ws->allow_private = cfg->allow_private;
	ws->max_message = cfg->max_message;
	ws->cbs = *cbs;
	ws->arg = arg;
	if (cfg->bearer && cfg->bearer[0] && !(ws->bearer = strdup(cfg->bearer)))
		goto nomem;
	ws->kick = evtimer_new(base, kick_cb, ws);
	if (!ws->kick || evtimer_add(ws->kick, &now))
		goto nomem;
	*wsp = ws;
	return 0;
nomem:
	really_free(ws);
	return -ENOMEM;
}
