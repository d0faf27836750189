/* bridge_bench: how many bridged calls one media worker holds on one core.
 *
 * It plays every other part: the router (a ZeroMQ ROUTER answering each
 * INCOMING with a Ring), the caller and the callee of every call (libre
 * UAC and UAS; the worker's edge_uri points at us), and the RTP endpoints
 * of both sides (one UDP socket per side, 20 ms G.711 packets both ways,
 * each carrying its send time; the receive time is the kernel's
 * SO_TIMESTAMPNS, so the bench's own scheduling does not count). It adds
 * calls step by step and measures, per step, the share of packets that
 * arrived more than 5 ms after they were sent (or never). Then, in the same
 * run, the same packet load goes through a plain UDP relay (this program
 * with --echo-server: two sockets per call, recv and send, nothing else):
 * the ceiling of the machine. The worker (or the relay) is pinned to one
 * core, the bench to the other, both at real-time priority (SCHED_FIFO,
 * chrt) unless --no-rt: on a machine that other work shares, a compiler
 * landing on the worker's core would otherwise be measured instead of the
 * worker (the kernel's RT throttling still leaves others 5 %). Prints a
 * markdown table. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include <re.h>

#include "pbx_bus.h"

#ifndef MEDIA_WORKER_PATH
#define MEDIA_WORKER_PATH "media-worker"
#endif

extern char **environ;

enum {
	PAYLOAD = 160,
	PKT = 12 + PAYLOAD,
	SLOTS = 20,	  /* a call sends in tick (idx % 20) of every 20 ms */
	BATCH = 64,	  /* sendmmsg / recvmmsg */
	HIST = 2000,	  /* latency histogram, 10 µs buckets up to 20 ms */
	LATE_US = 5000,	  /* the threshold the issue sets */
	MAX_CALLS = 8000, /* 16000 RTP sockets in the worker */
	BENCH_SIP_PORT = 5390, /* ours; the worker's edge_uri */
	WORKER_SIP = 5380,
	RTP_A = 33000, /* our caller-side socket */
	RTP_B = 33002, /* our callee-side socket */
	ECHO_BASE = 40000,
	MAGIC = 0x62656e63, /* "benc" */
};

/* ---- shared between the control loop and the media thread ---- */

struct bcall {
	/* control (libre) thread only */
	struct sipsess *a, *b;
	char callid[128];
	bool ringing, a_up, b_up, failed;
	/* published to the media thread by `active` (release/acquire) */
	struct sockaddr_in to_a, to_b;
	atomic_int active;
	/* media thread only */
	uint16_t seq[2];
	uint32_t ts[2];
};

struct stats {
	atomic_uint_fast64_t sent, recv, late, bad;
	atomic_uint_fast64_t hist[HIST + 1];
	atomic_uint_fast64_t ticks_late; /* bench's own sender behind */
};

static struct bcall calls[MAX_CALLS];
static struct stats st;
static atomic_int ncalls_media; /* calls the media thread walks */
static atomic_int media_stop;
static int sock_a = -1, sock_b = -1;

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void inc(atomic_uint_fast64_t *a, uint64_t n)
{
	atomic_fetch_add_explicit(a, n, memory_order_relaxed);
}

static uint64_t get(atomic_uint_fast64_t *a)
{
	return atomic_load_explicit(a, memory_order_relaxed);
}

static int udp_bind(uint16_t port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int one = 1, buf = 8 << 20;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* ---- media thread: sends every call's packets, times arrivals ---- */

static void build(uint8_t *p, struct bcall *c, uint32_t idx, int dir)
{
	uint64_t t = now_ns(CLOCK_REALTIME);
	uint32_t ssrc = idx * 2 + (uint32_t)dir;

	memset(p, 0xff, PKT);
	p[0] = 0x80;
	p[1] = 0; /* PCMU */
	p[2] = (uint8_t)(c->seq[dir] >> 8);
	p[3] = (uint8_t)c->seq[dir];
	p[4] = (uint8_t)(c->ts[dir] >> 24);
	p[5] = (uint8_t)(c->ts[dir] >> 16);
	p[6] = (uint8_t)(c->ts[dir] >> 8);
	p[7] = (uint8_t)c->ts[dir];
	p[8] = (uint8_t)(ssrc >> 24);
	p[9] = (uint8_t)(ssrc >> 16);
	p[10] = (uint8_t)(ssrc >> 8);
	p[11] = (uint8_t)ssrc;
	c->seq[dir]++;
	c->ts[dir] += PAYLOAD;
	/* The payload survives the worker unchanged (PCMU both legs). */
	memcpy(p + 12, &(uint32_t){MAGIC}, 4);
	memcpy(p + 16, &idx, 4);
	memcpy(p + 20, &t, 8);
}

static void flush(int fd, struct mmsghdr *v, unsigned n)
{
	unsigned off = 0;

	while (off < n) {
		int r = sendmmsg(fd, v + off, n - off, 0);

		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			break; /* EAGAIN: buffer full; counted as lost */
		}
		inc(&st.sent, (uint64_t)r);
		off += (unsigned)r;
	}
	if (off < n)
		inc(&st.sent, n - off);
}

static void drain(int fd)
{
	static uint8_t bufs[BATCH][256];
	static char ctl[BATCH][64];
	struct mmsghdr v[BATCH];
	struct iovec iov[BATCH];

	for (;;) {
		int r;

		for (int i = 0; i < BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = sizeof(bufs[i]);
			memset(&v[i], 0, sizeof(v[i]));
			v[i].msg_hdr.msg_iov = &iov[i];
			v[i].msg_hdr.msg_iovlen = 1;
			v[i].msg_hdr.msg_control = ctl[i];
			v[i].msg_hdr.msg_controllen = sizeof(ctl[i]);
		}
		r = recvmmsg(fd, v, BATCH, MSG_DONTWAIT, NULL);
		if (r <= 0)
			return;
		for (int i = 0; i < r; i++) {
			struct cmsghdr *cm = CMSG_FIRSTHDR(&v[i].msg_hdr);
			uint64_t sent, rx = 0;
			uint32_t magic;
			int64_t us;

			for (; cm; cm = CMSG_NXTHDR(&v[i].msg_hdr, cm))
				if (cm->cmsg_level == SOL_SOCKET &&
				    cm->cmsg_type == SCM_TIMESTAMPNS) {
					struct timespec ts;

					memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
					rx = (uint64_t)ts.tv_sec *
						     1000000000ull +
					     (uint64_t)ts.tv_nsec;
				}
			memcpy(&magic, bufs[i] + 12, 4);
			if (v[i].msg_len != PKT || magic != MAGIC) {
				inc(&st.bad, 1);
				continue;
			}
			if (!rx)
				rx = now_ns(CLOCK_REALTIME);
			memcpy(&sent, bufs[i] + 20, 8);
			us = ((int64_t)rx - (int64_t)sent) / 1000;
			if (us < 0)
				us = 0;
			inc(&st.recv, 1);
			if (us > LATE_US)
				inc(&st.late, 1);
			inc(&st.hist[us / 10 < HIST ? us / 10 : HIST], 1);
		}
	}
}

static void *media_main(void *arg)
{
	static uint8_t pa[BATCH][PKT], pb[BATCH][PKT];
	struct mmsghdr va[BATCH], vb[BATCH];
	struct iovec ia[BATCH], ib[BATCH];
	struct timespec next;
	uint64_t tick = 0;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!atomic_load(&media_stop)) {
		int n = atomic_load(&ncalls_media);
		unsigned na = 0, nb = 0;
		uint64_t behind;

		next.tv_nsec += 1000000;
		if (next.tv_nsec >= 1000000000) {
			next.tv_nsec -= 1000000000;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		behind = now_ns(CLOCK_MONOTONIC) -
			 ((uint64_t)next.tv_sec * 1000000000ull +
			  (uint64_t)next.tv_nsec);
		if (behind > 2000000)
			inc(&st.ticks_late, 1);
		drain(sock_a);
		drain(sock_b);
		for (int i = (int)(tick % SLOTS); i < n; i += SLOTS) {
			struct bcall *c = &calls[i];

			if (!atomic_load_explicit(&c->active,
						  memory_order_acquire))
				continue;
			build(pa[na], c, (uint32_t)i, 0);
			ia[na] = (struct iovec){pa[na], PKT};
			memset(&va[na], 0, sizeof(va[na]));
			va[na].msg_hdr.msg_iov = &ia[na];
			va[na].msg_hdr.msg_iovlen = 1;
			va[na].msg_hdr.msg_name = &c->to_a;
			va[na].msg_hdr.msg_namelen = sizeof(c->to_a);
			build(pb[nb], c, (uint32_t)i, 1);
			ib[nb] = (struct iovec){pb[nb], PKT};
			memset(&vb[nb], 0, sizeof(vb[nb]));
			vb[nb].msg_hdr.msg_iov = &ib[nb];
			vb[nb].msg_hdr.msg_iovlen = 1;
			vb[nb].msg_hdr.msg_name = &c->to_b;
			vb[nb].msg_hdr.msg_namelen = sizeof(c->to_b);
			if (++na == BATCH) {
				flush(sock_a, va, na);
				na = 0;
			}
			if (++nb == BATCH) {
				flush(sock_b, vb, nb);
				nb = 0;
			}
		}
		flush(sock_a, va, na);
		flush(sock_b, vb, nb);
		tick++;
	}
	return NULL;
}

/* ---- the plain relay (--echo-server): the ceiling ---- */

static int echo_server(int n, uint16_t base)
{
	struct sockaddr_in pa = {.sin_family = AF_INET,
				 .sin_port = htons(RTP_A),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in pb = pa;
	struct epoll_event evs[256];
	int *fds = calloc((size_t)n * 2, sizeof(int));
	int ep = epoll_create1(0);

	pb.sin_port = htons(RTP_B);
	if (!fds || ep < 0)
		return 1;
	for (int i = 0; i < 2 * n; i++) {
		struct epoll_event ev = {.events = EPOLLIN,
					 .data.u32 = (uint32_t)i};

		fds[i] = udp_bind((uint16_t)(base + i));
		if (fds[i] < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev)) {
			fprintf(stderr, "echo: port %d: %s\n", base + i,
				strerror(-fds[i]));
			return 1;
		}
	}
	/* Like the worker: one packet read per socket wake-up, relayed out of
	 * the call's other socket to the other side. */
	for (;;) {
		int k = epoll_wait(ep, evs, 256, -1);

		for (int j = 0; j < k; j++) {
			int i = (int)evs[j].data.u32, o = i ^ 1;
			uint8_t buf[512];
			ssize_t len = recv(fds[i], buf, sizeof(buf), 0);

			if (len > 0)
				sendto(fds[o], buf, (size_t)len, 0,
				       (struct sockaddr *)(i & 1 ? &pa : &pb),
				       sizeof(pa));
		}
	}
}

/* ---- control: child processes, SIP, router, steps ---- */

enum phase { PH_WORKER, PH_ECHO };

struct ctl {
	enum phase phase;
	const char *worker_path;
	int worker_core, bench_core;
	bool rt;
	pid_t child;
	int steps[32];
	int nsteps, step;
	int measure_s;
	int cps;

	struct sip *sip;
	struct sipsess_sock *sock;
	void *zctx;
	struct pbx_bus *bus;
	struct pbx_bus_peer peer;
	bool worker_seen;
	struct tmr tmr, tmr_kick, tmr_poll;

	int target;  /* calls wanted in this step */
	int created; /* A legs sent */
	int up;	     /* calls bridged (or echo calls set up) */
	int failed;
	uint64_t t_step; /* start of the ramp */
	uint64_t s_sent, s_recv, s_late, s_hist[HIST + 1];
	uint64_t cpu0, t0;
	bool over; /* threshold exceeded: stop stepping */
	char rows[2][32][200];
	int nrows[2];
	int best[2];
};

static struct ctl C;

static uint64_t child_cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, stt = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return 0;
	}
	fclose(f);
	p = strrchr(buf, ')');
	/* after ")": state ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime stime */
	if (!p || sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			 &ut, &stt) != 2)
		return 0;
	return ut + stt;
}

/* taskset -c <core> [chrt -f 20] argv... */
static pid_t spawn(char *const argv[])
{
	char core[8], *full[64];
	int n = 0;
	pid_t pid;

	snprintf(core, sizeof(core), "%d", C.worker_core);
	full[n++] = "taskset";
	full[n++] = "-c";
	full[n++] = core;
	if (C.rt) {
		full[n++] = "chrt";
		full[n++] = "-f";
		full[n++] = "20";
	}
	for (int i = 0; argv[i] && n < 63; i++)
		full[n++] = argv[i];
	full[n] = NULL;
	if (posix_spawnp(&pid, full[0], NULL, NULL, full, environ))
		return -1;
	return pid;
}

static void stop_child(void)
{
	if (C.child > 0) {
		kill(C.child, SIGTERM);
		for (int i = 0; i < 50; i++) {
			if (waitpid(C.child, NULL, WNOHANG) == C.child) {
				C.child = 0;
				return;
			}
			usleep(100000);
		}
		kill(C.child, SIGKILL);
		waitpid(C.child, NULL, 0);
		C.child = 0;
	}
}

static void sdp(struct mbuf **mbp, uint16_t port)
{
	struct mbuf *mb = mbuf_alloc(256);

	mbuf_printf(mb,
		    "v=0\r\no=bench 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
		    "c=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		    "m=audio %u RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
		    "a=rtpmap:101 telephone-event/8000\r\n"
		    "a=fmtp:101 0-15\r\na=sendrecv\r\n",
		    port);
	mb->pos = 0;
	*mbp = mb;
}

static int sdp_port(const struct sip_msg *msg, struct sockaddr_in *sin)
{
	struct pl port, ip;

	if (re_regex((const char *)mbuf_buf(msg->mb), mbuf_get_left(msg->mb),
		     "c=IN IP4 [0-9.]+", &ip) ||
	    re_regex((const char *)mbuf_buf(msg->mb), mbuf_get_left(msg->mb),
		     "m=audio [0-9]+", &port))
		return -EBADMSG;
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)pl_u32(&port));
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return 0;
}

static void call_check_up(struct bcall *c)
{
	if (c->a_up && c->b_up && !c->failed && !atomic_load(&c->active)) {
		atomic_store_explicit(&c->active, 1, memory_order_release);
		C.up++;
	}
}

static void call_fail(struct bcall *c, const char *why)
{
	if (c->failed)
		return;
	c->failed = true;
	C.failed++;
	if (C.failed <= 5)
		fprintf(stderr, "call %d failed: %s\n", (int)(c - calls), why);
	atomic_store(&c->active, 0);
}

static int no_offer(struct mbuf **descp, const struct sip_msg *msg, void *arg)
{
	(void)descp;
	(void)msg;
	(void)arg;
	return EPROTO;
}

static int a_answer(const struct sip_msg *msg, void *arg)
{
	struct bcall *c = arg;

	return sdp_port(msg, &c->to_a) ? EPROTO : 0;
}

static void a_progress(const struct sip_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
}

static void a_estab(const struct sip_msg *msg, void *arg)
{
	struct bcall *c = arg;

	(void)msg;
	c->a_up = true;
	call_check_up(c);
}

static void a_close(int err, const struct sip_msg *msg, void *arg)
{
	struct bcall *c = arg;

	(void)err;
	(void)msg;
	call_fail(c, "caller leg closed");
	c->a = mem_deref(c->a);
}

static int b_answer(const struct sip_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return 0;
}

static void b_estab(const struct sip_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
}

static void b_close(int err, const struct sip_msg *msg, void *arg)
{
	struct bcall *c = arg;

	(void)err;
	(void)msg;
	call_fail(c, "callee leg closed");
	c->b = mem_deref(c->b);
}

/* The worker's ring reaches us as the callee: sip:b<idx>@... */
static void b_connect(const struct sip_msg *msg, void *arg)
{
	struct mbuf *desc = NULL;
	struct bcall *c;
	uint32_t idx;

	(void)arg;
	if (msg->uri.user.l < 2 || msg->uri.user.p[0] != 'b') {
		sip_treply(NULL, C.sip, msg, 404, "Not Found");
		return;
	}
	idx = pl_u32(&(struct pl){msg->uri.user.p + 1, msg->uri.user.l - 1});
	if (idx >= MAX_CALLS || calls[idx].b) {
		sip_treply(NULL, C.sip, msg, 404, "Not Found");
		return;
	}
	c = &calls[idx];
	if (sdp_port(msg, &c->to_b)) {
		sip_treply(NULL, C.sip, msg, 488, "Not Acceptable Here");
		return;
	}
	sdp(&desc, RTP_B);
	if (sipsess_accept(&c->b, C.sock, msg, 200, "OK", "bench",
			   "application/sdp", desc, NULL, NULL, false,
			   no_offer, b_answer, b_estab, NULL, NULL, b_close, c,
			   ""))
		call_fail(c, "accept");
	else
		c->b_up = true; /* 200 sent; the worker bridges on it */
	mem_deref(desc);
	call_check_up(c);
}

static void call_create(int idx)
{
	struct bcall *c = &calls[idx];
	char to[64], from[64];
	struct mbuf *desc = NULL;
	int err;

	/* Not memset: the media thread may be reading `active` (0). */
	c->a = c->b = NULL;
	c->callid[0] = '\0';
	c->ringing = c->a_up = c->b_up = c->failed = false;
	c->seq[0] = c->seq[1] = (uint16_t)rand_u16();
	snprintf(to, sizeof(to), "sip:bench%d@127.0.0.1:%d", idx, WORKER_SIP);
	snprintf(from, sizeof(from), "sip:caller%d@127.0.0.1", idx);
	sdp(&desc, RTP_A);
	err = sipsess_connect(&c->a, C.sock, to, NULL, from, "bench", NULL, 0,
			      "application/sdp", desc, NULL, NULL, false,
			      no_offer, a_answer, a_progress, a_estab, NULL,
			      NULL, a_close, c, "X-Pbx-Tenant: bench\r\n");
	mem_deref(desc);
	if (err) {
		call_fail(c, "connect");
		return;
	}
	snprintf(c->callid, sizeof(c->callid), "%s",
		 sip_dialog_callid(sipsess_dialog(c->a)));
}

static struct bcall *call_by_callid(const char *callid)
{
	for (int i = 0; i < C.created; i++)
		if (!strcmp(calls[i].callid, callid))
			return &calls[i];
	return NULL;
}

static void kick(void *arg)
{
	(void)arg;
	pbx_bus_process(C.bus);
}

static void ring(const Pbx__V1__Envelope *in, int idx)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__MediaCommand cmd = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Ring r = PBX__V1__MEDIA_COMMAND__RING__INIT;
	char target[64];

	snprintf(target, sizeof(target), "sip:b%d@127.0.0.1", idx);
	env.tenant_id = in->tenant_id;
	env.call_id = in->call_id;
	env.body_case = PBX__V1__ENVELOPE__BODY_MEDIA_COMMAND;
	env.media_command = &cmd;
	cmd.seq = 1;
	cmd.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_RING;
	cmd.ring = &r;
	r.target_uri = target;
	r.timeout_ms = 30000;
	r.caller_id = "bench";
	r.dest_kind = "extension";
	if (pbx_bus_send(C.bus, &C.peer, &env))
		call_fail(&calls[idx], "bus send");
	tmr_start(&C.tmr_kick, 0, kick, NULL);
}

static void bus_recv(struct pbx_bus *bus, const struct pbx_bus_peer *peer,
		     const Pbx__V1__Envelope *env, int err, void *arg)
{
	const Pbx__V1__MediaEvent *ev;
	struct bcall *c;

	(void)bus;
	(void)arg;
	if (err || !env)
		return;
	if (env->body_case == PBX__V1__ENVELOPE__BODY_WORKER_HEARTBEAT) {
		C.peer = *peer;
		C.worker_seen = true;
		return;
	}
	if (env->body_case != PBX__V1__ENVELOPE__BODY_MEDIA_EVENT)
		return;
	ev = env->media_event;
	switch (ev->kind) {
	case PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING: {
		int idx = atoi(ev->dialed +
			       (strncmp(ev->dialed, "bench", 5) ? 0 : 5));

		if (idx < 0 || idx >= C.created)
			return;
		ring(env, idx);
		break;
	}
	case PBX__V1__MEDIA_EVENT__KIND__KIND_RING_RESULT:
		c = call_by_callid(env->call_id);
		if (c &&
		    ev->ring_result !=
			    PBX__V1__MEDIA_EVENT__RING_RESULT__RING_ANSWERED)
			call_fail(c, "ring failed");
		break;
	case PBX__V1__MEDIA_EVENT__KIND__KIND_FAILED:
	case PBX__V1__MEDIA_EVENT__KIND__KIND_HANGUP:
		c = call_by_callid(env->call_id);
		if (c)
			call_fail(c, ev->detail);
		break;
	default:
		break;
	}
}

static void bus_fd(int flags, void *arg)
{
	(void)flags;
	(void)arg;
	pbx_bus_process(C.bus);
}

static void bus_poll(void *arg)
{
	(void)arg;
	pbx_bus_process(C.bus);
	tmr_start(&C.tmr_poll, 50, bus_poll, NULL);
}

static void snapshot(void)
{
	C.s_sent = get(&st.sent);
	C.s_recv = get(&st.recv);
	C.s_late = get(&st.late);
	for (int i = 0; i <= HIST; i++)
		C.s_hist[i] = get(&st.hist[i]);
	C.cpu0 = C.child > 0 ? child_cpu_ticks(C.child) : 0;
	C.t0 = now_ns(CLOCK_MONOTONIC);
}

static double pct_us(const uint64_t *h, uint64_t total, double q)
{
	uint64_t want = (uint64_t)((double)total * q), acc = 0;

	for (int i = 0; i <= HIST; i++) {
		acc += h[i];
		if (acc > want)
			return i * 10.0;
	}
	return HIST * 10.0;
}

static void next_step(void *arg);

static void measure_done(void *arg)
{
	uint64_t h[HIST + 1], sent, recv, late, lost, bad_total, t;
	double secs, cpu, fr, maxus = 0;
	int p = C.phase;

	(void)arg;
	sent = get(&st.sent) - C.s_sent;
	recv = get(&st.recv) - C.s_recv;
	late = get(&st.late) - C.s_late;
	for (int i = 0; i <= HIST; i++) {
		h[i] = get(&st.hist[i]) - C.s_hist[i];
		if (h[i])
			maxus = i * 10.0;
	}
	if (getenv("BENCH_HIST"))
		for (int i = LATE_US / 10; i <= HIST; i++)
			if (h[i])
				fprintf(stderr, "  %d us: %llu\n", i * 10,
					(unsigned long long)h[i]);
	t = now_ns(CLOCK_MONOTONIC) - C.t0;
	secs = (double)t / 1e9;
	cpu = C.child > 0 ? (double)(child_cpu_ticks(C.child) - C.cpu0) /
				    (double)sysconf(_SC_CLK_TCK) / secs * 100
			  : 0;
	lost = sent > recv ? sent - recv : 0;
	fr = sent ? (double)(late + lost) / (double)sent * 100 : 100;
	bad_total = get(&st.bad);
	snprintf(C.rows[p][C.nrows[p]], sizeof(C.rows[p][0]),
		 "| %d | %.0f | %.3f %% | %.3f %% | %.2f | %.2f | %.1f%s | "
		 "%.0f "
		 "%% |",
		 C.up, (double)sent / secs, late * 100.0 / (sent ? sent : 1),
		 lost * 100.0 / (sent ? sent : 1), pct_us(h, recv, 0.5) / 1000,
		 pct_us(h, recv, 0.99) / 1000, maxus / 1000,
		 maxus >= HIST * 10 ? "+" : "", cpu);
	/* Ringback before the bridge arrives on our caller side too: not
	 * ours, not measured. */
	(void)bad_total;
	fprintf(stderr, "%s %s\n", p == PH_WORKER ? "worker" : "relay ",
		C.rows[p][C.nrows[p]]);
	C.nrows[p]++;
	if (fr > 0.1 || C.failed)
		C.over = true;
	else
		C.best[p] = C.up;
	C.step++;
	tmr_start(&C.tmr, 0, next_step, NULL);
}

static void settle_done(void *arg)
{
	(void)arg;
	snapshot();
	tmr_start(&C.tmr, (uint64_t)C.measure_s * 1000, measure_done, NULL);
}

/* Worker phase: creates calls at `cps` until `target` are bridged. */
static void ramp(void *arg)
{
	int per_tick = C.cps / 100 > 0 ? C.cps / 100 : 1;

	(void)arg;
	for (int i = 0; i < per_tick && C.created < C.target; i++)
		call_create(C.created++);
	if (C.failed) {
		fprintf(stderr, "call setup failed at %d calls\n", C.up);
		C.over = true;
		C.step++;
		tmr_start(&C.tmr, 0, next_step, NULL);
		return;
	}
	if (C.up >= C.target) {
		tmr_start(&C.tmr, 1000, settle_done, NULL);
		return;
	}
	if (now_ns(CLOCK_MONOTONIC) - C.t_step > 120 * 1000000000ull) {
		fprintf(stderr, "setup stalled at %d of %d calls\n", C.up,
			C.target);
		C.over = true;
		C.step++;
		tmr_start(&C.tmr, 0, next_step, NULL);
		return;
	}
	tmr_start(&C.tmr, 10, ramp, NULL);
}

static void start_phase(enum phase p);

static void end_phase(void)
{
	for (int i = 0; i < MAX_CALLS; i++)
		atomic_store(&calls[i].active, 0);
	atomic_store(&ncalls_media, 0);
	stop_child();
	for (int i = 0; i < C.created; i++) {
		calls[i].a = mem_deref(calls[i].a);
		calls[i].b = mem_deref(calls[i].b);
	}
	if (C.phase == PH_WORKER)
		start_phase(PH_ECHO);
	else
		re_cancel();
}

static void next_step(void *arg)
{
	int n;

	(void)arg;
	if (C.over || C.step >= C.nsteps) {
		end_phase();
		return;
	}
	n = C.steps[C.step];
	C.target = n;
	C.t_step = now_ns(CLOCK_MONOTONIC);
	if (C.phase == PH_ECHO) {
		for (int i = C.up; i < n; i++) {
			struct bcall *c = &calls[i];

			c->to_a = (struct sockaddr_in){
				.sin_family = AF_INET,
				.sin_port =
					htons((uint16_t)(ECHO_BASE + 2 * i)),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
			c->to_b = c->to_a;
			c->to_b.sin_port =
				htons((uint16_t)(ECHO_BASE + 2 * i + 1));
			atomic_store_explicit(&c->active, 1,
					      memory_order_release);
		}
		C.up = n;
		atomic_store(&ncalls_media, n);
		tmr_start(&C.tmr, 1000, settle_done, NULL);
		return;
	}
	atomic_store(&ncalls_media, n);
	tmr_start(&C.tmr, 0, ramp, NULL);
}

static void wait_worker(void *arg)
{
	(void)arg;
	pbx_bus_process(C.bus);
	if (!C.worker_seen) {
		/* A worker that exited (bad path, port taken) never sends a
		 * heartbeat: stop instead of waiting forever. */
		if (C.child > 0 && waitpid(C.child, NULL, WNOHANG) == C.child) {
			fprintf(stderr, "the worker exited before its first "
					"heartbeat\n");
			C.child = 0;
			re_cancel();
			return;
		}
		tmr_start(&C.tmr, 100, wait_worker, NULL);
		return;
	}
	tmr_start(&C.tmr, 0, next_step, NULL);
}

static void start_phase(enum phase p)
{
	char n[16], base[16];

	C.phase = p;
	C.step = 0;
	C.over = false;
	C.up = 0;
	C.created = 0;
	C.failed = 0;
	if (p == PH_WORKER) {
		char *argv[] = {(char *)C.worker_path,
				"--set",
				"worker_id=bench",
				"--set",
				"sip_listen=127.0.0.1:5380",
				"--set",
				"router_endpoints=tcp://127.0.0.1:7390",
				"--set",
				"edge_uri=sip:127.0.0.1:5390",
				"--set",
				"capacity=10000",
				"--set",
				"rtp_port_min=20000",
				"--set",
				"rtp_port_max=32900",
				"--set",
				"redis_port=6399",
				"--set",
				"log_level=warn",
				NULL};

		C.child = spawn(argv);
		C.worker_seen = false;
		tmr_start(&C.tmr, 100, wait_worker, NULL);
	} else {
		char self[512];
		ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
		int most = 0;

		for (int i = 0; i < C.nsteps; i++)
			most = C.steps[i] > most ? C.steps[i] : most;
		self[k > 0 ? k : 0] = '\0';
		snprintf(n, sizeof(n), "%d", most);
		snprintf(base, sizeof(base), "%d", ECHO_BASE);
		{
			char *argv[] = {self, "--echo-server", n, base, NULL};

			C.child = spawn(argv);
		}
		usleep(500000);
		tmr_start(&C.tmr, 0, next_step, NULL);
	}
	if (C.child <= 0) {
		fprintf(stderr, "cannot start the %s\n",
			p == PH_WORKER ? "worker" : "relay");
		re_cancel();
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bridge_bench [--worker PATH] [--steps 100,200,...]\n"
		"       [--measure S] [--cps N] [--worker-core C] "
		"[--bench-core C] [--no-rt]\n"
		"       bridge_bench --echo-server N BASE_PORT\n");
}

static int parse_steps(const char *s)
{
	C.nsteps = 0;
	while (*s && C.nsteps < 32) {
		int v = atoi(s);

		if (v <= 0 || v > MAX_CALLS)
			return -1;
		C.steps[C.nsteps++] = v;
		s = strchr(s, ',');
		if (!s)
			break;
		s++;
	}
	return C.nsteps ? 0 : -1;
}

static void print_machine(void)
{
	char line[256], model[256] = "?";
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "model name", 10)) {
			char *p = strchr(line, ':');

			snprintf(model, sizeof(model), "%.200s",
				 p ? p + 2 : line);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	if (f)
		fclose(f);
	printf("Machine: %s, %ld cores online; worker/relay pinned to core "
	       "%d, bench to core %d%s; %d s per step.\n\n",
	       model, sysconf(_SC_NPROCESSORS_ONLN), C.worker_core,
	       C.bench_core, C.rt ? ", both SCHED_FIFO 20" : "", C.measure_s);
}

static void print_table(int p)
{
	printf("%s\n\n", p == PH_WORKER ? "**media-worker** (bridged calls: "
					  "SIP B2BUA, RTP relayed both ways)"
					: "**plain UDP relay** (same sockets "
					  "and packets, recv + send only)");
	printf("| calls | packets/s (all legs) | late > 5 ms | lost | p50 "
	       "ms | p99 ms | max ms | CPU of its core |\n");
	printf("|---|---|---|---|---|---|---|---|\n");
	for (int i = 0; i < C.nrows[p]; i++)
		printf("%s\n", C.rows[p][i]);
	printf("\n");
}

int main(int argc, char **argv)
{
	pthread_t media;
	cpu_set_t set;
	int err;

	if (argc >= 4 && !strcmp(argv[1], "--echo-server"))
		return echo_server(atoi(argv[2]), (uint16_t)atoi(argv[3]));
	C.worker_path = MEDIA_WORKER_PATH;
	C.measure_s = 10;
	C.cps = 200;
	C.worker_core = 0;
	C.bench_core = 1;
	C.rt = true;
	parse_steps("250,500,1000,1500,2000,2500,3000,3500,4000,5000");
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--worker") && v)
			C.worker_path = v;
		else if (!strcmp(argv[i], "--steps") && v) {
			if (parse_steps(v)) {
				usage();
				return 2;
			}
		} else if (!strcmp(argv[i], "--measure") && v)
			C.measure_s = atoi(v) > 0 ? atoi(v) : 10;
		else if (!strcmp(argv[i], "--cps") && v)
			C.cps = atoi(v) > 0 ? atoi(v) : 200;
		else if (!strcmp(argv[i], "--worker-core") && v)
			C.worker_core = atoi(v);
		else if (!strcmp(argv[i], "--bench-core") && v)
			C.bench_core = atoi(v);
		else if (!strcmp(argv[i], "--no-rt")) {
			C.rt = false;
			continue;
		} else {
			usage();
			return 2;
		}
		i++;
	}
	CPU_ZERO(&set);
	CPU_SET(C.bench_core, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		perror("sched_setaffinity (bench)");
	if (C.rt) {
		struct sched_param sp = {.sched_priority = 20};

		/* Inherited by the media thread created below. */
		if (sched_setscheduler(0, SCHED_FIFO, &sp))
			perror("SCHED_FIFO (bench)");
	}
	signal(SIGPIPE, SIG_IGN);

	sock_a = udp_bind(RTP_A);
	sock_b = udp_bind(RTP_B);
	if (sock_a < 0 || sock_b < 0) {
		fprintf(stderr, "cannot bind RTP ports %d/%d\n", RTP_A, RTP_B);
		return 1;
	}
	if (libre_init() || fd_setsize(4096))
		return 1;
	{
		struct sa laddr;

		sa_set_str(&laddr, "127.0.0.1", BENCH_SIP_PORT);
		err = sip_alloc(&C.sip, NULL, 8192, 8192, 64, "bridge-bench",
				NULL, NULL);
		if (!err)
			err = sip_transp_add(C.sip, SIP_TRANSP_UDP, &laddr);
		if (!err)
			err = sipsess_listen(&C.sock, C.sip, 8192, b_connect,
					     NULL);
		if (err) {
			fprintf(stderr, "sip: %s\n", strerror(err));
			return 1;
		}
	}
	C.zctx = zmq_ctx_new();
	if (pbx_bus_alloc(&C.bus, C.zctx, PBX_BUS_ROUTER,
			  "tcp://127.0.0.1:7390", NULL, bus_recv, NULL)) {
		fprintf(stderr, "cannot bind tcp://127.0.0.1:7390\n");
		return 1;
	}
	fd_listen(pbx_bus_fd(C.bus), FD_READ, bus_fd, NULL);
	tmr_init(&C.tmr);
	tmr_init(&C.tmr_kick);
	tmr_init(&C.tmr_poll);
	tmr_start(&C.tmr_poll, 50, bus_poll, NULL);

	if (pthread_create(&media, NULL, media_main, NULL))
		return 1;
	start_phase(PH_WORKER);
	re_main(NULL);

	atomic_store(&media_stop, 1);
	pthread_join(media, NULL);
	stop_child();
	tmr_cancel(&C.tmr);
	tmr_cancel(&C.tmr_kick);
	tmr_cancel(&C.tmr_poll);
	fd_close(pbx_bus_fd(C.bus));
	pbx_bus_free(C.bus);
	zmq_ctx_term(C.zctx);
	mem_deref(C.sock);
	sip_close(C.sip, true);
	mem_deref(C.sip);
	libre_close();

	print_machine();
	print_table(PH_WORKER);
	print_table(PH_ECHO);
	printf("Most calls with <= 0.1 %% of packets late (> 5 ms) or lost: "
	       "media-worker **%d**, plain relay **%d**%s.\n",
	       C.best[PH_WORKER], C.best[PH_ECHO],
	       C.best[PH_ECHO] == C.steps[C.nsteps - 1]
		       ? " (the relay was not saturated by the largest step)"
		       : "");
	/* A run that measured nothing (worker or relay never came up) is
	 * a failure for scripts (bench/run.sh), not an empty table. */
	if (!C.nrows[PH_WORKER] || !C.nrows[PH_ECHO]) {
		fprintf(stderr, "bridge_bench: no step measured for the %s\n",
			!C.nrows[PH_WORKER] ? "worker" : "relay");
		return 1;
	}
	return 0;
}
