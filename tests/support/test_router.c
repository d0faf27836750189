/* Test support: a fake router on the libre loop (see test_router.h). */
#include <criterion/criterion.h>
#include <stdio.h>

#include "test_loop.h"
#include "test_router.h"

static void router_recv(struct pbx_bus *bus, const struct pbx_bus_peer *peer,
			const Pbx__V1__Envelope *env, int err, void *arg)
{
	struct test_router *r = arg;
	const Pbx__V1__MediaEvent *me;
	struct test_router_ev *e;

	(void)bus;
	if (err || !env || !peer)
		return;
	r->peer = *peer;
	r->have_peer = true;
	if (env->body_case == PBX__V1__ENVELOPE__BODY_WORKER_HEARTBEAT) {
		r->hbs++;
		r->hb_load = env->worker_heartbeat->load;
		r->hb_capacity = env->worker_heartbeat->capacity;
		r->hb_draining = env->worker_heartbeat->draining;
		return;
	}
	if (env->body_case != PBX__V1__ENVELOPE__BODY_MEDIA_EVENT)
		return;
	me = env->media_event;
	cr_assert_lt(r->nev, TEST_ROUTER_EVENTS, "too many events");
	e = &r->evs[r->nev++];
	e->kind = me->kind;
	e->seq = me->seq;
	e->sip_code = me->sip_code;
	e->ring_result = me->ring_result;
	e->timer_id = me->timer_id;
	e->conf_members = me->conf_members;
	e->conf_muted = me->conf_muted;
	snprintf(e->detail, sizeof(e->detail), "%s",
		 me->detail ? me->detail : "");
	snprintf(e->leg, sizeof(e->leg), "%s", me->leg ? me->leg : "");
	snprintf(e->fax_id, sizeof(e->fax_id), "%s",
		 me->fax_id ? me->fax_id : "");
	e->fax_result = me->fax_result;
	e->fax_pages = me->fax_pages;
	e->digit = me->digit && me->digit[0] ? me->digit[0] : 0;
	snprintf(e->callid, sizeof(e->callid), "%s",
		 env->call_id ? env->call_id : "");
	snprintf(e->caller, sizeof(e->caller), "%s",
		 me->caller ? me->caller : "");
	snprintf(e->dialed, sizeof(e->dialed), "%s",
		 me->dialed ? me->dialed : "");
	snprintf(e->reply_to, sizeof(e->reply_to), "%s",
		 env->reply_to ? env->reply_to : "");
	if (me->kind == PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING)
		snprintf(r->callid, sizeof(r->callid), "%s", e->callid);
}

static void router_fd(int flags, void *arg)
{
	struct test_router *r = arg;

	(void)flags;
	pbx_bus_process(r->bus);
}

static void router_kick(void *arg)
{
	struct test_router *r = arg;

	pbx_bus_process(r->bus);
}

/* ZMQ_FD is edge-triggered, and a send can consume an edge: look again
 * every few ms. */
static void router_poll(void *arg)
{
	struct test_router *r = arg;

	pbx_bus_process(r->bus);
	tmr_start(&r->tmr_poll, 10, router_poll, r);
}

void test_router_open(struct test_router *r, void *zctx, const char *ep)
{
	tmr_init(&r->tmr_poll);
	tmr_init(&r->tmr_kick);
	r->fd = -1;
	cr_assert_eq(pbx_bus_alloc(&r->bus, zctx, PBX_BUS_ROUTER, ep, NULL,
				   router_recv, r),
		     0, "router: cannot bind %s", ep);
	r->fd = pbx_bus_fd(r->bus);
	cr_assert_eq(fd_listen(r->fd, FD_READ, router_fd, r), 0);
	tmr_start(&r->tmr_poll, 10, router_poll, r);
}

void test_router_close(struct test_router *r)
{
	if (!r->bus)
		return;
	tmr_cancel(&r->tmr_poll);
	tmr_cancel(&r->tmr_kick);
	if (r->fd >= 0)
		fd_close(r->fd);
	r->fd = -1;
	pbx_bus_free(r->bus);
	r->bus = NULL;
}

uint64_t test_router_send(struct test_router *r, Pbx__V1__MediaCommand *mc,
			  const char *tenant, const char *callid)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	char msgid[32];

	cr_assert(r->have_peer, "router: no frame from a worker yet");
	mc->seq = ++r->seq;
	snprintf(msgid, sizeof(msgid), "cmd-%llu", (unsigned long long)r->seq);
	env.message_id = msgid;
	env.tenant_id = (char *)tenant;
	env.call_id = (char *)callid;
	env.body_case = PBX__V1__ENVELOPE__BODY_MEDIA_COMMAND;
	env.media_command = mc;
	cr_assert_eq(pbx_bus_send(r->bus, &r->peer, &env), 0);
	tmr_start(&r->tmr_kick, 0, router_kick, r);
	return mc->seq;
}

unsigned test_router_count(const struct test_router *r, int kind)
{
	unsigned n = 0;

	for (unsigned i = 0; i < r->nev; i++)
		n += r->evs[i].kind == kind;
	return n;
}

const struct test_router_ev *test_router_find(const struct test_router *r,
					      int kind)
{
	for (unsigned i = 0; i < r->nev; i++)
		if (r->evs[i].kind == kind)
			return &r->evs[i];
	return NULL;
}

const struct test_router_ev *test_router_last(const struct test_router *r)
{
	cr_assert_gt(r->nev, 0, "router: no event yet");
	return &r->evs[r->nev - 1];
}

struct want {
	const struct test_router *r;
	int kind;
};

static bool ev_seen(void *arg)
{
	const struct want *w = arg;

	return test_router_find(w->r, w->kind) != NULL;
}

bool test_router_wait(struct test_router *r, int kind, uint32_t ms)
{
	struct want w = {r, kind};

	return test_loop_until(ev_seen, &w, ms);
}
