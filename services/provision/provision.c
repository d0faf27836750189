/* Provisioning dispatch: turns each bus frame into exactly one reply
 * envelope (ProvResponse, or BusError for a frame that is not a request),
 * and owns the reply builder and the field checks every handler shares. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pbx_keys.h"
#include "pbx_log.h"
#include "prov.h"
#include "scenario.h"

int provision_alloc(struct provision **pvp, const char *redis_host,
		    int redis_port, const struct pbx_redis_cred *cred)
{
	struct provision *pv;

	if (!pvp || !redis_host)
		return -EINVAL;
	pv = calloc(1, sizeof(*pv));
	if (!pv)
		return -ENOMEM;
	snprintf(pv->redis_host, sizeof(pv->redis_host), "%s", redis_host);
	snprintf(pv->media_root, sizeof(pv->media_root), "%s",
		 PROVISION_MEDIA_ROOT_DEFAULT);
	pv->redis_port = redis_port;
	if (cred)
		pv->cred = *cred;
	/* Connect now only to report a misconfiguration early; a Redis that
	 * is down is retried on every request, not fatal. */
	if (prov_store_connect(pv))
		PLOG_WARN("redis %s:%d is not reachable yet; requests will "
			  "fail until it is",
			  redis_host, redis_port);
	*pvp = pv;
	return 0;
}

int provision_set_media_root(struct provision *pv, const char *root)
{
	if (!pv || !root || root[0] != '/' ||
	    strlen(root) >= sizeof(pv->media_root))
		return -EINVAL;
	snprintf(pv->media_root, sizeof(pv->media_root), "%s", root);
	return 0;
}

void provision_set_wait(struct provision *pv, int replicas, int timeout_ms)
{
	pv->wait_replicas = replicas;
	pv->wait_timeout_ms = timeout_ms;
}

void provision_set_worker_ttl(struct provision *pv, long ms)
{
	pv->worker_ttl_ms = ms;
}

void provision_free(struct provision *pv)
{
	if (!pv)
		return;
	if (pv->rc)
		pbx_redis_close(pv->rc);
	memset(&pv->cred, 0, sizeof(pv->cred));
	free(pv);
}

static const char *status_name(Pbx__V1__ProvResponse__Status st)
{
	switch (st) {
	case PBX__V1__PROV_RESPONSE__STATUS__STATUS_OK:
		return "OK";
	case PBX__V1__PROV_RESPONSE__STATUS__STATUS_INVALID:
		return "INVALID";
	case PBX__V1__PROV_RESPONSE__STATUS__STATUS_NOT_FOUND:
		return "NOT_FOUND";
	case PBX__V1__PROV_RESPONSE__STATUS__STATUS_CONFLICT:
		return "CONFLICT";
	case PBX__V1__PROV_RESPONSE__STATUS__STATUS_TOO_LARGE:
		return "TOO_LARGE";
	case PBX__V1__PROV_RESPONSE__STATUS__STATUS_PERMISSION_DENIED:
		return "PERMISSION_DENIED";
	default:
		return "INTERNAL";
	}
}

const char *prov_time_iso(char *buf, size_t size, unsigned long long ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) ||
	    !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "%llu", ms);
	return buf;
}

int prov_check_tenant(struct prov_reply *r, const char *tenant)
{
	if (pbx_tenant_valid(tenant))
		return 0;
	return prov_fail(r, -EINVAL,
			 "tenant must be 1 to 64 letters, digits, '_', '.' "
			 "or '-', and not \"sys\"");
}

int prov_check_id(struct prov_reply *r, const char *field, const char *id)
{
	if (pbx_id_valid(id))
		return 0;
	return prov_fail(r, -EINVAL,
			 "%s must be 1 to 64 letters, digits, '_', '.' or '-'",
			 field);
}

int prov_check_number(struct prov_reply *r, const char *number)
{
	if (pbx_number_valid(number))
		return 0;
	return prov_fail(r, -EINVAL,
			 "number must be 1 to 32 digits with an optional "
			 "leading '+'");
}

int prov_tenant_known(struct provision *pv, struct prov_reply *r,
		      const char *tenant)
{
	char key[PBX_KEY_MAX];
	long long member = 0;
	int err;

	err = prov_check_tenant(r, tenant);
	if (err)
		return err;
	if (pbx_key_sys(key, sizeof(key), "tenants"))
		return -EINVAL;
	err = prov_store_int(pv, &member, "SISMEMBER %s %s", key, tenant);
	if (err)
		return err;
	if (!member)
		return prov_fail(r, -ENOENT, "unknown tenant %s", tenant);
	return 0;
}

/* The tenant a request is about, for the log context (only when valid:
 * an invalid id is never echoed into a log line). */
static const char *request_tenant(const Pbx__V1__ProvRequest *q)
{
	const char *t = prov_request_tenant_field(q);

	return pbx_tenant_valid(t) ? t : NULL;
}

/* The operation's name is its field's in the oneof (the op case is that
 * field's number): one table, protobuf-c's. */
static const char *op_name(Pbx__V1__ProvRequest__OpCase op)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field(
			&pbx__v1__prov_request__descriptor, (unsigned)op);

	return f ? f->name : "unknown";
}

/* A oneof case with no message behind it cannot come from protobuf-c's
 * unpacker, but a NULL here must refuse, not crash. */
#define NEED(m)                                                               \
	do {                                                                  \
		if (!(m))                                                     \
			return prov_fail(r, -EINVAL,                          \
					 "the request has no arguments");     \
	} while (0)

static int dispatch(struct provision *pv, const Pbx__V1__ProvRequest *q,
		    struct prov_reply *r)
{
	switch (q->op_case) {
	case PBX__V1__PROV_REQUEST__OP_TENANT_CREATE:
		NEED(q->tenant_create);
		return prov_tenant_create(pv, q->tenant_create, r);
	case PBX__V1__PROV_REQUEST__OP_TENANT_LIST:
		return prov_tenant_list(pv, r);
	case PBX__V1__PROV_REQUEST__OP_TENANT_DELETE:
		NEED(q->tenant_delete);
		return prov_tenant_delete(pv, q->tenant_delete, r);
	case PBX__V1__PROV_REQUEST__OP_NUMBER_CONNECT:
		NEED(q->number_connect);
		return prov_number_connect(pv, q->number_connect, r);
	case PBX__V1__PROV_REQUEST__OP_NUMBER_DISCONNECT:
		NEED(q->number_disconnect);
		return prov_number_disconnect(pv, q->number_disconnect, r);
	case PBX__V1__PROV_REQUEST__OP_NUMBER_LIST:
		NEED(q->number_list);
		return prov_number_list(pv, q->number_list, r);
	case PBX__V1__PROV_REQUEST__OP_EXTENSION_ADD:
		NEED(q->extension_add);
		return prov_extension_add(pv, q->extension_add, r);
	case PBX__V1__PROV_REQUEST__OP_EXTENSION_REMOVE:
		NEED(q->extension_remove);
		return prov_extension_remove(pv, q->extension_remove, r);
	case PBX__V1__PROV_REQUEST__OP_EXTENSION_LIST:
		NEED(q->extension_list);
		return prov_extension_list(pv, q->extension_list, r);
	case PBX__V1__PROV_REQUEST__OP_PROMPT_UPLOAD:
		NEED(q->prompt_upload);
		return prov_prompt_upload(pv, q->prompt_upload, r);
	case PBX__V1__PROV_REQUEST__OP_PROMPT_LIST:
		NEED(q->prompt_list);
		return prov_prompt_list(pv, q->prompt_list, r);
	case PBX__V1__PROV_REQUEST__OP_PROMPT_DELETE:
		NEED(q->prompt_delete);
		return prov_prompt_delete(pv, q->prompt_delete, r);
	case PBX__V1__PROV_REQUEST__OP_SCENARIO_PUT:
		NEED(q->scenario_put);
		return prov_scenario_put(pv, q->scenario_put, r);
	case PBX__V1__PROV_REQUEST__OP_SCENARIO_GET:
		NEED(q->scenario_get);
		return prov_scenario_get(pv, q->scenario_get, r);
	case PBX__V1__PROV_REQUEST__OP_SCENARIO_LIST:
		NEED(q->scenario_list);
		return prov_scenario_list(pv, q->scenario_list, r);
	case PBX__V1__PROV_REQUEST__OP_SCENARIO_ACTIVATE:
		NEED(q->scenario_activate);
		return prov_number_activate(pv, q->scenario_activate, r);
	case PBX__V1__PROV_REQUEST__OP_SCENARIO_HISTORY:
		NEED(q->scenario_history);
		return prov_scenario_history(pv, q->scenario_history, r);
	case PBX__V1__PROV_REQUEST__OP_SCENARIO_DIFF:
		NEED(q->scenario_diff);
		return prov_scenario_diff(pv, q->scenario_diff, r);
	case PBX__V1__PROV_REQUEST__OP_SCENARIO_ROLLBACK:
		NEED(q->scenario_rollback);
		return prov_number_rollback(pv, q->scenario_rollback, r);
	case PBX__V1__PROV_REQUEST__OP_SCENARIO_SIMULATE:
		NEED(q->scenario_simulate);
		return prov_simulate(pv, q->scenario_simulate, r);
	case PBX__V1__PROV_REQUEST__OP_OBJECT_PUT:
		NEED(q->object_put);
		return prov_object_put(pv, q->object_put, r);
	case PBX__V1__PROV_REQUEST__OP_OBJECT_GET:
		NEED(q->object_get);
		return prov_object_get(pv, q->object_get, r);
	case PBX__V1__PROV_REQUEST__OP_OBJECT_LIST:
		NEED(q->object_list);
		return prov_object_list(pv, q->object_list, r);
	case PBX__V1__PROV_REQUEST__OP_OBJECT_DELETE:
		NEED(q->object_delete);
		return prov_object_delete(pv, q->object_delete, r);
	case PBX__V1__PROV_REQUEST__OP_TRUNK_ADD:
		NEED(q->trunk_add);
		return prov_trunk_add(pv, q->trunk_add, r);
	case PBX__V1__PROV_REQUEST__OP_TRUNK_REMOVE:
		NEED(q->trunk_remove);
		return prov_trunk_remove(pv, q->trunk_remove, r);
	case PBX__V1__PROV_REQUEST__OP_TRUNK_LIST:
		return prov_trunk_list(pv, r);
	case PBX__V1__PROV_REQUEST__OP_TRUNK_ASSIGN:
		NEED(q->trunk_assign);
		return prov_trunk_assign(pv, q->trunk_assign, r);
	case PBX__V1__PROV_REQUEST__OP_TENANT_LANGUAGE:
		NEED(q->tenant_language);
		return prov_tenant_language(pv, q->tenant_language, r);
	case PBX__V1__PROV_REQUEST__OP_TENANT_TIMEZONE:
		NEED(q->tenant_timezone);
		return prov_tenant_timezone(pv, q->tenant_timezone, r);
	case PBX__V1__PROV_REQUEST__OP_TENANT_FEATURE:
		NEED(q->tenant_feature);
		return prov_feature_set(pv, q->tenant_feature, r);
	case PBX__V1__PROV_REQUEST__OP_TENANT_LIMITS:
		NEED(q->tenant_limits);
		return prov_limits_set(pv, q->tenant_limits, r);
	case PBX__V1__PROV_REQUEST__OP_QUEUE_AGENT:
		NEED(q->queue_agent);
		return prov_queue_agent(pv, q->queue_agent, r);
	case PBX__V1__PROV_REQUEST__OP_QUEUE_STATS:
		NEED(q->queue_stats);
		return prov_queue_stats(pv, q->queue_stats, r);
	case PBX__V1__PROV_REQUEST__OP_VM_LIST:
		NEED(q->vm_list);
		return prov_vm_list(pv, q->vm_list, r);
	case PBX__V1__PROV_REQUEST__OP_VM_GET:
		NEED(q->vm_get);
		return prov_vm_get(pv, q->vm_get, r);
	case PBX__V1__PROV_REQUEST__OP_VM_HEARD:
		NEED(q->vm_heard);
		return prov_vm_heard(pv, q->vm_heard, r);
	case PBX__V1__PROV_REQUEST__OP_VM_DELETE:
		NEED(q->vm_delete);
		return prov_vm_delete(pv, q->vm_delete, r);
	case PBX__V1__PROV_REQUEST__OP_VM_UNLOCK:
		NEED(q->vm_unlock);
		return prov_vm_unlock(pv, q->vm_unlock, r);
	case PBX__V1__PROV_REQUEST__OP_REC_LIST:
		NEED(q->rec_list);
		return prov_rec_list(pv, q->rec_list, r);
	case PBX__V1__PROV_REQUEST__OP_REC_GET:
		NEED(q->rec_get);
		return prov_rec_get(pv, q->rec_get, r);
	case PBX__V1__PROV_REQUEST__OP_REC_DELETE:
		NEED(q->rec_delete);
		return prov_rec_delete(pv, q->rec_delete, r);
	case PBX__V1__PROV_REQUEST__OP_NOTIFY_SET:
		NEED(q->notify_set);
		return prov_notify_set(pv, q->notify_set, r);
	case PBX__V1__PROV_REQUEST__OP_VM_QUOTA:
		NEED(q->vm_quota);
		return prov_vm_quota(pv, q->vm_quota, r);
	case PBX__V1__PROV_REQUEST__OP_CRM_SET:
		NEED(q->crm_set);
		return prov_crm_set(pv, q->crm_set, r);
	case PBX__V1__PROV_REQUEST__OP_CRM_SHOW:
		NEED(q->crm_show);
		return prov_crm_show(pv, q->crm_show, r);
	case PBX__V1__PROV_REQUEST__OP_CRM_MAP:
		NEED(q->crm_map);
		return prov_crm_map(pv, q->crm_map, r);
	case PBX__V1__PROV_REQUEST__OP_CDR_LIST:
		NEED(q->cdr_list);
		return prov_cdr_list(pv, q->cdr_list, r);
	case PBX__V1__PROV_REQUEST__OP_CDR_SHOW:
		NEED(q->cdr_show);
		return prov_cdr_show(pv, q->cdr_show, r);
	case PBX__V1__PROV_REQUEST__OP_CDR_WEBHOOK:
		NEED(q->cdr_webhook);
		return prov_cdr_webhook(pv, q->cdr_webhook, r);
	case PBX__V1__PROV_REQUEST__OP_OUTBOUND_SET:
		NEED(q->outbound_set);
		return prov_outbound_set(pv, q->outbound_set, r);
	case PBX__V1__PROV_REQUEST__OP_ASR_SET:
		NEED(q->asr_set);
		return prov_asr_set(pv, q->asr_set, r);
	case PBX__V1__PROV_REQUEST__OP_EXTENSION_SET:
		NEED(q->extension_set);
		return prov_extension_set(pv, q->extension_set, r);
	case PBX__V1__PROV_REQUEST__OP_NOTIFY_GET:
		NEED(q->notify_get);
		return prov_notify_get(pv, q->notify_get, r);
	case PBX__V1__PROV_REQUEST__OP_CONF_LIST:
		NEED(q->conf_list);
		return prov_conf_list(pv, q->conf_list, r);
	case PBX__V1__PROV_REQUEST__OP_CONF_MEMBERS:
		NEED(q->conf_members);
		return prov_conf_members(pv, q->conf_members, r);
	case PBX__V1__PROV_REQUEST__OP_CONF_MUTE:
		NEED(q->conf_mute);
		return prov_conf_mute(pv, q->conf_mute, r);
	case PBX__V1__PROV_REQUEST__OP_CONF_UNMUTE:
		NEED(q->conf_unmute);
		return prov_conf_unmute(pv, q->conf_unmute, r);
	case PBX__V1__PROV_REQUEST__OP_CONF_KICK:
		NEED(q->conf_kick);
		return prov_conf_kick(pv, q->conf_kick, r);
	case PBX__V1__PROV_REQUEST__OP_FAX_LIST:
		NEED(q->fax_list);
		return prov_fax_list(pv, q->fax_list, r);
	case PBX__V1__PROV_REQUEST__OP_FAX_GET:
		NEED(q->fax_get);
		return prov_fax_get(pv, q->fax_get, r);
	case PBX__V1__PROV_REQUEST__OP_FAX_DELETE:
		NEED(q->fax_delete);
		return prov_fax_delete(pv, q->fax_delete, r);
	case PBX__V1__PROV_REQUEST__OP_WORKER_LIST:
		return prov_worker_list(pv, r);
	case PBX__V1__PROV_REQUEST__OP_WORKER_DRAIN:
		NEED(q->worker_drain);
		return prov_worker_drain(pv, q->worker_drain, r);
	case PBX__V1__PROV_REQUEST__OP_WORKER_UNDRAIN:
		NEED(q->worker_undrain);
		return prov_worker_undrain(pv, q->worker_undrain, r);
	default:
		return prov_fail(r, -EINVAL,
				 "the request names no known operation");
	}
}

/* Runs one request to a finished reply: whatever a handler returned, the
 * reply has a status, and a refused reply carries no partial results. */
/* The number field of a request that names a connected number, or NULL. */
static char **number_field(const Pbx__V1__ProvRequest *q)
{
	switch (q->op_case) {
	case PBX__V1__PROV_REQUEST__OP_NUMBER_CONNECT:
		return q->number_connect ? &q->number_connect->number : NULL;
	case PBX__V1__PROV_REQUEST__OP_NUMBER_DISCONNECT:
		return q->number_disconnect ? &q->number_disconnect->number
					    : NULL;
	case PBX__V1__PROV_REQUEST__OP_SCENARIO_ACTIVATE:
		return q->scenario_activate ? &q->scenario_activate->number
					    : NULL;
	case PBX__V1__PROV_REQUEST__OP_SCENARIO_ROLLBACK:
		return q->scenario_rollback ? &q->scenario_rollback->number
					    : NULL;
	case PBX__V1__PROV_REQUEST__OP_SCENARIO_SIMULATE:
		return q->scenario_simulate ? &q->scenario_simulate->number
					    : NULL;
	case PBX__V1__PROV_REQUEST__OP_CDR_LIST:
		return q->cdr_list ? &q->cdr_list->number : NULL;
	default:
		return NULL;
	}
}

static void handle(struct provision *pv, const char *user,
		   const Pbx__V1__ProvRequest *q, struct prov_reply *r)
{
	char canon[40];
	char **num = number_field(q);
	char *as_sent = num ? *num : NULL;
	int err;

	/* Who may ask comes before any look at what is asked. */
	if (prov_auth_check(user, q, r))
		return;

	/* Every handler sees the one canonical form of a number (the key
	 * it is stored and routed under), whichever way it was written;
	 * the sender's string is put back before protobuf-c frees it. */
	if (as_sent && as_sent[0]) {
		if (scenario_number_canon(as_sent, canon, sizeof(canon)) < 0) {
			prov_fail(r, -EINVAL,
				  "number must be 1 to 32 digits, optionally "
				  "with a leading '+' and the separators "
				  "' ', '-', '.', '(' and ')'");
			return;
		}
		*num = canon;
	}
	pv->wrote = false;
	err = dispatch(pv, q, r);
	if (num)
		*num = as_sent;
	/* Acknowledged only once a replica has it: an OK must survive the
	 * primary's death (a failover promotes that replica). */
	if (!err && r->status == PBX__V1__PROV_RESPONSE__STATUS__STATUS_OK &&
	    prov_store_wait(pv))
		prov_fail(r, -EIO,
			  "written, but not confirmed by %d replica within "
			  "%d ms: it may be lost if the primary fails; "
			  "repeat the request (it is safe to repeat)",
			  pv->wait_replicas, pv->wait_timeout_ms);

	if (err && r->status == PBX__V1__PROV_RESPONSE__STATUS__STATUS_OK) {
		if (err == -EIO)
			prov_fail(r, err, "storage unavailable");
		else if (err == -ENOMEM)
			prov_fail(r, -EIO, "the service is out of memory");
		else
			prov_fail(r, -EIO, "internal error: %s",
				  strerror(-err));
	}
	if (r->status != PBX__V1__PROV_RESPONSE__STATUS__STATUS_OK) {
		prov_strv_reset(&r->items);
		free(r->body);
		r->body = NULL;
		free(r->data);
		r->data = NULL;
		r->data_len = 0;
		if (!r->error)
			r->error = strdup("the request failed");
	}
}

static void log_result(const char *op, const struct prov_reply *r)
{
	char line[512];
	size_t i;

	if (r->status == PBX__V1__PROV_RESPONSE__STATUS__STATUS_OK) {
		PLOG_INFO("%s: ok", op);
		return;
	}
	/* One log line per request, even for a multi-line lint report (whose
	 * lines quote the sender's node ids). */
	snprintf(line, sizeof(line), "%s", r->error ? r->error : "");
	for (i = 0; line[i]; i++) {
		if (line[i] == '\n')
			line[i] = line[i + 1] ? ';' : '\0';
		else if (iscntrl((unsigned char)line[i]))
			line[i] = '?';
	}
	if (r->status == PBX__V1__PROV_RESPONSE__STATUS__STATUS_INTERNAL)
		PLOG_ERR("%s: %s: %s", op, status_name(r->status), line);
	else
		PLOG_INFO("%s: %s: %s", op, status_name(r->status), line);
}

/* A sender-chosen id, made safe for one log line. */
static const char *log_id(const char *id, char *buf, size_t size)
{
	size_t i;

	if (!id || !id[0])
		return "(none)";
	for (i = 0; id[i] && i + 1 < size; i++)
		buf[i] = isprint((unsigned char)id[i]) ? id[i] : '?';
	buf[i] = '\0';
	return buf;
}

static void send_reply(struct pbx_bus *bus, const struct pbx_bus_peer *peer,
		       Pbx__V1__Envelope *out)
{
	int err = pbx_bus_send(bus, peer, out);
	char id[65];

	/* The requester may be gone already; it is its own business to ask
	 * again, and nothing here depends on the reply arriving. */
	if (err)
		PLOG_WARN("reply to %s not sent: %s",
			  log_id(out->reply_to, id, sizeof(id)),
			  strerror(-err));
}

static void reply_error(struct pbx_bus *bus, const struct pbx_bus_peer *peer,
			const char *reply_to, int code, const char *text)
{
	Pbx__V1__Envelope out = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__BusError be = PBX__V1__BUS_ERROR__INIT;

	be.code = code;
	be.text = (char *)text;
	out.reply_to = (char *)prov_str(reply_to);
	out.body_case = PBX__V1__ENVELOPE__BODY_ERROR;
	out.error = &be;
	send_reply(bus, peer, &out);
}

void provision_recv(struct pbx_bus *bus, const struct pbx_bus_peer *peer,
		    const Pbx__V1__Envelope *env, int err, void *arg)
{
	struct provision *pv = arg;
	Pbx__V1__Envelope out = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__ProvResponse resp = PBX__V1__PROV_RESPONSE__INIT;
	struct prov_reply r = {.error = NULL}; /* status 0 is STATUS_OK */
	const Pbx__V1__ProvRequest *q;
	const char *tenant;

	if (!peer)
		return; /* only a ROUTER can answer */
	if (err || !env) {
		/* The bus drops a frame over its 16 MiB frame limit the same
		 * way, so say both. */
		reply_error(bus, peer, NULL, -EPROTO,
			    "the request is not a pbx.v1 Envelope, or is "
			    "over the 16 MiB frame limit");
		return;
	}
	if (env->body_case != PBX__V1__ENVELOPE__BODY_PROV_REQUEST ||
	    !env->prov_request) {
		char id[65];

		PLOG_WARN("message %s is not a prov_request (body %d)",
			  log_id(env->message_id, id, sizeof(id)),
			  (int)env->body_case);
		reply_error(bus, peer, env->message_id, -EINVAL,
			    "the provisioning service only answers "
			    "prov_request messages");
		return;
	}
	q = env->prov_request;
	tenant = request_tenant(q);
	pbx_log_ctx(tenant, NULL);

	handle(pv, peer->user, q, &r);
	log_result(op_name(q->op_case), &r);
	pv->n_status[(unsigned)r.status < PROV_STATUSES
			     ? r.status
			     : PBX__V1__PROV_RESPONSE__STATUS__STATUS_INTERNAL]++;

	resp.status = r.status;
	resp.error = (char *)prov_str(r.error);
	resp.n_items = r.items.n;
	resp.items = r.items.v;
	resp.n_warnings = r.warnings.n;
	resp.warnings = r.warnings.v;
	resp.body = (char *)prov_str(r.body);
	resp.data.data = r.data;
	resp.data.len = r.data_len;
	out.reply_to = (char *)prov_str(env->message_id);
	out.tenant_id = (char *)prov_str(tenant);
	out.body_case = PBX__V1__ENVELOPE__BODY_PROV_RESPONSE;
	out.prov_response = &resp;
	send_reply(bus, peer, &out);

	prov_reply_reset(&r);
	pbx_log_ctx(NULL, NULL);
}

int prov_store_members(struct provision *pv, const char *tenant,
		       const char *set, struct prov_strv *out)
{
	char key[PBX_KEY_MAX];

	if (pbx_key(key, sizeof(key), tenant, "%s", set))
		return -EINVAL;
	return prov_store_list(pv, out, "SMEMBERS %s", key);
}

int prov_tenant_members(struct provision *pv, struct prov_reply *r,
			const char *tenant, const char *set,
			struct prov_strv *out)
{
	int err = prov_tenant_known(pv, r, tenant);

	return err ? err : prov_store_members(pv, tenant, set, out);
}
