/* Recogniser backends behind one interface (docs/services/asr-bridge.md,
 * "Backends"): the bridge hands a backend one finished utterance (8 kHz
 * signed 16-bit samples) and the turn's phrases; the backend answers
 * with the words heard, through a callback, so that a network backend
 * (a Vosk server, a cloud recogniser) fits as well as the embedded one.
 * The hypothesis → phrase mapping is the bridge's (asr_grammar_match),
 * identical for every backend. Rule of the callbacks: a recognise that
 * returns an error never calls done; one that returns 0 calls done
 * exactly once, on the loop thread (before it returns: the embedded one
 * without threads; later: the embedded one's decode threads, a remote
 * one). Freeing a backend calls done with
 * -ECANCELED for every turn still pending. */
#ifndef ASR_BACKEND_H
#define ASR_BACKEND_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scenario_walk.h"

struct asr_backend;

struct asr_utt {
	const struct scenario_phrase *phrases;
	size_t nphrases;
	const int16_t *pcm; /* 8 kHz; valid during recognize only (a remote
			     * backend copies it) */
	size_t n;
	const char *language;
	/* A remote backend's server (the tenant's asr setting, through
	 * AsrStart): its URL and secret (never logged). */
	const char *url;
	const char *secret;
	/* for the log lines of a remote backend's answer */
	const char *tenant, *call_id;
	uint64_t stream_id;
};

/* What a backend heard (borrowed for the callback only). */
struct asr_hyp {
	const char *text; /* the words ("" nothing) */
	/* The embedded backend: acoustic score per frame of the words
	 * (its log units, negative; 0 unknown); the bridge makes it an
	 * acoustic confidence (bridge.c). A network backend's own 0..1
	 * confidence goes in conf (-1 or 0: none). */
	double score;
	double conf;
};

/* h: what was heard, NULL with err; err 0 or a negative errno (the
 * backend failed: not recognised). */
typedef void(asr_done_h)(int err, const struct asr_hyp *h, void *arg);

struct asr_backend_ops {
	const char *name;
	/* A network recogniser: a turn needs a url; any language (the
	 * server's model decides). Else: an embedded one, English. */
	bool remote;
	void (*free)(struct asr_backend *b);
	int (*recognize)(struct asr_backend *b, const struct asr_utt *u,
			 asr_done_h *done, void *arg);
	/* Optional (a remote backend): the utterance while it is spoken, so
	 * that the server decodes as the caller speaks. stream_begin at the
	 * start of speech with the audio so far (u->pcm, u->n; copied);
	 * stream_feed with each newer piece; then stream_end, which answers
	 * through done under recognize's rule (an error returned: no done;
	 * the turn is gone either way), or stream_abort (the turn ended
	 * first: no answer). Errors of the connection before the end are
	 * kept for stream_end. */
	int (*stream_begin)(struct asr_backend *b, const struct asr_utt *u,
			    void **turn);
	int (*stream_feed)(void *turn, const int16_t *pcm, size_t n);
	int (*stream_end)(void *turn, asr_done_h *done, void *arg);
	void (*stream_abort)(void *turn);
};

/* Every backend starts with this. */
struct asr_backend {
	const struct asr_backend_ops *ops;
};

struct asr_sphinx_cfg {
	const char *hmm;	  /* acoustic model directory */
	const char *dict;	  /* pronunciation dictionary */
	double filler_weight; /* of the grammar's filler path; 0: none */
	/* Decode threads, each with its own decoder, answering on base's
	 * loop; 0: decode on the caller, inside recognize (no base). */
	size_t threads;
	/* utterances that may wait for a thread; more: recognize answers
	 * -EBUSY (not recognised) */
	size_t queue_max;
};

struct event_base;
/* The embedded recogniser (pocketsphinx, asr_sphinx.c). -ENOENT model
 * files missing, -EIO pocketsphinx refused them, -EINVAL threads without
 * a base. */
int asr_sphinx_alloc(struct asr_backend **bp, struct event_base *base,
		     const struct asr_sphinx_cfg *cfg);

struct asr_vosk_cfg {
	long timeout_ms;    /* the whole exchange of one utterance */
	bool allow_private; /* servers on loopback / private addresses */
	/* ... only these: "host:port,host:port" as the URLs name them
	 * (the operator's own servers); "" none */
	const char *private_allow;
	bool grammar;	    /* send the phrases as Vosk's phrase_list */
	const char *ca_file; /* for wss://; "" the system's */
};

/* The Vosk server WebSocket adapter (asr_vosk.c), on the loop base.
 * -ENOMEM, -ENOENT (ca_file unreadable). */
int asr_vosk_alloc(struct asr_backend **bp, struct event_base *base,
		   const struct asr_vosk_cfg *cfg);

static inline void asr_backend_free(struct asr_backend *b)
{
	if (b)
		b->ops->free(b);
}

#endif
