/* Lookups and call logs (crm.h): the asynchronous chains
 *   lookup:  cache -> breaker -> settings (Redis) -> [token refresh] ->
 *            CRM request -> [401: refresh, retry once] -> mapping (Redis)
 *            -> CrmResult;
 *   log:     settings -> [token refresh] -> the vendor's steps in order;
 *            a step that failed on the way (no answer, 5xx, 429) is tried
 *            again after log_backoff_ms, doubled each time, at most
 *            log_retries times; a refused token is refreshed once.
 * A lookup's deadline timer answers crm_error at the node's lookup
 * timeout (less answer_margin_ms) whatever is still running: the call
 * never waits on the CRM. A job is owned by its chain and freed when it
 * has answered and no Redis reply or transfer it waits for is left
 * (`pending`): a late reply finds it alive, marked answered. */
#include <errno.h>
#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm.h"
#include "crm_adapter.h"
#include "crm_breaker.h"
#include "crm_cache.h"
#include "notify_addr.h"
#include "notify_curl.h"
#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "pbx_redis.h"
#include "scenario.h"

#define BODY_MAX (256 * 1024)
#define RES(x) PBX__V1__CRM_RESULT__KIND__KIND_##x

struct crm_job {
	struct crm *crm;
	struct crm_job *prev, *next; /* crm->jobs */
	bool is_log;
	const struct crm_adapter *ad;
	char tenant[65], call_id[256], msg_id[64], node[65];
	char caller[40], called[40];
	struct crm_settings s;
	bool have_ttl;
	int pending;	       /* Redis replies and transfers outstanding */
	bool answered;	       /* lookup: CrmResult sent; log: done */
	bool retried;	       /* a 401 was answered by a refresh */
	bool counted;	       /* the breaker heard of this request */
	uint64_t t0_us;	       /* received (lookup latency metric) */
	uint64_t deadline_mono;
	struct event *deadline; /* lookup: the deadline; log: the retry */
	unsigned attempts;	/* log: retries of the current step */
	struct crm_answer a;   /* the CRM's answer (lookup) */
	/* call log */
	struct crm_call call;
	char ext[CRM_ID_MAX], user[CRM_ID_MAX];
	char number[20]; /* call log: the owner number rung */
	unsigned step;
	struct crm_answer last; /* the previous log step's answer */
};

/* One HTTP transfer of a job. */
struct xfer {
	struct crm_job *j;
	struct curl_slist *hdr;
	char *body; /* the request's, freed at the end */
	char *resp;
	size_t len;
	bool too_big;
	char refused[NOTIFY_ADDR_REFUSED_MAX];
	void (*done)(struct crm_job *j, struct xfer *x, long status,
		     const char *err);
};

static void job_ctx(const struct crm_job *j)
{
	pbx_log_ctx(j->tenant, j->call_id[0] ? j->call_id : NULL);
}

static void job_free(struct crm_job *j)
{
	struct crm *crm = j->crm;

	if (j->prev)
		j->prev->next = j->next;
	else
		crm->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	if (j->deadline)
		event_free(j->deadline);
	/* Tokens and secrets do not linger in freed memory. */
	memset(&j->s, 0, sizeof(j->s));
	free(j);
}

/* Frees j when its chain is over. */
static void job_settle(struct crm_job *j)
{
	if (j->answered && j->pending == 0)
		job_free(j);
}

static struct crm_job *job_alloc(struct crm *crm, const Pbx__V1__Envelope *env)
{
	struct crm_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->crm = crm;
	j->t0_us = pbx_metrics_now_us();
	snprintf(j->tenant, sizeof(j->tenant), "%s", env->tenant_id);
	snprintf(j->call_id, sizeof(j->call_id), "%s",
		 env->call_id ? env->call_id : "");
	snprintf(j->msg_id, sizeof(j->msg_id), "%s",
		 env->message_id ? env->message_id : "");
	j->next = crm->jobs;
	if (crm->jobs)
		crm->jobs->prev = j;
	crm->jobs = j;
	return j;
}

/* ---- the answer ----------------------------------------------------------- */

static void send_result(struct crm *crm, const char *tenant,
			const char *call_id, const char *reply_to,
			const char *node, int kind, const char *ext,
			const char *number, const char *user, const char *name,
			const char *detail, bool cached)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__CrmResult res = PBX__V1__CRM_RESULT__INIT;
	int err;

	res.kind = kind;
	res.extension = (char *)ext;
	res.number = (char *)number;
	res.crm_user = (char *)user;
	res.display_name = (char *)name;
	res.node = (char *)node;
	res.detail = (char *)detail;
	res.cached = cached;
	env.tenant_id = (char *)tenant;
	env.call_id = (char *)call_id;
	env.reply_to = (char *)reply_to;
	env.body_case = PBX__V1__ENVELOPE__BODY_CRM_RESULT;
	env.crm_result = &res;
	err = pbx_bus_send(crm->bus, NULL, &env);
	if (err)
		PLOG_WARN("crm result not sent (no router): %d; the router's "
			  "own deadline takes crm_error",
			  err);
	if (kind == RES(OWNER))
		crm->n.answered_owner++;
	else if (kind == RES(NOT_FOUND))
		crm->n.answered_not_found++;
	else
		crm->n.answered_error++;
}

/* Answers the lookup once; later calls do nothing. */
static void answer(struct crm_job *j, int kind, const char *ext,
		   const char *detail)
{
	struct crm *crm = j->crm;
	/* An owner without an extension is the number the answer named. */
	const char *num = kind == RES(OWNER) && !(ext && ext[0])
				  ? j->a.number
				  : "";
	struct crm_cached e;

	if (j->answered)
		return;
	j->answered = true;
	if (j->deadline)
		event_del(j->deadline);
	pbx_hist_observe(&crm->lookup_latency,
			 (double)(pbx_metrics_now_us() - j->t0_us) / 1000.0);
	job_ctx(j);
	if (kind == RES(ERROR))
		PLOG_WARN("crm %s: error: %s", j->ad ? j->ad->name : "?",
			  detail);
	else
		PLOG_INFO("crm %s: caller %s: %s%s", j->ad->name, j->caller,
			  kind == RES(OWNER) ? num[0] ? "owner number "
						      : "owner "
					     : "not found",
			  kind == RES(OWNER) ? num[0] ? num : ext : "");
	send_result(crm, j->tenant, j->call_id, j->msg_id, j->node, kind,
		    ext ? ext : "", num, j->a.user, j->a.name,
		    detail ? detail : "", false);
	if (kind != RES(ERROR)) {
		memset(&e, 0, sizeof(e));
		e.v = kind == RES(OWNER) ? CRM_V_OWNER : CRM_V_NOT_FOUND;
		snprintf(e.ext, sizeof(e.ext), "%s", ext ? ext : "");
		snprintf(e.number, sizeof(e.number), "%s", num);
		snprintf(e.user, sizeof(e.user), "%s", j->a.user);
		snprintf(e.name, sizeof(e.name), "%s", j->a.name);
		crm_cache_put(crm->cache, j->tenant, j->ad->name, j->caller, &e,
			      pbx_clock_mono_ms(),
			      (uint64_t)(j->have_ttl ? j->s.cache_ttl_s
						     : crm->cfg->cache_ttl_s) *
				      1000);
	}
	pbx_log_ctx(NULL, NULL);
}

/* The breaker hears once per lookup whether its CRM worked. */
static void breaker_report(struct crm_job *j, bool ok)
{
	if (j->is_log || j->counted)
		return;
	j->counted = true;
	crm_breaker_report(j->crm->breaker, j->tenant, j->ad->name, ok,
			   pbx_clock_mono_ms());
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct crm_job *j = arg;

	(void)fd;
	(void)what;
	j->crm->n.deadlines++;
	breaker_report(j, false);
	answer(j, RES(ERROR), NULL, "no answer within the lookup timeout");
	job_settle(j);
}

/* Ends a call log (logged once). */
static void log_end(struct crm_job *j, bool ok, const char *why)
{
	if (j->answered)
		return;
	j->answered = true;
	job_ctx(j);
	if (ok) {
		j->crm->n.logs_done++;
		PLOG_INFO("crm %s: call logged (%s, %u s)", j->ad->name,
			  j->call.answered ? "answered" : "missed",
			  j->call.duration_s);
	} else {
		j->crm->n.logs_failed++;
		PLOG_WARN("crm %s: call not logged: %s", j->ad->name, why);
	}
	pbx_log_ctx(NULL, NULL);
}

static void log_step(struct crm_job *j);

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct crm_job *j = arg;

	(void)fd;
	(void)what;
	if (!j->answered && !j->crm->closing)
		log_step(j);
	job_settle(j);
}

/* A call-log step failed: tried again later when the failure was on the
 * way (transient) and retries are left, else the log ends. Never on a
 * call's path: the call is over. */
static void log_fail(struct crm_job *j, const char *why, bool transient)
{
	const struct crm_config *cfg = j->crm->cfg;
	long wait;
	struct timeval tv;

	if (!transient || j->attempts >= (unsigned)cfg->log_retries) {
		log_end(j, false, why);
		return;
	}
	wait = cfg->log_backoff_ms << (j->attempts < 6 ? j->attempts : 6);
	j->attempts++;
	if (!j->deadline)
		j->deadline = evtimer_new(j->crm->base, retry_cb, j);
	tv.tv_sec = wait / 1000;
	tv.tv_usec = (wait % 1000) * 1000;
	if (!j->deadline || evtimer_add(j->deadline, &tv)) {
		log_end(j, false, why);
		return;
	}
	j->crm->n.log_retries++;
	job_ctx(j);
	PLOG_WARN("crm %s: call log step %u failed: %s; again in %ld ms "
		  "(retry %u of %ld)",
		  j->ad->name, j->step + 1, why, wait, j->attempts,
		  cfg->log_retries);
	pbx_log_ctx(NULL, NULL);
}

static void fail_as(struct crm_job *j, const char *why, bool transient)
{
	if (j->is_log) {
		log_fail(j, why, transient);
		return;
	}
	breaker_report(j, false);
	answer(j, RES(ERROR), NULL, why);
}

static void fail(struct crm_job *j, const char *why)
{
	fail_as(j, why, false);
}

/* ---- HTTP ------------------------------------------------------------------ */

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t k = size * n;
	char *b;

	if (x->len + k > BODY_MAX) {
		x->too_big = true;
		return 0; /* curl ends the transfer */
	}
	b = realloc(x->resp, x->len + k + 1);
	if (!b)
		return 0;
	memcpy(b + x->len, p, k);
	x->len += k;
	b[x->len] = '\0';
	x->resp = b;
	return k;
}

static void xfer_free(struct xfer *x)
{
	curl_slist_free_all(x->hdr);
	free(x->body);
	free(x->resp);
	free(x);
}

static void on_done(CURLcode res, long code, const char *err, void *arg)
{
	struct xfer *x = arg;
	struct crm_job *j = x->j;
	char why[256];

	j->pending--;
	j->crm->n.http_requests++;
	if (j->answered || j->crm->closing) {
		xfer_free(x);
		job_settle(j);
		return;
	}
	job_ctx(j);
	if (res == CURLE_OPERATION_TIMEDOUT && !j->is_log && j->deadline) {
		/* curl's limit is the deadline's: whichever fires first,
		 * the lookup ends the same way. */
		xfer_free(x);
		deadline_cb(-1, EV_TIMEOUT, j);
		return;
	} else if (res != CURLE_OK) {
		/* DNS failure, refused connection, timeout, a private
		 * address: the cause, never the URL (it may carry a
		 * secret). */
		if (x->refused[0])
			snprintf(why, sizeof(why),
				 "%s: %s is an address of our own network "
				 "(crm_private 0)",
				 j->ad->name, x->refused);
		else if (x->too_big)
			snprintf(why, sizeof(why), "%s: answer over %d bytes",
				 j->ad->name, BODY_MAX);
		else
			snprintf(why, sizeof(why), "%s: %s", j->ad->name, err);
		/* A refused address or a huge answer stays so. */
		fail_as(j, why, !x->refused[0] && !x->too_big);
	} else {
		x->done(j, x, code, NULL);
	}
	xfer_free(x);
	job_settle(j);
}

/* Starts r (its body moves into the transfer). timeout_ms: curl's own
 * limit. 0, or the job failed already. */
static int http(struct crm_job *j, struct crm_req *r, long timeout_ms,
		void (*done)(struct crm_job *, struct xfer *, long,
			     const char *))
{
	struct crm *crm = j->crm;
	struct xfer *x = calloc(1, sizeof(*x));
	CURL *easy;

	if (!x || !(easy = curl_easy_init())) {
		free(x);
		crm_req_clear(r);
		fail(j, "out of memory");
		return -ENOMEM;
	}
	x->j = j;
	x->done = done;
	x->body = r->body;
	r->body = NULL;
	for (size_t i = 0; i < r->nhdr; i++) {
		struct curl_slist *l = curl_slist_append(x->hdr, r->hdr[i]);

		if (l)
			x->hdr = l;
	}
	curl_easy_setopt(easy, CURLOPT_URL, r->url);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, x->hdr);
	if (x->body) {
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, x->body);
		curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)strlen(x->body));
	}
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms
								  : 1L);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "pbx-crm-connector/1");
	if (!crm->cfg->crm_private)
		notify_addr_guard(easy, x->refused);
	memset(r->hdr, 0, sizeof(r->hdr)); /* tokens */
	if (notify_curl_start(crm->curl, easy, on_done, x)) {
		xfer_free(x);
		fail(j, "cannot start a transfer");
		return -EIO;
	}
	j->pending++;
	return 0;
}

/* What is left of the lookup's time (curl's limit), or the log's. */
static long time_left(const struct crm_job *j)
{
	uint64_t now;

	if (j->is_log)
		return j->crm->cfg->log_timeout_ms;
	now = pbx_clock_mono_ms();
	return j->deadline_mono > now ? (long)(j->deadline_mono - now) : 1;
}

/* ---- the chain --------------------------------------------------------- */

static void ask(struct crm_job *j);

static void mapped(redisAsyncContext *ac, void *reply, void *arg)
{
	struct crm_job *j = arg;
	redisReply *rr = reply;

	(void)ac;
	j->pending--;
	if (!j->answered && !j->crm->closing) {
		char ext[CRM_ID_MAX];

		snprintf(ext, sizeof(ext), "%s",
			 rr && rr->type == REDIS_REPLY_STRING &&
					 pbx_id_valid(rr->str)
				 ? rr->str
				 : j->a.ext);
		if (!rr)
			answer(j, RES(ERROR), NULL, "storage unavailable");
		else if (ext[0] && pbx_id_valid(ext))
			answer(j, RES(OWNER), ext, NULL);
		else if (j->a.number[0])
			answer(j, RES(OWNER), NULL, NULL);
		else {
			job_ctx(j);
			PLOG_INFO("crm %s: user %s has no extension (crm map)",
				  j->ad->name, j->a.user);
			answer(j, RES(NOT_FOUND), NULL, NULL);
		}
	}
	job_settle(j);
}

static int redis_cmd(struct crm_job *j, redisCallbackFn *fn, const char *fmt,
		     ...)
{
	redisAsyncContext *ac = pbx_redis_ctx(j->crm->redis);
	va_list ap;
	int rc;

	if (!ac)
		return -ENOTCONN;
	va_start(ap, fmt);
	rc = pbx_redis_vacmd(ac, fn, j, fmt, ap);
	va_end(ap);
	if (rc != REDIS_OK)
		return -EIO;
	j->pending++;
	return 0;
}

static void looked_up(struct crm_job *j, struct xfer *x, long status,
		      const char *err)
{
	char key[PBX_KEY_MAX];

	(void)err;
	j->ad->lookup_parse(status, x->resp, x->len, &j->a);
	switch (j->a.v) {
	case CRM_V_AUTH:
		if (crm_oauth(j->ad, &j->s) && !j->retried) {
			j->retried = true;
			PLOG_INFO("crm %s: token refused; refreshing",
				  j->ad->name);
			j->s.expires_at = 1; /* due */
			ask(j);
			return;
		}
		fail(j, j->a.detail);
		return;
	case CRM_V_ERROR:
		fail(j, j->a.detail);
		return;
	case CRM_V_NOT_FOUND:
		breaker_report(j, true);
		answer(j, RES(NOT_FOUND), NULL, NULL);
		return;
	case CRM_V_OWNER:
		breaker_report(j, true);
		break;
	}
	/* The tenant's table maps the CRM user; an answer naming an
	 * extension itself (Bitrix24's inner phone, the API's) is the
	 * fallback, then a number it names (the API's). */
	if (j->a.user[0] && pbx_id_valid(j->a.user) &&
	    !pbx_key_sub_of(key, sizeof(key), j->tenant, PBX_K_CRM_MAP,
			    j->ad->name) &&
	    !redis_cmd(j, mapped, "HGET %s %s", key, j->a.user))
		return;
	if (j->a.ext[0] && pbx_id_valid(j->a.ext))
		answer(j, RES(OWNER), j->a.ext, NULL);
	else if (j->a.number[0])
		answer(j, RES(OWNER), NULL, NULL);
	else
		answer(j, RES(NOT_FOUND), NULL, NULL);
}

static void stored(redisAsyncContext *ac, void *reply, void *arg)
{
	struct crm_job *j = arg;

	(void)ac;
	j->pending--;
	if (!reply) {
		job_ctx(j);
		PLOG_ERR("crm %s: refreshed tokens not stored (Redis); the "
			 "next refresh will fail",
			 j->ad->name);
	}
	job_settle(j);
}

static void refreshed(struct crm_job *j, struct xfer *x, long status,
		      const char *err)
{
	char why[160], key[PBX_KEY_MAX], exp[24];
	int rc = crm_token_parse(j->ad->name, status, x->resp, x->len,
				 pbx_clock_now_ms() / 1000, &j->s, why,
				 sizeof(why));

	(void)err;
	if (rc) {
		/* A refused refresh needs the tenant's new tokens: an
		 * error line naming the tenant (job_ctx) and the cause. */
		if (rc == -EACCES)
			PLOG_ERR("crm: %s; the tenant must set new tokens "
				 "(pbxctl crm set)",
				 why);
		fail_as(j, why, status >= 500 || status == 429);
		return;
	}
	j->crm->n.refreshes++;
	PLOG_INFO("crm %s: tokens refreshed", j->ad->name);
	/* The old refresh token is spent: store the pair before anything
	 * else can fail. */
	snprintf(exp, sizeof(exp), "%lld", (long long)j->s.expires_at);
	if (pbx_key_sub_of(key, sizeof(key), j->tenant, PBX_K_CRM,
			   j->ad->name) ||
	    redis_cmd(j, stored, "HSET %s access_token %s refresh_token %s "
				 "expires_at %s",
		      key, j->s.access_token, j->s.refresh_token, exp))
		PLOG_ERR("crm %s: refreshed tokens not stored", j->ad->name);
	if (j->is_log)
		log_step(j);
	else
		ask(j);
}

/* True when a token refresh was started (or failed): the job goes on
 * from refreshed(). */
static bool refresh_due(struct crm_job *j)
{
	struct crm_req r = {0};
	char why[96];

	if (!crm_oauth(j->ad, &j->s) ||
	    !crm_token_due(&j->s, pbx_clock_now_ms() / 1000,
			   j->crm->cfg->refresh_margin_s))
		return false;
	if (j->ad->refresh_build(&j->s, &r)) {
		crm_req_clear(&r);
		snprintf(why, sizeof(why),
			 "%s: settings incomplete for a token refresh",
			 j->ad->name);
		fail(j, why);
		return true;
	}
	http(j, &r, time_left(j), refreshed);
	return true;
}

/* The CRM request (after a refresh when the token is due). */
static void ask(struct crm_job *j)
{
	struct crm_req r = {0};
	struct crm_query q = {
		.tenant = j->tenant,
		.call_id = j->call_id,
		.caller = j->caller,
		.called = j->called,
		.now_s = pbx_clock_now_ms() / 1000,
	};

	if (refresh_due(j))
		return;
	if (j->ad->lookup_build(&j->s, &q, &r)) {
		crm_req_clear(&r);
		fail(j, "settings incomplete");
		return;
	}
	http(j, &r, time_left(j), looked_up);
}

static void logged(struct crm_job *j, struct xfer *x, long status,
		   const char *err)
{
	struct crm_answer a;

	(void)err;
	/* Into a copy: a retry builds the step again from the previous
	 * step's answer (j->last). */
	j->ad->log_parse(&j->s, j->step, status, x->resp, x->len, &a);
	if (a.v == CRM_V_AUTH && crm_oauth(j->ad, &j->s) && !j->retried) {
		j->retried = true;
		PLOG_INFO("crm %s: token refused; refreshing", j->ad->name);
		j->s.expires_at = 1; /* due: the step again after it */
		log_step(j);
		return;
	}
	if (a.v != CRM_V_OWNER) {
		fail_as(j, a.detail, status >= 500 || status == 429);
		return;
	}
	j->last = a;
	j->step++;
	j->attempts = 0;
	log_step(j);
}

static void log_step(struct crm_job *j)
{
	struct crm_req r = {0};
	int rc;

	j->call.now_s = pbx_clock_now_ms() / 1000;
	if (refresh_due(j))
		return;
	rc = j->ad->log_build(&j->s, &j->call, j->step, &j->last, &r);
	if (rc) {
		crm_req_clear(&r);
		log_end(j, rc > 0, "settings incomplete");
		return;
	}
	http(j, &r, time_left(j), logged);
}

#define FIELD(name, dst)                                                       \
	if (!strcmp(k, name))                                                  \
		snprintf(dst, sizeof(dst), "%s", v);

static void settings_read(struct crm_job *j, const redisReply *rr)
{
	for (size_t i = 0; i + 1 < rr->elements; i += 2) {
		const char *k = rr->element[i]->str;
		const char *v = rr->element[i + 1]->str;

		if (rr->element[i]->type != REDIS_REPLY_STRING ||
		    rr->element[i + 1]->type != REDIS_REPLY_STRING)
			continue;
		FIELD("webhook_url", j->s.url)
		FIELD("portal_url", j->s.portal_url)
		FIELD("oauth_url", j->s.oauth_url)
		FIELD("base_url", j->s.url)
		FIELD("url", j->s.url)
		FIELD("secret", j->s.secret)
		FIELD("client_id", j->s.client_id)
		FIELD("client_secret", j->s.client_secret)
		FIELD("redirect_uri", j->s.redirect_uri)
		FIELD("access_token", j->s.access_token)
		FIELD("refresh_token", j->s.refresh_token)
		for (size_t m = 0; !strcmp(k, "call_log") && crm_log_modes[m];
		     m++) {
			if (!strcmp(v, crm_log_modes[m]))
				j->s.log_mode = (enum crm_log_mode)m;
		}
		if (!strcmp(k, "expires_at"))
			j->s.expires_at = strtoll(v, NULL, 10);
		if (!strcmp(k, "cache_ttl_s")) {
			j->s.cache_ttl_s = strtol(v, NULL, 10);
			j->have_ttl = j->s.cache_ttl_s >= 0;
		}
	}
}

static void got_settings(redisAsyncContext *ac, void *reply, void *arg)
{
	struct crm_job *j = arg;
	redisReply *rr = reply;

	(void)ac;
	j->pending--;
	if (j->answered || j->crm->closing) {
		job_settle(j);
		return;
	}
	job_ctx(j);
	if (!rr || rr->type != REDIS_REPLY_ARRAY) {
		/* Not the CRM's fault: the breaker does not count it. */
		j->counted = true;
		fail(j, "storage unavailable");
	} else if (rr->elements == 0) {
		j->counted = true;
		fail(j, j->is_log ? "the tenant has no such CRM"
				  : "the tenant has no settings for this CRM");
	} else {
		settings_read(j, rr);
		if (j->is_log)
			log_step(j);
		else
			ask(j);
	}
	job_settle(j);
}

static int load_settings(struct crm_job *j)
{
	char key[PBX_KEY_MAX];

	if (pbx_key_sub_of(key, sizeof(key), j->tenant, PBX_K_CRM,
			   j->ad->name))
		return -EINVAL;
	return redis_cmd(j, got_settings, "HGETALL %s", key);
}

/* ---- from the bus -------------------------------------------------------- */

/* The caller as the CRM knows it: digits, international. */
static int caller_of(const char *in, char *out, size_t size)
{
	return in ? scenario_number_normalise(in, out, size) : -EINVAL;
}

void crm_job_lookup(struct crm *crm, const Pbx__V1__Envelope *env)
{
	const Pbx__V1__CrmLookup *q = env->crm_lookup;
	const struct crm_adapter *ad = crm_adapter_find(q->crm);
	char caller[40] = "", called[40] = "";
	uint64_t now = pbx_clock_mono_ms();
	struct crm_cached hit;
	struct crm_job *j;
	uint32_t budget;
	struct timeval tv;

	crm->n.lookups++;
	if (!ad) {
		PLOG_WARN("lookup for an unknown crm '%s'", q->crm);
		send_result(crm, env->tenant_id, env->call_id,
			    env->message_id, q->node, RES(ERROR), "", "", "", "",
			    "unknown crm", false);
		return;
	}
	if (caller_of(q->caller, caller, sizeof(caller)) < 0 || !caller[0]) {
		/* Anonymous or unreadable: nobody to look up. */
		PLOG_INFO("crm %s: caller '%s' has no number: not found",
			  ad->name, q->caller ? q->caller : "");
		send_result(crm, env->tenant_id, env->call_id,
			    env->message_id, q->node, RES(NOT_FOUND), "", "",
			    "", "", "", false);
		return;
	}
	if (caller_of(q->called, called, sizeof(called)) < 0)
		called[0] = '\0';
	if (crm_cache_get(crm->cache, env->tenant_id, ad->name, caller, now,
			  &hit)) {
		crm->n.cache_hits++;
		PLOG_INFO("crm %s: caller %s: %s%s (cached)", ad->name, caller,
			  hit.v == CRM_V_OWNER ? "owner " : "not found",
			  hit.v == CRM_V_OWNER ? hit.ext[0] ? hit.ext : hit.number
						: "");
		send_result(crm, env->tenant_id, env->call_id,
			    env->message_id, q->node,
			    hit.v == CRM_V_OWNER ? RES(OWNER) : RES(NOT_FOUND),
			    hit.ext, hit.number, hit.user, hit.name, "", true);
		return;
	}
	if (!crm_breaker_allow(crm->breaker, env->tenant_id, ad->name, now)) {
		crm->n.breaker_refusals++;
		PLOG_WARN("crm %s: circuit open after repeated failures; "
			  "crm_error at once",
			  ad->name);
		send_result(crm, env->tenant_id, env->call_id,
			    env->message_id, q->node, RES(ERROR), "", "", "", "",
			    "circuit open", false);
		return;
	}
	j = job_alloc(crm, env);
	if (!j) {
		PLOG_ERR("out of memory for a lookup");
		send_result(crm, env->tenant_id, env->call_id,
			    env->message_id, q->node, RES(ERROR), "", "", "", "",
			    "out of memory", false);
		return;
	}
	j->ad = ad;
	snprintf(j->node, sizeof(j->node), "%s", q->node ? q->node : "");
	snprintf(j->caller, sizeof(j->caller), "%s", caller);
	snprintf(j->called, sizeof(j->called), "%s", called);
	/* Answer a little before the router's own timer fires, so the
	 * error carries its cause; at least 50 ms to try. */
	budget = q->timeout_ms > (uint32_t)crm->cfg->answer_margin_ms + 50
			 ? q->timeout_ms - (uint32_t)crm->cfg->answer_margin_ms
			 : 50;
	j->deadline_mono = now + budget;
	tv.tv_sec = budget / 1000;
	tv.tv_usec = (budget % 1000) * 1000;
	j->deadline = evtimer_new(crm->base, deadline_cb, j);
	if (!j->deadline || evtimer_add(j->deadline, &tv)) {
		answer(j, RES(ERROR), NULL, "out of memory");
		job_settle(j);
		return;
	}
	if (load_settings(j)) {
		j->counted = true;
		fail(j, "storage unavailable");
	}
	job_settle(j);
}

void crm_job_call_log(struct crm *crm, const Pbx__V1__Envelope *env)
{
	const Pbx__V1__CrmCallLog *l = env->crm_call_log;
	const struct crm_adapter *ad = crm_adapter_find(l->crm);
	struct crm_job *j;

	if (!ad) {
		PLOG_WARN("call log for an unknown crm '%s' dropped", l->crm);
		return;
	}
	j = job_alloc(crm, env);
	if (!j) {
		PLOG_ERR("out of memory for a call log");
		return;
	}
	j->is_log = true;
	j->ad = ad;
	if (caller_of(l->caller, j->caller, sizeof(j->caller)) < 0)
		j->caller[0] = '\0';
	if (caller_of(l->called, j->called, sizeof(j->called)) < 0)
		j->called[0] = '\0';
	snprintf(j->ext, sizeof(j->ext), "%s",
		 pbx_id_valid(l->extension) ? l->extension : "");
	snprintf(j->user, sizeof(j->user), "%s",
		 pbx_id_valid(l->crm_user) ? l->crm_user : "");
	if (scenario_agent_number(l->number, j->number, sizeof(j->number)) <= 0)
		j->number[0] = '\0';
	j->call = (struct crm_call){
		.tenant = j->tenant,
		.call_id = j->call_id,
		.caller = j->caller,
		.called = j->called,
		.ext = j->ext,
		.user = j->user,
		.number = j->number[0] ? j->number + 1 : "",
		.answered = l->answered,
		.started_ms = l->started_ms,
		.duration_s = l->duration_s,
	};
	if (load_settings(j))
		log_end(j, false, "storage unavailable");
	job_settle(j);
}

void crm_job_free_all(struct crm *crm)
{
	while (crm->jobs)
		job_free(crm->jobs);
}
