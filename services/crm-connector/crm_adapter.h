/* CRM adapters: what one vendor's API is asked and how its answers read,
 * as pure functions (no I/O, no clock: the caller passes the time), so the
 * request each one builds and every answer shape it parses are tested in
 * process. One table (crm_adapters) lists the vendors; the connector's
 * lookup and call-log chains run whichever the scenario node names. */
#ifndef CRM_ADAPTER_H
#define CRM_ADAPTER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRM_URL_MAX 1024
#define CRM_TOKEN_MAX 2048
#define CRM_HDR_MAX 4
#define CRM_ID_MAX 65

/* A tenant's settings of one CRM (hash pbx:{<t>}:crm:<kind>), as read.
 * Fields a vendor does not use stay "". Secrets (secret, client_secret,
 * access_token, refresh_token) never reach a log line. */
struct crm_settings {
	char url[CRM_URL_MAX];	/* bitrix24: incoming webhook
				 * (https://<portal>/rest/<user>/<code>/);
				 * amocrm: account base URL
				 * (https://<sub>.amocrm.ru); api: the URL */
	char portal_url[CRM_URL_MAX]; /* bitrix24 OAuth application: the
				       * portal's REST endpoint
				       * (https://<portal>/rest/) */
	char oauth_url[CRM_URL_MAX];  /* bitrix24 OAuth server ("":
				       * https://oauth.bitrix.info) */
	char secret[256];	/* api: HMAC key */
	char client_id[128];	/* amocrm, bitrix24 application: OAuth 2 */
	char client_secret[256];
	char redirect_uri[CRM_URL_MAX];
	char access_token[CRM_TOKEN_MAX];
	char refresh_token[CRM_TOKEN_MAX];
	int64_t expires_at;	/* amocrm: access token expiry, Unix s */
	long cache_ttl_s;	/* answers kept this long (0: none) */
	enum crm_log_mode {	/* amocrm: what a finished call leaves */
		CRM_LOG_EVENTS = 0, /* a call event (/api/v4/calls) */
		CRM_LOG_NOTES,	    /* a call note on the contact */
		CRM_LOG_BOTH,
	} log_mode;
};

/* One HTTP request to build. body is malloc'ed (NULL: GET). */
struct crm_req {
	char url[CRM_URL_MAX + 256];
	char *body;
	char hdr[CRM_HDR_MAX][CRM_TOKEN_MAX + 64];
	size_t nhdr;
};

void crm_req_clear(struct crm_req *r);

enum crm_verdict {
	CRM_V_ERROR = 0, /* failed: detail says why */
	CRM_V_OWNER,	 /* user (CRM user id) and/or ext are set */
	CRM_V_NOT_FOUND,
	CRM_V_AUTH,	 /* the token was refused: refresh, then retry */
};

/* What an answer said. */
struct crm_answer {
	enum crm_verdict v;
	char user[CRM_ID_MAX]; /* the responsible CRM user's id */
	char ext[CRM_ID_MAX];  /* an extension the answer names itself
				* (Bitrix24's inner phone, the API's
				* "extension"); the mapping table wins */
	char number[20];       /* an owner phone number the answer names
				* (the API's "number"): canonical digits,
				* rung when no extension is known */
	char name[128];	       /* the client's name, if any */
	char detail[160];      /* ERROR: the cause (no secrets) */
	char call_ref[128];    /* call log: the CRM's id of the call */
};

/* What a lookup asks. */
struct crm_query {
	const char *tenant;
	const char *call_id;
	const char *caller; /* normalised digits */
	const char *called;
	uint64_t now_s;	    /* Unix s (signatures) */
};

/* A finished call, to log. */
struct crm_call {
	const char *tenant;
	const char *call_id;
	const char *caller;
	const char *called;
	const char *ext;  /* the owner rung, "" none */
	const char *user; /* the owner's CRM user id, "" unknown */
	const char *number; /* the owner number rung, "" none */
	bool answered;
	uint64_t started_ms;
	uint32_t duration_s;
	uint64_t now_s;
};

/* One setting a vendor takes over the RPC. */
struct crm_field {
	const char *name;
	bool secret;   /* write-only: shown as "(set)" */
	bool required; /* crm set refuses the vendor without it */
	bool url;      /* an http(s) URL */
	const char *const *choices; /* NULL, or the values allowed */
};

struct crm_adapter {
	const char *name; /* bitrix24 | amocrm | api */
	const struct crm_field *fields;
	size_t nfields;
	/* OAuth 2 (NULL: none): whether s uses it (tokens refreshed before
	 * expiry and when refused), and the refresh request (0, -EINVAL:
	 * settings incomplete). Its answer: crm_token_parse. */
	bool (*oauth)(const struct crm_settings *s);
	int (*refresh_build)(const struct crm_settings *s, struct crm_req *r);
	/* The lookup request for q. 0 or -EINVAL (settings incomplete),
	 * -ENOMEM. */
	int (*lookup_build)(const struct crm_settings *s,
			    const struct crm_query *q, struct crm_req *r);
	/* Reads an answer: HTTP status and body (may be NULL). */
	void (*lookup_parse)(long status, const char *body, size_t len,
			     struct crm_answer *a);
	/* Call log, in steps (step 0, 1, ...; prev: the previous step's
	 * answer). 0: the request is built; 1: no further step; <0 error. */
	int (*log_build)(const struct crm_settings *s, const struct crm_call *c,
			 unsigned step, const struct crm_answer *prev,
			 struct crm_req *r);
	void (*log_parse)(const struct crm_settings *s, unsigned step,
			  long status, const char *body, size_t len,
			  struct crm_answer *a);
};

/* The vendor named name, or NULL. */
const struct crm_adapter *crm_adapter_find(const char *name);
/* Every vendor, for tools: n set to their count. */
const struct crm_adapter *const *crm_adapter_all(size_t *n);
/* The setting name of an adapter, or NULL. */
const struct crm_field *crm_adapter_field(const struct crm_adapter *a,
					  const char *name);

/* Shared helpers of the adapters (crm_adapter.c). */
int crm_req_header(struct crm_req *r, const char *fmt, const char *v);
/* An error answer from an HTTP status and an optional vendor error text. */
void crm_answer_error(struct crm_answer *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Copies a JSON string or integer into dst ("" otherwise). */
struct json_t;
void crm_json_id(char *dst, size_t size, struct json_t *v);
/* "2026-12-07T15:04:05+00:00" of Unix ms. */
void crm_iso_time(char *buf, size_t size, uint64_t ms);

/* amoCRM's call_log values, in crm_log_mode order, NULL-terminated. */
extern const char *const crm_log_modes[];

/* The vendors (crm_bitrix.c, crm_amo.c, crm_api.c). */
extern const struct crm_adapter crm_bitrix24;
extern const struct crm_adapter crm_amocrm;
extern const struct crm_adapter crm_api;

/* An OAuth 2 token answer (amoCRM's and Bitrix24's share the shape:
 * access_token, refresh_token, expires_in): the new tokens into s, expiry
 * now_s + expires_in. 0, or -EACCES (refused: the refresh token is spent
 * or revoked, the application's secret is wrong), -EPROTO (not the
 * documented shape). why: "<vendor>: token refresh ..." (no secrets). */
int crm_token_parse(const char *vendor, long status, const char *body,
		    size_t len, uint64_t now_s, struct crm_settings *s,
		    char *why, size_t whysize);
/* True when the access token expires within margin_s of now_s. */
bool crm_token_due(const struct crm_settings *s, uint64_t now_s,
		   long margin_s);
/* True for an adapter and settings that use OAuth 2. */
bool crm_oauth(const struct crm_adapter *a, const struct crm_settings *s);
/* Appends "<sep><name>=<value percent-encoded>" to buf. 0 or -ENAMETOOLONG. */
int crm_query_add(char *buf, size_t size, char sep, const char *name,
		  const char *value);

#endif
