/* Tests for pbx_bus.c over real ZeroMQ sockets (inproc:// and tcp:// on
 * 127.0.0.1): the DEALER/ROUTER framing, envelope fields, malformed
 * frames, sends that never block (a dead peer fails at once, so callers
 * keep their deadlines), and the libevent glue (no handler inside a
 * send). Every wait is bounded. */
#include <criterion/criterion.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "pbx_bus.h"
#include "pbx_clock.h"
#include "pbx_test.h"

enum { WAIT_MS = 3000, MAX_GOT = 64 };

struct got {
	int n, bad;
	char msgid[MAX_GOT][64];
	char digit[MAX_GOT][4];
	char tenant[MAX_GOT][32];
	char reply_to[MAX_GOT][64];
	uint64_t ts[MAX_GOT];
	struct pbx_bus_peer peer[MAX_GOT];
	bool had_peer[MAX_GOT];
	bool *in_send; /* set while the test is inside pbx_bus_send */
	bool ran_in_send;
};

static void *zctx;

/* Every bus and raw socket a test opens, so that a failed assertion (which
 * jumps to the teardown) cannot leave zmq_ctx_term() waiting forever for
 * a socket nobody closes. */
enum { OPEN_MAX = 8 };
static struct pbx_bus *open_bus[OPEN_MAX];
static void *open_raw[OPEN_MAX];

static int bus_new(struct pbx_bus **busp, enum pbx_bus_kind kind,
		   const char *endpoints, const char *identity,
		   pbx_bus_recv_h *recvh, void *arg)
{
	int err = pbx_bus_alloc(busp, zctx, kind, endpoints, identity, recvh,
				arg);

	for (int i = 0; !err && i < OPEN_MAX; i++)
		if (!open_bus[i]) {
			open_bus[i] = *busp;
			break;
		}
	return err;
}

static void bus_close(struct pbx_bus *bus)
{
	for (int i = 0; i < OPEN_MAX; i++)
		if (open_bus[i] == bus)
			open_bus[i] = NULL;
	pbx_bus_free(bus);
}

static void *raw_new(int type)
{
	void *raw = zmq_socket(zctx, type);
	int linger = 0;

	cr_assert_not_null(raw);
	zmq_setsockopt(raw, ZMQ_LINGER, &linger, sizeof(linger));
	for (int i = 0; i < OPEN_MAX; i++)
		if (!open_raw[i]) {
			open_raw[i] = raw;
			break;
		}
	return raw;
}

static void setup(void)
{
	zctx = pbx_zmq_ctx_new();
	cr_assert_not_null(zctx);
}

static void teardown(void)
{
	for (int i = 0; i < OPEN_MAX; i++) {
		pbx_bus_free(open_bus[i]);
		open_bus[i] = NULL;
		if (open_raw[i])
			zmq_close(open_raw[i]);
		open_raw[i] = NULL;
	}
	zmq_ctx_term(zctx);
	pbx_clock_fake(0);
	pbx_test_fini();
}

TestSuite(pbx_bus, .init = setup, .fini = teardown);

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_recv(struct pbx_bus *bus, const struct pbx_bus_peer *peer,
		    const Pbx__V1__Envelope *env, int err, void *arg)
{
	struct got *g = arg;
	int i = g->n;

	(void)bus;
	if (g->in_send && *g->in_send)
		g->ran_in_send = true;
	if (!env) {
		cr_assert_eq(err, -EPROTO);
		g->bad++;
		return;
	}
	cr_assert_eq(err, 0);
	cr_assert_lt(i, MAX_GOT);
	snprintf(g->msgid[i], sizeof(g->msgid[i]), "%s", env->message_id);
	snprintf(g->tenant[i], sizeof(g->tenant[i]), "%s", env->tenant_id);
	snprintf(g->reply_to[i], sizeof(g->reply_to[i]), "%s",
		 env->reply_to);
	g->ts[i] = env->timestamp_ms;
	if (env->body_case == PBX__V1__ENVELOPE__BODY_MEDIA_EVENT)
		snprintf(g->digit[i], sizeof(g->digit[i]), "%s",
			 env->media_event->digit);
	g->had_peer[i] = peer != NULL;
	if (peer)
		g->peer[i] = *peer;
	g->n++;
}

/* Processes both buses until *count >= want or WAIT_MS passed. */
static bool pump(struct pbx_bus *a, struct pbx_bus *b, const int *count,
		 int want)
{
	uint64_t end = mono_ms() + WAIT_MS;

	while (*count < want && mono_ms() < end) {
		if (a)
			pbx_bus_process(a);
		if (b)
			pbx_bus_process(b);
		usleep(1000);
	}
	return *count >= want;
}

/* A DTMF event envelope; the strings live in the caller's scope. */
static void dtmf_env(Pbx__V1__Envelope *env, Pbx__V1__MediaEvent *ev,
		     const char *digit)
{
	pbx__v1__envelope__init(env);
	pbx__v1__media_event__init(ev);
	ev->kind = PBX__V1__MEDIA_EVENT__KIND__KIND_DTMF;
	ev->digit = (char *)digit;
	env->tenant_id = "acme";
	env->call_id = "call-1";
	env->body_case = PBX__V1__ENVELOPE__BODY_MEDIA_EVENT;
	env->media_event = ev;
}

/* Sends until the DEALER has a live connection (ZMQ_IMMEDIATE: -EAGAIN
 * before), at most WAIT_MS. */
static int send_when_connected(struct pbx_bus *bus, Pbx__V1__Envelope *env)
{
	uint64_t end = mono_ms() + WAIT_MS;
	int err;

	while ((err = pbx_bus_send(bus, NULL, env)) == -EAGAIN &&
	       mono_ms() < end)
		usleep(2000);
	return err;
}

static int free_tcp_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static void round_trip(const char *endpoint)
{
	struct got rg = {0}, dg = {0};
	struct pbx_bus *router = NULL, *dealer = NULL;
	Pbx__V1__Envelope env, reply;
	Pbx__V1__MediaEvent ev, rev;

	pbx_clock_fake(1700000000123ull);
	cr_assert_eq(bus_new(&router, PBX_BUS_ROUTER, endpoint,
				   NULL, on_recv, &rg),
		     0);
	cr_assert_eq(bus_new(&dealer, PBX_BUS_DEALER, endpoint,
				   "mw7", on_recv, &dg),
		     0);
	dtmf_env(&env, &ev, "5");
	cr_assert_eq(send_when_connected(dealer, &env), 0);
	/* The bus filled the id for this send only: no pointer to its
	 * stack is left in the caller's envelope. */
	cr_assert_null(env.message_id);
	cr_assert(pump(router, dealer, &rg.n, 1));
	cr_assert(rg.had_peer[0]);
	cr_assert_eq(rg.peer[0].len, 3);
	cr_assert_eq(memcmp(rg.peer[0].id, "mw7", 3), 0);
	cr_assert_str_eq(rg.tenant[0], "acme");
	cr_assert_str_eq(rg.digit[0], "5");
	cr_assert_neq(rg.msgid[0][0], '\0');
	cr_assert_eq(rg.ts[0], 1700000000123ull);

	/* The reply goes back to that peer, by its id. */
	dtmf_env(&reply, &rev, "#");
	reply.message_id = "r-1";
	reply.reply_to = rg.msgid[0];
	reply.timestamp_ms = 42; /* set by the caller: kept */
	cr_assert_eq(pbx_bus_send(router, &rg.peer[0], &reply), 0);
	cr_assert_str_eq(reply.message_id, "r-1");
	cr_assert(pump(router, dealer, &dg.n, 1));
	cr_assert_not(dg.had_peer[0]);
	cr_assert_str_eq(dg.msgid[0], "r-1");
	cr_assert_str_eq(dg.reply_to[0], rg.msgid[0]);
	cr_assert_str_eq(dg.digit[0], "#");
	cr_assert_eq(dg.ts[0], 42);
	cr_assert_eq(rg.bad + dg.bad, 0);
	bus_close(dealer);
	bus_close(router);
}

Test(pbx_bus, dealer_router_round_trip_inproc)
{
	round_trip("inproc://bus-rt");
}

Test(pbx_bus, dealer_router_round_trip_tcp)
{
	char ep[64];

	snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", free_tcp_port());
	round_trip(ep);
}

Test(pbx_bus, message_ids_are_unique)
{
	struct got rg = {0};
	struct pbx_bus *router = NULL, *dealer = NULL;
	Pbx__V1__Envelope env;
	Pbx__V1__MediaEvent ev;
	char a[64], b[64];

	pbx_bus_msgid(a, sizeof(a));
	pbx_bus_msgid(b, sizeof(b));
	cr_assert_str_neq(a, b);
	cr_assert_eq(bus_new(&router, PBX_BUS_ROUTER,
				   "inproc://ids", NULL, on_recv, &rg),
		     0);
	cr_assert_eq(bus_new(&dealer, PBX_BUS_DEALER,
				   "inproc://ids", NULL, on_recv, NULL),
		     0);
	dtmf_env(&env, &ev, "1");
	cr_assert_eq(send_when_connected(dealer, &env), 0);
	cr_assert_eq(pbx_bus_send(dealer, NULL, &env), 0);
	cr_assert(pump(router, NULL, &rg.n, 2));
	cr_assert_str_neq(rg.msgid[0], rg.msgid[1]);
	bus_close(dealer);
	bus_close(router);
}

/* Sends never wait: a DEALER with nobody listening, a ROUTER addressing
 * a peer it does not know, both fail at once; a caller with a deadline
 * (the edge-bridge's 1.5 s, a worker's event) is never held. */
Test(pbx_bus, sends_to_nobody_fail_at_once)
{
	struct pbx_bus *router = NULL, *dealer = NULL;
	struct pbx_bus_peer ghost = {.id = "ghost", .len = 5};
	Pbx__V1__Envelope env;
	Pbx__V1__MediaEvent ev;
	char ep[64];
	uint64_t t0;

	snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", free_tcp_port());
	cr_assert_eq(bus_new(&dealer, PBX_BUS_DEALER, ep, NULL,
				   on_recv, NULL),
		     0);
	dtmf_env(&env, &ev, "1");
	t0 = mono_ms();
	for (int i = 0; i < 100; i++)
		cr_assert_eq(pbx_bus_send(dealer, NULL, &env), -EAGAIN);
	cr_assert_lt(mono_ms() - t0, 200, "100 sends took %llu ms",
		     (unsigned long long)(mono_ms() - t0));

	cr_assert_eq(bus_new(&router, PBX_BUS_ROUTER,
				   "inproc://nobody", NULL, on_recv, NULL),
		     0);
	t0 = mono_ms();
	cr_assert_eq(pbx_bus_send(router, &ghost, &env), -EHOSTUNREACH);
	cr_assert_eq(pbx_bus_send(router, NULL, &env), -EINVAL);
	cr_assert_lt(mono_ms() - t0, 50);
	cr_assert_eq(pbx_bus_send(NULL, NULL, &env), -EINVAL);
	cr_assert_eq(pbx_bus_send(dealer, NULL, NULL), -EINVAL);
	bus_close(dealer);
	bus_close(router);
}

/* A router that goes away: the DEALER's sends start failing (no queue
 * piling up for a dead peer) within ZeroMQ's disconnect detection. */
Test(pbx_bus, a_dead_router_makes_sends_fail_not_queue)
{
	struct got rg = {0};
	struct pbx_bus *router = NULL, *dealer = NULL;
	Pbx__V1__Envelope env;
	Pbx__V1__MediaEvent ev;
	char ep[64];
	uint64_t end;
	int err = 0;

	snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", free_tcp_port());
	cr_assert_eq(bus_new(&router, PBX_BUS_ROUTER, ep, NULL,
				   on_recv, &rg),
		     0);
	cr_assert_eq(bus_new(&dealer, PBX_BUS_DEALER, ep, NULL,
				   on_recv, NULL),
		     0);
	dtmf_env(&env, &ev, "1");
	cr_assert_eq(send_when_connected(dealer, &env), 0);
	cr_assert(pump(router, NULL, &rg.n, 1));
	bus_close(router);
	end = mono_ms() + WAIT_MS;
	while (mono_ms() < end) {
		uint64_t t0 = mono_ms();

		err = pbx_bus_send(dealer, NULL, &env);
		cr_assert_lt(mono_ms() - t0, 50);
		if (err == -EAGAIN)
			break;
		cr_assert_eq(err, 0);
		usleep(5000);
	}
	cr_assert_eq(err, -EAGAIN);
	bus_close(dealer);
}

/* Frames that do not follow our framing reach the handler as -EPROTO
 * (once each), and the bus goes on with the next good frame. */
Test(pbx_bus, malformed_frames_are_reported_and_skipped)
{
	struct got rg = {0};
	struct pbx_bus *router = NULL;
	Pbx__V1__Envelope env, empty;
	Pbx__V1__MediaEvent ev;
	uint8_t *buf;
	size_t len;
	void *raw = raw_new(ZMQ_DEALER);

	cr_assert_eq(bus_new(&router, PBX_BUS_ROUTER,
				   "inproc://garbage", NULL, on_recv, &rg),
		     0);
	cr_assert_eq(zmq_connect(raw, "inproc://garbage"), 0);
	/* 1: bytes that are not protobuf */
	cr_assert_eq(zmq_send(raw, "\xff\xff\xff\xff", 4, 0), 4);
	/* 2: a valid envelope without a body */
	pbx__v1__envelope__init(&empty);
	empty.message_id = "x";
	cr_assert_eq(pbx_envelope_encode(&empty, &buf, &len), 0);
	cr_assert_eq(zmq_send(raw, buf, len, 0), (int)len);
	free(buf);
	/* 3: two payload parts (not our framing), even if both decode */
	dtmf_env(&env, &ev, "7");
	env.message_id = "two-parts";
	cr_assert_eq(pbx_envelope_encode(&env, &buf, &len), 0);
	cr_assert_eq(zmq_send(raw, buf, len, ZMQ_SNDMORE), (int)len);
	cr_assert_eq(zmq_send(raw, buf, len, 0), (int)len);
	/* 4: an empty frame */
	cr_assert_eq(zmq_send(raw, "", 0, 0), 0);
	/* 5: a good one */
	env.message_id = "good";
	free(buf);
	cr_assert_eq(pbx_envelope_encode(&env, &buf, &len), 0);
	cr_assert_eq(zmq_send(raw, buf, len, 0), (int)len);
	free(buf);

	cr_assert(pump(router, NULL, &rg.n, 1));
	cr_assert_eq(rg.n, 1);
	cr_assert_eq(rg.bad, 4);
	cr_assert_str_eq(rg.msgid[0], "good");
	bus_close(router);
}

Test(pbx_bus, oversized_frame_is_malformed)
{
	struct got rg = {0};
	struct pbx_bus *router = NULL;
	size_t big = 24 * 1024 * 1024 + 1;
	uint8_t *buf = calloc(1, big);
	void *raw = raw_new(ZMQ_DEALER);

	cr_assert_not_null(buf);
	cr_assert_eq(bus_new(&router, PBX_BUS_ROUTER,
				   "inproc://big", NULL, on_recv, &rg),
		     0);
	cr_assert_eq(zmq_connect(raw, "inproc://big"), 0);
	cr_assert_eq(zmq_send(raw, buf, big, 0), (int)big);
	free(buf);
	cr_assert(pump(router, NULL, &rg.bad, 1));
	cr_assert_eq(rg.n, 0);
	bus_close(router);
}

/* "a,b": a DEALER connects to each endpoint (one socket, fair-queued):
 * with both routers up, messages reach both. */
Test(pbx_bus, dealer_connects_to_every_endpoint)
{
	struct got g1 = {0}, g2 = {0};
	struct pbx_bus *r1 = NULL, *r2 = NULL, *dealer = NULL;
	Pbx__V1__Envelope env;
	Pbx__V1__MediaEvent ev;
	uint64_t end;
	int total = 0;

	cr_assert_eq(bus_new(&r1, PBX_BUS_ROUTER, "inproc://r1",
				   NULL, on_recv, &g1),
		     0);
	cr_assert_eq(bus_new(&r2, PBX_BUS_ROUTER, "inproc://r2",
				   NULL, on_recv, &g2),
		     0);
	cr_assert_eq(bus_new(&dealer, PBX_BUS_DEALER,
				   "inproc://r1,inproc://r2", "d", on_recv,
				   NULL),
		     0);
	dtmf_env(&env, &ev, "2");
	end = mono_ms() + WAIT_MS;
	while ((!g1.n || !g2.n) && mono_ms() < end) {
		if (pbx_bus_send(dealer, NULL, &env) == 0)
			total++;
		pbx_bus_process(r1);
		pbx_bus_process(r2);
		usleep(1000);
	}
	cr_assert_gt(g1.n, 0);
	cr_assert_gt(g2.n, 0);
	bus_close(dealer);
	bus_close(r1);
	bus_close(r2);
	(void)total;
}

Test(pbx_bus, bad_endpoints_are_errors)
{
	struct pbx_bus *a = NULL, *b = NULL;

	cr_assert_eq(bus_new(&a, PBX_BUS_ROUTER, "nonsense", NULL,
				   on_recv, NULL),
		     -EINVAL);
	cr_assert_null(a);
	cr_assert_eq(bus_new(&a, PBX_BUS_ROUTER, "inproc://dup",
				   NULL, on_recv, NULL),
		     0);
	cr_assert_eq(bus_new(&b, PBX_BUS_ROUTER, "inproc://dup",
				   NULL, on_recv, NULL),
		     -EADDRINUSE);
	cr_assert_null(b);
	cr_assert_eq(bus_new(&b, PBX_BUS_ROUTER, NULL, NULL,
				   on_recv, NULL),
		     -EINVAL);
	cr_assert_eq(pbx_bus_alloc(&b, NULL, PBX_BUS_ROUTER, "inproc://x",
				   NULL, on_recv, NULL),
		     -EINVAL);
	cr_assert_eq(bus_new(&b, PBX_BUS_ROUTER, "inproc://x",
				   NULL, NULL, NULL),
		     -EINVAL);
	bus_close(a);
	pbx_bus_free(NULL);
}

Test(pbx_bus, envelope_codec)
{
	Pbx__V1__Envelope env, *back, empty;
	Pbx__V1__MediaEvent ev;
	uint8_t *buf;
	size_t len;

	dtmf_env(&env, &ev, "9");
	env.message_id = "m";
	cr_assert_eq(pbx_envelope_encode(&env, &buf, &len), 0);
	back = pbx_envelope_decode(buf, len);
	cr_assert_not_null(back);
	cr_assert_str_eq(back->media_event->digit, "9");
	cr_assert_str_eq(back->call_id, "call-1");
	pbx_envelope_free(back);
	cr_assert_null(pbx_envelope_decode(buf, len / 2));
	free(buf);
	pbx__v1__envelope__init(&empty);
	cr_assert_eq(pbx_envelope_encode(&empty, &buf, &len), 0);
	cr_assert_null(pbx_envelope_decode(buf, len)); /* no body */
	free(buf);
	pbx_envelope_free(NULL);
}

/* The libevent glue: a handler never runs inside pbx_bus_send() (it
 * could free what the sender holds); the loop runs it soon after. */
static bool in_send;

static void on_recv_reply(struct pbx_bus *bus,
			  const struct pbx_bus_peer *peer,
			  const Pbx__V1__Envelope *env, int err, void *arg)
{
	struct got *g = arg;
	Pbx__V1__Envelope r;
	Pbx__V1__MediaEvent ev;

	on_recv(bus, peer, env, err, arg);
	if (!env || g->n > 4)
		return;
	/* Answer from inside the handler, like a router does. */
	dtmf_env(&r, &ev, "0");
	in_send = true;
	pbx_bus_send(bus, peer, &r);
	in_send = false;
}

Test(pbx_bus, attached_bus_never_runs_handlers_inside_send)
{
	struct got rg = {.in_send = &in_send}, dg = {.in_send = &in_send};
	struct pbx_bus *router = NULL, *dealer = NULL;
	struct event_base *base = event_base_new();
	Pbx__V1__Envelope env;
	Pbx__V1__MediaEvent ev;
	uint64_t end;

	cr_assert_not_null(base);
	cr_assert_eq(bus_new(&router, PBX_BUS_ROUTER,
				   "inproc://attach", NULL, on_recv_reply,
				   &rg),
		     0);
	cr_assert_eq(bus_new(&dealer, PBX_BUS_DEALER,
				   "inproc://attach", "d1", on_recv_reply,
				   &dg),
		     0);
	cr_assert_eq(pbx_bus_attach(router, base), 0);
	cr_assert_eq(pbx_bus_attach(dealer, base), 0);
	dtmf_env(&env, &ev, "3");
	in_send = true;
	cr_assert_eq(send_when_connected(dealer, &env), 0);
	in_send = false;
	/* Ping-pong: each side answers from its handler, four times. */
	end = mono_ms() + WAIT_MS;
	while ((rg.n < 4 || dg.n < 4) && mono_ms() < end)
		event_base_loop(base, EVLOOP_NONBLOCK);
	cr_assert_geq(rg.n, 4, "router got %d, dealer %d", rg.n, dg.n);
	cr_assert_geq(dg.n, 4);
	cr_assert_not(rg.ran_in_send);
	cr_assert_not(dg.ran_in_send);
	bus_close(dealer);
	bus_close(router);
	event_base_free(base);
}
