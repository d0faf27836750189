/* INVITE admission: who may open a call on this worker (only the edge
 * proxy, with a valid tenant), whether there is room; accepted calls ring
 * (180) and are announced to a router (INCOMING), which decides. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_keys.h"
#include "pbx_log.h"
#include "worker_priv.h"

#include "pbx/v1/media.pb-c.h"

#define TENANT_HDR "X-Pbx-Tenant"

static void copy_pl(char *buf, size_t size, const struct pl *pl)
{
	size_t n = pl && pl->p ? pl->l : 0;

	if (n >= size)
		n = size - 1;
	if (n)
		memcpy(buf, pl->p, n);
	buf[n] = '\0';
}

static void reply(struct worker *w, const struct sip_msg *msg, uint16_t code,
		  const char *reason)
{
	int err = sip_treply(NULL, w->sip, msg, code, reason);

	if (err)
		PLOG_WARN("INVITE: cannot send %u: %s", code, strerror(err));
}

/* The tenant header is trusted only from the edge: Kamailio strips any
 * X-Pbx-* an outsider sends, but nothing strips it on a direct path. A
 * header longer than an id is invalid, not truncated into a valid one. */
static bool tenant_of(const struct worker *w, const struct sip_msg *msg,
		      char tenant[PBX_ID_MAX + 1], const char **why)
{
	const struct sip_hdr *hdr;

	tenant[0] = '\0';
	if (!sa_cmp(&msg->src, &w->edge, SA_ADDR)) {
		*why = "source is not the edge proxy";
		return false;
	}
	hdr = sip_msg_xhdr(msg, TENANT_HDR);
	if (!hdr) {
		*why = "no " TENANT_HDR " header";
		return false;
	}
	if (hdr->val.l > PBX_ID_MAX) {
		*why = TENANT_HDR " too long";
		return false;
	}
	copy_pl(tenant, PBX_ID_MAX + 1, &hdr->val);
	if (!pbx_tenant_valid(tenant)) {
		*why = "invalid " TENANT_HDR;
		return false;
	}
	return true;
}

/* libre needs a Contact to make a dialog (the target of our BYE and
 * re-INVITEs); without one it fails in a way that looks like bad SDP. */
static const char *contact_problem(const struct sip_msg *msg)
{
	const struct sip_hdr *hdr = sip_msg_hdr(msg, SIP_HDR_CONTACT);
	struct sip_addr addr;

	if (!hdr)
		return "Missing Contact";
	if (sip_addr_decode(&addr, &hdr->val))
		return "Bad Contact";
	return NULL;
}

static void announce(struct worker *w, struct worker_call *wc)
{
	struct worker_event ev = {
		.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING,
		.tenant = mwcall_tenant(wc->call),
		.callid = mwcall_callid(wc->call),
		.caller = mwcall_caller(wc->call),
		.dialed = mwcall_dialed(wc->call),
	};
	struct worker_link *home = w->nlinks ? &w->links[w->next_link] : NULL;

	/* New calls are spread over the routers; later events about the
	 * call go to whichever router took this one (or last commanded). */
	if (w->nlinks)
		w->next_link = (w->next_link + 1) % w->nlinks;
	wc->home = worker_event_send(w, home, &ev);
}

void worker_invite(const struct sip_msg *msg, void *arg)
{
	struct worker *w = arg;
	char tenant[PBX_ID_MAX + 1], callid[129], src[64];
	struct worker_call *wc;
	const char *why = NULL;
	int err;

	copy_pl(callid, sizeof(callid), &msg->callid);
	if (re_snprintf(src, sizeof(src), "%J", &msg->src) < 0)
		snprintf(src, sizeof(src), "?");

	if (!tenant_of(w, msg, tenant, &why)) {
		pbx_log_ctx(NULL, callid);
		PLOG_WARN("INVITE from %s refused (403): %s", src, why);
		reply(w, msg, 403, "Forbidden");
		goto out;
	}
	pbx_log_ctx(tenant, callid);
	if (w->draining || w->stopping ||
	    w->load >= (uint32_t)w->cfg->capacity) {
		PLOG_WARN("INVITE refused (503): %s",
			  w->draining ? "draining" : "at capacity");
		w->n_refused_full++;
		reply(w, msg, 503, "Service Unavailable");
		goto out;
	}
	if (worker_lagging(w)) {
		/* Once a second at most: a backlog holds thousands. */
		uint64_t now = tmr_jiffies();

		if (now >= w->lag_logged_ms + 1000) {
			PLOG_WARN("INVITE refused (503): the loop is %u ms "
				  "behind (overload_lag_ms %ld); %u refused "
				  "so since the last line",
				  worker_lag_ms(w), w->cfg->overload_lag_ms,
				  w->lag_refused + 1);
			w->lag_logged_ms = now;
			w->lag_refused = 0;
		} else {
			w->lag_refused++;
		}
		w->n_refused_lag++;
		reply(w, msg, 503, "Overloaded");
		goto out;
	}
	if (worker_call_find(w, callid)) {
		/* A second INVITE with a live Call-ID that is not a
		 * retransmission (libre absorbs those) is a loop. */
		PLOG_WARN("INVITE refused (482): Call-ID already in use");
		reply(w, msg, 482, "Loop Detected");
		goto out;
	}

	why = contact_problem(msg);
	if (why) {
		PLOG_INFO("INVITE refused (400): %s header", why);
		reply(w, msg, 400, why);
		goto out;
	}

	wc = calloc(1, sizeof(*wc));
	if (!wc) {
		reply(w, msg, 500, "Server Internal Error");
		goto out;
	}
	wc->w = w;
	err = mwcall_accept(&wc->call, &w->env, msg, tenant, worker_call_event,
			    wc, &why);
	if (err) {
		free(wc);
		/* The reason phrase names the problem (mwcall_accept). */
		if (err == -ENOTSUP) {
			PLOG_INFO("INVITE refused (488): %s",
				  why ? why : "no usable SDP offer");
			reply(w, msg, 488, why ? why : "Not Acceptable Here");
		} else if (err == -EBADMSG || err == -EPROTO) {
			PLOG_INFO("INVITE refused (400): %s",
				  why ? why : "bad request");
			reply(w, msg, 400, why ? why : "Bad Request");
		} else {
			PLOG_ERR("INVITE failed (500): %s", strerror(-err));
			reply(w, msg, 500, "Server Internal Error");
		}
		goto out;
	}
	worker_call_add(w, wc);
	announce(w, wc);
out:
	pbx_log_ctx(NULL, NULL);
}

bool worker_options(const struct sip_msg *msg, void *arg)
{
	struct worker *w = arg;

	/* Kamailio's dispatcher probes with OPTIONS: answer them so the
	 * worker shows as alive (503 while draining or stopping). */
	if (pl_strcmp(&msg->met, "OPTIONS"))
		return false;
	if (w->draining)
		sip_reply(w->sip, msg, 503, "Service Unavailable");
	else
		sip_reply(w->sip, msg, 200, "OK");
	return true;
}
