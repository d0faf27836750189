/* The network recogniser for Russian and other languages: a Vosk server
 * (alphacep vosk-server, websocket/asr_server.py) over its WebSocket
 * protocol, per utterance (docs/services/asr-bridge.md, "Vosk"):
 *
 *   bridge → server  {"config": {"sample_rate": 8000, "words": 1,
 *                     "phrase_list": [the synonyms..., "[unk]"]}}
 *   bridge → server  binary: signed 16-bit little-endian PCM, in chunks
 *   server → bridge  one answer per chunk: {"partial": "..."} or, where
 *                     it found the end of a sentence, {"result": [{"word",
 *                     "conf", "start", "end"}...], "text": "..."}
 *   bridge → server  {"eof" : 1}
 *   server → bridge  the last {"result": [...], "text": "..."}; it closes
 *
 * The words are every "text" of the results, joined; the confidence the
 * mean of the words' "conf" (1 when the server gives none). One
 * connection per utterance, to the tenant's URL (the turn's
 * AsrStart.url), with its secret as a bearer token (for a proxy in front
 * of the server: vosk-server itself has no authentication). Streamed:
 * the connection opens at the start of speech and the audio goes in
 * CHUNK_BYTES pieces while the caller speaks (stream_begin / feed / end),
 * so at the end of speech only the last piece is left to decode; a turn
 * given whole (recognize) goes the same way at once. Bounded: from the
 * end of speech the answer within timeout_ms (else -ETIMEDOUT), each
 * message from the server at most MSG_MAX bytes, the audio at most
 * PCM_MAX bytes, the text kept at most TEXT_MAX. */
#include <errno.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "asr_backend.h"
#include "asr_stream.h"
#include "pbx_clock.h"
#include "pbx_log.h"
#include "ws_client.h"

enum {
	MSG_MAX = 65536,
	TEXT_MAX = 1024,
	CHUNK_BYTES = 8000, /* 0.5 s at 8 kHz: an answer each */
	PCM_MAX = 1 << 20,  /* 65 s: above the longest utterance (30 s) */
};

struct vosk;

struct vreq {
	struct vosk *v;
	struct vreq *next, **pprev;
	struct ws_client *ws;
	struct event *timer;
	uint8_t *pcm; /* little-endian, copied: the stream may go first */
	size_t len, cap;
	size_t off;   /* bytes of pcm sent */
	char *config;
	asr_done_h *done; /* set at the end of speech (ended) */
	void *arg;
	bool open, ended, eof_sent;
	int err; /* the connection failed before the end */
	char why[128];
	unsigned sent, answers; /* audio chunks and eof / answers to them */
	char host[WS_HOST_MAX];
	char tenant[65], call[128];
	uint64_t stream;
	uint64_t t0, t_end; /* connection started; end of speech */
	size_t tlen;
	char text[TEXT_MAX];
	double conf_sum;
	unsigned nconf;
};

static const char eof_msg[] = "{\"eof\" : 1}";

struct vosk {
	struct asr_backend base; /* first: the backend's handle */
	struct event_base *evb;
	struct evdns_base *dns;
	SSL_CTX *tls;
	struct asr_vosk_cfg cfg;
	struct vreq *reqs;
};

static void req_free(struct vreq *r)
{
	if (r->pprev) {
		*r->pprev = r->next;
		if (r->next)
			r->next->pprev = r->pprev;
	}
	ws_client_free(r->ws);
	if (r->timer)
		event_free(r->timer);
	free(r->pcm);
	free(r->config);
	free(r);
}

/* The answer, once: done, then the request is gone. */
static void finish(struct vreq *r, int err, const char *why)
{
	struct asr_hyp h = {0};
	asr_done_h *done = r->done;
	void *arg = r->arg;
	char text[TEXT_MAX];

	uint64_t now = pbx_clock_mono_ms();

	pbx_log_ctx(r->tenant, r->call);
	if (err)
		PLOG_WARN("stream %llu: vosk %s: %s, %llu ms after the end of "
			  "speech",
			  (unsigned long long)r->stream, r->host, why,
			  (unsigned long long)(now - r->t_end));
	else
		PLOG_INFO("stream %llu: vosk %s: \"%s\" (%u chunk(s), %zu "
			  "bytes; connected %llu ms before the end of speech, "
			  "answered %llu ms after it)",
			  (unsigned long long)r->stream, r->host, r->text,
			  r->sent - 1, r->len,
			  (unsigned long long)(r->t_end - r->t0),
			  (unsigned long long)(now - r->t_end));
	memcpy(text, r->text, sizeof(text));
	h.text = text;
	h.conf = r->nconf ? r->conf_sum / r->nconf : 1.0;
	/* Freed before done: done may end the bridge's stream, never this
	 * request, and must find it gone. */
	req_free(r);
	done(err, err ? NULL : &h, arg);
	pbx_log_ctx(NULL, NULL);
}

static void add_text(struct vreq *r, const char *t)
{
	size_t n = strlen(t);

	if (!n)
		return;
	if (r->tlen + n + 2 > sizeof(r->text))
		return; /* bounded: the rest is dropped */
	if (r->tlen)
		r->text[r->tlen++] = ' ';
	memcpy(r->text + r->tlen, t, n + 1);
	r->tlen += n;
}

/* The exchange failed: after the end of speech the turn's answer; before
 * it, kept (the connection closed) for stream_end to return. */
static void req_fail(struct vreq *r, int err, const char *why)
{
	if (r->ended) {
		finish(r, err, why);
		return;
	}
	if (!r->err) {
		r->err = err;
		snprintf(r->why, sizeof(r->why), "%s", why ? why : "");
	}
	ws_client_free(r->ws);
	r->ws = NULL;
	r->open = false;
}

static void on_message(struct ws_client *ws, bool text, const uint8_t *d,
		       size_t len, void *arg)
{
	struct vreq *r = arg;
	json_t *j, *res, *w;
	size_t i;

	(void)ws;
	if (!text) {
		req_fail(r, -EPROTO, "a binary message");
		return;
	}
	j = json_loadb((const char *)d, len, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		req_fail(r, -EPROTO, "an answer that is not a JSON object");
		return;
	}
	r->answers++;
	if (json_is_string(json_object_get(j, "text")))
		add_text(r, json_string_value(json_object_get(j, "text")));
	res = json_object_get(j, "result");
	json_array_foreach(res, i, w) {
		json_t *c = json_object_get(w, "conf");

		if (json_is_number(c)) {
			r->conf_sum += json_number_value(c);
			r->nconf++;
		}
	}
	json_decref(j);
	if (r->eof_sent && r->answers >= r->sent)
		finish(r, 0, NULL);
}

/* What is there to send: whole chunks, and once the speech ended the
 * rest and the eof. */
static void pump(struct vreq *r)
{
	int err = 0;

	if (!r->open || r->eof_sent)
		return;
	while (!err && (r->len - r->off >= CHUNK_BYTES ||
			(r->ended && r->off < r->len))) {
		size_t n = r->len - r->off < CHUNK_BYTES ? r->len - r->off
							 : CHUNK_BYTES;

		err = ws_client_send(r->ws, false, r->pcm + r->off, n);
		r->off += n;
		r->sent++;
	}
	if (!err && r->ended) {
		err = ws_client_send(r->ws, true, eof_msg, strlen(eof_msg));
		r->sent++;
		r->eof_sent = true;
	}
	if (err)
		req_fail(r, err, "cannot send");
}

static void on_open(struct ws_client *ws, void *arg)
{
	struct vreq *r = arg;
	int err = ws_client_send(ws, true, r->config, strlen(r->config));

	if (err) {
		req_fail(r, err, "cannot send");
		return;
	}
	r->open = true;
	pump(r);
}

static void on_closed(struct ws_client *ws, int err, void *arg)
{
	struct vreq *r = arg;

	/* Closed before every answer came: the server died or refused. */
	req_fail(r, err ? err : -ECONNRESET, ws_client_why(ws));
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct vreq *r = arg;

	(void)fd;
	(void)what;
	finish(r, -ETIMEDOUT, "no answer in time");
}

/* {"config": {"sample_rate": 8000, "words": 1, "phrase_list": [...]}} */
static char *config_of(const struct vosk *v, const struct asr_utt *u)
{
	json_t *c = json_object(), *root = json_object(), *pl = json_array();
	char *s = NULL;

	if (!c || !root || !pl)
		goto out;
	json_object_set_new(c, "sample_rate", json_integer(ASR_RATE));
	json_object_set_new(c, "words", json_integer(1));
	if (v->cfg.grammar) {
		for (size_t i = 0; i < u->nphrases; i++)
			for (size_t k = 0; k < u->phrases[i].nsynonyms; k++)
				json_array_append_new(
					pl,
					json_string(u->phrases[i].synonyms[k]));
		json_array_append_new(pl, json_string("[unk]"));
		json_object_set(c, "phrase_list", pl);
	}
	json_object_set(root, "config", c);
	s = json_dumps(root, JSON_COMPACT);
out:
	json_decref(pl);
	json_decref(c);
	json_decref(root);
	return s;
}

/* The URL's host:port is one of the operator's servers that may be on a
 * private address (vosk_private_allow). */
static bool listed(const char *list, const struct ws_url *u)
{
	char want[WS_HOST_MAX + 8];
	size_t n;

	if (!list || !*list)
		return false;
	n = (size_t)snprintf(want, sizeof(want), "%s:%s", u->host, u->port);
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ", ");

		if (len == n && !strncasecmp(p, want, n))
			return true;
		p += len;
		p += strspn(p, ", ");
	}
	return false;
}

/* Appends n samples as little-endian bytes; -EMSGSIZE past PCM_MAX. */
static int append(struct vreq *r, const int16_t *pcm, size_t n)
{
	size_t need = r->len + 2 * n;

	if (need > PCM_MAX)
		return -EMSGSIZE;
	if (need > r->cap) {
		size_t cap = r->cap ? r->cap : CHUNK_BYTES;
		uint8_t *p;

		while (cap < need)
			cap *= 2;
		p = realloc(r->pcm, cap);
		if (!p)
			return -ENOMEM;
		r->pcm = p;
		r->cap = cap;
	}
	for (size_t i = 0; i < n; i++) { /* little-endian on the wire */
		r->pcm[r->len++] = (uint8_t)((uint16_t)pcm[i] & 0xff);
		r->pcm[r->len++] = (uint8_t)((uint16_t)pcm[i] >> 8);
	}
	return 0;
}

/* A turn: the audio so far copied, the connection started (no callback
 * before the loop runs). */
static int req_new(struct vosk *v, const struct asr_utt *u, struct vreq **rp)
{
	static const struct ws_client_cbs cbs = {on_open, on_message,
						 on_closed};
	struct ws_url url;
	struct vreq *r;
	int err;

	if (!u->url || ws_url_parse(u->url, &url))
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->v = v;
	r->t0 = pbx_clock_mono_ms();
	r->stream = u->stream_id;
	snprintf(r->host, sizeof(r->host), "%s", url.host);
	snprintf(r->tenant, sizeof(r->tenant), "%s",
		 u->tenant ? u->tenant : "");
	snprintf(r->call, sizeof(r->call), "%s", u->call_id ? u->call_id : "");
	r->config = config_of(v, u);
	r->timer = evtimer_new(v->evb, on_timeout, r);
	err = !r->config || !r->timer ? -ENOMEM : append(r, u->pcm, u->n);
	if (!err)
		err = ws_client_connect(&r->ws, v->evb,
					&(struct ws_client_cfg){
						.url = u->url,
						.bearer = u->secret,
						.allow_private =
							v->cfg.allow_private ||
							listed(v->cfg.private_allow,
							       &url),
						.max_message = MSG_MAX,
						.dns = v->dns,
						.tls_ctx = v->tls,
					},
					&cbs, r);
	if (err) {
		req_free(r);
		return err;
	}
	r->next = v->reqs;
	if (r->next)
		r->next->pprev = &r->next;
	r->pprev = &v->reqs;
	v->reqs = r;
	*rp = r;
	return 0;
}

/* The end of speech: the answer through done within timeout_ms. */
static int req_end(struct vreq *r, asr_done_h *done, void *arg)
{
	long ms = r->v->cfg.timeout_ms;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	int err = r->err;

	if (err) { /* the connection failed while the caller spoke */
		pbx_log_ctx(r->tenant, r->call);
		PLOG_WARN("stream %llu: vosk %s: %s", (unsigned long long)r->stream,
			  r->host, r->why);
		req_free(r);
		return err;
	}
	if (evtimer_add(r->timer, &tv)) {
		req_free(r);
		return -ENOMEM;
	}
	r->done = done;
	r->arg = arg;
	r->ended = true;
	r->t_end = pbx_clock_mono_ms();
	pump(r); /* may answer (a send that fails) */
	return 0;
}

static int vosk_recognize(struct asr_backend *b, const struct asr_utt *u,
			  asr_done_h *done, void *arg)
{
	struct vreq *r;
	int err = req_new((struct vosk *)b, u, &r);

	return err ? err : req_end(r, done, arg);
}

static int vosk_stream_begin(struct asr_backend *b, const struct asr_utt *u,
			     void **turn)
{
	struct vreq *r;
	int err = req_new((struct vosk *)b, u, &r);

	if (!err)
		*turn = r;
	return err;
}

static int vosk_stream_feed(void *turn, const int16_t *pcm, size_t n)
{
	struct vreq *r = turn;
	int err = append(r, pcm, n);

	if (err)
		req_fail(r, err, "utterance too long");
	else
		pump(r);
	return err;
}

static int vosk_stream_end(void *turn, asr_done_h *done, void *arg)
{
	return req_end(turn, done, arg);
}

static void vosk_stream_abort(void *turn)
{
	req_free(turn);
}

static void vosk_free(struct asr_backend *b)
{
	struct vosk *v = (struct vosk *)b;

	if (!v)
		return;
	/* Every pending turn hears it failed (its owner frees its side);
	 * one still being spoken has nobody to tell. */
	while (v->reqs) {
		if (v->reqs->ended)
			finish(v->reqs, -ECANCELED, "the bridge stops");
		else
			req_free(v->reqs);
	}
	if (v->dns)
		evdns_base_free(v->dns, 1);
	if (v->tls)
		SSL_CTX_free(v->tls);
	free(v);
}

static const struct asr_backend_ops vosk_ops = {
	.name = "vosk",
	.remote = true,
	.free = vosk_free,
	.recognize = vosk_recognize,
	.stream_begin = vosk_stream_begin,
	.stream_feed = vosk_stream_feed,
	.stream_end = vosk_stream_end,
	.stream_abort = vosk_stream_abort,
};

int asr_vosk_alloc(struct asr_backend **bp, struct event_base *base,
		   const struct asr_vosk_cfg *cfg)
{
	struct vosk *v = calloc(1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	v->base.ops = &vosk_ops;
	v->evb = base;
	v->cfg = *cfg;
	v->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
					      EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (!v->dns) /* no resolv.conf: numeric hosts still work */
		v->dns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	v->tls = SSL_CTX_new(TLS_client_method());
	if (!v->dns || !v->tls) {
		vosk_free(&v->base);
		return -ENOMEM;
	}
	SSL_CTX_set_min_proto_version(v->tls, TLS1_2_VERSION);
	if (cfg->ca_file && cfg->ca_file[0]
		    ? SSL_CTX_load_verify_locations(v->tls, cfg->ca_file, NULL) != 1
		    : SSL_CTX_set_default_verify_paths(v->tls) != 1) {
		vosk_free(&v->base);
		return -ENOENT;
	}
	*bp = &v->base;
	return 0;
}
