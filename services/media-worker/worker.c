/* Worker lifecycle: SIP stack, call table, signals, drain and stop. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "confroom.h"
#include "pacer.h"
#include "pbx_clock.h"
#include "pbx_log.h"
#include "player.h"
#include "prompt_cache.h"
#include "pbx_media_store.h"
#include "prompt_store.h"
#include "moh_builtin.h"
#include "queue_sounds.h"
#include "sys_sounds.h"
#include "ringback.h"
#include "rtp_watch.h"
#include "worker.h"
#include "worker_priv.h"

#include "pbx/v1/media.pb-c.h"

enum {
	/* Bounds of the hash tables sized from capacity. */
	HASH_MIN = 32,
	HASH_MAX = 32768,
	PROMPT_TIMEOUT_MS = 200,
	/* After the final heartbeat: time for the ZeroMQ I/O thread to
	 * write it out (the bus closes with linger 0). */
	STOP_GRACE_MS = 100,
	/* Longest wait for BYE transactions before closing anyway. */
	STOP_TIMEOUT_MS = 3000,
};

static void sigset_worker(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGUSR1);
}

int worker_signals_block(void)
{
	sigset_t set;

	sigset_worker(&set);
	return -pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static bool callid_cmp(struct le *le, void *arg)
{
	const struct worker_call *wc = le->data;

	return !strcmp(mwcall_callid(wc->call), arg);
}

struct worker_call *worker_call_find(struct worker *w, const char *callid)
{
	struct le *le = hash_lookup(w->calls, hash_joaat_str(callid),
				    callid_cmp, (void *)callid);

	return le ? le->data : NULL;
}

/* env.find: the call an attended transfer's Replaces or a Pickup names
 * (mwcall_join.c). */
static struct mwcall *call_by_id(const char *callid, void *arg)
{
	struct worker_call *wc = worker_call_find(arg, callid);

	return wc ? wc->call : NULL;
}

void worker_call_add(struct worker *w, struct worker_call *wc)
{
	hash_append(w->calls, hash_joaat_str(mwcall_callid(wc->call)), &wc->he,
		    wc);
	w->load++;
	w->n_calls++;
	if (!w->stopping)
		worker_heartbeat(w, false);
}

void worker_call_end(struct worker *w, struct worker_call *wc)
{
	/* A fax still running is stored with what arrived (FAX_DONE) on
	 * every way a call can end; the usual ways did it already. */
	mwcall_fax_stop(wc->call, "ended");
	worker_asr_stop(wc, "call ended");
	worker_vmacc_free(wc);
	worker_queue_end(wc);
	worker_rec_save(w, wc);
	hash_unlink(&wc->he);
	w->load--;
	mwcall_free(wc->call);
	free(wc);
	if (!w->stopping)
		worker_heartbeat(w, false);
	if (!w->load && w->drain_exit)
		worker_drain_apply(w);
}

void worker_call_event(struct mwcall *call, const struct mwcall_event *ev,
		       void *arg)
{
	struct worker_call *wc = arg;
	struct worker *w = wc->w;
	struct worker_event we = {
		.tenant = mwcall_tenant(call),
		.callid = mwcall_callid(call),
		.seq = ev->seq,
		.sip_code = ev->sip_code,
		.detail = ev->detail,
	};

	pbx_log_ctx(we.tenant, we.callid);
	/* A phone in its voicemail: the session takes its keys and the
	 * ends of its prompts. */
	if (wc->acc && (ev->kind == MWCALL_EV_DTMF ||
			ev->kind == MWCALL_EV_PLAY_DONE)) {
		worker_vmacc_event(wc, ev);
		return;
	}
	switch (ev->kind) {
	case MWCALL_EV_ANSWERED:
		we.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED;
		we.caller = mwcall_caller(call);
		we.dialed = mwcall_dialed(call);
		we.reply_to = wc->answer_msgid;
		break;
	case MWCALL_EV_PLAY_DONE:
		we.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_PLAY_DONE;
		we.reply_to = wc->play_msgid;
		break;
	case MWCALL_EV_DTMF:
		we.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_DTMF;
		we.digit = ev->digit;
		break;
	case MWCALL_EV_TIMER:
		/* The walk's no-input timer must not cut a caller who is
		 * speaking: the SPEECH that the listening turn owes (the
		 * bridge's, or its deadline's) goes first. */
		if (worker_asr_hold_timer(wc, ev->timer_id)) {
			PLOG_INFO("timer %u held back: the caller is speaking",
				  ev->timer_id);
			return;
		}
		we.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_TIMER;
		we.timer_id = ev->timer_id;
		break;
	case MWCALL_EV_RING_RESULT:
		we.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_RING_RESULT;
		we.ring_result = ev->ring_result;
		we.leg = ev->leg;
		we.picked_by = ev->picked_by;
		we.reply_to = wc->ring_msgid;
		break;
	case MWCALL_EV_TRANSFER:
		we.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_TRANSFER;
		we.caller = ev->xfer_by;
		we.dialed = ev->xfer_user;
		we.transfer_host = ev->xfer_host;
		break;
	case MWCALL_EV_TRANSFER_DONE:
		we.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_TRANSFER_DONE;
		we.ring_result = ev->ring_result;
		break;
	case MWCALL_EV_CONF_MUTED:
		we.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_CONF_MUTED;
		we.conf_muted = ev->muted;
		we.reply_to = wc->conf_msgid;
		break;
	case MWCALL_EV_RECORDED:
		worker_vm_save(w, wc, ev->detail);
		return; /* the router hears ENDED or HANGUP next */
	case MWCALL_EV_FAX_DONE:
		worker_fax_save(w, wc, ev->detail, ev->seq);
		return; /* FAX_DONE went; ENDED or HANGUP next */
	case MWCALL_EV_CLOSED:
		we.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_HANGUP;
		/* An originated call not answered: what became of it. */
		we.ring_result = ev->ring_result;
		if (ev->ended) {
			/* We ended it (voicemail done): BYE at free. */
			we.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_ENDED;
			if (wc->vm_result[0])
				we.detail = wc->vm_result;
		}
		worker_event_send(w, wc->home, &we);
		worker_call_end(w, wc);
		return;
	}
	/* The context stays: whoever called into the call logs on. */
	worker_event_send(w, wc->home, &we);
}

static bool rtp_check_one(struct le *le, void *arg)
{
	struct worker_call *wc = le->data;
	const uint64_t *now = arg;

	/* May end wc (unlinked and freed): hash_apply has read the next
	 * element already. */
	mwcall_rtp_check(wc->call, *now);
	return false;
}

/* One timer for all calls, not one per call: a sweep costs a few
 * comparisons per call, and the receive path only counts packets. */
static void rtp_sweep_handler(void *arg)
{
	struct worker *w = arg;
	uint32_t ms = w->env.rtp_timeout_ms;
	uint64_t now = pbx_clock_mono_ms();

	tmr_start(&w->tmr_rtp, rtp_watch_period_ms(ms), rtp_sweep_handler, w);
	hash_apply(w->calls, rtp_check_one, &now);
}

/* Temporary files of messages this worker was recording when it died,
 * and any writer's older than the longest message can take, go at
 * start: they were never referenced in Redis. */
static void sweep_media(const struct mw_config *cfg)
{
	int n = pbx_media_store_sweep(cfg->media_root, cfg->worker_id,
				      2 * 3600);

	if (n > 0)
		PLOG_INFO("media store %s: %d unfinished recordings removed",
			  cfg->media_root, n);
	else if (n < 0)
		PLOG_WARN("media store %s: %s", cfg->media_root,
			  strerror(-n));
}

static void finish_if_done(struct worker *w)
{
	if (w->sip_exited && w->grace_over)
		re_cancel();
}

static void sip_exit_handler(void *arg)
{
	struct worker *w = arg;

	w->sip_exited = true;
	finish_if_done(w);
}

static void grace_handler(void *arg)
{
	struct worker *w = arg;

	w->grace_over = true;
	finish_if_done(w);
}

static void stop_timeout_handler(void *arg)
{
	(void)arg;
	PLOG_WARN("stop: SIP transactions still open after %d ms, closing",
		  STOP_TIMEOUT_MS);
	re_cancel();
}

static bool end_one(struct le *le, void *arg)
{
	struct worker_call *wc = le->data;
	struct worker *w = arg;
	struct worker_event ev = {
		.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_ENDED,
		.tenant = mwcall_tenant(wc->call),
		.callid = mwcall_callid(wc->call),
		.detail = "worker stopping",
	};

	pbx_log_ctx(ev.tenant, ev.callid);
	PLOG_INFO("stop: hanging up");
	/* A message being recorded is kept: stored before the BYE. */
	mwcall_record_stop(wc->call, "worker stopping");
	mwcall_fax_stop(wc->call, "worker stopping");
	if (wc->vm_result[0])
		ev.detail = wc->vm_result;
	worker_event_send(w, wc->home, &ev);
	worker_call_end(w, wc);
	pbx_log_ctx(NULL, NULL);
	return false;
}

static void worker_stop(struct worker *w)
{
	if (w->stopping) {
		PLOG_WARN("second stop signal: exiting now");
		re_cancel();
		return;
	}
	w->stopping = true;
	w->draining = true;
	tmr_cancel(&w->tmr_rtp);
	tmr_cancel(&w->tmr_drained);
	worker_scale_release(w);
	PLOG_INFO("stopping: %u calls to hang up", w->load);
	/* end_one unlinks the element it is given, which hash_apply's walk
	 * tolerates (it reads next first). */
	hash_apply(w->calls, end_one, w);
	tmr_cancel(&w->tmr_hb);
	worker_heartbeat(w, true);

	/* Each BYE keeps its session (and so the SIP stack) alive until it
	 * is answered; sip_close(false) calls sip_exit_handler after the
	 * last transaction. */
	tmr_start(&w->tmr_grace, STOP_GRACE_MS, grace_handler, w);
	tmr_start(&w->tmr_stop, STOP_TIMEOUT_MS, stop_timeout_handler, w);
	w->options_lsnr = mem_deref(w->options_lsnr);
	w->sock = mem_deref(w->sock);
	sip_close(w->sip, false);
}

static void signal_fd_handler(int flags, void *arg)
{
	struct worker *w = arg;
	struct signalfd_siginfo si;

	(void)flags;
	while (read(w->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGUSR1:
			if (!w->drain_usr1)
				PLOG_INFO("SIGUSR1: draining, %u calls left",
					  w->load);
			w->drain_usr1 = true;
			worker_drain_apply(w);
			break;
		case SIGINT:
		case SIGTERM:
			PLOG_INFO("%s received", strsignal((int)si.ssi_signo));
			worker_stop(w);
			break;
		default:
			break;
		}
	}
}

static void drained_handler(void *arg)
{
	struct worker *w = arg;

	pbx_log_ctx(NULL, NULL);
	if (w->stopping || w->load || !w->drain_exit)
		return; /* a call came after all, or undrained */
	PLOG_INFO("drained: the last call ended, exiting (pbxctl worker "
		  "drain --exit)");
	worker_stop(w);
}

void worker_drain_apply(struct worker *w)
{
	bool d = w->stopping || w->drain_usr1 || w->drain_op;

	if (d != w->draining) {
		w->draining = d;
		worker_heartbeat(w, false);
	}
	/* From the loop, never from inside the call teardown that may
	 * have brought us here. */
	if (w->drain_op && w->drain_exit && !w->load && !w->stopping)
		tmr_start(&w->tmr_drained, 0, drained_handler, w);
}

/* Buckets for a table of about n elements: libre's hash tables take a
 * power of two, and a list walk of a few elements per lookup. */
static uint32_t hash_size(long n)
{
	uint32_t size = HASH_MIN;

	while (size < n && size < HASH_MAX)
		size <<= 1;
	return size;
}

static int open_sip(struct worker *w)
{
	const struct mw_config *cfg = w->cfg;
	struct sa laddr;
	int err;

	err = sa_decode(&laddr, cfg->sip_listen, strlen(cfg->sip_listen));
	if (err)
		return -err;
	/* Transactions are not bounded by capacity but by the setup rate:
	 * a server transaction lingers 32 s after its final response over
	 * UDP (Timer J), so at 400 calls/s some 13,000 BYE transactions
	 * are alive. At capacity-sized tables (512 buckets) walking their
	 * lists was 55 % of the worker's core (perf, issue 17); at 32768
	 * buckets (768 KiB each) a list stays near one entry up to 1000
	 * calls/s. Sessions are up to two per call (caller and callee
	 * legs). TCP connections (Kamailio) stay few. */
	err = sip_alloc(&w->sip, NULL, HASH_MAX, HASH_MAX, HASH_MIN,
			"pbx-media-worker", sip_exit_handler, w);
	if (!err)
		err = sip_transp_add(w->sip, SIP_TRANSP_UDP, &laddr);
	if (!err)
		err = sip_transp_add(w->sip, SIP_TRANSP_TCP, &laddr);
	if (err) {
		PLOG_ERR("sip: cannot listen on %s: %s", cfg->sip_listen,
			 strerror(err));
		return -err;
	}
	err = sipsess_listen(&w->sock, w->sip,
			     (int)hash_size(2 * cfg->capacity), worker_invite,
			     w);
	if (!err)
		err = sip_listen(&w->options_lsnr, w->sip, true,
				 worker_options, w);
	if (err)
		return -err;
	if (!strcmp(cfg->edge_transport, "tcp"))
		snprintf(w->sip_uri, sizeof(w->sip_uri),
			    "sip:%s;transport=tcp", cfg->sip_listen);
	else
		snprintf(w->sip_uri, sizeof(w->sip_uri), "sip:%s",
			    cfg->sip_listen);
	return 0;
}

/* One cycle of the configured cadence per law, rendered once. */
static int ringback_load(struct worker *w)
{
	struct ringback_spec rs;
	int err = ringback_parse(&rs, w->cfg->ringback);

	for (int law = OFFER_ULAW; !err && law <= OFFER_ALAW; law++) {
		err = ringback_render(&rs, (enum offer_law)law,
				      &w->ringback[law],
				      &w->env.ringback_len[law]);
		w->env.ringback[law] = w->ringback[law];
	}
	return err;
}

/* The built-in music on hold into reference-counted buffers, so that it
 * plays like a cached prompt. */
/* Built-in audio (one array per law) into libre mem objects, which
 * the calls playing it reference. */
static int builtin_load(uint8_t *dst[2], size_t dst_len[2],
			const unsigned char *ulaw, size_t ulaw_len,
			const unsigned char *alaw, size_t alaw_len)
{
	const unsigned char *src[2] = {ulaw, alaw};
	const size_t len[2] = {ulaw_len, alaw_len};

	for (int law = OFFER_ULAW; law <= OFFER_ALAW; law++) {
		dst[law] = mem_alloc(len[law], NULL);
		if (!dst[law])
			return -ENOMEM;
		memcpy(dst[law], src[law], len[law]);
		dst_len[law] = len[law];
	}
	return 0;
}

/* The system sounds, by the names a Play uses, per language. */
static const struct sound_table {
	const struct sys_sound *rows;
	const size_t *n;
} sound_tables[] = {
	{conf_sounds, &conf_sounds_n},
	{vmacc_sounds, &vmacc_sounds_n},
	{vm_sounds, &vm_sounds_n},
	{vmdate_sounds, &vmdate_sounds_n},
	/* numbers and minute forms: the date said before a message */
	{queue_sounds, &queue_sounds_n},
};
#define NTABLES (sizeof(sound_tables) / sizeof(*sound_tables))

int worker_sound(struct worker *w, enum say_lang lang, const char *name,
		 enum offer_law law, uint8_t **audio, size_t *len)
{
	const struct worker_sound *en = NULL, *s = NULL;

	for (size_t i = 0; i < w->nsounds && !s; i++) {
		if (strcmp(w->sounds[i].name, name))
			continue;
		if (!strcmp(w->sounds[i].lang, say_lang_name(lang)))
			s = &w->sounds[i];
		else if (!strcmp(w->sounds[i].lang, "en"))
			en = &w->sounds[i];
	}
	if (!s)
		s = en;
	if (!s)
		return -ENOENT;
	*audio = mem_ref(s->audio[law]);
	*len = s->len[law];
	return 0;
}

static int builtin_audio_load(struct worker *w)
{
	int err = builtin_load(w->moh, w->moh_len, moh_builtin_ulaw,
			       moh_builtin_ulaw_len, moh_builtin_alaw,
			       moh_builtin_alaw_len);
	size_t total = 0;

	for (size_t t = 0; t < NTABLES; t++)
		total += *sound_tables[t].n;
	w->sounds = calloc(total ? total : 1, sizeof(*w->sounds));
	if (!w->sounds)
		return -ENOMEM;
	for (size_t t = 0; !err && t < NTABLES; t++) {
		for (size_t i = 0; !err && i < *sound_tables[t].n; i++) {
			const struct sys_sound *s = &sound_tables[t].rows[i];
			struct worker_sound *d = &w->sounds[w->nsounds++];

			d->lang = s->lang;
			d->name = s->name;
			err = builtin_load(d->audio, d->len, s->ulaw,
					   *s->ulaw_len, s->alaw,
					   *s->alaw_len);
		}
	}
	return err;
}

static int open_signals(struct worker *w)
{
	sigset_t set;
	int err;

	sigset_worker(&set);
	w->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (w->sigfd < 0)
		return -errno;
	err = fd_listen(w->sigfd, FD_READ, signal_fd_handler, w);
	return -err;
}

int worker_alloc(struct worker **wp, const struct mw_config *cfg, void *zctx)
{
	struct worker *w;
	size_t n;
	int err;

	if (!wp || !cfg || !zctx)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->cfg = cfg;
	w->zctx = zctx;
	w->sigfd = -1;
	w->started_ms = pbx_clock_now_ms();
	tmr_init(&w->tmr_hb);
	tmr_init(&w->tmr_hb_retry);
	tmr_init(&w->tmr_poll);
	tmr_init(&w->tmr_kick);
	tmr_init(&w->tmr_pending);
	tmr_init(&w->tmr_rtp);
	tmr_init(&w->tmr_conf);
	tmr_init(&w->tmr_grace);
	tmr_init(&w->tmr_stop);
	tmr_init(&w->tmr_drained);
	list_init(&w->pending);

	err = sa_set_str(&w->edge, cfg->edge_addr, 0);
	if (!err)
		err = sa_set_str(&w->env.rtp_ip, cfg->rtp_ip, 0);
	if (!err)
		err = hash_alloc(&w->calls, hash_size(cfg->capacity));
	err = -err;
	if (!err)
		err = open_signals(w);
	if (!err)
		err = pacer_alloc(&w->pacer, PLAYER_PTIME_MS);
	if (!err)
		err = confroom_table_alloc(&w->conf, w->pacer);
	if (!err)
		err = prompt_store_alloc(&w->store, cfg->redis_host,
					 (int)cfg->redis_port,
					 &cfg->redis_cred,
					 PROMPT_TIMEOUT_MS);
	if (!err)
		err = worker_scale_claim(w);
	if (!err)
		err = prompt_cache_alloc(
			&w->prompts, (size_t)cfg->prompt_cache_bytes,
			prompt_store_version, prompt_store_load, w->store);
	if (!err)
		prompt_cache_set_recheck(w->prompts,
					 (uint32_t)cfg->prompt_recheck_ms);
	if (!err)
		sweep_media(cfg);
	if (!err)
		err = ringback_load(w);
	if (!err)
		err = builtin_audio_load(w);
	if (!err)
		err = open_sip(w);
	if (!err)
		err = worker_bus_open(w);
	if (!err)
		err = worker_metrics_start(w);
	if (!err)
		err = worker_asr_open(w);
	if (err) {
		worker_free(w);
		return err;
	}
	w->env.sock = w->sock;
	w->env.pacer = w->pacer;
	w->env.rtp_port_min = w->rtp_min; /* worker_scale_claim() */
	w->env.rtp_port_max = w->rtp_max;
	w->env.cuser = cfg->worker_id;
	w->env.find = call_by_id;
	w->env.find_arg = w;
	/* libre appends ";lr" to every route itself. */
	snprintf(w->edge_uri, sizeof(w->edge_uri), "%s", cfg->edge_uri);
	n = strlen(w->edge_uri);
	if (n > 3 && !strcasecmp(w->edge_uri + n - 3, ";lr"))
		w->edge_uri[n - 3] = '\0';
	w->env.edge_uri = w->edge_uri;
	w->env.ring_timeout_max_ms = (uint32_t)cfg->ring_timeout_max_ms;
	w->env.rtp_timeout_ms = (uint32_t)cfg->rtp_timeout_ms;
	if (w->env.rtp_timeout_ms)
		tmr_start(&w->tmr_rtp,
			  rtp_watch_period_ms(w->env.rtp_timeout_ms),
			  rtp_sweep_handler, w);

	PLOG_INFO("worker %s: SIP %s (udp+tcp), edge %s (rings via %s), RTP "
		  "%s:%ld-%ld, capacity %ld, routers %s, rtp timeout %ld ms, "
		  "prompt cache %ld bytes",
		  cfg->worker_id, cfg->sip_listen, cfg->edge_addr,
		  cfg->edge_uri, cfg->rtp_ip, (long)w->rtp_min,
		  (long)w->rtp_max, cfg->capacity, cfg->router_endpoints,
		  cfg->rtp_timeout_ms, cfg->prompt_cache_bytes);
	worker_lag_start(w);
	worker_conf_start(w);
	worker_heartbeat(w, false);
	*wp = w;
	return 0;
}

static bool free_one(struct le *le, void *arg)
{
	struct worker_call *wc = le->data;

	(void)arg;
	hash_unlink(&wc->he);
	worker_queue_end(wc);
	worker_vmacc_free(wc); /* a phone still in its voicemail */
	mwcall_free(wc->call);
	free(wc);
	return false;
}

void worker_free(struct worker *w)
{
	if (!w)
		return;
	tmr_cancel(&w->tmr_hb);
	tmr_cancel(&w->tmr_grace);
	tmr_cancel(&w->tmr_stop);
	tmr_cancel(&w->tmr_rtp);
	tmr_cancel(&w->tmr_drained);
	if (w->store)
		worker_scale_release(w); /* not stopped by a signal */
	worker_lag_stop(w);
	tmr_cancel(&w->tmr_conf);
	worker_metrics_stop(w);
	/* Calls first (they use the pacer, the session socket and the SIP
	 * stack), then what they used. */
	if (w->calls) {
		hash_apply(w->calls, free_one, w);
		mem_deref(w->calls);
	}
	worker_asr_close(w);
	worker_bus_close(w);
	confroom_table_free(w->conf); /* empty: its calls are gone */
	pacer_free(w->pacer);
	prompt_cache_free(w->prompts); /* uses the store */
	prompt_store_free(w->store);
	free(w->ringback[OFFER_ULAW]);
	free(w->ringback[OFFER_ALAW]);
	mem_deref(w->moh[OFFER_ULAW]);
	mem_deref(w->moh[OFFER_ALAW]);
	for (size_t i = 0; i < w->nsounds; i++) {
		mem_deref(w->sounds[i].audio[OFFER_ULAW]);
		mem_deref(w->sounds[i].audio[OFFER_ALAW]);
	}
	free(w->sounds);

	mem_deref(w->options_lsnr);
	mem_deref(w->sock);
	if (w->sip) {
		/* Not stopped through worker_stop(), or stopped but some BYE
		 * was never answered: end the transactions now. The exit
		 * handler then fires (or has fired) and our last reference
		 * frees the stack. */
		if (!w->stopping)
			sip_close(w->sip, false);
		if (!w->sip_exited)
			sip_close(w->sip, true);
		if (w->sip_exited)
			mem_deref(w->sip);
		else
			PLOG_WARN("sip: stack still referenced at exit");
	}
	if (w->sigfd >= 0) {
		fd_close(w->sigfd);
		close(w->sigfd);
	}
	free(w);
}
