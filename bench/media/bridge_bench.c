/* bridge_bench: how many bridged calls (or, with --playback, callers
 * hearing a prompt) one media worker holds on one core.
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
 * markdown table.
 *
 * --playback talking|silent (B3): every call is a caller that the router
 * (us) answers with a Play of a long prompt; no callee. Talking callers
 * send RTP to the worker all along, silent ones none. Measured at the
 * receiving side, per caller, from the worker's own packets: loss (20 ms
 * periods no packet covered, by RTP timestamp), the offset of each packet
 * from that caller's 20 ms schedule by its timestamp (its earliest
 * packet so far; late = more than 5 ms after),
 * the spacing between consecutive packets, and bursts (runs of arrivals
 * on our socket, all callers together, less than 100 µs apart: their p99
 * and the longest). The bare baseline (--echo-server ... reflect): one
 * UDP socket per caller on the same core that sends each packet we send
 * it straight back, measured the same way except that a packet's delay
 * is from our send time (so our own sender's jitter is not counted
 * against it; its spacing is our sender's). A Redis for the prompt is
 * started by the bench (--redis-port, default 6412).
 *
 * --conference N (issue 11): every call is a talking caller that the
 * router (us) sends into a conference room of N members (ConfJoin of room
 * r<idx / N>, no announcement: callers 0..N-1 share the first room, and so
 * on), so each member hears the mix of the others, sent by the worker's
 * mixer on its 20 ms tick. Measured like --playback talking, from the
 * mix packets each member receives, beside the same bare UDP echo.
 *
 * --queue-hold silent|talking (issue 9): every call is a caller that the
 * router (us) puts in a queue's hold as route_queue_join does for the
 * tenant's default queue (QueueHold: the worker's built-in music looped,
 * no entry or periodic prompt, no announcements); silent callers, as
 * waiting callers are, or talking ones. Measured like --playback, from
 * the music each caller receives, beside the same bare UDP echo.
 *
 * A step over the threshold is measured again (--tries, default 2): a
 * shared machine's stalls are sporadic, saturation is not. */
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
#include <hiredis/hiredis.h>
#include <zmq.h>

#include <re.h>

#include "pbx_bus.h"
#include "pbx_keys.h"

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
	GAP_HIST = 6000,    /* packet spacing, 10 µs buckets up to 60 ms */
	PERIOD_US = 20000,
	BURST_GAP_NS = 100000, /* arrivals closer than this: one burst */
	PROMPT_S = 30,	       /* the greeting, looped: never ends */
	PROMPT_LOOPS = 1000,
};

enum mode { MODE_BRIDGE, MODE_TALKING, MODE_SILENT };
static enum mode mode; /* set before the media thread starts */
static int conf_size;  /* --conference: members per room (talking) */
static bool queue_hold; /* --queue-hold: callers in a queue's hold */

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
	/* playback: what we received from this caller's stream */
	int rx_gen;	     /* media_gen when rx_* was reset */
	bool rx_seen;
	uint32_t rx_ts;	     /* RTP timestamp of the last one */
	uint64_t rx_ext;     /* packets of the stream since its first */
	uint64_t rx_last_ns; /* arrival of the last one */
	int64_t rx_min_off;  /* earliest arrival - rx_ext * 20 ms */
};

struct stats {
	atomic_uint_fast64_t sent, recv, late, bad;
	atomic_uint_fast64_t hist[HIST + 1];
	atomic_uint_fast64_t ticks_late; /* bench's own sender behind */
	/* playback */
	atomic_uint_fast64_t expected; /* by RTP timestamps (20 ms each) */
	atomic_uint_fast64_t gap[GAP_HIST + 1];
	atomic_uint_fast64_t burst_max_ns; /* reset by each snapshot */
	atomic_uint_fast64_t burst[HIST + 1]; /* lengths, 10 µs buckets */
};

static struct bcall calls[MAX_CALLS];
static struct stats st;
static atomic_int ncalls_media; /* calls the media thread walks */
static atomic_int media_stop;
/* Which side the media thread sends on: bit 0 callers, bit 1 callees. */
static atomic_int send_mask;
/* Playback: a source port's call index + 1 (0: none). */
static atomic_int port_call[65536];
static atomic_int media_gen; /* a new phase: per-call rx state is stale */
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

/* The kernel's receive time (SO_TIMESTAMPNS), or now. */
static uint64_t rx_stamp(struct msghdr *mh)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm;
	     cm = CMSG_NXTHDR(mh, cm))
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;

			memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
			return (uint64_t)ts.tv_sec * 1000000000ull +
			       (uint64_t)ts.tv_nsec;
		}
	return now_ns(CLOCK_REALTIME);
}

/* Bridged calls: our own packet back, with its send time inside. */
static void rx_bridge(const uint8_t *p, size_t len, uint64_t rx)
{
	uint64_t sent;
	uint32_t magic;
	int64_t us;

	memcpy(&magic, p + 12, 4);
	if (len != PKT || magic != MAGIC) {
		/* Ringback before the bridge arrives on our caller side
		 * too: not ours, not measured. */
		inc(&st.bad, 1);
		return;
	}
	memcpy(&sent, p + 20, 8);
	us = ((int64_t)rx - (int64_t)sent) / 1000;
	if (us < 0)
		us = 0;
	inc(&st.recv, 1);
	if (us > LATE_US)
		inc(&st.late, 1);
	inc(&st.hist[us / 10 < HIST ? us / 10 : HIST], 1);
}

/* Playback: a burst is a run of arrivals (every caller together) less
 * than BURST_GAP_NS apart: each one's length into a histogram, and the
 * longest since the last snapshot. */
static void burst_note(uint64_t rx)
{
	static uint64_t start, last;
	uint_fast64_t cur, len;

	if (!last || rx - last > BURST_GAP_NS) {
		if (last) {
			len = (last - start) / 10000;
			inc(&st.burst[len < HIST ? len : HIST], 1);
		}
		start = rx;
	}
	last = rx;
	len = rx - start;
	cur = atomic_load(&st.burst_max_ns);
	/* A CAS, so that a snapshot's reset is never overwritten by an
	 * older value. */
	while (len > cur &&
	       !atomic_compare_exchange_weak(&st.burst_max_ns, &cur, len))
		;
}

/* Playback: one packet of a caller's stream (the worker's prompt, or
 * our own packet reflected by the baseline), known by its source port. */
static void rx_play(const uint8_t *p, size_t len, uint64_t rx, uint16_t port)
{
	int idx = atomic_load_explicit(&port_call[port], memory_order_acquire);
	int gen = atomic_load_explicit(&media_gen, memory_order_relaxed);
	struct bcall *c;
	uint32_t ts, magic;
	uint64_t sent;
	int32_t d;
	int64_t off, us;

	if (!idx || idx > MAX_CALLS || len < 12 || p[0] >> 6 != 2) {
		inc(&st.bad, 1);
		return;
	}
	burst_note(rx);
	c = &calls[idx - 1];
	ts = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
	     (uint32_t)p[6] << 8 | p[7];
	inc(&st.recv, 1);
	if (!c->rx_seen || c->rx_gen != gen) {
		c->rx_gen = gen;
		c->rx_seen = true;
		c->rx_ts = ts;
		c->rx_ext = 0;
		c->rx_last_ns = rx;
		c->rx_min_off = (int64_t)rx;
		inc(&st.expected, 1);
		inc(&st.hist[0], 1);
		return;
	}
	/* By RTP timestamp, 20 ms a packet: a stream the worker resumed
	 * after skipping periods (a conference room after a stall longer
	 * than its queues: a new talkspurt, marker set, the sequence
	 * unbroken) counts the skipped periods as lost and is timed from
	 * where its timestamps say, as a receiver's jitter buffer would. */
	d = (int32_t)(ts - c->rx_ts) / PAYLOAD;
	if (d <= 0)
		return; /* reordered or repeated */
	if (d > 1000) {
		/* Over 20 s ahead: another stream, timed anew. */
		c->rx_ts = ts;
		c->rx_last_ns = rx;
		c->rx_min_off = (int64_t)rx - (int64_t)(c->rx_ext * PERIOD_US *
							1000);
		return;
	}
	if (d == 1) {
		us = (int64_t)(rx - c->rx_last_ns) / 1000;
		inc(&st.gap[us / 10 < GAP_HIST ? us / 10 : GAP_HIST], 1);
	}
	inc(&st.expected, (uint64_t)d);
	c->rx_ext += (uint64_t)d;
	c->rx_ts = ts;
	c->rx_last_ns = rx;
	/* The caller's schedule is its earliest packet so far; it creeps
	 * up by 2 µs a packet (100 ppm), so that a drift between the
	 * worker's clock and the kernel's timestamps does not add up. */
	off = (int64_t)rx - (int64_t)(c->rx_ext * PERIOD_US * 1000);
	c->rx_min_off += 2000;
	if (off < c->rx_min_off)
		c->rx_min_off = off;
	us = (off - c->rx_min_off) / 1000;
	/* Our own packet reflected (the baseline): its schedule was our
	 * send time, so our own jitter is not counted against it. */
	memcpy(&magic, p + 12, 4);
	if (len == PKT && magic == MAGIC) {
		memcpy(&sent, p + 20, 8);
		us = rx > sent ? (int64_t)(rx - sent) / 1000 : 0;
	}
	if (us > LATE_US)
		inc(&st.late, 1);
	inc(&st.hist[us / 10 < HIST ? us / 10 : HIST], 1);
}

static void drain(int fd)
{
	static uint8_t bufs[BATCH][256];
	static char ctl[BATCH][64];
	struct sockaddr_in from[BATCH];
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
			v[i].msg_hdr.msg_name = &from[i];
			v[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		r = recvmmsg(fd, v, BATCH, MSG_DONTWAIT, NULL);
		if (r <= 0)
			return;
		for (int i = 0; i < r; i++) {
			uint64_t rx = rx_stamp(&v[i].msg_hdr);

			if (mode == MODE_BRIDGE)
				rx_bridge(bufs[i], v[i].msg_len, rx);
			else
				rx_play(bufs[i], v[i].msg_len, rx,
					ntohs(from[i].sin_port));
		}
	}
}

/* Appends the next packet of call i on side dir (0 caller, 1 callee). */
static void queue(struct mmsghdr *v, struct iovec *io, uint8_t *p,
		  struct bcall *c, int i, int dir)
{
	build(p, c, (uint32_t)i, dir);
	*io = (struct iovec){p, PKT};
	memset(v, 0, sizeof(*v));
	v->msg_hdr.msg_iov = io;
	v->msg_hdr.msg_iovlen = 1;
	v->msg_hdr.msg_name = dir ? &c->to_b : &c->to_a;
	v->msg_hdr.msg_namelen = sizeof(c->to_a);
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
		int mask = atomic_load(&send_mask);
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
		if (mode == MODE_BRIDGE)
			drain(sock_b);
		for (int i = (int)(tick % SLOTS); mask && i < n; i += SLOTS) {
			struct bcall *c = &calls[i];

			if (!atomic_load_explicit(&c->active,
						  memory_order_acquire))
				continue;
			if (mask & 1)
				queue(&va[na], &ia[na], pa[na], c, i, 0);
			if ((mask & 1) && ++na == BATCH) {
				flush(sock_a, va, na);
				na = 0;
			}
			if (mask & 2)
				queue(&vb[nb], &ib[nb], pb[nb], c, i, 1);
			if ((mask & 2) && ++nb == BATCH) {
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

/* reflect: each socket sends what it receives back to its sender (the
 * playback baseline); else to the call's other side (the relay). */
static int echo_server(int n, uint16_t base, bool reflect)
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
	 * the call's other socket to the other side (or back). */
	for (;;) {
		int k = epoll_wait(ep, evs, 256, -1);

		for (int j = 0; j < k; j++) {
			int i = (int)evs[j].data.u32, o = reflect ? i : i ^ 1;
			struct sockaddr_in from;
			socklen_t fl = sizeof(from);
			uint8_t buf[512];
			ssize_t len = recvfrom(fds[i], buf, sizeof(buf), 0,
					       (struct sockaddr *)&from, &fl);

			if (len <= 0)
				continue;
			if (!reflect)
				from = i & 1 ? pa : pb;
			sendto(fds[o], buf, (size_t)len, 0,
			       (struct sockaddr *)&from, sizeof(from));
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
	int redis_port; /* playback: our redis-server with the prompt */
	pid_t redis;

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
	uint64_t s_expected, s_gap[GAP_HIST + 1], s_burst[HIST + 1];
	uint64_t cpu0, t0;
	bool over;  /* threshold exceeded: stop stepping */
	int tries;  /* measurements a step may take to pass (--tries) */
	int tried;  /* ... this step has taken */
	char rows[2][96][320]; /* a row per measurement */
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
static pid_t spawn_on(int on_core, bool rt, char *const argv[])
{
	char core[8], *full[64];
	int n = 0;
	pid_t pid;

	snprintf(core, sizeof(core), "%d", on_core);
	full[n++] = "taskset";
	full[n++] = "-c";
	full[n++] = core;
	if (rt) {
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

/* The measured process: on the worker's core. */
static pid_t spawn(char *const argv[])
{
	return spawn_on(C.worker_core, C.rt, argv);
}

static void stop_pid(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGTERM);
		for (int i = 0; i < 50; i++) {
			if (waitpid(*pid, NULL, WNOHANG) == *pid) {
				*pid = 0;
				return;
			}
			usleep(100000);
		}
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
		*pid = 0;
	}
}

static void stop_child(void)
{
	stop_pid(&C.child);
}

/* Playback: a redis-server of our own (on the bench's core) holding the
 * tenant's prompt "long": PROMPT_S seconds of a 400 Hz tone in both laws,
 * with the fields provision writes. 0 or -1 (said why). */
static int redis_start(void)
{
	char port[16], key[PBX_KEY_MAX];
	char *argv[] = {"redis-server", "--port", port, "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--logfile",
			"/dev/null", NULL};
	size_t len = (size_t)PROMPT_S * 8000;
	uint8_t *ulaw = malloc(len), *alaw = malloc(len);
	redisContext *rc = NULL;
	redisReply *r = NULL;
	int err = -1;

	snprintf(port, sizeof(port), "%d", C.redis_port);
	C.redis = spawn_on(C.bench_core, false, argv);
	for (int i = 0; i < 50 && C.redis > 0; i++) {
		usleep(100000);
		rc = redisConnect("127.0.0.1", C.redis_port);
		if (rc && !rc->err)
			break;
		redisFree(rc);
		rc = NULL;
	}
	if (!rc || !ulaw || !alaw ||
	    pbx_key(key, sizeof(key), "bench", "prompt:%s", "long")) {
		fprintf(stderr, "redis-server on port %d did not start\n",
			C.redis_port);
		goto out;
	}
	/* Any bytes are audio; a tone makes captures audible. */
	for (size_t i = 0; i < len; i++) {
		ulaw[i] = (uint8_t)(i % 20 < 10 ? 0x8f : 0x0f);
		alaw[i] = (uint8_t)(i % 20 < 10 ? 0xa5 : 0x25);
	}
	r = redisCommand(rc,
			 "HSET %s ulaw %b alaw %b ms %d bytes %d "
			 "uploaded_ms 1",
			 key, ulaw, len, alaw, len, PROMPT_S * 1000, (int)len);
	if (!r || r->type == REDIS_REPLY_ERROR)
		fprintf(stderr, "redis: HSET %s failed: %s\n", key,
			r ? r->str : rc->errstr);
	else
		err = 0;
out:
	if (r)
		freeReplyObject(r);
	redisFree(rc);
	free(ulaw);
	free(alaw);
	return err;
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
	/* A playback call has no callee. */
	bool b_up = c->b_up || mode != MODE_BRIDGE;

	if (c->a_up && b_up && !c->failed && !atomic_load(&c->active)) {
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

	if (sdp_port(msg, &c->to_a))
		return EPROTO;
	/* The worker sends the prompt from the port it gave us. */
	atomic_store_explicit(&port_call[ntohs(c->to_a.sin_port)],
			      (int)(c - calls) + 1, memory_order_release);
	return 0;
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

	char why[96];

	if (msg)
		re_snprintf(why, sizeof(why), "caller leg closed: %u %r",
			    msg->scode, &msg->reason);
	else
		re_snprintf(why, sizeof(why), "caller leg closed: %m", err);
	call_fail(c, why);
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

/* The router's answer to INCOMING: Ring b<idx> (bridged calls), Play
 * the long greeting (playback; the Play answers the call), ConfJoin
 * (conference; the join answers it) or QueueHold (the music answers it). */
static void route(const Pbx__V1__Envelope *in, int idx)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__MediaCommand cmd = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Ring r = PBX__V1__MEDIA_COMMAND__RING__INIT;
	Pbx__V1__MediaCommand__Play play = PBX__V1__MEDIA_COMMAND__PLAY__INIT;
	Pbx__V1__MediaCommand__ConfJoin join =
		PBX__V1__MEDIA_COMMAND__CONF_JOIN__INIT;
	/* The default queue's hold: every string empty, no period. */
	Pbx__V1__MediaCommand__QueueHold hold =
		PBX__V1__MEDIA_COMMAND__QUEUE_HOLD__INIT;
	char target[64], room[32];

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
	if (conf_size) {
		snprintf(room, sizeof(room), "r%d", idx / conf_size);
		cmd.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_CONF_JOIN;
		cmd.ring = NULL;
		cmd.conf_join = &join;
		join.room = room;
		join.moh = "";
		join.announce = false;
	} else if (queue_hold) {
		cmd.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_QUEUE_HOLD;
		cmd.ring = NULL;
		cmd.queue_hold = &hold;
		hold.language = "en";
	} else if (mode != MODE_BRIDGE) {
		cmd.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_PLAY;
		cmd.ring = NULL;
		cmd.play = &play;
		play.prompt = "long";
		play.loops = PROMPT_LOOPS;
	}
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
		route(env, idx);
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
	C.s_expected = get(&st.expected);
	for (int i = 0; i <= HIST; i++)
		C.s_hist[i] = get(&st.hist[i]);
	for (int i = 0; i <= GAP_HIST; i++)
		C.s_gap[i] = get(&st.gap[i]);
	for (int i = 0; i <= HIST; i++)
		C.s_burst[i] = get(&st.burst[i]);
	atomic_store(&st.burst_max_ns, 0);
	C.cpu0 = C.child > 0 ? child_cpu_ticks(C.child) : 0;
	C.t0 = now_ns(CLOCK_MONOTONIC);
}

/* The q-quantile of a histogram of 10 µs buckets (the last one: above),
 * in ms. */
static double pct_ms(const uint64_t *h, int n, double q)
{
	uint64_t total = 0, want, acc = 0;

	for (int i = 0; i <= n; i++)
		total += h[i];
	want = (uint64_t)((double)total * q);
	for (int i = 0; i <= n; i++) {
		acc += h[i];
		if (acc > want)
			return i / 100.0;
	}
	return n / 100.0;
}

/* The histogram's counts since the snapshot, into h. */
static void since(uint64_t *h, atomic_uint_fast64_t *now,
		  const uint64_t *then, int n)
{
	for (int i = 0; i <= n; i++)
		h[i] = get(&now[i]) - then[i];
}

/* The columns both tables share: late and lost (of `of` packets), then
 * the delay's p50, p99 and largest bucket from histogram h. */
static void delay_cols(char *buf, size_t size, const uint64_t *h,
		       uint64_t late, uint64_t lost, uint64_t of)
{
	double maxms = 0;

	for (int i = 0; i <= HIST; i++)
		if (h[i])
			maxms = i / 100.0;
	snprintf(buf, size, "%.3f %% | %.3f %% | %.2f | %.2f | %.1f%s",
		 late * 100.0 / (of ? of : 1), lost * 100.0 / (of ? of : 1),
		 pct_ms(h, HIST, 0.5), pct_ms(h, HIST, 0.99), maxms,
		 maxms >= HIST / 100.0 ? "+" : "");
}

/* Playback row: what the callers received. Returns the share of packets
 * late or lost, in %. */
static double row_playback(char *row, size_t size, double secs, double cpu)
{
	static uint64_t h[HIST + 1], g[GAP_HIST + 1], b[HIST + 1];
	uint64_t expected = get(&st.expected) - C.s_expected;
	uint64_t recv = get(&st.recv) - C.s_recv;
	uint64_t late = get(&st.late) - C.s_late, lost, off, gaps = 0;
	double burst = (double)atomic_load(&st.burst_max_ns) / 1e6;
	char delay[128];

	since(h, st.hist, C.s_hist, HIST);
	since(g, st.gap, C.s_gap, GAP_HIST);
	since(b, st.burst, C.s_burst, HIST);
	lost = expected > recv ? expected - recv : 0;
	/* Spacing outside 20 ms +- 2 ms. */
	off = 0;
	for (int i = 0; i <= GAP_HIST; i++) {
		gaps += g[i];
		if (i < (PERIOD_US - 2000) / 10 || i > (PERIOD_US + 2000) / 10)
			off += g[i];
	}
	delay_cols(delay, sizeof(delay), h, late, lost, expected);
	snprintf(row, size,
		 "| %d | %.0f | %s | %.1f / %.1f / %.1f | %.3f %% | %.2f / "
		 "%.2f | %.0f %% |",
		 C.up, (double)recv / secs, delay, pct_ms(g, GAP_HIST, 0.01),
		 pct_ms(g, GAP_HIST, 0.5),
		 pct_ms(g, GAP_HIST, 0.99), off * 100.0 / (gaps ? gaps : 1),
		 pct_ms(b, HIST, 0.99), burst, cpu);
	return expected ? (double)(late + lost) / (double)expected * 100 : 100;
}

/* Bridged row: our own packets back, delay from their send time. */
static double row_bridge(char *row, size_t size, double secs, double cpu)
{
	static uint64_t h[HIST + 1];
	uint64_t sent = get(&st.sent) - C.s_sent;
	uint64_t recv = get(&st.recv) - C.s_recv;
	uint64_t late = get(&st.late) - C.s_late, lost;
	char delay[128];

	since(h, st.hist, C.s_hist, HIST);
	lost = sent > recv ? sent - recv : 0;
	delay_cols(delay, sizeof(delay), h, late, lost, sent);
	snprintf(row, size, "| %d | %.0f | %s | %.0f %% |", C.up,
		 (double)sent / secs, delay, cpu);
	if (getenv("BENCH_HIST"))
		for (int i = LATE_US / 10; i <= HIST; i++)
			if (h[i])
				fprintf(stderr, "  %d us: %llu\n", i * 10,
					(unsigned long long)h[i]);
	return sent ? (double)(late + lost) / (double)sent * 100 : 100;
}

static void next_step(void *arg);
static void settle_done(void *arg);

static void measure_done(void *arg)
{
	double secs, cpu, fr;
	int p = C.phase;
	char *row = C.rows[p][C.nrows[p]];

	(void)arg;
	secs = (double)(now_ns(CLOCK_MONOTONIC) - C.t0) / 1e9;
	cpu = C.child > 0 ? (double)(child_cpu_ticks(C.child) - C.cpu0) /
				    (double)sysconf(_SC_CLK_TCK) / secs * 100
			  : 0;
	if (mode == MODE_BRIDGE)
		fr = row_bridge(row, sizeof(C.rows[0][0]), secs, cpu);
	else
		fr = row_playback(row, sizeof(C.rows[0][0]), secs, cpu);
	fprintf(stderr, "%s %s\n", p == PH_WORKER ? "worker" : "relay ", row);
	C.nrows[p]++;
	/* One hiccup of a shared machine (a vCPU stalled for 10 ms) must
	 * not end a ramp: a step over the threshold is measured again, up
	 * to --tries times, every row printed. Saturation fails them all. */
	if (fr > 0.1 && !C.failed && ++C.tried < C.tries && C.nrows[p] < 96) {
		tmr_start(&C.tmr, 0, settle_done, NULL);
		return;
	}
	C.tried = 0;
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
	for (int i = 0; i < 65536; i++)
		atomic_store(&port_call[i], 0);
	atomic_fetch_add(&media_gen, 1);
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
			/* Playback: the reflected packets come from to_a. */
			atomic_store(&port_call[ECHO_BASE + 2 * i], i + 1);
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
	char n[16], base[16], redis[32];

	C.phase = p;
	C.step = 0;
	C.over = false;
	C.up = 0;
	C.created = 0;
	C.failed = 0;
	/* The relay phase sends on every call whatever the callers are
	 * like: a bare echo has nothing else to send. */
	atomic_store(&send_mask, mode == MODE_BRIDGE	   ? 3
				 : p == PH_ECHO || mode == MODE_TALKING ? 1
									: 0);
	snprintf(redis, sizeof(redis), "redis_port=%d", C.redis_port);
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
				"capacity=9000",
				"--set",
				"rtp_port_min=20000",
				"--set",
				"rtp_port_max=32900",
				"--set",
				redis,
				"--set",
				/* Silent callers: no hang-up after 60 s. */
				"rtp_timeout_ms=0",
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
			char *argv[] = {self,
					"--echo-server",
					n,
					base,
					mode == MODE_BRIDGE ? "relay"
							    : "reflect",
					NULL};

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
		"       [--playback talking|silent | --conference N |\n"
		"        --queue-hold talking|silent] [--redis-port P] "
		"[--tries N]\n"
		"       bridge_bench --echo-server N BASE_PORT "
		"[relay|reflect]\n");
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
	if (mode != MODE_BRIDGE) {
		const char *who =
			mode == MODE_TALKING ? "each sending RTP" : "silent";

		if (p == PH_WORKER && conf_size)
			printf("**media-worker** (conference members in rooms "
			       "of %d, each sending RTP and hearing the mix of "
			       "the others)\n\n",
			       conf_size);
		else if (p == PH_WORKER)
			printf("**media-worker** (callers hearing %s, %s)\n\n",
			       queue_hold ? "a queue's music on hold"
					  : "a prompt",
			       who);
		else
			printf("**bare UDP echo** (one socket per caller, "
			       "each packet sent straight back)\n\n");
		printf("| legs | packets/s received | late > 5 ms | lost | "
		       "offset p50 ms | p99 ms | max ms | spacing p1 / p50 / "
		       "p99 ms | spacing outside 20 +- 2 ms | burst p99 / "
		       "longest ms | CPU of its core |\n");
		printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
	} else {
		printf("%s\n\n", p == PH_WORKER
				       ? "**media-worker** (bridged calls: "
					 "SIP B2BUA, RTP relayed both ways)"
				       : "**plain UDP relay** (same sockets "
					 "and packets, recv + send only)");
		printf("| calls | packets/s (all legs) | late > 5 ms | lost | "
		       "p50 ms | p99 ms | max ms | CPU of its core |\n");
		printf("|---|---|---|---|---|---|---|---|\n");
	}
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
		return echo_server(atoi(argv[2]), (uint16_t)atoi(argv[3]),
				   argc >= 5 && !strcmp(argv[4], "reflect"));
	C.worker_path = MEDIA_WORKER_PATH;
	C.measure_s = 10;
	C.cps = 200;
	C.worker_core = 0;
	C.bench_core = 1;
	C.rt = true;
	C.redis_port = 6412;
	C.tries = 2;
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
		else if (!strcmp(argv[i], "--redis-port") && v)
			C.redis_port = atoi(v);
		else if (!strcmp(argv[i], "--tries") && v)
			C.tries = atoi(v) > 0 && atoi(v) <= 3 ? atoi(v) : 2;
		else if ((!strcmp(argv[i], "--playback") ||
			  !strcmp(argv[i], "--queue-hold")) &&
			 v &&
			 (!strcmp(v, "talking") || !strcmp(v, "silent"))) {
			mode = !strcmp(v, "talking") ? MODE_TALKING
						     : MODE_SILENT;
			queue_hold = !strcmp(argv[i], "--queue-hold");
		}
		else if (!strcmp(argv[i], "--conference") && v &&
			 atoi(v) >= 2 && atoi(v) <= 100) {
			mode = MODE_TALKING;
			conf_size = atoi(v);
		}
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
	C.zctx = pbx_zmq_ctx_new();
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

	if (mode != MODE_BRIDGE && redis_start()) {
		stop_pid(&C.redis);
		return 1;
	}
	if (pthread_create(&media, NULL, media_main, NULL))
		return 1;
	start_phase(PH_WORKER);
	re_main(NULL);
	stop_pid(&C.redis);

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
	printf("Most %s with <= 0.1 %% of packets late (> 5 ms) or lost: "
	       "media-worker **%d**, %s **%d**%s: ratio **%.2fx**%s.\n",
	       mode == MODE_BRIDGE ? "calls"
	       : conf_size	   ? "members"
				   : "legs",
	       C.best[PH_WORKER],
	       mode == MODE_BRIDGE ? "plain relay" : "bare echo",
	       C.best[PH_ECHO],
	       C.best[PH_ECHO] == C.steps[C.nsteps - 1]
		       ? " (the baseline was not saturated by the largest "
			 "step)"
		       : "",
	       C.best[PH_ECHO] ? (double)C.best[PH_WORKER] / C.best[PH_ECHO]
			       : 0.0,
	       C.best[PH_ECHO] ? "" : " (no baseline step passed)");
	/* A run that measured nothing (worker or relay never came up) is
	 * a failure for scripts (bench/run.sh), not an empty table. */
	if (!C.nrows[PH_WORKER] || !C.nrows[PH_ECHO]) {
		fprintf(stderr, "bridge_bench: no step measured for the %s\n",
			!C.nrows[PH_WORKER] ? "worker" : "relay");
		return 1;
	}
	return 0;
}
