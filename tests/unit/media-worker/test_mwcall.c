/* In-process tests of the media worker's calls (mwcall*.c, worker*.c,
 * leg.c) with real peers, as baresip's test/call.c does: one process, one
 * libre loop, and on it the real worker (worker_alloc), a ZeroMQ ROUTER
 * playing the router (tests/support/test_router.c, inproc: no TCP port)
 * and libre user agents with real RTP sockets on 127.0.0.1
 * (tests/support/test_ua.c): the caller (it also plays Kamailio: the
 * worker takes INVITEs from 127.0.0.1) and, for rings, the callee (the
 * worker's edge_uri points at it). Each test runs the loop until what it
 * waits for happened or a deadline (tests/support/test_loop.c), then
 * asserts what reached the other side: SIP codes, RTP packet counts,
 * payload types, bytes and sequence numbers, events. Every port is
 * ephemeral; prompts come from a table, not Redis. MWTEST_DEBUG=1 shows
 * the worker's debug log, TEST_SIP_TRACE=1 every SIP message. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <re.h>
#include <spandsp.h>

#include "confroom.h"
#include "mwcall_priv.h"
#include "mwlaw.h"
#include "pbx_clock.h"
#include "pbx_log.h"
#include "pbx_test.h"
#include "queue_sounds.h"
#include "tmr_wheel.h"
#include "prompt_cache.h"
#include "worker.h"
#include "worker_priv.h"

#include "test_loop.h"
#include "redis_fixture.h"
#include "test_port.h"
#include "test_router.h"
#include "test_ua.h"

#include "pbx/v1/envelope.pb-c.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define TENANT "t1"
#define WORKER_ID "mwt"
#define KIND(k) PBX__V1__MEDIA_EVENT__KIND__KIND_##k

enum {
	PROMPT_FILL = 0x5a, /* every byte of the table's prompts */
};

struct fx {
	void *zctx;
	struct test_router router;
	struct test_router router2; /* only with fx_opts.two_routers */
	struct test_ua caller, callee;
	struct test_ua callee2; /* a second agent (named legs) */
	struct test_ua member[4]; /* conference callers */
	struct mw_config cfg;
	struct worker *w;
	size_t prompt_len;
};

static struct fx fx;

/* ---- small helpers ---- */

/* ---- the router side ---- */

static unsigned ev_count(int kind)
{
	return test_router_count(&fx.router, kind);
}

static const struct test_router_ev *ev_find(int kind)
{
	return test_router_find(&fx.router, kind);
}

static bool wait_event(int kind, uint32_t ms)
{
	return test_router_wait(&fx.router, kind, ms);
}

/* Sends mc about call `callid` of `tenant`; returns its seq. */
static uint64_t cmd_send_via(struct test_router *r,
			     Pbx__V1__MediaCommand *mc, const char *tenant,
			     const char *callid)
{
	mc->worker_id = (char *)WORKER_ID;
	return test_router_send(r, mc, tenant, callid);
}

static uint64_t cmd_send_to(Pbx__V1__MediaCommand *mc, const char *tenant,
			    const char *callid)
{
	return cmd_send_via(&fx.router, mc, tenant, callid);
}

/* ... about the call INCOMING announced. */
static uint64_t cmd_send(Pbx__V1__MediaCommand *mc)
{
	return cmd_send_to(mc, TENANT, fx.router.callid);
}

static uint64_t cmd_answer(void)
{
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Answer a = PBX__V1__MEDIA_COMMAND__ANSWER__INIT;

	mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_ANSWER;
	mc.answer = &a;
	return cmd_send(&mc);
}

static uint64_t cmd_play(const char *prompt, uint32_t loops, bool barge_in)
{
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Play p = PBX__V1__MEDIA_COMMAND__PLAY__INIT;

	p.prompt = (char *)prompt;
	p.loops = loops;
	p.barge_in = barge_in;
	mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_PLAY;
	mc.play = &p;
	return cmd_send(&mc);
}

static uint64_t cmd_hangup(uint32_t code)
{
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Hangup h = PBX__V1__MEDIA_COMMAND__HANGUP__INIT;

	h.sip_code = code;
	h.reason = (char *)"test";
	mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_HANGUP;
	mc.hangup = &h;
	return cmd_send(&mc);
}

static uint64_t cmd_ring(const char *target, uint32_t timeout_ms)
{
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Ring r = PBX__V1__MEDIA_COMMAND__RING__INIT;

	r.target_uri = (char *)target;
	r.timeout_ms = timeout_ms;
	r.dest_kind = (char *)"extension";
	mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_RING;
	mc.ring = &r;
	return cmd_send(&mc);
}

static uint64_t cmd_timer(uint32_t id, uint32_t ms)
{
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Timer t = PBX__V1__MEDIA_COMMAND__TIMER__INIT;

	t.id = id;
	t.ms = ms;
	mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_TIMER;
	mc.timer = &t;
	return cmd_send(&mc);
}

/* ---- prompts: a table instead of Redis ---- */

static int table_version(const char *tenant, const char *name, char *version,
			 size_t size, void *arg)
{
	(void)arg;
	if (strcmp(tenant, TENANT) || strcmp(name, "hello"))
		return -ENOENT;
	snprintf(version, size, "1");
	return 0;
}

static int table_load(const char *tenant, const char *name,
		      struct prompt_data *pd, void *arg)
{
	(void)arg;
	if (strcmp(tenant, TENANT) || strcmp(name, "hello"))
		return -ENOENT;
	for (int law = 0; law < 2; law++) {
		pd->audio[law] = mem_alloc(fx.prompt_len, NULL);
		if (!pd->audio[law])
			return -ENOMEM;
		memset(pd->audio[law], PROMPT_FILL, fx.prompt_len);
		pd->len[law] = fx.prompt_len;
	}
	snprintf(pd->version, sizeof(pd->version), "1");
	return 0;
}

/* An INVITE from ua to the worker, with extra headers `hdrs`. */
static void call_worker(struct test_ua *ua, const char *hdrs)
{
	char uri[64];

	re_snprintf(uri, sizeof(uri), "sip:100@127.0.0.1:%s",
		    strrchr(fx.cfg.sip_listen, ':') + 1);
	test_ua_invite(ua, uri, hdrs);
}

/* The caller's INVITE, with the tenant Kamailio would add, as from one of
 * the tenant's extensions (Kamailio authenticated it). */
static void caller_invite(void)
{
	call_worker(&fx.caller, "X-Pbx-Tenant: " TENANT "\r\n"
				"X-Pbx-Source: extension\r\n");
}

/* ---- fixture ---- */

struct fx_opts {
	bool caller_te;
	bool caller_alaw;  /* the caller offers PCMA only */
	bool callee_no_te; /* the callee does not take telephone-event */
	uint8_t caller_pt;  /* the caller offers this only (0: PCMU) */
	long capacity;
	const char *edge_addr;
	bool two_routers;
	bool router_tcp; /* tcp://127.0.0.1:<free port> instead of inproc */
	uint16_t rtp_port;  /* the worker's RTP ports: from here (0: many) */
	uint16_t rtp_ports; /* ... this many */
	uint32_t rtp_timeout_ms;
	size_t prompt_len;
	const char *media_root; /* voicemail tests */
	long vm_min_ms;
	long vm_silence_ms;
	long overload_lag_ms; /* 0 here: a test's own pauses would count */
	int redis_port; /* a real Redis for the store (0: none, port 1) */
	uint16_t metrics_port; /* /metrics and /health there (0: off) */
};

static void fx_start(const struct fx_opts *o)
{
	struct mw_config *cfg = &fx.cfg;
	uint16_t port = test_free_port();
	uint8_t pt = o->caller_pt ? o->caller_pt : o->caller_alaw ? 8 : 0;
	char ep[160];

	cr_assert_neq(port, 0, "no free port");
	fx.prompt_len = o->prompt_len ? o->prompt_len : 8000;
	test_ua_open(&fx.caller, "alice", pt, o->caller_te);
	test_ua_open(&fx.callee, "bob", 0, !o->callee_no_te);

	if (o->router_tcp)
		snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%u", test_free_port());
	else
		snprintf(ep, sizeof(ep), "inproc://mwtest-%d", (int)getpid());
	test_router_open(&fx.router, fx.zctx, ep);
	if (o->two_routers) {
		char ep2[64];

		snprintf(ep2, sizeof(ep2), "inproc://mwtest2-%d",
			 (int)getpid());
		test_router_open(&fx.router2, fx.zctx, ep2);
		/* The worker connects to each, in this order. */
		snprintf(ep + strlen(ep), sizeof(ep) - strlen(ep), ",%s",
			 ep2);
	}

	snprintf(cfg->worker_id, sizeof(cfg->worker_id), WORKER_ID);
	snprintf(cfg->sip_listen, sizeof(cfg->sip_listen), "127.0.0.1:%u",
		 port);
	snprintf(cfg->edge_addr, sizeof(cfg->edge_addr), "%s",
		 o->edge_addr ? o->edge_addr : "127.0.0.1");
	snprintf(cfg->router_endpoints, sizeof(cfg->router_endpoints), "%s",
		 ep);
	/* Never reached: the table below replaces the store. */
	snprintf(cfg->redis_host, sizeof(cfg->redis_host), "127.0.0.1");
	cfg->redis_port = o->redis_port ? o->redis_port : 1;
	snprintf(cfg->rtp_ip, sizeof(cfg->rtp_ip), "127.0.0.1");
	cfg->rtp_port_min = 40000;
	cfg->rtp_port_max = 49998;
	if (o->rtp_port) {
		cfg->rtp_port_min = o->rtp_port;
		cfg->rtp_port_max = o->rtp_port + o->rtp_ports - 1;
	}
	cfg->capacity = o->capacity ? o->capacity : 10;
	cfg->heartbeat_ms = 1000;
	/* Rings go "through Kamailio": here straight to the callee. */
	re_snprintf(cfg->edge_uri, sizeof(cfg->edge_uri), "sip:%J;lr",
		    &fx.callee.sip_addr);
	snprintf(cfg->ringback, sizeof(cfg->ringback), "425/1000/4000");
	cfg->ring_timeout_max_ms = 10000;
	cfg->rtp_timeout_ms = o->rtp_timeout_ms;
	cfg->prompt_cache_bytes = 1 << 20;
	snprintf(cfg->media_root, sizeof(cfg->media_root), "%s",
		 o->media_root ? o->media_root : "/nonexistent");
	cfg->vm_min_ms = o->vm_min_ms;
	cfg->vm_silence_ms = o->vm_silence_ms;
	cfg->overload_lag_ms = o->overload_lag_ms;
	snprintf(cfg->log_level, sizeof(cfg->log_level), "warn");
	if (o->metrics_port)
		snprintf(cfg->metrics.listen, sizeof(cfg->metrics.listen),
			 "127.0.0.1:%u", o->metrics_port);

	cr_assert_eq(worker_alloc(&fx.w, cfg, fx.zctx), 0);
	test_ua_sip_trace(fx.w->sip);
	prompt_cache_free(fx.w->prompts);
	fx.w->prompts = NULL;
	cr_assert_eq(prompt_cache_alloc(&fx.w->prompts, 1 << 20,
					table_version, table_load, NULL),
		     0);
	/* The first heartbeat tells us the worker's routing id. */
	cr_assert(test_loop_flag(&fx.router.have_peer, 2000),
		  "no heartbeat from the worker");
	if (o->two_routers)
		cr_assert(test_loop_flag(&fx.router2.have_peer, 2000),
			  "router 2: no heartbeat");
}

static void fx_init(void)
{
	const char *dbg = getenv("MWTEST_DEBUG");

	memset(&fx, 0, sizeof(fx));
	fx.router.fd = -1;
	fx.router2.fd = -1;
	pbx_log_init("mwtest", dbg ? PBX_LOG_DEBUG : PBX_LOG_ERROR);
	cr_assert_eq(libre_init(), 0);
	cr_assert_eq(fd_setsize(1024), 0);
	fx.zctx = pbx_zmq_ctx_new();
	cr_assert_not_null(fx.zctx);
}

static void fx_fini(void)
{
	/* In reverse: the worker (BYEs to its calls, SIP stack closed), the
	 * agents, the router, ZeroMQ, libre. */
	worker_free(fx.w);
	fx.w = NULL;
	test_ua_close(&fx.caller);
	test_ua_close(&fx.callee);
	test_ua_close(&fx.callee2);
	for (size_t i = 0; i < 4; i++)
		test_ua_close(&fx.member[i]);
	test_router_close(&fx.router);
	test_router_close(&fx.router2);
	if (fx.zctx)
		zmq_ctx_term(fx.zctx);
	fx.zctx = NULL;
	libre_close();
	tmr_debug();
	mem_debug();
	pbx_test_fini();
}

TestSuite(mwcall, .init = fx_init, .fini = fx_fini, .timeout = 10);

/* INVITE → INCOMING; Answer → 200 OK at the caller, ANSWERED; ACK. */
static void call_answered(void)
{
	caller_invite();
	cr_assert(wait_event(KIND(INCOMING), 2000), "no INCOMING");
	cr_assert(test_loop_count(&fx.caller.progress_n, 1, 1000), "no 180");
	cr_assert_eq(fx.caller.last_progress, 180);
	cr_assert_eq(fx.router.hb_load, 1, "heartbeat load %u",
		     fx.router.hb_load);
	cmd_answer();
	cr_assert(test_loop_flag(&fx.caller.estab, 2000), "no 200 OK");
	cr_assert(wait_event(KIND(ANSWERED), 1000), "no ANSWERED");
}

static struct worker_call *the_call(void)
{
	return worker_call_find(fx.w, fx.router.callid);
}

static bool load_zero(void *arg)
{
	(void)arg;
	return fx.router.hb_load == 0;
}

static bool call_established(void *arg)
{
	struct worker_call *wc = the_call();

	(void)arg;
	return wc && wc->call->established;
}

Test(mwcall, answer_sends_200_and_the_ack_completes)
{
	/* As in the worker: libre's timers (this call's transactions and
	 * session) run on tmr_wheel.c, and the call still completes. */
	cr_assert(tmr_wheel_bound());
	const struct test_router_ev *e;

	fx_start(&(struct fx_opts){.caller_te = true});
	call_answered();
	e = ev_find(KIND(INCOMING));
	cr_assert_str_eq(e->caller, "alice", "From user");
	cr_assert_str_eq(e->dialed, "100", "Request-URI user");
	cr_assert_str_eq(e->callid, fx.router.callid);
	e = ev_find(KIND(ANSWERED));
	cr_assert_eq(e->seq, 1, "the Answer's seq");
	cr_assert_str_eq(e->reply_to, "cmd-1", "the Answer's message_id");
	cr_assert_str_eq(e->caller, "alice");
	cr_assert_str_eq(e->dialed, "100");
	cr_assert_eq(fx.caller.answers, 1, "one SDP answer");
	cr_assert_eq(fx.caller.last_rdir, SDP_SENDRECV);
	cr_assert(test_loop_until(call_established, NULL, 1000),
		  "ACK not seen");
	/* Answer again: idempotent, ANSWERED "already answered". */
	cmd_answer();
	cr_assert(test_loop_count(&fx.router.nev, 3, 1000));
	cr_assert_eq(fx.router.evs[2].kind, KIND(ANSWERED));
	cr_assert_str_eq(fx.router.evs[2].detail, "already answered");
	cr_assert_not(fx.caller.closed);
}

Test(mwcall, play_sends_the_prompt_as_continuous_rtp)
{
	const struct test_router_ev *done;
	uint64_t seq;

	fx_start(&(struct fx_opts){.caller_te = true, .prompt_len = 8000});
	call_answered();
	test_ua_rx_reset(&fx.caller, PROMPT_FILL);
	seq = cmd_play("hello", 1, false);
	cr_assert(wait_event(KIND(PLAY_DONE), 3000), "no PLAY_DONE");
	done = ev_find(KIND(PLAY_DONE));
	cr_assert_eq(done->seq, seq);
	cr_assert_str_eq(done->reply_to, "cmd-2", "the Play's message_id");
	/* Packets still in flight, and nothing after the last one. */
	test_loop_for(100);
	cr_assert_eq(fx.caller.rx.pkts, 50, "1 s = 50 packets, got %u",
		     fx.caller.rx.pkts);
	cr_assert_eq(fx.caller.rx.fill_pkts, 50);
	cr_assert_eq(fx.caller.rx.pt, 0, "PCMU");
	cr_assert_eq(fx.caller.rx.pt_other, 0);
	cr_assert_eq(fx.caller.rx.seq_gaps, 0);
	cr_assert_eq(fx.caller.rx.ts_jumps, 0, "ts + 160 per packet");
	cr_assert_eq(fx.caller.rx.ssrc_changes, 0);
	cr_assert_eq(fx.caller.rx.markers, 1, "marker on the first only");
}

Test(mwcall, play_on_an_unanswered_call_answers_it)
{
	fx_start(&(struct fx_opts){.prompt_len = 1600});
	caller_invite();
	cr_assert(wait_event(KIND(INCOMING), 2000));
	test_ua_rx_reset(&fx.caller, PROMPT_FILL);
	cmd_play("hello", 1, false);
	cr_assert(test_loop_flag(&fx.caller.estab, 2000), "no 200 OK");
	cr_assert(wait_event(KIND(PLAY_DONE), 2000));
	test_loop_for(60);
	cr_assert_eq(ev_count(KIND(ANSWERED)), 1);
	/* ANSWERED replies to the Play that answered. */
	cr_assert_str_eq(ev_find(KIND(ANSWERED))->reply_to, "cmd-1");
	cr_assert_eq(ev_find(KIND(ANSWERED))->seq, 1);
	cr_assert_eq(fx.caller.rx.fill_pkts, 10);
}

Test(mwcall, play_of_a_missing_prompt_fails)
{
	const struct test_router_ev *e;

	fx_start(&(struct fx_opts){0});
	call_answered();
	cmd_play("nosuch", 1, false);
	cr_assert(wait_event(KIND(FAILED), 1000));
	e = ev_find(KIND(FAILED));
	cr_assert_str_eq(e->detail, "prompt nosuch not found");
	cr_assert_str_eq(e->reply_to, "cmd-2");
	cr_assert_eq(e->seq, 2);
	cr_assert_not(fx.caller.closed);
}

Test(mwcall, caller_bye_reports_hangup_and_frees_the_call)
{
	const struct test_router_ev *e;

	fx_start(&(struct fx_opts){0});
	call_answered();
	test_ua_hangup(&fx.caller); /* BYE */
	cr_assert(wait_event(KIND(HANGUP), 2000), "no HANGUP");
	e = ev_find(KIND(HANGUP));
	cr_assert_str_eq(e->detail, "caller hung up");
	cr_assert_null(the_call());
	cr_assert(test_loop_until(load_zero, NULL, 1000), "heartbeat load %u",
		  fx.router.hb_load);
}

Test(mwcall, hangup_command_sends_bye_to_the_caller)
{
	const struct test_router_ev *e;
	uint64_t seq;

	fx_start(&(struct fx_opts){0});
	call_answered();
	seq = cmd_hangup(0);
	cr_assert(test_loop_flag(&fx.caller.closed, 2000), "no BYE");
	cr_assert_eq(fx.caller.close_err, ECONNRESET, "BYE, got err %d",
		     fx.caller.close_err);
	cr_assert(wait_event(KIND(ENDED), 1000));
	e = ev_find(KIND(ENDED));
	cr_assert_eq(e->seq, seq);
	cr_assert_eq(ev_count(KIND(HANGUP)), 0, "ENDED, not HANGUP");
	cr_assert_null(the_call());
	cr_assert(test_loop_until(load_zero, NULL, 1000), "heartbeat load %u",
		  fx.router.hb_load);
}

Test(mwcall, hangup_before_answer_sends_the_final_response)
{
	fx_start(&(struct fx_opts){0});
	caller_invite();
	cr_assert(wait_event(KIND(INCOMING), 2000));
	cmd_hangup(486);
	cr_assert(test_loop_flag(&fx.caller.closed, 2000),
		  "no final response");
	cr_assert_eq(fx.caller.close_code, 486);
	cr_assert_not(fx.caller.estab);
	cr_assert(wait_event(KIND(ENDED), 1000));
	cr_assert_eq(ev_find(KIND(ENDED))->sip_code, 486);
	cr_assert_null(the_call());
}

Test(mwcall, rfc4733_event_is_one_digit)
{
	const struct test_router_ev *e;

	fx_start(&(struct fx_opts){.caller_te = true});
	call_answered();
	test_ua_send_4733(&fx.caller, 5, 1000);
	cr_assert(wait_event(KIND(DTMF), 2000), "no DTMF");
	/* The same key again (a new event timestamp) is a new digit; the
	 * repeats and end packets of a press are not. */
	test_loop_for(100);
	test_ua_send_4733(&fx.caller, 5, 5000);
	test_loop_for(100);
	test_ua_send_4733(&fx.caller, 11, 9000); /* # */
	cr_assert(test_loop_count(&fx.router.nev, 4, 2000));
	test_loop_for(100);
	cr_assert_eq(ev_count(KIND(DTMF)), 3, "%u digits",
		     ev_count(KIND(DTMF)));
	e = ev_find(KIND(DTMF));
	cr_assert_eq(e->digit, '5');
	cr_assert_str_eq(e->detail, "rfc4733");
	cr_assert_eq(fx.router.evs[fx.router.nev - 2].digit, '5');
	cr_assert_eq(fx.router.evs[fx.router.nev - 1].digit, '#');
}

Test(mwcall, sip_info_dtmf_is_one_digit)
{
	const struct test_router_ev *e;

	fx_start(&(struct fx_opts){.caller_te = true});
	call_answered();
	test_ua_info(&fx.caller, "application/dtmf-relay",
		     "Signal=7\r\nDuration=160\r\n");
	cr_assert(wait_event(KIND(DTMF), 2000), "no DTMF");
	cr_assert(test_loop_count(&fx.caller.info_2xx, 1, 1000),
		  "no 200 to INFO");
	test_loop_for(50);
	cr_assert_eq(ev_count(KIND(DTMF)), 1);
	e = ev_find(KIND(DTMF));
	cr_assert_eq(e->digit, '7');
	cr_assert_str_eq(e->detail, "info");
}

Test(mwcall, inband_tone_is_one_digit)
{
	dtmf_tx_state_t *tx = dtmf_tx_init(NULL);
	enum { FRAMES = 40 }; /* 800 ms: the tone, then silence */
	static uint8_t audio[FRAMES * TEST_UA_PKT];
	int16_t amp[TEST_UA_PKT];
	const struct test_router_ev *e;

	cr_assert_not_null(tx);
	/* No telephone-event offered: the worker listens in-band. */
	fx_start(&(struct fx_opts){.caller_te = false});
	call_answered();
	dtmf_tx_set_level(tx, -10, 0);
	dtmf_tx_put(tx, "3", -1);
	for (size_t f = 0; f < FRAMES; f++) {
		int n = dtmf_tx(tx, amp, TEST_UA_PKT);

		for (int i = n < 0 ? 0 : n; i < TEST_UA_PKT; i++)
			amp[i] = 0;
		for (int i = 0; i < TEST_UA_PKT; i++)
			audio[f * TEST_UA_PKT + (size_t)i] =
				mwlaw_encode(amp[i], OFFER_ULAW);
	}
	dtmf_tx_free(tx);
	test_ua_play(&fx.caller, audio, sizeof(audio));
	cr_assert(test_loop_count(&fx.caller.tx_pkts, FRAMES, 2000));
	test_loop_for(100);
	cr_assert_eq(ev_count(KIND(DTMF)), 1, "%u DTMF events",
		     ev_count(KIND(DTMF)));
	e = ev_find(KIND(DTMF));
	cr_assert_eq(e->digit, '3');
	cr_assert_str_eq(e->detail, "inband");
}

static uint64_t ring_callee(uint32_t timeout_ms)
{
	char target[64];

	re_snprintf(target, sizeof(target), "sip:bob@%J",
		    &fx.callee.sip_addr);
	return cmd_ring(target, timeout_ms);
}

/* INVITE, Ring, the callee answers at once: bridged. */
static void call_bridged(void)
{
	caller_invite();
	cr_assert(wait_event(KIND(INCOMING), 2000), "no INCOMING");
	ring_callee(5000);
	cr_assert(test_loop_flag(&fx.callee.estab, 3000), "callee: no ACK");
	cr_assert(test_loop_flag(&fx.caller.estab, 3000),
		  "caller not answered");
	cr_assert(wait_event(KIND(RING_RESULT), 1000), "no RING_RESULT");
	cr_assert_eq(ev_find(KIND(RING_RESULT))->ring_result,
		     PBX__V1__MEDIA_EVENT__RING_RESULT__RING_ANSWERED);
}

static bool both_got(void *arg)
{
	unsigned n = *(unsigned *)arg;

	return fx.caller.rx.fill_pkts >= n && fx.callee.rx.fill_pkts >= n;
}

Test(mwcall, ring_bridges_the_callee_and_relays_rtp_both_ways)
{
	const struct test_router_ev *e;
	uint64_t seq;

	fx_start(&(struct fx_opts){.caller_te = true});
	fx.callee.answer_delay_ms = 400;
	caller_invite();
	cr_assert(wait_event(KIND(INCOMING), 2000));
	test_ua_rx_reset(&fx.caller, 0xff); /* count silent packets */
	seq = ring_callee(5000);

	/* The callee rings; the caller gets 183 with SDP and ringback. */
	cr_assert(test_loop_count(&fx.callee.invites, 1, 2000), "no INVITE");
	cr_assert_str_eq(fx.callee.inv_tenant, TENANT);
	cr_assert_str_eq(fx.callee.inv_dest, "extension");
	cr_assert_str_eq(fx.callee.inv_call, fx.router.callid);
	cr_assert_str_eq(fx.callee.inv_from_user, "alice");
	cr_assert(test_loop_flag(&fx.caller.estab, 3000),
		  "caller not answered");
	cr_assert(fx.caller.progress_sdp, "no 183 with SDP");
	cr_assert_geq(fx.caller.rx_before_estab, 10,
		      "ringback: %u packets before the 200",
		      fx.caller.rx_before_estab);
	/* The cadence starts with its tone: none of it is silence. */
	cr_assert_eq(fx.caller.rx.fill_pkts, 0, "%u silent packets",
		     fx.caller.rx.fill_pkts);
	cr_assert_eq(fx.caller.rx.seq_gaps, 0);
	cr_assert(wait_event(KIND(RING_RESULT), 1000));
	e = ev_find(KIND(RING_RESULT));
	cr_assert_eq(e->seq, seq);
	cr_assert_str_eq(e->reply_to, "cmd-1");
	cr_assert_eq(e->ring_result,
		     PBX__V1__MEDIA_EVENT__RING_RESULT__RING_ANSWERED);
	cr_assert_eq(e->sip_code, 200);
	/* The Ring answered the caller: ANSWERED replies to it. */
	cr_assert_eq(ev_count(KIND(ANSWERED)), 1);
	e = ev_find(KIND(ANSWERED));
	cr_assert_eq(e->seq, seq);
	cr_assert_str_eq(e->reply_to, "cmd-1");

	/* Both talk: each hears the other's bytes (both PCMU: no
	 * transcoding), on a stream without sequence gaps. */
	test_ua_rx_reset(&fx.caller, 0x22);
	test_ua_rx_reset(&fx.callee, 0x11);
	test_ua_talk(&fx.caller, 25, 0x11);
	test_ua_talk(&fx.callee, 25, 0x22);
	cr_assert(test_loop_until(both_got, &(unsigned){25}, 2000),
		  "relayed: to callee %u, to caller %u",
		  fx.callee.rx.fill_pkts, fx.caller.rx.fill_pkts);
	cr_assert_eq(fx.callee.rx.seq_gaps, 0);
	cr_assert_eq(fx.caller.rx.seq_gaps, 0);
	/* Re-stamped onto each leg's own stream, keeping the timing. */
	cr_assert_eq(fx.callee.rx.ts_jumps, 0);
	cr_assert_eq(fx.caller.rx.ts_jumps, 0);
	cr_assert_eq(fx.callee.rx.ssrc_changes, 0);
	cr_assert_eq(fx.caller.rx.ssrc_changes, 0);
	cr_assert_eq(fx.callee.rx.pt, 0);

	/* The callee hangs up: BYE to the caller, HANGUP. */
	test_ua_hangup(&fx.callee);
	cr_assert(test_loop_flag(&fx.caller.closed, 2000),
		  "caller got no BYE");
	cr_assert_eq(fx.caller.close_err, ECONNRESET);
	cr_assert(wait_event(KIND(HANGUP), 1000));
	cr_assert_str_eq(ev_find(KIND(HANGUP))->detail, "callee hung up");
	cr_assert_null(the_call());
}

Test(mwcall, hold_and_resume_keep_the_call_and_the_stream)
{
	unsigned before, during;

	fx_start(&(struct fx_opts){.caller_te = true, .prompt_len = 8000 * 3});
	call_answered();
	test_ua_rx_reset(&fx.caller, PROMPT_FILL);
	cmd_play("hello", 1, false);
	cr_assert(test_loop_count(&fx.caller.rx.pkts, 10, 2000));

	test_ua_modify(&fx.caller, SDP_SENDONLY); /* hold */
	cr_assert(test_loop_count(&fx.caller.answers, 2, 2000),
		  "no 200 to hold");
	/* a=recvonly in the answer; libre keeps the remote direction as
	 * what it allows us: send only. */
	cr_assert_eq(fx.caller.last_rdir, SDP_SENDONLY, "answer allows %s",
		     sdp_dir_name(fx.caller.last_rdir));
	test_loop_for(60); /* packets in flight */
	before = fx.caller.rx.pkts;
	test_loop_for(300);
	during = fx.caller.rx.pkts - before;
	cr_assert_eq(during, 0, "%u packets while on hold", during);

	test_ua_modify(&fx.caller, SDP_SENDRECV); /* resume */
	cr_assert(test_loop_count(&fx.caller.answers, 3, 2000),
		  "no 200 to resume");
	cr_assert_eq(fx.caller.last_rdir, SDP_SENDRECV);
	cr_assert(test_loop_count(&fx.caller.rx.pkts, before + 10, 2000),
		  "no audio after resume");
	cr_assert_eq(fx.caller.rx.seq_gaps, 0, "no sequence gap on resume");
	cr_assert_geq(fx.caller.rx.ts_jumps, 1, "ts advanced by the pause");
	cr_assert_eq(fx.caller.rx.ssrc_changes, 0);
	cr_assert_geq(fx.caller.rx.markers, 2, "marker on resume");
	cr_assert_not(fx.caller.closed);
	cr_assert_eq(ev_count(KIND(HANGUP)), 0);
	cr_assert_not_null(the_call());
}

Test(mwcall, silent_caller_is_hung_up_after_the_rtp_timeout)
{
	uint64_t cut;

	fx_start(&(struct fx_opts){.rtp_timeout_ms = 400});
	call_answered();
	/* 800 ms of audio: twice the timeout, and the call stays. */
	test_ua_talk(&fx.caller, 40, 0xff);
	cr_assert(test_loop_count(&fx.caller.tx_pkts, 40, 2000));
	cr_assert_not(fx.caller.closed, "cut while talking");
	cr_assert_eq(ev_count(KIND(HANGUP)), 0);

	/* Then silence: BYE between the timeout and two sweeps later. */
	cr_assert(test_loop_flag(&fx.caller.closed, 2000), "no BYE");
	cut = pbx_clock_mono_ms() - fx.caller.tx_last_ms;
	cr_assert_eq(fx.caller.close_err, ECONNRESET);
	cr_assert_geq(cut, 400, "cut %llu ms after the last packet",
		      (unsigned long long)cut);
	cr_assert_leq(cut, 400 + 2 * 100 + 150, "cut %llu ms after",
		      (unsigned long long)cut);
	cr_assert(wait_event(KIND(HANGUP), 1000));
	cr_assert_str_eq(ev_find(KIND(HANGUP))->detail, "rtp timeout");
	cr_assert_null(the_call());
}

Test(mwcall, cancel_before_answer_reports_caller_cancelled)
{
	fx_start(&(struct fx_opts){0});
	caller_invite();
	cr_assert(wait_event(KIND(INCOMING), 2000));
	cr_assert(test_loop_count(&fx.caller.progress_n, 1, 1000), "no 180");
	test_ua_hangup(&fx.caller); /* CANCEL */
	cr_assert(wait_event(KIND(HANGUP), 2000), "no HANGUP");
	cr_assert_str_eq(ev_find(KIND(HANGUP))->detail, "caller cancelled");
	cr_assert_null(the_call());
	cr_assert(test_loop_until(load_zero, NULL, 1000));
}

Test(mwcall, invite_without_tenant_is_refused)
{
	fx_start(&(struct fx_opts){0});
	call_worker(&fx.caller, "");
	cr_assert(test_loop_flag(&fx.caller.closed, 2000),
		  "no final response");
	cr_assert_eq(fx.caller.close_code, 403);
	test_loop_for(50);
	cr_assert_eq(ev_count(KIND(INCOMING)), 0);
}

Test(mwcall, commands_for_another_call_or_tenant_fail)
{
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Answer a = PBX__V1__MEDIA_COMMAND__ANSWER__INIT;

	fx_start(&(struct fx_opts){0});
	caller_invite();
	cr_assert(wait_event(KIND(INCOMING), 2000));
	mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_ANSWER;
	mc.answer = &a;
	cmd_send_to(&mc, TENANT, "no-such-call");
	cr_assert(test_loop_count(&fx.router.nev, 2, 1000));
	cr_assert_eq(fx.router.evs[1].kind, KIND(FAILED));
	cr_assert_str_eq(fx.router.evs[1].detail, "unknown call");
	/* Call-IDs are the caller's choice: the tenant must match too. */
	cmd_send_to(&mc, "t2", fx.router.callid);
	cr_assert(test_loop_count(&fx.router.nev, 3, 1000));
	cr_assert_eq(fx.router.evs[2].kind, KIND(FAILED));
	cr_assert_str_eq(fx.router.evs[2].detail, "tenant mismatch");
	test_loop_for(50);
	cr_assert_not(fx.caller.estab, "answered by a foreign command");
	cr_assert_eq(ev_count(KIND(ANSWERED)), 0);
}

/* The command table (worker_command.c): a command this build does not
 * know (here: none at all in the oneof) fails, and the call goes on. */
Test(mwcall, a_command_the_worker_does_not_know_fails_and_the_call_stays)
{
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;

	fx_start(&(struct fx_opts){0});
	caller_invite();
	cr_assert(wait_event(KIND(INCOMING), 2000));
	cmd_send(&mc);
	cr_assert(test_loop_count(&fx.router.nev, 2, 1000));
	cr_assert_eq(fx.router.evs[1].kind, KIND(FAILED));
	cr_assert_str_eq(fx.router.evs[1].detail, "unknown command");
	cmd_answer();
	cr_assert(wait_event(KIND(ANSWERED), 2000), "the call did not go on");
}

Test(mwcall, timer_fires_once)
{
	const struct test_router_ev *e;
	uint64_t t0;

	fx_start(&(struct fx_opts){0});
	call_answered();
	t0 = pbx_clock_mono_ms();
	cmd_timer(7, 150);
	cr_assert(wait_event(KIND(TIMER), 2000), "no TIMER");
	cr_assert_geq(pbx_clock_mono_ms() - t0, 150);
	e = ev_find(KIND(TIMER));
	cr_assert_eq(e->timer_id, 7);
	test_loop_for(200);
	cr_assert_eq(ev_count(KIND(TIMER)), 1);
}

Test(mwcall, barge_in_digit_stops_the_prompt)
{
	unsigned at_digit;

	fx_start(&(struct fx_opts){.caller_te = true, .prompt_len = 8000 * 2});
	call_answered();
	test_ua_rx_reset(&fx.caller, PROMPT_FILL);
	cmd_play("hello", 1, true);
	cr_assert(test_loop_count(&fx.caller.rx.pkts, 10, 2000));
	test_ua_send_4733(&fx.caller, 9, 2000);
	cr_assert(wait_event(KIND(DTMF), 1000), "no DTMF");
	cr_assert_eq(ev_find(KIND(DTMF))->digit, '9');
	test_loop_for(60); /* in flight */
	at_digit = fx.caller.rx.pkts;
	/* The rest of the 2 s prompt would be ~80 more packets. */
	test_loop_for(400);
	cr_assert_eq(fx.caller.rx.pkts, at_digit, "%u packets after barge-in",
		     fx.caller.rx.pkts - at_digit);
	cr_assert_lt(at_digit, 40);
	cr_assert_eq(ev_count(KIND(PLAY_DONE)), 0, "no PLAY_DONE");
}

/* Issue 8 item 7: a caller Kamailio did not authenticate as an
 * extension (a trunk, an unknown caller, or no X-Pbx-Source at all) is
 * not presented to the callee under its own From user: "alice" is no
 * number, so the callee sees "anonymous". */
static void ring_from_external(const char *source_hdr)
{
	char h[128];

	fx_start(&(struct fx_opts){0});
	re_snprintf(h, sizeof(h), "X-Pbx-Tenant: " TENANT "\r\n%s",
		    source_hdr);
	call_worker(&fx.caller, h);
	cr_assert(wait_event(KIND(INCOMING), 2000));
	ring_callee(5000);
	cr_assert(test_loop_count(&fx.callee.invites, 1, 2000), "no INVITE");
	cr_assert_str_eq(fx.callee.inv_from_user, "anonymous");
}

Test(mwcall, ring_for_an_unknown_caller_shows_no_internal_identity)
{
	ring_from_external("X-Pbx-Source: unknown\r\n");
}

Test(mwcall, ring_for_a_trunk_caller_shows_no_internal_identity)
{
	ring_from_external("X-Pbx-Source: trunk\r\n");
}

Test(mwcall, ring_without_x_pbx_source_shows_no_internal_identity)
{
	ring_from_external("");
}

Test(mwcall, ring_busy_leaves_the_caller_and_a_second_ring_bridges)
{
	const struct test_router_ev *e;

	fx_start(&(struct fx_opts){.caller_te = true});
	fx.callee.reject_code = 486;
	caller_invite();
	cr_assert(wait_event(KIND(INCOMING), 2000));
	ring_callee(5000);
	cr_assert(wait_event(KIND(RING_RESULT), 2000), "no RING_RESULT");
	e = ev_find(KIND(RING_RESULT));
	cr_assert_eq(e->ring_result,
		     PBX__V1__MEDIA_EVENT__RING_RESULT__RING_BUSY);
	cr_assert_eq(e->sip_code, 486);
	/* The caller stays as it was: ringing, with early media. */
	test_loop_for(100);
	cr_assert_not(fx.caller.closed);
	cr_assert_not(fx.caller.estab);
	cr_assert_not_null(the_call());

	fx.callee.reject_code = 0;
	ring_callee(5000);
	cr_assert(test_loop_flag(&fx.caller.estab, 3000),
		  "second ring: no 200");
	cr_assert(test_loop_count(&fx.router.nev, 4, 1000));
	cr_assert_eq(ev_count(KIND(RING_RESULT)), 2);
	cr_assert_eq(fx.router.evs[fx.router.nev - 1].ring_result,
		     PBX__V1__MEDIA_EVENT__RING_RESULT__RING_ANSWERED);
	cr_assert_eq(fx.callee.invites, 2);
}

Test(mwcall, ring_no_answer_cancels_the_callee)
{
	const struct test_router_ev *e;
	uint64_t t0;

	fx_start(&(struct fx_opts){0});
	fx.callee.answer_delay_ms = TEST_UA_NEVER;
	caller_invite();
	cr_assert(wait_event(KIND(INCOMING), 2000));
	t0 = pbx_clock_mono_ms();
	ring_callee(500);
	cr_assert(wait_event(KIND(RING_RESULT), 2000), "no RING_RESULT");
	cr_assert_geq(pbx_clock_mono_ms() - t0, 500);
	e = ev_find(KIND(RING_RESULT));
	cr_assert_eq(e->ring_result,
		     PBX__V1__MEDIA_EVENT__RING_RESULT__RING_NO_ANSWER);
	cr_assert(test_loop_flag(&fx.callee.closed, 1000),
		  "callee: no CANCEL");
	cr_assert_eq(fx.callee.close_err, ECONNRESET);
	cr_assert_not(fx.caller.closed);
	cr_assert_not_null(the_call());
}

Test(mwcall, hangup_of_a_bridged_call_sends_bye_to_both)
{
	fx_start(&(struct fx_opts){0});
	call_bridged();
	cmd_hangup(0);
	cr_assert(test_loop_flag(&fx.caller.closed, 2000), "caller: no BYE");
	cr_assert(test_loop_flag(&fx.callee.closed, 2000), "callee: no BYE");
	cr_assert_eq(fx.caller.close_err, ECONNRESET);
	cr_assert_eq(fx.callee.close_err, ECONNRESET);
	cr_assert(wait_event(KIND(ENDED), 1000));
	cr_assert_eq(ev_count(KIND(HANGUP)), 0);
	cr_assert_null(the_call());
}

Test(mwcall, caller_bye_on_a_bridged_call_ends_the_callee)
{
	fx_start(&(struct fx_opts){0});
	call_bridged();
	test_ua_hangup(&fx.caller);
	cr_assert(test_loop_flag(&fx.callee.closed, 2000), "callee: no BYE");
	cr_assert(wait_event(KIND(HANGUP), 1000));
	cr_assert_str_eq(ev_find(KIND(HANGUP))->detail, "caller hung up");
	cr_assert_null(the_call());
}

Test(mwcall, dtmf_while_bridged_is_relayed_and_only_the_callers_reported)
{
	fx_start(&(struct fx_opts){.caller_te = true});
	call_bridged();
	test_ua_rx_reset(&fx.caller, 0);
	test_ua_rx_reset(&fx.callee, 0);

	/* The caller's RFC 4733 press: reported and passed to the callee. */
	test_ua_send_4733(&fx.caller, 4, 3000);
	cr_assert(wait_event(KIND(DTMF), 1000), "no DTMF");
	cr_assert(test_loop_count(&fx.callee.rx.te_pkts, 6, 1000),
		  "callee got %u telephone-event packets",
		  fx.callee.rx.te_pkts);
	/* One event: every packet of it keeps the event's timestamp. */
	cr_assert_eq(fx.callee.rx.te_events, 1);
	/* The callee's press: to the caller, not to the router. */
	test_ua_send_4733(&fx.callee, 6, 3000);
	cr_assert(test_loop_count(&fx.caller.rx.te_pkts, 6, 1000),
		  "caller got %u telephone-event packets",
		  fx.caller.rx.te_pkts);
	cr_assert_eq(fx.caller.rx.te_events, 1);
	/* The callee's INFO: to the caller, not to the router. */
	test_ua_info(&fx.callee, "application/dtmf-relay",
		     "Signal=1\r\nDuration=160\r\n");
	cr_assert(test_loop_count(&fx.caller.infos, 1, 1000),
		  "no INFO relayed");
	cr_assert(strstr(fx.caller.info_body, "Signal=1"), "body '%s'",
		  fx.caller.info_body);
	cr_assert_eq(fx.callee.info_2xx, 1);

	/* The caller's INFO: reported and relayed as dtmf-relay. */
	test_ua_info(&fx.caller, "application/dtmf-relay",
		     "Signal=*\r\nDuration=160\r\n");
	cr_assert(test_loop_count(&fx.callee.infos, 1, 1000),
		  "no INFO relayed");
	cr_assert(strstr(fx.callee.info_body, "Signal=*"), "body '%s'",
		  fx.callee.info_body);
	test_loop_for(100);
	cr_assert_eq(ev_count(KIND(DTMF)), 2, "%u DTMF events",
		     ev_count(KIND(DTMF)));
	cr_assert_eq(fx.router.evs[fx.router.nev - 1].digit, '*');
	cr_assert_str_eq(fx.router.evs[fx.router.nev - 1].detail, "info");
}

Test(mwcall, alaw_caller_and_ulaw_callee_are_transcoded)
{
	uint8_t a = 0xd5 ^ 0x3c, u;

	mwlaw_transcode(&u, &a, 1, OFFER_ALAW, OFFER_ULAW);
	cr_assert_neq(a, u);
	fx_start(&(struct fx_opts){.caller_alaw = true});
	call_bridged();
	test_ua_rx_reset(&fx.callee, u);
	test_ua_rx_reset(&fx.caller, 0);
	test_ua_talk(&fx.caller, 20, a);
	cr_assert(test_loop_count(&fx.callee.rx.fill_pkts, 20, 2000),
		  "callee got %u transcoded of %u packets",
		  fx.callee.rx.fill_pkts, fx.callee.rx.pkts);
	cr_assert_eq(fx.callee.rx.pt, 0);
	/* And back: µ-law from the callee reaches the caller as A-law. */
	test_ua_rx_reset(&fx.caller, a);
	test_ua_talk(&fx.callee, 20, u);
	cr_assert(test_loop_count(&fx.caller.rx.fill_pkts, 20, 2000),
		  "caller got %u transcoded of %u packets",
		  fx.caller.rx.fill_pkts, fx.caller.rx.pkts);
	cr_assert_eq(fx.caller.rx.pt, 8);
}

Test(mwcall, silent_callee_is_hung_up_after_the_rtp_timeout)
{
	fx_start(&(struct fx_opts){.rtp_timeout_ms = 400});
	call_bridged();
	/* The caller talks all along; the callee never does. */
	test_ua_talk(&fx.caller, 75, 0xff);
	cr_assert(test_loop_flag(&fx.callee.closed, 2000), "callee: no BYE");
	cr_assert(test_loop_flag(&fx.caller.closed, 1000), "caller: no BYE");
	cr_assert_lt(fx.caller.tx_pkts, 75, "cut while the caller talks");
	cr_assert(wait_event(KIND(HANGUP), 1000));
	cr_assert_str_eq(ev_find(KIND(HANGUP))->detail, "callee rtp timeout");
}

Test(mwcall, play_loops_twice)
{
	fx_start(&(struct fx_opts){.prompt_len = 1600});
	call_answered();
	test_ua_rx_reset(&fx.caller, PROMPT_FILL);
	cmd_play("hello", 2, false);
	cr_assert(wait_event(KIND(PLAY_DONE), 2000));
	test_loop_for(100);
	cr_assert_eq(fx.caller.rx.fill_pkts, 20, "2 x 10 packets, got %u",
		     fx.caller.rx.fill_pkts);
	cr_assert_eq(fx.caller.rx.seq_gaps, 0);
	cr_assert_eq(fx.caller.rx.ts_jumps, 0);
	cr_assert_eq(ev_count(KIND(PLAY_DONE)), 1);
}

Test(mwcall, play_while_bridged_replaces_the_callee_then_it_resumes)
{
	unsigned before;

	fx_start(&(struct fx_opts){.prompt_len = 4000}); /* 25 packets */
	call_bridged();
	test_ua_rx_reset(&fx.caller, PROMPT_FILL);
	test_ua_talk(&fx.callee, 100, 0x22);
	cr_assert(test_loop_count(&fx.caller.rx.pkts, 10, 2000),
		  "no callee audio");
	cmd_play("hello", 1, false);
	cr_assert(wait_event(KIND(PLAY_DONE), 2000));
	before = fx.caller.rx.pkts;
	cr_assert(test_loop_count(&fx.caller.rx.pkts, before + 10, 2000),
		  "callee audio does not resume after the prompt");
	cr_assert_eq(fx.caller.rx.fill_pkts, 25, "prompt packets %u",
		     fx.caller.rx.fill_pkts);
	/* One stream for the caller: callee, prompt, callee. */
	cr_assert_eq(fx.caller.rx.seq_gaps, 0);
	cr_assert_eq(fx.caller.rx.ssrc_changes, 0, "one stream");
	cr_assert_eq(fx.caller.rx.pt_other, 0);
}

Test(mwcall, early_media_from_the_callee_reaches_the_caller)
{
	fx_start(&(struct fx_opts){0});
	fx.callee.answer_delay_ms = 700;
	fx.callee.early_pkts = 25;
	fx.callee.early_fill = 0x33;
	caller_invite();
	cr_assert(wait_event(KIND(INCOMING), 2000));
	test_ua_rx_reset(&fx.caller, 0x33);
	ring_callee(5000);
	cr_assert(test_loop_flag(&fx.caller.estab, 3000),
		  "caller not answered");
	cr_assert(fx.caller.progress_sdp, "no 183 with SDP");
	/* Ringback first, then the callee's own audio, one stream. */
	cr_assert_geq(fx.caller.rx.fill_pkts, 20, "early media: %u of %u",
		      fx.caller.rx.fill_pkts, fx.caller.rx.pkts);
	cr_assert_eq(fx.caller.rx.seq_gaps, 0);
	cr_assert_eq(fx.caller.rx.ssrc_changes, 0, "one stream");
	cr_assert(wait_event(KIND(RING_RESULT), 1000));
	cr_assert_eq(ev_find(KIND(RING_RESULT))->ring_result,
		     PBX__V1__MEDIA_EVENT__RING_RESULT__RING_ANSWERED);
}

Test(mwcall, ring_refuses_a_second_ring_and_a_bad_target)
{
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Ring r = PBX__V1__MEDIA_COMMAND__RING__INIT;

	fx_start(&(struct fx_opts){0});
	fx.callee.answer_delay_ms = 300;
	caller_invite();
	cr_assert(wait_event(KIND(INCOMING), 2000));
	r.target_uri = (char *)"tel:+4930123";
	mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_RING;
	mc.ring = &r;
	cmd_send(&mc);
	cr_assert(wait_event(KIND(FAILED), 1000));
	cr_assert_str_eq(ev_find(KIND(FAILED))->detail,
			 "ring: bad target_uri");

	ring_callee(5000);
	cr_assert(test_loop_count(&fx.callee.invites, 1, 2000));
	ring_callee(5000);
	cr_assert(test_loop_count(&fx.router.nev, 3, 1000));
	cr_assert_eq(fx.router.evs[2].kind, KIND(FAILED));
	cr_assert_str_eq(fx.router.evs[2].detail,
			 "ring: a ring is in progress");

	cr_assert(test_loop_flag(&fx.caller.estab, 3000));
	cr_assert(wait_event(KIND(RING_RESULT), 1000));
	ring_callee(5000);
	cr_assert(test_loop_count(&fx.router.nev, 6, 1000)); /* + ANSWERED */
	cr_assert_eq(fx.router.evs[5].kind, KIND(FAILED));
	cr_assert_str_eq(fx.router.evs[5].detail, "ring: already bridged");
	cr_assert_eq(fx.callee.invites, 1);
}

Test(mwcall, hangup_while_ringing_the_callee_cancels_it)
{
	fx_start(&(struct fx_opts){0});
	fx.callee.answer_delay_ms = TEST_UA_NEVER;
	caller_invite();
	cr_assert(wait_event(KIND(INCOMING), 2000));
	ring_callee(5000);
	cr_assert(test_loop_count(&fx.callee.invites, 1, 2000));
	cr_assert(test_loop_count(&fx.caller.progress_n, 2, 1000), "no 183");
	cmd_hangup(480);
	cr_assert(test_loop_flag(&fx.caller.closed, 2000), "caller: no final");
	cr_assert_eq(fx.caller.close_code, 480);
	cr_assert(test_loop_flag(&fx.callee.closed, 2000),
		  "callee: no CANCEL");
	cr_assert(wait_event(KIND(ENDED), 1000));
	cr_assert_eq(ev_find(KIND(ENDED))->sip_code, 480);
	cr_assert_eq(ev_count(KIND(RING_RESULT)), 0);
}

Test(mwcall, caller_on_hold_is_not_timed_out_until_it_resumes)
{
	uint64_t t0, cut;

	fx_start(&(struct fx_opts){.rtp_timeout_ms = 300});
	call_answered();
	test_ua_modify(&fx.caller, SDP_SENDONLY);
	cr_assert(test_loop_count(&fx.caller.answers, 2, 1000));
	/* Silent and on hold for more than twice the timeout. */
	test_loop_for(800);
	cr_assert_not(fx.caller.closed, "cut while on hold");
	cr_assert_eq(ev_count(KIND(HANGUP)), 0);
	test_ua_modify(&fx.caller, SDP_SENDRECV);
	t0 = pbx_clock_mono_ms();
	cr_assert(test_loop_count(&fx.caller.answers, 3, 1000));
	/* Resumed and still silent: the whole window, then cut. */
	cr_assert(test_loop_flag(&fx.caller.closed, 2000),
		  "not cut after resume");
	cut = pbx_clock_mono_ms() - t0;
	cr_assert_geq(cut, 290, "cut %llu ms after resume",
		      (unsigned long long)cut);
	cr_assert(wait_event(KIND(HANGUP), 1000));
	cr_assert_str_eq(ev_find(KIND(HANGUP))->detail, "rtp timeout");
}

Test(mwcall, session_refresh_does_not_restart_the_rtp_window)
{
	uint64_t t0 = pbx_clock_mono_ms(), cut;
	unsigned n = 1;

	fx_start(&(struct fx_opts){.rtp_timeout_ms = 400});
	t0 = pbx_clock_mono_ms();
	call_answered();
	/* A re-INVITE that changes nothing every 100 ms, no RTP. */
	while (!fx.caller.closed && pbx_clock_mono_ms() - t0 < 2000) {
		test_ua_modify(&fx.caller, SDP_SENDRECV);
		cr_assert(test_loop_count(&fx.caller.answers, ++n, 1000));
		test_loop_flag(&fx.caller.closed, 100);
	}
	cut = pbx_clock_mono_ms() - t0;
	cr_assert(fx.caller.closed, "refreshes kept a silent caller alive");
	cr_assert_leq(cut, 400 + 2 * 100 + 200, "cut %llu ms after the answer",
		      (unsigned long long)cut);
	cr_assert(wait_event(KIND(HANGUP), 1000));
	cr_assert_str_eq(ev_find(KIND(HANGUP))->detail, "rtp timeout");
}

Test(mwcall, callee_hold_stops_audio_to_the_callee_only)
{
	fx_start(&(struct fx_opts){0});
	call_bridged();
	test_ua_modify(&fx.callee, SDP_SENDONLY);
	cr_assert(test_loop_count(&fx.callee.answers, 1, 1000),
		  "no 200 to hold");
	cr_assert_eq(fx.callee.last_rdir, SDP_SENDONLY);
	test_ua_rx_reset(&fx.caller, 0x22);
	test_ua_rx_reset(&fx.callee, 0x11);
	test_ua_talk(&fx.caller, 20, 0x11);
	test_ua_talk(&fx.callee, 20, 0x22); /* music on hold */
	cr_assert(test_loop_count(&fx.caller.rx.fill_pkts, 20, 2000),
		  "music on hold: %u", fx.caller.rx.fill_pkts);
	test_loop_for(60);
	cr_assert_eq(fx.callee.rx.pkts, 0, "%u packets to a callee on hold",
		     fx.callee.rx.pkts);

	test_ua_modify(&fx.callee, SDP_SENDRECV);
	cr_assert(test_loop_count(&fx.callee.answers, 2, 1000),
		  "no 200 to resume");
	test_ua_talk(&fx.caller, 20, 0x11);
	cr_assert(test_loop_count(&fx.callee.rx.fill_pkts, 20, 2000),
		  "after resume: %u", fx.callee.rx.fill_pkts);
	cr_assert_not(fx.caller.closed);
	cr_assert_not(fx.callee.closed);
}

static bool stop_finished(void *arg)
{
	(void)arg;
	return fx.w->sip_exited && fx.w->grace_over;
}

Test(mwcall, stop_signal_hangs_up_every_call)
{
	fx_start(&(struct fx_opts){0});
	call_bridged();
	/* The worker reads SIGTERM from its signalfd: block it here and
	 * raise it at this thread, as a kill would reach main(). */
	cr_assert_eq(worker_signals_block(), 0);
	cr_assert_eq(raise(SIGTERM), 0);
	cr_assert(test_loop_flag(&fx.caller.closed, 2000), "caller: no BYE");
	cr_assert(test_loop_flag(&fx.callee.closed, 2000), "callee: no BYE");
	cr_assert(wait_event(KIND(ENDED), 1000));
	cr_assert_str_eq(ev_find(KIND(ENDED))->detail, "worker stopping");
	test_loop_for(50);
	cr_assert_eq(fx.router.hb_capacity, 0, "final heartbeat");
	cr_assert(fx.router.hb_draining);
	cr_assert_eq(fx.router.hb_load, 0);
	/* Both BYEs were answered: the SIP stack closed by itself and the
	 * grace period ran out, so the worker ended the loop (main() then
	 * frees it) well before the 3 s limit. */
	cr_assert(test_loop_until(stop_finished, NULL, 2000),
		  "stop did not finish");
}

Test(mwcall, invite_without_g711_is_refused_488)
{
	fx_start(&(struct fx_opts){.caller_pt = 9}); /* G.722 only */
	caller_invite();
	cr_assert(test_loop_flag(&fx.caller.closed, 2000),
		  "no final response");
	cr_assert_eq(fx.caller.close_code, 488);
	test_loop_for(50);
	cr_assert_eq(ev_count(KIND(INCOMING)), 0);
	cr_assert_eq(fx.router.hb_load, 0);
}

Test(mwcall, invite_from_outside_the_edge_is_refused_403)
{
	/* The agents send from 127.0.0.1; only 127.0.0.2 is the edge. */
	fx_start(&(struct fx_opts){.edge_addr = "127.0.0.2"});
	caller_invite();
	cr_assert(test_loop_flag(&fx.caller.closed, 2000),
		  "no final response");
	cr_assert_eq(fx.caller.close_code, 403);
	test_loop_for(50);
	cr_assert_eq(ev_count(KIND(INCOMING)), 0);
}

Test(mwcall, invite_beyond_capacity_is_refused_503)
{
	fx_start(&(struct fx_opts){.capacity = 1});
	call_answered();
	/* bob calls too: the worker is full. */
	call_worker(&fx.callee, "X-Pbx-Tenant: " TENANT "\r\n");
	cr_assert(test_loop_flag(&fx.callee.closed, 2000),
		  "no final response");
	cr_assert_eq(fx.callee.close_code, 503);
	cr_assert_eq(ev_count(KIND(INCOMING)), 1);
	cr_assert_not(fx.caller.closed);
}

static bool incoming_twice(void *arg)
{
	(void)arg;
	return ev_count(KIND(INCOMING)) == 2;
}

Test(mwcall, invite_while_the_loop_is_behind_is_refused_503_then_taken)
{
	unsigned hbs;

	fx_start(&(struct fx_opts){.overload_lag_ms = 200});
	call_answered();
	/* The loop does not run for 400 ms, as a starved worker's: the
	 * INVITE waiting meanwhile is refused at once, not answered late. */
	usleep(400 * 1000);
	call_worker(&fx.callee, "X-Pbx-Tenant: " TENANT "\r\n");
	cr_assert(test_loop_flag(&fx.callee.closed, 2000),
		  "no final response");
	cr_assert_eq(fx.callee.close_code, 503);
	cr_assert_eq(ev_count(KIND(INCOMING)), 1, "the refused call never "
						  "reached the router");
	cr_assert_not(fx.caller.closed, "the call in progress goes on");
	/* Behind, its heartbeat says full: the routers place nothing. */
	usleep(400 * 1000);
	hbs = fx.router.hbs;
	worker_heartbeat(fx.w, false);
	cr_assert(test_loop_count(&fx.router.hbs, hbs + 1, 1000),
		  "no heartbeat");
	cr_assert_eq(fx.router.hb_load, fx.router.hb_capacity);
	/* Caught up: its own load again, and a new call is taken. */
	test_loop_for(300);
	hbs = fx.router.hbs;
	worker_heartbeat(fx.w, false);
	cr_assert(test_loop_count(&fx.router.hbs, hbs + 1, 1000),
		  "no heartbeat");
	cr_assert_eq(fx.router.hb_load, 1);
	fx.callee.closed = false;
	call_worker(&fx.callee, "X-Pbx-Tenant: " TENANT "\r\n");
	cr_assert(test_loop_until(incoming_twice, NULL, 2000),
		  "the next call did not reach the router");
}

/* Draining: a new call gets 503, the call in progress hears its prompt. */
static void new_call_refused_old_goes_on(void)
{
	call_worker(&fx.callee, "X-Pbx-Tenant: " TENANT "\r\n");
	cr_assert(test_loop_flag(&fx.callee.closed, 2000),
		  "no final response");
	cr_assert_eq(fx.callee.close_code, 503);
	test_ua_rx_reset(&fx.caller, PROMPT_FILL);
	cmd_play("hello", 1, false);
	cr_assert(wait_event(KIND(PLAY_DONE), 2000));
	test_loop_for(60);
	cr_assert_eq(fx.caller.rx.fill_pkts, 10);
	cr_assert_not(fx.caller.closed);
}

Test(mwcall, drain_signal_refuses_new_calls_and_keeps_the_old)
{
	fx_start(&(struct fx_opts){.prompt_len = 1600});
	call_answered();
	cr_assert_eq(worker_signals_block(), 0);
	cr_assert_eq(raise(SIGUSR1), 0);
	cr_assert(test_loop_flag(&fx.router.hb_draining, 1000),
		  "no draining heartbeat");
	cr_assert_eq(fx.router.hb_capacity, 10);
	new_call_refused_old_goes_on();
}

/* This worker's field of hash key, "" when it has none. */
static void redis_hget(struct redis_fixture *rf, char *buf, size_t size,
		       const char *key)
{
	redisReply *r = redis_fixture_cmd(rf, "HGET %s " WORKER_ID, key);

	cr_assert_not_null(r);
	snprintf(buf, size, "%s",
		 r->type == REDIS_REPLY_STRING ? r->str : "");
	freeReplyObject(r);
}

/* pbxctl worker drain --exit, as the worker sees it: its mark in Redis,
 * read with the lease renewal before a heartbeat. New calls get 503, the
 * call in progress goes on, and once it ended the worker stops by
 * itself, leaving a plain drain mark and no lease. */
Test(mwcall, operator_drain_exit_keeps_the_call_then_stops)
{
	struct redis_fixture rf = {0};
	char v[128];

	cr_assert_eq(redis_fixture_start(&rf), 0, "no redis-server");
	fx_start(&(struct fx_opts){.prompt_len = 1600,
				   .redis_port = rf.port});
	redis_hget(&rf, v, sizeof(v), "pbx:{sys}:rtp:leases");
	cr_assert(!strncmp(v, "40000 49998 ", 12), "lease '%s'", v);
	call_answered();
	cr_assert_eq(redis_fixture_ok(redis_fixture_cmd(
			     &rf, "HSET pbx:{sys}:worker:drain " WORKER_ID
				  " exit")),
		     0);
	cr_assert(test_loop_flag(&fx.router.hb_draining, 2500),
		  "no draining heartbeat");
	new_call_refused_old_goes_on();
	cr_assert_not(fx.w->stopping, "stopped with a call up");
	test_ua_hangup(&fx.caller); /* its last call ends */
	cr_assert(test_loop_until(stop_finished, NULL, 3000),
		  "did not stop after its last call");
	redis_hget(&rf, v, sizeof(v), "pbx:{sys}:worker:drain");
	cr_assert_str_eq(v, "wait", "the replacement starts drained");
	redis_hget(&rf, v, sizeof(v), "pbx:{sys}:rtp:leases");
	cr_assert_str_eq(v, "", "its ports given back");
	redis_fixture_stop(&rf);
}

/* A worker configured into the ports of a live worker does not start. */
Test(mwcall, rtp_range_of_a_live_worker_is_refused_at_start)
{
	struct redis_fixture rf = {0};

	cr_assert_eq(redis_fixture_start(&rf), 0, "no redis-server");
	cr_assert_eq(redis_fixture_ok(redis_fixture_cmd(
			     &rf, "HSET pbx:{sys}:rtp:leases other %s",
			     "49000 49100 99999999999999")),
		     0);
	fx.cfg.rtp_port_min = 40000;
	fx.cfg.rtp_port_max = 49998;
	fx.cfg.capacity = 10;
	fx.cfg.heartbeat_ms = 1000;
	fx.cfg.redis_port = rf.port;
	snprintf(fx.cfg.redis_host, sizeof(fx.cfg.redis_host), "127.0.0.1");
	snprintf(fx.cfg.worker_id, sizeof(fx.cfg.worker_id), WORKER_ID);
	snprintf(fx.cfg.rtp_ip, sizeof(fx.cfg.rtp_ip), "127.0.0.1");
	snprintf(fx.cfg.edge_addr, sizeof(fx.cfg.edge_addr), "127.0.0.1");
	snprintf(fx.cfg.sip_listen, sizeof(fx.cfg.sip_listen),
		 "127.0.0.1:%u", test_free_port());
	snprintf(fx.cfg.router_endpoints, sizeof(fx.cfg.router_endpoints),
		 "inproc://mwtest-refused");
	snprintf(fx.cfg.media_root, sizeof(fx.cfg.media_root),
		 "/nonexistent");
	cr_assert_eq(worker_alloc(&fx.w, &fx.cfg, fx.zctx), -EADDRINUSE);
	cr_assert_null(fx.w);
	redis_fixture_stop(&rf);
}

Test(mwcall, stop_play_stops_the_prompt_silently)
{
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__StopPlay sp =
		PBX__V1__MEDIA_COMMAND__STOP_PLAY__INIT;
	unsigned at_stop;

	fx_start(&(struct fx_opts){.prompt_len = 8000 * 2});
	call_answered();
	test_ua_rx_reset(&fx.caller, PROMPT_FILL);
	cmd_play("hello", 1, false);
	cr_assert(test_loop_count(&fx.caller.rx.pkts, 10, 2000));
	mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_STOP_PLAY;
	mc.stop_play = &sp;
	cmd_send(&mc);
	test_loop_for(60);
	at_stop = fx.caller.rx.pkts;
	test_loop_for(300);
	cr_assert_eq(fx.caller.rx.pkts, at_stop);
	cr_assert_lt(at_stop, 40);
	test_loop_for(100);
	cr_assert_eq(ev_count(KIND(PLAY_DONE)), 0);
	cr_assert_eq(ev_count(KIND(FAILED)), 0);
}

Test(mwcall, timers_cancel_and_are_bounded)
{
	fx_start(&(struct fx_opts){0});
	call_answered();
	cmd_timer(1, 100);
	cmd_timer(1, 0); /* cancelled */
	for (uint32_t id = 10; id < 10 + MWCALL_TIMERS_MAX; id++)
		cmd_timer(id, 5000);
	cmd_timer(99, 5000); /* one too many */
	cr_assert(wait_event(KIND(FAILED), 1000));
	cr_assert_str_eq(ev_find(KIND(FAILED))->detail,
			 "too many timers on this call");
	test_loop_for(300);
	cr_assert_eq(ev_count(KIND(TIMER)), 0, "a cancelled timer fired");
	cr_assert_eq(ev_count(KIND(FAILED)), 1);
}

Test(mwcall, ring_from_an_answered_call_stops_the_prompt_and_rings_back)
{
	unsigned prompt_pkts;

	fx_start(&(struct fx_opts){.prompt_len = 8000 * 3});
	fx.callee.answer_delay_ms = 500;
	call_answered();
	test_ua_rx_reset(&fx.caller, PROMPT_FILL);
	cmd_play("hello", 1, false);
	cr_assert(test_loop_count(&fx.caller.rx.pkts, 10, 2000));
	ring_callee(5000);
	cr_assert(test_loop_flag(&fx.callee.estab, 3000),
		  "callee not bridged");
	prompt_pkts = fx.caller.rx.fill_pkts;
	/* Ringback (not prompt) packets while the callee rang. */
	cr_assert_geq(fx.caller.rx.pkts - prompt_pkts, 15,
		      "%u ringback packets", fx.caller.rx.pkts - prompt_pkts);
	cr_assert_lt(prompt_pkts, 40, "the prompt went on");
	cr_assert_eq(fx.caller.rx.seq_gaps, 0);
	cr_assert_eq(fx.caller.rx.ssrc_changes, 0, "one stream");
	cr_assert(wait_event(KIND(RING_RESULT), 1000));
	test_loop_for(100);
	cr_assert_eq(ev_count(KIND(PLAY_DONE)), 0);
	cr_assert_eq(ev_count(KIND(ANSWERED)), 1, "answered once only");
	cr_assert_eq(fx.caller.answers, 1, "no second 200 to the caller");
}

Test(mwcall, caller_cancel_while_ringing_cancels_the_callee)
{
	fx_start(&(struct fx_opts){0});
	fx.callee.answer_delay_ms = TEST_UA_NEVER;
	caller_invite();
	cr_assert(wait_event(KIND(INCOMING), 2000));
	ring_callee(5000);
	cr_assert(test_loop_count(&fx.callee.invites, 1, 2000));
	cr_assert(test_loop_count(&fx.caller.progress_n, 2, 1000), "no 183");
	test_ua_hangup(&fx.caller); /* CANCEL */
	cr_assert(test_loop_flag(&fx.callee.closed, 2000),
		  "callee: no CANCEL");
	cr_assert(wait_event(KIND(HANGUP), 1000));
	cr_assert_str_eq(ev_find(KIND(HANGUP))->detail, "caller cancelled");
	cr_assert_eq(ev_count(KIND(RING_RESULT)), 0);
	cr_assert_null(the_call());
}

Test(mwcall, caller_hold_while_bridged_stops_audio_to_the_caller_only)
{
	fx_start(&(struct fx_opts){0});
	call_bridged();
	test_ua_modify(&fx.caller, SDP_SENDONLY);
	cr_assert(test_loop_count(&fx.caller.answers, 2, 1000),
		  "no 200 to hold");
	test_ua_rx_reset(&fx.caller, 0x22);
	test_ua_rx_reset(&fx.callee, 0x11);
	test_ua_talk(&fx.caller, 20, 0x11); /* music on hold */
	test_ua_talk(&fx.callee, 20, 0x22);
	cr_assert(test_loop_count(&fx.callee.rx.fill_pkts, 20, 2000),
		  "music on hold: %u", fx.callee.rx.fill_pkts);
	test_loop_for(60);
	cr_assert_eq(fx.caller.rx.pkts, 0, "%u packets to a caller on hold",
		     fx.caller.rx.pkts);
	test_ua_modify(&fx.caller, SDP_SENDRECV);
	cr_assert(test_loop_count(&fx.caller.answers, 3, 1000));
	test_ua_talk(&fx.callee, 20, 0x22);
	cr_assert(test_loop_count(&fx.caller.rx.fill_pkts, 20, 2000),
		  "after resume: %u", fx.caller.rx.fill_pkts);
	cr_assert_eq(fx.caller.rx.seq_gaps, 0);
	cr_assert_eq(fx.caller.rx.ssrc_changes, 0);
}

Test(mwcall, two_routers_share_calls_and_events_follow_the_commander)
{
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Answer a = PBX__V1__MEDIA_COMMAND__ANSWER__INIT;
	struct test_router *r1 = &fx.router, *r2 = &fx.router2;
	char call1[128];

	fx_start(&(struct fx_opts){.two_routers = true});
	cr_assert_geq(r2->hbs, 1, "every router gets the heartbeat");
	/* New calls round-robin: alice's to router 1, bob's to router 2. */
	caller_invite();
	cr_assert(test_loop_count(&r1->nev, 1, 2000), "router 1: no INCOMING");
	snprintf(call1, sizeof(call1), "%s", r1->evs[0].callid);
	call_worker(&fx.callee, "X-Pbx-Tenant: " TENANT "\r\n");
	cr_assert(test_loop_count(&r2->nev, 1, 2000), "router 2: no INCOMING");
	cr_assert_eq(r2->evs[0].kind, KIND(INCOMING));
	cr_assert_str_neq(r2->evs[0].callid, call1);
	cr_assert_eq(r1->nev, 1);

	/* Router 2 answers alice's call: the event goes to router 2. */
	mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_ANSWER;
	mc.answer = &a;
	cmd_send_via(r2, &mc, TENANT, call1);
	cr_assert(test_loop_flag(&fx.caller.estab, 2000), "alice: no 200");
	cr_assert(test_loop_count(&r2->nev, 2, 1000));
	cr_assert_eq(r2->evs[1].kind, KIND(ANSWERED));
	cr_assert_str_eq(r2->evs[1].callid, call1);
	/* And so does her hangup later. */
	test_ua_hangup(&fx.caller);
	cr_assert(test_loop_count(&r2->nev, 3, 2000));
	cr_assert_eq(r2->evs[2].kind, KIND(HANGUP));
	cr_assert_str_eq(r2->evs[2].callid, call1);
	cr_assert_eq(r1->nev, 1, "router 1 hears nothing more");
	cr_assert_not(fx.callee.closed, "bob's call is untouched");
}

Test(mwcall, callee_without_telephone_event_gets_no_rfc4733)
{
	fx_start(&(struct fx_opts){.caller_te = true, .callee_no_te = true});
	call_bridged();
	test_ua_rx_reset(&fx.callee, 0x11);
	test_ua_send_4733(&fx.caller, 2, 3000);
	test_ua_talk(&fx.caller, 10, 0x11);
	cr_assert(test_loop_count(&fx.callee.rx.fill_pkts, 10, 2000));
	cr_assert_eq(fx.callee.rx.te_pkts, 0);
	cr_assert_eq(fx.callee.rx.pt_other, 0);
	/* The digit is still the caller's: reported. */
	cr_assert(wait_event(KIND(DTMF), 1000));
	cr_assert_eq(ev_find(KIND(DTMF))->digit, '2');
}

static bool info_answered(void *arg)
{
	(void)arg;
	return fx.caller.info_code != 0;
}

Test(mwcall, info_that_is_not_dtmf_is_refused_without_an_event)
{
	fx_start(&(struct fx_opts){0});
	call_answered();
	test_ua_info(&fx.caller, "text/plain", "hello");
	cr_assert(test_loop_until(info_answered, NULL, 1000));
	cr_assert_eq(fx.caller.info_code, 415);
	test_ua_info(&fx.caller, "application/dtmf-relay", "Duration=160\r\n");
	cr_assert(test_loop_until(info_answered, NULL, 1000));
	cr_assert_eq(fx.caller.info_code, 400);
	test_ua_info(&fx.caller, "application/dtmf", "11");
	cr_assert(test_loop_until(info_answered, NULL, 1000));
	cr_assert_eq(fx.caller.info_code, 200);
	cr_assert(wait_event(KIND(DTMF), 1000));
	test_loop_for(50);
	cr_assert_eq(ev_count(KIND(DTMF)), 1);
	cr_assert_eq(ev_find(KIND(DTMF))->digit, '#');
	cr_assert_not(fx.caller.closed);
}

Test(mwcall, play_to_an_alaw_caller_is_alaw)
{
	fx_start(&(struct fx_opts){.caller_alaw = true, .prompt_len = 1600});
	call_answered();
	test_ua_rx_reset(&fx.caller, PROMPT_FILL);
	cmd_play("hello", 1, false);
	cr_assert(wait_event(KIND(PLAY_DONE), 2000));
	test_loop_for(60);
	cr_assert_eq(fx.caller.rx.fill_pkts, 10);
	cr_assert_eq(fx.caller.rx.pt, 8, "PCMA");
	cr_assert_eq(fx.caller.rx.pt_other, 0);
}

Test(mwcall, caller_bye_during_a_prompt_frees_the_call)
{
	fx_start(&(struct fx_opts){.prompt_len = 8000 * 3});
	call_answered();
	cmd_play("hello", 1, false);
	cr_assert(test_loop_count(&fx.caller.rx.pkts, 5, 2000));
	test_ua_hangup(&fx.caller);
	cr_assert(wait_event(KIND(HANGUP), 2000));
	cr_assert_null(the_call());
	/* The pacer must not tick a freed call. */
	test_loop_for(200);
	cr_assert_eq(ev_count(KIND(PLAY_DONE)), 0);
}

Test(mwcall, a_prompt_does_not_keep_a_silent_caller_alive)
{
	fx_start(&(struct fx_opts){.rtp_timeout_ms = 300,
				   .prompt_len = 8000 * 3});
	call_answered();
	cmd_play("hello", 1, false);
	cr_assert(test_loop_flag(&fx.caller.closed, 2000), "not cut");
	cr_assert_eq(fx.caller.close_err, ECONNRESET);
	cr_assert(wait_event(KIND(HANGUP), 1000));
	cr_assert_str_eq(ev_find(KIND(HANGUP))->detail, "rtp timeout");
	cr_assert_lt(fx.caller.rx.pkts, 150, "cut before the prompt ended");
	test_loop_for(100);
	cr_assert_eq(ev_count(KIND(PLAY_DONE)), 0);
}

static bool heard_again(void *arg)
{
	(void)arg;
	return fx.router.hbs > 0;
}

Test(mwcall, calls_go_on_while_the_router_is_away)
{
	char ep[sizeof(fx.cfg.router_endpoints)];

	fx_start(&(struct fx_opts){.router_tcp = true, .prompt_len = 1600});
	snprintf(ep, sizeof(ep), "%s", fx.cfg.router_endpoints);
	call_answered();
	/* The router goes away: the caller's hangup cannot be reported,
	 * and must not hurt. */
	test_router_close(&fx.router);
	test_ua_hangup(&fx.caller);
	test_loop_for(300);
	cr_assert_null(the_call(), "the call is freed all the same");
	/* It comes back on the same endpoint: heartbeats are retried, so it
	 * hears from the worker again soon, with the load as it is now. */
	memset(&fx.router, 0, sizeof(fx.router));
	test_router_open(&fx.router, fx.zctx, ep);
	cr_assert(test_loop_until(heard_again, NULL, 4000),
		  "no heartbeat after the router came back");
	cr_assert_eq(fx.router.hb_load, 0);
	cr_assert_eq(fx.router.nev, 0, "outage events are not replayed");
}

/* ---- raw SIP: requests no libre user agent would send ---- */

struct raw {
	int fd;
	char buf[2048];
	ssize_t n;
};

static bool raw_got(void *arg)
{
	struct raw *r = arg;

	if (r->n <= 0)
		r->n = recv(r->fd, r->buf, sizeof(r->buf) - 1, MSG_DONTWAIT);
	return r->n > 0;
}

/* The status line of the response raw_request() returned. */
static char raw_status[128];

/* Sends one request (fmt gets: our port, the worker's port, the Call-ID)
 * over UDP from 127.0.0.1 and returns the status code of the first
 * response other than 100 Trying, 0 if none came within a second. */
static int raw_request(const char *fmt, const char *callid)
{
	struct sockaddr_in a = {.sin_family = AF_INET}, w = a;
	socklen_t al = sizeof(a);
	unsigned wport = (unsigned)atoi(strrchr(fx.cfg.sip_listen, ':') + 1);
	struct raw r = {.fd = socket(AF_INET, SOCK_DGRAM, 0)};
	char req[1024];
	int code = 0, len;

	cr_assert_geq(r.fd, 0);
	raw_status[0] = '\0';
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(r.fd, (void *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(r.fd, (void *)&a, &al), 0);
	len = snprintf(req, sizeof(req), fmt, ntohs(a.sin_port), wport,
		       callid, ntohs(a.sin_port));
	cr_assert(len > 0 && (size_t)len < sizeof(req));
	w.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	w.sin_port = htons((uint16_t)wport);
	cr_assert_eq(sendto(r.fd, req, (size_t)len, 0, (void *)&w, sizeof(w)),
		     len);
	while (test_loop_until(raw_got, &r, 1000)) {
		r.buf[r.n] = '\0';
		if (sscanf(r.buf, "SIP/2.0 %d", &code) == 1 && code > 100) {
			snprintf(raw_status, sizeof(raw_status), "%.*s",
				 (int)strcspn(r.buf, "\r\n"), r.buf);
			break;
		}
		code = 0;
		r.n = 0;
	}
	close(r.fd);
	return code;
}

/* %1$u our port, %2$u the worker's, %3$s Call-ID. */
#define RAW_INVITE                                                            \
	"INVITE sip:100@127.0.0.1:%2$u SIP/2.0\r\n"                           \
	"Via: SIP/2.0/UDP 127.0.0.1:%1$u;branch=z9hG4bKraw%1$u;rport\r\n"     \
	"Max-Forwards: 70\r\n"                                                \
	"From: <sip:mallory@127.0.0.1>;tag=raw%1$u\r\n"                       \
	"To: <sip:100@127.0.0.1>\r\n"                                         \
	"Call-ID: %3$s\r\n"                                                   \
	"CSeq: 1 INVITE\r\n"                                                  \
	"Contact: <sip:mallory@127.0.0.1:%1$u>\r\n"                           \
	"X-Pbx-Tenant: " TENANT "\r\n"                                        \
	"Content-Type: application/sdp\r\n"                                   \
	"Content-Length: 88\r\n"                                              \
	"\r\n"                                                                \
	"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"    \
	"t=0 0\r\nm=audio 50000 RTP/AVP 0\r\n"

#define RAW_OPTIONS                                                           \
	"OPTIONS sip:127.0.0.1:%2$u SIP/2.0\r\n"                              \
	"Via: SIP/2.0/UDP 127.0.0.1:%1$u;branch=z9hG4bKopt%1$u;rport\r\n"     \
	"Max-Forwards: 70\r\n"                                                \
	"From: <sip:probe@127.0.0.1>;tag=opt%1$u\r\n"                         \
	"To: <sip:127.0.0.1:%2$u>\r\n"                                        \
	"Call-ID: %3$s\r\n"                                                   \
	"CSeq: 1 OPTIONS\r\n"                                                 \
	"Content-Length: 0\r\n\r\n"

Test(mwcall, invite_with_the_call_id_of_a_live_call_is_refused_482)
{
	fx_start(&(struct fx_opts){0});
	call_answered();
	cr_assert_eq(raw_request(RAW_INVITE, fx.router.callid), 482);
	cr_assert_eq(ev_count(KIND(INCOMING)), 1);
	cr_assert_not(fx.caller.closed, "the live call is untouched");
	/* The same request with a fresh Call-ID is a call: 180. */
	cr_assert_eq(raw_request(RAW_INVITE, "fresh-call-id"), 180);
	cr_assert(test_loop_count(&fx.router.nev, 3, 1000));
	cr_assert_eq(ev_count(KIND(INCOMING)), 2);
}

Test(mwcall, options_probe_is_answered_and_503_while_draining)
{
	fx_start(&(struct fx_opts){0});
	cr_assert_eq(raw_request(RAW_OPTIONS, "probe-1"), 200);
	cr_assert_eq(worker_signals_block(), 0);
	cr_assert_eq(raise(SIGUSR1), 0);
	cr_assert(test_loop_flag(&fx.router.hb_draining, 1000));
	cr_assert_eq(raw_request(RAW_OPTIONS, "probe-2"), 503);
}

/* An INVITE from 127.0.0.1 with the given headers and SDP body (NULL:
 * none); returns the first status code other than 100. */
static int raw_invite(const char *hdrs, const char *sdp)
{
	static unsigned count;
	char fmt[1536], callid[32];
	size_t n = sdp ? strlen(sdp) : 0;

	snprintf(fmt, sizeof(fmt),
		 "INVITE sip:100@127.0.0.1:%%2$u SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 127.0.0.1:%%1$u;branch=z9hG4bKi%%1$u\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:mallory@127.0.0.1>;tag=raw%%1$u\r\n"
		 "To: <sip:100@127.0.0.1>\r\n"
		 "Call-ID: %%3$s\r\n"
		 "CSeq: 1 INVITE\r\n"
		 "Contact: <sip:mallory@127.0.0.1:%%1$u>\r\n"
		 "%s%s"
		 "Content-Length: %zu\r\n\r\n%s",
		 hdrs, n ? "Content-Type: application/sdp\r\n" : "", n,
		 sdp ? sdp : "");
	snprintf(callid, sizeof(callid), "raw-invite-%u", ++count);
	return raw_request(fmt, callid);
}

#define SDP_HEAD                                                              \
	"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"    \
	"t=0 0\r\n"

Test(mwcall, invites_the_worker_cannot_take_are_refused)
{
	const char *tenant = "X-Pbx-Tenant: " TENANT "\r\n";
	char longer[100], hdr[128];

	fx_start(&(struct fx_opts){0});
	/* No offer: late offer is not supported. */
	cr_assert_eq(raw_invite(tenant, NULL), 488);
	/* No G.711 in the offer, or the audio stream disabled. */
	cr_assert_eq(raw_invite(tenant, SDP_HEAD "m=audio 50000 RTP/AVP 9\r\n"
					"a=rtpmap:9 G722/8000\r\n"),
		     488);
	cr_assert_eq(raw_invite(tenant, SDP_HEAD "m=audio 0 RTP/AVP 0\r\n"),
		     488);
	/* An SDP libre cannot decode. */
	cr_assert_eq(raw_invite(tenant, "garbage"), 400);
	cr_assert_eq(raw_invite(tenant, "v=0\r\nm=\r\n"), 400);
	/* Tenants that are not ids, or the system's. */
	cr_assert_eq(raw_invite("X-Pbx-Tenant: sys\r\n",
				SDP_HEAD "m=audio 50000 RTP/AVP 0\r\n"),
		     403);
	cr_assert_eq(raw_invite("X-Pbx-Tenant: a b\r\n",
				SDP_HEAD "m=audio 50000 RTP/AVP 0\r\n"),
		     403);
	/* Longer than an id: refused, not cut down to a valid one. */
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	snprintf(hdr, sizeof(hdr), "X-Pbx-Tenant: %s\r\n", longer);
	cr_assert_eq(
		raw_invite(hdr, SDP_HEAD "m=audio 50000 RTP/AVP 0\r\n"), 403);
	test_loop_for(50);
	cr_assert_eq(ev_count(KIND(INCOMING)), 0);
	cr_assert_eq(fx.router.hb_load, 0);
	/* And a good one after all that is a call. */
	cr_assert_eq(
		raw_invite(tenant, SDP_HEAD "m=audio 50000 RTP/AVP 8 0\r\n"),
		180);
	cr_assert(wait_event(KIND(INCOMING), 1000));
}

Test(mwcall, invite_over_tcp_is_a_call)
{
	struct sockaddr_in w = {.sin_family = AF_INET};
	struct raw r = {.fd = socket(AF_INET, SOCK_STREAM, 0)};
	const char *body = SDP_HEAD "m=audio 50000 RTP/AVP 0\r\n";
	char req[1024];
	int len, code = 0;

	fx_start(&(struct fx_opts){0});
	cr_assert_geq(r.fd, 0);
	w.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	w.sin_port =
		htons((uint16_t)atoi(strrchr(fx.cfg.sip_listen, ':') + 1));
	cr_assert_eq(connect(r.fd, (void *)&w, sizeof(w)), 0);
	len = snprintf(req, sizeof(req),
		       "INVITE sip:100@127.0.0.1;transport=tcp SIP/2.0\r\n"
		       "Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKtcp1\r\n"
		       "Max-Forwards: 70\r\n"
		       "From: <sip:mallory@127.0.0.1>;tag=tcp1\r\n"
		       "To: <sip:100@127.0.0.1>\r\n"
		       "Call-ID: tcp-call-1\r\n"
		       "CSeq: 1 INVITE\r\n"
		       "Contact: <sip:mallory@127.0.0.1:9;transport=tcp>\r\n"
		       "X-Pbx-Tenant: " TENANT "\r\n"
		       "Content-Type: application/sdp\r\n"
		       "Content-Length: %zu\r\n\r\n%s",
		       strlen(body), body);
	cr_assert_eq(send(r.fd, req, (size_t)len, 0), len);
	/* Responses come back on the connection; 100 and 180 may share a
	 * read. */
	while (!strstr(r.buf, "SIP/2.0 180") &&
	       test_loop_until(raw_got, &r, 1000)) {
		r.buf[r.n] = '\0';
		if (strstr(r.buf, "SIP/2.0 180"))
			code = 180;
		r.n = 0;
	}
	close(r.fd);
	cr_assert_eq(code, 180);
	cr_assert(wait_event(KIND(INCOMING), 1000));
	cr_assert_str_eq(fx.router.callid, "tcp-call-1");
}

/* An even UDP port free now on 127.0.0.1. */
static uint16_t free_even_port(void)
{
	for (int i = 0; i < 100; i++) {
		uint16_t p = test_free_port();

		if (p && !(p & 1) && p < 65000)
			return p;
	}
	return 0;
}

Test(mwcall, no_free_rtp_port_refuses_the_call_and_the_ring)
{
	uint16_t p = free_even_port();
	const struct test_router_ev *e;

	cr_assert_neq(p, 0);
	fx_start(&(struct fx_opts){.rtp_port = p, .rtp_ports = 2});
	call_answered(); /* takes the only port */
	call_worker(&fx.callee, "X-Pbx-Tenant: " TENANT "\r\n");
	cr_assert(test_loop_flag(&fx.callee.closed, 2000), "no final");
	cr_assert_eq(fx.callee.close_code, 500);
	/* A ring needs a second port too. */
	ring_callee(5000);
	cr_assert(wait_event(KIND(FAILED), 1000));
	e = ev_find(KIND(FAILED));
	cr_assert_str_eq(e->detail, "ring: no RTP port");
	cr_assert_not(fx.caller.closed);
	cr_assert_eq(fx.callee.invites, 0);
}

Test(mwcall, a_single_rtp_port_is_refused_at_start)
{
	struct mw_config cfg;
	char *argv[] = {"media-worker", "--set", "rtp_port_min=30000",
			"--set", "rtp_port_max=30000", NULL};

	/* libre's rtp_listen() refuses min == max (EINVAL): such a worker
	 * would answer every INVITE with 500. */
	cr_assert_eq(mw_config_load(&cfg, 5, argv), -EINVAL);
	argv[4] = "rtp_port_max=30001";
	cr_assert_eq(mw_config_load(&cfg, 5, argv), 0);
}

Test(mwcall, codec_change_by_reinvite_is_absorbed_by_transcoding)
{
	uint8_t a = 0xd5 ^ 0x3c, u;

	mwlaw_transcode(&u, &a, 1, OFFER_ALAW, OFFER_ULAW);
	fx_start(&(struct fx_opts){0});
	call_bridged();
	/* The callee moves to A-law; the caller stays on µ-law. */
	test_ua_formats(&fx.callee, 8, true);
	test_ua_modify(&fx.callee, SDP_SENDRECV);
	cr_assert(test_loop_count(&fx.callee.answers, 1, 1000),
		  "no 200 to the re-INVITE");
	test_ua_rx_reset(&fx.callee, a);
	test_ua_rx_reset(&fx.caller, u);
	test_ua_talk(&fx.caller, 20, u);
	test_ua_talk(&fx.callee, 20, a);
	cr_assert(test_loop_count(&fx.callee.rx.fill_pkts, 20, 2000),
		  "callee: %u A-law of %u", fx.callee.rx.fill_pkts,
		  fx.callee.rx.pkts);
	cr_assert(test_loop_count(&fx.caller.rx.fill_pkts, 20, 2000),
		  "caller: %u µ-law of %u", fx.caller.rx.fill_pkts,
		  fx.caller.rx.pkts);
	cr_assert_eq(fx.callee.rx.pt, 8);
	cr_assert_eq(fx.caller.rx.pt, 0);
	cr_assert_eq(fx.caller.answers, 1, "the caller is not re-INVITEd");
}

Test(mwcall, caller_dropping_telephone_event_gets_inband_detection)
{
	dtmf_tx_state_t *tx = dtmf_tx_init(NULL);
	enum { FRAMES = 30 };
	static uint8_t audio[FRAMES * TEST_UA_PKT];
	int16_t amp[TEST_UA_PKT];

	cr_assert_not_null(tx);
	fx_start(&(struct fx_opts){.caller_te = true});
	call_answered();
	test_ua_formats(&fx.caller, 0, false);
	test_ua_modify(&fx.caller, SDP_SENDRECV);
	cr_assert(test_loop_count(&fx.caller.answers, 2, 1000));
	dtmf_tx_set_level(tx, -10, 0);
	dtmf_tx_put(tx, "8", -1);
	for (size_t f = 0; f < FRAMES; f++) {
		int n = dtmf_tx(tx, amp, TEST_UA_PKT);

		for (int i = n < 0 ? 0 : n; i < TEST_UA_PKT; i++)
			amp[i] = 0;
		for (int i = 0; i < TEST_UA_PKT; i++)
			audio[f * TEST_UA_PKT + (size_t)i] =
				mwlaw_encode(amp[i], OFFER_ULAW);
	}
	dtmf_tx_free(tx);
	test_ua_play(&fx.caller, audio, sizeof(audio));
	cr_assert(wait_event(KIND(DTMF), 2000), "no in-band digit");
	cr_assert_eq(ev_find(KIND(DTMF))->digit, '8');
	cr_assert_str_eq(ev_find(KIND(DTMF))->detail, "inband");
}

/* The caller's connection address (c=) in its next offers. */
static void caller_set_addr(const char *ip)
{
	struct sa sa;

	cr_assert_eq(sa_set_str(&sa, ip, 0), 0);
	sdp_session_set_laddr(fx.caller.sdp, &sa);
}

Test(mwcall, old_style_hold_c0_stops_audio_and_the_rtp_timeout)
{
	unsigned before;

	fx_start(&(struct fx_opts){.rtp_timeout_ms = 300,
				   .prompt_len = 8000 * 3});
	call_answered();
	test_ua_rx_reset(&fx.caller, PROMPT_FILL);
	cmd_play("hello", 1, false);
	cr_assert(test_loop_count(&fx.caller.rx.pkts, 5, 2000));
	/* RFC 2543 hold: c=0.0.0.0, still a=sendrecv. */
	caller_set_addr("0.0.0.0");
	test_ua_modify(&fx.caller, SDP_SENDRECV);
	cr_assert(test_loop_count(&fx.caller.answers, 2, 1000));
	test_loop_for(60);
	before = fx.caller.rx.pkts;
	/* Silent for more than twice the timeout: not cut, nothing sent. */
	test_loop_for(800);
	cr_assert_eq(fx.caller.rx.pkts, before, "%u packets on hold",
		     fx.caller.rx.pkts - before);
	cr_assert_not(fx.caller.closed, "cut while on hold");
	/* Back: audio again, and the silent caller is cut after all. */
	caller_set_addr("127.0.0.1");
	test_ua_modify(&fx.caller, SDP_SENDRECV);
	cr_assert(test_loop_count(&fx.caller.answers, 3, 1000));
	cr_assert(test_loop_count(&fx.caller.rx.pkts, before + 5, 1000),
		  "no audio after resume");
	cr_assert_eq(fx.caller.rx.seq_gaps, 0);
	cr_assert(test_loop_flag(&fx.caller.closed, 2000), "not cut");
	cr_assert(wait_event(KIND(HANGUP), 1000));
	cr_assert_str_eq(ev_find(KIND(HANGUP))->detail, "rtp timeout");
}

Test(mwcall, prompt_clock_runs_on_hold_and_play_done_comes_on_time)
{
	uint64_t t0, took;

	fx_start(&(struct fx_opts){.prompt_len = 8000}); /* 1 s */
	call_answered();
	test_ua_modify(&fx.caller, SDP_SENDONLY);
	cr_assert(test_loop_count(&fx.caller.answers, 2, 1000));
	test_ua_rx_reset(&fx.caller, PROMPT_FILL);
	t0 = pbx_clock_mono_ms();
	cmd_play("hello", 1, false);
	cr_assert(wait_event(KIND(PLAY_DONE), 3000), "no PLAY_DONE");
	took = pbx_clock_mono_ms() - t0;
	cr_assert_geq(took, 900, "PLAY_DONE after %llu ms",
		      (unsigned long long)took);
	cr_assert_leq(took, 1300, "PLAY_DONE after %llu ms",
		      (unsigned long long)took);
	cr_assert_eq(fx.caller.rx.pkts, 0, "%u packets to a held caller",
		     fx.caller.rx.pkts);
}

Test(mwcall, refused_reinvite_keeps_the_call_and_its_codec)
{
	fx_start(&(struct fx_opts){.prompt_len = 1600});
	call_answered();
	/* A re-offer without G.711: refused, the call stays as it was. */
	test_ua_formats(&fx.caller, 9, false);
	test_ua_modify(&fx.caller, SDP_SENDRECV);
	test_loop_for(300); /* 488 */
	cr_assert_eq(fx.caller.answers, 1, "the re-INVITE was accepted");
	cr_assert_not(fx.caller.closed, "the call ended");
	cr_assert_eq(ev_count(KIND(HANGUP)), 0);
	test_ua_rx_reset(&fx.caller, PROMPT_FILL);
	cmd_play("hello", 1, false);
	cr_assert(wait_event(KIND(PLAY_DONE), 2000));
	test_loop_for(60);
	cr_assert_eq(fx.caller.rx.fill_pkts, 10);
	cr_assert_eq(fx.caller.rx.pt, 0, "still PCMU");
}

/* ---- RTP from strangers (latching) ---- */

enum { SPRAY_FILL = 0x77 };

/* What a blind attacker does: from src_ip, to every port of the worker's
 * RTP range, an RFC 4733 key press ('1', type 101 as the caller agreed:
 * three updates and three ends with one timestamp) and `run` audio
 * packets of SPRAY_FILL (PCMU) with one SSRC per port. Returns the
 * packets sent. */
static unsigned spray(const char *src_ip, unsigned run)
{
	struct sockaddr_in a = {.sin_family = AF_INET}, d = a;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	unsigned sent = 0;
	uint8_t pkt[12 + TEST_UA_PKT];

	cr_assert_geq(fd, 0);
	cr_assert_eq(inet_pton(AF_INET, src_ip, &a.sin_addr), 1);
	cr_assert_eq(bind(fd, (void *)&a, sizeof(a)), 0, "bind %s", src_ip);
	d.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (long port = fx.cfg.rtp_port_min; port <= fx.cfg.rtp_port_max;
	     port++) {
		uint32_t ssrc = 0x5a000000u | (uint32_t)port;

		d.sin_port = htons((uint16_t)port);
		for (unsigned i = 0; i < 6 + run; i++) {
			bool te = i < 6;
			struct mw_rtp_hdr h = {
				.marker = i == 0,
				.pt = te ? TEST_UA_TE_PT : 0,
				.seq = (uint16_t)i,
				.ts = te ? 4000 : 8000 + i * TEST_UA_PKT,
				.ssrc = ssrc,
			};
			size_t len = 12;

			mw_rtp_encode(pkt, &h);
			if (te) {
				uint16_t dur = (uint16_t)(160 * (i + 1));

				pkt[12] = 1; /* '1' */
				pkt[13] = (uint8_t)((i >= 3 ? 0x80 : 0) | 10);
				pkt[14] = (uint8_t)(dur >> 8);
				pkt[15] = (uint8_t)dur;
				len += 4;
			} else {
				memset(pkt + 12, SPRAY_FILL, TEST_UA_PKT);
				len += TEST_UA_PKT;
			}
			if (sendto(fd, pkt, len, 0, (void *)&d, sizeof(d)) ==
			    (ssize_t)len)
				sent++;
		}
	}
	close(fd);
	return sent;
}

Test(mwcall, rtp_and_dtmf_sprayed_at_every_port_are_dropped)
{
	struct worker_call *wc;
	unsigned sent;

	/* A range of 200 ports, all of which the spray hits (the default
	 * 10000 would make each spray take seconds under ASan), above the
	 * kernel's ephemeral ports (32768-60999) and test_port.h's range so
	 * that no other test's port lands in it. */
	fx_start(&(struct fx_opts){
		.caller_te = true, .rtp_port = 61000, .rtp_ports = 200});
	/* The caller is answered but silent: nothing latched yet. A spray
	 * from another host (127.0.0.9), long runs per port included. */
	call_answered();
	sent = spray("127.0.0.9", 10);
	cr_assert_gt(sent, 0);
	test_loop_for(200);
	wc = the_call();
	cr_assert_not_null(wc);
	cr_assert_eq(ev_count(KIND(DTMF)), 0, "%u digits injected",
		     ev_count(KIND(DTMF)));
	cr_assert_eq(wc->call->leg.rx_pkts, 0, "%llu packets taken",
		     (unsigned long long)wc->call->leg.rx_pkts);
	cr_assert_geq(wc->call->leg.latch.dropped, 16);
	cr_assert_not(wc->call->leg.latch.latched);

	/* Bridged and talking both ways: the legs latch to the agents. A
	 * spray from another host and one from the agents' own host (other
	 * ports) while they talk reach neither side nor the router. */
	ring_callee(5000);
	cr_assert(test_loop_flag(&fx.callee.estab, 3000), "callee: no ACK");
	test_ua_rx_reset(&fx.callee, SPRAY_FILL);
	test_ua_rx_reset(&fx.caller, SPRAY_FILL);
	test_ua_talk(&fx.caller, 40, 0x11);
	test_ua_talk(&fx.callee, 40, 0x22);
	test_loop_for(200);
	spray("127.0.0.9", 10);
	test_loop_for(100);
	spray("127.0.0.1", 10);
	cr_assert(test_loop_count(&fx.callee.rx.pkts, 38, 2000),
		  "callee heard %u packets", fx.callee.rx.pkts);
	cr_assert(test_loop_count(&fx.caller.tx_pkts, 40, 2000));
	test_loop_for(100);
	cr_assert_eq(fx.callee.rx.fill_pkts, 0, "%u injected frames relayed",
		     fx.callee.rx.fill_pkts);
	cr_assert_eq(fx.callee.rx.te_pkts, 0, "%u injected events relayed",
		     fx.callee.rx.te_pkts);
	cr_assert_eq(fx.caller.rx.fill_pkts, 0);
	cr_assert_eq(fx.caller.rx.te_pkts, 0);
	cr_assert_eq(ev_count(KIND(DTMF)), 0, "%u digits injected",
		     ev_count(KIND(DTMF)));
	wc = the_call();
	cr_assert_not_null(wc);
	cr_assert(wc->call->leg.latch.exact);
	cr_assert(wc->call->ring->leg.latch.exact);
	cr_assert_eq(wc->call->leg.latch.latches, 1);
	cr_assert_eq(wc->call->ring->leg.latch.latches, 1);
	cr_assert_geq(wc->call->ring->leg.latch.dropped, 32);
	/* The call goes on: a real key press is still one digit. */
	test_ua_send_4733(&fx.caller, 5, 90000);
	cr_assert(wait_event(KIND(DTMF), 1000), "the caller's key was lost");
	cr_assert_eq(ev_find(KIND(DTMF))->digit, '5');
	cr_assert_not(fx.caller.closed);
	cr_assert_not(fx.callee.closed);
}

Test(mwcall, caller_moving_its_rtp_port_by_reinvite_keeps_working)
{
	struct rtp_sock *old;

	fx_start(&(struct fx_opts){.caller_te = true});
	call_bridged();
	test_ua_rx_reset(&fx.callee, 0x11);
	test_ua_talk(&fx.caller, 10, 0x11);
	cr_assert(test_loop_count(&fx.callee.rx.fill_pkts, 9, 2000));

	/* The caller's media moves to another port (a new socket, as after
	 * a network change) and says so in a re-INVITE. */
	old = test_ua_move_rtp(&fx.caller);
	test_ua_modify(&fx.caller, SDP_SENDRECV);
	cr_assert(test_loop_count(&fx.caller.answers, 2, 2000),
		  "no 200 to the re-INVITE");
	test_ua_rx_reset(&fx.callee, 0x33);
	test_ua_rx_reset(&fx.caller, 0x44);
	test_ua_talk(&fx.caller, 20, 0x33);
	test_ua_talk(&fx.callee, 20, 0x44);
	cr_assert(test_loop_until(both_got, &(unsigned){19}, 2000),
		  "after the move: to callee %u, to caller %u",
		  fx.callee.rx.fill_pkts, fx.caller.rx.fill_pkts);
	/* The old port is a stranger now. */
	test_ua_rx_reset(&fx.callee, 0x55);
	test_ua_send_from(&fx.caller, old, 10, 0x55);
	test_loop_for(100);
	cr_assert_eq(fx.callee.rx.fill_pkts, 0, "%u packets from the old port",
		     fx.callee.rx.fill_pkts);
	cr_assert_eq(the_call()->call->leg.latch.latches, 2);
	mem_deref(old);
	cr_assert_not(fx.caller.closed);
	cr_assert_eq(ev_count(KIND(HANGUP)), 0);
}

/* ---- offers with more than audio, requests libre cannot make a dialog
 * of: the reason phrase names the problem ---- */

/* raw_invite() and the reason phrase it got is `reason`. */
static void expect_refusal(const char *hdrs, const char *sdp, int code,
			   const char *reason)
{
	char want[128];

	snprintf(want, sizeof(want), "SIP/2.0 %d %s", code, reason);
	cr_assert_eq(raw_invite(hdrs, sdp), code, "got \"%s\"", raw_status);
	cr_assert_str_eq(raw_status, want);
}

Test(mwcall, refusals_name_the_real_problem)
{
	const char *tenant = "X-Pbx-Tenant: " TENANT "\r\n";
	char fmt[1024];
	const char *body = SDP_HEAD "m=audio 50000 RTP/AVP 0\r\n";

	fx_start(&(struct fx_opts){0});
	expect_refusal(tenant, NULL, 488, "No SDP Offer");
	expect_refusal(tenant,
		       SDP_HEAD "m=audio 50000 RTP/AVP 9\r\n"
				"a=rtpmap:9 G722/8000\r\n",
		       488, "No PCMU or PCMA Offered");
	expect_refusal(tenant, SDP_HEAD "m=audio 0 RTP/AVP 0\r\n", 488,
		       "No Usable Audio Line");
	expect_refusal(tenant, SDP_HEAD "m=video 5000 RTP/AVP 96\r\n", 488,
		       "No Usable Audio Line");
	expect_refusal(tenant, "garbage", 400, "Bad SDP");
	/* The audio line itself is malformed (a=rtpmap without a rate). */
	expect_refusal(tenant,
		       SDP_HEAD "m=audio 50000 RTP/AVP 0\r\n"
				"a=rtpmap:0 PCMU\r\n",
		       400, "Bad SDP Audio Line");

	/* No Contact: libre cannot make a dialog; it is not an SDP problem
	 * (it used to be answered "400 Bad SDP"). */
	snprintf(fmt, sizeof(fmt),
		 "INVITE sip:100@127.0.0.1:%%2$u SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 127.0.0.1:%%1$u;branch=z9hG4bKnc%%1$u\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:mallory@127.0.0.1>;tag=nc%%1$u\r\n"
		 "To: <sip:100@127.0.0.1>\r\n"
		 "Call-ID: %%3$s\r\n"
		 "CSeq: 1 INVITE\r\n"
		 "%s"
		 "X-Pbx-Tenant: " TENANT "\r\n"
		 "Content-Type: application/sdp\r\n"
		 "Content-Length: %zu\r\n\r\n%s",
		 "", strlen(body), body);
	cr_assert_eq(raw_request(fmt, "no-contact-1"), 400, "got \"%s\"",
		     raw_status);
	cr_assert_str_eq(raw_status, "SIP/2.0 400 Missing Contact");
	snprintf(fmt, sizeof(fmt),
		 "INVITE sip:100@127.0.0.1:%%2$u SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 127.0.0.1:%%1$u;branch=z9hG4bKbc%%1$u\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:mallory@127.0.0.1>;tag=bc%%1$u\r\n"
		 "To: <sip:100@127.0.0.1>\r\n"
		 "Call-ID: %%3$s\r\n"
		 "CSeq: 1 INVITE\r\n"
		 "%s"
		 "X-Pbx-Tenant: " TENANT "\r\n"
		 "Content-Type: application/sdp\r\n"
		 "Content-Length: %zu\r\n\r\n%s",
		 "Contact: <<<\r\n", strlen(body), body);
	cr_assert_eq(raw_request(fmt, "bad-contact-1"), 400, "got \"%s\"",
		     raw_status);
	cr_assert_str_eq(raw_status, "SIP/2.0 400 Bad Contact");
	test_loop_for(50);
	cr_assert_eq(ev_count(KIND(INCOMING)), 0);
	cr_assert_eq(fx.router.hb_load, 0);
}

Test(mwcall, malformed_video_line_does_not_fail_the_audio_call)
{
	struct sdp_media *video = NULL;
	struct sdp_format *f = NULL;

	fx_start(&(struct fx_opts){.caller_te = true, .prompt_len = 1600});
	/* The caller offers audio and video; the video line's a=rtpmap has
	 * no clock rate (libre's decoder refuses such a body whole). */
	cr_assert_eq(sdp_media_add(&video, fx.caller.sdp, "video", 50100,
				   "RTP/AVP"),
		     0);
	cr_assert_eq(sdp_format_add(&f, video, false, "96", NULL, 0, 0, NULL,
				    NULL, NULL, false, NULL),
		     0);
	cr_assert_eq(sdp_media_set_lattr(video, false, "rtpmap", "96 H264"),
		     0);
	call_answered();
	/* Audio answered, the video line refused with port 0. */
	cr_assert_eq(sdp_media_rport(fx.caller.sdpm),
		     sa_port(leg_local(&the_call()->call->leg)));
	cr_assert_eq(sdp_media_rport(video), 0, "video port %u",
		     sdp_media_rport(video));
	/* And the audio works. */
	test_ua_rx_reset(&fx.caller, PROMPT_FILL);
	cmd_play("hello", 1, false);
	cr_assert(wait_event(KIND(PLAY_DONE), 2000));
	test_loop_for(60);
	cr_assert_eq(fx.caller.rx.fill_pkts, 10);
	/* A re-INVITE with the same offer is answered too. */
	test_ua_modify(&fx.caller, SDP_SENDRECV);
	cr_assert(test_loop_count(&fx.caller.answers, 2, 2000),
		  "no 200 to the re-INVITE");
	cr_assert_not(fx.caller.closed);
}

/* ---- a queue's side: music on hold, named legs (ring_all) ---- */

static uint64_t cmd_moh(const char *prompt)
{
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Play p = PBX__V1__MEDIA_COMMAND__PLAY__INIT;

	p.prompt = (char *)prompt;
	p.moh = true;
	mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_PLAY;
	mc.play = &p;
	return cmd_send(&mc);
}

/* Rings agent `name` at ua as named leg `leg`. */
static uint64_t cmd_ring_leg(const char *leg, const struct test_ua *ua,
			     uint32_t timeout_ms)
{
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Ring r = PBX__V1__MEDIA_COMMAND__RING__INIT;
	char target[64];

	re_snprintf(target, sizeof(target), "sip:%s@%J", ua->name,
		    &ua->sip_addr);
	r.target_uri = target;
	r.timeout_ms = timeout_ms;
	r.dest_kind = (char *)"extension";
	r.leg = (char *)leg;
	mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_RING;
	mc.ring = &r;
	return cmd_send(&mc);
}

static uint64_t cmd_stop_play(void)
{
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__StopPlay sp =
		PBX__V1__MEDIA_COMMAND__STOP_PLAY__INIT;

	mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_STOP_PLAY;
	mc.stop_play = &sp;
	return cmd_send(&mc);
}

static uint64_t cmd_cancel_ring(const char *leg)
{
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__CancelRing c =
		PBX__V1__MEDIA_COMMAND__CANCEL_RING__INIT;

	c.leg = (char *)leg;
	mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_CANCEL_RING;
	mc.cancel_ring = &c;
	return cmd_send(&mc);
}

/* The RING_RESULT of named leg `leg`, or NULL. */
static const struct test_router_ev *leg_result(const char *leg)
{
	for (unsigned i = 0; i < fx.router.nev; i++) {
		const struct test_router_ev *e = &fx.router.evs[i];

		if (e->kind == KIND(RING_RESULT) && !strcmp(e->leg, leg))
			return e;
	}
	return NULL;
}

static bool have_leg_result(void *arg)
{
	return leg_result(arg) != NULL;
}

/* Two agents beside the callee, rung directly (no edge in between). */
static void queue_start(size_t prompt_len)
{
	fx_start(&(struct fx_opts){.caller_te = true,
				   .prompt_len = prompt_len});
	test_ua_open(&fx.callee2, "carol", 0, true);
	fx.w->edge_uri[0] = '\0';
	call_answered();
}

Test(mwcall, moh_loops_until_stopped_without_play_done)
{
	queue_start(1600); /* 10 packets */
	test_ua_rx_reset(&fx.caller, PROMPT_FILL);
	cmd_moh("hello");
	cr_assert(test_loop_count(&fx.caller.rx.fill_pkts, 35, 2000),
		  "music: %u packets", fx.caller.rx.fill_pkts);
	cr_assert_eq(fx.caller.rx.seq_gaps, 0);
	cr_assert_eq(fx.caller.rx.ts_jumps, 0);
	cr_assert_eq(ev_count(KIND(PLAY_DONE)), 0);
	/* A digit is reported and does not stop the music. */
	test_ua_send_4733(&fx.caller, 5, 1000);
	cr_assert(wait_event(KIND(DTMF), 1000));
	test_ua_rx_reset(&fx.caller, PROMPT_FILL);
	cr_assert(test_loop_count(&fx.caller.rx.fill_pkts, 10, 1000),
		  "music stopped by a digit");
	/* StopPlay stops it. */
	cmd_stop_play();
	test_loop_for(100);
	test_ua_rx_reset(&fx.caller, PROMPT_FILL);
	test_loop_for(200);
	cr_assert_eq(fx.caller.rx.pkts, 0);
	cr_assert_eq(ev_count(KIND(FAILED)), 0);
}

/* A queued caller (worker_queue.c): QueueHold's music, QueueAnnounce;
 * QUEUE_CB_KEY: the call-back key of the next hold. */
static const char *queue_cb_key = "";

static void cmd_queue_hold(const char *moh, const char *entry)
{
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__QueueHold h =
		PBX__V1__MEDIA_COMMAND__QUEUE_HOLD__INIT;

	h.callback_key = (char *)queue_cb_key;
	h.moh = (char *)moh;
	h.entry_prompt = (char *)entry;
	h.language = (char *)"en";
	h.announce_position = true;
	mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_QUEUE_HOLD;
	mc.queue_hold = &h;
	cmd_send(&mc);
}

static void cmd_queue_announce(uint32_t position)
{
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__QueueAnnounce a =
		PBX__V1__MEDIA_COMMAND__QUEUE_ANNOUNCE__INIT;

	a.position = position;
	mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_QUEUE_ANNOUNCE;
	mc.queue_announce = &a;
	cmd_send(&mc);
}

/* Bytes of the English system sound `name` (µ-law). */
static size_t sound_len(const char *name)
{
	for (size_t i = 0; i < queue_sounds_n; i++)
		if (!strcmp(queue_sounds[i].lang, "en") &&
		    !strcmp(queue_sounds[i].name, name))
			return *queue_sounds[i].ulaw_len;
	cr_assert_fail("no sound %s", name);
	return 0;
}

Test(mwcall, queue_hold_says_a_new_position_between_music)
{
	size_t words = sound_len("q_position") + sound_len("num_3");
	unsigned said = (unsigned)((words + 159) / 160), other;

	queue_start(1600); /* the music: 10 packets of PROMPT_FILL */
	test_ua_rx_reset(&fx.caller, PROMPT_FILL);
	cmd_queue_hold("hello", "");
	cr_assert(test_loop_count(&fx.caller.rx.fill_pkts, 15, 2000),
		  "music: %u packets", fx.caller.rx.fill_pkts);
	cr_assert_eq(fx.caller.rx.pkts, fx.caller.rx.fill_pkts,
		     "only music before any news");
	/* Position 3: "your position in the queue is" "three" (the system
	 * sounds: the tenant has no prompts of those names), in one piece,
	 * then the music again. */
	cmd_queue_announce(3);
	test_loop_for((int)said * 20 + 300);
	other = fx.caller.rx.pkts - fx.caller.rx.fill_pkts;
	cr_assert_eq(other, said, "announcement: %u packets, want %u", other,
		     said);
	test_ua_rx_reset(&fx.caller, PROMPT_FILL);
	cr_assert(test_loop_count(&fx.caller.rx.fill_pkts, 10, 1000),
		  "no music after the announcement");
	cr_assert_eq(fx.caller.rx.seq_gaps, 0);
	/* The same position again: nothing said. */
	cmd_queue_announce(3);
	test_loop_for(400);
	cr_assert_eq(fx.caller.rx.pkts, fx.caller.rx.fill_pkts,
		     "a position said twice");
	cr_assert_eq(ev_count(KIND(PLAY_DONE)), 0);
	cr_assert_eq(ev_count(KIND(FAILED)), 0);
	/* StopPlay ends the hold: later news is not said. */
	cmd_stop_play();
	test_loop_for(100);
	test_ua_rx_reset(&fx.caller, PROMPT_FILL);
	cmd_queue_announce(2);
	test_loop_for(300);
	cr_assert_eq(fx.caller.rx.pkts, 0, "news after the hold ended");
}

/* With a call-back key the place is followed by the offer: "to be
 * called back ... press" "seven". */
Test(mwcall, queue_hold_offers_the_callback_key_after_the_place)
{
	size_t words = sound_len("q_position") + sound_len("num_3") +
		       sound_len("q_callback") + sound_len("num_7");
	unsigned said = (unsigned)((words + 159) / 160), other;

	queue_start(1600);
	test_ua_rx_reset(&fx.caller, PROMPT_FILL);
	queue_cb_key = "7";
	cmd_queue_hold("hello", "");
	queue_cb_key = "";
	cr_assert(test_loop_count(&fx.caller.rx.fill_pkts, 5, 2000));
	test_ua_rx_reset(&fx.caller, PROMPT_FILL);
	cmd_queue_announce(3);
	test_loop_for((int)said * 20 + 300);
	other = fx.caller.rx.pkts - fx.caller.rx.fill_pkts;
	cr_assert_eq(other, said, "announcement: %u packets, want %u", other,
		     said);
	cr_assert_eq(ev_count(KIND(FAILED)), 0);
}

/* A Play of a name the tenant has no prompt of, on a queued caller: the
 * queue's system sound (the call-back's confirmation), whole. */
Test(mwcall, queue_hold_play_finds_the_queue_sound)
{
	queue_start(1600);
	test_ua_rx_reset(&fx.caller, PROMPT_FILL);
	cmd_queue_hold("hello", "");
	cr_assert(test_loop_count(&fx.caller.rx.fill_pkts, 5, 2000));
	test_ua_rx_reset(&fx.caller, PROMPT_FILL);
	cmd_play("q_callback_ok", 1, false);
	cr_assert(wait_event(KIND(PLAY_DONE), 8000), "no PLAY_DONE");
	test_loop_for(100);
	cr_assert_eq(fx.caller.rx.pkts - fx.caller.rx.fill_pkts,
		     (unsigned)((sound_len("q_callback_ok") + 159) / 160),
		     "%u packets of %u, want %zu bytes",
		     fx.caller.rx.pkts - fx.caller.rx.fill_pkts,
		     fx.caller.rx.pkts, sound_len("q_callback_ok"));
	cr_assert_eq(ev_count(KIND(FAILED)), 0);
}

Test(mwcall, moh_without_a_prompt_plays_the_built_in_music)
{
	queue_start(0);
	test_ua_rx_reset(&fx.caller, 0xff);
	cmd_moh("");
	cr_assert(test_loop_count(&fx.caller.rx.pkts, 25, 2000),
		  "built-in music: %u packets", fx.caller.rx.pkts);
	/* Music, not silence. */
	cr_assert_lt(fx.caller.rx.fill_pkts, fx.caller.rx.pkts);
	/* A tenant's music that is missing falls back to it too. */
	cmd_moh("nosuchmusic");
	test_ua_rx_reset(&fx.caller, 0xff);
	cr_assert(test_loop_count(&fx.caller.rx.pkts, 10, 1000));
	cr_assert_eq(ev_count(KIND(FAILED)), 0);
	cr_assert_eq(ev_count(KIND(PLAY_DONE)), 0);
}

Test(mwcall, named_legs_ring_together_and_the_first_answer_takes_the_call)
{
	const struct test_router_ev *e;

	queue_start(1600);
	fx.callee.answer_delay_ms = TEST_UA_NEVER;
	fx.callee2.answer_delay_ms = 400;
	test_ua_rx_reset(&fx.caller, PROMPT_FILL);
	cmd_moh("hello");
	cmd_ring_leg("101", &fx.callee, 5000);
	cmd_ring_leg("102", &fx.callee2, 5000);
	cr_assert(test_loop_count(&fx.callee.invites, 1, 2000),
		  "101: no INVITE");
	cr_assert(test_loop_count(&fx.callee2.invites, 1, 2000),
		  "102: no INVITE");
	/* The caller hears its music while they ring, no ringback. */
	cr_assert(test_loop_count(&fx.caller.rx.fill_pkts, 10, 1000));
	cr_assert_eq(fx.caller.rx.fill_pkts, fx.caller.rx.pkts,
		     "%u of %u packets are the music", fx.caller.rx.fill_pkts,
		     fx.caller.rx.pkts);

	/* carol answers: bridged; bob's leg is cancelled. */
	cr_assert(test_loop_flag(&fx.callee2.estab, 3000), "102: no ACK");
	cr_assert(test_loop_until(have_leg_result, "102", 1000));
	e = leg_result("102");
	cr_assert_eq(e->ring_result,
		     PBX__V1__MEDIA_EVENT__RING_RESULT__RING_ANSWERED);
	cr_assert(test_loop_flag(&fx.callee.closed, 1000), "101: no CANCEL");
	cr_assert_eq(fx.callee.close_err, ECONNRESET);
	cr_assert(test_loop_until(have_leg_result, "101", 1000));
	cr_assert_eq(leg_result("101")->ring_result,
		     PBX__V1__MEDIA_EVENT__RING_RESULT__RING_CANCELLED);
	cr_assert(mwcall_bridged(the_call()->call));

	/* The music stopped: the caller hears carol, and carol the caller. */
	test_loop_for(60);
	test_ua_rx_reset(&fx.caller, 0x22);
	test_ua_rx_reset(&fx.callee2, 0x11);
	test_ua_talk(&fx.caller, 25, 0x11);
	test_ua_talk(&fx.callee2, 25, 0x22);
	cr_assert(test_loop_count(&fx.caller.rx.fill_pkts, 20, 2000),
		  "caller hears carol: %u", fx.caller.rx.fill_pkts);
	cr_assert(test_loop_count(&fx.callee2.rx.fill_pkts, 20, 2000),
		  "carol hears the caller: %u", fx.callee2.rx.fill_pkts);
	cr_assert_eq(ev_count(KIND(PLAY_DONE)), 0);

	/* carol hangs up: the call ends. */
	test_ua_hangup(&fx.callee2);
	cr_assert(test_loop_flag(&fx.caller.closed, 2000));
	cr_assert(wait_event(KIND(HANGUP), 1000));
	cr_assert_str_eq(ev_find(KIND(HANGUP))->detail, "callee hung up");
}

Test(mwcall, cancel_ring_stops_one_leg_and_the_caller_keeps_its_music)
{
	queue_start(1600);
	fx.callee.answer_delay_ms = TEST_UA_NEVER;
	fx.callee2.answer_delay_ms = TEST_UA_NEVER;
	cmd_moh("hello");
	cmd_ring_leg("101", &fx.callee, 5000);
	cmd_ring_leg("102", &fx.callee2, 600);
	cr_assert(test_loop_count(&fx.callee.invites, 1, 2000));
	cr_assert(test_loop_count(&fx.callee2.invites, 1, 2000));
	/* A second ring of a leg that rings, or an unnamed one, is
	 * refused. */
	cmd_ring_leg("101", &fx.callee, 5000);
	cr_assert(wait_event(KIND(FAILED), 1000));
	cr_assert_str_eq(ev_find(KIND(FAILED))->detail,
			 "ring: leg already ringing");
	ring_callee(1000);
	test_loop_for(100);
	cr_assert_eq(ev_count(KIND(FAILED)), 2);
	cr_assert_str_eq(test_router_last(&fx.router)->detail,
			 "ring: a ring is in progress");

	cmd_cancel_ring("101");
	cr_assert(test_loop_flag(&fx.callee.closed, 1000), "101: no CANCEL");
	/* 102 times out on its own: NO_ANSWER, with its name. */
	cr_assert(test_loop_until(have_leg_result, "102", 2000));
	cr_assert_eq(leg_result("102")->ring_result,
		     PBX__V1__MEDIA_EVENT__RING_RESULT__RING_NO_ANSWER);
	cr_assert(test_loop_flag(&fx.callee2.closed, 1000), "102: no CANCEL");
	cr_assert_null(leg_result("101"), "a cancelled leg is not reported");
	/* The caller is still there, with its music. */
	test_ua_rx_reset(&fx.caller, PROMPT_FILL);
	cr_assert(test_loop_count(&fx.caller.rx.fill_pkts, 10, 1000));
	cr_assert_not(fx.caller.closed);
	cr_assert_not(mwcall_bridged(the_call()->call));
	/* Nothing left to cancel is no error. */
	cmd_cancel_ring("");
	test_loop_for(100);
	cr_assert_eq(ev_count(KIND(FAILED)), 2);
}

Test(mwcall, cancel_ring_of_a_bridged_leg_keeps_the_caller)
{
	queue_start(1600);
	cmd_moh("hello");
	cmd_ring_leg("101", &fx.callee, 5000);
	cr_assert(test_loop_flag(&fx.callee.estab, 3000));
	cr_assert(test_loop_until(have_leg_result, "101", 1000));
	cmd_cancel_ring("101");
	cr_assert(test_loop_flag(&fx.callee.closed, 1000), "101: no BYE");
	test_loop_for(100);
	cr_assert_not(fx.caller.closed);
	cr_assert_not_null(the_call());
	cr_assert_not(mwcall_bridged(the_call()->call));
	cr_assert_eq(ev_count(KIND(HANGUP)), 0);
}

/* ---- voicemail ---------------------------------------------------------
 * Redis is unreachable here (port 1): the message stays on disk, unlisted,
 * which the tests use to look at the file alone; the Redis side is in
 * tests/e2e/test_voicemail.sh. */

#include <dirent.h>
#include <sndfile.h>

#include "moh_builtin.h"
#include "sys_sounds.h"

static char vm_root[64];

static void vm_root_make(void)
{
	snprintf(vm_root, sizeof(vm_root), "/tmp/pbx-vm-XXXXXX");
	cr_assert_not_null(mkdtemp(vm_root));
}

static void vm_root_remove(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", vm_root);
	cr_assert_eq(system(cmd), 0);
}

/* Files in <root>/t1/<kind>: final files and temporary ones; the path of
 * the last final (or, with want_tmp, temporary) one into path. */
static void media_files(const char *kind, bool want_tmp, unsigned *final,
			unsigned *tmp, char *path, size_t size)
{
	char dir[128];
	struct dirent *e;
	DIR *d;

	*final = *tmp = 0;
	snprintf(dir, sizeof(dir), "%s/" TENANT "/%s", vm_root, kind);
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		bool is_tmp = !strncmp(e->d_name, ".tmp.", 5);

		if (!is_tmp && e->d_name[0] == '.')
			continue;
		(*(is_tmp ? tmp : final))++;
		if (is_tmp == want_tmp &&
		    snprintf(path, size, "%s/%s", dir, e->d_name) >= (int)size)
			path[0] = '\0'; /* too long: no path */
	}
	closedir(d);
}

/* The voicemail files; the one final file's path into path. */
static void vm_files(unsigned *final, unsigned *tmp, char *path, size_t size)
{
	media_files("vm", false, final, tmp, path, size);
}

/* A Record in the tenant's language (NULL: none said, English). */
static uint64_t cmd_record_lang(const char *box, const char *greeting,
				uint32_t max_ms, const char *lang)
{
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Record r = PBX__V1__MEDIA_COMMAND__RECORD__INIT;

	r.box = (char *)box;
	r.greeting = (char *)greeting;
	r.max_ms = max_ms;
	mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_RECORD;
	mc.record = &r;
	if (lang)
		mc.language = (char *)lang;
	return cmd_send(&mc);
}

static uint64_t cmd_record(const char *box, const char *greeting,
			   uint32_t max_ms)
{
	return cmd_record_lang(box, greeting, max_ms, NULL);
}

/* Packets of the voicemail system sound `name` in lang (vm_sounds). */
static unsigned vm_sound_pkts(const char *lang, const char *name)
{
	for (size_t i = 0; i < vm_sounds_n; i++)
		if (!strcmp(vm_sounds[i].lang, lang) &&
		    !strcmp(vm_sounds[i].name, name))
			return (unsigned)((*vm_sounds[i].ulaw_len + 159) / 160);
	cr_assert_fail("no system sound %s/%s", lang, name);
	return 0;
}

/* Packets of the built-in greeting (no greeting named). */
static unsigned builtin_greeting_pkts(void)
{
	return vm_sound_pkts("en", "vm_greeting");
}

/* Answered, Record sent, the greeting and the beep heard in full (the
 * recording starts after the beep). */
static void vm_call(const char *greeting, uint32_t max_ms,
		    unsigned greeting_pkts)
{
	if (!greeting[0])
		greeting_pkts = builtin_greeting_pkts();
	call_answered();
	test_ua_rx_reset(&fx.caller, 0);
	cmd_record("main", greeting, max_ms);
	/* 100 ms gap + 400 ms beep = 25 packets after the greeting. */
	cr_assert(test_loop_count(&fx.caller.rx.pkts, greeting_pkts + 25,
				  3000),
		  "greeting and beep not heard: %u packets",
		  fx.caller.rx.pkts);
	test_loop_for(60);
	/* Nothing more: the recording has started, the player is idle. */
	cr_assert_eq(fx.caller.rx.pkts, greeting_pkts + 25, "%u packets",
		     fx.caller.rx.pkts);
}

/* The message's WAV: 8 kHz mono 16-bit; its length in ms and mean
 * absolute sample. */
static void wav_check(const char *path, unsigned *ms, unsigned *level)
{
	SF_INFO info = {0};
	SNDFILE *sf = sf_open(path, SFM_READ, &info);
	short buf[800];
	uint64_t sum = 0, n = 0;
	sf_count_t got;

	cr_assert_not_null(sf, "%s: %s", path, sf_strerror(NULL));
	cr_assert_eq(info.samplerate, 8000);
	cr_assert_eq(info.channels, 1);
	cr_assert_eq(info.format, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
	while ((got = sf_read_short(sf, buf, 800)) > 0) {
		for (sf_count_t i = 0; i < got; i++)
			sum += (uint64_t)(buf[i] < 0 ? -buf[i] : buf[i]);
		n += (uint64_t)got;
	}
	sf_close(sf);
	*ms = (unsigned)(info.frames * 1000 / 8000);
	*level = n ? (unsigned)(sum / n) : 0;
}

Test(mwcall, voicemail_records_the_callers_audio_until_hang_up)
{
	unsigned final, tmp, ms, level;
	char path[256];

	vm_root_make();
	fx_start(&(struct fx_opts){.media_root = vm_root});
	vm_call("hello", 30000, 50); /* the table's prompt: 8000 bytes */
	/* 1 s of a loud constant level (0x20: about -8000 in µ-law). */
	test_ua_talk(&fx.caller, 50, 0x20);
	cr_assert(test_loop_count(&fx.caller.tx_pkts, 50, 3000));
	test_loop_for(100);
	test_ua_hangup(&fx.caller);
	cr_assert(wait_event(KIND(HANGUP), 2000), "no HANGUP");
	vm_files(&final, &tmp, path, sizeof(path));
	cr_assert_eq(tmp, 0, "temporary file left");
	cr_assert_eq(final, 1, "%u messages", final);
	wav_check(path, &ms, &level);
	cr_assert_eq(ms, 1000, "%u ms recorded", ms);
	cr_assert_gt(level, 4000, "level %u", level);
	vm_root_remove();
}

Test(mwcall, voicemail_hash_stores_the_message_and_ends_the_call)
{
	const struct test_router_ev *e;
	unsigned final, tmp, ms, level;
	char path[256];

	vm_root_make();
	fx_start(&(struct fx_opts){.caller_te = true,
				   .media_root = vm_root,
				   .vm_min_ms = 500});
	vm_call("", 30000, 0);
	test_ua_talk(&fx.caller, 40, 0x20);
	cr_assert(test_loop_count(&fx.caller.tx_pkts, 40, 3000));
	test_loop_for(60);
	test_ua_send_4733(&fx.caller, 11, 99999); /* '#' */
	cr_assert(wait_event(KIND(ENDED), 2000), "no ENDED");
	cr_assert(test_loop_flag(&fx.caller.closed, 2000), "no BYE");
	e = ev_find(KIND(ENDED));
	/* Kept on disk; Redis (down here) does not list it. */
	cr_assert_str_eq(e->detail, "voicemail: stored, not listed");
	vm_files(&final, &tmp, path, sizeof(path));
	cr_assert_eq(tmp, 0);
	cr_assert_eq(final, 1);
	wav_check(path, &ms, &level);
	cr_assert(ms >= 780 && ms <= 820, "%u ms recorded", ms);
	cr_assert_eq(fx.router.hb_load, 0);
	vm_root_remove();
}

Test(mwcall, voicemail_shorter_than_the_minimum_is_discarded)
{
	unsigned final, tmp;
	char path[256];

	vm_root_make();
	fx_start(&(struct fx_opts){.media_root = vm_root,
				   .vm_min_ms = 1000});
	vm_call("", 30000, 0);
	test_ua_talk(&fx.caller, 10, 0x20);
	cr_assert(test_loop_count(&fx.caller.tx_pkts, 10, 3000));
	test_loop_for(60);
	test_ua_hangup(&fx.caller);
	cr_assert(wait_event(KIND(HANGUP), 2000), "no HANGUP");
	vm_files(&final, &tmp, path, sizeof(path));
	cr_assert_eq(final + tmp, 0, "%u files left", final + tmp);
	vm_root_remove();
}

Test(mwcall, voicemail_stops_on_trailing_silence)
{
	unsigned final, tmp, ms, level;
	char path[256];

	vm_root_make();
	fx_start(&(struct fx_opts){.media_root = vm_root,
				   .vm_silence_ms = 400});
	vm_call("", 30000, 0);
	/* Silence (µ-law 0xff is 0) from the start: 400 ms of it ends the
	 * call. */
	test_ua_talk(&fx.caller, 100, 0xff);
	cr_assert(wait_event(KIND(ENDED), 2000), "no ENDED on silence");
	vm_files(&final, &tmp, path, sizeof(path));
	cr_assert_eq(final, 1);
	wav_check(path, &ms, &level);
	/* Stopped by the silence rule, not by the 2 s the caller sends: a
	 * loaded host (CI, sanitizers) delays the check by some packets,
	 * which the upper bound allows. */
	cr_assert(ms >= 300 && ms <= 1500, "%u ms recorded", ms);
	vm_root_remove();
}

Test(mwcall, voicemail_stops_at_max_length)
{
	unsigned final, tmp, ms, level;
	char path[256];

	vm_root_make();
	fx_start(&(struct fx_opts){.media_root = vm_root});
	vm_call("", 600, 0);
	test_ua_talk(&fx.caller, 60, 0x20);
	cr_assert(wait_event(KIND(ENDED), 3000), "no ENDED at max length");
	vm_files(&final, &tmp, path, sizeof(path));
	cr_assert_eq(final, 1);
	wav_check(path, &ms, &level);
	cr_assert(ms >= 600 && ms <= 620, "%u ms recorded", ms);
	vm_root_remove();
}

Test(mwcall, voicemail_missing_greeting_plays_the_built_in_one)
{
	vm_root_make();
	fx_start(&(struct fx_opts){.media_root = vm_root});
	/* "nosuch" is not in the prompt table: the built-in greeting, then
	 * the beep (vm_call counts both). */
	call_answered();
	test_ua_rx_reset(&fx.caller, 0);
	cmd_record("main", "nosuch", 30000);
	cr_assert(test_loop_count(&fx.caller.rx.pkts,
				  builtin_greeting_pkts() + 25, 8000),
		  "%u packets", fx.caller.rx.pkts);
	cr_assert_gt(builtin_greeting_pkts(), 50, "a spoken sentence");
	test_ua_hangup(&fx.caller);
	cr_assert(wait_event(KIND(HANGUP), 2000), "no HANGUP");
	vm_root_remove();
}

/* A real Redis with the tenant's quota field set to v and `used` bytes
 * stored, one message already in box "main" when msg is set; a media
 * store, and the worker on both. */
static void vm_redis_start(struct redis_fixture *rf, const char *field,
			   const char *v, const char *used, bool msg)
{
	cr_assert_eq(redis_fixture_start(rf), 0, "no redis-server");
	cr_assert_eq(redis_fixture_ok(redis_fixture_cmd(
			     rf, "HSET pbx:{" TENANT "}:vm:quota %s %s", field,
			     v)),
		     0);
	cr_assert_eq(redis_fixture_ok(redis_fixture_cmd(
			     rf, "SET pbx:{" TENANT "}:vm:bytes %s", used)),
		     0);
	if (msg)
		cr_assert_eq(redis_fixture_ok(redis_fixture_cmd(
				     rf, "ZADD pbx:{" TENANT "}:vm:box:main 1 m1")),
			     0);
	vm_root_make();
	fx_start(&(struct fx_opts){.media_root = vm_root,
				   .redis_port = rf->port});
}

/* MediaCommand.language "ru": the built-in greeting is the Russian one
 * (its length, then the beep, then nothing: the recording runs). */
Test(mwcall, voicemail_in_russian_plays_the_russian_greeting)
{
	unsigned ru = vm_sound_pkts("ru", "vm_greeting");

	cr_assert_neq(ru, vm_sound_pkts("en", "vm_greeting"),
		      "the two greetings are told apart by length");
	vm_root_make();
	fx_start(&(struct fx_opts){.media_root = vm_root});
	call_answered();
	test_ua_rx_reset(&fx.caller, 0);
	cmd_record_lang("main", "", 30000, "ru");
	cr_assert(test_loop_count(&fx.caller.rx.pkts, ru + 25, 8000),
		  "%u packets", fx.caller.rx.pkts);
	test_loop_for(100);
	cr_assert_eq(fx.caller.rx.pkts, ru + 25, "%u packets, not the "
		     "Russian greeting's %u + the beep", fx.caller.rx.pkts, ru);
	test_ua_hangup(&fx.caller);
	cr_assert(wait_event(KIND(HANGUP), 2000), "no HANGUP");
	vm_root_remove();
}

Test(mwcall, voicemail_full_box_plays_the_refusal_then_bye_and_records_nothing)
{
	unsigned final, tmp, want = vm_sound_pkts("en", "vm_full");
	struct redis_fixture rf = {0};
	char path[256];

	/* One message already, and a quota of one per box. */
	vm_redis_start(&rf, "messages", "1", "48044", true);
	call_answered();
	test_ua_rx_reset(&fx.caller, 0);
	cmd_record("main", "", 30000);
	cr_assert(wait_event(KIND(ENDED), 6000), "no ENDED");
	cr_assert_str_eq(ev_find(KIND(ENDED))->detail,
			 "voicemail: box full, refused");
	cr_assert(test_loop_flag(&fx.caller.closed, 2000), "no BYE");
	/* The whole refusal was heard (none of the greeting: shorter). */
	cr_assert_geq(fx.caller.rx.pkts, want, "%u of %u packets",
		      fx.caller.rx.pkts, want);
	cr_assert_lt(fx.caller.rx.pkts, want + 5, "%u packets",
		     fx.caller.rx.pkts);
	vm_files(&final, &tmp, path, sizeof(path));
	cr_assert_eq(final + tmp, 0, "a file was written");
	redis_fixture_stop(&rf);
	vm_root_remove();
}

Test(mwcall, voicemail_quota_bytes_cut_the_message_to_what_is_left)
{
	unsigned final, tmp, ms, level;
	struct redis_fixture rf = {0};
	char path[256];
	redisReply *r;

	/* 44 bytes of header and 1.5 s of audio left. */
	vm_redis_start(&rf, "bytes", "100044", "76000", false);
	vm_call("", 30000, 0);
	test_ua_talk(&fx.caller, 150, 0x20); /* 3 s offered */
	cr_assert(wait_event(KIND(ENDED), 6000), "no ENDED");
	vm_files(&final, &tmp, path, sizeof(path));
	cr_assert_eq(final, 1);
	wav_check(path, &ms, &level);
	cr_assert_eq(ms, 1500, "%u ms recorded", ms);
	/* Listed, and counted in the tenant's bytes. */
	r = redis_fixture_cmd(&rf, "GET pbx:{" TENANT "}:vm:bytes");
	cr_assert(r && r->type == REDIS_REPLY_STRING);
	cr_expect_eq(atoll(r->str), 76000 + 44 + 24000, "%s", r->str);
	freeReplyObject(r);
	redis_fixture_stop(&rf);
	vm_root_remove();
}

/* ---- voicemail from a phone (VmAccess, worker_vmacc.c) ---------------- */

/* The sample every message of these tests holds, and its µ-law byte:
 * packets of only that byte are the message being heard. */
#define ACC_SAMPLE 4000
#define ACC_MSG_MS 600

static uint64_t cmd_vm_access(const char *box, bool own)
{
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__VmAccess va =
		PBX__V1__MEDIA_COMMAND__VM_ACCESS__INIT;

	va.box = (char *)box;
	va.own = own;
	mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_VM_ACCESS;
	mc.vm_access = &va;
	return cmd_send(&mc);
}

/* A real Redis; box `box` with pin (NULL: no object) and one new
 * message of ACC_MSG_MS ms of ACC_SAMPLE in the store (its id in id, its
 * bytes counted); the worker on both, the caller sending RFC 4733. */
static void acc_start(struct redis_fixture *rf, const char *box,
		      const char *pin, char *id, size_t size)
{
	SF_INFO info = {.samplerate = 8000, .channels = 1,
			.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
	short pcm[ACC_MSG_MS * 8];
	char path[PBX_MEDIA_PATH_MAX], dir[PBX_MEDIA_PATH_MAX];
	SNDFILE *sf;
	long bytes = 44 + ACC_MSG_MS * 16;

	cr_assert_eq(redis_fixture_start(rf), 0, "no redis-server");
	vm_root_make();
	cr_assert_eq(pbx_media_store_new_id(id, size, pbx_clock_now_ms()), 0);
	snprintf(dir, sizeof(dir), "mkdir -p %s/" TENANT "/vm", vm_root);
	cr_assert_eq(system(dir), 0);
	cr_assert_eq(pbx_media_store_path(path, sizeof(path), vm_root, TENANT,
					  PBX_MEDIA_VOICEMAIL, id),
		     0);
	for (size_t i = 0; i < sizeof(pcm) / sizeof(*pcm); i++)
		pcm[i] = ACC_SAMPLE;
	sf = sf_open(path, SFM_WRITE, &info);
	cr_assert_not_null(sf, "%s", sf_strerror(NULL));
	cr_assert_eq(sf_write_short(sf, pcm, ACC_MSG_MS * 8), ACC_MSG_MS * 8);
	sf_close(sf);
	if (pin)
		cr_assert_eq(redis_fixture_ok(redis_fixture_cmd(
				     rf,
				     "HSET pbx:{" TENANT "}:objects "
				     "voicemail_box:%s {\"pin\":\"%s\"}",
				     box, pin)),
			     0);
	cr_assert_eq(redis_fixture_ok(redis_fixture_cmd(
			     rf,
			     "HSET pbx:{" TENANT "}:vm:msg:%s box %s "
			     "status new bytes %ld",
			     id, box, bytes)),
		     0);
	cr_assert_eq(redis_fixture_ok(redis_fixture_cmd(
			     rf, "ZADD pbx:{" TENANT "}:vm:box:%s 1 %s", box,
			     id)),
		     0);
	cr_assert_eq(redis_fixture_ok(redis_fixture_cmd(
			     rf, "SET pbx:{" TENANT "}:vm:bytes %ld", bytes)),
		     0);
	fx_start(&(struct fx_opts){.caller_te = true,
				   .media_root = vm_root,
				   .redis_port = rf->port});
	call_answered();
	test_ua_rx_reset(&fx.caller, mwlaw_encode(ACC_SAMPLE, OFFER_ULAW));
}

/* Keys as RFC 4733 events ("0"-"9", "*" 10, "#" 11), 80 ms apart. */
static void acc_keys(const char *keys)
{
	static uint32_t ts = 8000;

	for (const char *k = keys; *k; k++) {
		int ev = *k == '*' ? 10 : *k == '#' ? 11 : *k - '0';

		ts += 4000;
		test_ua_send_4733(&fx.caller, ev, ts);
		test_loop_for(80);
	}
}

/* Entries (a box number or a PIN, each with its #), 300 ms apart. */
static void acc_entries(const char *const entries[])
{
	for (size_t i = 0; entries[i]; i++) {
		acc_keys(entries[i]);
		test_loop_for(300);
	}
}

static long long acc_int(struct redis_fixture *rf, const char *fmt,
			 const char *arg)
{
	redisReply *r = redis_fixture_cmd(rf, fmt, arg);
	long long v = -1;

	cr_assert_not_null(r);
	if (r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	else if (r->type == REDIS_REPLY_STRING)
		v = atoll(r->str);
	freeReplyObject(r);
	return v;
}

Test(mwcall, vm_access_pin_plays_the_message_and_7_deletes_it)
{
	struct redis_fixture rf = {0};
	char id[PBX_MEDIA_ID_MAX], path[256];
	unsigned final, tmp;

	acc_start(&rf, "main", "4321", id, sizeof(id));
	cmd_vm_access("main", false);
	acc_keys("4321#");
	/* "You have one new message", then the message itself. */
	cr_assert(test_loop_count(&fx.caller.rx.fill_pkts,
				  ACC_MSG_MS / 20 - 1, 8000),
		  "the message was not heard: %u of its packets",
		  fx.caller.rx.fill_pkts);
	cr_assert_eq(ev_count(KIND(DTMF)), 0, "the router heard the keys");
	acc_keys("7");
	cr_assert(wait_event(KIND(ENDED), 8000), "no ENDED");
	cr_assert_str_eq(ev_find(KIND(ENDED))->detail,
			 "voicemail access: all heard");
	cr_assert(test_loop_flag(&fx.caller.closed, 2000), "no BYE");
	/* Deleted by the box rules: unlisted, uncounted, the file gone,
	 * an MWI job for the notifier. */
	cr_assert_eq(acc_int(&rf, "ZCARD pbx:{" TENANT "}:vm:box:%s", "main"),
		     0);
	cr_assert_eq(acc_int(&rf, "EXISTS pbx:{" TENANT "}:vm:msg:%s", id),
		     0);
	cr_assert_eq(acc_int(&rf, "GET pbx:{" TENANT "}:vm:%s", "bytes"), 0);
	cr_assert_eq(acc_int(&rf, "XLEN %s", "pbx:{sys}:notify:jobs"), 1);
	vm_files(&final, &tmp, path, sizeof(path));
	cr_assert_eq(final + tmp, 0, "the message's file is still there");
	redis_fixture_stop(&rf);
	vm_root_remove();
}

Test(mwcall, vm_access_9_saves_and_the_message_stays)
{
	struct redis_fixture rf = {0};
	char id[PBX_MEDIA_ID_MAX], path[256];
	redisReply *r;
	unsigned final, tmp;

	acc_start(&rf, "main", "4321", id, sizeof(id));
	cmd_vm_access("main", false);
	acc_keys("4321#");
	cr_assert(test_loop_count(&fx.caller.rx.fill_pkts,
				  ACC_MSG_MS / 20 - 1, 8000));
	acc_keys("9");
	cr_assert(wait_event(KIND(ENDED), 8000), "no ENDED");
	r = redis_fixture_cmd(&rf, "HGET pbx:{" TENANT "}:vm:msg:%s status",
			      id);
	cr_assert(r && r->type == REDIS_REPLY_STRING);
	cr_assert_str_eq(r->str, "heard");
	freeReplyObject(r);
	cr_assert_eq(acc_int(&rf, "ZCARD pbx:{" TENANT "}:vm:box:%s", "main"),
		     1);
	cr_assert_eq(acc_int(&rf, "XLEN %s", "pbx:{sys}:notify:jobs"), 1);
	vm_files(&final, &tmp, path, sizeof(path));
	cr_assert_eq(final, 1);
	redis_fixture_stop(&rf);
	vm_root_remove();
}

/* Refused (the third wrong PIN: detail "voicemail access: wrong PIN"):
 * the goodbye prompt and BYE; the message was neither heard nor touched.
 * Stops the fixtures. */
static void acc_refused_as(struct redis_fixture *rf, const char *box,
			   const char *detail)
{
	cr_assert(wait_event(KIND(ENDED), 8000), "no ENDED");
	cr_assert_str_eq(ev_find(KIND(ENDED))->detail, detail);
	cr_assert(test_loop_flag(&fx.caller.closed, 2000), "no BYE");
	cr_assert_gt(fx.caller.rx.pkts, 100, "no prompts heard");
	cr_assert_eq(fx.caller.rx.fill_pkts, 0, "the message was heard");
	cr_assert_eq(acc_int(rf, "ZCARD pbx:{" TENANT "}:vm:box:%s", box), 1);
	redis_fixture_stop(rf);
	vm_root_remove();
}

static void acc_refused(struct redis_fixture *rf, const char *box)
{
	acc_refused_as(rf, box, "voicemail access: wrong PIN");
}

/* acc_start with box "main" (PIN 4321) that has `fails` wrong PINs
 * counted already (the lock-out window running). */
static void acc_start_failed(struct redis_fixture *rf, char *id, size_t size,
			     int fails)
{
	acc_start(rf, "main", "4321", id, size);
	cr_assert_eq(redis_fixture_ok(redis_fixture_cmd(
			     rf, "SET pbx:{" TENANT "}:vm:pinfail:main %d "
				 "EX 900",
			     fails)),
		     0);
}

Test(mwcall, vm_access_wrong_pin_three_times_hangs_up_unheard)
{
	struct redis_fixture rf = {0};
	char id[PBX_MEDIA_ID_MAX];

	acc_start(&rf, "main", "4321", id, sizeof(id));
	cmd_vm_access("main", true); /* own box: its PIN is asked anyway */
	acc_entries((const char *const[]){"1#", "43219#", "#", NULL});
	acc_refused(&rf, "main");
}

/* Wrong PINs count across calls (per box, in Redis, with a window): */
Test(mwcall, vm_access_wrong_pins_are_counted_for_the_box_with_a_window)
{
	struct redis_fixture rf = {0};
	char id[PBX_MEDIA_ID_MAX];
	long long ttl;

	acc_start(&rf, "main", "4321", id, sizeof(id));
	cmd_vm_access("main", false);
	acc_entries((const char *const[]){"1#", "2#", NULL});
	test_loop_for(300);
	cr_assert_eq(acc_int(&rf, "GET pbx:{" TENANT "}:vm:pinfail:%s",
			     "main"),
		     2);
	ttl = acc_int(&rf, "TTL pbx:{" TENANT "}:vm:pinfail:%s", "main");
	cr_assert(ttl > 800 && ttl <= 900, "the count's window: %lld s", ttl);
	acc_entries((const char *const[]){"3#", NULL});
	cr_assert_eq(acc_int(&rf, "GET pbx:{" TENANT "}:vm:pinfail:%s",
			     "main"),
		     3);
	acc_refused(&rf, "main");
}

/* ... and at 10 the box is locked: the right PIN does not open it. */
Test(mwcall, vm_access_locked_box_refuses_even_the_right_pin)
{
	struct redis_fixture rf = {0};
	char id[PBX_MEDIA_ID_MAX];

	acc_start_failed(&rf, id, sizeof(id), 10);
	cmd_vm_access("main", false);
	acc_keys("4321#");
	acc_refused_as(&rf, "main", "voicemail access: box locked");
}

/* The right PIN below the limit opens the box and clears the count. */
Test(mwcall, vm_access_right_pin_clears_the_wrong_pin_count)
{
	struct redis_fixture rf = {0};
	char id[PBX_MEDIA_ID_MAX];

	acc_start_failed(&rf, id, sizeof(id), 9);
	cmd_vm_access("main", false);
	acc_keys("4321#");
	cr_assert(test_loop_count(&fx.caller.rx.fill_pkts,
				  ACC_MSG_MS / 20 - 1, 8000),
		  "the message was not heard: %u of its packets",
		  fx.caller.rx.fill_pkts);
	cr_assert_eq(acc_int(&rf, "EXISTS pbx:{" TENANT "}:vm:pinfail:%s",
			     "main"),
		     0);
	test_ua_hangup(&fx.caller);
	cr_assert(wait_event(KIND(HANGUP), 2000), "no HANGUP");
	redis_fixture_stop(&rf);
	vm_root_remove();
}

Test(mwcall, vm_access_box_without_pin_opens_only_for_its_extension)
{
	struct redis_fixture rf = {0};
	char id[PBX_MEDIA_ID_MAX];

	/* *98, box 500 typed: it has no PIN, so no PIN typed opens it (an
	 * empty one neither). */
	acc_start(&rf, "500", NULL, id, sizeof(id));
	cmd_vm_access("", false);
	acc_entries((const char *const[]){"500#", "#", "0#", "500#", NULL});
	acc_refused(&rf, "500");
}

Test(mwcall, vm_access_own_box_without_pin_opens_at_once)
{
	struct redis_fixture rf = {0};
	char id[PBX_MEDIA_ID_MAX];

	acc_start(&rf, "main", NULL, id, sizeof(id));
	cmd_vm_access("main", true);
	/* No key: the count and the message straight away. */
	cr_assert(test_loop_count(&fx.caller.rx.fill_pkts,
				  ACC_MSG_MS / 20 - 1, 8000),
		  "%u packets of the message", fx.caller.rx.fill_pkts);
	test_ua_hangup(&fx.caller);
	cr_assert(wait_event(KIND(HANGUP), 2000), "no HANGUP");
	redis_fixture_stop(&rf);
	vm_root_remove();
}

/* The box's document as Redis holds it (malloc'd by strdup). */
static char *acc_object(struct redis_fixture *rf, const char *box)
{
	redisReply *r = redis_fixture_cmd(
		rf, "HGET pbx:{" TENANT "}:objects voicemail_box:%s", box);
	char *s;

	cr_assert(r && r->type == REDIS_REPLY_STRING);
	s = strdup(r->str);
	freeReplyObject(r);
	return s;
}

Test(mwcall, vm_access_options_2_changes_the_pin_in_the_box_object)
{
	struct redis_fixture rf = {0};
	char id[PBX_MEDIA_ID_MAX], *doc;

	acc_start(&rf, "main", "4321", id, sizeof(id));
	cr_assert_eq(redis_fixture_ok(redis_fixture_cmd(
			     &rf, "HSET pbx:{" TENANT "}:objects "
				  "voicemail_box:main "
				  "{\"pin\":\"4321\",\"max_length\":60}")),
		     0);
	cmd_vm_access("main", false);
	acc_keys("4321#");
	cr_assert(test_loop_count(&fx.caller.rx.fill_pkts,
				  ACC_MSG_MS / 20 - 1, 8000));
	/* 0 options, 2 a new PIN, * cancels it; 2 again: too short (the box
	 * rules: 4-8 digits), then two that differ, then the same twice. */
	acc_entries((const char *const[]){"0", "2", "9999*", "2", "12#",
					  "5678#", "5679#", "5678#", "5678#",
					  NULL});
	test_loop_for(300);
	doc = acc_object(&rf, "main");
	cr_assert_str_eq(doc, "{\"pin\":\"5678\",\"max_length\":60}");
	free(doc);
	cr_assert_eq(acc_int(&rf, "GET %s", "pbx:{" TENANT "}:objects_rev"),
		     1, "the routers' objects must follow");
	cr_assert_eq(ev_count(KIND(ENDED)), 0, "the session ended");
	cr_assert_eq(ev_count(KIND(DTMF)), 0, "the router heard the keys");
	/* * back to the message, heard again. */
	test_ua_rx_reset(&fx.caller, mwlaw_encode(ACC_SAMPLE, OFFER_ULAW));
	acc_keys("*");
	cr_assert(test_loop_count(&fx.caller.rx.fill_pkts,
				  ACC_MSG_MS / 20 - 1, 8000),
		  "back from the options: the message was not heard");
	redis_fixture_stop(&rf);
	vm_root_remove();
}

Test(mwcall, vm_access_new_pin_that_differs_from_its_repeat_is_not_stored)
{
	struct redis_fixture rf = {0};
	char id[PBX_MEDIA_ID_MAX], *doc;

	acc_start(&rf, "main", "4321", id, sizeof(id));
	cmd_vm_access("main", false);
	acc_keys("4321#");
	cr_assert(test_loop_count(&fx.caller.rx.fill_pkts,
				  ACC_MSG_MS / 20 - 1, 8000));
	/* Three refused PINs (too long, too short, empty): back to the
	 * options; one that differs from its repeat. */
	acc_entries((const char *const[]){"0", "2", "123456789#", "1#", "#",
					  "2", "1111#", "2222#", NULL});
	test_loop_for(300);
	doc = acc_object(&rf, "main");
	cr_assert_str_eq(doc, "{\"pin\":\"4321\"}");
	free(doc);
	cr_assert_eq(acc_int(&rf, "EXISTS %s", "pbx:{" TENANT "}:objects_rev"),
		     0);
	redis_fixture_stop(&rf);
	vm_root_remove();
}

/* Greetings from the phone: the built-in "record after the tone" is some
 * 5 s, more than the mwcall suite's timeout holds (a per-test .timeout
 * leaks in Criterion 2.4.1, see mwfax). */
TestSuite(mwgreet, .init = fx_init, .fini = fx_fini, .timeout = 40);

Test(mwgreet, options_1_records_a_greeting_plays_it_and_keeps_it)
{
	struct redis_fixture rf = {0};
	char id[PBX_MEDIA_ID_MAX], *doc;
	redisReply *r;

	acc_start(&rf, "main", "4321", id, sizeof(id));
	cmd_vm_access("main", false);
	/* 0 (during "you have one new message") options, 1 a greeting: the
	 * prompt and the beep (5.4 s), then 1 s of the caller's 0x20
	 * bytes, #. */
	acc_entries((const char *const[]){"4321#", "0", "1", NULL});
	test_loop_for(5700);
	test_ua_rx_reset(&fx.caller, 0x20);
	test_ua_talk(&fx.caller, 50, 0x20);
	test_loop_for(1100);
	acc_keys("#");
	/* Played back as it was recorded: its own bytes. */
	cr_assert(test_loop_count(&fx.caller.rx.fill_pkts, 40, 4000),
		  "the greeting was not played back: %u packets",
		  fx.caller.rx.fill_pkts);
	acc_keys("1");
	test_loop_for(300);
	doc = acc_object(&rf, "main");
	cr_assert_str_eq(doc, "{\"pin\":\"4321\",\"greeting\":\"vmg-main\"}");
	free(doc);
	r = redis_fixture_cmd(&rf, "HMGET pbx:{" TENANT "}:prompt:vmg-main "
				   "ms ulaw alaw");
	cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 3);
	cr_assert_eq(r->element[0]->type, REDIS_REPLY_STRING);
	cr_assert(atoi(r->element[0]->str) >= 900 &&
			  atoi(r->element[0]->str) <= 1300,
		  "%s ms", r->element[0]->str);
	cr_assert_eq(r->element[1]->len, r->element[2]->len);
	cr_assert_eq((unsigned char)r->element[1]->str[400], 0x20);
	cr_assert_eq((unsigned char)r->element[2]->str[400],
		     mwlaw_encode(mwlaw_decode(0x20, OFFER_ULAW), OFFER_ALAW));
	freeReplyObject(r);
	cr_assert_eq(acc_int(&rf, "SISMEMBER pbx:{" TENANT "}:prompts %s",
			     "vmg-main"),
		     1);
	cr_assert_eq(ev_count(KIND(ENDED)), 0, "the session ended");
	redis_fixture_stop(&rf);
	vm_root_remove();
}

Test(mwgreet, over_the_quota_is_refused)
{
	struct redis_fixture rf = {0};
	char id[PBX_MEDIA_ID_MAX], *doc;

	acc_start(&rf, "main", "4321", id, sizeof(id));
	/* The message's bytes and a little more: no room for 1 s. */
	cr_assert_eq(redis_fixture_ok(redis_fixture_cmd(
			     &rf, "HSET pbx:{" TENANT "}:vm:quota bytes %d",
			     44 + ACC_MSG_MS * 16 + 1000)),
		     0);
	cmd_vm_access("main", false);
	acc_entries((const char *const[]){"4321#", "0", "1", NULL});
	test_loop_for(5700);
	test_ua_talk(&fx.caller, 50, 0x20);
	test_loop_for(1100);
	acc_keys("#");
	test_loop_for(500);
	acc_keys("1");
	test_loop_for(300);
	doc = acc_object(&rf, "main");
	cr_assert_str_eq(doc, "{\"pin\":\"4321\"}");
	free(doc);
	cr_assert_eq(acc_int(&rf, "EXISTS %s",
			     "pbx:{" TENANT "}:prompt:vmg-main"),
		     0);
	redis_fixture_stop(&rf);
	vm_root_remove();
}

Test(mwcall, voicemail_without_a_media_store_fails_the_command)
{
	fx_start(&(struct fx_opts){.media_root = "/proc/pbx-no-store"});
	call_answered();
	cmd_record("main", "", 30000);
	cr_assert(wait_event(KIND(FAILED), 2000), "no FAILED");
	cr_assert_str_eq(ev_find(KIND(FAILED))->detail,
			 "record: media store unavailable");
}

Test(mwcall, voicemail_being_recorded_is_kept_when_the_worker_stops)
{
	unsigned final, tmp, ms, level;
	char path[256];

	vm_root_make();
	fx_start(&(struct fx_opts){.media_root = vm_root});
	vm_call("hello", 30000, 50);
	test_ua_talk(&fx.caller, 75, 0x20);
	cr_assert(test_loop_count(&fx.caller.tx_pkts, 75, 3000));
	test_loop_for(100);
	cr_assert_eq(worker_signals_block(), 0);
	cr_assert_eq(raise(SIGTERM), 0);
	cr_assert(wait_event(KIND(ENDED), 2000), "no ENDED");
	cr_assert_str_eq(ev_find(KIND(ENDED))->detail,
			 "voicemail: stored, not listed");
	cr_assert(test_loop_flag(&fx.caller.closed, 2000), "caller: no BYE");
	vm_files(&final, &tmp, path, sizeof(path));
	cr_assert_eq(tmp, 0);
	cr_assert_eq(final, 1);
	wav_check(path, &ms, &level);
	cr_assert_eq(ms, 1500, "%u ms recorded", ms);
	vm_root_remove();
}

/* ---- conference rooms (confroom.c, mixer.c) ---- */

/* Member i's tone, far from the join and leave tones (1400/1800 Hz). */
static const unsigned conf_hz[4] = {400, 700, 1000, 550};

struct conf_member {
	char callid[256];
};
static struct conf_member confm[4];

/* Member i calls in for tenant (PCMA when alaw). */
static void conf_call_as(size_t i, bool alaw, const char *tenant)
{
	static const char *const names[4] = {"m0", "m1", "m2", "m3"};
	struct test_ua *ua = &fx.member[i];
	unsigned before = ev_count(KIND(INCOMING));

	test_ua_open(ua, names[i], alaw ? 8 : 0, true);
	char hdr[64];

	snprintf(hdr, sizeof(hdr), "X-Pbx-Tenant: %s\r\n", tenant);
	call_worker(ua, hdr);
	for (int t = 0; t < 200 && ev_count(KIND(INCOMING)) == before; t++)
		test_loop_for(10);
	cr_assert_gt(ev_count(KIND(INCOMING)), before, "no INCOMING");
	snprintf(confm[i].callid, sizeof(confm[i].callid), "%s",
		 fx.router.callid);
}

static void conf_call(size_t i, bool alaw)
{
	conf_call_as(i, alaw, TENANT);
}

/* The event answering command seq (waits for it). */
static const struct test_router_ev *ev_for(uint64_t seq)
{
	for (int tries = 0; tries < 100; tries++) {
		for (unsigned k = 0; k < fx.router.nev; k++)
			if (fx.router.evs[k].seq == seq &&
			    fx.router.evs[k].kind != KIND(ANSWERED))
				return &fx.router.evs[k];
		test_loop_for(20);
	}
	cr_assert_fail("no event for command %llu", (unsigned long long)seq);
	return NULL;
}

/* Member i's ConfJoin j about tenant; the event that answers it. */
static const struct test_router_ev *
conf_join_send(size_t i, const char *tenant,
	       Pbx__V1__MediaCommand__ConfJoin *j)
{
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;

	mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_CONF_JOIN;
	mc.conf_join = j;
	return ev_for(cmd_send_to(&mc, tenant, confm[i].callid));
}

static const struct test_router_ev *
cmd_conf_join(size_t i, const char *tenant, const char *room, bool muted,
	      uint32_t max_members)
{
	Pbx__V1__MediaCommand__ConfJoin j =
		PBX__V1__MEDIA_COMMAND__CONF_JOIN__INIT;

	j.room = (char *)room;
	j.muted = muted;
	j.max_members = max_members;
	return conf_join_send(i, tenant, &j);
}

/* Joins member i to room r: CONF_JOINED with `count` members. */
static void conf_join(size_t i, const char *room, bool muted,
		      unsigned count)
{
	const struct test_router_ev *e =
		cmd_conf_join(i, TENANT, room, muted, 0);

	cr_assert_eq(e->kind, KIND(CONF_JOINED), "kind %d (%s)", e->kind,
		     e->detail);
	cr_assert_eq(e->conf_members, count, "%u members", e->conf_members);
	cr_assert_eq(e->conf_muted, muted);
	cr_assert(test_loop_flag(&fx.member[i].estab, 2000), "no 200 OK");
}

static void conf_tone(uint8_t *out, size_t n, unsigned hz, bool alaw)
{
	for (size_t k = 0; k < n; k++)
		out[k] = mwlaw_encode(
			(int16_t)(6000 * sin(2 * M_PI * hz * (double)k / 8000)),
			alaw ? OFFER_ALAW : OFFER_ULAW);
}

/* Goertzel: the power of hz in what member i received, relative to the
 * power of the whole signal (0..1 for a pure tone at hz: about 0.5). */
static double conf_heard(size_t i, unsigned hz)
{
	const struct test_ua *ua = &fx.member[i];
	enum offer_law law = ua->pt == 8 ? OFFER_ALAW : OFFER_ULAW;
	double coeff = 2 * cos(2 * M_PI * hz / 8000.0);
	double s1 = 0, s2 = 0, total = 0, power;
	size_t n = ua->rx_audio_len;

	cr_assert_gt(n, 8000 / 2, "member %zu heard only %zu samples", i, n);
	for (size_t k = 0; k < n; k++) {
		double x = mwlaw_decode(ua->rx_audio[k], law);
		double s0 = x + coeff * s1 - s2;

		s2 = s1;
		s1 = s0;
		total += x * x;
	}
	power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
	return total > 0 ? 2 * power / ((double)n * total) : 0;
}

/* Mean power of what ua received (linear, per sample). */
static double conf_heard_energy(const struct test_ua *ua)
{
	enum offer_law law = ua->pt == 8 ? OFFER_ALAW : OFFER_ULAW;
	double total = 0;

	for (size_t k = 0; k < ua->rx_audio_len; k++) {
		double x = mwlaw_decode(ua->rx_audio[k], law);

		total += x * x;
	}
	return ua->rx_audio_len ? total / (double)ua->rx_audio_len : 0;
}

/* Every member in `talk` sends its tone for 1.2 s; what each member hears
 * is recorded meanwhile (after 200 ms, so the start is settled). */
static void conf_talk(size_t n, const bool *talk)
{
	static uint8_t audio[8000 * 3 / 2];

	for (size_t i = 0; i < n; i++) {
		if (!talk[i])
			continue;
		conf_tone(audio, sizeof(audio), conf_hz[i],
			  fx.member[i].pt == 8);
		test_ua_play(&fx.member[i], audio, sizeof(audio));
	}
	test_loop_for(200);
	for (size_t i = 0; i < n; i++)
		test_ua_rx_reset(&fx.member[i], 0);
	test_loop_for(1000);
}

static void conf_assert_hears(size_t i, size_t j, bool yes)
{
	double p = conf_heard(i, conf_hz[j]);

	if (yes)
		cr_assert_gt(p, 0.05, "member %zu does not hear %zu (%.4f)",
			     i, j, p);
	else
		cr_assert_lt(p, 0.005, "member %zu hears %zu (%.4f)", i, j,
			     p);
}

Test(mwcall, conf_three_members_hear_the_others_and_not_themselves)
{
	const bool all[3] = {true, true, true};

	fx_start(&(struct fx_opts){0});
	conf_call(0, false);
	conf_join(0, "room1", false, 1);
	/* Alone: music on hold. */
	test_ua_rx_reset(&fx.member[0], 0);
	cr_assert(test_loop_count(&fx.member[0].rx.pkts, 10, 1000),
		  "no music while alone");
	conf_call(1, true); /* PCMA among PCMU members */
	conf_join(1, "room1", false, 2);
	conf_call(2, false);
	conf_join(2, "room1", false, 3);
	cr_assert_eq(confroom_members(fx.w->conf, TENANT, "room1"), 3);
	test_loop_for(300); /* the join tone */
	conf_talk(3, all);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(fx.member[i].rx.seq_gaps, 0);
		cr_assert_eq(fx.member[i].rx.pt, i == 1 ? 8 : 0);
		for (size_t j = 0; j < 3; j++)
			conf_assert_hears(i, j, i != j);
	}
}

Test(mwcall, conf_muted_member_is_not_heard)
{
	const bool all[3] = {true, true, true};

	fx_start(&(struct fx_opts){0});
	for (size_t i = 0; i < 3; i++) {
		conf_call(i, false);
		conf_join(i, "room1", i == 2, (unsigned)i + 1);
	}
	test_loop_for(300);
	conf_talk(3, all);
	conf_assert_hears(0, 1, true);
	conf_assert_hears(1, 0, true);
	conf_assert_hears(0, 2, false);
	conf_assert_hears(1, 2, false);
	/* The muted member still hears everyone. */
	conf_assert_hears(2, 0, true);
	conf_assert_hears(2, 1, true);
}

Test(mwcall, conf_star_6_toggles_the_members_own_mute)
{
	const bool only2[3] = {false, false, true};
	const struct test_router_ev *e;

	fx_start(&(struct fx_opts){0});
	for (size_t i = 0; i < 3; i++) {
		conf_call(i, false);
		conf_join(i, "room1", false, (unsigned)i + 1);
	}
	test_loop_for(300);
	test_ua_send_4733(&fx.member[2], 10, 1000); /* '*' */
	test_loop_for(100);
	test_ua_send_4733(&fx.member[2], 6, 3000);
	cr_assert(wait_event(KIND(CONF_MUTED), 2000), "no CONF_MUTED");
	e = ev_find(KIND(CONF_MUTED));
	cr_assert(e->conf_muted);
	cr_assert_str_eq(e->callid, confm[2].callid);
	conf_talk(3, only2);
	conf_assert_hears(0, 2, false);
	conf_assert_hears(1, 2, false);
}

Test(mwcall, conf_room_waiting_for_its_moderator_plays_music_until_then)
{
	const bool both[2] = {true, true};
	Pbx__V1__MediaCommand__ConfJoin j =
		PBX__V1__MEDIA_COMMAND__CONF_JOIN__INIT;
	const struct test_router_ev *e;

	fx_start(&(struct fx_opts){0});
	j.room = (char *)"board";
	j.wait_moderator = true;
	for (size_t i = 0; i < 2; i++) {
		conf_call(i, false);
		e = conf_join_send(i, TENANT, &j);
		cr_assert_eq(e->kind, KIND(CONF_JOINED));
	}
	/* Two members, no moderator: music, not each other. */
	conf_talk(2, both);
	conf_assert_hears(0, 1, false);
	conf_assert_hears(1, 0, false);
	cr_assert_gt(conf_heard_energy(&fx.member[0]), 100.0, "no music");
	/* The moderator comes: the room is live. */
	conf_call(2, false);
	j.moderator = true;
	e = conf_join_send(2, TENANT, &j);
	cr_assert_eq(e->conf_members, 3);
	test_loop_for(300);
	conf_talk(2, both);
	conf_assert_hears(0, 1, true);
	conf_assert_hears(1, 0, true);
}

Test(mwcall, conf_room_ends_with_its_last_moderator_if_asked)
{
	Pbx__V1__MediaCommand__ConfJoin j =
		PBX__V1__MEDIA_COMMAND__CONF_JOIN__INIT;
	const struct test_router_ev *e;

	fx_start(&(struct fx_opts){0});
	j.room = (char *)"board";
	j.end_with_moderator = true;
	for (size_t i = 0; i < 3; i++) {
		conf_call(i, false);
		j.moderator = i == 0;
		e = conf_join_send(i, TENANT, &j);
		cr_assert_eq(e->kind, KIND(CONF_JOINED));
	}
	/* A member leaving ends nobody else. */
	test_ua_hangup(&fx.member[2]);
	cr_assert(wait_event(KIND(HANGUP), 2000));
	test_loop_for(100);
	cr_assert_not(fx.member[1].closed);
	cr_assert_eq(confroom_members(fx.w->conf, TENANT, "board"), 2);
	/* The moderator leaving ends the room. */
	test_ua_hangup(&fx.member[0]);
	cr_assert(test_loop_flag(&fx.member[1].closed, 2000), "no BYE");
	cr_assert(wait_event(KIND(ENDED), 1000));
	e = ev_find(KIND(ENDED));
	cr_assert_str_eq(e->detail, "the moderator left");
	cr_assert_str_eq(e->callid, confm[1].callid);
	cr_assert_eq(confroom_count(fx.w->conf), 0);
}

Test(mwcall, conf_joiner_hears_the_count_then_the_room)
{
	const bool both[2] = {true, true};
	Pbx__V1__MediaCommand__ConfJoin j =
		PBX__V1__MEDIA_COMMAND__CONF_JOIN__INIT;
	const struct test_router_ev *e;
	unsigned before;

	fx_start(&(struct fx_opts){0});
	j.room = (char *)"room1";
	j.announce = true;
	conf_call(0, false);
	e = conf_join_send(0, TENANT, &j);
	cr_assert_eq(e->kind, KIND(CONF_JOINED));
	/* "You are the only participant.", then music: never silence. */
	cr_assert(wait_event(KIND(PLAY_DONE), 5000), "no announcement");
	cr_assert_eq(ev_find(KIND(PLAY_DONE))->seq, e->seq, "%llu vs %llu",
		     (unsigned long long)ev_find(KIND(PLAY_DONE))->seq,
		     (unsigned long long)e->seq);
	test_ua_rx_reset(&fx.member[0], 0);
	test_loop_for(500);
	cr_assert_geq(fx.member[0].rx.pkts, 20, "silence after the count");
	cr_assert_gt(conf_heard_energy(&fx.member[0]), 100.0);
	/* The second hears its count while the first hears the room; then
	 * both hear each other. */
	conf_call(1, false);
	before = ev_count(KIND(PLAY_DONE));
	e = conf_join_send(1, TENANT, &j);
	cr_assert_eq(e->conf_members, 2);
	for (int t = 0; t < 300 && ev_count(KIND(PLAY_DONE)) == before; t++)
		test_loop_for(20);
	cr_assert_gt(ev_count(KIND(PLAY_DONE)), before, "no second count");
	conf_talk(2, both);
	conf_assert_hears(0, 1, true);
	conf_assert_hears(1, 0, true);
}

Test(mwcall, conf_full_room_refuses_the_next_member)
{
	const struct test_router_ev *e;

	fx_start(&(struct fx_opts){0});
	for (size_t i = 0; i < 2; i++) {
		conf_call(i, false);
		e = cmd_conf_join(i, TENANT, "small", false, 2);
		cr_assert_eq(e->kind, KIND(CONF_JOINED));
	}
	conf_call(2, false);
	e = cmd_conf_join(2, TENANT, "small", false, 2);
	cr_assert_eq(e->kind, KIND(CONF_FULL));
	cr_assert_eq(e->conf_members, 2);
	cr_assert_eq(confroom_members(fx.w->conf, TENANT, "small"), 2);
	/* The refused call is still there for the router to end. */
	cr_assert_not_null(worker_call_find(fx.w, confm[2].callid));
}

Test(mwcall, conf_rooms_of_two_tenants_with_one_name_are_apart)
{
	const bool all[3] = {true, true, true};
	const struct test_router_ev *e;

	fx_start(&(struct fx_opts){0});
	conf_call(0, false);
	conf_join(0, "room1", false, 1);
	conf_call(1, false);
	conf_join(1, "room1", false, 2);
	/* Member 2 is a call of tenant t2 (its INVITE says so). */
	conf_call_as(2, false, "t2");
	e = cmd_conf_join(2, "t2", "room1", false, 0);
	cr_assert_eq(e->kind, KIND(CONF_JOINED));
	cr_assert_eq(e->conf_members, 1, "t2's room1 is its own");
	cr_assert_eq(confroom_count(fx.w->conf), 2);
	test_loop_for(300);
	conf_talk(3, all);
	conf_assert_hears(0, 1, true);
	conf_assert_hears(0, 2, false);
	conf_assert_hears(1, 2, false);
}

Test(mwcall, conf_leaving_member_is_gone_and_the_last_frees_the_room)
{
	const bool all[3] = {true, true, true};

	fx_start(&(struct fx_opts){0});
	for (size_t i = 0; i < 3; i++) {
		conf_call(i, false);
		conf_join(i, "room1", false, (unsigned)i + 1);
	}
	test_ua_hangup(&fx.member[0]);
	cr_assert(wait_event(KIND(HANGUP), 2000));
	cr_assert_eq(confroom_members(fx.w->conf, TENANT, "room1"), 2);
	test_loop_for(300); /* the leave tone */
	conf_talk(3, all);
	conf_assert_hears(1, 2, true);
	conf_assert_hears(2, 1, true);
	conf_assert_hears(1, 0, false);
	test_ua_hangup(&fx.member[1]);
	test_ua_hangup(&fx.member[2]);
	cr_assert(test_loop_count(&fx.router.nev, fx.router.nev, 100));
	test_loop_for(300);
	cr_assert_eq(confroom_count(fx.w->conf), 0);
}

Test(mwcall, conf_join_with_a_bad_room_name_fails)
{
	const struct test_router_ev *e;

	fx_start(&(struct fx_opts){0});
	conf_call(0, false);
	e = cmd_conf_join(0, TENANT, "../x", false, 0);
	cr_assert_eq(e->kind, KIND(FAILED));
	cr_assert_str_eq(e->detail, "invalid room name");
	e = cmd_conf_join(0, TENANT, "room1", false, 0);
	cr_assert_eq(e->kind, KIND(CONF_JOINED));
	e = cmd_conf_join(0, TENANT, "room2", false, 0);
	cr_assert_eq(e->kind, KIND(FAILED), "a second room");
	/* Nor is a member rung elsewhere. */
	fx.router.callid[0] = '\0';
	snprintf(fx.router.callid, sizeof(fx.router.callid), "%s",
		 confm[0].callid);
	cmd_ring("sip:101@127.0.0.1", 1000);
	cr_assert(test_loop_count(&fx.router.nev, fx.router.nev + 1, 1000));
	cr_assert_str_eq(test_router_last(&fx.router)->detail,
			 "ring: in a conference");
	cr_assert_eq(fx.callee.invites, 0);
}

Test(mwcall, play_of_a_system_sound_the_tenant_lacks_plays_the_built_in)
{
	const struct test_router_ev *e;

	fx_start(&(struct fx_opts){0});
	call_answered();
	test_ua_rx_reset(&fx.caller, PROMPT_FILL);
	cmd_play("conf_full", 1, false);
	cr_assert(wait_event(KIND(PLAY_DONE), 5000), "no PLAY_DONE");
	e = ev_find(KIND(PLAY_DONE));
	cr_assert_eq(e->seq, 2);
	/* Speech, about two seconds of it; not the table's fill bytes. */
	cr_assert_gt(fx.caller.rx.pkts, 50, "%u packets", fx.caller.rx.pkts);
	cr_assert_eq(fx.caller.rx.fill_pkts, 0);
	cr_assert_gt(conf_heard_energy(&fx.caller), 100.0);
}

/* pbxctl conf mute / kick reach the worker as lines on its control list
 * (worker_conf.c); the list itself is Redis (e2e), the lines are fed
 * here as the poll would. */
Test(mwcall, conf_control_mutes_and_kicks_only_the_tenants_member)
{
	const bool only1[2] = {false, true};
	char line[320];

	fx_start(&(struct fx_opts){0});
	for (size_t i = 0; i < 2; i++) {
		conf_call(i, false);
		conf_join(i, "room1", false, (unsigned)i + 1);
	}
	/* Another tenant's name for the call: nothing happens. */
	snprintf(line, sizeof(line), "t2 %s mute", confm[1].callid);
	cr_assert_eq(worker_conf_ctl(fx.w, line), -ENOENT);
	cr_assert_eq(worker_conf_ctl(fx.w, "garbage"), -EINVAL);
	snprintf(line, sizeof(line), TENANT " %s mute", confm[1].callid);
	cr_assert_eq(worker_conf_ctl(fx.w, line), 0);
	cr_assert(wait_event(KIND(CONF_MUTED), 1000));
	cr_assert(ev_find(KIND(CONF_MUTED))->conf_muted);
	test_loop_for(300);
	conf_talk(2, only1);
	conf_assert_hears(0, 1, false);

	snprintf(line, sizeof(line), TENANT " %s kick", confm[1].callid);
	cr_assert_eq(worker_conf_ctl(fx.w, line), 0);
	cr_assert(test_loop_flag(&fx.member[1].closed, 2000), "no BYE");
	cr_assert(wait_event(KIND(ENDED), 1000));
	cr_assert_str_eq(ev_find(KIND(ENDED))->detail,
			 "kicked from the conference");
	cr_assert_eq(confroom_members(fx.w->conf, TENANT, "room1"), 1);
	cr_assert_not(fx.member[0].closed);
}

/* ---- fax ---------------------------------------------------------------
 * The caller is a fax machine (spandsp's sender, tests/support/fax_peer.c)
 * sending a real multi-page TIFF over the call's RTP in real time. Redis
 * is unreachable (as for voicemail): the fax is on disk, unlisted; the
 * Redis side is in tests/e2e/test_fax.sh. */

#include "fax_peer.h"

/* A fax takes real time (about 20 s for two pages): a suite of its own
 * with a longer timeout (a per-test .timeout leaks in Criterion 2.4.1's
 * runner). */
TestSuite(mwfax, .init = fx_init, .fini = fx_fini, .timeout = 90);

struct fax_call {
	struct fax_peer *peer;
	char sent[160];
	unsigned hangup_after; /* the caller hangs up after this page */
};

static void fax_audio(const uint8_t *p, size_t n, void *arg)
{
	struct fax_call *fc = arg;

	fax_peer_rx(fc->peer, p, n, false);
}

static void fax_src(uint8_t out[TEST_UA_PKT], void *arg)
{
	struct fax_call *fc = arg;

	fax_peer_tx(fc->peer, out, false);
}

static uint64_t cmd_fax(const char *box, bool ecm, bool pdf)
{
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__FaxReceive f =
		PBX__V1__MEDIA_COMMAND__FAX_RECEIVE__INIT;

	f.box = (char *)box;
	f.ecm = ecm;
	f.pdf = pdf;
	f.ident = "PBX";
	mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_FAX_RECEIVE;
	mc.fax_receive = &f;
	return cmd_send(&mc);
}

/* <root>/t1/fax/<id>.<ext> */
static void fax_path(char *buf, size_t size, const char *id, const char *ext)
{
	cr_assert_lt(snprintf(buf, size, "%s/" TENANT "/fax/%s.%s", vm_root,
			      id, ext),
		     (int)size);
}

/* A ringing call told to receive a fax; the caller starts sending. */
static void fax_call_start(struct fax_call *fc, unsigned pages, bool pdf)
{
	vm_root_make();
	snprintf(fc->sent, sizeof(fc->sent), "%s/sent.tif", vm_root);
	cr_assert_eq(fax_peer_make_tiff(fc->sent, pages, 200), 0);
	cr_assert_eq(fax_peer_alloc(&fc->peer, fc->sent, true, "SENDER 1"), 0);
	fx_start(&(struct fx_opts){.media_root = vm_root});
	caller_invite();
	cr_assert(wait_event(KIND(INCOMING), 2000), "no INCOMING");
	cmd_fax("office", true, pdf);
	cr_assert(test_loop_flag(&fx.caller.estab, 2000), "not answered");
	cr_assert(wait_event(KIND(ANSWERED), 1000), "no ANSWERED");
	test_ua_live(&fx.caller, fax_audio, fax_src, fc);
}

static void fax_call_end(struct fax_call *fc)
{
	test_ua_live(&fx.caller, NULL, NULL, NULL);
	fax_peer_free(fc->peer);
	vm_root_remove();
}

static bool fax_page_sent(void *arg)
{
	struct fax_call *fc = arg;
	struct fax_page_info pi[4];
	unsigned final, tmp;
	char path[256] = "";
	int n;

	/* The worker's temporary TIFF holds each page once it is whole. */
	media_files("fax", true, &final, &tmp, path, sizeof(path));
	n = tmp && path[0] ? fax_peer_read_tiff(path, pi, 4) : 0;
	return n > 0 && (unsigned)n >= fc->hangup_after;
}

Test(mwfax, is_received_and_stored_as_tiff_and_pdf)
{
	static struct fax_call fc;
	struct fax_page_info s[4], g[4];
	const struct test_router_ev *e;
	char tif[256], pdf[256];
	int code;
	unsigned pages, final, tmp;

	memset(&fc, 0, sizeof(fc));
	fax_call_start(&fc, 2, true);
	cr_assert(wait_event(KIND(FAX_DONE), 80000), "no FAX_DONE");
	e = ev_find(KIND(FAX_DONE));
	cr_assert_eq(e->fax_result, 0, "T.30 result %d (%s)", e->fax_result,
		     e->detail);
	cr_assert_eq(e->fax_pages, 2);
	cr_assert_str_eq(e->reply_to, "cmd-1", "the FaxReceive's message_id");
	cr_assert_eq(e->seq, 1);
	cr_assert_neq(e->fax_id[0], '\0', "no fax id");
	/* The worker ends the call itself: ENDED, BYE to the sender. */
	cr_assert(wait_event(KIND(ENDED), 3000), "no ENDED");
	cr_assert(test_loop_flag(&fx.caller.closed, 3000), "caller: no BYE");
	/* The sender's DCN ended it for the worker; the sender itself is in
	 * phase E once its line drops (the BYE). */
	fax_peer_hangup(fc.peer);
	cr_assert(fax_peer_done(fc.peer, &code, &pages), "sender not done");
	cr_assert_eq(pages, 2, "sender: %u pages, result %d", pages, code);
	/* What was sent is what is stored. */
	fax_path(tif, sizeof(tif), e->fax_id, "tif");
	fax_path(pdf, sizeof(pdf), e->fax_id, "pdf");
	cr_assert_eq(fax_peer_read_tiff(tif, g, 4), 2);
	cr_assert_eq(fax_peer_read_tiff(fc.sent, s, 4), 2);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(g[i].width, s[i].width);
		cr_assert_leq(abs((int)g[i].rows - (int)s[i].rows), 4,
			      "page %d: %u rows of %u", i + 1, g[i].rows,
			      s[i].rows);
		cr_assert_leq(abs((int)g[i].black - (int)s[i].black),
			      (int)s[i].black / 33, "page %d: %u of %u black",
			      i + 1, g[i].black, s[i].black);
		cr_assert_eq(g[i].y_dpi, 196);
	}
	cr_assert_eq(access(pdf, R_OK), 0, "no PDF");
	/* Nothing temporary left: <id>.tif and <id>.pdf only. */
	media_files("fax", false, &final, &tmp, tif, sizeof(tif));
	cr_assert_eq(tmp, 0);
	cr_assert_eq(final, 2);
	fax_call_end(&fc);
}

Test(mwfax, cut_by_the_sender_keeps_the_pages_so_far)
{
	static struct fax_call fc;
	const struct test_router_ev *e;
	char tif[256];
	struct fax_page_info g[4];

	memset(&fc, 0, sizeof(fc));
	fc.hangup_after = 1;
	fax_call_start(&fc, 3, false);
	cr_assert(test_loop_until(fax_page_sent, &fc, 80000),
		  "page 1 never arrived");
	test_ua_hangup(&fx.caller);
	cr_assert(wait_event(KIND(FAX_DONE), 3000), "no FAX_DONE");
	e = ev_find(KIND(FAX_DONE));
	cr_assert_neq(e->fax_result, 0, "a cut fax is not OK");
	cr_assert_eq(e->fax_pages, 1, "%u pages", e->fax_pages);
	cr_assert(wait_event(KIND(HANGUP), 2000), "no HANGUP");
	fax_path(tif, sizeof(tif), e->fax_id, "tif");
	cr_assert_eq(fax_peer_read_tiff(tif, g, 4), 1);
	cr_assert_eq(g[0].width, 1728);
	fax_path(tif, sizeof(tif), e->fax_id, "pdf");
	cr_assert_neq(access(tif, F_OK), 0, "format tiff: no PDF");
	fax_call_end(&fc);
}

Test(mwfax, worker_stopping_mid_fax_records_it_and_ends_the_call)
{
	static struct fax_call fc;
	const struct test_router_ev *e;

	memset(&fc, 0, sizeof(fc));
	fax_call_start(&fc, 2, false);
	test_loop_for(3000); /* T.30 under way, no page yet */
	cr_assert_eq(worker_signals_block(), 0);
	cr_assert_eq(raise(SIGTERM), 0);
	cr_assert(wait_event(KIND(FAX_DONE), 2000), "no FAX_DONE");
	e = ev_find(KIND(FAX_DONE));
	cr_assert_neq(e->fax_result, 0, "a fax cut short is not OK");
	cr_assert_eq(e->fax_pages, 0);
	cr_assert(wait_event(KIND(ENDED), 2000), "no ENDED");
	cr_assert_eq(strncmp(ev_find(KIND(ENDED))->detail, "fax: failed ", 12),
		     0, "%s", ev_find(KIND(ENDED))->detail);
	cr_assert(test_loop_flag(&fx.caller.closed, 2000), "caller: no BYE");
	fax_call_end(&fc);
}

Test(mwfax, hangup_command_mid_fax_stores_it_first)
{
	static struct fax_call fc;
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Hangup h = PBX__V1__MEDIA_COMMAND__HANGUP__INIT;
	unsigned final, tmp, fax_at = 0, ended_at = 0;
	char path[256];

	memset(&fc, 0, sizeof(fc));
	fax_call_start(&fc, 2, false);
	test_loop_for(2000);
	mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_HANGUP;
	mc.hangup = &h;
	cmd_send(&mc);
	cr_assert(wait_event(KIND(ENDED), 2000), "no ENDED");
	for (unsigned i = 0; i < fx.router.nev; i++) {
		if (fx.router.evs[i].kind == KIND(FAX_DONE))
			fax_at = i + 1;
		if (fx.router.evs[i].kind == KIND(ENDED))
			ended_at = i + 1;
	}
	cr_assert(fax_at && fax_at < ended_at, "FAX_DONE %u, ENDED %u",
		  fax_at, ended_at);
	cr_assert(test_loop_flag(&fx.caller.closed, 2000), "caller: no BYE");
	media_files("fax", true, &final, &tmp, path, sizeof(path));
	cr_assert_eq(tmp, 0, "a temporary TIFF is left");
	cr_assert_eq(final, 0, "no page arrived: no file kept");
	fax_call_end(&fc);
}

Test(mwfax, with_a_bad_box_or_ident_fails_the_command)
{
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__FaxReceive f =
		PBX__V1__MEDIA_COMMAND__FAX_RECEIVE__INIT;

	fx_start(&(struct fx_opts){.media_root = "/proc/pbx-no-store"});
	call_answered();
	cmd_fax("../x", true, false);
	cr_assert(wait_event(KIND(FAILED), 2000), "no FAILED");
	cr_assert_str_eq(ev_find(KIND(FAILED))->detail,
			 "fax: invalid fax box");
	f.box = "office";
	f.ident = "line\nbreak";
	mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_FAX_RECEIVE;
	mc.fax_receive = &f;
	cmd_send(&mc);
	cr_assert(test_loop_count(&fx.router.nev, 4, 2000));
	cr_assert_str_eq(fx.router.evs[3].detail,
			 "fax: fax ident must be at most 20 printable "
			 "characters");
	cmd_fax("office", true, false);
	cr_assert(test_loop_count(&fx.router.nev, 5, 2000));
	cr_assert_str_eq(fx.router.evs[4].detail,
			 "fax: media store unavailable");
	cr_assert_not(fx.caller.closed, "the call goes on");
}

/* ---- call recording (RecordCall, callrec.c, worker_rec.c) --------------
 * Redis is down here (port 1) as for voicemail above: the recording stays
 * on disk, unlisted; listing and download are in tests/e2e. */

/* RecordCall with its channels and queue (the router's queue node). */
static uint64_t cmd_record_call_of(const char *ext, const char *queue,
				   unsigned channels, uint32_t max_ms)
{
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__RecordCall r =
		PBX__V1__MEDIA_COMMAND__RECORD_CALL__INIT;

	r.extension = (char *)ext;
	r.prompt = (char *)"";
	r.queue = (char *)queue;
	r.channels = channels;
	r.max_ms = max_ms;
	mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_RECORD_CALL;
	mc.record_call = &r;
	return cmd_send(&mc);
}

static uint64_t cmd_record_call(const char *ext, const char *prompt,
				uint32_t max_ms)
{
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__RecordCall r =
		PBX__V1__MEDIA_COMMAND__RECORD_CALL__INIT;

	r.extension = (char *)ext;
	r.prompt = (char *)prompt;
	r.max_ms = max_ms;
	mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_RECORD_CALL;
	mc.record_call = &r;
	return cmd_send(&mc);
}

/* n µ-law samples of a sine of hz at about -6 dBm0. */
static void tone_ulaw(uint8_t *out, size_t n, double hz)
{
	for (size_t i = 0; i < n; i++)
		out[i] = mwlaw_encode(
			(int16_t)(8000.0 * sin(2.0 * M_PI * hz * (double)i /
					       8000.0)),
			OFFER_ULAW);
}

/* Goertzel power of hz over the whole of channel ch of a file of
 * `channels` channels, normalised per sample; the file's length in ms. */
static double wav_power_ch(const char *path, unsigned channels, unsigned ch,
			   double hz, unsigned *ms)
{
	SF_INFO info = {0};
	SNDFILE *sf = sf_open(path, SFM_READ, &info);
	double coef = 2.0 * cos(2.0 * M_PI * hz / 8000.0), s1 = 0, s2 = 0;
	short buf[800];
	sf_count_t got, n = 0;

	cr_assert_not_null(sf, "%s: %s", path, sf_strerror(NULL));
	cr_assert_eq(info.samplerate, 8000);
	cr_assert_eq(info.channels, (int)channels);
	cr_assert_eq(info.format, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
	while ((got = sf_readf_short(sf, buf, 800 / channels)) > 0) {
		for (sf_count_t i = 0; i < got; i++) {
			double s0 = buf[i * channels + ch] + coef * s1 - s2;

			s2 = s1;
			s1 = s0;
		}
		n += got;
	}
	sf_close(sf);
	*ms = (unsigned)(info.frames * 1000 / 8000);
	return n ? (s1 * s1 + s2 * s2 - coef * s1 * s2) / (double)n : 0;
}

static double wav_power(const char *path, double hz, unsigned *ms)
{
	return wav_power_ch(path, 1, 0, hz, ms);
}

static uint8_t tone_a[16000], tone_b[16000];

Test(mwcall, record_call_mixes_both_sides_of_the_bridge_into_one_wav)
{
	unsigned final, tmp, ms;
	double pa, pb, pn;
	char path[256];

	vm_root_make();
	fx_start(&(struct fx_opts){.media_root = vm_root});
	caller_invite();
	cr_assert(wait_event(KIND(INCOMING), 2000), "no INCOMING");
	cmd_record_call("bob", "", 0);
	ring_callee(5000);
	cr_assert(test_loop_flag(&fx.callee.estab, 3000), "callee: no ACK");
	cr_assert(test_loop_flag(&fx.caller.estab, 3000), "caller: no 200");
	cr_assert(wait_event(KIND(RING_RESULT), 1000), "no RING_RESULT");
	cr_assert_eq(ev_count(KIND(FAILED)), 0, "RecordCall failed");
	/* 2 s of 440 Hz from the caller, 2 s of 1000 Hz from the callee. */
	tone_ulaw(tone_a, sizeof(tone_a), 440.0);
	tone_ulaw(tone_b, sizeof(tone_b), 1000.0);
	test_ua_play(&fx.caller, tone_a, sizeof(tone_a));
	test_ua_play(&fx.callee, tone_b, sizeof(tone_b));
	cr_assert(test_loop_count(&fx.caller.tx_pkts, 100, 4000));
	cr_assert(test_loop_count(&fx.callee.tx_pkts, 100, 4000));
	test_loop_for(60);
	test_ua_hangup(&fx.caller);
	cr_assert(wait_event(KIND(HANGUP), 2000), "no HANGUP");
	cr_assert(test_loop_flag(&fx.callee.closed, 2000), "callee: no BYE");

	media_files("rec", false, &final, &tmp, path, sizeof(path));
	cr_assert_eq(tmp, 0, "temporary file left");
	cr_assert_eq(final, 1, "%u recordings", final);
	pa = wav_power(path, 440.0, &ms);
	pb = wav_power(path, 1000.0, &ms);
	pn = wav_power(path, 700.0, &ms);
	/* From the 200 OK to the BYE: the 2 s of tones and a little. */
	cr_assert(ms >= 1900 && ms <= 2600, "%u ms recorded", ms);
	cr_assert_gt(pa, 100.0 * pn, "440 Hz %g vs 700 Hz %g", pa, pn);
	cr_assert_gt(pb, 100.0 * pn, "1000 Hz %g vs 700 Hz %g", pb, pn);
	/* Both at the level they were sent at: neither side lost. */
	cr_assert(pa > pb / 4 && pb > pa / 4, "440 Hz %g, 1000 Hz %g", pa, pb);
	/* No voicemail file: the recording has its own place. */
	vm_files(&final, &tmp, path, sizeof(path));
	cr_assert_eq(final + tmp, 0);
	vm_root_remove();
}

Test(mwcall, record_call_without_a_bridge_leaves_no_file)
{
	unsigned final, tmp;
	char path[256];

	vm_root_make();
	fx_start(&(struct fx_opts){.media_root = vm_root});
	fx.callee.reject_code = 486;
	caller_invite();
	cr_assert(wait_event(KIND(INCOMING), 2000), "no INCOMING");
	cmd_record_call("bob", "", 0);
	ring_callee(5000);
	cr_assert(wait_event(KIND(RING_RESULT), 2000), "no RING_RESULT");
	cr_assert_eq(ev_find(KIND(RING_RESULT))->ring_result,
		     PBX__V1__MEDIA_EVENT__RING_RESULT__RING_BUSY);
	test_ua_hangup(&fx.caller);
	cr_assert(wait_event(KIND(HANGUP), 2000), "no HANGUP");
	media_files("rec", false, &final, &tmp, path, sizeof(path));
	cr_assert_eq(final, 0, "%u recordings of an unbridged call", final);
	cr_assert_eq(tmp, 0, "temporary file left");
	fx.callee.reject_code = 0;
	vm_root_remove();
}

Test(mwcall, record_call_stops_writing_at_max_ms)
{
	unsigned final, tmp, ms;
	char path[256];

	vm_root_make();
	fx_start(&(struct fx_opts){.media_root = vm_root});
	caller_invite();
	cr_assert(wait_event(KIND(INCOMING), 2000), "no INCOMING");
	cmd_record_call("bob", "", 500);
	ring_callee(5000);
	cr_assert(wait_event(KIND(RING_RESULT), 3000), "no RING_RESULT");
	tone_ulaw(tone_a, sizeof(tone_a), 440.0);
	test_ua_play(&fx.caller, tone_a, 8000);
	cr_assert(test_loop_count(&fx.caller.tx_pkts, 50, 3000));
	test_ua_hangup(&fx.caller);
	cr_assert(wait_event(KIND(HANGUP), 2000), "no HANGUP");
	media_files("rec", false, &final, &tmp, path, sizeof(path));
	cr_assert_eq(final, 1);
	(void)wav_power(path, 440.0, &ms);
	cr_assert_eq(ms, 500, "%u ms recorded", ms);
	vm_root_remove();
}

static void redis_hget_field(struct redis_fixture *rf, char *buf,
			     size_t size, const char *key, const char *field)
{
	redisReply *r = redis_fixture_cmd(rf, "HGET %s %s", key, field);

	cr_assert_not_null(r);
	snprintf(buf, size, "%s",
		 r->type == REDIS_REPLY_STRING ? r->str : "");
	freeReplyObject(r);
}

/* 2 s of 440 Hz from the caller and of 1000 Hz from the callee on the
 * bridge, then the caller hangs up; the one recording's path. */
static void record_two_tones(char *path, size_t size)
{
	unsigned final, tmp;

	cr_assert(test_loop_flag(&fx.callee.estab, 3000), "callee: no ACK");
	cr_assert(test_loop_flag(&fx.caller.estab, 3000), "caller: no 200");
	cr_assert(wait_event(KIND(RING_RESULT), 1000), "no RING_RESULT");
	cr_assert_eq(ev_count(KIND(FAILED)), 0, "RecordCall failed");
	tone_ulaw(tone_a, sizeof(tone_a), 440.0);
	tone_ulaw(tone_b, sizeof(tone_b), 1000.0);
	test_ua_play(&fx.caller, tone_a, sizeof(tone_a));
	test_ua_play(&fx.callee, tone_b, sizeof(tone_b));
	cr_assert(test_loop_count(&fx.caller.tx_pkts, 100, 4000));
	cr_assert(test_loop_count(&fx.callee.tx_pkts, 100, 4000));
	test_loop_for(60);
	test_ua_hangup(&fx.caller);
	cr_assert(wait_event(KIND(HANGUP), 2000), "no HANGUP");
	cr_assert(test_loop_flag(&fx.callee.closed, 2000), "callee: no BYE");
	media_files("rec", false, &final, &tmp, path, size);
	cr_assert_eq(tmp, 0, "temporary file left");
	cr_assert_eq(final, 1, "%u recordings", final);
}

/* Left: the caller's 440 Hz and not the callee's 1000 Hz; right: the
 * other way round; 2 s and a little; the file's size is a stereo WAV's. */
static void assert_stereo_sides(const char *path)
{
	unsigned ms;
	double l440 = wav_power_ch(path, 2, 0, 440.0, &ms);
	double l1000 = wav_power_ch(path, 2, 0, 1000.0, &ms);
	double r440 = wav_power_ch(path, 2, 1, 440.0, &ms);
	double r1000 = wav_power_ch(path, 2, 1, 1000.0, &ms);
	struct stat st;

	cr_assert(ms >= 1900 && ms <= 2600, "%u ms recorded", ms);
	cr_assert_gt(l440, 100.0 * l1000, "left: 440 Hz %g, 1000 Hz %g", l440,
		     l1000);
	cr_assert_gt(r1000, 100.0 * r440, "right: 1000 Hz %g, 440 Hz %g",
		     r1000, r440);
	/* Each at the level it was sent at. */
	cr_assert(l440 > r1000 / 4 && r1000 > l440 / 4, "%g vs %g", l440,
		  r1000);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq((long long)st.st_size, 44 + (long long)ms * 8 * 4,
		     "%lld bytes for %u ms", (long long)st.st_size, ms);
}

Test(mwcall, record_call_two_channels_puts_the_caller_left_the_callee_right)
{
	char path[256];

	vm_root_make();
	fx_start(&(struct fx_opts){.media_root = vm_root});
	caller_invite();
	cr_assert(wait_event(KIND(INCOMING), 2000), "no INCOMING");
	cmd_record_call_of("bob", "", 2, 0);
	ring_callee(5000);
	record_two_tones(path, sizeof(path));
	assert_stereo_sides(path);
	vm_root_remove();
}

/* A queue's recording (RecordCall{queue} before the agents ring as named
 * legs): the agent whose leg answers is named in the metadata with the
 * queue, next to the channels and the bytes the tenant is counted. */
Test(mwcall, record_call_of_a_queue_names_the_agent_that_answered)
{
	struct redis_fixture rf = {0};
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Ring r = PBX__V1__MEDIA_COMMAND__RING__INIT;
	char target[64], path[256], key[160], v[128];
	const char *id;
	struct stat st;

	cr_assert_eq(redis_fixture_start(&rf), 0, "no redis-server");
	vm_root_make();
	fx_start(&(struct fx_opts){.media_root = vm_root,
				   .redis_port = rf.port});
	caller_invite();
	cr_assert(wait_event(KIND(INCOMING), 2000), "no INCOMING");
	cmd_record_call_of("", "support", 2, 0);
	re_snprintf(target, sizeof(target), "sip:bob@%J", &fx.callee.sip_addr);
	r.target_uri = target;
	r.timeout_ms = 5000;
	r.dest_kind = (char *)"extension";
	r.leg = (char *)"7:bob";
	mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_RING;
	mc.ring = &r;
	cmd_send(&mc);
	record_two_tones(path, sizeof(path));
	assert_stereo_sides(path);
	id = strrchr(path, '/') + 1;
	snprintf(key, sizeof(key), "pbx:{" TENANT "}:rec:msg:%.*s",
		 (int)(strlen(id) - 4), id);
	redis_hget_field(&rf, v, sizeof(v), key, "extension");
	cr_assert_str_eq(v, "bob");
	redis_hget_field(&rf, v, sizeof(v), key, "queue");
	cr_assert_str_eq(v, "support");
	redis_hget_field(&rf, v, sizeof(v), key, "channels");
	cr_assert_str_eq(v, "2");
	cr_assert_eq(stat(path, &st), 0);
	redis_hget_field(&rf, v, sizeof(v), key, "bytes");
	cr_assert_eq(atoll(v), (long long)st.st_size);
	cr_assert_eq(acc_int(&rf, "GET pbx:{" TENANT "}:rec:%s", "bytes"),
		     (long long)st.st_size);
	vm_root_remove();
	redis_fixture_stop(&rf);
}

static bool caller_heard_prompt(void *arg)
{
	(void)arg;
	return fx.caller.rx.fill_pkts >= 50;
}

/* record_prompt: the caller hears the whole announcement (the table's
 * prompt "hello": 50 packets of PROMPT_FILL) once the callee answers;
 * the recording is made all the same. */
Test(mwcall, record_call_prompt_is_played_to_the_caller_at_the_bridge)
{
	unsigned final, tmp;
	char path[256];

	vm_root_make();
	fx_start(&(struct fx_opts){.media_root = vm_root});
	caller_invite();
	cr_assert(wait_event(KIND(INCOMING), 2000), "no INCOMING");
	test_ua_rx_reset(&fx.caller, PROMPT_FILL);
	cmd_record_call("bob", "hello", 0);
	ring_callee(5000);
	cr_assert(wait_event(KIND(RING_RESULT), 3000), "no RING_RESULT");
	cr_assert(test_loop_until(caller_heard_prompt, NULL, 3000),
		  "caller heard %u packets of the announcement",
		  fx.caller.rx.fill_pkts);
	cr_assert_eq(ev_count(KIND(FAILED)), 0);
	test_ua_talk(&fx.caller, 10, 0x20);
	cr_assert(test_loop_count(&fx.caller.tx_pkts, 10, 2000));
	test_ua_hangup(&fx.caller);
	cr_assert(wait_event(KIND(HANGUP), 2000), "no HANGUP");
	media_files("rec", false, &final, &tmp, path, sizeof(path));
	cr_assert_eq(final, 1);
	cr_assert_eq(tmp, 0);
	vm_root_remove();
}

/* --- metrics (worker_metrics.c) ------------------------------------------ */

struct scrape {
	int fd;
	char buf[32768];
	size_t len;
	bool done;
};

/* Reads what arrived; done at EOF or once Content-Length bytes came. */
static bool scrape_read(void *arg)
{
	struct scrape *sc = arg;
	const char *cl, *body;
	ssize_t n;

	while ((n = recv(sc->fd, sc->buf + sc->len,
			 sizeof(sc->buf) - 1 - sc->len, MSG_DONTWAIT)) > 0)
		sc->len += (size_t)n;
	sc->buf[sc->len] = '\0';
	if (n == 0)
		return sc->done = true;
	body = strstr(sc->buf, "\r\n\r\n");
	cl = strcasestr(sc->buf, "Content-Length: ");
	if (body && cl &&
	    sc->len - (size_t)(body + 4 - sc->buf) >=
		    strtoul(cl + 16, NULL, 10))
		sc->done = true;
	return sc->done;
}

/* GET path (with a pad header of pad bytes) from the worker's endpoint
 * while its loop runs; the status. */
static int scrape_pad(uint16_t port, const char *path, size_t pad,
		      struct scrape *sc)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	static char req[16384], padv[12288];
	int st = 0, n;

	cr_assert_lt(pad, sizeof(padv));
	memset(padv, 'a', pad);
	padv[pad] = '\0';
	memset(sc, 0, sizeof(*sc));
	sc->fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(sc->fd >= 0);
	cr_assert_eq(connect(sc->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n\r\n", path,
		     padv);
	cr_assert_eq(send(sc->fd, req, (size_t)n, 0), n);
	cr_assert(test_loop_until(scrape_read, sc, 2000), "no answer: %s",
		  sc->buf);
	close(sc->fd);
	sscanf(sc->buf, "HTTP/1.%*d %d", &st);
	return st;
}

static int scrape(uint16_t port, const char *path, struct scrape *sc)
{
	return scrape_pad(port, path, 0, sc);
}

static unsigned long sample(const struct scrape *sc, const char *name)
{
	char pat[128];
	const char *p;

	snprintf(pat, sizeof(pat), "\n%s ", name);
	p = strstr(sc->buf, pat);
	cr_assert_not_null(p, "no %s in %s", name, sc->buf);
	return strtoul(p + strlen(pat), NULL, 10);
}

Test(mwcall, metrics_count_the_call_and_its_rtp_on_the_worker_loop)
{
	uint16_t port = test_free_port();
	struct scrape sc;

	fx_start(&(struct fx_opts){.caller_te = true, .prompt_len = 8000,
				   .metrics_port = port});
	cr_assert_eq(scrape(port, "/health", &sc), 200, "%s", sc.buf);
	cr_assert_eq(scrape(port, "/metrics", &sc), 200, "%s", sc.buf);
	cr_assert(strstr(sc.buf, "pbx_up{service=\"media-worker\"} 1"));
	cr_assert_eq(sample(&sc, "pbx_worker_active_calls"), 0);
	cr_assert_eq(sample(&sc, "pbx_worker_capacity"), 10);
	call_answered();
	cmd_play("hello", 1, false);
	cr_assert(wait_event(KIND(PLAY_DONE), 3000), "no PLAY_DONE");
	test_loop_for(100);
	cr_assert_eq(scrape(port, "/metrics", &sc), 200);
	cr_expect_eq(sample(&sc, "pbx_worker_active_calls"), 1);
	cr_expect_eq(sample(&sc, "pbx_worker_active_legs"), 1);
	cr_expect_eq(sample(&sc, "pbx_worker_calls_total"), 1);
	/* What the caller counted left through the worker's legs. */
	cr_expect_geq(sample(&sc, "pbx_worker_rtp_sent_total"),
		      fx.caller.rx.pkts, "caller got %u", fx.caller.rx.pkts);
	cr_expect_geq(fx.caller.rx.pkts, 50);
	cr_expect_eq(scrape(port, "/nope", &sc), 404);
	/* Bounded as everywhere: a scrape is one short request. */
	cr_expect_eq(scrape_pad(port, "/metrics", 8000, &sc), 400, "%.80s",
		     sc.buf);
	cr_expect_null(strstr(sc.buf, "pbx_worker"));
	/* The router gone: its heartbeats fail, the worker is unhealthy. */
	test_router_close(&fx.router);
	test_loop_for(2500);
	cr_expect_eq(scrape(port, "/health", &sc), 503, "%s", sc.buf);
	cr_expect(strstr(sc.buf, "unhealthy: no router reachable"));
}

/* ---- transfer (mwcall_xfer.c) ---- */

static unsigned refer_code; /* final answer to the last ua_refer() */

static void refer_resp(int err, const struct sip_msg *msg, void *arg)
{
	(void)arg;
	if (!err && msg && msg->scode < 200)
		return;
	refer_code = err ? 1 : msg->scode;
}

/* ua sends REFER in its call's dialog with Refer-To: <to>. */
static void ua_refer(struct test_ua *ua, const char *to)
{
	refer_code = 0;
	cr_assert_eq(sip_drequestf(NULL, ua->sip, true, "REFER",
				   sipsess_dialog(ua->sess), 0, NULL, NULL,
				   refer_resp, NULL,
				   "Refer-To: <%s>\r\n"
				   "Content-Length: 0\r\n\r\n",
				   to),
		     0);
}

static bool refer_answered(void *arg)
{
	(void)arg;
	return refer_code != 0;
}

/* A Ring (or, with transfer, the router's answer to TRANSFER) of
 * user@ua's address as dest_kind kind. */
static void cmd_ring_kind(bool transfer, const char *user,
			  const struct test_ua *ua, const char *kind)
{
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Ring r = PBX__V1__MEDIA_COMMAND__RING__INIT;
	char target[64];

	re_snprintf(target, sizeof(target), "sip:%s@%J", user, &ua->sip_addr);
	r.target_uri = target;
	r.timeout_ms = 5000;
	r.dest_kind = (char *)kind;
	mc.cmd_case = transfer ? PBX__V1__MEDIA_COMMAND__CMD_TRANSFER
			       : PBX__V1__MEDIA_COMMAND__CMD_RING;
	if (transfer)
		mc.transfer = &r;
	else
		mc.ring = &r;
	cmd_send(&mc);
}

static void cmd_transfer_to_carol(void)
{
	cmd_ring_kind(true, "carol", &fx.callee2, "extension");
}

/* The final answer to ua's REFER to `to`. */
static unsigned refer_answer(struct test_ua *ua, const char *to)
{
	ua_refer(ua, to);
	cr_assert(test_loop_until(refer_answered, NULL, 2000), "no answer");
	return refer_code;
}

static bool talk_got(void *arg)
{
	struct test_ua **ua = arg;

	return ua[0]->rx.fill_pkts >= 25 && ua[1]->rx.fill_pkts >= 25;
}

/* a and b hear each other's bytes. */
static void assert_talk(struct test_ua *a, struct test_ua *b)
{
	struct test_ua *uas[2] = {a, b};

	test_ua_rx_reset(a, 0x33);
	test_ua_rx_reset(b, 0x11);
	test_ua_talk(a, 30, 0x11);
	test_ua_talk(b, 30, 0x33);
	cr_assert(test_loop_until(talk_got, uas, 3000),
		  "relayed: to %s %u, to %s %u", a->name, a->rx.fill_pkts,
		  b->name, b->rx.fill_pkts);
}

/* alice (an extension) called, bob answered a Ring; carol is the
 * target, rung directly (no edge in between). */
static void xfer_start(void)
{
	fx_start(&(struct fx_opts){.caller_te = true});
	test_ua_open(&fx.callee2, "carol", 0, true);
	call_bridged();
	fx.w->edge_uri[0] = '\0';
}

/* ua REFERs the call to carol: 202, then TRANSFER names transferor and
 * target. */
static void refer_to_carol(struct test_ua *ua, const char *by)
{
	const struct test_router_ev *e;

	cr_assert_eq(refer_answer(ua, "sip:carol@t1.pbx.local"), 202);
	cr_assert(wait_event(KIND(TRANSFER), 1000), "no TRANSFER");
	e = ev_find(KIND(TRANSFER));
	cr_assert_str_eq(e->caller, by);
	cr_assert_str_eq(e->dialed, "carol");
}

Test(mwcall, blind_transfer_bridges_the_caller_to_the_target)
{
	const struct test_router_ev *e;

	xfer_start();
	fx.callee2.answer_delay_ms = 400;
	refer_to_carol(&fx.callee, "bob");
	test_ua_rx_reset(&fx.caller, 0x22);
	cmd_transfer_to_carol();
	cr_assert(test_loop_count(&fx.callee2.invites, 1, 2000), "no INVITE");
	/* The target sees who is transferred to it. */
	cr_assert_str_eq(fx.callee2.inv_from_user, "alice");
	/* The caller hears ringback while it rings, not bob. */
	test_loop_for(300);
	cr_assert_geq(fx.caller.rx.pkts, 10, "%u packets", fx.caller.rx.pkts);
	cr_assert(test_loop_flag(&fx.callee2.estab, 3000), "carol: no ACK");
	cr_assert(wait_event(KIND(TRANSFER_DONE), 1000), "no TRANSFER_DONE");
	e = ev_find(KIND(TRANSFER_DONE));
	cr_assert_eq(e->ring_result,
		     PBX__V1__MEDIA_EVENT__RING_RESULT__RING_ANSWERED);
	/* The transferor's leg ends (after the final NOTIFY). */
	cr_assert(test_loop_flag(&fx.callee.closed, 3000), "bob: no BYE");
	cr_assert_eq(fx.callee.close_err, ECONNRESET);
	assert_talk(&fx.caller, &fx.callee2);
	cr_assert_not(fx.caller.closed);
	cr_assert_eq(ev_count(KIND(HANGUP)), 0);
	/* The target hangs up: the call ends. */
	test_ua_hangup(&fx.callee2);
	cr_assert(test_loop_flag(&fx.caller.closed, 2000), "alice: no BYE");
	cr_assert(wait_event(KIND(HANGUP), 1000));
	cr_assert_null(the_call());
}

Test(mwcall, transfer_to_a_busy_target_returns_to_the_transferor)
{
	const struct test_router_ev *e;

	xfer_start();
	fx.callee2.reject_code = 486;
	refer_to_carol(&fx.callee, "bob");
	cmd_transfer_to_carol();
	cr_assert(wait_event(KIND(TRANSFER_DONE), 2000), "no TRANSFER_DONE");
	e = ev_find(KIND(TRANSFER_DONE));
	cr_assert_eq(e->ring_result,
		     PBX__V1__MEDIA_EVENT__RING_RESULT__RING_BUSY);
	cr_assert_eq(e->sip_code, 486);
	test_loop_for(200);
	cr_assert_not(fx.callee.closed, "bob was hung up");
	cr_assert_not(fx.caller.closed);
	assert_talk(&fx.caller, &fx.callee);

	/* A refusal of the router (transfer_refuse) keeps it too, and a
	 * second transfer may follow. */
	{
		Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
		Pbx__V1__MediaCommand__TransferRefuse tr =
			PBX__V1__MEDIA_COMMAND__TRANSFER_REFUSE__INIT;

		test_loop_for(200); /* the final NOTIFY's answer */
		cr_assert_eq(refer_answer(&fx.callee, "sip:carol@t2.pbx.local"),
			     202);
		test_loop_for(200);
		cr_assert_eq(ev_count(KIND(TRANSFER)), 2);
		tr.sip_code = 403;
		tr.reason = (char *)"Forbidden (another tenant's domain)";
		mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_TRANSFER_REFUSE;
		mc.transfer_refuse = &tr;
		cmd_send(&mc);
		test_loop_for(200);
		cr_assert_not(fx.callee.closed);
		assert_talk(&fx.caller, &fx.callee);
	}
}

Test(mwcall, caller_transfers_the_callee_to_the_target)
{
	xfer_start();
	fx.callee2.answer_delay_ms = 400;
	test_ua_rx_reset(&fx.callee, 0x77);
	refer_to_carol(&fx.caller, "alice");
	cmd_transfer_to_carol();
	cr_assert(test_loop_count(&fx.callee2.invites, 1, 2000), "no INVITE");
	cr_assert_str_eq(fx.callee2.inv_from_user, "bob");
	/* bob hears ringback meanwhile (alice sends nothing: all of it is
	 * the worker's). */
	test_loop_for(300);
	cr_assert_geq(fx.callee.rx.pkts, 10, "bob got %u packets",
		      fx.callee.rx.pkts);
	cr_assert(wait_event(KIND(TRANSFER_DONE), 3000), "no TRANSFER_DONE");
	cr_assert(test_loop_flag(&fx.caller.closed, 3000), "alice: no BYE");
	cr_assert_not(fx.callee.closed);
	assert_talk(&fx.callee, &fx.callee2);
	test_ua_hangup(&fx.callee);
	cr_assert(test_loop_flag(&fx.callee2.closed, 2000), "carol: no BYE");
	cr_assert(wait_event(KIND(HANGUP), 1000));
	cr_assert_null(the_call());
}

Test(mwcall, refer_from_a_carrier_leg_or_an_outside_caller_is_refused)
{
	/* An outside caller (no X-Pbx-Source), bridged to a carrier. */
	fx_start(&(struct fx_opts){0});
	call_worker(&fx.caller, "X-Pbx-Tenant: " TENANT "\r\n");
	cr_assert(wait_event(KIND(INCOMING), 2000));
	cmd_ring_kind(false, "+74951112233", &fx.callee, "external");
	cr_assert(test_loop_flag(&fx.caller.estab, 3000), "not bridged");
	cr_assert_eq(refer_answer(&fx.callee, "sip:102@t1.pbx.local"), 403);
	cr_assert_eq(refer_answer(&fx.caller, "sip:102@t1.pbx.local"), 403);
	test_loop_for(100);
	cr_assert_eq(ev_count(KIND(TRANSFER)), 0);
	assert_talk(&fx.caller, &fx.callee);
}

/* ---- a call that starts with our INVITE (Originate) ---- */

#define ORIG_ID "cb-7-orig@test"

static uint64_t cmd_originate(const char *callid, uint32_t timeout_ms)
{
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Originate o =
		PBX__V1__MEDIA_COMMAND__ORIGINATE__INIT;
	char target[64];

	re_snprintf(target, sizeof(target), "sip:bob@%J",
		    &fx.callee.sip_addr);
	o.target_uri = target;
	o.timeout_ms = timeout_ms;
	o.caller_id = (char *)"79990001111";
	o.dest_kind = (char *)"external";
	mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_ORIGINATE;
	mc.originate = &o;
	return cmd_send_to(&mc, TENANT, callid);
}

static void cmd_play_to(const char *callid, const char *prompt)
{
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Play p = PBX__V1__MEDIA_COMMAND__PLAY__INIT;

	p.prompt = (char *)prompt;
	p.loops = 1;
	mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_PLAY;
	mc.play = &p;
	cmd_send_to(&mc, TENANT, callid);
}

static void cmd_hangup_to(const char *callid)
{
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Hangup h = PBX__V1__MEDIA_COMMAND__HANGUP__INIT;

	h.sip_code = 200;
	h.reason = (char *)"test";
	mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_HANGUP;
	mc.hangup = &h;
	cmd_send_to(&mc, TENANT, callid);
}

static bool callee_got(void *arg)
{
	return fx.callee.rx.fill_pkts >= *(unsigned *)arg;
}

/* The agent's phone is called first: it answers, the call is up (RTP
 * both ways, a Play reaches it), and it is an ordinary call after that
 * (a Hangup sends BYE). */
Test(mwcall, originate_calls_out_and_the_answered_call_takes_commands)
{
	const struct test_router_ev *e;
	uint64_t seq;

	fx_start(&(struct fx_opts){0});
	seq = cmd_originate(ORIG_ID, 5000);
	cr_assert(test_loop_count(&fx.callee.invites, 1, 2000), "no INVITE");
	cr_assert_str_eq(fx.callee.inv_tenant, TENANT);
	cr_assert_str_eq(fx.callee.inv_dest, "external");
	cr_assert_str_eq(fx.callee.inv_call, ORIG_ID);
	cr_assert_str_eq(fx.callee.inv_from_user, "79990001111");
	cr_assert(test_loop_flag(&fx.callee.estab, 3000), "callee: no ACK");
	cr_assert(wait_event(KIND(ANSWERED), 2000), "no ANSWERED");
	e = ev_find(KIND(ANSWERED));
	cr_assert_eq(e->seq, seq);
	cr_assert_str_eq(e->callid, ORIG_ID);
	cr_assert_eq(ev_count(KIND(INCOMING)), 0);
	cr_assert_eq(ev_count(KIND(FAILED)), 0);
	/* The same id again is refused: it is in use. */
	cmd_originate(ORIG_ID, 5000);
	cr_assert(wait_event(KIND(FAILED), 1000));
	cr_assert_str_eq(ev_find(KIND(FAILED))->detail, "call id in use");

	test_ua_rx_reset(&fx.callee, PROMPT_FILL);
	cmd_play_to(ORIG_ID, "hello");
	cr_assert(test_loop_until(callee_got, &(unsigned){25}, 2000),
		  "the prompt: %u packets", fx.callee.rx.fill_pkts);
	cr_assert_not_null(worker_call_find(fx.w, ORIG_ID));
	cmd_hangup_to(ORIG_ID);
	cr_assert(test_loop_flag(&fx.callee.closed, 2000), "no BYE");
	cr_assert(wait_event(KIND(ENDED), 1000));
	cr_assert_null(worker_call_find(fx.w, ORIG_ID));
}

/* Busy, or no answer in time (CANCEL): HANGUP with the ring result, and
 * the call is gone. */
Test(mwcall, originate_busy_or_unanswered_reports_and_ends)
{
	const struct test_router_ev *e;
	uint64_t t0;

	fx_start(&(struct fx_opts){0});
	fx.callee.reject_code = 486;
	cmd_originate(ORIG_ID, 5000);
	cr_assert(wait_event(KIND(HANGUP), 2000), "no HANGUP");
	e = ev_find(KIND(HANGUP));
	cr_assert_eq(e->ring_result,
		     PBX__V1__MEDIA_EVENT__RING_RESULT__RING_BUSY);
	cr_assert_eq(e->sip_code, 486);
	cr_assert_null(worker_call_find(fx.w, ORIG_ID));

	fx.callee.reject_code = 0;
	fx.callee.answer_delay_ms = TEST_UA_NEVER;
	fx.router.nev = 0;
	t0 = pbx_clock_mono_ms();
	cmd_originate("cb-8-orig@test", 500);
	cr_assert(wait_event(KIND(HANGUP), 2000), "no HANGUP");
	cr_assert_geq(pbx_clock_mono_ms() - t0, 500);
	cr_assert_eq(ev_find(KIND(HANGUP))->ring_result,
		     PBX__V1__MEDIA_EVENT__RING_RESULT__RING_NO_ANSWER);
	cr_assert(test_loop_flag(&fx.callee.closed, 1000), "no CANCEL");
	cr_assert_null(worker_call_find(fx.w, "cb-8-orig@test"));
	/* A bad target is refused at once. */
	{
		Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
		Pbx__V1__MediaCommand__Originate o =
			PBX__V1__MEDIA_COMMAND__ORIGINATE__INIT;

		o.target_uri = (char *)"http://x";
		o.caller_id = (char *)"1";
		o.dest_kind = (char *)"external";
		mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_ORIGINATE;
		mc.originate = &o;
		cmd_send_to(&mc, TENANT, "cb-9");
		cr_assert(wait_event(KIND(FAILED), 1000));
		cr_assert_str_eq(ev_find(KIND(FAILED))->detail,
				 "originate: bad target_uri");
	}
}

/* The answered leg of a call we started (a call-back's agent, an outside
 * number) is no extension's own call: its REFER is refused with 403, no
 * TRANSFER reaches the router, and the call goes on. */
Test(mwcall, originated_leg_refer_is_refused_and_the_call_goes_on)
{
	fx_start(&(struct fx_opts){0});
	cmd_originate(ORIG_ID, 5000);
	cr_assert(test_loop_flag(&fx.callee.estab, 3000), "callee: no ACK");
	cr_assert(wait_event(KIND(ANSWERED), 2000), "no ANSWERED");
	cr_assert_eq(refer_answer(&fx.callee, "sip:102@t1.pbx.local"), 403);
	test_loop_for(100);
	cr_assert_eq(ev_count(KIND(TRANSFER)), 0);
	cr_assert_not(fx.callee.closed);
	cr_assert_not_null(worker_call_find(fx.w, ORIG_ID));
	test_ua_rx_reset(&fx.callee, PROMPT_FILL);
	cmd_play_to(ORIG_ID, "hello");
	cr_assert(test_loop_until(callee_got, &(unsigned){25}, 2000),
		  "the prompt: %u packets", fx.callee.rx.fill_pkts);
	cmd_hangup_to(ORIG_ID);
	cr_assert(test_loop_flag(&fx.callee.closed, 2000), "no BYE");
}

/* ---- call pickup (mwcall_join.c) ---- */

/* A Pickup of call `rung` sent for the picker's call `picker`. */
static uint64_t cmd_pickup(const char *tenant, const char *picker,
			   const char *rung)
{
	Pbx__V1__MediaCommand mc = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Pickup p = PBX__V1__MEDIA_COMMAND__PICKUP__INIT;

	p.call = (char *)rung;
	p.by = (char *)"202";
	mc.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_PICKUP;
	mc.pickup = &p;
	return cmd_send_to(&mc, tenant, picker);
}

static bool caller_and_picker_got(void *arg)
{
	unsigned n = *(unsigned *)arg;

	return fx.caller.rx.fill_pkts >= n && fx.member[0].rx.fill_pkts >= n;
}

/* The caller rings the callee (who never answers), a second caller of
 * the tenant (the picker, member 0) takes the call: CANCEL to the
 * callee, both callers answered and hearing each other, RING_RESULT
 * ANSWERED for the rung call; the picker's BYE ends the caller too. */
Test(mwcall, pickup_cancels_the_ring_and_joins_the_two_callers)
{
	char rung[256];
	const struct test_router_ev *e;
	uint64_t seq;

	fx_start(&(struct fx_opts){0});
	fx.callee.answer_delay_ms = TEST_UA_NEVER;
	caller_invite();
	cr_assert(wait_event(KIND(INCOMING), 2000));
	snprintf(rung, sizeof(rung), "%s", fx.router.callid);
	seq = ring_callee(5000);
	cr_assert(test_loop_count(&fx.callee.invites, 1, 2000), "no INVITE");
	conf_call(0, false); /* the picker */
	cmd_pickup(TENANT, confm[0].callid, rung);

	cr_assert(test_loop_flag(&fx.callee.closed, 2000), "callee: no CANCEL");
	cr_assert(test_loop_flag(&fx.member[0].estab, 2000),
		  "picker not answered");
	cr_assert(test_loop_flag(&fx.caller.estab, 2000),
		  "caller not answered");
	cr_assert(wait_event(KIND(RING_RESULT), 1000), "no RING_RESULT");
	e = ev_find(KIND(RING_RESULT));
	cr_assert_str_eq(e->callid, rung);
	cr_assert_eq(e->seq, seq);
	cr_assert_eq(e->ring_result,
		     PBX__V1__MEDIA_EVENT__RING_RESULT__RING_ANSWERED);
	cr_assert_eq(ev_count(KIND(FAILED)), 0);

	test_ua_rx_reset(&fx.caller, 0x22);
	test_ua_rx_reset(&fx.member[0], 0x11);
	test_ua_talk(&fx.caller, 25, 0x11);
	test_ua_talk(&fx.member[0], 25, 0x22);
	cr_assert(test_loop_until(caller_and_picker_got, &(unsigned){25},
				  2000),
		  "relayed: to picker %u, to caller %u",
		  fx.member[0].rx.fill_pkts, fx.caller.rx.fill_pkts);
	cr_assert_eq(fx.member[0].rx.pt, 0);
	cr_assert_eq(fx.caller.rx.pt, 0);
	cr_assert_eq(fx.caller.rx.seq_gaps, 0);

	/* The picker hangs up: the caller gets BYE, both calls end. */
	test_ua_hangup(&fx.member[0]);
	cr_assert(test_loop_flag(&fx.caller.closed, 2000), "caller: no BYE");
	cr_assert(wait_event(KIND(ENDED), 1000), "no ENDED");
	cr_assert_str_eq(ev_find(KIND(ENDED))->callid, rung);
	cr_assert_eq(fx.w->load, 0);
}

/* Nothing to pick up: a bridged call (the colleague answered first),
 * another tenant's call, no such call. The picker's call and the rung
 * call stay as they were. */
Test(mwcall, pickup_of_a_bridged_or_foreign_call_finds_nothing)
{
	char rung[256];

	fx_start(&(struct fx_opts){0});
	call_bridged();
	snprintf(rung, sizeof(rung), "%s", fx.router.callid);
	conf_call(0, false);
	cmd_pickup(TENANT, confm[0].callid, rung);
	cr_assert(wait_event(KIND(FAILED), 1000), "no FAILED");
	cr_assert_str_eq(ev_find(KIND(FAILED))->detail, "nothing to pick up");
	conf_call_as(1, false, "t2");
	cmd_pickup("t2", confm[1].callid, rung);
	cmd_pickup(TENANT, confm[0].callid, "no-such-call");
	test_loop_for(200);
	cr_assert_eq(ev_count(KIND(FAILED)), 3);
	cr_assert_not(fx.callee.closed);
	cr_assert_not(fx.caller.closed);
	cr_assert_not(fx.member[0].estab);
	cr_assert_eq(fx.w->load, 3);
}
