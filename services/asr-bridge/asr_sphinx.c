/* The embedded recogniser: pocketsphinx 0.8+5prealpha (Debian) with the
 * en-us 16 kHz model. Each utterance gets the grammar of its turn
 * (asr_grammar.c) and is upsampled 8 → 16 kHz (libsamplerate) first:
 * the 16 kHz model on upsampled telephone audio recognised 56/64 test
 * phrases, the model at 8 kHz almost none (/work/shared/notes/media.md).
 *
 * Off the loop (docs/services/asr-bridge.md, "Threads"): a pool of
 * decode threads, each with its own decoder (a ps_decoder_t is not
 * thread-safe; each keeps its own current grammar), takes jobs from a
 * bounded queue. A job owns copies of everything it needs (the audio,
 * the phrases, the log context), so a thread never touches the bridge's
 * memory; the answer goes back to the loop through an eventfd, and only
 * the loop calls done. With no threads (asr_bench) the decode runs on
 * the caller, before recognize returns. */
#include <errno.h>
#include <event2/event.h>
#include <pocketsphinx.h>
#include <pthread.h>
#include <sphinxbase/jsgf.h>
#include <samplerate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "asr_backend.h"
#include "asr_grammar.h"
#include "pbx_log.h"

/* One decoder and its buffers: used by one thread at a time. */
struct dec {
	struct sphinx *owner;
	ps_decoder_t *ps;
	cmd_ln_t *cfg;
	unsigned gen; /* alternates the search names */
	char grammar[ASR_GRAMMAR_MAX];
	char current[ASR_GRAMMAR_MAX]; /* the grammar set now: "" none */
	float *fin, *fout;
	int16_t *pcm16;
	size_t cap; /* samples at 8 kHz the buffers hold */
};

/* One utterance to decode (a copy of the turn: the stream may end
 * meanwhile), and then its answer. */
struct job {
	struct job *next;
	asr_done_h *done;
	void *arg; /* the bridge's; only the loop hands it back */
	struct scenario_phrase ph[ASR_PHRASES_MAX];
	const char *syn[ASR_PHRASES_MAX][ASR_SYNONYMS_MAX];
	size_t nph;
	char *strs; /* the phrases' names and synonyms */
	int16_t *pcm;
	size_t n;
	char tenant[65], call_id[129];
	uint64_t stream_id;
	/* the answer */
	int err;
	double score;
	char *text;
};

struct sphinx {
	struct asr_backend base; /* first: the backend's handle */
	double filler_weight;
	struct dec *decs; /* one per thread (one when inline) */
	size_t ndecs;
	/* the pool (nthreads 0: inline) */
	size_t nthreads, started, queue_max;
	pthread_t *threads;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool mu_ok, stopping;
	struct job *todo, **todo_tail; /* FIFO */
	struct job *answered;	       /* for the loop */
	size_t njobs; /* queued or decoding */
	int efd;
	struct event *ev;
};

static bool known(const char *word, void *arg)
{
	char *pron = ps_lookup_word(arg, word);

	if (!pron)
		return false;
	ckd_free(pron);
	return true;
}

static int grow(struct dec *s, size_t n)
{
	float *fin, *fout;
	int16_t *p;

	if (n <= s->cap)
		return 0;
	fin = realloc(s->fin, n * sizeof(*fin));
	if (fin)
		s->fin = fin;
	fout = realloc(s->fout, 2 * n * sizeof(*fout) + 64);
	if (fout)
		s->fout = fout;
	p = realloc(s->pcm16, 2 * n * sizeof(*p) + 32);
	if (p)
		s->pcm16 = p;
	if (!fin || !fout || !p)
		return -ENOMEM;
	s->cap = n;
	return 0;
}

/* Makes s->grammar the decoder's search (unless it is already). Parsed
 * here rather than with ps_set_jsgf_string, which in 0.8+5prealpha never
 * frees the parsed grammar (a leak per call). A new search name each
 * time, the old one unset after the switch: replacing the current search
 * in place would free it under the decoder. */
static int grammar_set(struct dec *s)
{
	char name[8], old[8];
	jsgf_rule_t *rule;
	fsg_model_t *fsg = NULL;
	jsgf_t *g;
	int err = -EINVAL;

	if (!strcmp(s->grammar, s->current))
		return 0;
	g = jsgf_parse_string(s->grammar, NULL);
	rule = g ? jsgf_get_public_rule(g) : NULL;
	if (rule)
		fsg = jsgf_build_fsg(g, rule, ps_get_logmath(s->ps),
				     (float32)cmd_ln_float32_r(s->cfg, "-lw"));
	snprintf(old, sizeof(old), "g%u", s->gen & 1);
	snprintf(name, sizeof(name), "g%u", ++s->gen & 1);
	if (fsg && !ps_set_fsg(s->ps, name, fsg) &&
	    !ps_set_search(s->ps, name)) {
		if (s->gen > 1)
			ps_unset_search(s->ps, old);
		memcpy(s->current, s->grammar, sizeof(s->current));
		err = 0;
	} else {
		s->current[0] = '\0';
	}
	if (fsg)
		fsg_model_free(fsg);
	if (g)
		jsgf_grammar_free(g);
	return err;
}

/* 8 → 16 kHz; returns the samples written to s->pcm16 or an error. */
static long upsample(struct dec *s, const int16_t *pcm, size_t n)
{
	SRC_DATA d = {0};
	int err;

	if (grow(s, n))
		return -ENOMEM;
	src_short_to_float_array(pcm, s->fin, (int)n);
	d.data_in = s->fin;
	d.input_frames = (long)n;
	d.data_out = s->fout;
	d.output_frames = (long)(2 * n + 16);
	d.src_ratio = 2.0;
	err = src_simple(&d, SRC_SINC_FASTEST, 1);
	if (err) {
		PLOG_WARN("resampler: %s", src_strerror(err));
		return -EIO;
	}
	src_float_to_short_array(s->fout, s->pcm16, (int)d.output_frames_gen);
	return d.output_frames_gen;
}

/* The utterance through d: 0 and *text (the words, borrowed from the
 * decoder until its next utterance) and *score, or an error. */
static int decode(struct dec *d, double filler_weight,
		  const struct scenario_phrase *ph, size_t nph,
		  const int16_t *pcm, size_t n, const char **text,
		  double *score)
{
	struct asr_grammar_stats st;
	const char *hyp;
	int32 sc;
	int32 frames;
	long n16;
	int len;

	len = asr_grammar_build(ph, nph, filler_weight, known, d->ps,
				d->grammar, sizeof(d->grammar), &st);
	if (len < 0)
		return len;
	if (st.dropped)
		PLOG_INFO("grammar: %zu synonym(s) left out (words the "
			  "dictionary does not know)",
			  st.dropped);
	n16 = upsample(d, pcm, n);
	if (n16 < 0)
		return (int)n16;
	if (grammar_set(d)) {
		PLOG_WARN("pocketsphinx refused the grammar");
		return -EINVAL;
	}
	if (ps_start_utt(d->ps) < 0 ||
	    ps_process_raw(d->ps, d->pcm16, (size_t)n16, FALSE, TRUE) < 0 ||
	    ps_end_utt(d->ps) < 0) {
		PLOG_WARN("pocketsphinx failed on the utterance");
		return -EIO;
	}
	hyp = ps_get_hyp(d->ps, &sc);
	*text = hyp ? hyp : "";
	/* The path's acoustic score per 10 ms frame (its log units): speech
	 * forced onto a phrase it is not scores lower per frame than the
	 * phrase said (docs/services/asr-bridge.md, "Confidence"). */
	frames = ps_get_n_frames(d->ps);
	*score = (double)sc / (frames ? frames : 1);
	return 0;
}

static void job_free(struct job *j)
{
	if (!j)
		return;
	free(j->strs);
	free(j->pcm);
	free(j->text);
	free(j);
}

/* A copy of what u names that the decode needs; NULL out of memory. */
static struct job *job_new(const struct asr_utt *u)
{
	struct job *j = calloc(1, sizeof(*j));
	size_t len = 0;
	char *p;

	if (!j || u->nphrases > ASR_PHRASES_MAX)
		goto fail;
	for (size_t i = 0; i < u->nphrases; i++) {
		len += strlen(u->phrases[i].name) + 1;
		if (u->phrases[i].nsynonyms > ASR_SYNONYMS_MAX)
			goto fail;
		for (size_t k = 0; k < u->phrases[i].nsynonyms; k++)
			len += strlen(u->phrases[i].synonyms[k]) + 1;
	}
	j->strs = p = malloc(len + 1);
	j->pcm = malloc(u->n * sizeof(*j->pcm) + 1);
	if (!j->strs || !j->pcm)
		goto fail;
	memcpy(j->pcm, u->pcm, u->n * sizeof(*j->pcm));
	j->n = u->n;
	for (size_t i = 0; i < u->nphrases; i++) {
		const struct scenario_phrase *f = &u->phrases[i];

		j->ph[i].name = strcpy(p, f->name);
		p += strlen(p) + 1;
		j->ph[i].synonyms = j->syn[i];
		j->ph[i].nsynonyms = f->nsynonyms;
		for (size_t k = 0; k < f->nsynonyms; k++) {
			j->syn[i][k] = strcpy(p, f->synonyms[k]);
			p += strlen(p) + 1;
		}
	}
	j->nph = u->nphrases;
	snprintf(j->tenant, sizeof(j->tenant), "%s", u->tenant ? u->tenant : "");
	snprintf(j->call_id, sizeof(j->call_id), "%s",
		 u->call_id ? u->call_id : "");
	j->stream_id = u->stream_id;
	return j;
fail:
	job_free(j);
	return NULL;
}

/* A decode thread: its own decoder, jobs until the pool stops. */
static void *worker(void *arg)
{
	struct dec *d = arg;
	struct sphinx *s = d->owner;
	const char *text = "";
	uint64_t one = 1;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct job *j;

		while (!s->todo && !s->stopping)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->stopping)
			break;
		j = s->todo;
		s->todo = j->next;
		if (!s->todo)
			s->todo_tail = &s->todo;
		pthread_mutex_unlock(&s->mu);
		pbx_log_ctx(j->tenant, j->call_id);
		j->err = decode(d, s->filler_weight, j->ph, j->nph, j->pcm,
				j->n, &text, &j->score);
		if (!j->err && !(j->text = strdup(text)))
			j->err = -ENOMEM;
		pbx_log_ctx(NULL, NULL);
		pthread_mutex_lock(&s->mu);
		j->next = s->answered;
		s->answered = j;
		s->njobs--;
		if (write(s->efd, &one, sizeof(one)) < 0)
			PLOG_WARN("decode thread: eventfd: %s", strerror(errno));
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* On the loop: the answers so far, in the order given. */
static void answered_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sphinx *s = arg;
	struct job *list, *rev = NULL;
	uint64_t n;

	(void)what;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		PLOG_WARN("decode answers: eventfd: %s", strerror(errno));
	pthread_mutex_lock(&s->mu);
	list = s->answered;
	s->answered = NULL;
	pthread_mutex_unlock(&s->mu);
	while (list) { /* LIFO → FIFO */
		struct job *j = list;

		list = j->next;
		j->next = rev;
		rev = j;
	}
	while (rev) {
		struct job *j = rev;

		rev = j->next;
		if (j->err)
			j->done(j->err, NULL, j->arg);
		else
			j->done(0,
				&(struct asr_hyp){.text = j->text,
						  .score = j->score},
				j->arg);
		job_free(j);
	}
}

static int sphinx_recognize(struct asr_backend *b, const struct asr_utt *u,
			    asr_done_h *done, void *arg)
{
	struct sphinx *s = (struct sphinx *)b;
	struct asr_hyp h = {0};
	struct job *j;
	int err;

	if (!s->nthreads) { /* inline */
		err = decode(&s->decs[0], s->filler_weight, u->phrases,
			     u->nphrases, u->pcm, u->n, &h.text, &h.score);
		if (err)
			return err;
		done(0, &h, arg);
		return 0;
	}
	pthread_mutex_lock(&s->mu);
	err = s->njobs >= s->nthreads + s->queue_max ? -EBUSY : 0;
	if (!err)
		s->njobs++; /* taken now: the copy below is outside the lock */
	pthread_mutex_unlock(&s->mu);
	if (err)
		return err;
	j = job_new(u);
	pthread_mutex_lock(&s->mu);
	if (j) {
		j->done = done;
		j->arg = arg;
		*s->todo_tail = j;
		s->todo_tail = &j->next;
		pthread_cond_signal(&s->cv);
	} else {
		s->njobs--;
	}
	pthread_mutex_unlock(&s->mu);
	return j ? 0 : -ENOMEM;
}

static void dec_fini(struct dec *d)
{
	if (d->ps)
		ps_free(d->ps);
	if (d->cfg)
		cmd_ln_free_r(d->cfg);
	free(d->fin);
	free(d->fout);
	free(d->pcm16);
}

/* Stops the threads (a decode under way finishes first), then answers
 * -ECANCELED to every turn not answered yet. */
static void sphinx_free(struct asr_backend *b)
{
	struct sphinx *s = (struct sphinx *)b;
	struct job *lists[2];

	if (!s)
		return;
	if (s->mu_ok) {
		pthread_mutex_lock(&s->mu);
		s->stopping = true;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
	}
	for (size_t i = 0; i < s->started; i++)
		pthread_join(s->threads[i], NULL);
	lists[0] = s->todo;
	lists[1] = s->answered;
	for (size_t i = 0; i < 2; i++)
		while (lists[i]) {
			struct job *j = lists[i];

			lists[i] = j->next;
			j->done(-ECANCELED, NULL, j->arg);
			job_free(j);
		}
	if (s->ev)
		event_free(s->ev);
	if (s->efd >= 0)
		close(s->efd);
	if (s->mu_ok) {
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
	}
	for (size_t i = 0; i < s->ndecs; i++)
		dec_fini(&s->decs[i]);
	free(s->decs);
	free(s->threads);
	free(s);
}

static const struct asr_backend_ops sphinx_ops = {
	.name = "pocketsphinx",
	.free = sphinx_free,
	.recognize = sphinx_recognize,
};

static int dec_init(struct dec *d, const struct asr_sphinx_cfg *cfg)
{
	d->cfg = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", cfg->hmm, "-dict",
			     cfg->dict, "-logfn", "/dev/null", "-dither", "yes",
			     NULL);
	if (d->cfg)
		d->ps = ps_init(d->cfg);
	return d->ps ? 0 : -EIO;
}

/* The pool: the eventfd on the loop, then the threads. */
static int pool_start(struct sphinx *s, struct event_base *base)
{
	s->todo_tail = &s->todo;
	if (pthread_mutex_init(&s->mu, NULL))
		return -ENOMEM;
	if (pthread_cond_init(&s->cv, NULL)) {
		pthread_mutex_destroy(&s->mu);
		return -ENOMEM;
	}
	s->mu_ok = true;
	s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->efd < 0)
		return -errno;
	s->ev = event_new(base, s->efd, EV_READ | EV_PERSIST, answered_cb, s);
	s->threads = calloc(s->nthreads, sizeof(*s->threads));
	if (!s->ev || event_add(s->ev, NULL) || !s->threads)
		return -ENOMEM;
	for (; s->started < s->nthreads; s->started++)
		if (pthread_create(&s->threads[s->started], NULL, worker,
				   &s->decs[s->started]))
			return -EAGAIN;
	return 0;
}

int asr_sphinx_alloc(struct asr_backend **bp, struct event_base *base,
		     const struct asr_sphinx_cfg *cfg)
{
	struct sphinx *s;
	int err = 0;

	if (access(cfg->hmm, R_OK) || access(cfg->dict, R_OK))
		return -ENOENT;
	if (cfg->threads && !base)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->base.ops = &sphinx_ops;
	s->efd = -1;
	s->filler_weight = cfg->filler_weight;
	s->nthreads = cfg->threads;
	s->queue_max = cfg->queue_max;
	s->decs = calloc(s->nthreads ? s->nthreads : 1, sizeof(*s->decs));
	if (!s->decs)
		err = -ENOMEM;
	for (size_t i = 0; !err && i < (s->nthreads ? s->nthreads : 1); i++) {
		s->ndecs++;
		s->decs[i].owner = s;
		err = dec_init(&s->decs[i], cfg);
	}
	if (!err && s->nthreads)
		err = pool_start(s, base);
	if (err) {
		sphinx_free(&s->base);
		return err;
	}
	*bp = &s->base;
	return 0;
}
