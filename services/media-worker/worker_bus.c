/* Router links: one DEALER per router, MediaCommands in (handed to
 * worker_command.c), MediaEvents and WorkerHeartbeats out, on the libre
 * loop. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_log.h"
#include "worker_priv.h"

#include "pbx/v1/envelope.pb-c.h"

enum {
	/* ZMQ_FD is edge-triggered; this re-check costs little and catches
	 * any edge lost between a send and our next wake-up. */
	POLL_MS = 50,
	/* While a router is unreachable (also: just after start, the
	 * connect is asynchronous) its heartbeat is retried this often, so
	 * it learns about us soon after it is back, not a period later. */
	HB_RETRY_MS = 200,
};

/* A frame that arrived while we were inside pbx_bus_send(). */
struct pending_frame {
	struct le le;
	struct worker_link *link;
	uint8_t *buf;
	size_t len;
};

static void handle_envelope(struct worker *w, struct worker_link *l,
			    const Pbx__V1__Envelope *env);

static void process_all(struct worker *w)
{
	for (size_t i = 0; i < w->nlinks; i++)
		pbx_bus_process(w->links[i].bus);
}

static void kick_handler(void *arg)
{
	process_all(arg);
}

static int link_send(struct worker *w, struct worker_link *l,
		     Pbx__V1__Envelope *env)
{
	int err;

	w->sending++;
	err = pbx_bus_send(l->bus, NULL, env);
	w->sending--;
	/* A send can consume the edge of ZMQ_FD that announced queued input:
	 * look again from the loop, soon, not from inside this call. */
	tmr_start(&w->tmr_kick, 0, kick_handler, w);
	if (err && !l->down) {
		/* Logged once per outage: heartbeats would repeat it every
		 * second. Calls go on; events meanwhile are lost. At start
		 * the connect is merely still in progress. */
		if (l->ever_up)
			PLOG_WARN("bus: router %s not reachable (%s); "
				  "dropping messages to it until it is",
				  l->endpoint, strerror(-err));
		else
			PLOG_INFO("bus: router %s not connected yet",
				  l->endpoint);
		l->down = true;
	} else if (!err && (l->down || !l->ever_up)) {
		PLOG_INFO("bus: router %s %s", l->endpoint,
			  l->ever_up ? "reachable again" : "connected");
		l->down = false;
		l->ever_up = true;
	}
	return err;
}

static const char *kind_name(int kind)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
		&pbx__v1__media_event__kind__descriptor, kind);

	return v ? v->name : "?";
}

struct worker_link *worker_event_send(struct worker *w,
				      struct worker_link *home,
				      const struct worker_event *ev)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__MediaEvent me = PBX__V1__MEDIA_EVENT__INIT;
	char digit[2] = {0, 0};
	size_t start;

	if (!w->nlinks)
		return NULL;
	me.worker_id = (char *)w->cfg->worker_id;
	me.kind = (Pbx__V1__MediaEvent__Kind)ev->kind;
	me.seq = ev->seq;
	me.sip_code = ev->sip_code;
	if (ev->detail)
		me.detail = (char *)ev->detail;
	if (ev->caller)
		me.caller = (char *)ev->caller;
	if (ev->dialed)
		me.dialed = (char *)ev->dialed;
	if (ev->digit) {
		digit[0] = ev->digit;
		me.digit = digit;
	}
	me.timer_id = ev->timer_id;
	me.ring_result = (Pbx__V1__MediaEvent__RingResult)ev->ring_result;
	if (ev->leg)
		me.leg = (char *)ev->leg;
	me.conf_members = ev->conf_members;
	me.conf_muted = ev->conf_muted;
	if (ev->fax_id)
		me.fax_id = (char *)ev->fax_id;
	me.fax_result = ev->fax_result;
	me.fax_pages = ev->fax_pages;
	me.fax_continues = ev->fax_continues;
	if (ev->speech_phrase)
		me.speech_phrase = (char *)ev->speech_phrase;
	if (ev->speech_text)
		me.speech_text = (char *)ev->speech_text;
	if (ev->transfer_host)
		me.transfer_host = (char *)ev->transfer_host;
	if (ev->picked_by)
		me.picked_by = (char *)ev->picked_by;
	me.speech_confidence = ev->speech_confidence;
	env.tenant_id = (char *)ev->tenant;
	env.call_id = (char *)ev->callid;
	if (ev->reply_to)
		env.reply_to = (char *)ev->reply_to;
	env.body_case = PBX__V1__ENVELOPE__BODY_MEDIA_EVENT;
	env.media_event = &me;

	start = home ? (size_t)(home - w->links) : 0;
	for (size_t i = 0; i < w->nlinks; i++) {
		struct worker_link *l = &w->links[(start + i) % w->nlinks];

		if (!link_send(w, l, &env)) {
			PLOG_DEBUG("event %s seq %llu to %s",
				   kind_name(ev->kind),
				   (unsigned long long)ev->seq, l->endpoint);
			return l;
		}
	}
	return NULL;
}

static void heartbeat_retry_handler(void *arg);

/* To every router, or only to those whose last send failed. */
static void heartbeat_send(struct worker *w, bool final, bool down_only)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__WorkerHeartbeat hb = PBX__V1__WORKER_HEARTBEAT__INIT;
	bool retry = false;

	hb.worker_id = (char *)w->cfg->worker_id;
	hb.sip_uri = w->sip_uri;
	hb.capacity = final ? 0 : (uint32_t)w->cfg->capacity;
	/* Behind: full, so routers place nothing here until it catches
	 * up (worker_lag.c). */
	hb.load = worker_lagging(w) ? hb.capacity : w->load;
	hb.draining = w->draining;
	hb.started_ms = w->started_ms;
	hb.rtp_ip = (char *)w->cfg->rtp_ip;
	hb.rtp_port_min = w->rtp_min;
	hb.rtp_port_max = w->rtp_max;
	hb.drain_exit = w->drain_op && w->drain_exit;
	env.body_case = PBX__V1__ENVELOPE__BODY_WORKER_HEARTBEAT;
	env.worker_heartbeat = &hb;
	for (size_t i = 0; i < w->nlinks; i++) {
		struct worker_link *l = &w->links[i];

		if (down_only && !l->down)
			continue;
		if (link_send(w, l, &env))
			retry = true;
	}
	if (retry && !final && !tmr_isrunning(&w->tmr_hb_retry))
		tmr_start(&w->tmr_hb_retry, HB_RETRY_MS,
			  heartbeat_retry_handler, w);
}

static void heartbeat_retry_handler(void *arg)
{
	struct worker *w = arg;

	pbx_log_ctx(NULL, NULL);
	if (!w->stopping)
		heartbeat_send(w, false, true);
}

void worker_heartbeat(struct worker *w, bool final)
{
	if (final)
		tmr_cancel(&w->tmr_hb_retry);
	heartbeat_send(w, final, false);
}

static void heartbeat_handler(void *arg)
{
	struct worker *w = arg;

	pbx_log_ctx(NULL, NULL);
	worker_scale_renew(w); /* the lease, and the drain mark read back */
	worker_heartbeat(w, false);
	tmr_start(&w->tmr_hb, (uint64_t)w->cfg->heartbeat_ms,
		  heartbeat_handler, w);
}

static void handle_envelope(struct worker *w, struct worker_link *l,
			    const Pbx__V1__Envelope *env)
{
	pbx_log_ctx(env->tenant_id, env->call_id);
	switch (env->body_case) {
	case PBX__V1__ENVELOPE__BODY_MEDIA_COMMAND:
		worker_command(w, l, env);
		break;
	case PBX__V1__ENVELOPE__BODY_ERROR:
		PLOG_WARN("bus: router %s: error %d %s", l->endpoint,
			  env->error->code, env->error->text);
		break;
	default:
		PLOG_DEBUG("bus: ignoring message type %d from %s",
			   (int)env->body_case, l->endpoint);
		break;
	}
	pbx_log_ctx(NULL, NULL);
}

static void pending_handler(void *arg)
{
	struct worker *w = arg;
	struct le *le;

	while ((le = list_head(&w->pending))) {
		struct pending_frame *pf = le->data;
		Pbx__V1__Envelope *env;

		list_unlink(le);
		env = pbx_envelope_decode(pf->buf, pf->len);
		if (env)
			handle_envelope(w, pf->link, env);
		pbx_envelope_free(env);
		free(pf->buf);
		free(pf);
	}
}

static void defer_frame(struct worker *w, struct worker_link *l,
			const Pbx__V1__Envelope *env)
{
	struct pending_frame *pf = calloc(1, sizeof(*pf));

	if (!pf || pbx_envelope_encode(env, &pf->buf, &pf->len)) {
		PLOG_ERR("bus: out of memory, dropped a frame");
		free(pf);
		return;
	}
	pf->link = l;
	list_append(&w->pending, &pf->le, pf);
	tmr_start(&w->tmr_pending, 0, pending_handler, w);
}

static void recv_handler(struct pbx_bus *bus, const struct pbx_bus_peer *peer,
			 const Pbx__V1__Envelope *env, int err, void *arg)
{
	struct worker_link *l = arg;

	(void)bus;
	(void)peer;
	if (err || !env)
		return; /* logged by the bus */
	if (l->w->sending)
		defer_frame(l->w, l, env);
	else
		handle_envelope(l->w, l, env);
}

static void link_fd_handler(int flags, void *arg)
{
	struct worker_link *l = arg;

	(void)flags;
	pbx_bus_process(l->bus);
}

static void poll_handler(void *arg)
{
	struct worker *w = arg;

	process_all(w);
	tmr_start(&w->tmr_poll, POLL_MS, poll_handler, w);
}

static size_t count_endpoints(const char *list)
{
	size_t n = 1;

	for (const char *p = list; *p; p++)
		n += *p == ',';
	return n;
}

int worker_bus_open(struct worker *w)
{
	char *list, *save = NULL, *ep;
	size_t max = count_endpoints(w->cfg->router_endpoints);
	int err = 0;

	w->links = calloc(max, sizeof(*w->links));
	list = strdup(w->cfg->router_endpoints);
	if (!w->links || !list) {
		free(list);
		return -ENOMEM;
	}
	for (ep = strtok_r(list, ",", &save); ep && !err;
	     ep = strtok_r(NULL, ",", &save)) {
		struct worker_link *l = &w->links[w->nlinks];

		while (*ep == ' ')
			ep++;
		if (!*ep)
			continue;
		l->w = w;
		l->fd = -1;
		snprintf(l->endpoint, sizeof(l->endpoint), "%s", ep);
		err = pbx_bus_alloc_opts(
			&l->bus, w->zctx, PBX_BUS_DEALER, ep,
			w->cfg->worker_id,
			&(struct pbx_bus_opts){
				.secret_file = w->cfg->curve_secret_file,
				.server_public_file =
					w->cfg->curve_server_public_file,
			},
			recv_handler, l);
		if (err)
			break;
		w->nlinks++;
		l->fd = pbx_bus_fd(l->bus);
		err = -fd_listen(l->fd, FD_READ, link_fd_handler, l);
	}
	free(list);
	if (err)
		return err;
	if (!w->nlinks)
		return -EINVAL;
	tmr_start(&w->tmr_hb, (uint64_t)w->cfg->heartbeat_ms,
		  heartbeat_handler, w);
	tmr_start(&w->tmr_poll, POLL_MS, poll_handler, w);
	return 0;
}

void worker_bus_close(struct worker *w)
{
	struct le *le;

	tmr_cancel(&w->tmr_hb);
	tmr_cancel(&w->tmr_hb_retry);
	tmr_cancel(&w->tmr_poll);
	tmr_cancel(&w->tmr_kick);
	tmr_cancel(&w->tmr_pending);
	while ((le = list_head(&w->pending))) {
		struct pending_frame *pf = le->data;

		list_unlink(le);
		free(pf->buf);
		free(pf);
	}
	for (size_t i = 0; i < w->nlinks; i++) {
		if (w->links[i].fd >= 0)
			fd_close(w->links[i].fd);
		pbx_bus_free(w->links[i].bus);
	}
	free(w->links);
	w->links = NULL;
	w->nlinks = 0;
}
