/* Test support: fake bus peer (see fake_peer.h). Owns its bus and the
 * copies of the envelopes it received. */
#include <errno.h>
#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fake_peer.h"
#include "pbx_clock.h"

struct fake_peer {
	struct event_base *base;
	struct pbx_bus *bus;
	Pbx__V1__Envelope **msg;
	size_t n, cap;
	fake_peer_recv_h *recvh;
	void *recv_arg;
};

/* The bus frees env after this returns: keep a copy (encode + decode, the
 * same path the bytes took on the wire). */
static void peer_recv(struct pbx_bus *bus, const struct pbx_bus_peer *peer,
		      const Pbx__V1__Envelope *env, int err, void *arg)
{
	struct fake_peer *p = arg;
	Pbx__V1__Envelope *copy;
	uint8_t *buf;
	size_t len;

	(void)bus;
	(void)peer;
	if (err || !env || pbx_envelope_encode(env, &buf, &len))
		return;
	copy = pbx_envelope_decode(buf, len);
	free(buf);
	if (!copy)
		return;
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 16;
		Pbx__V1__Envelope **v = realloc(p->msg, cap * sizeof(*v));

		if (!v) {
			pbx_envelope_free(copy);
			return;
		}
		p->msg = v;
		p->cap = cap;
	}
	p->msg[p->n++] = copy;
	if (p->recvh)
		p->recvh(copy, p->recv_arg);
}

void fake_peer_set_recv(struct fake_peer *p, fake_peer_recv_h *h, void *arg)
{
	p->recvh = h;
	p->recv_arg = arg;
}

int fake_peer_alloc(struct fake_peer **pp, struct event_base *base,
		    void *zctx, const char *endpoint, const char *identity)
{
	return fake_peer_alloc_opts(pp, base, zctx, endpoint, identity, NULL);
}

int fake_peer_alloc_opts(struct fake_peer **pp, struct event_base *base,
			 void *zctx, const char *endpoint,
			 const char *identity,
			 const struct pbx_bus_opts *opts)
{
	struct fake_peer *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return -ENOMEM;
	p->base = base;
	err = pbx_bus_alloc_opts(&p->bus, zctx, PBX_BUS_DEALER, endpoint,
				 identity, opts, peer_recv, p);
	if (!err)
		err = pbx_bus_attach(p->bus, base);
	if (err) {
		pbx_bus_free(p->bus);
		free(p);
		return err;
	}
	*pp = p;
	return 0;
}

void fake_peer_clear(struct fake_peer *p)
{
	for (size_t i = 0; i < p->n; i++)
		pbx_envelope_free(p->msg[i]);
	p->n = 0;
}

void fake_peer_free(struct fake_peer *p)
{
	if (!p)
		return;
	pbx_bus_free(p->bus);
	fake_peer_clear(p);
	free(p->msg);
	free(p);
}

/* One short turn of the loop: waits are polled at 1 ms so a test that
 * waits for many round trips (router_harness_barrier) stays fast. */
static void run_1ms(struct event_base *base)
{
	struct timeval tv = {0, 1000};

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

int fake_peer_send(struct fake_peer *p, Pbx__V1__Envelope *env,
		   int timeout_ms)
{
	uint64_t end = pbx_clock_mono_ms() + (uint64_t)timeout_ms;
	int err;

	for (;;) {
		err = pbx_bus_send(p->bus, NULL, env);
		if (err != -EAGAIN || pbx_clock_mono_ms() >= end)
			return err;
		run_1ms(p->base);
	}
}

size_t fake_peer_drop_call(struct fake_peer *p, const char *call_id)
{
	size_t kept = 0, n = p->n;

	for (size_t i = 0; i < n; i++) {
		const char *cid = p->msg[i]->call_id;

		if (cid && !strcmp(cid, call_id))
			pbx_envelope_free(p->msg[i]);
		else
			p->msg[kept++] = p->msg[i];
	}
	p->n = kept;
	return n - kept;
}

long fake_peer_find_call(const struct fake_peer *p, const char *call_id,
			 size_t from)
{
	for (size_t i = from; i < p->n; i++) {
		const char *cid = p->msg[i]->call_id;

		if (cid && !strcmp(cid, call_id))
			return (long)i;
	}
	return -1;
}

long fake_peer_wait_call(struct fake_peer *p, const char *call_id,
			 size_t from, int timeout_ms)
{
	uint64_t end = pbx_clock_mono_ms() + (uint64_t)timeout_ms;
	long i;

	while ((i = fake_peer_find_call(p, call_id, from)) < 0 &&
	       pbx_clock_mono_ms() < end)
		run_1ms(p->base);
	return i;
}

size_t fake_peer_count(const struct fake_peer *p)
{
	return p->n;
}

const Pbx__V1__Envelope *fake_peer_msg(const struct fake_peer *p, size_t i)
{
	return i < p->n ? p->msg[i] : NULL;
}

size_t fake_peer_wait(struct fake_peer *p, size_t n, int timeout_ms)
{
	uint64_t end = pbx_clock_mono_ms() + (uint64_t)timeout_ms;

	/* pbx_bus_process() too: ZMQ_FD is edge-triggered, and an edge that
	 * came while the loop was not watching (a peer's socket closed with
	 * frames still lingering) would otherwise never be seen. */
	while (p->n < n && pbx_clock_mono_ms() < end) {
		run_1ms(p->base);
		pbx_bus_process(p->bus);
	}
	return p->n;
}
