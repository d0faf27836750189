/* Conference control from provisioning (pbxctl conf mute|unmute|kick):
 * provision queues "<tenant> <call-id> mute|unmute|kick" on this worker's
 * list pbx:{sys}:conf:ctl:<worker_id>; while the worker has rooms it pops
 * the list every CTL_POLL_MS (one LPOP a line, at most CTL_BATCH a poll,
 * on the blocking connection: nothing at all while it has no room). A line
 * acts only on a call of the tenant it names that is in a room. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "confroom.h"
#include "pbx_log.h"
#include "prompt_store.h"
#include "worker_priv.h"

#include "pbx/v1/media.pb-c.h"

enum {
	CTL_POLL_MS = 250,
	CTL_BATCH = 16,
};

int worker_conf_ctl(struct worker *w, const char *line)
{
	char tenant[PBX_ID_MAX + 1], callid[256], op[8];
	struct worker_call *wc;
	struct worker_event ev = {
		.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_ENDED,
		.detail = "kicked from the conference",
	};

	if (sscanf(line, "%64s %255s %7s", tenant, callid, op) != 3)
		return -EINVAL;
	wc = worker_call_find(w, callid);
	/* Call-IDs are the callers' choice: the tenant must match too. */
	if (!wc || strcmp(mwcall_tenant(wc->call), tenant))
		return -ENOENT;
	pbx_log_ctx(tenant, callid);
	if (!strcmp(op, "mute") || !strcmp(op, "unmute"))
		return confroom_mute(wc->call, !strcmp(op, "mute"));
	if (strcmp(op, "kick"))
		return -EINVAL;
	if (!mwcall_in_conf(wc->call))
		return -ENOENT;
	PLOG_INFO("conference: kicked");
	ev.tenant = mwcall_tenant(wc->call);
	ev.callid = mwcall_callid(wc->call);
	worker_event_send(w, wc->home, &ev);
	worker_call_end(w, wc); /* BYE to the caller */
	return 0;
}

static void ctl_poll(void *arg)
{
	struct worker *w = arg;
	char key[PBX_KEY_MAX];

	tmr_start(&w->tmr_conf, CTL_POLL_MS, ctl_poll, w);
	if (!confroom_count(w->conf) ||
	    pbx_key_sys_sub_of(key, sizeof(key), PBX_KS_CONF_CTL,
			       w->cfg->worker_id))
		return;
	for (int i = 0; i < CTL_BATCH; i++) {
		redisReply *r = NULL;
		int err;

		if (prompt_store_command(w->store, &r, "LPOP %s", key))
			return; /* logged by the store; next poll retries */
		if (r->type != REDIS_REPLY_STRING) {
			freeReplyObject(r);
			return;
		}
		err = worker_conf_ctl(w, r->str);
		if (err)
			PLOG_INFO("conference control \"%s\": %s", r->str,
				  strerror(-err));
		pbx_log_ctx(NULL, NULL);
		freeReplyObject(r);
	}
}

void worker_conf_start(struct worker *w)
{
	tmr_start(&w->tmr_conf, CTL_POLL_MS, ctl_poll, w);
}
