/* services/asr-bridge/ws_client.c: the URL parser, the accept key (RFC
 * 6455's own example), the frame parser, and the client on a real
 * loopback TCP connection to a scripted server in the same loop: the
 * handshake, a fragmented message, ping/pong, the close, the client's
 * frames masked, and the refusals (bad accept, HTTP error, a message
 * above the bound, a masked server frame, a private address). */
#include <criterion/criterion.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdio.h>
#include <string.h>

#include "pbx_test.h"
#include "test_port.h"
#include "ws_client.h"

Test(ws_client, url_parse)
{
	struct ws_url u;

	cr_assert_eq(ws_url_parse("ws://127.0.0.1:2700/", &u), 0);
	cr_assert(!u.tls);
	cr_assert_str_eq(u.host, "127.0.0.1");
	cr_assert_str_eq(u.port, "2700");
	cr_assert_str_eq(u.path, "/");
	cr_assert_eq(ws_url_parse("wss://asr.example.com/ru?x=1", &u), 0);
	cr_assert(u.tls);
	cr_assert_str_eq(u.port, "443");
	cr_assert_str_eq(u.path, "/ru?x=1");
	cr_assert_eq(ws_url_parse("ws://[::1]:80", &u), 0);
	cr_assert_str_eq(u.host, "::1");
	cr_assert_str_eq(u.path, "/");
	cr_assert_eq(ws_url_parse("http://x/", &u), -EINVAL);
	cr_assert_eq(ws_url_parse("ws://user:pw@x/", &u), -EINVAL);
	cr_assert_eq(ws_url_parse("ws://x:0/", &u), -EINVAL);
	cr_assert_eq(ws_url_parse("ws://x:99999/", &u), -EINVAL);
	cr_assert_eq(ws_url_parse("ws://x:12a/", &u), -EINVAL);
	cr_assert_eq(ws_url_parse("ws:///", &u), -EINVAL);
	cr_assert_eq(ws_url_parse("ws://a b/", &u), -EINVAL);
	cr_assert_eq(ws_url_parse("ws://[::1/", &u), -EINVAL);
}

Test(ws_client, accept_key_of_rfc6455)
{
	char out[64];

	ws_accept_of("dGhlIHNhbXBsZSBub25jZQ==", out, sizeof(out));
	cr_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

Test(ws_client, frame_parse)
{
	static const uint8_t text[] = {0x81, 3, 'a', 'b', 'c'};
	static const uint8_t len16[] = {0x82, 126, 0x01, 0x00};
	static const uint8_t masked[] = {0x81, 0x83, 1, 2, 3, 4, 'a', 'b', 'c'};
	static const uint8_t rsv[] = {0xc1, 0};
	static const uint8_t big_ping[] = {0x89, 126, 0, 200};
	static const uint8_t big[] = {0x82, 127, 0, 0, 0, 1, 0, 0, 0, 0};
	struct ws_frame f;
	size_t used;

	cr_assert_eq(ws_frame_parse(text, sizeof(text), 100, &f, &used), 0);
	cr_assert_eq(used, 5);
	cr_assert(f.fin);
	cr_assert_eq(f.opcode, 1);
	cr_assert_eq(f.off, 2);
	cr_assert_eq(f.plen, 3);
	cr_assert_eq(ws_frame_parse(text, 3, 100, &f, &used), 0);
	cr_assert_eq(used, 0, "more bytes needed");
	cr_assert_eq(ws_frame_parse(len16, sizeof(len16), 1000, &f, &used), 0);
	cr_assert_eq(used, 0, "256 bytes of payload still to come");
	cr_assert_eq(ws_frame_parse(len16, sizeof(len16), 100, &f, &used),
		     -EMSGSIZE);
	cr_assert_eq(ws_frame_parse(big, sizeof(big), 1 << 20, &f, &used),
		     -EMSGSIZE);
	cr_assert_eq(ws_frame_parse(masked, sizeof(masked), 100, &f, &used),
		     -EPROTO);
	cr_assert_eq(ws_frame_parse(rsv, sizeof(rsv), 100, &f, &used), -EPROTO);
	cr_assert_eq(ws_frame_parse(big_ping, sizeof(big_ping), 1000, &f,
				    &used),
		     -EPROTO);
}

/* ---- a scripted server on the loop ---------------------------------- */

enum mode { M_GOOD, M_BAD_ACCEPT, M_REFUSE, M_BIG, M_MASKED };

static struct {
	struct event_base *base;
	struct evdns_base *dns;
	struct evconnlistener *lis;
	struct bufferevent *peer; /* the server's side */
	enum mode mode;
	bool upgraded;
	int accepted;
	char auth[128];		/* the Authorization header it got */
	char got[64];		/* the client's text frame, unmasked */
	bool got_masked;
	bool got_pong;
	/* the client's side */
	struct ws_client *ws;
	bool opened;
	char msg[64];
	int closed_err;
	bool closed;
} S;

static void send_frame(uint8_t op, const void *p, size_t n)
{
	uint8_t h[2] = {op, (uint8_t)n};

	bufferevent_write(S.peer, h, 2);
	bufferevent_write(S.peer, p, n);
}

static void header(const char *req, const char *name, char *out, size_t sz)
{
	const char *p = strstr(req, name);
	size_t n;

	out[0] = '\0';
	if (!p)
		return;
	p += strlen(name);
	n = strcspn(p, "\r");
	snprintf(out, sz, "%.*s", (int)n, p);
}

static void srv_upgrade(struct evbuffer *in)
{
	struct evbuffer_ptr e = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	char req[2048], key[64], acc[64];

	if (e.pos < 0)
		return;
	evbuffer_remove(in, req, (size_t)e.pos + 4);
	req[e.pos + 4] = '\0';
	header(req, "Sec-WebSocket-Key: ", key, sizeof(key));
	header(req, "Authorization: ", S.auth, sizeof(S.auth));
	ws_accept_of(key, acc, sizeof(acc));
	S.upgraded = true;
	if (S.mode == M_REFUSE) {
		evbuffer_add_printf(bufferevent_get_output(S.peer),
				    "HTTP/1.1 403 Forbidden\r\n\r\n");
		return;
	}
	evbuffer_add_printf(bufferevent_get_output(S.peer),
			    "HTTP/1.1 101 Switching Protocols\r\n"
			    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
			    "sec-websocket-accept: %s\r\n\r\n",
			    S.mode == M_BAD_ACCEPT ? "AAAA" : acc);
	if (S.mode == M_BIG) {
		uint8_t h[10] = {0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0};

		bufferevent_write(S.peer, h, sizeof(h));
	} else if (S.mode == M_MASKED) {
		uint8_t f[] = {0x81, 0x81, 1, 2, 3, 4, 'x' ^ 1};

		bufferevent_write(S.peer, f, sizeof(f));
	} else if (S.mode == M_GOOD) {
		send_frame(0x01, "hel", 3); /* text, not final */
		send_frame(0x89, "p", 1);   /* a ping in between */
		send_frame(0x80, "lo", 2);  /* continuation, final */
	}
}

/* The client's frames: masked, one byte of length (short ones). */
static void srv_frames(struct evbuffer *in)
{
	uint8_t f[140];

	while (evbuffer_get_length(in) >= 6) {
		size_t n;

		evbuffer_copyout(in, f, 2);
		n = f[1] & 0x7f;
		if (evbuffer_get_length(in) < 6 + n)
			return;
		evbuffer_remove(in, f, 6 + n);
		S.got_masked = f[1] & 0x80;
		for (size_t i = 0; i < n; i++)
			f[6 + i] ^= f[2 + (i & 3)];
		if ((f[0] & 0x0f) == 0x0a)
			S.got_pong = n == 1 && f[6] == 'p';
		if ((f[0] & 0x0f) == 0x01) {
			snprintf(S.got, sizeof(S.got), "%.*s", (int)n,
				 (char *)f + 6);
			send_frame(0x88, "\x03\xe8", 2); /* close 1000 */
		}
	}
}

static void srv_read(struct bufferevent *bev, void *arg)
{
	(void)arg;
	if (!S.upgraded)
		srv_upgrade(bufferevent_get_input(bev));
	if (S.upgraded)
		srv_frames(bufferevent_get_input(bev));
}

static void srv_accept(struct evconnlistener *l, evutil_socket_t fd,
		       struct sockaddr *sa, int len, void *arg)
{
	(void)l;
	(void)sa;
	(void)len;
	(void)arg;
	S.accepted++;
	S.peer = bufferevent_socket_new(S.base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(S.peer, srv_read, NULL, NULL, NULL);
	bufferevent_enable(S.peer, EV_READ | EV_WRITE);
}

static void on_open(struct ws_client *ws, void *arg)
{
	(void)arg;
	S.opened = true;
	(void)ws;
}

static void on_message(struct ws_client *ws, bool text, const uint8_t *d,
		       size_t n, void *arg)
{
	(void)arg;
	cr_assert(text);
	snprintf(S.msg, sizeof(S.msg), "%.*s", (int)n, (const char *)d);
	cr_assert_eq(ws_client_send(ws, true, "abc", 3), 0);
}

static void on_closed(struct ws_client *ws, int err, void *arg)
{
	(void)arg;
	S.closed = true;
	S.closed_err = err;
	ws_client_free(ws); /* from inside its own callback */
	S.ws = NULL;
}

static void setup(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};

	memset(&S, 0, sizeof(S));
	S.base = event_base_new();
	S.dns = evdns_base_new(S.base, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(test_free_port());
	S.lis = evconnlistener_new_bind(S.base, srv_accept, NULL,
					LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE,
					16, (struct sockaddr *)&sa, sizeof(sa));
	cr_assert_not_null(S.lis);
}

static void teardown(void)
{
	ws_client_free(S.ws);
	if (S.peer)
		bufferevent_free(S.peer);
	evconnlistener_free(S.lis);
	evdns_base_free(S.dns, 0);
	event_base_free(S.base);
	pbx_test_fini();
}

/* Connects to the scripted server and runs the loop until closed (2 s
 * at most). */
static void run(enum mode m, bool allow_private, size_t max)
{
	static const struct ws_client_cbs cbs = {on_open, on_message,
						 on_closed};
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char url[64];

	S.mode = m;
	getsockname(evconnlistener_get_fd(S.lis), (struct sockaddr *)&sa, &sl);
	snprintf(url, sizeof(url), "ws://127.0.0.1:%u/asr", ntohs(sa.sin_port));
	cr_assert_eq(ws_client_connect(&S.ws, S.base,
				       &(struct ws_client_cfg){
					       .url = url,
					       .bearer = "tok-123",
					       .allow_private = allow_private,
					       .max_message = max,
					       .dns = S.dns,
				       },
				       &cbs, NULL),
		     0);
	cr_assert(!S.closed, "no callback inside connect");
	for (int i = 0; i < 200 && !S.closed; i++) {
		struct timeval tv = {0, 10000};

		event_base_loopexit(S.base, &tv);
		event_base_dispatch(S.base);
	}
	cr_assert(S.closed, "the connection ended");
}

TestSuite(ws_conn, .init = setup, .fini = teardown, .timeout = 10);

Test(ws_conn, handshake_message_ping_close)
{
	run(M_GOOD, true, 1024);
	cr_assert(S.opened);
	cr_assert_str_eq(S.auth, "Bearer tok-123");
	cr_assert_str_eq(S.msg, "hello", "the two fragments joined");
	cr_assert(S.got_pong, "the ping answered with its payload");
	cr_assert_str_eq(S.got, "abc");
	cr_assert(S.got_masked, "a client's frames are masked");
	cr_assert_eq(S.closed_err, 0, "closed by the server's close frame");
}

Test(ws_conn, bad_accept_refused)
{
	run(M_BAD_ACCEPT, true, 1024);
	cr_assert(!S.opened);
	cr_assert_eq(S.closed_err, -EPROTO);
}

Test(ws_conn, http_error_refused)
{
	run(M_REFUSE, true, 1024);
	cr_assert(!S.opened);
	cr_assert_eq(S.closed_err, -ECONNREFUSED);
}

Test(ws_conn, message_above_the_bound_refused)
{
	run(M_BIG, true, 1024);
	cr_assert(S.opened);
	cr_assert_eq(S.closed_err, -EMSGSIZE);
	cr_assert_str_eq(S.msg, "");
}

Test(ws_conn, masked_server_frame_refused)
{
	run(M_MASKED, true, 1024);
	cr_assert_eq(S.closed_err, -EPROTO);
}

Test(ws_conn, private_address_refused_before_connecting)
{
	run(M_GOOD, false, 1024);
	cr_assert_eq(S.closed_err, -EACCES);
	cr_assert_eq(S.accepted, 0, "no connection was made");
}
