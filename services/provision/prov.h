/* Inside the provisioning service: the service object, the reply under
 * construction, the Redis helpers and one handler per operation. Only the
 * files of services/provision include this; main.c uses provision.h. */
#ifndef PROV_H
#define PROV_H
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "pbx/v1/envelope.pb-c.h"
#include "pbx_keys.h"
#include "pbx_media_store.h"
#include "pbx_redis.h"
#include "provision.h"

/* ProvResponse statuses OK .. PERMISSION_DENIED. */
#define PROV_STATUSES 7

/* The service. Owned by main(); owns its Redis connection. */
struct provision {
	char redis_host[256];
	int redis_port;
	struct pbx_redis_cred cred; /* AUTH on every (re)connect */
	redisContext *rc; /* NULL while down: the next command reconnects */
	char at[300];     /* rc's host:port, for the log */
	char media_root[1024]; /* the media store (pbx_media_store.h) */
	/* Writes are acknowledged once this many replicas have them (WAIT,
	 * docs/operations.md "Acknowledged writes"); 0: at once. */
	int wait_replicas;
	int wait_timeout_ms;
	/* The routers' worker_ttl_ms: `worker list` calls a worker whose
	 * heartbeat is older "silent" (prov_worker.c). */
	long worker_ttl_ms;
	bool wrote;       /* a write command ran since the last WAIT */
	bool migrated;    /* prov_migrate.c ran to the end */
	bool migrating;
	/* Requests answered, by ProvResponse status (prov_metrics.c). */
	unsigned long n_status[PROV_STATUSES];
};

/* A growable list of malloc'd strings, owned by its struct. */
struct prov_strv {
	char **v;
	size_t n, cap;
};

/* The answer to one request, filled by the handler; owned by the
 * dispatcher's stack frame and released with prov_reply_reset(). */
struct prov_reply {
	Pbx__V1__ProvResponse__Status status;
	char *error; /* set with status by prov_fail() */
	struct prov_strv items;
	struct prov_strv warnings;
	char *body;
	uint8_t *data; /* malloc'd binary result (vm get) */
	size_t data_len;
};

/* Protobuf-c gives "" for absent strings; treat a NULL the same anyway. */
static inline const char *prov_str(const char *s)
{
	return s ? s : "";
}

int prov_strv_add(struct prov_strv *sv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void prov_strv_sort(struct prov_strv *sv);
void prov_strv_reset(struct prov_strv *sv);

/* Marks the request refused: the status follows err (-EINVAL INVALID,
 * -ENOENT NOT_FOUND, -EEXIST CONFLICT, -EFBIG TOO_LARGE, anything else
 * INTERNAL) and the message is one plain sentence. Returns err so a
 * handler can `return prov_fail(...)`. */
int prov_fail(struct prov_reply *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void prov_reply_reset(struct prov_reply *r);

/* prov_auth.c: 0 when the key named user may run q, else the reply is
 * refused PERMISSION_DENIED (-EACCES). user "" (no CURVE) may do all. */
int prov_auth_check(const char *user, const Pbx__V1__ProvRequest *q,
		    struct prov_reply *r);
/* The tenant a key named tenant-<t> is limited to, or NULL (operator). */
const char *prov_auth_tenant_scope(const char *user);
/* The raw tenant field of q's operation, or NULL when it has none. */
const char *prov_request_tenant_field(const Pbx__V1__ProvRequest *q);
/* A delete of something that is not there: OK with the item "ok
 * (already absent)", so a repeated delete succeeds (every write is safe
 * to repeat) and still says it did nothing. Returns 0. */
int prov_already_absent(struct prov_reply *r);

/* Field checks: 0, or -EINVAL with a sentence naming the field. */
int prov_check_tenant(struct prov_reply *r, const char *tenant);
int prov_check_id(struct prov_reply *r, const char *field, const char *id);
int prov_check_number(struct prov_reply *r, const char *number);
/* 0 when the tenant is in pbx:{sys}:tenants; -ENOENT (reply set) when not,
 * -EIO when Redis is down. Checks the id first. */
int prov_tenant_known(struct provision *pv, struct prov_reply *r,
		      const char *tenant);
/* The members of the tenant's set pbx:{<tenant>}:<set> into out (the
 * caller resets it). prov_tenant_members checks the tenant exists first
 * (NOT_FOUND reply), prov_store_members does not. */
int prov_store_members(struct provision *pv, const char *tenant,
		       const char *set, struct prov_strv *out);
int prov_tenant_members(struct provision *pv, struct prov_reply *r,
			const char *tenant, const char *set,
			struct prov_strv *out);

/* Redis (prov_store.c). Each runs one command on the blocking connection,
 * connecting first if needed. They return -EIO when Redis is unreachable
 * or answers with an error; the connection is then dropped so the next
 * command reconnects. The dispatcher turns a bare -EIO into INTERNAL
 * "storage unavailable". */
int prov_store_connect(struct provision *pv);
/* After a request that wrote: 0 once wait_replicas replicas have every
 * write of this connection (or at once when none is asked or nothing was
 * written), else -EAGAIN (logged): the write is on the primary only and
 * may be lost with it. */
int prov_store_wait(struct provision *pv);
int prov_store_cmd(struct provision *pv, redisReply **rp, const char *fmt,
		   ...);
int prov_store_vcmd(struct provision *pv, redisReply **rp, const char *fmt,
		    va_list ap);
int prov_store_argv(struct provision *pv, redisReply **rp, int argc,
		    const char **argv, const size_t *argvlen);
/* Any reply; the value is not needed. */
int prov_store_do(struct provision *pv, const char *fmt, ...);
/* An integer reply (nil reads as 0). */
int prov_store_int(struct provision *pv, long long *v, const char *fmt, ...);
/* A bulk string reply, malloc'd into *sp; *sp = NULL for nil. */
int prov_store_str(struct provision *pv, char **sp, const char *fmt, ...);
/* A multi-bulk reply of strings appended to sv, sorted. */
/* Walks the keys matching `match` with SCAN, `batch` at a time, and
 * calls h with each non-empty batch (an array reply of key names); stops
 * at the first error h returns. */
typedef int(prov_scan_h)(struct provision *pv, const redisReply *keys,
			 void *arg);
int prov_store_scan(struct provision *pv, const char *match, int batch,
		    prov_scan_h *h, void *arg);
int prov_store_list(struct provision *pv, struct prov_strv *sv,
		    const char *fmt, ...);
/* SET key value NX: *set tells whether this call created it. */
int prov_store_set_nx(struct provision *pv, const char *key,
		      const char *value, bool *set);
/* Deletes key only while it still holds value (one atomic script). */
int prov_store_del_if(struct provision *pv, const char *key,
		      const char *value);

/* Operation handlers: 0, or a negative errno with the reply refused. */
int prov_tenant_create(struct provision *pv,
		       const Pbx__V1__ProvRequest__TenantCreate *q,
		       struct prov_reply *r);
int prov_tenant_list(struct provision *pv, struct prov_reply *r);
int prov_tenant_delete(struct provision *pv,
		       const Pbx__V1__ProvRequest__TenantRef *q,
		       struct prov_reply *r);

int prov_number_connect(struct provision *pv,
			const Pbx__V1__ProvRequest__Number *q,
			struct prov_reply *r);
int prov_number_disconnect(struct provision *pv,
			   const Pbx__V1__ProvRequest__Number *q,
			   struct prov_reply *r);
int prov_number_list(struct provision *pv,
		     const Pbx__V1__ProvRequest__TenantRef *q,
		     struct prov_reply *r);
/* True when pbx:{sys}:did:<number> names tenant (-EIO on storage error). */
int prov_number_owned(struct provision *pv, const char *tenant,
		      const char *number, bool *owned);

/* prov_box.c: stored media reached through a tenant's box (voicemail
 * messages, faxes): the box's sorted set lists the ids, a hash per id
 * holds the metadata, the media store the files. */
struct prov_box_ref;
struct prov_box_keys;
struct prov_box_kind {
	enum pbx_tkey box_key;	/* sorted set per box: id -> time_ms */
	enum pbx_tkey item_key; /* hash per id */
	const char *box_noun;	/* "voicemail box", in errors */
	const char *item_noun;	/* "message" */
	const enum pbx_media_kind *media; /* its files, removed on delete */
	size_t nmedia;
	/* Optional: once an item to delete is found, before it goes (its
	 * bytes out of a quota); an error stops the delete. */
	int (*before_delete)(struct provision *pv,
			     const struct prov_box_ref *ref,
			     const struct prov_box_keys *k);
	/* Optional: after an item was deleted (MWI counts). */
	void (*changed)(struct provision *pv, const struct prov_box_ref *ref);
};
/* What a request names: tenant, box, id (NULL or "" when not needed). */
struct prov_box_ref {
	const char *tenant, *box, *id;
};
struct prov_box_keys {
	char box[PBX_KEY_MAX];
	char item[PBX_KEY_MAX];
};
/* Checks tenant, box (and id when need_id), and that the tenant exists;
 * fills the keys. */
int prov_box_args(struct provision *pv, const struct prov_box_kind *kind,
		  const struct prov_box_ref *ref, struct prov_reply *r,
		  bool need_id, struct prov_box_keys *k);
/* 0 when the id is in the box; -ENOENT (reply set unless quiet) when not. */
int prov_box_has(struct provision *pv, const struct prov_box_kind *kind,
		 const struct prov_box_keys *k, const struct prov_box_ref *ref,
		 struct prov_reply *r, bool quiet);
/* prov_box_args with the id, then prov_box_has. */
int prov_box_find(struct provision *pv, const struct prov_box_kind *kind,
		  const struct prov_box_ref *ref, struct prov_reply *r,
		  struct prov_box_keys *k);
/* A field of an HGETALL reply, "" when absent. */
const char *prov_box_field(const redisReply *h, const char *name);
/* Unix ms as "YYYY-MM-DDTHH:MM:SSZ". */
void prov_box_when(char *buf, size_t size, const char *time_ms);
/* One list line for item id from its hash. */
typedef int(prov_box_line_h)(struct prov_reply *r, const char *id,
			     const redisReply *h);
/* Every item of the box, oldest first, one line each. */
int prov_box_list(struct provision *pv, const struct prov_box_kind *kind,
		  const struct prov_box_ref *ref, struct prov_reply *r,
		  prov_box_line_h *lineh);
/* An item's file of kind media into r->data (at most max bytes). */
int prov_box_read(struct provision *pv, const struct prov_box_kind *kind,
		  const struct prov_box_ref *ref, enum pbx_media_kind media,
		  size_t max, struct prov_reply *r);
/* Drops the item's references, then its files; absent: already absent. */
int prov_box_delete(struct provision *pv, const struct prov_box_kind *kind,
		    const struct prov_box_ref *ref, struct prov_reply *r);

/* prov_rec.c: call recordings (tenant-scoped, ids only). */
int prov_rec_list(struct provision *pv,
		  const Pbx__V1__ProvRequest__Recording *q,
		  struct prov_reply *r);
int prov_rec_get(struct provision *pv,
		 const Pbx__V1__ProvRequest__Recording *q,
		 struct prov_reply *r);
int prov_rec_delete(struct provision *pv,
		    const Pbx__V1__ProvRequest__Recording *q,
		    struct prov_reply *r);

/* prov_vm.c: voicemail messages. */
/* The tenant's voicemail quota and usage (prov_vm.c). */
int prov_vm_quota(struct provision *pv,
		  const Pbx__V1__ProvRequest__VmQuota *q,
		  struct prov_reply *r);
/* prov_notify.c: the tenant's webhook (docs/services/notifier.md).
 * prov_url_ok: http(s)://host..., at most max characters of printable
 * ASCII without spaces, quotes or angle brackets (a tenant's URL goes into
 * an HTTP request line as it is; the CRM's too). */
bool prov_url_ok(const char *u, size_t max);
int prov_notify_set(struct provision *pv,
		    const Pbx__V1__ProvRequest__NotifyWebhook *q,
		    struct prov_reply *r);
int prov_notify_get(struct provision *pv,
		    const Pbx__V1__ProvRequest__TenantRef *q,
		    struct prov_reply *r);

/* prov_cdr.c: call records (docs/pbxctl.md "cdr"). */
int prov_cdr_list(struct provision *pv, const Pbx__V1__CdrQuery *q,
		  struct prov_reply *r);
int prov_cdr_show(struct provision *pv, const Pbx__V1__CdrQuery *q,
		  struct prov_reply *r);
int prov_cdr_webhook(struct provision *pv, const Pbx__V1__CdrWebhook *q,
		     struct prov_reply *r);
/* prov_crm.c: the tenant's CRM settings and user -> extension mapping
 * (docs/services/crm-connector.md). */
int prov_crm_set(struct provision *pv, const Pbx__V1__ProvRequest__CrmSet *q,
		 struct prov_reply *r);
int prov_crm_show(struct provision *pv, const Pbx__V1__ProvRequest__CrmRef *q,
		  struct prov_reply *r);
int prov_crm_map(struct provision *pv, const Pbx__V1__ProvRequest__CrmMap *q,
		 struct prov_reply *r);
int prov_vm_list(struct provision *pv,
		 const Pbx__V1__ProvRequest__Voicemail *q,
		 struct prov_reply *r);
int prov_vm_get(struct provision *pv, const Pbx__V1__ProvRequest__Voicemail *q,
		struct prov_reply *r);
int prov_vm_heard(struct provision *pv,
		  const Pbx__V1__ProvRequest__Voicemail *q,
		  struct prov_reply *r);
int prov_vm_delete(struct provision *pv,
		   const Pbx__V1__ProvRequest__Voicemail *q,
		   struct prov_reply *r);
/* Clears the box's wrong-PIN count: a box locked against phones opens
 * again (pbxctl vm unlock). */
int prov_vm_unlock(struct provision *pv,
		   const Pbx__V1__ProvRequest__Voicemail *q,
		   struct prov_reply *r);

/* prov_conf.c: conference rooms, their members, mute / unmute / kick. */
int prov_conf_list(struct provision *pv,
		   const Pbx__V1__ProvRequest__Conference *q,
		   struct prov_reply *r);
int prov_conf_members(struct provision *pv,
		      const Pbx__V1__ProvRequest__Conference *q,
		      struct prov_reply *r);
int prov_conf_mute(struct provision *pv,
		   const Pbx__V1__ProvRequest__Conference *q,
		   struct prov_reply *r);
int prov_conf_unmute(struct provision *pv,
		     const Pbx__V1__ProvRequest__Conference *q,
		     struct prov_reply *r);
/* prov_worker.c: media workers (operator keys only). */
int prov_worker_list(struct provision *pv, struct prov_reply *r);
int prov_worker_drain(struct provision *pv,
		      const Pbx__V1__ProvRequest__Worker *q,
		      struct prov_reply *r);
int prov_worker_undrain(struct provision *pv,
			const Pbx__V1__ProvRequest__Worker *q,
			struct prov_reply *r);
int prov_conf_kick(struct provision *pv,
		   const Pbx__V1__ProvRequest__Conference *q,
		   struct prov_reply *r);
/* prov_fax.c: received faxes. */
int prov_fax_list(struct provision *pv, const Pbx__V1__ProvRequest__Fax *q,
		  struct prov_reply *r);
int prov_fax_get(struct provision *pv, const Pbx__V1__ProvRequest__Fax *q,
		 struct prov_reply *r);
int prov_fax_delete(struct provision *pv, const Pbx__V1__ProvRequest__Fax *q,
		    struct prov_reply *r);

int prov_extension_add(struct provision *pv,
		       const Pbx__V1__ProvRequest__ExtensionAdd *q,
		       struct prov_reply *r);
int prov_extension_remove(struct provision *pv,
			  const Pbx__V1__ProvRequest__ExtensionRef *q,
			  struct prov_reply *r);
int prov_extension_list(struct provision *pv,
			const Pbx__V1__ProvRequest__TenantRef *q,
			struct prov_reply *r);
/* The SIP digest HA1, MD5("user:realm:password") in lower-case hex (33
 * bytes with the NUL). */
int prov_extension_ha1(char out[33], const char *user, const char *realm,
		       const char *password);

int prov_prompt_upload(struct provision *pv,
		       const Pbx__V1__ProvRequest__PromptUpload *q,
		       struct prov_reply *r);
int prov_prompt_list(struct provision *pv,
		     const Pbx__V1__ProvRequest__TenantRef *q,
		     struct prov_reply *r);
int prov_prompt_delete(struct provision *pv,
		       const Pbx__V1__ProvRequest__PromptRef *q,
		       struct prov_reply *r);

/* Lint (prov_lint.c): parses json with every reference it makes resolved
 * against this tenant's prompts, extensions, objects and features. 0 with
 * any warnings appended to r->warnings; -EINVAL with every problem in r's
 * error; -EIO when storage failed (no lint verdict then). */
int prov_lint(struct provision *pv, const char *tenant, const char *json,
	      struct prov_reply *r);
/* Before a version is made to run (activate, rollback): 0 when every
 * prompt, extension and object that scenario name v<version> names exists
 * in the tenant now (also when the version does not exist: the caller
 * reports that); else CONFLICT "scenario S vN uses what no longer exists
 * (node X: prompt P, ...); put a version without it". Features are not
 * judged: a feature switched off only warns. */
int prov_lint_runnable(struct provision *pv, const char *tenant,
		       const char *name, long long version,
		       struct prov_reply *r);
/* Appends each line of a scenario_report's text to r->warnings, without
 * the report's "warning: " prefix: pbxctl prints its own. */
int prov_lint_warnings(struct prov_reply *r, const char *text);

/* Scenarios (prov_scenario.c). Every put creates an immutable version
 * pbx:{t}:scenario:<name>:v<N>; the head hash holds `latest`. */
int prov_scenario_put(struct provision *pv,
		      const Pbx__V1__ProvRequest__ScenarioPut *q,
		      struct prov_reply *r);
int prov_scenario_get(struct provision *pv,
		      const Pbx__V1__ProvRequest__ScenarioRef *q,
		      struct prov_reply *r);
int prov_scenario_list(struct provision *pv,
		       const Pbx__V1__ProvRequest__TenantRef *q,
		       struct prov_reply *r);
int prov_scenario_history(struct provision *pv,
			  const Pbx__V1__ProvRequest__ScenarioHistory *q,
			  struct prov_reply *r);
int prov_scenario_diff(struct provision *pv,
		       const Pbx__V1__ProvRequest__ScenarioDiff *q,
		       struct prov_reply *r);
/* Lints and stores a document for a known tenant (shared by scenario_put
 * and number_connect's default scenario). *version (may be NULL) gets the
 * version now holding the document, *created whether this call made it. */
int prov_scenario_store(struct provision *pv, const char *tenant,
			const char *name, const char *json, const char *note,
			struct prov_reply *r, long long *version,
			bool *created);
/* The latest version of a scenario, 0 when it does not exist. */
int prov_scenario_latest(struct provision *pv, const char *tenant,
			 const char *name, long long *latest);
/* The document of one version, malloc'd into *jsonp (NULL: no such
 * version). */
int prov_scenario_load(struct provision *pv, const char *tenant,
		       const char *name, long long version, char **jsonp);
/* Creates the tenant's "default" scenario unless it exists; *version
 * gets its latest version. */
int prov_scenario_ensure_default(struct provision *pv, const char *tenant,
				 struct prov_reply *r, long long *version);

/* The active pair of a number and its scheduled successor, as the router
 * sees it at now_ms (prov_number.c). Strings are "" when unset. */
struct prov_pair {
	char scenario[PBX_ID_MAX + 1];
	long long version;
	char pending_scenario[PBX_ID_MAX + 1];
	long long pending_version;
	unsigned long long pending_at_ms;
	char prev_scenario[PBX_ID_MAX + 1];
	long long prev_version;
};
/* Reads pbx:{t}:number:<n>; -ENOENT when the hash does not exist. A
 * pending pair that is due (now_ms >= pending_at_ms) is returned as the
 * active one, exactly as the router resolves it. */
int prov_number_pair(struct provision *pv, const char *tenant,
		     const char *number, unsigned long long now_ms,
		     struct prov_pair *p);
/* Activation: one Lua script each, so a number always points at exactly
 * one existing version whatever runs concurrently. */
int prov_number_activate(struct provision *pv,
			 const Pbx__V1__ProvRequest__ScenarioActivate *q,
			 struct prov_reply *r);
int prov_number_rollback(struct provision *pv,
			 const Pbx__V1__ProvRequest__ScenarioRollback *q,
			 struct prov_reply *r);
/* Checks tenant, number and that the number is the tenant's: 0, or the
 * reply refused. */
int prov_number_check_owned(struct provision *pv, struct prov_reply *r,
			    const char *tenant, const char *number);

/* Dry run (prov_simulate.c): walks the version the number runs at the
 * simulated time (active, or scheduled once due) with the scenario
 * library's simulator; the path is the reply's body. */
int prov_simulate(struct provision *pv,
		  const Pbx__V1__ProvRequest__ScenarioSimulate *q,
		  struct prov_reply *r);

/* Tenant objects (prov_object.c): pbx:{t}:objects field <kind>:<name>. */
int prov_object_put(struct provision *pv,
		    const Pbx__V1__ProvRequest__ObjectPut *q,
		    struct prov_reply *r);
int prov_object_get(struct provision *pv,
		    const Pbx__V1__ProvRequest__ObjectRef *q,
		    struct prov_reply *r);
int prov_object_list(struct provision *pv,
		     const Pbx__V1__ProvRequest__ObjectRef *q,
		     struct prov_reply *r);
int prov_object_delete(struct provision *pv,
		       const Pbx__V1__ProvRequest__ObjectRef *q,
		       struct prov_reply *r);
/* Every stored object of the tenant compiled into a new set (*objsp, free
 * with scenario_objects_free). A stored object the library refuses today
 * is left out and logged, not fatal: lint then reports it as missing. */
struct scenario_objects;
int prov_object_load(struct provision *pv, const char *tenant,
		     struct scenario_objects **objsp);
/* Appends to users one line per scenario version that references (kind,
 * name): "scenario S vN (node X)" for the latest version of every
 * scenario, "scenario S vN (active on <n>)" / "(scheduled on <n>)" for the
 * versions numbers run. kind is an int to keep scenario.h out of here:
 * an enum scenario_ref. */
int prov_object_users(struct provision *pv, const char *tenant, int kind,
		      const char *name, struct prov_strv *users);
/* Refuses the deletion of something scenarios still use: 0 when no
 * scenario version prov_object_users judges uses (kind, name), else
 * CONFLICT "<kind> <name> is used by scenario S vN (node X), ...; change
 * those scenarios first" (the first few users named). kind is an enum
 * scenario_ref: objects, prompts and extensions share the rule. */
int prov_object_refuse_used(struct provision *pv, struct prov_reply *r,
			    const char *tenant, int kind, const char *name);
/* Stores an object unless one of that kind and name exists (built-in
 * objects the default scenario needs); the document is trusted. */
int prov_object_ensure(struct provision *pv, const char *tenant,
		       const char *kind, const char *name, const char *json);

/* Optional tenant features (prov_feature.c): pbx:{t}:tenant
 * feature_<name> = 1 / 0. */
int prov_feature_set(struct provision *pv,
		     const Pbx__V1__ProvRequest__TenantFeature *q,
		     struct prov_reply *r);
/* prov_tenant.c: the tenant's language (pbx:{t}:tenant language): the
 * system sound set of its callers' announcements; "" shows it. */
int prov_tenant_language(struct provision *pv,
			 const Pbx__V1__ProvRequest__TenantLanguage *q,
			 struct prov_reply *r);
/* prov_tenant.c: the tenant's time zone (pbx:{t}:tenant timezone): the
 * local time voicemail announces; "" shows it. */
int prov_tenant_timezone(struct provision *pv,
			 const Pbx__V1__ProvRequest__TenantTimezone *q,
			 struct prov_reply *r);
/* prov_outbound.c: the outbound policy of a tenant and of its
 * extensions (scenario_outbound.h); forget: an extension removed. */
int prov_outbound_set(struct provision *pv,
		      const Pbx__V1__ProvRequest__OutboundSet *q,
		      struct prov_reply *r);
int prov_extension_set(struct provision *pv,
		       const Pbx__V1__ProvRequest__ExtensionSet *q,
		       struct prov_reply *r);
int prov_outbound_forget(struct provision *pv, const char *tenant,
			 const char *ext);
/* prov_asr.c: the tenant's voice-assistant recogniser (pbx:{t}:asr). */
int prov_asr_set(struct provision *pv,
		 const Pbx__V1__ProvRequest__AsrSet *q, struct prov_reply *r);

/* prov_limits.c: per-tenant limits (pbx_limits.h). */
int prov_limits_set(struct provision *pv,
		    const Pbx__V1__ProvRequest__TenantLimits *q,
		    struct prov_reply *r);
/* prov_queue.c: queue agents' state and queue statistics, through the
 * queue-manager's script (docs/services/queue-manager.md). */
int prov_queue_agent(struct provision *pv,
		     const Pbx__V1__ProvRequest__QueueAgent *q,
		     struct prov_reply *r);
int prov_queue_stats(struct provision *pv,
		     const Pbx__V1__ProvRequest__QueueStats *q,
		     struct prov_reply *r);
/* *on tells whether the tenant enabled feature (unset reads as off). */
int prov_feature_enabled(struct provision *pv, const char *tenant,
			 const char *feature, bool *on);

/* Operator trunks (prov_trunk.c): pbx:{sys}:trunk* keys. */
int prov_trunk_add(struct provision *pv,
		   const Pbx__V1__ProvRequest__TrunkAdd *q,
		   struct prov_reply *r);
int prov_trunk_remove(struct provision *pv,
		      const Pbx__V1__ProvRequest__TrunkRef *q,
		      struct prov_reply *r);
int prov_trunk_list(struct provision *pv, struct prov_reply *r);
/* A tenant's ordered trunk list (PBX_KS_TENANT_TRUNKS): set, clear or
 * show; only existing trunks, 1..PROV_TRUNKS_MAX without repeats. */
#define PROV_TRUNKS_MAX 4
int prov_trunk_assign(struct provision *pv,
		      const Pbx__V1__ProvRequest__TrunkAssign *q,
		      struct prov_reply *r);

/* "2026-11-27T02:30:00Z" for Unix ms (buf of at least 32 bytes). */
const char *prov_time_iso(char *buf, size_t size, unsigned long long ms);

/* prov_migrate.c: moves numbers stored in another form to the
 * canonical one (scenario_number_canon). Idempotent. */
int prov_migrate_numbers(struct provision *pv);

#endif
