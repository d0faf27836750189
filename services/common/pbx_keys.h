/* Redis key scheme. Every tenant key is "pbx:{<tenant>}:..." so a Redis
 * Cluster keeps a tenant in one slot; cluster-wide indexes live under the
 * "{sys}" tag. docs/services/<name>.md list the keys each service uses. */
#ifndef PBX_KEYS_H
#define PBX_KEYS_H
#include <stdbool.h>
#include <stddef.h>

#define PBX_KEY_MAX 512
#define PBX_ID_MAX 64

/* A tenant id, extension, prompt or scenario name: 1..64 of [A-Za-z0-9_.-].
 * Numbers: 1..32 of digits with an optional leading '+'. */
bool pbx_id_valid(const char *id);
bool pbx_number_valid(const char *num);
/* A tenant id: a valid id other than the reserved "sys". */
bool pbx_tenant_valid(const char *tenant);

/* Writes "pbx:{tenant}:<suffix>" into buf. Returns 0, -EINVAL for an invalid
 * tenant id, -ENAMETOOLONG if it does not fit. */
int pbx_key(char *buf, size_t size, const char *tenant, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Cluster-wide keys ("pbx:{sys}:..."): tenant set, number and domain
 * indexes, worker registry. */
int pbx_key_sys(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The catalogue: keys named once, here, with their type; the service that
 * owns each documents it (docs/services/<name>.md). Call sites use the
 * name, never the suffix. (Older call sites still pass their suffix to
 * pbx_key(); they move here as they are touched.) */
enum pbx_tkey {
	PBX_K_OBJECTS,     /* hash <kind>:<name> -> JSON (provision) */
	PBX_K_OBJECTS_REV, /* counter, bumped on every object write */
	PBX_K_TENANT,	   /* hash: name, domain, language, timezone,
			    * limits, features (provision writes) */
	PBX_K_PROMPT,	   /* hash per prompt name (pbx_key_sub_of): ulaw,
			    * alaw, ms, bytes, uploaded_ms (provision's
			    * upload; a media worker's greeting from a
			    * phone) */
	PBX_K_PROMPTS,	   /* set: the tenant's prompt names */
	/* queue-manager (docs/services/queue-manager.md "Redis keys"): */
	PBX_K_QM_CALLS,    /* hash call id -> JSON record of a queued call */
	PBX_K_QM_AGENTS,   /* hash agent -> JSON state of an agent */
	PBX_K_QM_WAIT,     /* sorted set (lex) "<queue>:<rank>:<call>" */
	PBX_K_QM_OFFERED,  /* sorted set (lex), the same members, offered */
	PBX_K_QM_TIMERS,   /* sorted set, timer -> due ms */
	PBX_K_QM_STATE,    /* hash: round-robin memory, timer sequence */
	PBX_K_QM_STATS,    /* hash "<queue>:<counter>" -> count */
	/* voicemail (docs/voicemail.md), with a sub-key (pbx_key_sub_of): */
	PBX_K_VM_MSG,	   /* hash per message id: box, caller, called,
			    * time_ms, duration_ms, bytes, status, call_id
			    * (media-worker writes, provision reads) */
	PBX_K_VM_BOX,	   /* sorted set per box name: message id -> time_ms */
	PBX_K_VM_QUOTA,	   /* hash: messages (per box), bytes (the tenant's
			    * total); absent or 0: no limit (provision) */
	PBX_K_VM_BYTES,	   /* counter: bytes of the tenant's stored messages
			    * (media-worker adds, provision subtracts) */
	PBX_K_VM_PINFAIL,  /* counter per box name: wrong PINs typed from
			    * phones in the lock window (TTL); at the limit
			    * the box is locked (media-worker) */
	/* notifier (docs/services/notifier.md): */
	PBX_K_NOTIFY,	   /* hash: webhook_url, webhook_secret (provision
			    * writes, notifier reads) */
	/* conference rooms (docs/services/router.md), per room name: */
	PBX_K_CONF_ROOM,   /* string: the worker that holds the room (TTL) */
	PBX_K_CONF_MEMBERS, /* hash call id -> "<worker> <moderator 0|1>
			     * <muted 0|1> <joined_ms> <caller>" */
	/* fax (docs/fax.md), with a sub-key (pbx_key_sub_of): */
	PBX_K_FAX_MSG,	   /* hash per fax id: box, caller, called, time_ms,
			    * duration_ms, remote_id, pages, resolution,
			    * bit_rate, ecm, transport, result, result_text,
			    * status, files, call_id (media-worker writes,
			    * provision reads and deletes) */
	PBX_K_FAX_BOX,	   /* sorted set per box name: fax id -> time_ms */
	PBX_K_FAX_BYTES,   /* counter per box name: bytes of its files (the
			    * worker adds, provision subtracts on delete;
			    * the box's max_bytes quota) */
	/* crm-connector (docs/services/crm-connector.md), per CRM kind
	 * (bitrix24, amocrm, api) with pbx_key_sub_of: */
	PBX_K_CRM,	   /* hash: the vendor's settings (provision writes),
			    * amoCRM's tokens (the connector refreshes) */
	PBX_K_CRM_MAP,	   /* hash CRM user id -> extension (provision) */
	/* call recording (docs/voicemail.md "Call recording"): */
	PBX_K_REC_MSG,	   /* hash per recording id (pbx_key_sub_of): call_id,
			    * caller, called, extension, time_ms,
			    * duration_ms, bytes (media-worker writes,
			    * provision reads and deletes) */
	PBX_K_REC_LIST,	   /* sorted set per list (pbx_key_sub_of; one list
			    * today: PBX_REC_LIST): recording id -> time_ms */
	PBX_K_REC_BYTES,   /* counter: bytes of the tenant's recordings */
	/* call records (docs/services/router.md "Call records"): */
	PBX_K_CDR,	   /* stream: one entry per ended call, the fields of
			    * pbx_cdr.h (router adds and trims, provision
			    * and notifier read) */
	/* outbound calls of extensions (docs/employees.md "Outbound"): */
	PBX_K_OUTBOUND,	   /* hash: the policy (scenario_outbound.h fields,
			    * ext:<e>:outbound, ext:<e>:caller_id;
			    * provision writes, the router reads) */
	PBX_K_OUT_LEGS,	   /* sorted set call id -> expiry ms: outbound
			    * calls up (router) */
	PBX_K_OUT_CPM,	   /* counter per minute (pbx_key_sub_of, the
			    * minute since the epoch): outbound calls
			    * started (router) */
	/* voice assistant (docs/services/asr-bridge.md "Per-tenant
	 * recogniser"): */
	PBX_K_ASR,	   /* hash: engine (pocketsphinx|vosk), url, language,
			    * secret (provision writes, the router reads for
			    * each Listen) */
	/* call pickup (docs/employees.md "Pickup"; router writes, reads
	 * and deletes; TTL as a safety net): */
	PBX_K_PICKUP_RING, /* sorted set call id -> ms its extension leg
			    * started ringing: the tenant's ringing
			    * extensions, oldest first */
	PBX_K_PICKUP_INFO, /* hash call id -> "<group|*> <ext> <worker>" of
			    * that ring ("*": the extension has no pickup
			    * group: only a directed pickup takes it) */
	/* string per extension (pbx_key_sub_of), 4 h TTL: the worker of
	 * that extension's latest call (it made it, or was rung from it);
	 * its next call goes there when it can, so an attended transfer
	 * finds both calls on one worker (docs/employees.md; router) */
	PBX_K_EXT_WORKER,
	PBX_K_COUNT
};
enum pbx_skey {
	PBX_KS_QM_DUE,     /* sorted set tenant -> its earliest timer (ms) */
	PBX_KS_QM_DUESEQ,  /* hash tenant -> timer sequence of that entry */
	PBX_KS_QM_TENANTS, /* set of tenants that ever used a queue */
	/* notifier (docs/services/notifier.md): */
	PBX_KS_NOTIFY_JOBS,   /* stream of notification jobs (kind, tenant,
			       * ...; media-worker adds, notifier consumes
			       * in group "notifier") */
	PBX_KS_NOTIFY_DEAD,   /* stream: jobs given up, with the last error */
	PBX_KS_NOTIFY_ERRORS, /* hash job id -> its last error, while it is
			       * retried */
	/* list per worker id (pbx_key_sys_sub_of): "<tenant> <call-id>
	 * mute|unmute|kick" from provision, popped by that media worker */
	PBX_KS_CONF_CTL,
	/* string per one-time token (pbx_key_sys_sub_of), 30 s TTL: "<tenant>
	 * <room> <moderator 0|1> <caller> <call-id>", a cascade leg's right
	 * to join a room on another worker (router writes, reads and
	 * deletes) */
	PBX_KS_CONF_CASCADE,
	/* media workers (docs/services/router.md, docs/operations.md): */
	PBX_KS_WORKERS,	      /* hash worker id -> "<seen_ms> <load>
			       * <capacity> <draining> <sip-uri> [<rtp_ip>
			       * <rtp_min>-<rtp_max> <exit 0|1>]" (routers
			       * write each heartbeat) */
	PBX_KS_WORKER_DRAIN,  /* hash worker id -> "wait" | "exit": drained
			       * by an operator (provision writes; routers
			       * and that worker read) */
	PBX_KS_RTP_LEASES,    /* hash worker id -> "<rtp_min> <rtp_max>
			       * <expires_ms>": RTP ranges of the live
			       * workers (pbx_rtp_lease.h; workers claim and
			       * renew, provision reads) */
	/* carrier trunks (docs/trunks.md "Per-tenant trunks"): */
	PBX_KS_TENANT_TRUNKS, /* hash tenant -> "<trunk>[,<trunk>]...": the
			       * trunks its outbound legs take, in order
			       * (provision writes, Kamailio's BLEG_TRUNK
			       * reads; absent: the default trunk) */
	PBX_KS_COUNT
};

/* The sub-key of the tenant's list of call recordings (PBX_K_REC_LIST). */
#define PBX_REC_LIST "calls"

/* "pbx:{tenant}:<name of k>"; 0, -EINVAL (bad tenant or k),
 * -ENAMETOOLONG. */
int pbx_key_of(char *buf, size_t size, const char *tenant, enum pbx_tkey k);
/* "pbx:{tenant}:<name of k>:<sub>" for the keys that come one per sub
 * (an id: pbx_id_valid); 0, -EINVAL, -ENAMETOOLONG. */
int pbx_key_sub_of(char *buf, size_t size, const char *tenant,
		   enum pbx_tkey k, const char *sub);
/* "pbx:{sys}:<name of k>"; 0, -EINVAL, -ENAMETOOLONG. */
int pbx_key_sys_of(char *buf, size_t size, enum pbx_skey k);
/* "pbx:{sys}:<name of k>:<sub>" (sub an id); 0, -EINVAL, -ENAMETOOLONG. */
int pbx_key_sys_sub_of(char *buf, size_t size, enum pbx_skey k,
		       const char *sub);

#endif
