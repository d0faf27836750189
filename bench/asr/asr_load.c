/* Concurrent streams on one asr-bridge process (docs/performance.md,
 * "Voice assistant"): N streams at once, as media workers open them, over
 * the bridge's real bus (a CURVE DEALER with a worker's key, the
 * tests' fake_peer): per stream an AsrStart with the phrases given, then
 * the caller's audio in 20 ms frames paced in real time (an utterance
 * file: the lead-in silence, the speech, then silence until the FINAL
 * comes), then at once the next turn (another stream id, another file),
 * so N streams are open all the time; streams start at random offsets.
 *
 * Per utterance, at the bus side: the send time of the frame that ends
 * the speech (found by running the bridge's own endpointer, asr_stream.c,
 * on the same frames) → the FINAL received is the result latency;
 * minus the FINAL's decode_ms (the bridge's end of speech → result, the
 * recogniser's call and nothing else on the loop; whole ms: ±1 ms) it is
 * the bridge's own added latency (the bus both ways, the frame's wait behind
 * other streams' work, the bridge's handling). decode_ms ÷ the audio the
 * recogniser got is its real-time factor. The bridge process's CPU time
 * (from /proc, --pid) over the measurement is reported beside.
 *
 *   asr_load --endpoint tcp://... [--secret mw1.key --server-pub asr1.pub]
 *            --streams N [--warmup S] [--seconds S] [--pid PID]
 *            [--p99-ms MS] [--rtf R] [--verbose]
 *            "name=syn|syn;..." file.raw...
 *
 * Prints one markdown row; exit 0: the step holds (answers to every
 * utterance measured, none refused or lost, the recogniser's RTF <= --rtf,
 * the result latency p99 <= --p99-ms); 1: it does not; 2: nothing was
 * measured, or bad usage. */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "asr_stream.h"
#include "bench_audio.h"
#include "fake_peer.h"
#include "pbx_bus.h"
#include "pbx_metrics.h"

#define KIND(x) PBX__V1__ASR_RESULT__KIND__KIND_##x

enum {
	FRAME_MS = 20,
	ANSWER_MS = 5000, /* an utterance without FINAL this long: lost */
	FILES_MAX = 256,
	STREAMS_MAX = 1024,
};

/* One utterance file as a caller sends it. */
struct clip {
	int16_t *pcm;
	size_t nframes; /* whole frames of pcm; silence follows */
	size_t eos;	/* the frame whose arrival ends the speech */
	double audio_s; /* what the recogniser gets */
	char want[64];
};

struct lstream {
	struct event *tick;
	size_t idx;
	uint64_t id; /* 0: between turns */
	struct clip *clip;
	size_t frame;
	uint64_t eos_us; /* the ending frame sent (0: not yet) */
};

struct samples {
	double *v;
	size_t n, cap;
};

static struct {
	struct event_base *base;
	struct fake_peer *peer;
	struct bench_phrases ph;
	Pbx__V1__AsrPhrase aph[ASR_PHRASES_MAX];
	Pbx__V1__AsrPhrase *aphp[ASR_PHRASES_MAX];
	struct clip clip[FILES_MAX];
	size_t nclip;
	struct lstream *st;
	size_t n;
	uint64_t gen;
	uint64_t t0, t1; /* measurement window, µs */
	bool closing;
	/* measured (end of speech inside the window) */
	struct samples lat, own;
	double decode_s, audio_s;
	unsigned right, in_grammar, lost, errors, mismatch;
	unsigned send_fail;
	bool verbose;
} L;

static void add(struct samples *s, double v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		double *p = realloc(s->v, cap * sizeof(*p));

		if (!p)
			return;
		s->v = p;
		s->cap = cap;
	}
	s->v[s->n++] = v;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest rank: the smallest value with at least q of them at or below. */
static double quantile(struct samples *s, double q)
{
	size_t k;

	if (!s->n)
		return 0;
	qsort(s->v, s->n, sizeof(*s->v), cmp_d);
	k = (size_t)(q * (double)s->n + 0.999999);
	return s->v[k ? k - 1 : 0];
}

static bool in_window(uint64_t t)
{
	return t >= L.t0 && t <= L.t1;
}

/* Queued at once (no retry): a full queue is a failure of the step. */
static void bus_send(Pbx__V1__Envelope *env)
{
	env->tenant_id = (char *)"bench";
	env->call_id = (char *)"asr-load";
	if (fake_peer_send(L.peer, env, 0))
		L.send_fail++;
}

/* ---- the clips: where the bridge's endpointer ends each ------------- */

/* The turn's bounds, sent in AsrStart; the threshold is the bridge's
 * default threshold_db (load.sh leaves it). */
static const struct asr_stream_cfg ENDPOINT = {.no_input_ms = 60000,
					       .max_utterance_ms = 8000,
					       .end_silence_ms = 700,
					       .threshold_db = -40};

static int clip_load(struct clip *c, const char *path)
{
	struct asr_stream st;
	int16_t zero[ASR_FRAME] = {0};
	size_t n, f;

	bench_expected(path, c->want, sizeof(c->want));
	c->pcm = bench_read_raw(path, &n);
	if (!c->pcm || asr_stream_init(&st, &ENDPOINT))
		return -EINVAL;
	c->nframes = n / ASR_FRAME;
	for (f = 0; f < c->nframes + 5000 / FRAME_MS; f++) {
		const int16_t *p = f < c->nframes ? c->pcm + f * ASR_FRAME : zero;
		enum asr_stream_ev ev = asr_stream_feed(&st, p, ASR_FRAME);

		if (ev == ASR_EV_END_OF_SPEECH || ev == ASR_EV_MAX_UTTERANCE)
			break;
	}
	c->eos = f;
	asr_stream_audio(&st, &n);
	c->audio_s = (double)n / ASR_RATE;
	asr_stream_release(&st);
	return f < c->nframes + 5000 / FRAME_MS ? 0 : -EINVAL;
}

/* ---- a stream's turns ---------------------------------------------- */

static void turn_start(struct lstream *s)
{
	Pbx__V1__AsrStart st = PBX__V1__ASR_START__INIT;
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;

	s->id = ++L.gen << 16 | s->idx;
	s->clip = &L.clip[(size_t)rand() % L.nclip];
	s->frame = 0;
	s->eos_us = 0;
	st.stream_id = s->id;
	st.n_phrases = L.ph.n;
	st.phrases = L.aphp;
	st.confidence = 0.5;
	st.no_input_ms = 10000;
	st.max_utterance_ms = ENDPOINT.max_utterance_ms;
	st.end_silence_ms = ENDPOINT.end_silence_ms;
	st.sample_rate = ASR_RATE;
	st.language = (char *)"en-us";
	env.body_case = PBX__V1__ENVELOPE__BODY_ASR_START;
	env.asr_start = &st;
	bus_send(&env);
}

static void turn_stop(struct lstream *s)
{
	Pbx__V1__AsrAudio au = PBX__V1__ASR_AUDIO__INIT;
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;

	au.stream_id = s->id;
	au.stop = true;
	env.body_case = PBX__V1__ENVELOPE__BODY_ASR_AUDIO;
	env.asr_audio = &au;
	bus_send(&env);
	s->id = 0;
}

static void frame_send(struct lstream *s)
{
	static const int16_t zero[ASR_FRAME];
	const int16_t *pcm = s->frame < s->clip->nframes
				     ? s->clip->pcm + s->frame * ASR_FRAME
				     : zero;
	uint8_t le[ASR_FRAME * 2];
	Pbx__V1__AsrAudio au = PBX__V1__ASR_AUDIO__INIT;
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;

	for (size_t i = 0; i < ASR_FRAME; i++) { /* little-endian */
		le[2 * i] = (uint8_t)((uint16_t)pcm[i] & 0xff);
		le[2 * i + 1] = (uint8_t)((uint16_t)pcm[i] >> 8);
	}
	au.stream_id = s->id;
	au.seq = (uint32_t)s->frame;
	au.pcm.data = le;
	au.pcm.len = sizeof(le);
	env.body_case = PBX__V1__ENVELOPE__BODY_ASR_AUDIO;
	env.asr_audio = &au;
	bus_send(&env);
	if (s->frame == s->clip->eos)
		s->eos_us = pbx_metrics_now_us();
	s->frame++;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lstream *s = arg;
	uint64_t now = pbx_metrics_now_us();

	(void)fd;
	(void)what;
	if (!s->id) {
		if (L.closing)
			return;
		turn_start(s);
	}
	if (s->eos_us && now - s->eos_us > ANSWER_MS * 1000ULL) {
		if (in_window(s->eos_us))
			L.lost++;
		turn_stop(s);
		return;
	}
	if (L.closing && !s->eos_us) { /* not ended yet: not measured */
		turn_stop(s);
		return;
	}
	frame_send(s);
}

static struct lstream *stream_of(uint64_t id)
{
	size_t idx = (size_t)(id & 0xffff);

	return idx < L.n && L.st[idx].id == id ? &L.st[idx] : NULL;
}

static void on_result(const Pbx__V1__Envelope *env, void *arg)
{
	const Pbx__V1__AsrResult *r = env->asr_result;
	uint64_t now = pbx_metrics_now_us();
	struct lstream *s;

	(void)arg;
	if (!r || !(s = stream_of(r->stream_id)) ||
	    r->kind == KIND(SPEECH_STARTED))
		return;
	if (r->kind != KIND(FINAL)) { /* ERROR (busy...), NO_INPUT */
		if (!L.closing || s->eos_us)
			L.errors++;
		fprintf(stderr, "asr_load: stream %llu: kind %d %s\n",
			(unsigned long long)s->id, r->kind,
			r->detail ? r->detail : "");
		s->id = 0;
		return;
	}
	if (!s->eos_us) { /* the bridge ended it before our endpointer */
		L.mismatch++;
	} else if (in_window(s->eos_us)) {
		double lat = (double)(now - s->eos_us) / 1000;

		add(&L.lat, lat);
		add(&L.own, lat - r->decode_ms);
		L.decode_s += r->decode_ms / 1000.0;
		L.audio_s += s->clip->audio_s;
		L.in_grammar += strcmp(s->clip->want, "none") != 0;
		L.right += r->phrase && !strcmp(r->phrase, s->clip->want);
		if (L.verbose)
			fprintf(stderr,
				"asr_load: %s heard \"%s\" -> %s (%.2f), "
				"%.1f ms, decode %u ms\n",
				s->clip->want, r->text ? r->text : "",
				r->phrase && r->phrase[0] ? r->phrase : "-",
				r->confidence, lat, r->decode_ms);
	}
	s->id = 0; /* the next turn at the next tick */
}

static void begin_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lstream *s = arg;
	struct timeval tv = {0, FRAME_MS * 1000};

	(void)fd;
	(void)what;
	event_free(s->tick);
	s->tick = event_new(L.base, -1, EV_PERSIST, tick_cb, s);
	if (s->tick)
		event_add(s->tick, &tv);
}

/* utime + stime of pid, seconds (-1: unknown). */
static double cpu_of(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *f;
	size_t n;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the name may hold spaces */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
				"%*u %lu %lu",
			 &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: asr_load --endpoint EP [--secret KEY --server-pub PUB] "
		"--streams N [--warmup S] [--seconds S] [--pid PID] "
		"[--p99-ms MS] [--rtf R] [--verbose] \"name=syn|...;...\" file.raw...\n");
}

static void wait_ms(int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	event_base_loopexit(L.base, &tv);
	event_base_dispatch(L.base);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"endpoint", 1, 0, 'e'}, {"secret", 1, 0, 'k'},
		{"server-pub", 1, 0, 'p'}, {"streams", 1, 0, 'n'},
		{"warmup", 1, 0, 'w'}, {"seconds", 1, 0, 's'},
		{"pid", 1, 0, 'P'}, {"p99-ms", 1, 0, 'l'},
		{"rtf", 1, 0, 'r'}, {"verbose", 0, 0, 'v'}, {0, 0, 0, 0}};
	const char *ep = NULL, *secret = "", *pub = NULL;
	double warmup = 3, seconds = 20, p99_max = 200, rtf_max = 0.05;
	double cpu0, cpu1, rtf, p99, wall;
	long pid = 0;
	unsigned failed;
	void *zctx;
	int o, rc;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'e':
			ep = optarg;
			break;
		case 'k':
			secret = optarg;
			break;
		case 'p':
			pub = optarg;
			break;
		case 'n':
			L.n = (size_t)atol(optarg);
			break;
		case 'w':
			warmup = atof(optarg);
			break;
		case 's':
			seconds = atof(optarg);
			break;
		case 'P':
			pid = atol(optarg);
			break;
		case 'l':
			p99_max = atof(optarg);
			break;
		case 'r':
			rtf_max = atof(optarg);
			break;
		case 'v':
			L.verbose = true;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (!ep || !L.n || L.n > STREAMS_MAX || seconds <= 0 ||
	    argc - optind < 2 || bench_phrases_parse(&L.ph, argv[optind])) {
		usage();
		return 2;
	}
	for (size_t i = 0; i < L.ph.n; i++) {
		Pbx__V1__AsrPhrase *a = &L.aph[i];

		pbx__v1__asr_phrase__init(a);
		a->name = (char *)L.ph.ph[i].name;
		a->n_synonyms = L.ph.ph[i].nsynonyms;
		a->synonyms = (char **)L.ph.syn[i];
		L.aphp[i] = a;
	}
	for (int i = optind + 1; i < argc && L.nclip < FILES_MAX; i++) {
		if (clip_load(&L.clip[L.nclip], argv[i])) {
			fprintf(stderr, "asr_load: %s: unreadable or no end "
					"of speech\n", argv[i]);
			return 2;
		}
		L.nclip++;
	}
	srand((unsigned)getpid());
	L.base = event_base_new();
	zctx = pbx_zmq_ctx_new();
	L.st = calloc(L.n, sizeof(*L.st));
	if (!L.base || !zctx || !L.st ||
	    fake_peer_alloc_opts(&L.peer, L.base, zctx, ep, "mw1",
				 &(struct pbx_bus_opts){
					 .secret_file = secret,
					 .server_public_file =
						 secret[0] ? pub : NULL,
				 })) {
		fprintf(stderr, "asr_load: cannot connect to %s\n", ep);
		return 2;
	}
	fake_peer_set_recv(L.peer, on_result, NULL);
	{ /* the connection up (CURVE handshake) before the clock starts */
		Pbx__V1__AsrPing ping = PBX__V1__ASR_PING__INIT;
		Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;

		ping.worker_id = (char *)"mw1";
		env.body_case = PBX__V1__ENVELOPE__BODY_ASR_PING;
		env.asr_ping = &ping;
		if (fake_peer_send(L.peer, &env, 5000) ||
		    fake_peer_wait(L.peer, 1, 5000) < 1) {
			fprintf(stderr, "asr_load: no heartbeat from %s\n",
				ep);
			return 2;
		}
	}
	/* Streams begin at random offsets within the first 2 s. */
	for (size_t i = 0; i < L.n; i++) {
		struct timeval tv = {0, rand() % 2000000};

		L.st[i].idx = i;
		tv.tv_sec = tv.tv_usec / 1000000;
		tv.tv_usec %= 1000000;
		L.st[i].tick = evtimer_new(L.base, begin_cb, &L.st[i]);
		evtimer_add(L.st[i].tick, &tv);
	}
	L.t0 = pbx_metrics_now_us() + (uint64_t)(warmup * 1e6);
	L.t1 = L.t0 + (uint64_t)(seconds * 1e6);
	wait_ms((int)(warmup * 1000));
	cpu0 = cpu_of(pid);
	wait_ms((int)(seconds * 1000));
	cpu1 = cpu_of(pid);
	/* No new turns; those measured get their answer (or are lost). */
	L.closing = true;
	wait_ms(ANSWER_MS + 500);
	wall = seconds;
	rtf = L.audio_s ? L.decode_s / L.audio_s : 0;
	p99 = quantile(&L.lat, 0.99);
	failed = L.lost + L.errors + L.mismatch + L.send_fail;
	printf("| %zu | %zu | %u / %u | %u | %.4f | ", L.n, L.lat.n, L.right,
	       L.in_grammar, failed, rtf);
	if (cpu0 >= 0 && cpu1 >= 0)
		printf("%.0f %% | ", 100 * (cpu1 - cpu0) / wall);
	else
		printf("- | ");
	printf("%.1f ms | %.1f ms | %.1f ms | %.1f ms | %.1f ms |",
	       quantile(&L.lat, 0.5), p99, quantile(&L.lat, 1),
	       quantile(&L.own, 0.5), quantile(&L.own, 0.99));
	fflush(stdout);
	if (failed)
		fprintf(stderr,
			"asr_load: %u lost, %u refused/errors, %u ended "
			"before the bench's end of speech, %u not sent\n",
			L.lost, L.errors, L.mismatch, L.send_fail);
	/* 2 only when nothing happened at all: every turn lost breaks. */
	rc = !L.lat.n && !failed			       ? 2
	     : failed || rtf > rtf_max || p99 > p99_max ? 1
							: 0;
	for (size_t i = 0; i < L.n; i++)
		if (L.st[i].tick)
			event_free(L.st[i].tick);
	fake_peer_free(L.peer);
	zmq_ctx_term(zctx);
	event_base_free(L.base);
	return rc;
}
